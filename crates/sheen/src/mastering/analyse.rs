//! Mastering analysis of a mix, in one streamed pass: BS.1770-4 loudness
//! (integrated, LRA, short-term maximum and where it occurs), true peak,
//! crest factor, correlation, and 1/3-octave spectra of the mid and side
//! signals (all meters from `sheen-meter`), from which the low-end
//! mono-ness (side/mid energy below 120 Hz) is derived.

use crate::Error;
use sheen_io::AudioReader;
use sheen_meter::{Analyzer, AnalyzerOptions, BandLevel};
use std::path::{Path, PathBuf};

/// Frames per read.
pub const CHUNK_FRAMES: usize = 8192;

/// Upper edge of "low end" for the mono-ness measure, Hz.
pub const LOW_END_HZ: f64 = 120.0;

/// What the planner needs to know about a mix.
#[derive(Clone, Debug)]
pub struct MixAnalysis {
    pub path: PathBuf,
    pub sample_rate_hz: u32,
    pub channels: usize,
    pub frames: u64,
    pub duration_s: f64,
    pub integrated_lufs: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub sample_peak_dbfs: Option<f64>,
    pub plr_db: Option<f64>,
    pub crest_db: Option<f64>,
    pub correlation: Option<f64>,
    pub side_to_mid_db: Option<f64>,
    /// 1/3-octave spectrum of the mid signal `(L+R)/2` (of the channel for
    /// mono).
    pub mid_spectrum: Vec<BandLevel>,
    /// 1/3-octave spectrum of the side signal `(L−R)/2` (empty for mono).
    pub side_spectrum: Vec<BandLevel>,
    /// Side energy relative to mid energy in the bands below
    /// [`LOW_END_HZ`], dB (`None` for mono or no low end).
    pub low_side_to_mid_db: Option<f64>,
    /// Time at which the short-term (3 s) loudness peaks, s (end of window).
    pub loudest_s: f64,
}

/// Streams `path` through the meters.
///
/// Errors: the file cannot be read, or has more than two channels.
pub fn analyse(path: &Path) -> Result<MixAnalysis, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    if info.channels > 2 {
        return Err(Error::Content {
            path: path.to_path_buf(),
            problem: format!(
                "{} channels: sheen master handles mono and stereo only (downmix first)",
                info.channels
            ),
        });
    }
    let fs = info.sample_rate_hz as f64;
    // the mid and side spectra run on the analyser's background thread
    // (with the true peak), loudness and statistics here with the decoding
    let mut analyzer = Analyzer::with_mid_side(
        fs,
        info.channels,
        AnalyzerOptions {
            series: false,
            spectrum: false,
            channel_weights: None,
        },
    );
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); info.channels];
    let mut frames = 0u64;
    let mut loudest = (f64::NEG_INFINITY, 0.0);
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
        analyzer.push(&block);
        frames += n as u64;
        if let Some(st) = analyzer.loudness().short_term_lufs() {
            if st > loudest.0 {
                loudest = (st, frames as f64 / fs);
            }
        }
    }
    let (a, mid_side) = analyzer.finish_mid_side();
    let (mid_an, side_an) = mid_side.expect("mid/side spectra requested");
    let mid_spectrum = mid_an.band_levels();
    let side_spectrum = side_an.map_or(Vec::new(), |s| s.band_levels());
    let low_side_to_mid_db = low_ratio(&mid_spectrum, &side_spectrum);
    Ok(MixAnalysis {
        path: path.to_path_buf(),
        sample_rate_hz: info.sample_rate_hz,
        channels: info.channels,
        frames,
        duration_s: frames as f64 / fs,
        integrated_lufs: a.integrated_lufs,
        loudness_range_lu: a.loudness_range_lu,
        true_peak_dbtp: a.true_peak_dbtp,
        sample_peak_dbfs: a.sample_peak_dbfs,
        plr_db: a.plr_db,
        crest_db: a.crest_db,
        correlation: a.correlation,
        side_to_mid_db: a.side_to_mid_db,
        mid_spectrum,
        side_spectrum,
        low_side_to_mid_db,
        loudest_s: loudest.1,
    })
}

/// Side/mid energy ratio below [`LOW_END_HZ`], dB.
fn low_ratio(mid: &[BandLevel], side: &[BandLevel]) -> Option<f64> {
    if side.is_empty() {
        return None;
    }
    let sum = |v: &[BandLevel]| -> f64 {
        v.iter()
            .filter(|b| b.hz <= LOW_END_HZ)
            .map(|b| 10f64.powf(b.db / 10.0))
            .sum()
    };
    let (m, s) = (sum(mid), sum(side));
    (m > 1e-12 && s > 0.0).then(|| 10.0 * (s / m).log10())
}
