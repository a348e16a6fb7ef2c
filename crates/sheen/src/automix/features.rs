//! Audio features of a stem for classification and mixing rules, measured
//! in one streaming pass (bounded memory for any length).
//!
//! * Loudness, crest, correlation, side/mid and the long-term 1/3-octave
//!   spectrum come from `sheen-meter`'s [`Analyzer`] (BS.1770-4 loudness).
//! * From the spectrum: spectral centroid (power-weighted mean of the band
//!   centres), 85 % roll-off, and the share of power below 150 Hz and above
//!   5 kHz (Peeters 2004, "A large set of audio features for sound
//!   description", CUIDADO report, §6.1).
//! * Onset rate: a log-energy novelty detector on 10 ms hops of the mono
//!   downmix (Bello et al. 2005, "A tutorial on onset detection in music
//!   signals", §3.1.1): an onset is a rise of at least [`ONSET_RISE_DB`]
//!   over the quietest of the previous 50 ms, with a 50 ms refractory time.
//! * Pitchedness: the mean, over active 4 Hz-spaced frames, of the peak of
//!   the normalised autocorrelation for lags of 50–1000 Hz (de Cheveigné &
//!   Kawahara 2002, YIN, §II: periodic signals give values near 1, noise
//!   near 0).

use super::timbre::{Timbre, TimbreAnalyser};
use crate::Error;
use sheen_io::AudioReader;
use sheen_meter::{Analyzer, AnalyzerOptions};
use std::path::Path;

/// Minimum rise of hop energy counted as an onset, dB.
pub const ONSET_RISE_DB: f64 = 9.0;
/// Hop energy below this (dBFS, mean square of the downmix) is silence.
pub const SILENCE_DBFS: f64 = -60.0;

/// Measured features of one stem. Levels in dB, frequencies in Hz, rates
/// per second; `None` where the stem is silent.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StemFeatures {
    /// Sample rate of the file, Hz.
    pub sample_rate_hz: u32,
    /// Channels of the file.
    pub channels: usize,
    /// Duration, seconds.
    pub duration_s: f64,
    /// Integrated loudness, LUFS (`None`: silent).
    pub integrated_lufs: Option<f64>,
    /// True peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Sample peak − RMS, dB.
    pub crest_db: Option<f64>,
    /// Share of 100 ms momentary blocks above −60 LUFS (0…1).
    pub active_fraction: f64,
    /// Power-weighted mean of the 1/3-octave band centres, Hz.
    pub centroid_hz: f64,
    /// Frequency below which 85 % of the power lies, Hz.
    pub rolloff_hz: f64,
    /// Share of power below 150 Hz (0…1).
    pub low_ratio: f64,
    /// Share of power above 5 kHz (0…1).
    pub high_ratio: f64,
    /// Onsets per second of active time.
    pub onset_rate_hz: f64,
    /// Mean peak normalised autocorrelation (0…1).
    pub pitchedness: f64,
    /// L/R correlation (`None`: mono or silent).
    pub correlation: Option<f64>,
    /// Side energy over mid energy, dB (`None`: mono or no side).
    pub side_to_mid_db: Option<f64>,
    /// Long-term 1/3-octave spectrum: `(centre Hz, level dB)`.
    pub bands: Vec<(f64, f64)>,
    /// Timbre descriptors (monophonic pitch share, f0, harmonics, attack).
    pub timbre: Timbre,
}

impl StemFeatures {
    /// True when the stem has no measurable programme (digital silence or
    /// below the BS.1770 absolute gate).
    pub fn is_silent(&self) -> bool {
        self.integrated_lufs.is_none()
    }
}

/// Streams `path` and measures its [`StemFeatures`].
pub fn measure_stem(path: &Path) -> Result<StemFeatures, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    let fs = info.sample_rate_hz as f64;
    let mut analyzer = Analyzer::new(
        fs,
        info.channels,
        AnalyzerOptions {
            series: true,
            spectrum: true,
            channel_weights: None,
        },
    );
    let mut temporal = TemporalFeatures::new(fs);
    let mut timbre = TimbreAnalyser::new(fs);
    let mut mono = vec![0.0; crate::analysis::CHUNK_FRAMES];
    let k = 1.0 / info.channels as f64;
    let frames = crate::analysis::stream_blocks(&mut reader, path, |block| {
        analyzer.push(block);
        let n = block[0].len();
        for (i, m) in mono[..n].iter_mut().enumerate() {
            *m = block.iter().map(|c| c[i]).sum::<f64>() * k;
        }
        temporal.push(&mono[..n]);
        timbre.push(&mono[..n]);
    })?;
    let a = analyzer.finish();
    let bands: Vec<(f64, f64)> = a.third_octave_db.iter().map(|b| (b.hz, b.db)).collect();
    let shape = SpectralShape::from_bands(&bands);
    let momentary = a.momentary.as_deref().unwrap_or(&[]);
    let active = momentary.iter().filter(|p| p[1] > SILENCE_DBFS).count();
    let blocks = ((frames as f64 / fs) / 0.1).floor().max(1.0);
    let active_fraction = (active as f64 / blocks).min(1.0);
    let (onsets, pitchedness) = temporal.finish();
    let active_s = frames as f64 / fs * active_fraction;
    let onset_rate_hz = if active_s > 0.0 {
        onsets as f64 / active_s
    } else {
        0.0
    };
    Ok(StemFeatures {
        sample_rate_hz: info.sample_rate_hz,
        channels: info.channels,
        duration_s: frames as f64 / fs,
        integrated_lufs: a.integrated_lufs,
        true_peak_dbtp: a.true_peak_dbtp,
        crest_db: a.crest_db,
        active_fraction,
        centroid_hz: shape.centroid_hz,
        rolloff_hz: shape.rolloff_hz,
        low_ratio: shape.low_ratio,
        high_ratio: shape.high_ratio,
        onset_rate_hz,
        pitchedness,
        correlation: a.correlation,
        side_to_mid_db: a.side_to_mid_db,
        bands,
        timbre: timbre.finish(frames as f64 / fs),
    })
}

/// Shape descriptors of a band spectrum.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpectralShape {
    /// Power-weighted mean band centre, Hz.
    pub centroid_hz: f64,
    /// 85 % roll-off, Hz.
    pub rolloff_hz: f64,
    /// Power share below 150 Hz.
    pub low_ratio: f64,
    /// Power share above 5 kHz.
    pub high_ratio: f64,
}

impl SpectralShape {
    /// From `(centre Hz, level dB)` bands (levels as power dB).
    pub fn from_bands(bands: &[(f64, f64)]) -> Self {
        let powers: Vec<f64> = bands.iter().map(|b| 10f64.powf(b.1 / 10.0)).collect();
        let total: f64 = powers.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            return Self {
                centroid_hz: 0.0,
                rolloff_hz: 0.0,
                low_ratio: 0.0,
                high_ratio: 0.0,
            };
        }
        let centroid_hz = bands.iter().zip(&powers).map(|(b, p)| b.0 * p).sum::<f64>() / total;
        let mut acc = 0.0;
        let mut rolloff_hz = bands.last().map_or(0.0, |b| b.0);
        for (b, p) in bands.iter().zip(&powers) {
            acc += p;
            if acc >= 0.85 * total {
                rolloff_hz = b.0;
                break;
            }
        }
        let share = |f: &dyn Fn(f64) -> bool| {
            bands
                .iter()
                .zip(&powers)
                .filter(|(b, _)| f(b.0))
                .map(|(_, p)| p)
                .sum::<f64>()
                / total
        };
        Self {
            centroid_hz,
            rolloff_hz,
            low_ratio: share(&|hz| hz < 150.0),
            high_ratio: share(&|hz| hz > 5000.0),
        }
    }
}

/// Onset detector and pitchedness estimator on the mono downmix; state
/// at absolute sample positions, so block partition does not matter.
struct TemporalFeatures {
    hop: usize,
    hop_acc: f64,
    hop_fill: usize,
    /// Recent hop energies, dB (ring of the last 5).
    recent_db: [f64; 5],
    onsets: u64,
    refractory: u32,
    /// Autocorrelation frame.
    frame: Vec<f64>,
    frame_fill: usize,
    frame_every: usize,
    since_frame: usize,
    min_lag: usize,
    max_lag: usize,
    window: usize,
    pitch_sum: f64,
    pitch_frames: u64,
}

impl TemporalFeatures {
    fn new(fs: f64) -> Self {
        let hop = (fs * 0.01).round().max(1.0) as usize;
        let min_lag = (fs / 1000.0).floor().max(2.0) as usize;
        let max_lag = (fs / 50.0).ceil() as usize;
        let window = (fs * 0.025).round() as usize;
        Self {
            hop,
            hop_acc: 0.0,
            hop_fill: 0,
            recent_db: [-200.0; 5],
            onsets: 0,
            refractory: 0,
            frame: vec![0.0; window + max_lag],
            frame_fill: 0,
            frame_every: (fs * 0.25).round() as usize,
            since_frame: 0,
            min_lag,
            max_lag,
            window,
            pitch_sum: 0.0,
            pitch_frames: 0,
        }
    }

    fn push(&mut self, x: &[f64]) {
        for &s in x {
            self.hop_acc += s * s;
            self.hop_fill += 1;
            if self.hop_fill == self.hop {
                self.end_hop();
            }
            // autocorrelation frames start every 0.25 s
            if self.frame_fill > 0 || self.since_frame == 0 {
                self.frame[self.frame_fill] = s;
                self.frame_fill += 1;
                if self.frame_fill == self.frame.len() {
                    self.end_frame();
                    self.frame_fill = 0;
                }
            }
            self.since_frame += 1;
            if self.since_frame == self.frame_every {
                self.since_frame = 0;
            }
        }
    }

    fn end_hop(&mut self) {
        let db = 10.0 * (self.hop_acc / self.hop as f64).max(1e-20).log10();
        self.hop_acc = 0.0;
        self.hop_fill = 0;
        let floor = self.recent_db.iter().cloned().fold(f64::INFINITY, f64::min);
        if self.refractory > 0 {
            self.refractory -= 1;
        } else if db > SILENCE_DBFS && db - floor.max(SILENCE_DBFS - 20.0) >= ONSET_RISE_DB {
            self.onsets += 1;
            self.refractory = 5;
        }
        self.recent_db.rotate_left(1);
        self.recent_db[4] = db;
    }

    fn end_frame(&mut self) {
        let w = self.window;
        let f = &self.frame;
        let e0: f64 = f[..w].iter().map(|v| v * v).sum();
        if 10.0 * (e0 / w as f64).max(1e-20).log10() < SILENCE_DBFS {
            return;
        }
        let mut best: f64 = 0.0;
        // running energy of the lagged window
        let mut el: f64 = f[self.min_lag..self.min_lag + w]
            .iter()
            .map(|v| v * v)
            .sum();
        for lag in self.min_lag..=self.max_lag.min(f.len() - w) {
            if lag > self.min_lag {
                el += f[lag + w - 1] * f[lag + w - 1] - f[lag - 1] * f[lag - 1];
            }
            let r: f64 = f[..w]
                .iter()
                .zip(&f[lag..lag + w])
                .map(|(a, b)| a * b)
                .sum();
            let d = (e0 * el.max(0.0)).sqrt();
            if d > 0.0 {
                best = best.max(r / d);
            }
        }
        self.pitch_sum += best;
        self.pitch_frames += 1;
    }

    /// (onset count, pitchedness)
    fn finish(self) -> (u64, f64) {
        let pitch = if self.pitch_frames > 0 {
            self.pitch_sum / self.pitch_frames as f64
        } else {
            0.0
        };
        (self.onsets, pitch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    fn temporal(x: &[f64], fs: f64, block: usize) -> (u64, f64) {
        let mut t = TemporalFeatures::new(fs);
        for c in x.chunks(block) {
            t.push(c);
        }
        t.finish()
    }

    /// A steady sine is periodic (YIN §II: normalised autocorrelation ≈ 1
    /// at the period), white noise is not (≈ 0 expected; < 0.3 here with
    /// 25 ms windows). No onsets in a steady tone.
    #[test]
    fn pitchedness_separates_tone_and_noise() {
        let fs = 48_000.0;
        let tone: Vec<f64> = (0..96_000)
            .map(|i| 0.3 * (2.0 * PI * 220.0 * i as f64 / fs).sin())
            .collect();
        let (onsets, p) = temporal(&tone, fs, 4096);
        assert!(p > 0.99, "tone pitchedness {p}");
        assert_eq!(onsets, 1, "a steady tone has one onset, at its start");
        let noise = super::super::test_noise(96_000, 1);
        let (_, pn) = temporal(&noise, fs, 4096);
        assert!(pn < 0.3, "noise pitchedness {pn}");
    }

    /// Clicks every 250 ms give one onset each (Bello et al. 2005
    /// energy novelty), whatever the block size.
    #[test]
    fn onset_rate_of_a_click_train() {
        let fs = 48_000.0;
        let mut x = vec![0.0; 4 * 48_000];
        for k in 0..16 {
            let at = k * 12_000 + 100;
            for i in 0..2400 {
                x[at + i] = 0.5 * (-(i as f64) / 300.0).exp() * (i as f64 * 0.3).sin();
            }
        }
        let a = temporal(&x, fs, 1);
        let b = temporal(&x, fs, 777);
        assert_eq!(a, b);
        assert_eq!(a.0, 16);
    }

    /// Spectral shape of two known band spectra (definitions in the module
    /// docs): all power at 1 kHz; equal power at 100 Hz and 10 kHz.
    #[test]
    fn spectral_shape_of_simple_spectra() {
        let s = SpectralShape::from_bands(&[(100.0, -200.0), (1000.0, -10.0), (10_000.0, -200.0)]);
        assert!((s.centroid_hz - 1000.0).abs() < 1e-6);
        assert_eq!(s.rolloff_hz, 1000.0);
        let s = SpectralShape::from_bands(&[(100.0, -10.0), (1000.0, -200.0), (10_000.0, -10.0)]);
        assert!((s.centroid_hz - 5050.0).abs() < 1e-3);
        assert!((s.low_ratio - 0.5).abs() < 1e-9 && (s.high_ratio - 0.5).abs() < 1e-9);
    }
}
