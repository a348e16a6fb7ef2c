//! Plans a [`MatchChain`] from an input profile and a reference target, and
//! the whole `master --reference` job: analyse → plan → gain search →
//! render → verify (one corrective render when the loudness misses by more
//! than [`LOUDNESS_TOLERANCE_LU`] or the true peak is over).

use super::curve::{
    fir_taps, fit_fir_points, mid_curve, side_curve, CurveOptions, MatchAmounts, ReferenceTarget,
    FIT_ITERATIONS,
};
use super::profile::{profile_file_keeping, profile_reference, Decoded, Profile};
use super::render::{
    measure_loudness, render_to_file, DynamicsStage, LimiterStage, LoudnessStage, MatchChain,
    MatchEq, WidthNote, Written, MATCH_CHAIN_VERSION,
};
use crate::mastering::search::Recorder;
use crate::Error;
use serde::Serialize;
use sheen_dsp::control_rate::slow_rms;
use sheen_dsp::limiter::LimiterParams;
use sheen_meter::BandLevel;
use std::path::{Path, PathBuf};

/// Verify tolerance on integrated loudness, LU.
pub const LOUDNESS_TOLERANCE_LU: f64 = 0.1;

/// The gain search stops within this many LU.
pub const SEARCH_TOLERANCE_LU: f64 = 0.03;

/// Most measuring passes of the gain search.
pub const MAX_SEARCH_PASSES: usize = 6;

/// Options of a match job.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatchOptions {
    pub amounts: MatchAmounts,
    pub curve: CurveOptions,
    /// True-peak ceiling, dBTP.
    pub ceiling_dbtp: f64,
    /// Output word length (16, 24, 32).
    pub bits: u32,
    /// Loudness target overriding the reference's (album mastering), LUFS.
    pub target_lufs: Option<f64>,
}

impl Default for MatchOptions {
    fn default() -> Self {
        Self {
            amounts: MatchAmounts::default(),
            curve: CurveOptions::default(),
            ceiling_dbtp: -1.0,
            bits: 24,
            target_lufs: None,
        }
    }
}

/// Predicted change of broadband power (dB) when the bands of `levels` get
/// `gains_db`.
fn power_change_db(levels: &[BandLevel], gains_db: &[f64]) -> f64 {
    let (mut before, mut after) = (0.0, 0.0);
    for (b, g) in levels.iter().zip(gains_db) {
        if b.hz < 40.0 {
            continue; // below K-weighting's interest
        }
        let p = 10f64.powf(b.db / 10.0);
        before += p;
        after += p * 10f64.powf(g / 10.0);
    }
    if before > 0.0 {
        10.0 * (after / before).log10()
    } else {
        0.0
    }
}

/// Predicted broadband power change (dB) of the mid and side curves on
/// `input`'s spectra (40 Hz up).
fn eq_level_change_db(
    input: &Profile,
    mid: &[super::curve::BandGain],
    side: &[super::curve::BandGain],
) -> f64 {
    let sum = |levels: &[BandLevel], g: &[super::curve::BandGain]| -> (f64, f64) {
        levels
            .iter()
            .zip(g)
            .filter(|(b, _)| b.hz >= 40.0)
            .map(|(b, g)| {
                let p = 10f64.powf(b.db / 10.0);
                (p, p * 10f64.powf(g.gain_db / 10.0))
            })
            .fold((0.0, 0.0), |(a, b), (x, y)| (a + x, b + y))
    };
    let (m0, m1) = sum(&input.mid_db, mid);
    let (s0, s1) = sum(&input.side_db, side);
    if m0 + s0 > 0.0 {
        10.0 * ((m1 + s1) / (m0 + s0)).log10()
    } else {
        0.0
    }
}

/// Plans the chain for `input` towards `target` (no render pass: the gain
/// is the prediction; [`master_matched`] refines it by measuring).
pub fn plan_match(input: &Profile, target: &ReferenceTarget, opts: &MatchOptions) -> MatchChain {
    let a = opts.amounts;
    let in_lufs = input.integrated_lufs.unwrap_or(-70.0);
    let mid = mid_curve(input, target, a.tone, &opts.curve);
    let side = side_curve(input, target, &mid, a.width, &opts.curve);
    let fs = input.sample_rate_hz;
    let taps = fir_taps(fs);
    // the mid and side fits are independent: side on a second thread
    let (mid_points, side_points) = std::thread::scope(|s| {
        let side_job = (!side.is_empty()).then(|| {
            s.spawn(|| fit_fir_points(&side, &input.side_bins, fs, taps, FIT_ITERATIONS).0)
        });
        let mid_points = fit_fir_points(&mid, &input.mid_bins, fs, taps, FIT_ITERATIONS).0;
        let side_points = side_job.map_or(Vec::new(), |j| {
            j.join().unwrap_or_else(|e| std::panic::resume_unwind(e))
        });
        (mid_points, side_points)
    });
    let width_change = match (input.side_to_mid_db, target.side_to_mid_db) {
        (Some(i), Some(t)) => {
            // the side curve's energy change minus the mid curve's
            let dm = power_change_db(
                &input.mid_db,
                &mid.iter().map(|b| b.gain_db).collect::<Vec<_>>(),
            );
            let ds = power_change_db(
                &input.side_db,
                &side.iter().map(|b| b.gain_db).collect::<Vec<_>>(),
            );
            WidthNote {
                side_change_db: ((ds - dm) * 100.0).round() / 100.0,
                reason: format!(
                    "side/mid {i:.1} dB, reference {t:.1} dB; width amount {} applied band by band in the side curve: side/mid changes by {:+.2} dB",
                    a.width,
                    ds - dm
                ),
            }
        }
        _ => WidthNote {
            side_change_db: 0.0,
            reason: "mono input or reference: no width change".into(),
        },
    };
    let dynamics = plan_dynamics(input, target, a.dynamics);
    let target_lufs = opts
        .target_lufs
        .unwrap_or(in_lufs + a.loudness * (target.integrated_lufs - in_lufs));
    let eq_change = eq_level_change_db(input, &mid, &side);
    let gain_db = target_lufs - in_lufs - eq_change;
    let loudness_reason = match opts.target_lufs {
        Some(t) => format!("album plan sets {t:.2} LUFS"),
        None => format!(
            "input {in_lufs:.2} LUFS, reference {:.2} LUFS, x loudness {} -> {target_lufs:.2} LUFS",
            target.integrated_lufs, a.loudness
        ),
    };
    let n_boost = mid.iter().filter(|b| b.gain_db > 0.0).count();
    let n_cut = mid.iter().filter(|b| b.gain_db < 0.0).count();
    let max_b = mid.iter().map(|b| b.gain_db).fold(0.0, f64::max);
    let max_c = mid.iter().map(|b| b.gain_db).fold(0.0, f64::min);
    MatchChain {
        version: MATCH_CHAIN_VERSION,
        input: input.file.clone(),
        references: target.sources.clone(),
        amounts: a,
        eq: MatchEq {
            taps,
            reason: format!(
                "loudness-normalised 1/3-octave mid/side spectra compared over {}-{} Hz, smoothed (neighbour weight {}), capped at +/-{} dB around the curve centre, x tone {}: {n_boost} bands boosted (up to {max_b:+.1} dB), {n_cut} cut (down to {max_c:+.1} dB); linear-phase FIR of {taps} taps fitted to the band targets through the input's own spectrum",
                opts.curve.low_hz, opts.curve.high_hz, opts.curve.smoothing, opts.curve.cap_db, a.tone
            ),
            mid,
            side,
            mid_points,
            side_points,
        },
        width: width_change,
        dynamics,
        loudness: LoudnessStage {
            target_lufs,
            gain_db,
            reason: format!(
                "{loudness_reason}; EQ changes the level by about {eq_change:+.2} dB -> predicted gain {gain_db:+.2} dB before the limiter"
            ),
        },
        limiter: LimiterStage {
            params: LimiterParams {
                ceiling_dbtp: opts.ceiling_dbtp,
                lookahead_ms: 3.0,
                release_ms: 120.0,
                oversampling: 4,
                safety_db: 0.1,
            },
            reason: format!(
                "true-peak ceiling {} dBTP; detection on the meter's 4x interpolator, aiming 0.1 dB below",
                opts.ceiling_dbtp
            ),
        },
        bits: opts.bits,
    }
}

/// Dynamics: when the input's loudness range exceeds the target's, a slow
/// RMS compressor removes `amount` of the excess (ratio from
/// `LRA_out ≈ LRA_in / ratio` above a threshold at the lower end of the
/// loudness distribution, ratio ≤ 3); never expands.
pub fn plan_dynamics(input: &Profile, target: &ReferenceTarget, amount: f64) -> DynamicsStage {
    let (Some(li), Some(lt), Some(i)) = (
        input.loudness_range_lu,
        target.loudness_range_lu,
        input.integrated_lufs,
    ) else {
        return DynamicsStage {
            compressor: None,
            reason: "loudness range unknown: no compression".into(),
        };
    };
    let excess = li - lt;
    let reduce = amount * excess;
    if reduce < 0.5 || li < 1.0 {
        return DynamicsStage {
            compressor: None,
            reason: format!(
                "LRA {li:.1} LU vs reference {lt:.1} LU, x dynamics {amount}: {:+.1} LU to remove (< 0.5 LU, or the reference is more dynamic, and sheen never expands): no compression; the limiter sets the peak level",
                reduce.max(0.0)
            ),
        };
    }
    let ratio = (li / (li - reduce).max(0.5)).clamp(1.0, 3.0);
    let ratio = (ratio * 100.0).round() / 100.0;
    let threshold_db = ((i - 0.5 * li) * 10.0).round() / 10.0;
    DynamicsStage {
        compressor: Some(slow_rms(threshold_db, ratio)),
        reason: format!(
            "LRA {li:.1} LU vs reference {lt:.1} LU: x dynamics {amount} -> remove {reduce:.1} LU: RMS compressor ratio {ratio} (LRA_out ~ LRA_in / ratio) from {threshold_db} dBFS (integrated minus half the LRA), attack 30 ms, release 300 ms"
        ),
    }
}

/// The report of one matched file.
#[derive(Clone, Debug, Serialize)]
pub struct MatchReport {
    pub input: String,
    pub output: String,
    pub before: Profile,
    pub after: Written,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    pub loudness_error_lu: Option<f64>,
    pub pass: bool,
    /// Measuring passes of the gain search plus renders.
    pub passes: usize,
    /// Band spectra, loudness-normalised (dB re LUFS): before, after
    /// (predicted by the fitted FIR), reference.
    pub spectra: Vec<SpectrumRow>,
    /// Mean |after − reference| over 40 Hz–16 kHz, dB.
    pub match_error_db: f64,
    pub chain: MatchChain,
    pub warnings: Vec<String>,
}

/// One band of the before/after/reference comparison.
#[derive(Clone, Debug, Serialize)]
pub struct SpectrumRow {
    pub hz: f64,
    pub before_db: f64,
    pub planned_gain_db: f64,
    pub after_db: f64,
    pub reference_db: f64,
}

/// Searches the pre-limiter gain of `c` so that the render of `input` lands
/// on `c.loudness.target_lufs` (secant on measured loudness, each step one
/// render into a loudness meter). Returns the passes made.
pub fn search_gain(input: &Path, c: &mut MatchChain) -> Result<usize, Error> {
    search_gain_recorded(input, c, None).map(|(passes, _)| passes)
}

/// As [`search_gain`], also returning the recording of the front (when the
/// input was short enough to record), for [`render_verified`]. `decoded`:
/// the input's samples, when kept by the profile
/// ([`super::profile::profile_file_keeping`]).
pub fn search_gain_recorded(
    input: &Path,
    c: &mut MatchChain,
    decoded: Option<&Decoded>,
) -> Result<(usize, Option<Recorder>), Error> {
    let target = c.loudness.target_lufs;
    // one recorded pass of the front and a search on the prediction
    // (crate::mastering::search); long inputs measure render passes
    if let Some(mut rec) = super::render::record_front(input, c, decoded)? {
        let fs = rec_rate(input)?;
        if let Some(f) = crate::mastering::search::search(&rec, target, &c.limiter.params, fs, 60.0)
        {
            c.loudness.gain_db = f.gain_db;
            c.loudness.reason.push_str(&format!(
                "; predicted after the limiter from one recorded pass ({} evaluation{}): gain {:+.2} dB lands {:+.3} LU from the target",
                f.evaluations,
                if f.evaluations == 1 { "" } else { "s" },
                f.gain_db,
                f.error_lu
            ));
            rec.release_search();
            return Ok((1, rec.front().is_some().then_some(rec)));
        }
    }
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut best: Option<(f64, f64)> = None;
    let mut passes = 0;
    for _ in 0..MAX_SEARCH_PASSES {
        passes += 1;
        let (l, _) = measure_loudness(input, c)?;
        let Some(l) = l else { break };
        let err = l - target;
        if best.is_none_or(|(_, e)| err.abs() < e.abs()) {
            best = Some((c.loudness.gain_db, err));
        }
        if err.abs() <= SEARCH_TOLERANCE_LU {
            break;
        }
        pts.push((c.loudness.gain_db, l));
        let next = match pts.as_slice() {
            [.., (g0, l0), (g1, l1)] if (l1 - l0).abs() > 1e-6 => {
                let slope = ((l1 - l0) / (g1 - g0)).clamp(0.05, 1.0);
                g1 + (target - l1) / slope
            }
            _ => c.loudness.gain_db - err,
        };
        c.loudness.gain_db = next.min(60.0);
    }
    if let Some((g, e)) = best {
        c.loudness.gain_db = g;
        c.loudness.reason.push_str(&format!(
            "; measured after the limiter in {passes} pass{}: gain {g:+.2} dB lands {e:+.3} LU from the target",
            if passes == 1 { "" } else { "es" }
        ));
    }
    Ok((passes, None))
}

fn rec_rate(input: &Path) -> Result<f64, Error> {
    Ok(sheen_io::AudioReader::open(input)?.info().sample_rate_hz as f64)
}

/// Renders `c` to `out`, verifies, and corrects once (gain for loudness,
/// limiter safety for true peak). Returns the measurements and renders.
/// From `recorded` (the gain search's recording of the front, see
/// `super::render::render_recorded`) when given: bit-identical, without
/// decoding again.
pub fn render_verified(
    input: &Path,
    c: &mut MatchChain,
    out: &Path,
    recorded: Option<&Recorder>,
) -> Result<(PathBuf, (Written, Profile), usize), Error> {
    let mut renders = 0;
    loop {
        renders += 1;
        let (path, w, after) = match recorded {
            Some(r) => super::render::render_recorded_to_file(input, r, c, out)?,
            None => render_to_file(input, c, out)?,
        };
        let err = w.integrated_lufs.map(|l| l - c.loudness.target_lufs);
        let over = w
            .true_peak_dbtp
            .map(|t| t - c.limiter.params.ceiling_dbtp)
            .filter(|o| *o > 0.0);
        let miss = err.filter(|e| e.abs() > LOUDNESS_TOLERANCE_LU);
        if renders >= 2 || (miss.is_none() && over.is_none()) {
            return Ok((path, (w, after), renders));
        }
        if let Some(e) = miss {
            c.loudness.gain_db -= e;
            c.loudness.reason.push_str(&format!(
                "; verify measured {e:+.2} LU off, gain corrected by {:+.2} dB",
                -e
            ));
        }
        if let Some(o) = over {
            c.limiter.params.safety_db += o + 0.05;
            c.limiter.reason.push_str(&format!(
                "; verify measured {o:.3} dB over the ceiling, safety raised to {:.3} dB",
                c.limiter.params.safety_db
            ));
        }
    }
}

/// Before/after/reference rows, each band level re its file's integrated
/// loudness (after: measured on the written file).
pub fn spectrum_rows(
    input: &Profile,
    after: &Profile,
    target: &ReferenceTarget,
    c: &MatchChain,
) -> Vec<SpectrumRow> {
    let rel = |p: &Profile| -> Vec<f64> {
        let l = p.integrated_lufs.unwrap_or(0.0);
        p.mid_db
            .iter()
            .zip(p.side_db.iter().map(Some).chain(std::iter::repeat(None)))
            .map(|(m, s)| {
                let pw = 10f64.powf(m.db / 10.0) + s.map_or(0.0, |s| 10f64.powf(s.db / 10.0));
                10.0 * pw.max(1e-30).log10() - l
            })
            .collect()
    };
    let (b, a) = (rel(input), rel(after));
    let r: Vec<f64> = target
        .mid_rel_db
        .iter()
        .zip(
            target
                .side_rel_db
                .iter()
                .map(Some)
                .chain(std::iter::repeat(None)),
        )
        .map(|(m, s)| {
            let pw = 10f64.powf(m / 10.0) + s.map_or(0.0, |s| 10f64.powf(s / 10.0));
            10.0 * pw.max(1e-30).log10()
        })
        .collect();
    c.eq.mid
        .iter()
        .enumerate()
        .filter(|(i, _)| *i < b.len() && *i < a.len() && *i < r.len())
        .map(|(i, g)| SpectrumRow {
            hz: g.hz,
            before_db: round2(b[i]),
            planned_gain_db: g.gain_db,
            after_db: round2(a[i]),
            reference_db: round2(r[i]),
        })
        .collect()
}

/// Mean absolute difference (dB) of `rows`' after and reference levels over
/// 40 Hz–16 kHz (the benchmark's figure of merit).
pub fn mean_abs_difference_db(rows: &[SpectrumRow]) -> f64 {
    let d: Vec<f64> = rows
        .iter()
        .filter(|r| (40.0..=16_000.0).contains(&r.hz))
        .map(|r| (r.after_db - r.reference_db).abs())
        .collect();
    d.iter().sum::<f64>() / d.len().max(1) as f64
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The whole job: profile `input` and `references` (path, weight), plan,
/// search the gain, render to `out`, verify.
pub fn master_matched(
    input: &Path,
    references: &[(PathBuf, f64)],
    opts: &MatchOptions,
    out: &Path,
) -> Result<MatchReport, Error> {
    // the input and the references are measured at the same time
    let (before, refs) = std::thread::scope(|s| {
        let job = s.spawn(|| {
            references
                .iter()
                .map(|(p, _)| profile_reference(p))
                .collect::<Result<Vec<Profile>, Error>>()
        });
        let before = profile_file_keeping(input);
        let refs = job.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        (before, refs)
    });
    let ((before, decoded), refs) = (before?, refs?);
    let weighted: Vec<(&Profile, f64)> = refs
        .iter()
        .zip(references)
        .map(|(p, (_, w))| (p, *w))
        .collect();
    let target = ReferenceTarget::average(&weighted);
    master_decoded(input, before, decoded.as_ref(), &target, opts, out)
}

/// As [`master_matched`] with the input profiled and the target known.
pub fn master_with_target(
    input: &Path,
    before: Profile,
    target: &ReferenceTarget,
    opts: &MatchOptions,
    out: &Path,
) -> Result<MatchReport, Error> {
    master_decoded(input, before, None, target, opts, out)
}

/// As [`master_with_target`], reading `decoded` (the input's samples kept
/// by [`profile_file_keeping`]) instead of decoding the input again.
fn master_decoded(
    input: &Path,
    before: Profile,
    decoded: Option<&Decoded>,
    target: &ReferenceTarget,
    opts: &MatchOptions,
    out: &Path,
) -> Result<MatchReport, Error> {
    let warnings = Vec::new();
    let mut chain = plan_match(&before, target, opts);
    let (searched, rec) = search_gain_recorded(input, &mut chain, decoded)?;
    let (path, (after, after_profile), renders) =
        render_verified(input, &mut chain, out, rec.as_ref())?;
    Ok(make_report(
        input,
        before,
        target,
        chain,
        path,
        (after, after_profile),
        searched + renders,
        warnings,
    ))
}

/// Assembles the report of one rendered file from its pieces.
#[allow(clippy::too_many_arguments)]
pub fn make_report(
    input: &Path,
    before: Profile,
    target: &ReferenceTarget,
    chain: MatchChain,
    path: PathBuf,
    (after, after_profile): (Written, Profile),
    passes: usize,
    mut warnings: Vec<String>,
) -> MatchReport {
    let loudness_error_lu = after
        .integrated_lufs
        .map(|l| l - chain.loudness.target_lufs);
    let pass = loudness_error_lu.is_some_and(|e| e.abs() <= LOUDNESS_TOLERANCE_LU)
        && after
            .true_peak_dbtp
            .is_none_or(|t| t <= chain.limiter.params.ceiling_dbtp);
    if !pass {
        warnings.push(format!(
            "{}: target not met (loudness error {}, true peak {})",
            path.display(),
            loudness_error_lu.map_or("n/a".into(), |e| format!("{e:+.2} LU")),
            after
                .true_peak_dbtp
                .map_or("n/a".into(), |t| format!("{t:.2} dBTP"))
        ));
    }
    let mut report = MatchReport {
        input: input.display().to_string(),
        output: path.display().to_string(),
        spectra: spectrum_rows(&before, &after_profile, target, &chain),
        match_error_db: 0.0,
        before,
        after,
        target_lufs: chain.loudness.target_lufs,
        ceiling_dbtp: chain.limiter.params.ceiling_dbtp,
        loudness_error_lu,
        pass,
        passes,
        chain,
        warnings,
    };
    report.match_error_db = round2(mean_abs_difference_db(&report.spectra));
    report
}
