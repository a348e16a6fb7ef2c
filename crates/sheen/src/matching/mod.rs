//! Reference matching and album mastering (issue 6): the decisions, kept
//! apart from the mastering engine's own planner.
//!
//! - [`profile`]: what is measured of a song or reference (one streamed
//!   pass: loudness, LRA, true peak, crest, width, mid/side 1/3-octave
//!   spectra);
//! - [`curve`]: the match amounts, the reference target (weighted average of
//!   several references) and the smoothed, capped EQ curve, fitted to a
//!   linear-phase FIR;
//! - [`render`]: the match chain document (TOML, reasons) and its streamed
//!   render (M/S linear-phase FIR → compressor → gain → true-peak limiter);
//! - [`dynamics`]: the match's slow RMS compressor at control rate;
//! - [`plan`]: plans a chain, searches the gain by measuring, renders and
//!   verifies (`sheen master --reference`);
//! - [`album`]: album loudness and tone plan, gapless render (`sheen album`).
//!
//! How it plugs into the mastering engine (`crate::mastering`, on the
//! `mastering` branch): [`Profile`] holds what `mastering::analyse` measures
//! plus the per-bin mid/side powers; the match EQ is a linear-phase M/S FIR
//! stage (band gains with reasons + fitted design points) that can sit in
//! the mastering `Chain` before its width/gain/limiter stages, whose
//! limiter, gain search and verify this module mirrors.

pub mod album;
pub mod curve;
pub mod dynamics;
pub mod plan;
pub mod profile;
pub mod render;

pub use curve::{BandGain, CurveOptions, MatchAmounts, ReferenceTarget};
pub use profile::{profile_file, profile_signal, Profile, ProfileBuilder};
