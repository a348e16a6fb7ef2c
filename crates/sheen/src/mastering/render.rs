//! Render: applies a [`Chain`] deliverable to an input file, streaming
//! (bounded memory: blocks of [`CHUNK_FRAMES`] are decoded, processed and
//! written), deterministic to the bit. It makes no decisions. A dual-mono
//! deliverable (a mono input to a stereo target) is processed in mono and
//! its one channel written to both.
//!
//! Order: resample (when the deliverable's rate differs from the input's,
//! `sheen_io::Resampler`) → EQ biquads (or their linear-phase FIR) →
//! compressor → width (the "front") → gain and true-peak limiter (the gain
//! is the limiter's input gain; its look-ahead delay is compensated, the
//! output has exactly the input's length) → dither → sink (a file, measured
//! as written; a loudness meter; or a [`super::search::Recorder`] of the
//! front's output for the planner's gain search).

use super::chain::{Chain, Deliverable, EqKind};
use crate::Error;
use sheen_dsp::biquad::{BiquadCascade, BiquadCoeffs, FilterKind};
use sheen_dsp::compressor::Compressor;
use sheen_dsp::dither::{Dither, DitherParams};
use sheen_dsp::fir_eq::{EqPoint, LinearPhaseEq};
use sheen_dsp::limiter::{LimiterParams, PeakDetector, TruePeakLimiter};
use sheen_dsp::width::{StereoWidth, WidthParams};
use sheen_dsp::worker::{BlockSink, BlockWorker};
use sheen_dsp::{db_to_gain, PlanarMut, Processor};
use sheen_io::{AudioReader, AudioWriter, Container, Resampler, SampleFormat, WriteSpec};
use sheen_meter::{LoudnessMeter, TruePeakMeter};
use std::path::{Path, PathBuf};

use super::analyse::Decoded;
use super::search::Recorder;
use super::verify::Measured;

/// Frames per read.
pub const CHUNK_FRAMES: usize = 8192;

/// What a render pass observed.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RenderStats {
    /// Frames delivered to the sink.
    pub frames: u64,
    /// Largest limiter gain reduction, dB.
    pub max_gain_reduction_db: f64,
    /// Samples the writer had to clamp (0 for a correct chain).
    pub clipped_samples: u64,
    /// A render that assumed the limiter idle (a predicted gain, see
    /// [`render_to_file`]'s `speculate`) met a detected peak above the
    /// limiter's threshold and stopped: its output is not the chain's.
    pub limiter_needed: bool,
}

/// The limiter's own detection of the front ([`PeakDetector`] at its
/// oversampling, against its threshold) in a render that replaces the
/// limiter by its input gain on the assumption that it stays idle:
/// `tripped` once a detected peak exceeds the threshold, that is once the
/// limiter would act (it is idle exactly when none does, see
/// [`TruePeakLimiter::threshold`]).
struct IdleWatch {
    detector: PeakDetector,
    threshold: f64,
    peaks: Vec<f64>,
    tripped: bool,
}

impl IdleWatch {
    fn new(limiter: &TruePeakLimiter, channels: usize) -> Self {
        Self {
            detector: PeakDetector::new(limiter.params().oversampling, channels),
            threshold: limiter.threshold(),
            peaks: vec![0.0; PeakDetector::MAX_FRAMES],
            tripped: false,
        }
    }

    /// The front's output `block` (planar, before the gain).
    fn push(&mut self, block: &[&mut [f64]]) {
        let len = block.first().map_or(0, |c| c.len());
        let mut start = 0;
        while start < len && !self.tripped {
            let end = (start + PeakDetector::MAX_FRAMES).min(len);
            let mut views: [&[f64]; 2] = [&[]; 2];
            for (v, c) in views.iter_mut().zip(block) {
                *v = &c[start..end];
            }
            self.detector
                .detect(&views[..block.len()], self.threshold, &mut self.peaks);
            self.tripped = self.peaks[..end - start]
                .iter()
                .any(|&p| p > self.threshold);
            start = end;
        }
    }
}

/// The processors of one deliverable, in signal order.
struct Pipeline {
    /// The EQ sections in series, fused per sample (bit-identical to one
    /// section after the other).
    eq: Option<BiquadCascade>,
    fir: Option<LinearPhaseEq>,
    compressor: Option<Compressor>,
    width: Option<StereoWidth>,
    limiter: TruePeakLimiter,
    /// The limiter is known idle (it would only delay and scale: see
    /// [`recorded_idle`]): it is replaced by its input gain, without delay.
    idle: bool,
    /// With `idle` assumed rather than known: the check that it holds.
    watch: Option<IdleWatch>,
    dither: Option<Dither>,
}

/// The limiter settings of a deliverable.
pub fn limiter_params(d: &Deliverable) -> LimiterParams {
    let l = &d.limiter;
    LimiterParams {
        ceiling_dbtp: l.ceiling_dbtp,
        lookahead_ms: l.lookahead_ms,
        release_ms: l.release_ms,
        oversampling: l.oversampling,
        safety_db: l.safety_db,
    }
}

/// Channels deliverable `d` writes for an input of `input_channels`.
pub fn output_channels(d: &Deliverable, input_channels: usize) -> usize {
    d.output.channels.unwrap_or(input_channels)
}

/// The biquads of `chain`'s EQ at `fs` Hz, in order.
pub(crate) fn eq_coeffs(chain: &Chain, fs: f64) -> Vec<BiquadCoeffs> {
    chain
        .eq
        .iter()
        .map(|b| {
            let kind = match b.kind {
                EqKind::LowShelf => FilterKind::LowShelf,
                EqKind::HighShelf => FilterKind::HighShelf,
                EqKind::Peak => FilterKind::Peak,
                EqKind::HighPass => FilterKind::HighPass,
            };
            BiquadCoeffs::rbj(kind, b.freq_hz, b.q, b.gain_db, fs)
        })
        .collect()
}

impl Pipeline {
    fn new(chain: &Chain, d: &Deliverable, fs: f64, channels: usize, dither: bool) -> Self {
        let coeffs = eq_coeffs(chain, fs);
        let (eq, fir) = if chain.eq_linear_phase && !coeffs.is_empty() {
            (None, Some(linear_phase_eq(&coeffs, fs, channels)))
        } else if coeffs.is_empty() {
            (None, None)
        } else {
            (Some(BiquadCascade::new(coeffs)), None)
        };
        let compressor = chain.compressor.as_ref().filter(|c| c.enabled).map(|c| {
            let mut comp = Compressor::new(c.params);
            comp.prepare(fs, channels, CHUNK_FRAMES);
            comp
        });
        let width = chain.width.as_ref().filter(|_| channels == 2).map(|w| {
            StereoWidth::new(
                WidthParams {
                    width: w.width,
                    mono_below_hz: w.mono_below_hz,
                },
                fs,
            )
        });
        let mut limiter = TruePeakLimiter::new(limiter_params(d), fs, channels);
        limiter.set_input_gain(db_to_gain(d.gain.gain_db));
        let dither = d.output.dither.as_ref().filter(|_| dither).map(|s| {
            Dither::new(
                DitherParams {
                    bits: d.output.bits,
                    noise_shaping: s.noise_shaping,
                    seed: s.seed,
                },
                channels,
            )
        });
        Self {
            eq,
            fir,
            compressor,
            width,
            limiter,
            idle: false,
            watch: None,
            dither,
        }
    }

    /// Delay of the front (compressor look-ahead, FIR), samples.
    fn front_latency(&self) -> usize {
        self.compressor.as_ref().map_or(0, |c| c.latency_samples())
            + self.fir.as_ref().map_or(0, |f| f.latency_samples())
    }

    /// Everything up to and including the limiter.
    fn process(&mut self, block: &mut [&mut [f64]]) {
        self.front(block);
        if self.idle {
            if let Some(w) = &mut self.watch {
                w.push(block);
            }
            // what an idle limiter outputs, `latency` frames earlier
            // (`render_recorded_as`'s idle path)
            let ig = self.limiter.input_gain();
            for c in block.iter_mut() {
                for x in c.iter_mut() {
                    *x *= ig;
                }
            }
        } else {
            self.limiter.process(block);
        }
    }

    /// Delay of everything up to and including the limiter, samples.
    fn latency(&self) -> usize {
        let limiter = if self.idle {
            0
        } else {
            self.limiter.latency_samples()
        };
        limiter + self.front_latency()
    }

    /// Everything before the gain and limiter.
    fn front(&mut self, block: &mut [&mut [f64]]) {
        if let Some(b) = &mut self.eq {
            b.process(block);
        }
        if let Some(f) = &mut self.fir {
            f.process(block);
        }
        if let Some(c) = &mut self.compressor {
            c.process(block);
        }
        if let Some(w) = &mut self.width {
            w.process(block);
        }
    }
}

/// The combined magnitude of `coeffs` as one linear-phase FIR: the
/// response sampled every 1/12 octave from 10 Hz to Nyquist, 8191 taps at
/// 48 kHz (scaled with the rate, odd).
fn linear_phase_eq(coeffs: &[BiquadCoeffs], fs: f64, channels: usize) -> LinearPhaseEq {
    let mut points = Vec::new();
    let mut f = 10.0;
    while f < fs / 2.0 {
        let gain_db = coeffs.iter().map(|c| c.magnitude_db(f, fs)).sum();
        points.push(EqPoint {
            freq_hz: f,
            gain_db,
        });
        f *= 2f64.powf(1.0 / 12.0);
    }
    let taps = ((8191.0 * fs / 48_000.0) as usize) | 1;
    LinearPhaseEq::new(&points, taps, fs, channels)
}

/// A file writer that measures what it writes: the samples as stored
/// (quantised to the file's format exactly as `sheen-io` does, so the
/// figures equal a measurement of the file read back).
///
/// The caller's thread turns each block into the values the file stores
/// ([`sheen_io::stored_extend`], counting what the writer clamps), written
/// straight into the batches of a worker thread (sheen-dsp's
/// [`BlockWorker`], bounded queue) that writes them (storing a stored value
/// again changes nothing, so the file is the one the block itself gives)
/// and measures them: BS.1770-4 loudness and LRA, true peak. The work can
/// be shared otherwise ([`Balance`]). With one core it all runs inline; the
/// file and the figures are the same either way (writer and meters do not
/// depend on the block partition).
pub struct MeasuredFile {
    worker: BlockWorker<WriteAndMeasure>,
    format: SampleFormat,
    /// Samples the stored values were clamped to make (the writer's own
    /// count of the block).
    clipped: u64,
    /// The loudness and true-peak meters when they run on the caller's
    /// thread ([`MeasuredFile::with_balance`]), with the stored values of
    /// the block they measure.
    here: Option<(LoudnessMeter, TruePeakMeter, Vec<Vec<f64>>)>,
    /// The writer's thread quantises ([`Balance::WriterQuantises`]).
    there: bool,
}

/// Which thread of a [`MeasuredFile`] does what (the same file and the
/// same figures every way).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Balance {
    /// The caller quantises; the writer's thread writes and measures.
    Writer,
    /// The caller quantises and measures; the writer's thread writes (for
    /// a caller with little else to do).
    Caller,
    /// The writer's thread quantises, writes and measures (for a caller
    /// with much else to do).
    WriterQuantises,
}

/// The writer and the meters of the stored values (on whichever thread
/// runs them); the first error stops it and is reported by
/// [`MeasuredFile::finish`].
struct WriteAndMeasure {
    writer: AudioWriter,
    /// With [`Balance::WriterQuantises`]: the file's format, the stored
    /// values of the block, and the samples clamped to make them.
    quantise: Option<(SampleFormat, Vec<Vec<f64>>, u64)>,
    /// `None` when the true peak is measured on the caller's thread.
    true_peak: Option<TruePeakMeter>,
    /// `None` when the loudness is measured on the caller's thread.
    loudness: Option<LoudnessMeter>,
    error: Option<Error>,
}

impl BlockSink for WriteAndMeasure {
    type Output = Result<WriteAndMeasure, Error>;

    fn push(&mut self, block: &[&[f64]]) -> bool {
        let mut views: [&[f64]; 2] = [&[]; 2];
        let block = match &mut self.quantise {
            Some((format, stored, clipped)) if block.len() <= 2 => {
                for ((s, c), v) in stored.iter_mut().zip(block).zip(views.iter_mut()) {
                    s.clear();
                    *clipped += sheen_io::stored_extend(c, *format, s);
                    *v = s;
                }
                &views[..block.len()]
            }
            _ => block,
        };
        // the values as stored, written without quantising again (a
        // non-finite sample passed through unchanged fails here, as the
        // block itself would)
        match self.writer.write_stored(block) {
            Ok(()) => {
                if let Some(t) = &mut self.true_peak {
                    t.push(block);
                }
                if let Some(l) = &mut self.loudness {
                    l.push(block);
                }
                true
            }
            Err(e) => {
                self.error = Some(e.into());
                false
            }
        }
    }

    fn finish(mut self) -> Result<WriteAndMeasure, Error> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self),
        }
    }
}

impl MeasuredFile {
    /// Wraps `writer` (format `spec`).
    pub fn new(writer: AudioWriter, spec: &WriteSpec) -> Self {
        Self::with_balance(writer, spec, Balance::Writer)
    }

    /// As [`MeasuredFile::new`], the work shared as `balance` says (with
    /// more than one core; inline otherwise). With [`Balance::Caller`] the
    /// caller's thread also keeps the stored values of each block to
    /// measure and hand over. The same meters on the same values give the
    /// same figures, and the same stored values the same file.
    pub fn with_balance(writer: AudioWriter, spec: &WriteSpec, balance: Balance) -> Self {
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let here = balance == Balance::Caller && parallel;
        let there = balance == Balance::WriterQuantises && parallel && spec.channels <= 2;
        let fs = spec.sample_rate_hz as f64;
        let meter = || LoudnessMeter::new(fs, spec.channels);
        let peak = || TruePeakMeter::new(fs, spec.channels);
        let inner = WriteAndMeasure {
            writer,
            quantise: there.then(|| (spec.format, vec![Vec::new(); spec.channels], 0)),
            true_peak: (!here).then(peak),
            loudness: (!here).then(meter),
            error: None,
        };
        Self {
            worker: BlockWorker::new("sheen-write", inner, spec.channels, parallel),
            format: spec.format,
            clipped: 0,
            here: here.then(|| (meter(), peak(), vec![Vec::new(); spec.channels])),
            there,
        }
    }

    /// One block (an error is reported by [`MeasuredFile::finish`]).
    fn push(&mut self, block: &[&[f64]]) {
        let (format, clipped) = (self.format, &mut self.clipped);
        if let Some((meter, peak, stored)) = &mut self.here {
            for (s, c) in stored.iter_mut().zip(block) {
                s.clear();
                *clipped += sheen_io::stored_extend(c, format, s);
            }
            let views: Vec<&[f64]> = stored.iter().map(Vec::as_slice).collect();
            // (a non-finite value is passed through and fails the writer,
            // so the job, whatever the meter reads)
            meter.push(&views);
            peak.push(&views);
            self.worker.push(&views);
            return;
        }
        if self.there {
            self.worker.push(block);
            return;
        }
        self.worker.push_mapped(block, |c, out| {
            *clipped += sheen_io::stored_extend(c, format, out);
        });
    }

    /// As [`MeasuredFile::push`] for a whole block the caller gives away
    /// (`bufs[ch]`, equal lengths): when the writer's thread quantises, the
    /// buffers go to it without a copy and `bufs` gets spent ones back
    /// (emptied); otherwise the block is pushed and `bufs` kept.
    fn push_owned(&mut self, bufs: &mut [Vec<f64>]) {
        if self.there && self.here.is_none() {
            self.worker.push_owned(bufs);
        } else {
            let views: Vec<&[f64]> = bufs.iter().map(Vec::as_slice).collect();
            self.push(&views);
        }
    }

    /// Drops the file: nothing appears under its name (the writer's
    /// temporary file is removed before this returns).
    pub fn discard(self) {
        drop(self.worker.finish());
    }

    /// Completes the file; returns its final path, the measurement and the
    /// samples the writer clamped.
    pub fn finish(self) -> Result<(PathBuf, Measured, u64), Error> {
        let inner = self.worker.finish()?;
        // the stored values need no clamping: the count is the blocks'
        let clipped = self.clipped
            + inner.writer.clipped_samples()
            + inner.quantise.as_ref().map_or(0, |q| q.2);
        let path = inner.writer.finish()?;
        let (loudness, mut true_peak) = match self.here {
            Some((meter, peak, _)) => (meter, peak),
            None => (
                inner.loudness.expect("measured on the writer's thread"),
                inner.true_peak.expect("measured on the writer's thread"),
            ),
        };
        true_peak.finish();
        let integrated_lufs = loudness.integrated_lufs();
        let true_peak_dbtp = true_peak.true_peak_dbtp();
        Ok((
            path,
            Measured {
                integrated_lufs,
                true_peak_dbtp,
                loudness_range_lu: loudness.loudness_range_lu(),
                plr_db: match (true_peak_dbtp, integrated_lufs) {
                    (Some(tp), Some(i)) => Some(tp - i),
                    _ => None,
                },
            },
            clipped,
        ))
    }
}

/// The value a sample reads back as after being stored in `format`
/// (`sheen-io`'s rule: `round(x · 2^(bits−1))` clamped, over `2^(bits−1)`;
/// `f32` for float files).
#[inline]
pub fn stored_value(x: f64, format: SampleFormat) -> f64 {
    sheen_io::stored_value(x, format)
}

/// Where rendered blocks go.
pub enum Sink<'a> {
    /// Integrated-loudness measurement (no dither applied).
    Loudness(&'a mut LoudnessMeter),
    /// A file writer (dither applied as the chain says).
    File(&'a mut AudioWriter),
    /// A file writer measuring what it writes (dither applied).
    MeasuredFile(&'a mut MeasuredFile),
    /// The front's output, before gain and limiter (the gain search).
    Front(&'a mut Recorder),
}

impl Sink<'_> {
    fn push(&mut self, block: &[&[f64]]) -> Result<(), Error> {
        match self {
            Sink::Loudness(m) => {
                m.push(block);
                Ok(())
            }
            Sink::File(w) => Ok(w.write(block)?),
            Sink::MeasuredFile(f) => {
                f.push(block);
                Ok(())
            }
            Sink::Front(_) => unreachable!("the front sink takes unaligned blocks"),
        }
    }

    /// As [`Sink::push`] for a whole block (`bufs[ch]`, equal lengths)
    /// that the sink may take without a copy, leaving `bufs` empty
    /// ([`MeasuredFile::push_owned`]).
    fn push_owned(&mut self, bufs: &mut [Vec<f64>]) -> Result<(), Error> {
        match self {
            Sink::MeasuredFile(f) => {
                f.push_owned(bufs);
                Ok(())
            }
            _ => {
                let views: Vec<&[f64]> = bufs.iter().map(Vec::as_slice).collect();
                self.push(&views)
            }
        }
    }
}

/// Runs deliverable `d` of `chain` over `input` into `sink`.
pub fn render(
    input: &Path,
    chain: &Chain,
    d: &Deliverable,
    sink: &mut Sink<'_>,
) -> Result<RenderStats, Error> {
    render_source(input, None, chain, d, sink)
}

/// As [`render`], told whether the limiter is idle ([`recorded_idle`] of a
/// recording of the same front): then its input gain replaces it (the
/// same output, bit for bit, without its detection). With `speculate` it
/// is assumed idle and checked ([`IdleWatch`]): the render stops as soon
/// as the limiter would act ([`RenderStats::limiter_needed`]).
fn render_idle(
    input: &Path,
    chain: &Chain,
    d: &Deliverable,
    sink: &mut Sink<'_>,
    idle: bool,
    speculate: bool,
) -> Result<RenderStats, Error> {
    render_source_as(input, None, chain, d, sink, idle, speculate)
}

/// Where a render reads its input: the file, or the analysis's decoded
/// samples of it (the same values).
enum Source<'a> {
    File(Box<AudioReader>),
    Decoded { samples: &'a Decoded, at: usize },
}

impl Source<'_> {
    fn read(&mut self, buf: &mut Vec<Vec<f64>>, max_frames: usize) -> Result<usize, Error> {
        match self {
            Source::File(r) => Ok(r.read(buf, max_frames)?),
            Source::Decoded { samples, at } => {
                let n = samples.read(*at, buf, max_frames);
                *at += n;
                Ok(n)
            }
        }
    }
}

/// As [`render`], reading `decoded` (the analysis's samples of `input`,
/// [`super::analyse::analyse_keeping`]) instead of decoding `input` when
/// given: the same values, so the same output bit for bit.
pub fn render_source(
    input: &Path,
    decoded: Option<&Decoded>,
    chain: &Chain,
    d: &Deliverable,
    sink: &mut Sink<'_>,
) -> Result<RenderStats, Error> {
    render_source_as(input, decoded, chain, d, sink, false, false)
}

/// [`render_source`], with the limiter replaced by its input gain when
/// `idle` or `speculate` (not for [`Sink::Front`], which stops before the
/// limiter); with `speculate`, checked as [`render_idle`] says.
fn render_source_as(
    input: &Path,
    decoded: Option<&Decoded>,
    chain: &Chain,
    d: &Deliverable,
    sink: &mut Sink<'_>,
    idle: bool,
    speculate: bool,
) -> Result<RenderStats, Error> {
    let (mut reader, channels, in_rate) = match decoded {
        Some(s) => (
            Source::Decoded { samples: s, at: 0 },
            s.channels(),
            s.sample_rate_hz,
        ),
        None => {
            let r = AudioReader::open(input)?;
            let (c, fs) = (r.info().channels, r.info().sample_rate_hz);
            (Source::File(Box::new(r)), c, fs)
        }
    };
    // processed channels (a dual-mono deliverable is processed in mono and
    // duplicated as it is written)
    let dual = output_channels(d, channels) > channels;
    let out_rate = d.output.sample_rate_hz;
    let fs = out_rate as f64;
    let dither = matches!(sink, Sink::File(_) | Sink::MeasuredFile(_));
    let mut p = Pipeline::new(chain, d, fs, channels, dither);
    let front_sink = matches!(sink, Sink::Front(_));
    p.idle = (idle || speculate) && !front_sink;
    if speculate && !front_sink {
        p.watch = Some(IdleWatch::new(&p.limiter, channels));
    }
    let tripped = |p: &Pipeline| p.watch.as_ref().is_some_and(|w| w.tripped);
    let mut resampler = if out_rate != in_rate {
        Some(Resampler::new(in_rate, out_rate, channels)?)
    } else {
        None
    };
    let front_latency = p.front_latency();
    let latency = p.latency();
    if let Sink::Front(r) = sink {
        r.begin(front_latency, p.limiter.latency_samples());
    }
    let mut state = Emit {
        skip: latency as u64,
        produced: 0,
        emitted: 0,
        dual,
    };
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); channels];
    let mut rs: Vec<Vec<f64>> = vec![Vec::new(); channels];
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        match &mut resampler {
            Some(r) => {
                let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
                r.process(&block, &mut rs)?;
                let m = rs[0].len();
                state.run(&mut p, &mut rs, m, sink, false, false)?;
                rs.iter_mut().for_each(Vec::clear);
            }
            None => state.run(&mut p, &mut buf, n, sink, false, true)?,
        }
        if tripped(&p) {
            return Ok(RenderStats {
                frames: state.emitted,
                max_gain_reduction_db: 0.0,
                clipped_samples: 0,
                limiter_needed: true,
            });
        }
    }
    if let Some(r) = &mut resampler {
        r.finish(&mut rs)?;
        let m = rs[0].len();
        state.run(&mut p, &mut rs, m, sink, false, false)?;
    }
    // flush the delays with silence
    let mut zeros = vec![vec![0.0; CHUNK_FRAMES]; channels];
    while state.emitted < state.produced {
        zeros.iter_mut().for_each(|z| z.fill(0.0));
        let m = (latency as u64 + state.produced - state.emitted).min(CHUNK_FRAMES as u64) as usize;
        state.run(&mut p, &mut zeros, m, sink, true, false)?;
    }
    if p.watch.is_some() {
        // the front's tail as far as the limiter would see it: its flush
        // pushes at most twice its whole latency of silence, which this
        // many more frames of the front cover (more frames only add
        // values to check)
        let mut more = 2 * (front_latency + p.limiter.latency_samples());
        while more > 0 {
            let m = more.min(CHUNK_FRAMES);
            zeros.iter_mut().for_each(|z| z.fill(0.0));
            let mut block = PlanarMut::new(&mut zeros, 0..m);
            let block = block.channels();
            p.front(block);
            if let Some(w) = &mut p.watch {
                w.push(block);
            }
            more -= m;
        }
    }
    if let Sink::Front(r) = sink {
        r.end(state.produced);
    }
    Ok(RenderStats {
        frames: state.emitted,
        max_gain_reduction_db: p.limiter.max_gain_reduction_db(),
        clipped_samples: match sink {
            Sink::File(w) => w.clipped_samples(),
            // counted when the file is finished
            Sink::MeasuredFile(_) => 0,
            _ => 0,
        },
        limiter_needed: tripped(&p),
    })
}

/// Runs deliverable `d` of `chain` from a recording of its front
/// (`rec`, made by [`render`] into [`Sink::Front`] for a deliverable of the
/// same rate, channels and limiter look-ahead, with
/// [`Recorder::keep_front`]) into `sink`: the limiter, dither and sink
/// only. The front is deterministic and every stage independent of the
/// block partition, so the output is bit-identical to [`render`]'s.
///
/// # Panics
/// If `rec` holds no front stream.
pub fn render_recorded(
    rec: &Recorder,
    chain: &Chain,
    d: &Deliverable,
    sink: &mut Sink<'_>,
) -> Result<RenderStats, Error> {
    render_recorded_as(rec, chain, d, sink, recorded_idle(rec, d))
}

/// [`render_recorded`], told whether the limiter is idle
/// ([`recorded_idle`]).
fn render_recorded_as(
    rec: &Recorder,
    chain: &Chain,
    d: &Deliverable,
    sink: &mut Sink<'_>,
    idle: bool,
) -> Result<RenderStats, Error> {
    let front = rec.front().expect("a recording with its front stream");
    let channels = front.len();
    let dual = output_channels(d, channels) > channels;
    let fs = d.output.sample_rate_hz as f64;
    let dither = matches!(sink, Sink::File(_) | Sink::MeasuredFile(_));
    let mut p = Pipeline::new(chain, d, fs, channels, dither);
    let latency = p.limiter.latency_samples() + rec.front_latency();
    let frames = rec.frames();
    // output frame k is the limiter's output at stream frame latency + k
    let (first, end) = (latency, latency + frames);
    let mut buf: Vec<Vec<f64>> = vec![vec![0.0; CHUNK_FRAMES]; channels];
    if idle {
        let (ig, delay) = (p.limiter.input_gain(), p.limiter.latency_samples());
        let mut start = first;
        while start < end {
            let stop = (start + CHUNK_FRAMES).min(end);
            let n = stop - start;
            // stream frame s leaves the limiter as front[s − delay] · gain
            for (b, f) in buf.iter_mut().zip(front) {
                for (o, &x) in b[..n].iter_mut().zip(&f[start - delay..stop - delay]) {
                    *o = x * ig;
                }
            }
            if let Some(dt) = &mut p.dither {
                dt.process(PlanarMut::new(&mut buf, 0..n).channels());
            }
            let mut block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
            if dual {
                block.push(block[0]);
            }
            sink.push(&block)?;
            start = stop;
        }
        return Ok(RenderStats {
            frames: frames as u64,
            max_gain_reduction_db: p.limiter.max_gain_reduction_db(),
            clipped_samples: match sink {
                Sink::File(w) => w.clipped_samples(),
                _ => 0,
            },
            limiter_needed: false,
        });
    }
    let mut start = 0;
    while start < end {
        let stop = (start + CHUNK_FRAMES).min(end);
        let n = stop - start;
        for (b, f) in buf.iter_mut().zip(front) {
            b[..n].copy_from_slice(&f[start..stop]);
        }
        p.limiter.process(PlanarMut::new(&mut buf, 0..n).channels());
        let from = first.max(start) - start;
        if from < n {
            if let Some(dt) = &mut p.dither {
                dt.process(PlanarMut::new(&mut buf, from..n).channels());
            }
            let mut block: Vec<&[f64]> = buf.iter().map(|c| &c[from..n]).collect();
            if dual {
                block.push(block[0]);
            }
            sink.push(&block)?;
        }
        start = stop;
    }
    Ok(RenderStats {
        frames: frames as u64,
        max_gain_reduction_db: p.limiter.max_gain_reduction_db(),
        clipped_samples: match sink {
            Sink::File(w) => w.clipped_samples(),
            // counted when the file is finished
            Sink::MeasuredFile(_) => 0,
            _ => 0,
        },
        limiter_needed: false,
    })
}

/// Whether no detected peak of the front recorded in `rec` exceeds the
/// threshold of deliverable `d`'s limiter ([`Recorder::limiter_idle`]): it
/// would then only delay and scale (each gain exactly 1), so the output is
/// the front times the input gain, and [`render_recorded`] runs no
/// limiter.
fn recorded_idle(rec: &Recorder, d: &Deliverable) -> bool {
    let channels = rec.channels();
    let fs = d.output.sample_rate_hz as f64;
    let mut l = TruePeakLimiter::new(limiter_params(d), fs, channels);
    l.set_input_gain(db_to_gain(d.gain.gain_db));
    rec.limiter_idle(d.limiter.oversampling, l.threshold())
}

/// Latency bookkeeping: input frames produced, output frames emitted.
struct Emit {
    skip: u64,
    produced: u64,
    emitted: u64,
    /// Write the one channel twice (dual mono).
    dual: bool,
}

impl Emit {
    /// Runs `bufs[..][..n]` through `p` into `sink`. With `give`, a block
    /// emitted whole (`n` is every buffer's length) may be taken by the
    /// sink ([`Sink::push_owned`]): `bufs` may come back emptied.
    fn run(
        &mut self,
        p: &mut Pipeline,
        bufs: &mut [Vec<f64>],
        n: usize,
        sink: &mut Sink<'_>,
        flushing: bool,
        give: bool,
    ) -> Result<(), Error> {
        if n == 0 {
            return Ok(());
        }
        if !flushing {
            self.produced += n as u64;
        }
        if let Sink::Front(r) = sink {
            // the search records the front's whole output stream
            p.front(PlanarMut::new(bufs, 0..n).channels());
            let block: Vec<&[f64]> = bufs.iter().map(|c| &c[..n]).collect();
            r.push(&block);
            let skip = self.skip.min(n as u64);
            self.skip -= skip;
            let want = self.produced - self.emitted;
            self.emitted += (n as u64 - skip).min(want);
            return Ok(());
        }
        p.process(PlanarMut::new(bufs, 0..n).channels());
        let skip = self.skip.min(n as u64) as usize;
        self.skip -= skip as u64;
        let want = (self.produced - self.emitted) as usize;
        let end = n.min(skip + want);
        if end <= skip {
            return Ok(());
        }
        if let Some(d) = &mut p.dither {
            d.process(PlanarMut::new(bufs, skip..end).channels());
        }
        if give && skip == 0 && !self.dual && bufs.iter().all(|c| c.len() == end) {
            sink.push_owned(bufs)?;
            self.emitted += end as u64;
            return Ok(());
        }
        let mut block: Vec<&[f64]> = bufs.iter().map(|c| &c[skip..end]).collect();
        if self.dual {
            block.push(block[0]);
        }
        sink.push(&block)?;
        self.emitted += (end - skip) as u64;
        Ok(())
    }
}

/// Integrated loudness (LUFS) of the rendered deliverable, without writing
/// a file (the gain search for inputs too long to record). `None` for
/// silence.
pub fn measure_loudness(
    input: &Path,
    chain: &Chain,
    d: &Deliverable,
) -> Result<(Option<f64>, RenderStats), Error> {
    let info = AudioReader::open(input)?.info().clone();
    let mut meter = LoudnessMeter::new(
        d.output.sample_rate_hz as f64,
        output_channels(d, info.channels),
    );
    let stats = render(input, chain, d, &mut Sink::Loudness(&mut meter))?;
    Ok((meter.integrated_lufs(), stats))
}

/// The write spec of deliverable `d` for `path` (container from the
/// extension).
pub fn write_spec(path: &Path, d: &Deliverable, channels: usize) -> Result<WriteSpec, Error> {
    let container = Container::from_path(path).ok_or_else(|| Error::Content {
        path: path.to_path_buf(),
        problem: "unknown output extension (expected .wav or .flac)".into(),
    })?;
    let format = match d.output.bits {
        16 => SampleFormat::I16,
        24 => SampleFormat::I24,
        _ => SampleFormat::F32,
    };
    if container == Container::Flac && format == SampleFormat::F32 {
        return Err(Error::Content {
            path: path.to_path_buf(),
            problem: format!(
                "target {} asks for 32-bit float, which FLAC cannot hold (use .wav)",
                d.target
            ),
        });
    }
    Ok(WriteSpec {
        sample_rate_hz: d.output.sample_rate_hz,
        channels,
        format,
        container,
    })
}

/// Renders deliverable `d` to `out` (atomically: nothing appears under
/// `out` unless the whole render succeeds), measuring the samples as
/// written (loudness, LRA, true peak: what reading the file back would
/// measure); from `recorded` (its front, see [`render_recorded`]) when
/// given, else from `input`. With `speculate` (and no recording) the
/// limiter is assumed idle, as for a gain predicted without a recording,
/// and checked ([`render_idle`]): `None` (nothing written) when it would
/// act after all.
pub fn render_to_file(
    input: &Path,
    chain: &Chain,
    d: &Deliverable,
    out: &Path,
    recorded: Option<&Recorder>,
    speculate: bool,
) -> Result<Option<(PathBuf, RenderStats, Measured)>, Error> {
    let info = AudioReader::open(input)?.info().clone();
    let spec = write_spec(out, d, output_channels(d, info.channels))?;
    let w = AudioWriter::create(out, spec, &[input])?;
    // a light recording ([`Recorder::record_light`]) tells whether the
    // limiter is idle; the render then reads the input
    let idle = recorded.is_some_and(|r| recorded_idle(r, d));
    let recorded = recorded.filter(|r| r.front().is_some());
    // rendering an idle limiter from the front leaves this thread little
    // to do: it measures the loudness
    let balance = if idle && recorded.is_some() {
        Balance::Caller
    } else if speculate && recorded.is_none() {
        // the front and the check of the limiter run here
        Balance::WriterQuantises
    } else {
        Balance::Writer
    };
    let mut f = MeasuredFile::with_balance(w, &spec, balance);
    let mut sink = Sink::MeasuredFile(&mut f);
    let stats = match recorded {
        Some(r) => render_recorded_as(r, chain, d, &mut sink, idle)?,
        None => render_idle(input, chain, d, &mut sink, idle, speculate)?,
    };
    if stats.limiter_needed {
        f.discard();
        return Ok(None);
    }
    let (path, measured, clipped) = f.finish()?;
    Ok(Some((
        path,
        RenderStats {
            clipped_samples: clipped,
            ..stats
        },
        measured,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: [`super::super::verify::measure_file`] of the written file
    /// (its figures read back) and the file written with both meters on the
    /// writer's thread. A [`MeasuredFile`] with the meters on the caller's
    /// thread, or with the quantising on the writer's
    /// ([`MeasuredFile::with_balance`]), writes the same bytes, counts the
    /// same clamped samples and reports the same loudness, LRA and true
    /// peak bit for bit, on a noisy stereo signal with loud bursts (some
    /// samples clamped) in odd blocks.
    #[test]
    fn meters_here_measure_what_the_writer_measures() {
        let fs = 48_000u32;
        let mut z = sheen_testkit::Lcg(5);
        let n = 150_000;
        let x: Vec<Vec<f64>> = (0..2)
            .map(|_| {
                (0..n)
                    .map(|i| {
                        let v = z.centred();
                        v * if (i / 20_000) % 2 == 0 { 0.3 } else { 2.1 }
                    })
                    .collect()
            })
            .collect();
        let dir = std::env::temp_dir().join(format!("sheen-measured-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let spec = WriteSpec {
            sample_rate_hz: fs,
            channels: 2,
            format: SampleFormat::I24,
            container: Container::Wav,
        };
        let run = |balance: Balance| {
            let path = dir.join(format!("{balance:?}.wav"));
            let w = AudioWriter::create(&path, spec, &[]).unwrap();
            let mut f = MeasuredFile::with_balance(w, &spec, balance);
            let mut start = 0;
            let mut len = 100;
            while start < n {
                let end = (start + len).min(n);
                f.push(&[&x[0][start..end], &x[1][start..end]]);
                start = end;
                len = len * 2 + 7;
            }
            let (path, m, clipped) = f.finish().unwrap();
            (std::fs::read(&path).unwrap(), m, clipped, path)
        };
        let (bytes0, m0, c0, p0) = run(Balance::Writer);
        let (bytes1, m1, c1, _) = run(Balance::Caller);
        let (bytes2, m2, c2, _) = run(Balance::WriterQuantises);
        assert!(c0 > 0, "some samples clamped");
        assert_eq!(c0, c1);
        assert_eq!(c0, c2);
        assert!(bytes0 == bytes1 && bytes0 == bytes2, "same file");
        let back = super::super::verify::measure_file(&p0).unwrap();
        let bits = |m: &Measured| {
            [
                m.integrated_lufs,
                m.true_peak_dbtp,
                m.loudness_range_lu,
                m.plr_db,
            ]
            .map(|v| v.map(f64::to_bits))
        };
        assert!(m0.integrated_lufs.is_some() && m0.true_peak_dbtp.is_some());
        assert_eq!(bits(&m0), bits(&m1));
        assert_eq!(bits(&m0), bits(&m2));
        assert_eq!(bits(&m0), bits(&back));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
