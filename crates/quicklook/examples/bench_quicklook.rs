//! Quick-look of one frame on one core, teld-quicklook vs sep in the same run
//! (issue 6: "at least as fast as sep").
//!
//! ```text
//! cargo run --release -p teld-quicklook --example bench_quicklook -- [--size 4096] [--reps 5]
//! ```
//!
//! Draws one synthetic 16-bit frame (sky 1000 ADU, σ 10, 6 stars per 10⁴ px² of FWHM
//! 3.5 px with a power-law flux distribution), times `quick_look` on it `--reps` times,
//! then spawns sep (examples/bench_quicklook.py in the peers venv, threads pinned to 1)
//! on the same pixels and prints both medians and their ratio. sep is looked for in
//! `TELD_PEERS_VENV` or `<workspace>/.venv-peers`; without it only teld's time prints.

#[path = "../tests/common/frames.rs"]
mod frames;

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use teld_quicklook::{Image, Settings, quick_look};

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().unwrap_or_else(|_| panic!("{name} takes a number, got {v}")))
        .unwrap_or(default)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let size = arg("--size", 4096);
    let reps = arg("--reps", 5).max(1);
    let mut rng = frames::Rng::new(42);
    let n_stars = size * size * 6 / 10_000;
    let stars = frames::random_field(size, size, n_stars, 3.5, 300.0, &mut rng);
    let frame =
        frames::Frame { width: size, height: size, sky: 1000.0, noise: 10.0, stars, seed: 42 };
    let px = frame.render_u16();
    let settings = Settings::default();
    let img = Image::new(&px, size, size).expect("frame");

    let mut times = Vec::with_capacity(reps);
    let mut q = None;
    for _ in 0..reps {
        let t = Instant::now();
        q = Some(quick_look(&img, &settings).expect("quick-look"));
        times.push(t.elapsed().as_secs_f64());
    }
    let q = q.expect("at least one rep");
    let best = times.iter().copied().fold(f64::INFINITY, f64::min);
    let ours = median(&mut times);
    println!(
        "frame {size}x{size} u16, {n_stars} stars injected, {reps} reps, one core\n\
         teld-quicklook: median {:.1} ms (best {:.1} ms), {} sources, background {:.2}, noise {:.3}",
        ours * 1e3,
        best * 1e3,
        q.summary.sources,
        q.summary.background,
        q.summary.noise
    );

    let venv = std::env::var_os("TELD_PEERS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv-peers"));
    let py = venv.join("bin/python");
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("frame.raw");
    let bytes: Vec<u8> = px.iter().flat_map(|p| p.to_le_bytes()).collect();
    std::fs::write(&raw, bytes).expect("write frame");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bench_quicklook.py");
    let out = Command::new(&py)
        .arg(script)
        .arg(&raw)
        .args([size.to_string(), size.to_string(), reps.to_string()])
        .args([settings.threshold_sigma.to_string(), settings.min_area.to_string()])
        .envs([
            ("OMP_NUM_THREADS", "1"),
            ("OPENBLAS_NUM_THREADS", "1"),
            ("MKL_NUM_THREADS", "1"),
            ("NUMEXPR_NUM_THREADS", "1"),
        ])
        .output();
    let out = match out {
        Ok(o) if o.status.success() => o,
        Ok(o) => {
            println!("sep: NOT measured ({})", String::from_utf8_lossy(&o.stderr).trim());
            return;
        }
        Err(e) => {
            println!("sep: NOT measured ({}: {e}; set TELD_PEERS_VENV)", py.display());
            return;
        }
    };
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("sep JSON");
    let sep = v["median_s"].as_f64().expect("median_s");
    println!(
        "sep {}: median {:.1} ms (best {:.1} ms; background {:.1}, subtract {:.1}, extract {:.1} ms), \
         {} sources, background {:.2}",
        v["sep_version"].as_str().unwrap_or("?"),
        sep * 1e3,
        v["best_s"].as_f64().unwrap_or(f64::NAN) * 1e3,
        v["background_s"].as_f64().unwrap_or(f64::NAN) * 1e3,
        v["subtract_s"].as_f64().unwrap_or(f64::NAN) * 1e3,
        v["extract_s"].as_f64().unwrap_or(f64::NAN) * 1e3,
        v["sources"],
        v["globalback"].as_f64().unwrap_or(f64::NAN)
    );
    println!("ratio sep / teld-quicklook: {:.2}x (above 1: teld is faster)", sep / ours);
    // sep's extract deblends and cleans by default; teld-quicklook does neither.
    let plain = v["background_s"].as_f64().unwrap_or(f64::NAN)
        + v["subtract_s"].as_f64().unwrap_or(f64::NAN)
        + v["extract_no_deblend_s"].as_f64().unwrap_or(f64::NAN);
    println!(
        "sep without deblending/cleaning: {:.1} ms ({} sources); ratio {:.2}x",
        plain * 1e3,
        v["sources_no_deblend"],
        plain / ours
    );
}
