//! Stem classification: first from the file name (the words engineers use
//! for tracks), then, when the name says nothing, from measured features
//! ([`StemFeatures`]) by a small, documented decision list (thresholds in
//! `docs/AUTOMIX.md`). Unknown stays [`StemClass::Other`]. The class and
//! the evidence for it go into the session.

use super::features::StemFeatures;
use serde::{Deserialize, Serialize};

/// What a stem is, in mixing terms (what decides its level, pan and
/// processing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum StemClass {
    Kick,
    Snare,
    HiHat,
    Toms,
    Overheads,
    Room,
    Percussion,
    /// A full drum kit on one stem.
    Drums,
    Bass,
    Guitar,
    /// Piano, organ, electric piano, harpsichord.
    Keys,
    Synth,
    Pad,
    /// A melodic lead instrument (synth lead, solo instrument).
    Lead,
    LeadVocal,
    BackingVocal,
    Strings,
    Brass,
    Woodwinds,
    Fx,
    Other,
}

impl StemClass {
    /// Every class, in declaration order.
    pub const ALL: [StemClass; 21] = [
        StemClass::Kick,
        StemClass::Snare,
        StemClass::HiHat,
        StemClass::Toms,
        StemClass::Overheads,
        StemClass::Room,
        StemClass::Percussion,
        StemClass::Drums,
        StemClass::Bass,
        StemClass::Guitar,
        StemClass::Keys,
        StemClass::Synth,
        StemClass::Pad,
        StemClass::Lead,
        StemClass::LeadVocal,
        StemClass::BackingVocal,
        StemClass::Strings,
        StemClass::Brass,
        StemClass::Woodwinds,
        StemClass::Fx,
        StemClass::Other,
    ];

    /// The snake_case name used in sessions and reports.
    pub fn name(self) -> &'static str {
        match self {
            StemClass::Kick => "kick",
            StemClass::Snare => "snare",
            StemClass::HiHat => "hi_hat",
            StemClass::Toms => "toms",
            StemClass::Overheads => "overheads",
            StemClass::Room => "room",
            StemClass::Percussion => "percussion",
            StemClass::Drums => "drums",
            StemClass::Bass => "bass",
            StemClass::Guitar => "guitar",
            StemClass::Keys => "keys",
            StemClass::Synth => "synth",
            StemClass::Pad => "pad",
            StemClass::Lead => "lead",
            StemClass::LeadVocal => "lead_vocal",
            StemClass::BackingVocal => "backing_vocal",
            StemClass::Strings => "strings",
            StemClass::Brass => "brass",
            StemClass::Woodwinds => "woodwinds",
            StemClass::Fx => "fx",
            StemClass::Other => "other",
        }
    }

    /// Drum-kit parts (rhythm section, grouped on a drum bus).
    pub fn is_drum(self) -> bool {
        matches!(
            self,
            StemClass::Kick
                | StemClass::Snare
                | StemClass::HiHat
                | StemClass::Toms
                | StemClass::Overheads
                | StemClass::Room
                | StemClass::Percussion
                | StemClass::Drums
        )
    }
}

/// Where a classification came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// A word of the file name.
    Name,
    /// Measured audio features.
    Features,
}

/// A stem's class with the evidence for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Classification {
    pub class: StemClass,
    pub evidence: Evidence,
    /// Human-readable reason: the matched word or the measured values.
    pub reason: String,
}

/// Name words and their classes. Longer phrases are listed (and tried)
/// before the single words they contain, so "bass drum" is a kick and
/// "synth bass" a bass.
const PHRASES: &[(&[&str], StemClass)] = &[
    (&["bass", "drum"], StemClass::Kick),
    (&["kick"], StemClass::Kick),
    (&["kik"], StemClass::Kick),
    (&["bd"], StemClass::Kick),
    (&["bassdrum"], StemClass::Kick),
    (&["lead", "vox"], StemClass::LeadVocal),
    (&["lead", "vocal"], StemClass::LeadVocal),
    (&["lead", "vocals"], StemClass::LeadVocal),
    (&["backing"], StemClass::BackingVocal),
    (&["bv"], StemClass::BackingVocal),
    (&["bvs"], StemClass::BackingVocal),
    (&["bgv"], StemClass::BackingVocal),
    (&["bgvs"], StemClass::BackingVocal),
    (&["choir"], StemClass::BackingVocal),
    (&["harmony"], StemClass::BackingVocal),
    (&["harmonies"], StemClass::BackingVocal),
    (&["synth", "bass"], StemClass::Bass),
    (&["sub", "bass"], StemClass::Bass),
    (&["snare"], StemClass::Snare),
    (&["snr"], StemClass::Snare),
    (&["sd"], StemClass::Snare),
    (&["hat"], StemClass::HiHat),
    (&["hats"], StemClass::HiHat),
    (&["hihat"], StemClass::HiHat),
    (&["hh"], StemClass::HiHat),
    (&["ride"], StemClass::HiHat),
    (&["crash"], StemClass::HiHat),
    (&["cymbal"], StemClass::HiHat),
    (&["cymbals"], StemClass::HiHat),
    (&["tom"], StemClass::Toms),
    (&["toms"], StemClass::Toms),
    (&["oh"], StemClass::Overheads),
    (&["ohs"], StemClass::Overheads),
    (&["overhead"], StemClass::Overheads),
    (&["overheads"], StemClass::Overheads),
    (&["room"], StemClass::Room),
    (&["rooms"], StemClass::Room),
    (&["amb"], StemClass::Room),
    (&["perc"], StemClass::Percussion),
    (&["percussion"], StemClass::Percussion),
    (&["shaker"], StemClass::Percussion),
    (&["tambourine"], StemClass::Percussion),
    (&["tamb"], StemClass::Percussion),
    (&["conga"], StemClass::Percussion),
    (&["congas"], StemClass::Percussion),
    (&["bongo"], StemClass::Percussion),
    (&["clap"], StemClass::Percussion),
    (&["claps"], StemClass::Percussion),
    (&["cowbell"], StemClass::Percussion),
    (&["timpani"], StemClass::Percussion),
    (&["drum"], StemClass::Drums),
    (&["drums"], StemClass::Drums),
    (&["kit"], StemClass::Drums),
    (&["beat"], StemClass::Drums),
    (&["bass"], StemClass::Bass),
    (&["sub"], StemClass::Bass),
    (&["808"], StemClass::Bass),
    (&["contrabass"], StemClass::Bass),
    (&["gtr"], StemClass::Guitar),
    (&["guitar"], StemClass::Guitar),
    (&["guitars"], StemClass::Guitar),
    (&["gtrs"], StemClass::Guitar),
    (&["keys"], StemClass::Keys),
    (&["piano"], StemClass::Keys),
    (&["pno"], StemClass::Keys),
    (&["rhodes"], StemClass::Keys),
    (&["organ"], StemClass::Keys),
    (&["wurli"], StemClass::Keys),
    (&["epiano"], StemClass::Keys),
    (&["harpsichord"], StemClass::Keys),
    (&["clav"], StemClass::Keys),
    (&["celesta"], StemClass::Keys),
    (&["chords"], StemClass::Keys),
    (&["chord"], StemClass::Keys),
    (&["comp"], StemClass::Keys),
    (&["pad"], StemClass::Pad),
    (&["pads"], StemClass::Pad),
    (&["lead"], StemClass::Lead),
    (&["solo"], StemClass::Lead),
    (&["synth"], StemClass::Synth),
    (&["synths"], StemClass::Synth),
    (&["arp"], StemClass::Synth),
    (&["pluck"], StemClass::Synth),
    (&["fm"], StemClass::Synth),
    (&["sfxr"], StemClass::Fx),
    (&["vox"], StemClass::LeadVocal),
    (&["vocal"], StemClass::LeadVocal),
    (&["vocals"], StemClass::LeadVocal),
    (&["voice"], StemClass::LeadVocal),
    (&["vo"], StemClass::LeadVocal),
    (&["singer"], StemClass::LeadVocal),
    (&["soprano"], StemClass::BackingVocal),
    (&["alto"], StemClass::BackingVocal),
    (&["tenor"], StemClass::BackingVocal),
    (&["violin"], StemClass::Strings),
    (&["violins"], StemClass::Strings),
    (&["viola"], StemClass::Strings),
    (&["violas"], StemClass::Strings),
    (&["cello"], StemClass::Strings),
    (&["violoncello"], StemClass::Strings),
    (&["cellos"], StemClass::Strings),
    (&["strings"], StemClass::Strings),
    (&["str"], StemClass::Strings),
    (&["vln"], StemClass::Strings),
    (&["vla"], StemClass::Strings),
    (&["vc"], StemClass::Strings),
    (&["harp"], StemClass::Strings),
    (&["trumpet"], StemClass::Brass),
    (&["trumpets"], StemClass::Brass),
    (&["tpt"], StemClass::Brass),
    (&["trombone"], StemClass::Brass),
    (&["trombones"], StemClass::Brass),
    (&["tbn"], StemClass::Brass),
    (&["horn"], StemClass::Brass),
    (&["horns"], StemClass::Brass),
    (&["tuba"], StemClass::Brass),
    (&["brass"], StemClass::Brass),
    (&["flute"], StemClass::Woodwinds),
    (&["flutes"], StemClass::Woodwinds),
    (&["piccolo"], StemClass::Woodwinds),
    (&["oboe"], StemClass::Woodwinds),
    (&["clarinet"], StemClass::Woodwinds),
    (&["bassoon"], StemClass::Woodwinds),
    (&["sax"], StemClass::Woodwinds),
    (&["saxophone"], StemClass::Woodwinds),
    (&["recorder"], StemClass::Woodwinds),
    (&["woodwinds"], StemClass::Woodwinds),
    (&["fx"], StemClass::Fx),
    (&["sfx"], StemClass::Fx),
    (&["riser"], StemClass::Fx),
    (&["sweep"], StemClass::Fx),
    (&["impact"], StemClass::Fx),
    (&["noise"], StemClass::Fx),
];

/// Splits a file stem into lowercase words at non-letters/digits and at
/// letter/digit and lower/upper boundaries ("LeadVox02" → lead, vox, 02).
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut prev: Option<char> = None;
    for c in name.chars() {
        let boundary = match prev {
            None => false,
            Some(p) => {
                !c.is_alphanumeric()
                    || !p.is_alphanumeric()
                    || (p.is_ascii_digit() != c.is_ascii_digit())
                    || (p.is_lowercase() && c.is_uppercase())
            }
        };
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur).to_lowercase());
        }
        if c.is_alphanumeric() {
            cur.push(c);
        }
        prev = Some(c);
    }
    if !cur.is_empty() {
        words.push(cur.to_lowercase());
    }
    words
}

/// The class a file name names, if any, with the matched words.
pub fn classify_name(name: &str) -> Option<(StemClass, String)> {
    let words = name_words(name);
    for (phrase, class) in PHRASES {
        if phrase.len() > words.len() {
            continue;
        }
        if words
            .windows(phrase.len())
            .any(|w| w.iter().zip(phrase.iter()).all(|(a, b)| a == b))
        {
            return Some((*class, phrase.join(" ")));
        }
    }
    None
}

/// Name words that also mean something else in studio use ("voice" is a
/// synth patch or note as often as a singer): they name a class only when
/// the features show a plain melodic line (what a singer gives: one clear
/// pitch, sustained notes), i.e. when the feature rules say `lead`.
const WEAK_WORDS: &[(&str, StemClass)] = &[("voice", StemClass::LeadVocal)];

/// Monophonic pitch share at or above which a stem counts as one
/// instrument or voice playing a line (see [`super::timbre`]).
pub const MONOPHONIC_SHARE: f64 = 0.6;
/// Attack time at or above which a monophonic line counts as bowed, ms.
pub const BOWED_ATTACK_MS: f64 = 100.0;
/// Odd/even harmonic ratio at or above which a line counts as a reed with
/// odd harmonics (clarinet, and the bassoon's low register), dB.
pub const ODD_HARMONIC_DB: f64 = 3.0;

/// Median decay 200 ms after an attack at or above which a line's notes
/// count as dying away (struck, plucked, enveloped synth), dB.
pub const DECAYING_DB: f64 = 4.0;

/// Classifies from features alone (see `docs/AUTOMIX.md` §1 for the
/// decision list and its thresholds).
pub fn classify_features(f: &StemFeatures) -> Classification {
    let crest = f.crest_db.unwrap_or(0.0);
    let wide = f.side_to_mid_db.is_some_and(|s| s > -12.0);
    let t = &f.timbre;
    let facts = format!(
        "centroid {:.0} Hz, low share {:.2}, high share {:.2}, crest {:.1} dB, \
         onsets {:.1}/s, active {:.2}, pitchedness {:.2}, side/mid {}, \
         monophonic pitch share {:.2}, f0 {:.0} Hz, odd/even {:.1} dB, \
         harmonic centroid {:.2}, attack {:.0} ms, decay {:.1} dB over {} notes",
        f.centroid_hz,
        f.low_ratio,
        f.high_ratio,
        crest,
        f.onset_rate_hz,
        f.active_fraction,
        f.pitchedness,
        f.side_to_mid_db
            .map_or("n/a (mono)".to_string(), |s| format!("{s:.1} dB")),
        t.mono_pitch_share,
        t.f0_median_hz,
        t.odd_even_db,
        t.harmonic_centroid,
        t.attack_ms,
        t.decay_db,
        t.attacks,
    );
    let mono_line = t.mono_pitch_share >= MONOPHONIC_SHARE;
    let class = if f.is_silent() {
        StemClass::Other
    } else if f.active_fraction < 0.05 {
        // a few events in the whole song
        if f.pitchedness < 0.5 && crest > 35.0 {
            // single noisy hits with tails of seconds: cymbal crashes
            StemClass::HiHat
        } else {
            StemClass::Fx
        }
    } else if f.low_ratio > 0.5 {
        if crest > 14.0 && f.onset_rate_hz > 0.5 && f.pitchedness < 0.9 {
            StemClass::Kick
        } else {
            StemClass::Bass
        }
    } else if f.pitchedness < 0.5 && f.onset_rate_hz > 1.0 {
        if f.high_ratio > 0.35 {
            if wide {
                StemClass::Overheads
            } else if f.onset_rate_hz >= 3.0 {
                StemClass::HiHat
            } else {
                StemClass::Snare
            }
        } else if f.low_ratio > 0.15 {
            StemClass::Drums
        } else {
            StemClass::Snare
        }
    } else if f.pitchedness < 0.35 {
        StemClass::Fx
    } else if mono_line {
        if t.attacks >= 5 && t.decay_db >= DECAYING_DB {
            // notes that die away: plucked, struck or an enveloped synth
            StemClass::Synth
        } else if t.attack_ms >= BOWED_ATTACK_MS && t.attacks_per_s >= 0.04 {
            StemClass::Strings
        } else if t.f0_median_hz > 0.0 && t.f0_median_hz < 180.0 {
            if t.odd_even_db >= ODD_HARMONIC_DB {
                StemClass::Woodwinds
            } else if t.odd_even_db <= -ODD_HARMONIC_DB {
                StemClass::Brass
            } else {
                StemClass::Bass
            }
        } else if t.odd_even_db >= ODD_HARMONIC_DB {
            StemClass::Woodwinds
        } else if t.harmonic_centroid < 1.55 && t.f0_median_hz >= 400.0 {
            // almost sinusoidal and high: flute-like
            StemClass::Woodwinds
        } else if t.odd_even_db <= -ODD_HARMONIC_DB {
            // strong even harmonics, sustained, not bowed: brass
            StemClass::Brass
        } else {
            StemClass::Lead
        }
    } else if f.centroid_hz < 250.0 && f.low_ratio > 0.25 {
        StemClass::Bass
    } else if wide && f.onset_rate_hz < 1.0 {
        StemClass::Pad
    } else {
        StemClass::Synth
    };
    Classification {
        class,
        evidence: Evidence::Features,
        reason: if f.is_silent() {
            "silent (below the BS.1770 absolute gate)".into()
        } else {
            facts
        },
    }
}

/// Classifies a stem: by name when a word of it names a class, else by
/// features.
pub fn classify(file_stem: &str, f: &StemFeatures) -> Classification {
    match classify_name(file_stem) {
        Some((class, word)) => {
            let weak = WEAK_WORDS.iter().any(|(w, c)| *w == word && *c == class);
            if weak && !f.is_silent() {
                let c = classify_features(f);
                if c.class != StemClass::Lead {
                    return Classification {
                        reason: format!(
                            "file name word \"{word}\" not taken: the features do not \
                             show a sung line but {}; {}",
                            c.class.name(),
                            c.reason
                        ),
                        ..c
                    };
                }
            }
            Classification {
                class,
                evidence: Evidence::Name,
                reason: format!("file name word \"{word}\""),
            }
        }
        None => classify_features(f),
    }
}

/// Words naming the upper parts of a four-part (SATB) ensemble.
const UPPER_PARTS: &[&str] = &["soprano", "alto", "tenor"];

/// Classifies a song's stems together: each by [`classify`], then one
/// rule of context. In a set with at least two upper SATB parts
/// (soprano, alto, tenor), a stem named "bass" is the ensemble's bass part,
/// not a bass guitar: it gets the class of the parts beside it, so a
/// chorale's four parts are balanced as one section.
pub fn classify_set(stems: &[(&str, &StemFeatures)]) -> Vec<Classification> {
    let mut out: Vec<Classification> = stems.iter().map(|(n, f)| classify(n, f)).collect();
    let part_of = |n: &str| {
        name_words(n)
            .iter()
            .any(|w| UPPER_PARTS.contains(&w.as_str()))
    };
    let parts: Vec<usize> = (0..stems.len()).filter(|&i| part_of(stems[i].0)).collect();
    if parts.len() >= 2 {
        let section = out[parts[0]].class;
        for (i, (n, _)) in stems.iter().enumerate() {
            let named_bass = out[i].evidence == Evidence::Name
                && out[i].class == StemClass::Bass
                && name_words(n).iter().any(|w| w == "bass");
            if named_bass {
                out[i] = Classification {
                    class: section,
                    evidence: Evidence::Name,
                    reason: format!(
                        "file name word \"bass\" beside {} upper SATB parts \
                         (soprano/alto/tenor): the ensemble's bass part, classed \
                         with its parts",
                        parts.len()
                    ),
                };
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Words as engineers write track names.
    #[test]
    fn words_of_names() {
        assert_eq!(name_words("LeadVox02"), ["lead", "vox", "02"]);
        assert_eq!(name_words("01_Kick In.wav"), ["01", "kick", "in", "wav"]);
        assert_eq!(name_words("OH-L"), ["oh", "l"]);
    }

    /// A chorale's four parts named soprano/alto/tenor/bass are one
    /// section; a "bass" beside drums and keys stays a bass.
    #[test]
    fn satb_bass_is_a_part() {
        let f = StemFeatures {
            sample_rate_hz: 48_000,
            channels: 1,
            duration_s: 1.0,
            integrated_lufs: Some(-20.0),
            true_peak_dbtp: Some(-6.0),
            crest_db: Some(12.0),
            active_fraction: 1.0,
            centroid_hz: 500.0,
            rolloff_hz: 2000.0,
            low_ratio: 0.1,
            high_ratio: 0.0,
            onset_rate_hz: 1.0,
            pitchedness: 0.9,
            correlation: None,
            side_to_mid_db: None,
            bands: vec![],
            timbre: Default::default(),
        };
        let satb = ["1_soprano", "2_alto", "3_tenor", "4_bass"].map(|n| (n, &f));
        let c = classify_set(&satb);
        assert!(
            c.iter().all(|c| c.class == StemClass::BackingVocal),
            "{c:?}"
        );
        let band = ["kick", "keys", "bass"].map(|n| (n, &f));
        assert_eq!(classify_set(&band)[2].class, StemClass::Bass);
    }

    #[test]
    fn names_to_classes() {
        let c = |n| classify_name(n).map(|x| x.0);
        assert_eq!(c("Bass Drum"), Some(StemClass::Kick));
        assert_eq!(c("synth_bass"), Some(StemClass::Bass));
        assert_eq!(c("bass"), Some(StemClass::Bass));
        assert_eq!(c("Bassoon"), Some(StemClass::Woodwinds));
        assert_eq!(c("lead vox"), Some(StemClass::LeadVocal));
        assert_eq!(c("Lead Synth"), Some(StemClass::Lead));
        assert_eq!(c("OH_L"), Some(StemClass::Overheads));
        assert_eq!(c("BV 2"), Some(StemClass::BackingVocal));
        assert_eq!(c("gtr-rhythm"), Some(StemClass::Guitar));
        assert_eq!(c("track01"), None);
    }
}
