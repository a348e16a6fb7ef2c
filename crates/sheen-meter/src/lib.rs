//! sheen-meter: the meters every other part of sheen measures with.
//!
//! Standards followed:
//! - ITU-R BS.1770-4 (2015): K-weighting, channel weighting, gated integrated
//!   loudness, true peak (Annex 2);
//! - EBU R 128 with EBU Tech 3341 (2016, "EBU Mode": momentary, short-term,
//!   integrated loudness, true-peak tolerances) and EBU Tech 3342 (2016,
//!   loudness range);
//! - IEC 61260-1 (1/3-octave band definitions).
//!
//! One file per concept (as in the `ebur128` crate):
//! - [`k_weighting`]: the K-weighting filter designed for any sample rate;
//! - [`loudness`]: [`LoudnessMeter`] (momentary, short-term, integrated,
//!   loudness range), usable alone;
//! - [`true_peak`]: [`TruePeakMeter`] (dBTP);
//! - [`stats`]: sample peak, RMS, crest factor, DC offset, correlation,
//!   side/mid ratio, clipped samples;
//! - [`stereo`]: [`StereoSeries`], correlation and side/mid over time;
//! - [`spectrum`]: 1/3-octave long-term average spectrum of any mono signal;
//! - [`analyzer`]: [`Analyzer`], all of the above in one streaming pass.
//!
//! Conventions: samples are `f64` with digital full scale at ±1.0; blocks are
//! planar (`&[&[f64]]`, one slice per channel). Every result is bitwise
//! identical for any partition of the input into blocks, and nothing in the
//! per-sample path allocates. Undefined levels (silence, empty input) are
//! `None`, never −∞ or NaN.
//!
//! Speed (release build, 10 minutes of stereo 48 kHz, every option on, 2-core
//! machine; `tests/speed.rs`): about 0.5–1.0 s for the [`Analyzer`]
//! depending on how dense the peaks are (true peak cannot skip much of a
//! limited master); the loudness meter alone takes about 0.17 s.

pub mod analyzer;
pub mod k_weighting;
pub mod loudness;
pub mod spectrum;
pub mod stats;
pub mod stereo;
pub mod true_peak;

pub use analyzer::{Analysis, Analyzer, AnalyzerOptions};
pub use k_weighting::{KFilter, KWeighting};
pub use loudness::{default_channel_weights, LoudnessMeter};
pub use spectrum::{BandLevel, SpectrumAnalyzer};
pub use stats::{LevelStats, LevelStatsResult};
pub use stereo::{StereoPoint, StereoSeries};
pub use true_peak::TruePeakMeter;
