//! Helpers shared by the `sheen` command-line tests: the binary, the
//! real-music excerpts beside the checkout, and ffmpeg's `ebur128` filter
//! as the independent meter. (Each test file uses a subset.)
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `sheen` binary under test.
pub fn sheen() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sheen"))
}

/// Runs `cmd` and panics with its standard error unless it succeeded.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run command");
    assert_ok(&out);
    out
}

/// Panics with the command's standard error unless it succeeded.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `shared/excerpts` beside the checkout (walking up from this crate), or
/// `$SHEEN_EXCERPTS`.
pub fn excerpts_dir() -> Option<PathBuf> {
    if let Ok(d) = std::env::var("SHEEN_EXCERPTS") {
        return Some(PathBuf::from(d));
    }
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let cand = dir.join("shared").join("excerpts");
        if cand.is_dir() {
            return Some(cand);
        }
        if !dir.pop() {
            return None;
        }
    }
}

/// The FLAC excerpts, sorted by name (empty when the folder is absent).
pub fn excerpts() -> Vec<PathBuf> {
    let Some(d) = excerpts_dir() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "flac"))
        .collect();
    v.sort();
    v
}

/// Whether ffmpeg runs here.
pub fn have_ffmpeg() -> bool {
    Command::new("ffmpeg").arg("-version").output().is_ok()
}

/// What ffmpeg's `ebur128=peak=true` filter measures of a file.
#[derive(Clone, Debug)]
pub struct Ebur128 {
    /// The last `lavfi.r128.I` of the per-frame metadata (three decimals),
    /// LUFS.
    pub integrated: f64,
    /// The largest `lavfi.r128.true_peak` of the metadata, dBTP.
    pub true_peak: f64,
    /// The printed Summary's `I:` (one decimal), LUFS.
    pub summary_integrated: f64,
    /// The Summary's `LRA:`, LU.
    pub summary_lra: f64,
    /// The Summary's true `Peak:`, dBTP.
    pub summary_true_peak: f64,
}

/// Measures `path` with ffmpeg's `ebur128=peak=true` filter (per-frame
/// metadata printed to stdout, the Summary read from stderr).
pub fn ffmpeg_ebur128(path: &Path) -> Ebur128 {
    let out = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args([
            "-af",
            "ebur128=peak=true:metadata=1,ametadata=mode=print:file=-",
            "-f",
            "null",
            "-",
        ])
        .output()
        .expect("run ffmpeg");
    let meta = String::from_utf8_lossy(&out.stdout);
    let mut i = f64::NAN;
    let mut tp = 0.0f64;
    for l in meta.lines() {
        if let Some(v) = l.strip_prefix("lavfi.r128.I=") {
            i = v.trim().parse().unwrap();
        }
        if let Some(v) = l.strip_prefix("lavfi.r128.true_peak=") {
            tp = tp.max(v.trim().parse().unwrap());
        }
    }
    let text = String::from_utf8_lossy(&out.stderr);
    let summary = text.split("Summary:").nth(1).expect("ffmpeg summary");
    let field = |key: &str| -> f64 {
        summary
            .lines()
            .find_map(|l| l.trim().strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in ffmpeg summary: {summary}"))
    };
    Ebur128 {
        integrated: i,
        true_peak: 20.0 * tp.log10(),
        summary_integrated: field("I:"),
        summary_lra: field("LRA:"),
        summary_true_peak: field("Peak:"),
    }
}
