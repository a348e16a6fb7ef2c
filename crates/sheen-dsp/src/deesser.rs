//! Split-band de-esser: a Linkwitz–Riley LR4 split at `freq_hz`
//! ([`crate::crossover`], Linkwitz 1976) whose high band drives a
//! compressor side chain (level detector → gain computer → smooth branching
//! attack/release, after Giannoulis, Massberg & Reiss 2012, JAES 60(6));
//! the gain reduction is capped at `max_reduction_db`.
//!
//! - [`DeEsserMode::SplitBand`]: only the high band is reduced,
//!   `y = low + g high`; with no reduction `y = low + high`, the LR4 sum,
//!   an all-pass (flat magnitude);
//! - [`DeEsserMode::Wideband`]: the whole (all-passed) signal is reduced,
//!   `y = g (low + high)`.

use crate::crossover::Lr4Split;
use crate::dynamics::{
    compressor_curve_db, finite_or, linked_level_db, ratio_or, smooth_branching, time_coeff,
    LevelDetector, LEVEL_FLOOR_DB,
};
use crate::processor::{Processor, MAX_CHANNELS};
use crate::units::db_to_gain;
use serde::{Deserialize, Serialize};

pub use crate::dynamics::Detector;

/// What the de-esser turns down.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeEsserMode {
    /// Only the band above `freq_hz`.
    #[default]
    SplitBand,
    /// The whole signal.
    Wideband,
}

/// Parameters of [`DeEsser`]. Out-of-range values are clamped.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeEsserParams {
    /// LR4 split frequency in Hz (clamped to 1 kHz .. 0.45 fs).
    pub freq_hz: f64,
    /// Threshold in dBFS of the high band's detector level.
    pub threshold_db: f64,
    /// Compression ratio of the high band above the threshold (≥ 1).
    pub ratio: f64,
    /// Largest gain reduction in dB (≥ 0).
    pub max_reduction_db: f64,
    /// Attack time constant, ms.
    pub attack_ms: f64,
    /// Release time constant, ms.
    pub release_ms: f64,
    /// Level detector of the high band.
    pub detector: Detector,
    /// RMS window in ms (for [`Detector::Rms`]).
    pub rms_window_ms: f64,
    /// Stereo link 0..1.
    pub stereo_link: f64,
    /// Split-band or wideband reduction.
    pub mode: DeEsserMode,
    /// Monitor the detector band: output the (unreduced) high band only, to
    /// tune `freq_hz`.
    pub listen: bool,
}

impl Default for DeEsserParams {
    fn default() -> Self {
        Self {
            freq_hz: 6000.0,
            threshold_db: -30.0,
            ratio: 4.0,
            max_reduction_db: 12.0,
            attack_ms: 0.5,
            release_ms: 60.0,
            detector: Detector::Peak,
            rms_window_ms: 2.0,
            stereo_link: 1.0,
            mode: DeEsserMode::SplitBand,
            listen: false,
        }
    }
}

impl DeEsserParams {
    /// The parameters with non-finite and out-of-range values replaced or
    /// clamped (the frequency is clamped at prepare time, against fs).
    pub fn sanitized(&self) -> Self {
        let d = Self::default();
        Self {
            freq_hz: finite_or(self.freq_hz, d.freq_hz),
            threshold_db: finite_or(self.threshold_db, d.threshold_db),
            ratio: ratio_or(self.ratio, d.ratio),
            max_reduction_db: finite_or(self.max_reduction_db, d.max_reduction_db).max(0.0),
            attack_ms: finite_or(self.attack_ms, d.attack_ms).max(0.0),
            release_ms: finite_or(self.release_ms, d.release_ms).max(0.0),
            detector: self.detector,
            rms_window_ms: finite_or(self.rms_window_ms, d.rms_window_ms).max(0.0),
            stereo_link: finite_or(self.stereo_link, d.stereo_link).clamp(0.0, 1.0),
            mode: self.mode,
            listen: self.listen,
        }
    }

    /// Static gain reduction in dB (≥ 0) for a steady high-band detector
    /// level `level_db`: `min(max_reduction, level - curve(level))`.
    #[inline]
    pub fn static_reduction_db(&self, level_db: f64) -> f64 {
        (level_db - compressor_curve_db(level_db, self.threshold_db, self.ratio, 0.0))
            .min(self.max_reduction_db)
    }
}

/// The de-esser. Up to [`MAX_CHANNELS`] channels, latency 0.
#[derive(Clone, Debug)]
pub struct DeEsser {
    p: DeEsserParams,
    fs: f64,
    att: f64,
    rel: f64,
    split: Lr4Split,
    detector: LevelDetector,
    env: [f64; MAX_CHANNELS],
    last_gr_db: f64,
    max_gr_db: f64,
}

impl DeEsser {
    /// A de-esser prepared for 48 kHz (call [`Processor::prepare`]).
    pub fn new(params: DeEsserParams) -> Self {
        let p = params.sanitized();
        let fs = 48_000.0;
        let mut d = Self {
            p,
            fs,
            att: 0.0,
            rel: 0.0,
            split: Lr4Split::new(p.freq_hz, fs),
            detector: LevelDetector::new(p.detector, p.rms_window_ms, fs),
            env: [0.0; MAX_CHANNELS],
            last_gr_db: 0.0,
            max_gr_db: 0.0,
        };
        d.configure(true);
        d
    }

    /// The current (sanitized) parameters.
    pub fn params(&self) -> &DeEsserParams {
        &self.p
    }

    /// The split frequency in use, Hz (after clamping against fs).
    pub fn split_freq_hz(&self) -> f64 {
        self.p.freq_hz.clamp(1000.0, 0.45 * self.fs)
    }

    /// Applies new parameters (the split moves keeping its state); changing
    /// the detector or RMS window reallocates the detector history.
    pub fn set_params(&mut self, params: DeEsserParams) {
        let old = self.p;
        self.p = params.sanitized();
        self.configure(
            old.detector != self.p.detector || old.rms_window_ms != self.p.rms_window_ms,
        );
    }

    fn configure(&mut self, realloc: bool) {
        self.att = time_coeff(self.p.attack_ms, self.fs);
        self.rel = time_coeff(self.p.release_ms, self.fs);
        self.split.set_freq(self.split_freq_hz(), self.fs);
        if realloc {
            self.detector = LevelDetector::new(self.p.detector, self.p.rms_window_ms, self.fs);
        }
    }

    /// The LR4 split in use (for analytic responses).
    pub fn split(&self) -> &Lr4Split {
        &self.split
    }

    /// Gain reduction in dB (≥ 0) at the last processed sample, largest over
    /// the channels.
    pub fn last_gain_reduction_db(&self) -> f64 {
        self.last_gr_db
    }

    /// Largest gain reduction in dB since the last call (or reset), then
    /// restarts the meter.
    pub fn take_max_gain_reduction_db(&mut self) -> f64 {
        std::mem::take(&mut self.max_gr_db)
    }
}

impl Processor for DeEsser {
    fn prepare(&mut self, sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.fs = sample_rate_hz;
        self.configure(true);
        self.reset();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let n_ch = block.len().min(MAX_CHANNELS);
        let len = block.first().map_or(0, |c| c.len());
        let p = self.p;
        let mut lo = [0.0; MAX_CHANNELS];
        let mut hi = [0.0; MAX_CHANNELS];
        let mut levels = [LEVEL_FLOOR_DB; MAX_CHANNELS];
        for i in 0..len {
            let mut max_db = LEVEL_FLOOR_DB;
            for ch in 0..n_ch {
                (lo[ch], hi[ch]) = self.split.split(ch, block[ch][i]);
                levels[ch] = self.detector.level_db(ch, hi[ch]);
                max_db = max_db.max(levels[ch]);
            }
            self.detector.advance();
            let mut frame_gr = 0.0f64;
            for (ch, chan) in block.iter_mut().enumerate().take(n_ch) {
                let level = linked_level_db(&levels[..n_ch], max_db, ch, p.stereo_link);
                let target = p.static_reduction_db(level);
                let gr = smooth_branching(&mut self.env[ch], target, self.att, self.rel);
                frame_gr = frame_gr.max(gr);
                let g = db_to_gain(-gr);
                chan[i] = match (p.listen, p.mode) {
                    (true, _) => hi[ch],
                    (false, DeEsserMode::SplitBand) => lo[ch] + g * hi[ch],
                    (false, DeEsserMode::Wideband) => g * (lo[ch] + hi[ch]),
                };
            }
            self.last_gr_db = frame_gr;
            self.max_gr_db = self.max_gr_db.max(frame_gr);
        }
    }

    fn reset(&mut self) {
        self.split.reset();
        self.detector.reset();
        self.env = [0.0; MAX_CHANNELS];
        self.last_gr_db = 0.0;
        self.max_gr_db = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crossover::response_db;
    use crate::processor::process_in_blocks;
    use crate::test_util::*;

    fn run_mono(p: DeEsserParams, fs: f64, x: &[f64]) -> Vec<f64> {
        let mut d = DeEsser::new(p);
        d.prepare(fs, 1, MAX_BLOCK);
        let mut bufs = vec![x.to_vec()];
        process_in_blocks(&mut d, &mut bufs, 480);
        bufs.remove(0)
    }

    /// Reference: split-band definition `y = low + g high` with the LR4
    /// responses and the static reduction — a 16 kHz tone at -6 dBFS (split
    /// 6 kHz, threshold -30 dB) is reduced by the set amount within 0.5 dB
    /// (6 dB cap with ratio 100; 15 dB by ratio 4 at -10 dB RMS; 9 dB cap), and within
    /// 0.05 dB of the analytic `|L(f) + g H(f)|`.
    #[test]
    fn sibilant_band_reduced_by_set_amount() {
        let fs = 48_000.0;
        let f = 16_000.0;
        let cases = [
            (-6.0, 100.0, 6.0, 6.0),  // (tone dBFS, ratio, cap, set reduction)
            (-6.99, 4.0, 40.0, 15.0), // RMS -10 dB: 20 dB over at 4:1 -> 15 dB
            (-6.99, 4.0, 9.0, 9.0),   // capped
        ];
        for (tone_dbfs, ratio, cap, set) in cases {
            let p = DeEsserParams {
                freq_hz: 6000.0,
                threshold_db: -30.0,
                ratio,
                max_reduction_db: cap,
                detector: Detector::Rms,
                rms_window_ms: 3.0, // 48 periods of 16 kHz
                ..Default::default()
            };
            let d = {
                let mut d = DeEsser::new(p);
                d.prepare(fs, 1, MAX_BLOCK);
                d
            };
            let c = *d.split().coeffs();
            let x = sine(48_000, f, db_to_gain(tone_dbfs), fs);
            let y = run_mono(p, fs, &x);
            let tail = 24_000..48_000;
            let got = tone_db(&y[tail.clone()], f, fs) - tone_db(&x[tail], f, fs);
            let hi = c.high_response(f, fs);
            let lo = c.low_response(f, fs);
            let level = tone_dbfs - 3.010_299_956_6 + response_db(hi);
            let g = db_to_gain(-p.sanitized().static_reduction_db(level));
            let want = response_db((lo.0 + g * hi.0, lo.1 + g * hi.1));
            eprintln!("de-esser {tone_dbfs} dBFS 1:{ratio} cap {cap}: {got:.3} dB (set -{set}, analytic {want:.3})");
            assert!((got + set).abs() < 0.5, "set {set}: got {got}");
            assert!((got - want).abs() < 0.05, "analytic {want}: got {got}");
        }
    }

    /// Reference: LR4 low + high is an all-pass — a 500 Hz tone (alone, or
    /// mixed with a loud 16 kHz sibilant that triggers 10 dB of reduction)
    /// passes unchanged in magnitude within 0.01 dB.
    #[test]
    fn low_tone_passes_unchanged() {
        let fs = 48_000.0;
        let p = DeEsserParams {
            threshold_db: -40.0,
            ratio: 100.0,
            max_reduction_db: 10.0,
            ..Default::default()
        };
        let low = sine(48_000, 500.0, 0.5, fs);
        let y = run_mono(p, fs, &low);
        let tail = 24_000..48_000;
        let d_alone = tone_db(&y[tail.clone()], 500.0, fs) - tone_db(&low[tail.clone()], 500.0, fs);
        assert!(d_alone.abs() < 0.01, "alone: {d_alone}");
        let sib = sine(48_000, 16_000.0, 0.3, fs);
        let mix: Vec<f64> = low.iter().zip(&sib).map(|(a, b)| a + b).collect();
        let y = run_mono(p, fs, &mix);
        let d_mix = tone_db(&y[tail.clone()], 500.0, fs) - tone_db(&low[tail.clone()], 500.0, fs);
        let d_sib = tone_db(&y[tail.clone()], 16_000.0, fs) - tone_db(&sib[tail], 16_000.0, fs);
        eprintln!("de-esser low tone: alone {d_alone:e} dB, with sibilant {d_mix:e} dB; sibilant {d_sib:.3} dB");
        assert!(d_mix.abs() < 0.01, "with sibilant: {d_mix}");
        assert!((d_sib + 10.0).abs() < 0.5, "sibilant: {d_sib}");
    }

    /// Reference: wideband mode scales the whole (all-passed) signal by the
    /// same reduction (0.5 dB of the set 8 dB on both tones).
    #[test]
    fn wideband_reduces_everything() {
        let fs = 44_100.0;
        let p = DeEsserParams {
            threshold_db: -40.0,
            ratio: 100.0,
            max_reduction_db: 8.0,
            mode: DeEsserMode::Wideband,
            ..Default::default()
        };
        let low = sine(44_100, 441.0, 0.3, fs);
        let sib = sine(44_100, 14_700.0, 0.3, fs);
        let mix: Vec<f64> = low.iter().zip(&sib).map(|(a, b)| a + b).collect();
        let y = run_mono(p, fs, &mix);
        let tail = 22_050..44_100;
        for f in [441.0, 14_700.0] {
            let d = tone_db(&y[tail.clone()], f, fs) - tone_db(&low[tail.clone()], 441.0, fs);
            assert!((d + 8.0).abs() < 0.5, "{f}: {d}");
        }
    }

    /// Reference: listen outputs the LR4 high band: a 500 Hz tone is at the
    /// analytic |H_high(500 Hz)| (split 6 kHz: ≈ -86 dB; 0.1 dB), a 16 kHz
    /// tone within 0.01 dB of |H_high(16 kHz)|.
    #[test]
    fn listen_outputs_high_band() {
        let fs = 48_000.0;
        let p = DeEsserParams {
            listen: true,
            ..Default::default()
        };
        let mut d = DeEsser::new(p);
        d.prepare(fs, 1, MAX_BLOCK);
        let c = *d.split().coeffs();
        for (f, tol) in [(500.0, 0.1), (16_000.0, 0.01)] {
            let x = sine(48_000, f, 0.5, fs);
            let y = run_mono(p, fs, &x);
            let got = tone_db(&y[24_000..], f, fs) - tone_db(&x[24_000..], f, fs);
            let want = response_db(c.high_response(f, fs));
            assert!((got - want).abs() < tol, "{f}: {got} vs {want}");
        }
    }

    /// Reference: the `Processor` contract (bit-identical for any block
    /// partition), stereo and 8 channels, at 8, 44.1 and 384 kHz.
    #[test]
    fn block_size_independent() {
        for fs in [8_000.0, 44_100.0, 384_000.0] {
            let p = DeEsserParams {
                threshold_db: -30.0,
                stereo_link: 0.5,
                ..Default::default()
            };
            assert_block_independent(|| DeEsser::new(p), fs, 2);
            let p = DeEsserParams {
                detector: Detector::Rms,
                mode: DeEsserMode::Wideband,
                ..p
            };
            assert_block_independent(|| DeEsser::new(p), fs, 8);
        }
    }

    /// Reference: serde `deny_unknown_fields` and snake_case modes.
    #[test]
    fn params_serde() {
        let p: DeEsserParams =
            serde_json::from_str(r#"{"freq_hz": 5000, "mode": "wideband"}"#).unwrap();
        assert_eq!(p.mode, DeEsserMode::Wideband);
        assert!(serde_json::from_str::<DeEsserParams>(r#"{"freq": 5000}"#).is_err());
    }
}
