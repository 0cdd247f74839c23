//! `teld-lx200-emulator`: a simulated LX200 mount on a pseudo-terminal.
//!
//! ```text
//! teld-lx200-emulator --link /tmp/ttyLX200 [--baud 9600] [--dialect generic|onstep]
//!                     [--slew-rate 4] [--high-precision] [--latitude D --longitude D]
//! ```
//! Prints one JSON line when ready (`{"ready":true,"link":...,"pty":...}`), then reads
//! words on stdin and answers each with one JSON line: `status`, `garbage [N]`,
//! `drop [N]`, `partial [N]` (the next N answers), `short [N]` (the next N gotos end
//! 0.5° short, reported done), `freeze`, `thaw`, `unplug`,
//! `replug`, `power-cycle` (forget precision, site, time), `quit`. It keeps running when stdin closes (run it in the background);
//! SIGINT/SIGTERM remove the link and exit.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::{Value, json};
use teld_driver_lx200::emulator::{Config, Emulator, Firmware};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const USAGE: &str = "usage: teld-lx200-emulator --link PATH [--baud 9600 (0: instant)] [--dialect generic|onstep] [--slew-rate DEG_S] [--high-precision] [--latitude DEG] [--longitude DEG_EAST]";

fn parse_args() -> Result<Config, String> {
    let mut args = std::env::args().skip(1);
    let mut link = None;
    let mut cfg = Config::new(PathBuf::new());
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let num = |name: &str, v: String| {
            v.parse::<f64>().map_err(|_| format!("{name}: `{v}` is not a number"))
        };
        match a.as_str() {
            "--link" => link = Some(PathBuf::from(value("--link")?)),
            "--baud" => {
                let v = value("--baud")?;
                let b: u32 = v.parse().map_err(|_| format!("--baud: `{v}` is not a speed"))?;
                cfg.baud = (b > 0).then_some(b);
            }
            "--dialect" => {
                cfg.firmware = match value("--dialect")?.as_str() {
                    "generic" => Firmware::Meade,
                    "onstep" => Firmware::OnStep,
                    other => return Err(format!("--dialect: `{other}` is not generic or onstep")),
                }
            }
            "--slew-rate" => {
                cfg.slew_rate_deg_s = num("--slew-rate", value("--slew-rate")?)?;
                if !cfg.slew_rate_deg_s.is_finite() || cfg.slew_rate_deg_s <= 0.0 {
                    return Err("--slew-rate must be above 0".into());
                }
            }
            "--high-precision" => cfg.high_precision = true,
            "--latitude" => cfg.latitude_deg = num("--latitude", value("--latitude")?)?,
            "--longitude" => cfg.longitude_deg = num("--longitude", value("--longitude")?)?,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    cfg.link = link.ok_or("--link PATH is required")?;
    Ok(cfg)
}

async fn say(out: &mut tokio::io::Stdout, v: Value) {
    let _ = out.write_all(format!("{v}\n").as_bytes()).await;
    let _ = out.flush().await;
}

async fn control(em: &Emulator, line: &str) -> Option<Value> {
    let mut words = line.split_whitespace();
    let word = words.next()?;
    let n: u32 = words.next().and_then(|w| w.parse().ok()).unwrap_or(1);
    let ok = json!({"ok": true});
    Some(match word {
        "status" => em.status(),
        "garbage" => {
            em.garbage_next(n);
            ok
        }
        "drop" => {
            em.drop_next(n);
            ok
        }
        "partial" => {
            em.partial_next(n);
            ok
        }
        "short" => {
            em.stop_short_next(n);
            ok
        }
        "freeze" | "thaw" => {
            em.freeze(word == "freeze");
            ok
        }
        "power-cycle" => {
            em.power_cycle();
            ok
        }
        "unplug" => {
            em.unplug().await;
            ok
        }
        "replug" => match em.plug() {
            Ok(pty) => json!({"ok": true, "pty": pty}),
            Err(e) => json!({"ok": false, "error": e.to_string()}),
        },
        other => json!({"ok": false, "error": format!("unknown command `{other}`")}),
    })
}

async fn run(cfg: Config) -> Result<(), String> {
    let link = cfg.link.clone();
    let em = Emulator::start(cfg.clone())
        .map_err(|e| format!("cannot create the pty or the link {}: {e}", link.display()))?;
    let mut out = tokio::io::stdout();
    let ready = json!({
        "ready": true, "link": link.display().to_string(), "pty": em.pty(),
        "dialect": cfg.firmware.name(), "baud": cfg.baud,
    });
    say(&mut out, ready).await;
    eprintln!("lx200 emulator: {} -> {}", link.display(), em.pty().unwrap_or_default());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut stdin_open = true;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    loop {
        tokio::select! {
            line = lines.next_line(), if stdin_open => match line {
                Ok(Some(l)) if l.trim() == "quit" => break,
                Ok(Some(l)) => {
                    if let Some(v) = control(&em, &l).await {
                        say(&mut out, v).await;
                    }
                }
                _ => stdin_open = false,
            },
            _ = tokio::signal::ctrl_c() => break,
            _ = term.recv() => break,
        }
    }
    em.unplug().await;
    Ok(())
}

fn main() -> ExitCode {
    let cfg = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("teld-lx200-emulator: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("teld-lx200-emulator: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(run(cfg));
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("teld-lx200-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}
