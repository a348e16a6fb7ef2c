//! `sheen automix STEMS_OR_DIR... -o session.toml [--render mix.wav]
//! [--master TARGET] [--explain]`: measures and classifies the stems,
//! writes a mixing session with a reason for every value
//! (docs/AUTOMIX.md), and optionally renders it.

use crate::progress::frames_bar;
use anyhow::Result;
use sheen::automix;
use sheen::mixing::{self, RenderOptions};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Stem files, or folders of stems (1 to 64 stems in all).
    #[arg(required = true, value_name = "STEMS_OR_DIR")]
    inputs: Vec<PathBuf>,
    /// The session file to write (TOML, docs/SESSION.md).
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,
    /// Also render the session to this mix file (.wav or .flac).
    #[arg(long, value_name = "FILE")]
    render: Option<PathBuf>,
    /// Master the rendered mix for a loudness target.
    #[arg(long, value_name = "TARGET", requires = "render")]
    master: Option<String>,
    /// Print the decisions and their reasons as a table.
    #[arg(long)]
    explain: bool,
    /// Worker threads for rendering (0 = one per core); output does not
    /// depend on it.
    #[arg(long, default_value_t = 0, value_name = "N")]
    threads: usize,
}

pub fn run(args: Args) -> Result<()> {
    // Check the mastering target before measuring or rendering anything.
    let target = args
        .master
        .as_deref()
        .map(crate::master::builtin_target)
        .transpose()?;
    let a = automix::automix(&args.inputs, &args.output)?;
    automix::write_session(&a, &args.output)?;
    println!(
        "sheen automix: {} stems → {}",
        a.stems.len(),
        args.output.display()
    );
    if args.explain {
        print!("{}", automix::explain(&a));
    }
    if let Some(mix) = &args.render {
        let plan = mixing::load(&args.output)?;
        let opts = RenderOptions {
            output: mix.clone(),
            stems_out: None,
            threads: args.threads,
        };
        let bar = frames_bar(
            &mix.display().to_string(),
            Some(plan.length_frames),
            plan.sample_rate_hz,
        );
        let report = mixing::render(&plan, &opts, &mut |done, _| bar.set_position(done))?;
        bar.finish_and_clear();
        println!(
            "sheen automix: rendered {} ({:.2} s, peak {:.2} dBFS)",
            report.output.display(),
            report.frames as f64 / f64::from(report.sample_rate_hz),
            report.peak_dbfs
        );
        if let Some(t) = target {
            crate::master::master_rendered_mix(&report.output, t)?;
        }
    }
    Ok(())
}
