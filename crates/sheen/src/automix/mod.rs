//! Automatic mixing: measure each stem, classify it, apply the rule table
//! and write an ordinary mixing session whose every value carries the
//! measured reason (decide, then render: the session is rendered by the
//! mixing engine like any hand-written one). See `docs/AUTOMIX.md`.

pub mod classify;
pub mod features;
pub mod rules;
pub mod session;
pub mod timbre;

/// White noise for the feature tests: xorshift64 from `seed`, uniform in
/// ±0.25 (full scale 1.0).
#[cfg(test)]
pub(crate) fn test_noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s as f64 / u64::MAX as f64 - 0.5) * 0.5
        })
        .collect()
}

pub use classify::{classify, classify_set, Classification, StemClass};
pub use features::{measure_stem, StemFeatures};
pub use rules::{decide, StemDecision, StemInput};

use crate::mixing::init::{track_name, AUDIO_EXTENSIONS};
use crate::Error;
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// Most stems automix accepts.
pub const MAX_STEMS: usize = 64;

/// What automix decided and wrote.
#[derive(Debug)]
pub struct Automix {
    /// The stem files, in session order.
    pub stems: Vec<PathBuf>,
    pub features: Vec<StemFeatures>,
    pub decisions: Vec<StemDecision>,
    /// The session document as written.
    pub session_text: String,
    pub sample_rate_hz: u32,
}

fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The stem files named by `inputs`: files as given, folders expanded to
/// their audio files (sorted by name).
pub fn collect_stems(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| Error::Content {
                path: p.clone(),
                problem: format!("cannot list folder: {e}"),
            })?;
            let mut files: Vec<PathBuf> = rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file() && is_audio(f))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(Error::Content {
                    path: p.clone(),
                    problem: "folder holds no audio files (wav, flac, mp3, ogg, m4a, aiff)".into(),
                });
            }
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    if out.is_empty() {
        return Err(Error::Content {
            path: PathBuf::from("."),
            problem: "no stems given".into(),
        });
    }
    if out.len() > MAX_STEMS {
        return Err(Error::Content {
            path: inputs[0].clone(),
            problem: format!("{} stems given; automix takes 1 to {MAX_STEMS}", out.len()),
        });
    }
    Ok(out)
}

/// How the session names `file`: relative to `session_dir` when the file
/// lies below it, else absolute.
fn session_file_name(file: &Path, session_dir: &Path) -> String {
    let abs = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = std::fs::canonicalize(session_dir).unwrap_or_else(|_| session_dir.to_path_buf());
    match abs.strip_prefix(&dir) {
        Ok(rel) => rel.display().to_string(),
        Err(_) => abs.display().to_string(),
    }
}

/// Measures, classifies and decides a mix for `inputs` (stem files or
/// folders of stems), and returns the session text for a session file at
/// `session_path` (not written: see [`write_session`]).
pub fn automix(inputs: &[PathBuf], session_path: &Path) -> Result<Automix, Error> {
    let stems = collect_stems(inputs)?;
    // Stems are measured in parallel; collect keeps their order.
    let features: Vec<StemFeatures> = stems
        .par_iter()
        .map(|p| measure_stem(p))
        .collect::<Result<_, _>>()?;
    let mut names: Vec<String> = Vec::new();
    for p in &stems {
        let base = track_name(p.file_stem().and_then(|s| s.to_str()).unwrap_or("track"));
        let mut name = base.clone();
        let mut k = 2;
        while names.contains(&name)
            || [rules::DRUM_BUS, "reverb", "delay", "master"].contains(&name.as_str())
        {
            name = format!("{base}_{k}");
            k += 1;
        }
        names.push(name);
    }
    let stem_names: Vec<&str> = stems
        .iter()
        .map(|p| p.file_stem().and_then(|s| s.to_str()).unwrap_or(""))
        .collect();
    let named: Vec<(&str, &StemFeatures)> =
        stem_names.iter().copied().zip(features.iter()).collect();
    let classes: Vec<Classification> = classify_set(&named);
    let inputs_for_rules: Vec<StemInput> = names
        .iter()
        .zip(&classes)
        .zip(&features)
        .map(|((n, c), f)| StemInput {
            name: n,
            class: c.clone(),
            features: f,
        })
        .collect();
    let decisions = decide(&inputs_for_rules);
    let sample_rate_hz = features
        .iter()
        .map(|f| f.sample_rate_hz)
        .max()
        .unwrap_or(48_000);
    let dir = match session_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let written: Vec<session::WrittenStem> = decisions
        .iter()
        .zip(&stems)
        .zip(&features)
        .map(|((d, p), f)| session::WrittenStem {
            decision: d,
            file: session_file_name(p, &dir),
            channels: f.channels,
        })
        .collect();
    let session_text = session::session_text(
        &written,
        sample_rate_hz,
        "sheen mixing session written by `sheen automix` (rules: docs/AUTOMIX.md).\n\
         Every decided value has its measured reason in `reasons` / `reason`.\n\
         Edit freely, then render: sheen mix THIS_FILE -o mix.wav",
    );
    // The session must be one the mixing engine accepts.
    crate::mixing::plan_text(session_path, &session_text).map_err(|e| Error::Content {
        path: session_path.to_path_buf(),
        problem: format!("automix wrote an invalid session (a bug): {e}"),
    })?;
    Ok(Automix {
        stems,
        features,
        decisions,
        session_text,
        sample_rate_hz,
    })
}

/// Writes the session atomically, refusing to overwrite a stem.
pub fn write_session(a: &Automix, session_path: &Path) -> Result<(), Error> {
    let inputs: Vec<&Path> = a.stems.iter().map(PathBuf::as_path).collect();
    sheen_io::write_text(session_path, &a.session_text, &inputs)?;
    Ok(())
}

/// The decisions as a readable table (for `--explain`).
pub fn explain(a: &Automix) -> String {
    use std::fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<18} {:<14} {:>8} {:>6}  why",
        "track", "class", "gain dB", "pan"
    );
    for d in &a.decisions {
        let _ = writeln!(
            s,
            "{:<18} {:<14} {:>8.1} {:>6.2}  {}; {}",
            d.name,
            d.class.class.name(),
            d.gain_db.value,
            d.pan.value,
            d.class.reason,
            d.gain_db.reason
        );
        let mut extra = Vec::new();
        if let Some(m) = &d.mute {
            extra.push(format!("muted: {m}"));
        }
        if let Some(h) = &d.highpass_hz {
            extra.push(format!("high-pass {:.0} Hz", h.value));
        }
        for c in &d.cuts {
            extra.push(format!(
                "cut {:.1} dB at {:.0} Hz ({})",
                c.gain_db, c.freq_hz, c.reason
            ));
        }
        if let Some(c) = &d.compressor {
            extra.push(format!("compressor {}:1 ({})", c.ratio, c.reason));
        }
        if let Some(e) = &d.deesser {
            extra.push(format!("de-esser ({})", e.reason));
        }
        if let Some(g) = &d.gate {
            extra.push(format!("gate ({})", g.reason));
        }
        for x in &d.sends {
            extra.push(format!("send {} {:.0} dB ({})", x.to, x.level_db, x.reason));
        }
        for e in extra {
            let _ = writeln!(s, "{:<18} {}", "", e);
        }
    }
    s
}
