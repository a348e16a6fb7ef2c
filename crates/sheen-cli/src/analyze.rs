//! `sheen analyze FILE... [--json] [--series]`.

use crate::progress::frames_bar;
use anyhow::Result;
use sheen::analysis::{analyze_file, AnalyzeOptions, FileAnalysis};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A, AIFF).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print JSON: one object for one file, an array for several.
    #[arg(long)]
    json: bool,
    /// Include momentary and short-term loudness series (`[time_s, lufs]`).
    #[arg(long)]
    series: bool,
}

pub fn run(args: Args) -> Result<()> {
    let opts = AnalyzeOptions {
        series: args.series,
    };
    let mut reports = Vec::with_capacity(args.files.len());
    for path in &args.files {
        let mut bar = None;
        let report = analyze_file(path, opts, &mut |done, total| {
            let b =
                bar.get_or_insert_with(|| frames_bar(&path.display().to_string(), total, 48_000));
            b.set_position(done);
        })?;
        if let Some(b) = bar {
            b.finish_and_clear();
        }
        reports.push(report);
    }
    let out = if args.json {
        if reports.len() == 1 {
            serde_json::to_string_pretty(&reports[0])?
        } else {
            serde_json::to_string_pretty(&reports)?
        }
    } else {
        reports.iter().map(table).collect::<Vec<_>>().join("\n")
    };
    println!("{out}");
    Ok(())
}

fn opt(v: Option<f64>, unit: &str) -> String {
    match v {
        Some(x) => format!("{x:8.2} {unit}"),
        None => format!("{:>8} {unit}", "-"),
    }
}

/// The readable table for one file.
pub fn table(a: &FileAnalysis) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{}  ({} Hz, {} ch, {:.2} s)",
        a.file, a.sample_rate_hz, a.channels, a.duration_s
    );
    let rows: [(&str, String); 14] = [
        ("integrated", opt(a.integrated_lufs, "LUFS")),
        ("loudness range", opt(a.loudness_range_lu, "LU")),
        ("momentary max", opt(a.momentary_max_lufs, "LUFS")),
        ("short-term max", opt(a.short_term_max_lufs, "LUFS")),
        ("true peak", opt(a.true_peak_dbtp, "dBTP")),
        ("sample peak", opt(a.sample_peak_dbfs, "dBFS")),
        ("PLR", opt(a.plr_db, "dB")),
        ("RMS", opt(a.rms_dbfs, "dBFS")),
        ("crest factor", opt(a.crest_db, "dB")),
        ("DC offset", format!("{:8.5}", a.dc_offset)),
        ("correlation", opt(a.correlation, "")),
        ("side/mid", opt(a.side_to_mid_db, "dB")),
        ("clipped samples", format!("{:8}", a.clipped_samples)),
        (
            "spectrum peak",
            a.third_octave_db
                .iter()
                .max_by(|x, y| x.db.total_cmp(&y.db))
                .map_or("       -".into(), |b| format!("{:8.0} Hz", b.hz)),
        ),
    ];
    for (k, v) in rows {
        let _ = writeln!(s, "  {k:<16}{v}");
    }
    s
}
