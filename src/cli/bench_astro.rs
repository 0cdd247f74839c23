//! `teld bench astro`: visibility (altitude, airmass, Moon separation) for N fixed
//! targets × T instants on one core, side by side with astropy's AltAz transform of
//! the same grid in the same run, with ratios and an accuracy cross-check.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use hifitime::Duration;
use serde_json::{Value, json};
use teld_astro::visibility::{Row, SkyFrame, Targets, evaluate};
use teld_astro::{Astrometry, Icrs, Site, iers, time};

pub struct Options {
    pub targets: usize,
    pub instants: usize,
    /// Python with astropy; the peer is skipped (and says so) when absent.
    pub python: Option<PathBuf>,
}

/// La Palma, the demo night: dusk to dawn at one-minute steps.
const SITE: Site = Site { latitude_deg: 28.7606, longitude_deg: -17.8816, height_m: 2396.0 };
const START: &str = "2026-11-24T19:00:00";
const STEP_S: f64 = 60.0;
/// Points compared with the full SOFA chain and with astropy.
const SAMPLES: usize = 400;

/// A deterministic, even spread over the sky (Fibonacci lattice).
fn lattice(n: usize) -> Vec<Icrs> {
    let golden = std::f64::consts::PI * (3.0 - 5f64.sqrt());
    (0..n)
        .map(|i| {
            let z = 1.0 - 2.0 * (i as f64 + 0.5) / n as f64;
            Icrs {
                ra_deg: (golden * i as f64).to_degrees().rem_euclid(360.0),
                dec_deg: z.asin().to_degrees(),
            }
        })
        .collect()
}

pub fn run(opts: &Options, mut out: impl std::io::Write) -> anyhow::Result<()> {
    let (n, t_count) = (opts.targets, opts.instants);
    anyhow::ensure!(n > 0 && t_count > 0, "--targets and --instants must be positive");
    let targets = lattice(n);
    let soa = Targets::new(&targets);
    let start = time::parse_utc(START)?;
    let instants: Vec<_> =
        (0..t_count).map(|k| start + Duration::from_seconds(k as f64 * STEP_S)).collect();
    let samples: Vec<(usize, usize)> =
        (0..SAMPLES).map(|s| ((s * 7919) % t_count, (s * 104_729) % n)).collect();

    // teld: per-instant frames, then the kernel over all targets.
    let c0 = Instant::now();
    let frames: Vec<SkyFrame> =
        teld_astro::visibility::frames(&SITE, &instants, |t| iers::active().at(t))?;
    let frames_s = c0.elapsed().as_secs_f64();
    let mut row = Row::default();
    let mut ours = vec![0.0; samples.len()];
    let mut checksum = 0.0;
    let c0 = Instant::now();
    for (k, f) in frames.iter().enumerate() {
        evaluate(f, &soa, &mut row);
        checksum += row.alt_deg[k % n] + row.moon_sep_deg[(k * 31) % n];
        for (s, &(t, i)) in samples.iter().enumerate() {
            if t == k {
                ours[s] = row.alt_deg[i];
            }
        }
    }
    let kernel_s = c0.elapsed().as_secs_f64();
    let teld_s = frames_s + kernel_s;
    let points = (n * t_count) as f64;

    // Accuracy against the full SOFA chain at the sample points.
    let mut vs_sofa: f64 = 0.0;
    for (s, &(t, i)) in samples.iter().enumerate() {
        let a = Astrometry::at(&SITE, instants[t])?;
        vs_sofa = vs_sofa.max((ours[s] - a.observe(targets[i]).alt_deg).abs() * 3600.0);
    }

    writeln!(
        out,
        "visibility grid: {n} targets x {t_count} instants = {points:.0} points, La Palma, one core"
    )?;
    writeln!(
        out,
        "teld      {teld_s:8.3} s  ({:.2} ns/point; frames {frames_s:.3} s, kernel {kernel_s:.3} s = {:.2} ns/point)",
        teld_s * 1e9 / points,
        kernel_s * 1e9 / points
    )?;
    writeln!(
        out,
        "          max |alt - SOFA| at {SAMPLES} samples: {vs_sofa:.4}\"   (checksum {checksum:.3})"
    )?;
    let mut result = json!({
        "points": points, "teld_s": teld_s, "frames_s": frames_s, "kernel_s": kernel_s,
        "teld_vs_sofa_arcsec": vs_sofa,
    });

    match opts.python.as_deref().filter(|p| p.is_file()) {
        None => {
            writeln!(out, "astropy   not available (run .ci/install-peers): peer NOT measured")?
        }
        Some(py) => {
            let peer = run_astropy(py, &targets, t_count, &samples)?;
            let altaz = peer["altaz_cpu_s"].as_f64().unwrap_or(f64::NAN);
            let with_moon = peer["with_moon_cpu_s"].as_f64().unwrap_or(f64::NAN);
            let theirs: Vec<f64> = peer["samples"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let vs_astropy = ours
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a - b).abs() * 3600.0)
                .fold(0.0_f64, f64::max);
            writeln!(
                out,
                "astropy   {altaz:8.3} CPU-s AltAz only (its best layout: all targets per instant)  -> teld is {:.0}x faster",
                altaz / teld_s
            )?;
            writeln!(
                out,
                "astropy   {with_moon:8.3} CPU-s with airmass and Moon separation            -> teld is {:.0}x faster",
                with_moon / teld_s
            )?;
            writeln!(
                out,
                "          max |alt teld - alt astropy| at {} samples: {vs_astropy:.3}\"  ({})",
                theirs.len(),
                peer["versions"]
            )?;
            result["astropy_altaz_cpu_s"] = json!(altaz);
            result["astropy_with_moon_cpu_s"] = json!(with_moon);
            result["ratio_vs_altaz"] = json!(altaz / teld_s);
            result["teld_vs_astropy_arcsec"] = json!(vs_astropy);
        }
    }
    writeln!(out, "{result}")?;
    Ok(())
}

fn run_astropy(
    py: &Path,
    targets: &[Icrs],
    t_count: usize,
    samples: &[(usize, usize)],
) -> anyhow::Result<Value> {
    let spec = json!({
        "site": {"lat_deg": SITE.latitude_deg, "lon_deg": SITE.longitude_deg, "height_m": SITE.height_m},
        "start_utc": START, "step_s": STEP_S, "instants": t_count,
        "targets": targets.iter().map(|t| [t.ra_deg, t.dec_deg]).collect::<Vec<_>>(),
        "samples": samples,
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/astro/bench/astropy_grid.py");
    let mut child = Command::new(py)
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    child.stdin.take().expect("piped stdin").write_all(spec.to_string().as_bytes())?;
    let o = child.wait_with_output()?;
    anyhow::ensure!(
        o.status.success(),
        "astropy run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Ok(serde_json::from_slice(&o.stdout)?)
}
