//! Look-ahead true-peak limiter.
//!
//! Detection follows the true-peak definition of ITU-R BS.1770-4 Annex 2:
//! the input is oversampled by [`LimiterParams::oversampling`] (≥ 4×) with
//! sheen's one polyphase interpolator ([`Upsampler`], 16 taps per phase, the
//! filter `sheen-meter`'s true-peak meter uses), and the largest absolute
//! interpolated value around each input sample sets the gain that sample
//! needs: `r[n] = min(1, ceiling / peak[n])`, with the ceiling lowered by
//! [`LimiterParams::safety_db`].
//!
//! Gain computer (after the "hold, release, box filter" design used by many
//! look-ahead limiters, e.g. G. Signalsmith, "Designing a limiter", 2022):
//! 1. a sliding-window minimum of `r` over `L + 2K` samples (`L` the
//!    look-ahead, `K` half the interpolation kernel);
//! 2. release: the held value is followed instantly downwards and with a
//!    one-pole rise of time constant `release_ms` upwards;
//! 3. a moving average over `L` samples (the attack ramp).
//!
//! The audio is delayed by `L − 1 + K` samples plus the interpolator's
//! delay, so every input sample within `K` samples of a peak leaves with a
//! gain no higher than that peak requires: the average of step 3 only spans
//! values held at or below it. The gain is already down when the peak
//! arrives, and it never moves faster than one look-ahead window.
//!
//! Detection ([`PeakDetector`]) runs over stretches of 256 frames in
//! vectorised register groups of 8 (each value the same 16-term sum in tap
//! order, so bit-identical to per-frame evaluation), and a group is skipped
//! where a bound (largest `|x|` over the kernel span times the largest
//! absolute tap sum) proves no interpolated value can reach the target; the
//! gain computer ([`GainComputer`]) then sees exactly what full evaluation
//! would give, so the output is the same bit for bit. An input gain
//! ([`TruePeakLimiter::set_input_gain`]) scales the detection instead of the
//! signal, so one detection pass serves any gain (the mastering gain
//! search).
//!
//! All state is `f64`, channels share one gain (stereo link), processing
//! allocates nothing and gives the same result for any block partition.

use crate::delay_line::LookaheadDelay;
use crate::oversample::{
    bound_gain, branch_at, branch_group, branches, has_avx, Branch, Upsampler,
    KERNEL_GROUP as GROUP, KERNEL_TAPS as TAPS_PER_PHASE,
};
use crate::processor::{Processor, MAX_CHANNELS};
use crate::units::{db_to_gain, gain_to_db};

/// Limiter settings.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimiterParams {
    /// Highest true peak allowed at the output, dBTP.
    pub ceiling_dbtp: f64,
    /// Look-ahead (and attack ramp) time, ms.
    pub lookahead_ms: f64,
    /// Release time constant (one-pole, to 1 − 1/e), ms.
    pub release_ms: f64,
    /// Detection oversampling factor (4…16). Detection always includes the
    /// 4× interpolator of `sheen-meter`'s true-peak meter; above 4 a second,
    /// finer one is added.
    pub oversampling: usize,
    /// The detector aims this far below the ceiling, dB (≥ 0), to absorb
    /// interpolation between detection points and gain modulation.
    pub safety_db: f64,
}

impl Default for LimiterParams {
    fn default() -> Self {
        Self {
            ceiling_dbtp: -1.0,
            lookahead_ms: 3.0,
            release_ms: 120.0,
            oversampling: 8,
            safety_db: 0.05,
        }
    }
}

/// A fixed-capacity monotonic deque giving the minimum of the last `window`
/// values in amortised O(1), without allocating after construction.
#[derive(Clone, Debug)]
struct SlidingMin {
    /// Ring of `(index, value)` with increasing values from head to tail.
    buf: Vec<(u64, f64)>,
    head: usize,
    len: usize,
    window: u64,
}

impl SlidingMin {
    fn new(window: usize) -> Self {
        Self {
            buf: vec![(0, 0.0); window.max(1) + 1],
            head: 0,
            len: 0,
            window: window.max(1) as u64,
        }
    }

    fn reset(&mut self) {
        self.head = 0;
        self.len = 0;
    }

    /// Pushes value `v` at index `i` and returns the minimum of the values
    /// at indices `i − window + 1 ..= i`.
    #[inline]
    fn push(&mut self, i: u64, v: f64) -> f64 {
        let cap = self.buf.len();
        // drop larger-or-equal values from the tail
        while self.len > 0 {
            let tail = (self.head + self.len - 1) % cap;
            if self.buf[tail].1 >= v {
                self.len -= 1;
            } else {
                break;
            }
        }
        let slot = (self.head + self.len) % cap;
        self.buf[slot] = (i, v);
        self.len += 1;
        // expire the head
        while self.buf[self.head].0 + self.window <= i {
            self.head = (self.head + 1) % cap;
            self.len -= 1;
        }
        self.buf[self.head].1
    }
}

/// Frames per detection stretch (the limiter detects a stretch, then runs
/// its gain computer over it).
const STRETCH: usize = 256;

/// Polyphase true-peak detection with the phases of sheen's [`Upsampler`]
/// (4×, plus `factor`× when above 4), evaluated over stretches of frames in
/// register groups the compiler vectorises (each interpolated value is the
/// same 16-term sum in tap order as [`Upsampler::push_peak`], so the result
/// does not depend on the block partition). A group of [`GROUP`] frames is
/// only evaluated when it matters: if `max|x|` over the samples its outputs
/// depend on, times `max_p Σ_j |h_p[j]|`, cannot exceed the threshold, no
/// interpolated value can, and 0 ("below threshold") is returned without
/// computing them. A consumer that only compares the result with the
/// threshold sees the same decisions either way.
#[derive(Clone, Debug)]
pub struct PeakDetector {
    /// Phases: `h[p][j]` multiplies `x[n − j]`.
    phases: Vec<Branch>,
    /// `max_p Σ_j |h_p[j]|`, with a margin for rounding.
    bound: f64,
    /// Per channel: the `TAPS_PER_PHASE − 1` previous inputs followed by
    /// room for one stretch.
    work: Vec<Vec<f64>>,
    /// Delay of the interpolated points, input samples.
    latency: usize,
    /// Skip provably irrelevant evaluations (always, except in a test).
    skip: bool,
    /// Use the AVX build of the kernel.
    avx: bool,
}

/// `max_p |Σ_j h_p[j] · win[T − 1 − j + k]|` for the `GROUP` frames `k` of
/// one register group, each sum in tap order (sheen-dsp's shared
/// [`branch_group`]).
#[inline(always)]
fn group_peaks(phases: &[Branch], win: &[f64; TAPS_PER_PHASE - 1 + GROUP]) -> [f64; GROUP] {
    let mut peak = [0.0f64; GROUP];
    for h in phases {
        for (p, v) in peak.iter_mut().zip(branch_group(h, win)) {
            *p = p.max(v.abs());
        }
    }
    peak
}

/// Detection over one channel's work buffer: `out[n] = max(out[n], peak of
/// frame n)` for `n < len` (frame `n` is `w[T − 1 + n]`), groups whose
/// bound cannot exceed `threshold` skipped (when `skip`).
#[inline(always)]
fn detect_channel(
    phases: &[Branch],
    bound: f64,
    skip: bool,
    threshold: f64,
    w: &[f64],
    len: usize,
    out: &mut [f64],
) {
    const T: usize = TAPS_PER_PHASE;
    let mut n = 0;
    while n < len {
        let g = GROUP.min(len - n);
        let span = &w[n..n + T - 1 + g];
        if skip {
            let m = span.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if m * bound <= threshold {
                n += g;
                continue;
            }
        }
        if g == GROUP {
            let win: &[f64; T - 1 + GROUP] = span.try_into().expect("window length");
            let p = group_peaks(phases, win);
            for (o, v) in out[n..n + GROUP].iter_mut().zip(p) {
                *o = o.max(v);
            }
        } else {
            for k in 0..g {
                let peak = phases
                    .iter()
                    .fold(0.0f64, |m, h| m.max(branch_at(h, span, T - 1 + k).abs()));
                out[n + k] = out[n + k].max(peak);
            }
        }
        n += g;
    }
}

/// [`detect_channel`] compiled for AVX: the same additions and
/// multiplications in the same order (no fused multiply-add), so the result
/// is bitwise identical to the portable build.
///
/// # Safety
/// The CPU must support AVX.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn detect_channel_avx(
    phases: &[Branch],
    bound: f64,
    skip: bool,
    threshold: f64,
    w: &[f64],
    len: usize,
    out: &mut [f64],
) {
    detect_channel(phases, bound, skip, threshold, w, len, out)
}

/// The detection kernel's signature ([`detect_channel`]).
type Kernel = fn(&[Branch], f64, bool, f64, &[f64], usize, &mut [f64]);

/// [`detect_channel_avx`] behind a safe signature, for a detector that has
/// checked the CPU ([`PeakDetector::avx`] is set only when it reports AVX).
fn detect_avx(
    phases: &[Branch],
    bound: f64,
    skip: bool,
    threshold: f64,
    w: &[f64],
    len: usize,
    out: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: only selected when `has_avx()` returned true.
        unsafe { detect_channel_avx(phases, bound, skip, threshold, w, len, out) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    detect_channel(phases, bound, skip, threshold, w, len, out)
}

impl PeakDetector {
    /// A detector at 4× (plus `factor`× when `factor` > 4) for `channels`.
    pub fn new(factor: usize, channels: usize) -> Self {
        let mut phases = Vec::new();
        let mut latency = 0;
        let factors: &[usize] = if factor > 4 { &[4, factor] } else { &[4] };
        for &f in factors {
            latency = Upsampler::new(f, TAPS_PER_PHASE, 1).latency_samples();
            phases.extend(branches(f));
        }
        let bound = bound_gain(&phases);
        Self {
            phases,
            bound,
            work: vec![vec![0.0; TAPS_PER_PHASE - 1 + STRETCH]; channels],
            latency,
            skip: true,
            avx: has_avx(),
        }
    }

    /// The finer points of [`PeakDetector::new`]`(factor, channels)` alone
    /// (`factor` > 4; its 4× points left out): each value of that detector
    /// is the larger of a 4× detector's and this one's (the same sums of
    /// the same phases), so e.g. its largest value over a stream is the
    /// larger of theirs.
    ///
    /// # Panics
    /// If `factor` ≤ 4.
    pub fn finer_only(factor: usize, channels: usize) -> Self {
        assert!(factor > 4, "the finer points of a factor above 4");
        let mut d = Self::new(factor, channels);
        let four = branches(4).len();
        d.phases.drain(..four);
        d.bound = bound_gain(&d.phases);
        d
    }

    /// Delay of the interpolated points behind the input, samples: the
    /// value for the frame pushed at index `n` interpolates around
    /// `n − latency`.
    pub fn latency_samples(&self) -> usize {
        self.latency
    }

    /// Frames per call of [`Self::detect`] at most.
    pub const MAX_FRAMES: usize = STRETCH;

    /// Pushes `block` (planar, ≤ [`Self::MAX_FRAMES`] frames) and writes the
    /// largest interpolated `|y|` over channels and phases of each frame into
    /// `out[..len]`, or 0 where that is provably ≤ `threshold`.
    pub fn detect(&mut self, block: &[&[f64]], threshold: f64, out: &mut [f64]) {
        const H: usize = TAPS_PER_PHASE - 1;
        let len = block.first().map_or(0, |c| c.len());
        assert!(len <= STRETCH, "at most {STRETCH} frames per call");
        out[..len].fill(0.0);
        let kernel: Kernel = if self.avx { detect_avx } else { detect_channel };
        for (w, x) in self.work.iter_mut().zip(block) {
            w[H..H + len].copy_from_slice(x);
            kernel(
                &self.phases,
                self.bound,
                self.skip,
                threshold,
                &w[..H + len],
                len,
                out,
            );
            w.copy_within(len..len + H, 0);
        }
    }

    /// Clears the history.
    pub fn reset(&mut self) {
        self.work.iter_mut().for_each(|w| w.fill(0.0));
    }
}

/// The limiter's gain computer (steps 1–3 of the module documentation):
/// from the gain each sample requires to the gain applied to the sample
/// leaving the delay line.
#[derive(Clone, Debug)]
pub struct GainComputer {
    /// Look-ahead `L`, samples (≥ 1).
    lookahead: usize,
    release_coeff: f64,
    hold: SlidingMin,
    envelope: f64,
    /// Box filter over the last `L` envelope values.
    box_buf: Vec<f64>,
    box_pos: usize,
    box_sum: f64,
    index: u64,
    min_gain: f64,
    /// Consecutive pushes that wrote an envelope of exactly 1 into the box
    /// filter (when at least `L`, the box holds only ones).
    ones: u64,
}

impl GainComputer {
    /// The gain computer of `params` at `sample_rate_hz`.
    pub fn new(params: &LimiterParams, sample_rate_hz: f64) -> Self {
        let lookahead = ((params.lookahead_ms * 1e-3 * sample_rate_hz).round() as usize).max(1);
        let kernel_half = TAPS_PER_PHASE / 2;
        let release_s = (params.release_ms * 1e-3).max(1e-6);
        Self {
            lookahead,
            release_coeff: 1.0 - (-1.0 / (release_s * sample_rate_hz)).exp(),
            hold: SlidingMin::new(lookahead + 2 * kernel_half),
            envelope: 1.0,
            box_buf: vec![1.0; lookahead],
            box_pos: 0,
            box_sum: lookahead as f64,
            index: 0,
            min_gain: 1.0,
            ones: 0,
        }
    }

    /// Look-ahead, samples.
    pub fn lookahead(&self) -> usize {
        self.lookahead
    }

    /// Takes the gain the newest sample requires (≤ 1) and returns the gain
    /// for the sample leaving the delay line.
    #[inline]
    pub fn push(&mut self, required: f64) -> f64 {
        let held = self.hold.push(self.index, required);
        // release
        if held < self.envelope {
            self.envelope = held;
        } else {
            self.envelope += (held - self.envelope) * self.release_coeff;
        }
        // attack ramp: moving average over L samples
        let old = self.box_buf[self.box_pos];
        self.box_buf[self.box_pos] = self.envelope;
        self.box_sum += self.envelope - old;
        self.box_pos += 1;
        if self.box_pos == self.lookahead {
            self.box_pos = 0;
            // re-sum once per window so rounding cannot drift
            self.box_sum = self.box_buf.iter().sum();
        }
        if self.envelope == 1.0 {
            self.ones += 1;
        } else {
            self.ones = 0;
        }
        let gain = (self.box_sum / self.lookahead as f64).min(1.0);
        self.min_gain = self.min_gain.min(gain);
        self.index += 1;
        gain
    }

    /// Whether the computer is at rest: every value it holds is exactly 1
    /// (the hold's window, the envelope, the box filter and its sum), so
    /// that pushing 1 returns exactly 1 and leaves it at rest.
    fn at_rest(&self) -> bool {
        self.envelope == 1.0
            && self.ones >= self.lookahead as u64
            && self.box_sum == self.lookahead as f64
            && self.hold.len == 1
            && self.hold.buf[self.hold.head].1 == 1.0
    }

    /// Pushes `m` requirements of exactly 1 when the computer is at rest
    /// ([`Self::push`] would return 1 each time and change nothing but the
    /// positions), advancing the positions only; returns whether it did
    /// (if not, nothing changed: push them one by one).
    pub fn push_ones(&mut self, m: usize) -> bool {
        if m == 0 || !self.at_rest() {
            return m == 0;
        }
        let last = self.index + m as u64 - 1;
        // the hold's one value, pushed last at `last`
        self.hold.buf[self.hold.head].0 = last;
        // the box keeps only ones and a sum of exactly L (its re-sum at
        // each wrap gives L again)
        self.box_pos = (self.box_pos + m) % self.lookahead;
        self.ones += m as u64;
        self.index = last + 1;
        true
    }

    /// Smallest gain returned so far (linear).
    pub fn min_gain(&self) -> f64 {
        self.min_gain
    }

    /// Back to the initial state.
    pub fn reset(&mut self) {
        self.hold.reset();
        self.envelope = 1.0;
        self.box_buf.fill(1.0);
        self.box_pos = 0;
        self.box_sum = self.lookahead as f64;
        self.index = 0;
        self.min_gain = 1.0;
        self.ones = 0;
    }
}

/// The gain a sample needs so that its detected peak `peak` (on the signal
/// before the input gain) times `input_gain` reaches `target`: 1 unless
/// `peak > threshold` (`threshold = target / input_gain`), else
/// `target / (input_gain · peak)`.
#[inline]
pub fn required_gain(peak: f64, threshold: f64, target: f64, input_gain: f64) -> f64 {
    if peak > threshold {
        target / (input_gain * peak)
    } else {
        1.0
    }
}

/// Look-ahead true-peak limiter (see the module documentation).
///
/// An input gain ([`TruePeakLimiter::set_input_gain`], default 1) is applied
/// inside: detection runs on the signal as given and is scaled, the output
/// is `(x · input_gain) · gain`. With an input gain of 1 this is exactly the
/// limiter without one.
#[derive(Clone, Debug)]
pub struct TruePeakLimiter {
    params: LimiterParams,
    sample_rate_hz: f64,
    channels: usize,
    /// True-peak detection at 4× (the meter's points) and, above 4, finer.
    detector: PeakDetector,
    gain: GainComputer,
    /// Target linear peak (ceiling minus safety).
    target: f64,
    input_gain: f64,
    /// `target / input_gain`.
    threshold: f64,
    /// Detected peaks of the current stretch.
    peaks: Vec<f64>,
    /// Gains of the current stretch (for the frames leaving the delay).
    gains: Vec<f64>,
    /// The audio path's delay line.
    delay_line: LookaheadDelay,
    delay: usize,
}

impl TruePeakLimiter {
    /// A limiter for `channels` channels at `sample_rate_hz`.
    ///
    /// # Panics
    /// If `channels` is 0 or above [`MAX_CHANNELS`], or the oversampling
    /// factor is outside 4…16.
    pub fn new(params: LimiterParams, sample_rate_hz: f64, channels: usize) -> Self {
        assert!(
            (1..=MAX_CHANNELS).contains(&channels),
            "1..={MAX_CHANNELS} channels"
        );
        assert!(
            (4..=16).contains(&params.oversampling),
            "oversampling must be 4..=16"
        );
        let detector = PeakDetector::new(params.oversampling, channels);
        let gain = GainComputer::new(&params, sample_rate_hz);
        let delay = Self::delay_for(&params, sample_rate_hz);
        let target = Self::target_for(&params);
        let mut l = Self {
            params,
            sample_rate_hz,
            channels,
            detector,
            gain,
            target,
            input_gain: 1.0,
            threshold: target,
            peaks: vec![0.0; STRETCH],
            gains: vec![0.0; STRETCH],
            delay_line: LookaheadDelay::with_channels(delay, channels),
            delay,
        };
        l.reset();
        l
    }

    /// The delay (latency) of a limiter with `params` at `sample_rate_hz`,
    /// samples: detection latency + look-ahead − 1 + half the kernel.
    pub fn delay_for(params: &LimiterParams, sample_rate_hz: f64) -> usize {
        let lookahead = ((params.lookahead_ms * 1e-3 * sample_rate_hz).round() as usize).max(1);
        TAPS_PER_PHASE / 2 + lookahead - 1 + TAPS_PER_PHASE / 2
    }

    /// The linear peak a limiter with `params` aims at (ceiling − safety).
    pub fn target_for(params: &LimiterParams) -> f64 {
        db_to_gain(params.ceiling_dbtp - params.safety_db.max(0.0))
    }

    /// Sets the gain applied to the input before limiting (linear, > 0).
    pub fn set_input_gain(&mut self, gain: f64) {
        assert!(gain > 0.0 && gain.is_finite(), "input gain must be > 0");
        self.input_gain = gain;
        self.threshold = self.target / gain;
    }

    /// The input gain (linear, [`Self::set_input_gain`]).
    pub fn input_gain(&self) -> f64 {
        self.input_gain
    }

    /// The detection threshold, `target / input_gain`: a detected peak
    /// (on the signal before the input gain) above it is limited. When no
    /// detected peak exceeds it, the output is exactly the input delayed by
    /// [`Processor::latency_samples`] and multiplied by the input gain.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The settings.
    pub fn params(&self) -> &LimiterParams {
        &self.params
    }

    /// Sample rate, Hz.
    pub fn sample_rate_hz(&self) -> f64 {
        self.sample_rate_hz
    }

    /// Largest gain reduction applied so far, dB (≥ 0).
    pub fn max_gain_reduction_db(&self) -> f64 {
        (-gain_to_db(self.gain.min_gain())).max(0.0) + 0.0
    }
}

impl Processor for TruePeakLimiter {
    fn prepare(&mut self, sample_rate_hz: f64, channels: usize, _max_block: usize) {
        if sample_rate_hz != self.sample_rate_hz || channels != self.channels {
            let g = self.input_gain;
            *self = Self::new(self.params, sample_rate_hz, channels);
            self.set_input_gain(g);
        } else {
            self.reset();
        }
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let len = block.first().map_or(0, |c| c.len());
        let n = self.channels;
        let mut start = 0;
        while start < len {
            let end = (start + STRETCH).min(len);
            let m = end - start;
            {
                let mut views: [&[f64]; MAX_CHANNELS] = [&[]; MAX_CHANNELS];
                for (v, c) in views.iter_mut().zip(block.iter()) {
                    *v = &c[start..end];
                }
                self.detector
                    .detect(&views[..n], self.threshold, &mut self.peaks);
            }
            // nothing to limit and the gain computer at rest: every gain
            // is exactly 1 (what the per-sample path computes), so the
            // output is the delayed input times the input gain
            let below = self.peaks[..m].iter().all(|&p| p <= self.threshold);
            if below && self.gain.push_ones(m) {
                let ig = self.input_gain;
                for (ch, c) in block.iter_mut().enumerate().take(n) {
                    let x = &mut c[start..end];
                    self.delay_line.delay_block(ch, x);
                    for v in x.iter_mut() {
                        *v *= ig;
                    }
                }
                start = end;
                continue;
            }
            for (g, &p) in self.gains[..m].iter_mut().zip(&self.peaks[..m]) {
                let r = required_gain(p, self.threshold, self.target, self.input_gain);
                *g = self.gain.push(r);
            }
            for (ch, c) in block.iter_mut().enumerate().take(n) {
                let x = &mut c[start..end];
                self.delay_line.delay_block(ch, x);
                for (v, &g) in x.iter_mut().zip(&self.gains[..m]) {
                    *v = (*v * self.input_gain) * g;
                }
            }
            start = end;
        }
    }

    fn latency_samples(&self) -> usize {
        self.delay
    }

    fn reset(&mut self) {
        self.detector.reset();
        self.gain.reset();
        self.delay_line.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::process_in_blocks;
    use std::f64::consts::PI;

    /// The reference true-peak measurement: 4× with the same interpolator
    /// as `sheen-meter`'s `TruePeakMeter` (16 taps per phase), including the
    /// tail after the last sample.
    pub(crate) fn true_peak_4x(chans: &[Vec<f64>]) -> f64 {
        let mut up = Upsampler::new(4, 16, chans.len());
        let n = chans[0].len();
        let mut peak = 0.0f64;
        for i in 0..n + 16 {
            up.advance();
            for (ch, c) in chans.iter().enumerate() {
                peak = peak.max(up.push_peak(ch, c.get(i).copied().unwrap_or(0.0)));
            }
        }
        peak
    }

    /// An 8× reference (closer to the analogue peak).
    fn true_peak_8x(chans: &[Vec<f64>]) -> f64 {
        let mut up = Upsampler::new(8, 32, chans.len());
        let n = chans[0].len();
        let mut peak = 0.0f64;
        for i in 0..n + 32 {
            up.advance();
            for (ch, c) in chans.iter().enumerate() {
                peak = peak.max(up.push_peak(ch, c.get(i).copied().unwrap_or(0.0)));
            }
        }
        peak
    }

    fn run(params: LimiterParams, fs: f64, mut x: Vec<Vec<f64>>, block: usize) -> Vec<Vec<f64>> {
        let mut l = TruePeakLimiter::new(params, fs, x.len());
        let lat = l.latency_samples();
        for c in &mut x {
            c.extend(std::iter::repeat_n(0.0, lat));
        }
        process_in_blocks(&mut l, &mut x, block);
        for c in &mut x {
            c.drain(..lat);
        }
        x
    }

    fn assert_no_overs(name: &str, y: &[Vec<f64>], ceiling_dbtp: f64) {
        let tp = gain_to_db(true_peak_4x(y));
        let tp8 = gain_to_db(true_peak_8x(y));
        eprintln!("{name}: true peak 4x {tp:.4} dBTP, 8x {tp8:.4} dBTP (ceiling {ceiling_dbtp})");
        assert!(
            tp <= ceiling_dbtp,
            "{name}: 4x true peak {tp} > {ceiling_dbtp}"
        );
        assert!(
            tp8 <= ceiling_dbtp + 0.05,
            "{name}: 8x true peak {tp8} > {ceiling_dbtp} + 0.05"
        );
    }

    /// Full-scale square waves (whose band-limited reconstruction overshoots
    /// by the Gibbs phenomenon), driven +12 dB: zero overs of a −1 dBTP
    /// ceiling at 4× (reference: the BS.1770-4 4× interpolator, the meter's)
    /// and within 0.05 dB of it at 8×.
    #[test]
    fn square_waves_have_no_overs() {
        let fs = 48_000.0;
        for period in [8usize, 37, 100, 480] {
            let x: Vec<f64> = (0..fs as usize)
                .map(|i| {
                    if (i / (period / 2).max(1)) % 2 == 0 {
                        4.0
                    } else {
                        -4.0
                    }
                })
                .collect();
            let p = LimiterParams::default();
            let y = run(p, fs, vec![x.clone(), x], 4096);
            assert_no_overs(&format!("square period {period}"), &y, p.ceiling_dbtp);
        }
    }

    /// The classic inter-sample peak: fs/4 sine at 45° phase, sample peaks
    /// at 1/√2 of the true peak; driven to +6 dBTP and limited to −1 dBTP.
    /// Also checks the limited level: the steady state sits within 0.1 dB
    /// below the ceiling (the safety margin is 0.05 dB).
    #[test]
    fn inter_sample_peaks_are_caught() {
        let fs = 44_100.0;
        let x: Vec<f64> = (0..44_100)
            .map(|i| 2.0 * (2.0 * PI * 0.25 * i as f64 + PI / 4.0).sin())
            .collect();
        let p = LimiterParams::default();
        let y = run(p, fs, vec![x], 64);
        assert_no_overs("fs/4 at 45 degrees", &y, p.ceiling_dbtp);
        let steady = y[0][20_000..30_000]
            .iter()
            .fold(0.0f64, |m, v| m.max(v.abs()));
        // sample peak = true peak / sqrt 2
        let tp = gain_to_db(steady * std::f64::consts::SQRT_2);
        assert!(tp > p.ceiling_dbtp - 0.1, "over-limited: {tp}");
    }

    /// Below the ceiling the limiter is a pure delay (bit-exact).
    #[test]
    fn quiet_signal_passes_unchanged() {
        let fs = 48_000.0;
        let x: Vec<f64> = (0..10_000)
            .map(|i| 0.5 * (2.0 * PI * 1000.0 * i as f64 / fs).sin())
            .collect();
        let y = run(LimiterParams::default(), fs, vec![x.clone()], 100);
        assert_eq!(y[0], x);
    }

    /// Any block partition (1, 64, 4096, random) gives bitwise the same
    /// output.
    #[test]
    fn block_size_independent() {
        let fs = 48_000.0;
        let mut s = 1u64;
        let x: Vec<f64> = (0..20_000)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let w = (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                3.0 * w * ((i as f64) * 0.001).sin()
            })
            .collect();
        let p = LimiterParams::default();
        let mut l = TruePeakLimiter::new(p, fs, 2);
        let mut a = vec![x.clone(), x.iter().map(|v| -0.5 * v).collect()];
        let orig = a.clone();
        process_in_blocks(&mut l, &mut a, 4096);
        for size in [1usize, 64] {
            let mut l = TruePeakLimiter::new(p, fs, 2);
            let mut b = orig.clone();
            process_in_blocks(&mut l, &mut b, size);
            assert_eq!(a, b, "block {size}");
        }
        // random partition
        let mut l = TruePeakLimiter::new(p, fs, 2);
        let mut b = orig.clone();
        let mut start = 0;
        let mut r = 7u64;
        while start < b[0].len() {
            r = r.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let len = ((r >> 33) % 3000) as usize + 1;
            let end = (start + len).min(b[0].len());
            l.process(crate::processor::PlanarMut::new(&mut b, start..end).channels());
            start = end;
        }
        assert_eq!(a, b, "random partition");
    }

    /// The reported latency is the delay of a quiet impulse (exact).
    #[test]
    fn latency_is_reported() {
        let mut l = TruePeakLimiter::new(LimiterParams::default(), 48_000.0, 1);
        let lat = l.latency_samples();
        let mut x = vec![vec![0.0; 1000]];
        x[0][10] = 0.25;
        process_in_blocks(&mut l, &mut x, 64);
        assert_eq!(x[0][10 + lat], 0.25);
        assert_eq!(x[0].iter().filter(|v| **v != 0.0).count(), 1);
    }

    /// Release: after a burst, the gain recovers to within 0.1 dB of unity
    /// after 5 release time constants plus the look-ahead (exp(−5) of the
    /// reduction remains: 6 dB · e⁻⁵ ≈ 0.04 dB).
    #[test]
    fn releases_after_burst() {
        let fs = 48_000.0;
        let n = 48_000;
        let x: Vec<f64> = (0..n)
            .map(|i| {
                let a = if i < 4800 { 1.8 } else { 0.5 };
                a * (2.0 * PI * 440.0 * i as f64 / fs).sin()
            })
            .collect();
        let p = LimiterParams {
            release_ms: 50.0,
            ..LimiterParams::default()
        };
        let y = run(p, fs, vec![x.clone()], 512);
        let start = 4800 + (0.25 * fs) as usize + 200;
        let g = y[0][start..start + 2000]
            .iter()
            .zip(&x[start..start + 2000])
            .filter(|(_, b)| b.abs() > 0.3)
            .map(|(a, b)| a / b)
            .fold(f64::INFINITY, f64::min);
        assert!(gain_to_db(g) > -0.1, "gain after release {g}");
    }

    /// Shared contract check (`test_util::assert_block_independent`):
    /// blocks of 1, 64, 4096 and pseudo-random sizes give bit-identical
    /// output, `reset` reproduces the first run, `process` never allocates.
    #[test]
    fn processor_contract() {
        crate::test_util::assert_block_independent(
            || {
                TruePeakLimiter::new(
                    LimiterParams {
                        ceiling_dbtp: -6.0,
                        ..LimiterParams::default()
                    },
                    48_000.0,
                    2,
                )
            },
            48_000.0,
            2,
        );
    }

    /// Skipping detection where the bound proves the peak is below the
    /// target gives bitwise the output of evaluating every point (a signal
    /// alternating between quiet passages and +10 dB overs).
    #[test]
    fn detection_skip_is_exact() {
        let fs = 48_000.0;
        let x: Vec<f64> = crate::test_util::noise(60_000, 5)
            .iter()
            .enumerate()
            .map(|(i, v)| v * if (i / 5000) % 2 == 0 { 0.2 } else { 3.0 })
            .collect();
        let p = LimiterParams::default();
        let mut a = vec![x.clone(), x.iter().map(|v| 0.7 * v).collect()];
        let mut b = a.clone();
        let mut l = TruePeakLimiter::new(p, fs, 2);
        process_in_blocks(&mut l, &mut a, 512);
        let mut l = TruePeakLimiter::new(p, fs, 2);
        l.detector.skip = false;
        process_in_blocks(&mut l, &mut b, 512);
        assert_eq!(a, b);
    }

    /// Reference: the 4x+8x detector evaluated everywhere (threshold 0).
    /// Per frame its value is the larger of a 4x detector's and the finer
    /// points' alone ([`PeakDetector::finer_only`]), bit for bit, also with
    /// skipping at a threshold (where the finer value is exact above it).
    #[test]
    fn finer_only_completes_the_4x_points() {
        let x: Vec<f64> = crate::test_util::noise(20_000, 3)
            .iter()
            .enumerate()
            .map(|(i, v)| v * if (i / 2000) % 2 == 0 { 0.1 } else { 1.5 })
            .collect();
        let y: Vec<f64> = x.iter().map(|v| -0.8 * v).collect();
        let (mut full, mut four, mut finer, mut skipped) = (
            PeakDetector::new(8, 2),
            PeakDetector::new(4, 2),
            PeakDetector::finer_only(8, 2),
            PeakDetector::finer_only(8, 2),
        );
        let (mut a, mut b, mut c, mut d) = (
            [0.0; STRETCH],
            [0.0; STRETCH],
            [0.0; STRETCH],
            [0.0; STRETCH],
        );
        for start in (0..x.len()).step_by(200) {
            let end = (start + 200).min(x.len());
            let block = [&x[start..end], &y[start..end]];
            let m = end - start;
            full.detect(&block, 0.0, &mut a);
            four.detect(&block, 0.0, &mut b);
            finer.detect(&block, 0.0, &mut c);
            skipped.detect(&block, 0.5, &mut d);
            for k in 0..m {
                assert_eq!(
                    a[k].to_bits(),
                    b[k].max(c[k]).to_bits(),
                    "frame {}",
                    start + k
                );
                assert!(d[k].to_bits() == c[k].to_bits() || (d[k] == 0.0 && c[k] <= 0.5));
            }
        }
    }

    /// The stretch-wise vectorised detection gives bitwise the output of
    /// the per-frame definition: every frame's peak is the largest
    /// `|Upsampler::push_peak|` of the 4× and 8× interpolators (16 taps per
    /// phase) over channels, then the same gain computer and delay line.
    #[test]
    fn matches_per_frame_reference() {
        let fs = 48_000.0;
        let x: Vec<f64> = crate::test_util::noise(30_000, 9)
            .iter()
            .enumerate()
            .map(|(i, v)| v * if (i / 3000) % 2 == 0 { 0.3 } else { 2.5 })
            .collect();
        let chans = vec![x.clone(), x.iter().map(|v| -0.6 * v).collect::<Vec<f64>>()];
        let p = LimiterParams::default();
        // reference
        let mut up4 = Upsampler::new(4, 16, 2);
        let mut up8 = Upsampler::new(8, 16, 2);
        let mut gc = GainComputer::new(&p, fs);
        let target = TruePeakLimiter::target_for(&p);
        let delay = TruePeakLimiter::delay_for(&p, fs);
        let mut line = vec![vec![0.0; delay + 1]; 2];
        let mut pos = 0;
        let mut want = chans.clone();
        for i in 0..x.len() {
            up4.advance();
            up8.advance();
            let mut peak = 0.0f64;
            for (ch, c) in chans.iter().enumerate() {
                peak = peak.max(up4.push_peak(ch, c[i]));
                peak = peak.max(up8.push_peak(ch, c[i]));
            }
            let g = gc.push(required_gain(peak, target, target, 1.0));
            let read = (pos + 1) % (delay + 1);
            for (ch, c) in chans.iter().enumerate() {
                line[ch][pos] = c[i];
                want[ch][i] = line[ch][read] * g;
            }
            pos = read;
        }
        let mut l = TruePeakLimiter::new(p, fs, 2);
        let mut got = chans.clone();
        process_in_blocks(&mut l, &mut got, 1000);
        assert_eq!(got, want);
    }

    /// An input gain `g` limits like the limiter given `g · x` (to rounding:
    /// detection is scaled instead of run on the scaled signal), and an
    /// input gain of 1 is bitwise the plain limiter.
    #[test]
    fn input_gain_equals_scaled_input() {
        let fs = 44_100.0;
        let x = crate::test_util::noise(20_000, 3);
        let p = LimiterParams::default();
        let g = 3.7;
        let mut a = vec![x.iter().map(|v| v * g).collect::<Vec<f64>>()];
        let mut l = TruePeakLimiter::new(p, fs, 1);
        process_in_blocks(&mut l, &mut a, 512);
        let mut b = vec![x.clone()];
        let mut l = TruePeakLimiter::new(p, fs, 1);
        l.set_input_gain(g);
        process_in_blocks(&mut l, &mut b, 512);
        let err = a[0]
            .iter()
            .zip(&b[0])
            .fold(0.0f64, |m, (u, v)| m.max((u - v).abs()));
        assert!(err < 1e-12, "max difference {err}");
        let mut c = vec![x.clone()];
        let mut l = TruePeakLimiter::new(p, fs, 1);
        l.set_input_gain(1.0);
        process_in_blocks(&mut l, &mut c, 512);
        let mut d = vec![x];
        let mut l = TruePeakLimiter::new(p, fs, 1);
        process_in_blocks(&mut l, &mut d, 512);
        assert_eq!(c, d);
    }
}
