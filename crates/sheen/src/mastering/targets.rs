//! Loudness targets as data: the table in `crates/sheen/targets.toml`
//! (embedded at build time) plus any user file of the same shape.

use crate::Error;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The built-in target table (`crates/sheen/targets.toml`).
pub const BUILTIN_TOML: &str = include_str!("../../targets.toml");

/// One deliverable specification.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Target integrated loudness (BS.1770-4), LUFS.
    pub integrated_lufs: f64,
    /// True-peak ceiling (BS.1770-4 Annex 2), dBTP.
    pub true_peak_dbtp: f64,
    /// Deliverable sample rate, Hz; `None` keeps the input's rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate_hz: Option<u32>,
    /// Bit depth: 16 or 24 (integer) or 32 (float).
    #[serde(default = "default_bits")]
    pub bits: u32,
    /// Dither when reducing the word length (always done for 16 bits).
    #[serde(default)]
    pub dither: bool,
    /// The deliverable is stereo by definition (CD audio): a mono input is
    /// written as dual mono (the same signal in both channels). Other
    /// targets keep the input's channel count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stereo: bool,
    /// Where the figures come from.
    #[serde(default)]
    pub notes: String,
}

fn default_bits() -> u32 {
    24
}

/// A named set of targets.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    map: BTreeMap<String, Target>,
}

impl Targets {
    /// The built-in table.
    pub fn builtin() -> Self {
        Self::parse(BUILTIN_TOML, Path::new("targets.toml")).expect("built-in targets.toml parses")
    }

    /// Parses a TOML table of targets; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        let map: BTreeMap<String, Target> = toml::from_str(text).map_err(|e| Error::Content {
            path: path.to_path_buf(),
            problem: format!(
                "not a valid targets table: {}",
                e.message().replace('\n', " ")
            ),
        })?;
        for (name, t) in &map {
            let bad = |problem: String| Error::Content {
                path: path.to_path_buf(),
                problem: format!("target {name}: {problem}"),
            };
            if !matches!(t.bits, 16 | 24 | 32) {
                return Err(bad(format!("bits must be 16, 24 or 32, found {}", t.bits)));
            }
            if !(-70.0..=0.0).contains(&t.integrated_lufs) {
                return Err(bad(format!(
                    "integrated_lufs must be between -70 and 0, found {}",
                    t.integrated_lufs
                )));
            }
            if !(-20.0..=0.0).contains(&t.true_peak_dbtp) {
                return Err(bad(format!(
                    "true_peak_dbtp must be between -20 and 0, found {}",
                    t.true_peak_dbtp
                )));
            }
            if let Some(r) = t.sample_rate_hz {
                if !(8_000..=384_000).contains(&r) {
                    return Err(bad(format!("sample_rate_hz {r} outside 8000..384000")));
                }
            }
        }
        Ok(Self { map })
    }

    /// The built-in table with the targets of `path` added (a user target
    /// replaces a built-in one of the same name).
    pub fn with_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Content {
            path: path.to_path_buf(),
            problem: format!("cannot read targets file: {e}"),
        })?;
        let user = Self::parse(&text, path)?;
        let mut all = Self::builtin();
        all.map.extend(user.map);
        Ok(all)
    }

    pub fn get(&self, name: &str) -> Option<&Target> {
        self.map.get(name)
    }

    /// Target names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.map.keys().map(String::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in table holds the platform figures the mastering issue
    /// lists (name, LUFS, dBTP), exactly.
    #[test]
    fn builtin_targets_are_complete() {
        let t = Targets::builtin();
        let want = [
            ("spotify", -14.0, -1.0),
            ("spotify-loud", -11.0, -2.0),
            ("apple", -16.0, -1.0),
            ("youtube", -14.0, -1.0),
            ("amazon", -14.0, -2.0),
            ("tidal", -14.0, -1.0),
            ("deezer", -15.0, -1.0),
            ("soundcloud", -14.0, -1.0),
            ("ebu-r128", -23.0, -1.0),
            ("atsc-a85", -24.0, -2.0),
            ("aes-streaming", -16.0, -1.0),
            ("cd", -9.0, -0.3),
            ("club", -7.0, -0.3),
        ];
        for (name, lufs, tp) in want {
            let g = t.get(name).unwrap_or_else(|| panic!("{name} missing"));
            assert_eq!((g.integrated_lufs, g.true_peak_dbtp), (lufs, tp), "{name}");
        }
        let cd = t.get("cd").unwrap();
        assert_eq!(
            (cd.sample_rate_hz, cd.bits, cd.dither),
            (Some(44_100), 16, true)
        );
    }

    #[test]
    fn user_file_errors_name_the_file() {
        let e = Targets::parse("[x]\nintegrated_lufs = -14\n", Path::new("my.toml")).unwrap_err();
        assert!(e.to_string().starts_with("my.toml: "), "{e}");
        let e = Targets::parse(
            "[x]\nintegrated_lufs = -14\ntrue_peak_dbtp = -1\nbits = 12\n",
            Path::new("my.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("bits"), "{e}");
    }
}
