//! Mastering: analyse → plan → render → verify (DESIGN.md, "Mastering").
//!
//! - [`analyse`]: one streamed pass of `sheen-meter` over the mix;
//! - [`plan`]: the [`Chain`] document, every value with a reason;
//! - [`render`]: applies a chain deliverable, streaming and bit-exact;
//! - [`predict`]: the front's loudness change from the analysis' spectra:
//!   where no limiting is expected the gain is predicted without a pass
//!   over the audio, rendered with the limiter assumed idle and checked by
//!   the limiter's own detection (a render that finds it would act stops
//!   and the gain is searched instead);
//! - [`search`]: the planner's gain search on one recorded pass;
//! - [`verify`]: measures what is written (in the same pass, as stored:
//!   the figures equal reading the file back); a loudness miss of more than
//!   0.1 LU is corrected in the pre-limiter gain and rendered again (up to
//!   [`MAX_RENDERS`] renders), a true-peak over raises the limiter's safety
//!   margin by the over. The corrected values are written back into the
//!   chain, so saving it and rendering it again gives the same bits;
//! - [`targets`]: loudness targets as data; [`preview`]: A/B excerpts.

pub mod analyse;
pub mod chain;
pub mod plan;
pub mod predict;
pub mod preview;
pub mod render;
pub mod search;
pub mod targets;
pub mod verify;

pub use analyse::{analyse, MixAnalysis};
pub use chain::{Chain, Deliverable, Style};
pub use plan::{plan, Plan};
pub use targets::{Target, Targets};
pub use verify::{measure_file, Measured, Verdict};

use crate::Error;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Most renders per deliverable (the first plus corrections).
pub const MAX_RENDERS: usize = 3;

/// The report of one deliverable.
#[derive(Clone, Debug, Serialize)]
pub struct DeliverableReport {
    pub target: String,
    pub file: String,
    pub target_lufs: f64,
    pub ceiling_dbtp: f64,
    pub sample_rate_hz: u32,
    pub bits: u32,
    pub before: Measured,
    pub after: Measured,
    pub loudness_error_lu: Option<f64>,
    pub true_peak_margin_db: Option<f64>,
    pub pass: bool,
    /// Renders made (1 = the plan was right first time).
    pub renders: usize,
    pub limiter_max_gain_reduction_db: f64,
    pub clipped_samples: u64,
    /// This deliverable's stages with their reasons.
    pub chain: Deliverable,
}

/// The report of a mastering job.
#[derive(Clone, Debug, Serialize)]
pub struct MasterReport {
    pub input: String,
    pub before: Measured,
    pub warnings: Vec<String>,
    pub deliverables: Vec<DeliverableReport>,
    /// The whole chain (shared stages and every deliverable) with reasons.
    pub chain: Chain,
}

/// The "before" figures of an analysis.
pub fn before(a: &MixAnalysis) -> Measured {
    Measured {
        integrated_lufs: a.integrated_lufs,
        true_peak_dbtp: a.true_peak_dbtp,
        loudness_range_lu: a.loudness_range_lu,
        plr_db: a.plr_db,
    }
}

/// Renders every deliverable of `chain` from `input` to `outputs` (one per
/// deliverable, same order), verifying and correcting each (see the module
/// docs); corrections are written back into `chain`. Deliverables render in
/// parallel (each render is independent, so the bytes do not depend on the
/// thread count). On error, files this call already wrote are removed, so
/// a failed job leaves no output. A predicted gain
/// ([`plan::GainBasis::Predicted`]) is rendered with the limiter assumed
/// idle and checked; where it would act, the gain is searched on `analysis`
/// (the input's) and rendered again.
pub fn render_and_verify(
    input: &Path,
    chain: &mut Chain,
    outputs: &[PathBuf],
    before: Measured,
    warnings: &mut Vec<String>,
    recordings: &plan::Recordings,
    analysis: Option<&MixAnalysis>,
) -> Result<Vec<DeliverableReport>, Error> {
    assert_eq!(
        chain.deliverables.len(),
        outputs.len(),
        "one output per deliverable"
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(2));
    let n = outputs.len();
    let mut results: Vec<Option<RenderOutcome>> = (0..n).map(|_| None).collect();
    {
        let shared = &*chain;
        let mut next = 0;
        while next < n {
            let batch: Vec<usize> = (next..(next + threads).min(n)).collect();
            next += batch.len();
            let done: Vec<RenderOutcome> = std::thread::scope(|s| {
                let jobs: Vec<_> = batch
                    .iter()
                    .map(|&i| {
                        let out = &outputs[i];
                        let rec = recordings.get(i);
                        let predicted = recordings.predicted(i).then_some(analysis).flatten();
                        s.spawn(move || render_one(input, shared, i, out, before, rec, predicted))
                    })
                    .collect();
                jobs.into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            });
            for (&i, r) in batch.iter().zip(done) {
                let failed = r.result.is_err();
                results[i] = Some(r);
                if failed {
                    break;
                }
            }
            if results.iter().flatten().any(|r| r.result.is_err()) {
                break;
            }
        }
    }
    let mut reports = Vec::new();
    let mut error = None;
    let mut written = Vec::new();
    for r in results.into_iter().flatten() {
        written.extend(r.written);
        match r.result {
            Ok((report, w)) => {
                chain.deliverables[reports.len()] = report.chain.clone();
                warnings.extend(w);
                reports.push(report);
            }
            Err(e) => {
                error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = error {
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(reports)
}

/// One deliverable's render: its report and warnings, and the files it
/// wrote (for clean-up on error).
struct RenderOutcome {
    result: Result<(DeliverableReport, Vec<String>), Error>,
    written: Vec<PathBuf>,
}

/// Deliverable `i`'s render; `predicted` is the analysis its gain was
/// predicted from (see [`render_and_verify`]).
fn render_one(
    input: &Path,
    chain: &Chain,
    i: usize,
    out: &Path,
    before: Measured,
    rec: Option<&search::Recorder>,
    predicted: Option<&MixAnalysis>,
) -> RenderOutcome {
    let mut written = Vec::new();
    let mut d = chain.deliverables[i].clone();
    let result = render_one_inner(
        input,
        chain,
        i,
        &mut d,
        out,
        before,
        &mut written,
        rec,
        predicted,
    );
    RenderOutcome { result, written }
}

#[allow(clippy::too_many_arguments)]
fn render_one_inner(
    input: &Path,
    chain: &Chain,
    i: usize,
    dm: &mut Deliverable,
    out: &Path,
    before: Measured,
    written: &mut Vec<PathBuf>,
    rec: Option<&search::Recorder>,
    mut predicted: Option<&MixAnalysis>,
) -> Result<(DeliverableReport, Vec<String>), Error> {
    let mut renders = 0;
    let mut warnings = Vec::new();
    // the recording of a search made here (a predicted gain that needs the
    // limiter after all)
    let mut searched: Option<std::sync::Arc<search::Recorder>> = None;
    loop {
        renders += 1;
        let d = dm.clone();
        let rec = searched.as_deref().or(rec);
        let speculate = predicted.is_some();
        let Some((path, stats, after)) =
            render::render_to_file(input, chain, &d, out, rec, speculate)?
        else {
            // the limiter would act: search the gain, render again
            let a = predicted.take().expect("a speculative render");
            let ((gain, reason, w), r) = plan::search_deliverable(a, chain, i)?;
            dm.gain.gain_db = gain;
            dm.gain.reason = format!(
                "{reason}; predicted first, but the render met a peak the limiter would have to limit"
            );
            warnings.extend(w);
            searched = r;
            renders -= 1;
            continue;
        };
        if !written.contains(&path) {
            written.push(path.clone());
        }
        let v = verify::judge(&after, d.integrated_lufs, d.true_peak_dbtp);
        // a predicted gain lands closer than the verification's tolerance,
        // or is corrected (exactly: the limiter stayed idle)
        let closer = predicted.is_some()
            && v.loudness_error_lu
                .is_some_and(|e| e.abs() > verify::PREDICTED_TOLERANCE_LU);
        // a loudness correction the search already found out of reach
        let futile = v.loudness_error_lu.is_some_and(|e| e < 0.0)
            && d.gain.reason.contains(plan::OUT_OF_REACH);
        if (v.pass && !closer)
            || renders >= MAX_RENDERS
            || (futile && v.true_peak_margin_db.is_none_or(|o| o <= 0.0))
        {
            if !v.pass {
                warnings.push(format!(
                    "{}: target {} not met after {renders} render{} (loudness error {}, true-peak margin {})",
                    path.display(),
                    d.target,
                    if renders == 1 { "" } else { "s" },
                    v.loudness_error_lu.map_or("n/a".into(), |e| format!("{e:+.2} LU")),
                    v.true_peak_margin_db.map_or("n/a".into(), |e| format!("{e:+.2} dB")),
                ));
            }
            if stats.clipped_samples > 0 {
                warnings.push(format!(
                    "{}: {} samples clipped when writing",
                    path.display(),
                    stats.clipped_samples
                ));
            }
            return Ok((
                DeliverableReport {
                    target: d.target.clone(),
                    file: path.display().to_string(),
                    target_lufs: d.integrated_lufs,
                    ceiling_dbtp: d.true_peak_dbtp,
                    sample_rate_hz: d.output.sample_rate_hz,
                    bits: d.output.bits,
                    before,
                    after,
                    loudness_error_lu: v.loudness_error_lu,
                    true_peak_margin_db: v.true_peak_margin_db,
                    pass: v.pass,
                    renders,
                    limiter_max_gain_reduction_db: stats.max_gain_reduction_db,
                    clipped_samples: stats.clipped_samples,
                    chain: d,
                },
                warnings,
            ));
        }
        // correct and render again
        let tolerance = if predicted.is_some() {
            verify::PREDICTED_TOLERANCE_LU
        } else {
            verify::LOUDNESS_TOLERANCE_LU
        };
        if let Some(e) = v.loudness_error_lu.filter(|e| e.abs() > tolerance) {
            dm.gain.gain_db -= e;
            dm.gain.reason.push_str(&format!(
                "; verify measured {e:+.2} LU off target, gain corrected by {:+.2} dB",
                -e
            ));
        }
        if let Some(o) = v.true_peak_margin_db.filter(|o| *o > 0.0) {
            dm.limiter.safety_db += o + 0.02;
            dm.limiter.reason.push_str(&format!(
                "; verify measured {o:.3} dB over the ceiling, safety margin raised to {:.3} dB",
                dm.limiter.safety_db
            ));
        }
    }
}

/// The whole job for a planned chain: analyse `input`, plan for `targets`
/// in `style`, render and verify into `outputs` (one per target).
pub fn master_file(
    input: &Path,
    targets: &[(String, Target)],
    style: Style,
    outputs: &[PathBuf],
) -> Result<MasterReport, Error> {
    // the decoded samples (kept where decoding again costs more) serve
    // the gain search's recording pass
    let mut a = analyse::analyse_keeping(input, true)?;
    let Plan {
        mut chain,
        mut warnings,
        recordings,
    } = plan(&a, targets, style)?;
    a.decoded = None;
    let b = before(&a);
    let deliverables = render_and_verify(
        input,
        &mut chain,
        outputs,
        b,
        &mut warnings,
        &recordings,
        Some(&a),
    )?;
    Ok(MasterReport {
        input: input.display().to_string(),
        before: b,
        warnings,
        deliverables,
        chain,
    })
}

/// Renders a saved chain: `input` is analysed for the report's "before"
/// figures only; nothing is planned.
pub fn master_with_chain(
    input: &Path,
    mut chain: Chain,
    outputs: &[PathBuf],
) -> Result<MasterReport, Error> {
    let a = analyse(input)?;
    plan::check_input(&a)?;
    let b = before(&a);
    let mut warnings = Vec::new();
    let none = plan::Recordings::default();
    let deliverables =
        render_and_verify(input, &mut chain, outputs, b, &mut warnings, &none, None)?;
    Ok(MasterReport {
        input: input.display().to_string(),
        before: b,
        warnings,
        deliverables,
        chain,
    })
}
