//! Errors of a mixing session document: one line, `file:line:col: problem
//! (hint: …)`, with the position taken from the TOML parser's span (syntax,
//! unknown keys, wrong types) or from the `toml::Spanned` value a semantic
//! check (missing stem, bus cycle, unknown name, range) is about.

use std::ops::Range;
use std::path::{Path, PathBuf};

/// A problem in a session file, located to the line and column.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}:{col}: {message}{}", path.display(), hint.as_ref().map(|h| format!(" (hint: {h})")).unwrap_or_default())]
pub struct SessionError {
    /// The session file.
    pub path: PathBuf,
    /// 1-based line of the offending text.
    pub line: usize,
    /// 1-based column (in characters) of the offending text.
    pub col: usize,
    /// What is wrong (one line).
    pub message: String,
    /// How to fix it, when one can be suggested.
    pub hint: Option<String>,
}

/// The text of a session file and its path, for turning byte spans into
/// `line:col` positions.
#[derive(Clone, Copy, Debug)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
}

impl Source<'_> {
    /// 1-based (line, column) of byte offset `at`.
    pub fn line_col(&self, at: usize) -> (usize, usize) {
        let at = at.min(self.text.len());
        let mut at = at;
        while !self.text.is_char_boundary(at) {
            at -= 1;
        }
        let before = &self.text[..at];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    /// An error at `span`.
    pub fn error(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> SessionError {
        let (line, col) = self.line_col(span.start);
        SessionError {
            path: self.path.to_path_buf(),
            line,
            col,
            message: one_line(&message.into()),
            hint: hint.map(|h| one_line(&h)),
        }
    }

    /// Converts a TOML parse / deserialisation error, rewriting serde's
    /// messages for the common cases and adding a hint.
    pub fn from_toml(&self, e: &toml::de::Error) -> SessionError {
        let span = e.span().unwrap_or(0..0);
        let (message, hint) = explain(e.message());
        self.error(span, message, hint)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Names in backticks in a serde message, in order.
fn backticked(s: &str) -> Vec<String> {
    s.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, t)| t.to_string())
        .collect()
}

/// Rewrites a serde/toml message into sheen's wording plus a hint.
fn explain(msg: &str) -> (String, Option<String>) {
    let names = backticked(msg);
    if msg.starts_with("unknown field") && !names.is_empty() {
        let key = &names[0];
        let expected: Vec<&str> = names[1..].iter().map(String::as_str).collect();
        let hint = suggest(key, &expected)
            .map(|s| format!("did you mean '{s}'?"))
            .or_else(|| {
                (!expected.is_empty()).then(|| format!("expected one of: {}", expected.join(", ")))
            });
        return (format!("unknown key '{key}'"), hint);
    }
    if msg.starts_with("unknown variant") && !names.is_empty() {
        let v = &names[0];
        let expected: Vec<&str> = names[1..].iter().map(String::as_str).collect();
        let hint = suggest(v, &expected)
            .map(|s| format!("did you mean '{s}'?"))
            .or_else(|| {
                (!expected.is_empty()).then(|| format!("expected one of: {}", expected.join(", ")))
            });
        return (format!("unknown value '{v}'"), hint);
    }
    if let Some(field) = msg.strip_prefix("missing field ") {
        let f = field.trim_matches('`');
        return (
            format!("missing key '{f}'"),
            Some(format!("add {f} = ... to this table")),
        );
    }
    if msg.starts_with("invalid type") {
        let hint = if msg.contains("string") && msg.contains("expected f64") {
            Some(
                "write a plain number: the unit is in the key's name (…_db, …_hz, …_s, …_ms), e.g. gain_db = -3.0"
                    .to_string(),
            )
        } else if msg.contains("expected a boolean") {
            Some("write true or false".to_string())
        } else {
            None
        };
        return (msg.to_string(), hint);
    }
    (msg.to_string(), None)
}

/// Levenshtein edit distance (characters).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The candidate closest to `word` if it is close enough to be a typo
/// (edit distance at most a third of the length, at least 1, or a
/// case/underscore-insensitive match).
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-', ' '], "");
    if let Some(c) = candidates.iter().find(|c| norm(c) == norm(word)) {
        return Some(c);
    }
    if word.len() >= 3 {
        if let Some(c) = candidates.iter().find(|c| c.starts_with(word)) {
            return Some(c);
        }
    }
    let limit = (word.chars().count() / 3).max(1);
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_and_suggestions() {
        let s = Source {
            path: Path::new("s.toml"),
            text: "a = 1\n\nbé = 2\n",
        };
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(7), (3, 1));
        assert_eq!(s.line_col(11), (3, 4));
        assert_eq!(suggest("gian_db", &["gain_db", "pan"]), Some("gain_db"));
        assert_eq!(suggest("volume", &["gain_db", "pan"]), None);
        assert_eq!(suggest("Gain-DB", &["gain_db"]), Some("gain_db"));
        let e = s.error(7..8, "bad", Some("fix".into()));
        assert_eq!(e.to_string(), "s.toml:3:1: bad (hint: fix)");
    }
}
