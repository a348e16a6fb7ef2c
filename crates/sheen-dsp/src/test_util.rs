//! Shared test helpers: deterministic noise, sines, block runners with
//! arbitrary partitions, level measures.
#![allow(dead_code)]

use crate::processor::{PlanarMut, Processor};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::f64::consts::PI;

/// Counts heap allocations per thread so tests can check that `process`
/// does not allocate (the `Processor` contract).
struct CountingAlloc;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a const-initialised
// thread-local `Cell`, which never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Number of heap allocations `f` makes on this thread.
pub fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    f();
    ALLOCATIONS.with(Cell::get) - before
}

/// Largest block the helpers prepare processors for.
pub const MAX_BLOCK: usize = 4096;

/// Deterministic uniform noise in [-1, 1) (xorshift64*, see `sheen-testkit`).
pub use sheen_testkit::noise;

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
/// first run and that `process` makes no heap allocation.
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
    let allocs = allocations_in(|| crate::processor::process_in_blocks(&mut p, &mut bufs, 333));
    assert_eq!(allocs, 0, "process must not allocate");
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

#[cfg(test)]
mod tests {
    /// The allocation counter sees allocations (so a zero count means
    /// something).
    #[test]
    fn counter_counts() {
        let n = super::allocations_in(|| {
            let v = std::hint::black_box(vec![1.0f64; 16]);
            drop(v);
        });
        assert_eq!(n, 1);
    }
}
