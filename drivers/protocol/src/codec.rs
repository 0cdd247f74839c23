//! Reading and writing protocol lines with a bounded buffer.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt};

use crate::error::ProtocolError;

/// Longest line either side accepts. Images travel through spool files, so honest
/// lines are small; the cap stops a broken peer from exhausting memory.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Reads one line; `Ok(None)` at end of stream. Lines over [`MAX_LINE_BYTES`] are
/// drained and reported as [`ProtocolError::LineTooLong`] so the link can carry on.
///
/// Not cancel-safe: dropping the future mid-line loses the part read so far. Read in
/// a task of its own (as the daemon and the simulator do), not in a `select!` race.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Option<()>, ProtocolError> {
    buf.clear();
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return if buf.is_empty() && !too_long { Ok(None) } else { finish(too_long) };
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > MAX_LINE_BYTES {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let consumed = done.unwrap_or(available.len());
        reader.consume(consumed);
        if done.is_some() {
            return finish(too_long);
        }
    }
}

fn finish(too_long: bool) -> Result<Option<()>, ProtocolError> {
    if too_long { Err(ProtocolError::LineTooLong { limit: MAX_LINE_BYTES }) } else { Ok(Some(())) }
}

/// Parses a line read by [`read_line`].
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<T, ProtocolError> {
    Ok(serde_json::from_slice(line)?)
}

/// Serialises `msg` as one line and flushes it.
pub async fn write_message<W: AsyncWrite + Unpin, T: Serialize>(
    writer: &mut W,
    msg: &T,
) -> Result<(), ProtocolError> {
    let mut line = serde_json::to_vec(msg)?;
    line.push(b'\n');
    writer.write_all(&line).await?;
    writer.flush().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{DaemonMessage, DriverMessage, Hello, Request};
    use crate::{Call, DeviceState, MountState};

    #[tokio::test]
    async fn reads_lines_and_reports_overlong_ones_without_losing_the_next() {
        let mut input = Vec::new();
        input.extend_from_slice(b"{\"a\":1}\n");
        input.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        input.extend_from_slice(b"\n{\"b\":2}");
        let mut r = tokio::io::BufReader::new(&input[..]);
        let mut buf = Vec::new();
        assert!(read_line(&mut r, &mut buf).await.unwrap().is_some());
        assert_eq!(buf, b"{\"a\":1}");
        assert!(matches!(
            read_line(&mut r, &mut buf).await,
            Err(ProtocolError::LineTooLong { .. })
        ));
        assert!(read_line(&mut r, &mut buf).await.unwrap().is_some());
        assert_eq!(buf, b"{\"b\":2}");
        assert!(read_line(&mut r, &mut buf).await.unwrap().is_none());
    }

    #[test]
    fn wire_shapes_are_stable() {
        let req = DaemonMessage::Request(Request {
            id: 7,
            device: Some("mount".into()),
            call: Call::SlewToCoordinatesAsync { right_ascension: 1.5, declination: 20.0 },
        });
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"type":"request","id":7,"device":"mount","method":"slew_to_coordinates_async","params":{"right_ascension":1.5,"declination":20.0}}"#
        );
        let park: DaemonMessage =
            decode(br#"{"type":"request","id":8,"device":"mount","method":"park"}"#).unwrap();
        assert!(matches!(park, DaemonMessage::Request(Request { id: 8, call: Call::Park, .. })));
        let hello = DriverMessage::Hello(Hello {
            protocol: 1,
            driver: "sim".into(),
            version: "0.1.0".into(),
            git_sha: None,
        });
        assert_eq!(
            serde_json::to_string(&hello).unwrap(),
            r#"{"type":"hello","protocol":1,"driver":"sim","version":"0.1.0"}"#
        );
        let ev: DriverMessage = decode(
            br#"{"type":"event","event":"state","device":"m","state":{"kind":"mount","connected":true,"right_ascension":1.0,"declination":2.0,"altitude":40.0,"azimuth":100.0,"tracking":true,"slewing":false,"at_park":false,"side_of_pier":"west","equatorial_system":"j2000"}}"#,
        )
        .unwrap();
        match ev {
            DriverMessage::Event(crate::Event::State {
                state: DeviceState::Mount(MountState { altitude, .. }),
                ..
            }) => {
                assert_eq!(altitude, 40.0)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hello_without_git_sha_still_reads() {
        let h: DriverMessage =
            decode(br#"{"type":"hello","protocol":1,"driver":"sim","version":"0.1.0"}"#).unwrap();
        assert!(matches!(h, DriverMessage::Hello(Hello { git_sha: None, .. })));
        let h: DriverMessage = decode(
            br#"{"type":"hello","protocol":1,"driver":"sim","version":"0.2.0","git_sha":"abc"}"#,
        )
        .unwrap();
        assert!(matches!(h, DriverMessage::Hello(Hello { git_sha: Some(s), .. }) if s == "abc"));
    }

    #[test]
    fn unknown_method_is_a_decode_error_naming_it() {
        let e = decode::<DaemonMessage>(br#"{"type":"request","id":1,"method":"self_destruct"}"#)
            .unwrap_err();
        assert!(e.to_string().contains("self_destruct"), "{e}");
    }
}
