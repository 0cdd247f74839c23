//! The daemon's side of a driver's stdin, read the same way by every driver: lines on
//! a task of their own, and why a driver stops.

use serde_json::Value;
use tokio::io::{AsyncRead, BufReader};
use tokio::sync::mpsc;

use crate::ProtocolError;
use crate::codec;

/// Why a driver stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The daemon asked for `shutdown`.
    Shutdown,
    /// The daemon closed the driver's stdin.
    EndOfInput,
    /// Nothing heard for `heartbeat_timeout_ms`: the daemon is presumed dead.
    HeartbeatLost,
}

impl Exit {
    /// Process exit status: 0 for an orderly end, 3 when the daemon vanished.
    pub fn code(self) -> u8 {
        match self {
            Exit::Shutdown | Exit::EndOfInput => 0,
            Exit::HeartbeatLost => 3,
        }
    }
}

/// One thing read from the daemon.
pub enum Incoming {
    Line(Vec<u8>),
    /// A line that broke the framing rules (too long); the next one is read normally.
    Bad(ProtocolError),
    End,
    Failed(std::io::Error),
}

/// Reads lines on a task of its own: `read_line` is not cancel-safe, so it must not
/// sit in a `select!` that a timer wins.
pub async fn read_lines<R: AsyncRead + Unpin>(reader: R, tx: mpsc::Sender<Incoming>) {
    let mut reader = BufReader::new(reader);
    loop {
        let mut buf = Vec::new();
        let msg = match codec::read_line(&mut reader, &mut buf).await {
            Ok(Some(())) => Incoming::Line(buf),
            Ok(None) => Incoming::End,
            Err(ProtocolError::Io(e)) => Incoming::Failed(e),
            Err(e) => Incoming::Bad(e),
        };
        let last = matches!(msg, Incoming::End | Incoming::Failed(_));
        if tx.send(msg).await.is_err() || last {
            return;
        }
    }
}

/// The id of a request that could not be parsed, so the daemon is not left waiting.
pub fn recover_id(line: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Value>(line).ok()?.get("id")?.as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_recovered_from_lines_that_are_json_but_not_requests() {
        assert_eq!(recover_id(br#"{"type":"request","id":7,"method":"fly"}"#), Some(7));
        assert_eq!(recover_id(br#"{"id":"seven"}"#), None);
        assert_eq!(recover_id(b"not json"), None);
    }

    #[tokio::test]
    async fn lines_then_end_are_delivered_in_order() {
        let (tx, mut rx) = mpsc::channel(4);
        read_lines(&b"{\"a\":1}\n{\"b\":2}\n"[..], tx).await;
        assert!(matches!(rx.recv().await, Some(Incoming::Line(l)) if l == b"{\"a\":1}"));
        assert!(matches!(rx.recv().await, Some(Incoming::Line(_))));
        assert!(matches!(rx.recv().await, Some(Incoming::End)));
    }
}
