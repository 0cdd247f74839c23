//! Logs: human-readable on a terminal, JSON when asked, the journal under systemd.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Journal under systemd, otherwise human-readable.
    #[default]
    Auto,
    Human,
    Json,
}

/// Installs the global subscriber. Filter from `RUST_LOG` (default `info`).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let registry = tracing_subscriber::registry().with(filter);
    // systemd sets JOURNAL_STREAM when stderr is connected to the journal.
    if format == LogFormat::Auto && std::env::var_os("JOURNAL_STREAM").is_some() {
        match tracing_journald::layer() {
            Ok(journal) => {
                registry.with(journal.with_syslog_identifier("teld".into())).init();
                return;
            }
            Err(e) => eprintln!("journald not reachable ({e}); logging to stderr"),
        }
    }
    use std::io::IsTerminal;
    let ansi = std::io::stderr().is_terminal();
    let stderr = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Json => registry.with(stderr.json().flatten_event(true)).init(),
        _ => registry.with(stderr).init(),
    }
}
