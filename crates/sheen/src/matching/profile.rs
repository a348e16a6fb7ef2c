//! The tonal and level profile of a song or reference, measured in one
//! streamed pass with `sheen-meter`: BS.1770-4 integrated loudness, EBU
//! Tech 3342 loudness range, true peak, crest factor, side/mid energy, and
//! the 1/3-octave long-term average spectra (IEC 61260-1 bands, Welch
//! estimate of [`sheen_meter::SpectrumAnalyzer`]) of the mid `(L+R)/2` and side
//! `(L−R)/2` signals. The per-bin powers are kept too, so the match curve
//! can predict exactly what an FIR EQ does to each band
//! (see [`super::curve::fit_fir_points`]).

use crate::Error;
use serde::Serialize;
use sheen_io::AudioReader;
use sheen_meter::spectrum::{third_octave_bands, ThirdOctaveBand};
use sheen_meter::{Analyzer, AnalyzerOptions, BandLevel};
use std::path::Path;

/// Frames per read.
pub const CHUNK_FRAMES: usize = 8192;

/// A measured profile (see the module documentation). Levels of silence are
/// `None`.
#[derive(Clone, Debug, Serialize)]
pub struct Profile {
    /// The file measured (empty for in-memory signals).
    pub file: String,
    pub sample_rate_hz: f64,
    pub channels: usize,
    pub frames: u64,
    /// Integrated loudness, LUFS.
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    /// True peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Sample peak minus RMS, dB.
    pub crest_db: Option<f64>,
    /// Peak-to-loudness ratio (true peak − integrated), dB.
    pub plr_db: Option<f64>,
    /// Side energy over mid energy, dB (`None` for mono).
    pub side_to_mid_db: Option<f64>,
    /// 1/3-octave levels of the mid signal (the channel, for mono), dB re
    /// full scale.
    pub mid_db: Vec<BandLevel>,
    /// 1/3-octave levels of the side signal (empty for mono).
    pub side_db: Vec<BandLevel>,
    /// Mean-square per FFT bin of the mid signal (one-sided).
    #[serde(skip)]
    pub mid_bins: Vec<f64>,
    /// Mean-square per FFT bin of the side signal (empty for mono).
    #[serde(skip)]
    pub side_bins: Vec<f64>,
}

impl Profile {
    /// The 1/3-octave band definitions of this profile's spectra.
    pub fn bands(&self) -> Vec<ThirdOctaveBand> {
        third_octave_bands(self.sample_rate_hz)
    }
}

/// Streams planar blocks into a [`Profile`]. The mid and side spectra run
/// on the analyser's background thread with the true peak
/// ([`Analyzer::with_mid_side`]).
#[derive(Debug)]
pub struct ProfileBuilder {
    file: String,
    sample_rate_hz: f64,
    channels: usize,
    analyzer: Analyzer,
}

impl ProfileBuilder {
    /// A builder for `channels` (1 or 2) at `sample_rate_hz`.
    pub fn new(file: &str, sample_rate_hz: f64, channels: usize) -> Self {
        Self::build(file, sample_rate_hz, channels, true)
    }

    /// As [`ProfileBuilder::new`] without the true peak (`true_peak_dbtp`
    /// and `plr_db` are `None`): what a reference needs
    /// ([`super::curve::ReferenceTarget`] does not use it).
    pub fn without_true_peak(file: &str, sample_rate_hz: f64, channels: usize) -> Self {
        Self::build(file, sample_rate_hz, channels, false)
    }

    fn build(file: &str, sample_rate_hz: f64, channels: usize, true_peak: bool) -> Self {
        let opts = AnalyzerOptions {
            series: false,
            spectrum: false,
            channel_weights: None,
        };
        Self {
            file: file.to_string(),
            sample_rate_hz,
            channels,
            analyzer: if true_peak {
                Analyzer::with_mid_side(sample_rate_hz, channels, opts)
            } else {
                Analyzer::mid_side_without_true_peak(sample_rate_hz, channels, opts)
            },
        }
    }

    /// Consumes one planar block.
    pub fn push(&mut self, block: &[&[f64]]) {
        self.analyzer.push(block);
    }

    /// Completes the profile.
    pub fn finish(self) -> Profile {
        let (a, mid_side) = self.analyzer.finish_mid_side();
        let (mid, side) = mid_side.expect("mid/side spectra requested");
        let (side_db, side_bins) = match &side {
            Some(s) => (s.band_levels(), s.bin_powers()),
            None => (Vec::new(), Vec::new()),
        };
        Profile {
            file: self.file,
            sample_rate_hz: self.sample_rate_hz,
            channels: self.channels,
            frames: a.frames,
            integrated_lufs: a.integrated_lufs,
            loudness_range_lu: a.loudness_range_lu,
            true_peak_dbtp: a.true_peak_dbtp,
            crest_db: a.crest_db,
            plr_db: a.plr_db,
            side_to_mid_db: a.side_to_mid_db,
            mid_db: mid.band_levels(),
            side_db,
            mid_bins: mid.bin_powers(),
            side_bins,
        }
    }
}

/// Measures a file in one streamed pass (bounded memory for any length).
///
/// Errors: unreadable file, more than two channels, no audio.
pub fn profile_file(path: &Path) -> Result<Profile, Error> {
    profile_path(path, true)
}

/// As [`profile_file`] without the true peak (`true_peak_dbtp` and
/// `plr_db` are `None`), for a reference: see
/// [`ProfileBuilder::without_true_peak`].
pub fn profile_reference(path: &Path) -> Result<Profile, Error> {
    profile_path(path, false)
}

fn profile_path(path: &Path, true_peak: bool) -> Result<Profile, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    if info.channels > 2 {
        return Err(Error::Content {
            path: path.to_path_buf(),
            problem: format!(
                "{} channels: matching handles mono and stereo only (downmix first)",
                info.channels
            ),
        });
    }
    let mut b = ProfileBuilder::build(
        &path.display().to_string(),
        info.sample_rate_hz as f64,
        info.channels,
        true_peak,
    );
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); info.channels];
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
        b.push(&block);
    }
    let p = b.finish();
    if p.integrated_lufs.is_none() {
        return Err(Error::Content {
            path: path.to_path_buf(),
            problem: "no audio above the -70 LUFS gate (BS.1770-4): nothing to match".into(),
        });
    }
    Ok(p)
}

/// Profiles an in-memory planar signal (tests, excerpts).
pub fn profile_signal(sample_rate_hz: f64, channels: &[Vec<f64>]) -> Profile {
    let mut b = ProfileBuilder::new("", sample_rate_hz, channels.len());
    let n = channels.first().map_or(0, Vec::len);
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK_FRAMES).min(n);
        let block: Vec<&[f64]> = channels.iter().map(|c| &c[start..end]).collect();
        b.push(&block);
        start = end;
    }
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1 kHz sine at −6 dBFS in both channels (mono-compatible, no side):
    /// the mid spectrum reads −9.03 dB in the 1 kHz band (full-scale sine =
    /// −3.01 dB, `sheen-meter` convention), side is silent. Tolerance 0.05 dB.
    #[test]
    fn sine_profile_levels() {
        let fs = 48_000.0;
        let x: Vec<f64> = (0..96_000)
            .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / fs).sin())
            .collect();
        let p = profile_signal(fs, &[x.clone(), x]);
        let b = p.mid_db.iter().find(|b| b.hz == 1000.0).unwrap();
        assert!((b.db + 9.03).abs() < 0.05, "{}", b.db);
        assert!(p.side_to_mid_db.is_none());
        assert_eq!(p.mid_bins.len(), p.side_bins.len());
        assert!(p.integrated_lufs.is_some());
    }
}
