//! Helpers shared by the four-lane AVX kernels (`f64x4`) of the biquad
//! cascades and the compressor, which run four channels or tracks in the
//! lanes of one vector (and by sheen-fx's reverb, whose ring reads and
//! writes are 4 × 4 transposes).

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::{__m256d, _mm256_permute2f128_pd, _mm256_unpackhi_pd, _mm256_unpacklo_pd};

/// The 4 × 4 transpose of `r` (rows → columns; its own inverse): turns four
/// channels' runs of four frames into four frames of four channels, and
/// back. Moves values only, so no bit changes.
///
/// # Safety
/// The CPU must have AVX (an `unsafe fn` for the toolchains before 1.86,
/// which have no safe `#[target_feature]` functions).
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx")]
pub unsafe fn transpose4(r: [__m256d; 4]) -> [__m256d; 4] {
    let t0 = _mm256_unpacklo_pd(r[0], r[1]);
    let t1 = _mm256_unpackhi_pd(r[0], r[1]);
    let t2 = _mm256_unpacklo_pd(r[2], r[3]);
    let t3 = _mm256_unpackhi_pd(r[2], r[3]);
    [
        _mm256_permute2f128_pd::<0x20>(t0, t2),
        _mm256_permute2f128_pd::<0x20>(t1, t3),
        _mm256_permute2f128_pd::<0x31>(t0, t2),
        _mm256_permute2f128_pd::<0x31>(t1, t3),
    ]
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use std::arch::x86_64::{_mm256_loadu_pd, _mm256_storeu_pd};

    /// Reference: the definition of the transpose, `out[i][j] = in[j][i]`,
    /// on sixteen distinct values; applying it twice gives the input.
    #[test]
    fn transpose4_is_the_transpose() {
        if !crate::oversample::has_avx() {
            return;
        }
        let m: [[f64; 4]; 4] = std::array::from_fn(|i| std::array::from_fn(|j| (4 * i + j) as f64));
        // SAFETY: AVX is present (checked above); every pointer is to four f64.
        unsafe {
            let r: [__m256d; 4] = std::array::from_fn(|i| _mm256_loadu_pd(m[i].as_ptr()));
            let t = transpose4(r);
            let tt = transpose4(t);
            let mut out = [[0.0; 4]; 4];
            let mut back = [[0.0; 4]; 4];
            for i in 0..4 {
                _mm256_storeu_pd(out[i].as_mut_ptr(), t[i]);
                _mm256_storeu_pd(back[i].as_mut_ptr(), tt[i]);
            }
            for i in 0..4 {
                for j in 0..4 {
                    assert_eq!(out[i][j], m[j][i]);
                }
            }
            assert_eq!(back, m);
        }
    }
}
