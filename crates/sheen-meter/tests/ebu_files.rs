//! Optional check against the EBU loudness test set (v05) WAV files, which
//! are not shipped with sheen. Point `EBU_TEST_SET` at the unpacked folder
//! and run:
//!
//! ```text
//! EBU_TEST_SET=/path/to/ebu-loudness-test-setv05 \
//!   cargo test -p sheen-meter --test ebu_files -- --ignored --nocapture
//! ```
//!
//! Expected values and tolerances: EBU Tech 3341 (2016) Table 1 and Tech 3342
//! (2016) Table 1. Files that are missing are skipped (and listed).

use sheen_meter::{Analysis, Analyzer, AnalyzerOptions};
use std::path::{Path, PathBuf};

fn read(path: &Path) -> (f64, Vec<Vec<f64>>) {
    let mut r = hound::WavReader::open(path).expect("readable WAV");
    let spec = r.spec();
    let ch = spec.channels as usize;
    let mut out = vec![Vec::new(); ch];
    match spec.sample_format {
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f64;
            for (i, s) in r.samples::<i32>().enumerate() {
                out[i % ch].push(s.unwrap() as f64 * scale);
            }
        }
        hound::SampleFormat::Float => {
            for (i, s) in r.samples::<f32>().enumerate() {
                out[i % ch].push(s.unwrap() as f64);
            }
        }
    }
    (spec.sample_rate as f64, out)
}

fn analyse(path: &Path) -> Analysis {
    let (fs, chans) = read(path);
    let mut a = Analyzer::new(fs, chans.len(), AnalyzerOptions::default());
    let n = chans[0].len();
    let mut start = 0;
    while start < n {
        let end = (start + 8192).min(n);
        let block: Vec<&[f64]> = chans.iter().map(|c| &c[start..end]).collect();
        a.push(&block);
        start = end;
    }
    a.finish()
}

/// Finds `seq-<name>-…wav` (the test set's names carry bit depths and
/// sometimes a doubled `.wav`).
fn find(dir: &Path, name: &str) -> Option<PathBuf> {
    let prefix = format!("seq-{name}-");
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let f = p.file_name().unwrap().to_string_lossy().to_string();
            f.starts_with(&prefix) && f.ends_with(".wav") && f[prefix.len()..].contains("bit")
        })
        .collect();
    hits.sort();
    hits.into_iter().next()
}

#[test]
#[ignore = "needs the EBU loudness test set (set EBU_TEST_SET)"]
fn ebu_test_set() {
    let Some(dir) = std::env::var_os("EBU_TEST_SET").map(PathBuf::from) else {
        eprintln!("EBU_TEST_SET not set; nothing checked");
        return;
    };
    type Check = fn(&Analysis) -> Option<f64>;
    let i: Check = |a| a.integrated_lufs;
    let lra: Check = |a| a.loudness_range_lu;
    let mmax: Check = |a| a.momentary_max_lufs;
    let smax: Check = |a| a.short_term_max_lufs;
    let tp: Check = |a| a.true_peak_dbtp;
    // (file, what, expected, −tolerance, +tolerance)
    let mut cases: Vec<(String, &str, Check, f64, f64, f64)> = vec![
        ("3341-1".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-2".into(), "I", i, -33.0, 0.1, 0.1),
        ("3341-3".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-4".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-5".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-6-5channels".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-6-6channels".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-7_seq-3342-5".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-2011-8_seq-3342-6".into(), "I", i, -23.0, 0.1, 0.1),
        ("3341-7_seq-3342-5".into(), "LRA", lra, 5.0, 1.0, 1.0),
        ("3341-2011-8_seq-3342-6".into(), "LRA", lra, 15.0, 1.0, 1.0),
        ("3342-1".into(), "LRA", lra, 10.0, 1.0, 1.0),
        ("3342-2".into(), "LRA", lra, 5.0, 1.0, 1.0),
        ("3342-3".into(), "LRA", lra, 20.0, 1.0, 1.0),
        ("3342-4".into(), "LRA", lra, 15.0, 1.0, 1.0),
    ];
    for k in 1..=20 {
        cases.push((format!("3341-10-{k}"), "max S", smax, -23.0, 0.1, 0.1));
        cases.push((format!("3341-13-{k}"), "max M", mmax, -23.0, 0.1, 0.1));
    }
    for (k, want) in [
        (15, -6.0),
        (16, -6.0),
        (17, -6.0),
        (18, -6.0),
        (19, 3.0),
        (20, 0.0),
        (21, 0.0),
        (22, 0.0),
        (23, 0.0),
    ] {
        cases.push((format!("3341-{k}"), "TP", tp, want, 0.4, 0.2));
    }
    let (mut passed, mut missing) = (0, Vec::new());
    for (name, what, get, want, lo, hi) in cases {
        let Some(path) = find(&dir, &name) else {
            missing.push(name);
            continue;
        };
        let got = get(&analyse(&path)).unwrap_or_else(|| panic!("{name}: no {what}"));
        eprintln!("{name}: {what} = {got:.3} (want {want} −{lo}/+{hi})");
        assert!(
            got >= want - lo && got <= want + hi,
            "{name}: {what} {got} vs {want}"
        );
        passed += 1;
    }
    eprintln!("{passed} checks passed; files not found: {missing:?}");
}
