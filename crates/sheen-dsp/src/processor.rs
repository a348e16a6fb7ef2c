//! The processor life cycle (after JUCE's `dsp` module): `prepare`, then any
//! number of `process` calls on planar blocks, `reset` to clear state.
//! Processors report the delay they add so graphs can compensate it.

/// Most channels a processor or block may have (7.1 layouts).
pub const MAX_CHANNELS: usize = 8;

/// An audio processor working in place on planar `f64` blocks.
///
/// Contract: the output must not depend on how the signal is partitioned into
/// blocks (any block length from 1 to `max_block` samples), and `process` must
/// not allocate, lock or perform I/O.
pub trait Processor: Send {
    /// Called before the first block and whenever the format changes.
    /// `sample_rate_hz` in Hz, `max_block` in samples per channel.
    fn prepare(&mut self, sample_rate_hz: f64, channels: usize, max_block: usize);

    /// Processes one block in place. `block[ch]` holds the samples of channel
    /// `ch`; all channels have the same length, at most `max_block`.
    fn process(&mut self, block: &mut [&mut [f64]]);

    /// Delay in samples this processor adds to its input (for latency
    /// compensation).
    fn latency_samples(&self) -> usize {
        0
    }

    /// Clears all internal state (delay lines, envelopes) as if newly prepared.
    fn reset(&mut self);
}

/// A stack-held planar view over up to [`MAX_CHANNELS`] channel buffers,
/// built without allocating, to pass sub-ranges of longer buffers to
/// [`Processor::process`].
pub struct PlanarMut<'a> {
    chans: [&'a mut [f64]; MAX_CHANNELS],
    n: usize,
}

impl<'a> PlanarMut<'a> {
    /// Views samples `range` of each buffer in `bufs` (at most
    /// [`MAX_CHANNELS`] buffers, each at least `range.end` long).
    ///
    /// # Panics
    /// If there are more than [`MAX_CHANNELS`] buffers or one is too short.
    pub fn new(bufs: &'a mut [Vec<f64>], range: std::ops::Range<usize>) -> Self {
        assert!(
            bufs.len() <= MAX_CHANNELS,
            "at most {MAX_CHANNELS} channels"
        );
        let n = bufs.len();
        let mut chans: [&'a mut [f64]; MAX_CHANNELS] = Default::default();
        for (slot, buf) in chans.iter_mut().zip(bufs.iter_mut()) {
            *slot = &mut buf[range.clone()];
        }
        Self { chans, n }
    }

    /// The channels as the slice of slices [`Processor::process`] takes.
    pub fn channels(&mut self) -> &mut [&'a mut [f64]] {
        &mut self.chans[..self.n]
    }
}

/// Runs `p` over whole planar buffers in blocks of at most `block` samples.
/// A convenience for tests and offline rendering.
pub fn process_in_blocks(p: &mut dyn Processor, bufs: &mut [Vec<f64>], block: usize) {
    let len = bufs.first().map_or(0, Vec::len);
    let block = block.max(1);
    let mut start = 0;
    while start < len {
        let end = (start + block).min(len);
        p.process(PlanarMut::new(bufs, start..end).channels());
        start = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Gain(f64);
    impl Processor for Gain {
        fn prepare(&mut self, _: f64, _: usize, _: usize) {}
        fn process(&mut self, block: &mut [&mut [f64]]) {
            for ch in block.iter_mut() {
                for x in ch.iter_mut() {
                    *x *= self.0;
                }
            }
        }
        fn reset(&mut self) {}
    }

    #[test]
    fn planar_view_covers_range() {
        let mut bufs = vec![vec![1.0; 10], vec![2.0; 10]];
        let mut g = Gain(2.0);
        g.process(PlanarMut::new(&mut bufs, 2..5).channels());
        assert_eq!(bufs[0][1], 1.0);
        assert_eq!(bufs[0][2], 2.0);
        assert_eq!(bufs[1][4], 4.0);
        assert_eq!(bufs[1][5], 2.0);
        process_in_blocks(&mut g, &mut bufs, 3);
        assert_eq!(bufs[0][0], 2.0);
    }
}
