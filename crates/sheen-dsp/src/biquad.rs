//! Second-order IIR sections ("biquads") with `f64` state, and the filter
//! designs of R. Bristow-Johnson's "Cookbook formulae for audio EQ biquad
//! filter coefficients" (W3C Audio EQ Cookbook).
//!
//! Transfer function (a0 normalised to 1):
//! `H(z) = (b0 + b1 z^-1 + b2 z^-2) / (1 + a1 z^-1 + a2 z^-2)`.
//! Processing uses the transposed direct form II, which is well behaved in
//! `f64` for the low corner frequencies mastering uses.

use crate::processor::{Processor, MAX_CHANNELS};
use std::f64::consts::PI;

/// Normalised biquad coefficients (`a0 = 1`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BiquadCoeffs {
    pub b0: f64,
    pub b1: f64,
    pub b2: f64,
    pub a1: f64,
    pub a2: f64,
}

/// The kinds of RBJ cookbook filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FilterKind {
    LowPass,
    HighPass,
    /// Band-pass with constant 0 dB peak gain.
    BandPass,
    Notch,
    AllPass,
    /// Peaking EQ ("bell").
    Peak,
    LowShelf,
    HighShelf,
}

impl BiquadCoeffs {
    /// The identity filter (passes the signal unchanged).
    pub const IDENTITY: Self = Self {
        b0: 1.0,
        b1: 0.0,
        b2: 0.0,
        a1: 0.0,
        a2: 0.0,
    };

    /// Builds coefficients from un-normalised `b0..b2`, `a0..a2`.
    pub fn from_raw(b0: f64, b1: f64, b2: f64, a0: f64, a1: f64, a2: f64) -> Self {
        Self {
            b0: b0 / a0,
            b1: b1 / a0,
            b2: b2 / a0,
            a1: a1 / a0,
            a2: a2 / a0,
        }
    }

    /// RBJ cookbook design.
    ///
    /// - `freq_hz`: centre / corner frequency in Hz (clamped below Nyquist);
    /// - `q`: quality factor (for shelves, the cookbook's Q; `1/sqrt(2)` gives
    ///   the steepest shelf without overshoot);
    /// - `gain_db`: gain in dB for `Peak`, `LowShelf`, `HighShelf` (ignored
    ///   otherwise);
    /// - `sample_rate_hz`: in Hz.
    pub fn rbj(kind: FilterKind, freq_hz: f64, q: f64, gain_db: f64, sample_rate_hz: f64) -> Self {
        let f = freq_hz.clamp(1e-3, sample_rate_hz * 0.499_999);
        let w0 = 2.0 * PI * f / sample_rate_hz;
        let (sin_w0, cos_w0) = w0.sin_cos();
        let q = q.max(1e-6);
        let alpha = sin_w0 / (2.0 * q);
        let a = 10f64.powf(gain_db / 40.0);
        match kind {
            FilterKind::LowPass => Self::from_raw(
                (1.0 - cos_w0) / 2.0,
                1.0 - cos_w0,
                (1.0 - cos_w0) / 2.0,
                1.0 + alpha,
                -2.0 * cos_w0,
                1.0 - alpha,
            ),
            FilterKind::HighPass => Self::from_raw(
                (1.0 + cos_w0) / 2.0,
                -(1.0 + cos_w0),
                (1.0 + cos_w0) / 2.0,
                1.0 + alpha,
                -2.0 * cos_w0,
                1.0 - alpha,
            ),
            FilterKind::BandPass => {
                Self::from_raw(alpha, 0.0, -alpha, 1.0 + alpha, -2.0 * cos_w0, 1.0 - alpha)
            }
            FilterKind::Notch => Self::from_raw(
                1.0,
                -2.0 * cos_w0,
                1.0,
                1.0 + alpha,
                -2.0 * cos_w0,
                1.0 - alpha,
            ),
            FilterKind::AllPass => Self::from_raw(
                1.0 - alpha,
                -2.0 * cos_w0,
                1.0 + alpha,
                1.0 + alpha,
                -2.0 * cos_w0,
                1.0 - alpha,
            ),
            FilterKind::Peak => Self::from_raw(
                1.0 + alpha * a,
                -2.0 * cos_w0,
                1.0 - alpha * a,
                1.0 + alpha / a,
                -2.0 * cos_w0,
                1.0 - alpha / a,
            ),
            FilterKind::LowShelf => {
                let k = 2.0 * a.sqrt() * alpha;
                Self::from_raw(
                    a * ((a + 1.0) - (a - 1.0) * cos_w0 + k),
                    2.0 * a * ((a - 1.0) - (a + 1.0) * cos_w0),
                    a * ((a + 1.0) - (a - 1.0) * cos_w0 - k),
                    (a + 1.0) + (a - 1.0) * cos_w0 + k,
                    -2.0 * ((a - 1.0) + (a + 1.0) * cos_w0),
                    (a + 1.0) + (a - 1.0) * cos_w0 - k,
                )
            }
            FilterKind::HighShelf => {
                let k = 2.0 * a.sqrt() * alpha;
                Self::from_raw(
                    a * ((a + 1.0) + (a - 1.0) * cos_w0 + k),
                    -2.0 * a * ((a - 1.0) + (a + 1.0) * cos_w0),
                    a * ((a + 1.0) + (a - 1.0) * cos_w0 - k),
                    (a + 1.0) - (a - 1.0) * cos_w0 + k,
                    2.0 * ((a - 1.0) - (a + 1.0) * cos_w0),
                    (a + 1.0) - (a - 1.0) * cos_w0 - k,
                )
            }
        }
    }

    /// First-order low-pass / high-pass as a biquad (bilinear transform of
    /// `1/(1+s/wc)` and `(s/wc)/(1+s/wc)`, prewarped at `freq_hz`).
    pub fn first_order(high_pass: bool, freq_hz: f64, sample_rate_hz: f64) -> Self {
        let f = freq_hz.clamp(1e-3, sample_rate_hz * 0.499_999);
        let k = (PI * f / sample_rate_hz).tan();
        if high_pass {
            Self::from_raw(1.0, -1.0, 0.0, 1.0 + k, k - 1.0, 0.0)
        } else {
            Self::from_raw(k, k, 0.0, 1.0 + k, k - 1.0, 0.0)
        }
    }

    /// Complex frequency response `H(e^{jw})` at `freq_hz`, as `(re, im)`.
    pub fn response(&self, freq_hz: f64, sample_rate_hz: f64) -> (f64, f64) {
        let w = 2.0 * PI * freq_hz / sample_rate_hz;
        // z^-1 = e^{-jw}
        let (s1, c1) = (-w).sin_cos();
        let (s2, c2) = (-2.0 * w).sin_cos();
        let nr = self.b0 + self.b1 * c1 + self.b2 * c2;
        let ni = self.b1 * s1 + self.b2 * s2;
        let dr = 1.0 + self.a1 * c1 + self.a2 * c2;
        let di = self.a1 * s1 + self.a2 * s2;
        let den = dr * dr + di * di;
        ((nr * dr + ni * di) / den, (ni * dr - nr * di) / den)
    }

    /// Magnitude response in dB at `freq_hz` (analytic, from the coefficients).
    pub fn magnitude_db(&self, freq_hz: f64, sample_rate_hz: f64) -> f64 {
        let (re, im) = self.response(freq_hz, sample_rate_hz);
        10.0 * (re * re + im * im).log10()
    }

    /// Power response `|H(e^{jw})|²` (linear) from `phi = sin²(w/2)`
    /// alone, `w = 2π f / fs`, in the form that stays accurate where the
    /// response is tiny (a high-pass far below its corner):
    /// `|b0 + b1 z + b2 z²|²` is
    /// `(b0 + b1 + b2)² − 4 (b0 b1 + 4 b0 b2 + b1 b2) phi + 16 b0 b2 phi²`,
    /// over the same of `1, a1, a2` (no trigonometry per call, for
    /// responses on dense frequency grids).
    pub fn power_at_phi(&self, phi: f64) -> f64 {
        let quad = |p0: f64, p1: f64, p2: f64| {
            let s = p0 + p1 + p2;
            s * s - 4.0 * (p0 * p1 + 4.0 * p0 * p2 + p1 * p2) * phi + 16.0 * p0 * p2 * phi * phi
        };
        quad(self.b0, self.b1, self.b2) / quad(1.0, self.a1, self.a2)
    }
}

/// State of one biquad for one channel (transposed direct form II).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BiquadState {
    s1: f64,
    s2: f64,
}

impl BiquadState {
    /// Filters one sample.
    #[inline]
    pub fn tick(&mut self, c: &BiquadCoeffs, x: f64) -> f64 {
        let y = c.b0 * x + self.s1;
        self.s1 = c.b1 * x - c.a1 * y + self.s2;
        self.s2 = c.b2 * x - c.a2 * y;
        y
    }

    /// Clears the state.
    pub fn reset(&mut self) {
        *self = Self::default();
    }
}

/// A multichannel biquad processor (same coefficients on every channel).
#[derive(Clone, Debug)]
pub struct Biquad {
    coeffs: BiquadCoeffs,
    state: [BiquadState; MAX_CHANNELS],
}

impl Biquad {
    pub fn new(coeffs: BiquadCoeffs) -> Self {
        Self {
            coeffs,
            state: [BiquadState::default(); MAX_CHANNELS],
        }
    }

    pub fn coeffs(&self) -> &BiquadCoeffs {
        &self.coeffs
    }

    /// Replaces the coefficients, keeping the state (for automation).
    pub fn set_coeffs(&mut self, coeffs: BiquadCoeffs) {
        self.coeffs = coeffs;
    }

    /// Filters one sample of channel `ch`.
    #[inline]
    pub fn tick(&mut self, ch: usize, x: f64) -> f64 {
        self.state[ch].tick(&self.coeffs, x)
    }
}

impl Processor for Biquad {
    fn prepare(&mut self, _sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.reset();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let c = [self.coeffs];
        let mut chans = block.chunks_exact_mut(2);
        let mut ch = 0;
        for pair in &mut chans {
            let [a, b] = pair else { unreachable!() };
            let mut st = [[self.state[ch], self.state[ch + 1]]];
            run_pair(&c, &mut st, a, b);
            [self.state[ch], self.state[ch + 1]] = st[0];
            ch += 2;
        }
        if let [a] = chans.into_remainder() {
            let mut st = [self.state[ch]];
            run_one(&c, &mut st, a);
            self.state[ch] = st[0];
        }
    }

    fn reset(&mut self) {
        self.state.iter_mut().for_each(BiquadState::reset);
    }
}

/// `N` sections in series on two channels, sample by sample: the states
/// live in registers and the 2·N recursions overlap (the arithmetic of each
/// section is [`BiquadState::tick`]'s, so the result is bit-identical to
/// running the sections one after the other).
#[inline]
fn run_pair<const N: usize>(
    c: &[BiquadCoeffs; N],
    st: &mut [[BiquadState; 2]; N],
    a: &mut [f64],
    b: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    {
        run_pair_sse2(c, st, a, b);
    }
    #[cfg(not(target_arch = "x86_64"))]
    run_pair_generic(c, st, a, b);
}

/// [`run_pair`] with explicit SSE2 vectors (part of the x86-64 baseline):
/// channel 0 in the low lane, channel 1 in the high lane, every operation
/// the same IEEE-754 `f64` multiply, add or subtract as
/// [`BiquadState::tick`]'s in the same order, so the bits are the same.
/// Two frames per iteration are loaded and stored as whole vectors (one
/// unpack per frame), the states stay in registers; the loop is bound by
/// the latency of one section's recursion.
#[cfg(target_arch = "x86_64")]
#[inline]
fn run_pair_sse2<const N: usize>(
    c: &[BiquadCoeffs; N],
    st: &mut [[BiquadState; 2]; N],
    a: &mut [f64],
    b: &mut [f64],
) {
    use std::arch::x86_64::*;
    let len = a.len().min(b.len());
    let (a, b) = (&mut a[..len], &mut b[..len]);
    // SAFETY: SSE2 is part of the x86-64 baseline; every load and store is
    // of two in-bounds f64 (`i + 1 < len`), unaligned.
    unsafe {
        let b0: [__m128d; N] = std::array::from_fn(|k| _mm_set1_pd(c[k].b0));
        let b1: [__m128d; N] = std::array::from_fn(|k| _mm_set1_pd(c[k].b1));
        let b2: [__m128d; N] = std::array::from_fn(|k| _mm_set1_pd(c[k].b2));
        let a1: [__m128d; N] = std::array::from_fn(|k| _mm_set1_pd(c[k].a1));
        let a2: [__m128d; N] = std::array::from_fn(|k| _mm_set1_pd(c[k].a2));
        let mut s1: [__m128d; N] = std::array::from_fn(|k| _mm_set_pd(st[k][1].s1, st[k][0].s1));
        let mut s2: [__m128d; N] = std::array::from_fn(|k| _mm_set_pd(st[k][1].s2, st[k][0].s2));
        let mut step = |mut v: __m128d| {
            for k in 0..N {
                let y = _mm_add_pd(_mm_mul_pd(b0[k], v), s1[k]);
                s1[k] = _mm_add_pd(
                    _mm_sub_pd(_mm_mul_pd(b1[k], v), _mm_mul_pd(a1[k], y)),
                    s2[k],
                );
                s2[k] = _mm_sub_pd(_mm_mul_pd(b2[k], v), _mm_mul_pd(a2[k], y));
                v = y;
            }
            v
        };
        let pa = a.as_mut_ptr();
        let pb = b.as_mut_ptr();
        let mut i = 0;
        while i + 1 < len {
            let va = _mm_loadu_pd(pa.add(i));
            let vb = _mm_loadu_pd(pb.add(i));
            let y0 = step(_mm_unpacklo_pd(va, vb));
            let y1 = step(_mm_unpackhi_pd(va, vb));
            _mm_storeu_pd(pa.add(i), _mm_unpacklo_pd(y0, y1));
            _mm_storeu_pd(pb.add(i), _mm_unpackhi_pd(y0, y1));
            i += 2;
        }
        if i < len {
            let y = step(_mm_set_pd(*pb.add(i), *pa.add(i)));
            _mm_storel_pd(pa.add(i), y);
            _mm_storeh_pd(pb.add(i), y);
        }
        for k in 0..N {
            let mut lo = [0.0f64; 2];
            let mut hi = [0.0f64; 2];
            _mm_storeu_pd(lo.as_mut_ptr(), s1[k]);
            _mm_storeu_pd(hi.as_mut_ptr(), s2[k]);
            st[k] = [
                BiquadState {
                    s1: lo[0],
                    s2: hi[0],
                },
                BiquadState {
                    s1: lo[1],
                    s2: hi[1],
                },
            ];
        }
    }
}

/// [`run_pair`] in portable code.
#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn run_pair_generic<const N: usize>(
    c: &[BiquadCoeffs; N],
    st: &mut [[BiquadState; 2]; N],
    a: &mut [f64],
    b: &mut [f64],
) {
    // the two channels side by side in `[f64; 2]` lanes (one SSE2 vector
    // per operation)
    let mut s1: [[f64; 2]; N] = std::array::from_fn(|k| [st[k][0].s1, st[k][1].s1]);
    let mut s2: [[f64; 2]; N] = std::array::from_fn(|k| [st[k][0].s2, st[k][1].s2]);
    for (x0, x1) in a.iter_mut().zip(b.iter_mut()) {
        let mut v = [*x0, *x1];
        for k in 0..N {
            let c = &c[k];
            let y = [c.b0 * v[0] + s1[k][0], c.b0 * v[1] + s1[k][1]];
            s1[k] = [
                c.b1 * v[0] - c.a1 * y[0] + s2[k][0],
                c.b1 * v[1] - c.a1 * y[1] + s2[k][1],
            ];
            s2[k] = [c.b2 * v[0] - c.a2 * y[0], c.b2 * v[1] - c.a2 * y[1]];
            v = y;
        }
        *x0 = v[0];
        *x1 = v[1];
    }
    for k in 0..N {
        for ch in 0..2 {
            st[k][ch] = BiquadState {
                s1: s1[k][ch],
                s2: s2[k][ch],
            };
        }
    }
}

/// [`run_pair`] for one channel.
#[inline]
fn run_one<const N: usize>(c: &[BiquadCoeffs; N], st: &mut [BiquadState; N], a: &mut [f64]) {
    let mut s = *st;
    for x in a.iter_mut() {
        let mut v = *x;
        for k in 0..N {
            v = s[k].tick(&c[k], v);
        }
        *x = v;
    }
    *st = s;
}

/// Biquads in series with the same coefficients on every channel (a
/// parametric EQ). Up to four sections run fused per sample (two channels
/// at a time); the output is bit-identical to running each section over the
/// block in turn.
#[derive(Clone, Debug)]
pub struct BiquadCascade {
    coeffs: Vec<BiquadCoeffs>,
    /// `state[section][channel]`.
    state: Vec<[BiquadState; MAX_CHANNELS]>,
}

impl BiquadCascade {
    pub fn new(coeffs: Vec<BiquadCoeffs>) -> Self {
        let state = vec![[BiquadState::default(); MAX_CHANNELS]; coeffs.len()];
        Self { coeffs, state }
    }

    pub fn coeffs(&self) -> &[BiquadCoeffs] {
        &self.coeffs
    }

    /// Runs sections `k0 .. k0 + N` over `block`.
    fn group<const N: usize>(&mut self, k0: usize, block: &mut [&mut [f64]]) {
        let c: [BiquadCoeffs; N] = std::array::from_fn(|k| self.coeffs[k0 + k]);
        let mut chans = block.chunks_exact_mut(2);
        let mut ch = 0;
        for pair in &mut chans {
            let [a, b] = pair else { unreachable!() };
            let mut st: [[BiquadState; 2]; N] =
                std::array::from_fn(|k| [self.state[k0 + k][ch], self.state[k0 + k][ch + 1]]);
            run_pair(&c, &mut st, a, b);
            for (k, s) in st.iter().enumerate() {
                [self.state[k0 + k][ch], self.state[k0 + k][ch + 1]] = *s;
            }
            ch += 2;
        }
        if let [a] = chans.into_remainder() {
            let mut st: [BiquadState; N] = std::array::from_fn(|k| self.state[k0 + k][ch]);
            run_one(&c, &mut st, a);
            for (k, s) in st.iter().enumerate() {
                self.state[k0 + k][ch] = *s;
            }
        }
    }
}

impl BiquadCascade {
    /// Runs several stereo cascades over their blocks at once, bit for bit
    /// as [`Processor::process`] on each in turn: `chans[2 j]` and
    /// `chans[2 j + 1]` are the left and right channel of `cascades[j]`,
    /// every channel the same length.
    ///
    /// With AVX (detected at run time), cascades with the same number of
    /// sections go two at a time into the four lanes of one `f64x4` vector
    /// (left and right of the first, then of the second; coefficients per
    /// lane): each recursion is bound by its latency, so one recursion
    /// carries two tracks in the time of one. (Two such vectors in one
    /// loop need more than the sixteen AVX registers for their states and
    /// spill them onto the recursion's path: measured slower than two
    /// pairs one after the other.) With AVX-512 F and DQ as well, runs of
    /// four cascades with the same section count go into the eight lanes
    /// of one `f64x8` vector instead ([`run_lanes_avx512`]). Every lane does
    /// [`BiquadState::tick`]'s multiplies, adds and subtracts in the same
    /// order (no fused multiply-add), so the bits do not change. The rest
    /// (no AVX, unequal section counts, a cascade left over) runs
    /// [`Processor::process`].
    ///
    /// # Panics
    /// If `chans.len() != 2 · cascades.len()`.
    pub fn process_stereo_group(cascades: &mut [&mut BiquadCascade], chans: &mut [&mut [f64]]) {
        assert_eq!(chans.len(), 2 * cascades.len(), "two channels per cascade");
        let len = chans.first().map_or(0, |c| c.len());
        let mut j = 0;
        #[cfg(target_arch = "x86_64")]
        if crate::oversample::has_avx() && chans.iter().all(|c| c.len() == len) {
            let wide = crate::simd512::has_avx512();
            while j + 1 < cascades.len() {
                let ns = cascades[j].coeffs.len();
                let pair = cascades[j + 1].coeffs.len() == ns;
                let quad = wide
                    && j + 3 < cascades.len()
                    && cascades[j..j + 4].iter().all(|c| c.coeffs.len() == ns);
                if quad {
                    lanes8_group(&mut cascades[j..j + 4], &mut chans[2 * j..2 * j + 8]);
                    j += 4;
                } else if pair {
                    lanes_group::<1>(&mut cascades[j..j + 2], &mut chans[2 * j..2 * j + 4]);
                    j += 2;
                } else {
                    let (l, r) = chans[2 * j..].split_at_mut(1);
                    cascades[j].process(&mut [&mut *l[0], &mut *r[0]]);
                    j += 1;
                }
            }
        }
        while j < cascades.len() {
            let (l, r) = chans[2 * j..].split_at_mut(1);
            cascades[j].process(&mut [&mut *l[0], &mut *r[0]]);
            j += 1;
        }
    }
}

/// `2 M` stereo cascades with the same section count, sections in fused
/// groups of up to four as in [`Processor::process`], through
/// [`run_lanes_avx`].
#[cfg(target_arch = "x86_64")]
fn lanes_group<const M: usize>(cascades: &mut [&mut BiquadCascade], chans: &mut [&mut [f64]]) {
    let ns = cascades[0].coeffs.len();
    let mut k = 0;
    while k < ns {
        match ns - k {
            1 => lanes_sections::<M, 1>(k, cascades, chans),
            2 => lanes_sections::<M, 2>(k, cascades, chans),
            3 => lanes_sections::<M, 3>(k, cascades, chans),
            _ => lanes_sections::<M, 4>(k, cascades, chans),
        }
        k += 4;
    }
}

/// Sections `k0 .. k0 + N` of `2 M` stereo cascades: lane `l` of vector
/// `j` is channel `l % 2` of cascade `2 j + l / 2`.
#[cfg(target_arch = "x86_64")]
fn lanes_sections<const M: usize, const N: usize>(
    k0: usize,
    cascades: &mut [&mut BiquadCascade],
    chans: &mut [&mut [f64]],
) {
    let lane = |j: usize, l: usize| (2 * j + l / 2, l % 2);
    let c: [[[BiquadCoeffs; 4]; N]; M] = std::array::from_fn(|j| {
        std::array::from_fn(|k| std::array::from_fn(|l| cascades[lane(j, l).0].coeffs[k0 + k]))
    });
    let mut st: [[[BiquadState; 4]; N]; M] = std::array::from_fn(|j| {
        std::array::from_fn(|k| {
            std::array::from_fn(|l| {
                let (q, ch) = lane(j, l);
                cascades[q].state[k0 + k][ch]
            })
        })
    });
    let len = chans[0].len();
    let p: [[*mut f64; 4]; M] =
        std::array::from_fn(|j| std::array::from_fn(|l| chans[4 * j + l].as_mut_ptr()));
    // SAFETY: the CPU has AVX (checked by the caller); the `4 M` pointers
    // are distinct channels (disjoint `&mut` slices), each `len` long.
    unsafe { run_lanes_avx(&c, &mut st, &p, len) };
    for (j, sj) in st.iter().enumerate() {
        for (k, sk) in sj.iter().enumerate() {
            for (l, s) in sk.iter().enumerate() {
                let (q, ch) = lane(j, l);
                cascades[q].state[k0 + k][ch] = *s;
            }
        }
    }
}

/// Four stereo cascades with the same section count in the eight lanes of
/// one AVX-512 vector (lane `l`: channel `l % 2` of cascade `l / 2`),
/// sections in fused groups of up to four as in [`Processor::process`],
/// through [`run_lanes_avx512`].
#[cfg(target_arch = "x86_64")]
fn lanes8_group(cascades: &mut [&mut BiquadCascade], chans: &mut [&mut [f64]]) {
    let ns = cascades[0].coeffs.len();
    let mut k = 0;
    while k < ns {
        match ns - k {
            1 => lanes8_sections::<1>(k, cascades, chans),
            2 => lanes8_sections::<2>(k, cascades, chans),
            3 => lanes8_sections::<3>(k, cascades, chans),
            _ => lanes8_sections::<4>(k, cascades, chans),
        }
        k += 4;
    }
}

/// Sections `k0 .. k0 + N` of four stereo cascades (see [`lanes8_group`]).
#[cfg(target_arch = "x86_64")]
fn lanes8_sections<const N: usize>(
    k0: usize,
    cascades: &mut [&mut BiquadCascade],
    chans: &mut [&mut [f64]],
) {
    let c: [[BiquadCoeffs; 8]; N] =
        std::array::from_fn(|k| std::array::from_fn(|l| cascades[l / 2].coeffs[k0 + k]));
    let mut st: [[BiquadState; 8]; N] =
        std::array::from_fn(|k| std::array::from_fn(|l| cascades[l / 2].state[k0 + k][l % 2]));
    let len = chans[0].len();
    let p: [*mut f64; 8] = std::array::from_fn(|l| chans[l].as_mut_ptr());
    // SAFETY: the CPU has AVX-512 F and DQ (checked by the caller); the
    // eight pointers are distinct channels (disjoint `&mut` slices), each
    // `len` long.
    unsafe { run_lanes_avx512(&c, &mut st, &p, len) };
    for (k, sk) in st.iter().enumerate() {
        for (l, s) in sk.iter().enumerate() {
            cascades[l / 2].state[k0 + k][l % 2] = *s;
        }
    }
}

/// `N` sections in series on eight channels (the lanes of one `f64x8`
/// vector), sample by sample, states in registers: per lane exactly
/// [`BiquadState::tick`]'s operations in its order (no fused
/// multiply-add), so the same bits as [`run_lanes_avx`] and the scalar
/// path. Eight frames at a time are loaded per channel and transposed
/// (8 × 8) into one vector per frame, and back for the store.
///
/// # Safety
/// The CPU must have AVX-512 F; `p[l]` must point to `len` writable `f64`,
/// no two pointers to overlapping memory.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)] // lanes, sections and frames by index
unsafe fn run_lanes_avx512<const N: usize>(
    c: &[[BiquadCoeffs; 8]; N],
    st: &mut [[BiquadState; 8]; N],
    p: &[*mut f64; 8],
    len: usize,
) {
    use std::arch::x86_64::*;
    let lanes = |f: &dyn Fn(usize) -> f64| {
        let a: [f64; 8] = std::array::from_fn(f);
        _mm512_loadu_pd(a.as_ptr())
    };
    let cf: [[__m512d; 5]; N] = std::array::from_fn(|k| {
        let q = &c[k];
        [
            lanes(&|l| q[l].b0),
            lanes(&|l| q[l].b1),
            lanes(&|l| q[l].b2),
            lanes(&|l| q[l].a1),
            lanes(&|l| q[l].a2),
        ]
    });
    let mut s1: [__m512d; N] = std::array::from_fn(|k| lanes(&|l| st[k][l].s1));
    let mut s2: [__m512d; N] = std::array::from_fn(|k| lanes(&|l| st[k][l].s2));
    // one frame through the sections (tick's order)
    macro_rules! step {
        ($v:expr) => {{
            let mut v = $v;
            for k in 0..N {
                let [b0, b1, b2, a1, a2] = cf[k];
                let y = _mm512_add_pd(_mm512_mul_pd(b0, v), s1[k]);
                s1[k] = _mm512_add_pd(
                    _mm512_sub_pd(_mm512_mul_pd(b1, v), _mm512_mul_pd(a1, y)),
                    s2[k],
                );
                s2[k] = _mm512_sub_pd(_mm512_mul_pd(b2, v), _mm512_mul_pd(a2, y));
                v = y;
            }
            v
        }};
    }
    let mut i = 0;
    while i + 8 <= len {
        let r: [__m512d; 8] = std::array::from_fn(|l| _mm512_loadu_pd(p[l].add(i)));
        let mut f = crate::simd512::transpose8(r);
        for t in 0..8 {
            f[t] = step!(f[t]);
        }
        let r = crate::simd512::transpose8(f);
        for l in 0..8 {
            _mm512_storeu_pd(p[l].add(i), r[l]);
        }
        i += 8;
    }
    while i < len {
        let v = lanes(&|l| *p[l].add(i));
        let y = step!(v);
        let mut out = [0.0f64; 8];
        _mm512_storeu_pd(out.as_mut_ptr(), y);
        for l in 0..8 {
            *p[l].add(i) = out[l];
        }
        i += 1;
    }
    for k in 0..N {
        let (mut x1, mut x2) = ([0.0f64; 8], [0.0f64; 8]);
        _mm512_storeu_pd(x1.as_mut_ptr(), s1[k]);
        _mm512_storeu_pd(x2.as_mut_ptr(), s2[k]);
        for l in 0..8 {
            st[k][l] = BiquadState {
                s1: x1[l],
                s2: x2[l],
            };
        }
    }
}

/// `N` sections in series on `4 M` channels (`M` vectors of four lanes),
/// sample by sample, states in registers: per lane exactly
/// [`BiquadState::tick`]'s operations in its order. Four frames at a time
/// are loaded per channel and transposed (4 × 4) into one vector per
/// frame, and back for the store.
///
/// # Safety
/// The CPU must have AVX; `p[j][l]` must point to `len` writable `f64`,
/// no two pointers to overlapping memory.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[allow(clippy::needless_range_loop)] // lanes, sections and frames by index
unsafe fn run_lanes_avx<const M: usize, const N: usize>(
    c: &[[[BiquadCoeffs; 4]; N]; M],
    st: &mut [[[BiquadState; 4]; N]; M],
    p: &[[*mut f64; 4]; M],
    len: usize,
) {
    use std::arch::x86_64::*;
    macro_rules! lanes {
        ($f:expr) => {
            std::array::from_fn(|j| {
                std::array::from_fn(|k| {
                    _mm256_setr_pd($f(j, k, 0), $f(j, k, 1), $f(j, k, 2), $f(j, k, 3))
                })
            })
        };
    }
    // the coefficients stay in memory (read as operands of the multiplies
    // through a pointer the optimiser cannot see through, see `step!`), so
    // the sixteen vector registers hold the recursion states instead of
    // spilling them (a spilled state puts a store and a reload on the
    // recursion's critical path)
    let cf: [[[__m256d; 5]; N]; M] = std::array::from_fn(|j| {
        std::array::from_fn(|k| {
            let q = &c[j][k];
            let v = |f: fn(&BiquadCoeffs) -> f64| {
                _mm256_setr_pd(f(&q[0]), f(&q[1]), f(&q[2]), f(&q[3]))
            };
            [
                v(|x| x.b0),
                v(|x| x.b1),
                v(|x| x.b2),
                v(|x| x.a1),
                v(|x| x.a2),
            ]
        })
    });
    let mut s1: [[__m256d; N]; M] = lanes!(|j: usize, k: usize, l: usize| st[j][k][l].s1);
    let mut s2: [[__m256d; N]; M] = lanes!(|j: usize, k: usize, l: usize| st[j][k][l].s2);
    // one frame of vector `j` through the sections (tick's order)
    macro_rules! step {
        ($j:expr, $v:expr) => {{
            let j = $j;
            let mut v = $v;
            // SAFETY: `black_box` returns its argument unchanged: a pointer
            // to the live local `cf`, read only
            let cf: &[[[__m256d; 5]; N]; M] = &*std::hint::black_box(&cf as *const _);
            for k in 0..N {
                let [b0, b1, b2, a1, a2] = &cf[j][k];
                let y = _mm256_add_pd(_mm256_mul_pd(*b0, v), s1[j][k]);
                s1[j][k] = _mm256_add_pd(
                    _mm256_sub_pd(_mm256_mul_pd(*b1, v), _mm256_mul_pd(*a1, y)),
                    s2[j][k],
                );
                s2[j][k] = _mm256_sub_pd(_mm256_mul_pd(*b2, v), _mm256_mul_pd(*a2, y));
                v = y;
            }
            v
        }};
    }
    let mut i = 0;
    while i + 4 <= len {
        let mut f: [[__m256d; 4]; M] = [[_mm256_setzero_pd(); 4]; M];
        for j in 0..M {
            let r: [__m256d; 4] = std::array::from_fn(|l| _mm256_loadu_pd(p[j][l].add(i)));
            f[j] = crate::lanes::transpose4(r);
        }
        for t in 0..4 {
            for j in 0..M {
                f[j][t] = step!(j, f[j][t]);
            }
        }
        for j in 0..M {
            let r = crate::lanes::transpose4(f[j]);
            for l in 0..4 {
                _mm256_storeu_pd(p[j][l].add(i), r[l]);
            }
        }
        i += 4;
    }
    while i < len {
        for j in 0..M {
            let v = _mm256_setr_pd(
                *p[j][0].add(i),
                *p[j][1].add(i),
                *p[j][2].add(i),
                *p[j][3].add(i),
            );
            let y = step!(j, v);
            let mut out = [0.0f64; 4];
            _mm256_storeu_pd(out.as_mut_ptr(), y);
            for l in 0..4 {
                *p[j][l].add(i) = out[l];
            }
        }
        i += 1;
    }
    for j in 0..M {
        for k in 0..N {
            let (mut x1, mut x2) = ([0.0f64; 4], [0.0f64; 4]);
            _mm256_storeu_pd(x1.as_mut_ptr(), s1[j][k]);
            _mm256_storeu_pd(x2.as_mut_ptr(), s2[j][k]);
            for l in 0..4 {
                st[j][k][l] = BiquadState {
                    s1: x1[l],
                    s2: x2[l],
                };
            }
        }
    }
}

impl Processor for BiquadCascade {
    fn prepare(&mut self, _sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.reset();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let nc = block.len().min(MAX_CHANNELS);
        let block = &mut block[..nc];
        let mut k = 0;
        while k < self.coeffs.len() {
            match self.coeffs.len() - k {
                1 => self.group::<1>(k, block),
                2 => self.group::<2>(k, block),
                3 => self.group::<3>(k, block),
                _ => self.group::<4>(k, block),
            }
            k += 4;
        }
    }

    fn reset(&mut self) {
        self.state
            .iter_mut()
            .for_each(|s| s.iter_mut().for_each(BiquadState::reset));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the complex response ([`BiquadCoeffs::response`]) of
    /// every RBJ kind at 48 kHz; [`BiquadCoeffs::power_at_phi`] equals
    /// its squared magnitude to 1e-9 (relative) from 10 Hz to 23 kHz.
    #[test]
    fn power_from_cos_matches_the_response() {
        let fs = 48_000.0;
        for kind in [
            FilterKind::LowPass,
            FilterKind::HighPass,
            FilterKind::BandPass,
            FilterKind::Notch,
            FilterKind::Peak,
            FilterKind::LowShelf,
            FilterKind::HighShelf,
        ] {
            let c = BiquadCoeffs::rbj(kind, 900.0, 0.8, 5.0, fs);
            let mut f = 10.0;
            while f < 23_000.0 {
                let (re, im) = c.response(f, fs);
                let want = re * re + im * im;
                let got = c.power_at_phi((PI * f / fs).sin().powi(2));
                assert!(
                    (got - want).abs() <= 1e-9 * want.max(1e-12),
                    "{kind:?} {f} Hz"
                );
                f *= 1.3;
            }
        }
    }

    /// Measures the gain of `c` at `f` by filtering a sine and correlating
    /// (a one-bin DFT over whole periods after the transient has died).
    fn measured_db(c: &BiquadCoeffs, f: f64, fs: f64) -> f64 {
        let mut st = BiquadState::default();
        let settle = (fs * 2.0) as usize;
        let n = (fs * 2.0) as usize;
        let (mut re, mut im, mut pin) = (0.0, 0.0, 0.0);
        for i in 0..settle + n {
            let ph = 2.0 * PI * f * i as f64 / fs;
            let y = st.tick(c, ph.sin());
            if i >= settle {
                re += y * ph.sin();
                im += y * ph.cos();
                pin += ph.sin() * ph.sin();
            }
        }
        10.0 * ((re * re + im * im) / (pin * pin)).log10()
    }

    /// Reference: the analytic |H(e^jw)| of each cookbook design, at its
    /// defining points (RBJ cookbook: gain A^2 at DC for a low shelf, etc.).
    #[test]
    fn cookbook_defining_points() {
        let fs = 48_000.0;
        let pk = BiquadCoeffs::rbj(FilterKind::Peak, 1000.0, 1.0, 6.0, fs);
        assert!((pk.magnitude_db(1000.0, fs) - 6.0).abs() < 1e-9);
        let ls = BiquadCoeffs::rbj(FilterKind::LowShelf, 200.0, 0.707, -4.0, fs);
        assert!((ls.magnitude_db(1e-3, fs) + 4.0).abs() < 1e-6);
        assert!((ls.magnitude_db(200.0, fs) + 2.0).abs() < 1e-6);
        let hs = BiquadCoeffs::rbj(FilterKind::HighShelf, 8000.0, 0.707, 3.0, fs);
        assert!((hs.magnitude_db(23_999.0, fs) - 3.0).abs() < 1e-3);
        let lp = BiquadCoeffs::rbj(
            FilterKind::LowPass,
            5000.0,
            std::f64::consts::FRAC_1_SQRT_2,
            0.0,
            fs,
        );
        assert!((lp.magnitude_db(5000.0, fs) + 3.0103).abs() < 1e-3);
        assert!(lp.magnitude_db(1e-3, fs).abs() < 1e-9);
        let hp1 = BiquadCoeffs::first_order(true, 100.0, fs);
        assert!((hp1.magnitude_db(100.0, fs) + 3.0103).abs() < 1e-3);
    }

    /// Section kinds of the cascade tests: (kind, frequency Hz, Q, gain dB).
    const CASCADE_KINDS: [(FilterKind, f64, f64, f64); 5] = [
        (FilterKind::HighPass, 40.0, 0.7, 0.0),
        (FilterKind::Peak, 1000.0, 1.0, -3.0),
        (FilterKind::HighShelf, 8000.0, 0.7, -2.0),
        (FilterKind::LowShelf, 120.0, 0.7, 4.0),
        (FilterKind::Notch, 3000.0, 4.0, 0.0),
    ];

    /// Reference: the cascade definition — running the sections one after
    /// the other over the whole signal, each with [`BiquadState::tick`]:
    /// bit-identical for 1…9 sections on 1, 2, 3 and 8 channels, in any
    /// block partition.
    #[test]
    fn cascade_is_sections_in_series() {
        use crate::test_util::{assert_block_independent, assert_identical, noise, run};
        let fs = 48_000.0;
        let kinds = CASCADE_KINDS;
        for n in 1..=9 {
            let coeffs: Vec<BiquadCoeffs> = (0..n)
                .map(|i| {
                    let (k, f, q, g) = kinds[i % kinds.len()];
                    BiquadCoeffs::rbj(k, f * (1.0 + i as f64 * 0.1), q, g, fs)
                })
                .collect();
            for chans in [1, 2, 3, 8] {
                let x: Vec<Vec<f64>> = (0..chans).map(|c| noise(3000, c as u64 + 1)).collect();
                let mut want = x.clone();
                for c in &coeffs {
                    for ch in &mut want {
                        let mut st = BiquadState::default();
                        ch.iter_mut().for_each(|v| *v = st.tick(c, *v));
                    }
                }
                let got = run(&mut BiquadCascade::new(coeffs.clone()), fs, x, 700);
                assert_identical(&got, &want, "cascade");
            }
            assert_block_independent(|| BiquadCascade::new(coeffs.clone()), fs, 3);
        }
        assert_block_independent(|| Biquad::new(kinds_coeffs(fs)), fs, 3);
    }

    /// Reference: [`Processor::process`] on each cascade in turn (itself
    /// checked against [`BiquadState::tick`] above): the grouped stereo
    /// run ([`BiquadCascade::process_stereo_group`], four-lane AVX and
    /// eight-lane AVX-512 when the CPU has them: runs of four equal
    /// cascades in the 1…9-cascade layouts take the AVX-512 path, the rest
    /// AVX pairs or one by one) is bit-identical for 1…9 cascades with different
    /// coefficients, equal and unequal section counts (1…6), blocks of
    /// 1, 3, 4, 257 and 1000 frames, state carried across blocks.
    #[test]
    fn stereo_group_matches_one_by_one() {
        use crate::test_util::noise;
        let fs = 48_000.0;
        let kinds = CASCADE_KINDS;
        let make = |q: usize, sections: usize| {
            BiquadCascade::new(
                (0..sections)
                    .map(|i| {
                        let (k, f, qq, g) = kinds[(i + q) % kinds.len()];
                        BiquadCoeffs::rbj(k, f * (1.0 + q as f64 * 0.13), qq, g, fs)
                    })
                    .collect(),
            )
        };
        let layouts: [&[usize]; 8] = [
            &[3],
            &[3, 3],
            &[3, 3, 3, 3],
            &[3, 3, 3, 3, 3, 3, 3],
            &[1, 2, 2, 5, 5, 5, 5],
            &[6, 4, 4, 4, 4, 3],
            &[3, 3, 3, 3, 3, 3, 3, 3],
            &[2, 2, 2, 1, 1, 1, 1, 2, 2],
        ];
        for layout in layouts {
            let total = 1265;
            let x: Vec<Vec<f64>> = (0..2 * layout.len())
                .map(|c| noise(total, c as u64 + 11))
                .collect();
            let mut one: Vec<BiquadCascade> = layout
                .iter()
                .enumerate()
                .map(|(q, n)| make(q, *n))
                .collect();
            let mut grp = one.clone();
            let mut want = x.clone();
            let mut got = x.clone();
            let mut start = 0;
            for len in [1, 3, 4, 257, 1000].iter().cycle() {
                if start >= total {
                    break;
                }
                let r = start..(start + len).min(total);
                for (q, c) in one.iter_mut().enumerate() {
                    let (l, rr) = want[2 * q..].split_at_mut(1);
                    c.process(&mut [&mut l[0][r.clone()], &mut rr[0][r.clone()]]);
                }
                let mut cs: Vec<&mut BiquadCascade> = grp.iter_mut().collect();
                let mut ch: Vec<&mut [f64]> = got.iter_mut().map(|c| &mut c[r.clone()]).collect();
                BiquadCascade::process_stereo_group(&mut cs, &mut ch);
                start = r.end;
            }
            for (a, b) in got.iter().zip(&want) {
                for (u, v) in a.iter().zip(b) {
                    assert_eq!(u.to_bits(), v.to_bits(), "layout {layout:?}");
                }
            }
        }
    }

    fn kinds_coeffs(fs: f64) -> BiquadCoeffs {
        BiquadCoeffs::rbj(FilterKind::Peak, 700.0, 2.0, 5.0, fs)
    }

    /// The processed signal matches the analytic response within 0.01 dB.
    #[test]
    fn processing_matches_analytic_response() {
        let fs = 44_100.0;
        let c = BiquadCoeffs::rbj(FilterKind::Peak, 3000.0, 2.0, -7.5, fs);
        for f in [100.0, 1000.0, 3000.0, 9000.0] {
            let m = measured_db(&c, f, fs);
            assert!((m - c.magnitude_db(f, fs)).abs() < 0.01, "{f} Hz: {m}");
        }
    }
}
