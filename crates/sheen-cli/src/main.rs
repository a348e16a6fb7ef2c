//! The `sheen` command-line tool: analyze, master, match, album, mix,
//! automix, demo, serve.
//!
//! Errors are printed as one line, `sheen: error: <file>: <problem>`, with a
//! non-zero exit status; no partial output is left behind.

mod album;
mod alloc;
mod analyze;
mod automix;
mod demo;
mod master;
mod matching;
mod mix;
mod progress;
mod report;
mod report_cmd;
mod serve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Large buffers on transparent huge pages (see [`alloc`]).
#[global_allocator]
static ALLOCATOR: alloc::HugePageHint = alloc::HugePageHint;

/// sheen: mix stems and master songs, measured and explained.
#[derive(Parser)]
#[command(name = "sheen", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Measure loudness (BS.1770-4 / EBU R128), peaks and levels of audio files.
    Analyze(analyze::Args),
    /// Master an album: loudest song on target, relative loudness kept, tone pulled together, gapless option.
    Album(album::Args),
    /// Run sheen on built-in material and print what it measured.
    Demo(demo::Args),
    /// Master a mix towards one or more reference tracks (tone, loudness, width, dynamics).
    Match(matching::Args),
    /// Render a mixing session (TOML) to a mix; --init writes a starter session.
    Mix(mix::Args),
    /// Measure and classify stems, write a mixing session with reasons, render it.
    Automix(automix::Args),
    /// Master a mix to one or more loudness targets (analyse, plan, render, verify).
    Master(master::Args),
    /// Write a self-contained HTML report of one or more files (loudness, spectrum, stereo).
    Report(report_cmd::Args),
    /// Serve the upload page and JSON API: stems or a mix in, mix, masters and reports out.
    Serve(serve::Args),
}

/// `sheen analyze … | head` ends quietly, as Unix tools do, instead of
/// panicking in `println!` when the reader closes the pipe: the output
/// commands take SIGPIPE's default action (the process ends). `sheen serve`
/// keeps Rust's "ignore", so a client hanging up is an error on its socket,
/// not the end of the service.
#[cfg(unix)]
fn default_sigpipe() {
    // SAFETY: called once at start-up, before any thread is spawned.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    #[cfg(unix)]
    if !matches!(cli.command, Command::Serve(_)) {
        default_sigpipe();
    }
    let result = match cli.command {
        Command::Album(a) => album::run(a),
        Command::Analyze(a) => analyze::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Match(a) => matching::run(a),
        Command::Mix(a) => mix::run(a),
        Command::Automix(a) => automix::run(a),
        Command::Master(a) => master::run(a),
        Command::Report(a) => report_cmd::run(a),
        Command::Serve(a) => serve::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the chain of causes joined, the file named by the
            // innermost error.
            let msg = format!("{e:#}").replace('\n', " ");
            eprintln!("sheen: error: {msg}");
            ExitCode::FAILURE
        }
    }
}
