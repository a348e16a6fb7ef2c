//! `sheen master` from the command line (issue 4, parts C and D).
//!
//! The masters of the four real-music excerpts (`shared/excerpts`) are
//! checked with an independent meter, ffmpeg's `ebur128=peak=true` filter:
//! integrated loudness within ±0.1 LU of each target and true peak at or
//! below the ceiling. ffmpeg's printed Summary has one decimal, so the
//! figures are read from the filter's per-frame metadata (three decimals:
//! the last `lavfi.r128.I`, the largest `lavfi.r128.true_peak`); the Summary
//! is printed alongside. Skipped with a printed reason when ffmpeg is absent.

mod common;

use common::{excerpts, ffmpeg_ebur128, have_ffmpeg, run_ok, sheen};
use std::path::Path;

/// Reference: ffmpeg `ebur128=peak=true`. All four excerpts, targets
/// spotify (−14/−1), apple (−16/−1), ebu-r128 (−23/−1) and cd (−9/−0.3,
/// 44.1 kHz 16-bit dithered): |I − target| ≤ 0.1 LU, true peak ≤ ceiling.
#[test]
fn masters_pass_ffmpeg_ebur128() {
    if !have_ffmpeg() {
        eprintln!("SKIPPED: ffmpeg not found on PATH (apt-get install ffmpeg)");
        return;
    }
    let files = excerpts();
    assert_eq!(files.len(), 4);
    let tmp = tempfile::tempdir().unwrap();
    let targets = [
        ("spotify", -14.0, -1.0),
        ("apple", -16.0, -1.0),
        ("ebu-r128", -23.0, -1.0),
        ("cd", -9.0, -0.3),
    ];
    for f in &files {
        let mut cmd = sheen();
        cmd.arg("master").arg(f).arg("-o").arg(tmp.path());
        for (t, _, _) in &targets {
            cmd.args(["--target", t]);
        }
        let report = tmp.path().join("report.json");
        cmd.arg("--report").arg(&report);
        run_ok(&mut cmd);
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
        let stem = f.file_stem().unwrap().to_string_lossy();
        for (k, (t, lufs, ceiling)) in targets.iter().enumerate() {
            let p = tmp.path().join(format!("{stem}.{t}.wav"));
            let m = ffmpeg_ebur128(&p);
            let (i, tp, si, sp) = (
                m.integrated,
                m.true_peak,
                m.summary_integrated,
                m.summary_true_peak,
            );
            let d = &r["deliverables"][k];
            let si_sheen = d["after"]["integrated_lufs"].as_f64().unwrap();
            let tp_sheen = d["after"]["true_peak_dbtp"].as_f64().unwrap();
            eprintln!(
                "{stem} -> {t}: ffmpeg I {i:.3} LUFS (summary {si}), TP {tp:.3} dBTP (summary {sp}) | sheen I {si_sheen:.3}, TP {tp_sheen:.3} | target {lufs}/{ceiling}"
            );
            assert!((i - lufs).abs() <= 0.1, "{stem} {t}: ffmpeg I {i}");
            assert!(tp <= *ceiling, "{stem} {t}: ffmpeg true peak {tp}");
            assert_eq!(d["pass"], true);
        }
    }
}

fn wav(path: &Path, channels: usize, frames: usize, f: impl Fn(usize, usize) -> f64) {
    let chans: Vec<Vec<f64>> = (0..channels)
        .map(|c| (0..frames).map(|i| f(c, i)).collect())
        .collect();
    let spec = sheen_io::WriteSpec {
        sample_rate_hz: 48_000,
        channels,
        format: sheen_io::SampleFormat::F32,
        container: sheen_io::Container::Wav,
    };
    sheen_io::write_all(path, spec, &[], &chans).unwrap();
}

fn music(c: usize, i: usize) -> f64 {
    let t = i as f64 / 48_000.0;
    0.2 * (2.0 * std::f64::consts::PI * 220.0 * t + c as f64).sin()
        + 0.1 * (2.0 * std::f64::consts::PI * 3300.0 * t).sin()
}

/// Failures print one line naming the file, exit non-zero and leave no
/// output: silence, six channels, an unknown target, a missing input, a
/// chain with an unknown field.
#[test]
fn errors_are_one_line_and_leave_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let silence = d.join("silence.wav");
    wav(&silence, 2, 48_000, |_, _| 0.0);
    let six = d.join("six.wav");
    wav(&six, 6, 4800, |_, _| 0.1);
    let ok = d.join("ok.wav");
    wav(&ok, 2, 96_000, music);
    let bad_chain = d.join("bad.toml");
    std::fs::write(&bad_chain, "version = 1\nsurprise = 2\n").unwrap();
    let out = d.join("out.wav");
    let cases: Vec<(Vec<std::ffi::OsString>, &str, &str)> = vec![
        (
            vec![
                "master".into(),
                silence.clone().into(),
                "-o".into(),
                out.clone().into(),
            ],
            "silence.wav",
            "digital silence",
        ),
        (
            vec![
                "master".into(),
                six.clone().into(),
                "-o".into(),
                out.clone().into(),
            ],
            "six.wav",
            "6 channels",
        ),
        (
            vec![
                "master".into(),
                ok.clone().into(),
                "-o".into(),
                out.clone().into(),
                "--target".into(),
                "nowhere".into(),
            ],
            "targets.toml",
            "unknown target",
        ),
        (
            vec![
                "master".into(),
                d.join("missing.wav").into(),
                "-o".into(),
                out.clone().into(),
            ],
            "missing.wav",
            "no such file",
        ),
        (
            vec![
                "master".into(),
                ok.clone().into(),
                "-o".into(),
                out.clone().into(),
                "--chain".into(),
                bad_chain.clone().into(),
            ],
            "bad.toml",
            "surprise",
        ),
    ];
    for (args, name, what) in cases {
        let o = sheen().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name}: should fail");
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{name}: {err}");
        assert!(lines[0].contains(name) && lines[0].contains(what), "{err}");
        assert!(!out.exists(), "{name}: partial output");
    }
}

/// `--save-chain` then `--chain` reproduces the master byte for byte;
/// `--preview-ab` writes loudness-matched excerpts (integrated loudness of
/// the original excerpt within 0.1 LU of the master's, sheen-meter);
/// `{target}` patterns name one file per target.
#[test]
fn chain_roundtrip_preview_and_patterns() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let inp = d.join("song.wav");
    wav(&inp, 2, 48_000 * 8, music);
    let chain = d.join("chain.toml");
    let ab = d.join("ab");
    let o = sheen()
        .arg("master")
        .arg(&inp)
        .arg("-o")
        .arg(d.join("a-{target}.flac"))
        .args([
            "--target", "spotify", "--target", "club", "--style", "punchy",
        ])
        .arg("--save-chain")
        .arg(&chain)
        .arg("--preview-ab")
        .arg(&ab)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = sheen()
        .arg("master")
        .arg(&inp)
        .arg("-o")
        .arg(d.join("b-{target}.flac"))
        .arg("--chain")
        .arg(&chain)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for t in ["spotify", "club"] {
        let a = std::fs::read(d.join(format!("a-{t}.flac"))).unwrap();
        let b = std::fs::read(d.join(format!("b-{t}.flac"))).unwrap();
        assert!(a == b, "{t}: re-render differs");
        let orig = sheen::mastering::measure_file(&ab.join(format!("{t}.original.wav"))).unwrap();
        let mast = sheen::mastering::measure_file(&ab.join(format!("{t}.master.wav"))).unwrap();
        let diff = orig.integrated_lufs.unwrap() - mast.integrated_lufs.unwrap();
        eprintln!("{t}: A/B loudness difference {diff:+.3} LU");
        assert!(diff.abs() <= 0.1);
    }
    let text = std::fs::read_to_string(&chain).unwrap();
    assert!(text.contains("reason = "));
}
