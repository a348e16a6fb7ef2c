//! Test helpers: deterministic signals, hand-made WAV headers, the shared
//! excerpts, and ffmpeg (skipped with a printed reason when absent).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A deterministic test signal in (−0.99, 0.99): a sine per channel plus
/// pseudo-random noise (xorshift), so every sample value differs.
pub fn signal(channels: usize, frames: usize, rate_hz: u32, seed: u64) -> Vec<Vec<f64>> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..channels)
        .map(|c| {
            let f = 220.0 * (c + 1) as f64;
            (0..frames)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    let noise = (state >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
                    let t = i as f64 / f64::from(rate_hz);
                    0.6 * (std::f64::consts::TAU * f * t).sin() + 0.39 * noise
                })
                .collect()
        })
        .collect()
}

/// `amp · sin(2π f n / rate + phase)`, `frames` samples.
pub fn sine(freq_hz: f64, rate_hz: u32, frames: usize, amp: f64, phase: f64) -> Vec<f64> {
    (0..frames)
        .map(|n| {
            amp * (std::f64::consts::TAU * freq_hz * n as f64 / f64::from(rate_hz) + phase).sin()
        })
        .collect()
}

/// A hand-made RIFF/WAVE file with a 16-byte `fmt ` chunk (format tag
/// `tag`: 1 = PCM, 3 = IEEE float, …). `declared_data_len` overrides the
/// `data` chunk size (for truncation tests).
pub fn raw_wav(
    tag: u16,
    channels: u16,
    rate_hz: u32,
    bits: u16,
    data: &[u8],
    declared_data_len: Option<u32>,
) -> Vec<u8> {
    let block_align = channels * bits / 8;
    let data_len = declared_data_len.unwrap_or(data.len() as u32);
    let mut v = Vec::new();
    v.extend_from_slice(b"RIFF");
    v.extend_from_slice(&(36 + data_len).to_le_bytes());
    v.extend_from_slice(b"WAVEfmt ");
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(&tag.to_le_bytes());
    v.extend_from_slice(&channels.to_le_bytes());
    v.extend_from_slice(&rate_hz.to_le_bytes());
    v.extend_from_slice(&(rate_hz * u32::from(block_align)).to_le_bytes());
    v.extend_from_slice(&block_align.to_le_bytes());
    v.extend_from_slice(&bits.to_le_bytes());
    v.extend_from_slice(b"data");
    v.extend_from_slice(&data_len.to_le_bytes());
    v.extend_from_slice(data);
    v
}

/// Interleaved little-endian `f64` bytes of a planar signal.
pub fn f64_bytes(planar: &[Vec<f64>]) -> Vec<u8> {
    let frames = planar[0].len();
    let mut v = Vec::with_capacity(frames * planar.len() * 8);
    for i in 0..frames {
        for ch in planar {
            v.extend_from_slice(&ch[i].to_le_bytes());
        }
    }
    v
}

/// Interleaved little-endian `f32` bytes of a planar signal.
pub fn f32_bytes(planar: &[Vec<f64>]) -> Vec<u8> {
    let frames = planar[0].len();
    let mut v = Vec::with_capacity(frames * planar.len() * 4);
    for i in 0..frames {
        for ch in planar {
            v.extend_from_slice(&(ch[i] as f32).to_le_bytes());
        }
    }
    v
}

/// The shared 15 s excerpts (48 kHz, 24-bit stereo FLAC), or `None` with a
/// printed reason.
pub fn excerpts() -> Option<Vec<PathBuf>> {
    let dir = std::env::var_os("SHEEN_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
        .join("excerpts");
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "flac"))
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    if files.is_empty() {
        eprintln!("SKIP: no excerpts in {}", dir.display());
        None
    } else {
        Some(files)
    }
}

/// Whether `ffmpeg` runs; prints the reason when not.
pub fn have_ffmpeg() -> bool {
    let ok = Command::new("ffmpeg")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("SKIP: ffmpeg is not on PATH");
    }
    ok
}

/// Runs `ffmpeg -y -loglevel error <args>`; panics (test failure) on error.
pub fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-y", "-nostdin", "-loglevel", "error"])
        .args(args)
        .output()
        .expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "ffmpeg {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Largest |a − b| over two planar signals of equal shape.
pub fn max_abs_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    assert_eq!(a.len(), b.len(), "channel counts differ");
    a.iter()
        .zip(b)
        .map(|(x, y)| {
            assert_eq!(x.len(), y.len(), "lengths differ");
            x.iter()
                .zip(y)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0, f64::max)
        })
        .fold(0.0, f64::max)
}
