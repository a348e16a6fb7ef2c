//! `sheen mix` from the command line (issue 5): a bad session gives one
//! error line with `file:line:col` and renders nothing; `--init` writes a
//! session that renders; `--threads` does not change the bytes.

mod common;

use common::{run_ok, sheen};
use std::path::Path;

/// A 32-bit float stereo WAV of a deterministic signal.
fn write_stem(path: &Path, frames: usize, seed: f64) {
    let chans: Vec<Vec<f64>> = (0..2)
        .map(|c| {
            (0..frames)
                .map(|i| 0.2 * ((i as f64) * (0.01 + 0.003 * c as f64) * seed).sin())
                .collect()
        })
        .collect();
    let spec = sheen_io::WriteSpec {
        sample_rate_hz: 48_000,
        channels: 2,
        format: sheen_io::SampleFormat::F32,
        container: sheen_io::Container::Wav,
    };
    sheen_io::write_all(path, spec, &[], &chans).unwrap();
}

#[test]
fn bad_session_one_line_with_position_and_no_output() {
    let d = tempfile::tempdir().unwrap();
    write_stem(&d.path().join("a.wav"), 4800, 1.0);
    let s = d.path().join("session.toml");
    std::fs::write(
        &s,
        "[[tracks]]\nname = \"a\"\nfile = \"a.wav\"\ngain = -3\n",
    )
    .unwrap();
    let out_wav = d.path().join("out.wav");
    let out = sheen()
        .arg("mix")
        .arg(&s)
        .arg("-o")
        .arg(&out_wav)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("session.toml:4:1: unknown key 'gain'"),
        "{stderr}"
    );
    assert!(lines[0].contains("did you mean 'gain_db'?"), "{stderr}");
    assert!(!out_wav.exists(), "nothing may be rendered");
}

#[test]
fn init_then_mix_with_threads_is_deterministic() {
    let d = tempfile::tempdir().unwrap();
    write_stem(&d.path().join("drums.wav"), 48_000, 1.0);
    write_stem(&d.path().join("bass.wav"), 40_000, 0.5);
    run_ok(sheen().arg("mix").arg("--init").arg(d.path()));
    let s = d.path().join("session.toml");
    let text = std::fs::read_to_string(&s).unwrap();
    // make the starter's reverb send audible
    std::fs::write(&s, text.replacen("level_db = -inf", "level_db = -12", 1)).unwrap();
    let mut bytes = Vec::new();
    for threads in ["1", "2", "8"] {
        let o = d.path().join(format!("mix{threads}.wav"));
        let out = run_ok(
            sheen()
                .args(["mix", "--threads", threads, "-o"])
                .arg(&o)
                .arg(&s)
                .arg("--stems-out")
                .arg(d.path().join(format!("stems{threads}"))),
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("realtime"));
        assert!(d.path().join(format!("stems{threads}/verb.wav")).exists());
        bytes.push(std::fs::read(&o).unwrap());
    }
    assert_eq!(bytes[0], bytes[1]);
    assert_eq!(bytes[0], bytes[2]);
    // a second --init refuses to overwrite
    let out = sheen()
        .arg("mix")
        .arg("--init")
        .arg(d.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn refuses_to_overwrite_a_stem() {
    let d = tempfile::tempdir().unwrap();
    let a = d.path().join("a.wav");
    write_stem(&a, 4800, 1.0);
    let s = d.path().join("session.toml");
    std::fs::write(&s, "[[tracks]]\nname = \"a\"\nfile = \"a.wav\"\n").unwrap();
    let before = std::fs::read(&a).unwrap();
    let out = sheen()
        .arg("mix")
        .arg(&s)
        .arg("-o")
        .arg(&a)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert_eq!(std::fs::read(&a).unwrap(), before);
}

#[test]
fn master_after_mix() {
    let d = tempfile::tempdir().unwrap();
    write_stem(&d.path().join("a.wav"), 6 * 48_000, 1.0);
    let s = d.path().join("session.toml");
    std::fs::write(&s, "[[tracks]]\nname = \"a\"\nfile = \"a.wav\"\n").unwrap();
    let out = sheen()
        .arg("mix")
        .arg(&s)
        .args(["--master", "spotfy"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown target"));
    assert!(!d.path().join("mix.wav").exists(), "nothing rendered");
    let out = run_ok(sheen().arg("mix").arg(&s).args(["--master", "spotify"]));
    assert!(d.path().join("mix.wav").exists());
    assert!(d.path().join("mix.spotify.wav").exists());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("PASS"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
