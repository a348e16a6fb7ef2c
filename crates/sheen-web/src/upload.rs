//! Uploads: a multipart form with one or more files (field `files`) and the
//! fields `kind` (`stems` | `mix`), `targets` (comma-separated or repeated)
//! and `style` (`gentle` | `balanced` | `punchy`).
//!
//! Every check happens before a job exists: total size and file count
//! limits, file names (a plain name only: no folders, no `..`, no leading
//! dot; other odd characters become `_`), duplicate names, targets and style
//! known, and every file decodes as audio (sheen_io's reader, i.e.
//! Symphonia, probing content rather than the extension). Files are staged
//! in `DATA/tmp/<id>/in/`; a rejected request leaves nothing behind.

use crate::error::ApiError;
use crate::store::{Input, Kind};
use axum::extract::multipart::{Multipart, MultipartError};
use axum::http::StatusCode;
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// Longest accepted file name, bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Largest accepted text field, bytes.
const MAX_FIELD_BYTES: usize = 4096;

/// Mastering styles `sheen master --style` accepts.
pub const STYLES: [&str; 3] = ["gentle", "balanced", "punchy"];

/// Checks an uploaded file name and makes it safe: refuses anything that
/// could name another folder (`/`, `\`, `..`, a leading `.`, control
/// characters, empty or over [`MAX_NAME_BYTES`]); replaces characters other
/// than ASCII letters, digits, `-`, `_`, `.` and `+` by `_`.
pub fn safe_name(raw: &str) -> Result<String, ApiError> {
    let bad = |why: &str| ApiError::bad_request(format!("file name {raw:?}: {why}"));
    if raw.is_empty() {
        return Err(bad("empty"));
    }
    if raw.len() > MAX_NAME_BYTES {
        return Err(bad(&format!("longer than {MAX_NAME_BYTES} bytes")));
    }
    if raw.contains('/') || raw.contains('\\') {
        return Err(bad("must be a plain file name, without folders"));
    }
    if raw.contains("..") {
        return Err(bad("must not contain \"..\""));
    }
    if raw.starts_with('.') {
        return Err(bad("must not start with a dot"));
    }
    if raw.chars().any(char::is_control) {
        return Err(bad("must not contain control characters"));
    }
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '+') {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok(name)
}

/// A checked upload, staged on disk.
pub struct Upload {
    pub kind: Kind,
    pub targets: Vec<String>,
    pub style: String,
    /// Staged files (name, path, bytes), in upload order.
    pub files: Vec<(String, PathBuf, u64)>,
}

/// Limits of one request.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_bytes: u64,
    pub max_files: usize,
}

fn multipart_error(e: MultipartError) -> ApiError {
    let status = e.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        "upload too large".to_string()
    } else {
        format!("bad multipart body: {}", e.body_text())
    };
    ApiError::new(status, message)
}

/// Reads the form into `dir` (which must exist). On error, reading goes on
/// (discarding) to the end of the body so the client gets the answer rather
/// than a reset connection; the caller removes `dir`.
pub async fn receive(mut mp: Multipart, dir: &Path, limits: Limits) -> Result<Upload, ApiError> {
    let mut first_error: Option<ApiError> = None;
    let mut total: u64 = 0;
    let mut files: Vec<(String, PathBuf, u64)> = Vec::new();
    let mut kind: Option<String> = None;
    let mut targets: Vec<String> = Vec::new();
    let mut style: Option<String> = None;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("upload too large: over {} MiB", limits.max_bytes >> 20),
        )
    };
    loop {
        let mut field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(first_error.unwrap_or_else(|| multipart_error(e)));
            }
        };
        let field_name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        // Decide where this field's bytes go: a staged file, a text buffer,
        // or nowhere (after an error).
        let mut sink: Option<(String, PathBuf, tokio::fs::File)> = None;
        let mut text: Option<Vec<u8>> = None;
        if first_error.is_none() {
            match (&file_name, field_name.as_str()) {
                (Some(raw), _) => match safe_name(raw) {
                    Err(e) => first_error = Some(e),
                    Ok(_) if files.len() >= limits.max_files => {
                        first_error = Some(ApiError::new(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            format!("too many files: at most {}", limits.max_files),
                        ))
                    }
                    Ok(name) if files.iter().any(|f| f.0 == name) => {
                        first_error = Some(ApiError::bad_request(format!(
                            "file name {raw:?}: uploaded twice (as {name})"
                        )))
                    }
                    Ok(name) => {
                        let path = dir.join(&name);
                        match tokio::fs::File::create(&path).await {
                            Ok(f) => sink = Some((name, path, f)),
                            Err(e) => {
                                first_error = Some(ApiError::internal(format!(
                                    "cannot stage upload {name}: {e}"
                                )))
                            }
                        }
                    }
                },
                (None, "kind" | "targets" | "style") => text = Some(Vec::new()),
                (None, other) => {
                    first_error = Some(ApiError::bad_request(format!(
                        "unknown form field {other:?} (expected files, kind, targets, style)"
                    )))
                }
            }
        }
        let mut bytes: u64 = 0;
        loop {
            let chunk = match field.chunk().await {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => return Err(first_error.unwrap_or_else(|| multipart_error(e))),
            };
            total += chunk.len() as u64;
            bytes += chunk.len() as u64;
            if first_error.is_some() {
                continue;
            }
            if total > limits.max_bytes {
                first_error = Some(too_large());
                sink = None;
                text = None;
                continue;
            }
            if let Some((name, _, f)) = sink.as_mut() {
                if let Err(e) = f.write_all(&chunk).await {
                    first_error = Some(ApiError::internal(format!(
                        "cannot stage upload {name}: {e}"
                    )));
                    sink = None;
                }
            } else if let Some(t) = text.as_mut() {
                if t.len() + chunk.len() > MAX_FIELD_BYTES {
                    first_error = Some(ApiError::bad_request(format!(
                        "form field {field_name:?}: longer than {MAX_FIELD_BYTES} bytes"
                    )));
                    text = None;
                } else {
                    t.extend_from_slice(&chunk);
                }
            }
        }
        if first_error.is_some() {
            continue;
        }
        if let Some((name, path, mut f)) = sink {
            if let Err(e) = f.flush().await {
                first_error = Some(ApiError::internal(format!(
                    "cannot stage upload {name}: {e}"
                )));
                continue;
            }
            files.push((name, path, bytes));
        } else if let Some(t) = text {
            let value = String::from_utf8_lossy(&t).trim().to_string();
            match field_name.as_str() {
                "kind" => kind = Some(value),
                "style" => style = Some(value),
                _ => targets.extend(
                    value
                        .split([',', ' '])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                ),
            }
        }
    }
    if let Some(e) = first_error {
        return Err(e);
    }
    if files.is_empty() {
        return Err(ApiError::bad_request(
            "no files: send one or more audio files in the form field \"files\"",
        ));
    }
    let kind = match kind.as_deref().filter(|k| !k.is_empty()) {
        None => {
            if files.len() == 1 {
                Kind::Mix
            } else {
                Kind::Stems
            }
        }
        Some("stems") => Kind::Stems,
        Some("mix") => Kind::Mix,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "kind {other:?}: expected \"stems\" or \"mix\""
            )))
        }
    };
    if kind == Kind::Mix && files.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "kind \"mix\" takes exactly one file, got {}",
            files.len()
        )));
    }
    let style = style
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "balanced".into());
    if !STYLES.contains(&style.as_str()) {
        return Err(ApiError::bad_request(format!(
            "style {style:?}: expected one of {}",
            STYLES.join(", ")
        )));
    }
    if targets.is_empty() {
        targets.push("spotify".into());
    }
    let known = sheen::mastering::Targets::builtin();
    let mut unique = Vec::new();
    for t in targets {
        if known.get(&t).is_none() {
            return Err(ApiError::bad_request(format!(
                "target {t:?}: unknown (known: {})",
                known.names().join(", ")
            )));
        }
        if !unique.contains(&t) {
            unique.push(t);
        }
    }
    Ok(Upload {
        kind,
        targets: unique,
        style,
        files,
    })
}

/// Probes a staged file: it must open as audio and yield at least one frame.
/// Blocking (decodes the first block); errors name the upload, not the path.
pub fn probe(name: &str, path: &Path, bytes: u64) -> Result<Input, ApiError> {
    let reject = |why: String| {
        let why = why.replace(&path.display().to_string(), name);
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("{name}: not audio sheen can read ({why})"),
        )
    };
    let mut r = sheen_io::AudioReader::open(path).map_err(|e| reject(e.to_string()))?;
    let info = r.info().clone();
    let mut buf = Vec::new();
    let n = r.read(&mut buf, 4096).map_err(|e| reject(e.to_string()))?;
    if n == 0 {
        return Err(reject("no audio frames".into()));
    }
    Ok(Input {
        name: name.to_string(),
        bytes,
        sample_rate_hz: info.sample_rate_hz,
        channels: info.channels,
        duration_s: info.duration_s(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: OWASP path-traversal guidance — a name that could leave
    /// the upload folder is refused, never rewritten into something that
    /// could; harmless odd characters are replaced.
    #[test]
    fn names() {
        for bad in [
            "../x.wav",
            "..",
            "a/b.wav",
            "/etc/passwd",
            "a\\b.wav",
            ".hidden.wav",
            "x\u{0}.wav",
            "",
            "a..b.wav",
        ] {
            assert!(safe_name(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(safe_name("Kick Drum (1).wav").unwrap(), "Kick_Drum__1_.wav");
        assert_eq!(safe_name("bass+sub.flac").unwrap(), "bass+sub.flac");
        assert_eq!(safe_name("chœur.wav").unwrap(), "ch_ur.wav");
        assert!(safe_name(&"a".repeat(MAX_NAME_BYTES + 1)).is_err());
    }
}
