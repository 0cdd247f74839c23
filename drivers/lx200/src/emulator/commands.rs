//! The emulator's answers to LX200 commands, as the published Meade protocol and
//! OnStep give them. A command the emulated mount does not know gets no answer at
//! all, as on a real Meade mount — which is what makes unknown commands dangerous on
//! a real line and worth testing against.

use crate::sexagesimal::{
    Precision, format_dec, format_deg360, format_hours, format_offset, parse_degrees, parse_hours,
    parse_offset,
};

use super::model::Model;

/// Which firmware the emulator pretends to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// Meade's generic set: `:D#`, `:GW#`, `:AP#`/`:AL#`, `:hP#` without answer.
    Meade,
    /// OnStep: adds `:GU#`, `:Gm#` (pier side), `:hR#`, `:Te#`/`:Td#`; `:hP#` answers `1`/`0`.
    OnStep,
}

impl Firmware {
    pub fn name(self) -> &'static str {
        match self {
            Firmware::Meade => "generic",
            Firmware::OnStep => "onstep",
        }
    }
}

/// The classic LX200's answer to an accepted `:SC`: `1`, then two 32-character
/// messages while it recomputes planet positions.
const SC_CLASSIC: &str = "1Updating Planetary Data#                                #";

fn precision(m: &Model) -> Precision {
    if m.high_precision { Precision::High } else { Precision::Low }
}

fn flag(ok: bool) -> String {
    if ok { "1".into() } else { "0".into() }
}

/// `MM/DD/YY` → (year, month, day), years 2000–2099.
fn parse_date(s: &str) -> Option<(i32, u32, u32)> {
    let mut it = s.trim().split('/').map(|p| p.parse::<u32>().ok());
    let (m, d, y) = (it.next()??, it.next()??, it.next()??);
    (y < 100).then_some((2000 + y as i32, m, d))
}

/// The answer to one command (`body` is between `:` and `#`), `None` for silence.
pub fn answer(m: &mut Model, fw: Firmware, body: &str) -> Option<String> {
    m.step();
    let p = precision(m);
    let onstep = fw == Firmware::OnStep;
    let reply = match body {
        "GR" => format!("{}#", format_hours(m.ra_dec().0, p)),
        "GD" => format!("{}#", format_dec(m.ra_dec().1, p, '\'')),
        "GA" => format!("{}#", format_dec(m.alt_az().0, p, '\'')),
        "GZ" => format!("{}#", format_deg360(m.alt_az().1, p)),
        "GS" => format!("{}#", format_hours(m.lst_deg() / 15.0, Precision::High)),
        "Gt" => format!("{}#", format_dec(m.latitude_deg, Precision::Low, ':')),
        "Gg" => {
            let w = (m.longitude_west_deg + 180.0).rem_euclid(360.0) - 180.0;
            let s = if w < 0.0 { '-' } else { '+' };
            format!("{s}{}#", format_deg360(w.abs(), Precision::Low))
        }
        "GL" => {
            let t = teld_astro::time::utc_parts(m.clock.local());
            format!("{:02}:{:02}:{:02}#", t.hour, t.minute, t.second.min(59))
        }
        "GC" => {
            let t = teld_astro::time::utc_parts(m.clock.local());
            format!("{:02}/{:02}/{:02}#", t.month, t.day, t.year.rem_euclid(100))
        }
        "GG" => format!("{}#", format_offset(m.clock.utc_offset_h)),
        "GVP" => if onstep { "On-Step#" } else { "LX200GPS#" }.into(),
        "GVN" => if onstep { "4.24a#" } else { "4.2g#" }.into(),
        "U" => {
            m.high_precision = !m.high_precision;
            return None;
        }
        "MS" if m.parked && onstep => "2Parked#".into(),
        "MS" => {
            // A generic mount wakes from park on the next goto.
            m.parked = false;
            match m.goto_target() {
                Ok(()) => "0".into(),
                Err((digit, msg)) => format!("{digit}{msg}#"),
            }
        }
        "CM" => {
            m.sync();
            "Coordinates     matched.        #".into()
        }
        "D" => if m.slewing() { "\u{7f}#" } else { "#" }.into(),
        "GW" if !onstep => format!("G{}2#", if m.tracking { 'T' } else { 'N' }),
        "AP" if !onstep => {
            m.tracking = true;
            return None;
        }
        "AL" if !onstep => {
            m.tracking = false;
            return None;
        }
        "hP" => {
            m.park();
            if onstep {
                return Some("1".into());
            }
            return None;
        }
        "hR" if onstep => {
            if !m.parking() {
                m.parked = false;
            }
            flag(!m.parked)
        }
        "Te" if onstep => {
            let ok = !m.parked;
            m.tracking |= ok;
            flag(ok)
        }
        "Td" if onstep => {
            m.tracking = false;
            "1".into()
        }
        "Gm" if onstep => format!("{}#", m.pier_side),
        "GU" if onstep => {
            let mut f = String::new();
            if !m.tracking {
                f.push('n');
            }
            if !m.slewing() {
                f.push('N');
            }
            f.push(if m.parked {
                'P'
            } else if m.parking() {
                'I'
            } else {
                'p'
            });
            f.push_str("E#");
            f
        }
        b if b.starts_with('Q') => {
            m.abort();
            return None;
        }
        b if b.starts_with("Sr") => {
            let ok = parse_hours(&b[2..]).map(|(h, _)| m.target.0 = h).is_ok();
            flag(ok)
        }
        b if b.starts_with("Sd") => match parse_degrees(&b[2..]) {
            Ok((d, _)) if d.abs() <= 90.0 => {
                m.target.1 = d;
                "1".into()
            }
            _ => "0".into(),
        },
        b if b.starts_with("St") => match parse_degrees(&b[2..]) {
            Ok((d, _)) if d.abs() <= 90.0 => {
                m.latitude_deg = d;
                "1".into()
            }
            _ => "0".into(),
        },
        b if b.starts_with("Sg") => match parse_degrees(&b[2..]) {
            Ok((d, _)) if d.abs() <= 360.0 => {
                m.longitude_west_deg = (d + 180.0).rem_euclid(360.0) - 180.0;
                "1".into()
            }
            _ => "0".into(),
        },
        b if b.starts_with("SG") => match parse_offset(&b[2..]) {
            Ok(h) => {
                // The clock keeps UTC: only what local time means changes.
                m.clock.utc_offset_h = h;
                "1".into()
            }
            Err(_) => "0".into(),
        },
        b if b.starts_with("SL") => match parse_hours(&b[2..]) {
            Ok((_, Precision::High)) => {
                let t = b[2..].trim();
                let n: Vec<u32> = t.split(':').filter_map(|x| x.parse().ok()).collect();
                flag(n.len() == 3 && m.clock.set_local_time(n[0], n[1], n[2]))
            }
            _ => "0".into(),
        },
        b if b.starts_with("SC") => match parse_date(&b[2..]) {
            Some((y, mo, d)) if m.clock.set_local_date(y, mo, d) => {
                if onstep {
                    "1".into()
                } else {
                    SC_CLASSIC.into()
                }
            }
            _ => "0".into(),
        },
        _ => return None,
    };
    Some(reply)
}

/// The answer to ACK (0x06): the alignment mode, `P` polar or `G` German.
pub fn ack(fw: Firmware) -> &'static str {
    match fw {
        Firmware::Meade => "P",
        Firmware::OnStep => "G",
    }
}
