//! `sheen mix SESSION [-o mix.wav] [--stems-out DIR] [--master TARGET]
//! [--threads N]` renders a mixing session (docs/SESSION.md);
//! `sheen mix --init DIR` writes a starter session for a folder of stems.
//!
//! With `--master TARGET` (or `[master] target` in the session) the
//! rendered mix is then mastered for that loudness target by the mastering
//! engine (analyse, plan, render, verify) into `<mix>.<target>.wav` next to
//! the mix.

use crate::progress::frames_bar;
use anyhow::{bail, Result};
use sheen::mixing::{self, RenderOptions};
use std::path::PathBuf;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// The session file (TOML, see docs/SESSION.md).
    #[arg(required_unless_present = "init", conflicts_with = "init")]
    session: Option<PathBuf>,
    /// The mix file: .wav (32-bit float) or .flac (24-bit). Default: mix.wav
    /// next to the session file.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also write each track, bus and return post-fader into DIR.
    #[arg(long, value_name = "DIR")]
    stems_out: Option<PathBuf>,
    /// Then master the mix for this loudness target (e.g. spotify) into
    /// <mix>.<TARGET>.wav; overrides the session's [master] target.
    #[arg(long, value_name = "TARGET")]
    master: Option<String>,
    /// Worker threads for the tracks (0 = one per core). The output does not
    /// depend on it.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
    /// Write a self-contained HTML report of the mix (and its master) here.
    #[arg(long, value_name = "report.html")]
    report_html: Option<PathBuf>,
    /// Write DIR/session.toml, a starter session for the stems in DIR.
    #[arg(long, value_name = "DIR")]
    init: Option<PathBuf>,
}

pub fn run(args: Args) -> Result<()> {
    if let Some(dir) = &args.init {
        let p = mixing::init_session(dir)?;
        let plan = mixing::load(&p)?;
        println!(
            "sheen mix: wrote {} ({} tracks); render it with: sheen mix {}",
            p.display(),
            plan.tracks.len(),
            p.display()
        );
        return Ok(());
    }
    let Some(session) = &args.session else {
        bail!("a session file is required (or --init DIR)");
    };
    let plan = mixing::load(session)?;
    // Check the mastering target before rendering anything.
    let target = match args.master.clone().or_else(|| plan.master_target.clone()) {
        None => None,
        Some(name) => Some(crate::master::builtin_target(&name)?),
    };
    let output = args.output.clone().unwrap_or_else(|| {
        session
            .parent()
            .map_or_else(|| PathBuf::from("mix.wav"), |d| d.join("mix.wav"))
    });
    if let Some(p) = &args.report_html {
        let mut inputs = plan.inputs();
        inputs.push(session);
        inputs.push(&output);
        crate::report::check_html_path(p, &inputs)?;
    }
    let opts = RenderOptions {
        output,
        stems_out: args.stems_out.clone(),
        threads: args.threads,
    };
    let bar = frames_bar(
        &session.display().to_string(),
        Some(plan.length_frames),
        plan.sample_rate_hz,
    );
    let start = Instant::now();
    let report = mixing::render(&plan, &opts, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    let dur = report.frames as f64 / f64::from(report.sample_rate_hz);
    println!(
        "sheen mix: {} — {:.2} s at {} Hz, {} tracks, {} buses/returns, latency {} samples compensated, peak {:.2} dBFS, rendered in {:.2} s ({:.1}× realtime)",
        report.output.display(),
        dur,
        report.sample_rate_hz,
        plan.tracks.len(),
        plan.buses.len() - 1,
        report.latency_samples,
        report.peak_dbfs,
        wall,
        dur / wall.max(1e-9)
    );
    if report.clipped_samples > 0 {
        println!(
            "  warning: {} samples clipped in the integer output",
            report.clipped_samples
        );
    }
    if !report.stems.is_empty() {
        println!("  {} stems written", report.stems.len());
    }
    let mastered = match target {
        Some(t) => Some(crate::master::master_rendered_mix(&report.output, t)?),
        None => None,
    };
    if let Some(p) = &args.report_html {
        let data = sheen::report::mix_data(
            format!("sheen mix: {}", session.display()),
            &report.output,
            sheen::report::session_decisions(&plan),
            mastered.as_ref(),
            true,
        )?;
        let mut protect = plan.inputs();
        protect.push(session);
        protect.push(&report.output);
        if let Some(m) = &mastered {
            protect.extend(crate::master::protected(&report.output, m));
        }
        crate::report::write_html(p, &data, &protect)?;
    }
    Ok(())
}
