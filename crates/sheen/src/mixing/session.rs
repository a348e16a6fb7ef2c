//! The mixing session document (TOML), as written by hand or by automix and
//! read by `sheen mix`. Every table denies unknown keys; values that later
//! checks need to point at are kept with their position
//! ([`toml::Spanned`]). The format is documented in `docs/SESSION.md`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use toml::Spanned;

/// A value with the byte range it came from in the session file.
pub type S<T> = Spanned<T>;

/// The whole session file.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Session {
    /// Render rate in Hz; default: the highest rate among the stems (stems
    /// at other rates are resampled).
    #[serde(default)]
    pub sample_rate_hz: Option<S<u32>>,
    /// Frames per processing block (16…65536, default 1024). Output does not
    /// depend on it except through block-rate processors (none today).
    #[serde(default)]
    pub block_size: Option<S<usize>>,
    /// Seconds rendered after the last stem ends (reverb and delay tails);
    /// default: estimated from the inserts (longest RT60 / echo decay).
    #[serde(default)]
    pub tail_s: Option<S<f64>>,
    #[serde(default)]
    pub tracks: Vec<Track>,
    #[serde(default)]
    pub buses: Vec<Bus>,
    /// Effect returns: buses fed by sends (same keys as buses).
    #[serde(default)]
    pub returns: Vec<Bus>,
    #[serde(default)]
    pub master: Master,
}

/// One stem on the timeline.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Track {
    pub name: S<String>,
    /// Audio file, relative to the session file's folder.
    pub file: S<String>,
    /// Fader gain, dB (−inf…+24).
    #[serde(default)]
    pub gain_db: Option<S<f64>>,
    /// Pan of a mono stem, −1 (left) … +1 (right).
    #[serde(default)]
    pub pan: Option<S<f64>>,
    /// Pan law: 0, -3, -4.5 or -6 (dB at the centre), or "0db", "-3db", …
    #[serde(default)]
    pub pan_law: Option<S<PanLawSetting>>,
    /// Balance of a stereo stem, −1 … +1.
    #[serde(default)]
    pub balance: Option<S<f64>>,
    #[serde(default)]
    pub mute: bool,
    #[serde(default)]
    pub solo: bool,
    /// Polarity inversion.
    #[serde(default)]
    pub invert: bool,
    /// Start of the stem on the timeline, seconds (may be negative: the
    /// start of the stem is cut).
    #[serde(default)]
    pub offset_s: Option<S<f64>>,
    /// Start of the stem on the timeline, samples at the render rate.
    #[serde(default)]
    pub offset_samples: Option<S<i64>>,
    #[serde(default)]
    pub fade_in: Option<Fade>,
    #[serde(default)]
    pub fade_out: Option<Fade>,
    /// Destination: a bus or return name, or "master" (default).
    #[serde(default)]
    pub output: Option<S<String>>,
    #[serde(default)]
    pub inserts: Vec<S<RawInsert>>,
    #[serde(default)]
    pub sends: Vec<Send>,
    #[serde(default)]
    pub automation: Vec<Automation>,
    /// Why each value was chosen (written by automix; free text, ignored by
    /// render): keys are parameter names (`gain_db`, `pan`, …) or `class`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
}

/// A bus or a return: sums its inputs, runs its inserts, fader, balance.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Bus {
    pub name: S<String>,
    #[serde(default)]
    pub gain_db: Option<S<f64>>,
    #[serde(default)]
    pub balance: Option<S<f64>>,
    #[serde(default)]
    pub mute: bool,
    #[serde(default)]
    pub output: Option<S<String>>,
    #[serde(default)]
    pub inserts: Vec<S<RawInsert>>,
    #[serde(default)]
    pub sends: Vec<Send>,
    #[serde(default)]
    pub automation: Vec<Automation>,
    /// Why each value was chosen (written by automix; free text, ignored by
    /// render): keys are parameter names (`gain_db`, `pan`, …) or `class`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
}

/// The master bus.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Master {
    #[serde(default)]
    pub gain_db: Option<S<f64>>,
    /// Loudness target to master the mix for after rendering (a name from
    /// the mastering targets table, e.g. "spotify"); `sheen mix --master`
    /// overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<S<String>>,
    #[serde(default)]
    pub inserts: Vec<S<RawInsert>>,
    #[serde(default)]
    pub automation: Vec<Automation>,
    /// Why each value was chosen (written by automix; free text, ignored by
    /// render): keys are parameter names (`gain_db`, `pan`, …) or `class`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reasons: BTreeMap<String, String>,
}

/// A send from a track or bus to a return (or bus).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Send {
    pub to: S<String>,
    /// Send level, dB (−inf…+24), default 0.
    #[serde(default)]
    pub level_db: Option<S<f64>>,
    /// Tap before the fader (after inserts and pan); default post-fader.
    #[serde(default)]
    pub pre_fader: bool,
    /// Why this send exists (free text, ignored by render).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A fade at the start or end of a stem.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fade {
    /// Length, seconds (≥ 0).
    pub length_s: S<f64>,
    #[serde(default)]
    pub curve: Curve,
}

/// An automation lane.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Automation {
    /// `gain_db`, `pan`, `balance`, or `sends.<to>.level_db` /
    /// `sends.<index>.level_db`.
    pub param: S<String>,
    /// Breakpoints, strictly increasing in time.
    pub points: Vec<S<Point>>,
}

/// One automation breakpoint; `curve` shapes the segment to the next point.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Point {
    pub time_s: S<f64>,
    pub value: S<f64>,
    #[serde(default)]
    pub curve: Curve,
}

/// Shape of a fade or automation segment, on the position `u ∈ [0, 1]`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum Curve {
    /// `s(u) = u`.
    #[default]
    #[serde(rename = "linear")]
    Linear,
    /// `s(u) = (1000^u − 1) / 999`: straight in dB over the last 60 dB.
    #[serde(rename = "exp", alias = "exponential")]
    Exp,
    /// `s(u) = 3u² − 2u³` (smoothstep).
    #[serde(rename = "s-curve", alias = "s_curve", alias = "scurve")]
    SCurve,
    /// `s(u) = 0`: hold the value until the next point.
    #[serde(rename = "hold", alias = "step")]
    Hold,
}

impl Curve {
    /// The shape `s(u)` for `u` clamped to `[0, 1]`; `s(0) = 0`, `s(1) = 1`
    /// (except [`Curve::Hold`], which is 0 until the next point).
    #[inline]
    pub fn shape(self, u: f64) -> f64 {
        let u = u.clamp(0.0, 1.0);
        match self {
            Curve::Linear => u,
            Curve::Exp => (1000f64.powf(u) - 1.0) / 999.0,
            Curve::SCurve => u * u * (3.0 - 2.0 * u),
            Curve::Hold => {
                if u >= 1.0 {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }
}

/// A pan law as written: a number (dB at the centre) or a string.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PanLawSetting {
    Db(f64),
    Name(String),
}

impl PanLawSetting {
    /// The law, or `None` if it names none of 0 / −3 / −4.5 / −6 dB.
    pub fn law(&self) -> Option<sheen_fx::PanLaw> {
        use sheen_fx::PanLaw;
        let db = match self {
            PanLawSetting::Db(d) => *d,
            PanLawSetting::Name(s) => {
                let t = s.trim().to_ascii_lowercase().replace(' ', "");
                let t = t.strip_suffix("db").unwrap_or(&t);
                match t {
                    "balance" => 0.0,
                    "constant_power" => -3.0,
                    "compromise" => -4.5,
                    "linear" => -6.0,
                    _ => t.parse().ok()?,
                }
            }
        };
        [
            (0.0, PanLaw::ZeroDb),
            (-3.0, PanLaw::ConstantPower),
            (-4.5, PanLaw::Compromise),
            (-6.0, PanLaw::Linear),
        ]
        .into_iter()
        .find(|(d, _)| *d == db)
        .map(|(_, law)| law)
    }
}

/// An insert as written: its keys with positions (`type` selects the kind;
/// the rest are checked against that kind when the session is planned).
pub type RawInsert = BTreeMap<S<String>, S<toml::Value>>;

impl Session {
    /// Parses a session document. Errors carry the TOML parser's span.
    pub fn parse(text: &str) -> Result<Session, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the curve definitions above; end points exact.
    #[test]
    fn curve_shapes() {
        for c in [Curve::Linear, Curve::Exp, Curve::SCurve] {
            assert_eq!(c.shape(0.0), 0.0);
            assert!((c.shape(1.0) - 1.0).abs() < 1e-15);
        }
        assert_eq!(Curve::SCurve.shape(0.5), 0.5);
        assert!((Curve::Exp.shape(0.5) - (1000f64.sqrt() - 1.0) / 999.0).abs() < 1e-15);
        assert_eq!(Curve::Hold.shape(0.99), 0.0);
    }

    #[test]
    fn pan_laws() {
        use sheen_fx::PanLaw;
        assert_eq!(PanLawSetting::Db(-4.5).law(), Some(PanLaw::Compromise));
        assert_eq!(
            PanLawSetting::Name("-3 dB".into()).law(),
            Some(PanLaw::ConstantPower)
        );
        assert_eq!(
            PanLawSetting::Name("0db".into()).law(),
            Some(PanLaw::ZeroDb)
        );
        assert_eq!(PanLawSetting::Db(-2.0).law(), None);
    }
}
