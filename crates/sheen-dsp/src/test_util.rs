//! Shared test helpers: deterministic noise, sines, block runners with
//! arbitrary partitions, level measures.
#![allow(dead_code)]

use crate::processor::{PlanarMut, Processor};
use std::f64::consts::PI;

/// Largest block the helpers prepare processors for.
pub const MAX_BLOCK: usize = 4096;

/// Deterministic uniform noise in [-1, 1) (xorshift64*).
pub fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
            r as f64 / (1u64 << 52) as f64 - 1.0
        })
        .collect()
}

/// `n` samples of `amp * sin(2 pi f t)` at `fs`.
pub fn sine(n: usize, f: f64, amp: f64, fs: f64) -> Vec<f64> {
    (0..n)
        .map(|i| amp * (2.0 * PI * f * i as f64 / fs).sin())
        .collect()
}

/// Block sizes 64, 4096, pseudo-random 1..=700, and a ragged mix; the
/// reference partition (blocks of 1) is run separately.
pub fn partitions() -> Vec<Vec<usize>> {
    let rand_sizes: Vec<usize> = noise(64, 99)
        .iter()
        .map(|r| 1 + ((r + 1.0) * 0.5 * 700.0) as usize)
        .collect();
    vec![vec![64], vec![4096], rand_sizes, vec![1, 4095, 3, 17]]
}

/// Runs `f(start..end)` over `0..len` in blocks given by `sizes` (cycled).
pub fn for_blocks(len: usize, sizes: &[usize], mut f: impl FnMut(std::ops::Range<usize>)) {
    let mut start = 0;
    let mut k = 0;
    while start < len {
        let end = (start + sizes[k % sizes.len()].clamp(1, MAX_BLOCK)).min(len);
        f(start..end);
        start = end;
        k += 1;
    }
}

/// Prepares `p` and runs it over `bufs` in blocks given by `sizes` (cycled).
pub fn run_partition(
    p: &mut dyn Processor,
    fs: f64,
    mut bufs: Vec<Vec<f64>>,
    sizes: &[usize],
) -> Vec<Vec<f64>> {
    p.prepare(fs, bufs.len(), MAX_BLOCK);
    let len = bufs[0].len();
    for_blocks(len, sizes, |r| {
        p.process(PlanarMut::new(&mut bufs, r).channels())
    });
    bufs
}

/// Prepares `p` and runs it over `bufs` in blocks of `block` samples.
pub fn run(p: &mut dyn Processor, fs: f64, bufs: Vec<Vec<f64>>, block: usize) -> Vec<Vec<f64>> {
    run_partition(p, fs, bufs, &[block])
}

/// Asserts two planar signals are bit-identical.
pub fn assert_identical(a: &[Vec<f64>], b: &[Vec<f64>], what: &str) {
    for (ca, cb) in a.iter().zip(b) {
        for (i, (x, y)) in ca.iter().zip(cb).enumerate() {
            assert_eq!(x.to_bits(), y.to_bits(), "sample {i}: {what}");
        }
    }
}

/// Runs fresh processors from `make` on noise (with loud bursts and a
/// silent stretch) in blocks of 1, 64, 4096 and pseudo-random sizes, and
/// asserts bit-identical output; also checks that `reset` reproduces the
/// first run.
pub fn assert_block_independent<P: Processor>(make: impl Fn() -> P, fs: f64, channels: usize) {
    let len = 12_000;
    let input: Vec<Vec<f64>> = (0..channels)
        .map(|c| {
            let mut v = noise(len, 11 + c as u64);
            v[2000..4000].iter_mut().for_each(|x| *x *= 0.05);
            v[6000..9000].iter_mut().for_each(|x| *x = 0.0);
            v
        })
        .collect();
    let mut p = make();
    let reference = run(&mut p, fs, input.clone(), 1);
    for sizes in partitions() {
        let out = run_partition(&mut make(), fs, input.clone(), &sizes);
        assert_identical(
            &reference,
            &out,
            &format!("blocks {:?}", &sizes[..sizes.len().min(4)]),
        );
    }
    p.reset();
    let mut bufs = input;
    crate::processor::process_in_blocks(&mut p, &mut bufs, 333);
    assert_identical(&reference, &bufs, "after reset");
}

/// RMS level in dB of `x`.
pub fn rms_db(x: &[f64]) -> f64 {
    let p: f64 = x.iter().map(|v| v * v).sum::<f64>() / x.len() as f64;
    10.0 * p.log10()
}

/// Amplitude (in dB) of the component of `x` at `f` Hz (one-bin DFT over the
/// whole slice; use whole periods). A sine of amplitude 1 gives 0 dB.
pub fn tone_db(x: &[f64], f: f64, fs: f64) -> f64 {
    let (mut re, mut im) = (0.0, 0.0);
    for (i, v) in x.iter().enumerate() {
        let ph = 2.0 * PI * f * i as f64 / fs;
        re += v * ph.cos();
        im += v * ph.sin();
    }
    let a = 2.0 * (re * re + im * im).sqrt() / x.len() as f64;
    20.0 * a.log10()
}
