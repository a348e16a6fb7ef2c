//! Bad inputs to `sheen analyze` (issue "Foundation", must-show 5): each gives
//! a one-line error naming the file and the problem, a non-zero exit status,
//! and no panic.

mod common;

use common::{run_ok, sheen};
use std::path::{Path, PathBuf};

/// A canonical 44-byte-header PCM/float WAV (RIFF, `fmt `, `data`).
fn wav_bytes(format_tag: u16, bits: u16, channels: u16, rate: u32, data: &[u8]) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&format_tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate.to_le_bytes());
    v.extend_from_slice(&(rate * block_align as u32).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn sine_i16(frames: usize) -> Vec<u8> {
    (0..frames)
        .flat_map(|i| {
            let x = (0.5 * (i as f64 * 0.05).sin() * 32767.0) as i16;
            let b = x.to_le_bytes();
            [b[0], b[1], b[0], b[1]]
        })
        .collect()
}

/// Runs `sheen analyze PATH` and checks the failure contract. Returns stderr.
fn expect_clean_error(path: &Path, what: &str) -> String {
    let out = sheen().arg("analyze").arg(path).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        !out.status.success(),
        "{what}: exit status should be non-zero"
    );
    assert!(!stderr.contains("panicked"), "{what}: panicked: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: want one line, got {stderr:?}");
    let name = path.file_name().unwrap().to_string_lossy();
    assert!(
        lines[0].contains(&*name),
        "{what}: error must name the file: {stderr:?}"
    );
    assert!(out.stdout.is_empty(), "{what}: no partial output on stdout");
    stderr
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

#[test]
fn empty_file() {
    let d = tmp();
    let p = d.path().join("empty.wav");
    std::fs::write(&p, b"").unwrap();
    let e = expect_clean_error(&p, "empty file");
    assert!(e.contains("empty"), "{e}");
}

#[test]
fn truncated_wav() {
    let d = tmp();
    let p = d.path().join("truncated.wav");
    let mut bytes = wav_bytes(1, 16, 2, 48_000, &sine_i16(48_000));
    bytes.truncate(44 + 1000 * 4 + 3); // header says 48 000 frames, ~1000 follow
    std::fs::write(&p, &bytes).unwrap();
    let e = expect_clean_error(&p, "truncated WAV");
    assert!(e.contains("truncated"), "{e}");
}

#[test]
fn text_file_named_wav() {
    let d = tmp();
    let p = d.path().join("notes.wav");
    std::fs::write(
        &p,
        "These are my lyrics, not audio.\nVerse 1...\n".repeat(20),
    )
    .unwrap();
    let e = expect_clean_error(&p, "text named .wav");
    assert!(
        e.contains("not a recognised audio format") || e.contains("format"),
        "{e}"
    );
}

#[test]
fn wav_with_nan_and_inf_samples() {
    let d = tmp();
    for (name, bad) in [("nan.wav", f32::NAN), ("inf.wav", f32::INFINITY)] {
        let p = d.path().join(name);
        let mut data = Vec::new();
        for i in 0..4800 {
            let x = if i == 1234 {
                bad
            } else {
                0.25 * (i as f32 * 0.03).sin()
            };
            data.extend_from_slice(&x.to_le_bytes());
        }
        std::fs::write(&p, wav_bytes(3, 32, 1, 48_000, &data)).unwrap();
        let e = expect_clean_error(&p, name);
        assert!(
            e.contains("NaN") || e.contains("inf") || e.contains("Inf"),
            "{e}"
        );
    }
}

#[test]
fn zero_length_audio() {
    let d = tmp();
    let p = d.path().join("zero.wav");
    std::fs::write(&p, wav_bytes(1, 16, 2, 48_000, &[])).unwrap();
    let e = expect_clean_error(&p, "0-length audio");
    assert!(e.contains("no audio") || e.contains("0 frames"), "{e}");
}

#[test]
fn missing_file() {
    let d = tmp();
    let p: PathBuf = d.path().join("missing.wav");
    let e = expect_clean_error(&p, "missing file");
    assert!(e.contains("no such file"), "{e}");
}

#[test]
fn directory() {
    let d = tmp();
    let p = d.path().join("stems.wav");
    std::fs::create_dir(&p).unwrap();
    let e = expect_clean_error(&p, "directory");
    assert!(e.contains("directory"), "{e}");
}

/// A good file next to bad ones still analyses (sanity check of the helper).
#[test]
fn good_wav_analyses() {
    let d = tmp();
    let p = d.path().join("good.wav");
    std::fs::write(&p, wav_bytes(1, 16, 2, 48_000, &sine_i16(48_000))).unwrap();
    run_ok(sheen().args(["analyze", "--json"]).arg(&p));
}

/// Reference: Unix convention (`cmd | head`): a reader that closes the pipe
/// early ends the writer quietly (SIGPIPE), without a panic message.
#[cfg(unix)]
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::os::unix::process::ExitStatusExt;
    let d = tmp();
    let p = d.path().join("good.wav");
    std::fs::write(&p, wav_bytes(1, 16, 2, 48_000, &sine_i16(48_000))).unwrap();
    let mut child = sheen()
        .args(["analyze", "--json"])
        .arg(&p)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before any output
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.status.success() || out.status.signal() == Some(libc_sigpipe()),
        "{:?}: {err}",
        out.status
    );
}

/// SIGPIPE's number on Linux and the BSDs.
#[cfg(unix)]
fn libc_sigpipe() -> i32 {
    13
}
