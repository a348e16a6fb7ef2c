//! Algorithmic reverb: a 16-line feedback delay network (FDN) after
//! J.-M. Jot and A. Chaigne, "Digital delay networks for designing
//! artificial reverberators", AES 90th Convention, 1991 (preprint 3030),
//! as presented in J. O. Smith III, "Physical Audio Signal Processing",
//! chapter "Feedback Delay Networks".
//!
//! Structure, per sample:
//! 1. every line `i` (length `m_i` samples) is read and passed through its
//!    absorption filter `H_i(z)`;
//! 2. the left output taps the even lines, the right output the odd lines
//!    (disjoint sets with fixed signs: decorrelated outputs);
//! 3. the filtered line outputs are mixed by the 16 × 16 Hadamard matrix
//!    scaled by 1/4 (orthogonal, a lossless "prototype" network), computed
//!    as a fast Walsh–Hadamard transform;
//! 4. the (pre-delayed) input is added — left into the even lines, right
//!    into the odd lines, with fixed signs — and written back.
//!
//! **Decay (Jot's method).** With an orthogonal feedback matrix, giving line
//! `i` the gain `γ^{m_i}` puts every pole of the network at radius `γ`, so
//! all modes decay at the same rate. For an RT60 of `T` seconds, the gain per
//! sample is `γ = 10^(−3 / (fs T))`, hence the line gain
//! `g_i = 10^(−3 m_i / (fs T))` (−60 dB after `fs T` samples). Because `g_i`
//! uses the actual integer length `m_i` and the actual `fs`, the decay is
//! right at every sample rate. Line lengths are set in milliseconds (16
//! lengths spread geometrically over a 1 : 3 range whose start grows with
//! `size`), rounded to distinct primes in samples.
//!
//! **Damping.** `H_i` is a first-order shelving filter (bilinear transform,
//! prewarped at `damping_hz`) with gain `g_i(T)` at DC and `g_i(T·r)` at
//! Nyquist, `r = hf_rt60_ratio`, and the geometric mean of the two at
//! `damping_hz`: below `damping_hz` the RT60 is `T`, above it tends to
//! `T·r`, and at `damping_hz` the decay rate in dB/s is the mean of the two
//! for every line alike. With `r = 1` the filter is a pure gain.
//!
//! Output: `wet = (M + width · S, M − width · S)` from the mid/side of the two
//! taps; `out = (1 − mix) · dry + mix · wet`. The wet level is normalised so
//! that, without damping, the impulse response to a centred unit impulse
//! has an energy per channel of about `rt60_s` (in seconds) — white noise
//! comes out near its input level for a 1 s reverb — independent of size
//! and sample rate.

use crate::delay_line::DelayBuffer;
use serde::{Deserialize, Serialize};
use sheen_dsp::biquad::BiquadCoeffs;
use sheen_dsp::smooth::Smoothed;
use sheen_dsp::Processor;
use std::f64::consts::PI;

/// Number of delay lines.
pub const LINES: usize = 16;
const PARAM_RAMP_MS: f64 = 20.0;
/// Shortest line at `size` 0 and at `size` 1, ms; the longest is 3× that.
const MIN_LINE_MS: (f64, f64) = (8.0, 35.0);
const LINE_SPREAD: f64 = 3.0;
/// Input gain per line: a centred unit impulse injects unit energy.
const INPUT_GAIN: f64 = 0.25;
/// Signs of the input into each line.
const IN_SIGN: [f64; LINES] = [
    1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0, 1.0,
];
/// Signs of each line in its output tap (even lines left, odd lines right).
const OUT_SIGN: [f64; LINES] = [
    1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, -1.0,
];
/// Values this small written into a line are flushed to zero (avoids
/// subnormal arithmetic in long silent tails; ~−5000 dB).
const FLUSH: f64 = 1e-250;

/// Parameters of [`Reverb`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ReverbParams {
    /// Decay time (−60 dB) below `damping_hz`, in seconds (0.05…60).
    pub rt60_s: f64,
    /// RT60 at high frequencies (towards Nyquist, above `damping_hz`) as a
    /// fraction of `rt60_s` (0.01…2; 1 = no damping).
    pub hf_rt60_ratio: f64,
    /// Transition frequency of the damping, Hz (clamped to 0.45 fs).
    pub damping_hz: f64,
    /// Room size 0…1: scales the delay-line lengths (shortest line 8 ms at
    /// 0, 35 ms at 1; the longest 3× the shortest).
    pub size: f64,
    /// Delay before the reverb starts, ms.
    pub pre_delay_ms: f64,
    /// Stereo width of the wet signal: 0 = mono, 1 = fully decorrelated.
    pub width: f64,
    /// Dry/wet: 0 = dry only, 1 = wet only (linear crossfade).
    pub mix: f64,
}

impl Default for ReverbParams {
    fn default() -> Self {
        Self {
            rt60_s: 1.5,
            hf_rt60_ratio: 0.5,
            damping_hz: 5000.0,
            size: 0.5,
            pre_delay_ms: 10.0,
            width: 1.0,
            mix: 0.25,
        }
    }
}

fn finite_or(x: f64, default: f64) -> f64 {
    if x.is_finite() {
        x
    } else {
        default
    }
}

fn is_prime(n: usize) -> bool {
    if n < 2 {
        return false;
    }
    if n.is_multiple_of(2) {
        return n == 2;
    }
    let mut d = 3;
    while d * d <= n {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 2;
    }
    true
}

fn next_prime(mut n: usize) -> usize {
    while !is_prime(n) {
        n += 1;
    }
    n
}

/// The delay-line lengths in samples for `size` at `fs`: geometric spread in
/// ms, rounded up to distinct, increasing primes.
pub fn line_lengths(size: f64, sample_rate_hz: f64) -> [usize; LINES] {
    let s = finite_or(size, 0.5).clamp(0.0, 1.0);
    let min_ms = MIN_LINE_MS.0 + (MIN_LINE_MS.1 - MIN_LINE_MS.0) * s;
    let mut out = [0usize; LINES];
    let mut prev = 1;
    for (i, m) in out.iter_mut().enumerate() {
        let ms = min_ms * LINE_SPREAD.powf(i as f64 / (LINES - 1) as f64);
        let target = (ms * 1e-3 * sample_rate_hz).round() as usize;
        *m = next_prime(target.max(prev + 1));
        prev = *m;
    }
    out
}

/// In-place 16-point Walsh–Hadamard transform scaled by 1/4 (orthogonal).
#[inline]
fn hadamard16(a: &mut [f64; LINES]) {
    let mut h = 1;
    while h < LINES {
        let mut i = 0;
        while i < LINES {
            for j in i..i + h {
                let (x, y) = (a[j], a[j + h]);
                a[j] = x + y;
                a[j + h] = x - y;
            }
            i += 2 * h;
        }
        h *= 2;
    }
    for x in a.iter_mut() {
        *x *= 0.25;
    }
}

/// The absorption filter of a line of `m` samples (see module docs).
fn absorption(m: usize, fs: f64, rt60_s: f64, hf_ratio: f64, damping_hz: f64) -> BiquadCoeffs {
    let g = |t: f64| 10f64.powf(-3.0 * m as f64 / (fs * t));
    let g0 = g(rt60_s);
    let gpi = g(rt60_s * hf_ratio);
    if g0 == gpi {
        return BiquadCoeffs {
            b0: g0,
            ..BiquadCoeffs::IDENTITY
        };
    }
    // Analog shelf gpi (s + q) / (s + 1/q), s normalised to the damping
    // frequency, q = sqrt(g0 / gpi); bilinear transform prewarped there.
    let q = (g0 / gpi).sqrt();
    let k = (PI * damping_hz.clamp(1.0, 0.45 * fs) / fs).tan();
    BiquadCoeffs::from_raw(
        gpi * (1.0 + q * k),
        gpi * (q * k - 1.0),
        0.0,
        1.0 + k / q,
        k / q - 1.0,
        0.0,
    )
}

/// The FDN reverb. Channels 0 and 1 in, stereo out (a single channel is
/// fed as a centred source and receives the mid of the wet signal); further
/// channels pass through. Latency 0 (the wet path is the effect; the dry
/// path is not delayed).
#[derive(Clone, Debug)]
pub struct Reverb {
    params: ReverbParams,
    fs: f64,
    prepared: bool,
    /// The 16 delay lines as rings of the same length (a power of two,
    /// `line_mask + 1` slots), one after the other: line `i`'s slot `k` is
    /// `lines[i (line_mask + 1) + k]`. All lines advance together, so one
    /// write position serves them all; each line's samples are contiguous,
    /// so a run of frames of one line is read or written as one run of
    /// memory (see [`avx2::network`]).
    lines: Vec<f64>,
    /// Slots per line minus one (a power of two minus one).
    line_mask: usize,
    /// Slot of the most recently written frame.
    line_pos: usize,
    lengths: [usize; LINES],
    absorb: [BiquadCoeffs; LINES],
    /// The absorption coefficients by kind, line-wise (b0, b1, b2, a1, a2).
    absorb_c: [[f64; LINES]; 5],
    /// Transposed direct form II state of the absorption filters (s1, s2).
    absorb_s: [[f64; LINES]; 2],
    pre: [DelayBuffer; 2],
    pre_delay: usize,
    out_gain: f64,
    width: f64,
    mix: Smoothed,
}

impl Reverb {
    pub fn new(params: ReverbParams) -> Self {
        let mut s = Self {
            params,
            fs: 48_000.0,
            prepared: false,
            lines: vec![0.0; LINES],
            line_mask: 0,
            line_pos: 0,
            lengths: [1; LINES],
            absorb: [BiquadCoeffs::IDENTITY; LINES],
            absorb_c: [[0.0; LINES]; 5],
            absorb_s: [[0.0; LINES]; 2],
            pre: [DelayBuffer::new(0), DelayBuffer::new(0)],
            pre_delay: 0,
            out_gain: 1.0,
            width: 1.0,
            mix: Smoothed::new(0.0, 0),
        };
        s.set_params(params);
        s
    }

    pub fn params(&self) -> &ReverbParams {
        &self.params
    }

    /// The current delay-line lengths in samples.
    pub fn lengths(&self) -> &[usize; LINES] {
        &self.lengths
    }

    /// The pre-delay in samples.
    pub fn pre_delay_samples(&self) -> usize {
        self.pre_delay
    }

    fn mix_target(&self) -> f64 {
        finite_or(self.params.mix, 0.0).clamp(0.0, 1.0)
    }

    /// Applies new parameters. Decay, damping and width change at once
    /// (filter coefficients only), mix glides over 20 ms; size and
    /// pre-delay jump. Allocates only if the pre-delay outgrows its buffer
    /// (the line buffers are sized for the largest size at `prepare`).
    pub fn set_params(&mut self, params: ReverbParams) {
        self.params = params;
        let fs = self.fs;
        let rt60 = finite_or(params.rt60_s, 1.5).clamp(0.05, 60.0);
        let ratio = finite_or(params.hf_rt60_ratio, 1.0).clamp(0.01, 2.0);
        let damping = finite_or(params.damping_hz, 5000.0);
        self.lengths = line_lengths(params.size, fs);
        for i in 0..LINES {
            let c = absorption(self.lengths[i], fs, rt60, ratio, damping);
            self.absorb[i] = c;
            for (k, v) in [c.b0, c.b1, c.b2, c.a1, c.a2].into_iter().enumerate() {
                self.absorb_c[k][i] = v;
            }
        }
        let mean_s = self.lengths.iter().sum::<usize>() as f64 / (LINES as f64 * fs);
        // Energy normalisation (module docs): L energy ≈ g² fs T / (2 m̄ · 6 ln 10).
        self.out_gain = (12.0 * std::f64::consts::LN_10 * mean_s).sqrt();
        self.width = finite_or(params.width, 1.0).clamp(0.0, 1.0);
        let pd = (finite_or(params.pre_delay_ms, 0.0).max(0.0) * 1e-3 * fs).round() as usize;
        self.pre_delay = pd;
        let mix = self.mix_target();
        if self.prepared {
            self.pre.iter_mut().for_each(|b| b.ensure_max_delay(pd));
            self.mix.set_target(mix);
        } else {
            self.mix.set_immediate(mix);
        }
    }

    /// One FDN step: input (left, right) after pre-delay, returns the wet
    /// (left, right) taps. Line-wise loops over fixed arrays (vectorised);
    /// the arithmetic of each absorption filter is
    /// [`sheen_dsp::biquad::BiquadState::tick`]'s.
    ///
    /// The state carried from sample to sample (write position, filter
    /// states) is `st`, a copy the caller keeps for a block (so it can stay
    /// in registers) and stores back ([`NetState`]).
    #[inline(always)]
    fn tick(&mut self, st: &mut NetState, xl: f64, xr: f64) -> (f64, f64) {
        let (mask, pos) = (self.line_mask, st.pos);
        let mut a = [0.0; LINES];
        for (i, ai) in a.iter_mut().enumerate() {
            // the sample written lengths[i] - 1 frames ago
            *ai = self.lines[i * (mask + 1) + (pos.wrapping_sub(self.lengths[i] - 1) & mask)];
        }
        let [b0, b1, b2, a1, a2] = &self.absorb_c;
        let [s1, s2] = &mut st.s;
        for i in 0..LINES {
            let x = a[i];
            let y = b0[i] * x + s1[i];
            s1[i] = b1[i] * x - a1[i] * y + s2[i];
            s2[i] = b2[i] * x - a2[i] * y;
            a[i] = y;
        }
        let (mut l, mut r) = (0.0, 0.0);
        for i in (0..LINES).step_by(2) {
            l += OUT_SIGN[i] * a[i];
            r += OUT_SIGN[i + 1] * a[i + 1];
        }
        hadamard16(&mut a);
        let (il, ir) = (INPUT_GAIN * xl, INPUT_GAIN * xr);
        let pos = (pos + 1) & mask;
        st.pos = pos;
        for (i, &ai) in a.iter().enumerate() {
            let inj = if i % 2 == 0 { il } else { ir };
            let v = ai + IN_SIGN[i] * inj;
            self.lines[i * (mask + 1) + pos] = if v.abs() < FLUSH { 0.0 } else { v };
        }
        (self.out_gain * l, self.out_gain * r)
    }

    /// Runs the network on the pre-delayed input (`pl`, `pr`) and applies
    /// width; returns wet (L, R).
    #[inline(always)]
    fn wet(&mut self, st: &mut NetState, pl: f64, pr: f64) -> (f64, f64) {
        let (l, r) = self.tick(st, pl, pr);
        let mid = 0.5 * (l + r);
        let side = 0.5 * (l - r) * self.width;
        (mid + side, mid - side)
    }

    /// Pushes `x` (one channel of a chunk) through pre-delay buffer `ch`,
    /// replacing each sample with the pre-delayed one: `push(x);
    /// get(pre_delay)` per sample.
    #[inline(always)]
    fn pre_delay_chunk(&mut self, ch: usize, x: &mut [f64]) {
        if self.pre_delay > 0 {
            self.pre[ch].delay_block(self.pre_delay, x);
        } else {
            // get(0) is the sample just pushed: `x` is unchanged
            x.iter().for_each(|v| self.pre[ch].push(*v));
        }
    }
}

/// The per-sample state of the network ([`Reverb::tick`]).
struct NetState {
    pos: usize,
    s: [[f64; LINES]; 2],
}

/// Frames per chunk of [`Reverb::process_body`] (stack scratch).
const CHUNK: usize = 128;

impl Processor for Reverb {
    fn prepare(&mut self, sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.fs = sample_rate_hz;
        self.mix = Smoothed::new(0.0, Smoothed::ramp_from_ms(PARAM_RAMP_MS, sample_rate_hz));
        self.prepared = false;
        self.set_params(self.params);
        self.prepared = true;
        let longest = line_lengths(1.0, sample_rate_hz)[LINES - 1];
        let slots = (longest + 1).next_power_of_two();
        self.lines = vec![0.0; LINES * slots];
        self.line_mask = slots - 1;
        self.line_pos = 0;
        self.pre = [
            DelayBuffer::new(self.pre_delay),
            DelayBuffer::new(self.pre_delay),
        ];
        self.absorb_s = [[0.0; LINES]; 2];
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2 (checked just above).
            unsafe { self.process_avx2(block) };
            return;
        }
        self.process_body(block);
    }

    fn reset(&mut self) {
        self.lines.iter_mut().for_each(|f| *f = 0.0);
        self.line_pos = 0;
        self.pre.iter_mut().for_each(DelayBuffer::clear);
        self.absorb_s = [[0.0; LINES]; 2];
        self.mix.set_immediate(self.mix_target());
    }
}

impl Reverb {
    /// The AVX2 path: chunk by chunk, the pre-delay of the chunk, then the
    /// network frame by frame with the 16 lines in the lanes of four
    /// 256-bit vectors (two 512-bit vectors, and the ring reads and writes
    /// by 8 × 8 transposes, when the CPU has AVX-512 F and DQ: module
    /// `avx512`) and its state in registers ([`avx2::network`]), then
    /// width and dry/wet over the chunk ([`Self::finish_chunk`]). Every
    /// value is formed by the IEEE-754 operations of [`Self::process_body`]
    /// in the same order (no fused multiply-add), so the same bits (tests
    /// `avx2_and_baseline_paths_are_bit_identical`,
    /// `vector_path_in_pieces_is_bit_identical`).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn process_avx2(&mut self, block: &mut [&mut [f64]]) {
        let mut st = NetState {
            pos: self.line_pos,
            s: self.absorb_s,
        };
        let mut pl = [0.0f64; CHUNK];
        let mut pr = [0.0f64; CHUNK];
        let mut taps = [[0.0f64; 2]; CHUNK];
        // the network's scratch, once per block (not per chunk)
        let mut xs = [[0.0f64; LINES]; CHUNK];
        let mut ws = [[0.0f64; LINES]; CHUNK];
        let scratch = (&mut xs, &mut ws);
        match block {
            [] => {}
            [mono] => {
                for c in mono.chunks_mut(CHUNK) {
                    let m = self.pre_delayed(c, c, &mut pl, &mut pr);
                    // SAFETY: the CPU has AVX2 (this function's feature).
                    unsafe {
                        avx2::network(
                            self,
                            &mut st,
                            &pl[..m],
                            &pr[..m],
                            &mut taps[..m],
                            (&mut *scratch.0, &mut *scratch.1),
                        )
                    };
                    self.finish_chunk(c, None, &taps[..m]);
                }
            }
            [left, right, ..] => {
                for (cl, cr) in left.chunks_mut(CHUNK).zip(right.chunks_mut(CHUNK)) {
                    let m = self.pre_delayed(cl, cr, &mut pl, &mut pr);
                    // SAFETY: the CPU has AVX2 (this function's feature).
                    unsafe {
                        avx2::network(
                            self,
                            &mut st,
                            &pl[..m],
                            &pr[..m],
                            &mut taps[..m],
                            (&mut *scratch.0, &mut *scratch.1),
                        )
                    };
                    self.finish_chunk(cl, Some(cr), &taps[..m]);
                }
            }
        }
        self.line_pos = st.pos;
        self.absorb_s = st.s;
    }

    /// The network's inputs for a chunk: `left` and `right` (the same
    /// slice for mono) copied into `pl` and `pr` and run through the two
    /// pre-delay lines; returns the chunk's length, frames.
    #[inline(always)]
    fn pre_delayed(
        &mut self,
        left: &[f64],
        right: &[f64],
        pl: &mut [f64],
        pr: &mut [f64],
    ) -> usize {
        let m = left.len();
        pl[..m].copy_from_slice(left);
        pr[..m].copy_from_slice(right);
        self.pre_delay_chunk(0, &mut pl[..m]);
        self.pre_delay_chunk(1, &mut pr[..m]);
        m
    }

    /// Output gain, width and dry/wet of a chunk from the network's raw
    /// taps (left, right per frame), as [`Self::wet`] and
    /// [`Self::process_body`] form them: `right = None` is the mono case.
    #[inline(always)]
    fn finish_chunk(&mut self, left: &mut [f64], right: Option<&mut [f64]>, taps: &[[f64; 2]]) {
        let (g, width) = (self.out_gain, self.width);
        let wet = |t: &[f64; 2]| {
            let (l, r) = (g * t[0], g * t[1]);
            let mid = 0.5 * (l + r);
            let side = 0.5 * (l - r) * width;
            (mid + side, mid - side)
        };
        let ramp = self.mix.is_ramping();
        let fixed = self.mix.current();
        match right {
            Some(right) => {
                for ((xl, xr), t) in left.iter_mut().zip(right.iter_mut()).zip(taps) {
                    let mix = if ramp { self.mix.next_value() } else { fixed };
                    let (l, r) = wet(t);
                    *xl = (1.0 - mix) * *xl + mix * l;
                    *xr = (1.0 - mix) * *xr + mix * r;
                }
            }
            None => {
                for (x, t) in left.iter_mut().zip(taps) {
                    let mix = if ramp { self.mix.next_value() } else { fixed };
                    let (l, r) = wet(t);
                    *x = (1.0 - mix) * *x + mix * 0.5 * (l + r);
                }
            }
        }
    }

    /// Chunk by chunk: the pre-delay of the chunk
    /// ([`DelayBuffer::delay_block`], the same samples as push and get per
    /// sample), then the network sample by sample with its state in a
    /// local copy. The same operations in the same order as sample by
    /// sample, so the same bits.
    #[inline(always)]
    fn process_body(&mut self, block: &mut [&mut [f64]]) {
        let mut st = NetState {
            pos: self.line_pos,
            s: self.absorb_s,
        };
        let mut pl = [0.0f64; CHUNK];
        let mut pr = [0.0f64; CHUNK];
        match block {
            [] => {}
            [mono] => {
                for c in mono.chunks_mut(CHUNK) {
                    self.pre_delayed(c, c, &mut pl, &mut pr);
                    for ((x, a), b) in c.iter_mut().zip(&pl).zip(&pr) {
                        let mix = self.mix.next_value();
                        let (l, r) = self.wet(&mut st, *a, *b);
                        *x = (1.0 - mix) * *x + mix * 0.5 * (l + r);
                    }
                }
            }
            [left, right, ..] => {
                for (cl, cr) in left.chunks_mut(CHUNK).zip(right.chunks_mut(CHUNK)) {
                    self.pre_delayed(cl, cr, &mut pl, &mut pr);
                    for (((xl, xr), a), b) in cl.iter_mut().zip(cr.iter_mut()).zip(&pl).zip(&pr) {
                        let mix = self.mix.next_value();
                        let (l, r) = self.wet(&mut st, *a, *b);
                        *xl = (1.0 - mix) * *xl + mix * l;
                        *xr = (1.0 - mix) * *xr + mix * r;
                    }
                }
            }
        }
        self.line_pos = st.pos;
        self.absorb_s = st.s;
    }
}

/// The network on 256-bit vectors (see [`Reverb::process_avx2`]). The
/// functions are `unsafe`: the CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{NetState, Reverb, CHUNK, FLUSH, INPUT_GAIN, IN_SIGN, LINES, OUT_SIGN};
    use sheen_dsp::lanes::transpose4;
    use std::arch::x86_64::*;

    /// Sixteen lines, four per vector.
    type V = [__m256d; 4];

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn load(a: &[f64; LINES]) -> V {
        // in bounds: `a` holds 16 f64, each load takes 4 from 4 q
        std::array::from_fn(|q| _mm256_loadu_pd(a.as_ptr().add(4 * q)))
    }

    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn store(a: &mut [f64; LINES], v: V) {
        for (q, x) in v.into_iter().enumerate() {
            // in bounds: `a` holds 16 f64, each store writes 4 from 4 q
            _mm256_storeu_pd(a.as_mut_ptr().add(4 * q), x);
        }
    }

    /// One butterfly stage of [`super::hadamard16`] inside a vector: lanes
    /// set in `HIGH` get `partner - own` (the scalar `x - y`, `x` the lower
    /// line), the others `own + partner` (`x + y`); `swap` is `v` with
    /// every lane exchanged with its partner.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn stage<const HIGH: i32>(v: __m256d, swap: __m256d) -> __m256d {
        _mm256_blend_pd::<HIGH>(_mm256_add_pd(v, swap), _mm256_sub_pd(swap, v))
    }

    /// Butterflies between whole vectors `a` (lower lines) and `b`.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn across(a: &mut __m256d, b: &mut __m256d) {
        let (x, y) = (*a, *b);
        *a = _mm256_add_pd(x, y);
        *b = _mm256_sub_pd(x, y);
    }

    /// The FDN steps of a chunk ([`Reverb::tick`] for each frame of the
    /// pre-delayed inputs `pl`, `pr`): writes each frame's raw taps (left,
    /// right, before the output gain) to `taps`. Requires
    /// `pl.len() == pr.len() == taps.len() <= CHUNK`.
    ///
    /// In pieces of at most the shortest line's length: every sample a
    /// piece reads was written before the piece (frame `f` reads what frame
    /// `f - len_i` wrote), and no sample it writes is read during it, so
    /// the piece's reads are gathered first, line by line along its ring
    /// ([`gather`]), then the frames are computed one by one ([`frames`])
    /// into a frame-major scratch, which is then written to the rings line
    /// by line ([`scatter`]).
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn network(
        rv: &mut Reverb,
        st: &mut NetState,
        pl: &[f64],
        pr: &[f64],
        taps: &mut [[f64; 2]],
        (xs, ws): (&mut [[f64; LINES]; CHUNK], &mut [[f64; LINES]; CHUNK]),
    ) {
        let m = taps.len();
        assert!(m <= CHUNK && pl.len() == m && pr.len() == m);
        // lengths increase: lengths[0] is the shortest
        let piece = rv.lengths[0].min(CHUNK);
        let wide = super::avx512::available();
        let mut at = 0;
        while at < m {
            let end = (at + piece).min(m);
            let pos = st.pos;
            let (x, w) = (&mut xs[..end - at], &mut ws[..end - at]);
            let (l, r, t) = (&pl[at..end], &pr[at..end], &mut taps[at..end]);
            if wide {
                // SAFETY: the CPU has AVX-512 F and DQ (checked above).
                super::avx512::gather(rv, pos, x);
                super::avx512::frames(rv, st, x, l, r, t, w);
                super::avx512::scatter(rv, pos, w);
            } else {
                gather(rv, pos, x);
                frames(rv, st, x, l, r, t, w);
                scatter(rv, pos, w);
            }
            at = end;
        }
    }

    /// Writes the frames `ws` of a piece (from [`frames`]) to the rings:
    /// frame `k` of line `i` to slot `pos + 1 + k` of line `i` ([`Reverb::tick`]'s
    /// write position after `k + 1` steps from `pos`). Four frames of four
    /// lines at a time are transposed (4 × 4) and stored along the rings
    /// while no ring wraps in the piece ([`scatter_scalar`] otherwise): the
    /// same values moved.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scatter(rv: &mut Reverb, pos: usize, ws: &[[f64; LINES]]) {
        let mask = rv.line_mask;
        let slots = mask + 1;
        let n = ws.len();
        let s0 = (pos + 1) & mask;
        if slots < 4 || s0 + n > slots {
            return scatter_scalar(rv, pos, ws); // the run wraps
        }
        assert!(rv.lines.len() == LINES * slots);
        let ring = rv.lines.as_mut_ptr();
        let full = n - n % 4;
        for b in 0..LINES / 4 {
            let mut k = 0;
            while k < full {
                // in bounds: frames k .. k + 4 < n, lines 4 b .. 4 b + 4
                let rows: [__m256d; 4] =
                    std::array::from_fn(|c| _mm256_loadu_pd(ws[k + c].as_ptr().add(4 * b)));
                let lines = transpose4(rows);
                for (r, v) in lines.into_iter().enumerate() {
                    // in bounds: slots s0 + k .. s0 + k + 4 <= s0 + n <= slots
                    // of line 4 b + r's ring
                    _mm256_storeu_pd(ring.add((4 * b + r) * slots + s0 + k), v);
                }
                k += 4;
            }
        }
        for (i, line) in rv.lines.chunks_exact_mut(slots).enumerate() {
            for k in full..n {
                line[s0 + k] = ws[k][i];
            }
        }
    }

    /// [`scatter`] value by value, wrapping at the rings' ends.
    pub(super) fn scatter_scalar(rv: &mut Reverb, pos: usize, ws: &[[f64; LINES]]) {
        let mask = rv.line_mask;
        let s0 = (pos + 1) & mask;
        for (i, ring) in rv.lines.chunks_exact_mut(mask + 1).enumerate() {
            // up to the ring's end, then from its start
            let first = (ring.len() - s0).min(ws.len());
            let (a, b) = ws.split_at(first);
            for (f, x) in ring[s0..].iter_mut().zip(a) {
                *f = x[i];
            }
            for (f, x) in ring.iter_mut().zip(b) {
                *f = x[i];
            }
        }
    }

    /// `xs[k][i]` = the sample line `i` gives at frame `k` of a piece whose
    /// first frame has write position `pos` (as [`Reverb::tick`] reads it:
    /// slot `pos + k - (len_i - 1)`). The piece is at most the shortest
    /// line long, so these slots are not written during the piece. For
    /// each four lines whose runs do not wrap at their rings' ends, four
    /// slots of the four lines at a time are loaded along the rings and
    /// transposed (4 × 4); lines of a group with a wrapping run are copied
    /// value by value ([`gather_line`]): the same values moved.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn gather(rv: &Reverb, pos: usize, xs: &mut [[f64; LINES]]) {
        let mask = rv.line_mask;
        let slots = mask + 1;
        let n = xs.len();
        let starts: [usize; LINES] =
            std::array::from_fn(|i| pos.wrapping_sub(rv.lengths[i] - 1) & mask);
        assert!(rv.lines.len() == LINES * slots);
        let ring = rv.lines.as_ptr();
        let full = n - n % 4;
        for b in 0..LINES / 4 {
            let group = 4 * b..4 * b + 4;
            if starts[group.clone()].iter().any(|&s0| s0 + n > slots) {
                for i in group {
                    gather_line(rv, pos, i, xs); // a run wraps
                }
                continue;
            }
            let mut k = 0;
            while k < full {
                // in bounds: line 4 b + r's slots s0 + k .. s0 + k + 4 lie in
                // its ring (s0 + n <= slots, checked above)
                let rows: [__m256d; 4] = std::array::from_fn(|r| {
                    let i = 4 * b + r;
                    _mm256_loadu_pd(ring.add(i * slots + starts[i] + k))
                });
                let cols = transpose4(rows);
                for (c, v) in cols.into_iter().enumerate() {
                    // in bounds: frame k + c < n, lines 4 b .. 4 b + 4 of 16
                    _mm256_storeu_pd(xs[k + c].as_mut_ptr().add(4 * b), v);
                }
                k += 4;
            }
            for i in group {
                let line = &rv.lines[i * slots..(i + 1) * slots];
                for k in full..n {
                    xs[k][i] = line[starts[i] + k];
                }
            }
        }
    }

    /// [`gather`] value by value, wrapping at the rings' ends.
    pub(super) fn gather_scalar(rv: &Reverb, pos: usize, xs: &mut [[f64; LINES]]) {
        for i in 0..LINES {
            gather_line(rv, pos, i, xs);
        }
    }

    /// [`gather`] of line `i` alone, value by value, wrapping at its
    /// ring's end.
    fn gather_line(rv: &Reverb, pos: usize, i: usize, xs: &mut [[f64; LINES]]) {
        let mask = rv.line_mask;
        let ring = &rv.lines[i * (mask + 1)..(i + 1) * (mask + 1)];
        let s0 = pos.wrapping_sub(rv.lengths[i] - 1) & mask;
        // up to the ring's end, then from its start
        let first = (ring.len() - s0).min(xs.len());
        let (a, b) = xs.split_at_mut(first);
        for (x, f) in a.iter_mut().zip(&ring[s0..]) {
            x[i] = *f;
        }
        for (x, f) in b.iter_mut().zip(ring) {
            x[i] = *f;
        }
    }

    /// The frames of a piece: `xs` from [`gather`], inputs `pl`, `pr`, raw
    /// taps out, the values written to the lines in `ws` (for [`scatter`]);
    /// the network state in registers.
    #[inline]
    #[target_feature(enable = "avx2")]
    unsafe fn frames(
        rv: &mut Reverb,
        st: &mut NetState,
        xs: &[[f64; LINES]],
        pl: &[f64],
        pr: &[f64],
        taps: &mut [[f64; 2]],
        ws: &mut [[f64; LINES]],
    ) {
        let mask = rv.line_mask;
        let [b0, b1, b2, a1, a2] = &rv.absorb_c;
        let (b0, b1, b2, a1, a2) = (load(b0), load(b1), load(b2), load(a1), load(a2));
        let (mut s1, mut s2) = (load(&st.s[0]), load(&st.s[1]));
        let (os, is) = (load(&OUT_SIGN), load(&IN_SIGN));
        let flush = _mm256_set1_pd(FLUSH);
        let quarter = _mm256_set1_pd(0.25);
        let no_sign = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
        let gain = _mm_set1_pd(INPUT_GAIN);
        let mut pos = st.pos;
        for ((((x, &xl), &xr), t), wk) in xs.iter().zip(pl).zip(pr).zip(taps.iter_mut()).zip(ws) {
            let x = load(x);
            let mut y = [_mm256_setzero_pd(); 4];
            let mut acc = _mm_setzero_pd();
            for q in 0..4 {
                // absorption: y = b0 x + s1; s1 = b1 x - a1 y + s2; s2 = b2 x - a2 y
                let yq = _mm256_add_pd(_mm256_mul_pd(b0[q], x[q]), s1[q]);
                let n = _mm256_sub_pd(_mm256_mul_pd(b1[q], x[q]), _mm256_mul_pd(a1[q], yq));
                s1[q] = _mm256_add_pd(n, s2[q]);
                s2[q] = _mm256_sub_pd(_mm256_mul_pd(b2[q], x[q]), _mm256_mul_pd(a2[q], yq));
                y[q] = yq;
                // taps: (l, r) = 0 + (OUT_SIGN·y) of lines (0, 1), then (2, 3), …
                let p = _mm256_mul_pd(os[q], yq);
                acc = _mm_add_pd(acc, _mm256_castpd256_pd128(p));
                acc = _mm_add_pd(acc, _mm256_extractf128_pd::<1>(p));
            }
            // in bounds: `t` is two f64
            _mm_storeu_pd(t.as_mut_ptr(), acc);
            // Hadamard: stages h = 1, 2 inside the vectors, h = 4, 8 across
            for v in &mut y {
                let h1 = stage::<0b1010>(*v, _mm256_permute_pd::<0b0101>(*v));
                *v = stage::<0b1100>(h1, _mm256_permute2f128_pd::<0x01>(h1, h1));
            }
            let [mut v0, mut v1, mut v2, mut v3] = y;
            across(&mut v0, &mut v1);
            across(&mut v2, &mut v3);
            across(&mut v0, &mut v2);
            across(&mut v1, &mut v3);
            // input: left into even lines, right into odd, with signs
            let inj = _mm_mul_pd(gain, _mm_set_pd(xr, xl));
            let inj = _mm256_insertf128_pd::<1>(_mm256_castpd128_pd256(inj), inj);
            let mut w = [v0, v1, v2, v3];
            for q in 0..4 {
                let v = _mm256_add_pd(_mm256_mul_pd(w[q], quarter), _mm256_mul_pd(is[q], inj));
                let tiny = _mm256_cmp_pd::<_CMP_LT_OQ>(_mm256_and_pd(v, no_sign), flush);
                w[q] = _mm256_andnot_pd(tiny, v);
            }
            pos = (pos + 1) & mask;
            store(wk, w);
        }
        st.pos = pos;
        store(&mut st.s[0], s1);
        store(&mut st.s[1], s2);
    }
}

/// The frames of the network on 512-bit vectors (eight lines per vector),
/// used by [`avx2::network`] when the CPU has AVX-512 F and DQ: the
/// operations of [`avx2`]'s `frames` lane for lane, in the same order (no
/// fused multiply-add), so the same bits (test
/// `avx512_and_avx2_networks_are_bit_identical`).
#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{NetState, Reverb, FLUSH, INPUT_GAIN, IN_SIGN, LINES, OUT_SIGN};
    use sheen_dsp::simd512::transpose8;
    use std::arch::x86_64::*;

    /// Whether the CPU has AVX-512 F and DQ (and the test switch allows
    /// it, see `FORCE_AVX2`).
    pub(super) fn available() -> bool {
        #[cfg(test)]
        if FORCE_AVX2.with(|f| f.get()) {
            return false;
        }
        sheen_dsp::simd512::has_avx512()
    }

    #[cfg(test)]
    thread_local! {
        /// Tests: the AVX2 frames even on an AVX-512 CPU.
        pub(super) static FORCE_AVX2: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }

    /// Sixteen lines, eight per vector.
    type V = [__m512d; 2];

    /// `avx2::gather` with eight frames of eight lines at a time loaded
    /// along the rings and transposed (the same values moved).
    ///
    /// # Safety
    /// The CPU must have AVX-512 F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn gather(rv: &Reverb, pos: usize, xs: &mut [[f64; LINES]]) {
        let mask = rv.line_mask;
        let slots = mask + 1;
        let n = xs.len();
        let starts: [usize; LINES] =
            std::array::from_fn(|i| pos.wrapping_sub(rv.lengths[i] - 1) & mask);
        if slots < 8 || starts.iter().any(|&s0| s0 + n > slots) {
            return super::avx2::gather_scalar(rv, pos, xs); // a run wraps
        }
        assert!(rv.lines.len() == LINES * slots);
        let ring = rv.lines.as_ptr();
        let full = n - n % 8;
        for b in 0..2 {
            let mut k = 0;
            while k < full {
                // in bounds: line 8 b + r's slots s0 + k .. s0 + k + 8 lie in
                // its ring (s0 + n <= slots, checked above)
                let rows: [__m512d; 8] = std::array::from_fn(|r| {
                    let i = 8 * b + r;
                    _mm512_loadu_pd(ring.add(i * slots + starts[i] + k))
                });
                let cols = transpose8(rows);
                for (c, v) in cols.into_iter().enumerate() {
                    // in bounds: frame k + c < n, lines 8 b .. 8 b + 8 of 16
                    _mm512_storeu_pd(xs[k + c].as_mut_ptr().add(8 * b), v);
                }
                k += 8;
            }
        }
        for (i, &s0) in starts.iter().enumerate() {
            let line = &rv.lines[i * slots..(i + 1) * slots];
            for k in full..n {
                xs[k][i] = line[s0 + k];
            }
        }
    }

    /// `avx2::scatter` with eight frames of eight lines at a time
    /// transposed and stored along the rings (the same values moved).
    ///
    /// # Safety
    /// The CPU must have AVX-512 F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn scatter(rv: &mut Reverb, pos: usize, ws: &[[f64; LINES]]) {
        let mask = rv.line_mask;
        let slots = mask + 1;
        let n = ws.len();
        let s0 = (pos + 1) & mask;
        if slots < 8 || s0 + n > slots {
            return super::avx2::scatter_scalar(rv, pos, ws); // the run wraps
        }
        assert!(rv.lines.len() == LINES * slots);
        let ring = rv.lines.as_mut_ptr();
        let full = n - n % 8;
        for b in 0..2 {
            let mut k = 0;
            while k < full {
                // in bounds: frames k .. k + 8 < n, lines 8 b .. 8 b + 8
                let rows: [__m512d; 8] =
                    std::array::from_fn(|c| _mm512_loadu_pd(ws[k + c].as_ptr().add(8 * b)));
                let lines = transpose8(rows);
                for (r, v) in lines.into_iter().enumerate() {
                    // in bounds: slots s0 + k .. s0 + k + 8 <= s0 + n <= slots
                    // of line 8 b + r's ring
                    _mm512_storeu_pd(ring.add((8 * b + r) * slots + s0 + k), v);
                }
                k += 8;
            }
        }
        for (i, line) in rv.lines.chunks_exact_mut(slots).enumerate() {
            for k in full..n {
                line[s0 + k] = ws[k][i];
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn load(a: &[f64; LINES]) -> V {
        // in bounds: `a` holds 16 f64, each load takes 8 from 8 q
        std::array::from_fn(|q| _mm512_loadu_pd(a.as_ptr().add(8 * q)))
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn store(a: &mut [f64; LINES], v: V) {
        for (q, x) in v.into_iter().enumerate() {
            // in bounds: `a` holds 16 f64, each store writes 8 from 8 q
            _mm512_storeu_pd(a.as_mut_ptr().add(8 * q), x);
        }
    }

    /// One butterfly stage inside a vector: lanes set in `high` get
    /// `partner - own` (the scalar `x - y`), the others `own + partner`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn stage(high: __mmask8, v: __m512d, swap: __m512d) -> __m512d {
        _mm512_mask_blend_pd(high, _mm512_add_pd(v, swap), _mm512_sub_pd(swap, v))
    }

    /// The frames of a piece, as `avx2::frames`: `xs` the gathered line
    /// outputs, inputs `pl`, `pr`, raw taps out, the values for the lines
    /// in `ws`.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F and DQ.
    #[target_feature(enable = "avx512f,avx512dq")]
    pub(super) unsafe fn frames(
        rv: &Reverb,
        st: &mut NetState,
        xs: &[[f64; LINES]],
        pl: &[f64],
        pr: &[f64],
        taps: &mut [[f64; 2]],
        ws: &mut [[f64; LINES]],
    ) {
        let mask = rv.line_mask;
        let [b0, b1, b2, a1, a2] = &rv.absorb_c;
        let (b0, b1, b2, a1, a2) = (load(b0), load(b1), load(b2), load(a1), load(a2));
        let (mut s1, mut s2) = (load(&st.s[0]), load(&st.s[1]));
        let (os, is) = (load(&OUT_SIGN), load(&IN_SIGN));
        let flush = _mm512_set1_pd(FLUSH);
        let quarter = _mm512_set1_pd(0.25);
        let gain = _mm_set1_pd(INPUT_GAIN);
        let mut pos = st.pos;
        for ((((x, &xl), &xr), t), wk) in xs.iter().zip(pl).zip(pr).zip(taps.iter_mut()).zip(ws) {
            let x = load(x);
            let mut y = [_mm512_setzero_pd(); 2];
            let mut acc = _mm_setzero_pd();
            for q in 0..2 {
                // absorption: y = b0 x + s1; s1 = b1 x - a1 y + s2; s2 = b2 x - a2 y
                let yq = _mm512_add_pd(_mm512_mul_pd(b0[q], x[q]), s1[q]);
                let n = _mm512_sub_pd(_mm512_mul_pd(b1[q], x[q]), _mm512_mul_pd(a1[q], yq));
                s1[q] = _mm512_add_pd(n, s2[q]);
                s2[q] = _mm512_sub_pd(_mm512_mul_pd(b2[q], x[q]), _mm512_mul_pd(a2[q], yq));
                y[q] = yq;
                // taps: (l, r) = 0 + (OUT_SIGN·y) of lines (0, 1), then (2, 3), …
                let p = _mm512_mul_pd(os[q], yq);
                acc = _mm_add_pd(acc, _mm512_castpd512_pd128(p));
                acc = _mm_add_pd(acc, _mm512_extractf64x2_pd::<1>(p));
                acc = _mm_add_pd(acc, _mm512_extractf64x2_pd::<2>(p));
                acc = _mm_add_pd(acc, _mm512_extractf64x2_pd::<3>(p));
            }
            // in bounds: `t` is two f64
            _mm_storeu_pd(t.as_mut_ptr(), acc);
            // Hadamard: stages h = 1, 2, 4 inside the vectors, h = 8 across
            for v in &mut y {
                let h1 = stage(0b1010_1010, *v, _mm512_permute_pd::<0b0101_0101>(*v));
                let h2 = stage(0b1100_1100, h1, _mm512_permutex_pd::<0b0100_1110>(h1));
                *v = stage(0b1111_0000, h2, _mm512_shuffle_f64x2::<0b0100_1110>(h2, h2));
            }
            let [v0, v1] = y;
            let w0 = _mm512_add_pd(v0, v1);
            let w1 = _mm512_sub_pd(v0, v1);
            // input: left into even lines, right into odd, with signs
            let inj = _mm_mul_pd(gain, _mm_set_pd(xr, xl));
            let inj = _mm512_broadcast_f64x2(inj);
            let mut w = [w0, w1];
            for q in 0..2 {
                let v = _mm512_add_pd(_mm512_mul_pd(w[q], quarter), _mm512_mul_pd(is[q], inj));
                let tiny = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(_mm512_abs_pd(v), flush);
                w[q] = _mm512_maskz_mov_pd(!tiny, v);
            }
            pos = (pos + 1) & mask;
            store(wk, w);
        }
        st.pos = pos;
        store(&mut st.s[0], s1);
        store(&mut st.s[1], s2);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_block_independent, impulse, run};
    use sheen_dsp::biquad::{BiquadState, FilterKind};

    /// Reference: the AVX2 network (forced) bit for bit: the AVX-512
    /// frames (when the CPU has them) on stereo noise with damping, a mix
    /// ramp and a size change, in blocks of odd lengths.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_and_avx2_networks_are_bit_identical() {
        let fs = 48_000.0;
        let mut seed = 11u64;
        let mut noise = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let sig: Vec<f64> = (0..20_000).map(|_| noise()).collect();
        let mut outs = Vec::new();
        for force in [true, false] {
            avx512::FORCE_AVX2.with(|f| f.set(force));
            let mut rv = Reverb::new(ReverbParams {
                mix: 0.6,
                ..Default::default()
            });
            rv.prepare(fs, 2, 1024);
            let (mut l, mut r) = (sig.clone(), sig.iter().rev().copied().collect::<Vec<_>>());
            for (k, (a, b)) in l.chunks_mut(777).zip(r.chunks_mut(777)).enumerate() {
                if k == 9 {
                    rv.set_params(ReverbParams {
                        mix: 0.9,
                        size: 0.2,
                        ..Default::default()
                    });
                }
                rv.process(&mut [a, b]);
            }
            outs.push((l, r));
        }
        avx512::FORCE_AVX2.with(|f| f.set(false));
        let bits = |x: &[f64]| x.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&outs[0].0), bits(&outs[1].0));
        assert_eq!(bits(&outs[0].1), bits(&outs[1].1));
    }

    /// Reference: bit identity of the two code paths (AVX2 when the CPU
    /// has it, and the baseline) on stereo noise with damping.
    #[test]
    fn avx2_and_baseline_paths_are_bit_identical() {
        let fs = 48_000.0;
        let mut seed = 7u64;
        let mut noise = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let sig: Vec<f64> = (0..9000).map(|_| noise()).collect();
        let mut outs = Vec::new();
        for body in [true, false] {
            let mut rv = Reverb::new(ReverbParams {
                mix: 0.7,
                ..Default::default()
            });
            rv.prepare(fs, 2, 1024);
            let (mut l, mut r) = (sig.clone(), sig.iter().rev().copied().collect::<Vec<_>>());
            for (a, b) in l.chunks_mut(1024).zip(r.chunks_mut(1024)) {
                let mut blk = [a, b];
                if body {
                    rv.process_body(&mut blk);
                } else {
                    rv.process(&mut blk);
                }
            }
            outs.push((l, r));
        }
        assert_eq!(outs[0], outs[1]);
    }

    /// Reference: the baseline path, sample by sample. The AVX2 path (when
    /// the CPU has it, else the baseline one again) gives the same
    /// bits on stereo and mono noise, with damping, a mix ramp, odd block
    /// lengths and a long run (the line rings wrap).
    #[test]
    fn vector_path_in_pieces_is_bit_identical() {
        let fs = 48_000.0;
        let mut seed = 11u64;
        let mut noise = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let sig: Vec<f64> = (0..40_000).map(|_| noise()).collect();
        // at 8 kHz and size 0 the shortest line (67 samples) is shorter
        // than a chunk: the network runs in pieces
        for (ch, fs, size) in [(1usize, fs, 0.3), (2, fs, 0.0), (2, 8_000.0, 0.0)] {
            let mut outs = Vec::new();
            for body in [true, false] {
                let mut rv = Reverb::new(ReverbParams {
                    mix: 0.7,
                    size,
                    pre_delay_ms: 1.3,
                    width: 0.6,
                    ..Default::default()
                });
                rv.prepare(fs, ch, 1024);
                let mut x: Vec<Vec<f64>> = vec![sig.clone(), sig.iter().rev().copied().collect()];
                x.truncate(ch);
                let mut at = 0;
                for (k, len) in [1usize, 1000, 77, 4096].iter().cycle().enumerate() {
                    if at >= sig.len() {
                        break;
                    }
                    if k == 3 {
                        rv.set_params(ReverbParams {
                            mix: 0.4,
                            ..*rv.params()
                        });
                    }
                    let end = (at + len).min(sig.len());
                    let mut blk: Vec<&mut [f64]> = x.iter_mut().map(|c| &mut c[at..end]).collect();
                    if body {
                        rv.process_body(&mut blk);
                    } else {
                        rv.process(&mut blk);
                    }
                    at = end;
                }
                outs.push(x);
            }
            let bits = |x: &Vec<Vec<f64>>| -> Vec<Vec<u64>> {
                x.iter()
                    .map(|c| c.iter().map(|v| v.to_bits()).collect())
                    .collect()
            };
            assert_eq!(bits(&outs[0]), bits(&outs[1]), "{ch} channels, {fs} Hz");
        }
    }

    /// Schroeder backward integration (M. R. Schroeder, "New method of
    /// measuring reverberation time", JASA 37, 1965) of the summed energy
    /// of `chans`; linear least-squares fit of the EDC in dB between −5 and
    /// −35 dB; returns T30 = −60 / slope in seconds (ISO 3382-1).
    fn t30(chans: &[Vec<f64>], fs: f64) -> f64 {
        let n = chans[0].len();
        let mut edc = vec![0.0; n];
        let mut acc = 0.0;
        for i in (0..n).rev() {
            acc += chans.iter().map(|c| c[i] * c[i]).sum::<f64>();
            edc[i] = acc;
        }
        let total = edc[0];
        let (mut sx, mut sy, mut sxx, mut sxy, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (i, &e) in edc.iter().enumerate() {
            let db = 10.0 * (e / total).log10();
            if (-35.0..=-5.0).contains(&db) {
                let t = i as f64 / fs;
                sx += t;
                sy += db;
                sxx += t * t;
                sxy += t * db;
                k += 1.0;
            }
        }
        let slope = (k * sxy - sx * sy) / (k * sxx - sx * sx);
        -60.0 / slope
    }

    /// The wet impulse response (mix 1), stereo, long enough for −35 dB
    /// plus a margin (1.6 · RT60 ≈ −96 dB at the end).
    fn impulse_response(p: ReverbParams, fs: f64) -> Vec<Vec<f64>> {
        let n = ((1.6 * p.rt60_s + 0.1) * fs) as usize;
        let mut rv = Reverb::new(ReverbParams { mix: 1.0, ..p });
        run(&mut rv, fs, vec![impulse(n), impulse(n)], 4096)
    }

    /// Two cascaded RBJ band-passes at 707 Hz, Q = √2 (one octave,
    /// 500 Hz – 1 kHz).
    fn octave_band(x: &[f64], fs: f64, fc: f64) -> Vec<f64> {
        let c = BiquadCoeffs::rbj(FilterKind::BandPass, fc, std::f64::consts::SQRT_2, 0.0, fs);
        let (mut s1, mut s2) = (BiquadState::default(), BiquadState::default());
        x.iter().map(|&v| s2.tick(&c, s1.tick(&c, v))).collect()
    }

    /// Must-show 1. Reference: ISO 3382-1 T30 by Schroeder integration,
    /// broadband (both channels' energy), without HF damping
    /// (hf_rt60_ratio = 1). Tolerance: within 10 % of the setting (expected
    /// far better: Jot's pole placement is exact for a pure-gain loss).
    #[test]
    fn rt60_broadband_matches_setting() {
        for (rt60, fs) in [
            (0.5, 48_000.0),
            (1.0, 48_000.0),
            (2.0, 48_000.0),
            (1.0, 44_100.0),
        ] {
            let p = ReverbParams {
                rt60_s: rt60,
                hf_rt60_ratio: 1.0,
                pre_delay_ms: 0.0,
                ..ReverbParams::default()
            };
            let t = t30(&impulse_response(p, fs), fs);
            eprintln!("broadband: RT60 {rt60} s @ {fs} Hz -> T30 {t:.4} s");
            assert!((t / rt60 - 1.0).abs() < 0.10, "{rt60} s @ {fs}: {t}");
        }
    }

    /// Must-show 1 (with damping). Reference: T30 in the 500 Hz – 1 kHz
    /// octave band with the default damping (ratio 0.5 above 5 kHz), at
    /// 48 kHz for 0.5 / 1 / 2 s and at 8, 44.1 and 96 kHz for 1 s.
    /// Tolerance: 10 %. Also the 8 kHz octave (above the damping) must decay
    /// clearly faster (T30 < 0.8 × the mid-band T30).
    #[test]
    fn rt60_octave_band_with_damping() {
        for (rt60, fs) in [
            (0.5, 48_000.0),
            (1.0, 48_000.0),
            (2.0, 48_000.0),
            (1.0, 44_100.0),
            (1.0, 8_000.0),
            (1.0, 96_000.0),
        ] {
            let p = ReverbParams {
                rt60_s: rt60,
                pre_delay_ms: 0.0,
                ..ReverbParams::default()
            };
            let ir = impulse_response(p, fs);
            let band: Vec<Vec<f64>> = ir.iter().map(|c| octave_band(c, fs, 707.1)).collect();
            let t = t30(&band, fs);
            eprintln!("500-1k octave: RT60 {rt60} s @ {fs} Hz -> T30 {t:.4} s");
            assert!((t / rt60 - 1.0).abs() < 0.10, "{rt60} s @ {fs}: {t}");
            if fs >= 44_100.0 {
                let hi: Vec<Vec<f64>> = ir.iter().map(|c| octave_band(c, fs, 11_314.0)).collect();
                let th = t30(&hi, fs);
                eprintln!("  8k-16k octave: T30 {th:.4} s");
                assert!(th < 0.8 * t, "HF {th} vs {t}");
            }
        }
    }

    /// Reference: Jot's condition — every line loses the same dB per
    /// sample at DC and at Nyquist (−60 dB per fs·T samples), and at
    /// damping_hz the mean of the two. Tolerance 1e-9 dB.
    #[test]
    fn absorption_filters_follow_jot() {
        let fs = 48_000.0;
        let (t, r, fd) = (1.3, 0.4, 3000.0);
        for m in [1009usize, 2003, 4001] {
            let c = absorption(m, fs, t, r, fd);
            let per_sample = |f: f64| c.magnitude_db(f, fs) / m as f64;
            let dc = -60.0 / (fs * t);
            let ny = -60.0 / (fs * t * r);
            assert!((per_sample(1e-6) - dc).abs() * m as f64 <= 1e-9);
            assert!((per_sample(fs / 2.0) - ny).abs() * m as f64 <= 1e-9);
            assert!((per_sample(fd) - 0.5 * (dc + ny)).abs() * m as f64 <= 1e-9);
        }
    }

    /// Reference: the network is orthogonal: the FWHT/4 preserves energy
    /// (tolerance 1e-15 relative) and is its own inverse.
    #[test]
    fn hadamard_is_orthogonal() {
        let mut a = [0.0; LINES];
        for (i, x) in a.iter_mut().enumerate() {
            *x = (i as f64 * 0.77).sin();
        }
        let e0: f64 = a.iter().map(|x| x * x).sum();
        let orig = a;
        hadamard16(&mut a);
        let e1: f64 = a.iter().map(|x| x * x).sum();
        assert!((e1 / e0 - 1.0).abs() < 1e-15);
        hadamard16(&mut a);
        for (x, y) in a.iter().zip(&orig) {
            assert!((x - y).abs() < 1e-15);
        }
    }

    /// Reference: pre-delay — the wet output is exactly zero before
    /// pre_delay + shortest line, and the lengths are distinct primes.
    #[test]
    fn pre_delay_and_lengths() {
        let fs = 48_000.0;
        let p = ReverbParams {
            pre_delay_ms: 20.0,
            mix: 1.0,
            ..ReverbParams::default()
        };
        let mut rv = Reverb::new(p);
        let y = run(&mut rv, fs, vec![impulse(6000), impulse(6000)], 512);
        let first = rv.pre_delay_samples() + rv.lengths()[0];
        assert_eq!(rv.pre_delay_samples(), 960);
        for c in &y {
            assert!(c[..first].iter().all(|&v| v == 0.0));
        }
        // the left output taps line 0 (the shortest), the right line 1
        assert!(y[0][first] != 0.0);
        assert!(y[1][rv.pre_delay_samples() + rv.lengths()[1]] != 0.0);
        for fs in [8_000.0, 44_100.0, 384_000.0] {
            for size in [0.0, 0.5, 1.0] {
                let l = line_lengths(size, fs);
                assert!(l.windows(2).all(|w| w[0] < w[1]));
                assert!(l.iter().all(|&m| is_prime(m)));
            }
        }
    }

    /// Reference: width 0 gives identical channels (mono wet); width 1
    /// gives weakly correlated channels (|ρ| < 0.2 over the IR).
    #[test]
    fn width_controls_correlation() {
        let fs = 48_000.0;
        let ir = |width: f64| {
            impulse_response(
                ReverbParams {
                    rt60_s: 1.0,
                    width,
                    ..ReverbParams::default()
                },
                fs,
            )
        };
        let mono = ir(0.0);
        assert_eq!(mono[0], mono[1]);
        let st = ir(1.0);
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let rho = dot(&st[0], &st[1]) / (dot(&st[0], &st[0]) * dot(&st[1], &st[1])).sqrt();
        assert!(rho.abs() < 0.2, "rho {rho}");
    }

    /// Reference: the energy normalisation in the module docs — a centred
    /// unit impulse gives about rt60_s of energy per channel without
    /// damping. Tolerance: ±3 dB (statistical estimate), at 44.1 and 96 kHz
    /// and sizes 0 and 1.
    #[test]
    fn wet_energy_is_normalised() {
        for fs in [44_100.0, 96_000.0] {
            for size in [0.0, 1.0] {
                let p = ReverbParams {
                    rt60_s: 1.0,
                    hf_rt60_ratio: 1.0,
                    size,
                    ..ReverbParams::default()
                };
                let ir = impulse_response(p, fs);
                let e: f64 = ir[0].iter().map(|x| x * x).sum();
                let db = 10.0 * e.log10();
                assert!(db.abs() < 3.0, "fs {fs} size {size}: {db:.2} dB");
            }
        }
    }

    /// Must-show 5. Reference: Processor contract; bit-exact for any block
    /// partition, mono and stereo.
    #[test]
    fn block_size_independent() {
        for ch in [1, 2] {
            assert_block_independent(
                || {
                    Reverb::new(ReverbParams {
                        rt60_s: 0.8,
                        pre_delay_ms: 3.3,
                        width: 0.7,
                        mix: 0.5,
                        ..ReverbParams::default()
                    })
                },
                48_000.0,
                ch,
            );
        }
    }

    #[test]
    fn params_serde() {
        let p: ReverbParams =
            serde_json::from_str(r#"{"rt60_s": 2.5, "damping_hz": 6000, "width": 0.5}"#).unwrap();
        assert_eq!(p.rt60_s, 2.5);
        assert_eq!(p.size, ReverbParams::default().size);
        assert!(serde_json::from_str::<ReverbParams>(r#"{"decay": 2}"#).is_err());
    }
}
