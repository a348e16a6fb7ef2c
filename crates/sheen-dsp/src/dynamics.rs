//! Side-chain building blocks shared by sheen's dynamics processors
//! (compressor, gate / downward expander, de-esser, multiband): level
//! detection, the static gain computers and attack/release smoothing, after
//! D. Giannoulis, M. Massberg and J. D. Reiss, "Digital dynamic range
//! compressor design—a tutorial and analysis", J. Audio Eng. Soc. 60(6),
//! 2012:
//!
//! - the soft-knee gain computer (quadratic knee of width `W` around the
//!   threshold `T`): [`compressor_curve_db`], and its mirror image for
//!   downward expansion, [`expander_curve_db`];
//! - one-pole time constants `alpha = exp(-1 / (tau fs))`, the time to reach
//!   `1 - 1/e` (63.2 %) of a step: [`time_coeff`];
//! - the "smooth branching" peak detector in the log domain, placed after the
//!   gain computer (the design the paper recommends):
//!   [`smooth_branching`];
//! - side-chain filtering ([`KeyFilter`]); the look-ahead delay of the audio
//!   path is [`crate::delay_line::LookaheadDelay`].
//!
//! Levels are in dBFS of the detector signal: `20 log10 |x|` for
//! [`Detector::Peak`], `10 log10 mean(x^2)` over a sliding window for
//! [`Detector::Rms`] (a sine of peak `A` reads `20 log10 A - 3.01 dB`).

use crate::biquad::{BiquadCoeffs, BiquadState, FilterKind};
use crate::fastmath;
use crate::processor::MAX_CHANNELS;
use serde::{Deserialize, Serialize};
use std::f64::consts::FRAC_1_SQRT_2;

/// Lowest level the detectors report, in dB (stands in for silence).
pub const LEVEL_FLOOR_DB: f64 = -240.0;

/// Longest RMS window accepted, ms (longer requests are clamped).
pub const MAX_RMS_WINDOW_MS: f64 = 1000.0;

/// What the side chain measures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Instantaneous sample magnitude `|x|` (the attack/release smoothing
    /// then acts as the peak envelope).
    #[default]
    Peak,
    /// Mean square over a sliding rectangular window of `rms_window_ms`.
    Rms,
}

/// One-pole coefficient for time constant `time_ms` at `sample_rate_hz`:
/// `exp(-1 / (tau fs))`; 0 (instant) for `time_ms <= 0`.
pub fn time_coeff(time_ms: f64, sample_rate_hz: f64) -> f64 {
    let n = time_ms * 1e-3 * sample_rate_hz;
    if n > 0.0 && n.is_finite() {
        (-1.0 / n).exp()
    } else {
        0.0
    }
}

/// Static compressor curve (Giannoulis et al. 2012, soft-knee gain
/// computer): output level `y_G` in dB for input level `x_db`, threshold
/// `threshold_db`, ratio `ratio` (≥ 1) and knee width `knee_db` (≥ 0):
///
/// - `2 (x - T) < -W`: `y = x`;
/// - `2 |x - T| <= W`: `y = x + (1/R - 1) (x - T + W/2)^2 / (2 W)`;
/// - `2 (x - T) > W`: `y = T + (x - T) / R`.
#[inline]
pub fn compressor_curve_db(x_db: f64, threshold_db: f64, ratio: f64, knee_db: f64) -> f64 {
    let d = x_db - threshold_db;
    if 2.0 * d < -knee_db {
        x_db
    } else if 2.0 * d.abs() <= knee_db && knee_db > 0.0 {
        let u = d + knee_db / 2.0;
        x_db + (1.0 / ratio - 1.0) * u * u / (2.0 * knee_db)
    } else {
        threshold_db + d / ratio
    }
}

/// Static downward-expander curve, the mirror image of
/// [`compressor_curve_db`] below the threshold: `y = x` above `T + W/2`,
/// `y = T + (x - T) R` below `T - W/2`, and the quadratic knee
/// `y = x - (R - 1) (x - T - W/2)^2 / (2 W)` in between. `ratio` ≥ 1 is the
/// expansion ratio (dB of output drop per dB of input drop).
#[inline]
pub fn expander_curve_db(x_db: f64, threshold_db: f64, ratio: f64, knee_db: f64) -> f64 {
    let d = x_db - threshold_db;
    if 2.0 * d > knee_db {
        x_db
    } else if 2.0 * d.abs() <= knee_db && knee_db > 0.0 {
        let u = d - knee_db / 2.0;
        x_db - (ratio - 1.0) * u * u / (2.0 * knee_db)
    } else {
        threshold_db + d * ratio
    }
}

/// The smooth branching one-pole (Giannoulis et al. 2012): moves `state`
/// towards `target` with coefficient `rise` when `target > state` and
/// `fall` otherwise, `y[n] = a y[n-1] + (1 - a) x[n]`; returns the new
/// state. For a compressor the state is the gain reduction in dB (rise =
/// attack); for a gate it is the attenuation (rise = release). A state
/// within 1e-15 dB of 0 is flushed to 0 (no denormals in long silences).
#[inline]
pub fn smooth_branching(state: &mut f64, target: f64, rise: f64, fall: f64) -> f64 {
    // both branches, then a select: the comparison leaves the dependency
    // chain through `state` (same arithmetic as choosing first)
    let up = rise * *state + (1.0 - rise) * target;
    let down = fall * *state + (1.0 - fall) * target;
    let s = if target > *state { up } else { down };
    *state = if s.abs() < 1e-15 { 0.0 } else { s };
    *state
}

/// Level detector for up to [`MAX_CHANNELS`] key channels. Feed one frame
/// with [`LevelDetector::level_db`] per channel, then call
/// [`LevelDetector::advance`] once.
#[derive(Clone, Debug)]
pub struct LevelDetector {
    mode: Detector,
    window: usize,
    /// Per channel: the last `window` squared samples.
    rings: Vec<Vec<f64>>,
    sums: [f64; MAX_CHANNELS],
    pos: usize,
    /// Channels whose ring has been written (RMS).
    fed: [bool; MAX_CHANNELS],
}

impl LevelDetector {
    /// A detector; for [`Detector::Rms`] the window is `rms_window_ms`
    /// (clamped to [`MAX_RMS_WINDOW_MS`]) at `sample_rate_hz`, at least one
    /// sample. Allocates the RMS history.
    pub fn new(mode: Detector, rms_window_ms: f64, sample_rate_hz: f64) -> Self {
        let window = if mode == Detector::Rms {
            (rms_window_ms.clamp(0.0, MAX_RMS_WINDOW_MS) * 1e-3 * sample_rate_hz)
                .round()
                .max(1.0) as usize
        } else {
            1
        };
        let rings = if mode == Detector::Rms {
            vec![vec![0.0; window]; MAX_CHANNELS]
        } else {
            Vec::new()
        };
        Self {
            mode,
            window,
            rings,
            sums: [0.0; MAX_CHANNELS],
            pos: 0,
            fed: [false; MAX_CHANNELS],
        }
    }

    /// Window length in samples (1 for peak detection).
    pub fn window_samples(&self) -> usize {
        self.window
    }

    /// Level in dB of key channel `ch` including sample `x`.
    #[inline]
    pub fn level_db(&mut self, ch: usize, x: f64) -> f64 {
        let db = match self.mode {
            Detector::Peak => fastmath::gain_to_db(x.abs()),
            Detector::Rms => {
                let sq = x * x;
                self.fed[ch] = true;
                let slot = &mut self.rings[ch][self.pos];
                self.sums[ch] += sq - *slot;
                *slot = sq;
                fastmath::power_to_db(self.sums[ch].max(0.0) / self.window as f64)
            }
        };
        db.max(LEVEL_FLOOR_DB)
    }

    /// Block form of [`LevelDetector::level_db`] for one key channel: turns
    /// the key samples `xs` (the frames from the current position on) into
    /// their levels in dB, in place. Call it for every key channel with
    /// the same length, then [`LevelDetector::advance_by`] once; the result
    /// is identical to the per-sample calls.
    #[inline(always)]
    pub fn levels_db(&mut self, ch: usize, xs: &mut [f64]) {
        match self.mode {
            Detector::Peak => {
                for x in xs.iter_mut() {
                    *x = fastmath::gain_to_db(x.abs()).max(LEVEL_FLOOR_DB);
                }
            }
            Detector::Rms => {
                let w = self.window as f64;
                self.fed[ch] = true;
                let ring = &mut self.rings[ch];
                let mut sum = self.sums[ch];
                let mut pos = self.pos;
                for x in xs.iter_mut() {
                    let sq = *x * *x;
                    sum += sq - ring[pos];
                    ring[pos] = sq;
                    *x = sum.max(0.0) / w;
                    pos += 1;
                    if pos == self.window {
                        pos = 0;
                        sum = ring.iter().sum();
                    }
                }
                self.sums[ch] = sum;
                for x in xs.iter_mut() {
                    *x = fastmath::power_to_db(*x).max(LEVEL_FLOOR_DB);
                }
            }
        }
    }

    /// Ends `frames` frames processed with [`LevelDetector::levels_db`]
    /// on key channels `0..fed`.
    pub fn advance_by(&mut self, frames: usize, fed: usize) {
        if self.mode == Detector::Rms {
            let end = self.pos + frames;
            self.pos = end % self.window;
            if end >= self.window {
                // the per-frame advance recomputes every channel's sum at a
                // wrap; a channel not fed now keeps its ring, so recomputing
                // it once is the same (never-fed rings are all zero)
                for ch in fed..MAX_CHANNELS {
                    if self.fed[ch] {
                        self.sums[ch] = self.rings[ch].iter().sum();
                    }
                }
            }
        }
    }

    /// Ends the frame. Every `window` frames the running sums are recomputed
    /// exactly, so rounding does not accumulate.
    #[inline]
    pub fn advance(&mut self) {
        if self.mode == Detector::Rms {
            self.pos += 1;
            if self.pos == self.window {
                self.pos = 0;
                for (s, r) in self.sums.iter_mut().zip(&self.rings) {
                    *s = r.iter().sum();
                }
            }
        }
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        self.rings.iter_mut().for_each(|r| r.fill(0.0));
        self.sums = [0.0; MAX_CHANNELS];
        self.pos = 0;
        self.fed = [false; MAX_CHANNELS];
    }
}

/// Combines per-key-channel levels into the level for output channel `ch`
/// with stereo link `link` (0 = independent, 1 = all channels follow the
/// loudest key channel; linear in dB in between). Output channel `ch` reads
/// key channel `ch % key_channels` (so a mono key drives every channel).
#[inline]
pub fn linked_level_db(levels: &[f64], max_db: f64, ch: usize, link: f64) -> f64 {
    if levels.is_empty() {
        return LEVEL_FLOOR_DB;
    }
    let own = levels[ch % levels.len()];
    own + link * (max_db - own)
}

/// Side-chain ("key") filter: optional 2nd-order Butterworth high-pass and
/// low-pass (RBJ cookbook, `Q = 1/sqrt(2)`) on the detector input, per key
/// channel, so e.g. bass does not pump a compressor or hi-hat spill does
/// not open a kick gate.
#[derive(Clone, Debug)]
pub struct KeyFilter {
    hpf: Option<BiquadCoeffs>,
    lpf: Option<BiquadCoeffs>,
    hp_state: [BiquadState; MAX_CHANNELS],
    lp_state: [BiquadState; MAX_CHANNELS],
}

impl KeyFilter {
    /// High-pass at `hpf_hz` and low-pass at `lpf_hz` (each off when ≤ 0
    /// or non-finite; clamped to 1 Hz .. 0.45 fs).
    pub fn new(hpf_hz: f64, lpf_hz: f64, sample_rate_hz: f64) -> Self {
        let design = |kind, f: f64| {
            (f > 0.0 && f.is_finite()).then(|| {
                BiquadCoeffs::rbj(
                    kind,
                    f.clamp(1.0, 0.45 * sample_rate_hz),
                    FRAC_1_SQRT_2,
                    0.0,
                    sample_rate_hz,
                )
            })
        };
        Self {
            hpf: design(FilterKind::HighPass, hpf_hz),
            lpf: design(FilterKind::LowPass, lpf_hz),
            hp_state: [BiquadState::default(); MAX_CHANNELS],
            lp_state: [BiquadState::default(); MAX_CHANNELS],
        }
    }

    /// Re-designs the filters keeping their state (for automation).
    pub fn set(&mut self, hpf_hz: f64, lpf_hz: f64, sample_rate_hz: f64) {
        let n = Self::new(hpf_hz, lpf_hz, sample_rate_hz);
        self.hpf = n.hpf;
        self.lpf = n.lpf;
    }

    /// Filters one sample of key channel `ch`.
    #[inline]
    pub fn tick(&mut self, ch: usize, x: f64) -> f64 {
        let mut y = x;
        if let Some(c) = &self.hpf {
            y = self.hp_state[ch].tick(c, y);
        }
        if let Some(c) = &self.lpf {
            y = self.lp_state[ch].tick(c, y);
        }
        y
    }

    /// Block form of [`KeyFilter::tick`]: filters `xs` of key channel `ch`
    /// in place.
    pub fn filter_block(&mut self, ch: usize, xs: &mut [f64]) {
        if let Some(c) = &self.hpf {
            let st = &mut self.hp_state[ch];
            xs.iter_mut().for_each(|x| *x = st.tick(c, *x));
        }
        if let Some(c) = &self.lpf {
            let st = &mut self.lp_state[ch];
            xs.iter_mut().for_each(|x| *x = st.tick(c, *x));
        }
    }

    /// True when neither filter is on.
    pub fn is_bypass(&self) -> bool {
        self.hpf.is_none() && self.lpf.is_none()
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        self.hp_state = [BiquadState::default(); MAX_CHANNELS];
        self.lp_state = [BiquadState::default(); MAX_CHANNELS];
    }
}

/// Samples for a time in ms (rounded, ≥ 0).
pub fn ms_to_samples(time_ms: f64, sample_rate_hz: f64) -> usize {
    let n = (time_ms * 1e-3 * sample_rate_hz).round();
    if n > 0.0 && n.is_finite() {
        n as usize
    } else {
        0
    }
}

/// A ratio parameter: at least 1, `+inf` allowed (limiting / hard gate),
/// NaN replaced by `default`.
pub(crate) fn ratio_or(ratio: f64, default: f64) -> f64 {
    if ratio.is_nan() {
        default
    } else {
        ratio.max(1.0)
    }
}

/// Replaces a non-finite `x` with `default`.
pub(crate) fn finite_or(x: f64, default: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        default
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: Giannoulis et al. 2012 soft-knee gain computer — the knee
    /// meets both straight segments with equal value and slope (C1) at
    /// `T ± W/2`; hard knee for W = 0. Tolerance 1e-9 dB.
    #[test]
    fn curves_are_continuous_at_knee_edges() {
        let (t, r, w) = (-20.0, 4.0, 6.0);
        let lo = t - w / 2.0;
        let hi = t + w / 2.0;
        assert!((compressor_curve_db(lo, t, r, w) - lo).abs() < 1e-9);
        assert!((compressor_curve_db(hi, t, r, w) - (t + (hi - t) / r)).abs() < 1e-9);
        let e = 1e-6;
        let slope_hi =
            (compressor_curve_db(hi, t, r, w) - compressor_curve_db(hi - e, t, r, w)) / e;
        assert!((slope_hi - 1.0 / r).abs() < 1e-5);
        // at the threshold the knee is (1/R - 1) W / 8 below the input
        let at_t = compressor_curve_db(t, t, r, w);
        assert!((at_t - (t + (1.0 / r - 1.0) * w / 8.0)).abs() < 1e-9);
        assert_eq!(compressor_curve_db(-10.0, t, r, 0.0), t + 10.0 / r);
        assert_eq!(compressor_curve_db(-30.0, t, r, 0.0), -30.0);
        // expander mirror image
        assert!((expander_curve_db(lo, t, 2.0, w) - (t + (lo - t) * 2.0)).abs() < 1e-9);
        assert!((expander_curve_db(hi, t, 2.0, w) - hi).abs() < 1e-9);
        assert_eq!(expander_curve_db(-30.0, t, 3.0, 0.0), -50.0);
    }

    /// Reference: sliding-window mean square of a sine over whole periods is
    /// A^2 / 2 (-3.0103 dB re peak); tolerance 1e-9 dB.
    #[test]
    fn rms_detector_reads_sine_rms() {
        let fs = 48_000.0;
        let mut d = LevelDetector::new(Detector::Rms, 10.0, fs); // 480 = 10 periods of 1 kHz
        let mut last = 0.0;
        for i in 0..48_000 {
            let x = 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / fs).sin();
            last = d.level_db(0, x);
            d.advance();
        }
        assert!((last - (20.0 * 0.5f64.log10() - 3.010_299_956_6)).abs() < 1e-9);
    }
}
