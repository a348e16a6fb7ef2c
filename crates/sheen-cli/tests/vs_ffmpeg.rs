//! sheen's meter against an independent implementation on real music
//! (issue "Foundation", must-show 2): ffmpeg's `ebur128=peak=true` filter.
//! Tolerances: integrated loudness within 0.1 LU, true peak within 0.2 dB,
//! LRA within 0.5 LU (ffmpeg computes LRA from a histogram, sheen exactly).
//! ffmpeg's integrated loudness and true peak are read from its per-frame
//! metadata (three decimals), its LRA from the printed Summary.
//!
//! Material: the real-music excerpts in `../shared/excerpts` (four 15 s,
//! 48 kHz 24-bit FLAC game-soundtrack excerpts), plus the corpus mixes when
//! `SHEEN_CORPUS` points at a built corpus. Skipped with a printed reason
//! only when ffmpeg is absent (`.ci/run` installs it).

mod common;

use common::{excerpts, ffmpeg_ebur128, have_ffmpeg, run_ok, sheen};
use std::path::{Path, PathBuf};
use std::process::Command;

fn sheen_json(path: &Path) -> serde_json::Value {
    let out = run_ok(sheen().args(["analyze", "--json"]).arg(path));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn real_music() -> Vec<PathBuf> {
    let mut files = excerpts();
    if let Ok(c) = std::env::var("SHEEN_CORPUS") {
        for rate in ["44.1k", "48k"] {
            if let Ok(rd) = std::fs::read_dir(Path::new(&c).join("mixes").join(rate)) {
                let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                v.sort();
                files.extend(v);
            }
        }
    }
    files
}

#[test]
fn matches_ffmpeg_ebur128_on_real_music() {
    if !have_ffmpeg() {
        eprintln!("SKIPPED: ffmpeg not found on PATH (apt-get install ffmpeg)");
        return;
    }
    let files = real_music();
    assert!(
        files.len() >= 3,
        "need at least 3 real music files, found {files:?}"
    );
    for f in &files {
        let ff = ffmpeg_ebur128(f);
        let s = sheen_json(f);
        let i = s["integrated_lufs"].as_f64().unwrap();
        let tp = s["true_peak_dbtp"].as_f64().unwrap();
        let lra = s["loudness_range_lu"].as_f64().unwrap();
        eprintln!(
            "{}: I sheen {i:.2} ffmpeg {:.2} | TP sheen {tp:.2} ffmpeg {:.2} | LRA sheen {lra:.2} ffmpeg {:.2}",
            f.display(),
            ff.integrated,
            ff.true_peak,
            ff.summary_lra
        );
        assert!(
            (i - ff.integrated).abs() <= 0.1,
            "{}: integrated",
            f.display()
        );
        assert!(
            (tp - ff.true_peak).abs() <= 0.2,
            "{}: true peak",
            f.display()
        );
        assert!((lra - ff.summary_lra).abs() <= 0.5, "{}: LRA", f.display());
    }
}

/// Lossy and other containers decode to the same loudness as ffmpeg measures
/// on the same file (MP3, Ogg Vorbis, AAC/M4A, AIFF made by ffmpeg here).
#[test]
fn other_formats_match_ffmpeg() {
    if !have_ffmpeg() {
        eprintln!("SKIPPED: ffmpeg not found on PATH (apt-get install ffmpeg)");
        return;
    }
    let Some(src) = real_music().into_iter().next() else {
        panic!("no real music excerpt found");
    };
    let d = tempfile::tempdir().unwrap();
    for (ext, codec) in [
        ("mp3", vec!["-c:a", "libmp3lame", "-b:a", "192k"]),
        ("ogg", vec!["-c:a", "libvorbis", "-q:a", "5"]),
        ("m4a", vec!["-c:a", "aac", "-b:a", "192k"]),
        ("aiff", vec!["-c:a", "pcm_s24be"]),
        ("wav", vec!["-c:a", "pcm_s16le", "-ar", "44100"]),
    ] {
        let out = d.path().join(format!("x.{ext}"));
        let st = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(&src)
            .args(&codec)
            .arg(&out)
            .status()
            .unwrap();
        assert!(st.success(), "ffmpeg could not make {ext}");
        let ff = ffmpeg_ebur128(&out);
        let s = sheen_json(&out);
        let i = s["integrated_lufs"].as_f64().unwrap();
        eprintln!("{ext}: I sheen {i:.2} ffmpeg {:.2}", ff.integrated);
        assert!((i - ff.integrated).abs() <= 0.1, "{ext}: integrated");
        let dur = s["duration_s"].as_f64().unwrap();
        assert!((dur - 15.0).abs() < 0.1, "{ext}: duration {dur}");
    }
}
