//! A/B preview: loudness-matched excerpts of the original and a master
//! (30 s around the loudest short-term loudness of the original), written
//! as 32-bit float WAV so the gained-up original cannot clip.

use crate::Error;
use sheen_io::{AudioReader, Container, SampleFormat, WriteSpec};
use sheen_meter::LoudnessMeter;
use std::path::{Path, PathBuf};

/// Excerpt length, s.
pub const EXCERPT_S: f64 = 30.0;

/// Reads `len_s` seconds from `start_s` of `path` (planar, in memory: an
/// excerpt is short).
fn excerpt(path: &Path, start_s: f64, len_s: f64) -> Result<(u32, Vec<Vec<f64>>), Error> {
    let mut r = AudioReader::open(path)?;
    let info = r.info().clone();
    let fs = info.sample_rate_hz as f64;
    let start = (start_s * fs).round() as u64;
    let end = start + (len_s * fs).round() as u64;
    let mut out = vec![Vec::new(); info.channels];
    let mut buf = Vec::new();
    let mut pos = 0u64;
    while pos < end {
        let n = r.read(&mut buf, 8192)?;
        if n == 0 {
            break;
        }
        let a = start.saturating_sub(pos).min(n as u64) as usize;
        let b = (end - pos).min(n as u64) as usize;
        if b > a {
            for (o, c) in out.iter_mut().zip(&buf) {
                o.extend_from_slice(&c[a..b]);
            }
        }
        pos += n as u64;
    }
    Ok((info.sample_rate_hz, out))
}

fn integrated(fs: u32, x: &[Vec<f64>]) -> Option<f64> {
    let mut m = LoudnessMeter::new(fs as f64, x.len());
    let block: Vec<&[f64]> = x.iter().map(|c| c.as_slice()).collect();
    m.push(&block);
    m.integrated_lufs()
}

/// The excerpt window `(start_s, len_s)` for a file of `duration_s` whose
/// short-term loudness peaks at `loudest_s` (end of the 3 s window).
pub fn window(duration_s: f64, loudest_s: f64) -> (f64, f64) {
    window_of(duration_s, loudest_s, EXCERPT_S)
}

/// As [`window`], for an excerpt of at most `len_s` seconds.
pub fn window_of(duration_s: f64, loudest_s: f64, len_s: f64) -> (f64, f64) {
    let len = len_s.min(duration_s);
    let centre = loudest_s - 1.5;
    let start = (centre - len / 2.0).clamp(0.0, (duration_s - len).max(0.0));
    (start, len)
}

/// A loudness-matched pair of excerpts in memory.
#[derive(Clone, Debug)]
pub struct Matched {
    pub original_rate_hz: u32,
    /// The original's excerpt, gained by `original_gain_db`.
    pub original: Vec<Vec<f64>>,
    pub master_rate_hz: u32,
    /// The master's excerpt, unchanged.
    pub master: Vec<Vec<f64>>,
    /// Gain applied to the original to meet the master's integrated
    /// loudness over the window, dB.
    pub original_gain_db: f64,
}

/// The same window of `original` and `master`, the original gained to the
/// master's integrated loudness (BS.1770-4) over the window.
pub fn matched(original: &Path, master: &Path, window_s: (f64, f64)) -> Result<Matched, Error> {
    let (fs_o, mut o) = excerpt(original, window_s.0, window_s.1)?;
    let (fs_m, m) = excerpt(master, window_s.0, window_s.1)?;
    let gain_db = match (integrated(fs_o, &o), integrated(fs_m, &m)) {
        (Some(a), Some(b)) => b - a,
        _ => 0.0,
    };
    let g = sheen_dsp::db_to_gain(gain_db);
    o.iter_mut().flatten().for_each(|x| *x *= g);
    Ok(Matched {
        original_rate_hz: fs_o,
        original: o,
        master_rate_hz: fs_m,
        master: m,
        original_gain_db: gain_db,
    })
}

/// Writes `DIR/<target>.original.wav` and `DIR/<target>.master.wav`: the
/// same window of `original` and `master`, the original gained to the
/// master's integrated loudness over the window. Returns the two paths and
/// the gain applied to the original, dB.
pub fn write_ab(
    original: &Path,
    master: &Path,
    target: &str,
    window_s: (f64, f64),
    dir: &Path,
) -> Result<(PathBuf, PathBuf, f64), Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::Content {
        path: dir.to_path_buf(),
        problem: format!("cannot create folder: {e}"),
    })?;
    let Matched {
        original_rate_hz: fs_o,
        original: o,
        master_rate_hz: fs_m,
        master: m,
        original_gain_db: gain_db,
        ..
    } = matched(original, master, window_s)?;
    let spec = |fs: u32, ch: usize| WriteSpec {
        sample_rate_hz: fs,
        channels: ch,
        format: SampleFormat::F32,
        container: Container::Wav,
    };
    let po = dir.join(format!("{target}.original.wav"));
    let pm = dir.join(format!("{target}.master.wav"));
    sheen_io::write_all(&po, spec(fs_o, o.len()), &[original, master], &o)?;
    sheen_io::write_all(&pm, spec(fs_m, m.len()), &[original, master], &m)?;
    Ok((po, pm, gain_db))
}
