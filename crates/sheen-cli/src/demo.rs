//! `sheen demo`: runs sheen on built-in, synthesized material (no files
//! needed) and prints what it measured: the song as stems and their plain
//! sum, then the multitrack (drums split into kick, snare, hats) mixed with
//! the demo session (buses, reverb and echo returns fed by sends,
//! automation), with both mixes measured side by side; the master of each
//! mix gets a self-contained HTML report (`report.html`,
//! `automix_report.html`).

use anyhow::{Context, Result};
use sheen::analysis::{analyze_file, AnalyzeOptions, FileAnalysis};
use sheen::automix;
use sheen::demo;
use sheen::mixing::{self, RenderOptions};
use sheen_io::{Container, SampleFormat, WriteSpec};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// Folder for the demo's files (created if missing).
    #[arg(long, default_value = "sheen-demo")]
    out: PathBuf,
    /// Length of the demo song in bars (2 s each).
    #[arg(long, default_value_t = 8)]
    bars: usize,
}

/// Sample rate of the demo material, Hz.
const DEMO_RATE_HZ: u32 = 48_000;

fn opt(v: Option<f64>) -> String {
    v.map_or_else(|| format!("{:>8}", "-"), |x| format!("{x:8.2}"))
}

pub fn run(args: Args) -> Result<()> {
    let stems_dir = args.out.join("stems");
    std::fs::create_dir_all(&stems_dir)
        .with_context(|| format!("{}: cannot create folder", stems_dir.display()))?;
    let spec = WriteSpec {
        sample_rate_hz: DEMO_RATE_HZ,
        channels: 2,
        format: SampleFormat::F32,
        container: Container::Wav,
    };
    let stems = demo::stems(DEMO_RATE_HZ, args.bars);
    for s in &stems {
        let p = args.out.join(format!("{}.wav", s.name));
        sheen_io::write_all(&p, spec, &[], &s.channels)?;
    }
    let mix_path = args.out.join("rough_mix.wav");
    sheen_io::write_all(
        &mix_path,
        spec,
        &[],
        &demo::rough_mix(DEMO_RATE_HZ, args.bars),
    )?;
    println!(
        "sheen demo: synthesized {} stems ({}) and their plain sum in {}",
        stems.len(),
        stems.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
        args.out.display()
    );
    println!();
    let rough = analyze_file(&mix_path, AnalyzeOptions::default(), &mut |_, _| {})?;
    println!("{}", crate::analyze::table(&rough));

    // The multitrack, mixed with the demo session.
    let parts = demo::multitrack(DEMO_RATE_HZ, args.bars);
    for s in &parts {
        let p = stems_dir.join(format!("{}.wav", s.name));
        sheen_io::write_all(&p, spec, &[], &s.channels)?;
    }
    let session = args.out.join("session.toml");
    sheen_io::write_text(&session, demo::SESSION, &[])?;
    let plan = mixing::load(&session)?;
    let opts = RenderOptions {
        output: args.out.join("mix.wav"),
        stems_out: Some(args.out.join("mix_stems")),
        threads: 0,
    };
    let start = Instant::now();
    let report = mixing::render(&plan, &opts, &mut |_, _| {})?;
    let wall = start.elapsed().as_secs_f64();
    let dur = report.frames as f64 / f64::from(report.sample_rate_hz);
    println!(
        "sheen demo: mixed {} tracks ({}) through {} buses and {} returns with {}",
        plan.tracks.len(),
        parts.iter().map(|s| s.name).collect::<Vec<_>>().join(", "),
        plan.buses
            .iter()
            .filter(|b| b.kind == mixing::plan::BusKind::Bus)
            .count(),
        plan.buses
            .iter()
            .filter(|b| b.kind == mixing::plan::BusKind::Return)
            .count(),
        session.display()
    );
    println!(
        "  -> {} ({dur:.2} s, {} post-fader stems in {}), rendered in {wall:.2} s ({:.0}x realtime)",
        report.output.display(),
        report.stems.len(),
        args.out.join("mix_stems").display(),
        dur / wall.max(1e-9)
    );
    println!();
    let mixed = analyze_file(&report.output, AnalyzeOptions::default(), &mut |_, _| {})?;
    compare(&rough, &mixed);
    println!();
    let master_path = args.out.join("master_spotify.wav");
    let r = demo::master_to_spotify(&report.output, &master_path)?;
    println!("sheen master (target spotify: -14 LUFS, -1 dBTP):");
    print!("{}", crate::master::summary(&r));
    let html = args.out.join("report.html");
    let data = sheen::report::mix_data(
        "sheen demo: the session mix, mastered to Spotify".into(),
        &report.output,
        sheen::report::session_decisions(&plan),
        Some(&r),
        true,
    )?;
    crate::report::write_html(&html, &data, &crate::master::protected(&report.output, &r))?;

    // The same multitrack, mixed by automix from the stems alone.
    println!();
    let auto_session = args.out.join("automix.toml");
    let a = automix::automix(std::slice::from_ref(&stems_dir), &auto_session)?;
    automix::write_session(&a, &auto_session)?;
    println!(
        "sheen automix: {} stems measured and classified -> {} (every value with its reason):",
        a.stems.len(),
        auto_session.display()
    );
    print!("{}", automix::explain(&a));
    let auto_plan = mixing::load(&auto_session)?;
    let auto_mix = args.out.join("automix.wav");
    let opts = RenderOptions {
        output: auto_mix.clone(),
        stems_out: None,
        threads: 0,
    };
    mixing::render(&auto_plan, &opts, &mut |_, _| {})?;
    let t = crate::master::builtin_target("spotify")?;
    println!("sheen master of the automix (target spotify):");
    let m = crate::master::master_rendered_mix(&auto_mix, t)?;
    let data = sheen::report::mix_data(
        "sheen demo: automix of the stems, mastered to Spotify".into(),
        &auto_mix,
        sheen::report::automix_decisions(&a),
        Some(&m),
        true,
    )?;
    crate::report::write_html(
        &args.out.join("automix_report.html"),
        &data,
        &crate::master::protected(&auto_mix, &m),
    )?;
    Ok(())
}

/// Prints the two analyses side by side.
fn compare(a: &FileAnalysis, b: &FileAnalysis) {
    println!("  {:<16}{:>14}{:>14}", "", "rough_mix.wav", "mix.wav");
    let rows: [(&str, Option<f64>, Option<f64>, &str); 7] = [
        ("integrated", a.integrated_lufs, b.integrated_lufs, "LUFS"),
        (
            "loudness range",
            a.loudness_range_lu,
            b.loudness_range_lu,
            "LU",
        ),
        ("true peak", a.true_peak_dbtp, b.true_peak_dbtp, "dBTP"),
        ("PLR", a.plr_db, b.plr_db, "dB"),
        ("crest factor", a.crest_db, b.crest_db, "dB"),
        ("correlation", a.correlation, b.correlation, ""),
        ("side/mid", a.side_to_mid_db, b.side_to_mid_db, "dB"),
    ];
    for (k, x, y, unit) in rows {
        println!("  {k:<16}{:>14}{:>14} {unit}", opt(x), opt(y));
    }
}
