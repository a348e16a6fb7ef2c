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
    /// Write a self-contained HTML report (decisions with reasons, the mix
    /// and its master measured) here.
    #[arg(long, value_name = "report.html", requires = "render")]
    report_html: Option<PathBuf>,
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
    if let Some(p) = &args.report_html {
        let mut inputs: Vec<&std::path::Path> = args.inputs.iter().map(PathBuf::as_path).collect();
        inputs.push(&args.output);
        if let Some(r) = &args.render {
            inputs.push(r);
        }
        crate::report::check_html_path(p, &inputs)?;
    }
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
        let mastered = match target {
            Some(t) => Some(crate::master::master_rendered_mix(&report.output, t)?),
            None => None,
        };
        if let Some(p) = &args.report_html {
            let data = sheen::report::mix_data(
                format!("sheen automix: {} stems", a.stems.len()),
                &report.output,
                sheen::report::automix_decisions(&a),
                mastered.as_ref(),
                true,
            )?;
            let mut protect: Vec<&std::path::Path> = a.stems.iter().map(PathBuf::as_path).collect();
            protect.push(&args.output);
            protect.push(&report.output);
            if let Some(m) = &mastered {
                protect.extend(crate::master::protected(&report.output, m));
            }
            crate::report::write_html(p, &data, &protect)?;
        }
    }
    Ok(())
}
