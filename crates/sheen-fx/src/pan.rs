//! Pan laws and stereo balance.
//!
//! Panning a mono source to stereo follows the classic pan-pot laws, named by
//! their attenuation at the centre (see e.g. D. Griesinger, "Stereo and
//! surround panning in practice", AES 112th Convention, 2002, and the pan-law
//! options of the common DAWs):
//!
//! | law | centre gain | left / right gains for pan `p ∈ [−1, 1]` |
//! |-----|-------------|-------------------------------------------|
//! | 0 dB | 1 | `min(1, 1 − p)`, `min(1, 1 + p)` (balance style) |
//! | −3 dB | 1/√2 | `sin((1 − p)π/4)`, `sin((1 + p)π/4)` (constant power) |
//! | −4.5 dB | 10^(−4.5/20) | the −3 dB gains raised to `4.5 / (20 log10 √2)` |
//! | −6 dB | 1/2 | `(1 − p)/2`, `(1 + p)/2` (linear, constant voltage) |
//!
//! The −4.5 dB law is the power-law compromise between constant power and
//! linear: exactly −4.5 dB at the centre, 1 / 0 at the extremes (the
//! geometric mean of the −3 and −6 dB laws would give −4.515 dB).
//!
//! Stereo sources use **balance**: the side opposite the balance direction is
//! attenuated linearly (`min(1, 1 ∓ b)`), the near side stays at unity, so a
//! centred balance is an exact pass-through.

use serde::{Deserialize, Serialize};
use sheen_dsp::smooth::Smoothed;
use sheen_dsp::Processor;
use std::f64::consts::FRAC_PI_2;

/// Pan law, by its centre attenuation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PanLaw {
    /// 0 dB at the centre (both sides unity; the far side fades linearly).
    /// A centred source nulls against its input.
    #[serde(rename = "0db", alias = "balance")]
    ZeroDb,
    /// −3 dB at the centre: constant power, `L² + R² = 1`.
    #[default]
    #[serde(rename = "-3db", alias = "constant_power")]
    ConstantPower,
    /// −4.5 dB at the centre: compromise between constant power and linear.
    #[serde(rename = "-4.5db", alias = "compromise")]
    Compromise,
    /// −6 dB at the centre: linear, `L + R = 1`.
    #[serde(rename = "-6db", alias = "linear")]
    Linear,
}

impl PanLaw {
    /// The attenuation at the centre in dB (0, −3.01, −4.5, −6.02).
    pub fn centre_db(self) -> f64 {
        let (g, _) = pan_gains(0.0, self);
        20.0 * g.log10()
    }
}

/// `sin(u π/2)` for `u ∈ [0, 1]`, evaluated so that `u = 0, ½, 1` give exactly
/// `0, 1/√2, 1` and `f(u)² + f(1 − u)² = 1` to rounding.
#[inline]
fn quarter_sine(u: f64) -> f64 {
    if u < 0.5 {
        (u * FRAC_PI_2).sin()
    } else {
        ((1.0 - u) * FRAC_PI_2).cos()
    }
}

/// Exponent turning the constant-power gain (−3.0103 dB at the centre) into
/// exactly −4.5 dB at the centre.
const COMPROMISE_EXPONENT: f64 = 4.5 / (10.0 * std::f64::consts::LOG10_2);

/// Left and right gains for panning a mono source: `pan` from −1 (hard left)
/// through 0 (centre) to +1 (hard right), clamped. Hard left gives exactly
/// `(1, 0)`, hard right `(0, 1)`; the gains are mirror-symmetric.
pub fn pan_gains(pan: f64, law: PanLaw) -> (f64, f64) {
    let p = if pan.is_nan() {
        0.0
    } else {
        pan.clamp(-1.0, 1.0)
    };
    let side = |q: f64| -> f64 {
        // q = 1 - p for the left side, 1 + p for the right side, in [0, 2]
        match law {
            PanLaw::ZeroDb => q.min(1.0),
            PanLaw::ConstantPower => quarter_sine(q * 0.5),
            PanLaw::Compromise => quarter_sine(q * 0.5).powf(COMPROMISE_EXPONENT),
            PanLaw::Linear => q * 0.5,
        }
    };
    (side(1.0 - p), side(1.0 + p))
}

/// Left and right gains for the balance of a stereo source: `balance` from
/// −1 (left only) to +1 (right only), clamped; the far side is attenuated
/// linearly, the near side stays at unity. `balance_gains(0) = (1, 1)`.
pub fn balance_gains(balance: f64) -> (f64, f64) {
    pan_gains(balance, PanLaw::ZeroDb)
}

/// What the [`Pan`] processor does with its input.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PanMode {
    /// Pan a mono source: channel 0 is the source, channels 0 and 1 receive
    /// it scaled by [`pan_gains`] (channel 1's input is ignored).
    #[default]
    Mono,
    /// Balance a stereo source: channels 0 and 1 scaled by
    /// [`balance_gains`]; the law is not used.
    Balance,
}

/// Parameters of [`Pan`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PanParams {
    /// Position, −1 (left) … 0 (centre) … +1 (right).
    pub pan: f64,
    /// Pan law for [`PanMode::Mono`].
    pub law: PanLaw,
    pub mode: PanMode,
    /// Length of the linear gain ramp when the pan changes, in ms.
    pub smoothing_ms: f64,
}

impl Default for PanParams {
    fn default() -> Self {
        Self {
            pan: 0.0,
            law: PanLaw::ConstantPower,
            mode: PanMode::Mono,
            smoothing_ms: 10.0,
        }
    }
}

impl PanParams {
    /// The target (left, right) gains of these parameters.
    pub fn gains(&self) -> (f64, f64) {
        match self.mode {
            PanMode::Mono => pan_gains(self.pan, self.law),
            PanMode::Balance => balance_gains(self.pan),
        }
    }
}

/// Pan / balance processor on channels 0 and 1 (further channels pass
/// through; a single channel passes through unchanged). Gain changes from
/// [`Pan::set_params`] ramp linearly over `smoothing_ms`. Latency 0.
#[derive(Clone, Debug)]
pub struct Pan {
    params: PanParams,
    left: Smoothed,
    right: Smoothed,
    prepared: bool,
}

impl Pan {
    pub fn new(params: PanParams) -> Self {
        let (l, r) = params.gains();
        Self {
            params,
            left: Smoothed::new(l, 0),
            right: Smoothed::new(r, 0),
            prepared: false,
        }
    }

    pub fn params(&self) -> &PanParams {
        &self.params
    }

    /// Applies new parameters; after `prepare`, the gains glide to the new
    /// values over `smoothing_ms` (the ramp length is fixed at `prepare`).
    pub fn set_params(&mut self, params: PanParams) {
        self.params = params;
        let (l, r) = params.gains();
        if self.prepared {
            self.left.set_target(l);
            self.right.set_target(r);
        } else {
            self.left.set_immediate(l);
            self.right.set_immediate(r);
        }
    }
}

impl Processor for Pan {
    fn prepare(&mut self, sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        let ramp = Smoothed::ramp_from_ms(self.params.smoothing_ms.max(0.0), sample_rate_hz);
        let (l, r) = self.params.gains();
        self.left = Smoothed::new(l, ramp);
        self.right = Smoothed::new(r, ramp);
        self.prepared = true;
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let [ch_l, ch_r, ..] = block else {
            return;
        };
        let mono = self.params.mode == PanMode::Mono;
        let ramping = self.left.is_ramping() || self.right.is_ramping();
        if !ramping {
            let (gl, gr) = (self.left.current(), self.right.current());
            for (l, r) in ch_l.iter_mut().zip(ch_r.iter_mut()) {
                let src_r = if mono { *l } else { *r };
                *l *= gl;
                *r = src_r * gr;
            }
        } else {
            for (l, r) in ch_l.iter_mut().zip(ch_r.iter_mut()) {
                let (gl, gr) = (self.left.next_value(), self.right.next_value());
                let src_r = if mono { *l } else { *r };
                *l *= gl;
                *r = src_r * gr;
            }
        }
    }

    fn reset(&mut self) {
        let (l, r) = self.params.gains();
        self.left.set_immediate(l);
        self.right.set_immediate(r);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_block_independent, noise, run};
    use sheen_dsp::db_to_gain;
    use std::f64::consts::FRAC_1_SQRT_2;

    const LAWS: [PanLaw; 4] = [
        PanLaw::ZeroDb,
        PanLaw::ConstantPower,
        PanLaw::Compromise,
        PanLaw::Linear,
    ];

    /// Reference: the law definitions (centre gains 1, 1/√2, 10^(−4.5/20),
    /// 1/2). Tolerance: exact, except the −4.5 dB law (a `powf`): 2 ulp.
    #[test]
    fn centre_gains() {
        assert_eq!(pan_gains(0.0, PanLaw::ZeroDb), (1.0, 1.0));
        assert_eq!(
            pan_gains(0.0, PanLaw::ConstantPower),
            (FRAC_1_SQRT_2, FRAC_1_SQRT_2)
        );
        let (l, r) = pan_gains(0.0, PanLaw::Compromise);
        assert_eq!(l, r);
        assert!((l - db_to_gain(-4.5)).abs() <= 2.0 * f64::EPSILON, "{l}");
        assert_eq!(pan_gains(0.0, PanLaw::Linear), (0.5, 0.5));
        assert!((PanLaw::Compromise.centre_db() + 4.5).abs() < 1e-12);
        assert_eq!(balance_gains(0.0), (1.0, 1.0));
    }

    /// Reference: hard left / right give exactly (1, 0) / (0, 1) for every
    /// law; the gains mirror exactly. Tolerance: exact.
    #[test]
    fn extremes_and_symmetry() {
        for law in LAWS {
            assert_eq!(pan_gains(-1.0, law), (1.0, 0.0), "{law:?}");
            assert_eq!(pan_gains(1.0, law), (0.0, 1.0), "{law:?}");
            assert_eq!(pan_gains(-7.0, law), (1.0, 0.0), "clamped");
            for i in 0..=100 {
                let p = i as f64 / 100.0;
                let (l, r) = pan_gains(p, law);
                let (l2, r2) = pan_gains(-p, law);
                assert_eq!((l, r), (r2, l2));
                assert!(r >= l && (0.0..=1.0).contains(&l) && r <= 1.0);
            }
        }
        assert_eq!(balance_gains(0.5), (0.5, 1.0));
        assert_eq!(balance_gains(-1.0), (1.0, 0.0));
    }

    /// Reference: constant-power law, L² + R² = 1; tolerance 4 ulp across
    /// 2001 positions. Linear law: L + R = 1 exactly.
    #[test]
    fn constant_power_and_constant_sum() {
        for i in -1000..=1000 {
            let p = i as f64 / 1000.0;
            let (l, r) = pan_gains(p, PanLaw::ConstantPower);
            assert!((l * l + r * r - 1.0).abs() <= 4.0 * f64::EPSILON, "p={p}");
            let (l, r) = pan_gains(p, PanLaw::Linear);
            assert_eq!(l + r, 1.0);
        }
    }

    /// Reference: a centred mono source at the 0 dB law is an exact copy on
    /// both sides (nulls with its input); balance at centre is a
    /// pass-through. Tolerance: bit-exact.
    #[test]
    fn zero_db_centre_nulls() {
        let x = noise(1000, 3);
        let y = noise(1000, 4);
        let mut p = Pan::new(PanParams {
            law: PanLaw::ZeroDb,
            ..PanParams::default()
        });
        let out = run(&mut p, 48_000.0, vec![x.clone(), y.clone()], 100);
        assert_eq!(out[0], x);
        assert_eq!(out[1], x);
        let mut b = Pan::new(PanParams {
            mode: PanMode::Balance,
            ..PanParams::default()
        });
        let out = run(&mut b, 48_000.0, vec![x.clone(), y.clone()], 100);
        assert_eq!(out, vec![x, y]);
    }

    /// Reference: `Smoothed` linear ramp; after `smoothing_ms` the gains are
    /// exactly the new law gains, and the ramp is block-size independent.
    #[test]
    fn automation_ramps_to_target() {
        let fs = 48_000.0;
        let ramp = 480; // 10 ms
        let run_from_prepared = |block: usize| {
            let mut p = Pan::new(PanParams::default());
            p.prepare(fs, 2, 4096);
            p.set_params(PanParams {
                pan: 1.0,
                ..PanParams::default()
            });
            let mut bufs = vec![vec![1.0; 2000], vec![0.0; 2000]];
            sheen_dsp::processor::process_in_blocks(&mut p, &mut bufs, block);
            bufs
        };
        let oa = run_from_prepared(7);
        let ob = run_from_prepared(1000);
        assert_eq!(oa, ob);
        assert!(oa[0][0] < FRAC_1_SQRT_2 && oa[0][0] > 0.7);
        assert_eq!(oa[0][ramp - 1], 0.0);
        assert_eq!(oa[1][ramp - 1], 1.0);
        assert_eq!(oa[0][1999], 0.0);
    }

    /// Reference: Processor contract; bit-exact for any block partition.
    #[test]
    fn block_size_independent() {
        for mode in [PanMode::Mono, PanMode::Balance] {
            assert_block_independent(
                || {
                    Pan::new(PanParams {
                        pan: -0.3,
                        law: PanLaw::Compromise,
                        mode,
                        smoothing_ms: 5.0,
                    })
                },
                48_000.0,
                2,
            );
        }
    }

    #[test]
    fn params_serde() {
        let p: PanParams =
            serde_json::from_str(r#"{"pan": -0.5, "law": "-4.5db", "mode": "mono"}"#).unwrap();
        assert_eq!(p.law, PanLaw::Compromise);
        assert_eq!(
            serde_json::to_string(&PanLaw::ZeroDb).unwrap(),
            r#""0db""#.to_string()
        );
        assert!(serde_json::from_str::<PanParams>(r#"{"position": 0}"#).is_err());
    }
}
