//! The automix rule table: from each stem's class and measured features to
//! the decisions of a mix (level, pan, high-pass, masking cuts, compression,
//! de-essing, gating, reverb/delay sends), each with the measured reason.
//! The numbers and their sources are documented in `docs/AUTOMIX.md`.
//!
//! Everything here is a pure function of the measurements: the same stems
//! give the same decisions, in the same order.

use super::classify::{Classification, StemClass};
use super::features::StemFeatures;
use serde::Serialize;

/// A decided value with the measured reason for it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Reasoned<T> {
    pub value: T,
    pub reason: String,
}

fn r<T>(value: T, reason: impl Into<String>) -> Reasoned<T> {
    Reasoned {
        value,
        reason: reason.into(),
    }
}

/// Name of the bus the drum-kit parts are summed on.
pub const DRUM_BUS: &str = "drum_bus";

/// Loudness of a class relative to the lead element of the mix, LU
/// (integrated loudness of the stem alone). See `docs/AUTOMIX.md`.
pub fn target_relative_lu(class: StemClass) -> f64 {
    match class {
        StemClass::LeadVocal | StemClass::Lead => 0.0,
        StemClass::Kick | StemClass::Snare | StemClass::Bass => -3.0,
        StemClass::Drums => -2.0,
        StemClass::Guitar
        | StemClass::Keys
        | StemClass::Strings
        | StemClass::Brass
        | StemClass::Woodwinds => -4.0,
        StemClass::Synth | StemClass::BackingVocal | StemClass::Other => -6.0,
        StemClass::Toms | StemClass::Overheads => -8.0,
        StemClass::Percussion | StemClass::Pad => -9.0,
        StemClass::HiHat => -10.0,
        StemClass::Fx => -11.0,
        StemClass::Room => -12.0,
    }
}

/// Loudness the lead element is set to before mastering, LUFS: leaves
/// headroom for the sum (≈ −14 LUFS mixes for 8 equal stems).
pub const LEAD_LUFS: f64 = -20.0;
/// Largest gain automix applies, dB (a stem 40 dB too quiet is more likely
/// a mistake than a whisper).
pub const MAX_GAIN_DB: f64 = 30.0;

/// Classes kept in the centre (Izhaki 2008, "Mixing Audio", ch. 13;
/// Pestana & Reiss 2014: low-frequency and lead sources panned centre).
pub fn is_centre_class(class: StemClass) -> bool {
    matches!(
        class,
        StemClass::Kick
            | StemClass::Snare
            | StemClass::Bass
            | StemClass::LeadVocal
            | StemClass::Lead
            | StemClass::Drums
    )
}

/// Useful low end of a class: the high-pass never goes above this, Hz.
pub fn highpass_ceiling_hz(class: StemClass) -> f64 {
    match class {
        StemClass::Kick | StemClass::Bass | StemClass::Drums => 30.0,
        StemClass::Toms | StemClass::Room => 50.0,
        StemClass::Snare => 80.0,
        StemClass::LeadVocal | StemClass::BackingVocal | StemClass::Lead => 100.0,
        StemClass::HiHat | StemClass::Overheads => 200.0,
        StemClass::Percussion => 150.0,
        _ => 60.0,
    }
}

/// A peaking cut that reduces masking, with the stem it clears room for.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EqCut {
    pub freq_hz: f64,
    pub gain_db: f64,
    pub q: f64,
    pub reason: String,
}

/// Compressor settings (the fields of the session's `compressor` insert).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CompressorDecision {
    pub threshold_db: f64,
    pub ratio: f64,
    pub attack_ms: f64,
    pub release_ms: f64,
    pub reason: String,
}

/// De-esser settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeEsserDecision {
    pub freq_hz: f64,
    pub threshold_db: f64,
    pub reason: String,
}

/// Gate settings.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateDecision {
    pub threshold_db: f64,
    pub range_db: f64,
    pub reason: String,
}

/// A send to one of the automix returns.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SendDecision {
    /// `"reverb"` or `"delay"`.
    pub to: &'static str,
    pub level_db: f64,
    pub reason: String,
}

/// Everything decided for one stem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StemDecision {
    /// Track name (the file stem, made unique).
    pub name: String,
    pub class: Classification,
    pub mute: Option<String>,
    pub gain_db: Reasoned<f64>,
    pub pan: Reasoned<f64>,
    pub highpass_hz: Option<Reasoned<f64>>,
    pub cuts: Vec<EqCut>,
    pub compressor: Option<CompressorDecision>,
    pub deesser: Option<DeEsserDecision>,
    pub gate: Option<GateDecision>,
    pub sends: Vec<SendDecision>,
    /// Bus the stem goes to ([`DRUM_BUS`] for kit parts, else `"master"`).
    pub output: &'static str,
}

/// One stem as the rules see it.
pub struct StemInput<'a> {
    pub name: &'a str,
    pub class: Classification,
    pub features: &'a StemFeatures,
}

/// Decides a mix for `stems` (in the given order, which is kept).
pub fn decide(stems: &[StemInput]) -> Vec<StemDecision> {
    let mut out: Vec<StemDecision> = stems.iter().map(decide_levels).collect();
    decide_pans(stems, &mut out);
    decide_masking(stems, &mut out);
    out
}

fn decide_levels(s: &StemInput) -> StemDecision {
    let f = s.features;
    let class = s.class.class;
    let (mute, gain) = match f.integrated_lufs {
        None => (
            Some("silent: no block above the BS.1770 absolute gate (−70 LUFS)".to_string()),
            r(0.0, "silent stem: left at unity, muted"),
        ),
        Some(lufs) => {
            let rel = target_relative_lu(class);
            let target = LEAD_LUFS + rel;
            let want = target - lufs;
            let g = want.clamp(-MAX_GAIN_DB, MAX_GAIN_DB);
            let mut why = format!(
                "measured {lufs:.1} LUFS; {} sits {rel:+.0} LU from the lead → {target:.1} LUFS",
                class.name()
            );
            if g != want {
                why.push_str(&format!(" (capped at {g:+.0} dB)"));
            }
            (None, r(round2(g), why))
        }
    };
    let highpass_hz = highpass_for(f, class);
    let compressor = compressor_for(f, class);
    let deesser = deesser_for(f, class);
    let gate = gate_for(f, class);
    let sends = sends_for(class);
    StemDecision {
        name: s.name.to_string(),
        class: s.class.clone(),
        mute,
        gain_db: gain,
        pan: r(0.0, "centre"),
        highpass_hz,
        cuts: Vec::new(),
        compressor,
        deesser,
        gate,
        sends,
        output: if class.is_drum() { DRUM_BUS } else { "master" },
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// High-pass at 70 % of the lowest band within 30 dB of the stem's
/// strongest band, capped by the class ceiling; none below 25 Hz.
fn highpass_for(f: &StemFeatures, class: StemClass) -> Option<Reasoned<f64>> {
    if f.is_silent() || f.bands.is_empty() {
        return None;
    }
    let max = f
        .bands
        .iter()
        .map(|b| b.1)
        .fold(f64::NEG_INFINITY, f64::max);
    let lowest = f.bands.iter().find(|b| b.1 > max - 30.0)?.0;
    let ceiling = highpass_ceiling_hz(class);
    let hz = (0.7 * lowest).min(ceiling);
    if hz < 25.0 {
        return None;
    }
    let hz = hz.round();
    Some(r(
        hz,
        format!(
            "lowest band within 30 dB of the strongest is {lowest:.0} Hz; \
             high-pass at {hz:.0} Hz (class ceiling {ceiling:.0} Hz) removes rumble only"
        ),
    ))
}

/// Compression where the crest factor says the stem is more dynamic than
/// its class usually sits in a mix.
fn compressor_for(f: &StemFeatures, class: StemClass) -> Option<CompressorDecision> {
    let crest = f.crest_db?;
    let lufs = f.integrated_lufs?;
    let (limit, ratio, attack, release) = match class {
        StemClass::LeadVocal | StemClass::BackingVocal => (14.0, 3.0, 5.0, 80.0),
        StemClass::Bass => (12.0, 4.0, 10.0, 120.0),
        StemClass::Kick | StemClass::Snare | StemClass::Toms => (20.0, 4.0, 15.0, 100.0),
        StemClass::Guitar | StemClass::Keys | StemClass::Synth | StemClass::Lead => {
            (16.0, 2.5, 10.0, 150.0)
        }
        StemClass::Drums => (18.0, 3.0, 20.0, 120.0),
        _ => return None,
    };
    if crest <= limit {
        return None;
    }
    // threshold a little above the programme level so peaks are caught
    let threshold = (lufs + 6.0).round();
    Some(CompressorDecision {
        threshold_db: threshold,
        ratio,
        attack_ms: attack,
        release_ms: release,
        reason: format!(
            "crest factor {crest:.1} dB > {limit:.0} dB typical for {}: {ratio}:1 above \
             {threshold:.0} dBFS (programme {lufs:.1} LUFS + 6 dB)",
            class.name()
        ),
    })
}

/// De-essing on vocals whose share of power above 5 kHz shows sibilance.
fn deesser_for(f: &StemFeatures, class: StemClass) -> Option<DeEsserDecision> {
    if !matches!(class, StemClass::LeadVocal | StemClass::BackingVocal) {
        return None;
    }
    let lufs = f.integrated_lufs?;
    if f.high_ratio < 0.08 {
        return None;
    }
    Some(DeEsserDecision {
        freq_hz: 6000.0,
        threshold_db: (lufs - 6.0).round(),
        reason: format!(
            "{:.0} % of the power above 5 kHz (> 8 %): sibilance; de-ess above 6 kHz",
            f.high_ratio * 100.0
        ),
    })
}

/// Gates on close drum mics with a noise floor between hits.
fn gate_for(f: &StemFeatures, class: StemClass) -> Option<GateDecision> {
    if !matches!(class, StemClass::Kick | StemClass::Snare | StemClass::Toms) {
        return None;
    }
    let crest = f.crest_db?;
    let lufs = f.integrated_lufs?;
    // bleed/noise shows as a stem active nearly all the time despite hits
    if f.active_fraction < 0.9 || crest < 15.0 {
        return None;
    }
    Some(GateDecision {
        threshold_db: (lufs - 10.0).round(),
        range_db: 20.0,
        reason: format!(
            "active {:.0} % of the time with a {crest:.1} dB crest: noise between hits; \
             gate 10 dB under the programme level",
            f.active_fraction * 100.0
        ),
    })
}

fn sends_for(class: StemClass) -> Vec<SendDecision> {
    let reverb = |db: f64, why: &str| SendDecision {
        to: "reverb",
        level_db: db,
        reason: why.into(),
    };
    match class {
        StemClass::LeadVocal => vec![
            reverb(-14.0, "lead vocal: plate-like space behind the voice"),
            SendDecision {
                to: "delay",
                level_db: -20.0,
                reason: "lead vocal: quiet quarter-note echo for depth".into(),
            },
        ],
        StemClass::BackingVocal => vec![reverb(-10.0, "backing vocals sit further back")],
        StemClass::Snare => vec![reverb(-16.0, "snare: short room ambience")],
        StemClass::Lead => vec![SendDecision {
            to: "delay",
            level_db: -18.0,
            reason: "lead instrument: echo for depth".into(),
        }],
        StemClass::Strings
        | StemClass::Brass
        | StemClass::Woodwinds
        | StemClass::Keys
        | StemClass::Guitar => vec![reverb(-16.0, "acoustic instrument: shared hall")],
        StemClass::Pad | StemClass::Synth => vec![reverb(-14.0, "pads and synths: wide space")],
        StemClass::Toms | StemClass::Percussion => vec![reverb(-18.0, "drums: ambience")],
        _ => Vec::new(),
    }
}

/// Pans: centre classes stay centred; stereo stems keep their image; the
/// other mono stems alternate left and right in order of spectral centroid
/// (so high and low content is balanced on both sides), spread by how many
/// there are.
fn decide_pans(stems: &[StemInput], out: &mut [StemDecision]) {
    let mut side: Vec<usize> = (0..stems.len())
        .filter(|&i| {
            let s = &stems[i];
            let stereo =
                s.features.channels >= 2 && s.features.side_to_mid_db.is_some_and(|v| v > -20.0);
            !is_centre_class(s.class.class) && !stereo && out[i].mute.is_none()
        })
        .collect();
    for (i, d) in out.iter_mut().enumerate() {
        let s = &stems[i];
        if is_centre_class(s.class.class) {
            d.pan = r(0.0, format!("{} stays centred", s.class.class.name()));
        } else if s.features.channels >= 2 {
            d.pan = r(
                0.0,
                format!(
                    "stereo stem (side/mid {}): its own image is kept",
                    s.features
                        .side_to_mid_db
                        .map_or("n/a".into(), |v| format!("{v:.1} dB"))
                ),
            );
        }
    }
    side.sort_by(|&a, &b| {
        stems[a]
            .features
            .centroid_hz
            .total_cmp(&stems[b].features.centroid_hz)
            .then(a.cmp(&b))
    });
    let n = side.len();
    for (k, &i) in side.iter().enumerate() {
        // pairs at increasing width: ±0.3, ±0.5, ±0.7 …; odd one out centred
        let pair = k / 2;
        let width = (0.3 + 0.2 * pair as f64).min(0.8);
        let last_odd = n % 2 == 1 && k == n - 1;
        let pan = if last_odd {
            0.0
        } else if k % 2 == 0 {
            -width
        } else {
            width
        };
        out[i].pan = r(
            pan,
            format!(
                "mono {} #{} of {n} spread by centroid ({:.0} Hz): {}",
                stems[i].class.class.name(),
                k + 1,
                stems[i].features.centroid_hz,
                if pan == 0.0 {
                    "odd one out, centre".into()
                } else {
                    format!("{pan:+.1}")
                }
            ),
        );
    }
}

/// Bands where two stems compete: both within [`MASKING_WINDOW_DB`] of each
/// other and within 20 dB of their own strongest band once placed at their
/// decided gains. The less important stem (lower target loudness; ties: the
/// later stem) gets a cut of up to 3 dB there; at most 2 cuts per stem.
pub const MASKING_WINDOW_DB: f64 = 3.0;

fn decide_masking(stems: &[StemInput], out: &mut [StemDecision]) {
    let placed: Vec<Vec<(f64, f64)>> = stems
        .iter()
        .zip(out.iter())
        .map(|(s, d)| {
            s.features
                .bands
                .iter()
                .map(|&(hz, db)| (hz, db + d.gain_db.value))
                .collect()
        })
        .collect();
    let strong = |i: usize, b: usize| {
        let max = placed[i]
            .iter()
            .map(|x| x.1)
            .fold(f64::NEG_INFINITY, f64::max);
        placed[i][b].1 > max - 20.0
    };
    // (stem to cut, band, depth dB, other stem)
    let mut found: Vec<(usize, usize, f64, usize)> = Vec::new();
    for i in 0..stems.len() {
        for j in i + 1..stems.len() {
            if out[i].mute.is_some() || out[j].mute.is_some() {
                continue;
            }
            for (b, (&(hz, li), &(_, lj))) in placed[i].iter().zip(&placed[j]).enumerate() {
                if !(80.0..=8000.0).contains(&hz) || !strong(i, b) || !strong(j, b) {
                    continue;
                }
                let diff = (li - lj).abs();
                if diff > MASKING_WINDOW_DB {
                    continue;
                }
                let pi = target_relative_lu(stems[i].class.class);
                let pj = target_relative_lu(stems[j].class.class);
                let (cut, keep) = if pj <= pi { (j, i) } else { (i, j) };
                found.push((cut, b, 3.0 - diff * 0.5, keep));
            }
        }
    }
    // deepest conflicts first; stable order for equal depths
    found.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    for (cut, b, depth, keep) in found {
        let hz = placed[cut][b].0;
        let d = &mut out[cut];
        if d.cuts.len() >= 2 || d.cuts.iter().any(|c| (c.freq_hz / hz).log2().abs() < 1.0) {
            continue;
        }
        d.cuts.push(EqCut {
            freq_hz: hz,
            gain_db: -round2(depth),
            q: 1.4,
            reason: format!(
                "masks {} at {hz:.0} Hz (levels within {:.1} dB there); {} is the less \
                 important of the two",
                stems[keep].name, MASKING_WINDOW_DB, stems[cut].name
            ),
        });
    }
    for d in out.iter_mut() {
        d.cuts.sort_by(|a, b| a.freq_hz.total_cmp(&b.freq_hz));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::automix::classify::Evidence;

    fn features(lufs: Option<f64>, channels: usize, centroid: f64) -> StemFeatures {
        StemFeatures {
            sample_rate_hz: 48_000,
            channels,
            duration_s: 10.0,
            integrated_lufs: lufs,
            true_peak_dbtp: lufs.map(|l| l + 10.0),
            crest_db: lufs.map(|_| 12.0),
            active_fraction: 1.0,
            centroid_hz: centroid,
            rolloff_hz: centroid * 2.0,
            low_ratio: 0.1,
            high_ratio: 0.05,
            onset_rate_hz: 1.0,
            pitchedness: 0.8,
            correlation: None,
            side_to_mid_db: None,
            bands: vec![(100.0, -40.0), (1000.0, -20.0), (4000.0, -30.0)],
            timbre: Default::default(),
        }
    }

    fn class(c: StemClass) -> Classification {
        Classification {
            class: c,
            evidence: Evidence::Name,
            reason: "test".into(),
        }
    }

    /// Gains land each stem on `LEAD_LUFS + target_relative_lu(class)`.
    #[test]
    fn levels_follow_the_table_and_silence_is_muted() {
        let fv = features(Some(-30.0), 1, 1000.0);
        let fb = features(Some(-12.0), 1, 200.0);
        let fs = features(None, 1, 0.0);
        let d = decide(&[
            StemInput {
                name: "vox",
                class: class(StemClass::LeadVocal),
                features: &fv,
            },
            StemInput {
                name: "bass",
                class: class(StemClass::Bass),
                features: &fb,
            },
            StemInput {
                name: "dead",
                class: class(StemClass::Other),
                features: &fs,
            },
        ]);
        assert_eq!(d[0].gain_db.value, LEAD_LUFS + 30.0);
        assert_eq!(d[1].gain_db.value, LEAD_LUFS - 3.0 + 12.0);
        assert!(d[2].mute.is_some());
        assert_eq!(d[0].pan.value, 0.0);
    }

    /// Mono side instruments alternate left/right; decisions are a pure
    /// function of the input.
    #[test]
    fn pans_alternate_and_are_deterministic() {
        let fs: Vec<StemFeatures> = (0..4)
            .map(|k| features(Some(-20.0), 1, 500.0 + 300.0 * k as f64))
            .collect();
        let inputs: Vec<StemInput> = fs
            .iter()
            .map(|f| StemInput {
                name: "gtr",
                class: class(StemClass::Guitar),
                features: f,
            })
            .collect();
        let a = decide(&inputs);
        let b = decide(&inputs);
        assert_eq!(a, b);
        let pans: Vec<f64> = a.iter().map(|d| d.pan.value).collect();
        assert_eq!(pans, [-0.3, 0.3, -0.5, 0.5]);
        // equal spectra at equal placed levels compete: the later stem
        // (equal importance) gets the cut
        assert!(a.iter().skip(1).any(|d| !d.cuts.is_empty()));
        assert!(a[0].cuts.is_empty());
    }
}
