//! Linkwitz–Riley crossovers (S. H. Linkwitz, "Active crossover networks for
//! noncoincident drivers", J. Audio Eng. Soc. 24(1), 1976): the 4th-order
//! Linkwitz–Riley ("LR4") low / high pair is two cascaded 2nd-order
//! Butterworth sections (`Q = 1/sqrt(2)`, the RBJ cookbook low-pass /
//! high-pass of [`crate::biquad`], bilinear transform prewarped at the
//! crossover). Both outputs are -6.02 dB and in phase at the crossover, and
//! their sum is the 2nd-order all-pass `(s^2 - sqrt(2) s + 1) / (s^2 +
//! sqrt(2) s + 1)` (the RBJ all-pass with the same Q), so the bands sum flat
//! in magnitude.
//!
//! [`Lr4Filter`] is one side of the pair as a stand-alone filter.
//!
//! N bands (2..=[`MAX_BANDS`]) are split sequentially, lowest crossover
//! first; band `k` then passes through the all-passes of the crossovers
//! above it (`k + 1 ..`) so every band carries the same total phase and the
//! sum is the product of all the all-passes (flat magnitude).

use crate::biquad::{BiquadCoeffs, BiquadState, FilterKind};
use crate::processor::{Processor, MAX_CHANNELS};
use std::f64::consts::FRAC_1_SQRT_2;

/// Most bands a [`Crossover`] splits into.
pub const MAX_BANDS: usize = 6;

/// Complex product.
#[inline]
fn cmul(a: (f64, f64), b: (f64, f64)) -> (f64, f64) {
    (a.0 * b.0 - a.1 * b.1, a.0 * b.1 + a.1 * b.0)
}

/// Coefficients of one LR4 crossover point.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lr4Coeffs {
    /// 2nd-order Butterworth low-pass (applied twice).
    pub lp: BiquadCoeffs,
    /// 2nd-order Butterworth high-pass (applied twice).
    pub hp: BiquadCoeffs,
    /// The all-pass equal to the low + high sum (phase compensation).
    pub ap: BiquadCoeffs,
}

impl Lr4Coeffs {
    /// Crossover at `freq_hz` (clamped below Nyquist) at `sample_rate_hz`.
    pub fn new(freq_hz: f64, sample_rate_hz: f64) -> Self {
        let q = FRAC_1_SQRT_2;
        Self {
            lp: BiquadCoeffs::rbj(FilterKind::LowPass, freq_hz, q, 0.0, sample_rate_hz),
            hp: BiquadCoeffs::rbj(FilterKind::HighPass, freq_hz, q, 0.0, sample_rate_hz),
            ap: BiquadCoeffs::rbj(FilterKind::AllPass, freq_hz, q, 0.0, sample_rate_hz),
        }
    }

    /// Analytic response `(re, im)` of the low output at `freq_hz`.
    pub fn low_response(&self, freq_hz: f64, sample_rate_hz: f64) -> (f64, f64) {
        let h = self.lp.response(freq_hz, sample_rate_hz);
        cmul(h, h)
    }

    /// Analytic response `(re, im)` of the high output at `freq_hz`.
    pub fn high_response(&self, freq_hz: f64, sample_rate_hz: f64) -> (f64, f64) {
        let h = self.hp.response(freq_hz, sample_rate_hz);
        cmul(h, h)
    }
}

/// State of one LR4 split for one channel.
#[derive(Clone, Copy, Debug, Default)]
struct Lr4State {
    lp: [BiquadState; 2],
    hp: [BiquadState; 2],
}

/// A two-band LR4 split for up to [`MAX_CHANNELS`] channels.
#[derive(Clone, Debug)]
pub struct Lr4Split {
    c: Lr4Coeffs,
    st: [Lr4State; MAX_CHANNELS],
}

impl Lr4Split {
    pub fn new(freq_hz: f64, sample_rate_hz: f64) -> Self {
        Self {
            c: Lr4Coeffs::new(freq_hz, sample_rate_hz),
            st: [Lr4State::default(); MAX_CHANNELS],
        }
    }

    pub fn coeffs(&self) -> &Lr4Coeffs {
        &self.c
    }

    /// Moves the crossover, keeping the filter state (for automation).
    pub fn set_freq(&mut self, freq_hz: f64, sample_rate_hz: f64) {
        self.c = Lr4Coeffs::new(freq_hz, sample_rate_hz);
    }

    /// Splits one sample of channel `ch` into `(low, high)`.
    #[inline]
    pub fn split(&mut self, ch: usize, x: f64) -> (f64, f64) {
        let s = &mut self.st[ch];
        let lo = s.lp[0].tick(&self.c.lp, x);
        let lo = s.lp[1].tick(&self.c.lp, lo);
        let hi = s.hp[0].tick(&self.c.hp, x);
        let hi = s.hp[1].tick(&self.c.hp, hi);
        (lo, hi)
    }

    pub fn reset(&mut self) {
        self.st = [Lr4State::default(); MAX_CHANNELS];
    }
}

/// A single LR4 low-pass or high-pass (24 dB/octave, -6.02 dB at
/// `freq_hz`) for up to [`MAX_CHANNELS`] channels: one side of an
/// [`Lr4Split`], e.g. to mono the side channel below a frequency.
#[derive(Clone, Debug)]
pub struct Lr4Filter {
    high_pass: bool,
    freq_hz: f64,
    c: BiquadCoeffs,
    st: [[BiquadState; 2]; MAX_CHANNELS],
}

impl Lr4Filter {
    /// An LR4 high-pass (`high_pass`) or low-pass at `freq_hz`, designed
    /// for `sample_rate_hz` (re-designed by [`Processor::prepare`]).
    pub fn new(high_pass: bool, freq_hz: f64, sample_rate_hz: f64) -> Self {
        let mut f = Self {
            high_pass,
            freq_hz,
            c: BiquadCoeffs::IDENTITY,
            st: [[BiquadState::default(); 2]; MAX_CHANNELS],
        };
        f.design(sample_rate_hz);
        f
    }

    fn design(&mut self, sample_rate_hz: f64) {
        let kind = if self.high_pass {
            FilterKind::HighPass
        } else {
            FilterKind::LowPass
        };
        self.c = BiquadCoeffs::rbj(kind, self.freq_hz, FRAC_1_SQRT_2, 0.0, sample_rate_hz);
    }

    /// Analytic response `(re, im)` at `freq_hz`.
    pub fn response(&self, freq_hz: f64, sample_rate_hz: f64) -> (f64, f64) {
        let h = self.c.response(freq_hz, sample_rate_hz);
        cmul(h, h)
    }

    /// Filters one sample of channel `ch`.
    #[inline]
    pub fn tick(&mut self, ch: usize, x: f64) -> f64 {
        let s = &mut self.st[ch];
        let y = s[0].tick(&self.c, x);
        s[1].tick(&self.c, y)
    }
}

impl Processor for Lr4Filter {
    fn prepare(&mut self, sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.design(sample_rate_hz);
        self.reset();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        for (ch, chan) in block.iter_mut().enumerate().take(MAX_CHANNELS) {
            for x in chan.iter_mut() {
                *x = self.tick(ch, *x);
            }
        }
    }

    fn reset(&mut self) {
        self.st = [[BiquadState::default(); 2]; MAX_CHANNELS];
    }
}

/// An N-band (2..=[`MAX_BANDS`]) Linkwitz–Riley crossover with all-pass
/// phase compensation, for up to [`MAX_CHANNELS`] channels. Latency 0
/// (IIR; the bands and their sum carry the all-pass phase).
#[derive(Clone, Debug)]
pub struct Crossover {
    fs: f64,
    freqs: Vec<f64>,
    splits: Vec<Lr4Split>,
    /// All-pass states, one per (band k, crossover j > k) pair in the order
    /// `split` visits them, each for every channel.
    ap_state: Vec<[BiquadState; MAX_CHANNELS]>,
}

impl Crossover {
    /// A crossover splitting at `freqs_hz` (1..=`MAX_BANDS - 1` frequencies,
    /// sorted ascending here, clamped to 1 Hz .. 0.49 fs) into
    /// `freqs_hz.len() + 1` bands. Allocates.
    ///
    /// # Panics
    /// If `freqs_hz` is empty or has more than `MAX_BANDS - 1` entries.
    pub fn new(freqs_hz: &[f64], sample_rate_hz: f64) -> Self {
        assert!(
            !freqs_hz.is_empty() && freqs_hz.len() < MAX_BANDS,
            "1..={} crossover frequencies",
            MAX_BANDS - 1
        );
        let freqs = Self::sanitize(freqs_hz, sample_rate_hz);
        let n = freqs.len();
        let splits = freqs
            .iter()
            .map(|&f| Lr4Split::new(f, sample_rate_hz))
            .collect();
        // band k (< n) needs the all-passes of crossovers k+1..n
        let n_ap = (0..n).map(|k| n - 1 - k).sum();
        Self {
            fs: sample_rate_hz,
            freqs,
            splits,
            ap_state: vec![[BiquadState::default(); MAX_CHANNELS]; n_ap],
        }
    }

    fn sanitize(freqs_hz: &[f64], fs: f64) -> Vec<f64> {
        let mut f: Vec<f64> = freqs_hz
            .iter()
            .map(|&f| {
                if f.is_finite() {
                    f.clamp(1.0, 0.49 * fs)
                } else {
                    1000.0f64.min(0.49 * fs)
                }
            })
            .collect();
        f.sort_by(f64::total_cmp);
        f
    }

    /// Number of bands.
    pub fn bands(&self) -> usize {
        self.freqs.len() + 1
    }

    /// The crossover frequencies in Hz, ascending.
    pub fn freqs_hz(&self) -> &[f64] {
        &self.freqs
    }

    /// Moves the crossovers (same count; sorted and clamped), keeping state.
    pub fn set_freqs(&mut self, freqs_hz: &[f64]) {
        assert_eq!(
            freqs_hz.len(),
            self.freqs.len(),
            "same number of crossovers"
        );
        let f = Self::sanitize(freqs_hz, self.fs);
        for ((dst, s), &v) in self.freqs.iter_mut().zip(&mut self.splits).zip(&f) {
            *dst = v;
            s.set_freq(v, self.fs);
        }
    }

    /// Splits one sample `x` of channel `ch` into `bands[..self.bands()]`
    /// (lowest band first).
    #[inline]
    pub fn split(&mut self, ch: usize, x: f64, bands: &mut [f64]) {
        let n = self.freqs.len();
        let mut rest = x;
        let mut ap = 0;
        for (k, out) in bands.iter_mut().enumerate().take(n) {
            let (lo, hi) = self.splits[k].split(ch, rest);
            let mut b = lo;
            for j in k + 1..n {
                b = self.ap_state[ap][ch].tick(&self.splits[j].c.ap, b);
                ap += 1;
            }
            *out = b;
            rest = hi;
        }
        bands[n] = rest;
    }

    /// Analytic response `(re, im)` of band `band` at `freq_hz`.
    pub fn band_response(&self, band: usize, freq_hz: f64) -> (f64, f64) {
        let n = self.freqs.len();
        let fs = self.fs;
        let mut h = (1.0, 0.0);
        for s in &self.splits[..band.min(n)] {
            h = cmul(h, s.c.high_response(freq_hz, fs));
        }
        if band < n {
            h = cmul(h, self.splits[band].c.low_response(freq_hz, fs));
            for s in &self.splits[band + 1..] {
                h = cmul(h, s.c.ap.response(freq_hz, fs));
            }
        }
        h
    }

    /// Analytic response `(re, im)` of the sum of all bands at `freq_hz`.
    pub fn sum_response(&self, freq_hz: f64) -> (f64, f64) {
        (0..self.bands()).fold((0.0, 0.0), |acc, b| {
            let h = self.band_response(b, freq_hz);
            (acc.0 + h.0, acc.1 + h.1)
        })
    }

    /// Clears all filter state.
    pub fn reset(&mut self) {
        self.splits.iter_mut().for_each(Lr4Split::reset);
        self.ap_state
            .iter_mut()
            .for_each(|s| *s = [BiquadState::default(); MAX_CHANNELS]);
    }
}

/// Magnitude in dB of a complex response.
pub fn response_db(h: (f64, f64)) -> f64 {
    10.0 * (h.0 * h.0 + h.1 * h.1).log10()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::*;

    fn log_freqs(n: usize, lo: f64, hi: f64) -> Vec<f64> {
        (0..n)
            .map(|i| lo * (hi / lo).powf(i as f64 / (n - 1) as f64))
            .collect()
    }

    /// Reference: Linkwitz 1976 — LR4 low + high = 2nd-order all-pass, so
    /// |L + H| = 0 dB; analytic responses (`BiquadCoeffs::response`) at 20
    /// log-spaced frequencies 20 Hz .. 0.45 fs, tolerance 0.01 dB (measured
    /// ~1e-13 dB), and L + H equals the RBJ all-pass (1e-9).
    #[test]
    fn lr4_sums_flat() {
        let mut overall = 0.0f64;
        for fs in [8_000.0, 44_100.0, 48_000.0, 384_000.0] {
            for fc in [80.0, 1000.0, 3000.0] {
                let c = Lr4Coeffs::new(fc, fs);
                let mut worst = 0.0f64;
                for f in log_freqs(20, 20.0, 0.45 * fs) {
                    let l = c.low_response(f, fs);
                    let h = c.high_response(f, fs);
                    let s = (l.0 + h.0, l.1 + h.1);
                    worst = worst.max(response_db(s).abs());
                    let ap = c.ap.response(f, fs);
                    let e = (s.0 - ap.0).hypot(s.1 - ap.1);
                    assert!(e < 1e-9, "fs {fs} fc {fc} f {f}: sum - allpass = {e:e}");
                }
                assert!(worst < 0.01, "fs {fs} fc {fc}: {worst}");
                overall = overall.max(worst);
            }
        }
        eprintln!("LR4 |L+H| worst deviation {overall:e} dB");
    }

    /// Reference: LR4 definition — each output is -6.02 dB (|1/2|) at the
    /// crossover and the two are in phase (analytic, 1e-9 dB); 24 dB/oct
    /// asymptotes: the low output two octaves above fc is within 1 dB of
    /// the analog `1/(1 + (f/fc)^4)` (-48.2 dB).
    #[test]
    fn lr4_minus_6_db_at_crossover() {
        let fs = 48_000.0;
        for fc in [100.0, 1000.0, 5000.0] {
            let c = Lr4Coeffs::new(fc, fs);
            let l = c.low_response(fc, fs);
            let h = c.high_response(fc, fs);
            assert!((response_db(l) + 6.020_599_913).abs() < 1e-9);
            assert!((response_db(h) + 6.020_599_913).abs() < 1e-9);
            assert!(
                (l.0 - h.0).abs() < 1e-9 && (l.1 - h.1).abs() < 1e-9,
                "in phase"
            );
        }
        let c = Lr4Coeffs::new(1000.0, fs);
        let analog = -20.0 * (1.0 + 256.0f64).log10();
        assert!((response_db(c.low_response(4000.0, fs)) - analog).abs() < 1.0);
    }

    /// Reference: the all-pass-compensated tree sums to the product of the
    /// crossover all-passes — |sum| = 0 dB within 0.01 dB at 20 frequencies
    /// for 2, 3, 4 and 6 bands (analytic); and the processed bands match
    /// the analytic band responses (measured sine, 0.01 dB) and sum flat
    /// (measured, 0.01 dB).
    #[test]
    fn n_band_sums_flat() {
        let fs = 48_000.0;
        let sets: [&[f64]; 4] = [
            &[1000.0],
            &[200.0, 2000.0],
            &[120.0, 1000.0, 6000.0],
            &[60.0, 250.0, 1000.0, 4000.0, 12000.0],
        ];
        for freqs in sets {
            let x = Crossover::new(freqs, fs);
            let mut worst = 0.0f64;
            for f in log_freqs(20, 20.0, 20_000.0) {
                worst = worst.max(response_db(x.sum_response(f)).abs());
            }
            assert!(worst < 0.01, "{freqs:?}: {worst}");
            eprintln!(
                "{} bands: |sum| worst deviation {worst:e} dB",
                freqs.len() + 1
            );
        }
        // measured, 4 bands
        let mut x = Crossover::new(&[120.0, 1000.0, 6000.0], fs);
        for f in [50.0, 120.0, 440.0, 1000.0, 3000.0, 6000.0, 15_000.0] {
            x.reset();
            let n = 96_000;
            let input = sine(n, f, 1.0, fs);
            let mut bands = vec![vec![0.0; n]; 4];
            let mut sum = vec![0.0; n];
            let mut b = [0.0; MAX_BANDS];
            for (i, &v) in input.iter().enumerate() {
                x.split(0, v, &mut b);
                for (band, &v) in bands.iter_mut().zip(&b) {
                    band[i] = v;
                }
                sum[i] = b[..4].iter().sum();
            }
            let tail = 48_000..n;
            assert!(
                tone_db(&sum[tail.clone()], f, fs).abs() < 0.01,
                "sum at {f}"
            );
            for (k, band) in bands.iter().enumerate() {
                let want = response_db(x.band_response(k, f));
                if want > -60.0 {
                    let got = tone_db(&band[tail.clone()], f, fs);
                    assert!(
                        (got - want).abs() < 0.01,
                        "band {k} at {f}: {got} vs {want}"
                    );
                }
            }
        }
    }

    /// Reference: `Lr4Filter` is one side of the LR4 pair — its analytic
    /// response equals `Lr4Coeffs::{low,high}_response` (1e-15) and its
    /// output matches `Lr4Split` bit for bit; the `Processor` contract
    /// holds (any block partition, 1 and 8 channels).
    #[test]
    fn lr4_filter_is_one_side_of_the_split() {
        let fs = 44_100.0;
        let c = Lr4Coeffs::new(250.0, fs);
        let mut hp = Lr4Filter::new(true, 250.0, fs);
        let mut lp = Lr4Filter::new(false, 250.0, fs);
        for f in [50.0, 250.0, 1000.0] {
            let (a, b) = (hp.response(f, fs), c.high_response(f, fs));
            assert!((a.0 - b.0).abs() < 1e-15 && (a.1 - b.1).abs() < 1e-15);
            let (a, b) = (lp.response(f, fs), c.low_response(f, fs));
            assert!((a.0 - b.0).abs() < 1e-15 && (a.1 - b.1).abs() < 1e-15);
        }
        let mut split = Lr4Split::new(250.0, fs);
        for &x in &noise(2000, 4) {
            let (lo, hi) = split.split(0, x);
            assert_eq!(hp.tick(0, x), hi);
            assert_eq!(lp.tick(0, x), lo);
        }
        for ch in [1, 8] {
            assert_block_independent(|| Lr4Filter::new(true, 120.0, fs), fs, ch);
        }
    }

    /// Reference: per-sample recursion — splitting is independent of how a
    /// caller groups samples, and channels are independent (channel 1 fed
    /// the same signal gives bit-identical bands).
    #[test]
    fn channels_independent() {
        let fs = 44_100.0;
        let mut x = Crossover::new(&[300.0, 3000.0], fs);
        let v = noise(1000, 5);
        let mut a = [0.0; MAX_BANDS];
        let mut b = [0.0; MAX_BANDS];
        for &s in &v {
            x.split(0, s, &mut a);
            x.split(1, s, &mut b);
            assert_eq!(a, b);
        }
    }
}
