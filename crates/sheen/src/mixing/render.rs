//! The graph render: block by block, tracks in parallel (rayon), buses,
//! returns and master in processing order, every sum in a fixed order (the
//! session's), so the output bytes never depend on the thread count.
//!
//! Per block of `n` frames starting at render frame `t0`:
//! 1. every track (in parallel) reads its stem, runs its strip and writes
//!    each output edge (main, sends) into the edge's own buffer, through
//!    the edge's latency-compensation delay;
//! 2. every bus in processing order sums its incoming edges (tracks in
//!    file order, then buses in processing order) and runs its strip;
//! 3. the master's output, minus its latency, goes to the writer.
//!
//! A strip: inserts → pan (mono) / balance (stereo) → pre-fader taps →
//! fader → post-fader taps and main output. Parameters are evaluated per
//! sample at the strip's timeline position (render frame minus the strip's
//! latency), so automation stays aligned with the audio it moves.

use super::automation::ParamState;
use super::inserts::Built;
use super::plan::{BusPlan, Edge, Panner, Plan, Strip};
use super::source::StemSource;
use crate::Error;
use rayon::prelude::*;
use sheen_dsp::biquad::BiquadCascade;
use sheen_dsp::compressor::Compressor;
use sheen_dsp::processor::PlanarMut;
use sheen_dsp::Processor;
use sheen_fx::{balance_gains, pan_gains, DelayLine, PanLaw};
use sheen_io::{AudioWriter, Container, SampleFormat, WriteSpec};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Options of [`render`].
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// The mix file (`.wav`: 32-bit float; `.flac`: 24-bit).
    pub output: PathBuf,
    /// Folder for one post-fader file per track, bus and return.
    pub stems_out: Option<PathBuf>,
    /// Worker threads for the tracks; 0 = one per core.
    pub threads: usize,
}

/// What [`render`] did.
#[derive(Clone, Debug)]
pub struct RenderReport {
    pub output: PathBuf,
    pub sample_rate_hz: u32,
    /// Frames written.
    pub frames: u64,
    /// Latency compensated at the master, samples.
    pub latency_samples: usize,
    /// Largest absolute sample of the mix, dBFS.
    pub peak_dbfs: f64,
    /// Samples clamped when writing an integer format.
    pub clipped_samples: u64,
    /// Files written by `stems_out`.
    pub stems: Vec<PathBuf>,
}

enum PanState {
    Mono { pan: ParamState, law: PanLaw },
    Stereo { balance: ParamState },
}

struct EdgeState {
    level: ParamState,
    pre_fader: bool,
    delay: Option<DelayLine>,
    buf: Vec<Vec<f64>>,
    /// This block's edge signal is the strip's own (pre- or post-fader)
    /// buffer times this constant level, computed by the reader instead of
    /// being stored in `buf` (no delay, no automation): the same values.
    direct: Option<f64>,
}

/// A side-chain input of an insert: the key track's pre-fader signal.
struct KeyIn {
    track: usize,
    delay: Option<DelayLine>,
    buf: Vec<Vec<f64>>,
}

struct Slot {
    proc: Built,
    pre_delay: Option<DelayLine>,
    key: Option<KeyIn>,
}

fn delay_line(samples: usize, fs: f64, channels: usize, block: usize) -> Option<DelayLine> {
    (samples > 0).then(|| {
        let mut d = DelayLine::integer(samples);
        d.prepare(fs, channels, block);
        d
    })
}

struct StripState {
    inserts: Vec<Slot>,
    channels: usize,
    latency_out: i64,
    mute: bool,
    buf: Vec<Vec<f64>>,
    pre: Option<Vec<Vec<f64>>>,
    gain: ParamState,
    pan: PanState,
    scratch: Vec<f64>,
    scratch2: Vec<f64>,
    outs: Vec<EdgeState>,
}

impl StripState {
    /// Processors prepared for blocks of `block` frames; signal buffers
    /// `cap` frames long (a span of several blocks, see [`SPAN_FRAMES`]).
    fn new(s: &Strip, fs: f64, block: usize, cap: usize) -> Self {
        let inserts = s
            .inserts
            .iter()
            .map(|i| {
                let mut proc = i.spec.build_slot(fs, i.sidechain.is_some());
                match &mut proc {
                    Built::Plain(p) => p.prepare(fs, s.channels, block),
                    Built::Keyed(p) => p.prepare(fs, s.channels, block),
                    Built::Eq(p) => p.prepare(fs, s.channels, block),
                    Built::Compressor(p) => p.prepare(fs, s.channels, block),
                }
                Slot {
                    proc,
                    pre_delay: delay_line(i.pre_delay, fs, s.channels, block),
                    key: i.sidechain.map(|track| KeyIn {
                        track,
                        delay: delay_line(i.key_delay, fs, 2, block),
                        buf: vec![vec![0.0; cap]; 2],
                    }),
                }
            })
            .collect();
        let outs = s
            .outputs
            .iter()
            .map(|e: &Edge| EdgeState {
                level: ParamState::new(e.level.clone()),
                pre_fader: e.pre_fader,
                delay: delay_line(e.compensation, fs, 2, block),
                buf: vec![vec![0.0; cap]; 2],
                direct: None,
            })
            .collect::<Vec<_>>();
        let pre =
            (s.key_source || outs.iter().any(|e| e.pre_fader)).then(|| vec![vec![0.0; cap]; 2]);
        Self {
            inserts,
            channels: s.channels,
            latency_out: s.latency_out as i64,
            mute: s.mute,
            buf: vec![vec![0.0; cap]; 2],
            pre,
            gain: ParamState::new(s.gain.clone()),
            pan: match &s.panner {
                Panner::Mono { pan, law } => PanState::Mono {
                    pan: ParamState::new(pan.clone()),
                    law: *law,
                },
                Panner::Stereo { balance } => PanState::Stereo {
                    balance: ParamState::new(balance.clone()),
                },
            },
            scratch: vec![0.0; block],
            scratch2: vec![0.0; block],
            outs,
        }
    }

    /// Runs the strip on `buf[..channels][r]` (one block; render frames
    /// `t0..`, `t0` the frame of `buf[r.start]`).
    fn process(&mut self, t0: u64, r: Range<usize>) {
        if self.mute {
            for e in &mut self.outs {
                e.buf.iter_mut().for_each(|c| c[r.clone()].fill(0.0));
                e.direct = None;
            }
            self.buf.iter_mut().for_each(|c| c[r.clone()].fill(0.0));
            if let Some(pre) = &mut self.pre {
                pre.iter_mut().for_each(|c| c[r.clone()].fill(0.0));
            }
            return;
        }
        for s in 0..self.inserts.len() {
            self.run_slot(s, r.clone());
        }
        self.finish(t0, r);
    }

    /// Runs insert `s` on `buf[..channels][r]` (its pre-delay, then the
    /// processor, keyed if it has a key).
    fn run_slot(&mut self, s: usize, r: Range<usize>) {
        let slot = &mut self.inserts[s];
        let mut view = PlanarMut::new(&mut self.buf[..self.channels], r.clone());
        let block = view.channels();
        if let Some(d) = &mut slot.pre_delay {
            d.process(block);
        }
        match (&mut slot.proc, &mut slot.key) {
            (Built::Keyed(p), Some(k)) => {
                if let Some(d) = &mut k.delay {
                    d.process(PlanarMut::new(&mut k.buf, r.clone()).channels());
                }
                p.process_keyed(block, &[&k.buf[0][r.clone()], &k.buf[1][r]]);
            }
            (Built::Keyed(p), None) => p.process(block),
            (Built::Plain(p), _) => p.process(block),
            (Built::Eq(p), _) => p.process(block),
            (Built::Compressor(p), _) => p.process(block),
        }
    }

    /// The part of [`Self::process`] after the inserts: pan / balance,
    /// pre-fader taps, fader, output edges.
    fn finish(&mut self, t0: u64, rg: Range<usize>) {
        let n = rg.len();
        let m0 = t0 as i64 - self.latency_out; // timeline frame of buf[rg.start]
        let (l, r) = self.buf.split_at_mut(1);
        let (l, r) = (&mut l[0][rg.clone()], &mut r[0][rg.clone()]);
        match &mut self.pan {
            PanState::Mono { pan, law } => match pan.constant() {
                Some(p) => {
                    let (gl, gr) = pan_gains(p, *law);
                    for (a, b) in l.iter_mut().zip(r.iter_mut()) {
                        *b = *a * gr;
                        *a *= gl;
                    }
                }
                None => {
                    pan.fill(m0, &mut self.scratch[..n]);
                    for ((a, b), p) in l.iter_mut().zip(r.iter_mut()).zip(&self.scratch) {
                        let (gl, gr) = pan_gains(*p, *law);
                        *b = *a * gr;
                        *a *= gl;
                    }
                }
            },
            PanState::Stereo { balance } => match balance.constant() {
                Some(0.0) => {}
                Some(b) => {
                    let (gl, gr) = balance_gains(b);
                    l.iter_mut().for_each(|x| *x *= gl);
                    r.iter_mut().for_each(|x| *x *= gr);
                }
                None => {
                    balance.fill(m0, &mut self.scratch[..n]);
                    for ((a, b), p) in l.iter_mut().zip(r.iter_mut()).zip(&self.scratch) {
                        let (gl, gr) = balance_gains(*p);
                        *a *= gl;
                        *b *= gr;
                    }
                }
            },
        }
        if let Some(pre) = &mut self.pre {
            for (p, b) in pre.iter_mut().zip(&self.buf) {
                p[rg.clone()].copy_from_slice(&b[rg.clone()]);
            }
        }
        match self.gain.constant() {
            Some(1.0) => {}
            Some(g) => self
                .buf
                .iter_mut()
                .for_each(|c| c[rg.clone()].iter_mut().for_each(|x| *x *= g)),
            None => {
                self.gain.fill(m0, &mut self.scratch[..n]);
                for c in &mut self.buf {
                    for (x, g) in c[rg.clone()].iter_mut().zip(&self.scratch) {
                        *x *= g;
                    }
                }
            }
        }
        for e in &mut self.outs {
            e.direct = e.level.constant().filter(|_| e.delay.is_none());
            if e.direct.is_some() {
                continue;
            }
            let src = if e.pre_fader {
                self.pre.as_ref().unwrap_or(&self.buf)
            } else {
                &self.buf
            };
            match e.level.constant() {
                Some(1.0) => {
                    for (d, s) in e.buf.iter_mut().zip(src) {
                        d[rg.clone()].copy_from_slice(&s[rg.clone()]);
                    }
                }
                Some(g) => {
                    for (d, s) in e.buf.iter_mut().zip(src) {
                        for (a, b) in d[rg.clone()].iter_mut().zip(&s[rg.clone()]) {
                            *a = b * g;
                        }
                    }
                }
                None => {
                    e.level.fill(m0, &mut self.scratch2[..n]);
                    for (d, s) in e.buf.iter_mut().zip(src) {
                        for ((a, b), g) in d[rg.clone()]
                            .iter_mut()
                            .zip(&s[rg.clone()])
                            .zip(&self.scratch2)
                        {
                            *a = b * g;
                        }
                    }
                }
            }
            if let Some(dl) = &mut e.delay {
                dl.process(PlanarMut::new(&mut e.buf, rg.clone()).channels());
            }
        }
    }
}

struct TrackState {
    strip: StripState,
}

/// Tracks rendered together by one worker (see [`run_group`]): 8 where
/// the CPU has AVX-512, so eight fusable compressors share the lanes of
/// one AVX-512 vector ([`Compressor::process_stereo_group`]), else 4 (one
/// AVX2 vector, and twice as many groups for the threads to share: the
/// 16-stem bench mix on 2 AVX2 cores, 8 interleaved runs at load 1.3,
/// median 0.74 s with 8, 0.655 s with 4, 0.66 s with 2). Independent of
/// the thread count, and the bits do not depend on it (each track sees the
/// operations it sees alone).
fn group_size() -> usize {
    if sheen_dsp::simd512::has_avx512() {
        8
    } else {
        4
    }
}

/// Frames handed between the track stage and the bus stage at once (a
/// span of whole blocks, at least one): the stages run block by block
/// inside a span, so the processors see the same blocks (the same bits),
/// but the threads meet once per span instead of once per block. Used
/// with several threads (see [`Engine::new`]); larger spans cost cache
/// misses when the buses sum the track outputs. 2048 (with the stem reads
/// and the writer beside the stages): the 16-stem bench mix on 2 cores
/// ran 0.29 s against 0.31 s at 4096 and 0.30 s at 8192.
const SPAN_FRAMES: usize = 2048;

/// Whether insert `s` of `st` can run in a group of tracks: an EQ or an
/// unkeyed compressor on a stereo, unmuted strip without a pre-delay.
fn groupable(st: &StripState, s: usize) -> bool {
    let slot = &st.inserts[s];
    !st.mute
        && st.channels == 2
        && slot.pre_delay.is_none()
        && matches!(slot.proc, Built::Eq(_) | Built::Compressor(_))
}

/// One span (`n` frames from render frame `t0`, blocks of `block`
/// frames) of a group of tracks (the same side-chain level), whose stems
/// are already read for the whole span into the strip buffers (see
/// [`read_stems`]): block by block [`run_group_block`]. Each track sees
/// the same operations in the same order as alone, so the same bits.
fn run_group(group: &mut [&mut TrackState], t0: u64, n: usize, block: usize) -> Result<(), Error> {
    let mut off = 0;
    while off < n {
        let m = (n - off).min(block);
        run_group_block(group, t0 + off as u64, off..off + m);
        off += m;
    }
    Ok(())
}

/// One block (`r` of the strip buffers, render frames from `t0`) of a
/// group of tracks whose stems are read: the inserts slot by slot — the
/// EQs of the group that share a slot together
/// ([`BiquadCascade::process_stereo_group`]), the compressors likewise
/// ([`Compressor::process_stereo_group`]), the rest one by one — then each
/// strip's pan, fader and outputs.
fn run_group_block(group: &mut [&mut TrackState], t0: u64, r: Range<usize>) {
    let slots = group
        .iter()
        .map(|t| t.strip.inserts.len())
        .max()
        .unwrap_or(0);
    for s in 0..slots {
        let mut eqs: Vec<&mut BiquadCascade> = Vec::new();
        let mut comps: Vec<&mut Compressor> = Vec::new();
        let mut eq_ch: Vec<&mut [f64]> = Vec::new();
        let mut comp_ch: Vec<&mut [f64]> = Vec::new();
        for tr in group.iter_mut() {
            let st = &mut tr.strip;
            if s >= st.inserts.len() {
                continue;
            }
            if !groupable(st, s) {
                if !st.mute {
                    st.run_slot(s, r.clone());
                }
                continue;
            }
            let StripState { inserts, buf, .. } = st;
            let (lb, rb) = buf.split_at_mut(1);
            let (l, rr) = (&mut lb[0][r.clone()], &mut rb[0][r.clone()]);
            match &mut inserts[s].proc {
                Built::Eq(p) => {
                    eqs.push(p);
                    eq_ch.extend([l, rr]);
                }
                Built::Compressor(p) => {
                    comps.push(p);
                    comp_ch.extend([l, rr]);
                }
                _ => unreachable!("groupable"),
            }
        }
        BiquadCascade::process_stereo_group(&mut eqs, &mut eq_ch);
        Compressor::process_stereo_group(&mut comps, &mut comp_ch);
    }
    for tr in group.iter_mut() {
        if tr.strip.mute {
            tr.strip.process(t0, r.clone());
        } else {
            tr.strip.finish(t0, r.clone());
        }
    }
}

/// A track's outputs of the block waiting for the bus stage (swapped out
/// of the track's strip, see [`Engine::next_block`]).
struct Staged {
    buf: Vec<Vec<f64>>,
    pre: Option<Vec<Vec<f64>>>,
    outs: Vec<Vec<Vec<f64>>>,
    /// Per edge: [`EdgeState::direct`] of the block, and whether the edge
    /// taps the pre-fader signal.
    direct: Vec<(Option<f64>, bool)>,
}

/// The graph being rendered.
pub struct Engine {
    tracks: Vec<TrackState>,
    /// Each track's stem (`None`: muted).
    sources: Vec<Option<StemSource>>,
    /// Each track's stem frames of the span after the pending one, read
    /// ahead (beside the stages, see [`Self::step`]).
    reads: Vec<Vec<Vec<f64>>>,
    /// Side-chain level of each track (tracks render level by level).
    levels: Vec<usize>,
    buses: Vec<StripState>,
    /// The bus inputs of each bus (bus, edge), after its track inputs
    /// ([`Self::track_dst`]).
    inputs: Vec<Vec<(usize, usize)>>,
    /// The bus each output edge of each track goes to, and whether the
    /// edge is that bus's first input.
    track_dst: Vec<Vec<(usize, bool)>>,
    pool: std::sync::Arc<rayon::ThreadPool>,
    /// Frames per processing block (the plan's block size).
    block: usize,
    /// Frames per stage hand-off: whole blocks ([`SPAN_FRAMES`]).
    span: usize,
    length: u64,
    latency: u64,
    t: u64,
    staged: Vec<Staged>,
    /// The span whose track stage is done but whose bus stage is not.
    pending: Option<(u64, usize)>,
    /// Tracks per group of the track stage ([`group_size`]; 1 in a test).
    group: usize,
}

/// One output block: the mix (aligned) or a node's post-fader signal.
pub struct Blocks<'a> {
    /// The mix frames of this block (stereo).
    pub mix: [&'a [f64]; 2],
    /// Post-fader frames of tracks (in file order) then buses/returns (in
    /// processing order), each aligned to the timeline; may be empty
    /// slices at the start and end.
    pub nodes: Vec<[&'a [f64]; 2]>,
}

/// The sub-range of a block starting at render frame `t0`, `n` long, whose
/// timeline frames (render frame − `latency`) lie in `0..length`.
fn aligned(t0: u64, n: usize, latency: u64, length: u64) -> std::ops::Range<usize> {
    let lo = latency.saturating_sub(t0).min(n as u64) as usize;
    let end_t = (length + latency).saturating_sub(t0).min(n as u64) as usize;
    lo..end_t.max(lo)
}

impl Engine {
    /// Opens the stems and builds the processors of `plan`; `threads` as
    /// in [`RenderOptions::threads`].
    pub fn new(plan: &Plan, threads: usize) -> Result<Self, Error> {
        Self::with_span(plan, threads, None)
    }

    /// [`Self::new`] with `blocks` blocks per stage hand-off; `None`: one
    /// block on one thread (the stages run one after the other, and the
    /// track outputs are still in cache when the buses sum them), else
    /// [`SPAN_FRAMES`] (fewer meetings of the threads).
    fn with_span(plan: &Plan, threads: usize, blocks: Option<usize>) -> Result<Self, Error> {
        let fs = f64::from(plan.sample_rate_hz);
        let block = plan.block_size;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .map_err(|e| Error::Content {
                path: plan.session_path.clone(),
                problem: format!("cannot start render threads: {e}"),
            })?;
        let blocks = blocks.unwrap_or(if pool.current_num_threads() > 1 {
            SPAN_FRAMES / block
        } else {
            1
        });
        let span = block * blocks.max(1);
        // the stems are opened (probed, first packet decoded) and the strips
        // built on the pool's threads; the first error in file order wins
        let tracks = pool
            .install(|| {
                plan.tracks
                    .par_iter()
                    .map(|t| {
                        Ok((
                            if t.strip.mute {
                                None
                            } else {
                                Some(StemSource::open(t, plan.sample_rate_hz)?)
                            },
                            TrackState {
                                strip: StripState::new(&t.strip, fs, block, span),
                            },
                        ))
                    })
                    .collect::<Vec<Result<_, Error>>>()
            })
            .into_iter()
            .collect::<Result<Vec<_>, Error>>()?;
        let (sources, tracks): (Vec<_>, Vec<_>) = tracks.into_iter().unzip();
        let buses: Vec<StripState> = plan
            .buses
            .iter()
            .map(|b: &BusPlan| StripState::new(&b.strip, fs, block, span))
            .collect();
        let mut inputs = vec![Vec::new(); buses.len()];
        for (i, b) in plan.buses.iter().enumerate() {
            for (k, e) in b.strip.outputs.iter().enumerate() {
                inputs[e.dst].push((i, k));
            }
        }
        let mut fed = vec![false; buses.len()];
        let track_dst = plan
            .tracks
            .iter()
            .map(|t| {
                let dst =
                    |e: &super::plan::Edge| (e.dst, !std::mem::replace(&mut fed[e.dst], true));
                t.strip.outputs.iter().map(dst).collect()
            })
            .collect();
        let pool = std::sync::Arc::new(pool);
        let staged = tracks
            .iter()
            .map(|t| Staged {
                buf: t.strip.buf.clone(),
                pre: t.strip.pre.clone(),
                outs: t.strip.outs.iter().map(|e| e.buf.clone()).collect(),
                direct: t.strip.outs.iter().map(|e| (None, e.pre_fader)).collect(),
            })
            .collect();
        let reads = tracks.iter().map(|t| t.strip.buf.clone()).collect();
        Ok(Self {
            sources,
            reads,
            staged,
            pending: None,
            group: group_size(),
            tracks,
            levels: plan.tracks.iter().map(|t| t.level).collect(),
            buses,
            inputs,
            track_dst,
            pool,
            block,
            span,
            length: plan.length_frames,
            latency: plan.latency_samples() as u64,
            t: 0,
        })
    }

    /// Runs `f` on one of the engine's worker threads. [`Self::next_block`]
    /// called inside it hands its work to the pool without waking and
    /// waiting for it from outside (one hand-off for the whole render
    /// instead of two per block); the results are the same.
    pub fn in_pool<R: Send>(&mut self, f: impl FnOnce(&mut Self) -> R + Send) -> R {
        let pool = self.pool.clone();
        pool.install(|| f(self))
    }

    /// Frames of the mix.
    pub fn length_frames(&self) -> u64 {
        self.length
    }

    /// Mix frames delivered so far.
    pub fn position(&self) -> u64 {
        self.t.saturating_sub(self.latency).min(self.length)
    }

    /// The frame range of the span starting at render frame `t0`, if any.
    fn block_at(&self, t0: u64) -> Option<(u64, usize)> {
        let total = self.length + self.latency;
        (t0 < total).then(|| (t0, (total - t0).min(self.span as u64) as usize))
    }

    /// One pipelined step (see [`Self::next_block`]): the bus stage of the
    /// pending span and the track stage of the span after it, with `side`
    /// run at the same time (on the pool); the span whose bus stage ran,
    /// `None` (after running `side`) once the mix is complete.
    fn step(
        &mut self,
        side: impl FnOnce() -> Result<(), Error> + Send,
    ) -> Result<Option<(u64, usize)>, Error> {
        if self.pending.is_none() {
            if let Some(b) = self.block_at(self.t) {
                let after = self.block_at(b.0 + b.1 as u64);
                let Self {
                    tracks,
                    sources,
                    reads,
                    levels,
                    pool,
                    group,
                    block,
                    ..
                } = self;
                pool.install(|| {
                    read_stems(sources, reads, Some(b))?;
                    swap_reads(tracks, reads);
                    run_tracks(tracks, levels, *group, b.0, b.1, *block)?;
                    read_stems(sources, reads, after)
                })?;
                self.pending = Some(b);
            }
        }
        let Some((t0, n)) = self.pending.take() else {
            side()?;
            return Ok(None);
        };
        for (tr, st) in self.tracks.iter_mut().zip(&mut self.staged) {
            std::mem::swap(&mut tr.strip.buf, &mut st.buf);
            if let (Some(a), Some(b)) = (&mut tr.strip.pre, &mut st.pre) {
                std::mem::swap(a, b);
            }
            for ((e, b), d) in tr
                .strip
                .outs
                .iter_mut()
                .zip(&mut st.outs)
                .zip(&mut st.direct)
            {
                std::mem::swap(&mut e.buf, b);
                d.0 = e.direct;
            }
        }
        let next = self.block_at(t0 + n as u64);
        let after = next.and_then(|(t1, n1)| self.block_at(t1 + n1 as u64));
        if next.is_some() {
            swap_reads(&mut self.tracks, &mut self.reads);
        }
        {
            let Self {
                tracks,
                sources,
                reads,
                levels,
                buses,
                inputs,
                track_dst,
                staged,
                pool,
                group,
                block,
                ..
            } = self;
            let block = *block;
            let (r, ((), w)) = pool.install(|| {
                rayon::join(
                    || match next {
                        Some((t1, n1)) => run_tracks(tracks, levels, *group, t1, n1, block),
                        None => Ok(()),
                    },
                    || {
                        rayon::join(
                            || run_buses(buses, inputs, staged, t0, n, block, track_dst),
                            || rayon::join(side, || read_stems(sources, reads, after)),
                        )
                    },
                )
            });
            r?;
            let (w, rd) = w;
            w?;
            rd?;
        }
        self.pending = next;
        self.t = t0 + n as u64;
        Ok(Some((t0, n)))
    }

    /// Renders the whole mix, handing each span's mix frames (the frames
    /// of [`Blocks::mix`] of [`Self::next_block`], in order) and the mix
    /// frames delivered up to their end to `f`. `f` runs on the pool at
    /// the same time as the stages of the next span, on a copy of the
    /// frames, so writing the mix does not leave the pool idle; the
    /// stages are those of [`Self::next_block`] (the same bytes).
    pub fn for_each_mix(
        &mut self,
        mut f: impl FnMut([&[f64]; 2], u64) -> Result<(), Error> + Send,
    ) -> Result<(), Error> {
        let mut out = [Vec::with_capacity(self.span), Vec::with_capacity(self.span)];
        let mut done: Option<u64> = None;
        loop {
            let side = || match done {
                Some(p) => f([&out[0], &out[1]], p),
                None => Ok(()),
            };
            let Some((t0, n)) = self.step(side)? else {
                return Ok(());
            };
            let master = self.buses.last().expect("master");
            let r = aligned(t0, n, self.latency, self.length);
            for (o, c) in out.iter_mut().zip(&master.buf) {
                o.clear();
                o.extend_from_slice(&c[r.clone()]);
            }
            done = Some(self.position());
        }
    }

    /// Renders the next span (several blocks); `None` once the mix is
    /// complete.
    ///
    /// Pipelined: the bus stage of span `k` (sums, bus and return strips,
    /// master) runs at the same time as the track stage of span `k + 1`.
    /// The track outputs of span `k` are moved (buffer swap, no copy) into
    /// `staged` first, so both stages see exactly the data of the serial
    /// order and every sum keeps its order: the bytes do not change.
    pub fn next_block(&mut self) -> Result<Option<Blocks<'_>>, Error> {
        let Some((t0, n)) = self.step(|| Ok(()))? else {
            return Ok(None);
        };
        let (length, latency) = (self.length, self.latency);
        let master = self.buses.last().expect("master");
        let r = aligned(t0, n, latency, length);
        let mix = [&master.buf[0][r.clone()], &master.buf[1][r]];
        fn node(buf: &[Vec<f64>], lat: i64, t0: u64, n: usize, length: u64) -> [&[f64]; 2] {
            let r = aligned(t0, n, lat as u64, length);
            [&buf[0][r.clone()], &buf[1][r]]
        }
        let last = self.buses.len() - 1;
        let nodes = self
            .tracks
            .iter()
            .zip(&self.staged)
            .map(|(t, s)| node(&s.buf, t.strip.latency_out, t0, n, length))
            .chain(
                self.buses[..last]
                    .iter()
                    .map(|b| node(&b.buf, b.latency_out, t0, n, length)),
            )
            .collect();
        Ok(Some(Blocks { mix, nodes }))
    }
}

/// Reads every stem's frames of `span` (if any) into `reads`, the tracks
/// in parallel (each stem is a stream read span after span: the same
/// frames as read in the track stage).
fn read_stems(
    sources: &mut [Option<StemSource>],
    reads: &mut [Vec<Vec<f64>>],
    span: Option<(u64, usize)>,
) -> Result<(), Error> {
    let Some((t0, n)) = span else {
        return Ok(());
    };
    sources
        .par_iter_mut()
        .zip(reads.par_iter_mut())
        .try_for_each(|(s, buf)| match s {
            Some(src) => src.fill(buf, t0, n),
            None => Ok(()),
        })
}

/// Moves the read-ahead stem frames into the strip buffers (a swap; the
/// strip buffers' old contents are dead: the track stage overwrites them).
fn swap_reads(tracks: &mut [TrackState], reads: &mut [Vec<Vec<f64>>]) {
    for (t, r) in tracks.iter_mut().zip(reads) {
        std::mem::swap(&mut t.strip.buf, r);
    }
}

/// The track stage of one span (`n` frames from `t0`, blocks of `block`):
/// side-chain levels in order, the tracks of a level in parallel, `group`
/// at a time ([`run_group`]).
fn run_tracks(
    tracks: &mut [TrackState],
    levels: &[usize],
    group: usize,
    t0: u64,
    n: usize,
    block: usize,
) -> Result<(), Error> {
    let max_level = levels.iter().copied().max().unwrap_or(0);
    for level in 0..=max_level {
        for t in 0..tracks.len() {
            if levels[t] != level {
                continue;
            }
            for s in 0..tracks[t].strip.inserts.len() {
                let Some(mut key) = tracks[t].strip.inserts[s].key.take() else {
                    continue;
                };
                let src = &tracks[key.track].strip;
                copy_key(&mut key, src.pre.as_ref().unwrap_or(&src.buf), n);
                tracks[t].strip.inserts[s].key = Some(key);
            }
        }
        // the level's tracks in file order, in groups of `group` (fixed by
        // the plan, not by the thread count)
        let mut groups: Vec<Vec<&mut TrackState>> = Vec::new();
        for (i, tr) in tracks.iter_mut().enumerate() {
            if levels[i] != level {
                continue;
            }
            match groups.last_mut() {
                Some(g) if g.len() < group => g.push(tr),
                _ => groups.push(vec![tr]),
            }
        }
        groups
            .par_iter_mut()
            .try_for_each(|g| run_group(g, t0, n, block))?;
    }
    Ok(())
}

/// The bus stage of one span (`n` frames from `t0`): every bus in
/// processing order sums its inputs (the staged track outputs, then earlier
/// buses) over the span and runs its strip block by block (`block`).
fn run_buses(
    buses: &mut [StripState],
    inputs: &[Vec<(usize, usize)>],
    staged: &[Staged],
    t0: u64,
    n: usize,
    block: usize,
    track_dst: &[Vec<(usize, bool)>],
) {
    sum_tracks(buses, track_dst, staged, n);
    for (b, ins) in inputs.iter().enumerate() {
        let (done, rest) = buses.split_at_mut(b);
        let bus = &mut rest[0];
        for slot in &mut bus.inserts {
            if let Some(key) = &mut slot.key {
                let src = &staged[key.track];
                copy_key(key, src.pre.as_ref().unwrap_or(&src.buf), n);
            }
        }
        // the sum starts at +0.0 and adds the inputs in order; the first
        // input is added to the constant instead of a zeroed buffer, and a
        // direct edge's `signal × level` is formed as it is added (the same
        // operations, so the same bits); the track inputs (which come
        // first) are already summed
        let mut first = !track_dst.iter().flatten().any(|&(d, _)| d == b);
        for &(i, k) in ins {
            let (src, gain) = {
                let b = &done[i];
                let e = &b.outs[k];
                match e.direct {
                    Some(g) => (tap(&b.buf, &b.pre, e.pre_fader), Some(g)),
                    None => (&e.buf[..], None),
                }
            };
            let gain = gain.filter(|g| *g != 1.0);
            for (d, s) in bus.buf.iter_mut().zip(src) {
                accumulate(&mut d[..n], &s[..n], first, gain);
            }
            first = false;
        }
        if first {
            bus.buf.iter_mut().for_each(|c| c[..n].fill(0.0));
        }
        let mut off = 0;
        while off < n {
            let m = (n - off).min(block);
            bus.process(t0 + off as u64, off..off + m);
            off += m;
        }
    }
}

/// The track part of every bus sum over `..n` (the track inputs come
/// first in each bus's input order): chunk by chunk, the tracks in file
/// order and each track's edges in order, each added to its bus
/// ([`accumulate_body`]). Every bus gets its inputs in its order, so the
/// same operations (the same bits) as bus by bus, but each track chunk is
/// loaded once for all the buses it feeds (`track_dst`: each edge's bus,
/// and whether it is that bus's first input). Built for AVX when the CPU has it, like [`accumulate`].
fn sum_tracks(
    buses: &mut [StripState],
    track_dst: &[Vec<(usize, bool)>],
    staged: &[Staged],
    n: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if sheen_dsp::oversample::has_avx() {
        // SAFETY: the CPU supports AVX (checked just above).
        unsafe { sum_tracks_avx(buses, track_dst, staged, n) };
        return;
    }
    sum_tracks_body(buses, track_dst, staged, n);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn sum_tracks_avx(
    buses: &mut [StripState],
    track_dst: &[Vec<(usize, bool)>],
    staged: &[Staged],
    n: usize,
) {
    sum_tracks_body(buses, track_dst, staged, n);
}

#[inline(always)]
fn sum_tracks_body(
    buses: &mut [StripState],
    track_dst: &[Vec<(usize, bool)>],
    staged: &[Staged],
    n: usize,
) {
    /// Frames per chunk: a chunk of every bus and track stays in cache.
    const CHUNK: usize = 256;
    let mut c0 = 0;
    while c0 < n {
        let r = c0..(c0 + CHUNK).min(n);
        for (st, dst) in staged.iter().zip(track_dst) {
            for (k, &(b, first)) in dst.iter().enumerate() {
                let (src, gain) = match st.direct[k] {
                    (Some(g), pre) => (tap(&st.buf, &st.pre, pre), Some(g)),
                    (None, _) => (&st.outs[k][..], None),
                };
                let gain = gain.filter(|g| *g != 1.0);
                for (d, s) in buses[b].buf.iter_mut().zip(src) {
                    accumulate_body(&mut d[r.clone()], &s[r.clone()], first, gain);
                }
            }
        }
        c0 = r.end;
    }
}

/// One input of a bus sum: `d = 0.0 + s·g` (`first`) or `d += s·g`, the
/// product left out when `gain` is `None` (unity). Built for AVX when the
/// CPU has it (detected at run time), else for the baseline: the same
/// IEEE-754 multiply and add per element either way (no fused
/// multiply-add), so the same bits.
fn accumulate(d: &mut [f64], s: &[f64], first: bool, gain: Option<f64>) {
    #[cfg(target_arch = "x86_64")]
    if sheen_dsp::oversample::has_avx() {
        // SAFETY: the CPU supports AVX (checked just above).
        unsafe { accumulate_avx(d, s, first, gain) };
        return;
    }
    accumulate_body(d, s, first, gain);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn accumulate_avx(d: &mut [f64], s: &[f64], first: bool, gain: Option<f64>) {
    accumulate_body(d, s, first, gain);
}

#[inline(always)]
fn accumulate_body(d: &mut [f64], s: &[f64], first: bool, gain: Option<f64>) {
    match (first, gain) {
        (true, None) => d.iter_mut().zip(s).for_each(|(a, x)| *a = 0.0 + x),
        (true, Some(g)) => d.iter_mut().zip(s).for_each(|(a, x)| *a = 0.0 + x * g),
        (false, None) => d.iter_mut().zip(s).for_each(|(a, x)| *a += x),
        (false, Some(g)) => d.iter_mut().zip(s).for_each(|(a, x)| *a += x * g),
    }
}

/// The signal an edge taps: the pre-fader copy when it has one and the
/// edge is pre-fader, else the post-fader buffer.
fn tap<'a>(buf: &'a [Vec<f64>], pre: &'a Option<Vec<Vec<f64>>>, pre_fader: bool) -> &'a [Vec<f64>] {
    match (pre_fader, pre) {
        (true, Some(p)) => p,
        _ => buf,
    }
}

/// Copies the key track's pre-fader signal of this block into `key`.
fn copy_key(key: &mut KeyIn, from: &[Vec<f64>], n: usize) {
    for (d, s) in key.buf.iter_mut().zip(from) {
        d[..n].copy_from_slice(&s[..n]);
    }
}

/// Renders `plan` into memory (tests, the demo): the stereo mix.
pub fn render_to_memory(plan: &Plan, threads: usize) -> Result<Vec<Vec<f64>>, Error> {
    render_to_memory_grouped(plan, threads, group_size())
}

/// [`render_to_memory`] with `group` tracks per group of the track stage.
pub(crate) fn render_to_memory_grouped(
    plan: &Plan,
    threads: usize,
    group: usize,
) -> Result<Vec<Vec<f64>>, Error> {
    render_with(plan, threads, group, None)
}

/// [`render_to_memory_grouped`] with `blocks` blocks per stage hand-off.
#[cfg(test)]
pub(crate) fn render_to_memory_spans(
    plan: &Plan,
    threads: usize,
    group: usize,
    blocks: usize,
) -> Result<Vec<Vec<f64>>, Error> {
    render_with(plan, threads, group, Some(blocks))
}

fn render_with(
    plan: &Plan,
    threads: usize,
    group: usize,
    blocks: Option<usize>,
) -> Result<Vec<Vec<f64>>, Error> {
    let mut e = Engine::with_span(plan, threads, blocks)?;
    e.group = group.max(1);
    let cap = plan.length_frames as usize;
    let mut out = vec![Vec::with_capacity(cap), Vec::with_capacity(cap)];
    e.in_pool(|e| {
        while let Some(b) = e.next_block()? {
            for (o, m) in out.iter_mut().zip(b.mix) {
                o.extend_from_slice(m);
            }
        }
        Ok::<(), Error>(())
    })?;
    Ok(out)
}

/// A strip name as a file name: characters other than letters, digits,
/// `-`, `_` and `.` become `_` (a leading `.` too).
fn file_safe(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    match s.strip_prefix('.') {
        Some(rest) => format!("_{rest}"),
        None => s,
    }
}

fn spec_for(path: &Path, rate: u32) -> WriteSpec {
    let container = Container::from_path(path).unwrap_or(Container::Wav);
    WriteSpec {
        sample_rate_hz: rate,
        channels: 2,
        format: match container {
            Container::Wav => SampleFormat::F32,
            Container::Flac => SampleFormat::I24,
        },
        container,
    }
}

/// Renders `plan` to files; `progress(frames_done, frames_total)`.
pub fn render(
    plan: &Plan,
    opts: &RenderOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<RenderReport, Error> {
    let inputs = plan.inputs();
    let rate = plan.sample_rate_hz;
    if Container::from_path(&opts.output).is_none() {
        return Err(Error::Content {
            path: opts.output.clone(),
            problem: "unknown output format (use .wav or .flac)".into(),
        });
    }
    let mut writer = AudioWriter::create(&opts.output, spec_for(&opts.output, rate), &inputs)?;
    let mut stem_writers = Vec::new();
    if let Some(dir) = &opts.stems_out {
        std::fs::create_dir_all(dir).map_err(|e| Error::Content {
            path: dir.clone(),
            problem: format!("cannot create folder: {e}"),
        })?;
        let names = plan.tracks.iter().map(|t| &t.strip.name).chain(
            plan.buses[..plan.buses.len() - 1]
                .iter()
                .map(|b| &b.strip.name),
        );
        let mut used = std::collections::HashSet::new();
        for name in names {
            let base = file_safe(name);
            let mut file = base.clone();
            let mut k = 2;
            while !used.insert(file.to_lowercase()) {
                file = format!("{base}_{k}");
                k += 1;
            }
            let p = dir.join(format!("{file}.wav"));
            let spec = spec_for(&p, rate);
            stem_writers.push(AudioWriter::create(&p, spec, &inputs)?);
        }
    }
    let mut engine = Engine::new(plan, opts.threads)?;
    let mut peak = 0.0f64;
    let total = engine.length_frames();
    engine.in_pool(|engine| {
        if stem_writers.is_empty() {
            // the writer runs beside the next span's stages
            return engine.for_each_mix(|mix, done| {
                for c in mix {
                    peak = c.iter().fold(peak, |m, x| m.max(x.abs()));
                }
                writer.write(&mix)?;
                progress(done, total);
                Ok(())
            });
        }
        while let Some(b) = engine.next_block()? {
            for c in b.mix {
                peak = c.iter().fold(peak, |m, x| m.max(x.abs()));
            }
            writer.write(&b.mix)?;
            for (w, blk) in stem_writers.iter_mut().zip(&b.nodes) {
                if !blk[0].is_empty() {
                    w.write(blk)?;
                }
            }
            let done = engine.position();
            progress(done, total);
        }
        Ok::<(), Error>(())
    })?;
    let clipped = writer.clipped_samples();
    let output = writer.finish()?;
    let stems = stem_writers
        .into_iter()
        .map(AudioWriter::finish)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RenderReport {
        output,
        sample_rate_hz: rate,
        frames: total,
        latency_samples: plan.latency_samples(),
        peak_dbfs: sheen_dsp::gain_to_db(peak),
        clipped_samples: clipped,
        stems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the rule in `file_safe`'s doc comment; and the aligned
    /// range drops exactly `latency` frames at the start.
    #[test]
    fn file_names_and_alignment() {
        assert_eq!(file_safe("lead vox/2"), "lead_vox_2");
        assert_eq!(file_safe(".hidden"), "_hidden");
        assert_eq!(file_safe("Kick-In_1.5"), "Kick-In_1.5");
        assert_eq!(aligned(0, 100, 30, 1000), 30..100);
        assert_eq!(aligned(100, 100, 30, 1000), 0..100);
        assert_eq!(aligned(1000, 100, 30, 1000), 0..30);
        assert_eq!(aligned(1100, 100, 30, 1000), 0..0);
    }
}
