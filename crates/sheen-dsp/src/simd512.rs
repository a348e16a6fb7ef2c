//! Eight-lane AVX-512 (`f64x8`) forms of the four-lane helpers the
//! compressor's fused kernel uses ([`crate::fastmath`]'s `ln_x4` and
//! `exp2_x4`, [`crate::lanes`]' `transpose4`): per lane the same IEEE-754
//! operations in the same order, so the same bits as the scalar forms.

#[cfg(target_arch = "x86_64")]
use crate::fastmath::{EXP2_C, ROUND_MAGIC, SQRT_HALF_BITS};
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Whether the CPU has AVX-512 F and DQ (detected at run time).
pub fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512dq")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The 8 × 8 transpose of `r` (rows → columns; its own inverse). Moves
/// values only, so no bit changes.
///
/// # Safety
/// The CPU must have AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub unsafe fn transpose8(r: [__m512d; 8]) -> [__m512d; 8] {
    // t[2k] block b = (r[2k][2b], r[2k+1][2b]), t[2k+1] the odd elements
    let t: [__m512d; 8] = std::array::from_fn(|i| {
        let (a, b) = (r[i & !1], r[i | 1]);
        if i & 1 == 0 {
            _mm512_unpacklo_pd(a, b)
        } else {
            _mm512_unpackhi_pd(a, b)
        }
    });
    let mut out = [_mm512_setzero_pd(); 8];
    for odd in 0..2 {
        let (t0, t2, t4, t6) = (t[odd], t[2 + odd], t[4 + odd], t[6 + odd]);
        let v0 = _mm512_shuffle_f64x2::<0x88>(t0, t2);
        let v1 = _mm512_shuffle_f64x2::<0xDD>(t0, t2);
        let w0 = _mm512_shuffle_f64x2::<0x88>(t4, t6);
        let w1 = _mm512_shuffle_f64x2::<0xDD>(t4, t6);
        out[odd] = _mm512_shuffle_f64x2::<0x88>(v0, w0);
        out[4 + odd] = _mm512_shuffle_f64x2::<0xDD>(v0, w0);
        out[2 + odd] = _mm512_shuffle_f64x2::<0x88>(v1, w1);
        out[6 + odd] = _mm512_shuffle_f64x2::<0xDD>(v1, w1);
    }
    out
}

/// [`crate::fastmath::ln`] in the eight lanes of an AVX-512 vector: per
/// lane exactly `ln`'s IEEE-754 operations in its order (no fused
/// multiply-add), so the same bits for every lane with its sign bit clear
/// (as `ln_x4`, whose integer steps these are).
///
/// # Safety
/// The CPU must have AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn ln_x8(x: __m512d) -> __m512d {
    let q = |v: u64| _mm512_set1_epi64(v as i64);
    let c = _mm512_set1_pd;
    let bits = _mm512_castpd_si512(x);
    let ix = _mm512_sub_epi64(bits, q(SQRT_HALF_BITS));
    let eb = _mm512_add_epi64(ix, q(1 << 62));
    let e_hi = _mm512_sub_epi64(_mm512_and_si512(eb, q(!((1 << 52) - 1))), q(1 << 62));
    let m = _mm512_castsi512_pd(_mm512_sub_epi64(bits, e_hi));
    let e_biased = _mm512_srli_epi64::<52>(eb);
    let ef = _mm512_sub_pd(
        _mm512_castsi512_pd(_mm512_add_epi64(
            e_biased,
            q(ROUND_MAGIC.to_bits().wrapping_sub(1024)),
        )),
        c(ROUND_MAGIC),
    );
    let s = _mm512_div_pd(_mm512_sub_pd(m, c(1.0)), _mm512_add_pd(m, c(1.0)));
    let z = _mm512_mul_pd(s, s);
    let mut p = _mm512_add_pd(c(1.0 / 15.0), _mm512_div_pd(z, c(17.0)));
    for k in [
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
        1.0,
    ] {
        p = _mm512_add_pd(c(k), _mm512_mul_pd(z, p));
    }
    _mm512_add_pd(
        _mm512_mul_pd(ef, c(std::f64::consts::LN_2)),
        _mm512_mul_pd(_mm512_mul_pd(c(2.0), s), p),
    )
}

/// [`crate::fastmath::exp2`] in the eight lanes of an AVX-512 vector: per
/// lane exactly `exp2`'s operations in its order (as `exp2_x4`), so the
/// same bits for every non-NaN `y`.
///
/// # Safety
/// The CPU must have AVX-512 F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn exp2_x8(y: __m512d) -> __m512d {
    let c = _mm512_set1_pd;
    let k = |i: usize| c(EXP2_C[i]);
    let y = _mm512_min_pd(c(1023.0), _mm512_max_pd(c(-1022.0), y));
    let t = _mm512_add_pd(y, c(ROUND_MAGIC));
    let n = _mm512_sub_pd(t, c(ROUND_MAGIC));
    let f = _mm512_sub_pd(y, n);
    let f2 = _mm512_mul_pd(f, f);
    let f4 = _mm512_mul_pd(f2, f2);
    let f8 = _mm512_mul_pd(f4, f4);
    let quad = |a: usize| {
        _mm512_add_pd(
            _mm512_add_pd(k(a), _mm512_mul_pd(k(a + 1), f)),
            _mm512_mul_pd(_mm512_add_pd(k(a + 2), _mm512_mul_pd(k(a + 3), f)), f2),
        )
    };
    let (q0, q1, q2) = (quad(0), quad(4), quad(8));
    let p = _mm512_add_pd(
        _mm512_add_pd(q0, _mm512_mul_pd(q1, f4)),
        _mm512_mul_pd(_mm512_add_pd(q2, _mm512_mul_pd(k(12), f4)), f8),
    );
    let scale = _mm512_slli_epi64::<52>(_mm512_add_epi64(
        _mm512_castpd_si512(t),
        _mm512_set1_epi64(1023),
    ));
    _mm512_mul_pd(p, _mm512_castsi512_pd(scale))
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::fastmath::{exp2, ln};

    /// Reference: the definition of the transpose, `out[i][j] = in[j][i]`.
    #[test]
    fn transpose8_is_the_transpose() {
        if !has_avx512() {
            return;
        }
        let m: [[f64; 8]; 8] = std::array::from_fn(|i| std::array::from_fn(|j| (8 * i + j) as f64));
        // SAFETY: AVX-512 F is present (checked above); eight f64 per row.
        unsafe {
            let r: [__m512d; 8] = std::array::from_fn(|i| _mm512_loadu_pd(m[i].as_ptr()));
            let t = transpose8(r);
            let mut out = [[0.0; 8]; 8];
            for i in 0..8 {
                _mm512_storeu_pd(out[i].as_mut_ptr(), t[i]);
            }
            for i in 0..8 {
                for j in 0..8 {
                    assert_eq!(out[i][j], m[j][i]);
                }
            }
        }
    }

    /// Reference: the scalar `ln` and `exp2`, bit for bit, in every lane,
    /// over a wide range of arguments (and the special values).
    #[test]
    fn x8_forms_match_scalar_bit_for_bit() {
        if !has_avx512() {
            return;
        }
        let mut xs = vec![
            0.0,
            1.0,
            1e-300,
            f64::INFINITY,
            0.5,
            2.0,
            std::f64::consts::FRAC_1_SQRT_2,
        ];
        let mut x = 1e-300f64;
        while x < 1e300 {
            xs.push(x);
            x *= 1.0173;
        }
        let mut ys = vec![0.0, -1022.0, 1023.0, -5000.0, 5000.0];
        let mut y = -1100.0f64;
        while y < 1100.0 {
            ys.push(y);
            y += 0.0317;
        }
        for (g, vals) in [(0, &xs), (1, &ys)] {
            for ch in vals.chunks(8) {
                let mut v = [1.0f64; 8];
                v[..ch.len()].copy_from_slice(ch);
                let mut out = [0.0f64; 8];
                // SAFETY: AVX-512 F is present (checked above).
                unsafe {
                    let a = _mm512_loadu_pd(v.as_ptr());
                    let r = if g == 0 { ln_x8(a) } else { exp2_x8(a) };
                    _mm512_storeu_pd(out.as_mut_ptr(), r);
                }
                for l in 0..ch.len() {
                    let want = if g == 0 { ln(v[l]) } else { exp2(v[l]) };
                    assert_eq!(out[l].to_bits(), want.to_bits(), "{g} {}", v[l]);
                }
            }
        }
    }
}
