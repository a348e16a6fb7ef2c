//! Silence and empty input (must-show 5), level statistics and the
//! 1/3-octave spectrum through the public [`Analyzer`] API.

mod common;

use common::*;
use sheen_meter::spectrum::{third_octave_bands, SPECTRUM_FLOOR_DB};
use sheen_meter::{Analysis, Analyzer, AnalyzerOptions, SpectrumAnalyzer};
use std::f64::consts::PI;

fn all_on() -> AnalyzerOptions {
    AnalyzerOptions {
        series: true,
        spectrum: true,
        channel_weights: None,
    }
}

fn analyse(fs: f64, chans: &[Vec<f64>]) -> Analysis {
    let mut a = Analyzer::new(fs, chans.len(), all_on());
    a.push(&planar(chans));
    a.finish()
}

fn assert_no_levels(a: &Analysis) {
    assert_eq!(a.integrated_lufs, None);
    assert_eq!(a.loudness_range_lu, None);
    assert_eq!(a.momentary_max_lufs, None);
    assert_eq!(a.short_term_max_lufs, None);
    assert_eq!(a.true_peak_dbtp, None);
    assert_eq!(a.sample_peak_dbfs, None);
    assert_eq!(a.plr_db, None);
    assert_eq!(a.rms_dbfs, None);
    assert_eq!(a.crest_db, None);
    assert_eq!(a.correlation, None);
    assert_eq!(a.side_to_mid_db, None);
    assert_eq!(a.clipped_samples, 0);
    assert_eq!(a.dc_offset, 0.0);
    let json = serde_json::to_string(a).unwrap();
    assert!(json.contains("\"integrated_lufs\":null"), "{json}");
    assert!(!json.contains("inf") && !json.contains("NaN"), "{json}");
}

/// Reference: issue "Foundation" — zero-length input: no panic, `frames = 0`,
/// every level `None` (JSON `null`), empty spectrum and series.
#[test]
fn empty_input() {
    let mut a = Analyzer::new(48_000.0, 2, all_on());
    a.push(&[&[], &[]]);
    let r = a.finish();
    assert_eq!(r.frames, 0);
    assert_eq!(r.duration_s, 0.0);
    assert_no_levels(&r);
    assert!(r.third_octave_db.is_empty());
    assert_eq!(r.momentary.as_deref(), Some(&[][..]));
    // and without a single push
    let r = Analyzer::new(44_100.0, 1, AnalyzerOptions::default()).finish();
    assert_no_levels(&r);
}

/// Reference: issue "Foundation" — digital silence gives `None` for every
/// loudness and level (never −∞ or NaN); spectrum bands read the documented
/// floor; the series leave silent windows out.
#[test]
fn digital_silence() {
    let fs = 48_000.0;
    let z = silence(fs, 5.0);
    let r = analyse(fs, &[z.clone(), z]);
    assert_eq!(r.frames, 240_000);
    assert_no_levels(&r);
    assert!(r.third_octave_db.iter().all(|b| b.db == SPECTRUM_FLOOR_DB));
    assert!(r.momentary.unwrap().is_empty());
    assert!(r.short_term.unwrap().is_empty());
}

/// Reference: BS.1770-4 §2.4 (gating blocks of 400 ms; incomplete blocks are
/// not used) and Tech 3342 (3 s windows). A 0.3 s tone has no complete
/// block: integrated loudness and LRA are `None`, while the (zero-padded)
/// momentary maximum and the peaks are measured.
#[test]
fn shorter_than_a_gating_block() {
    let fs = 48_000.0;
    let x = tone(fs, 1000.0, -20.0, 0.3);
    let r = analyse(fs, &[x.clone(), x]);
    assert_eq!(r.integrated_lufs, None);
    assert_eq!(r.loudness_range_lu, None);
    assert_eq!(r.plr_db, None);
    // 0.3 s of a −20 LUFS tone in a 0.4 s window: −20 + 10 log10(0.75)
    let m = r.momentary_max_lufs.unwrap();
    assert!((m - (-20.0 + 10.0 * 0.75f64.log10())).abs() < 0.05, "{m}");
    assert!((r.sample_peak_dbfs.unwrap() + 20.0).abs() < 0.01);
}

/// Definitions (crate docs, `stats`): plain RMS, so a full-scale sine reads
/// −3.01 dBFS (±0.001); sample peak 0 dBFS; crest factor 3.01 dB; true peak
/// ≥ sample peak; PLR = true peak − integrated. A 997 Hz full-scale sine in
/// both channels reads +0.0 LUFS per BS.1770-4 (the −0.691 offset cancels
/// the K gain; 2 channels add 3.01 dB to the −3.01 dB mean square), ±0.01.
#[test]
fn full_scale_sine_levels() {
    let fs = 48_000.0;
    let x: Vec<f64> = (0..samples(fs, 5.0))
        .map(|i| (2.0 * PI * 997.0 * i as f64 / fs + 0.3).sin())
        .collect();
    let r = analyse(fs, &[x.clone(), x.clone()]);
    assert!(
        (r.rms_dbfs.unwrap() + 3.0103).abs() < 0.001,
        "{:?}",
        r.rms_dbfs
    );
    assert!(r.sample_peak_dbfs.unwrap() <= 0.0 && r.sample_peak_dbfs.unwrap() > -0.01);
    assert!((r.crest_db.unwrap() - 3.0103).abs() < 0.01);
    assert!(r.true_peak_dbtp.unwrap() >= r.sample_peak_dbfs.unwrap());
    assert!(r.true_peak_dbtp.unwrap().abs() < 0.01);
    let i = r.integrated_lufs.unwrap();
    assert!(i.abs() < 0.01, "{i}");
    assert!((r.plr_db.unwrap() - (r.true_peak_dbtp.unwrap() - i)).abs() < 1e-12);
    assert_eq!(r.correlation, Some(1.0));
    // S = 0 exactly: ratio −∞ is reported as None
    assert_eq!(r.side_to_mid_db, None);
    // a full-scale sine reaches 16-bit full scale near its crests
    let t = sheen_meter::stats::CLIP_THRESHOLD;
    let direct = x.iter().filter(|v| v.abs() >= t).count() as u64;
    assert!(direct > 0);
    assert_eq!(r.clipped_samples, 2 * direct);
}

/// Definitions (`stats`): DC offset = per-channel mean, summary max |mean|;
/// Pearson correlation ±1 for identical / inverted channels and ≈0 for
/// independent noise; side-to-mid ratio 10 log10(ΣS²/ΣM²) (L only: 0 dB;
/// R = L/2: 20 log10(1/3) = −9.54 dB); `None` for mono.
#[test]
fn stereo_statistics() {
    let fs = 48_000.0;
    let mut rng = Rng(11);
    let x = noise(&mut rng, samples(fs, 3.0), 0.1);
    let y = noise(&mut rng, samples(fs, 3.0), 0.1);
    let neg: Vec<f64> = x.iter().map(|v| -v).collect();
    let half: Vec<f64> = x.iter().map(|v| 0.5 * v).collect();
    let zero = vec![0.0; x.len()];
    let dc: Vec<f64> = x.iter().map(|v| v + 0.25).collect();

    let r = analyse(fs, &[x.clone(), neg]);
    assert!((r.correlation.unwrap() + 1.0).abs() < 1e-9);
    assert_eq!(r.side_to_mid_db, None); // M = 0
    let r = analyse(fs, &[x.clone(), y]);
    assert!(r.correlation.unwrap().abs() < 0.02, "{:?}", r.correlation);
    assert!(r.side_to_mid_db.unwrap().abs() < 0.1);
    let r = analyse(fs, &[x.clone(), zero]);
    assert!(r.side_to_mid_db.unwrap().abs() < 1e-9);
    assert_eq!(r.correlation, None); // constant channel
    let r = analyse(fs, &[x.clone(), half]);
    assert!((r.side_to_mid_db.unwrap() - 20.0 * (1.0f64 / 3.0).log10()).abs() < 1e-9);
    let r = analyse(fs, &[dc.clone(), x.clone()]);
    assert!((r.channel_dc_offset[0] - 0.25).abs() < 0.002);
    assert!((r.dc_offset - r.channel_dc_offset[0].abs()).abs() < 1e-15);
    let r = analyse(fs, &[x]);
    assert_eq!(r.correlation, None);
    assert_eq!(r.side_to_mid_db, None);
}

/// Definition (`stats::CLIP_THRESHOLD`): a sample counts as clipped when
/// `|x| ≥ 1 − 2⁻¹⁵` (16-bit full scale, 32767/32768), on any channel.
#[test]
fn clipped_samples() {
    let t = 1.0 - 1.0 / 32768.0;
    let l = vec![0.0, 1.0, -1.0, t, 0.9999, 1.2, 0.5];
    let r = vec![t, -t, 0.0, 0.99996, 0.0, 0.0, -1.5];
    let a = analyse(48_000.0, &[l, r]);
    // l: 1.0, −1.0, t, 1.2 → 4; r: t, −t, −1.5 → 3 (0.99996 < t)
    assert_eq!(a.clipped_samples, 7);
}

/// Reference: the spectrum's documented dB reference — a full-scale sine
/// reads −3.01 dB in its band (±0.05 dB for sines well inside a band),
/// neighbouring bands are ≥ 43 dB lower; the band powers of white noise are
/// proportional to the bandwidth (±0.5 dB above 100 Hz: the statistical
/// spread of 20 s of noise).
#[test]
fn third_octave_spectrum() {
    let fs = 48_000.0;
    for f in [100.0, 1000.0, 10_000.0] {
        let x: Vec<f64> = (0..samples(fs, 3.0))
            .map(|i| (2.0 * PI * f * i as f64 / fs).sin())
            .collect();
        let r = analyse(fs, &[x.clone(), x]);
        let bands = &r.third_octave_db;
        let k = bands.iter().position(|b| b.hz == f).unwrap();
        assert!(
            (bands[k].db + 3.0103).abs() < 0.05,
            "{f} Hz: {}",
            bands[k].db
        );
        assert!(
            bands[k - 1].db < -43.0 && bands[k + 1].db < -43.0,
            "{f} Hz leakage"
        );
    }
    // white noise, variance 0.01: band power = 0.01 · (upper − lower) / (fs/2)
    let mut rng = Rng(5);
    let x: Vec<f64> = (0..samples(fs, 20.0)).map(|_| 0.1 * rng.gauss()).collect();
    let mut sa = SpectrumAnalyzer::new(fs);
    sa.push(&x);
    sa.finish();
    for (b, l) in third_octave_bands(fs).iter().zip(sa.band_levels()) {
        if b.nominal_hz >= 100.0 {
            let want = 10.0 * (0.01 * (b.upper_hz - b.lower_hz) / (fs / 2.0)).log10();
            assert!(
                (l.db - want).abs() < 0.5,
                "{} Hz: {} vs {want}",
                b.nominal_hz,
                l.db
            );
        }
    }
    // bands up to Nyquist only: 20 kHz (mid 19.95 kHz) is reported at 44.1
    // kHz, nothing above; at 32 kHz the top band is 16 kHz (mid 15.85 kHz).
    assert_eq!(
        third_octave_bands(44_100.0).last().unwrap().nominal_hz,
        20_000.0
    );
    assert_eq!(
        third_octave_bands(32_000.0).last().unwrap().nominal_hz,
        16_000.0
    );
    assert_eq!(third_octave_bands(48_000.0).len(), 31);
}

/// The spectrum analyser works on any mono signal (e.g. mid and side):
/// for L = s + n, R = s − n, mid = s and side = n are measured separately.
#[test]
fn spectrum_of_mid_and_side() {
    let fs = 48_000.0;
    let s: Vec<f64> = (0..samples(fs, 2.0))
        .map(|i| 0.5 * (2.0 * PI * 1000.0 * i as f64 / fs).sin())
        .collect();
    let n: Vec<f64> = (0..s.len())
        .map(|i| 0.25 * (2.0 * PI * 5000.0 * i as f64 / fs).sin())
        .collect();
    let (l, r): (Vec<f64>, Vec<f64>) = s.iter().zip(&n).map(|(a, b)| (a + b, a - b)).unzip();
    let mid: Vec<f64> = l.iter().zip(&r).map(|(a, b)| 0.5 * (a + b)).collect();
    let side: Vec<f64> = l.iter().zip(&r).map(|(a, b)| 0.5 * (a - b)).collect();
    let mut m = SpectrumAnalyzer::new(fs);
    let mut sd = SpectrumAnalyzer::new(fs);
    m.push(&mid);
    sd.push(&side);
    m.finish();
    sd.finish();
    let level =
        |a: &SpectrumAnalyzer, hz: f64| a.band_levels().iter().find(|b| b.hz == hz).unwrap().db;
    assert!((level(&m, 1000.0) - (-3.0103 - 6.0206)).abs() < 0.05);
    assert!(level(&m, 5000.0) < -100.0);
    assert!((level(&sd, 5000.0) - (-3.0103 - 12.0412)).abs() < 0.05);
    assert!(level(&sd, 1000.0) < -100.0);
}

/// Channel weights: explicit weights replace the defaults (a 5.1 file
/// measured with weights that also count the LFE reads louder).
#[test]
fn explicit_channel_weights() {
    let fs = 48_000.0;
    let x = tone(fs, 1000.0, -20.0, 3.0);
    let z = vec![0.0; x.len()];
    let chans = vec![z.clone(), z.clone(), z.clone(), x.clone(), z.clone(), z];
    let r = analyse(fs, &chans);
    assert_eq!(r.integrated_lufs, None, "LFE alone is excluded by default");
    let mut a = Analyzer::new(
        fs,
        6,
        AnalyzerOptions {
            channel_weights: Some(vec![1.0, 1.0, 1.0, 1.0, 1.41, 1.41]),
            ..Default::default()
        },
    );
    a.push(&planar(&chans));
    let i = a.finish().integrated_lufs.unwrap();
    assert!((i + 23.01).abs() < 0.05, "{i}"); // one channel at −20 dBFS peak
}

/// Reference: EBU Tech 3341 case 1 (1 kHz sine at −23 dBFS on both
/// channels reads M = S = I = −23.0 ±0.1 LUFS). The 100 ms series are flat
/// at −23.0 (±0.05) once the window is full (0.4 s momentary, 3 s
/// short-term), one point per 100 ms; the stereo series of identical
/// channels read correlation +1 and no side signal.
#[test]
fn series_of_tech3341_case1_are_flat() {
    for fs in [44_100.0, 48_000.0] {
        let x = tone(fs, 1000.0, -23.0, 20.0);
        let r = analyse(fs, &[x.clone(), x]);
        let m = r.momentary.unwrap();
        let s = r.short_term.unwrap();
        assert_eq!(m.len(), 200, "{fs}");
        let full_m: Vec<_> = m.iter().filter(|p| p[0] >= 0.4 - 1e-9).collect();
        let full_s: Vec<_> = s.iter().filter(|p| p[0] >= 3.0 - 1e-9).collect();
        assert!(full_m.len() >= 196 && full_s.len() >= 170, "{fs}");
        for p in full_m.iter().chain(&full_s) {
            assert!((p[1] + 23.0).abs() < 0.05, "{fs}: {p:?}");
        }
        for w in m.windows(2) {
            assert!((w[1][0] - w[0][0] - 0.1).abs() < 1e-9, "{fs}: 100 ms hops");
        }
        let st = r.stereo.unwrap();
        assert_eq!(st.len(), 200);
        assert!(st
            .iter()
            .all(|p| p.correlation == Some(1.0) && p.side_to_mid_db.is_none()));
    }
}
