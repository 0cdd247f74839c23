//! Starting a driver program and forwarding its log.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Longest log line kept from a driver; the rest is cut.
const MAX_LOG_LINE: usize = 16 * 1024;

pub struct DriverProcess {
    pub child: Child,
    pub stdin: ChildStdin,
    pub stdout: BufReader<ChildStdout>,
    pub pid: Option<u32>,
}

/// Finds a driver program: a path is used as given; a bare name is looked up next to
/// the running `teld` (where `cargo build` and packages put drivers), then on `PATH`.
pub fn resolve_program(program: &str) -> Result<PathBuf, String> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("driver program {} does not exist", p.display()))
        };
    }
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf));
    let mut searched = Vec::new();
    for dir in beside
        .into_iter()
        .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()))
    {
        let candidate = dir.join(program);
        if candidate.is_file() {
            return Ok(candidate);
        }
        searched.push(dir.display().to_string());
    }
    Err(format!(
        "driver program `{program}` not found next to teld or on PATH (searched {}); build it with `cargo build --release` (builds teld and every driver) or set the driver's `program` key to its path",
        searched.into_iter().take(3).collect::<Vec<_>>().join(", ")
    ))
}

pub fn spawn(driver: &str, program: &Path, args: &[String]) -> std::io::Result<DriverProcess> {
    spawn_command(driver, Command::new(program), args)
}

/// Starts a verified program through its open descriptor (`/proc/self/fd/N`), so the
/// inode that was hashed is the one executed, whatever happens to its path meanwhile.
pub fn spawn_verified(
    driver: &str,
    program: &crate::update::exec::VerifiedProgram,
    args: &[String],
) -> std::io::Result<DriverProcess> {
    spawn_command(driver, Command::from(program.command()), args)
}

fn spawn_command(
    driver: &str,
    mut cmd: Command,
    args: &[String],
) -> std::io::Result<DriverProcess> {
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a Ctrl-C at teld's terminal must not kill drivers
        // before teld has made the telescope safe through them.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id();
    let stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no stdin pipe"))?;
    let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout pipe"))?;
    if let Some(stderr) = child.stderr.take() {
        tokio::spawn(forward_log(driver.to_string(), BufReader::new(stderr)));
    }
    Ok(DriverProcess { child, stdin, stdout: BufReader::new(stdout), pid })
}

/// A driver's stderr is its log: each line lands in teld's log under the driver's
/// name, at the level the line announces, without the driver's own timestamp (teld's
/// log line has one).
async fn forward_log(driver: String, mut stderr: BufReader<tokio::process::ChildStderr>) {
    let mut raw = Vec::new();
    loop {
        raw.clear();
        // Bytes, not `read_line`: one invalid UTF-8 byte must not end the forwarding
        // (the driver would then die on a closed stderr). Overlong lines are cut.
        match (&mut stderr).take(MAX_LOG_LINE as u64).read_until(b'\n', &mut raw).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if !raw.ends_with(b"\n") && raw.len() == MAX_LOG_LINE {
            // Drop the rest of an overlong line.
            let mut rest = Vec::new();
            if stderr.read_until(b'\n', &mut rest).await.is_err() {
                return;
            }
            raw.extend_from_slice(" …[cut]".as_bytes());
        }
        let line = String::from_utf8_lossy(&raw);
        let text = strip_ansi(line.trim_end());
        let (level, text) = split_level(&text);
        if text.is_empty() {
            continue;
        }
        match level {
            "ERROR" => tracing::error!(driver = %driver, "{text}"),
            "WARN" => tracing::warn!(driver = %driver, "{text}"),
            "DEBUG" | "TRACE" => tracing::debug!(driver = %driver, "{text}"),
            _ => tracing::info!(driver = %driver, "{text}"),
        }
    }
}

/// Splits `2026-11-24T05:35:39.451277Z  INFO target: message` (the usual `tracing`
/// and `env_logger` shapes) into level and the rest; other lines are `INFO`.
fn split_level(line: &str) -> (&str, &str) {
    let mut rest = line.trim_start();
    if let Some((first, tail)) = rest.split_once(char::is_whitespace)
        && first.len() >= 20
        && first.as_bytes()[4] == b'-'
        && first.contains('T')
    {
        rest = tail.trim_start();
    }
    for level in ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"] {
        if let Some(tail) = rest.strip_prefix(level)
            && tail.starts_with(char::is_whitespace)
        {
            return (level, tail.trim_start());
        }
    }
    ("INFO", line.trim())
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_program_error_says_how_to_build_it() {
        let e = resolve_program("teld-driver-does-not-exist").unwrap_err();
        assert!(e.contains("cargo build --release"), "{e}");
        assert!(resolve_program("/nonexistent/x").unwrap_err().contains("does not exist"));
    }

    #[test]
    fn driver_timestamp_and_level_are_taken_apart() {
        let l = "2026-11-24T05:35:39.451277Z  WARN teld_driver_sim::driver: shutter slow";
        assert_eq!(split_level(l), ("WARN", "teld_driver_sim::driver: shutter slow"));
        assert_eq!(split_level("ERROR boom"), ("ERROR", "boom"));
        assert_eq!(split_level("plain text"), ("INFO", "plain text"));
    }

    #[test]
    fn ansi_colours_are_removed() {
        assert_eq!(strip_ansi("\u{1b}[32m INFO\u{1b}[0m hi"), " INFO hi");
    }
}
