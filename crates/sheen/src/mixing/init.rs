//! `sheen mix --init DIR`: a starter session for a folder of stems — one
//! track per audio file (sorted by name) routed to the master at unity,
//! centred, plus a reverb return every track sends to at −inf dB (raise a
//! send to use it). Rendering the starter gives the plain sum of the stems
//! (followed by the reverb return's silent tail).

use crate::Error;
use sheen_io::AudioReader;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// File name of the starter session.
pub const STARTER_NAME: &str = "session.toml";

pub(crate) const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "wave", "flac", "mp3", "ogg", "m4a", "aif", "aiff", "caf",
];

pub(crate) fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A track name from a file name: lower case, runs of other characters
/// than letters and digits become `_`.
pub(crate) fn track_name(file_stem: &str) -> String {
    let mut s = String::new();
    for c in file_stem.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let s = s.trim_matches('_').to_string();
    if s.is_empty() || s == "master" {
        format!("track_{s}")
    } else {
        s
    }
}

/// Writes `DIR/session.toml` for the stems in `dir`; refuses to overwrite.
/// Returns the session path.
pub fn init_session(dir: &Path) -> Result<PathBuf, Error> {
    let content_err = |problem: String| Error::Content {
        path: dir.to_path_buf(),
        problem,
    };
    let out = dir.join(STARTER_NAME);
    if out.exists() {
        return Err(Error::Content {
            path: out,
            problem: "already exists; not overwritten".into(),
        });
    }
    let rd = std::fs::read_dir(dir).map_err(|e| content_err(format!("cannot list folder: {e}")))?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .filter(|p| p.file_stem().and_then(|s| s.to_str()) != Some("mix"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(content_err(
            "no audio files (wav, flac, mp3, ogg, m4a, aiff) to make tracks from".into(),
        ));
    }
    let mut s = String::new();
    s.push_str(
        "# sheen mixing session: a starter written by `sheen mix --init`.\n\
         # Render: sheen mix session.toml -o mix.wav    Format: docs/SESSION.md\n\n",
    );
    let mut used: Vec<String> = vec!["verb".into()];
    for f in &files {
        let info = AudioReader::open(f)?.info().clone();
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("track");
        let base = track_name(stem);
        let mut name = base.clone();
        let mut k = 2;
        while used.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        used.push(name.clone());
        let file = f.file_name().and_then(|s| s.to_str()).unwrap_or_default();
        let _ = writeln!(s, "[[tracks]]");
        let _ = writeln!(s, "name = {}", toml_str(&name));
        let _ = writeln!(s, "file = {}", toml_str(file));
        let _ = writeln!(s, "gain_db = 0.0");
        if info.channels == 1 {
            let _ = writeln!(s, "pan = 0.0          # mono stem: -1 left … 1 right");
            let _ = writeln!(
                s,
                "pan_law = -3       # dB at the centre: 0, -3, -4.5 or -6"
            );
        } else {
            let _ = writeln!(s, "balance = 0.0      # stereo stem: -1 … 1");
        }
        let _ = writeln!(s, "output = \"master\"");
        let _ = writeln!(s, "# inserts = [{{ type = \"highpass\", freq_hz = 40.0 }}]");
        let _ = writeln!(s, "sends = [{{ to = \"verb\", level_db = -inf }}]\n");
    }
    s.push_str(
        "[[returns]]\nname = \"verb\"\ninserts = [{ type = \"reverb\", rt60_s = 1.8, pre_delay_ms = 20.0, mix = 1.0 }]\n\n\
         [master]\ngain_db = 0.0\n",
    );
    // The starter must be a valid session.
    super::plan_text(&out, &s)?;
    std::fs::write(&out, s).map_err(|e| Error::Content {
        path: out.clone(),
        problem: format!("cannot write: {e}"),
    })?;
    Ok(out)
}
