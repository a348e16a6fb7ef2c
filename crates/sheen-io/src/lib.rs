//! sheen-io: sheen's audio files.
//!
//! * [`AudioReader`] — streaming decode (symphonia, format recognised by
//!   content) of WAV (16/24/32-bit int, 32/64-bit float, EXTENSIBLE), FLAC,
//!   MP3, Ogg Vorbis, AAC/M4A, ALAC and AIFF to planar `f64`, 1 to 8
//!   channels at 8 to 384 kHz, in bounded memory.
//! * [`AudioWriter`] — streaming, atomic WAV (hound: 16/24-bit int, 32-bit
//!   float) and FLAC (flacenc: 16/24-bit) writing that never overwrites an
//!   input and counts clipped samples.
//! * [`Resampler`] — streaming rubato resampling, time-aligned with the input
//!   and exactly `round(n · out/in)` frames long.
//! * [`Error`] — one error type; every message names the file and the
//!   problem on one line.
//!
//! Samples are `f64`, planar (one `Vec`/slice per channel), full scale 1.0
//! (integer formats: `sample / 2^(bits−1)`). Lengths are in frames (samples
//! per channel), rates in Hz. Dither is not applied here: callers dither
//! (sheen-dsp) before writing integer formats.

mod error;
mod flac;
mod read;
mod resample;
mod wav_direct;
mod write;

#[cfg(test)]
mod test_util;

pub use error::Error;
pub use read::{read_all, AudioInfo, AudioReader, MAX_CHANNELS, MAX_RATE_HZ, MIN_RATE_HZ};
pub use resample::{output_frames, resample_all, Resampler};
pub use write::{
    encode_in_memory, stored_extend, stored_value, write_all, write_text, AudioWriter, Container,
    SampleFormat, WriteSpec,
};
