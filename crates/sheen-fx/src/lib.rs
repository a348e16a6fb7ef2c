//! sheen-fx: the mixing effects that are time-based or spatial, as
//! [`sheen_dsp::Processor`]s on planar `f64` blocks.
//!
//! - [`pan`]: pan laws (0 / −3 / −4.5 / −6 dB centre) for mono sources and
//!   balance for stereo sources;
//! - [`delay_line`]: the one multichannel delay line (exact integer delays for
//!   latency compensation, Lagrange-interpolated fractional delays);
//! - [`delay`]: stereo / ping-pong echo with tempo sync and filtered feedback;
//! - [`chorus`]: multi-voice modulated-delay chorus;
//! - [`reverb`]: a 16-line feedback delay network reverb (Jot) whose decay
//!   matches the RT60 setting at any sample rate.
//!
//! Every processor here is deterministic, allocation-free in `process`, keeps
//! `f64` state and gives bit-identical output for any block partition.
//! Parameters are plain serde structs with units in the field names; they are
//! applied with each processor's `set_params` (between blocks), which never
//! allocates except where documented (growing a delay buffer beyond what
//! `prepare` reserved).

pub mod chorus;
pub mod delay;
pub mod delay_line;
pub mod pan;
pub mod reverb;

#[cfg(test)]
pub(crate) mod test_util;

pub use chorus::{Chorus, ChorusParams};
pub use delay::{Delay, DelayParams, NoteModifier, NoteValue, TempoSync};
pub use delay_line::{DelayBuffer, DelayLine, DelayLineParams, Interpolation};
pub use pan::{balance_gains, pan_gains, Pan, PanLaw, PanMode, PanParams};
pub use reverb::{Reverb, ReverbParams};

/// Converts a time in ms to a (fractional) number of samples.
#[inline]
pub fn ms_to_samples(time_ms: f64, sample_rate_hz: f64) -> f64 {
    time_ms * 1e-3 * sample_rate_hz
}
