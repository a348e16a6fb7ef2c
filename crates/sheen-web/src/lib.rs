//! `sheen serve`: an HTTP service around the `sheen` command-line tool.
//!
//! A musician uploads stems (or one finished mix), picks release targets and
//! a mastering style, and gets back the mix, one master per target (also as a
//! zip), the session and chain documents and the JSON report.
//!
//! - [`store`]: jobs kept in a folder (`DATA/jobs/<id>/job.json`, written
//!   atomically), so a restart loses no finished job; jobs found queued or
//!   running at startup are queued again.
//! - [`runner`]: a bounded worker pool; each job runs the `sheen` binary
//!   itself as a child process (`automix`, then `master`), so a crash or a
//!   runaway job cannot take the server down.
//! - [`api`]: the HTTP JSON API (documented in `docs/openapi.yaml`) and the
//!   single page served at `/`.
//! - [`upload`]: multipart uploads with size and count limits, file-name
//!   checks (no path traversal) and an audio probe before a job is created.

pub mod api;
pub mod error;
pub mod runner;
pub mod store;
pub mod upload;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use api::{router, ROUTES};
pub use error::ApiError;

/// Configuration of a server.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to listen on (`127.0.0.1:0` picks a free port).
    pub addr: SocketAddr,
    /// Folder of the job store (created if missing).
    pub data_dir: PathBuf,
    /// Jobs run at once; more wait in the queue.
    pub workers: usize,
    /// Largest accepted upload (all files and fields of one request), bytes.
    pub max_upload_bytes: u64,
    /// Most files in one upload.
    pub max_files: usize,
    /// Most jobs waiting in the queue; beyond, `POST /api/jobs` answers 503.
    pub max_queued: usize,
    /// The `sheen` executable that runs the jobs.
    pub sheen_exe: PathBuf,
    /// A job step (one child process) running longer than this is killed, seconds.
    pub job_timeout_s: u64,
}

impl Config {
    /// Defaults: loopback port 8080, `./sheen-data`, one worker per core,
    /// 512 MiB and 64 files per upload, 1000 queued jobs, this executable,
    /// one hour per step.
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("sheen-data"),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_upload_bytes: 512 << 20,
            max_files: 64,
            max_queued: 1000,
            sheen_exe: std::env::current_exe()?,
            job_timeout_s: 3600,
        })
    }
}

/// Shared state of a running server.
pub struct App {
    pub config: Config,
    pub store: store::Store,
    pub pool: runner::Pool,
}

/// Opens the store (re-queueing unfinished jobs), binds the address and
/// serves until Ctrl-C. Prints `sheen serve: listening on http://ADDR` once
/// the socket is bound (tests read that line to learn the port).
pub fn serve(config: Config) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    rt.block_on(async move {
        let (app, requeue) = open(config)?;
        let listener = tokio::net::TcpListener::bind(app.config.addr)
            .await
            .map_err(|e| format!("{}: cannot listen: {e}", app.config.addr))?;
        let local = listener
            .local_addr()
            .map_err(|e| format!("{}: {e}", app.config.addr))?;
        for id in requeue {
            runner::submit(&app, id);
        }
        println!("sheen serve: listening on http://{local}");
        println!(
            "sheen serve: data in {}, {} workers, uploads up to {} MiB and {} files",
            app.config.data_dir.display(),
            app.config.workers,
            app.config.max_upload_bytes >> 20,
            app.config.max_files
        );
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        axum::serve(listener, router(app))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .map_err(|e| format!("{local}: {e}"))
    })
}

/// Opens the store in `config.data_dir` and builds the shared state; returns
/// it with the ids of jobs to queue again (found queued or running).
pub fn open(config: Config) -> Result<(Arc<App>, Vec<String>), String> {
    if config.workers == 0 {
        return Err("--workers must be at least 1".into());
    }
    let (store, requeue) = store::Store::open(&config.data_dir).map_err(|e| e.to_string())?;
    let pool = runner::Pool::new(config.workers);
    Ok((
        Arc::new(App {
            config,
            store,
            pool,
        }),
        requeue,
    ))
}
