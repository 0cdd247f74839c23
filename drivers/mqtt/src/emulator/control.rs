//! Scenario control of the emulated device: one line on its stdin per change, so
//! tests and users can make it rain, go quiet or hang.

/// One control line, parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Control {
    /// `rain <mm/h>`, `wind <m/s>`, `humidity <%>`, `clouds <%>`, `temp <°C>`.
    Reading { name: &'static str, value: f64 },
    /// `safe true|false|auto`: force the station's own verdict, or let rain decide.
    Safe(Option<bool>),
    /// `silent` / `talk`: stop / resume publishing state (stays connected: stale).
    Publishing(bool),
    /// `mute` / `unmute`: stop / resume answering (and acting on) commands.
    Answering(bool),
    /// `offline` / `online`: publish that availability; offline also means silent
    /// and mute, as a device in maintenance would be.
    Online(bool),
    /// `travel <s>`: the roof's open/close time.
    Travel(f64),
    /// `garbage`: publish malformed payloads on the state topics.
    Garbage,
    /// `lose-reply`: carry out the next command but never send its reply, as if the
    /// broker died before delivering it; only a repeat of the id gets an answer.
    LoseReply,
    /// `quit`: publish `offline`, disconnect and exit 0.
    Quit,
}

pub const HELP: &str = "controls: rain <mm/h> | wind <m/s> | humidity <%> | clouds <%> | temp <C> | safe true|false|auto | silent | talk | mute | unmute | offline | online | travel <s> | garbage | lose-reply | quit";

pub fn parse(line: &str) -> Result<Control, String> {
    let mut words = line.split_whitespace();
    let verb = words.next().unwrap_or_default();
    let arg = words.next();
    if words.next().is_some() {
        return Err(format!("too many words in {line:?}; {HELP}"));
    }
    let number = |what: &str| -> Result<f64, String> {
        let a = arg.ok_or_else(|| format!("`{verb}` needs {what}"))?;
        a.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| format!("`{verb} {a}`: {a:?} is not a number"))
    };
    let reading =
        |name: &'static str, what: &str| number(what).map(|value| Control::Reading { name, value });
    let bare = |c: Control| match arg {
        None => Ok(c),
        Some(a) => Err(format!("`{verb}` takes no argument (got {a:?})")),
    };
    match verb {
        "rain" => reading("rain_rate", "a rate in mm/h"),
        "wind" => reading("wind_speed", "a speed in m/s"),
        "humidity" => reading("humidity", "a percentage"),
        "clouds" => reading("cloud_cover", "a percentage"),
        "temp" => reading("temperature", "a temperature in °C"),
        "safe" => match arg {
            Some("true") => Ok(Control::Safe(Some(true))),
            Some("false") => Ok(Control::Safe(Some(false))),
            Some("auto") => Ok(Control::Safe(None)),
            _ => Err("`safe` takes true, false or auto".into()),
        },
        "silent" => bare(Control::Publishing(false)),
        "talk" => bare(Control::Publishing(true)),
        "mute" => bare(Control::Answering(false)),
        "unmute" => bare(Control::Answering(true)),
        "offline" => bare(Control::Online(false)),
        "online" => bare(Control::Online(true)),
        "travel" => {
            let s = number("seconds")?;
            if (0.0..=3600.0).contains(&s) {
                Ok(Control::Travel(s))
            } else {
                Err("`travel` is 0..=3600 s".into())
            }
        }
        "garbage" => bare(Control::Garbage),
        "lose-reply" => bare(Control::LoseReply),
        "quit" => bare(Control::Quit),
        _ => Err(format!("unknown control {verb:?}; {HELP}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_and_mistakes_say_why() {
        assert_eq!(parse("rain 5").unwrap(), Control::Reading { name: "rain_rate", value: 5.0 });
        assert_eq!(parse("  safe false ").unwrap(), Control::Safe(Some(false)));
        assert_eq!(parse("silent").unwrap(), Control::Publishing(false));
        assert_eq!(parse("travel 2.5").unwrap(), Control::Travel(2.5));
        assert!(parse("rain").unwrap_err().contains("needs"));
        assert!(parse("rain lots").unwrap_err().contains("not a number"));
        assert!(parse("silent now").unwrap_err().contains("no argument"));
        assert!(parse("dance").unwrap_err().contains("unknown control"));
    }
}
