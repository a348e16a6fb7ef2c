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
