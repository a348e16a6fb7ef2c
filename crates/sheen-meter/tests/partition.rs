//! Block-size independence (issue "Foundation", must-show 2): the complete
//! [`Analysis`] (every field, including the series and the spectrum) is
//! bitwise identical whether the signal is fed in blocks of 1, 64, 4096 or
//! random sizes, and whether the analyser runs inline or with its background
//! thread. Compared through `{:?}`, which prints every `f64` with its
//! shortest round-trip representation, so equal text means equal bits.

mod common;

use common::*;
use sheen_meter::{Analysis, Analyzer, AnalyzerOptions};

fn analyse(fs: f64, chans: &[Vec<f64>], sizes: &mut dyn FnMut() -> usize) -> Analysis {
    analyse_with(Analyzer::new, fs, chans, sizes)
}

type Ctor = fn(f64, usize, AnalyzerOptions) -> Analyzer;

fn analyse_with(
    ctor: Ctor,
    fs: f64,
    chans: &[Vec<f64>],
    sizes: &mut dyn FnMut() -> usize,
) -> Analysis {
    let mut a = ctor(
        fs,
        chans.len(),
        AnalyzerOptions {
            series: true,
            spectrum: true,
            channel_weights: None,
        },
    );
    let n = chans[0].len();
    let mut start = 0;
    while start < n {
        let end = (start + sizes()).min(n);
        let block: Vec<&[f64]> = chans.iter().map(|c| &c[start..end]).collect();
        a.push(&block);
        start = end;
    }
    a.finish()
}

fn check(fs: f64, chans: &[Vec<f64>]) {
    let reference = format!("{:?}", analyse(fs, chans, &mut || 4096));
    // all meters on the calling thread vs true peak and spectrum on the
    // background thread (the default on a multi-core machine)
    let inline = format!(
        "{:?}",
        analyse_with(Analyzer::new_inline, fs, chans, &mut || 4096)
    );
    assert!(
        inline == reference,
        "inline and background analysers differ"
    );
    for size in [1usize, 64, 7, 48_000] {
        let got = format!("{:?}", analyse(fs, chans, &mut || size));
        assert!(got == reference, "block size {size} differs");
    }
    let mut rng = Rng(7);
    let got = format!(
        "{:?}",
        analyse(fs, chans, &mut || 1 + (rng.next_u64() % 5000) as usize)
    );
    assert!(got == reference, "random block sizes differ");
    // also across an empty block in the middle
    let mut calls = 0;
    let got = format!(
        "{:?}",
        analyse(fs, chans, &mut || {
            calls += 1;
            if calls == 3 {
                0
            } else {
                1000
            }
        })
    );
    assert!(got == reference, "an empty block changed the result");
}

/// Stereo music-like signal with loudness sections at 48 kHz, 8 s (covers
/// momentary, short-term, gating and LRA blocks, several spectrum frames and
/// a statistics fold at 65536 samples).
#[test]
fn stereo_48k_any_partition() {
    let fs = 48_000.0;
    let mut l = music_like(fs, 8.0, 1);
    let mut r = music_like(fs, 8.0, 2);
    sections(&mut l, fs, &[0.0, -12.0, 6.0], 2.5);
    sections(&mut r, fs, &[0.0, -12.0, 6.0], 2.5);
    check(fs, &[l, r]);
}

/// 5.1 at 44.1 kHz (odd sub-block lengths: 4410 samples per hop in 200
/// sub-blocks of 22 or 23 samples), 4 s.
#[test]
fn surround_44k1_any_partition() {
    let fs = 44_100.0;
    let mut rng = Rng(3);
    let chans: Vec<Vec<f64>> = (0..6)
        .map(|_| noise(&mut rng, samples(fs, 4.0), 0.2))
        .collect();
    check(fs, &chans);
}

/// The mid/side spectra of [`Analyzer::with_mid_side`] (on the background
/// thread) equal separate [`SpectrumAnalyzer`]s fed `(L+R)/2` and
/// `(L−R)/2` on the calling thread, bin for bin, for any partition, and
/// the rest of the analysis equals [`Analyzer::new`]'s. Reference: the
/// spectrum analysers themselves, fed the whole signal at once.
#[test]
fn mid_side_spectra_equal_separate_analysers() {
    use sheen_meter::SpectrumAnalyzer;
    let fs = 48_000.0;
    let l = music_like(fs, 3.0, 5);
    let r = music_like(fs, 3.0, 6);
    let chans = [l, r];
    let mid: Vec<f64> = chans[0]
        .iter()
        .zip(&chans[1])
        .map(|(a, b)| 0.5 * (a + b))
        .collect();
    let side: Vec<f64> = chans[0]
        .iter()
        .zip(&chans[1])
        .map(|(a, b)| 0.5 * (a - b))
        .collect();
    let want = |x: &[f64]| {
        let mut s = SpectrumAnalyzer::new(fs);
        s.push(x);
        s.finish();
        s.bin_powers()
    };
    let (wm, ws) = (want(&mid), want(&side));
    let plain = format!("{:?}", analyse(fs, &chans, &mut || 4096));
    for size in [4096usize, 777, 48_000] {
        let mut a = Analyzer::with_mid_side(
            fs,
            2,
            AnalyzerOptions {
                series: true,
                spectrum: true,
                channel_weights: None,
            },
        );
        let mut start = 0;
        while start < chans[0].len() {
            let end = (start + size).min(chans[0].len());
            a.push(&[&chans[0][start..end], &chans[1][start..end]]);
            start = end;
        }
        let (analysis, ms) = a.finish_mid_side();
        let (m, s) = ms.unwrap();
        let bits = |v: Vec<f64>| v.into_iter().map(f64::to_bits).collect::<Vec<_>>();
        assert_eq!(
            bits(m.bin_powers()),
            bits(wm.clone()),
            "mid, blocks of {size}"
        );
        assert_eq!(
            bits(s.unwrap().bin_powers()),
            bits(ws.clone()),
            "side, blocks of {size}"
        );
        assert!(
            format!("{analysis:?}") == plain,
            "analysis, blocks of {size}"
        );
    }
}
