//! Throughput measurement (not a pass/fail test): analyses 10 minutes of
//! stereo 48 kHz noise in 8192-frame blocks (as `sheen analyze` streams)
//! with every option on. Run in release mode:
//!
//! ```text
//! cargo test --release -p sheen-meter --test speed -- --ignored --nocapture
//! ```

mod common;

use common::*;
use sheen_meter::{Analyzer, AnalyzerOptions, LoudnessMeter, TruePeakMeter};
use std::time::Instant;

/// CPU time of this thread in seconds (Linux `schedstat`; other processes
/// on the machine do not inflate it), if available.
fn thread_cpu_s() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

/// Runs `f` five times; reports the least wall time (and the least CPU time
/// of the calling thread, which excludes the analyser's background thread).
fn time<F: FnMut()>(label: &str, seconds: f64, mut f: F) -> f64 {
    let (mut best_cpu, mut best_wall) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..5 {
        let c0 = thread_cpu_s();
        let t = Instant::now();
        f();
        best_wall = best_wall.min(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c0, thread_cpu_s()) {
            best_cpu = best_cpu.min(b - a);
        }
    }
    eprintln!(
        "{label}: {best_wall:.3} s wall ({best_cpu:.3} s CPU on the calling thread) \
         for {seconds} s of audio ({:.0}× real time)",
        seconds / best_wall
    );
    best_wall
}

#[test]
#[ignore = "benchmark; run in release mode with --ignored --nocapture"]
fn ten_minutes_stereo_48k() {
    let fs = 48_000.0;
    let seconds = 600.0;
    let mut rng = Rng(42);
    let n = samples(fs, seconds);
    let mut l = noise(&mut rng, n, 0.1);
    let mut r = noise(&mut rng, n, 0.1);
    sections(&mut l, fs, &[-6.0, -12.0, 0.0, -20.0], 7.0);
    sections(&mut r, fs, &[-6.0, -12.0, 0.0, -20.0], 7.0);
    let run = |opts: AnalyzerOptions| {
        let mut a = Analyzer::new(fs, 2, opts);
        for (cl, cr) in l.chunks(8192).zip(r.chunks(8192)) {
            a.push(&[cl, cr]);
        }
        std::hint::black_box(a.finish());
    };
    let run_inline = |opts: AnalyzerOptions| {
        let mut a = Analyzer::new_inline(fs, 2, opts);
        for (cl, cr) in l.chunks(8192).zip(r.chunks(8192)) {
            a.push(&[cl, cr]);
        }
        std::hint::black_box(a.finish());
    };
    time("analyzer, all options", seconds, || {
        run(AnalyzerOptions {
            series: true,
            spectrum: true,
            channel_weights: None,
        })
    });
    time("analyzer inline (one thread), all options", seconds, || {
        run_inline(AnalyzerOptions {
            series: true,
            spectrum: true,
            channel_weights: None,
        })
    });
    time("analyzer, no series/spectrum", seconds, || {
        run(AnalyzerOptions::default())
    });
    time("loudness meter alone", seconds, || {
        let mut m = LoudnessMeter::new(fs, 2);
        for (cl, cr) in l.chunks(8192).zip(r.chunks(8192)) {
            m.push(&[cl, cr]);
        }
        std::hint::black_box(m.integrated_lufs());
    });
    time("true-peak meter alone", seconds, || {
        let mut m = TruePeakMeter::new(fs, 2);
        for (cl, cr) in l.chunks(8192).zip(r.chunks(8192)) {
            m.push(&[cl, cr]);
        }
        m.finish();
        std::hint::black_box(m.true_peak_dbtp());
    });
    // a dense, limited signal (peaks everywhere near the ceiling, like a
    // loud master): the true-peak skipping cannot help here
    let dense: Vec<f64> = l.iter().map(|v| (v * 8.0).clamp(-0.5, 0.5)).collect();
    let dense_r: Vec<f64> = r.iter().map(|v| (v * 8.0).clamp(-0.5, 0.5)).collect();
    time(
        "true-peak meter alone, dense limited signal",
        seconds,
        || {
            let mut m = TruePeakMeter::new(fs, 2);
            for (cl, cr) in dense.chunks(8192).zip(dense_r.chunks(8192)) {
                m.push(&[cl, cr]);
            }
            m.finish();
            std::hint::black_box(m.true_peak_dbtp());
        },
    );
    time(
        "analyzer, all options, dense limited signal",
        seconds,
        || {
            let mut a = Analyzer::new(
                fs,
                2,
                AnalyzerOptions {
                    series: true,
                    spectrum: true,
                    channel_weights: None,
                },
            );
            for (cl, cr) in dense.chunks(8192).zip(dense_r.chunks(8192)) {
                a.push(&[cl, cr]);
            }
            std::hint::black_box(a.finish());
        },
    );
    time("level stats alone", seconds, || {
        let mut m = sheen_meter::LevelStats::new(2);
        for (cl, cr) in l.chunks(8192).zip(r.chunks(8192)) {
            m.push(&[cl, cr]);
        }
        std::hint::black_box(m.result());
    });
    time("spectrum alone (2 channels)", seconds, || {
        let mut a = sheen_meter::SpectrumAnalyzer::new(fs);
        let mut b = sheen_meter::SpectrumAnalyzer::new(fs);
        for (cl, cr) in l.chunks(8192).zip(r.chunks(8192)) {
            a.push(cl);
            b.push(cr);
        }
        a.finish();
        b.finish();
        std::hint::black_box((a.band_levels(), b.band_levels()));
    });
}
