//! Development aid: `cargo run --release -p teld-schedule --example solve -- FILE [SEED] [EFFORT]`
//! prints value, greedy value, slew, time and each telescope's use of its night;
//! `teld plan --instance` is the user's tool.
use teld_schedule::{Options, instance, solve, validate::validate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let text = std::fs::read_to_string(&args[1]).expect("read instance");
    let seed = args.get(2).map(|s| s.parse().expect("seed")).unwrap_or(1);
    let effort = args.get(3).map(|s| s.parse().expect("effort"));
    let (p, _) = instance::parse(&text).expect("parse");
    let t = std::time::Instant::now();
    let out = solve(&p, &Options { seed, effort, ..Options::default() });
    let dt = t.elapsed().as_secs_f64();
    let rep = validate(&p, &out.observations);
    println!(
        "{}: value {} (greedy {}) slew {:.0} s iterations {} time {:.3} s violations {}",
        p.name,
        out.value,
        out.greedy_value,
        out.slew_s,
        out.iterations,
        dt,
        rep.violations.len()
    );
    for (t, tel) in p.telescopes.iter().enumerate() {
        let busy: f64 =
            out.observations.iter().filter(|o| o.telescope == t).map(|o| o.end - o.start).sum();
        let slew = out.plan.timelines[t].exact_slew_s(&p, t);
        let night = tel.night.1 - tel.night.0;
        println!(
            "  {}: night {night:.0} s, observing {busy:.0}, slewing {slew:.0}, idle {:.0}",
            tel.id,
            night - busy - slew
        );
    }
    for v in rep.violations.iter().take(5) {
        println!("  {v}");
    }
}
