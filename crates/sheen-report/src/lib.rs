//! sheen-report: turns measured data into one self-contained HTML file.
//!
//! The caller (the engine, the CLI, a service) measures and decides; this
//! crate only draws. [`render_html`] takes a [`ReportData`] and returns the
//! whole document as a `String`:
//!
//! - loudness over time: momentary (400 ms) and short-term (3 s) LUFS
//!   series (EBU Tech 3341) of every signal, before and after, with the
//!   targets as lines;
//! - the 1/3-octave mid spectrum (IEC 61260-1 bands) of every signal,
//!   relative to its integrated loudness so that before, after and
//!   reference compare in shape;
//! - per deliverable the integrated loudness, true peak, loudness range and
//!   PLR against the target and ceiling, with a PASS/FAIL mark;
//! - the chain or session decisions with their reasons;
//! - the stereo image over time: L/R correlation and side/mid ratio;
//! - loudness-matched A/B excerpts as `<audio>` elements with base64
//!   `data:` URIs.
//!
//! Plots are SVG drawn with `plotters` ([`plot`]); text is measured with
//! the bundled font (DejaVu Sans cut down to the characters reports use,
//! `assets/SheenSans.ttf`, license beside it) and the same font is embedded
//! in the CSS with `@font-face`, so the page renders alike everywhere and
//! needs no network (no external CSS, JS or fonts).
//!
//! Determinism: the output depends only on the [`ReportData`]: no clock,
//! no environment, numbers formatted with fixed decimals (see [`num`]).

pub mod html;
pub mod num;
pub mod plot;

pub use html::render_html;

use serde::Serialize;

/// What a measured signal is in the report (sets its colour and line).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The input before processing.
    Before,
    /// A processed output (a master, a mix).
    After,
    /// A reference track.
    Reference,
    /// A file analysed as it is (`sheen report`).
    Input,
}

/// One point of a stereo-image series.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct StereoSample {
    /// End time of the 400 ms window, s.
    pub time_s: f64,
    /// L/R correlation, −1…1 (`None`: a channel is constant).
    pub correlation: Option<f64>,
    /// Side energy over mid energy, dB (`None`: no side or no mid).
    pub side_to_mid_db: Option<f64>,
}

/// A measured signal: its figures and series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Signal {
    /// Short name shown in legends ("before", "spotify", "reference").
    pub label: String,
    /// The file measured.
    pub file: String,
    pub role: Role,
    pub sample_rate_hz: u32,
    pub channels: usize,
    /// Duration, s.
    pub duration_s: f64,
    /// Integrated loudness, LUFS (BS.1770-4).
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU (EBU Tech 3342).
    pub loudness_range_lu: Option<f64>,
    /// True peak, dBTP (BS.1770-4 Annex 2).
    pub true_peak_dbtp: Option<f64>,
    /// Sample peak, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Peak-to-loudness ratio (true peak − integrated), dB.
    pub plr_db: Option<f64>,
    /// Maximum short-term loudness, LUFS.
    pub short_term_max_lufs: Option<f64>,
    /// L/R correlation over the whole signal.
    pub correlation: Option<f64>,
    /// Side/mid energy over the whole signal, dB.
    pub side_to_mid_db: Option<f64>,
    /// Momentary loudness `[time_s, lufs]`, every 100 ms.
    pub momentary: Vec<[f64; 2]>,
    /// Short-term loudness `[time_s, lufs]`, every 100 ms.
    pub short_term: Vec<[f64; 2]>,
    /// Stereo image every 100 ms (empty for mono).
    pub stereo: Vec<StereoSample>,
    /// 1/3-octave spectrum of the mid signal `[hz, db]` (dB re full scale).
    pub spectrum_mid: Vec<[f64; 2]>,
}

/// A deliverable checked against its target.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Deliverable {
    /// Target name ("spotify", "song 2").
    pub name: String,
    /// The file written.
    pub file: String,
    /// Target integrated loudness, LUFS (`None`: no loudness target).
    pub target_lufs: Option<f64>,
    /// Allowed loudness error, LU.
    pub tolerance_lu: f64,
    /// True-peak ceiling, dBTP.
    pub ceiling_dbtp: Option<f64>,
    /// Measured integrated loudness, LUFS.
    pub integrated_lufs: Option<f64>,
    /// Measured true peak, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Measured loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    /// Measured PLR, dB.
    pub plr_db: Option<f64>,
    /// The engine's verdict.
    pub pass: bool,
}

impl Deliverable {
    /// Whether the loudness is within the tolerance (`None`: no target).
    pub fn loudness_ok(&self) -> Option<bool> {
        let t = self.target_lufs?;
        Some(
            self.integrated_lufs
                .is_some_and(|i| (i - t).abs() <= self.tolerance_lu + 1e-9),
        )
    }

    /// Whether the true peak is at or under the ceiling (`None`: no
    /// ceiling). Silence (no true peak) is under any ceiling.
    pub fn ceiling_ok(&self) -> Option<bool> {
        let c = self.ceiling_dbtp?;
        Some(self.true_peak_dbtp.is_none_or(|tp| tp <= c))
    }
}

/// One decision of a chain or session, with its reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Decision {
    /// Where it applies ("all targets", "spotify", "track kick").
    pub scope: String,
    /// The stage ("eq", "limiter", "gain", "pan").
    pub stage: String,
    /// The value chosen, readable ("−2.1 dB at 250 Hz").
    pub setting: String,
    /// Why.
    pub reason: String,
}

/// Encoded audio embedded in the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Audio {
    /// MIME type (`audio/flac`, `audio/wav`).
    pub mime: String,
    /// The file's bytes.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// A loudness-matched A/B pair of excerpts.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Excerpt {
    /// What is compared ("spotify").
    pub label: String,
    /// Start of the excerpt in the files, s.
    pub start_s: f64,
    /// Length, s.
    pub len_s: f64,
    /// Label of A ("original").
    pub a_label: String,
    pub a: Audio,
    /// Label of B ("master").
    pub b_label: String,
    pub b: Audio,
    /// How the two were matched ("original +4.2 dB").
    pub note: String,
}

/// Everything a report shows. Build it, then call [`render_html`].
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ReportData {
    /// Page title ("sheen master: song.wav").
    pub title: String,
    /// Lines under the title (the job's settings).
    pub summary: Vec<String>,
    /// Shown in the footer when given (nothing else varies between runs).
    pub generated_at: Option<String>,
    /// The tool that made the report ("sheen 0.1.0").
    pub generator: String,
    /// Measured signals (before, after, reference).
    pub signals: Vec<Signal>,
    /// Deliverables with their targets.
    pub deliverables: Vec<Deliverable>,
    /// Chain or session decisions.
    pub decisions: Vec<Decision>,
    /// A/B excerpts.
    pub excerpts: Vec<Excerpt>,
    /// Warnings of the job.
    pub warnings: Vec<String>,
}

impl ReportData {
    /// True when there are deliverables and every one passed.
    pub fn all_pass(&self) -> bool {
        !self.deliverables.is_empty() && self.deliverables.iter().all(|d| d.pass)
    }
}
