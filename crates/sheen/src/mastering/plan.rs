//! Plan: turns a [`MixAnalysis`] and targets into a [`Chain`], every value
//! with a reason built from a measurement.
//!
//! - Tonal balance: the mid spectrum's 1/3-octave levels are compared with a
//!   neutral reference tilt of [`REFERENCE_TILT_DB_PER_OCT`] (band level per
//!   octave; pink noise is 0 dB/oct), about the average long-term spectrum
//!   of commercial mixes (Pestana, Ma, Reiss, Barbosa & Black, "Spectral
//!   characteristics of popular commercial recordings 1950–2010", AES 135th
//!   Convention, 2013), matched in level over 200 Hz–5 kHz. Low (40–120 Hz)
//!   and high (6.3–16 kHz) deviations get half their size as an opposite
//!   shelf, a pronounced mid-band bump or dip half its size as a bell, each
//!   capped by the style (gentle 1.5 dB, balanced 3 dB, punchy 4 dB); moves
//!   under 0.5 dB are left out.
//! - Width: low-end side energy ([`LOW_END_HZ`]) above −15 dB re mid is made
//!   mono; negative correlation narrows; a very narrow stereo mix may be
//!   widened slightly (punchy/balanced).
//! - Dynamics: glue compression (`sheen_dsp::compressor`) when the loudness
//!   range or crest factor exceeds the style's limits (see
//!   [`plan_compressor`]); otherwise the stage is written bypassed.
//! - Per target: the limiter ceiling is the target's true-peak ceiling; the
//!   pre-limiter gain is found by [`super::search`]: one recorded pass of
//!   the front per output format, then a secant search on the predicted
//!   loudness after limiting (to within 0.01 LU); inputs too long to record
//!   measure render passes instead (to within 0.02 LU). The search never
//!   drives the limiter more than `search::MAX_LIMITING_DB` beyond the gain
//!   that reaches the target unlimited, and warns when that is short.

use super::analyse::{MixAnalysis, LOW_END_HZ};
use super::chain::*;
use super::render::{self, limiter_params, measure_loudness, output_channels, render_source, Sink};
use super::search::{self, Recorder};
use super::targets::Target;
use crate::Error;
use sheen_dsp::compressor::CompressorParams;
use sheen_dsp::dither::NoiseShaping;
use sheen_dsp::dynamics::Detector;
use sheen_dsp::gain_to_db;
use sheen_dsp::limiter::TruePeakLimiter;
use sheen_meter::BandLevel;
use std::sync::Arc;

/// Reference tilt of the neutral tonal curve, dB per octave of 1/3-octave
/// band level.
pub const REFERENCE_TILT_DB_PER_OCT: f64 = -4.5;

/// Gain above which a warning is given, dB.
pub const WARN_GAIN_DB: f64 = 30.0;

/// Inputs quieter than this get a warning, LUFS.
pub const WARN_QUIET_LUFS: f64 = -35.0;

/// Largest gain the plan applies, dB.
pub const MAX_GAIN_DB: f64 = 60.0;

/// Most measuring passes of the gain search when the input is too long to
/// record (`search::MAX_RECORD_FRAMES`).
pub const MAX_SEARCH_PASSES: usize = 8;

/// The search stops within this many LU of the target.
pub const SEARCH_TOLERANCE_LU: f64 = 0.02;

struct StyleSettings {
    eq_cap_db: f64,
    lookahead_ms: f64,
    release_ms: f64,
    widen: f64,
}

fn settings(style: Style) -> StyleSettings {
    match style {
        Style::Gentle => StyleSettings {
            eq_cap_db: 1.5,
            lookahead_ms: 5.0,
            release_ms: 200.0,
            widen: 1.0,
        },
        Style::Balanced => StyleSettings {
            eq_cap_db: 3.0,
            lookahead_ms: 3.0,
            release_ms: 120.0,
            widen: 1.1,
        },
        Style::Punchy => StyleSettings {
            eq_cap_db: 4.0,
            lookahead_ms: 1.5,
            release_ms: 60.0,
            widen: 1.15,
        },
    }
}

/// A planned chain and the warnings met on the way.
#[derive(Clone, Debug)]
pub struct Plan {
    pub chain: Chain,
    pub warnings: Vec<String>,
    /// The gain search's recordings of the front, one per deliverable
    /// (shared within a group), for rendering without decoding again.
    pub recordings: Recordings,
}

/// How a deliverable's gain was found, which tells its render how to run.
#[derive(Clone, Default)]
pub enum GainBasis {
    /// Rendered from the input, the limiter running (a saved chain, an
    /// input too long to record).
    #[default]
    Input,
    /// Searched on this recording of the front, which the render uses.
    Recorded(Arc<Recorder>),
    /// Predicted without a pass (no limiting expected): rendered with the
    /// limiter assumed idle and checked; searched if it would act.
    Predicted,
}

/// The [`GainBasis`] of each deliverable (a recording shared within a
/// group).
#[derive(Clone, Default)]
pub struct Recordings(pub Vec<GainBasis>);

impl Recordings {
    /// The recording for deliverable `i`, if any.
    pub fn get(&self, i: usize) -> Option<&Recorder> {
        match self.0.get(i) {
            Some(GainBasis::Recorded(r)) => Some(r),
            _ => None,
        }
    }

    /// Whether deliverable `i`'s gain is predicted.
    pub fn predicted(&self, i: usize) -> bool {
        matches!(self.0.get(i), Some(GainBasis::Predicted))
    }
}

impl std::fmt::Debug for Recordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|r| match r {
                GainBasis::Input => "input".to_string(),
                GainBasis::Recorded(r) => format!("recorded {}", r.frames()),
                GainBasis::Predicted => "predicted".to_string(),
            }))
            .finish()
    }
}

/// Longest front stream a recording keeps, samples (all channels): 256 MB
/// of `f64`, 5.8 minutes of stereo at 48 kHz. Longer inputs render from
/// the file.
pub const MAX_FRONT_SAMPLES: usize = 1 << 25;

/// Checks the input can be mastered: not silent, mono or stereo.
pub fn check_input(a: &MixAnalysis) -> Result<f64, Error> {
    let path = a.path.clone();
    if a.channels > 2 {
        return Err(Error::Content {
            path,
            problem: format!(
                "{} channels: sheen master handles mono and stereo only (downmix first)",
                a.channels
            ),
        });
    }
    if a.sample_peak_dbfs.is_none() {
        return Err(Error::Content {
            path,
            problem: "digital silence: nothing to master".into(),
        });
    }
    a.integrated_lufs.ok_or_else(|| Error::Content {
        path,
        problem: "no audio above the -70 LUFS gate (BS.1770-4): nothing to master".into(),
    })
}

/// Plans the chain for `targets` (name, target) in `style`, searching each
/// deliverable's gain with render passes over `a.path`.
pub fn plan(a: &MixAnalysis, targets: &[(String, Target)], style: Style) -> Result<Plan, Error> {
    let integrated = check_input(a)?;
    let s = settings(style);
    let mut warnings = Vec::new();
    if integrated < WARN_QUIET_LUFS {
        warnings.push(format!(
            "{}: very quiet input ({integrated:.1} LUFS): its noise floor is raised with it",
            a.path.display()
        ));
    }
    let source = SourceFacts {
        file: a.path.display().to_string(),
        sample_rate_hz: a.sample_rate_hz,
        channels: a.channels,
        duration_s: a.duration_s,
        integrated_lufs: integrated,
        loudness_range_lu: a.loudness_range_lu,
        true_peak_dbtp: a.true_peak_dbtp.unwrap_or(f64::NEG_INFINITY),
        crest_db: a.crest_db,
        correlation: a.correlation,
    };
    let eq = plan_eq(&a.mid_spectrum, style, s.eq_cap_db);
    let width = (a.channels == 2).then(|| plan_width(a, style, s.widen));
    let compressor = plan_compressor(a, style);
    let mut chain = Chain {
        version: CHAIN_VERSION,
        style,
        source,
        eq,
        eq_linear_phase: false,
        width,
        compressor,
        deliverables: Vec::new(),
    };
    for (name, t) in targets {
        let d = plan_deliverable(a, &chain, name, t, &s, integrated)?;
        chain.deliverables.push(d);
    }
    let recordings = search_gains(a, &mut chain, integrated, &mut warnings)?;
    Ok(Plan {
        chain,
        warnings,
        recordings,
    })
}

fn band_mean(dev: &[(f64, f64)], lo: f64, hi: f64) -> Option<f64> {
    let v: Vec<f64> = dev
        .iter()
        .filter(|(f, _)| *f >= lo && *f <= hi)
        .map(|(_, d)| *d)
        .collect();
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

/// Corrective EQ bands from the mid spectrum.
pub fn plan_eq(mid: &[BandLevel], style: Style, cap_db: f64) -> Vec<EqBand> {
    let reference = |f: f64| REFERENCE_TILT_DB_PER_OCT * (f / 1000.0).log2();
    let usable: Vec<&BandLevel> = mid
        .iter()
        .filter(|b| b.hz >= 31.5 && b.hz <= 16_000.0 && b.db > -120.0)
        .collect();
    let offs: Vec<f64> = usable
        .iter()
        .filter(|b| b.hz >= 200.0 && b.hz <= 5000.0)
        .map(|b| b.db - reference(b.hz))
        .collect();
    if offs.is_empty() {
        return Vec::new();
    }
    let offset = offs.iter().sum::<f64>() / offs.len() as f64;
    let dev: Vec<(f64, f64)> = usable
        .iter()
        .map(|b| (b.hz, b.db - reference(b.hz) - offset))
        .collect();
    let curve =
        format!("neutral curve: {REFERENCE_TILT_DB_PER_OCT} dB/oct tilt matched over 200 Hz-5 kHz");
    let mut bands = Vec::new();
    let capped = |d: f64, cap: f64| (-0.5 * d).clamp(-cap, cap);
    let round = |g: f64| (g * 10.0).round() / 10.0;
    if let Some(low) = band_mean(&dev, 40.0, 120.0) {
        let g = round(capped(low, cap_db));
        if g.abs() >= 0.5 {
            bands.push(EqBand {
                kind: EqKind::LowShelf,
                freq_hz: 100.0,
                q: std::f64::consts::FRAC_1_SQRT_2,
                gain_db: g,
                reason: format!(
                    "mid spectrum 40-120 Hz is {low:+.1} dB from the {curve} -> {g:+.1} dB low shelf (half the deviation, capped at {cap_db} dB for {})",
                    style.name()
                ),
            });
        }
    }
    if let Some(high) = band_mean(&dev, 6300.0, 16_000.0) {
        let g = round(capped(high, cap_db));
        if g.abs() >= 0.5 {
            bands.push(EqBand {
                kind: EqKind::HighShelf,
                freq_hz: 8000.0,
                q: std::f64::consts::FRAC_1_SQRT_2,
                gain_db: g,
                reason: format!(
                    "mid spectrum 6.3-16 kHz is {high:+.1} dB from the {curve} -> {g:+.1} dB high shelf (half the deviation, capped at {cap_db} dB for {})",
                    style.name()
                ),
            });
        }
    }
    // mid-band bell: the largest 3-band-smoothed deviation in 250 Hz-4 kHz
    let mut best: Option<(f64, f64)> = None;
    for w in dev.windows(3) {
        let (f, _) = w[1];
        if !(250.0..=4000.0).contains(&f) {
            continue;
        }
        let d = (w[0].1 + w[1].1 + w[2].1) / 3.0;
        if best.is_none_or(|(_, b)| d.abs() > b.abs()) {
            best = Some((f, d));
        }
    }
    if let Some((f, d)) = best {
        let cap = cap_db * 2.0 / 3.0;
        let g = round(capped(d, cap));
        if d.abs() > 2.0 && g.abs() >= 0.5 {
            bands.push(EqBand {
                kind: EqKind::Peak,
                freq_hz: f,
                q: 1.0,
                gain_db: g,
                reason: format!(
                    "mid spectrum around {f} Hz is {d:+.1} dB from the {curve} (3-band average) -> {g:+.1} dB bell, Q 1 (half, capped at {cap:.1} dB)"
                ),
            });
        }
    }
    bands
}

/// Glue compression from crest factor and loudness range: a slow, low-ratio
/// RMS compressor whose threshold sits 3 dB above the mix's RMS level, so
/// only the louder passages are held back (make-up is left to the gain
/// stage). Planned when LRA or crest exceed the style's limits (gentle
/// 12 LU / 20 dB, balanced 8 LU / 18 dB, punchy 5 LU / 15 dB); otherwise
/// the stage is written disabled with the measurements as its reason.
fn plan_compressor(a: &MixAnalysis, style: Style) -> Option<CompressorStage> {
    let (lra_max, crest_max, ratio, attack_ms, release_ms) = match style {
        Style::Gentle => (12.0, 20.0, 1.5, 30.0, 250.0),
        Style::Balanced => (8.0, 18.0, 2.0, 20.0, 150.0),
        Style::Punchy => (5.0, 15.0, 3.0, 10.0, 100.0),
    };
    let lra = a.loudness_range_lu.unwrap_or(0.0);
    let crest = a.crest_db?;
    let rms_dbfs = a.sample_peak_dbfs? - crest;
    let threshold_db = (rms_dbfs + 3.0).min(-1.0);
    let enabled = lra > lra_max || crest > crest_max;
    let params = CompressorParams {
        threshold_db: (threshold_db * 10.0).round() / 10.0,
        ratio,
        knee_db: 6.0,
        attack_ms,
        release_ms,
        makeup_db: 0.0,
        detector: Detector::Rms,
        rms_window_ms: 50.0,
        stereo_link: 1.0,
        lookahead_ms: 0.0,
        sidechain_hpf_hz: 80.0,
    };
    let reason = if enabled {
        format!(
            "loudness range {lra:.1} LU (limit {lra_max}) / crest factor {crest:.1} dB (limit {crest_max}) for {}: {ratio}:1 RMS glue compression, threshold {:.1} dBFS = RMS {rms_dbfs:.1} dBFS + 3 dB",
            style.name(),
            params.threshold_db
        )
    } else {
        format!(
            "loudness range {lra:.1} LU and crest factor {crest:.1} dB are within the {} limits ({lra_max} LU, {crest_max} dB): compressor bypassed",
            style.name()
        )
    };
    Some(CompressorStage {
        enabled,
        params,
        reason,
    })
}

/// Width stage from correlation, side/mid and low-end side energy.
fn plan_width(a: &MixAnalysis, style: Style, widen: f64) -> WidthStage {
    let mut reasons = Vec::new();
    let mono_below_hz = match a.low_side_to_mid_db {
        Some(r) if r > -15.0 => {
            reasons.push(format!(
                "side/mid energy below {LOW_END_HZ} Hz is {r:.1} dB (> -15 dB) -> mono below {LOW_END_HZ} Hz (LR4)"
            ));
            Some(LOW_END_HZ)
        }
        Some(r) => {
            reasons.push(format!(
                "side/mid energy below {LOW_END_HZ} Hz is {r:.1} dB: low end already mono enough"
            ));
            None
        }
        None => {
            reasons.push("no low-end content to judge".into());
            None
        }
    };
    let corr = a.correlation.unwrap_or(1.0);
    let sm = a.side_to_mid_db.unwrap_or(f64::NEG_INFINITY);
    let width = if corr < 0.0 {
        reasons.push(format!(
            "correlation {corr:.2} < 0 risks cancellation in mono -> width 0.8"
        ));
        0.8
    } else if sm > -3.0 {
        reasons.push(format!(
            "side/mid {sm:.1} dB (> -3 dB, very wide) -> width 0.9"
        ));
        0.9
    } else if sm < -20.0 && widen > 1.0 {
        reasons.push(format!(
            "side/mid {sm:.1} dB (< -20 dB, narrow) -> width {widen} ({})",
            style.name()
        ));
        widen
    } else {
        reasons.push(format!(
            "correlation {corr:.2}, side/mid {sm:.1} dB: width kept at 1.0"
        ));
        1.0
    };
    WidthStage {
        width,
        mono_below_hz,
        reason: reasons.join("; "),
    }
}

/// How far below the ceiling the limiter aims, dB: true-peak meters differ
/// by their interpolation filters (measured: ffmpeg's `ebur128` reads up to
/// 0.07 dB above sheen's meter on the corpus, bench/master_corpus_ffmpeg.sh).
pub const TRUE_PEAK_SAFETY_DB: f64 = 0.15;

/// A stable seed from a name (FNV-1a), so dither is reproducible.
pub fn seed_for(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn plan_deliverable(
    a: &MixAnalysis,
    chain: &Chain,
    name: &str,
    t: &Target,
    s: &StyleSettings,
    integrated: f64,
) -> Result<Deliverable, Error> {
    let rate = t.sample_rate_hz.unwrap_or(a.sample_rate_hz);
    let dither = (t.bits == 16 || (t.dither && t.bits < 32)).then(|| DitherStage {
        noise_shaping: if t.bits == 16 && rate <= 48_000 {
            NoiseShaping::Lipshitz
        } else {
            NoiseShaping::None
        },
        seed: seed_for(name),
    });
    let dual_mono = t.stereo && a.channels == 1;
    let output = OutputStage {
        sample_rate_hz: rate,
        channels: dual_mono.then_some(2),
        bits: t.bits,
        reason: format!(
            "target {name}: {} Hz ({}), {}{}{}",
            rate,
            if t.sample_rate_hz.is_some() && rate != a.sample_rate_hz {
                format!("resampled from {} Hz", a.sample_rate_hz)
            } else if t.sample_rate_hz.is_some() {
                "as the target asks".into()
            } else {
                "the input's rate".into()
            },
            if t.bits == 32 {
                "32-bit float".to_string()
            } else {
                format!("{}-bit integer", t.bits)
            },
            match &dither {
                Some(d) => format!(
                    ", TPDF dither{}",
                    if d.noise_shaping == NoiseShaping::Lipshitz {
                        " with 3-tap E-weighted noise shaping"
                    } else {
                        ""
                    }
                ),
                None => String::new(),
            },
            if dual_mono {
                "; the target is stereo (CD audio): the mono input is written as dual mono"
            } else {
                ""
            }
        ),
        dither,
    };
    let limiter = LimiterStage {
        ceiling_dbtp: t.true_peak_dbtp,
        lookahead_ms: s.lookahead_ms,
        release_ms: s.release_ms,
        oversampling: 8,
        safety_db: TRUE_PEAK_SAFETY_DB,
        reason: format!(
            "target {name} allows {} dBTP; look-ahead {} ms and release {} ms for {}; detection at 4x (the meter's interpolator) and 8x, aiming {TRUE_PEAK_SAFETY_DB} dB below so other meters (ffmpeg's interpolator reads up to 0.07 dB higher) agree",
            t.true_peak_dbtp,
            s.lookahead_ms,
            s.release_ms,
            chain.style.name()
        ),
    };
    let base = t.integrated_lufs - integrated;
    let d = Deliverable {
        target: name.to_string(),
        integrated_lufs: t.integrated_lufs,
        true_peak_dbtp: t.true_peak_dbtp,
        gain: GainStage {
            gain_db: base.min(MAX_GAIN_DB),
            reason: format!(
                "integrated {integrated:.1} LUFS -> {base:+.1} dB to reach {} LUFS (before the search)",
                t.integrated_lufs
            ),
        },
        limiter,
        output,
    };
    Ok(d)
}

/// Sets every deliverable's gain: predicted from the analysis where no
/// limiting is expected (see [`predicted_gain`]; the render checks it),
/// else one recorded pass of the front per distinct (rate, channels,
/// limiter detection) and a search on it per deliverable (see
/// [`super::search`]); inputs too long to record fall back to measuring
/// render passes.
fn search_gains(
    a: &MixAnalysis,
    chain: &mut Chain,
    integrated: f64,
    warnings: &mut Vec<String>,
) -> Result<Recordings, Error> {
    let n = chain.deliverables.len();
    let mut done = vec![false; n];
    let mut recordings = Recordings(vec![GainBasis::Input; n]);
    let front_db = super::predict::front_gain_db(a, chain);
    for (j, d) in chain.deliverables.iter_mut().enumerate() {
        if let Some((gain, reason, w)) = front_db.and_then(|f| predicted_gain(a, d, f, integrated))
        {
            d.gain.gain_db = gain;
            d.gain.reason = reason;
            warnings.extend(w);
            done[j] = true;
            recordings.0[j] = GainBasis::Predicted;
        }
    }
    for i in 0..n {
        if done[i] {
            continue;
        }
        let k = group_key(a, &chain.deliverables[i]);
        let group: Vec<usize> = (i..n)
            .filter(|&j| !done[j] && group_key(a, &chain.deliverables[j]) == k)
            .collect();
        let (results, rec) = search_group(a, chain, &group, integrated, true)?;
        for (&j, r) in group.iter().zip(results) {
            let (gain, reason, w) = r;
            let d = &mut chain.deliverables[j];
            d.gain.gain_db = gain;
            d.gain.reason = reason;
            warnings.extend(w);
            done[j] = true;
            recordings.0[j] = rec.clone().map_or(GainBasis::Input, GainBasis::Recorded);
        }
    }
    Ok(recordings)
}

/// Deliverables sharing this key share a recording of the front.
fn group_key(a: &MixAnalysis, d: &Deliverable) -> (u32, usize, usize, u64) {
    (
        d.output.sample_rate_hz,
        output_channels(d, a.channels),
        d.limiter.oversampling,
        d.limiter.lookahead_ms.to_bits(),
    )
}

/// Which part of a predicted gain's reason marks it (see
/// [`predicted_gain`]).
pub const PREDICTED: &str = "predicted from the analysis' mid/side spectra";

/// The gain of `d` without a pass over the audio, where no limiting is
/// expected: the output keeps the input's rate and channels, and the
/// input's true peak raised by the gain to the target stays under the
/// limiter's target. The front's loudness change `front_db` is predicted
/// from the analysis' spectra ([`super::predict`]); the render assumes the
/// limiter idle and checks it, and a limiter needed after all is searched
/// then ([`search_deliverable`]). `None` where the conditions fail.
fn predicted_gain(
    a: &MixAnalysis,
    d: &Deliverable,
    front_db: f64,
    integrated: f64,
) -> Option<GainChoice> {
    let base = d.integrated_lufs - integrated;
    let gain = base - front_db;
    let tp = a.true_peak_dbtp?;
    let target = limiter_target_dbtp(d);
    let ok = d.output.sample_rate_hz == a.sample_rate_hz
        && output_channels(d, a.channels) == a.channels
        && gain <= MAX_GAIN_DB
        && under_limiter(a, d, base)
        && under_limiter(a, d, gain);
    ok.then(|| {
        let reason = format!(
            "integrated {integrated:.1} LUFS -> {base:+.1} dB to reach {} LUFS; the chain before the limiter changes the loudness by {front_db:+.2} dB ({PREDICTED}; no limiting expected: the input's true peak {tp:.1} dBTP raised by {gain:+.2} dB stays under the limiter's {target:.2} dBTP), so {gain:+.2} dB",
            d.integrated_lufs
        );
        (gain, reason, gain_warnings(a, d, gain, 0.0, false))
    })
}

/// The peak `d`'s limiter aims at (ceiling minus safety), dBTP.
fn limiter_target_dbtp(d: &Deliverable) -> f64 {
    gain_to_db(TruePeakLimiter::target_for(&limiter_params(d)))
}

/// Whether the input's true peak raised by `gain_db` stays at or under the
/// peak `d`'s limiter aims at (no limiting likely; false without a peak).
fn under_limiter(a: &MixAnalysis, d: &Deliverable, gain_db: f64) -> bool {
    a.true_peak_dbtp
        .is_some_and(|tp| tp + gain_db <= limiter_target_dbtp(d))
}

/// The gain search of deliverable `j` of `chain` alone (one whose
/// predicted gain needs the limiter after all): its gain, reason and
/// warnings, and the recording its render may use.
pub fn search_deliverable(
    a: &MixAnalysis,
    chain: &Chain,
    j: usize,
) -> Result<(GainChoice, Option<Arc<Recorder>>), Error> {
    let integrated = check_input(a)?;
    let (mut results, rec) = search_group(a, chain, &[j], integrated, false)?;
    Ok((results.remove(0), rec))
}

/// One recorded pass of the front for the deliverables `group` of `chain`
/// (one [`group_key`]) and the search of each one's gain on it (in
/// parallel); a light recording first when `light_first` and no limiting
/// looks likely. Returns the gains in `group`'s order and the recording,
/// where the renders can use it.
fn search_group(
    a: &MixAnalysis,
    chain: &Chain,
    group: &[usize],
    integrated: f64,
    light_first: bool,
) -> Result<(Vec<GainChoice>, Option<Arc<Recorder>>), Error> {
    let i = group[0];
    let k = group_key(a, &chain.deliverables[i]);
    let d0 = chain.deliverables[i].clone();
    let fs = d0.output.sample_rate_hz as f64;
    let expected = a.frames as f64 * fs / a.sample_rate_hz as f64;
    let record = |light: bool| -> Result<(Recorder, bool), Error> {
        let mut rec = Recorder::new(&limiter_params(&d0), fs, a.channels, k.1 > a.channels);
        if expected > search::MAX_RECORD_FRAMES as f64 {
            return Ok((rec, false));
        }
        let stream = expected as usize + 2 * render::CHUNK_FRAMES;
        if light {
            rec.record_light(a.frames as usize);
        } else if stream * a.channels <= MAX_FRONT_SAMPLES {
            rec.keep_front(stream);
        }
        render_source(
            &a.path,
            a.decoded.as_deref(),
            chain,
            &d0,
            &mut Sink::Front(&mut rec),
        )?;
        let recorded = !rec.overflowed();
        Ok((rec, recorded))
    };
    // a light recording (no front kept) where the input's true peak
    // raised by the gain to the target stays under every limiter's
    // target (no limiting likely) and the render reads the input's
    // frames as they are; recorded again with the front kept if the
    // search needs limiting after all
    let same_rate = d0.output.sample_rate_hz == a.sample_rate_hz;
    let light = light_first
        && same_rate
        && group.iter().all(|&j| {
            let d = &chain.deliverables[j];
            under_limiter(a, d, d.integrated_lufs - integrated)
        });
    let (mut rec, mut recorded) = record(light)?;
    if rec.is_light()
        && !(recorded
            && group.iter().all(|&j| {
                let d = &chain.deliverables[j];
                search::unlimited_suffices(
                    &rec,
                    d.integrated_lufs,
                    &limiter_params(d),
                    fs,
                    MAX_GAIN_DB,
                )
            }))
    {
        (rec, recorded) = record(false)?;
    }
    // the deliverables of a group are searched in parallel
    let results: Vec<Result<GainChoice, Error>> = {
        let rec = &rec;
        std::thread::scope(|s| {
            let jobs: Vec<_> = group
                .iter()
                .map(|&j| {
                    s.spawn(move || {
                        let d = &chain.deliverables[j];
                        if recorded {
                            Ok(searched_gain(a, d, rec, integrated))
                        } else {
                            measured_gain(a, chain, d, integrated)
                        }
                    })
                })
                .collect();
            jobs.into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    rec.release_search();
    let rec = (recorded && (rec.front().is_some() || rec.is_light())).then(|| Arc::new(rec));
    Ok((results.into_iter().collect::<Result<Vec<_>, _>>()?, rec))
}

/// A deliverable's gain (dB), its reason and warnings.
pub type GainChoice = (f64, String, Vec<String>);

/// The warnings of a searched gain.
fn gain_warnings(
    a: &MixAnalysis,
    d: &Deliverable,
    gain: f64,
    err: f64,
    capped: bool,
) -> Vec<String> {
    let mut w = Vec::new();
    if gain > WARN_GAIN_DB {
        w.push(format!(
            "{}: target {} needs {gain:+.1} dB of gain (more than {WARN_GAIN_DB} dB)",
            a.path.display(),
            d.target
        ));
    }
    if capped || err.abs() > 0.1 {
        w.push(format!(
            "{}: target {} ({} LUFS) is not reachable under a {} dBTP ceiling{}: closest {:+.2} LU",
            a.path.display(),
            d.target,
            d.integrated_lufs,
            d.true_peak_dbtp,
            if capped {
                format!(
                    " without more than {} dB of limiting",
                    search::MAX_LIMITING_DB
                )
            } else {
                String::new()
            },
            err
        ));
    }
    w
}

/// The gain of `d` from the recording.
fn searched_gain(
    a: &MixAnalysis,
    d: &Deliverable,
    rec: &Recorder,
    integrated: f64,
) -> (f64, String, Vec<String>) {
    let fs = d.output.sample_rate_hz as f64;
    let base = d.integrated_lufs - integrated;
    let Some(f) = search::search(rec, d.integrated_lufs, &limiter_params(d), fs, MAX_GAIN_DB)
    else {
        return (base.min(MAX_GAIN_DB), d.gain.reason.clone(), Vec::new());
    };
    let reason = format!(
        "integrated {integrated:.1} LUFS -> {base:+.1} dB to reach {} LUFS; the chain before the limiter changes the loudness so that {:+.2} dB reach it unlimited; {:+.2} dB more make up for {:.1} dB peak limiting (predicted from one recorded pass in {} evaluation{}, {:+.3} LU)",
        d.integrated_lufs,
        f.unlimited_gain_db,
        f.gain_db - f.unlimited_gain_db,
        f.gain_reduction_db,
        f.evaluations,
        if f.evaluations == 1 { "" } else { "s" },
        f.error_lu
    );
    let w = gain_warnings(a, d, f.gain_db, f.error_lu, f.capped);
    (f.gain_db, reason + &out_of_reach(f.capped), w)
}

/// The gain of `d` by measuring render passes (inputs too long to record).
fn measured_gain(
    a: &MixAnalysis,
    chain: &Chain,
    d: &Deliverable,
    integrated: f64,
) -> Result<(f64, String, Vec<String>), Error> {
    let target = d.integrated_lufs;
    let base = target - integrated;
    let cap = (base + search::MAX_LIMITING_DB).min(MAX_GAIN_DB);
    let mut d = d.clone();
    d.gain.gain_db = base.min(cap);
    let mut points: Vec<(f64, f64)> = Vec::new();
    let mut best: Option<(f64, f64, f64)> = None; // gain, error, GR
    let mut passes = 0;
    let mut capped = false;
    for _ in 0..MAX_SEARCH_PASSES {
        passes += 1;
        let (lufs, stats) = measure_loudness(&a.path, chain, &d)?;
        let Some(lufs) = lufs else { break };
        let err = lufs - target;
        if best.is_none_or(|(_, e, _)| err.abs() < e.abs()) {
            best = Some((d.gain.gain_db, err, stats.max_gain_reduction_db));
        }
        if err.abs() <= SEARCH_TOLERANCE_LU {
            break;
        }
        if d.gain.gain_db >= cap && err < 0.0 {
            capped = true;
            break;
        }
        points.push((d.gain.gain_db, lufs));
        let next = match points.as_slice() {
            [.., (g0, l0), (g1, l1)] if (l1 - l0).abs() > 1e-6 => {
                let slope = ((l1 - l0) / (g1 - g0)).clamp(0.05, 1.0);
                g1 + (target - l1) / slope
            }
            _ => d.gain.gain_db - err,
        };
        d.gain.gain_db = next.min(cap);
    }
    let (gain, err, gr) = best.unwrap_or((d.gain.gain_db, f64::NAN, 0.0));
    let reason = format!(
        "integrated {integrated:.1} LUFS -> {base:+.1} dB to reach {target} LUFS; {:+.2} dB more makes up for the EQ and {gr:.1} dB peak limiting (measured in {passes} render pass{})",
        gain - base,
        if passes == 1 { "" } else { "es" }
    );
    let w = gain_warnings(a, &d, gain, err, capped);
    Ok((gain, reason + &out_of_reach(capped), w))
}

/// The note a gain reason carries when the search stopped at its bound
/// (verify then does not push the gain further).
pub const OUT_OF_REACH: &str = "the target is out of reach";

fn out_of_reach(capped: bool) -> String {
    if capped {
        format!(
            "; {OUT_OF_REACH} without more than {} dB of limiting",
            search::MAX_LIMITING_DB
        )
    } else {
        String::new()
    }
}
