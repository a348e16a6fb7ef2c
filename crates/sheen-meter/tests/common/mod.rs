//! Signal generators shared by the integration tests.
#![allow(dead_code)]

use std::f64::consts::PI;

/// Linear amplitude of a peak level in dBFS.
pub fn amp(dbfs: f64) -> f64 {
    10f64.powf(dbfs / 20.0)
}

/// Samples in `seconds` at `fs`, rounded to the nearest sample.
pub fn samples(fs: f64, seconds: f64) -> usize {
    (seconds * fs).round() as usize
}

/// A sine of `freq` Hz with peak level `dbfs`, `seconds` long, starting at
/// phase 0.
pub fn tone(fs: f64, freq: f64, dbfs: f64, seconds: f64) -> Vec<f64> {
    let a = amp(dbfs);
    (0..samples(fs, seconds))
        .map(|i| a * (2.0 * PI * freq * i as f64 / fs).sin())
        .collect()
}

/// Silence, `seconds` long.
pub fn silence(fs: f64, seconds: f64) -> Vec<f64> {
    vec![0.0; samples(fs, seconds)]
}

/// A 1 kHz tone sequence: `(seconds, dbfs)` segments (`None` = silence),
/// phase continuous across tone segments.
pub fn tone_sequence(fs: f64, segments: &[(f64, Option<f64>)]) -> Vec<f64> {
    let mut out = Vec::new();
    for &(sec, level) in segments {
        let n = samples(fs, sec);
        match level {
            Some(db) => {
                let a = amp(db);
                let start = out.len();
                out.extend((0..n).map(|i| a * (2.0 * PI * 1000.0 * (start + i) as f64 / fs).sin()));
            }
            None => out.extend(std::iter::repeat_n(0.0, n)),
        }
    }
    out
}

/// Deterministic xorshift64* generator (shared with the other crates' tests).
pub use sheen_testkit::XorShift as Rng;

/// Pink-ish noise (white noise through a one-pole low-pass mixed with white),
/// RMS about `rms`.
pub fn noise(rng: &mut Rng, n: usize, rms: f64) -> Vec<f64> {
    let mut lp = 0.0;
    (0..n)
        .map(|_| {
            let w = rng.gauss();
            lp = 0.98 * lp + 0.2 * w;
            rms * 0.6 * (w * 0.5 + lp)
        })
        .collect()
}

/// A "music-like" test signal: four voices of harmonic notes (random pitch
/// within an octave around A3, 250 ms each, attack/decay envelopes) over a
/// noise bed; steady in loudness over a few seconds, `seconds` long. `seed` varies the content (use different seeds
/// for different channels).
pub fn music_like(fs: f64, seconds: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ seed.wrapping_mul(0x1234_5678_9abc_def1));
    let n = samples(fs, seconds);
    let mut out = vec![0.0; n];
    let note_len = samples(fs, 0.25);
    let attack = 1.0 / (0.01 * fs);
    let decay = (-2.0 / fs).exp();
    for _voice in 0..4 {
        let mut start = 0;
        while start < n {
            let semis = (rng.uniform() * 12.0).floor() - 6.0;
            let f0 = 220.0 * 2f64.powf(semis / 12.0);
            let a = 0.1;
            let len = note_len;
            // harmonics by phasor rotation (cheap and exact enough)
            let mut ph: Vec<(f64, f64, f64, f64)> = (1..=6)
                .map(|h| {
                    let w = 2.0 * PI * f0 * h as f64 / fs;
                    (0.0, 1.0 / h as f64, w.cos(), w.sin())
                })
                .collect();
            let mut env_d = 1.0;
            for i in 0..len.min(n - start) {
                let env = (i as f64 * attack).min(1.0) * env_d;
                env_d *= decay;
                let mut v = 0.0;
                for (s, c, cw, sw) in ph.iter_mut() {
                    v += *s;
                    let ns = *s * *cw + *c * *sw;
                    let nc = *c * *cw - *s * *sw;
                    *s = ns;
                    *c = nc;
                }
                out[start + i] += a * env * v;
            }
            start += len;
        }
    }
    let bed = noise(&mut rng, n, 0.03);
    out.iter_mut().zip(bed).for_each(|(o, b)| *o += b);
    out
}

/// Applies a loudness envelope in steps: section `i` (each `section_s`
/// seconds) gets gain `levels_db[i % len]` dB, with 50 ms linear ramps.
pub fn sections(x: &mut [f64], fs: f64, levels_db: &[f64], section_s: f64) {
    let sec = samples(fs, section_s);
    let ramp = samples(fs, 0.05);
    for (i, v) in x.iter_mut().enumerate() {
        let k = i / sec;
        let here = levels_db[k % levels_db.len()];
        let pos = i % sec;
        let db = if pos < ramp && k > 0 {
            let prev = levels_db[(k - 1) % levels_db.len()];
            prev + (here - prev) * pos as f64 / ramp as f64
        } else {
            here
        };
        *v *= amp(db);
    }
}

/// Views owned channels as a planar block.
pub fn planar(chans: &[Vec<f64>]) -> Vec<&[f64]> {
    chans.iter().map(|c| c.as_slice()).collect()
}
