//! `sheen match IN --reference REF[@WEIGHT] [--reference REF2 ...]
//! [--match tone=1.0,loudness=1.0,width=1.0,dynamics=0.5] -o OUT
//! [--ceiling DBTP] [--cap DB] [--save-chain chain.toml] [--report report.json]`
//!
//! Reference matching (the engine is `sheen::matching`); `sheen master IN
//! --reference REF ...` takes the same arguments ([`ReferenceArgs`]) and
//! runs the same job.

use crate::report::{check_html_path, opt, write_html, write_json};
use anyhow::{bail, Context, Result};
use sheen::matching::plan::{master_matched, MatchOptions, MatchReport};
use sheen::matching::MatchAmounts;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The mix to master (mono or stereo).
    input: PathBuf,
    #[command(flatten)]
    reference: ReferenceArgs,
    /// Output file (.wav or .flac).
    #[arg(short, long)]
    out: PathBuf,
    /// Save the match chain (TOML, with reasons) here.
    #[arg(long, value_name = "chain.toml")]
    save_chain: Option<PathBuf>,
    /// Write the JSON report here (`-` for stdout).
    #[arg(long, value_name = "report.json")]
    report: Option<PathBuf>,
    /// Write a self-contained HTML report (plots, verdict, reasons, A/B
    /// excerpts) here.
    #[arg(long, value_name = "report.html")]
    report_html: Option<PathBuf>,
}

/// The reference-matching arguments (shared with `sheen master`).
#[derive(clap::Args, Clone, Debug)]
pub struct ReferenceArgs {
    /// A reference track, optionally with a weight (`ref.wav@2`); repeat
    /// for several (weighted average).
    #[arg(long = "reference", value_name = "REF[@WEIGHT]")]
    pub references: Vec<String>,
    /// How much of each difference to match, 0..1 each.
    #[arg(
        long = "match",
        value_name = "tone=1.0,loudness=1.0,width=1.0,dynamics=0.5",
        default_value = "tone=1.0,loudness=1.0,width=1.0,dynamics=0.5"
    )]
    pub amounts: MatchAmounts,
    /// True-peak ceiling, dBTP.
    #[arg(long, default_value_t = -1.0, allow_hyphen_values = true)]
    pub ceiling: f64,
    /// Largest EQ boost or cut per band relative to the curve's centre, dB
    /// (the centre is 0 dB unless the curve spans more than twice this).
    #[arg(long, default_value_t = 15.0)]
    pub cap: f64,
}

/// `PATH` or `PATH@WEIGHT` (an existing file named with `@` is taken as a
/// path).
pub fn parse_reference(s: &str) -> Result<(PathBuf, f64)> {
    if Path::new(s).exists() {
        return Ok((PathBuf::from(s), 1.0));
    }
    if let Some((p, w)) = s.rsplit_once('@') {
        let w: f64 = w
            .parse()
            .with_context(|| format!("{s}: weight {w:?} is not a number"))?;
        if !(w > 0.0 && w.is_finite()) {
            bail!("{s}: weight must be positive");
        }
        return Ok((PathBuf::from(p), w));
    }
    Ok((PathBuf::from(s), 1.0))
}

/// Runs a reference match of `input` into `out`.
pub fn run_match(input: &Path, r: &ReferenceArgs, out: &Path) -> Result<MatchReport> {
    if r.references.is_empty() {
        bail!("{}: --reference is required", input.display());
    }
    let refs: Vec<(PathBuf, f64)> = r
        .references
        .iter()
        .map(|s| parse_reference(s))
        .collect::<Result<_>>()?;
    let mut opts = MatchOptions {
        amounts: r.amounts,
        ceiling_dbtp: r.ceiling,
        ..Default::default()
    };
    opts.curve.cap_db = r.cap;
    Ok(master_matched(input, &refs, &opts, out)?)
}

pub fn run(args: Args) -> Result<()> {
    if let Some(p) = &args.report_html {
        check_html_path(p, &[&args.input])?;
    }
    run_and_report(
        &args.input,
        &args.reference,
        &args.out,
        args.save_chain.as_deref(),
        args.report.as_deref(),
        args.report_html.as_deref(),
    )
}

/// Runs the match and writes the chain, report and summary.
pub fn run_and_report(
    input: &Path,
    reference: &ReferenceArgs,
    out: &Path,
    save_chain: Option<&Path>,
    report_path: Option<&Path>,
    report_html: Option<&Path>,
) -> Result<()> {
    let report = run_match(input, reference, out)?;
    for w in &report.warnings {
        eprintln!("sheen: warning: {w}");
    }
    if let Some(p) = save_chain {
        sheen_io::write_text(p, &report.chain.to_toml(), &[input])?;
    }
    if let Some(p) = report_html {
        let refs: Vec<PathBuf> = reference
            .references
            .iter()
            .map(|s| parse_reference(s).map(|(p, _)| p))
            .collect::<Result<_>>()?;
        let data = sheen::report::match_data(&report, input, &refs, true)?;
        let mut protect: Vec<&Path> = vec![input, Path::new(&report.output)];
        protect.extend(refs.iter().map(PathBuf::as_path));
        write_html(p, &data, &protect)?;
    }
    if let Some(p) = report_path {
        if write_json(p, &report, &[input])? {
            return Ok(());
        }
    }
    print!("{}", summary(&report));
    Ok(())
}

/// A short human-readable summary.
pub fn summary(r: &MatchReport) -> String {
    let mut s = format!(
        "{} -> {}\n  before: {} LUFS, {} dBTP, LRA {} LU, side/mid {} dB\n",
        r.input,
        r.output,
        opt(r.before.integrated_lufs),
        opt(r.before.true_peak_dbtp),
        opt(r.before.loudness_range_lu),
        opt(r.before.side_to_mid_db),
    );
    s.push_str(&format!("  eq: {}\n", r.chain.eq.reason));
    s.push_str(&format!("  width: {}\n", r.chain.width.reason));
    s.push_str(&format!("  dynamics: {}\n", r.chain.dynamics.reason));
    s.push_str(&format!("  loudness: {}\n", r.chain.loudness.reason));
    s.push_str(&format!(
        "  after: {} LUFS (target {:.2}), {} dBTP (ceiling {}), LRA {} LU, band match error {:.2} dB, {}\n",
        opt(r.after.integrated_lufs),
        r.target_lufs,
        opt(r.after.true_peak_dbtp),
        r.ceiling_dbtp,
        opt(r.after.loudness_range_lu),
        r.match_error_db,
        if r.pass { "PASS" } else { "FAIL" }
    ));
    s.push_str("  band Hz: before / gain / after / reference (dB re LUFS)\n");
    for row in &r.spectra {
        s.push_str(&format!(
            "  {:>7}: {:7.2} {:+6.2} {:7.2} {:7.2}\n",
            row.hz, row.before_db, row.planned_gain_db, row.after_db, row.reference_db
        ));
    }
    s
}
