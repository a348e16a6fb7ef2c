//! `automix` end to end on synthesized stems (issue "Automatic mixing",
//! must-shows 3 and 5): determinism of the session text and of its render,
//! and the edge cases — one stem, a silent stem, mixed lengths and sample
//! rates, mono and stereo, 64 stems.

use sheen::automix::{self, StemClass};
use sheen::mixing::{self, RenderOptions};
use sheen_io::{write_all, Container, SampleFormat, WriteSpec};
use std::path::{Path, PathBuf};

fn write(path: &Path, rate: u32, planar: &[Vec<f64>]) {
    let spec = WriteSpec {
        sample_rate_hz: rate,
        channels: planar.len(),
        format: SampleFormat::F32,
        container: Container::Wav,
    };
    write_all(path, spec, &[], planar).unwrap();
}

/// The demo song's stems as files in `dir`.
fn demo_stems(dir: &Path, rate: u32, bars: usize) -> Vec<PathBuf> {
    sheen::demo::stems(rate, bars)
        .into_iter()
        .map(|s| {
            let p = dir.join(format!("{}.wav", s.name));
            write(&p, rate, &s.channels);
            p
        })
        .collect()
}

fn render(session: &Path, out: &Path, threads: usize) -> Vec<u8> {
    let plan = mixing::load(session).unwrap();
    let opts = RenderOptions {
        output: out.to_path_buf(),
        stems_out: None,
        threads,
    };
    mixing::render(&plan, &opts, &mut |_, _| {}).unwrap();
    std::fs::read(out).unwrap()
}

/// Same stems → byte-identical session text and render, whatever the
/// thread count (reference: the bytes of the first run).
#[test]
fn same_stems_same_session_and_render() {
    let dir = tempfile::tempdir().unwrap();
    let mut stems = demo_stems(dir.path(), 48_000, 2);
    stems.sort(); // a folder is taken in name order
    let session = dir.path().join("auto.toml");
    let a = automix::automix(&[dir.path().to_path_buf()], &session).unwrap();
    let b = automix::automix(&stems, &session).unwrap();
    assert_eq!(a.session_text, b.session_text);
    automix::write_session(&a, &session).unwrap();
    let r1 = render(&session, &dir.path().join("m1.wav"), 1);
    let r2 = render(&session, &dir.path().join("m2.wav"), 2);
    let r8 = render(&session, &dir.path().join("m8.wav"), 8);
    assert!(r1 == r2 && r2 == r8, "renders differ with thread count");
    // every track carries its reasons
    let n_tracks = a.session_text.matches("[[tracks]]").count();
    assert_eq!(n_tracks, stems.len());
    assert_eq!(a.session_text.matches("[tracks.reasons]").count(), n_tracks);
    assert!(a.session_text.contains("gain_db = \"measured"));
}

/// One stem only passes through: a valid one-track session.
#[test]
fn one_stem() {
    let dir = tempfile::tempdir().unwrap();
    let stems = demo_stems(dir.path(), 48_000, 1);
    let session = dir.path().join("one.toml");
    let a = automix::automix(&stems[..1], &session).unwrap();
    assert_eq!(a.decisions.len(), 1);
    automix::write_session(&a, &session).unwrap();
    let bytes = render(&session, &dir.path().join("one.wav"), 1);
    assert!(bytes.len() > 1000);
}

/// A silent stem is kept, muted, with the reason; mono and stereo stems,
/// different lengths and sample rates (44.1 and 48 kHz) mix at the highest
/// rate.
#[test]
fn silent_mono_and_mixed_rates() {
    let dir = tempfile::tempdir().unwrap();
    let mut stems = demo_stems(dir.path(), 48_000, 2);
    let silent = dir.path().join("silence.wav");
    write(&silent, 48_000, &[vec![0.0; 48_000]]);
    stems.push(silent);
    let mono = dir.path().join("vox.wav");
    let tone: Vec<f64> = (0..44_100 * 3)
        .map(|i| 0.2 * (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 44_100.0).sin())
        .collect();
    write(&mono, 44_100, &[tone]);
    stems.push(mono);
    let session = dir.path().join("s.toml");
    let a = automix::automix(&stems, &session).unwrap();
    assert_eq!(a.sample_rate_hz, 48_000);
    let s = a.decisions.iter().find(|d| d.name == "silence").unwrap();
    assert!(s.mute.as_deref().unwrap().contains("silent"));
    let v = a.decisions.iter().find(|d| d.name == "vox").unwrap();
    assert_eq!(v.class.class, StemClass::LeadVocal);
    assert!(a.session_text.contains("mute = true"));
    automix::write_session(&a, &session).unwrap();
    render(&session, &dir.path().join("mix.wav"), 2);
}

/// 64 stems work; 65 are refused with a clear message.
#[test]
fn sixty_four_stems() {
    let dir = tempfile::tempdir().unwrap();
    let mut stems = Vec::new();
    for k in 0..65 {
        let p = dir.path().join(format!("track{k:02}.wav"));
        let f = 100.0 + 37.0 * k as f64;
        let x: Vec<f64> = (0..12_000)
            .map(|i| 0.05 * (2.0 * std::f64::consts::PI * f * i as f64 / 24_000.0).sin())
            .collect();
        write(&p, 24_000, &[x]);
        stems.push(p);
    }
    let session = dir.path().join("big.toml");
    let e = automix::automix(&stems, &session).unwrap_err().to_string();
    assert!(e.contains("65 stems") && e.contains("1 to 64"), "{e}");
    let a = automix::automix(&stems[..64], &session).unwrap();
    assert_eq!(a.decisions.len(), 64);
    automix::write_session(&a, &session).unwrap();
    render(&session, &dir.path().join("big.wav"), 2);
}
