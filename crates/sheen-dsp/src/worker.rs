//! [`BlockWorker`]: hands planar blocks to a [`BlockSink`] on a thread of
//! its own, so meters or a writer overlap the work that produces the
//! blocks. The blocks are copied into batches of [`BATCH_FRAMES`] frames and
//! sent through a bounded queue (memory stays bounded whatever the length);
//! spent batches come back for reuse, so after the first few nothing is
//! allocated. A sink that gives the same result for any partition of its
//! input (every meter and writer of sheen) gives the same result on the
//! worker as inline, which is what runs when no thread is wanted or one
//! cannot be started.

use std::sync::mpsc;
use std::thread;

/// Frames per batch handed to the worker thread.
pub const BATCH_FRAMES: usize = 32_768;
/// Batches queued for the worker thread at most (a batch holds at most
/// [`BATCH_FRAMES`] frames: [`BlockWorker::push`] gathers that many, a
/// block handed over whole by [`BlockWorker::push_owned`] is usually
/// shorter).
const QUEUE: usize = 8;

/// A consumer of planar blocks (`block[ch]`, equal lengths ≥ 1).
pub trait BlockSink: Send + 'static {
    /// What [`BlockSink::finish`] gives back.
    type Output: Send + 'static;
    /// Consumes one block; `false` stops the sink (e.g. after an error it
    /// keeps for `finish`): no further blocks reach it.
    fn push(&mut self, block: &[&[f64]]) -> bool;
    /// Ends the stream.
    fn finish(self) -> Self::Output;
}

enum State<S: BlockSink> {
    Inline {
        sink: Box<S>,
        live: bool,
        /// The mapped block of [`BlockWorker::push_mapped`].
        scratch: Vec<Vec<f64>>,
    },
    Thread {
        tx: Option<mpsc::SyncSender<Vec<Vec<f64>>>>,
        recycled: mpsc::Receiver<Vec<Vec<f64>>>,
        /// Frames gathered for the next hand-off (`pending[ch]`).
        pending: Vec<Vec<f64>>,
        handle: Option<thread::JoinHandle<Option<S::Output>>>,
    },
}

/// Runs a [`BlockSink`] on its own thread (see the module docs).
pub struct BlockWorker<S: BlockSink> {
    state: State<S>,
    channels: usize,
}

impl<S: BlockSink> std::fmt::Debug for BlockWorker<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockWorker")
            .field("background", &self.is_background())
            .finish()
    }
}

/// Planar views of `data` (at most [`crate::MAX_CHANNELS`] channels).
fn views(data: &[Vec<f64>]) -> [&[f64]; crate::MAX_CHANNELS] {
    let mut v: [&[f64]; crate::MAX_CHANNELS] = [&[]; crate::MAX_CHANNELS];
    for (v, c) in v.iter_mut().zip(data) {
        *v = c;
    }
    v
}

impl<S: BlockSink> BlockWorker<S> {
    /// Starts `sink` for `channels` (≤ [`crate::MAX_CHANNELS`]) on a thread
    /// named `name` when `background` and the thread can be started;
    /// otherwise it runs inline, in [`BlockWorker::push`].
    pub fn new(name: &str, sink: S, channels: usize, background: bool) -> Self {
        assert!(channels <= crate::MAX_CHANNELS, "too many channels");
        let inline = |sink: S| Self {
            state: State::Inline {
                sink: Box::new(sink),
                live: true,
                scratch: vec![Vec::new(); channels],
            },
            channels,
        };
        if !background {
            return inline(sink);
        }
        let (tx, rx) = mpsc::sync_channel::<Vec<Vec<f64>>>(QUEUE);
        let (back, recycled) = mpsc::channel::<Vec<Vec<f64>>>();
        // the sink follows once the thread runs, so a failed start keeps it
        let (give, take) = mpsc::channel::<S>();
        let spawned = thread::Builder::new().name(name.into()).spawn(move || {
            let mut sink = take.recv().ok()?;
            let mut live = true;
            while let Ok(b) = rx.recv() {
                if live {
                    live = sink.push(&views(&b)[..b.len()]);
                }
                let _ = back.send(b);
            }
            Some(sink.finish())
        });
        match spawned {
            Ok(handle) => {
                if let Err(mpsc::SendError(sink)) = give.send(sink) {
                    return inline(sink);
                }
                Self {
                    state: State::Thread {
                        tx: Some(tx),
                        recycled,
                        pending: vec![Vec::with_capacity(BATCH_FRAMES); channels],
                        handle: Some(handle),
                    },
                    channels,
                }
            }
            Err(_) => inline(sink),
        }
    }

    /// Whether the sink runs on its own thread.
    pub fn is_background(&self) -> bool {
        matches!(self.state, State::Thread { .. })
    }

    /// One planar block (`block[ch]`, equal lengths).
    pub fn push(&mut self, block: &[&[f64]]) {
        match &mut self.state {
            State::Inline { sink, live, .. } => {
                if *live && block.first().is_some_and(|c| !c.is_empty()) {
                    *live = sink.push(block);
                }
            }
            // copied into the batches for the thread
            State::Thread { .. } => self.push_mapped(block, |c, out| out.extend_from_slice(c)),
        }
    }

    /// As [`BlockWorker::push`] of the block whose channel `ch` is what
    /// `map(block[ch], out)` appends to `out` (exactly as many values as it
    /// is given, a pure function of them): the mapped values are written
    /// straight into the batch for the thread (no copy of the block
    /// itself), so e.g. the values a writer stores can be made here and
    /// written and measured there.
    ///
    /// # Panics
    /// If `map` appends a different number of values.
    pub fn push_mapped<F: FnMut(&[f64], &mut Vec<f64>)>(&mut self, block: &[&[f64]], mut map: F) {
        let n = block.first().map_or(0, |c| c.len());
        if n == 0 {
            return;
        }
        match &mut self.state {
            State::Inline {
                sink,
                live,
                scratch,
            } => {
                if *live {
                    for (s, c) in scratch.iter_mut().zip(block) {
                        s.clear();
                        map(c, s);
                        assert_eq!(s.len(), n, "the map appends one value per value");
                    }
                    *live = sink.push(&views(scratch)[..block.len()]);
                }
            }
            State::Thread {
                tx,
                recycled,
                pending,
                ..
            } => {
                let mut start = 0;
                while start < n {
                    let have = pending[0].len();
                    let take = (BATCH_FRAMES - have).min(n - start);
                    for (d, c) in pending.iter_mut().zip(block) {
                        map(&c[start..start + take], d);
                        assert_eq!(d.len(), have + take, "the map appends one value per value");
                    }
                    start += take;
                    if pending[0].len() == BATCH_FRAMES {
                        Self::hand_off(tx, recycled, pending, BATCH_FRAMES);
                    }
                }
            }
        }
    }

    /// Sends the gathered frames to the thread.
    /// As [`BlockWorker::push`] for a block the caller hands over whole:
    /// `bufs[ch]` (every channel the same length) becomes the thread's
    /// batch without a copy, and `bufs` gets a spent batch's channels
    /// back, emptied, for the caller to fill again (frames gathered by
    /// [`BlockWorker::push`] before go first). Inline, the block is pushed
    /// and `bufs` left as it is.
    ///
    /// # Panics
    /// If `bufs` does not hold one buffer per channel of equal lengths.
    pub fn push_owned(&mut self, bufs: &mut [Vec<f64>]) {
        assert_eq!(bufs.len(), self.channels, "one buffer per channel");
        let n = bufs.first().map_or(0, Vec::len);
        assert!(bufs.iter().all(|c| c.len() == n), "channel lengths differ");
        if n == 0 {
            return;
        }
        match &mut self.state {
            State::Inline { .. } => self.push(&views(bufs)[..bufs.len()]),
            State::Thread {
                tx,
                recycled,
                pending,
                ..
            } => {
                if !pending[0].is_empty() {
                    Self::hand_off(tx, recycled, pending, BATCH_FRAMES);
                }
                Self::hand_off(tx, recycled, bufs, n);
            }
        }
    }

    /// Sends the channels of `full` to the thread as one batch and leaves
    /// a spent batch's channels (emptied; new ones of `capacity` frames
    /// when none has come back yet) in their place.
    fn hand_off(
        tx: &mut Option<mpsc::SyncSender<Vec<Vec<f64>>>>,
        recycled: &mpsc::Receiver<Vec<Vec<f64>>>,
        full: &mut [Vec<f64>],
        capacity: usize,
    ) {
        let mut batch = recycled
            .try_recv()
            .unwrap_or_else(|_| vec![Vec::with_capacity(capacity); full.len()]);
        for (b, c) in batch.iter_mut().zip(full.iter_mut()) {
            std::mem::swap(b, c);
            c.clear();
        }
        if let Some(t) = tx {
            if t.send(batch).is_err() {
                // the thread is gone (it panicked): `finish` re-raises that
                *tx = None;
            }
        }
    }

    /// Flushes what is gathered, ends the sink and returns its output (a
    /// panic of the sink's thread is raised again here).
    pub fn finish(self) -> S::Output {
        match self.state {
            State::Inline { sink, .. } => sink.finish(),
            State::Thread {
                mut tx,
                recycled,
                mut pending,
                mut handle,
            } => {
                if !pending[0].is_empty() {
                    Self::hand_off(&mut tx, &recycled, &mut pending, BATCH_FRAMES);
                }
                drop(tx);
                let h = handle.take().expect("joined once");
                match h.join() {
                    Ok(out) => out.expect("the sink reached its thread"),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sums each channel and counts the blocks it sees; stops after `limit`
    /// frames.
    struct Sum {
        sums: Vec<f64>,
        frames: usize,
        limit: usize,
    }

    impl BlockSink for Sum {
        type Output = (Vec<f64>, usize);
        fn push(&mut self, block: &[&[f64]]) -> bool {
            for (s, c) in self.sums.iter_mut().zip(block) {
                *s += c.iter().sum::<f64>();
            }
            self.frames += block[0].len();
            self.frames < self.limit
        }
        fn finish(self) -> (Vec<f64>, usize) {
            (self.sums, self.frames)
        }
    }

    /// Reference: the same sink run inline on the same blocks. The worker
    /// delivers every frame once, in order (sums of integers: exact), for
    /// blocks that straddle batch boundaries, and stops feeding a sink that
    /// said stop.
    #[test]
    fn background_equals_inline() {
        let x: Vec<Vec<f64>> = (0..2)
            .map(|c| (0..100_003).map(|i| (i * (c + 1) % 97) as f64).collect())
            .collect();
        for limit in [usize::MAX, 40_000] {
            let run = |background: bool| {
                let sink = Sum {
                    sums: vec![0.0; 2],
                    frames: 0,
                    limit,
                };
                let mut w = BlockWorker::new("test-worker", sink, 2, background);
                assert_eq!(w.is_background(), background);
                let mut start = 0;
                for (k, len) in [1usize, 999, 32_768, 40_000, 5].iter().cycle().enumerate() {
                    if start >= x[0].len() || k > 100 {
                        break;
                    }
                    let end = (start + len).min(x[0].len());
                    w.push(&[&x[0][start..end], &x[1][start..end]]);
                    start = end;
                }
                w.finish()
            };
            let (a, b) = (run(false), run(true));
            if limit == usize::MAX {
                assert_eq!(a, b);
                assert_eq!(a.1, 100_003);
            } else {
                // each stops at the first block that reaches the limit
                assert!(a.1 >= limit && b.1 >= limit);
            }
        }
    }

    /// Keeps every value it is given.
    struct Keep(Vec<Vec<f64>>);

    impl BlockSink for Keep {
        type Output = Vec<Vec<f64>>;
        fn push(&mut self, block: &[&[f64]]) -> bool {
            for (k, c) in self.0.iter_mut().zip(block) {
                k.extend_from_slice(c);
            }
            true
        }
        fn finish(self) -> Vec<Vec<f64>> {
            self.0
        }
    }

    /// `push_mapped` delivers the mapped values, in order, exactly as
    /// pushing the mapped blocks would. Reference: the map applied to the
    /// whole signal beforehand, pushed with `push` inline; compared value
    /// for value, inline and on the thread, blocks straddling batches.
    #[test]
    fn mapped_equals_pushing_the_mapped_block() {
        let x: Vec<Vec<f64>> = (0..2)
            .map(|c| {
                (0..70_001)
                    .map(|i| ((i * (c + 3)) % 101) as f64 - 50.0)
                    .collect()
            })
            .collect();
        let map = |src: &[f64], out: &mut Vec<f64>| out.extend(src.iter().map(|v| v * 0.5 + 1.0));
        let mapped: Vec<Vec<f64>> = x
            .iter()
            .map(|c| {
                let mut m = Vec::new();
                map(c, &mut m);
                m
            })
            .collect();
        let mut reference = BlockWorker::new("test-ref", Keep(vec![Vec::new(); 2]), 2, false);
        reference.push(&[&mapped[0], &mapped[1]]);
        let want = reference.finish();
        for background in [false, true] {
            let mut w = BlockWorker::new("test-map", Keep(vec![Vec::new(); 2]), 2, background);
            let mut start = 0;
            for len in [1usize, 999, 32_768, 20_000, 5].iter().cycle() {
                if start >= x[0].len() {
                    break;
                }
                let end = (start + len).min(x[0].len());
                w.push_mapped(&[&x[0][start..end], &x[1][start..end]], map);
                start = end;
            }
            assert_eq!(w.finish(), want, "background {background}");
        }
    }

    /// Reference: the signal pushed with `push` inline. Blocks handed over
    /// whole by `push_owned` (some of them between blocks pushed by
    /// `push`, so gathered frames must go first) reach the sink in order,
    /// value for value, inline and on the thread; the caller gets empty
    /// buffers back on the thread and its own, untouched, inline.
    #[test]
    fn owned_blocks_arrive_in_order() {
        let x: Vec<Vec<f64>> = (0..2)
            .map(|c| (0..90_001).map(|i| ((i * (c + 2)) % 89) as f64).collect())
            .collect();
        let mut reference = BlockWorker::new("test-ref", Keep(vec![Vec::new(); 2]), 2, false);
        reference.push(&[&x[0], &x[1]]);
        let want = reference.finish();
        for background in [false, true] {
            let mut w = BlockWorker::new("test-own", Keep(vec![Vec::new(); 2]), 2, background);
            let mut start = 0;
            for (k, len) in [8192usize, 3, 8192, 40_000, 8192, 77]
                .iter()
                .cycle()
                .enumerate()
            {
                if start >= x[0].len() {
                    break;
                }
                let end = (start + len).min(x[0].len());
                if k % 2 == 0 {
                    let mut bufs = vec![x[0][start..end].to_vec(), x[1][start..end].to_vec()];
                    w.push_owned(&mut bufs);
                    if background {
                        assert!(bufs.iter().all(Vec::is_empty));
                    } else {
                        assert_eq!(bufs[0], x[0][start..end]);
                    }
                } else {
                    w.push(&[&x[0][start..end], &x[1][start..end]]);
                }
                start = end;
            }
            assert_eq!(w.finish(), want, "background {background}");
        }
    }
}
