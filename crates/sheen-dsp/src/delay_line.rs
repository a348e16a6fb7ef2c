//! The one delay line of sheen: a power-of-two ring buffer per channel with
//! exact integer taps and fractional taps by Lagrange interpolation
//! (maximally flat FIR fractional delay; T. I. Laakso, V. Välimäki,
//! M. Karjalainen, U. K. Laine, "Splitting the unit delay", IEEE Signal
//! Processing Magazine 13(1), 1996, §3.3).
//!
//! Used directly by the mixing engine for latency compensation (an integer
//! delay of N samples is a bit-exact shifted copy) and pre-delay, inside
//! sheen-fx's delay, chorus and reverb effects, and (as
//! [`LookaheadDelay`], a fixed whole-sample delay per channel) for the audio
//! path of the look-ahead compressor, gate and true-peak limiter.
//!
//! Tap convention: after [`DelayBuffer::push`] of sample `x[n]`,
//! [`DelayBuffer::get`]`(d)` returns `x[n - d]` (so `d = 0` is the sample
//! just pushed). In a feedback loop, reading *before* pushing, `get(d - 1)`
//! is the value delayed by `d` samples.

use crate::processor::MAX_CHANNELS;
use serde::{Deserialize, Serialize};

/// Fractional-delay interpolation method.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Two-point linear interpolation (first-order Lagrange).
    Linear,
    /// Four-point, third-order Lagrange ("cubic"), centred stencil.
    #[default]
    Lagrange3,
    /// Six-point, fifth-order Lagrange, centred stencil.
    Lagrange5,
}

/// Samples a [`LookaheadDelay`]'s buffers hold beyond its delay (the
/// longest stretch one block copy moves).
const BLOCK_ROOM: usize = 1024;

/// Extra history kept beyond the largest delay so a centred interpolation
/// stencil (up to `floor(d) + 3` for fifth order) stays inside the buffer.
const STENCIL_MARGIN: usize = 3;

/// Lagrange weights for `P` nodes at positions `0..P`, evaluated at `t`.
/// At integer `t` the weights are exactly one-hot, so integer positions are
/// reproduced bit-exactly.
#[inline]
fn lagrange_weights<const P: usize>(t: f64) -> [f64; P] {
    let mut w = [0.0; P];
    for (k, wk) in w.iter_mut().enumerate() {
        let mut num = 1.0;
        let mut den = 1.0;
        for j in 0..P {
            if j != k {
                num *= t - j as f64;
                den *= k as f64 - j as f64;
            }
        }
        *wk = num / den;
    }
    w
}

/// One channel of delay: a ring buffer of `f64` samples.
#[derive(Clone, Debug)]
pub struct DelayBuffer {
    buf: Vec<f64>,
    mask: usize,
    /// Index of the most recently pushed sample.
    pos: usize,
}

impl Default for DelayBuffer {
    fn default() -> Self {
        Self::new(0)
    }
}

impl DelayBuffer {
    /// A buffer able to delay by up to `max_delay` samples (integer or
    /// fractional, any interpolation). Allocates.
    pub fn new(max_delay: usize) -> Self {
        let len = (max_delay + 1 + STENCIL_MARGIN).next_power_of_two().max(8);
        Self {
            buf: vec![0.0; len],
            mask: len - 1,
            pos: 0,
        }
    }

    /// The largest delay in samples this buffer can give.
    pub fn max_delay(&self) -> usize {
        self.buf.len() - 1 - STENCIL_MARGIN
    }

    /// Grows the buffer (allocating) so it can delay by `max_delay` samples,
    /// keeping its history: the output is the same as if it had been this
    /// large from the start. Does nothing if it is already large enough.
    pub fn ensure_max_delay(&mut self, max_delay: usize) {
        if max_delay <= self.max_delay() {
            return;
        }
        let mut grown = Self::new(max_delay);
        let old_len = self.buf.len();
        let new_len = grown.buf.len();
        for d in 0..old_len {
            grown.buf[new_len - 1 - d] = self.get(d);
        }
        grown.pos = new_len - 1;
        *self = grown;
    }

    /// Clears the history to silence.
    pub fn clear(&mut self) {
        self.buf.iter_mut().for_each(|x| *x = 0.0);
        self.pos = 0;
    }

    /// Appends one sample.
    #[inline]
    pub fn push(&mut self, x: f64) {
        self.pos = (self.pos + 1) & self.mask;
        self.buf[self.pos] = x;
    }

    /// Pushes the samples `xs` one by one, replacing each with the sample
    /// pushed `delay` pushes before it (`1 ..= max_delay`): exactly
    /// `push(x); get(delay)` per sample, done with block copies (each
    /// stretch is written before it is read; a stretch never reaches the
    /// history it reads).
    pub fn delay_block(&mut self, delay: usize, xs: &mut [f64]) {
        let size = self.buf.len();
        assert!(
            (1..=self.max_delay()).contains(&delay),
            "delay {delay} outside 1..={}",
            self.max_delay()
        );
        let mut i = 0;
        while i < xs.len() {
            let w = (self.pos + 1) & self.mask;
            let r = (self.pos + 1).wrapping_sub(delay) & self.mask;
            let k = (xs.len() - i).min(size - delay).min(size - w).min(size - r);
            self.buf[w..w + k].copy_from_slice(&xs[i..i + k]);
            xs[i..i + k].copy_from_slice(&self.buf[r..r + k]);
            self.pos = (self.pos + k) & self.mask;
            i += k;
        }
    }

    /// The sample pushed `delay` pushes ago (`0` = the latest). Exact.
    /// `delay` must not exceed [`Self::max_delay`] (+3); larger values wrap.
    #[inline]
    pub fn get(&self, delay: usize) -> f64 {
        self.buf[self.pos.wrapping_sub(delay) & self.mask]
    }

    /// The signal delayed by a fractional `delay` in samples (clamped to
    /// `0 ..= max_delay`), interpolated with `interp`. Integer delays give
    /// exactly [`Self::get`]. The Lagrange stencils are centred around the
    /// read position when `delay >= 1` (order 3) or `>= 2` (order 5), and
    /// shifted towards newer samples below that (still interpolating).
    #[inline]
    pub fn get_frac(&self, delay: f64, interp: Interpolation) -> f64 {
        let d = if delay > 0.0 {
            delay.min(self.max_delay() as f64)
        } else {
            0.0
        };
        let i = d as usize; // floor, d >= 0
        let f = d - i as f64;
        if f == 0.0 {
            return self.get(i);
        }
        match interp {
            Interpolation::Linear => (1.0 - f) * self.get(i) + f * self.get(i + 1),
            Interpolation::Lagrange3 => self.lagrange::<4>(d, i),
            Interpolation::Lagrange5 => self.lagrange::<6>(d, i),
        }
    }

    #[inline]
    fn lagrange<const P: usize>(&self, d: f64, i: usize) -> f64 {
        let start = i.saturating_sub(P / 2 - 1);
        let w = lagrange_weights::<P>(d - start as f64);
        let mut acc = 0.0;
        for (k, wk) in w.iter().enumerate() {
            acc += wk * self.get(start + k);
        }
        acc
    }
}

/// A fixed whole-sample delay of up to [`MAX_CHANNELS`] channels, one
/// [`DelayBuffer`] each (look-ahead: a side chain sees the signal `len`
/// samples before the gain is applied to it). Exact: the output is the input
/// shifted by `len` samples, silence before.
#[derive(Clone, Debug, Default)]
pub struct LookaheadDelay {
    len: usize,
    lines: Vec<DelayBuffer>,
}

impl LookaheadDelay {
    /// A delay of `len` samples for up to [`MAX_CHANNELS`] channels
    /// (allocates).
    pub fn new(len: usize) -> Self {
        Self::with_channels(len, MAX_CHANNELS)
    }

    /// A delay of `len` samples for `channels` channels (allocates).
    pub fn with_channels(len: usize, channels: usize) -> Self {
        let lines = if len == 0 {
            Vec::new()
        } else {
            // room beyond the delay, so block copies move long stretches
            (0..channels)
                .map(|_| DelayBuffer::new(len + BLOCK_ROOM))
                .collect()
        };
        Self { len, lines }
    }

    /// Delay in samples.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-sample delay.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Pushes `x` into channel `ch` and returns the sample from `len`
    /// samples ago.
    #[inline]
    pub fn tick(&mut self, ch: usize, x: f64) -> f64 {
        if self.len == 0 {
            return x;
        }
        let line = &mut self.lines[ch];
        line.push(x);
        line.get(self.len)
    }

    /// Block form of [`LookaheadDelay::tick`] for channel `ch`: delays the
    /// samples `xs` in place (channels are independent; any block
    /// partition gives the same output).
    #[inline]
    pub fn delay_block(&mut self, ch: usize, xs: &mut [f64]) {
        if self.len == 0 {
            return;
        }
        self.lines[ch].delay_block(self.len, xs);
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        self.lines.iter_mut().for_each(DelayBuffer::clear);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::noise;

    /// Reference: the stored history must survive growing (same output as a
    /// buffer that was large from the start); tolerance: bit-exact.
    #[test]
    fn growing_keeps_history() {
        let x = noise(300, 2);
        let mut a = DelayBuffer::new(10);
        let mut b = DelayBuffer::new(500);
        for &v in &x[..200] {
            a.push(v);
            b.push(v);
        }
        a.ensure_max_delay(400);
        let held = 16; // what `a` held before growing (power of two ≥ 10 + 4)
        for (k, &v) in x[200..].iter().enumerate() {
            a.push(v);
            b.push(v);
            for d in [0, 7, 15, 150, 299, 400] {
                if d <= k + held {
                    assert_eq!(a.get(d).to_bits(), b.get(d).to_bits(), "k={k} d={d}");
                }
            }
        }
        assert!(a.max_delay() >= 400);
    }

    /// Reference: `push(x); get(delay)` per sample (the definition of
    /// [`DelayBuffer::delay_block`]); tolerance: bit-exact, for delays from
    /// 1 to the buffer's largest and blocks shorter and longer than the
    /// ring, after history pushed one by one.
    #[test]
    fn block_delay_equals_push_get() {
        let x = noise(5000, 4);
        for delay in [1usize, 5, 12, 100, 159] {
            let mut a = DelayBuffer::new(159);
            let mut b = a.clone();
            let mut want = x.clone();
            for w in &mut want {
                a.push(*w);
                *w = a.get(delay);
            }
            let mut got = x.clone();
            let mut at = 0;
            for (k, len) in [3usize, 700, 1, 64, 2000, 255, 256, 257]
                .iter()
                .cycle()
                .enumerate()
            {
                if at >= got.len() {
                    break;
                }
                let end = (at + len).min(got.len());
                if k == 0 {
                    // some history one by one
                    for v in &mut got[at..end] {
                        b.push(*v);
                        *v = b.get(delay);
                    }
                } else {
                    b.delay_block(delay, &mut got[at..end]);
                }
                at = end;
            }
            assert!(
                want.iter()
                    .zip(&got)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "delay {delay}"
            );
        }
    }

    /// Reference: definition of a pure delay, y[n] = x[n − N] (silence
    /// before); tolerance: bit-exact, per sample and in blocks of 7.
    #[test]
    fn lookahead_delay_is_exact_shift() {
        let x = noise(1000, 3);
        for n in [0usize, 1, 64, 441] {
            let mut a = LookaheadDelay::with_channels(n, 2);
            let mut b = LookaheadDelay::new(n);
            let mut blocks = x.clone();
            for c in blocks.chunks_mut(7) {
                b.delay_block(1, c);
            }
            for (i, &v) in x.iter().enumerate() {
                let expect = if i >= n { x[i - n] } else { 0.0 };
                assert_eq!(a.tick(0, v).to_bits(), expect.to_bits(), "N={n} i={i}");
                assert_eq!(blocks[i].to_bits(), expect.to_bits(), "N={n} i={i}");
            }
            a.reset();
            assert_eq!(a.tick(0, 1.0), if n == 0 { 1.0 } else { 0.0 });
        }
    }
}
