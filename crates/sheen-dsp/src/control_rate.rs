//! A feed-forward RMS compressor whose gain computer runs at control rate.
//!
//! For slow RMS compression (e.g. the reference match's 300 ms window,
//! 30 ms attack, 300 ms release, fully linked, key high-passed at 60 Hz, no
//! look-ahead) the gain moves on the scale of tens of milliseconds, so
//! [`ControlRateCompressor`] computes it once per [`CONTROL_FRAMES`] frames
//! (0.67 ms at 48 kHz) instead of per sample:
//!
//! - key: each channel through the high-pass (RBJ, Q = 1/√2, as
//!   [`crate::dynamics::KeyFilter`]) and squared, summed per control
//!   block; the mean square over the last `rms_window_ms` (a whole number
//!   of control blocks, sliding rectangular window, as
//!   [`crate::dynamics::Detector::Rms`]); level in dB;
//! - link: each channel's level moves `stereo_link` of the way to the
//!   loudest channel's (1: one shared level);
//! - gain reduction target from the soft-knee curve
//!   ([`crate::dynamics::compressor_curve_db`]), smoothed per block with
//!   the one-pole attack (reduction rising) or release coefficient of the
//!   block's length ([`crate::dynamics::time_coeff`]);
//! - the audio gain ramps linearly, sample by sample, from the previous
//!   block's gain to the last one's (no look-ahead, no latency: the gain
//!   lags the detector by one control block).
//!
//! Per sample this costs the key filter, a square and a multiply; the dB
//! arithmetic runs once per block. Control blocks sit at absolute stream
//! positions, so the output does not depend on the caller's block sizes.
//! Other settings (a peak detector, look-ahead) need the per-sample
//! [`crate::compressor::Compressor`] ([`ControlRateCompressor::handles`]
//! tells).

use crate::biquad::{BiquadCoeffs, BiquadState, FilterKind};
use crate::compressor::CompressorParams;
use crate::dynamics::{compressor_curve_db, time_coeff, Detector, LEVEL_FLOOR_DB};
use crate::{db_to_gain, Processor};
use std::f64::consts::FRAC_1_SQRT_2;

/// The reference match's slow RMS compressor (settings this compressor
/// [handles](ControlRateCompressor::handles)): RMS detector over 300 ms,
/// 6 dB knee, attack 30 ms, release 300 ms, fully linked, key high-passed
/// at 60 Hz, no look-ahead, no make-up; `threshold_db` in dBFS.
pub fn slow_rms(threshold_db: f64, ratio: f64) -> CompressorParams {
    CompressorParams {
        threshold_db,
        ratio,
        knee_db: 6.0,
        attack_ms: 30.0,
        release_ms: 300.0,
        makeup_db: 0.0,
        detector: Detector::Rms,
        rms_window_ms: 300.0,
        stereo_link: 1.0,
        lookahead_ms: 0.0,
        sidechain_hpf_hz: 60.0,
    }
}

/// Frames per control block.
pub const CONTROL_FRAMES: usize = 32;

/// Most channels.
const CHANNELS: usize = 2;

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct ControlRateCompressor {
    p: CompressorParams,
    /// Sample rate, Hz.
    sample_rate_hz: f64,
    channels: usize,
    hpf: Option<BiquadCoeffs>,
    key: [BiquadState; CHANNELS],
    /// Σ key² of the current block, per channel.
    acc: [f64; CHANNELS],
    /// Frames of the current block so far.
    fill: usize,
    /// Block sums of the window (ring), per channel, and their total.
    ring: Vec<[f64; CHANNELS]>,
    at: usize,
    total: [f64; CHANNELS],
    /// Frames in the window.
    window_frames: f64,
    /// Smoothed gain reduction, dB, per channel.
    env: [f64; CHANNELS],
    rise: f64,
    fall: f64,
    /// Linear gain at the start of the current ramp and at its end.
    from: [f64; CHANNELS],
    to: [f64; CHANNELS],
}

impl ControlRateCompressor {
    /// Whether `p` is the kind this realises (RMS detector, no look-ahead,
    /// at most two channels).
    pub fn handles(p: &CompressorParams, channels: usize) -> bool {
        p.detector == Detector::Rms && p.lookahead_ms <= 0.0 && (1..=CHANNELS).contains(&channels)
    }

    /// A compressor for `p` (see [`Self::handles`]) on `channels` at
    /// `sample_rate_hz`.
    pub fn new(p: CompressorParams, sample_rate_hz: f64, channels: usize) -> Self {
        let f = p.sidechain_hpf_hz;
        let hpf = (f > 0.0 && f.is_finite()).then(|| {
            BiquadCoeffs::rbj(
                FilterKind::HighPass,
                f.clamp(1.0, 0.45 * sample_rate_hz),
                FRAC_1_SQRT_2,
                0.0,
                sample_rate_hz,
            )
        });
        let blocks = ((p.rms_window_ms.max(0.0) * 1e-3 * sample_rate_hz / CONTROL_FRAMES as f64)
            .round() as usize)
            .max(1);
        let block_ms = CONTROL_FRAMES as f64 / sample_rate_hz * 1e3;
        let unity = db_to_gain(p.makeup_db);
        Self {
            p,
            sample_rate_hz,
            channels,
            hpf,
            key: [BiquadState::default(); CHANNELS],
            acc: [0.0; CHANNELS],
            fill: 0,
            ring: vec![[0.0; CHANNELS]; blocks],
            at: 0,
            total: [0.0; CHANNELS],
            window_frames: (blocks * CONTROL_FRAMES) as f64,
            env: [0.0; CHANNELS],
            // per block: the one-pole coefficient of a block's length
            rise: time_coeff(p.attack_ms / block_ms, 1e3),
            fall: time_coeff(p.release_ms / block_ms, 1e3),
            from: [unity; CHANNELS],
            to: [unity; CHANNELS],
        }
    }

    /// Ends a control block: the window, levels, targets, smoothing and
    /// the next ramp.
    #[allow(clippy::needless_range_loop)] // per channel, several arrays
    fn close_block(&mut self) {
        let n = self.channels;
        let old = self.ring[self.at];
        let mut level = [LEVEL_FLOOR_DB; CHANNELS];
        for c in 0..n {
            self.total[c] = (self.total[c] + self.acc[c] - old[c]).max(0.0);
            let ms = self.total[c] / self.window_frames;
            if ms > 0.0 {
                level[c] = (10.0 * ms.log10()).max(LEVEL_FLOOR_DB);
            }
        }
        self.ring[self.at] = self.acc;
        self.at = (self.at + 1) % self.ring.len();
        self.acc = [0.0; CHANNELS];
        let loudest = level[..n].iter().fold(LEVEL_FLOOR_DB, |a, &b| a.max(b));
        let link = self.p.stereo_link.clamp(0.0, 1.0);
        for c in 0..n {
            let l = level[c] + link * (loudest - level[c]);
            let target =
                l - compressor_curve_db(l, self.p.threshold_db, self.p.ratio, self.p.knee_db);
            let k = if target > self.env[c] {
                self.rise
            } else {
                self.fall
            };
            self.env[c] = k * self.env[c] + (1.0 - k) * target;
            self.from[c] = self.to[c];
            self.to[c] = db_to_gain(self.p.makeup_db - self.env[c]);
        }
    }
}

impl Processor for ControlRateCompressor {
    /// Rebuilds the state for `sample_rate_hz` and `channels` (any block
    /// size).
    fn prepare(&mut self, sample_rate_hz: f64, channels: usize, _max_block: usize) {
        *self = Self::new(self.p, sample_rate_hz, channels);
    }

    /// Compresses a block in place (the gain of each control block ramps
    /// in over the next one).
    fn process(&mut self, block: &mut [&mut [f64]]) {
        let len = block.first().map_or(0, |c| c.len());
        let n = self.channels.min(block.len());
        let step = 1.0 / CONTROL_FRAMES as f64;
        let mut i = 0;
        while i < len {
            let take = (CONTROL_FRAMES - self.fill).min(len - i);
            let ramp = |j: usize| (self.fill + j + 1) as f64 * step;
            match (&self.hpf, &mut block[..n]) {
                (Some(h), [l, r]) => {
                    // the two channels' key filters in one loop (independent
                    // chains overlap)
                    let (l, r) = (&mut l[i..i + take], &mut r[i..i + take]);
                    let (f0, d0) = (self.from[0], self.to[0] - self.from[0]);
                    let (f1, d1) = (self.from[1], self.to[1] - self.from[1]);
                    let [k0, k1] = &mut self.key;
                    let [a0, a1] = &mut self.acc;
                    for (j, (x0, x1)) in l.iter_mut().zip(r.iter_mut()).enumerate() {
                        let y0 = k0.tick(h, *x0);
                        let y1 = k1.tick(h, *x1);
                        *a0 += y0 * y0;
                        *a1 += y1 * y1;
                        let t = ramp(j);
                        *x0 *= f0 + d0 * t;
                        *x1 *= f1 + d1 * t;
                    }
                }
                (h, chans) => {
                    for (c, ch) in chans.iter_mut().enumerate() {
                        let x = &mut ch[i..i + take];
                        let (from, d) = (self.from[c], self.to[c] - self.from[c]);
                        let mut acc = self.acc[c];
                        let key = &mut self.key[c];
                        for (j, v) in x.iter_mut().enumerate() {
                            let k = match h {
                                Some(h) => key.tick(h, *v),
                                None => *v,
                            };
                            acc += k * k;
                            *v *= from + d * ramp(j);
                        }
                        self.acc[c] = acc;
                    }
                }
            }
            self.fill += take;
            i += take;
            if self.fill == CONTROL_FRAMES {
                self.close_block();
                self.fill = 0;
            }
        }
    }

    /// No look-ahead: none.
    fn latency_samples(&self) -> usize {
        0
    }

    fn reset(&mut self) {
        *self = Self::new(self.p, self.sample_rate_hz, self.channels);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compressor::Compressor;
    use crate::processor::process_in_blocks;

    fn tone(n: usize, fs: f64, f: f64, a: f64) -> Vec<f64> {
        (0..n)
            .map(|i| a * (2.0 * std::f64::consts::PI * f * i as f64 / fs).sin())
            .collect()
    }

    /// Reference: the static curve. A steady 1 kHz sine (RMS −13.01 dBFS,
    /// above the 60 Hz key filter) 12 dB over a −25 dBFS threshold at ratio
    /// 3 (hard above the 6 dB knee) settles to a gain reduction of
    /// 12 − 12/3 = 8 dB (within 0.05 dB after 3 s), as the per-sample
    /// compressor of sheen-dsp settles.
    #[test]
    fn settles_on_the_static_curve() {
        let fs = 48_000.0;
        let x = tone(4 * 48_000, fs, 1000.0, 10f64.powf(-10.0 / 20.0));
        let p = slow_rms(-25.0, 3.0);
        let mut y = [x.clone(), x.clone()];
        let mut k = ControlRateCompressor::new(p, fs, 2);
        {
            let (a, b) = y.split_at_mut(1);
            k.process(&mut [&mut a[0][..], &mut b[0][..]]);
        }
        let mut exact = vec![x.clone(), x.clone()];
        let mut e = Compressor::new(p);
        e.prepare(fs, 2, 4096);
        process_in_blocks(&mut e, &mut exact, 4096);
        let rms_db =
            |v: &[f64]| 10.0 * (v.iter().map(|s| s * s).sum::<f64>() / v.len() as f64).log10();
        let tail = 3 * 48_000..4 * 48_000;
        let gr = rms_db(&x[tail.clone()]) - rms_db(&y[0][tail.clone()]);
        let gr_exact = rms_db(&x[tail.clone()]) - rms_db(&exact[0][tail]);
        assert!((gr - 8.0).abs() < 0.05, "{gr} dB");
        assert!((gr - gr_exact).abs() < 0.05, "{gr} vs {gr_exact} dB");
    }

    /// Reference: the same samples in one block. Blocks of 1, 17, 4096 and
    /// odd sizes give the same output bit for bit (control blocks at
    /// absolute positions).
    #[test]
    fn block_size_independent() {
        let fs = 48_000.0;
        let mut s = 1u64;
        let x: Vec<f64> = (0..50_000)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                ((s >> 11) as f64 / (1u64 << 53) as f64 - 0.5) * (1.0 + (i as f64 / 5000.0).sin())
            })
            .collect();
        let p = slow_rms(-30.0, 2.0);
        let run = |b: usize| {
            let mut y = vec![x.clone(), x.iter().map(|v| 0.5 * v).collect()];
            let mut w = ControlRateCompressor::new(p, fs, 2);
            process_in_blocks(&mut w, &mut y, b);
            y
        };
        let whole = run(50_000);
        for b in [1, 17, 4096, 777] {
            assert!(run(b) == whole, "block {b}");
        }
    }
}
