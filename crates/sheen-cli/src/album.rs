//! `sheen album IN... -o DIR [--target NAME | --target-lufs LUFS]
//! [--ceiling DBTP] [--reference REF] [--keep-differences 0..1]
//! [--tone-pull 0..1] [--gapless] [--report report.json]`
//!
//! Album mastering (the engine is `sheen::matching::album`): the loudest
//! song lands on the target, the others keep their loudness differences
//! (times `--keep-differences`), the tone is pulled towards the album's
//! common curve (or the reference's) by `--tone-pull`, every file meets the
//! ceiling, and `--gapless` renders the songs as one stream split at the
//! original boundaries. Files: `DIR/NN-<stem>.wav`.

use crate::report::{check_html_path, opt, write_html, write_json};
use anyhow::{bail, Context, Result};
use sheen::mastering::Targets;
use sheen::matching::album::{master_album, AlbumOptions, AlbumReport};
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// The songs, in album order.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Output folder.
    #[arg(short, long)]
    out: PathBuf,
    /// Loudness target of the loudest song (a name from crates/sheen/targets.toml).
    #[arg(long, value_name = "NAME", default_value = "spotify")]
    target: String,
    /// Loudness of the loudest song, LUFS (overrides --target's).
    #[arg(long, allow_hyphen_values = true)]
    target_lufs: Option<f64>,
    /// True-peak ceiling, dBTP (overrides --target's).
    #[arg(long, allow_hyphen_values = true)]
    ceiling: Option<f64>,
    /// Pull the tone towards this reference instead of the album's own curve.
    #[arg(long, value_name = "REF")]
    reference: Option<PathBuf>,
    /// Fraction of the songs' loudness differences kept (1 = all, 0 = none).
    #[arg(long, default_value_t = 1.0)]
    keep_differences: f64,
    /// Fraction of each song's tonal distance to the common curve removed.
    #[arg(long, default_value_t = 0.5)]
    tone_pull: f64,
    /// Render consecutive songs as one stream and split it (no click at joins).
    #[arg(long)]
    gapless: bool,
    /// Write the JSON report here (`-` for stdout).
    #[arg(long, value_name = "report.json")]
    report: Option<PathBuf>,
    /// Write a self-contained HTML report (every song before and after,
    /// verdicts, reasons, A/B excerpts) here.
    #[arg(long, value_name = "report.html")]
    report_html: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    let targets = Targets::builtin();
    let Some(t) = targets.get(&args.target) else {
        bail!(
            "unknown target {:?} (known: {})",
            args.target,
            targets.names().join(", ")
        );
    };
    let (lufs, tp) = (t.integrated_lufs, t.true_peak_dbtp);
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    if let Some(p) = &args.report_html {
        check_html_path(p, &inputs)?;
    }
    for (name, v) in [
        ("--keep-differences", args.keep_differences),
        ("--tone-pull", args.tone_pull),
    ] {
        if !(0.0..=1.0).contains(&v) {
            bail!("{name} must be between 0 and 1, found {v}");
        }
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create folder", args.out.display()))?;
    let opts = AlbumOptions {
        target_lufs: args.target_lufs.unwrap_or(lufs),
        ceiling_dbtp: args.ceiling.unwrap_or(tp),
        keep_differences: args.keep_differences,
        tone_pull: args.tone_pull,
        gapless: args.gapless,
        ..Default::default()
    };
    let report = master_album(&args.inputs, args.reference.as_deref(), &opts, &args.out)?;
    for w in &report.warnings {
        eprintln!("sheen: warning: {w}");
    }
    if let Some(p) = &args.report_html {
        let data = sheen::report::album_data(&report, args.reference.as_deref(), true)?;
        let mut protect = inputs.clone();
        protect.extend(report.songs.iter().map(|s| Path::new(&s.output)));
        write_html(p, &data, &protect)?;
    }
    if let Some(p) = &args.report {
        if write_json(p, &report, &inputs)? {
            return Ok(());
        }
    }
    print!("{}", summary(&report));
    Ok(())
}

/// One line per song.
pub fn summary(r: &AlbumReport) -> String {
    let mut s = format!(
        "album: loudest on {:.2} LUFS, ceiling {} dBTP, keep differences {}, tone pull {}{}\n",
        r.options.target_lufs,
        r.options.ceiling_dbtp,
        r.options.keep_differences,
        r.options.tone_pull,
        if r.options.gapless { ", gapless" } else { "" }
    );
    for (song, l) in r.songs.iter().zip(&r.loudness) {
        s.push_str(&format!(
            "  {} -> {}: {:.2} -> {} LUFS (target {:.2}), {} dBTP, {}\n",
            song.input,
            song.output,
            l.measured_lufs,
            opt(song.after.integrated_lufs),
            l.target_lufs,
            opt(song.after.true_peak_dbtp),
            if song.pass { "PASS" } else { "FAIL" }
        ));
    }
    s
}
