//! How fast the simulator renders a frame, against the time budget a real camera
//! gives it: its readout time. A simulator slower than readout would make simulated
//! nights drift from the timing they claim.
//!
//! `cargo run --release -p teld-driver-sim --example bench_render [-- --frames N]`

use std::time::Instant;

use teld_astro::Icrs;
use teld_driver_sim::render::{Scene, render};
use teld_driver_sim::settings::CameraSettings;

fn main() {
    let frames: usize = std::env::args()
        .skip_while(|a| a != "--frames")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let cfg = CameraSettings::default();
    let scene = |pointings: Vec<Icrs>, seed| Scene {
        pointings,
        duration_s: 60.0,
        light: true,
        open_fraction: 1.0,
        sky_mag_arcsec2: 20.8,
        transmission: 1.0,
        noise_seed: seed,
    };
    let field = Icrs { ra_deg: 150.0, dec_deg: 30.0 };
    let centre = Icrs { ra_deg: 266.4, dec_deg: -28.9 };
    let drift = 60.0 * 15.041 / 3600.0;
    let trail: Vec<Icrs> = (0..2400)
        .map(|i| Icrs { ra_deg: centre.ra_deg + drift * (i as f64 + 0.5) / 2400.0, ..centre })
        .collect();
    let cases: [(&str, Vec<Icrs>); 3] = [
        ("mid-latitude field, tracking", vec![field]),
        ("galactic centre, tracking", vec![centre]),
        ("galactic centre, 600 px trail", trail),
    ];
    let budget_ms = cfg.readout_s * 1e3;
    println!(
        "1024x1024 u16 frame, {frames} renders per case; budget = readout time {budget_ms:.0} ms"
    );
    println!("{:<34} {:>10} {:>10} {:>14}", "case", "median ms", "max ms", "budget/median");
    for (name, pointings) in cases {
        let mut ms: Vec<f64> = (0..frames)
            .map(|i| {
                let t = Instant::now();
                let img = render(&cfg, &scene(pointings.clone(), i as u64));
                std::hint::black_box(img);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        ms.sort_by(f64::total_cmp);
        let median = ms[ms.len() / 2];
        println!(
            "{name:<34} {median:>10.1} {:>10.1} {:>13.0}x",
            ms[ms.len() - 1],
            budget_ms / median
        );
    }
}
