//! The campaign's own `teld-lx200-emulator` on a pty, driven through its stdin: one
//! word a line (`garbage N`, `drop N`, `partial N`, `freeze`/`thaw`, `unplug`/`replug`),
//! each answered with one JSON line (drivers/lx200/README.md). Its `--link` symlink
//! stays the same across `unplug`/`replug` (a new pty behind the same name, like a
//! `/dev/serial/by-id/` name), so teld's config names the link.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::Value;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum EmulatorError {
    #[error(
        "cannot start the LX200 emulator {exe}: {source}; build it next to teld (cargo build --bin teld-lx200-emulator)"
    )]
    Spawn { exe: PathBuf, source: std::io::Error },
    #[error(
        "the LX200 emulator did not say it was ready (it said `{0}`); see emulator.log in the run folder"
    )]
    NotReady(String),
    #[error(
        "the LX200 emulator did not take `{word}` (it said `{answer}`); see emulator.log in the run folder"
    )]
    Refused { word: String, answer: String },
}

pub struct Emulator {
    child: Child,
    stdin: ChildStdin,
    answers: BufReader<ChildStdout>,
    pub link: PathBuf,
}

impl Emulator {
    /// Starts `teld-lx200-emulator` (next to `teld`) as an OnStep mount at 9600 baud
    /// behind the symlink `link`, at the site's latitude and longitude.
    pub fn start(
        teld: &Path,
        link: &Path,
        (latitude_deg, longitude_deg): (f64, f64),
        log: &Path,
    ) -> Result<Emulator, EmulatorError> {
        let exe = teld.with_file_name("teld-lx200-emulator");
        let spawn = |source| EmulatorError::Spawn { exe: exe.clone(), source };
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).map_err(spawn)?;
        let mut child = Command::new(&exe)
            .arg("--link")
            .arg(link)
            .args(["--dialect", "onstep", "--baud", "9600"])
            .args(["--latitude", &latitude_deg.to_string()])
            .args(["--longitude", &longitude_deg.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(spawn)?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            unreachable!("both piped above")
        };
        let mut em = Emulator { child, stdin, answers: BufReader::new(stdout), link: link.into() };
        let ready = em.answer();
        if ready["ready"] != true {
            return Err(EmulatorError::NotReady(ready.to_string()));
        }
        Ok(em)
    }

    fn answer(&mut self) -> Value {
        let mut line = String::new();
        let _ = self.answers.read_line(&mut line);
        serde_json::from_str(line.trim()).unwrap_or(Value::String(line))
    }

    /// Says one word (`garbage 2`, `unplug`...) and returns the emulator's answer;
    /// an error if it did not take it.
    pub fn say(&mut self, word: &str) -> Result<Value, EmulatorError> {
        let refused = |answer: String| EmulatorError::Refused { word: word.into(), answer };
        writeln!(self.stdin, "{word}").map_err(|e| refused(e.to_string()))?;
        let _ = self.stdin.flush();
        let answer = self.answer();
        if answer["ok"] != true {
            return Err(refused(answer.to_string()));
        }
        Ok(answer)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SIGTERM removes the link; the pipe closing alone would not stop it.
        super::inject::signal(self.child.id(), libc::SIGTERM);
        let _ = self.child.wait();
    }
}
