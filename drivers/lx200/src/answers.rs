//! What the mount's answers mean, once framed ([`crate::framing`]) into text: kept
//! apart from the commands that ask, so they are tested and fuzzed without a port.
//! `None` is an answer that cannot be one (the caller reports garbage).

/// `(tracking, slewing, parked)`.
pub type Status = (bool, bool, bool);

/// A command answered `1` (accepted) or `0` (refused).
pub fn accepted(answer: &str) -> Option<bool> {
    match answer {
        "1" => Some(true),
        "0" => Some(false),
        _ => None,
    }
}

/// `:GVP#` names OnStep (`On-Step`, `OnStep`) in any case.
pub fn is_onstep(product: &str) -> bool {
    product.to_ascii_lowercase().replace('-', "").contains("onstep")
}

/// OnStep's `:GU#` flags: n not tracking, N no goto in progress, P parked.
pub fn onstep_status(flags: &str) -> Option<Status> {
    if flags.is_empty() || !flags.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Some((!flags.contains('n'), !flags.contains('N'), flags.contains('P')))
}

/// Meade's `:D#`: a bar graph of the distance left, empty when not slewing.
pub fn meade_slewing(bars: &str) -> bool {
    !bars.trim().is_empty()
}

/// Meade's `:GW#` (e.g. `PT1`): the second character says tracking (`T`) or not (`N`).
pub fn meade_tracking(w: &str) -> Option<bool> {
    match w.as_bytes().get(1) {
        Some(b'T') => Some(true),
        Some(b'N') => Some(false),
        _ => None,
    }
}

/// The answer to `:MS#`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goto {
    Started,
    BelowHorizon(String),
    /// Another error digit, with the mount's message.
    Refused(char, String),
}

/// `0`, or a digit and an optional message (`1Object below horizon`).
pub fn goto(answer: &str) -> Option<Goto> {
    let mut chars = answer.chars();
    let first = chars.next()?;
    let message = chars.as_str().to_string();
    match first {
        '0' => Some(Goto::Started),
        '1' => Some(Goto::BelowHorizon(message)),
        d if d.is_ascii_digit() => Some(Goto::Refused(d, message)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goto_answers() {
        assert_eq!(goto("0"), Some(Goto::Started));
        assert_eq!(goto("1Below horizon"), Some(Goto::BelowHorizon("Below horizon".into())));
        assert_eq!(goto("4"), Some(Goto::Refused('4', String::new())));
        assert_eq!(goto(""), None);
        // A multi-byte first character must not be cut in two.
        assert_eq!(goto("é1"), None);
    }

    #[test]
    fn status_flags() {
        assert_eq!(onstep_status("nNP"), Some((false, false, true)));
        assert_eq!(onstep_status(""), None);
        assert_eq!(onstep_status("n N"), None);
        assert_eq!(meade_tracking("PT1"), Some(true));
        assert_eq!(meade_tracking("AN0"), Some(false));
        assert_eq!(meade_tracking("P"), None);
        assert!(is_onstep("On-Step"));
        assert!(!meade_slewing("   "));
    }
}
