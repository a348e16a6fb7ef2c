//! Progress bars on stderr (indicatif), shown only when stderr is a terminal
//! and the job is long enough to be worth watching.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Files shorter than this (seconds of audio) get no progress bar.
pub const MIN_SECONDS: f64 = 5.0;

/// A bar over `total` frames labelled `label`, or a hidden one when stderr
/// is not a terminal or the audio is short.
pub fn frames_bar(label: &str, total_frames: Option<u64>, sample_rate_hz: u32) -> ProgressBar {
    let long = total_frames.is_none_or(|t| t as f64 / sample_rate_hz.max(1) as f64 >= MIN_SECONDS);
    if !std::io::stderr().is_terminal() || !long {
        return ProgressBar::with_draw_target(total_frames, ProgressDrawTarget::hidden());
    }
    let bar = match total_frames {
        Some(t) => ProgressBar::new(t),
        None => ProgressBar::new_spinner(),
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {percent:>3}% {elapsed_precise}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(label.to_string());
    bar
}
