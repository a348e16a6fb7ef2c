//! The job store: one folder per job under `DATA/jobs/<id>/` holding
//! `job.json` (the state, rewritten atomically on every change: temporary
//! file, fsync, rename), `in/` (the uploads) and `out/` (what the job made).
//! Uploads are staged in `DATA/tmp/` and moved into place only once they
//! passed every check; `DATA/tmp/` is emptied at startup.
//!
//! At startup every `job.json` is read back: finished jobs (done or failed)
//! are served as they were; jobs that were queued or running when the server
//! stopped have their outputs cleared and are queued again.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// What was uploaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Stems: automix writes a session and renders the mix, then it is mastered.
    Stems,
    /// One finished mix: it is mastered.
    Mix,
}

/// Where a job is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Queued,
    Running,
    Done,
    Failed,
}

/// One uploaded file, as probed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Input {
    pub name: String,
    pub bytes: u64,
    pub sample_rate_hz: u32,
    pub channels: usize,
    /// Duration from the container header, seconds (absent when unknown).
    pub duration_s: Option<f64>,
}

/// One file a job made, downloadable at `url`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutFile {
    pub name: String,
    /// `mix`, `master`, `zip`, `session`, `chain`, `report`, `report-html` or `other`.
    pub kind: String,
    /// The target a master was made for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub bytes: u64,
    pub url: String,
}

/// Measured figures of one master, from the job's report.json.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Figures {
    pub target: String,
    pub file: String,
    pub target_lufs: Option<f64>,
    pub ceiling_dbtp: Option<f64>,
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    pub loudness_error_lu: Option<f64>,
    pub pass: Option<bool>,
}

/// A job's state document (`job.json`, also the body of `GET /api/jobs/{id}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    pub kind: Kind,
    pub state: State,
    /// `queued`, `mixing`, `mastering`, `packaging`, `done` or `failed`.
    pub stage: String,
    /// Rough completion, 0 to 1 (by stage).
    pub progress: f64,
    pub targets: Vec<String>,
    pub style: String,
    pub inputs: Vec<Input>,
    pub files: Vec<OutFile>,
    /// Figures of the mix before mastering (integrated LUFS, true peak, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<serde_json::Value>,
    pub deliverables: Vec<Figures>,
    /// Why the job failed (the last line the failing step printed).
    pub error: Option<String>,
    pub created_unix_s: u64,
    pub started_unix_s: Option<u64>,
    pub finished_unix_s: Option<u64>,
    /// How many times the job was started (a restart re-queues it).
    pub attempts: u32,
}

/// Seconds since the Unix epoch.
pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A new job id: 24 hex digits from the OS random source.
pub fn new_id() -> String {
    let mut b = [0u8; 12];
    if getrandom::fill(&mut b).is_err() {
        // Fall back on the per-process random hash keys plus the clock.
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        b[..8].copy_from_slice(&h.finish().to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// True for a well-formed job id (so an id can never name another path).
pub fn valid_id(id: &str) -> bool {
    id.len() == 24
        && id
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// Errors of the store (disk trouble), naming the path.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Write(#[from] sheen_io::Error),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The jobs, in memory and on disk.
pub struct Store {
    root: PathBuf,
    jobs: Mutex<BTreeMap<String, Job>>,
}

impl Store {
    /// Opens (creating) the store in `root`; returns it with the ids of the
    /// jobs to queue again, oldest first.
    pub fn open(root: &Path) -> Result<(Self, Vec<String>), StoreError> {
        let jobs_dir = root.join("jobs");
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&jobs_dir).map_err(io_err(&jobs_dir))?;
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io_err(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io_err(&tmp))?;
        let mut jobs = BTreeMap::new();
        let mut requeue = Vec::new();
        for entry in std::fs::read_dir(&jobs_dir).map_err(io_err(&jobs_dir))? {
            let entry = entry.map_err(io_err(&jobs_dir))?;
            let id = entry.file_name().to_string_lossy().to_string();
            if !valid_id(&id) {
                continue;
            }
            let path = entry.path().join("job.json");
            let job: Job = match std::fs::read_to_string(&path)
                .map_err(|e| e.to_string())
                .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
            {
                Ok(j) => j,
                Err(e) => {
                    eprintln!("sheen serve: warning: {}: skipped ({e})", path.display());
                    continue;
                }
            };
            let mut job = job;
            if matches!(job.state, State::Queued | State::Running) {
                let out = entry.path().join("out");
                if out.exists() {
                    std::fs::remove_dir_all(&out).map_err(io_err(&out))?;
                }
                job.state = State::Queued;
                job.stage = "queued".into();
                job.progress = 0.0;
                job.files.clear();
                job.deliverables.clear();
                job.before = None;
                job.error = None;
                write_job(&path, &job)?;
                requeue.push((job.created_unix_s, id.clone()));
            }
            jobs.insert(id, job);
        }
        requeue.sort();
        Ok((
            Self {
                root: root.to_path_buf(),
                jobs: Mutex::new(jobs),
            },
            requeue.into_iter().map(|(_, id)| id).collect(),
        ))
    }

    /// Folder of a job.
    pub fn job_dir(&self, id: &str) -> PathBuf {
        self.root.join("jobs").join(id)
    }

    /// Folder for staging uploads.
    pub fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// A copy of a job's state.
    pub fn get(&self, id: &str) -> Option<Job> {
        self.lock().get(id).cloned()
    }

    /// Copies of all jobs, newest first.
    pub fn list(&self) -> Vec<Job> {
        let mut v: Vec<Job> = self.lock().values().cloned().collect();
        v.sort_by_key(|j| std::cmp::Reverse(j.created_unix_s));
        v
    }

    /// Number of jobs waiting to run.
    pub fn queued(&self) -> usize {
        self.lock()
            .values()
            .filter(|j| j.state == State::Queued)
            .count()
    }

    /// Adds a job whose folder (with `in/`) is in place, writing its `job.json`.
    pub fn insert(&self, job: Job) -> Result<(), StoreError> {
        write_job(&self.job_dir(&job.id).join("job.json"), &job)?;
        self.lock().insert(job.id.clone(), job);
        Ok(())
    }

    /// Changes a job with `f` and writes its `job.json`; returns the new state.
    pub fn update(&self, id: &str, f: impl FnOnce(&mut Job)) -> Result<Job, StoreError> {
        let path = self.job_dir(id).join("job.json");
        let mut jobs = self.lock();
        let job = jobs.get_mut(id).ok_or_else(|| StoreError::Io {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such job"),
        })?;
        f(job);
        // Written under the lock so two updates can never land out of order.
        write_job(&path, job)?;
        Ok(job.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Job>> {
        // A panic while holding the lock leaves consistent data (every
        // change is a whole assignment), so a poisoned lock is still usable.
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn write_job(path: &Path, job: &Job) -> Result<(), StoreError> {
    let text = serde_json::to_string_pretty(job).map_err(|e| StoreError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e),
    })?;
    sheen_io::write_text(path, &text, &[])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str, state: State) -> Job {
        Job {
            id: id.into(),
            kind: Kind::Mix,
            state,
            stage: "x".into(),
            progress: 0.5,
            targets: vec!["spotify".into()],
            style: "balanced".into(),
            inputs: vec![],
            files: vec![],
            before: None,
            deliverables: vec![],
            error: None,
            created_unix_s: 1,
            started_unix_s: None,
            finished_unix_s: None,
            attempts: 1,
        }
    }

    /// Reference: the module contract — finished jobs survive a restart
    /// unchanged, unfinished ones are queued again with their outputs
    /// cleared, and staged uploads are removed.
    #[test]
    fn restart_keeps_finished_and_requeues_running() {
        let dir = tempfile::tempdir().unwrap();
        let (store, requeue) = Store::open(dir.path()).unwrap();
        assert!(requeue.is_empty());
        let done = new_id();
        let running = new_id();
        for (id, st) in [(&done, State::Done), (&running, State::Running)] {
            std::fs::create_dir_all(store.job_dir(id).join("out")).unwrap();
            std::fs::write(store.job_dir(id).join("out/x.wav"), b"x").unwrap();
            store.insert(job(id, st)).unwrap();
        }
        std::fs::write(store.tmp_dir().join("partial.wav"), b"x").unwrap();
        drop(store);
        let (store, requeue) = Store::open(dir.path()).unwrap();
        assert_eq!(requeue, vec![running.clone()]);
        assert_eq!(store.get(&done).unwrap().state, State::Done);
        assert!(store.job_dir(&done).join("out/x.wav").exists());
        let r = store.get(&running).unwrap();
        assert_eq!((r.state, r.stage.as_str()), (State::Queued, "queued"));
        assert!(!store.job_dir(&running).join("out").exists());
        assert_eq!(std::fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    /// Reference: ids are 24 lowercase hex digits and never repeat (96
    /// random bits); nothing else is a valid id.
    #[test]
    fn ids() {
        let a = new_id();
        assert!(valid_id(&a), "{a}");
        assert_ne!(a, new_id());
        for bad in ["", "../../etc/passwd", "ABCDEF0123456789abcdef01", "0123"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }
}
