//! `sheen report IN... -o FILE.html`: plain analysis of one or more files
//! as a self-contained HTML report (loudness over time, spectrum, stereo
//! image, the figures of each file); nothing is processed.

use anyhow::Result;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Audio files (WAV, FLAC, MP3, Ogg Vorbis, AAC/M4A, AIFF).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// The HTML file to write.
    #[arg(short, long, value_name = "FILE.html")]
    out: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    let inputs: Vec<&Path> = args.inputs.iter().map(PathBuf::as_path).collect();
    crate::report::check_html_path(&args.out, &inputs)?;
    let data = sheen::report::analysis_data(&args.inputs)?;
    crate::report::write_html(&args.out, &data, &inputs)
}
