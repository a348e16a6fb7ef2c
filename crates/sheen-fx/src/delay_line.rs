//! [`DelayLine`]: sheen-dsp's one delay line ([`DelayBuffer`], exact
//! integer taps, Lagrange-interpolated fractional taps) as a multichannel
//! [`Processor`] with a fixed delay, e.g. for latency compensation.

use serde::{Deserialize, Serialize};
pub use sheen_dsp::delay_line::{DelayBuffer, Interpolation};
use sheen_dsp::Processor;

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
