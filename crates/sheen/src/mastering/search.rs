//! The pre-limiter gain search without rendering the chain again and again.
//!
//! Everything before the gain stage (EQ, compressor, width; "the front") does
//! not depend on the gain, and the limiter's detection is linear in it: the
//! peak detected on `g · x` is `g` times the peak detected on `x`
//! ([`sheen_dsp::limiter::TruePeakLimiter::set_input_gain`] is defined that
//! way). So one pass of the front records, per frame, the detected true peak
//! `d[n]` (the limiter's 4× interpolator; its 8× points are left out to save
//! time) and the K-weighted power
//! `k[n] = Σ_c G_c · K(x_c)[n]²` (BS.1770-4). For any gain `g` the limiter's
//! gain envelope `e_g[n]` then follows from `d` alone (its own
//! [`GainComputer`], no audio), and the integrated loudness of the output is
//! predicted as the gated loudness (sheen-meter's [`WindowEngine`]) of
//! `k[n] · (g · e_g[n])²`: K-weighting is linear, and the slowly moving gain
//! commutes with it up to a small error (below 0.03 LU on the corpus, where
//! limiting is moderate). Each evaluation is a few operations per frame, so
//! the secant search runs on the recording in milliseconds; the file is then
//! rendered once, measured as written, and rendered again only if the
//! measurement misses by more than 0.1 LU (`super::render_and_verify`).
//!
//! The recording takes 8 bytes per frame (`f32` values: it only guides the
//! search) and is kept only up to [`MAX_RECORD_FRAMES`]; longer inputs fall
//! back to measuring whole render passes (bounded memory, slower). When the
//! front's stream is kept ([`Recorder::keep_front`]) the per-frame peaks
//! `d` are computed only if the search needs limiting (see [`Recorder`]);
//! until then only their maximum is tracked.
//!
//! Without limiting (`g · max d ≤ target`) the prediction is exact:
//! `g = target − L_pre` with `L_pre` the front's loudness.

use sheen_dsp::limiter::{
    required_gain, GainComputer, LimiterParams, PeakDetector, TruePeakLimiter,
};
use sheen_dsp::worker::{BlockSink, BlockWorker};
use sheen_dsp::{db_to_gain, gain_to_db};
use sheen_meter::k_weighting::{power_grouped, KBlock, KGroupFilter, KWeighting};
use sheen_meter::loudness::{default_channel_weights, WindowEngine};
use std::sync::{Arc, Mutex};

/// Longest recording, frames (2^24: 5.8 min at 48 kHz, 134 MB).
pub const MAX_RECORD_FRAMES: usize = 1 << 24;

/// Frames per run in which a prediction skips the limiter's gain computer
/// when no detected peak exceeds the threshold and the computer is at rest.
const REST_RUN: usize = 32;

/// The search stops within this many LU of the target (on the prediction).
pub const SEARCH_TOLERANCE_LU: f64 = 0.01;

/// Most evaluations of the prediction.
pub const MAX_EVALUATIONS: usize = 24;

/// Most limiting the search drives into, dB: it will not raise the gain
/// more than this above the gain that reaches the target without limiting
/// (beyond it a target is "not reachable under the ceiling" and a warning
/// says so).
pub const MAX_LIMITING_DB: f64 = 20.0;

/// Raises `max` to the largest detected peak of stream frames `from..to`
/// of `front`, continuing `det`'s history: exactly the largest value
/// [`Recorder::push`] records, with the groups whose bound cannot exceed
/// the running maximum skipped ([`PeakDetector::detect`]'s threshold).
fn max_into<C: AsRef<[f64]>>(
    det: &mut PeakDetector,
    front: &[C],
    from: usize,
    to: usize,
    max: &mut f64,
) {
    let mut peaks = [0.0f64; PeakDetector::MAX_FRAMES];
    let mut start = from;
    while start < to {
        let end = (start + PeakDetector::MAX_FRAMES).min(to);
        let views: Vec<&[f64]> = front.iter().map(|c| &c.as_ref()[start..end]).collect();
        det.detect(&views, *max, &mut peaks);
        *max = peaks[..end - start].iter().fold(*max, |m, &p| m.max(p));
        start = end;
    }
}

/// Detected peaks computed on demand from a kept front, exact where they
/// exceed `threshold` (the rest may read 0).
struct LazyPeaks {
    threshold: f64,
    d: Arc<Vec<f32>>,
}

/// The detected peaks a prediction reads: the recording's own (block by
/// block) or computed on demand from the kept front.
enum Peaks<'a> {
    Recorded(&'a [f32]),
    Lazy(Arc<Vec<f32>>),
}

impl Peaks<'_> {
    fn as_slice(&self) -> &[f32] {
        match self {
            Peaks::Recorded(d) => d,
            Peaks::Lazy(d) => d,
        }
    }
}

/// Records the front's output for the search (see the module docs).
///
/// With the front kept ([`Recorder::keep_front`]) the per-frame detected
/// peaks are not computed while recording (only their maximum, which is
/// all the search needs when no limiting is needed); a search that drives
/// the limiter computes them then, skipping the groups whose bound cannot
/// exceed the lowest threshold it will try, which gives every prediction
/// exactly the same required gains.
pub struct Recorder {
    detector: PeakDetector,
    peaks: Vec<f64>,
    k: KBlock,
    filters: Vec<KGroupFilter>,
    weights: Vec<f64>,
    /// Detected peak per stream frame (block-by-block recording; empty
    /// with the front kept, see `lazy`).
    d: Vec<f32>,
    /// With the front kept: the largest detected peak.
    max: f64,
    /// The limiter's detection factor (`LimiterParams::oversampling`).
    oversampling: usize,
    /// With the front kept: peaks computed on demand.
    lazy: Mutex<Option<LazyPeaks>>,
    /// K-weighted power per output frame (stream frame − front latency).
    kw: Vec<f32>,
    front_latency: usize,
    limiter_delay: usize,
    /// Stream frames seen.
    seen: usize,
    /// Output frames (set by [`Recorder::end`]).
    frames: usize,
    overflow: bool,
    /// The front's whole output stream, kept when asked
    /// ([`Recorder::keep_front`]) so the render can start at the limiter.
    front: Option<Vec<Vec<f64>>>,
    /// With the front kept and more than one core: the detection and the
    /// K-weighting run on this thread while the front is recorded.
    worker: Mutex<Option<BlockWorker<RecordSink>>>,
    /// The finer detection's maximum, when the recording thread found it.
    finer: Option<FinerMax>,
    /// A light recording ([`Recorder::record_light`]): the input frames
    /// the render will read (exactly).
    light: Option<usize>,
}

/// The detected peaks and K-weighted power, computed on a thread of their
/// own ([`BlockWorker`]: copies of the recorded blocks in batches through a
/// bounded queue): exactly what [`Recorder::push`] computes block by block,
/// since neither depends on the block partition. The kept front stream is
/// gathered here too (the blocks appended in order, the same values), so
/// the thread producing the front copies each block once.
struct RecordSink {
    det: PeakDetector,
    k: KBlock,
    filters: Vec<KGroupFilter>,
    weights: Vec<f64>,
    /// Frames before the front's output is valid.
    front_latency: usize,
    /// Largest detected peak so far.
    max: f64,
    kw: Vec<f32>,
    acc: Vec<f64>,
    seen: usize,
    /// The front stream so far (room reserved for the whole; left empty
    /// by a light recording).
    front: Vec<Vec<f64>>,
    /// Whether the front stream is gathered (not for a light recording).
    gather: bool,
    /// Stream frames the finer detection covers (a light recording's end
    /// of the rendered stream, so no run straddles it; else all).
    finer_end: usize,
    /// The limiter's finer detection points alone (oversampling above 4;
    /// [`PeakDetector::finer_only`]), for [`Recorder::limiter_idle`].
    finer: Option<PeakDetector>,
    /// Per detection call of `finer`: stream frames `start..end` and the
    /// largest value it gave (see [`FinerMax`]).
    finer_runs: Vec<(usize, usize, f64)>,
}

/// What the recording thread gives back: the largest detected (4x) peak,
/// the K-weighted power, the front stream and the finer detection's runs.
struct RecordOutput {
    max: f64,
    kw: Vec<f32>,
    front: Vec<Vec<f64>>,
    finer: Option<Vec<(usize, usize, f64)>>,
}

/// What the recording thread learnt of the limiter's finer detection
/// points, for [`Recorder::limiter_idle`]: `max` is the largest value over
/// the stream frames before the end of the kept front, with every group
/// skipped whose bound cannot exceed the larger of the 4x maximum and the
/// finer maximum of the frames before it. Whenever that largest value
/// exceeds a threshold that the 4x maximum does not, no skipped value
/// could have been the first over it, so `max4 ≤ t && max ≤ t` holds
/// exactly when every finer value of the kept front is at most `t` (what
/// the full scan decides).
#[derive(Clone, Copy, Debug)]
struct FinerMax {
    factor: usize,
    max: f64,
}

impl BlockSink for RecordSink {
    type Output = RecordOutput;

    fn push(&mut self, block: &[&[f64]]) -> bool {
        let n = block[0].len();
        if self.gather {
            for (f, c) in self.front.iter_mut().zip(block) {
                f.extend_from_slice(c);
            }
        }
        max_into(&mut self.det, block, 0, n, &mut self.max);
        if let Some(det) = &mut self.finer {
            let mut peaks = [0.0f64; PeakDetector::MAX_FRAMES];
            let mut fmax = self.finer_runs.iter().fold(0.0f64, |m, r| m.max(r.2));
            let stop = n.min(self.finer_end.saturating_sub(self.seen));
            let mut start = 0;
            while start < stop {
                let end = (start + PeakDetector::MAX_FRAMES).min(stop);
                let views: Vec<&[f64]> = block.iter().map(|c| &c[start..end]).collect();
                det.detect(&views, self.max.max(fmax), &mut peaks);
                let m = peaks[..end - start].iter().fold(0.0f64, |m, &p| m.max(p));
                fmax = fmax.max(m);
                self.finer_runs
                    .push((self.seen + start, self.seen + end, m));
                start = end;
            }
        }
        // as `Recorder::push`: from the front latency on, channels in
        // order within each frame
        let skip = self.front_latency.saturating_sub(self.seen).min(n);
        let acc = &mut self.acc;
        acc.clear();
        acc.resize(n - skip, 0.0);
        let views: Vec<&[f64]> = block.iter().map(|c| &c[skip..n]).collect();
        k_power(&self.k, &mut self.filters, &self.weights, &views, acc);
        self.kw.extend(acc.iter().map(|&a| a as f32));
        self.seen += n;
        true
    }

    fn finish(self) -> RecordOutput {
        RecordOutput {
            max: self.max,
            kw: self.kw,
            front: self.front,
            finer: self.finer.map(|_| self.finer_runs),
        }
    }
}

impl RecordSink {
    /// The finer maximum ([`FinerMax`]) over the first `need` stream frames
    /// of `front` (the kept front, truncated to `need`): the recorded runs
    /// that end by then, and the one straddling `need` evaluated again
    /// exactly up to it (its detector primed with the frames before it).
    fn finer_max(
        runs: &[(usize, usize, f64)],
        factor: usize,
        front: &[Vec<f64>],
        need: usize,
    ) -> FinerMax {
        let mut max = 0.0f64;
        for &(start, end, m) in runs {
            if end <= need {
                max = max.max(m);
            } else if start < need {
                let mut det = PeakDetector::finer_only(factor, front.len());
                let mut peaks = [0.0f64; PeakDetector::MAX_FRAMES];
                let from = start.saturating_sub(PeakDetector::MAX_FRAMES);
                let mut at = from;
                while at < need {
                    let to = (at + PeakDetector::MAX_FRAMES).min(need);
                    let views: Vec<&[f64]> = front.iter().map(|c| &c[at..to]).collect();
                    det.detect(&views, 0.0, &mut peaks);
                    for (i, &p) in peaks[..to - at].iter().enumerate() {
                        if at + i >= start {
                            max = max.max(p);
                        }
                    }
                    at = to;
                }
            }
        }
        FinerMax { factor, max }
    }
}

impl Recorder {
    /// A recorder for the limiter `params` at `sample_rate_hz` on
    /// `channels`; `dual_mono`: the one channel is written twice (BS.1770
    /// weight 2).
    pub fn new(
        params: &LimiterParams,
        sample_rate_hz: f64,
        channels: usize,
        dual_mono: bool,
    ) -> Self {
        Self {
            // the 4x points only (a third of the work; the 8x points add
            // a few hundredths of a dB on the highest peaks, which the
            // prediction may miss)
            detector: PeakDetector::new(4, channels),
            peaks: vec![0.0; PeakDetector::MAX_FRAMES],
            k: KBlock::new(&KWeighting::new(sample_rate_hz)),
            filters: vec![KGroupFilter::default(); channels],
            weights: if dual_mono && channels == 1 {
                vec![2.0]
            } else {
                default_channel_weights(channels)
            },
            d: Vec::new(),
            max: 0.0,
            oversampling: params.oversampling,
            lazy: Mutex::new(None),
            kw: Vec::new(),
            front_latency: 0,
            limiter_delay: 0,
            seen: 0,
            frames: 0,
            overflow: false,
            front: None,
            worker: Mutex::new(None),
            finer: None,
            light: None,
        }
    }

    /// Makes this a light recording of a render that reads exactly
    /// `input_frames` input frames (no resampling): on a thread of its own
    /// (more than one core; else nothing changes), the largest detected
    /// peak, the finer detection's maximum over the rendered stream and the
    /// K-weighted power are recorded, but neither the front stream nor the
    /// per-frame peaks. It serves a search that needs no limiting
    /// ([`unlimited_suffices`]) and tells a render from the input whether
    /// its limiter is idle ([`Recorder::limiter_idle`]); it saves the fresh
    /// memory of a kept front (8 bytes per frame and channel, each page
    /// faulted in when first written: 46 MB on the 60 s stereo benchmark).
    pub fn record_light(&mut self, input_frames: usize) {
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        if parallel && self.front.is_none() && self.seen == 0 {
            self.light = Some(input_frames);
        }
    }

    /// Whether this is a light recording ([`Recorder::record_light`]).
    pub fn is_light(&self) -> bool {
        self.light.is_some()
    }

    /// Channels recorded.
    pub fn channels(&self) -> usize {
        self.filters.len()
    }

    /// Also keeps the front's output stream itself (`f64`, exactly what the
    /// limiter of a render sees), room reserved for `frames` stream frames:
    /// a render from the recording ([`Recorder::front`]) skips decoding and
    /// the front. Costs 8 bytes per frame and channel.
    pub fn keep_front(&mut self, frames: usize) {
        self.front = Some(
            (0..self.filters.len())
                .map(|_| Vec::with_capacity(frames))
                .collect(),
        );
    }

    /// The front's output stream (the flush included, up to the last frame
    /// a render emits), when kept and recorded whole.
    pub fn front(&self) -> Option<&[Vec<f64>]> {
        self.front.as_deref().filter(|_| !self.overflow)
    }

    /// Delay of the front, stream frames (set by [`Recorder::begin`]).
    pub fn front_latency(&self) -> usize {
        self.front_latency
    }

    /// Output frames of the recorded render (set by [`Recorder::end`]).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Frees what only the search needs (the detected peaks and the
    /// K-weighted power), keeping the front's stream.
    pub fn release_search(&mut self) {
        self.d = Vec::new();
        self.kw = Vec::new();
        *self.lazy.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Called by the render before the first block.
    pub fn begin(&mut self, front_latency: usize, limiter_delay: usize) {
        self.front_latency = front_latency;
        self.limiter_delay = limiter_delay;
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        if (self.front.is_some() || self.light.is_some()) && parallel && self.seen == 0 {
            // the stream is gathered on the worker (its reserved room moves
            // there; `self.front` stays as the marker of a kept front)
            let front: Vec<Vec<f64>> = self
                .front
                .as_mut()
                .map(|f| f.iter_mut().map(std::mem::take).collect())
                .unwrap_or_default();
            let gather = self.front.is_some();
            let (capacity, finer_end) = match self.light {
                // the stream runs up to a flush block past the rendered end
                Some(f) => {
                    let end = f + front_latency + limiter_delay;
                    (end + 2 * super::render::CHUNK_FRAMES, end)
                }
                None => (front.first().map_or(0, Vec::capacity), usize::MAX),
            };
            let sink = RecordSink {
                det: self.detector.clone(),
                k: self.k,
                filters: self.filters.clone(),
                weights: self.weights.clone(),
                front_latency: self.front_latency,
                max: 0.0,
                // room for the whole stream (no reallocation while growing)
                kw: Vec::with_capacity(capacity),
                acc: Vec::new(),
                seen: 0,
                front,
                gather,
                finer_end,
                finer: (self.oversampling > 4)
                    .then(|| PeakDetector::finer_only(self.oversampling, self.filters.len())),
                finer_runs: Vec::new(),
            };
            let w = BlockWorker::new("sheen-record", sink, self.filters.len(), true);
            *self.worker.get_mut().unwrap_or_else(|e| e.into_inner()) = Some(w);
        }
    }

    /// Whether the input was too long to record (the search must measure
    /// render passes instead).
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// One block of the front's output stream.
    pub fn push(&mut self, block: &[&[f64]]) {
        if self.overflow {
            return;
        }
        let n = block.first().map_or(0, |c| c.len());
        if self.seen + n > MAX_RECORD_FRAMES + self.front_latency + self.limiter_delay {
            self.overflow = true;
            self.d = Vec::new();
            self.kw = Vec::new();
            self.front = None;
            // closing the queue ends the worker; it is not waited for
            *self.worker.get_mut().unwrap_or_else(|e| e.into_inner()) = None;
            return;
        }
        if self.light.is_some() {
            if let Some(w) = self.worker.get_mut().unwrap_or_else(|e| e.into_inner()) {
                w.push(block);
            }
            self.seen += n;
            return;
        }
        if let Some(f) = &mut self.front {
            // kept whole: gathered, detected and K-weighted on the worker
            // thread meanwhile, or gathered here and analysed at the end on
            // two threads
            match self.worker.get_mut().unwrap_or_else(|e| e.into_inner()) {
                Some(w) => w.push(block),
                None => {
                    for (f, c) in f.iter_mut().zip(block) {
                        f.extend_from_slice(c);
                    }
                }
            }
            self.seen += n;
            return;
        }
        let mut start = 0;
        while start < n {
            let end = (start + PeakDetector::MAX_FRAMES).min(n);
            let views: Vec<&[f64]> = block.iter().map(|c| &c[start..end]).collect();
            self.detector.detect(&views, 0.0, &mut self.peaks);
            self.d
                .extend(self.peaks[..end - start].iter().map(|&p| p as f32));
            start = end;
        }
        // K-weighted power of the frames from the front latency on
        let skip = self.front_latency.saturating_sub(self.seen).min(n);
        let base = self.kw.len();
        self.kw.resize(base + n - skip, 0.0);
        let out = &mut self.kw[base..];
        let mut acc = vec![0.0f64; n - skip];
        let views: Vec<&[f64]> = block.iter().map(|c| &c[skip..]).collect();
        k_power(&self.k, &mut self.filters, &self.weights, &views, &mut acc);
        for (o, a) in out.iter_mut().zip(acc) {
            *o = a as f32;
        }
        self.seen += n;
    }

    /// Called by the render after the last block: `frames` output frames.
    pub fn end(&mut self, frames: u64) {
        if self.overflow {
            return;
        }
        self.frames = frames as usize;
        let need = self.frames + self.front_latency + self.limiter_delay;
        if let Some(input_frames) = self.light {
            let worker = self
                .worker
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            let mut w = worker.expect("a light recording runs on its thread");
            // the flush beyond the recorded stream is silence (as for a
            // kept front)
            if need > self.seen {
                let zeros = vec![vec![0.0; need - self.seen]; self.filters.len()];
                let views: Vec<&[f64]> = zeros.iter().map(|z| z.as_slice()).collect();
                w.push(&views);
            }
            let RecordOutput { max, kw, finer, .. } = w.finish();
            self.max = max;
            self.kw = kw;
            // the finer runs end by the rendered stream's end, which the
            // render reached as announced (else the limiter is not
            // declared idle)
            self.finer = finer
                .filter(|_| input_frames == self.frames)
                .map(|runs| FinerMax {
                    factor: self.oversampling,
                    max: runs.iter().fold(0.0f64, |m, r| m.max(r.2)),
                });
            self.kw.truncate(self.frames);
            self.kw.shrink_to_fit();
            return;
        }
        if let Some(f) = &mut self.front {
            let worker = self
                .worker
                .get_mut()
                .unwrap_or_else(|e| e.into_inner())
                .take();
            match worker {
                Some(mut w) => {
                    // the flush beyond the recorded stream is silence
                    if need > self.seen {
                        let zeros = vec![vec![0.0; need - self.seen]; f.len()];
                        let views: Vec<&[f64]> = zeros.iter().map(|z| z.as_slice()).collect();
                        w.push(&views);
                    }
                    let RecordOutput {
                        max,
                        kw,
                        mut front,
                        finer,
                    } = w.finish();
                    front.iter_mut().for_each(|c| c.truncate(need));
                    self.finer = finer
                        .map(|runs| RecordSink::finer_max(&runs, self.oversampling, &front, need));
                    *f = front;
                    self.max = max;
                    self.kw = kw;
                }
                None => {
                    f.iter_mut().for_each(|c| c.resize(need, 0.0));
                    self.analyse_front();
                }
            }
        } else {
            self.d.truncate(need);
            self.d.resize(need, 0.0);
            self.d.shrink_to_fit();
        }
        self.kw.truncate(self.frames);
        self.kw.shrink_to_fit();
    }

    /// The largest detected peak and the K-weighted power of the kept
    /// front stream (what [`Recorder::push`] computes block by block, value
    /// for value): the K-weighting on a second thread, the maximum here.
    fn analyse_front(&mut self) {
        let front = self.front.as_deref().expect("front kept");
        let need = front.first().map_or(0, Vec::len);
        let (fl, frames) = (self.front_latency, self.frames);
        let (k, filters, weights) = (&self.k, &self.filters, &self.weights);
        let mut det = self.detector.clone();
        let (max, kw) = std::thread::scope(|s| {
            let job = s.spawn(move || {
                // in chunks (a small f64 accumulator, no second whole-stream
                // buffer), channels in order within each frame as in `push`
                let mut kw: Vec<f32> = Vec::with_capacity(frames);
                let mut fs: Vec<KGroupFilter> = filters.clone();
                let mut acc = [0.0f64; 4096];
                let mut at = fl;
                while at < fl + frames {
                    let m = (fl + frames - at).min(acc.len());
                    let views: Vec<&[f64]> = front.iter().map(|c| &c[at..at + m]).collect();
                    k_power(k, &mut fs, weights, &views, &mut acc[..m]);
                    kw.extend(acc[..m].iter().map(|&a| a as f32));
                    at += m;
                }
                kw
            });
            let mut max = 0.0;
            max_into(&mut det, front, 0, need, &mut max);
            (
                max,
                job.join().unwrap_or_else(|e| std::panic::resume_unwind(e)),
            )
        });
        self.max = max;
        self.kw = kw;
    }

    /// With the front kept and recorded whole: whether no value of the
    /// detection of a limiter with `oversampling` (its 4x and finer points,
    /// [`PeakDetector`]) over the whole front stream exceeds `threshold`
    /// (the limiter's `target / input gain`). Such a limiter never reduces
    /// the gain: its output is the delayed input times the input gain. The
    /// 4x points are known from the recording (their maximum); so are the
    /// finer ones when the recording thread detected them ([`FinerMax`]),
    /// else they are evaluated now, the channels in parallel, only where
    /// their bound can exceed `threshold`, stopping at the first that does.
    /// `false` without a kept front.
    pub fn limiter_idle(&self, oversampling: usize, threshold: f64) -> bool {
        let light = self.light.is_some() && !self.overflow;
        if self.front().is_none() && !light {
            return false;
        }
        if self.max > threshold || oversampling != self.oversampling {
            return false;
        }
        if oversampling <= 4 {
            return true;
        }
        if let Some(f) = self.finer.filter(|f| f.factor == oversampling) {
            return f.max <= threshold;
        }
        let Some(front) = self.front() else {
            return false;
        };
        let below = |c: &[f64]| {
            let mut det = PeakDetector::finer_only(oversampling, 1);
            let mut out = [0.0f64; PeakDetector::MAX_FRAMES];
            c.chunks(PeakDetector::MAX_FRAMES).all(|x| {
                det.detect(&[x], threshold, &mut out);
                out[..x.len()].iter().all(|&p| p <= threshold)
            })
        };
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        match front {
            [a, b] if parallel => std::thread::scope(|s| {
                let other = s.spawn(|| below(b));
                let first = below(a);
                other
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
                    && first
            }),
            _ => front.iter().all(|c| below(c)),
        }
    }
    /// The detected peaks for predictions with thresholds of at least
    /// `threshold` (`target / gain`): the recorded ones, or (front kept)
    /// computed now, skipping the groups whose bound proves them at most
    /// `threshold` (they read 0; such a peak needs no gain reduction at any
    /// of these thresholds, as its `f32` value cannot exceed one either),
    /// kept for later calls with thresholds as high.
    fn peaks(&self, threshold: f64) -> Peaks<'_> {
        assert!(
            self.light.is_none(),
            "a light recording keeps no per-frame peaks (see `unlimited_suffices`)"
        );
        let Some(front) = self.front.as_deref() else {
            return Peaks::Recorded(&self.d);
        };
        let mut lazy = self.lazy.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(l) = lazy.as_ref().filter(|l| l.threshold <= threshold) {
            return Peaks::Lazy(l.d.clone());
        }
        // below the margin, rounding a peak to `f32` cannot lift it over
        // `threshold`
        let skip = threshold * (1.0 - 1e-6);
        let need = front.first().map_or(0, Vec::len);
        let mut det = self.detector.clone();
        let mut d = Vec::with_capacity(need);
        let mut peaks = [0.0f64; PeakDetector::MAX_FRAMES];
        let mut start = 0;
        while start < need {
            let end = (start + PeakDetector::MAX_FRAMES).min(need);
            let views: Vec<&[f64]> = front.iter().map(|c| &c[start..end]).collect();
            det.detect(&views, skip, &mut peaks);
            d.extend(peaks[..end - start].iter().map(|&p| p as f32));
            start = end;
        }
        let d = Arc::new(d);
        *lazy = Some(LazyPeaks {
            threshold,
            d: d.clone(),
        });
        Peaks::Lazy(d)
    }

    /// Integrated loudness of the front's output (no gain, no limiter),
    /// LUFS; `None` for silence.
    pub fn front_loudness(&self, sample_rate_hz: f64) -> Option<f64> {
        let mut e = WindowEngine::new(sample_rate_hz, false);
        let mut buf = Vec::with_capacity(4096);
        for chunk in self.kw.chunks(4096) {
            buf.clear();
            buf.extend(chunk.iter().map(|&v| f64::from(v)));
            e.push(&buf);
        }
        e.integrated_lufs()
    }

    /// Largest detected peak (linear).
    pub fn max_peak(&self) -> f64 {
        if self.front.is_some() || self.light.is_some() {
            // the largest f32 value is the largest value rounded
            return f64::from(self.max as f32);
        }
        self.d.iter().fold(0.0f32, |m, &v| m.max(v)) as f64
    }

    /// Predicted integrated loudness (LUFS) after a pre-limiter gain of
    /// `gain_db` and the limiter `params`, and the limiter's largest gain
    /// reduction (dB).
    pub fn predict(
        &self,
        gain_db: f64,
        params: &LimiterParams,
        sample_rate_hz: f64,
    ) -> (Option<f64>, f64) {
        let target = TruePeakLimiter::target_for(params);
        let peaks = self.peaks(target / db_to_gain(gain_db));
        self.predict_with(peaks.as_slice(), gain_db, params, sample_rate_hz)
    }

    /// [`Recorder::predict`] on the detected peaks `d` (exact above the
    /// prediction's threshold).
    fn predict_with(
        &self,
        d: &[f32],
        gain_db: f64,
        params: &LimiterParams,
        sample_rate_hz: f64,
    ) -> (Option<f64>, f64) {
        let g = db_to_gain(gain_db);
        let target = TruePeakLimiter::target_for(params);
        let thr = target / g;
        let mut gc = GainComputer::new(params, sample_rate_hz);
        let mut e = WindowEngine::new(sample_rate_hz, false);
        let lead = self.front_latency + self.limiter_delay;
        let mut buf: Vec<f64> = Vec::with_capacity(4096);
        for &p in &d[..lead.min(d.len())] {
            gc.push(required_gain(f64::from(p), thr, target, g));
        }
        let gg = g * g;
        for (chunk_d, chunk_k) in d[lead.min(d.len())..]
            .chunks(4096)
            .zip(self.kw.chunks(4096))
        {
            buf.clear();
            for (run_d, run_k) in chunk_d.chunks(REST_RUN).zip(chunk_k.chunks(REST_RUN)) {
                let m = run_d.len().min(run_k.len());
                let (run_d, run_k) = (&run_d[..m], &run_k[..m]);
                // nothing over the threshold and the gain computer at rest:
                // each gain is exactly `g · 1`, what the per-frame path
                // computes (the limiter's own shortcut)
                if run_d.iter().all(|&p| f64::from(p) <= thr) && gc.push_ones(m) {
                    buf.extend(run_k.iter().map(|&k| f64::from(k) * gg));
                    continue;
                }
                for (&p, &k) in run_d.iter().zip(run_k) {
                    let gain = g * gc.push(required_gain(f64::from(p), thr, target, g));
                    buf.push(f64::from(k) * (gain * gain));
                }
            }
            e.push(&buf);
        }
        (
            e.integrated_lufs(),
            (-gain_to_db(gc.min_gain())).max(0.0) + 0.0,
        )
    }
}

/// What the search found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Found {
    /// Pre-limiter gain, dB.
    pub gain_db: f64,
    /// Predicted loudness minus the target, LU.
    pub error_lu: f64,
    /// Predicted largest limiter gain reduction, dB.
    pub gain_reduction_db: f64,
    /// Evaluations of the prediction.
    pub evaluations: usize,
    /// The gain without limiting (target − the front's loudness), dB.
    pub unlimited_gain_db: f64,
    /// The search stopped at [`MAX_LIMITING_DB`] (or `max_gain_db`) short
    /// of the target.
    pub capped: bool,
}

/// Largest limiting (dB: the first gain tried times the recording's largest
/// detected peak, over the limiter's target) for which [`search`] detects
/// peaks per tried gain rather than once for all (see there). On the 60 s
/// match benchmark pair, 0.9 dB over with 2 evaluations, per-gain scans
/// cost less CPU; at a −8 dBTP ceiling (7 evaluations) they cost 0.2 CPU s
/// more (helper measurements, stop 17).
pub const PER_GAIN_SCANS_DB: f64 = 2.0;

/// Searches the gain that puts the predicted loudness on `target_lufs`
/// (secant on the prediction, slope clamped to 0.05…1 LU/dB since loudness
/// grows with gain at most 1:1), at most `max_gain_db`. `None` for silence.
pub fn search(
    rec: &Recorder,
    target_lufs: f64,
    params: &LimiterParams,
    sample_rate_hz: f64,
    max_gain_db: f64,
) -> Option<Found> {
    search_switched(
        rec,
        target_lufs,
        params,
        sample_rate_hz,
        max_gain_db,
        PER_GAIN_SCANS_DB,
    )
}

/// Whether [`search`] finds the gain for `target_lufs` on `rec` without
/// the per-frame detected peaks: the front is silent, or the gain that
/// reaches the target unlimited (at most `max_gain_db`) keeps the largest
/// detected peak under the limiter's target, so no prediction is needed
/// (what a light recording, [`Recorder::record_light`], can serve).
pub fn unlimited_suffices(
    rec: &Recorder,
    target_lufs: f64,
    params: &LimiterParams,
    sample_rate_hz: f64,
    max_gain_db: f64,
) -> bool {
    let Some(front) = rec.front_loudness(sample_rate_hz) else {
        return true;
    };
    let unlimited = target_lufs - front;
    let target = TruePeakLimiter::target_for(params);
    unlimited <= max_gain_db && db_to_gain(unlimited) * rec.max_peak() <= target
}

/// [`search`] with the switch between per-gain and shared detection at
/// `per_gain_scans_db` (tests force either way).
fn search_switched(
    rec: &Recorder,
    target_lufs: f64,
    params: &LimiterParams,
    sample_rate_hz: f64,
    max_gain_db: f64,
    per_gain_scans_db: f64,
) -> Option<Found> {
    let front = rec.front_loudness(sample_rate_hz)?;
    let unlimited = target_lufs - front;
    let target = TruePeakLimiter::target_for(params);
    let cap = (unlimited + MAX_LIMITING_DB).min(max_gain_db);
    if unlimited <= max_gain_db && db_to_gain(unlimited) * rec.max_peak() <= target {
        return Some(Found {
            gain_db: unlimited,
            error_lu: 0.0,
            gain_reduction_db: 0.0,
            evaluations: 0,
            unlimited_gain_db: unlimited,
            capped: false,
        });
    }
    let mut g = unlimited.min(cap);
    // With little limiting (the first gain tried at most
    // `per_gain_scans_db` over the limiter's target) each prediction reads
    // peaks exact above its own threshold ([`Recorder::predict`]): the
    // detection over a kept front skips every group whose bound is under
    // the gains actually tried. With more, the secant tries several rising
    // gains, each of which would scan again, so one detection exact above
    // the cap's threshold serves every prediction. Predictions are exact for
    // either set of peaks: the result is the same.
    let over_db = gain_to_db(db_to_gain(g) * rec.max_peak() / target);
    let shared = (over_db > per_gain_scans_db).then(|| rec.peaks(target / db_to_gain(cap)));
    let mut pts: Vec<(f64, f64)> = Vec::new();
    let mut best: Option<Found> = None;
    let mut capped = false;
    for evaluations in 1..=MAX_EVALUATIONS {
        let (l, gr) = match &shared {
            Some(peaks) => rec.predict_with(peaks.as_slice(), g, params, sample_rate_hz),
            None => rec.predict(g, params, sample_rate_hz),
        };
        let l = l?;
        let err = l - target_lufs;
        if best.is_none_or(|b| err.abs() < b.error_lu.abs()) {
            best = Some(Found {
                gain_db: g,
                error_lu: err,
                gain_reduction_db: gr,
                evaluations,
                unlimited_gain_db: unlimited,
                capped: false,
            });
        }
        if let Some(b) = &mut best {
            b.evaluations = evaluations;
        }
        if err.abs() <= SEARCH_TOLERANCE_LU {
            break;
        }
        if g >= cap && err < 0.0 {
            capped = true;
            break;
        }
        pts.push((g, l));
        let next = match pts.as_slice() {
            [.., (g0, l0), (g1, l1)] if (l1 - l0).abs() > 1e-9 => {
                let slope = ((l1 - l0) / (g1 - g0)).clamp(0.05, 1.0);
                g1 + (target_lufs - l1) / slope
            }
            _ => g - err,
        };
        g = next.min(cap);
    }
    best.map(|b| Found {
        capped: capped && b.error_lu < -SEARCH_TOLERANCE_LU,
        ..b
    })
}

/// The K-weighted power of each frame of `block` (the loudness meter's
/// block form, [`power_grouped`]): `out[i] = Σ_ch w_ch · y_ch[i]²`, the
/// channels in order (a stereo pair in one pass); the same values for any
/// partition of the stream.
fn k_power(
    k: &KBlock,
    filters: &mut [KGroupFilter],
    weights: &[f64],
    block: &[&[f64]],
    out: &mut [f64],
) {
    if let ([f0, f1], [c0, c1], [w0, w1]) = (&mut *filters, block, weights) {
        power_grouped(k, f0, *w0, c0, Some((f1, *w1, c1)), out, false);
        return;
    }
    for (i, ((f, c), w)) in filters.iter_mut().zip(block).zip(weights).enumerate() {
        power_grouped(k, f, *w, c, None, out, i > 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two channels of `total` frames: seeded noise (MMIX LCG `seed`,
    /// amplitude `noise_amp`, channel 0's frames then channel 1's) plus a
    /// burst at fs/8 of amplitude `amp` over frames 20 000..25 000 whose
    /// peaks fall between the 4x points (onset phase 15π/32), and from
    /// frame `n` on the same tone at amplitude `late`.
    fn burst_pair(
        seed: u64,
        amp: f64,
        late: f64,
        noise_amp: f64,
        n: usize,
        total: usize,
    ) -> Vec<Vec<f64>> {
        let mut z = sheen_testkit::Lcg(seed);
        let tone = |i: usize, a: f64| {
            a * (std::f64::consts::FRAC_PI_4 * i as f64 + 15.0 * std::f64::consts::PI / 32.0).sin()
        };
        (0..2)
            .map(|_| {
                (0..total)
                    .map(|i| {
                        let b = match i {
                            20_000..=24_999 => tone(i, amp),
                            _ if i >= n => tone(i, late),
                            _ => 0.0,
                        };
                        z.centred() * noise_amp + b
                    })
                    .collect()
            })
            .collect()
    }

    /// Reference: the search with one shared detection (exact above the
    /// cap's threshold), the way it ran before per-gain scans. On recordings
    /// of a noisy stereo signal with its front kept (peaks on demand),
    /// per-gain scans find the same [`Found`] bit for bit, for targets
    /// needing no limiting, some, a lot, and more than the cap allows.
    #[test]
    fn per_gain_scans_find_what_one_detection_finds() {
        let fs = 48_000.0;
        let mut z = sheen_testkit::Lcg(7);
        let mut noise = || z.centred();
        let n = 96_000;
        let x: Vec<Vec<f64>> = (0..2)
            .map(|_| {
                (0..n)
                    .map(|i| noise() * (0.1 + 0.9 * ((i as f64 / 9000.0).sin()).abs()))
                    .collect()
            })
            .collect();
        let p = LimiterParams::default();
        let delay = TruePeakLimiter::delay_for(&p, fs);
        let mut limited = 0;
        for target in [-30.0, -14.0, -10.0, -6.0, 0.0] {
            let record = || {
                let mut r = Recorder::new(&p, fs, 2, false);
                r.keep_front(n + delay);
                r.begin(0, delay);
                for start in (0..n).step_by(5000) {
                    let end = (start + 5000).min(n);
                    r.push(&[&x[0][start..end], &x[1][start..end]]);
                }
                r.push(&[&vec![0.0; delay], &vec![0.0; delay]]);
                r.end(n as u64);
                r
            };
            let (a, b) = (record(), record());
            for max_gain_db in [60.0, 12.0] {
                let want = search_switched(&a, target, &p, fs, max_gain_db, f64::NEG_INFINITY);
                let got = search_switched(&b, target, &p, fs, max_gain_db, f64::INFINITY);
                let bits = |f: Option<Found>| {
                    f.map(|f| {
                        (
                            f.gain_db.to_bits(),
                            f.error_lu.to_bits(),
                            f.gain_reduction_db.to_bits(),
                            f.evaluations,
                            f.unlimited_gain_db.to_bits(),
                            f.capped,
                        )
                    })
                };
                assert!(want.is_some());
                limited += usize::from(want.is_some_and(|f| f.evaluations >= 2));
                assert_eq!(bits(want), bits(got), "target {target}, cap {max_gain_db}");
            }
        }
        assert!(limited >= 4, "searches through the limiter: {limited}");
    }

    /// Keeping the front (detection and K-weighting on the worker thread
    /// while recording, or at the end on two threads with the detection
    /// split with a warm-up) records exactly what block-by-block recording
    /// does. Reference: [`Recorder::push`]'s own
    /// per-block results, compared value for value, on a noisy stereo
    /// signal pushed in odd blocks, with a front and limiter latency; the
    /// limiter is idle ([`Recorder::limiter_idle`]) exactly at thresholds
    /// from the maximum of the limiter's detector evaluated on every frame.
    #[test]
    fn kept_front_records_the_same() {
        let fs = 48_000.0;
        let mut z = sheen_testkit::Lcg(1);
        let mut noise = || z.centred() * 1.6;
        let n = 50_001;
        let x: Vec<Vec<f64>> = (0..2).map(|_| (0..n).map(|_| noise()).collect()).collect();
        let p = LimiterParams::default();
        let delay = TruePeakLimiter::delay_for(&p, fs);
        let mut recs = [
            Recorder::new(&p, fs, 2, false),
            Recorder::new(&p, fs, 2, false),
            Recorder::new(&p, fs, 2, false),
        ];
        recs[1].keep_front(n);
        recs[2].keep_front(n);
        for (i, r) in recs.iter_mut().enumerate() {
            r.begin(37, delay);
            if i == 2 {
                // no worker thread: detection and K-weighting at the end
                *r.worker.get_mut().unwrap() = None;
            }
            let mut start = 0;
            while start < n {
                let end = (start + 777).min(n);
                r.push(&[&x[0][start..end], &x[1][start..end]]);
                start = end;
            }
            r.end((n - 37 - delay) as u64);
        }
        let target = TruePeakLimiter::target_for(&p);
        // the limiter's own detection (4x and 8x points) evaluated
        // everywhere (threshold 0 skips only silent groups)
        let mut full = PeakDetector::new(p.oversampling, 2);
        let mut full_max = 0.0f64;
        let mut out = [0.0f64; PeakDetector::MAX_FRAMES];
        for start in (0..n).step_by(PeakDetector::MAX_FRAMES) {
            let end = (start + PeakDetector::MAX_FRAMES).min(n);
            full.detect(&[&x[0][start..end], &x[1][start..end]], 0.0, &mut out);
            full_max = out[..end - start].iter().fold(full_max, |m, &v| m.max(v));
        }
        assert!(full_max > recs[0].max_peak() * 0.999);
        assert!(!recs[0].limiter_idle(p.oversampling, 10.0), "no front kept");
        for r in &recs[1..] {
            assert!(r.limiter_idle(p.oversampling, full_max));
            assert!(!r.limiter_idle(p.oversampling, full_max * (1.0 - 1e-12)));
            assert!(!r.limiter_idle(4, full_max), "another factor");
            // the kept stream (gathered on the worker thread for recs[1],
            // here for recs[2]) is the pushed stream value for value
            let front = r.front().expect("front kept");
            assert!(front
                .iter()
                .zip(&x)
                .all(|(f, c)| f.len() == n
                    && f.iter().zip(c).all(|(a, b)| a.to_bits() == b.to_bits())));
            assert!(r.d.is_empty(), "no per-frame peaks while recording");
            assert_eq!(recs[0].max_peak().to_bits(), r.max_peak().to_bits());
            assert_eq!(recs[0].kw.len(), r.kw.len());
            assert!(recs[0]
                .kw
                .iter()
                .zip(&r.kw)
                .all(|(a, b)| a.to_bits() == b.to_bits()));
            // peaks on demand: exact, or 0 where the recorded one cannot
            // exceed the threshold; predictions identical (highest
            // threshold first, so the second is computed anew)
            for gain_db in [2.0, 9.0, 5.0] {
                let thr = target / db_to_gain(gain_db);
                let lazy = r.peaks(thr);
                let lazy = lazy.as_slice();
                assert_eq!(lazy.len(), recs[0].d.len());
                assert!(recs[0].d.iter().zip(lazy).all(
                    |(a, b)| a.to_bits() == b.to_bits() || (*b == 0.0 && f64::from(*a) <= thr)
                ));
                let (l0, g0) = recs[0].predict(gain_db, &p, fs);
                let (l1, g1) = r.predict(gain_db, &p, fs);
                assert_eq!(l0.map(f64::to_bits), l1.map(f64::to_bits));
                assert_eq!(g0.to_bits(), g1.to_bits());
            }
        }
    }

    /// Reference: [`Recorder::limiter_idle`]'s scan of the finer detection
    /// points over the kept front (what it does without the recording
    /// thread's [`FinerMax`]) and the finer points evaluated on every frame.
    /// With the finer maximum found while recording, the decision is the
    /// same at thresholds just below, at and above the largest finer and 4x
    /// values, also when the recording runs past the kept front (the run
    /// straddling its end evaluated again) and with blocks of odd sizes.
    #[test]
    fn finer_max_decides_as_the_scan() {
        let fs = 48_000.0;
        let p = LimiterParams::default();
        let delay = TruePeakLimiter::delay_for(&p, fs);
        // faint noise; a burst at fs/8 whose peaks fall between the 4x
        // points (phase 15π/32: the finer points read the higher peaks);
        // past the kept front (frame n on, the same onset phase) one 0.05 %
        // louder, whose finer peaks exceed the first burst's and its 4x
        // ones do not: the decision must not see it
        let n = 40_000;
        let total = n + 2_000;
        let x = burst_pair(9, 1.0, 1.0005, 1e-5, n, total);
        // the finer points over the first n frames, evaluated everywhere
        let mut full = PeakDetector::finer_only(p.oversampling, 2);
        let mut out = [0.0f64; PeakDetector::MAX_FRAMES];
        let mut finer_full = 0.0f64;
        for start in (0..n).step_by(PeakDetector::MAX_FRAMES) {
            let end = (start + PeakDetector::MAX_FRAMES).min(n);
            full.detect(&[&x[0][start..end], &x[1][start..end]], 0.0, &mut out);
            finer_full = out[..end - start].iter().fold(finer_full, |m, &v| m.max(v));
        }
        let mut both = 0;
        for pushed in [n, total] {
            let mut r = Recorder::new(&p, fs, 2, false);
            r.keep_front(pushed);
            r.begin(11, delay);
            let mut start = 0;
            while start < pushed {
                let end = (start + 1_013).min(pushed);
                r.push(&[&x[0][start..end], &x[1][start..end]]);
                start = end;
            }
            r.end((n - 11 - delay) as u64);
            assert!(r.finer.is_some(), "found while recording");
            assert_eq!(r.front().unwrap()[0].len(), n);
            let mut ts = Vec::new();
            for v in [finer_full, r.max] {
                ts.extend([v * (1.0 - 1e-12), v, v * (1.0 + 1e-12)]);
            }
            let with: Vec<bool> = ts
                .iter()
                .map(|&t| r.limiter_idle(p.oversampling, t))
                .collect();
            let kept = r.finer.take();
            let scan: Vec<bool> = ts
                .iter()
                .map(|&t| r.limiter_idle(p.oversampling, t))
                .collect();
            assert_eq!(with, scan, "pushed {pushed}");
            // the finer points are the larger here: their maximum is exact
            assert!(finer_full > r.max, "{finer_full} vs {}", r.max);
            let found = kept.map(|f| f.max);
            assert_eq!(found.map(f64::to_bits), Some(finer_full.to_bits()));
            both += usize::from(with.contains(&true) && with.contains(&false));
        }
        assert_eq!(both, 2, "idle and not idle both decided");
    }

    /// Reference: a recording with the front kept (the finer maximum, the
    /// largest 4x peak and the K-weighted power it gives, and its idle
    /// decisions). A light recording ([`Recorder::record_light`]) of the
    /// same stream, pushed past the rendered end in odd blocks, keeps no
    /// front yet gives the same largest peak and front loudness bit for
    /// bit, the same [`unlimited_suffices`] answers and the same idle
    /// decisions at thresholds around the largest finer and 4x values (the
    /// louder burst past the end not seen).
    #[test]
    fn light_recording_decides_as_the_kept_front() {
        let fs = 48_000.0;
        let p = LimiterParams::default();
        let delay = TruePeakLimiter::delay_for(&p, fs);
        let n = 40_000;
        let total = n + 2_000;
        let x = burst_pair(11, 0.5, 0.5005, 0.01, n, total);
        let frames = n - 11 - delay;
        let record = |light: bool| {
            let mut r = Recorder::new(&p, fs, 2, false);
            if light {
                r.record_light(frames);
            } else {
                r.keep_front(total);
            }
            r.begin(11, delay);
            let mut start = 0;
            while start < total {
                let end = (start + 1_013).min(total);
                r.push(&[&x[0][start..end], &x[1][start..end]]);
                start = end;
            }
            r.end(frames as u64);
            r
        };
        let (kept, light) = (record(false), record(true));
        assert!(light.is_light() && light.front().is_none());
        assert!(kept.front().is_some() && light.finer.is_some());
        assert_eq!(kept.max_peak().to_bits(), light.max_peak().to_bits());
        let (lk, ll) = (kept.front_loudness(fs), light.front_loudness(fs));
        assert_eq!(lk.map(f64::to_bits), ll.map(f64::to_bits));
        for target in [-40.0, -20.0, -14.0, -6.0, 0.0] {
            assert_eq!(
                unlimited_suffices(&kept, target, &p, fs, 60.0),
                unlimited_suffices(&light, target, &p, fs, 60.0),
                "target {target}"
            );
        }
        let finer = kept.finer.expect("found while recording").max;
        let mut ts = Vec::new();
        for v in [finer, kept.max] {
            ts.extend([v * (1.0 - 1e-12), v, v * (1.0 + 1e-12)]);
        }
        let decide = |r: &Recorder| -> Vec<bool> {
            ts.iter()
                .map(|&t| r.limiter_idle(p.oversampling, t))
                .collect()
        };
        let want = decide(&kept);
        assert!(want.contains(&true) && want.contains(&false));
        assert_eq!(decide(&light), want);
    }

    /// Reference: the prediction computed frame by frame through the
    /// limiter's [`GainComputer`] (no rest shortcut), as the module docs
    /// define it. On a recording of quiet stretches and loud bursts (the
    /// computer at rest, then limiting, then releasing), the prediction with
    /// rest runs skipped gives the same loudness and gain reduction bit for
    /// bit, at gains with no, some and heavy limiting.
    #[test]
    fn rest_runs_predict_exactly() {
        let fs = 48_000.0;
        let p = LimiterParams::default();
        let delay = TruePeakLimiter::delay_for(&p, fs);
        let n = 120_000;
        let mut z = sheen_testkit::Lcg(3);
        let x: Vec<Vec<f64>> = (0..2)
            .map(|_| {
                (0..n)
                    .map(|i| {
                        let v = z.centred();
                        v * if (i / 7000) % 3 == 0 { 1.6 } else { 0.02 }
                    })
                    .collect()
            })
            .collect();
        let mut r = Recorder::new(&p, fs, 2, false);
        r.begin(0, delay);
        for start in (0..n).step_by(4000) {
            let end = (start + 4000).min(n);
            r.push(&[&x[0][start..end], &x[1][start..end]]);
        }
        r.push(&[&vec![0.0; delay], &vec![0.0; delay]]);
        r.end(n as u64);
        let target = TruePeakLimiter::target_for(&p);
        let reference = |gain_db: f64| {
            let g = db_to_gain(gain_db);
            let thr = target / g;
            let mut gc = GainComputer::new(&p, fs);
            let mut e = WindowEngine::new(fs, false);
            let lead = r.front_latency + r.limiter_delay;
            for &d in &r.d[..lead] {
                gc.push(required_gain(f64::from(d), thr, target, g));
            }
            let buf: Vec<f64> = r.d[lead..]
                .iter()
                .zip(&r.kw)
                .map(|(&d, &k)| {
                    let gain = g * gc.push(required_gain(f64::from(d), thr, target, g));
                    f64::from(k) * (gain * gain)
                })
                .collect();
            for c in buf.chunks(4096) {
                e.push(c);
            }
            (
                e.integrated_lufs(),
                (-gain_to_db(gc.min_gain())).max(0.0) + 0.0,
            )
        };
        let mut limited = 0;
        for gain_db in [-20.0, 0.0, 3.0, 12.0] {
            let (l0, g0) = reference(gain_db);
            let (l1, g1) = r.predict(gain_db, &p, fs);
            assert_eq!(l0.map(f64::to_bits), l1.map(f64::to_bits), "{gain_db} dB");
            assert_eq!(g0.to_bits(), g1.to_bits(), "{gain_db} dB");
            limited += usize::from(g0 > 0.0);
        }
        assert!(limited >= 2, "limiting exercised: {limited}");
    }

    /// A recording of a signal fed straight in (no front): the prediction
    /// without limiting is the measured loudness plus the gain (BS.1770
    /// scales with the power), and the search finds `target − L` exactly
    /// when no limiting is needed. Reference: a 1 kHz stereo sine at
    /// −20 dBFS reads −20 LUFS (EBU Tech 3341 §2.9).
    #[test]
    fn unlimited_search_is_exact() {
        let fs = 48_000.0;
        let x: Vec<f64> = (0..5 * 48_000)
            .map(|i| 0.1 * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / fs).sin())
            .collect();
        let p = LimiterParams::default();
        let mut r = Recorder::new(&p, fs, 2, false);
        let delay = TruePeakLimiter::delay_for(&p, fs);
        r.begin(0, delay);
        r.push(&[&x, &x]);
        r.push(&[&vec![0.0; delay], &vec![0.0; delay]]);
        r.end(x.len() as u64);
        let l = r.front_loudness(fs).unwrap();
        assert!((l + 20.0).abs() < 0.05, "{l}");
        let f = search(&r, -23.0, &p, fs, 60.0).unwrap();
        assert_eq!(f.evaluations, 0);
        assert!((f.gain_db - (-23.0 - l)).abs() < 1e-12);
        let (pl, gr) = r.predict(f.gain_db, &p, fs);
        assert!((pl.unwrap() + 23.0).abs() < 1e-6, "{pl:?}");
        assert_eq!(gr, 0.0);
    }
}
