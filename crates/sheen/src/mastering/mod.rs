//! Mastering: analyse → plan → render → verify (DESIGN.md, "Mastering").
//!
//! - [`analyse`]: one streamed pass of `sheen-meter` over the mix;
//! - [`plan`]: the [`Chain`] document, every value with a reason;
//! - [`render`]: applies a chain deliverable, streaming and bit-exact;
//! - [`verify`]: measures what was written; a loudness miss of more than
//!   0.1 LU is corrected in the pre-limiter gain and rendered again (up to
//!   [`MAX_RENDERS`] renders), a true-peak over raises the limiter's safety
//!   margin by the over. The corrected values are written back into the
//!   chain, so saving it and rendering it again gives the same bits;
//! - [`targets`]: loudness targets as data; [`preview`]: A/B excerpts.

pub mod analyse;
pub mod chain;
pub mod plan;
pub mod preview;
pub mod render;
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
/// docs); corrections are written back into `chain`. On error, files this
/// call already wrote are removed, so a failed job leaves no output.
pub fn render_and_verify(
    input: &Path,
    chain: &mut Chain,
    outputs: &[PathBuf],
    before: Measured,
    warnings: &mut Vec<String>,
) -> Result<Vec<DeliverableReport>, Error> {
    assert_eq!(
        chain.deliverables.len(),
        outputs.len(),
        "one output per deliverable"
    );
    let mut written: Vec<PathBuf> = Vec::new();
    let result = (|| {
        let mut reports = Vec::new();
        for (i, out) in outputs.iter().enumerate() {
            let r = render_one(input, chain, i, out, before, warnings, &mut written)?;
            reports.push(r);
        }
        Ok(reports)
    })();
    if result.is_err() {
        for p in &written {
            let _ = std::fs::remove_file(p);
        }
    }
    result
}

fn render_one(
    input: &Path,
    chain: &mut Chain,
    i: usize,
    out: &Path,
    before: Measured,
    warnings: &mut Vec<String>,
    written: &mut Vec<PathBuf>,
) -> Result<DeliverableReport, Error> {
    let mut renders = 0;
    loop {
        renders += 1;
        let d = chain.deliverables[i].clone();
        let (path, stats) = render::render_to_file(input, chain, &d, out)?;
        if !written.contains(&path) {
            written.push(path.clone());
        }
        let after = measure_file(&path)?;
        let v = verify::judge(&after, d.integrated_lufs, d.true_peak_dbtp);
        if v.pass || renders >= MAX_RENDERS {
            if !v.pass {
                warnings.push(format!(
                    "{}: target {} not met after {renders} renders (loudness error {}, true-peak margin {})",
                    path.display(),
                    d.target,
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
            return Ok(DeliverableReport {
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
            });
        }
        // correct and render again
        let dm = &mut chain.deliverables[i];
        if let Some(e) = v
            .loudness_error_lu
            .filter(|e| e.abs() > verify::LOUDNESS_TOLERANCE_LU)
        {
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
    let a = analyse(input)?;
    let Plan {
        mut chain,
        mut warnings,
    } = plan(&a, targets, style)?;
    let b = before(&a);
    let deliverables = render_and_verify(input, &mut chain, outputs, b, &mut warnings)?;
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
    let deliverables = render_and_verify(input, &mut chain, outputs, b, &mut warnings)?;
    Ok(MasterReport {
        input: input.display().to_string(),
        before: b,
        warnings,
        deliverables,
        chain,
    })
}
