//! `sheen serve [--addr 127.0.0.1:8080] [--data DIR] [--workers N]
//! [--max-upload-mb N] [--max-files N]`: the web service (crates/sheen-web):
//! an upload page at `/` and the JSON API of docs/openapi.yaml. Jobs run this
//! same executable as child processes.

use anyhow::{anyhow, Result};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Folder keeping the jobs (uploads, outputs, job.json state); created if missing.
    #[arg(long, default_value = "sheen-data", value_name = "DIR")]
    data: PathBuf,
    /// Jobs run at once (more wait in the queue). Default: one per core.
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
    /// Largest upload (all files of one job), MiB.
    #[arg(long, default_value_t = 512, value_name = "N")]
    max_upload_mb: u64,
    /// Most files in one upload.
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_files: usize,
    /// Most jobs waiting in the queue (beyond, uploads get 503).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    max_queued: usize,
    /// Time limit of one job step (a child process), seconds.
    #[arg(long, default_value_t = 3600, value_name = "S")]
    step_timeout_s: u64,
}

pub fn run(args: Args) -> Result<()> {
    let mut cfg = sheen_web::Config::new()?;
    cfg.addr = args.addr;
    cfg.data_dir = args.data;
    if let Some(n) = args.workers {
        cfg.workers = n;
    }
    cfg.max_upload_bytes = args.max_upload_mb.saturating_mul(1 << 20);
    cfg.max_files = args.max_files;
    cfg.max_queued = args.max_queued;
    cfg.job_timeout_s = args.step_timeout_s;
    sheen_web::serve(cfg).map_err(|e| anyhow!(e))
}
