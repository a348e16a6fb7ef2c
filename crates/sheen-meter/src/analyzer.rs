//! The complete analysis of a signal in one streaming pass: loudness
//! (ITU-R BS.1770-4, EBU Tech 3341 / 3342, see [`crate::loudness`]), true
//! peak (BS.1770-4 Annex 2, [`crate::true_peak`]), level statistics
//! ([`crate::stats`]) and the 1/3-octave long-term average spectrum
//! ([`crate::spectrum`]).
//!
//! Every value is bitwise identical for any partition of the signal into
//! blocks. Silence gives `None` (JSON `null`) for every level in dB; an empty
//! input gives an [`Analysis`] with `frames = 0` and no panic.

use crate::loudness::{default_channel_weights, LoudnessMeter};
use crate::spectrum::{mean_band_levels, BandLevel, SpectrumAnalyzer};
use crate::stats::LevelStats;
use crate::stereo::{StereoPoint, StereoSeries};
use crate::true_peak::{peak_to_db, TruePeakMeter};
use serde::Serialize;
use sheen_dsp::worker::{BlockSink, BlockWorker};
use std::thread;

/// What to compute besides the always-on meters.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AnalyzerOptions {
    /// Keep the momentary and short-term loudness series (one point per
    /// 100 ms each) and, for two or more channels, the stereo series
    /// ([`crate::stereo`], channels 0 and 1).
    pub series: bool,
    /// Compute the 1/3-octave long-term average spectrum (one FFT per channel
    /// per 0.34 s at 48 kHz).
    pub spectrum: bool,
    /// Explicit BS.1770 channel weights `G_i`, one per channel (default:
    /// [`default_channel_weights`]).
    pub channel_weights: Option<Vec<f64>>,
}

/// The results of an [`Analyzer`]. Levels are `None` (JSON `null`) when
/// undefined, e.g. for silence; never −∞ or NaN.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Analysis {
    /// Sample rate, Hz.
    pub sample_rate_hz: f64,
    /// Number of channels.
    pub channels: usize,
    /// Frames analysed.
    pub frames: u64,
    /// Duration, seconds (`frames / sample_rate_hz`).
    pub duration_s: f64,
    /// BS.1770 channel weights used.
    pub channel_weights: Vec<f64>,
    /// Integrated loudness, LUFS (BS.1770-4 gating).
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU (EBU Tech 3342).
    pub loudness_range_lu: Option<f64>,
    /// Maximum momentary (400 ms) loudness, LUFS (0.5 ms resolution).
    pub momentary_max_lufs: Option<f64>,
    /// Maximum short-term (3 s) loudness, LUFS (0.5 ms resolution).
    pub short_term_max_lufs: Option<f64>,
    /// True peak over all channels, dBTP (BS.1770-4 Annex 2, ≥ 4× at 48 kHz).
    pub true_peak_dbtp: Option<f64>,
    /// True peak of each channel, dBTP.
    pub channel_true_peak_dbtp: Vec<Option<f64>>,
    /// Sample peak over all channels, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    /// Sample peak of each channel, dBFS.
    pub channel_sample_peak_dbfs: Vec<Option<f64>>,
    /// Peak-to-loudness ratio: true peak (dBTP) − integrated loudness (LUFS),
    /// dB.
    pub plr_db: Option<f64>,
    /// Plain RMS of all samples of all channels pooled, dBFS (a full-scale
    /// sine reads −3.01 dBFS).
    pub rms_dbfs: Option<f64>,
    /// Crest factor: sample peak − RMS, dB.
    pub crest_db: Option<f64>,
    /// Largest `|mean|` over the channels (DC offset), linear full-scale units.
    pub dc_offset: f64,
    /// Mean of each channel, linear full-scale units.
    pub channel_dc_offset: Vec<f64>,
    /// Pearson correlation of channels 0 and 1 (L, R), −1…1; `None` for mono
    /// or a constant channel.
    pub correlation: Option<f64>,
    /// Energy of `S = (L − R)/2` over energy of `M = (L + R)/2`, dB; `None` for
    /// mono or when either is zero.
    pub side_to_mid_db: Option<f64>,
    /// Samples (all channels) with `|x| ≥ 1 − 2⁻¹⁵` (16-bit full scale).
    pub clipped_samples: u64,
    /// Long-term average 1/3-octave spectrum, mean over channels, dB re full
    /// scale (full-scale sine = −3.01 dB); empty when disabled or empty input.
    pub third_octave_db: Vec<BandLevel>,
    /// Momentary loudness series `[time_s, lufs]` every 100 ms (window end
    /// time; silent windows left out), when requested.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentary: Option<Vec<[f64; 2]>>,
    /// Short-term loudness series `[time_s, lufs]`, as `momentary`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_term: Option<Vec<[f64; 2]>>,
    /// Correlation and side/mid of channels 0 and 1 over 400 ms windows every
    /// 100 ms ([`crate::stereo`]), when series were requested and the input
    /// has two or more channels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stereo: Option<Vec<StereoPoint>>,
}

/// The meters that may run on a background thread: true peak and spectrum
/// (the two most expensive, and independent of the others).
#[derive(Debug)]
struct SideMeters {
    /// `None`: not measured ([`Analyzer::mid_side_without_true_peak`]).
    true_peak: Option<TruePeakMeter>,
    /// Spectrum analysers of channels `spectrum_from..`.
    spectrum: Option<Vec<SpectrumAnalyzer>>,
    spectrum_from: usize,
    /// Spectra of the mid and side signals ([`Analyzer::with_mid_side`]).
    mid_side: Option<MidSideMeters>,
}

/// Spectrum analysers of `M = (L+R)/2` and `S = (L−R)/2` of channels 0 and
/// 1 (of channel 0 alone, and no side, for mono).
#[derive(Clone, Debug)]
struct MidSideMeters {
    mid: SpectrumAnalyzer,
    side: Option<SpectrumAnalyzer>,
    m: Vec<f64>,
    s: Vec<f64>,
}

impl MidSideMeters {
    fn push(&mut self, block: &[&[f64]]) {
        match &mut self.side {
            Some(side) => {
                let n = block[0].len();
                self.m.resize(n, 0.0);
                self.s.resize(n, 0.0);
                for (i, (l, r)) in block[0].iter().zip(block[1]).enumerate() {
                    self.m[i] = 0.5 * (l + r);
                    self.s[i] = 0.5 * (l - r);
                }
                self.mid.push(&self.m);
                side.push(&self.s);
            }
            None => self.mid.push(block[0]),
        }
    }
}

impl SideMeters {
    fn push(&mut self, block: &[&[f64]]) {
        if let Some(tp) = &mut self.true_peak {
            tp.push(block);
        }
        if let Some(sp) = &mut self.spectrum {
            for (a, x) in sp.iter_mut().zip(&block[self.spectrum_from..]) {
                a.push(x);
            }
        }
        if let Some(ms) = &mut self.mid_side {
            ms.push(block);
        }
    }

    fn finish(&mut self) {
        if let Some(tp) = &mut self.true_peak {
            tp.finish();
        }
        if let Some(sp) = &mut self.spectrum {
            sp.iter_mut().for_each(SpectrumAnalyzer::finish);
        }
        if let Some(ms) = &mut self.mid_side {
            ms.mid.finish();
            if let Some(s) = &mut ms.side {
                s.finish();
            }
        }
    }
}

/// The side meters as a [`BlockSink`]: on the background thread of a
/// [`BlockWorker`] (or inline); every meter gives the same result for any
/// partition of the input, so batching does not change any value.
impl BlockSink for SideMeters {
    type Output = SideMeters;
    fn push(&mut self, block: &[&[f64]]) -> bool {
        SideMeters::push(self, block);
        true
    }
    fn finish(mut self) -> SideMeters {
        SideMeters::finish(&mut self);
        self
    }
}

/// Streams planar blocks through all meters.
///
/// By default (when the machine has more than one core) the true-peak meter
/// and the spectrum of the second half of the channels run on one
/// background thread (sheen-dsp's [`BlockWorker`]: copies of the input in
/// batches through a bounded queue), so that they overlap with the loudness
/// meter, the statistics, the other spectra and the caller's own work (e.g.
/// decoding); with the mid/side spectra ([`Analyzer::with_mid_side`]) the
/// true peak stays on the calling thread instead. [`Analyzer::new_inline`]
/// keeps everything on the calling thread. All give bitwise identical
/// results.
///
/// ```
/// use sheen_meter::{Analyzer, AnalyzerOptions};
/// let fs = 48_000.0;
/// let x: Vec<f64> = (0..48_000)
///     .map(|i| 0.5 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / fs).sin())
///     .collect();
/// let mut a = Analyzer::new(fs, 1, AnalyzerOptions::default());
/// a.push(&[&x]);
/// let r = a.finish();
/// assert!((r.sample_peak_dbfs.unwrap() + 6.02).abs() < 0.01);
/// assert!((r.rms_dbfs.unwrap() + 9.03).abs() < 0.01);
/// ```
#[derive(Debug)]
pub struct Analyzer {
    sample_rate_hz: f64,
    series: bool,
    loudness: LoudnessMeter,
    stats: LevelStats,
    stereo: Option<StereoSeries>,
    /// Spectrum analysers of channels `..k` run here; `k..` in `side`.
    spectrum: Option<Vec<SpectrumAnalyzer>>,
    /// The true-peak meter when it runs here ([`Analyzer::with_mid_side`]
    /// with a background thread); else it is in `side` (or not measured).
    true_peak: Option<TruePeakMeter>,
    side: BlockWorker<SideMeters>,
}

impl Analyzer {
    /// An analyser for `channels` channels at `sample_rate_hz` (Hz, 8 kHz to
    /// 384 kHz), with the true-peak meter and the spectrum on a background
    /// thread when more than one core is available (see the type docs).
    ///
    /// # Panics
    /// If `channels` is 0, the rate is outside 8–384 kHz, or
    /// `opts.channel_weights` has the wrong length or an invalid weight.
    pub fn new(sample_rate_hz: f64, channels: usize, opts: AnalyzerOptions) -> Self {
        let parallel = thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        Self::build(sample_rate_hz, channels, opts, parallel, false, true)
    }

    /// As [`Analyzer::new`], but every meter runs on the calling thread.
    pub fn new_inline(sample_rate_hz: f64, channels: usize, opts: AnalyzerOptions) -> Self {
        Self::build(sample_rate_hz, channels, opts, false, false, true)
    }

    /// As [`Analyzer::new`], also measuring the spectra of the mid signal
    /// `(L+R)/2` and the side signal `(L−R)/2` of channels 0 and 1 (the
    /// mid is channel 0 and there is no side for mono), on the background
    /// thread when there is one: see [`Analyzer::finish_mid_side`]. The
    /// true-peak meter then runs on the calling thread: the two spectra
    /// alone cost the background thread about what loudness, statistics
    /// and the true peak cost here (on the 60 s stereo mastering benchmark
    /// the background thread otherwise bounds the analysis: `sheen master`
    /// 207 → 176 ms, median of 20 interleaved runs).
    pub fn with_mid_side(sample_rate_hz: f64, channels: usize, opts: AnalyzerOptions) -> Self {
        let parallel = thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        Self::build(sample_rate_hz, channels, opts, parallel, true, true)
    }

    /// As [`Analyzer::with_mid_side`] without the true-peak meter (its
    /// figures are `None`: `true_peak_dbtp`, `plr_db`, and the channels'
    /// true peaks are empty), for callers that do not use it (e.g. a
    /// matching reference); every other value is the same.
    pub fn mid_side_without_true_peak(
        sample_rate_hz: f64,
        channels: usize,
        opts: AnalyzerOptions,
    ) -> Self {
        let parallel = thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        Self::build(sample_rate_hz, channels, opts, parallel, true, false)
    }

    fn build(
        sample_rate_hz: f64,
        channels: usize,
        opts: AnalyzerOptions,
        background: bool,
        mid_side: bool,
        true_peak: bool,
    ) -> Self {
        assert!(channels > 0, "an analyser needs at least one channel");
        assert!(
            (8_000.0..=384_000.0).contains(&sample_rate_hz),
            "sample rate {sample_rate_hz} Hz outside 8–384 kHz"
        );
        let weights = opts
            .channel_weights
            .unwrap_or_else(|| default_channel_weights(channels));
        assert_eq!(weights.len(), channels, "one channel weight per channel");
        let mut spectrum: Option<Vec<SpectrumAnalyzer>> = opts.spectrum.then(|| {
            let mut planner = realfft::RealFftPlanner::new();
            (0..channels)
                .map(|_| SpectrumAnalyzer::with_planner(sample_rate_hz, &mut planner))
                .collect()
        });
        // with a background thread, the calling thread keeps the spectra of
        // the first half of the channels (it also runs loudness and
        // statistics; the background thread runs the true peak)
        let split = if background { channels / 2 } else { 0 };
        let side_spectrum = spectrum.as_mut().map(|v| v.split_off(split));
        let mid_side = mid_side.then(|| {
            let mut planner = realfft::RealFftPlanner::new();
            MidSideMeters {
                mid: SpectrumAnalyzer::with_planner(sample_rate_hz, &mut planner),
                side: (channels >= 2)
                    .then(|| SpectrumAnalyzer::with_planner(sample_rate_hz, &mut planner)),
                m: Vec::new(),
                s: Vec::new(),
            }
        });
        // with the mid/side spectra in the background, the true peak here
        let tp_here = background && mid_side.is_some();
        let tp = true_peak.then(|| TruePeakMeter::new(sample_rate_hz, channels));
        let (true_peak, tp_side) = if tp_here { (tp, None) } else { (None, tp) };
        let side_meters = SideMeters {
            true_peak: tp_side,
            spectrum: side_spectrum,
            spectrum_from: split,
            mid_side,
        };
        let side = BlockWorker::new("sheen-meter", side_meters, channels, background);
        Self {
            sample_rate_hz,
            series: opts.series,
            loudness: LoudnessMeter::with_weights(sample_rate_hz, &weights)
                .with_series(opts.series),
            stats: LevelStats::new(channels),
            stereo: (opts.series && channels >= 2).then(|| StereoSeries::new(sample_rate_hz)),
            spectrum,
            true_peak,
            side,
        }
    }

    /// Number of channels.
    pub fn channels(&self) -> usize {
        self.loudness.channels()
    }

    /// Frames analysed so far.
    pub fn frames(&self) -> u64 {
        self.stats.frames()
    }

    /// The loudness meter (live values: momentary, short-term, …).
    pub fn loudness(&self) -> &LoudnessMeter {
        &self.loudness
    }

    /// Analyses one planar block: `block[ch]` holds channel `ch`, all of the
    /// same length (any length, including 0). Samples must be finite.
    ///
    /// # Panics
    /// If the channel count or the lengths disagree.
    pub fn push(&mut self, block: &[&[f64]]) {
        assert_eq!(block.len(), self.channels(), "channel count");
        let n = block.first().map_or(0, |c| c.len());
        assert!(block.iter().all(|c| c.len() == n), "channel lengths differ");
        if n == 0 {
            return;
        }
        self.side.push(block);
        self.push_here(block);
    }

    /// As [`Analyzer::push`] for a block the caller gives away
    /// (`bufs[ch]`, every channel the same length): the meters of this
    /// thread read it, then the background meters take it without a copy
    /// and `bufs` gets spent buffers back, emptied (inline, `bufs` is left
    /// as it is). The same figures as [`Analyzer::push`].
    ///
    /// # Panics
    /// As [`Analyzer::push`].
    pub fn push_owned(&mut self, bufs: &mut [Vec<f64>]) {
        let n = bufs.first().map_or(0, Vec::len);
        assert_eq!(bufs.len(), self.channels(), "channel count");
        assert!(bufs.iter().all(|c| c.len() == n), "channel lengths differ");
        if n == 0 {
            return;
        }
        {
            let block: Vec<&[f64]> = bufs.iter().map(Vec::as_slice).collect();
            self.push_here(&block);
        }
        self.side.push_owned(bufs);
    }

    /// The meters of the calling thread.
    fn push_here(&mut self, block: &[&[f64]]) {
        if let Some(tp) = &mut self.true_peak {
            tp.push(block);
        }
        self.loudness.push(block);
        self.stats.push(block);
        if let Some(st) = &mut self.stereo {
            st.push(block[0], block[1]);
        }
        if let Some(sp) = &mut self.spectrum {
            for (a, x) in sp.iter_mut().zip(block) {
                a.push(x);
            }
        }
    }

    /// Completes the analysis.
    pub fn finish(self) -> Analysis {
        self.finish_mid_side().0
    }

    /// Completes the analysis, also returning the finished mid and side
    /// spectrum analysers of an analyser made by [`Analyzer::with_mid_side`]
    /// (`None` otherwise; the side is `None` for mono).
    pub fn finish_mid_side(
        mut self,
    ) -> (
        Analysis,
        Option<(SpectrumAnalyzer, Option<SpectrumAnalyzer>)>,
    ) {
        let mut spectra = self.spectrum.take();
        let mut side = self.side.finish();
        if let Some(mut tp) = self.true_peak.take() {
            tp.finish();
            side.true_peak = Some(tp);
        }
        let mid_side = side.mid_side.take().map(|ms| (ms.mid, ms.side));
        if let Some(here) = &mut spectra {
            here.iter_mut().for_each(SpectrumAnalyzer::finish);
            here.extend(side.spectrum.take().unwrap_or_default());
        } else {
            spectra = side.spectrum.take();
        }
        let st = self.stats.result();
        let integrated_lufs = self.loudness.integrated_lufs();
        let true_peak_dbtp = side
            .true_peak
            .as_ref()
            .and_then(TruePeakMeter::true_peak_dbtp);
        let plr_db = match (true_peak_dbtp, integrated_lufs) {
            (Some(tp), Some(i)) => Some(tp - i),
            _ => None,
        };
        let (momentary, short_term) = if self.series {
            let (m, s) = self.loudness.take_series();
            (Some(m), Some(s))
        } else {
            (None, None)
        };
        let analysis = Analysis {
            sample_rate_hz: self.sample_rate_hz,
            channels: self.loudness.channels(),
            frames: st.frames,
            duration_s: st.frames as f64 / self.sample_rate_hz,
            channel_weights: self.loudness.weights().to_vec(),
            integrated_lufs,
            loudness_range_lu: self.loudness.loudness_range_lu(),
            momentary_max_lufs: self.loudness.momentary_max_lufs(),
            short_term_max_lufs: self.loudness.short_term_max_lufs(),
            true_peak_dbtp,
            channel_true_peak_dbtp: side
                .true_peak
                .as_ref()
                .map(|tp| tp.channel_peaks().into_iter().map(peak_to_db).collect())
                .unwrap_or_default(),
            sample_peak_dbfs: st.sample_peak_dbfs,
            channel_sample_peak_dbfs: st.channel_sample_peak_dbfs,
            plr_db,
            rms_dbfs: st.rms_dbfs,
            crest_db: st.crest_db,
            dc_offset: st.dc_offset,
            channel_dc_offset: st.channel_dc_offset,
            correlation: st.correlation,
            side_to_mid_db: st.side_to_mid_db,
            clipped_samples: st.clipped_samples,
            third_octave_db: spectra.as_deref().map(mean_band_levels).unwrap_or_default(),
            momentary,
            short_term,
            stereo: self.stereo.as_mut().map(StereoSeries::take_points),
        };
        (analysis, mid_side)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the same analyser with every meter on the calling thread
    /// (`build` with no background thread). [`Analyzer::with_mid_side`]
    /// (spectra in the background, the true peak here) gives the same
    /// analysis and mid/side spectra bit for bit, in blocks of 4999 frames.
    #[test]
    fn mid_side_threads_give_the_inline_figures() {
        let fs = 44_100.0;
        let mut z = sheen_testkit::Lcg(3);
        let l: Vec<f64> = (0..70_000).map(|_| 0.4 * z.centred()).collect();
        let r: Vec<f64> = l.iter().map(|x| 0.7 * x + 0.2 * z.centred()).collect();
        let run = |mut a: Analyzer| {
            for (cl, cr) in l.chunks(4999).zip(r.chunks(4999)) {
                a.push(&[cl, cr]);
            }
            let (an, ms) = a.finish_mid_side();
            let (m, s) = ms.unwrap();
            (format!("{an:?}"), m.bin_powers(), s.unwrap().bin_powers())
        };
        let opts = AnalyzerOptions::default();
        let threaded = run(Analyzer::with_mid_side(fs, 2, opts.clone()));
        let inline = run(Analyzer::build(fs, 2, opts, false, true, true));
        assert!(threaded.0.contains("true_peak_dbtp: Some"));
        assert_eq!(threaded.0, inline.0);
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&threaded.1), bits(&inline.1));
        assert_eq!(bits(&threaded.2), bits(&inline.2));
    }

    /// Reference: [`Analyzer::with_mid_side`] on the same signal. Without
    /// the true-peak meter every other figure and the mid/side spectra are
    /// the same bit for bit; the true peak, its channels and the PLR are
    /// absent.
    #[test]
    fn without_true_peak_changes_only_the_true_peak() {
        let fs = 48_000.0;
        let mut s = 7u64;
        let mut noise = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let l: Vec<f64> = (0..60_000).map(|_| 0.3 * noise()).collect();
        let r: Vec<f64> = l.iter().map(|x| 0.5 * x + 0.1 * noise()).collect();
        let run = |mut a: Analyzer| {
            for (cl, cr) in l.chunks(5000).zip(r.chunks(5000)) {
                a.push(&[cl, cr]);
            }
            let (an, ms) = a.finish_mid_side();
            let (m, s) = ms.unwrap();
            (an, m.bin_powers(), s.unwrap().bin_powers())
        };
        let opts = AnalyzerOptions::default();
        let (mut want, wm, ws) = run(Analyzer::with_mid_side(fs, 2, opts.clone()));
        let (got, gm, gs) = run(Analyzer::mid_side_without_true_peak(fs, 2, opts));
        assert!(want.true_peak_dbtp.is_some() && want.plr_db.is_some());
        assert_eq!((got.true_peak_dbtp, got.plr_db), (None, None));
        assert!(got.channel_true_peak_dbtp.is_empty());
        want.true_peak_dbtp = None;
        want.plr_db = None;
        want.channel_true_peak_dbtp.clear();
        assert_eq!(format!("{want:?}"), format!("{got:?}"));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&wm), bits(&gm));
        assert_eq!(bits(&ws), bits(&gs));
    }
}
