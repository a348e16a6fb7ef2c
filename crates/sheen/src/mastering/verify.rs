//! Verify: measures a written deliverable with `sheen-meter` (the same
//! meters as the analysis) and compares it with what the chain promised.

use crate::Error;
use serde::Serialize;
use sheen_io::AudioReader;
use sheen_meter::{Analyzer, AnalyzerOptions};
use std::path::Path;

/// Largest allowed difference from the target loudness, LU.
pub const LOUDNESS_TOLERANCE_LU: f64 = 0.1;

/// The tighter tolerance of a gain predicted without a pass over the audio
/// (`plan::PREDICTED`): a miss above it is corrected and rendered again
/// (exactly, as the limiter stayed idle), LU. The search's gains land
/// within a few thousandths; predictions typically within 0.015 LU.
pub const PREDICTED_TOLERANCE_LU: f64 = 0.02;

/// Loudness figures of a file.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Measured {
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    pub plr_db: Option<f64>,
}

/// Streams `path` through the loudness and true-peak meters.
pub fn measure_file(path: &Path) -> Result<Measured, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    let mut a = Analyzer::new(
        info.sample_rate_hz as f64,
        info.channels,
        AnalyzerOptions {
            series: false,
            spectrum: false,
            channel_weights: None,
        },
    );
    let mut buf: Vec<Vec<f64>> = Vec::new();
    loop {
        let n = reader.read(&mut buf, 8192)?;
        if n == 0 {
            break;
        }
        let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
        a.push(&block);
    }
    let r = a.finish();
    Ok(Measured {
        integrated_lufs: r.integrated_lufs,
        true_peak_dbtp: r.true_peak_dbtp,
        loudness_range_lu: r.loudness_range_lu,
        plr_db: r.plr_db,
    })
}

/// The verdict on one deliverable.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// Measured minus target loudness, LU.
    pub loudness_error_lu: Option<f64>,
    /// Measured true peak minus the ceiling, dB (≤ 0 passes).
    pub true_peak_margin_db: Option<f64>,
    pub pass: bool,
}

/// Compares `m` with a target of `lufs` and a ceiling of `ceiling_dbtp`.
pub fn judge(m: &Measured, lufs: f64, ceiling_dbtp: f64) -> Verdict {
    let loudness_error_lu = m.integrated_lufs.map(|i| i - lufs);
    let true_peak_margin_db = m.true_peak_dbtp.map(|t| t - ceiling_dbtp);
    let pass = loudness_error_lu.is_some_and(|e| e.abs() <= LOUDNESS_TOLERANCE_LU)
        && true_peak_margin_db.is_none_or(|o| o <= 0.0);
    Verdict {
        loudness_error_lu,
        true_peak_margin_db,
        pass,
    }
}
