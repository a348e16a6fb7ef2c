//! Shared test helpers: deterministic noise, block runners, error measures.

use sheen_dsp::processor::PlanarMut;
use sheen_dsp::Processor;

/// Largest block the helpers prepare processors for.
pub const MAX_BLOCK: usize = 4096;

/// Deterministic uniform noise in [-1, 1) (xorshift64*, see `sheen-testkit`).
pub use sheen_testkit::noise;

/// A unit impulse at sample 0 followed by `n - 1` zeros.
pub fn impulse(n: usize) -> Vec<f64> {
    let mut v = vec![0.0; n];
    v[0] = 1.0;
    v
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
    let mut start = 0;
    let mut k = 0;
    while start < len {
        let end = (start + sizes[k % sizes.len()].clamp(1, MAX_BLOCK)).min(len);
        p.process(PlanarMut::new(&mut bufs, start..end).channels());
        start = end;
        k += 1;
    }
    bufs
}

/// Prepares `p` and runs it over `bufs` in blocks of `block` samples.
pub fn run(p: &mut dyn Processor, fs: f64, bufs: Vec<Vec<f64>>, block: usize) -> Vec<Vec<f64>> {
    run_partition(p, fs, bufs, &[block])
}

/// Runs fresh processors from `make` on the same noise-with-gaps input in
/// blocks of 1, 64, 4096 and pseudo-random sizes, and asserts bit-identical
/// output. Also checks that `reset` reproduces the first run.
pub fn assert_block_independent<P: Processor>(make: impl Fn() -> P, fs: f64, channels: usize) {
    let len = 12_000;
    let input: Vec<Vec<f64>> = (0..channels)
        .map(|c| {
            let mut v = noise(len, 11 + c as u64);
            // a stretch of silence lets tails (and their decay) show
            v[6000..9000].iter_mut().for_each(|x| *x = 0.0);
            v
        })
        .collect();
    let rand_sizes: Vec<usize> = noise(64, 99)
        .iter()
        .map(|r| 1 + ((r + 1.0) * 0.5 * 700.0) as usize)
        .collect();
    let mut p = make();
    let reference = run(&mut p, fs, input.clone(), 1);
    let partitions: [&[usize]; 4] = [&[64], &[4096], &rand_sizes, &[1, 4095, 3, 17]];
    for sizes in partitions {
        let out = run_partition(&mut make(), fs, input.clone(), sizes);
        for (a, b) in reference.iter().zip(&out) {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                assert_eq!(x.to_bits(), y.to_bits(), "sample {i} with blocks {sizes:?}");
            }
        }
    }
    // reset, then re-prepare-free reprocessing must give the same output
    p.reset();
    let mut bufs = input;
    sheen_dsp::processor::process_in_blocks(&mut p, &mut bufs, 333);
    for (a, b) in reference.iter().zip(&bufs) {
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x.to_bits(), y.to_bits(), "after reset");
        }
    }
}

/// Error power relative to the reference power, in dB.
pub fn rel_error_db(y: &[f64], reference: &[f64]) -> f64 {
    let (mut e, mut r) = (0.0, 0.0);
    for (a, b) in y.iter().zip(reference) {
        e += (a - b) * (a - b);
        r += b * b;
    }
    10.0 * (e / r).log10()
}
