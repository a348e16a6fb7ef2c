//! The match chain document and its render.
//!
//! [`MatchChain`] is the decided half (TOML, every value with a reason):
//! mid and side EQ curves as 1/3-octave band gains (and the fitted FIR
//! design points), the width change (folded into the side curve), an
//! optional dynamics stage, the loudness target and gain, and the
//! true-peak limiter. Render makes no decisions: for stereo it splits
//! `M = (L+R)/2`, `S = (L−R)/2`, runs one linear-phase FIR
//! ([`sheen_dsp::fir_eq::LinearPhaseEq`]) on each, recombines, then
//! compressor (if planned) → gain → [`TruePeakLimiter`]. All latency is
//! compensated (output length = input length), memory is bounded (blocks of
//! [`CHUNK_FRAMES`]) and the result is bit-identical for the same document
//! and input.

use super::curve::{BandGain, MatchAmounts, FIR_GRID};
use super::dynamics::FrontCompressor;
use super::profile::{Decoded, Profile, ProfileBuilder};
use crate::Error;
use serde::{Deserialize, Serialize};
use sheen_dsp::compressor::CompressorParams;
use sheen_dsp::fir_eq::{design_on_grid, EqPoint, LinearPhaseEq};
use sheen_dsp::limiter::{LimiterParams, TruePeakLimiter};
use sheen_dsp::worker::BlockWorker;
use sheen_dsp::{db_to_gain, PlanarMut, Processor};
use sheen_io::{AudioReader, AudioWriter, Container, SampleFormat, WriteSpec};
use sheen_meter::LoudnessMeter;
use std::path::{Path, PathBuf};

/// Frames per read.
pub const CHUNK_FRAMES: usize = 8192;

/// Where rendered planar blocks go (a writer, a meter, a test buffer).
pub type BlockSink<'a> = dyn FnMut(&[&[f64]]) -> Result<(), Error> + 'a;

/// Version of the match chain format.
pub const MATCH_CHAIN_VERSION: u32 = 1;

/// The EQ stage: planned band gains with reasons, and the FIR that realises
/// them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchEq {
    /// FIR length (odd), taps.
    pub taps: usize,
    pub reason: String,
    /// Mid (or mono) band gains.
    pub mid: Vec<BandGain>,
    /// Side band gains (empty for mono).
    #[serde(default)]
    pub side: Vec<BandGain>,
    /// FIR design points of the mid filter (what render uses).
    pub mid_points: Vec<EqPoint>,
    /// FIR design points of the side filter.
    #[serde(default)]
    pub side_points: Vec<EqPoint>,
}

/// The width decision (realised in the side curve).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidthNote {
    /// Broadband side/mid change planned, dB (informational).
    pub side_change_db: f64,
    pub reason: String,
}

/// A compressor stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DynamicsStage {
    /// `None`: no compression planned (the reason says why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compressor: Option<CompressorParams>,
    pub reason: String,
}

/// Gain and loudness target.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoudnessStage {
    /// Integrated loudness promised, LUFS.
    pub target_lufs: f64,
    /// Pre-limiter gain, dB.
    pub gain_db: f64,
    pub reason: String,
}

/// The limiter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimiterStage {
    pub params: LimiterParams,
    pub reason: String,
}

/// The whole match chain document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchChain {
    pub version: u32,
    pub input: String,
    /// The reference files and their weights.
    pub references: Vec<(String, f64)>,
    pub amounts: MatchAmounts,
    pub eq: MatchEq,
    pub width: WidthNote,
    pub dynamics: DynamicsStage,
    pub loudness: LoudnessStage,
    pub limiter: LimiterStage,
    /// Output word length: 16, 24 (integer) or 32 (float).
    pub bits: u32,
}

impl MatchChain {
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("match chain serialises")
    }

    pub fn from_toml(text: &str, path: &Path) -> Result<Self, Error> {
        let c: MatchChain = toml::from_str(text).map_err(|e| Error::Content {
            path: path.to_path_buf(),
            problem: format!(
                "not a valid match chain: {}",
                e.message().replace('\n', " ")
            ),
        })?;
        if c.version != MATCH_CHAIN_VERSION {
            return Err(Error::Content {
                path: path.to_path_buf(),
                problem: format!(
                    "match chain version {} (this build reads {MATCH_CHAIN_VERSION})",
                    c.version
                ),
            });
        }
        Ok(c)
    }
}

/// The M/S linear-phase FIRs of a chain (the first stage of its front).
pub struct MsFir {
    stereo: bool,
    mid: LinearPhaseEq,
    side: Option<LinearPhaseEq>,
    m: Vec<f64>,
    s: Vec<f64>,
}

impl MsFir {
    /// Filters a block (≤ [`CHUNK_FRAMES`] frames) in place: for stereo,
    /// `M = (L+R)/2` and `S = (L−R)/2` through their filters and back to
    /// `L = M + S`, `R = M − S`; mono through the mid filter.
    pub fn process(&mut self, block: &mut [&mut [f64]]) {
        let n = block[0].len();
        if self.stereo {
            let (m, s) = (&mut self.m[..n], &mut self.s[..n]);
            for i in 0..n {
                m[i] = 0.5 * (block[0][i] + block[1][i]);
                s[i] = 0.5 * (block[0][i] - block[1][i]);
            }
            self.mid.process(&mut [m]);
            if let Some(f) = &mut self.side {
                f.process(&mut [s]);
            }
            let (m, s) = (&self.m[..n], &self.s[..n]);
            for i in 0..n {
                block[0][i] = m[i] + s[i];
                block[1][i] = m[i] - s[i];
            }
        } else {
            self.mid.process(&mut block[..1]);
        }
    }
}

/// The processors of a chain, in order.
pub struct Pipeline {
    fir: MsFir,
    comp: Option<FrontCompressor>,
    gain: f64,
    limiter: TruePeakLimiter,
}

impl Pipeline {
    /// Builds the processors of `c` for `channels` (1 or 2) at
    /// `sample_rate_hz`.
    pub fn new(c: &MatchChain, sample_rate_hz: f64, channels: usize) -> Self {
        let stereo = channels == 2;
        let fir = |points: &[EqPoint]| {
            LinearPhaseEq::from_taps(
                design_on_grid(points, c.eq.taps, sample_rate_hz, FIR_GRID),
                1,
            )
        };
        let mid = fir(&c.eq.mid_points);
        let side = (stereo && !c.eq.side_points.is_empty()).then(|| fir(&c.eq.side_points));
        let side = if stereo && side.is_none() {
            Some(fir(&c.eq.mid_points))
        } else {
            side
        };
        let comp = c
            .dynamics
            .compressor
            .map(|p| FrontCompressor::new(p, sample_rate_hz, channels, CHUNK_FRAMES));
        Self {
            fir: MsFir {
                stereo,
                mid,
                side,
                m: vec![0.0; CHUNK_FRAMES],
                s: vec![0.0; CHUNK_FRAMES],
            },
            comp,
            gain: db_to_gain(c.loudness.gain_db),
            limiter: TruePeakLimiter::new(c.limiter.params, sample_rate_hz, channels),
        }
    }

    /// Delay added, samples.
    pub fn latency_samples(&self) -> usize {
        self.front_latency() + self.limiter.latency_samples()
    }

    /// Largest limiter gain reduction so far, dB.
    pub fn max_gain_reduction_db(&self) -> f64 {
        self.limiter.max_gain_reduction_db()
    }

    /// Delay of the stages before the gain (FIR, compressor), samples.
    pub fn front_latency(&self) -> usize {
        self.fir.mid.latency_samples() + self.comp.as_ref().map_or(0, |c| c.latency_samples())
    }

    /// The limiter's delay, samples.
    pub fn limiter_latency(&self) -> usize {
        self.limiter.latency_samples()
    }

    /// Processes a block (≤ [`CHUNK_FRAMES`] frames) in place.
    pub fn process(&mut self, block: &mut [&mut [f64]]) {
        self.front(block);
        for ch in block.iter_mut() {
            ch.iter_mut().for_each(|x| *x *= self.gain);
        }
        self.limiter.process(block);
    }

    /// The stages before the gain: M/S FIR and compressor.
    pub fn front(&mut self, block: &mut [&mut [f64]]) {
        self.fir.process(block);
        if let Some(c) = &mut self.comp {
            c.process(block);
        }
    }

    /// The front's two stages apart (the FIRs and the compressor), e.g. to
    /// run them on two threads.
    pub fn front_stages(&mut self) -> (&mut MsFir, Option<&mut FrontCompressor>) {
        (&mut self.fir, self.comp.as_mut())
    }
}

/// Runs `p` over a stream of input blocks, compensating its latency: `sink`
/// receives exactly as many frames as the source gave, time-aligned.
pub struct Aligner {
    skip: u64,
    produced: u64,
    emitted: u64,
    latency: usize,
}

impl Aligner {
    pub fn new(latency: usize) -> Self {
        Self {
            skip: latency as u64,
            produced: 0,
            emitted: 0,
            latency,
        }
    }

    /// Processes `bufs[..][..n]` and passes the aligned output to `sink`.
    pub fn run(
        &mut self,
        p: &mut Pipeline,
        bufs: &mut [Vec<f64>],
        n: usize,
        flushing: bool,
        sink: &mut BlockSink<'_>,
    ) -> Result<(), Error> {
        if n == 0 {
            return Ok(());
        }
        p.process(PlanarMut::new(bufs, 0..n).channels());
        if !flushing {
            self.produced += n as u64;
        }
        let skip = self.skip.min(n as u64) as usize;
        self.skip -= skip as u64;
        let want = (self.produced - self.emitted) as usize;
        let end = n.min(skip + want);
        if end <= skip {
            return Ok(());
        }
        let block: Vec<&[f64]> = bufs.iter().map(|c| &c[skip..end]).collect();
        sink(&block)?;
        self.emitted += (end - skip) as u64;
        Ok(())
    }

    /// Feeds silence until every produced frame was emitted.
    pub fn flush(
        &mut self,
        p: &mut Pipeline,
        channels: usize,
        sink: &mut BlockSink<'_>,
    ) -> Result<(), Error> {
        let mut zeros = vec![vec![0.0; CHUNK_FRAMES]; channels];
        while self.emitted < self.produced {
            zeros.iter_mut().for_each(|z| z.fill(0.0));
            let m = (self.latency as u64 + self.produced - self.emitted).min(CHUNK_FRAMES as u64)
                as usize;
            self.run(p, &mut zeros, m, true, sink)?;
        }
        Ok(())
    }
}

/// Renders `c` over `input` into `sink` (one streamed pass). Returns the
/// largest limiter gain reduction, dB.
pub fn render(input: &Path, c: &MatchChain, sink: &mut BlockSink<'_>) -> Result<f64, Error> {
    let mut reader = AudioReader::open(input)?;
    let info = reader.info().clone();
    let mut p = Pipeline::new(c, info.sample_rate_hz as f64, info.channels);
    let mut al = Aligner::new(p.latency_samples());
    let mut buf: Vec<Vec<f64>> = vec![Vec::with_capacity(CHUNK_FRAMES); info.channels];
    loop {
        let n = reader.read(&mut buf, CHUNK_FRAMES)?;
        if n == 0 {
            break;
        }
        al.run(&mut p, &mut buf, n, false, sink)?;
    }
    al.flush(&mut p, info.channels, sink)?;
    Ok(p.max_gain_reduction_db())
}

/// Records the front of `c` over `input` for the gain search
/// (`crate::mastering::search`): the whole stream, the flush included.
/// `None` when the input is too long to record.
/// `decoded`: the input's samples kept by
/// [`super::profile::profile_file_keeping`], read instead of decoding the
/// file again (the same samples bit for bit).
pub fn record_front(
    input: &Path,
    c: &MatchChain,
    decoded: Option<&Decoded>,
) -> Result<Option<crate::mastering::search::Recorder>, Error> {
    let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
    record_front_with(input, c, parallel, decoded)
}

/// [`record_front`], the decoding and the FIRs on a thread of their own
/// when `parallel`.
fn record_front_with(
    input: &Path,
    c: &MatchChain,
    parallel: bool,
    decoded: Option<&Decoded>,
) -> Result<Option<crate::mastering::search::Recorder>, Error> {
    let reader = AudioReader::open(input)?;
    let info = reader.info().clone();
    let fs = info.sample_rate_hz as f64;
    if info.frames.unwrap_or(0) as usize > crate::mastering::search::MAX_RECORD_FRAMES {
        return Ok(None);
    }
    let mut p = Pipeline::new(c, fs, info.channels);
    let (f, d) = (p.front_latency(), p.limiter_latency());
    let mut rec =
        crate::mastering::search::Recorder::new(&c.limiter.params, fs, info.channels, false);
    // kept whole, the stream's detection and K-weighting run on two threads
    let stream = info.frames.unwrap_or(0) as usize + f + d + CHUNK_FRAMES;
    if stream * info.channels <= crate::mastering::plan::MAX_FRONT_SAMPLES {
        rec.keep_front(stream);
    }
    rec.begin(f, d);
    let (fir, mut comp) = p.front_stages();
    let mut frames = 0u64;
    if !parallel {
        let mut blocks = FrontBlocks::new(reader, decoded, info.channels, f + d);
        let mut buf = Vec::new();
        while let Some((n, input)) = blocks.next_block_into(&mut buf)? {
            fir.process(PlanarMut::new(&mut buf, 0..n).channels());
            frames += input as u64;
            if let Some(c) = &mut comp {
                c.process(PlanarMut::new(&mut buf, 0..n).channels());
            }
            let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
            rec.push(&block);
        }
        rec.end(frames);
        return Ok((!rec.overflowed()).then_some(rec));
    }
    // decoding and the FIRs on one thread, the compressor and the
    // recording on this one (each stage sees the same blocks in the same
    // order as inline: the same samples)
    std::thread::scope(|sc| -> Result<(), Error> {
        // the FIRs work in bursts (two FFTs per hop of ~6 blocks, then
        // copies): a queue deeper than a hop keeps both threads busy
        // through a burst instead of taking turns
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Filtered, Error>>(RECORD_QUEUE);
        let (free_tx, free_rx) = std::sync::mpsc::channel::<Vec<Vec<f64>>>();
        for _ in 0..RECORD_QUEUE + 2 {
            let _ = free_tx.send(Vec::new());
        }
        let channels = info.channels;
        std::thread::Builder::new()
            .name("sheen-fir".into())
            .spawn_scoped(sc, move || {
                let mut blocks = FrontBlocks::new(reader, decoded, channels, f + d);
                while let Ok(mut buf) = free_rx.recv() {
                    let item = match blocks.next_block_into(&mut buf) {
                        Ok(Some((n, input))) => {
                            fir.process(PlanarMut::new(&mut buf, 0..n).channels());
                            Ok((buf, n, input))
                        }
                        Ok(None) => return,
                        Err(e) => Err(e),
                    };
                    let stop = item.is_err();
                    if tx.send(item).is_err() || stop {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Content {
                path: input.to_path_buf(),
                problem: format!("cannot start a thread: {e}"),
            })?;
        for item in rx {
            let (mut buf, n, input) = item?;
            frames += input as u64;
            if let Some(c) = &mut comp {
                c.process(PlanarMut::new(&mut buf, 0..n).channels());
            }
            let block: Vec<&[f64]> = buf.iter().map(|c| &c[..n]).collect();
            rec.push(&block);
            let _ = free_tx.send(buf);
        }
        Ok(())
    })?;
    rec.end(frames);
    Ok((!rec.overflowed()).then_some(rec))
}

/// Blocks queued between the FIR thread and the recording thread (more
/// than a FIR hop of [`CHUNK_FRAMES`] blocks; 160 kB each in stereo).
const RECORD_QUEUE: usize = 10;

/// A block of the front's FIR output: the channels, the frames in it, and
/// how many of them are input frames (the rest is the flush).
type Filtered = (Vec<Vec<f64>>, usize, usize);

/// The blocks the front of a recording sees: the input in
/// [`CHUNK_FRAMES`] reads (from the file, or from its kept samples), then
/// `flush` frames of silence.
struct FrontBlocks<'a> {
    reader: AudioReader,
    decoded: Option<(&'a Decoded, usize)>,
    channels: usize,
    flush: usize,
    ended: bool,
}

impl<'a> FrontBlocks<'a> {
    fn new(
        reader: AudioReader,
        decoded: Option<&'a Decoded>,
        channels: usize,
        flush: usize,
    ) -> Self {
        Self {
            reader,
            decoded: decoded
                .filter(|d| d.channels.len() == channels)
                .map(|d| (d, 0)),
            channels,
            flush,
            ended: false,
        }
    }

    /// The next read of at most [`CHUNK_FRAMES`] frames into `buf`.
    fn read(&mut self, buf: &mut Vec<Vec<f64>>) -> Result<usize, Error> {
        let Some((d, at)) = &mut self.decoded else {
            return Ok(self.reader.read(buf, CHUNK_FRAMES)?);
        };
        let n = (d.frames() - *at).min(CHUNK_FRAMES);
        buf.resize_with(self.channels, Vec::new);
        for (b, c) in buf.iter_mut().zip(&d.channels) {
            b.clear();
            b.extend(c[*at..*at + n].iter().map(|&x| f64::from(x)));
        }
        *at += n;
        Ok(n)
    }

    /// The next block into `buf` (its frames, and how many are input
    /// frames); `None` at the end.
    fn next_block_into(
        &mut self,
        buf: &mut Vec<Vec<f64>>,
    ) -> Result<Option<(usize, usize)>, Error> {
        if !self.ended {
            let n = self.read(buf)?;
            if n > 0 {
                return Ok(Some((n, n)));
            }
            self.ended = true;
        }
        if self.flush == 0 {
            return Ok(None);
        }
        let m = self.flush.min(CHUNK_FRAMES);
        buf.resize_with(self.channels, Vec::new);
        for c in buf.iter_mut() {
            c.clear();
            c.resize(m, 0.0);
        }
        self.flush -= m;
        Ok(Some((m, 0)))
    }
}

/// Integrated loudness (LUFS) of `c` rendered over `input`, nothing
/// written, and the limiter's largest gain reduction (dB).
pub fn measure_loudness(input: &Path, c: &MatchChain) -> Result<(Option<f64>, f64), Error> {
    let info = AudioReader::open(input)?.info().clone();
    let mut meter = LoudnessMeter::new(info.sample_rate_hz as f64, info.channels);
    let gr = render(input, c, &mut |b| {
        meter.push(b);
        Ok(())
    })?;
    Ok((meter.integrated_lufs(), gr))
}

/// What a written file measured (same meters as the analysis).
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Written {
    pub integrated_lufs: Option<f64>,
    pub true_peak_dbtp: Option<f64>,
    pub loudness_range_lu: Option<f64>,
    pub limiter_max_gain_reduction_db: f64,
    pub clipped_samples: u64,
}

/// The write spec for `out` (container from the extension).
pub fn write_spec(out: &Path, bits: u32, rate: u32, channels: usize) -> Result<WriteSpec, Error> {
    let container = Container::from_path(out).ok_or_else(|| Error::Content {
        path: out.to_path_buf(),
        problem: "unknown output extension (expected .wav or .flac)".into(),
    })?;
    let format = match bits {
        16 => SampleFormat::I16,
        24 => SampleFormat::I24,
        _ => SampleFormat::F32,
    };
    Ok(WriteSpec {
        sample_rate_hz: rate,
        channels,
        format,
        container,
    })
}

/// Renders `c` over `input` to `out` (atomically), measuring the samples
/// written (loudness, LRA, true peak, spectra: a [`Profile`]) in the same
/// pass.
pub fn render_to_file(
    input: &Path,
    c: &MatchChain,
    out: &Path,
) -> Result<(PathBuf, Written, Profile), Error> {
    let info = AudioReader::open(input)?.info().clone();
    let spec = write_spec(out, c.bits, info.sample_rate_hz, info.channels)?;
    let w = AudioWriter::create(out, spec, &[input])?;
    let a = ProfileBuilder::new(
        &out.display().to_string(),
        info.sample_rate_hz as f64,
        info.channels,
    );
    let mut file = ProfiledFile::new(w, a);
    let gr = render(input, c, &mut |b| {
        file.push(b);
        Ok(())
    });
    file.finish(gr)
}

/// As [`render_to_file`], from `rec` ([`record_front`] of the same chain
/// front over `input`, kept whole): the gain and limiter run over the
/// recorded front stream. The front is deterministic and every stage
/// independent of the block partition, so the file is bit-identical.
///
/// # Panics
/// If `rec` holds no front stream.
pub fn render_recorded_to_file(
    input: &Path,
    rec: &crate::mastering::search::Recorder,
    c: &MatchChain,
    out: &Path,
) -> Result<(PathBuf, Written, Profile), Error> {
    let info = AudioReader::open(input)?.info().clone();
    let front = rec.front().expect("a recording with its front stream");
    let spec = write_spec(out, c.bits, info.sample_rate_hz, info.channels)?;
    let w = AudioWriter::create(out, spec, &[input])?;
    let fs = info.sample_rate_hz as f64;
    let a = ProfileBuilder::new(&out.display().to_string(), fs, info.channels);
    let mut file = ProfiledFile::new(w, a);
    let gain = db_to_gain(c.loudness.gain_db);
    let mut limiter = TruePeakLimiter::new(c.limiter.params, fs, info.channels);
    let first = rec.front_latency() + limiter.latency_samples();
    let end = first + rec.frames();
    let mut buf: Vec<Vec<f64>> = vec![vec![0.0; CHUNK_FRAMES]; info.channels];
    let mut start = 0;
    while start < end {
        let stop = (start + CHUNK_FRAMES).min(end);
        let n = stop - start;
        for (b, f) in buf.iter_mut().zip(front) {
            for (y, &x) in b[..n].iter_mut().zip(&f[start..stop]) {
                *y = x * gain;
            }
        }
        limiter.process(PlanarMut::new(&mut buf, 0..n).channels());
        let from = first.max(start) - start;
        if from < n {
            let block: Vec<&[f64]> = buf.iter().map(|c| &c[from..n]).collect();
            file.push(&block);
        }
        start = stop;
    }
    file.finish(Ok(limiter.max_gain_reduction_db()))
}

/// The writer and the profile of the stored values it is given (on
/// whichever thread runs them); the first error stops both and is kept for
/// [`ProfiledFile::finish`].
struct WriteAndProfile {
    writer: AudioWriter,
    profile: ProfileBuilder,
    error: Option<Error>,
}

impl sheen_dsp::worker::BlockSink for WriteAndProfile {
    type Output = Result<(AudioWriter, ProfileBuilder), Error>;

    fn push(&mut self, block: &[&[f64]]) -> bool {
        // the values as stored, written without quantising again (a
        // non-finite sample passed through unchanged fails here, as the
        // block itself would)
        match self.writer.write_stored(block) {
            Ok(()) => {
                self.profile.push(block);
                true
            }
            Err(e) => {
                self.error = Some(e.into());
                false
            }
        }
    }

    fn finish(self) -> Result<(AudioWriter, ProfileBuilder), Error> {
        match self.error {
            Some(e) => Err(e),
            None => Ok((self.writer, self.profile)),
        }
    }
}

/// A file writer that profiles what the file stores, as mastering's
/// [`crate::mastering::render::MeasuredFile`] measures: the caller's thread
/// turns each block into the stored values ([`sheen_io::stored_extend`],
/// counting what the writer clamps), written straight into the batches of
/// a worker thread (sheen-dsp's [`BlockWorker`], bounded queue, when the
/// machine has more than one core) that writes them (storing a stored value
/// again changes nothing) and profiles them, so the figures equal a
/// [`Profile`] of the file read back. Writer and profile do not depend on
/// the block partition, so the file and the figures are the same inline or
/// threaded, and for any way the samples are handed in (blocks or single
/// frames).
pub(super) struct ProfiledFile {
    worker: BlockWorker<WriteAndProfile>,
    format: SampleFormat,
    /// Samples the stored values were clamped to make.
    clipped: u64,
    /// Frames given one at a time ([`ProfiledFile::push_frame`]), handed
    /// on as one block when [`CHUNK_FRAMES`] are pending.
    frames: Vec<Vec<f64>>,
}

impl ProfiledFile {
    /// Wraps `writer` and the profile `profile` of what it stores.
    pub(super) fn new(writer: AudioWriter, profile: ProfileBuilder) -> Self {
        let spec = *writer.spec();
        let parallel = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let sink = WriteAndProfile {
            writer,
            profile,
            error: None,
        };
        Self {
            worker: BlockWorker::new("sheen-write", sink, spec.channels, parallel),
            format: spec.format,
            clipped: 0,
            frames: (0..spec.channels)
                .map(|_| Vec::with_capacity(CHUNK_FRAMES))
                .collect(),
        }
    }

    /// One rendered block (an error is reported by
    /// [`ProfiledFile::finish`]).
    pub(super) fn push(&mut self, block: &[&[f64]]) {
        self.flush_frames();
        let (format, clipped) = (self.format, &mut self.clipped);
        self.worker.push_mapped(block, |c, out| {
            *clipped += sheen_io::stored_extend(c, format, out);
        });
    }

    /// One frame (a sample per channel), kept until a block is full.
    pub(super) fn push_frame(&mut self, frame: &[f64]) {
        for (f, &x) in self.frames.iter_mut().zip(frame) {
            f.push(x);
        }
        if self.frames[0].len() == CHUNK_FRAMES {
            self.flush_frames();
        }
    }

    /// Hands on the frames kept by [`ProfiledFile::push_frame`].
    fn flush_frames(&mut self) {
        if self.frames[0].is_empty() {
            return;
        }
        let (format, clipped) = (self.format, &mut self.clipped);
        let mut views = [&[][..]; sheen_io::MAX_CHANNELS];
        for (v, f) in views.iter_mut().zip(&self.frames) {
            *v = f;
        }
        self.worker
            .push_mapped(&views[..self.frames.len()], |c, out| {
                *clipped += sheen_io::stored_extend(c, format, out);
            });
        self.frames.iter_mut().for_each(Vec::clear);
    }

    /// Completes the file unless writing or the render failed (`render`:
    /// the render's outcome, the limiter's deepest gain reduction in dB;
    /// a writer's error comes first): its final path, what it measured and
    /// its profile. On an error nothing is left at the output path.
    pub(super) fn finish(
        mut self,
        render: Result<f64, Error>,
    ) -> Result<(PathBuf, Written, Profile), Error> {
        self.flush_frames();
        let (w, a) = self.worker.finish()?;
        let limiter_max_gain_reduction_db = render?;
        // the stored values need no clamping: the count is the blocks'
        let clipped = self.clipped + w.clipped_samples();
        let path = w.finish()?;
        let r = a.finish();
        Ok((
            path,
            Written {
                integrated_lufs: r.integrated_lufs,
                true_peak_dbtp: r.true_peak_dbtp,
                loudness_range_lu: r.loudness_range_lu,
                limiter_max_gain_reduction_db,
                clipped_samples: clipped,
            },
            r,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::curve::ReferenceTarget;
    use crate::matching::plan::{plan_match, MatchOptions};
    use crate::matching::profile::profile_signal;
    use sheen_dsp::control_rate::slow_rms;

    fn noise(n: usize, seed: u64, a: f64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut y = 0.0;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let v = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                y += a * (v - y);
                y * (0.3 + (i as f64 / 6000.0).sin().abs())
            })
            .collect()
    }

    /// Reference: the writer and the profile do not depend on the block
    /// partition. The same samples (some beyond full scale, so clamped)
    /// handed to [`ProfiledFile`] as one block, as odd blocks, and frame by
    /// frame (crossing [`CHUNK_FRAMES`]) give the same file bytes and the
    /// same figures, clip count included.
    #[test]
    fn profiled_file_is_partition_independent() {
        let n = CHUNK_FRAMES + 3001;
        let x: Vec<Vec<f64>> = vec![noise(n, 3, 0.5), noise(n, 4, 0.5)]
            .into_iter()
            .map(|c| c.into_iter().map(|v| 6.0 * v).collect())
            .collect();
        let d = tempfile::tempdir().unwrap();
        let run = |name: &str, how: usize| {
            let out = d.path().join(name);
            let spec = write_spec(&out, 16, 48_000, 2).unwrap();
            let w = AudioWriter::create(&out, spec, &[]).unwrap();
            let mut f = ProfiledFile::new(w, ProfileBuilder::new("t", 48_000.0, 2));
            match how {
                0 => f.push(&[&x[0], &x[1]]),
                1 => {
                    let mut at = 0;
                    for k in [1, 777, 4096, 5000].iter().cycle() {
                        let e = (at + k).min(n);
                        f.push(&[&x[0][at..e], &x[1][at..e]]);
                        at = e;
                        if at == n {
                            break;
                        }
                    }
                }
                _ => (0..n).for_each(|i| f.push_frame(&[x[0][i], x[1][i]])),
            }
            let (path, written, profile) = f.finish(Ok(1.5)).unwrap();
            let json = serde_json::to_string(&profile).unwrap();
            (std::fs::read(path).unwrap(), written, json)
        };
        let whole = run("a.wav", 0);
        assert!(whole.1.clipped_samples > 0, "the test clamps samples");
        assert_eq!(whole.1.limiter_max_gain_reduction_db, 1.5);
        for (name, how) in [("b.wav", 1), ("c.wav", 2)] {
            let got = run(name, how);
            assert!(got.0 == whole.0, "file bytes ({name})");
            assert_eq!(got.1, whole.1, "{name}");
            assert_eq!(got.2, whole.2, "{name}");
        }
    }

    /// Reference: the inline recording (decoding, FIRs, compressor and
    /// recorder on one thread). With the decoding and the FIRs on their
    /// own thread the recorded front stream is the same bit for bit, and
    /// so are its length and delays (stereo with a compressor, and mono).
    #[test]
    fn threaded_recording_equals_inline() {
        let fs = 48_000.0;
        let dir = tempfile::tempdir().unwrap();
        for channels in [2usize, 1] {
            let x: Vec<Vec<f64>> = (0..channels)
                .map(|c| noise(70_000, 3 + c as u64, 0.2))
                .collect();
            let refx: Vec<Vec<f64>> = (0..channels)
                .map(|c| noise(70_000, 9 + c as u64, 0.8))
                .collect();
            let input = dir.path().join(format!("in{channels}.wav"));
            let spec = WriteSpec {
                sample_rate_hz: 48_000,
                channels,
                format: SampleFormat::F32,
                container: Container::Wav,
            };
            sheen_io::write_all(&input, spec, &[], &x).unwrap();
            let before = profile_signal(fs, &x);
            let r = profile_signal(fs, &refx);
            let target = ReferenceTarget::average(&[(&r, 1.0)]);
            let mut c = plan_match(&before, &target, &MatchOptions::default());
            c.dynamics.compressor = Some(slow_rms(-30.0, 2.0));
            let a = record_front_with(&input, &c, false, None).unwrap().unwrap();
            let b = record_front_with(&input, &c, true, None).unwrap().unwrap();
            assert_eq!(
                (a.frames(), a.front_latency()),
                (b.frames(), b.front_latency())
            );
            assert_eq!(a.frames(), 70_000);
            let bits = |r: &crate::mastering::search::Recorder| -> Vec<Vec<u64>> {
                r.front()
                    .unwrap()
                    .iter()
                    .map(|c| c.iter().map(|v| v.to_bits()).collect())
                    .collect()
            };
            assert_eq!(bits(&a), bits(&b), "{channels} channels");
        }
    }
}
