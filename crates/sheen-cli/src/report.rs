//! The JSON reports of `master`, `match` and `album`: printed for `-`,
//! otherwise written atomically and never over an input; and the number
//! format their summaries share.

use anyhow::Result;
use serde::Serialize;
use std::path::Path;

/// Writes `report` as pretty JSON to `path` (`-`: standard output).
/// Returns true when it went to standard output (the caller then prints
/// no summary, so the output stays valid JSON).
pub fn write_json<T: Serialize>(path: &Path, report: &T, inputs: &[&Path]) -> Result<bool> {
    let json = serde_json::to_string_pretty(report)?;
    if path.as_os_str() == "-" {
        println!("{json}");
        return Ok(true);
    }
    sheen_io::write_text(path, &json, inputs)?;
    Ok(false)
}

/// A value with two decimals, `-` when absent.
pub fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |x| format!("{x:.2}"))
}

/// Checks an HTML report destination before any work starts: it must name
/// a file (not a folder) in an existing folder and be none of `inputs`.
pub fn check_html_path(path: &Path, inputs: &[&Path]) -> Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "{}: is a folder, the HTML report needs a file name",
            path.display()
        );
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "{}: folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    if let Ok(p) = path.canonicalize() {
        for i in inputs {
            if i.canonicalize().is_ok_and(|c| c == p) {
                anyhow::bail!(
                    "{}: is an input of this job; the HTML report must not overwrite it",
                    path.display()
                );
            }
        }
    }
    Ok(())
}

/// Renders and writes an HTML report; `protect` are the job's inputs and
/// outputs (never overwritten). Prints where it went.
pub fn write_html(path: &Path, data: &sheen_report::ReportData, protect: &[&Path]) -> Result<()> {
    sheen::report::write_html(path, data, protect)?;
    println!("sheen: HTML report -> {}", path.display());
    Ok(())
}
