//! The `telsched` benchmark formats (`../shared/bench/FORMAT.md`, `FORMAT-v2.md`):
//! instances in, schedules out. A v1 instance is read as the v2 instance it maps to
//! (one telescope `T1` with a constant transition).
//!
//! Reading is strict: a value of the wrong type, sign or range is an error naming its
//! exact place in the document (`requests[3].spacing.min_s`), never read as something
//! else (a text rate as "no per-degree term", a numeric id as "").

use serde_json::{Map, Value, json};

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

/// One step from a value to a child: a key of an object or an index into a list.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// A value of the document and the way to it from the root, so that every error
/// names the field. The path is spelled out only for an error: an instance has
/// hundreds of thousands of values and almost never one wrong.
#[derive(Clone, Copy)]
struct Node<'a> {
    v: &'a Value,
    step: Option<Step<'a>>,
    parent: Option<&'a Node<'a>>,
}

impl<'a> Node<'a> {
    fn root(v: &'a Value) -> Node<'a> {
        Node { v, step: None, parent: None }
    }

    fn child(&'a self, step: Step<'a>, v: &'a Value) -> Node<'a> {
        Node { v, step: Some(step), parent: Some(self) }
    }

    /// `telescopes[0].night.start_s`.
    fn path(&self) -> String {
        let mut steps = Vec::new();
        let mut at = Some(self);
        while let Some(n) = at {
            steps.extend(n.step);
            at = n.parent;
        }
        let mut out = String::new();
        for step in steps.iter().rev() {
            match step {
                Step::Key(k) if out.is_empty() => out.push_str(k),
                Step::Key(k) => {
                    out.push('.');
                    out.push_str(k);
                }
                Step::Index(i) => out.push_str(&format!("[{i}]")),
            }
        }
        out
    }

    fn err(&self, message: impl Into<String>) -> InstanceError {
        field(&self.path(), message)
    }

    /// The error for `key` of this object.
    fn err_at(&'a self, key: &'a str, message: impl Into<String>) -> InstanceError {
        self.child(Step::Key(key), &Value::Null).err(message)
    }

    /// A required field (null counts as missing).
    fn key(&'a self, key: &'a str) -> Result<Node<'a>, InstanceError> {
        self.opt_key(key)?.ok_or_else(|| self.err_at(key, "is missing"))
    }

    /// A field that may be absent or null.
    fn opt_key(&'a self, key: &'a str) -> Result<Option<Node<'a>>, InstanceError> {
        let map = self.object()?;
        Ok(map.get(key).filter(|v| !v.is_null()).map(|v| self.child(Step::Key(key), v)))
    }

    /// A field that must be given but may be null.
    fn nullable_key(&'a self, key: &'a str, what: &str) -> Result<Option<Node<'a>>, InstanceError> {
        if !self.object()?.contains_key(key) {
            return Err(self.err_at(key, format!("is missing: give {what}")));
        }
        self.opt_key(key)
    }

    fn object(&self) -> Result<&'a Map<String, Value>, InstanceError> {
        self.v
            .as_object()
            .ok_or_else(|| self.err(format!("must be an object, got {}", got(self.v))))
    }

    fn items(&'a self) -> Result<impl ExactSizeIterator<Item = Node<'a>>, InstanceError> {
        let arr = self
            .v
            .as_array()
            .ok_or_else(|| self.err(format!("must be a list, got {}", got(self.v))))?;
        Ok(arr.iter().enumerate().map(|(i, v)| self.child(Step::Index(i), v)))
    }

    fn string(&self) -> Result<&'a str, InstanceError> {
        self.v.as_str().ok_or_else(|| self.err(format!("must be a string, got {}", got(self.v))))
    }

    fn number(&self) -> Result<f64, InstanceError> {
        self.v
            .as_f64()
            .filter(|x| x.is_finite())
            .ok_or_else(|| self.err(format!("must be a number, got {}", got(self.v))))
    }

    fn non_negative(&self) -> Result<f64, InstanceError> {
        let x = self.number()?;
        if x < 0.0 {
            return Err(self.err(format!("must be zero or more, got {x}")));
        }
        Ok(x)
    }

    fn positive(&self) -> Result<f64, InstanceError> {
        let x = self.number()?;
        if x <= 0.0 {
            return Err(self.err(format!("must be more than zero, got {x}")));
        }
        Ok(x)
    }
}

/// A value as an error message shows it: its type and a short rendering.
fn got(v: &Value) -> String {
    let kind = match v {
        Value::Null => return "null".to_string(),
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "the number",
        Value::String(_) => "the string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    };
    let mut text = v.to_string();
    if text.len() > 40 {
        let cut = (0..=37).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
        text.truncate(cut);
        text.push_str("...");
    }
    format!("{kind} {text}")
}

/// The two ends of `[start, end]`.
fn ends<'a>(n: &'a Node<'a>) -> Result<(Node<'a>, Node<'a>), InstanceError> {
    let bad = || n.err(format!("must be [start, end], got {}", got(n.v)));
    let mut ends = n.items().map_err(|_| bad())?;
    match (ends.len(), ends.next(), ends.next()) {
        (2, Some(start), Some(end)) => Ok((start, end)),
        _ => Err(bad()),
    }
}

/// `[start, end]` with `end >= start`.
fn interval(n: &Node) -> Result<(Time, Time), InstanceError> {
    let (a, b) = ends(n)?;
    let (a, b) = (a.number()?, b.number()?);
    if b < a {
        return Err(n.err(format!("ends ({b}) before it starts ({a}): give [start, end]")));
    }
    Ok((a, b))
}

fn intervals(n: &Node) -> Result<Vec<(Time, Time)>, InstanceError> {
    n.items()
        .map_err(|_| n.err(format!("must be a list of [start, end], got {}", got(n.v))))?
        .map(|iv| interval(&iv))
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
    let doc = Node::root(&v);
    if v.get("format").and_then(Value::as_str) != Some("telsched-instance") {
        return Err(field("format", "must be \"telsched-instance\""));
    }
    match v.get("version").and_then(Value::as_i64) {
        Some(1) => parse_v1(&doc).map(|p| (p, Version::V1)),
        Some(2) => parse_v2(&doc).map(|p| (p, Version::V2)),
        _ => Err(field(
            "version",
            match v.get("version") {
                Some(x) => format!("must be 1 or 2, got {}", got(x)),
                None => "is missing: give 1 or 2".to_string(),
            },
        )),
    }
}

/// The instance's name (optional: only echoed into the schedule).
fn name(doc: &Node) -> Result<String, InstanceError> {
    Ok(doc.opt_key("name")?.map(|n| n.string()).transpose()?.unwrap_or_default().to_string())
}

fn parse_v1(doc: &Node) -> Result<Problem, InstanceError> {
    let horizon = doc.key("night")?.key("horizon_s")?.positive()?;
    let settle = doc.key("transition")?.key("duration_s")?.non_negative()?;
    let night = (0.0, horizon);
    let tel = Telescope { id: "T1".into(), night, settle_s: settle, rate_deg_per_s: None };
    let targets = doc.key("targets")?;
    let requests = targets.items()?.map(|t| v1_target(&t, night)).collect::<Result<Vec<_>, _>>()?;
    unique(requests.iter().map(|r| r.id.as_str()), &targets)?;
    Ok(Problem::new(name(doc)?, vec![tel], requests))
}

fn v1_target(t: &Node, night: (Time, Time)) -> Result<Request, InstanceError> {
    let dur = t.key("duration_s")?.positive()?;
    let vis = intervals(&t.key("visibility")?)?;
    Ok(Request {
        id: t.key("id")?.string()?.to_string(),
        value: t.key("priority")?.non_negative()?,
        visits: 1,
        duration_s: dur,
        spacing: None,
        target: sidereal(t)?,
        windows: vec![Problem::effective_windows(&vis, None, night, dur)],
        pinned: None,
        preference: None,
    })
}

fn parse_v2(doc: &Node) -> Result<Problem, InstanceError> {
    let tels = doc.key("telescopes")?;
    let telescopes = tels.items()?.map(|t| telescope(&t)).collect::<Result<Vec<_>, _>>()?;
    if telescopes.is_empty() {
        return Err(tels.err("needs at least one telescope"));
    }
    unique(telescopes.iter().map(|t| t.id.as_str()), &tels)?;
    let reqs = doc.key("requests")?;
    let requests =
        reqs.items()?.map(|r| request(&r, &telescopes)).collect::<Result<Vec<_>, _>>()?;
    unique(requests.iter().map(|r| r.id.as_str()), &reqs)?;
    Ok(Problem::new(name(doc)?, telescopes, requests))
}

fn telescope(t: &Node) -> Result<Telescope, InstanceError> {
    let id = t.key("id")?.string()?.to_string();
    let night = t.key("night")?;
    let (start, end) = (night.key("start_s")?.number()?, night.key("end_s")?.number()?);
    if end < start {
        return Err(night.err(format!("ends ({end} s) before it starts ({start} s)")));
    }
    let slew = t.key("slew")?;
    let settle_s = slew.key("settle_s")?.non_negative()?;
    let rate_deg_per_s = slew
        .nullable_key("rate_deg_per_s", "degrees per second, or null for no per-degree term")?
        .map(|r| {
            r.number().ok().filter(|x| *x > 0.0).ok_or_else(|| {
                r.err(format!(
                    "must be a positive number of degrees per second, or null for no \
                     per-degree term; got {}",
                    got(r.v)
                ))
            })
        })
        .transpose()?;
    Ok(Telescope { id, night: (start, end), settle_s, rate_deg_per_s })
}

fn request(r: &Node, telescopes: &[Telescope]) -> Result<Request, InstanceError> {
    let id = r.key("id")?.string()?.to_string();
    let value = r.key("value")?.non_negative()?;
    let visits = visits(&r.key("visits")?)?;
    let dur = r.key("duration_s")?.positive()?;
    let spacing = spacing(r, visits, dur)?;
    let window = r.opt_key("window")?.map(|w| window(&w)).transpose()?;
    let target = target(&r.key("target")?)?;
    let windows = visibility(&r.key("visibility")?, telescopes, window, dur)?;
    Ok(Request {
        id,
        value,
        visits,
        duration_s: dur,
        spacing,
        target,
        windows,
        pinned: None,
        preference: None,
    })
}

fn visits(n: &Node) -> Result<u32, InstanceError> {
    let k = n.v.as_u64().filter(|k| *k >= 1).ok_or_else(|| {
        n.err(format!("must be a whole number of visits, 1 or more; got {}", got(n.v)))
    })?;
    u32::try_from(k).map_err(|_| n.err(format!("must be at most {}, got {k}", u32::MAX)))
}

/// Required for more than one visit; `min_s` at least a visit long (visits cannot
/// overlap) and `max_s` at least `min_s`.
fn spacing(r: &Node, visits: u32, dur: f64) -> Result<Option<(f64, f64)>, InstanceError> {
    let Some(s) = r.opt_key("spacing")? else {
        if visits > 1 {
            return Err(r.err_at(
                "spacing",
                format!("is required for {visits} visits: give {{\"min_s\": ..., \"max_s\": ...}}"),
            ));
        }
        return Ok(None);
    };
    let (min, max) = (s.key("min_s")?.number()?, s.key("max_s")?.number()?);
    if min < dur {
        return Err(s.err(format!(
            "min_s ({min} s) is shorter than a visit ({dur} s): consecutive visits would overlap"
        )));
    }
    if max < min {
        return Err(s.err(format!("max_s ({max} s) is below min_s ({min} s)")));
    }
    Ok(Some((min, max)))
}

/// `[start, end]`. Inverted, it is reported at its start, the end being the
/// documented limit ("every visit must lie inside").
fn window(w: &Node) -> Result<(Time, Time), InstanceError> {
    let (start, end) = ends(w)?;
    let (a, b) = (start.number()?, end.number()?);
    if b < a {
        return Err(start.err(format!(
            "the window starts ({a}) after it ends ({b} at `{}`): give [start, end]",
            end.path()
        )));
    }
    Ok((a, b))
}

/// Per telescope, where a visit may lie: `{telescope id: [[start, end], ...]}` cut to
/// the window and the telescope's night. Telescopes not named never see the target.
fn visibility(
    n: &Node,
    telescopes: &[Telescope],
    window: Option<(Time, Time)>,
    dur: f64,
) -> Result<Vec<Vec<(Time, Time)>>, InstanceError> {
    let map = n.v.as_object().ok_or_else(|| {
        n.err(format!("must be an object {{telescope id: [[start, end], ...]}}, got {}", got(n.v)))
    })?;
    let mut windows = vec![Vec::new(); telescopes.len()];
    for (tid, v) in map {
        let iv = n.child(Step::Key(tid), v);
        let Some(t) = telescopes.iter().position(|t| &t.id == tid) else {
            let ids: Vec<&str> = telescopes.iter().map(|t| t.id.as_str()).collect();
            return Err(iv.err(format!("names no telescope (the instance has {})", ids.join(", "))));
        };
        windows[t] = Problem::effective_windows(&intervals(&iv)?, window, telescopes[t].night, dur);
    }
    Ok(windows)
}

fn sidereal(t: &Node) -> Result<Target, InstanceError> {
    let ra = t.key("ra_deg")?.number()?;
    let dec = declination(&t.key("dec_deg")?)?;
    Ok(Target::fixed(ra, dec))
}

fn declination(n: &Node) -> Result<f64, InstanceError> {
    let dec = n.number()?;
    if !(-90.0..=90.0).contains(&dec) {
        return Err(n.err(format!("must be within [-90, 90] degrees, got {dec}")));
    }
    Ok(dec)
}

fn target(t: &Node) -> Result<Target, InstanceError> {
    let kind = t.key("type")?;
    match kind.v.as_str() {
        Some("sidereal") => sidereal(t),
        Some("ephemeris") => ephemeris(t),
        _ => Err(kind.err(format!("must be \"sidereal\" or \"ephemeris\", got {}", got(kind.v)))),
    }
}

/// Rows `[t, ra, dec]` every `step_s` seconds: positions are interpolated by row
/// number, so rows off that grid would be read at the wrong times.
fn ephemeris(t: &Node) -> Result<Target, InstanceError> {
    let step = t.key("step_s")?.positive()?;
    let table = t.key("ephemeris")?;
    let rows = table.items()?;
    if rows.len() < 2 {
        return Err(table.err(format!(
            "needs at least two rows [t, ra, dec] to interpolate, got {}",
            rows.len()
        )));
    }
    let mut t0 = 0.0;
    let mut out = Vec::with_capacity(rows.len());
    for (i, row) in rows.enumerate() {
        let (at, ra, dec) = ephemeris_row(&row)?;
        let want = t0 + i as f64 * step;
        if i == 0 {
            t0 = at;
        } else if (at - want).abs() > 1e-6 * step {
            return Err(row.child(Step::Index(0), &row.v[0]).err(format!(
                "must be {want} (rows every step_s = {step} s from {t0}), got {at}"
            )));
        }
        out.push((ra, dec));
    }
    Ok(Target::ephemeris(t0, step, out))
}

/// `[t, ra_deg, dec_deg]`.
fn ephemeris_row(row: &Node) -> Result<(Time, f64, f64), InstanceError> {
    let mut cols = row.items()?;
    match (cols.len(), cols.next(), cols.next(), cols.next()) {
        (3, Some(t), Some(ra), Some(dec)) => Ok((t.number()?, ra.number()?, declination(&dec)?)),
        _ => Err(row.err(format!("must be [t, ra_deg, dec_deg], got {}", got(row.v)))),
    }
}

/// Ids must differ: schedules name requests and telescopes by id. `list` is where
/// the ids are.
fn unique<'a>(ids: impl Iterator<Item = &'a str>, list: &Node) -> Result<(), InstanceError> {
    let mut first = std::collections::HashMap::new();
    for (i, id) in ids.enumerate() {
        if let Some(j) = first.insert(id, i) {
            return Err(
                list.err(format!("id `{id}` appears twice ([{j}] and [{i}]): ids must differ"))
            );
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
