//! `sheen demo`: runs sheen on built-in, synthesized material (no files
//! needed) and prints what it measured.

use anyhow::{Context, Result};
use sheen::analysis::{analyze_file, AnalyzeOptions};
use sheen::demo;
use sheen_io::{Container, SampleFormat, WriteSpec};
use std::path::PathBuf;

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

pub fn run(args: Args) -> Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create folder", args.out.display()))?;
    let spec = WriteSpec {
        sample_rate_hz: DEMO_RATE_HZ,
        channels: 2,
        format: SampleFormat::F32,
        container: Container::Wav,
    };
    let stems = demo::stems(DEMO_RATE_HZ, args.bars);
    let mut stem_paths = Vec::new();
    for s in &stems {
        let p = args.out.join(format!("{}.wav", s.name));
        sheen_io::write_all(&p, spec, &[], &s.channels)?;
        stem_paths.push(p);
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
    let a = analyze_file(&mix_path, AnalyzeOptions::default(), &mut |_, _| {})?;
    println!("{}", crate::analyze::table(&a));
    let master_path = args.out.join("master_spotify.wav");
    let r = demo::master_to_spotify(&mix_path, &master_path)?;
    println!("sheen master (target spotify: -14 LUFS, -1 dBTP):");
    print!("{}", crate::master::summary(&r));
    Ok(())
}
