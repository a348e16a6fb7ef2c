//! The worker pool and the job steps.
//!
//! At most `workers` jobs run at once (a fair semaphore, so jobs start in the
//! order they were queued). A job runs the `sheen` binary as child processes
//! in its folder, with relative paths (so messages never show server paths):
//!
//! - stems: `sheen automix in/... -o out/session.toml --render out/mix.wav`
//!   (stage `mixing`), then `sheen master out/mix.wav -o out/mix.{target}.wav
//!   --target ... --style ... --report out/report.json --report-html
//!   out/report.html --save-chain
//!   out/chain.toml` (stage `mastering`);
//! - mix: the `master` step on `in/<file>`, masters named
//!   `<file stem>.<target>.wav`;
//!
//! then the masters are zipped (stage `packaging`, `out/masters.zip`,
//! stored: WAV does not compress). A step's standard output and error go to
//! `<step>.log` / `<step>.err` in the job folder; a failing step's last
//! line of standard error is the job's reason. A step running longer than
//! the time limit is killed.

use crate::store::{Figures, Job, Kind, OutFile, State};
use crate::App;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// A bounded pool: `workers` permits.
pub struct Pool {
    permits: Arc<Semaphore>,
}

impl Pool {
    pub fn new(workers: usize) -> Self {
        Self {
            permits: Arc::new(Semaphore::new(workers)),
        }
    }
}

/// Queues job `id` (already in the store, state queued).
pub fn submit(app: &Arc<App>, id: String) {
    let app = app.clone();
    tokio::spawn(async move {
        let Ok(_permit) = app.pool.permits.clone().acquire_owned().await else {
            return;
        };
        run(&app, &id).await;
    });
}

fn set(app: &App, id: &str, f: impl FnOnce(&mut Job)) {
    if let Err(e) = app.store.update(id, f) {
        eprintln!("sheen serve: warning: job {id}: cannot save state: {e}");
    }
}

fn stage(app: &App, id: &str, name: &str, progress: f64) {
    set(app, id, |j| {
        j.stage = name.into();
        j.progress = progress;
    });
}

/// Runs one job to the end, recording every stage.
async fn run(app: &App, id: &str) {
    let Some(job) = app.store.get(id) else {
        return;
    };
    set(app, id, |j| {
        j.state = State::Running;
        j.started_unix_s = Some(crate::store::now_s());
        j.attempts += 1;
    });
    let dir = app.store.job_dir(id);
    let result = steps(app, &job, &dir).await;
    let files = list_outputs(&job, &dir.join("out"));
    let report = read_report(&dir.join("out/report.json"));
    set(app, id, |j| {
        j.files = files;
        if let Some((before, figures)) = report {
            j.before = before;
            j.deliverables = figures;
        }
        j.finished_unix_s = Some(crate::store::now_s());
        match result {
            Ok(()) => {
                j.state = State::Done;
                j.stage = "done".into();
                j.progress = 1.0;
            }
            Err(reason) => {
                j.state = State::Failed;
                j.stage = "failed".into();
                j.error = Some(reason);
            }
        }
    });
}

async fn steps(app: &App, job: &Job, dir: &Path) -> Result<(), String> {
    let out = dir.join("out");
    tokio::fs::create_dir_all(&out)
        .await
        .map_err(|e| format!("cannot create the output folder: {e}"))?;
    let inputs: Vec<String> = job
        .inputs
        .iter()
        .map(|i| format!("in/{}", i.name))
        .collect();
    let (mix, base) = match job.kind {
        Kind::Stems => {
            stage(app, &job.id, "mixing", 0.05);
            let mut args: Vec<String> = vec!["automix".into()];
            args.extend(inputs.iter().cloned());
            args.extend(
                ["-o", "out/session.toml", "--render", "out/mix.wav"]
                    .iter()
                    .map(|s| s.to_string()),
            );
            run_step(app, dir, "automix", &args).await?;
            ("out/mix.wav".to_string(), "mix".to_string())
        }
        Kind::Mix => {
            let input = inputs.first().cloned().unwrap_or_default();
            let base = Path::new(&input)
                .file_stem()
                .map_or("master".into(), |s| s.to_string_lossy().to_string());
            (input, base)
        }
    };
    stage(app, &job.id, "mastering", 0.5);
    let mut args: Vec<String> = vec![
        "master".into(),
        mix,
        "-o".into(),
        format!("out/{base}.{{target}}.wav"),
    ];
    for t in &job.targets {
        args.push("--target".into());
        args.push(t.clone());
    }
    args.extend(
        [
            "--style",
            &job.style,
            "--report",
            "out/report.json",
            "--report-html",
            "out/report.html",
            "--save-chain",
            "out/chain.toml",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    run_step(app, dir, "master", &args).await?;
    stage(app, &job.id, "packaging", 0.9);
    let masters: Vec<PathBuf> = job
        .targets
        .iter()
        .map(|t| out.join(format!("{base}.{t}.wav")))
        .collect();
    let zip = out.join("masters.zip");
    tokio::task::spawn_blocking(move || write_zip(&zip, &masters))
        .await
        .map_err(|e| format!("packaging: {e}"))?
}

/// Runs `sheen ARGS` in `dir`; on failure returns the last line of its
/// standard error (without the `sheen: error: ` prefix).
async fn run_step(app: &App, dir: &Path, step: &str, args: &[String]) -> Result<(), String> {
    let exe = &app.config.sheen_exe;
    let log = std::fs::File::create(dir.join(format!("{step}.log")))
        .map_err(|e| format!("{step}: cannot create log: {e}"))?;
    let err_path = dir.join(format!("{step}.err"));
    let err =
        std::fs::File::create(&err_path).map_err(|e| format!("{step}: cannot create log: {e}"))?;
    let mut child = tokio::process::Command::new(exe)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{step}: cannot start {}: {e}", exe.display()))?;
    let limit = Duration::from_secs(app.config.job_timeout_s);
    let status = match tokio::time::timeout(limit, child.wait()).await {
        Ok(s) => s.map_err(|e| format!("{step}: {e}"))?,
        Err(_) => {
            let _ = child.kill().await;
            return Err(format!(
                "{step}: stopped after {} s (the time limit of a step)",
                app.config.job_timeout_s
            ));
        }
    };
    if status.success() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&err_path).unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| l.strip_prefix("sheen: error: ").unwrap_or(l).to_string());
    Err(match last {
        Some(l) => l,
        None => format!("{step}: ended with {status} and printed no reason"),
    })
}

/// Writes the masters into a zip (stored), atomically.
fn write_zip(path: &Path, files: &[PathBuf]) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("packaging masters.zip: {e}");
    let tmp = path.with_extension("zip.partial");
    let result = (|| -> Result<(), String> {
        let f = std::fs::File::create(&tmp).map_err(|e| fail(&e))?;
        let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
        for p in files {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let size = std::fs::metadata(p).map_err(|e| fail(&e))?.len();
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .large_file(size >= u32::MAX as u64);
            z.start_file(name, opts).map_err(|e| fail(&e))?;
            let mut src = std::fs::File::open(p).map_err(|e| fail(&e))?;
            std::io::copy(&mut src, &mut z).map_err(|e| fail(&e))?;
        }
        let w = z.finish().map_err(|e| fail(&e))?;
        let f = w.into_inner().map_err(|e| fail(&e.error()))?;
        f.sync_all().map_err(|e| fail(&e))?;
        std::fs::rename(&tmp, path).map_err(|e| fail(&e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The files a job made, in a fixed order: mix, masters (target order), zip,
/// session, chain, report, then anything else (e.g. an HTML report).
pub fn list_outputs(job: &Job, out: &Path) -> Vec<OutFile> {
    let Ok(rd) = std::fs::read_dir(out) else {
        return Vec::new();
    };
    let mut files: Vec<(usize, OutFile)> = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Ok(meta) = e.metadata() else { continue };
        if !meta.is_file() || crate::upload::safe_name(&name).ok().as_ref() != Some(&name) {
            continue;
        }
        if name.ends_with(".partial") {
            continue;
        }
        let master_target = job.targets.iter().position(|t| {
            name.ends_with(&format!(".{t}.wav")) || name.ends_with(&format!(".{t}.flac"))
        });
        let (rank, kind, target) = match (name.as_str(), master_target) {
            (_, Some(i)) => (10 + i, "master", Some(job.targets[i].clone())),
            ("mix.wav", None) if job.kind == Kind::Stems => (0, "mix", None),
            ("masters.zip", None) => (1000, "zip", None),
            ("session.toml", None) => (1001, "session", None),
            ("chain.toml", None) => (1002, "chain", None),
            ("report.json", None) => (1003, "report", None),
            (n, None) if n.ends_with(".html") => (1004, "report-html", None),
            _ => (2000, "other", None),
        };
        files.push((
            rank,
            OutFile {
                url: format!("/api/jobs/{}/files/{name}", job.id),
                name,
                kind: kind.into(),
                target,
                bytes: meta.len(),
            },
        ));
    }
    files.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
    files.into_iter().map(|(_, f)| f).collect()
}

/// The "before" figures and per-master figures of a `sheen master` report.
pub fn read_report(path: &Path) -> Option<(Option<serde_json::Value>, Vec<Figures>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let figures = v["deliverables"]
        .as_array()?
        .iter()
        .map(|d| Figures {
            target: d["target"].as_str().unwrap_or("").to_string(),
            file: Path::new(d["file"].as_str().unwrap_or(""))
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            target_lufs: d["target_lufs"].as_f64(),
            ceiling_dbtp: d["ceiling_dbtp"].as_f64(),
            integrated_lufs: d["after"]["integrated_lufs"].as_f64(),
            true_peak_dbtp: d["after"]["true_peak_dbtp"].as_f64(),
            loudness_range_lu: d["after"]["loudness_range_lu"].as_f64(),
            loudness_error_lu: d["loudness_error_lu"].as_f64(),
            pass: d["pass"].as_bool(),
        })
        .collect();
    Some((Some(v["before"].clone()), figures))
}
