//! Linear-phase FIR equaliser.
//!
//! Design by frequency sampling (e.g. Oppenheim & Schafer, "Discrete-Time
//! Signal Processing", §7.6 and window method §7.5): the desired magnitude —
//! band gains in dB interpolated linearly over log frequency, held flat
//! beyond the first and last point — is sampled on a fine grid with zero
//! phase, inverse-transformed to a real even impulse response, centred,
//! truncated to `taps` (odd) and weighted by a Blackman window. The filter is
//! symmetric, hence exactly linear phase with a group delay of
//! `(taps − 1)/2` samples.
//!
//! Filtering is FFT overlap-save (realfft) on fixed internal blocks of
//! `hop` samples, so the output does not depend on the caller's block sizes;
//! the internal block adds `hop` samples to the filter's delay:
//! [`Processor::latency_samples`] reports `(taps − 1)/2 + hop`.

use crate::processor::{Processor, MAX_CHANNELS};
use realfft::num_complex::Complex;
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use std::f64::consts::PI;
use std::sync::{Arc, Mutex};

/// One point of the EQ curve.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EqPoint {
    pub freq_hz: f64,
    pub gain_db: f64,
}

/// The designed gain in dB at `freq_hz` for `points` (sorted by frequency
/// internally): linear in log-frequency between points, flat outside.
pub fn curve_db(points: &[EqPoint], freq_hz: f64) -> f64 {
    let mut p: Vec<EqPoint> = points.to_vec();
    p.sort_by(|a, b| a.freq_hz.total_cmp(&b.freq_hz));
    curve_sorted(&p, freq_hz)
}

fn curve_sorted(p: &[EqPoint], freq_hz: f64) -> f64 {
    match p {
        [] => 0.0,
        [only] => only.gain_db,
        _ => {
            if freq_hz <= p[0].freq_hz {
                return p[0].gain_db;
            }
            if freq_hz >= p[p.len() - 1].freq_hz {
                return p[p.len() - 1].gain_db;
            }
            let i = p
                .iter()
                .position(|q| q.freq_hz >= freq_hz)
                .unwrap_or(1)
                .max(1);
            let (a, b) = (p[i - 1], p[i]);
            let t = (freq_hz / a.freq_hz).ln() / (b.freq_hz / a.freq_hz).ln();
            a.gain_db + t * (b.gain_db - a.gain_db)
        }
    }
}

/// Designs the `taps`-long (made odd) linear-phase impulse response.
///
/// A design kept by [`Designer::design_kept`] or by an earlier call of
/// this function for the same points, length and rate is returned without
/// designing again (the same taps bit for bit: the design is
/// deterministic).
pub fn design(points: &[EqPoint], taps: usize, sample_rate_hz: f64) -> Vec<f64> {
    design_on_grid(points, taps, sample_rate_hz, DESIGN_GRID)
}

/// Grid length over filter length of [`design`] (before rounding up to a
/// power of two).
pub const DESIGN_GRID: usize = 8;

/// As [`design`] on a frequency-sampling grid of
/// `(grid_over_taps · taps).next_power_of_two()` points (`grid_over_taps`
/// ≥ 2; [`design`] uses [`DESIGN_GRID`]): a coarser grid costs less and
/// aliases more of the ideal response's tails into the taps. Kept designs
/// are told apart by their grid.
pub fn design_on_grid(
    points: &[EqPoint],
    taps: usize,
    sample_rate_hz: f64,
    grid_over_taps: usize,
) -> Vec<f64> {
    let key = DesignKey::new(points, taps, sample_rate_hz, grid_over_taps);
    if let Some(h) = key.lookup() {
        return h;
    }
    let h = Designer::with_grid(points, taps, sample_rate_hz, grid_over_taps).design(points);
    key.keep(&h);
    h
}

/// Designs kept for [`design`] (the last [`KEPT_DESIGNS`], oldest dropped).
static KEPT: Mutex<Vec<(DesignKey, Arc<[f64]>)>> = Mutex::new(Vec::new());

/// How many designs [`design`] keeps (at 48 kHz a match FIR of 16383 taps
/// is 131 kB).
pub const KEPT_DESIGNS: usize = 8;

/// What a design depends on, bit for bit.
#[derive(Clone, PartialEq)]
struct DesignKey {
    taps: usize,
    grid: usize,
    rate: u64,
    points: Vec<(u64, u64)>,
}

impl DesignKey {
    fn new(points: &[EqPoint], taps: usize, sample_rate_hz: f64, grid_over_taps: usize) -> Self {
        Self {
            taps: taps.max(3) | 1,
            grid: grid_over_taps,
            rate: sample_rate_hz.to_bits(),
            points: points
                .iter()
                .map(|p| (p.freq_hz.to_bits(), p.gain_db.to_bits()))
                .collect(),
        }
    }

    fn lookup(&self) -> Option<Vec<f64>> {
        let kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        kept.iter()
            .find(|(k, _)| k == self)
            .map(|(_, h)| h.to_vec())
    }

    fn keep(self, h: &[f64]) {
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        if kept.iter().any(|(k, _)| *k == self) {
            return;
        }
        if kept.len() >= KEPT_DESIGNS {
            kept.remove(0);
        }
        kept.push((self, h.into()));
    }
}

/// The frequency-sampling designer behind [`design`], for designing many
/// point sets that differ only in their gains (e.g. an iterative fit):
/// what does not depend on the gains is computed once (the inverse FFT's
/// plan, the window, each grid bin's interpolation interval and position),
/// and each `10^(dB/20)` once per run of equal values. [`design`] is a
/// fresh designer's first design, so both give the same taps bit for bit.
pub struct Designer {
    taps: usize,
    grid_over_taps: usize,
    grid: usize,
    c2r: Arc<dyn ComplexToReal<f64>>,
    /// Frequencies of the points, sorted as `design` sorts them.
    freqs: Vec<f64>,
    /// Index of each sorted point in the caller's order.
    order: Vec<usize>,
    /// Per grid bin: where its gain comes from.
    at: Vec<Interp>,
    window: Vec<f64>,
    spec: Vec<Complex<f64>>,
    h0: Vec<f64>,
    sorted: Vec<EqPoint>,
    sample_rate_hz: f64,
}

#[derive(Clone, Copy)]
enum Interp {
    Zero,
    Point(usize),
    Between(usize, f64),
}

impl Designer {
    /// A designer for the frequencies of `points` (their gains are not
    /// used), `taps` long (made odd, ≥ 3), at `sample_rate_hz` (Hz).
    pub fn new(points: &[EqPoint], taps: usize, sample_rate_hz: f64) -> Self {
        Self::with_grid(points, taps, sample_rate_hz, DESIGN_GRID)
    }

    /// As [`Designer::new`] on the grid of [`design_on_grid`].
    pub fn with_grid(
        points: &[EqPoint],
        taps: usize,
        sample_rate_hz: f64,
        grid_over_taps: usize,
    ) -> Self {
        let taps = taps.max(3) | 1;
        let grid_over_taps = grid_over_taps.max(2);
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by(|&a, &b| points[a].freq_hz.total_cmp(&points[b].freq_hz));
        let freqs: Vec<f64> = order.iter().map(|&i| points[i].freq_hz).collect();
        let grid = (taps * grid_over_taps).next_power_of_two();
        let mut planner = RealFftPlanner::<f64>::new();
        let c2r = planner.plan_fft_inverse(grid);
        let spec = c2r.make_input_vec();
        let at = (0..spec.len())
            .map(|k| {
                let f = (k as f64 * sample_rate_hz / grid as f64).max(1.0);
                // the cases of `curve_sorted`
                match freqs.len() {
                    0 => Interp::Zero,
                    1 => Interp::Point(0),
                    n => {
                        if f <= freqs[0] {
                            Interp::Point(0)
                        } else if f >= freqs[n - 1] {
                            Interp::Point(n - 1)
                        } else {
                            let i = freqs.iter().position(|&q| q >= f).unwrap_or(1).max(1);
                            let (a, b) = (freqs[i - 1], freqs[i]);
                            Interp::Between(i, (f / a).ln() / (b / a).ln())
                        }
                    }
                }
            })
            .collect();
        let window = (0..taps)
            .map(|n| {
                0.42 - 0.5 * (2.0 * PI * n as f64 / (taps - 1) as f64).cos()
                    + 0.08 * (4.0 * PI * n as f64 / (taps - 1) as f64).cos()
            })
            .collect();
        let h0 = c2r.make_output_vec();
        Self {
            taps,
            grid_over_taps,
            grid,
            c2r,
            freqs,
            order,
            at,
            window,
            spec,
            h0,
            sorted: Vec::new(),
            sample_rate_hz,
        }
    }

    /// As [`Designer::design`], and keeps the taps for [`design`] (e.g. a
    /// fit's final design, which a filter of the same points then reuses).
    pub fn design_kept(&mut self, points: &[EqPoint]) -> Vec<f64> {
        let h = self.design(points);
        DesignKey::new(points, self.taps, self.sample_rate_hz, self.grid_over_taps).keep(&h);
        h
    }

    /// The impulse response for `points`: the frequencies given to
    /// [`Designer::new`], in the same order, with any gains (dB).
    pub fn design(&mut self, points: &[EqPoint]) -> Vec<f64> {
        self.sorted.clear();
        self.sorted.extend(self.order.iter().map(|&i| points[i]));
        debug_assert!(self
            .sorted
            .iter()
            .zip(&self.freqs)
            .all(|(p, f)| p.freq_hz.to_bits() == f.to_bits()));
        let p = &self.sorted;
        let mut last = (f64::NAN, 0.0);
        for (s, at) in self.spec.iter_mut().zip(&self.at) {
            let db = match *at {
                Interp::Zero => 0.0,
                Interp::Point(i) => p[i].gain_db,
                Interp::Between(i, t) => {
                    let (a, b) = (p[i - 1], p[i]);
                    a.gain_db + t * (b.gain_db - a.gain_db)
                }
            };
            if db.to_bits() != last.0.to_bits() {
                last = (db, 10f64.powf(db / 20.0));
            }
            *s = Complex::new(last.1, 0.0);
        }
        self.c2r
            .process(&mut self.spec, &mut self.h0)
            .expect("inverse FFT sizes");
        let c = (self.taps - 1) / 2;
        let grid = self.grid;
        (0..self.taps)
            .map(|n| {
                let k = (n + grid - c) % grid;
                self.h0[k] / grid as f64 * self.window[n]
            })
            .collect()
    }
}

/// FFT length over filter length of [`LinearPhaseEq::from_taps`] (before
/// rounding up to a power of two). Overlap-save costs about
/// `2 · L log2 L / (L − taps + 1)` per sample on FFTs of `L` points: 4
/// (L = 65536 for 16383 taps, hop 49154) needs about 30 % fewer
/// operations per sample than 2 (L = 32768, hop 16386), for three times
/// the block latency.
pub const FFT_OVER_TAPS: usize = 4;

/// Streaming linear-phase FIR EQ (see the module documentation).
pub struct LinearPhaseEq {
    taps: Vec<f64>,
    fft_len: usize,
    hop: usize,
    kernel: Vec<Complex<f64>>,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    /// Per channel: `taps − 1` past inputs then `hop` new ones (the
    /// forward FFT's input, which it overwrites).
    input: Vec<Vec<f64>>,
    /// Per channel: the next block's input buffer, its first `taps − 1`
    /// samples copied from `input` before the transform (then swapped).
    spare: Vec<Vec<f64>>,
    /// Per channel: the inverse FFT of the last computed block; its outputs
    /// are `[taps − 1..]`.
    output: Vec<Vec<f64>>,
    pos: usize,
    freq: Vec<Complex<f64>>,
    scratch_f: Vec<Complex<f64>>,
    scratch_i: Vec<Complex<f64>>,
}

impl std::fmt::Debug for LinearPhaseEq {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinearPhaseEq")
            .field("taps", &self.taps.len())
            .field("fft_len", &self.fft_len)
            .finish()
    }
}

impl LinearPhaseEq {
    /// An EQ for `points` with `taps` (made odd) taps, `channels` ≤ 8.
    pub fn new(points: &[EqPoint], taps: usize, sample_rate_hz: f64, channels: usize) -> Self {
        Self::from_taps(design(points, taps, sample_rate_hz), channels)
    }

    /// An overlap-save convolver for the impulse response `taps`, on FFTs
    /// of `(FFT_OVER_TAPS · taps).next_power_of_two()` points.
    pub fn from_taps(taps: Vec<f64>, channels: usize) -> Self {
        let fft_len = (FFT_OVER_TAPS * taps.len()).next_power_of_two();
        Self::with_fft_len(taps, channels, fft_len)
    }

    /// As [`Self::from_taps`] on FFTs of `fft_len` points (a power of two,
    /// at least `2 · taps.len()` rounded up to one).
    ///
    /// # Panics
    /// If `fft_len` is not such a power of two, or `channels` is not 1–8.
    pub fn with_fft_len(taps: Vec<f64>, channels: usize, fft_len: usize) -> Self {
        assert!((1..=MAX_CHANNELS).contains(&channels));
        let n = taps.len();
        assert!(
            fft_len.is_power_of_two() && fft_len >= (2 * n).next_power_of_two(),
            "FFT length {fft_len} for {n} taps"
        );
        let hop = fft_len - n + 1;
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(fft_len);
        let c2r = planner.plan_fft_inverse(fft_len);
        let mut time = r2c.make_input_vec();
        time[..n].copy_from_slice(&taps);
        // normalise the inverse FFT here
        time.iter_mut().for_each(|v| *v /= fft_len as f64);
        let mut kernel = r2c.make_output_vec();
        r2c.process(&mut time, &mut kernel).expect("FFT sizes");
        Self {
            taps,
            fft_len,
            hop,
            kernel,
            input: vec![vec![0.0; fft_len]; channels],
            spare: vec![vec![0.0; fft_len]; channels],
            output: vec![vec![0.0; fft_len]; channels],
            pos: 0,
            freq: r2c.make_output_vec(),
            scratch_f: r2c.make_scratch_vec(),
            scratch_i: c2r.make_scratch_vec(),
            r2c,
            c2r,
        }
    }

    /// The impulse response.
    pub fn taps(&self) -> &[f64] {
        &self.taps
    }

    /// Group delay of the filter alone, `(taps − 1)/2` samples.
    pub fn filter_delay_samples(&self) -> usize {
        (self.taps.len() - 1) / 2
    }

    fn compute_block(&mut self) {
        let n = self.taps.len();
        for ch in 0..self.input.len() {
            // the overlap goes to the next block's buffer before the
            // transform overwrites this one
            self.spare[ch][..n - 1].copy_from_slice(&self.input[ch][self.hop..]);
            self.r2c
                .process_with_scratch(&mut self.input[ch], &mut self.freq, &mut self.scratch_f)
                .expect("FFT sizes");
            for (f, k) in self.freq.iter_mut().zip(&self.kernel) {
                *f *= *k;
            }
            let last = self.freq.len() - 1;
            self.freq[0].im = 0.0;
            self.freq[last].im = 0.0;
            self.c2r
                .process_with_scratch(&mut self.freq, &mut self.output[ch], &mut self.scratch_i)
                .expect("FFT sizes");
            std::mem::swap(&mut self.input[ch], &mut self.spare[ch]);
        }
    }
}

impl Processor for LinearPhaseEq {
    fn prepare(&mut self, _sample_rate_hz: f64, channels: usize, _max_block: usize) {
        if channels != self.input.len() {
            *self = Self::with_fft_len(self.taps.clone(), channels, self.fft_len);
        }
        self.reset();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let len = block.first().map_or(0, |c| c.len());
        let n = self.taps.len();
        let mut i = 0;
        while i < len {
            let take = (self.hop - self.pos).min(len - i);
            for (ch, c) in block.iter_mut().enumerate() {
                let inp = &mut self.input[ch][n - 1 + self.pos..n - 1 + self.pos + take];
                inp.copy_from_slice(&c[i..i + take]);
                c[i..i + take]
                    .copy_from_slice(&self.output[ch][n - 1 + self.pos..n - 1 + self.pos + take]);
            }
            self.pos += take;
            i += take;
            if self.pos == self.hop {
                self.compute_block();
                self.pos = 0;
            }
        }
    }

    fn latency_samples(&self) -> usize {
        self.filter_delay_samples() + self.hop
    }

    fn reset(&mut self) {
        self.input.iter_mut().for_each(|v| v.fill(0.0));
        self.spare.iter_mut().for_each(|v| v.fill(0.0));
        self.output.iter_mut().for_each(|v| v.fill(0.0));
        self.pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::process_in_blocks;

    fn points() -> Vec<EqPoint> {
        vec![
            EqPoint {
                freq_hz: 100.0,
                gain_db: 3.0,
            },
            EqPoint {
                freq_hz: 1000.0,
                gain_db: 0.0,
            },
            EqPoint {
                freq_hz: 4000.0,
                gain_db: -2.0,
            },
            EqPoint {
                freq_hz: 12_000.0,
                gain_db: 1.5,
            },
        ]
    }

    /// Direct frequency sampling, every grid bin through `curve_sorted`
    /// (the design written out without the designer's caching).
    fn reference_design(points: &[EqPoint], taps: usize, fs: f64) -> Vec<f64> {
        let taps = taps.max(3) | 1;
        let mut p: Vec<EqPoint> = points.to_vec();
        p.sort_by(|a, b| a.freq_hz.total_cmp(&b.freq_hz));
        let grid = (taps * 8).next_power_of_two();
        let c2r = RealFftPlanner::<f64>::new().plan_fft_inverse(grid);
        let mut spec = c2r.make_input_vec();
        for (k, s) in spec.iter_mut().enumerate() {
            let f = k as f64 * fs / grid as f64;
            *s = Complex::new(10f64.powf(curve_sorted(&p, f.max(1.0)) / 20.0), 0.0);
        }
        let mut h0 = c2r.make_output_vec();
        c2r.process(&mut spec, &mut h0).unwrap();
        let c = (taps - 1) / 2;
        (0..taps)
            .map(|n| {
                let k = (n + grid - c) % grid;
                let w = 0.42 - 0.5 * (2.0 * PI * n as f64 / (taps - 1) as f64).cos()
                    + 0.08 * (4.0 * PI * n as f64 / (taps - 1) as f64).cos();
                h0[k] / grid as f64 * w
            })
            .collect()
    }

    /// Reference: [`reference_design`]. One [`Designer`] reused over three
    /// gain sets (flat runs included, points unsorted), at 48 and 44.1 kHz,
    /// gives its taps bit for bit, as does [`design`].
    #[test]
    fn designer_equals_direct_design() {
        for fs in [48_000.0, 44_100.0] {
            let mut points: Vec<EqPoint> = (0..31)
                .map(|i| EqPoint {
                    freq_hz: 20.0 * 2f64.powf(i as f64 / 3.0),
                    gain_db: 0.0,
                })
                .collect();
            points.swap(3, 7);
            let taps = 2047;
            let mut d = Designer::new(&points, taps, fs);
            for round in 0..3 {
                for (i, p) in points.iter_mut().enumerate() {
                    p.gain_db = if i % 5 == 0 {
                        0.0
                    } else {
                        ((i * 7 + round * 3) % 11) as f64 * 0.7 - 3.0
                    };
                }
                let want = reference_design(&points, taps, fs);
                for got in [d.design(&points), design(&points, taps, fs)] {
                    assert_eq!(want.len(), got.len());
                    assert!(
                        want.iter()
                            .zip(&got)
                            .all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{fs} Hz, round {round}"
                    );
                }
            }
        }
    }

    /// Reference: [`reference_design`]. A design kept by
    /// [`Designer::design_kept`] is what [`design`] returns for the same
    /// points (bit for bit), called twice; other gains, rates or lengths
    /// are designed afresh (also bit for bit).
    #[test]
    fn kept_design_is_the_fresh_design() {
        let fs = 48_000.0;
        let mut p = points();
        p[1].gain_db = 1.234_567;
        let taps = 1023;
        let kept = Designer::new(&p, taps, fs).design_kept(&p);
        let same = |a: &[f64], b: &[f64]| {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
        };
        let want = reference_design(&p, taps, fs);
        assert!(same(&kept, &want));
        assert!(same(&design(&p, taps, fs), &want));
        assert!(same(&design(&p, taps, fs), &want));
        assert!(same(
            &design(&p, taps, 44_100.0),
            &reference_design(&p, taps, 44_100.0)
        ));
        assert!(same(&design(&p, 511, fs), &reference_design(&p, 511, fs)));
        p[1].gain_db = -2.0;
        assert!(same(&design(&p, taps, fs), &reference_design(&p, taps, fs)));
    }

    /// Reference: the designed curve. The magnitude of the taps' DTFT lies
    /// within 0.1 dB of it from 150 Hz to 20 kHz (4095 taps at 48 kHz;
    /// the window's resolution, about 3·fs/N ≈ 35 Hz, limits accuracy only
    /// where the curve bends); the taps are symmetric (linear phase).
    #[test]
    fn magnitude_follows_design() {
        let fs = 48_000.0;
        let p = points();
        let h = design(&p, 4095, fs);
        let n = h.len();
        for i in 0..n / 2 {
            assert!((h[i] - h[n - 1 - i]).abs() < 1e-15, "asymmetric at {i}");
        }
        let mut f = 150.0;
        while f < 20_000.0 {
            let w = 2.0 * PI * f / fs;
            let (mut re, mut im) = (0.0, 0.0);
            for (k, v) in h.iter().enumerate() {
                re += v * (w * k as f64).cos();
                im -= v * (w * k as f64).sin();
            }
            let got = 10.0 * (re * re + im * im).log10();
            let want = curve_db(&p, f);
            assert!((got - want).abs() < 0.1, "{f} Hz: {got} vs {want}");
            f *= 1.1;
        }
    }

    /// Streaming convolution equals direct convolution (within 1e-12) and
    /// is bitwise independent of the block partition (1, 64, 4096, 1000);
    /// the reported latency aligns an impulse with the centre tap.
    #[test]
    fn streaming_matches_direct_and_partition() {
        let fs = 48_000.0;
        let h = design(&points(), 255, fs);
        let n = 3000;
        let x: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 101) as f64 / 100.0 - 0.5)
            .collect();
        let mut outs = Vec::new();
        for b in [4096usize, 1, 64, 1000] {
            let mut eq = LinearPhaseEq::from_taps(h.clone(), 1);
            let mut y = vec![x.clone()];
            process_in_blocks(&mut eq, &mut y, b);
            outs.push(y);
        }
        assert!(outs.windows(2).all(|w| w[0] == w[1]));
        let eq = LinearPhaseEq::from_taps(h.clone(), 1);
        let hop = eq.latency_samples() - eq.filter_delay_samples();
        for t in hop..n {
            let direct: f64 = (0..h.len())
                .filter(|&k| t - hop >= k)
                .map(|k| h[k] * x[t - hop - k])
                .sum();
            assert!((outs[0][0][t] - direct).abs() < 1e-12, "sample {t}");
        }
        let mut eq = LinearPhaseEq::from_taps(h.clone(), 1);
        let lat = eq.latency_samples();
        let mut imp = vec![vec![0.0; lat + 10]];
        imp[0][0] = 1.0;
        process_in_blocks(&mut eq, &mut imp, 17);
        let centre = h[(h.len() - 1) / 2];
        assert!((imp[0][lat] - centre).abs() < 1e-12);
    }

    /// Shared contract check (`test_util::assert_block_independent`):
    /// blocks of 1, 64, 4096 and pseudo-random sizes give bit-identical
    /// output, `reset` reproduces the first run, `process` never allocates.
    #[test]
    fn processor_contract() {
        crate::test_util::assert_block_independent(
            || LinearPhaseEq::new(&points(), 511, 48_000.0, 2),
            48_000.0,
            2,
        );
    }
}
