//! Mastering analysis of a mix, in one streamed pass: BS.1770-4 loudness
//! (integrated, LRA, short-term maximum and where it occurs), true peak,
//! crest factor, correlation, and 1/3-octave spectra of the mid and side
//! signals (all meters from `sheen-meter`), from which the low-end
//! mono-ness (side/mid energy below 120 Hz) is derived.

use crate::Error;
use sheen_io::AudioReader;
use sheen_meter::{Analyzer, AnalyzerOptions, BandLevel};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Frames per read.
pub const CHUNK_FRAMES: usize = 8192;

/// Upper edge of "low end" for the mono-ness measure, Hz.
pub const LOW_END_HZ: f64 = 120.0;

/// Most samples (all channels) [`analyse_keeping`] keeps decoded:
/// `plan::MAX_FRONT_SAMPLES` (the longest input whose gain-search
/// recording keeps its front), 128 MB of `f32`.
pub const MAX_DECODED_SAMPLES: usize = super::plan::MAX_FRONT_SAMPLES;

/// The input's samples as decoded by the analysis, kept for the passes
/// that follow (the gain search's recording) so they need not decode the
/// file again: planar `f32`, kept only when every decoded `f64` sample is
/// exactly an `f32` (integer PCM up to 24 bits, float files), so reading
/// them back gives the decoder's values bit for bit.
pub struct Decoded {
    pub sample_rate_hz: u32,
    channels: Vec<Vec<f32>>,
}

impl Decoded {
    /// Channels.
    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// Frames.
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }

    /// As `AudioReader::read`: frames `at..` (at most `max_frames`) into
    /// `buf` (cleared first); returns the frames read (0 at the end).
    pub fn read(&self, at: usize, buf: &mut Vec<Vec<f64>>, max_frames: usize) -> usize {
        let n = max_frames.min(self.frames().saturating_sub(at));
        buf.resize_with(self.channels.len(), Vec::new);
        for (b, c) in buf.iter_mut().zip(&self.channels) {
            b.clear();
            b.extend(c[at..at + n].iter().map(|&v| f64::from(v)));
        }
        n
    }
}

impl std::fmt::Debug for Decoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoded")
            .field("channels", &self.channels())
            .field("frames", &self.frames())
            .finish()
    }
}

/// What the planner needs to know about a mix.
#[derive(Clone, Debug)]
pub struct MixAnalysis {
    pub path: PathBuf,
    pub sample_rate_hz: u32,
    pub channels: usize,
    pub frames: u64,
    pub duration_s: f64,
    pub integrated_lufs: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub sample_peak_dbfs: Option<f64>,
    pub plr_db: Option<f64>,
    pub crest_db: Option<f64>,
    pub correlation: Option<f64>,
    pub side_to_mid_db: Option<f64>,
    /// 1/3-octave spectrum of the mid signal `(L+R)/2` (of the channel for
    /// mono).
    pub mid_spectrum: Vec<BandLevel>,
    /// 1/3-octave spectrum of the side signal `(L−R)/2` (empty for mono).
    pub side_spectrum: Vec<BandLevel>,
    /// Mean-square per FFT bin of the mid signal (one-sided, `n/2 + 1`
    /// bins of the spectrum's FFT length `n`, linear full-scale power; see
    /// [`sheen_meter::SpectrumAnalyzer::bin_powers`]).
    pub mid_bins: Vec<f64>,
    /// The same of the side signal (empty for mono).
    pub side_bins: Vec<f64>,
    /// Side energy relative to mid energy in the bands below
    /// [`LOW_END_HZ`], dB (`None` for mono or no low end).
    pub low_side_to_mid_db: Option<f64>,
    /// Time at which the short-term (3 s) loudness peaks, s (end of window).
    pub loudest_s: f64,
    /// The decoded samples ([`analyse_keeping`]; `None` otherwise).
    pub decoded: Option<Arc<Decoded>>,
}

/// Streams `path` through the meters.
///
/// Errors: the file cannot be read, or has more than two channels.
pub fn analyse(path: &Path) -> Result<MixAnalysis, Error> {
    analyse_keeping(path, false)
}

/// As [`analyse`]; with `keep`, also keeps the decoded samples
/// ([`MixAnalysis::decoded`]) when the file declares its length, holds at
/// most [`MAX_DECODED_SAMPLES`], decodes to values exact in `f32` and is
/// not a WAV file that the reader reads directly
/// ([`AudioReader::is_direct`]). Other inputs are decoded again by each
/// pass: longer or finer ones to bound the memory, direct WAV files
/// because decoding them again costs less than the fresh memory of a
/// kept copy (4 bytes per sample, each page faulted in when first
/// written; on the 60 s stereo benchmark 23 MB).
pub fn analyse_keeping(path: &Path, keep: bool) -> Result<MixAnalysis, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    if info.channels > 2 {
        return Err(Error::Content {
            path: path.to_path_buf(),
            problem: format!(
                "{} channels: sheen master handles mono and stereo only (downmix first)",
                info.channels
            ),
        });
    }
    let fs = info.sample_rate_hz as f64;
    // the mid and side spectra run on the analyser's background thread
    // (with the true peak), loudness and statistics here with the decoding
    let mut analyzer = Analyzer::with_mid_side(
        fs,
        info.channels,
        AnalyzerOptions {
            series: false,
            spectrum: false,
            channel_weights: None,
        },
    );
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); info.channels];
    let mut frames = 0u64;
    let mut loudest = (f64::NEG_INFINITY, 0.0);
    // a WAV file read directly decodes again faster than the fresh
    // memory of a decoded copy is paged in
    let keep = keep && !reader.is_direct();
    let mut kept: Option<Vec<Vec<f32>>> = info
        .frames
        .filter(|&f| keep && (f as usize).saturating_mul(info.channels) <= MAX_DECODED_SAMPLES)
        .map(|f| {
            (0..info.channels)
                .map(|_| Vec::with_capacity(f as usize))
                .collect()
        });
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        if let Some(k) = &mut kept {
            let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
            if !keep_exact(k, &block, MAX_DECODED_SAMPLES / info.channels) {
                kept = None;
            }
        }
        // the block (`read` leaves exactly `n` frames per channel) goes to
        // the background meters without a copy: `buf` may come back
        // emptied, and the next read fills it again
        analyzer.push_owned(&mut buf);
        frames += n as u64;
        if let Some(st) = analyzer.loudness().short_term_lufs() {
            if st > loudest.0 {
                loudest = (st, frames as f64 / fs);
            }
        }
    }
    let (a, mid_side) = analyzer.finish_mid_side();
    let (mid_an, side_an) = mid_side.expect("mid/side spectra requested");
    let mid_spectrum = mid_an.band_levels();
    let side_spectrum = side_an.as_ref().map_or(Vec::new(), |s| s.band_levels());
    let mid_bins = mid_an.bin_powers();
    let side_bins = side_an.map_or(Vec::new(), |s| s.bin_powers());
    let low_side_to_mid_db = low_ratio(&mid_spectrum, &side_spectrum);
    Ok(MixAnalysis {
        path: path.to_path_buf(),
        sample_rate_hz: info.sample_rate_hz,
        channels: info.channels,
        frames,
        duration_s: frames as f64 / fs,
        integrated_lufs: a.integrated_lufs,
        loudness_range_lu: a.loudness_range_lu,
        true_peak_dbtp: a.true_peak_dbtp,
        sample_peak_dbfs: a.sample_peak_dbfs,
        plr_db: a.plr_db,
        crest_db: a.crest_db,
        correlation: a.correlation,
        side_to_mid_db: a.side_to_mid_db,
        mid_spectrum,
        side_spectrum,
        mid_bins,
        side_bins,
        low_side_to_mid_db,
        loudest_s: loudest.1,
        decoded: kept.map(|channels| {
            Arc::new(Decoded {
                sample_rate_hz: info.sample_rate_hz,
                channels,
            })
        }),
    })
}

/// Appends `block` to `kept` as `f32`; false (give up) if a sample is not
/// exactly an `f32` or the frames would exceed `max_frames`.
fn keep_exact(kept: &mut [Vec<f32>], block: &[&[f64]], max_frames: usize) -> bool {
    let n = block.first().map_or(0, |c| c.len());
    if kept.first().map_or(0, Vec::len) + n > max_frames {
        return false;
    }
    for (k, c) in kept.iter_mut().zip(block) {
        let base = k.len();
        k.extend(c.iter().map(|&v| v as f32));
        // every value read back must be the decoder's, bit for bit
        let exact = k[base..].iter().zip(c.iter()).fold(true, |ok, (&f, &v)| {
            ok & (f64::from(f).to_bits() == v.to_bits())
        });
        if !exact {
            return false;
        }
    }
    true
}

/// Side/mid energy ratio below [`LOW_END_HZ`], dB.
fn low_ratio(mid: &[BandLevel], side: &[BandLevel]) -> Option<f64> {
    if side.is_empty() {
        return None;
    }
    let sum = |v: &[BandLevel]| -> f64 {
        v.iter()
            .filter(|b| b.hz <= LOW_END_HZ)
            .map(|b| 10f64.powf(b.db / 10.0))
            .sum()
    };
    let (m, s) = (sum(mid), sum(side));
    (m > 1e-12 && s > 0.0).then(|| 10.0 * (s / m).log10())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sheen_io::{write_all, Container, SampleFormat, WriteSpec};

    /// Reference: [`analyse`] (no copy kept) and the file read back with
    /// [`AudioReader`]. A 24-bit WAV file (read directly) is not kept and
    /// analyses exactly as without `keep`; the same samples in a FLAC file
    /// (decoded by symphonia) are kept, value for value what the reader
    /// gives.
    #[test]
    fn keeps_a_copy_only_where_decoding_again_costs() {
        let dir = std::env::temp_dir().join(format!("sheen-analyse-keep-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fs = 48_000u32;
        let x: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                (0..30_000)
                    .map(|i| 0.3 * (i as f64 * (0.01 + 0.003 * c as f64)).sin())
                    .collect()
            })
            .collect();
        for (name, container) in [("a.wav", Container::Wav), ("a.flac", Container::Flac)] {
            let path = dir.join(name);
            let spec = WriteSpec {
                sample_rate_hz: fs,
                channels: 2,
                format: SampleFormat::I24,
                container,
            };
            write_all(&path, spec, &[], &x).unwrap();
            let direct = AudioReader::open(&path).unwrap().is_direct();
            assert_eq!(direct, container == Container::Wav, "{name}");
            let kept = analyse_keeping(&path, true).unwrap();
            let plain = analyse(&path).unwrap();
            let bits = |a: &MixAnalysis| {
                [
                    a.integrated_lufs,
                    a.true_peak_dbtp,
                    a.correlation,
                    a.crest_db,
                ]
                .map(|v| v.map(f64::to_bits))
            };
            assert_eq!(bits(&kept), bits(&plain), "{name}");
            assert!(plain.decoded.is_none());
            match &kept.decoded {
                None => assert!(direct, "{name}: a FLAC file is kept"),
                Some(d) => {
                    assert!(!direct, "{name}: a direct WAV file is not kept");
                    let (_, back) = sheen_io::read_all(&path).unwrap();
                    let mut buf = Vec::new();
                    assert_eq!(d.read(0, &mut buf, usize::MAX), back[0].len());
                    assert!(buf
                        .iter()
                        .zip(&back)
                        .all(|(a, b)| a.iter().zip(b).all(|(p, q)| p.to_bits() == q.to_bits())));
                }
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
