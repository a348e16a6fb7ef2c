//! `sheen analyze`: streams a file through the meters of `sheen-meter` and
//! reports, per file, the fields of the analysis JSON (one fixed key set,
//! documented in the README).

use crate::Error;
use serde::Serialize;
use sheen_io::{AudioReader, MAX_CHANNELS};
use sheen_meter::{Analyzer, AnalyzerOptions};
use std::path::Path;

/// Frames decoded and metered per step (bounded memory whatever the length).
pub const CHUNK_FRAMES: usize = 8192;

/// One 1/3-octave band of the long-term average spectrum.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BandDb {
    /// Nominal band centre in Hz (IEC 61260).
    pub hz: f64,
    /// Band level in dB (see `sheen-meter` for the reference).
    pub db: f64,
}

/// The analysis of one file; serialised with exactly these keys, in this
/// order. Loudness values are `None` (JSON `null`) for silence.
#[derive(Clone, Debug, Serialize)]
pub struct FileAnalysis {
    pub file: String,
    pub sample_rate_hz: u32,
    pub channels: usize,
    /// Duration in seconds.
    pub duration_s: f64,
    /// Integrated loudness, LUFS (BS.1770-4 gated).
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU (EBU Tech 3342).
    pub loudness_range_lu: Option<f64>,
    /// Maximum momentary (400 ms) loudness, LUFS.
    pub momentary_max_lufs: Option<f64>,
    /// Maximum short-term (3 s) loudness, LUFS.
    pub short_term_max_lufs: Option<f64>,
    /// True peak, dBTP (≥ 4× oversampled, BS.1770-4 Annex 2).
    pub true_peak_dbtp: Option<f64>,
    /// Sample peak, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Peak-to-loudness ratio: true peak − integrated loudness, dB.
    pub plr_db: Option<f64>,
    /// RMS level of all channels pooled, dBFS.
    pub rms_dbfs: Option<f64>,
    /// Crest factor: sample peak − RMS, dB.
    pub crest_db: Option<f64>,
    /// Largest per-channel mean (DC offset), linear full-scale units.
    pub dc_offset: f64,
    /// Pearson correlation of left and right (−1…1); `null` for mono.
    pub correlation: Option<f64>,
    /// Side energy relative to mid energy, dB; `null` for mono.
    pub side_to_mid_db: Option<f64>,
    /// Samples at or above digital full scale.
    pub clipped_samples: u64,
    /// Long-term average 1/3-octave spectrum.
    pub third_octave_db: Vec<BandDb>,
    /// Momentary loudness series `[time_s, lufs]` (with `--series`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentary: Option<Vec<[f64; 2]>>,
    /// Short-term loudness series `[time_s, lufs]` (with `--series`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_term: Option<Vec<[f64; 2]>>,
}

/// Decodes the rest of `reader` (opened from `path`) in blocks of at most
/// [`CHUNK_FRAMES`] frames and calls `f` with each planar block (every
/// channel the same length, ≥ 1 frame); memory is one block whatever the
/// length. Returns the frames read.
///
/// Errors: a decoding error, or no audio at all ("contains no audio").
pub fn stream_blocks(
    reader: &mut AudioReader,
    path: &Path,
    mut f: impl FnMut(&[&[f64]]),
) -> Result<u64, Error> {
    let channels = reader.info().channels;
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); channels];
    let mut frames: u64 = 0;
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        let mut views: [&[f64]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
        for (v, c) in views.iter_mut().zip(&buf) {
            *v = &c[..n];
        }
        f(&views[..channels]);
        frames += n as u64;
    }
    if frames == 0 {
        return Err(Error::Content {
            path: path.to_path_buf(),
            problem: "contains no audio (0 frames)".into(),
        });
    }
    Ok(frames)
}

/// Options for [`analyze_file`].
#[derive(Clone, Copy, Debug, Default)]
pub struct AnalyzeOptions {
    /// Keep the momentary and short-term series.
    pub series: bool,
}

/// Streams `path` through the meters. `progress(frames_done, frames_total)`
/// is called after each chunk (`frames_total` when the header declares it).
pub fn analyze_file(
    path: &Path,
    opts: AnalyzeOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<FileAnalysis, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    let mut analyzer = Analyzer::new(
        info.sample_rate_hz as f64,
        info.channels,
        AnalyzerOptions {
            series: opts.series,
            spectrum: true,
            channel_weights: None,
        },
    );
    let mut done: u64 = 0;
    let frames = stream_blocks(&mut reader, path, |block| {
        analyzer.push(block);
        done += block[0].len() as u64;
        progress(done, info.frames);
    })?;
    let a = analyzer.finish();
    Ok(FileAnalysis {
        file: path.display().to_string(),
        sample_rate_hz: info.sample_rate_hz,
        channels: info.channels,
        duration_s: frames as f64 / info.sample_rate_hz as f64,
        integrated_lufs: a.integrated_lufs,
        loudness_range_lu: a.loudness_range_lu,
        momentary_max_lufs: a.momentary_max_lufs,
        short_term_max_lufs: a.short_term_max_lufs,
        true_peak_dbtp: a.true_peak_dbtp,
        sample_peak_dbfs: a.sample_peak_dbfs,
        plr_db: a.plr_db,
        rms_dbfs: a.rms_dbfs,
        crest_db: a.crest_db,
        dc_offset: a.dc_offset,
        correlation: a.correlation,
        side_to_mid_db: a.side_to_mid_db,
        clipped_samples: a.clipped_samples,
        third_octave_db: a
            .third_octave_db
            .iter()
            .map(|b| BandDb { hz: b.hz, db: b.db })
            .collect(),
        momentary: a.momentary,
        short_term: a.short_term,
    })
}
