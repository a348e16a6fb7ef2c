//! The one delay line of sheen: a power-of-two ring buffer per channel with
//! exact integer taps and fractional taps by Lagrange interpolation
//! (maximally flat FIR fractional delay; T. I. Laakso, V. Välimäki,
//! M. Karjalainen, U. K. Laine, "Splitting the unit delay", IEEE Signal
//! Processing Magazine 13(1), 1996, §3.3).
//!
//! Used directly by the mixing engine for latency compensation (an integer
//! delay of N samples is a bit-exact shifted copy) and pre-delay, and inside
//! the delay, chorus and reverb effects.
//!
//! Tap convention: after [`DelayBuffer::push`] of sample `x[n]`,
//! [`DelayBuffer::get`]`(d)` returns `x[n - d]` (so `d = 0` is the sample
//! just pushed). In a feedback loop, reading *before* pushing, `get(d - 1)`
//! is the value delayed by `d` samples.

use serde::{Deserialize, Serialize};
use sheen_dsp::Processor;

/// Fractional-delay interpolation method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Two-point linear interpolation (first-order Lagrange).
    Linear,
    /// Four-point, third-order Lagrange ("cubic"), centred stencil.
    #[default]
    Lagrange3,
    /// Six-point, fifth-order Lagrange, centred stencil.
    Lagrange5,
}

/// Extra history kept beyond the largest delay so a centred interpolation
/// stencil (up to `floor(d) + 3` for fifth order) stays inside the buffer.
const STENCIL_MARGIN: usize = 3;

/// Lagrange weights for `P` nodes at positions `0..P`, evaluated at `t`.
/// At integer `t` the weights are exactly one-hot, so integer positions are
/// reproduced bit-exactly.
#[inline]
fn lagrange_weights<const P: usize>(t: f64) -> [f64; P] {
    let mut w = [0.0; P];
    for (k, wk) in w.iter_mut().enumerate() {
        let mut num = 1.0;
        let mut den = 1.0;
        for j in 0..P {
            if j != k {
                num *= t - j as f64;
                den *= k as f64 - j as f64;
            }
        }
        *wk = num / den;
    }
    w
}

/// One channel of delay: a ring buffer of `f64` samples.
#[derive(Clone, Debug)]
pub struct DelayBuffer {
    buf: Vec<f64>,
    mask: usize,
    /// Index of the most recently pushed sample.
    pos: usize,
}

impl Default for DelayBuffer {
    fn default() -> Self {
        Self::new(0)
    }
}

impl DelayBuffer {
    /// A buffer able to delay by up to `max_delay` samples (integer or
    /// fractional, any interpolation). Allocates.
    pub fn new(max_delay: usize) -> Self {
        let len = (max_delay + 1 + STENCIL_MARGIN).next_power_of_two().max(8);
        Self {
            buf: vec![0.0; len],
            mask: len - 1,
            pos: 0,
        }
    }

    /// The largest delay in samples this buffer can give.
    pub fn max_delay(&self) -> usize {
        self.buf.len() - 1 - STENCIL_MARGIN
    }

    /// Grows the buffer (allocating) so it can delay by `max_delay` samples,
    /// keeping its history: the output is the same as if it had been this
    /// large from the start. Does nothing if it is already large enough.
    pub fn ensure_max_delay(&mut self, max_delay: usize) {
        if max_delay <= self.max_delay() {
            return;
        }
        let mut grown = Self::new(max_delay);
        let old_len = self.buf.len();
        let new_len = grown.buf.len();
        for d in 0..old_len {
            grown.buf[new_len - 1 - d] = self.get(d);
        }
        grown.pos = new_len - 1;
        *self = grown;
    }

    /// Clears the history to silence.
    pub fn clear(&mut self) {
        self.buf.iter_mut().for_each(|x| *x = 0.0);
        self.pos = 0;
    }

    /// Appends one sample.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.pos = (self.pos + 1) & self.mask;
        self.buf[self.pos] = x;
    }

    /// The sample pushed `delay` pushes ago (`0` = the latest). Exact.
    /// `delay` must not exceed [`Self::max_delay`] (+3); larger values wrap.
    #[inline]
    pub fn get(&self, delay: usize) -> f64 {
        self.buf[self.pos.wrapping_sub(delay) & self.mask]
    }

    /// The signal delayed by a fractional `delay` in samples (clamped to
    /// `0 ..= max_delay`), interpolated with `interp`. Integer delays give
    /// exactly [`Self::get`]. The Lagrange stencils are centred around the
    /// read position when `delay >= 1` (order 3) or `>= 2` (order 5), and
    /// shifted towards newer samples below that (still interpolating).
    #[inline]
    pub fn get_frac(&self, delay: f64, interp: Interpolation) -> f64 {
        let d = if delay > 0.0 {
            delay.min(self.max_delay() as f64)
        } else {
            0.0
        };
        let i = d as usize; // floor, d >= 0
        let f = d - i as f64;
        if f == 0.0 {
            return self.get(i);
        }
        match interp {
            Interpolation::Linear => (1.0 - f) * self.get(i) + f * self.get(i + 1),
            Interpolation::Lagrange3 => self.lagrange::<4>(d, i),
            Interpolation::Lagrange5 => self.lagrange::<6>(d, i),
        }
    }

    #[inline]
    fn lagrange<const P: usize>(&self, d: f64, i: usize) -> f64 {
        let start = i.saturating_sub(P / 2 - 1);
        let w = lagrange_weights::<P>(d - start as f64);
        let mut acc = 0.0;
        for (k, wk) in w.iter().enumerate() {
            acc += wk * self.get(start + k);
        }
        acc
    }
}

/// Parameters of [`DelayLine`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DelayLineParams {
    /// Delay in samples (may be fractional; negative is treated as 0).
    pub delay_samples: f64,
    /// Interpolation for fractional delays (unused for whole-sample delays,
    /// which are exact).
    pub interpolation: Interpolation,
}

impl Default for DelayLineParams {
    fn default() -> Self {
        Self {
            delay_samples: 0.0,
            interpolation: Interpolation::Lagrange3,
        }
    }
}

/// A multichannel pure delay: every channel delayed by the same (integer or
/// fractional) number of samples. With a whole-sample delay the output is a
/// bit-exact shifted copy of the input (latency compensation).
///
/// Latency: the delay rounded to the nearest sample — the whole signal is
/// delayed, so a graph sees it as latency.
#[derive(Clone, Debug)]
pub struct DelayLine {
    params: DelayLineParams,
    delay: f64,
    lines: Vec<DelayBuffer>,
}

impl DelayLine {
    pub fn new(params: DelayLineParams) -> Self {
        let mut s = Self {
            params,
            delay: 0.0,
            lines: Vec::new(),
        };
        s.set_params(params);
        s
    }

    /// An exact integer delay of `delay_samples` samples.
    pub fn integer(delay_samples: usize) -> Self {
        Self::new(DelayLineParams {
            delay_samples: delay_samples as f64,
            ..DelayLineParams::default()
        })
    }

    pub fn params(&self) -> &DelayLineParams {
        &self.params
    }

    /// Applies new parameters (the delay jumps). Allocates only if the new
    /// delay exceeds what the buffers hold (history is kept).
    pub fn set_params(&mut self, params: DelayLineParams) {
        self.params = params;
        self.delay = if params.delay_samples > 0.0 {
            params.delay_samples
        } else {
            0.0
        };
        let need = self.delay.ceil() as usize;
        for line in &mut self.lines {
            line.ensure_max_delay(need);
        }
    }
}

impl Processor for DelayLine {
    fn prepare(&mut self, _sample_rate_hz: f64, channels: usize, _max_block: usize) {
        let need = self.delay.ceil() as usize;
        self.lines = (0..channels).map(|_| DelayBuffer::new(need)).collect();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let d = self.delay;
        let interp = self.params.interpolation;
        let whole = d.fract() == 0.0;
        for (line, ch) in self.lines.iter_mut().zip(block.iter_mut()) {
            if whole {
                let di = d as usize;
                for x in ch.iter_mut() {
                    line.push(*x);
                    *x = line.get(di);
                }
            } else {
                for x in ch.iter_mut() {
                    line.push(*x);
                    *x = line.get_frac(d, interp);
                }
            }
        }
    }

    fn latency_samples(&self) -> usize {
        self.delay.round() as usize
    }

    fn reset(&mut self) {
        self.lines.iter_mut().for_each(DelayBuffer::clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_block_independent, noise, rel_error_db, run};
    use std::f64::consts::PI;

    /// Reference: definition of a pure delay, y[n] = x[n - N]; tolerance:
    /// bit-exact (N = 0, 1, 1000).
    #[test]
    fn integer_delay_is_bit_exact() {
        let x = noise(5000, 1);
        for n in [0usize, 1, 1000] {
            let mut dl = DelayLine::integer(n);
            assert_eq!(dl.latency_samples(), n);
            let y = run(&mut dl, 48_000.0, vec![x.clone(), x.clone()], 97);
            for ch in &y {
                for (i, &v) in ch.iter().enumerate() {
                    let expect = if i >= n { x[i - n] } else { 0.0 };
                    assert_eq!(v.to_bits(), expect.to_bits(), "N={n} i={i}");
                }
            }
        }
    }

    /// Reference: the analytic delayed sine sin(w (n - d)); tolerance: error
    /// power at least 80 dB below the signal (Lagrange 3 and 5 at 1 kHz /
    /// 48 kHz, linear at 100 Hz / 48 kHz).
    #[test]
    fn fractional_delay_matches_analytic_sine() {
        let fs = 48_000.0;
        let n = 4800;
        for (interp, f) in [
            (Interpolation::Lagrange3, 1000.0),
            (Interpolation::Lagrange5, 1000.0),
            (Interpolation::Linear, 100.0),
        ] {
            for d in [0.5, 1.25, 10.5, 37.3, 999.999] {
                let w = 2.0 * PI * f / fs;
                let x: Vec<f64> = (0..n).map(|i| (w * i as f64).sin()).collect();
                let mut dl = DelayLine::new(DelayLineParams {
                    delay_samples: d,
                    interpolation: interp,
                });
                let y = run(&mut dl, fs, vec![x], 64);
                let skip = d.ceil() as usize + 4;
                let expect: Vec<f64> = (skip..n).map(|i| (w * (i as f64 - d)).sin()).collect();
                let err = rel_error_db(&y[0][skip..], &expect);
                assert!(err < -80.0, "{interp:?} {f} Hz d={d}: {err:.1} dB");
            }
        }
    }

    /// Reference: the stored history must survive growing (same output as a
    /// buffer that was large from the start); tolerance: bit-exact.
    #[test]
    fn growing_keeps_history() {
        let x = noise(300, 2);
        let mut a = DelayBuffer::new(10);
        let mut b = DelayBuffer::new(500);
        for &v in &x[..200] {
            a.push(v);
            b.push(v);
        }
        a.ensure_max_delay(400);
        let held = 16; // what `a` held before growing (power of two ≥ 10 + 4)
        for (k, &v) in x[200..].iter().enumerate() {
            a.push(v);
            b.push(v);
            for d in [0, 7, 15, 150, 299, 400] {
                if d <= k + held {
                    assert_eq!(a.get(d).to_bits(), b.get(d).to_bits(), "k={k} d={d}");
                }
            }
        }
        assert!(a.max_delay() >= 400);
    }

    /// Reference: Processor contract (block-size independence); bit-exact.
    #[test]
    fn block_size_independent() {
        for d in [0.0, 17.0, 33.7] {
            assert_block_independent(
                || {
                    DelayLine::new(DelayLineParams {
                        delay_samples: d,
                        interpolation: Interpolation::Lagrange5,
                    })
                },
                44_100.0,
                2,
            );
        }
    }

    #[test]
    fn params_serde_rejects_unknown_fields() {
        let p: DelayLineParams =
            serde_json::from_str(r#"{"delay_samples": 3.5, "interpolation": "linear"}"#).unwrap();
        assert_eq!(p.interpolation, Interpolation::Linear);
        assert!(serde_json::from_str::<DelayLineParams>(r#"{"delay": 3}"#).is_err());
    }
}
