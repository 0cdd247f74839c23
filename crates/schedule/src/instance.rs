//! The `telsched` benchmark formats (`../shared/bench/FORMAT.md`, `FORMAT-v2.md`):
//! instances in, schedules out. A v1 instance is read as the v2 instance it maps to
//! (one telescope `T1` with a constant transition).

use serde_json::{Value, json};

use crate::model::{Problem, Request, Target, Telescope, Time};

#[derive(Debug, thiserror::Error)]
pub enum InstanceError {
    #[error("instance is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("instance field `{path}`: {message}")]
    Field { path: String, message: String },
}

fn field(path: &str, message: impl Into<String>) -> InstanceError {
    InstanceError::Field { path: path.to_string(), message: message.into() }
}

fn num(v: &Value, path: &str) -> Result<f64, InstanceError> {
    v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| field(path, "must be a finite number"))
}

fn get<'a>(v: &'a Value, key: &str, path: &str) -> Result<&'a Value, InstanceError> {
    v.get(key).filter(|x| !x.is_null()).ok_or_else(|| field(&format!("{path}.{key}"), "is missing"))
}

fn intervals(v: &Value, path: &str) -> Result<Vec<(Time, Time)>, InstanceError> {
    let arr = v.as_array().ok_or_else(|| field(path, "must be a list of [start, end]"))?;
    arr.iter()
        .enumerate()
        .map(|(i, iv)| {
            let p = format!("{path}[{i}]");
            let pair = iv
                .as_array()
                .filter(|a| a.len() == 2)
                .ok_or_else(|| field(&p, "must be [start, end]"))?;
            let (a, b) = (num(&pair[0], &p)?, num(&pair[1], &p)?);
            if b < a {
                return Err(field(&p, format!("ends ({b}) before it starts ({a})")));
            }
            Ok((a, b))
        })
        .collect()
}

/// Which format a problem came from, so the schedule goes back in the same one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

pub fn parse(text: &str) -> Result<(Problem, Version), InstanceError> {
    let v: Value = serde_json::from_str(text)?;
    if v.get("format").and_then(Value::as_str) != Some("telsched-instance") {
        return Err(field("format", "must be \"telsched-instance\""));
    }
    match v.get("version").and_then(Value::as_i64) {
        Some(1) => parse_v1(&v).map(|p| (p, Version::V1)),
        Some(2) => parse_v2(&v).map(|p| (p, Version::V2)),
        other => Err(field("version", format!("must be 1 or 2, got {other:?}"))),
    }
}

fn parse_v1(v: &Value) -> Result<Problem, InstanceError> {
    let horizon = num(get(get(v, "night", "")?, "horizon_s", "night")?, "night.horizon_s")?;
    let transition = get(v, "transition", "")?;
    let settle = num(get(transition, "duration_s", "transition")?, "transition.duration_s")?;
    let night = (0.0, horizon);
    let tel = Telescope { id: "T1".into(), night, settle_s: settle, rate_deg_per_s: None };
    let targets =
        get(v, "targets", "")?.as_array().ok_or_else(|| field("targets", "must be a list"))?;
    let mut requests = Vec::with_capacity(targets.len());
    for (i, t) in targets.iter().enumerate() {
        let p = format!("targets[{i}]");
        let id = get(t, "id", &p)?
            .as_str()
            .ok_or_else(|| field(&format!("{p}.id"), "must be a string"))?;
        let dur = num(get(t, "duration_s", &p)?, &format!("{p}.duration_s"))?;
        let vis = intervals(get(t, "visibility", &p)?, &format!("{p}.visibility"))?;
        requests.push(Request {
            id: id.to_string(),
            value: num(get(t, "priority", &p)?, &format!("{p}.priority"))?,
            visits: 1,
            duration_s: dur,
            spacing: None,
            target: Target::fixed(
                num(get(t, "ra_deg", &p)?, &p)?,
                num(get(t, "dec_deg", &p)?, &p)?,
            ),
            windows: vec![Problem::effective_windows(&vis, None, night, dur)],
            pinned: None,
        });
    }
    check_unique(&requests)?;
    Ok(Problem::new(v["name"].as_str().unwrap_or(""), vec![tel], requests))
}

fn parse_v2(v: &Value) -> Result<Problem, InstanceError> {
    let tels = get(v, "telescopes", "")?
        .as_array()
        .ok_or_else(|| field("telescopes", "must be a list"))?;
    let mut telescopes = Vec::new();
    for (i, t) in tels.iter().enumerate() {
        let p = format!("telescopes[{i}]");
        let night = get(t, "night", &p)?;
        let slew = get(t, "slew", &p)?;
        let rate = slew.get("rate_deg_per_s").and_then(Value::as_f64);
        if rate.is_some_and(|r| r <= 0.0) {
            return Err(field(&format!("{p}.slew.rate_deg_per_s"), "must be positive or null"));
        }
        telescopes.push(Telescope {
            id: get(t, "id", &p)?.as_str().unwrap_or_default().to_string(),
            night: (num(get(night, "start_s", &p)?, &p)?, num(get(night, "end_s", &p)?, &p)?),
            settle_s: num(get(slew, "settle_s", &p)?, &format!("{p}.slew.settle_s"))?,
            rate_deg_per_s: rate,
        });
    }
    let reqs =
        get(v, "requests", "")?.as_array().ok_or_else(|| field("requests", "must be a list"))?;
    let mut requests = Vec::with_capacity(reqs.len());
    for (i, r) in reqs.iter().enumerate() {
        let p = format!("requests[{i}]");
        let visits = get(r, "visits", &p)?
            .as_u64()
            .filter(|k| *k >= 1)
            .ok_or_else(|| field(&format!("{p}.visits"), "must be an integer >= 1"))?;
        let dur = num(get(r, "duration_s", &p)?, &format!("{p}.duration_s"))?;
        let spacing = match r.get("spacing").filter(|s| !s.is_null()) {
            Some(s) => {
                let (a, b) = (num(get(s, "min_s", &p)?, &p)?, num(get(s, "max_s", &p)?, &p)?);
                if b < a || a < dur {
                    return Err(field(
                        &format!("{p}.spacing"),
                        format!("[{a}, {b}] is impossible for visits of {dur} s"),
                    ));
                }
                Some((a, b))
            }
            None if visits > 1 => {
                return Err(field(&format!("{p}.spacing"), "is required for more than one visit"));
            }
            None => None,
        };
        let window = match r.get("window").filter(|w| !w.is_null()) {
            Some(w) => Some(intervals(&json!([w]), &format!("{p}.window"))?[0]),
            None => None,
        };
        let target = parse_target(get(r, "target", &p)?, &format!("{p}.target"))?;
        let vis = get(r, "visibility", &p)?;
        let mut windows = vec![Vec::new(); telescopes.len()];
        if let Some(map) = vis.as_object() {
            for (tid, iv) in map {
                let Some(ti) = telescopes.iter().position(|t| &t.id == tid) else {
                    return Err(field(&format!("{p}.visibility.{tid}"), "names no telescope"));
                };
                let iv = intervals(iv, &format!("{p}.visibility.{tid}"))?;
                windows[ti] = Problem::effective_windows(&iv, window, telescopes[ti].night, dur);
            }
        }
        requests.push(Request {
            id: get(r, "id", &p)?.as_str().unwrap_or_default().to_string(),
            value: num(get(r, "value", &p)?, &format!("{p}.value"))?,
            visits: visits as u32,
            duration_s: dur,
            spacing,
            target,
            windows,
            pinned: None,
        });
    }
    check_unique(&requests)?;
    Ok(Problem::new(v["name"].as_str().unwrap_or(""), telescopes, requests))
}

fn parse_target(t: &Value, p: &str) -> Result<Target, InstanceError> {
    match t.get("type").and_then(Value::as_str) {
        Some("sidereal") => {
            Ok(Target::fixed(num(get(t, "ra_deg", p)?, p)?, num(get(t, "dec_deg", p)?, p)?))
        }
        Some("ephemeris") => {
            let step = num(get(t, "step_s", p)?, &format!("{p}.step_s"))?;
            let rows = get(t, "ephemeris", p)?
                .as_array()
                .ok_or_else(|| field(&format!("{p}.ephemeris"), "must be a list"))?;
            if rows.len() < 2 || step <= 0.0 {
                return Err(field(
                    &format!("{p}.ephemeris"),
                    "needs at least two rows and a positive step",
                ));
            }
            let t0 = num(&rows[0][0], p)?;
            let rows = rows
                .iter()
                .map(|row| Ok((num(&row[1], p)?, num(&row[2], p)?)))
                .collect::<Result<Vec<_>, InstanceError>>()?;
            Ok(Target::ephemeris(t0, step, rows))
        }
        other => Err(field(
            &format!("{p}.type"),
            format!("must be sidereal or ephemeris, got {other:?}"),
        )),
    }
}

fn check_unique(requests: &[Request]) -> Result<(), InstanceError> {
    let mut seen = std::collections::HashSet::new();
    for r in requests {
        if !seen.insert(r.id.as_str()) {
            return Err(field("requests", format!("id `{}` appears twice", r.id)));
        }
    }
    Ok(())
}

/// One scheduled visit, in the schedule format.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub request: usize,
    pub visit: u32,
    pub telescope: usize,
    pub start: Time,
    pub end: Time,
}

/// The `telsched-schedule` document for `observations`.
pub fn schedule_json(
    problem: &Problem,
    version: Version,
    observations: &[Observation],
    params: Value,
    wall_s: f64,
    cpu_s: f64,
) -> Value {
    let obs: Vec<Value> = observations
        .iter()
        .map(|o| {
            let id = &problem.requests[o.request].id;
            match version {
                Version::V1 => json!({"id": id, "start_s": o.start, "end_s": o.end}),
                Version::V2 => json!({
                    "id": id, "visit": o.visit, "telescope": problem.telescopes[o.telescope].id,
                    "start_s": o.start, "end_s": o.end,
                }),
            }
        })
        .collect();
    json!({
        "format": "telsched-schedule",
        "version": match version { Version::V1 => 1, Version::V2 => 2 },
        "instance": problem.name,
        "scheduler": concat!("teld ", env!("CARGO_PKG_VERSION")),
        "params": params,
        "wall_time_s": wall_s,
        "cpu_time_s": cpu_s,
        "observations": obs,
    })
}
