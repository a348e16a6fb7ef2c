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
//! - [`oversample`]: the one polyphase windowed-sinc interpolator (true peak,
//!   limiter, saturation);
//! - [`units`]: dB / linear conversions.
//!
//! Mastering processors: [`limiter`] (look-ahead true-peak limiter),
//! [`dither`] (TPDF dither, noise shaping), [`width`] (mid/side width, mono
//! low end), [`fir_eq`] (linear-phase FIR EQ).

pub mod biquad;
pub mod dither;
pub mod fir_eq;
pub mod limiter;
pub mod oversample;
pub mod processor;
pub mod smooth;
pub mod units;
pub mod width;

pub use processor::{PlanarMut, Processor, MAX_CHANNELS};
pub use units::{db_to_gain, gain_to_db};
