//! The mastering chain document (TOML): what render does, every automatic
//! value with a `reason` built from a measurement. Written by
//! [`super::plan`], read by [`super::render`]; users may edit and re-render
//! it (`sheen master --chain`), and a render of the same document and input
//! is bit-identical.
//!
//! Signal order: resample (if the deliverable's rate differs) → EQ bands →
//! compressor → width → gain → true-peak limiter → dither/requantise → file.

use crate::Error;
use serde::{Deserialize, Serialize};
use sheen_dsp::compressor::CompressorParams;
use sheen_dsp::dither::NoiseShaping;
use std::path::Path;

/// Version of the chain format written by this build.
pub const CHAIN_VERSION: u32 = 1;

/// Processing style: how far the plan may go.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Style {
    /// Smallest EQ moves, slow limiter release.
    Gentle,
    /// The default.
    #[default]
    Balanced,
    /// Larger EQ moves, faster release, slightly wider.
    Punchy,
}

impl Style {
    pub fn name(self) -> &'static str {
        match self {
            Style::Gentle => "gentle",
            Style::Balanced => "balanced",
            Style::Punchy => "punchy",
        }
    }
}

impl std::str::FromStr for Style {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gentle" => Ok(Style::Gentle),
            "balanced" => Ok(Style::Balanced),
            "punchy" => Ok(Style::Punchy),
            _ => Err(format!(
                "unknown style {s:?} (expected gentle, balanced or punchy)"
            )),
        }
    }
}

/// The whole document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chain {
    /// Format version ([`CHAIN_VERSION`]).
    pub version: u32,
    pub style: Style,
    /// What the plan measured on the input (informational).
    pub source: SourceFacts,
    /// Corrective EQ, in order.
    #[serde(default)]
    pub eq: Vec<EqBand>,
    /// Apply the EQ bands' combined magnitude response as one linear-phase
    /// FIR (`sheen_dsp::fir_eq`, 8191 taps at 48 kHz) instead of the
    /// minimum-phase biquads. Off unless set by the user.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub eq_linear_phase: bool,
    /// Mid/side width (stereo only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<WidthStage>,
    /// Glue compression (`sheen_dsp::compressor`), when the mix's crest
    /// factor or loudness range calls for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompressorStage>,
    /// One per target.
    #[serde(rename = "deliverable")]
    pub deliverables: Vec<Deliverable>,
}

/// Measurements of the input the plan was made from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFacts {
    pub file: String,
    pub sample_rate_hz: u32,
    pub channels: usize,
    pub duration_s: f64,
    pub integrated_lufs: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loudness_range_lu: Option<f64>,
    pub true_peak_dbtp: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crest_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation: Option<f64>,
}

/// EQ filter shapes (RBJ cookbook biquads).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EqKind {
    LowShelf,
    HighShelf,
    Peak,
    HighPass,
}

/// One EQ band.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqBand {
    pub kind: EqKind,
    pub freq_hz: f64,
    pub q: f64,
    /// Gain, dB (ignored for `high-pass`).
    #[serde(default)]
    pub gain_db: f64,
    pub reason: String,
}

/// Mid/side width stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidthStage {
    /// Side gain (1 = unchanged).
    pub width: f64,
    /// Side removed below this frequency (LR4), Hz.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mono_below_hz: Option<f64>,
    pub reason: String,
}

/// Compressor stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompressorStage {
    /// `false` keeps the stage in the document but bypasses it.
    pub enabled: bool,
    pub params: CompressorParams,
    pub reason: String,
}

/// One deliverable: a target and the stages that differ per target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deliverable {
    /// Target name (for file names and the report).
    pub target: String,
    /// Promised integrated loudness, LUFS (verify checks it within 0.1 LU).
    pub integrated_lufs: f64,
    /// Promised true-peak ceiling, dBTP.
    pub true_peak_dbtp: f64,
    pub gain: GainStage,
    pub limiter: LimiterStage,
    pub output: OutputStage,
}

/// Pre-limiter gain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GainStage {
    pub gain_db: f64,
    pub reason: String,
}

/// The true-peak limiter ([`sheen_dsp::limiter`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimiterStage {
    pub ceiling_dbtp: f64,
    pub lookahead_ms: f64,
    pub release_ms: f64,
    pub oversampling: usize,
    pub safety_db: f64,
    pub reason: String,
}

/// The file written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputStage {
    pub sample_rate_hz: u32,
    /// Channels written when they differ from the input's: 2 for a mono
    /// input to a target that asks for stereo (`cd`: the same signal in
    /// both channels, "dual mono"). Absent: the input's channel count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<usize>,
    /// 16, 24 (integer) or 32 (float WAV).
    pub bits: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dither: Option<DitherStage>,
    pub reason: String,
}

/// Dither settings of the output.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DitherStage {
    pub noise_shaping: NoiseShaping,
    pub seed: u64,
}

impl Chain {
    /// Serialises to TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("chain serialises")
    }

    /// Parses a chain document; `path` names it in errors.
    pub fn from_toml(text: &str, path: &Path) -> Result<Self, Error> {
        let c: Chain = toml::from_str(text).map_err(|e| Error::Content {
            path: path.to_path_buf(),
            problem: format!("not a valid chain: {}", e.message().replace('\n', " ")),
        })?;
        if c.version != CHAIN_VERSION {
            return Err(Error::Content {
                path: path.to_path_buf(),
                problem: format!(
                    "chain version {} (this build reads version {CHAIN_VERSION})",
                    c.version
                ),
            });
        }
        if c.deliverables.is_empty() {
            return Err(Error::Content {
                path: path.to_path_buf(),
                problem: "chain has no [[deliverable]]".into(),
            });
        }
        for d in &c.deliverables {
            if !matches!(d.output.bits, 16 | 24 | 32) {
                return Err(Error::Content {
                    path: path.to_path_buf(),
                    problem: format!(
                        "deliverable {}: bits must be 16, 24 or 32, found {}",
                        d.target, d.output.bits
                    ),
                });
            }
            if d.output.channels.is_some_and(|c| c != 2) {
                return Err(Error::Content {
                    path: path.to_path_buf(),
                    problem: format!(
                        "deliverable {}: output channels can only be set to 2 (dual mono)",
                        d.target
                    ),
                });
            }
            if !(4..=16).contains(&d.limiter.oversampling) {
                return Err(Error::Content {
                    path: path.to_path_buf(),
                    problem: format!(
                        "deliverable {}: limiter oversampling must be 4..16",
                        d.target
                    ),
                });
            }
        }
        Ok(c)
    }

    /// Reads a chain file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Content {
            path: path.to_path_buf(),
            problem: format!("cannot read chain: {e}"),
        })?;
        Self::from_toml(&text, path)
    }
}
