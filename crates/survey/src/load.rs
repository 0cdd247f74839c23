//! Reading every survey of a schedules directory.

use std::path::{Path, PathBuf};

use crate::definition::Survey;
use crate::error::SurveyError;

/// Parses every `*.toml` file directly in `dir` (not in subdirectories), in file-name
/// order so the result does not depend on the file system. Stops at the first file
/// in error; refuses two files defining the same survey name, because field ids and
/// progress are keyed by it.
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<Survey>, SurveyError> {
    let dir = dir.as_ref();
    let read_dir_err = |source| SurveyError::ReadDir { path: dir.to_path_buf(), source };
    let mut paths: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_dir_err)? {
        let path = entry.map_err(read_dir_err)?.path();
        if path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    let mut surveys: Vec<Survey> = Vec::with_capacity(paths.len());
    for path in &paths {
        let survey = Survey::from_file(path)?;
        if let Some(first) = surveys.iter().find(|s| s.name() == survey.name()) {
            return Err(SurveyError::DuplicateName {
                name: survey.name().to_string(),
                first: first.source().to_string(),
                second: survey.source().to_string(),
            });
        }
        surveys.push(survey);
    }
    Ok(surveys)
}
