//! EBU Tech 3342 (2016; text unchanged in the 2023 editorial revision),
//! Table 1 "Minimum requirements test signals", cases 1–4, synthesized from
//! the table (cases 5 and 6 need the EBU's programme recordings). Tolerance
//! per the table: ±1 LU. As these synthetic tones have exact answers, each is
//! also held to ±0.05 LU (sheen's own, stricter bound). The table adds: "the
//! expected response is unchanged if the test signal is repeated one or more
//! times in its full length" — checked too.

mod common;

use common::*;
use sheen_meter::loudness::LoudnessMeter;

fn lra(fs: f64, levels: &[f64], repeats: usize) -> f64 {
    let seg: Vec<_> = levels.iter().map(|&l| (20.0, Some(l))).collect();
    let once = tone_sequence(fs, &seg);
    let mut m = LoudnessMeter::new(fs, 2);
    for _ in 0..repeats {
        m.push(&[&once, &once]);
    }
    m.loudness_range_lu().expect("LRA")
}

fn check(case: u32, levels: &[f64], want: f64) {
    for fs in [48_000.0, 44_100.0] {
        for repeats in [1, 2] {
            let got = lra(fs, levels, repeats);
            assert!(
                (got - want).abs() <= 1.0,
                "case {case} at {fs} Hz ×{repeats}: LRA {got} vs {want} ± 1 (Tech 3342)"
            );
            assert!(
                (got - want).abs() <= 0.05,
                "case {case} at {fs} Hz ×{repeats}: LRA {got} vs {want} ± 0.05 (sheen)"
            );
        }
    }
}

/// Case 1: "Stereo sine wave, 1000 Hz, −20.0 dBFS (per-channel peak level);
/// signal applied in phase to both channels simultaneous, 20 s duration;
/// followed immediately by the same signal at −30.0 dBFS (i.e. the tones are
/// 10 dB apart)". Expected: LRA = 10 ±1 LU.
#[test]
fn case_1_ten_lu() {
    check(1, &[-20.0, -30.0], 10.0);
}

/// Case 2: "As #1, with the 2 tones at −20.0 dBFS and −15.0 dBFS,
/// respectively". Expected: LRA = 5 ±1 LU.
#[test]
fn case_2_five_lu() {
    check(2, &[-20.0, -15.0], 5.0);
}

/// Case 3: "As #1, with the 2 tones at −40.0 dBFS and −20.0 dBFS,
/// respectively". Expected: LRA = 20 ±1 LU.
#[test]
fn case_3_twenty_lu() {
    check(3, &[-40.0, -20.0], 20.0);
}

/// Case 4: "As #1, but with 5 tone-segments at −50.0 dBFS, −35.0 dBFS,
/// −20.0 dBFS, −35.0 dBFS, and −50.0 dBFS, respectively; 20 s duration each
/// tone". Expected: LRA = 15 ±1 LU (the −50 dBFS tones fall below the
/// −20 LU relative gate).
#[test]
fn case_4_fifteen_lu_relative_gate() {
    check(4, &[-50.0, -35.0, -20.0, -35.0, -50.0], 15.0);
}
