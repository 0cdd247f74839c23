//! Which bytes from the serial line make up one answer, apart from the port and its
//! timers: [`crate::port`] feeds bytes in as they arrive and asks how long to wait
//! for the next, so the rules are tested (and fuzzed, `fuzz/`) on plain bytes.

use crate::port::Reply;

/// No LX200 answer is longer than this: more is line noise.
const MAX_TEXT: usize = 64;

/// How long to wait for the next byte, and what silence means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Within the command's deadline; silence is a timeout.
    Answer,
    /// The optional message after a `:MS#` refusal digit (OnStep sends the digit
    /// alone): only while the line keeps talking; silence ends the answer.
    Tail,
    /// Classic Meade's planetary-data message number `n` (counting down) after `:SC`:
    /// it recomputes planets before it says so, so each string gets a long deadline
    /// of its own; silence ends the answer and leaves the line suspect.
    Slow(usize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    Byte(Wait),
    Done,
}

/// Bytes that cannot be an answer: the line is noise or out of step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} bytes without `#`: no LX200 answer is that long", .0.len())]
pub struct Overlong(pub Vec<u8>);

/// An answer that is complete but cannot be one (control bytes, a non-printable
/// status character); the raw bytes are kept for the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bytes {0:?} are not an LX200 answer")]
pub struct Unreadable(pub Vec<u8>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    First,
    Text,
    Tail,
    Strings { left: usize, len: usize },
    Done,
}

/// One answer being read.
#[derive(Debug, Clone)]
pub struct Framer {
    reply: Reply,
    got: Vec<u8>,
    state: State,
    /// Something was left unread or cut off: resynchronise before the next command.
    dirty: bool,
}

impl Framer {
    pub fn new(reply: Reply) -> Framer {
        let state = match reply {
            Reply::Nothing => State::Done,
            Reply::Text => State::Text,
            Reply::Char | Reply::Goto | Reply::Date { .. } => State::First,
        };
        Framer { reply, got: Vec::new(), state, dirty: false }
    }

    pub fn next(&self) -> Next {
        match self.state {
            State::First | State::Text => Next::Byte(Wait::Answer),
            State::Tail => Next::Byte(Wait::Tail),
            State::Strings { left, .. } => Next::Byte(Wait::Slow(left)),
            State::Done => Next::Done,
        }
    }

    /// The answer so far (for a timeout's message).
    pub fn got(&self) -> &[u8] {
        &self.got
    }

    pub fn dirty(&self) -> bool {
        self.dirty
    }

    /// A byte arrived. Only a required text that runs on is an error; an optional
    /// part that does is cut off where it is.
    pub fn push(&mut self, b: u8) -> Result<(), Overlong> {
        match self.state {
            State::First => {
                self.got.push(b);
                self.state = match self.reply {
                    Reply::Goto if b != b'0' => State::Tail,
                    Reply::Date { strings } if b == b'1' && strings > 0 => {
                        State::Strings { left: strings, len: 0 }
                    }
                    _ => State::Done,
                };
            }
            State::Text | State::Tail if b == b'#' => self.state = State::Done,
            State::Text | State::Tail => {
                self.got.push(b);
                if self.got.len() > MAX_TEXT {
                    if self.state == State::Text {
                        self.state = State::Done;
                        return Err(Overlong(std::mem::take(&mut self.got)));
                    }
                    self.state = State::Done;
                }
            }
            State::Strings { left, .. } if b == b'#' => {
                self.state =
                    if left > 1 { State::Strings { left: left - 1, len: 0 } } else { State::Done };
            }
            State::Strings { left, len } => {
                // The message itself means nothing to teld: counted, not kept.
                if len + 1 > MAX_TEXT {
                    self.dirty = true;
                    self.state = State::Done;
                } else {
                    self.state = State::Strings { left, len: len + 1 };
                }
            }
            State::Done => self.dirty = true,
        }
        Ok(())
    }

    /// The wait for an optional part ended without a byte (or the port failed
    /// meanwhile): the answer is what came.
    pub fn silence(&mut self) {
        if matches!(self.state, State::Strings { .. }) {
            self.dirty = true;
        }
        self.state = State::Done;
    }

    /// The answer as text: printable ASCII, DEL (`:D#`'s bar) and 0xDF (the classic
    /// firmware's degree sign, as `*`); a status character must be visible.
    pub fn finish(self) -> Result<String, Unreadable> {
        let text: Option<String> = self
            .got
            .iter()
            .map(|&b| match b {
                0x20..=0x7f => Some(b as char),
                0xdf => Some('*'),
                _ => None,
            })
            .collect();
        let status = matches!(self.reply, Reply::Char | Reply::Goto | Reply::Date { .. });
        match (text, self.got.first()) {
            (Some(_), Some(b)) if status && !b.is_ascii_graphic() => Err(Unreadable(self.got)),
            (Some(t), _) => Ok(t),
            (None, _) => Err(Unreadable(self.got)),
        }
    }
}

/// Frames `line` as the answer to a command expecting `reply`, the way the port does
/// when the line goes quiet after these bytes: `Ok(None)` when a required part never
/// came (the port reports a timeout). Returns the text and the bytes it used.
pub fn frame(reply: Reply, line: &[u8]) -> Result<Option<(String, usize)>, FrameError> {
    let mut f = Framer::new(reply);
    let mut used = 0;
    loop {
        match f.next() {
            Next::Done => break,
            Next::Byte(wait) => match line.get(used) {
                Some(&b) => {
                    used += 1;
                    f.push(b)?;
                }
                None if wait == Wait::Answer => return Ok(None),
                None => f.silence(),
            },
        }
    }
    Ok(Some((f.finish()?, used)))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error(transparent)]
    Overlong(#[from] Overlong),
    #[error(transparent)]
    Unreadable(#[from] Unreadable),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_ends_at_hash_and_keeps_the_rest_for_later() {
        assert_eq!(frame(Reply::Text, b"12:34:56#xyz"), Ok(Some(("12:34:56".into(), 9))));
        assert_eq!(frame(Reply::Text, b"12:34"), Ok(None));
        assert!(matches!(frame(Reply::Text, &[b'1'; 65]), Err(FrameError::Overlong(_))));
    }

    #[test]
    fn goto_takes_the_digit_alone_or_with_its_message() {
        assert_eq!(frame(Reply::Goto, b"0"), Ok(Some(("0".into(), 1))));
        assert_eq!(frame(Reply::Goto, b"1Below horizon#"), Ok(Some(("1Below horizon".into(), 15))));
        assert_eq!(frame(Reply::Goto, b"2"), Ok(Some(("2".into(), 1))));
        // A message that runs on is cut off, not an error: the digit is the answer.
        let long = [b"1".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(frame(Reply::Goto, &long).unwrap().unwrap().1, 65);
    }

    #[test]
    fn date_reads_past_the_planetary_data_strings() {
        let line = b"1Updating Planetary Data#                              #";
        assert_eq!(frame(Reply::Date { strings: 2 }, line), Ok(Some(("1".into(), line.len()))));
        let mut f = Framer::new(Reply::Date { strings: 2 });
        f.push(b'1').unwrap();
        f.silence();
        assert!(f.dirty(), "a missing planetary message leaves the line suspect");
        assert_eq!(frame(Reply::Date { strings: 0 }, b"1"), Ok(Some(("1".into(), 1))));
    }

    #[test]
    fn control_bytes_and_invisible_status_characters_are_unreadable() {
        assert!(matches!(frame(Reply::Text, b"12\x01#"), Err(FrameError::Unreadable(_))));
        assert!(matches!(frame(Reply::Char, b" "), Err(FrameError::Unreadable(_))));
        assert_eq!(frame(Reply::Text, b"+10\xdf30#"), Ok(Some(("+10*30".into(), 7))));
        assert_eq!(frame(Reply::Nothing, b"junk"), Ok(Some((String::new(), 0))));
    }
}
