//! A minimal reader for JPL planetary ephemerides in SPK form (`de421.bsp`,
//! `de440s.bsp`): the Chebyshev segment types 2 and 3 that JPL's DE files use.
//!
//! Why it exists: SOFA's `epv00` places the Earth within ~7 km of DE421, which is
//! tens of arcseconds for an object passing 0.0003 au from Earth. A DE file is exact
//! to the reference. Only the segments an observer needs are loaded (Sun and Earth),
//! so a 100 MB DE file costs a few MB of memory.
//!
//! Format: NAIF "DAF" (double precision array file) of 1024-byte records: a file
//! record (ND, NI, first/last summary record, byte order), linked summary records
//! whose entries give each segment's time span, target, centre, frame, type and
//! data addresses (1-based, in 8-byte words).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use super::{AU_KM, DAY_S, OrbitError};

const RECORD_BYTES: u64 = 1024;
/// NAIF frame code of J2000, which JPL's DE files use and which is ICRF to ~0.01″.
const FRAME_J2000: i32 = 1;
/// Guards against a corrupt file looping the summary chain forever.
const MAX_SUMMARY_RECORDS: usize = 100_000;
/// Segment types supported: 2 (Chebyshev position), 3 (Chebyshev position+velocity).
const SUPPORTED_TYPES: [i32; 2] = [2, 3];

/// A Chebyshev segment: `target` relative to `center` over [start, end] (TDB
/// seconds past J2000).
#[derive(Debug, Clone)]
struct Segment {
    target: i32,
    center: i32,
    start_s: f64,
    end_s: f64,
    kind: i32,
    init_s: f64,
    interval_s: f64,
    record_len: usize,
    records: usize,
    data: Vec<f64>,
}

/// The Sun and Earth segments of a JPL SPK file, in memory.
#[derive(Debug, Clone)]
pub struct Spk {
    path: String,
    segments: Vec<Segment>,
}

/// Target/centre pairs loaded: the solar system barycentre (0) to the Earth–Moon
/// barycentre (3) and to the Sun (10), and the Earth (399) from 3.
const WANTED: [(i32, i32); 3] = [(3, 0), (10, 0), (399, 3)];

impl Spk {
    pub fn open(path: impl AsRef<Path>) -> Result<Spk, OrbitError> {
        let shown = path.as_ref().display().to_string();
        let err = |problem: String| OrbitError::Spk { path: shown.clone(), problem };
        let file = File::open(path.as_ref()).map_err(|e| err(format!("cannot open: {e}")))?;
        let file_len = file.metadata().map_err(|e| err(format!("cannot read: {e}")))?.len();
        Self::load(shown, file, file_len)
    }

    /// An SPK file held in memory (the bundled excerpt).
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Spk, OrbitError> {
        Self::load(name.to_string(), std::io::Cursor::new(bytes), bytes.len() as u64)
    }

    fn load(shown: String, mut file: impl Read + Seek, file_len: u64) -> Result<Spk, OrbitError> {
        let err = |problem: String| OrbitError::Spk { path: shown.clone(), problem };
        let mut read = |offset: u64, len: usize| -> Result<Vec<u8>, OrbitError> {
            // Checked before allocating, so a corrupt address cannot ask for gigabytes.
            if offset.saturating_add(len as u64) > file_len {
                return Err(err(format!(
                    "needs bytes {offset}..{} but the file has {file_len}: it is truncated or corrupt",
                    offset.saturating_add(len as u64)
                )));
            }
            let mut buf = vec![0u8; len];
            file.seek(SeekFrom::Start(offset)).and_then(|_| file.read_exact(&mut buf)).map_err(
                |e| err(format!("cannot read {len} bytes at {offset}: {e} (truncated file?)")),
            )?;
            Ok(buf)
        };

        let head = read(0, RECORD_BYTES as usize)?;
        if &head[..8] != b"DAF/SPK " {
            return Err(err(
                "not a JPL SPK file (it does not start with `DAF/SPK`); give a DE ephemeris such as de440s.bsp".into(),
            ));
        }
        let big_endian = match &head[88..96] {
            b"LTL-IEEE" => false,
            b"BIG-IEEE" => true,
            _ => return Err(err("unknown byte order (neither LTL-IEEE nor BIG-IEEE)".into())),
        };
        let i32_at = |b: &[u8], at: usize| {
            let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
            if big_endian { i32::from_be_bytes(w) } else { i32::from_le_bytes(w) }
        };
        let f64_at = |b: &[u8], at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            if big_endian { f64::from_be_bytes(w) } else { f64::from_le_bytes(w) }
        };
        let (nd, ni) = (i32_at(&head, 8), i32_at(&head, 12));
        if nd != 2 || ni != 6 {
            return Err(err(format!("summary layout ND={nd} NI={ni}, an SPK file has 2 and 6")));
        }
        // ND = 2 doubles, then NI = 6 integers packed two to a double word.
        let summary_words = 5;

        let mut segments = Vec::new();
        let mut next = i32_at(&head, 76);
        let mut seen = 0;
        while next > 0 {
            seen += 1;
            if seen > MAX_SUMMARY_RECORDS {
                return Err(err("summary records loop: the file is corrupt".into()));
            }
            let rec = read((next as u64 - 1) * RECORD_BYTES, RECORD_BYTES as usize)?;
            let count = f64_at(&rec, 16) as usize;
            if 24 + count * summary_words * 8 > RECORD_BYTES as usize {
                return Err(err(format!("summary record {next} claims {count} entries")));
            }
            for k in 0..count {
                let at = 24 + k * summary_words * 8;
                let (start_s, end_s) = (f64_at(&rec, at), f64_at(&rec, at + 8));
                let ic: Vec<i32> = (0..6).map(|j| i32_at(&rec, at + 16 + 4 * j)).collect();
                let (target, center, frame, kind, first, last) =
                    (ic[0], ic[1], ic[2], ic[3], ic[4], ic[5]);
                if !WANTED.contains(&(target, center)) {
                    continue;
                }
                if frame != FRAME_J2000 || !SUPPORTED_TYPES.contains(&kind) {
                    return Err(err(format!(
                        "segment {target} from {center} is frame {frame}, type {kind}; only J2000 (1) Chebyshev types 2 and 3 are read: use a JPL DE file"
                    )));
                }
                if first < 1 || last < first + 4 {
                    return Err(err(format!("segment {target} from {center} has no data")));
                }
                let words = (last - first + 1) as usize;
                let bytes = read((first as u64 - 1) * 8, words * 8)?;
                let data: Vec<f64> = (0..words).map(|j| f64_at(&bytes, 8 * j)).collect();
                let tail = &data[words - 4..];
                let (init_s, interval_s, record_len, records) =
                    (tail[0], tail[1], tail[2] as usize, tail[3] as usize);
                let per_axis = if kind == 2 { 3 } else { 6 };
                if !interval_s.is_finite()
                    || interval_s <= 0.0
                    || record_len < 2 + per_axis
                    || (record_len - 2) % per_axis != 0
                    || records * record_len + 4 != words
                {
                    return Err(err(format!("segment {target} from {center} is malformed")));
                }
                segments.push(Segment {
                    target,
                    center,
                    start_s,
                    end_s,
                    kind,
                    init_s,
                    interval_s,
                    record_len,
                    records,
                    data,
                });
            }
            next = f64_at(&rec, 0) as i32;
        }
        for (target, center) in WANTED {
            if !segments.iter().any(|s| s.target == target && s.center == center) {
                return Err(err(format!(
                    "has no segment for body {target} relative to {center}; a JPL DE file (de421.bsp, de440s.bsp) has the Sun, the Earth and the Earth-Moon barycentre"
                )));
            }
        }
        Ok(Spk { path: shown, segments })
    }

    pub fn path(&self) -> &str {
        &self.path
    }

    /// First and last TDB Julian dates at which both the Sun and the Earth are covered.
    pub fn coverage_jd_tdb(&self) -> (f64, f64) {
        let mut from = f64::NEG_INFINITY;
        let mut to = f64::INFINITY;
        for (target, center) in WANTED {
            let (mut a, mut b) = (f64::INFINITY, f64::NEG_INFINITY);
            for s in self.segments.iter().filter(|s| s.target == target && s.center == center) {
                a = a.min(s.start_s);
                b = b.max(s.end_s);
            }
            from = from.max(a);
            to = to.min(b);
        }
        (J2000_JD + from / DAY_S, J2000_JD + to / DAY_S)
    }

    /// Position (au) and velocity (au/day) of `target` relative to `center` at TDB
    /// seconds past J2000; `None` outside the file's coverage.
    fn state(&self, target: i32, center: i32, et: f64) -> Option<PosVel> {
        // DAF rule: a later segment takes precedence over an earlier one.
        let seg = self.segments.iter().rev().find(|s| {
            s.target == target && s.center == center && (s.start_s..=s.end_s).contains(&et)
        })?;
        let idx =
            (((et - seg.init_s) / seg.interval_s).floor().max(0.0) as usize).min(seg.records - 1);
        let rec = &seg.data[idx * seg.record_len..(idx + 1) * seg.record_len];
        let (mid, radius) = (rec[0], rec[1]);
        let per_axis = if seg.kind == 2 { 3 } else { 6 };
        let n = (seg.record_len - 2) / per_axis;
        let s = (et - mid) / radius;
        // Chebyshev T_k(s) and their derivatives dT_k/ds by the usual recurrences.
        let mut t = vec![0.0; n];
        let mut dt = vec![0.0; n];
        t[0] = 1.0;
        if n > 1 {
            t[1] = s;
            dt[1] = 1.0;
        }
        for k in 2..n {
            t[k] = 2.0 * s * t[k - 1] - t[k - 2];
            dt[k] = 2.0 * t[k - 1] + 2.0 * s * dt[k - 1] - dt[k - 2];
        }
        let mut pos = [0.0; 3];
        let mut vel = [0.0; 3];
        for axis in 0..3 {
            let c = &rec[2 + axis * n..2 + (axis + 1) * n];
            pos[axis] = c.iter().zip(&t).map(|(c, t)| c * t).sum::<f64>();
            vel[axis] = if seg.kind == 2 {
                c.iter().zip(&dt).map(|(c, d)| c * d).sum::<f64>() / radius
            } else {
                let cv = &rec[2 + (3 + axis) * n..2 + (4 + axis) * n];
                cv.iter().zip(&t).map(|(c, t)| c * t).sum::<f64>()
            };
        }
        // km and km/s to au and au/day.
        Some((pos.map(|x| x / AU_KM), vel.map(|v| v * DAY_S / AU_KM)))
    }

    /// Barycentric states of the Earth's centre and the Sun at a TDB Julian date given
    /// in two parts.
    pub(crate) fn earth_and_sun(&self, jd1: f64, jd2: f64) -> Option<(PosVel, PosVel)> {
        let et = ((jd1 - J2000_JD) + jd2) * DAY_S;
        let (emb_p, emb_v) = self.state(3, 0, et)?;
        let (e_p, e_v) = self.state(399, 3, et)?;
        let sun = self.state(10, 0, et)?;
        let earth = ([0, 1, 2].map(|i| emb_p[i] + e_p[i]), [0, 1, 2].map(|i| emb_v[i] + e_v[i]));
        Some((earth, sun))
    }
}

const J2000_JD: f64 = 2_451_545.0;

/// Position (au) and velocity (au/day).
type PosVel = ([f64; 3], [f64; 3]);
