//! sheen-dsp: signal processors and their building blocks on planar `f64`
//! blocks. Nothing here knows about files; everything here is deterministic
//! and gives the same result for any partition of the signal into blocks.
//!
//! Shared foundations (one place for each concept):
//! - [`processor`]: the [`Processor`] life cycle (`prepare / process / reset`,
//!   latency) and [`PlanarMut`], an allocation-free planar block view;
//! - [`biquad`]: the one second-order section with `f64` state and the RBJ
//!   "Audio EQ Cookbook" designs;
//! - [`smooth`]: the one parameter smoother;
//! - [`delay_line`]: the one delay line ([`delay_line::DelayBuffer`]: exact
//!   integer and Lagrange-interpolated fractional taps) and the fixed
//!   multichannel [`delay_line::LookaheadDelay`] built on it;
//! - [`oversample`]: the one polyphase windowed-sinc interpolator (true peak,
//!   limiter, saturation) and its matching decimator
//!   ([`oversample::Downsampler`]);
//! - [`units`]: dB / linear conversions; [`fastmath`]: fast deterministic
//!   `ln` / `exp2` for the per-sample dB paths of the dynamics processors.
//!
//! Dynamics (Giannoulis, Massberg & Reiss 2012, JAES):
//! - [`dynamics`]: shared side-chain blocks — peak/RMS level detector,
//!   soft-knee compressor and expander curves, smooth branching
//!   attack/release, key filter;
//! - [`compressor`]: feed-forward [`compressor::Compressor`] with stereo
//!   link, look-ahead, side-chain high-pass and external side chain;
//! - [`control_rate`]: [`control_rate::ControlRateCompressor`], a slow RMS
//!   compressor whose gain computer runs once per 32 frames (linear gain
//!   ramps in between);
//! - [`gate`]: [`gate::Gate`], noise gate / downward expander with range,
//!   hold, hysteresis, key filter and external side chain;
//! - [`crossover`]: Linkwitz–Riley LR4 two-band split, stand-alone LR4
//!   low/high-pass, and N-band crossover with all-pass compensation (bands
//!   sum flat);
//! - [`deesser`]: [`deesser::DeEsser`], split-band (LR4) or wideband
//!   de-esser with a listen mode;
//! - [`multiband`]: [`multiband::MultibandCompressor`], 2–6 bands on the
//!   crossover, one compressor per band.
//!
//! Saturation:
//! - [`saturation`]: [`saturation::Saturator`], oversampled (2/4/8×) tape
//!   (tanh), tube (biased tanh) and soft-clip waveshaping with dry/wet mix.
//!
//! Mastering processors: [`limiter`] (look-ahead true-peak limiter),
//! [`dither`] (TPDF dither, noise shaping), [`width`] (mid/side width, mono
//! low end), [`fir_eq`] (linear-phase FIR EQ).

pub mod biquad;
pub mod compressor;
pub mod control_rate;
pub mod crossover;
pub mod deesser;
pub mod delay_line;
pub mod dither;
pub mod dynamics;
pub mod fastmath;
pub mod fir_eq;
pub mod gate;
pub mod lanes;
pub mod limiter;
pub mod multiband;
pub mod oversample;
pub mod processor;
pub mod saturation;
pub mod simd512;
pub mod smooth;
pub mod units;
pub mod width;
pub mod worker;

#[cfg(test)]
mod test_util;

pub use processor::{PlanarMut, Processor, MAX_CHANNELS};
pub use units::{db_to_gain, gain_to_db};
