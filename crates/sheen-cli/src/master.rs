//! `sheen master IN -o OUT [--target NAME]... [--style gentle|balanced|punchy]
//! [--chain chain.toml] [--save-chain chain.toml] [--report report.json]
//! [--preview-ab DIR] [--targets-file my.toml]`.
//!
//! One target: `OUT` is the output file (or a folder, or a pattern with
//! `{target}`). Several targets: `OUT` is a folder (files
//! `<input stem>.<target>.wav`) or a pattern with `{target}`.

use crate::report::{check_html_path, opt, write_html, write_json};
use anyhow::{bail, Context, Result};
use sheen::mastering::chain::Style;
use sheen::mastering::{self, preview, Chain, MasterReport, Target, Targets};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The mix to master (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A, AIFF; mono or stereo).
    input: PathBuf,
    /// Output file, folder, or pattern containing `{target}`.
    #[arg(short, long)]
    out: PathBuf,
    /// Loudness target (see crates/sheen/targets.toml); repeat for several. Default: spotify.
    #[arg(long = "target", value_name = "NAME")]
    targets: Vec<String>,
    /// How far the plan may go.
    #[arg(long, default_value = "balanced")]
    style: Style,
    /// Render this saved chain instead of planning one.
    #[arg(long, value_name = "chain.toml")]
    chain: Option<PathBuf>,
    /// Save the chain (with reasons, after verification) here.
    #[arg(long, value_name = "chain.toml")]
    save_chain: Option<PathBuf>,
    /// Write the JSON report here (`-` for stdout).
    #[arg(long, value_name = "report.json")]
    report: Option<PathBuf>,
    /// Write a self-contained HTML report (plots, verdicts, reasons, A/B
    /// excerpts) here.
    #[arg(long, value_name = "report.html")]
    report_html: Option<PathBuf>,
    /// Write loudness-matched 30 s excerpts of the original and each master here.
    #[arg(long, value_name = "DIR")]
    preview_ab: Option<PathBuf>,
    /// Extra targets (same table shape as the built-in targets.toml).
    #[arg(long, value_name = "my.toml")]
    targets_file: Option<PathBuf>,
    /// Reference matching (`--reference REF [--match ...]`): master towards
    /// the reference(s) instead of a target (see `sheen match`).
    #[command(flatten)]
    reference: crate::matching::ReferenceArgs,
}

/// Output path of each target name.
pub fn output_paths(input: &Path, out: &Path, names: &[String]) -> Result<Vec<PathBuf>> {
    let pattern = out.to_string_lossy().to_string();
    if pattern.contains("{target}") {
        return Ok(names
            .iter()
            .map(|n| PathBuf::from(pattern.replace("{target}", n)))
            .collect());
    }
    let is_dir = out.is_dir() || pattern.ends_with('/') || names.len() > 1;
    if !is_dir {
        return Ok(vec![out.to_path_buf()]);
    }
    if out.exists() && !out.is_dir() {
        bail!(
            "{}: is a file, but several targets need a folder or a {{target}} pattern",
            out.display()
        );
    }
    std::fs::create_dir_all(out)
        .with_context(|| format!("{}: cannot create folder", out.display()))?;
    let stem = input
        .file_stem()
        .map_or("master".into(), |s| s.to_string_lossy().to_string());
    Ok(names
        .iter()
        .map(|n| out.join(format!("{stem}.{n}.wav")))
        .collect())
}

pub fn run(args: Args) -> Result<()> {
    if let Some(p) = &args.report_html {
        check_html_path(p, &[&args.input])?;
    }
    if !args.reference.references.is_empty() {
        if args.chain.is_some() || !args.targets.is_empty() {
            bail!(
                "{}: --reference cannot be combined with --chain or --target (the reference sets the loudness)",
                args.input.display()
            );
        }
        return crate::matching::run_and_report(
            &args.input,
            &args.reference,
            &args.out,
            args.save_chain.as_deref(),
            args.report.as_deref(),
            args.report_html.as_deref(),
        );
    }
    let report = master(&args)?;
    for w in &report.warnings {
        eprintln!("sheen: warning: {w}");
    }
    if let Some(p) = &args.save_chain {
        sheen_io::write_text(p, &report.chain.to_toml(), &[&args.input])?;
    }
    let mut to_stdout = false;
    if let Some(p) = &args.report {
        to_stdout = write_json(p, &report, &[&args.input])?;
    }
    if let Some(dir) = &args.preview_ab {
        let a = mastering::analyse(&args.input)?;
        let w = preview::window(a.duration_s, a.loudest_s);
        for d in &report.deliverables {
            preview::write_ab(&args.input, Path::new(&d.file), &d.target, w, dir)?;
        }
    }
    if let Some(p) = &args.report_html {
        let data = sheen::report::master_data(&report, &args.input, true)?;
        write_html(p, &data, &protected(&args.input, &report))?;
    }
    if !to_stdout {
        print!("{}", summary(&report));
    }
    Ok(())
}

/// The input and every deliverable of a job (an HTML report may overwrite
/// none of them).
pub fn protected<'a>(input: &'a Path, r: &'a MasterReport) -> Vec<&'a Path> {
    std::iter::once(input)
        .chain(r.deliverables.iter().map(|d| Path::new(&d.file)))
        .collect()
}

fn master(args: &Args) -> Result<MasterReport> {
    if let Some(chain_path) = &args.chain {
        if !args.targets.is_empty() {
            bail!(
                "{}: --target cannot be combined with --chain (the chain lists its deliverables)",
                chain_path.display()
            );
        }
        let chain = Chain::load(chain_path)?;
        let names: Vec<String> = chain
            .deliverables
            .iter()
            .map(|d| d.target.clone())
            .collect();
        let outs = output_paths(&args.input, &args.out, &names)?;
        return Ok(mastering::master_with_chain(&args.input, chain, &outs)?);
    }
    let all = match &args.targets_file {
        Some(p) => Targets::with_file(p)?,
        None => Targets::builtin(),
    };
    let names = if args.targets.is_empty() {
        vec!["spotify".to_string()]
    } else {
        args.targets.clone()
    };
    let mut targets = Vec::new();
    for n in &names {
        let Some(t) = all.get(n) else {
            bail!(
                "{}: unknown target {n:?} (known: {})",
                args.targets_file
                    .as_deref()
                    .unwrap_or(Path::new("targets.toml"))
                    .display(),
                all.names().join(", ")
            );
        };
        targets.push((n.clone(), t.clone()));
    }
    let outs = output_paths(&args.input, &args.out, &names)?;
    Ok(mastering::master_file(
        &args.input,
        &targets,
        args.style,
        &outs,
    )?)
}

/// A short human-readable summary.
pub fn summary(r: &MasterReport) -> String {
    let mut s = format!(
        "{}: {} LUFS, {} dBTP, LRA {} LU\n",
        r.input,
        opt(r.before.integrated_lufs),
        opt(r.before.true_peak_dbtp),
        opt(r.before.loudness_range_lu)
    );
    for b in &r.chain.eq {
        s.push_str(&format!(
            "  eq {:?} {} Hz {:+.1} dB: {}\n",
            b.kind, b.freq_hz, b.gain_db, b.reason
        ));
    }
    if let Some(c) = &r.chain.compressor {
        s.push_str(&format!(
            "  compressor {}: {}\n",
            if c.enabled { "on" } else { "off" },
            c.reason
        ));
    }
    if let Some(w) = &r.chain.width {
        s.push_str(&format!("  width {}: {}\n", w.width, w.reason));
    }
    for d in &r.deliverables {
        s.push_str(&format!(
            "  {} -> {}: {} LUFS (target {}), {} dBTP (ceiling {}), LRA {} LU, gain {:+.2} dB, limiting {:.1} dB, {}\n",
            d.target,
            d.file,
            opt(d.after.integrated_lufs),
            d.target_lufs,
            opt(d.after.true_peak_dbtp),
            d.ceiling_dbtp,
            opt(d.after.loudness_range_lu),
            d.chain.gain.gain_db,
            d.limiter_max_gain_reduction_db,
            if d.pass { "PASS" } else { "FAIL" }
        ));
    }
    s
}

/// A built-in target by name, for `--master` of `mix` and `automix`
/// (checked before anything is rendered).
pub fn builtin_target(name: &str) -> Result<(String, Target)> {
    let all = Targets::builtin();
    match all.get(name) {
        Some(t) => Ok((name.to_string(), t.clone())),
        None => bail!(
            "--master {name}: unknown target (known: {})",
            all.names().join(", ")
        ),
    }
}

/// Masters a freshly rendered mix (the `--master` option of `mix` and
/// `automix`) into `<mix stem>.<target>.wav` next to it and prints the
/// summary.
pub fn master_rendered_mix(mix: &Path, target: (String, Target)) -> Result<MasterReport> {
    let stem = mix
        .file_stem()
        .map_or("mix".into(), |s| s.to_string_lossy().to_string());
    let out = mix.with_file_name(format!("{stem}.{}.wav", target.0));
    let r = mastering::master_file(mix, &[target], Style::default(), &[out])?;
    for w in &r.warnings {
        eprintln!("sheen: warning: {w}");
    }
    print!("{}", summary(&r));
    Ok(r)
}
