//! Insert effects of a session: the `type`-tagged tables of `inserts`,
//! checked against their kind (keys, types, ranges, with positions) and
//! built into [`Processor`]s from sheen-dsp (RBJ biquads) and sheen-fx
//! (chorus, delay, reverb).
//!
//! Kinds: `highpass`, `lowpass` (`freq_hz`, `q`), `eq` (`bands`: RBJ
//! sections), `compressor`, `gate`, `deesser`, `saturation` (the sheen-dsp
//! parameter structs), `chorus`, `delay`, `reverb` (the sheen-fx parameter
//! structs), `limiter` (true-peak look-ahead), `width` (mid/side) and
//! `linear_phase_eq` (FIR) from the mastering processors; keys as in those
//! structs. `compressor` and `gate` also take
//! `sidechain = "<track>"`: the detector then listens to that track's
//! pre-fader signal (after its inserts and pan). Every insert may carry a
//! free-text `reason`.

use super::error::{suggest, Source};
use super::session::{RawInsert, S};
use super::SessionError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sheen_dsp::biquad::{Biquad, BiquadCascade, BiquadCoeffs, FilterKind};
use sheen_dsp::compressor::{Compressor, CompressorParams};
use sheen_dsp::deesser::{DeEsser, DeEsserParams};
use sheen_dsp::fir_eq::{EqPoint, LinearPhaseEq};
use sheen_dsp::gate::{Gate, GateParams};
use sheen_dsp::limiter::{LimiterParams, TruePeakLimiter};
use sheen_dsp::saturation::{SaturationParams, Saturator};
use sheen_dsp::width::{StereoWidth, WidthParams};
use sheen_dsp::Processor;
use sheen_fx::{Chorus, ChorusParams, Delay, DelayParams, Reverb, ReverbParams};
use std::f64::consts::FRAC_1_SQRT_2;

/// The insert kinds available in this build.
pub const KINDS: [&str; 13] = [
    "highpass",
    "lowpass",
    "eq",
    "linear_phase_eq",
    "limiter",
    "width",
    "compressor",
    "gate",
    "deesser",
    "saturation",
    "chorus",
    "delay",
    "reverb",
];

/// A processor that can listen to an external side chain.
pub trait Keyed: Processor {
    /// Processes `block` with the detector reading `key`.
    fn process_keyed(&mut self, block: &mut [&mut [f64]], key: &[&[f64]]);
}

impl Keyed for Compressor {
    fn process_keyed(&mut self, block: &mut [&mut [f64]], key: &[&[f64]]) {
        Compressor::process_keyed(self, block, key);
    }
}

impl Keyed for Gate {
    fn process_keyed(&mut self, block: &mut [&mut [f64]], key: &[&[f64]]) {
        Gate::process_keyed(self, block, key);
    }
}

/// A built insert: plain, or keyed by a side chain; EQs and (unkeyed)
/// compressors by their type, so the render can run several tracks' of
/// them together ([`BiquadCascade::process_stereo_group`],
/// [`Compressor::process_stereo_group`]).
pub enum Built {
    Plain(Box<dyn Processor>),
    Keyed(Box<dyn Keyed>),
    Eq(Box<BiquadCascade>),
    Compressor(Box<Compressor>),
}

/// A checked insert and the side-chain track it names, if any.
#[derive(Clone, Debug)]
pub struct ParsedInsert {
    pub spec: InsertSpec,
    pub sidechain: Option<S<String>>,
}

/// A validated insert.
#[derive(Clone, Debug, PartialEq)]
pub enum InsertSpec {
    /// RBJ high-pass, `freq_hz`, `q`.
    HighPass {
        freq_hz: f64,
        q: f64,
    },
    /// RBJ low-pass, `freq_hz`, `q`.
    LowPass {
        freq_hz: f64,
        q: f64,
    },
    /// A cascade of RBJ sections.
    Eq {
        bands: Vec<EqBand>,
    },
    /// Linear-phase FIR EQ through `points` with `taps` taps.
    LinearPhaseEq {
        points: Vec<EqPoint>,
        taps: usize,
    },
    Limiter(LimiterParams),
    Width(WidthParams),
    Compressor(CompressorParams),
    Gate(GateParams),
    DeEsser(DeEsserParams),
    Saturation(SaturationParams),
    Chorus(ChorusParams),
    Delay(DelayParams),
    Reverb(ReverbParams),
    /// Test only: a pure delay that reports its length as latency.
    #[cfg(test)]
    TestLatency {
        samples: usize,
    },
}

/// Filter section kind of an EQ band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BandKind {
    #[serde(alias = "bell")]
    Peak,
    LowShelf,
    HighShelf,
    #[serde(alias = "low_pass")]
    Lowpass,
    #[serde(alias = "high_pass")]
    Highpass,
    Notch,
    Bandpass,
    Allpass,
}

/// One EQ band (an RBJ cookbook section).
#[derive(Clone, Copy, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EqBand {
    pub kind: BandKind,
    pub freq_hz: f64,
    #[serde(default = "default_q")]
    pub q: f64,
    #[serde(default)]
    pub gain_db: f64,
}

fn default_q() -> f64 {
    FRAC_1_SQRT_2
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FilterParams {
    freq_hz: f64,
    q: f64,
}

impl Default for FilterParams {
    fn default() -> Self {
        Self {
            freq_hz: 0.0,
            q: FRAC_1_SQRT_2,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct EqParams {
    bands: Vec<EqBand>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct FirParams {
    points: Vec<EqPoint>,
    taps: usize,
}

impl Default for FirParams {
    fn default() -> Self {
        Self {
            points: Vec::new(),
            taps: 4095,
        }
    }
}

/// `LimiterParams` with every key optional (defaults of sheen-dsp).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimiterKeys {
    ceiling_dbtp: f64,
    lookahead_ms: f64,
    release_ms: f64,
    oversampling: usize,
    safety_db: f64,
}

impl Default for LimiterKeys {
    fn default() -> Self {
        let d = LimiterParams::default();
        Self {
            ceiling_dbtp: d.ceiling_dbtp,
            lookahead_ms: d.lookahead_ms,
            release_ms: d.release_ms,
            oversampling: d.oversampling,
            safety_db: d.safety_db,
        }
    }
}

/// `WidthParams` with every key optional (width 1 = unchanged).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct WidthKeys {
    width: f64,
    mono_below_hz: Option<f64>,
}

impl Default for WidthKeys {
    fn default() -> Self {
        Self {
            width: 1.0,
            mono_below_hz: None,
        }
    }
}

/// A kind's keys and their ranges (inclusive), for checks with positions.
type Ranges = &'static [(&'static str, f64, f64, &'static str)];

/// Ranges by kind; `NYQ` stands for 0.49 · fs.
const NYQ: f64 = -1.0;
const FILTER_RANGES: Ranges = &[("freq_hz", 1.0, NYQ, "Hz"), ("q", 0.1, 20.0, "")];
const FIR_RANGES: Ranges = &[("taps", 15.0, 65_535.0, "")];
const LIMITER_RANGES: Ranges = &[
    ("ceiling_dbtp", -30.0, 0.0, "dBTP"),
    ("lookahead_ms", 0.1, 50.0, "ms"),
    ("release_ms", 1.0, 5000.0, "ms"),
    ("oversampling", 4.0, 16.0, "×"),
    ("safety_db", 0.0, 3.0, "dB"),
];
const WIDTH_RANGES: Ranges = &[
    ("width", 0.0, 3.0, ""),
    ("mono_below_hz", 10.0, 1000.0, "Hz"),
];
const COMPRESSOR_RANGES: Ranges = &[
    ("threshold_db", -100.0, 0.0, "dBFS"),
    ("ratio", 1.0, 100.0, ""),
    ("knee_db", 0.0, 24.0, "dB"),
    ("attack_ms", 0.0, 1000.0, "ms"),
    ("release_ms", 0.0, 10_000.0, "ms"),
    ("makeup_db", -24.0, 24.0, "dB"),
    ("rms_window_ms", 0.0, 1000.0, "ms"),
    ("stereo_link", 0.0, 1.0, ""),
    ("lookahead_ms", 0.0, 100.0, "ms"),
    ("sidechain_hpf_hz", 0.0, NYQ, "Hz"),
];
const GATE_RANGES: Ranges = &[
    ("threshold_db", -120.0, 0.0, "dBFS"),
    ("range_db", 0.0, 200.0, "dB"),
    ("ratio", 1.0, 1000.0, ""),
    ("attack_ms", 0.0, 1000.0, "ms"),
    ("hold_ms", 0.0, 10_000.0, "ms"),
    ("release_ms", 0.0, 10_000.0, "ms"),
    ("hysteresis_db", 0.0, 24.0, "dB"),
    ("rms_window_ms", 0.0, 1000.0, "ms"),
    ("stereo_link", 0.0, 1.0, ""),
    ("lookahead_ms", 0.0, 100.0, "ms"),
    ("sidechain_hpf_hz", 0.0, NYQ, "Hz"),
    ("sidechain_lpf_hz", 0.0, NYQ, "Hz"),
];
const DEESSER_RANGES: Ranges = &[
    ("freq_hz", 1000.0, NYQ, "Hz"),
    ("threshold_db", -100.0, 0.0, "dBFS"),
    ("ratio", 1.0, 100.0, ""),
    ("max_reduction_db", 0.0, 48.0, "dB"),
    ("attack_ms", 0.0, 1000.0, "ms"),
    ("release_ms", 0.0, 10_000.0, "ms"),
    ("rms_window_ms", 0.0, 1000.0, "ms"),
    ("stereo_link", 0.0, 1.0, ""),
];
const SATURATION_RANGES: Ranges = &[
    ("drive_db", -24.0, 48.0, "dB"),
    ("mix", 0.0, 1.0, ""),
    ("output_db", -48.0, 24.0, "dB"),
    ("oversample", 1.0, 8.0, "×"),
];
const CHORUS_RANGES: Ranges = &[
    ("rate_hz", 0.0, 20.0, "Hz"),
    ("depth_ms", 0.0, 50.0, "ms"),
    ("base_delay_ms", 0.0, 100.0, "ms"),
    ("voices", 1.0, 8.0, ""),
    ("stereo_phase_deg", -360.0, 360.0, "°"),
    ("mix", 0.0, 1.0, ""),
];
const DELAY_RANGES: Ranges = &[
    ("time_ms", 0.0, 10_000.0, "ms"),
    ("time_r_ms", 0.0, 10_000.0, "ms"),
    ("feedback", -0.99, 0.99, ""),
    ("low_cut_hz", 1.0, NYQ, "Hz"),
    ("high_cut_hz", 1.0, NYQ, "Hz"),
    ("mix", 0.0, 1.0, ""),
];
const REVERB_RANGES: Ranges = &[
    ("rt60_s", 0.05, 60.0, "s"),
    ("hf_rt60_ratio", 0.01, 2.0, ""),
    ("damping_hz", 20.0, NYQ, "Hz"),
    ("size", 0.0, 1.0, ""),
    ("pre_delay_ms", 0.0, 1000.0, "ms"),
    ("width", 0.0, 1.0, ""),
    ("mix", 0.0, 1.0, ""),
];

type Entries<'a> = Vec<(&'a S<String>, &'a S<toml::Value>)>;

/// Checks an insert table against its kind at render rate `fs`.
pub fn parse_insert(
    src: &Source,
    raw: &S<RawInsert>,
    fs: f64,
) -> Result<ParsedInsert, SessionError> {
    let ty = raw.get_ref().iter().find(|(k, _)| k.get_ref() == "type");
    let Some((_, ty)) = ty else {
        return Err(src.error(
            raw.span(),
            "insert without 'type'",
            Some(format!("add type = \"...\", one of: {}", KINDS.join(", "))),
        ));
    };
    let Some(kind) = ty.get_ref().as_str() else {
        return Err(src.error(
            ty.span(),
            "insert 'type' must be a string",
            Some(format!("one of: {}", KINDS.join(", "))),
        ));
    };
    let entries: Entries = raw
        .get_ref()
        .iter()
        // `reason` is free text for the reader (automix writes one per insert)
        .filter(|(k, _)| !matches!(k.get_ref().as_str(), "type" | "reason" | "sidechain"))
        .collect();
    let sidechain = match raw
        .get_ref()
        .iter()
        .find(|(k, _)| k.get_ref() == "sidechain")
    {
        None => None,
        Some((k, _)) if !matches!(kind, "compressor" | "gate") => {
            return Err(src.error(
                k.span(),
                format!("unknown key 'sidechain' for a {kind} insert"),
                Some("only compressor and gate inserts take a sidechain".into()),
            ))
        }
        Some((_, v)) => match v.get_ref().as_str() {
            Some(name) => Some(S::new(v.span(), name.to_string())),
            None => {
                return Err(src.error(v.span(), "sidechain must be a track name (a string)", None))
            }
        },
    };
    let spec = match kind {
        "highpass" | "lowpass" => {
            check_ranges(src, &entries, FILTER_RANGES, fs)?;
            let p: FilterParams = params(src, &entries)?;
            if !entries.iter().any(|(k, _)| k.get_ref() == "freq_hz") {
                return Err(src.error(
                    raw.span(),
                    format!("{kind} insert without 'freq_hz'"),
                    Some("add freq_hz = <corner frequency in Hz>".into()),
                ));
            }
            if kind == "highpass" {
                InsertSpec::HighPass {
                    freq_hz: p.freq_hz,
                    q: p.q,
                }
            } else {
                InsertSpec::LowPass {
                    freq_hz: p.freq_hz,
                    q: p.q,
                }
            }
        }
        "eq" => {
            let p: EqParams = params(src, &entries)?;
            let span = entries
                .iter()
                .find(|(k, _)| k.get_ref() == "bands")
                .map_or(raw.span(), |(_, v)| v.span());
            for (i, b) in p.bands.iter().enumerate() {
                let bad = |what: String| {
                    Err(src.error(span.clone(), format!("eq band {i}: {what}"), None))
                };
                if !(1.0..=0.49 * fs).contains(&b.freq_hz) {
                    return bad(format!(
                        "freq_hz = {} is out of range (1 … {:.0} Hz)",
                        b.freq_hz,
                        0.49 * fs
                    ));
                }
                if !(0.05..=40.0).contains(&b.q) {
                    return bad(format!("q = {} is out of range (0.05 … 40)", b.q));
                }
                if !(-48.0..=48.0).contains(&b.gain_db) {
                    return bad(format!(
                        "gain_db = {} is out of range (-48 … 48 dB)",
                        b.gain_db
                    ));
                }
            }
            InsertSpec::Eq { bands: p.bands }
        }
        "linear_phase_eq" => {
            check_ranges(src, &entries, FIR_RANGES, fs)?;
            let p: FirParams = params(src, &entries)?;
            let span = entries
                .iter()
                .find(|(k, _)| k.get_ref() == "points")
                .map_or(raw.span(), |(_, v)| v.span());
            if p.points.is_empty() {
                return Err(src.error(
                    span,
                    "linear_phase_eq needs points",
                    Some("add points = [{ freq_hz = 100.0, gain_db = 1.5 }, ...]".into()),
                ));
            }
            for (i, q) in p.points.iter().enumerate() {
                if !(1.0..=0.49 * fs).contains(&q.freq_hz) || !(-24.0..=24.0).contains(&q.gain_db) {
                    return Err(src.error(
                        span,
                        format!(
                            "point {i}: freq_hz = {}, gain_db = {} is out of range",
                            q.freq_hz, q.gain_db
                        ),
                        Some(format!("expected 1 … {:.0} Hz and -24 … 24 dB", 0.49 * fs)),
                    ));
                }
            }
            InsertSpec::LinearPhaseEq {
                points: p.points,
                taps: p.taps,
            }
        }
        "limiter" => {
            check_ranges(src, &entries, LIMITER_RANGES, fs)?;
            let k: LimiterKeys = params(src, &entries)?;
            InsertSpec::Limiter(LimiterParams {
                ceiling_dbtp: k.ceiling_dbtp,
                lookahead_ms: k.lookahead_ms,
                release_ms: k.release_ms,
                oversampling: k.oversampling,
                safety_db: k.safety_db,
            })
        }
        "width" => {
            check_ranges(src, &entries, WIDTH_RANGES, fs)?;
            let k: WidthKeys = params(src, &entries)?;
            InsertSpec::Width(WidthParams {
                width: k.width,
                mono_below_hz: k.mono_below_hz,
            })
        }
        "compressor" => {
            check_ranges(src, &entries, COMPRESSOR_RANGES, fs)?;
            InsertSpec::Compressor(params(src, &entries)?)
        }
        "gate" => {
            check_ranges(src, &entries, GATE_RANGES, fs)?;
            InsertSpec::Gate(params(src, &entries)?)
        }
        "deesser" => {
            check_ranges(src, &entries, DEESSER_RANGES, fs)?;
            InsertSpec::DeEsser(params(src, &entries)?)
        }
        "saturation" => {
            check_ranges(src, &entries, SATURATION_RANGES, fs)?;
            InsertSpec::Saturation(params(src, &entries)?)
        }
        "chorus" => {
            check_ranges(src, &entries, CHORUS_RANGES, fs)?;
            InsertSpec::Chorus(params(src, &entries)?)
        }
        "delay" => {
            check_ranges(src, &entries, DELAY_RANGES, fs)?;
            InsertSpec::Delay(params(src, &entries)?)
        }
        "reverb" => {
            check_ranges(src, &entries, REVERB_RANGES, fs)?;
            InsertSpec::Reverb(params(src, &entries)?)
        }
        #[cfg(test)]
        "test_latency" => {
            #[derive(Deserialize, Default)]
            #[serde(deny_unknown_fields, default)]
            struct L {
                samples: usize,
            }
            let l: L = params(src, &entries)?;
            InsertSpec::TestLatency { samples: l.samples }
        }
        k => {
            let hint = suggest(k, &KINDS)
                .map(|s| format!("did you mean '{s}'?"))
                .unwrap_or_else(|| format!("one of: {}", KINDS.join(", ")));
            return Err(src.error(ty.span(), format!("unknown insert type '{k}'"), Some(hint)));
        }
    };
    Ok(ParsedInsert { spec, sidechain })
}

/// Deserialises a kind's parameter struct (all keys optional, unknown keys
/// denied) from the entries; on failure finds the entry at fault so the
/// error points at it.
fn params<T: DeserializeOwned>(src: &Source, entries: &Entries) -> Result<T, SessionError> {
    let table = |es: &[&(&S<String>, &S<toml::Value>)]| -> toml::Value {
        toml::Value::Table(
            es.iter()
                .map(|(k, v)| (k.get_ref().clone(), v.get_ref().clone()))
                .collect(),
        )
    };
    let all: Vec<_> = entries.iter().collect();
    let e = match T::deserialize(table(&all)) {
        Ok(t) => return Ok(t),
        Err(e) => e,
    };
    let converted = src.from_toml(&e);
    for entry in entries {
        if T::deserialize(table(&[entry])).is_err() {
            let span = if e.message().starts_with("unknown field") {
                entry.0.span()
            } else {
                entry.1.span()
            };
            let mut err = src.error(span, converted.message.clone(), converted.hint.clone());
            if !e.message().starts_with("unknown field") {
                err.message = format!("'{}': {}", entry.0.get_ref(), err.message);
            }
            return Err(err);
        }
    }
    let span = entries.first().map_or(0..0, |(k, _)| k.span());
    Err(src.error(span, converted.message, converted.hint))
}

/// Checks numeric keys against `ranges` (`NYQ` = 0.49 · fs).
fn check_ranges(
    src: &Source,
    entries: &Entries,
    ranges: Ranges,
    fs: f64,
) -> Result<(), SessionError> {
    for (k, v) in entries {
        let Some(&(_, lo, hi, unit)) = ranges.iter().find(|r| r.0 == k.get_ref()) else {
            continue;
        };
        let hi = if hi == NYQ { 0.49 * fs } else { hi };
        let x = match v.get_ref() {
            toml::Value::Float(f) => *f,
            toml::Value::Integer(i) => *i as f64,
            _ => continue, // the type error comes from deserialisation
        };
        if !(lo..=hi).contains(&x) {
            return Err(src.error(
                v.span(),
                format!("{} = {x} is out of range", k.get_ref()),
                Some(
                    format!("expected {lo} … {hi} {unit}")
                        .trim_end()
                        .to_string(),
                ),
            ));
        }
    }
    Ok(())
}

/// The RBJ sections of an `eq` insert's bands at `fs`, in series.
fn eq_cascade(bands: &[EqBand], fs: f64) -> BiquadCascade {
    BiquadCascade::new(
        bands
            .iter()
            .map(|b| {
                let k = match b.kind {
                    BandKind::Peak => FilterKind::Peak,
                    BandKind::LowShelf => FilterKind::LowShelf,
                    BandKind::HighShelf => FilterKind::HighShelf,
                    BandKind::Lowpass => FilterKind::LowPass,
                    BandKind::Highpass => FilterKind::HighPass,
                    BandKind::Notch => FilterKind::Notch,
                    BandKind::Bandpass => FilterKind::BandPass,
                    BandKind::Allpass => FilterKind::AllPass,
                };
                BiquadCoeffs::rbj(k, b.freq_hz, b.q, b.gain_db, fs)
            })
            .collect(),
    )
}

impl InsertSpec {
    /// The processor for this insert at `fs` (not yet prepared); keyed
    /// (side-chain capable) for compressor and gate when `keyed`.
    pub fn build_slot(&self, fs: f64, keyed: bool) -> Built {
        match (self, keyed) {
            (InsertSpec::Compressor(p), true) => Built::Keyed(Box::new(Compressor::new(*p))),
            (InsertSpec::Gate(p), true) => Built::Keyed(Box::new(Gate::new(*p))),
            (InsertSpec::Compressor(p), false) => Built::Compressor(Box::new(Compressor::new(*p))),
            (InsertSpec::Eq { bands }, _) => Built::Eq(Box::new(eq_cascade(bands, fs))),
            _ => Built::Plain(self.build(fs)),
        }
    }

    /// The processor for this insert at `fs` (not yet prepared).
    pub fn build(&self, fs: f64) -> Box<dyn Processor> {
        let rbj = |k, f, q, g| Biquad::new(BiquadCoeffs::rbj(k, f, q, g, fs));
        match self {
            InsertSpec::HighPass { freq_hz, q } => {
                Box::new(rbj(FilterKind::HighPass, *freq_hz, *q, 0.0))
            }
            InsertSpec::LowPass { freq_hz, q } => {
                Box::new(rbj(FilterKind::LowPass, *freq_hz, *q, 0.0))
            }
            InsertSpec::Eq { bands } => Box::new(eq_cascade(bands, fs)),
            InsertSpec::LinearPhaseEq { points, taps } => {
                Box::new(LinearPhaseEq::new(points, *taps, fs, 2))
            }
            InsertSpec::Limiter(p) => Box::new(TruePeakLimiter::new(*p, fs, 2)),
            InsertSpec::Width(p) => Box::new(StereoWidth::new(*p, fs)),
            InsertSpec::Compressor(p) => Box::new(Compressor::new(*p)),
            InsertSpec::Gate(p) => Box::new(Gate::new(*p)),
            InsertSpec::DeEsser(p) => Box::new(DeEsser::new(*p)),
            InsertSpec::Saturation(p) => Box::new(Saturator::new(*p)),
            InsertSpec::Chorus(p) => Box::new(Chorus::new(*p)),
            InsertSpec::Delay(p) => Box::new(Delay::new(*p)),
            InsertSpec::Reverb(p) => Box::new(Reverb::new(*p)),
            #[cfg(test)]
            InsertSpec::TestLatency { samples } => Box::new(sheen_fx::DelayLine::integer(*samples)),
        }
    }

    /// How long the insert keeps sounding after its input stops, seconds
    /// (to −60 dB; for the default render tail).
    pub fn tail_s(&self) -> f64 {
        match self {
            InsertSpec::Reverb(p) => p.rt60_s + p.pre_delay_ms * 1e-3,
            InsertSpec::Delay(p) => {
                let (l, r) = p.times_s();
                let t = l.max(r);
                let fb = p.feedback.abs().min(0.99);
                if fb < 1e-6 {
                    t
                } else {
                    t * (1.0 + (1e-3f64).ln() / fb.ln())
                }
            }
            InsertSpec::Chorus(p) => (p.base_delay_ms + p.depth_ms) * 1e-3,
            InsertSpec::Compressor(p) => (p.release_ms + p.lookahead_ms) * 1e-3,
            InsertSpec::Gate(p) => (p.hold_ms + p.release_ms + p.lookahead_ms) * 1e-3,
            InsertSpec::Limiter(p) => (p.release_ms + p.lookahead_ms) * 1e-3,
            _ => 0.0,
        }
    }
}
