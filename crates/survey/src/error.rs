//! What can go wrong reading survey definitions. Every message names the file, the
//! key and what to change, because the reader is an operator editing TOML by hand.

use std::fmt;
use std::path::PathBuf;

/// Where the format is described; quoted in messages so the fix is one step away.
const FORMAT_DOC: &str = "crates/survey/README.md";

#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(
        "cannot read survey definition {}: {source}; check that the file exists and is readable",
        path.display()
    )]
    Read { path: PathBuf, source: std::io::Error },

    #[error(
        "cannot list survey directory {}: {source}; check the path of the schedules directory",
        path.display()
    )]
    ReadDir { path: PathBuf, source: std::io::Error },

    /// The TOML is malformed or does not fit the format (unknown key, wrong type,
    /// missing key); `key` is the dotted path of the offending line when it could be
    /// told from the text.
    #[error(
        "{source_name}{}{}: {message}; {}",
        location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default(),
        key.as_ref().map(|k| format!(": key `{k}`")).unwrap_or_default(),
        syntax_hint(message)
    )]
    Toml {
        source_name: String,
        key: Option<String>,
        /// 1-based line and column.
        location: Option<(usize, usize)>,
        message: String,
    },

    /// Well-formed TOML whose values break the rules; all problems of the file at once
    /// so one edit-and-retry round fixes them all.
    #[error(
        "{source_name}: {} problem(s) in the survey definition; \
         fix them (format: {FORMAT_DOC}):\n{}",
        issues.len(),
        issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n")
    )]
    Invalid { source_name: String, issues: Vec<Issue> },

    #[error(
        "survey name `{name}` is defined in both {first} and {second}; field ids and \
         progress are kept per survey name, so rename one of them (key `name`)"
    )]
    DuplicateName { name: String, first: String, second: String },
}

impl SurveyError {
    /// The validation problems, empty for other kinds of error.
    pub fn issues(&self) -> &[Issue] {
        match self {
            SurveyError::Invalid { issues, .. } => issues,
            _ => &[],
        }
    }

    /// Turns toml's error into one that names the key: toml gives a byte span, the
    /// key is read back from the text (the table header above plus the key on that
    /// line).
    pub(crate) fn from_toml(e: toml::de::Error, text: &str, source_name: &str) -> SurveyError {
        let start = e.span().map(|s| s.start);
        let message = e.message().trim().replace('\n', " ");
        let missing = message.strip_prefix("missing field `").and_then(|r| r.split('`').next());
        let (key, location) = match missing {
            // A missing key has no line of its own: toml points at the table that
            // lacks it, or at the whole document for a top-level key, where "line 1"
            // would send the reader to the wrong place.
            Some(m) => match start.and_then(|s| table_at(text, s).map(|t| (t, s))) {
                Some((t, s)) => (Some(format!("{t}.{m}")), Some(line_col(text, s))),
                None => (Some(m.to_string()), None),
            },
            None => (start.and_then(|s| key_at(text, s)), start.map(|s| line_col(text, s))),
        };
        SurveyError::Toml { source_name: source_name.to_string(), key, location, message }
    }
}

/// One broken rule: the dotted key (`tracklet.visits`, `fields[2].ra_deg`) and what is
/// wrong with it and how to fix it.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}`: {}", self.key, self.message)
    }
}

fn syntax_hint(message: &str) -> String {
    if message.starts_with("unknown field") {
        format!("check the spelling of the key; the format is described in {FORMAT_DOC}")
    } else if message.starts_with("missing field") {
        format!("add the key; the format is described in {FORMAT_DOC}")
    } else {
        format!("fix the TOML at that place; the format is described in {FORMAT_DOC}")
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, col)
}

/// The dotted key of the line holding `offset`: the last `[table]` / `[[array]]`
/// header before it (arrays of tables numbered from 0, as validation messages do)
/// and the bare key starting that line. `None` when neither can be told, e.g. for an
/// error spanning the whole document.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let (table, line) = locate(text, offset)?;
    match (table, bare_key(line)) {
        (Some(t), Some(k)) => Some(format!("{t}.{k}")),
        (Some(t), None) => Some(t),
        (None, Some(k)) => Some(k.to_string()),
        (None, None) => None,
    }
}

/// The table (`tracklet`, `fields[1]`) whose header is the last one before `offset`,
/// `None` at the top level.
fn table_at(text: &str, offset: usize) -> Option<String> {
    locate(text, offset).and_then(|(table, _)| table)
}

/// The table in force at `offset` and the trimmed line holding it.
fn locate(text: &str, offset: usize) -> Option<(Option<String>, &str)> {
    let mut table: Option<String> = None;
    let mut array_counts: Vec<(String, usize)> = Vec::new();
    let mut pos = 0;
    for line in text.split_inclusive('\n') {
        let end = pos + line.len();
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix("[[").and_then(|r| r.split("]]").next()) {
            let name = name.trim().to_string();
            let n = match array_counts.iter_mut().find(|(k, _)| *k == name) {
                Some((_, n)) => {
                    *n += 1;
                    *n
                }
                None => {
                    array_counts.push((name.clone(), 0));
                    0
                }
            };
            table = Some(format!("{name}[{n}]"));
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.split(']').next()) {
            table = Some(name.trim().to_string());
        }
        if offset < end || end == text.len() {
            return Some((table, trimmed));
        }
        pos = end;
    }
    None
}

fn bare_key(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let ok = !key.is_empty()
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    ok.then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_at_reads_table_and_key() {
        let text = "name = \"x\"\n[tracklet]\nvisits = 3\n\
                    [[fields]]\nname = \"a\"\n[[fields]]\nra_deg = 1\n";
        assert_eq!(key_at(text, 2).as_deref(), Some("name"));
        assert_eq!(key_at(text, text.find("visits").unwrap()).as_deref(), Some("tracklet.visits"));
        assert_eq!(key_at(text, text.find("ra_deg").unwrap()).as_deref(), Some("fields[1].ra_deg"));
        assert_eq!(key_at(text, text.find("[tracklet]").unwrap()).as_deref(), Some("tracklet"));
    }

    #[test]
    fn line_col_is_one_based() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
    }
}
