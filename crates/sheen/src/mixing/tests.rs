//! Render and error tests of mixing sessions (issue 5). Each test names its
//! reference and tolerance. Stems are written as 32-bit float WAV in a
//! temporary folder, so the samples the engine reads are exactly the
//! `f32`-rounded reference signals.

use super::render::{render_to_memory_grouped, render_to_memory_spans};
use super::*;
use sheen_io::{Container, SampleFormat, WriteSpec};
use std::path::PathBuf;

const FS: u32 = 48_000;

/// Deterministic noise in [-amp, amp), rounded to `f32` (what the WAV holds).
fn noise(n: usize, seed: u64, amp: f64) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s ^= s >> 12;
            s ^= s << 25;
            s ^= s >> 27;
            let r = (s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 52) as f64;
            ((r - 1.0) * amp) as f32 as f64
        })
        .collect()
}

struct Fx {
    dir: tempfile::TempDir,
}

impl Fx {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    fn stem_at(&self, name: &str, chans: &[Vec<f64>], rate: u32) -> PathBuf {
        let p = self.path(name);
        let spec = WriteSpec {
            sample_rate_hz: rate,
            channels: chans.len(),
            format: SampleFormat::F32,
            container: Container::Wav,
        };
        sheen_io::write_all(&p, spec, &[], chans).unwrap();
        p
    }
    fn stem(&self, name: &str, chans: &[Vec<f64>]) -> PathBuf {
        self.stem_at(name, chans, FS)
    }
    fn plan(&self, text: &str) -> Plan {
        plan_text(&self.path("session.toml"), text).unwrap_or_else(|e| panic!("{e}"))
    }
    fn mix(&self, text: &str) -> Vec<Vec<f64>> {
        render_to_memory(&self.plan(text), 1).unwrap()
    }
    fn error(&self, text: &str) -> String {
        match plan_text(&self.path("session.toml"), text) {
            Ok(_) => panic!("session should be refused:\n{text}"),
            Err(e) => e.to_string(),
        }
    }
}

/// Largest absolute difference in dBFS (−inf when identical).
fn diff_dbfs(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "lengths differ");
    let m = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    20.0 * m.log10()
}

fn peak_dbfs(a: &[f64]) -> f64 {
    20.0 * a.iter().fold(0.0f64, |m, x| m.max(x.abs())).log10()
}

/// Must-show D1. Reference: the input stem. One mono track at unity,
/// centred with the 0 dB law, no inserts: both channels equal the input;
/// a stereo track with balance 0 equals its input. Tolerance ≤ −120 dBFS
/// (measured: identical, −inf). Also through the file writer (F32 WAV).
#[test]
fn null_single_track_unity() {
    let fx = Fx::new();
    let x = noise(30_000, 1, 0.5);
    let (l, r) = (noise(30_000, 2, 0.5), noise(30_000, 3, 0.5));
    fx.stem("mono.wav", std::slice::from_ref(&x));
    fx.stem("stereo.wav", &[l.clone(), r.clone()]);
    let out = fx.mix("[[tracks]]\nname = \"a\"\nfile = \"mono.wav\"\npan = 0\npan_law = 0\n");
    let d = diff_dbfs(&out[0], &x).max(diff_dbfs(&out[1], &x));
    eprintln!("mono null: {d} dBFS");
    assert!(d <= -120.0);
    let text = "[[tracks]]\nname = \"a\"\nfile = \"stereo.wav\"\n";
    let out = fx.mix(text);
    let d = diff_dbfs(&out[0], &l).max(diff_dbfs(&out[1], &r));
    eprintln!("stereo null: {d} dBFS");
    assert!(d <= -120.0);
    let plan = fx.plan(text);
    let opts = RenderOptions {
        output: fx.path("mix.wav"),
        ..Default::default()
    };
    let rep = render(&plan, &opts, &mut |_, _| {}).unwrap();
    assert_eq!(rep.frames, 30_000);
    let (_, back) = sheen_io::read_all(&fx.path("mix.wav")).unwrap();
    assert!(diff_dbfs(&back[0], &l) <= -120.0 && diff_dbfs(&back[1], &r) <= -120.0);
}

/// Must-show D2. Reference: the sample-wise sum of the stems, added in
/// track order in `f64`. Five stereo tracks at unity (different lengths
/// and an offset). Tolerance ≤ −120 dBFS (measured: identical).
#[test]
fn tracks_sum_exactly() {
    let fx = Fx::new();
    let mut text = String::new();
    let mut want = vec![vec![0.0; 19_000]; 2];
    for k in 0..5 {
        let n = 15_000 + 1000 * k;
        let chans = vec![noise(n, 10 + k as u64, 0.2), noise(n, 20 + k as u64, 0.2)];
        fx.stem(&format!("s{k}.wav"), &chans);
        let off = if k == 2 { 500 } else { 0 };
        for (w, c) in want.iter_mut().zip(&chans) {
            for (i, v) in c.iter().enumerate() {
                w[i + off] += v;
            }
        }
        text += &format!("[[tracks]]\nname = \"t{k}\"\nfile = \"s{k}.wav\"\n");
        if off > 0 {
            text += &format!("offset_samples = {off}\n");
        }
    }
    let out = fx.mix(&text);
    let d = diff_dbfs(&out[0], &want[0]).max(diff_dbfs(&out[1], &want[1]));
    eprintln!("sum of 5 tracks: {d} dBFS");
    assert!(d <= -120.0);
}

/// Must-show D3. Reference: silence. A track and its polarity-inverted
/// duplicate, through a bus, with the same EQ. Tolerance ≤ −120 dBFS
/// (measured: exact zeros).
#[test]
fn inverted_duplicate_nulls() {
    let fx = Fx::new();
    fx.stem("s.wav", &[noise(20_000, 5, 0.5), noise(20_000, 6, 0.5)]);
    let eq = "inserts = [{ type = \"eq\", bands = [{ kind = \"peak\", freq_hz = 1000, q = 1, gain_db = 6 }] }]\n";
    let text = format!(
        "[[tracks]]\nname = \"a\"\nfile = \"s.wav\"\noutput = \"bus\"\n{eq}\
         [[tracks]]\nname = \"b\"\nfile = \"s.wav\"\ninvert = true\noutput = \"bus\"\n{eq}\
         [[buses]]\nname = \"bus\"\ngain_db = 6\n"
    );
    let out = fx.mix(&text);
    let p = peak_dbfs(&out[0]).max(peak_dbfs(&out[1]));
    eprintln!("inverted duplicate: {p} dBFS");
    assert!(p <= -120.0);
}

/// Must-show D4. Reference: silence. A track through a latency-reporting
/// insert (test-only pure delay of 100 samples, `latency_samples` = 100)
/// into a bus with 37 more samples of latency, plus a pre-fader send to a
/// return with 50 samples of latency, mixed with inverted dry copies:
/// compensation aligns all paths at every summing point. Tolerance
/// ≤ −100 dBFS (measured: exact zeros); the mix is exactly as long as the
/// stem (the master latency is removed).
#[test]
fn latency_compensation_nulls() {
    let fx = Fx::new();
    let x = noise(24_000, 7, 0.5);
    fx.stem("s.wav", &[x.clone(), noise(24_000, 8, 0.5)]);
    let text = "tail_s = 0\n\
        [[tracks]]\nname = \"late\"\nfile = \"s.wav\"\noutput = \"bus\"\n\
        inserts = [{ type = \"test_latency\", samples = 100 }]\n\
        [[tracks]]\nname = \"dry\"\nfile = \"s.wav\"\ninvert = true\n\
        [[tracks]]\nname = \"sender\"\nfile = \"s.wav\"\ngain_db = -inf\n\
        sends = [{ to = \"ret\", pre_fader = true }]\n\
        [[tracks]]\nname = \"dry2\"\nfile = \"s.wav\"\ninvert = true\n\
        [[buses]]\nname = \"bus\"\ninserts = [{ type = \"test_latency\", samples = 37 }]\n\
        [[returns]]\nname = \"ret\"\ninserts = [{ type = \"test_latency\", samples = 50 }]\n";
    let plan = fx.plan(text);
    assert_eq!(plan.latency_samples(), 137);
    let out = render_to_memory(&plan, 2).unwrap();
    assert_eq!(out[0].len(), 24_000);
    let p = peak_dbfs(&out[0]).max(peak_dbfs(&out[1]));
    eprintln!("latency-compensated null: {p} dBFS");
    assert!(p <= -100.0);
    // without the inverted copies the mix is the (aligned) signal times 2
    let text2 = text.replace("invert = true", "gain_db = -inf");
    let out = fx.mix(&text2);
    let want: Vec<f64> = x.iter().map(|v| 2.0 * v).collect();
    assert!(diff_dbfs(&out[0], &want) <= -120.0);
}

/// Must-show D4 with a real latency: the compressor's look-ahead (5 ms =
/// 240 samples, reported by `latency_samples`) at ratio 1 (unity gain),
/// mixed with an inverted dry copy. Reference: silence; tolerance
/// ≤ −100 dBFS (measured: exact zeros).
#[test]
fn latency_compensation_with_lookahead_compressor() {
    let fx = Fx::new();
    fx.stem("s.wav", &[noise(20_000, 9, 0.5), noise(20_000, 10, 0.5)]);
    let plan = fx.plan(
        "tail_s = 0\n[[tracks]]\nname = \"comp\"\nfile = \"s.wav\"\n\
         inserts = [{ type = \"compressor\", ratio = 1, lookahead_ms = 5 }]\n\
         [[tracks]]\nname = \"dry\"\nfile = \"s.wav\"\ninvert = true\n",
    );
    assert_eq!(plan.latency_samples(), 240);
    let out = render_to_memory(&plan, 1).unwrap();
    let p = peak_dbfs(&out[0]).max(peak_dbfs(&out[1]));
    eprintln!("look-ahead compressor null: {p} dBFS");
    assert!(p <= -100.0);
}

/// Must-show D4 with the real linear-phase EQ (sheen-dsp `LinearPhaseEq`,
/// 1023 taps, latency (taps − 1)/2 + hop) set flat (0 dB everywhere: the
/// designed FIR is a centred unit impulse), mixed with an inverted dry copy
/// through a bus. Reference: silence; tolerance ≤ −100 dBFS.
#[test]
fn latency_compensation_with_linear_phase_eq() {
    let fx = Fx::new();
    fx.stem("s.wav", &[noise(20_000, 15, 0.5), noise(20_000, 16, 0.5)]);
    let plan = fx.plan(
        "tail_s = 0\n[[tracks]]\nname = \"fir\"\nfile = \"s.wav\"\noutput = \"bus\"\n\
         inserts = [{ type = \"linear_phase_eq\", taps = 1023, points = [{ freq_hz = 1000.0, gain_db = 0.0 }] }]\n\
         [[tracks]]\nname = \"dry\"\nfile = \"s.wav\"\ninvert = true\noutput = \"bus\"\n\
         [[buses]]\nname = \"bus\"\n",
    );
    assert!(plan.latency_samples() >= 511, "{}", plan.latency_samples());
    let out = render_to_memory(&plan, 2).unwrap();
    let p = peak_dbfs(&out[0]).max(peak_dbfs(&out[1]));
    eprintln!(
        "linear-phase EQ null (latency {}): {p:.1} dBFS",
        plan.latency_samples()
    );
    assert!(p <= -100.0);
}

/// Side-chain alignment. Reference: `Compressor::process_keyed` run
/// offline on the stem with the key stem (both from time 0). In the mix the
/// key track has 100 samples of latency (test insert) and a −inf fader (the
/// key is pre-fader); the keyed compressor's audio is delayed to match.
/// Tolerance ≤ −100 dBFS (measured: exact).
#[test]
fn sidechain_is_aligned_with_the_audio() {
    use sheen_dsp::compressor::{Compressor, CompressorParams};
    use sheen_dsp::Processor;
    let fx = Fx::new();
    let a = vec![noise(30_000, 11, 0.5), noise(30_000, 12, 0.5)];
    let mut k = vec![noise(30_000, 13, 0.9), noise(30_000, 14, 0.9)];
    k.iter_mut().for_each(|c| c[10_000..20_000].fill(0.0));
    fx.stem("a.wav", &a);
    fx.stem("k.wav", &k);
    let params = CompressorParams {
        threshold_db: -30.0,
        ratio: 8.0,
        attack_ms: 1.0,
        release_ms: 50.0,
        ..Default::default()
    };
    let plan = fx.plan(
        "tail_s = 0\n[[tracks]]\nname = \"a\"\nfile = \"a.wav\"\n\
         inserts = [{ type = \"compressor\", sidechain = \"key\", threshold_db = -30, ratio = 8, attack_ms = 1, release_ms = 50 }]\n\
         [[tracks]]\nname = \"key\"\nfile = \"k.wav\"\ngain_db = -inf\n\
         inserts = [{ type = \"test_latency\", samples = 100 }]\n",
    );
    assert_eq!(plan.tracks[0].level, 1);
    assert_eq!(plan.tracks[0].strip.inserts[0].pre_delay, 100);
    let out = render_to_memory(&plan, 2).unwrap();
    let mut c = Compressor::new(params);
    c.prepare(48_000.0, 2, 30_000);
    let mut want = a.clone();
    let (l, r) = want.split_at_mut(1);
    c.process_keyed(&mut [&mut l[0][..], &mut r[0][..]], &[&k[0][..], &k[1][..]]);
    let d = diff_dbfs(&out[0], &want[0]).max(diff_dbfs(&out[1], &want[1]));
    eprintln!("sidechain vs offline process_keyed: {d} dBFS");
    assert!(d <= -100.0);
    assert!(diff_dbfs(&out[0], &a[0]) > -20.0, "the key must compress");
}

/// Must-show D5. Reference: the delay setting. An impulse through a delay
/// insert (10 ms at 48 kHz = 480 samples, wet only, no feedback) comes out
/// at exactly frame 480; through a delay return (send) at 250 ms, frame
/// 12 000 plus the track's offset_s = 0.5 s (24 000). Tolerance: exact
/// sample, exact value 1.
#[test]
fn delay_times_exact_to_the_sample() {
    let fx = Fx::new();
    let mut imp = vec![0.0; 4800];
    imp[0] = 1.0;
    fx.stem("imp.wav", std::slice::from_ref(&imp));
    let out = fx.mix(
        "tail_s = 0\n[[tracks]]\nname = \"a\"\nfile = \"imp.wav\"\npan_law = 0\n\
         inserts = [{ type = \"delay\", time_ms = 10, feedback = 0, mix = 1 }]\n",
    );
    let nz: Vec<usize> = (0..out[0].len()).filter(|&i| out[0][i] != 0.0).collect();
    assert_eq!(nz, vec![480]);
    assert_eq!(out[0][480], 1.0);
    let out = fx.mix(
        "tail_s = 0.3\n[[tracks]]\nname = \"a\"\nfile = \"imp.wav\"\npan_law = 0\noffset_s = 0.5\ngain_db = -inf\n\
         sends = [{ to = \"echo\", pre_fader = true }]\n\
         [[returns]]\nname = \"echo\"\ninserts = [{ type = \"delay\", time_ms = 250, feedback = 0, mix = 1 }]\n",
    );
    let nz: Vec<usize> = (0..out[0].len()).filter(|&i| out[0][i] != 0.0).collect();
    assert_eq!(nz, vec![24_000 + 12_000]);
}

/// Must-show D6. Reference: the breakpoint curve (linear in amplitude from
/// −inf to 0 dB over 1 s, i.e. gain = t). A constant 0.5 stem through the
/// automated fader: the output level at t = 0.1 … 1.0 s is
/// 20·log10(0.5·t) within 0.1 dB (measured: < 1e-9 dB). Sample-accurate:
/// block sizes 16 and 1024 give identical samples, and the s-curve and exp
/// curves follow their formulas too.
#[test]
fn gain_automation_follows_curve() {
    let fx = Fx::new();
    fx.stem("dc.wav", &[vec![0.5; 72_000]]);
    let lane = |curve: &str, block: usize| {
        format!(
            "block_size = {block}\n[[tracks]]\nname = \"a\"\nfile = \"dc.wav\"\npan_law = 0\n\
             automation = [{{ param = \"gain_db\", points = [\
             {{ time_s = 0.0, value = -inf, curve = \"{curve}\" }}, {{ time_s = 1.0, value = 0.0 }}] }}]\n"
        )
    };
    for curve in [Curve::Linear, Curve::SCurve, Curve::Exp] {
        let name = match curve {
            Curve::Linear => "linear",
            Curve::SCurve => "s-curve",
            _ => "exp",
        };
        let out = fx.mix(&lane(name, 1024));
        let mut worst = 0.0f64;
        for k in 1..=10 {
            let i = k * 4800;
            let t = i as f64 / 48_000.0;
            // the curve formulas of docs/SESSION.md, written out here
            let g = match curve {
                Curve::Linear => t,
                Curve::SCurve => 3.0 * t * t - 2.0 * t * t * t,
                _ => (1000f64.powf(t) - 1.0) / 999.0,
            };
            let want = 20.0 * (0.5 * g).log10();
            let got = 20.0 * out[0][i].abs().log10();
            worst = worst.max((got - want).abs());
        }
        eprintln!("{name}: worst deviation {worst:.2e} dB at 10 points");
        assert!(worst < 0.1);
        assert_eq!(
            out,
            fx.mix(&lane(name, 16)),
            "block size changed the output"
        );
    }
}

/// Schroeder backward integration, T30 from the −5…−35 dB fit (ISO 3382-1),
/// the method of sheen-fx's reverb tests.
fn t30(chans: &[Vec<f64>], fs: f64) -> f64 {
    let n = chans[0].len();
    let mut edc = vec![0.0; n];
    let mut acc = 0.0;
    for i in (0..n).rev() {
        acc += chans.iter().map(|c| c[i] * c[i]).sum::<f64>();
        edc[i] = acc;
    }
    let (mut sx, mut sy, mut sxx, mut sxy, mut k) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &e) in edc.iter().enumerate() {
        let db = 10.0 * (e / edc[0]).log10();
        if (-35.0..=-5.0).contains(&db) {
            let t = i as f64 / fs;
            sx += t;
            sy += db;
            sxx += t * t;
            sxy += t * db;
            k += 1.0;
        }
    }
    -60.0 / ((k * sxy - sx * sy) / (k * sxx - sx * sx))
}

/// Must-show D7. Reference: ISO 3382-1 T30 by Schroeder integration of the
/// mix of an impulse sent (pre-fader, track fader at −inf) to a reverb
/// return (mix 1, no HF damping). Tolerance: within 10 % of RT60 at 0.5,
/// 1 and 2 s.
#[test]
fn reverb_send_rt60() {
    let fx = Fx::new();
    let mut imp = vec![0.0; 480];
    imp[0] = 1.0;
    fx.stem("imp.wav", &[imp.clone(), imp]);
    for rt in [0.5, 1.0, 2.0] {
        let out = fx.mix(&format!(
            "tail_s = {}\n[[tracks]]\nname = \"a\"\nfile = \"imp.wav\"\ngain_db = -inf\n\
             sends = [{{ to = \"verb\", pre_fader = true, level_db = 0 }}]\n\
             [[returns]]\nname = \"verb\"\ninserts = [{{ type = \"reverb\", rt60_s = {rt}, \
             hf_rt60_ratio = 1.0, pre_delay_ms = 0, mix = 1.0 }}]\n",
            1.6 * rt
        ));
        let t = t30(&out, 48_000.0);
        eprintln!("reverb send: RT60 {rt} s -> T30 {t:.4} s");
        assert!((t / rt - 1.0).abs() < 0.10, "{rt}: {t}");
    }
}

/// A session using every feature: buses, returns, sends, inserts of every
/// kind, automation, offsets, fades, a resampled stem.
fn busy_session(fx: &Fx) -> String {
    for k in 0..6 {
        let n = 40_000 + 3000 * k;
        let chans: Vec<Vec<f64>> = if k % 3 == 0 {
            vec![noise(n, 40 + k as u64, 0.3)]
        } else {
            vec![noise(n, 50 + k as u64, 0.3), noise(n, 60 + k as u64, 0.3)]
        };
        if k == 5 {
            fx.stem_at(&format!("s{k}.wav"), &chans, 44_100);
        } else {
            fx.stem(&format!("s{k}.wav"), &chans);
        }
    }
    let mut t = String::from("sample_rate_hz = 48000\ntail_s = 0.5\n");
    for k in 0..6 {
        let mono = k % 3 == 0;
        t += &format!("[[tracks]]\nname = \"t{k}\"\nfile = \"s{k}.wav\"\ngain_db = -{k}\n");
        t += if mono {
            "pan = -0.4\npan_law = -4.5\n"
        } else {
            "balance = 0.2\n"
        };
        t += &format!("output = \"{}\"\n", if k < 3 { "drums" } else { "music" });
        t += "fade_in = { length_s = 0.05, curve = \"s-curve\" }\nfade_out = { length_s = 0.1, curve = \"exp\" }\n";
        t += &format!("offset_s = {}\n", 0.01 * k as f64);
        t += "inserts = [{ type = \"highpass\", freq_hz = 80 }, { type = \"eq\", bands = [{ kind = \"high_shelf\", freq_hz = 8000, gain_db = -3 }] }]\n";
        t += "sends = [{ to = \"verb\", level_db = -12 }, { to = \"echo\", level_db = -18, pre_fader = true }]\n";
        t += &format!(
            "automation = [{{ param = \"{}\", points = [{{ time_s = 0.1, value = -0.5 }}, {{ time_s = 0.6, value = 0.5, curve = \"s-curve\" }}] }}, \
             {{ param = \"sends.verb.level_db\", points = [{{ time_s = 0, value = -30 }}, {{ time_s = 0.8, value = -6 }}] }}]\n",
            if mono { "pan" } else { "balance" }
        );
    }
    t += "[[buses]]\nname = \"drums\"\noutput = \"mix\"\ninserts = [{ type = \"lowpass\", freq_hz = 12000 }]\n\
          [[buses]]\nname = \"music\"\noutput = \"mix\"\ninserts = [{ type = \"chorus\" }]\nsends = [{ to = \"verb\", level_db = -20 }]\n\
          [[buses]]\nname = \"mix\"\ngain_db = -3\nautomation = [{ param = \"gain_db\", points = [{ time_s = 0, value = -6 }, { time_s = 1, value = 0 }] }]\n\
          [[returns]]\nname = \"verb\"\ninserts = [{ type = \"reverb\", rt60_s = 0.8, mix = 1 }]\n\
          [[returns]]\nname = \"echo\"\noutput = \"verb\"\ninserts = [{ type = \"delay\", time_ms = 120, feedback = 0.3, mix = 1 }]\n\
          [master]\ngain_db = -1\ninserts = [{ type = \"highpass\", freq_hz = 20 }]\n";
    t
}

/// Must-show D8. Reference: the 1-thread render. Renders of the busy
/// session with 1, 2 and 8 threads write byte-identical files (and
/// identical post-fader stems).
#[test]
fn output_independent_of_thread_count() {
    let fx = Fx::new();
    let text = busy_session(&fx);
    let plan = fx.plan(&text);
    let mut files = Vec::new();
    for threads in [1, 2, 8] {
        let opts = RenderOptions {
            output: fx.path(&format!("mix{threads}.wav")),
            stems_out: Some(fx.path(&format!("stems{threads}"))),
            threads,
        };
        let rep = render(&plan, &opts, &mut |_, _| {}).unwrap();
        assert!(
            rep.peak_dbfs > -40.0 && rep.peak_dbfs < 6.0,
            "{}",
            rep.peak_dbfs
        );
        assert_eq!(rep.stems.len(), 6 + 5);
        files.push(std::fs::read(&rep.output).unwrap());
        let s: Vec<Vec<u8>> = rep
            .stems
            .iter()
            .map(|p| std::fs::read(p).unwrap())
            .collect();
        files.push(s.concat());
    }
    assert_eq!(files[0], files[2], "2 threads differ from 1");
    assert_eq!(files[0], files[4], "8 threads differ from 1");
    assert_eq!(files[1], files[3]);
    assert_eq!(files[1], files[5]);
}

/// Reference: the track stage one track at a time (group size 1, each
/// strip's inserts through `Processor::process`). Rendering tracks in
/// groups of four (EQs and compressors of a group in vector lanes) gives
/// the same bits, on 1 and 2 threads, for 11 tracks: stereo tracks with
/// different EQs (1–4 bands) and compressors (peak / RMS, linked or not,
/// look-ahead), a mono track, a muted one, one keyed by another's side
/// chain (its own side-chain level), and tracks without inserts.
#[test]
fn grouped_track_stage_matches_one_by_one() {
    let fx = Fx::new();
    let mut t = String::from("sample_rate_hz = 48000\ntail_s = 0.2\n");
    for k in 0..11 {
        let n = 30_000 + 1500 * k;
        let chans: Vec<Vec<f64>> = if k == 4 {
            vec![noise(n, 80 + k as u64, 0.5)]
        } else {
            vec![noise(n, 80 + k as u64, 0.5), noise(n, 90 + k as u64, 0.2)]
        };
        fx.stem(&format!("g{k}.wav"), &chans);
        t += &format!("[[tracks]]\nname = \"t{k}\"\nfile = \"g{k}.wav\"\n");
        if k == 6 {
            t += "mute = true\n";
        }
        let bands: Vec<String> = (0..=(k % 4))
            .map(|b| {
                format!(
                    "{{ kind = \"peak\", freq_hz = {}, q = 1.0, gain_db = {} }}",
                    200.0 * (b + 1) as f64 + 10.0 * k as f64,
                    -3.0 + b as f64
                )
            })
            .collect();
        let comp = format!(
            "{{ type = \"compressor\", threshold_db = {}, ratio = 4.0, attack_ms = {}, release_ms = {}, knee_db = {}, stereo_link = {}, detector = \"{}\", lookahead_ms = {}{} }}",
            -24.0 + k as f64,
            1.0 + k as f64,
            40.0 + 10.0 * k as f64,
            if k % 2 == 0 { 0.0 } else { 6.0 },
            if k % 3 == 1 { 0.5 } else { 1.0 },
            if k % 5 == 2 { "rms" } else { "peak" },
            if k == 3 { 2.0 } else { 0.0 },
            if k == 9 { ", sidechain = \"t1\"" } else { "" },
        );
        if k != 10 && k != 7 {
            t += &format!(
                "inserts = [{{ type = \"eq\", bands = [{}] }}, {comp}]\n",
                bands.join(", ")
            );
        }
    }
    let plan = fx.plan(&t);
    let want = render_to_memory_grouped(&plan, 1, 1).unwrap();
    assert!(peak_dbfs(&want[0]) > -40.0);
    for threads in [1, 2] {
        let got = render_to_memory_grouped(&plan, threads, 4).unwrap();
        for (a, b) in got.iter().zip(&want) {
            assert_eq!(a.len(), b.len());
            for (u, v) in a.iter().zip(b) {
                assert_eq!(u.to_bits(), v.to_bits(), "{threads} threads");
            }
        }
    }
}

/// Reference: the render with one block per stage hand-off (the track
/// and bus stages meeting after every block). Spans of several blocks
/// (2048 frames, the default on several threads; 4096; 8192; and 3 blocks,
/// which does not divide the length) give the same bits for the busy
/// session, on 1 and 2 threads, for blocks of 1024 and 256 frames.
#[test]
fn spans_of_blocks_match_block_by_block() {
    let fx = Fx::new();
    let text = busy_session(&fx);
    for block in [1024usize, 256] {
        let plan = fx.plan(&format!("block_size = {block}\n{text}"));
        let want = render_to_memory_spans(&plan, 1, 4, 1).unwrap();
        assert!(peak_dbfs(&want[0]) > -40.0);
        for (threads, blocks) in [
            (1, 3),
            (2, 3),
            (1, 8192 / block),
            (2, 4096 / block),
            (2, 2048 / block),
        ] {
            let got = render_to_memory_spans(&plan, threads, 4, blocks).unwrap();
            for (a, b) in got.iter().zip(&want) {
                assert_eq!(a.len(), b.len());
                for (u, v) in a.iter().zip(b) {
                    assert_eq!(
                        u.to_bits(),
                        v.to_bits(),
                        "{threads} threads, {blocks} blocks"
                    );
                }
            }
        }
    }
}

/// Reference: `sheen_io::output_frames` (length of a resampled stem) and
/// the analytic sine at the new rate: a 1 kHz sine at 44.1 kHz in a 48 kHz
/// session keeps its amplitude within 0.05 dB.
#[test]
fn stems_at_other_rates_are_resampled() {
    let fx = Fx::new();
    let n = 44_100;
    let sine: Vec<f64> = (0..n)
        .map(|i| (0.5 * (std::f64::consts::TAU * 1000.0 * i as f64 / 44_100.0).sin()) as f32 as f64)
        .collect();
    fx.stem_at("s.wav", std::slice::from_ref(&sine), 44_100);
    let plan = fx
        .plan("sample_rate_hz = 48000\n[[tracks]]\nname = \"a\"\nfile = \"s.wav\"\npan_law = 0\n");
    assert_eq!(
        plan.length_frames,
        sheen_io::output_frames(n as u64, 44_100, 48_000)
    );
    let out = render_to_memory(&plan, 1).unwrap();
    let mid = &out[0][10_000..38_000];
    let p = peak_dbfs(mid);
    assert!((p - 20.0 * 0.5f64.log10()).abs() < 0.05, "{p}");
}

/// Reference: the mix. With --stems-out, the post-fader track files of a
/// session whose tracks all go straight to the master sum to the mix
/// (tolerance ≤ −120 dBFS, F32 rounding of both aside: compared in f32).
#[test]
fn stems_out_sum_to_mix() {
    let fx = Fx::new();
    fx.stem("a.wav", &[noise(10_000, 1, 0.3), noise(10_000, 2, 0.3)]);
    fx.stem("b.wav", &[noise(12_000, 3, 0.3)]);
    let plan = fx.plan(
        "[[tracks]]\nname = \"a\"\nfile = \"a.wav\"\ngain_db = -2\ninserts = [{ type = \"test_latency\", samples = 9 }]\n\
         [[tracks]]\nname = \"b\"\nfile = \"b.wav\"\npan = 0.3\n",
    );
    let opts = RenderOptions {
        output: fx.path("mix.wav"),
        stems_out: Some(fx.path("stems")),
        threads: 0,
    };
    render(&plan, &opts, &mut |_, _| {}).unwrap();
    let (_, mix) = sheen_io::read_all(&fx.path("mix.wav")).unwrap();
    let (_, a) = sheen_io::read_all(&fx.path("stems/a.wav")).unwrap();
    let (_, b) = sheen_io::read_all(&fx.path("stems/b.wav")).unwrap();
    assert_eq!(a[0].len(), 12_000);
    for ch in 0..2 {
        let sum: Vec<f64> = (0..12_000).map(|i| a[ch][i] + b[ch][i]).collect();
        let d = diff_dbfs(&mix[ch], &sum);
        assert!(d < -130.0, "{d}");
    }
}

/// Reference: the plain sum of the stems. `--init` writes a session that
/// loads and renders to that sum (≤ −120 dBFS); it refuses to overwrite.
#[test]
fn init_writes_a_working_starter() {
    let fx = Fx::new();
    let a = vec![noise(9000, 1, 0.3), noise(9000, 2, 0.3)];
    let b = noise(9000, 3, 0.3);
    fx.stem("Kick Drum.wav", &a);
    fx.stem("bass.wav", std::slice::from_ref(&b));
    let p = init_session(fx.dir.path()).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    assert!(text.contains("name = \"kick_drum\""), "{text}");
    let out = render_to_memory(&load(&p).unwrap(), 1).unwrap();
    let g = std::f64::consts::FRAC_1_SQRT_2; // -3 dB law at the centre
    let want: Vec<f64> = (0..9000).map(|i| a[0][i] + b[i] * g).collect();
    assert!(diff_dbfs(&out[0][..9000], &want) <= -120.0);
    assert!(init_session(fx.dir.path()).is_err());
}

// ---- Must-show B: bad sessions give file:line:col and a hint ----

fn stem_fx() -> Fx {
    let fx = Fx::new();
    fx.stem("s.wav", &[noise(1000, 1, 0.1), noise(1000, 2, 0.1)]);
    fx.stem("m.wav", &[noise(1000, 3, 0.1)]);
    fx
}

fn expect(e: &str, at: &str, parts: &[&str]) {
    eprintln!("{e}");
    assert!(
        e.contains(&format!("session.toml:{at}: ")),
        "want {at}: {e}"
    );
    assert_eq!(e.lines().count(), 1, "one line: {e}");
    for p in parts {
        assert!(e.contains(p), "want {p:?} in {e}");
    }
}

const T: &str = "[[tracks]]\nname = \"a\"\nfile = \"s.wav\"\n";

#[test]
fn error_unknown_key() {
    let e = stem_fx().error(&format!("{T}gian_db = -3\n"));
    expect(
        &e,
        "4:1",
        &["unknown key 'gian_db'", "did you mean 'gain_db'?"],
    );
}

#[test]
fn error_missing_stem() {
    let e = stem_fx().error("[[tracks]]\nname = \"a\"\nfile = \"nope.wav\"\n");
    expect(&e, "3:8", &["stem file 'nope.wav' not found", "hint:"]);
}

#[test]
fn error_bus_cycle() {
    let e = stem_fx().error(&format!(
        "{T}output = \"x\"\n[[buses]]\nname = \"x\"\noutput = \"y\"\n[[buses]]\nname = \"y\"\noutput = \"x\"\n"
    ));
    expect(&e, "10:10", &["bus cycle: x → y → x"]);
    // through a send
    let e = stem_fx().error(&format!(
        "{T}[[returns]]\nname = \"r\"\nsends = [{{ to = \"r\" }}]\n"
    ));
    expect(&e, "6:17", &["bus cycle: r → r"]);
}

#[test]
fn error_unknown_bus_and_send() {
    let fx = stem_fx();
    let e = fx.error(&format!(
        "{T}output = \"drum\"\n[[buses]]\nname = \"drums\"\n"
    ));
    expect(
        &e,
        "4:10",
        &["unknown bus 'drum' in output", "did you mean 'drums'?"],
    );
    let e = fx.error(&format!(
        "{T}sends = [{{ to = \"verv\" }}]\n[[returns]]\nname = \"verb\"\n"
    ));
    expect(&e, "4:17", &["unknown bus 'verv'", "did you mean 'verb'?"]);
}

#[test]
fn error_wrong_unit() {
    let e = stem_fx().error(&format!("{T}gain_db = \"-3dB\"\n"));
    expect(&e, "4:11", &["invalid type", "unit is in the key's name"]);
    let e = stem_fx().error(&format!(
        "{T}inserts = [{{ type = \"delay\", time_ms = \"1/8\" }}]\n"
    ));
    expect(&e, "4:40", &["'time_ms'", "invalid type"]);
}

#[test]
fn error_out_of_range() {
    let fx = stem_fx();
    let e = fx.error("[[tracks]]\nname = \"a\"\nfile = \"m.wav\"\npan = 1.5\n");
    expect(&e, "4:7", &["pan = 1.5 is out of range", "expected -1"]);
    let e = fx.error(&format!(
        "{T}inserts = [{{ type = \"reverb\", rt60_s = 100 }}]\n"
    ));
    expect(&e, "4:40", &["rt60_s = 100 is out of range", "0.05 … 60 s"]);
    let e = fx.error(&format!(
        "{T}inserts = [{{ type = \"highpass\", freq_hz = 30000 }}]\n"
    ));
    expect(&e, "4:43", &["freq_hz = 30000 is out of range"]);
    let e = fx.error(&format!("{T}gain_db = 30\n"));
    expect(&e, "4:11", &["gain_db = 30 is out of range"]);
}

#[test]
fn error_insert_kinds() {
    let fx = stem_fx();
    let e = fx.error(&format!("{T}inserts = [{{ type = \"reverbb\" }}]\n"));
    expect(
        &e,
        "4:21",
        &["unknown insert type 'reverbb'", "did you mean 'reverb'?"],
    );
    let e = fx.error(&format!(
        "{T}[[tracks.inserts]]\ntype = \"compressor\"\nsidechain = \"bas\"\n\
         [[tracks]]\nname = \"bass\"\nfile = \"m.wav\"\n"
    ));
    expect(
        &e,
        "6:13",
        &["unknown sidechain track 'bas'", "did you mean 'bass'?"],
    );
    let e = fx.error(&format!(
        "{T}inserts = [{{ type = \"gate\", sidechain = \"b\" }}]\n\
         [[tracks]]\nname = \"b\"\nfile = \"m.wav\"\n\
         inserts = [{{ type = \"compressor\", sidechain = \"a\" }}]\n"
    ));
    expect(&e, "8:47", &["sidechain cycle: a → b → a"]);
    let e = fx.error(&format!(
        "{T}inserts = [{{ type = \"eq\", sidechain = \"a\" }}]\n"
    ));
    expect(
        &e,
        "4:27",
        &["unknown key 'sidechain'", "only compressor and gate"],
    );
    let e = fx.error(&format!(
        "{T}inserts = [{{ type = \"reverb\", rt60 = 2 }}]\n"
    ));
    expect(
        &e,
        "4:31",
        &["unknown key 'rt60'", "did you mean 'rt60_s'?"],
    );
}

#[test]
fn error_automation_and_names() {
    let fx = stem_fx();
    let e = fx.error(&format!(
        "{T}automation = [{{ param = \"gain\", points = [{{ time_s = 0, value = 0 }}] }}]\n"
    ));
    expect(
        &e,
        "4:25",
        &["cannot automate 'gain'", "did you mean 'gain_db'?"],
    );
    let e = fx.error(&format!(
        "{T}automation = [{{ param = \"gain_db\", points = [{{ time_s = 1, value = 0 }}, {{ time_s = 0.5, value = 0 }}] }}]\n"
    ));
    expect(&e, "4:84", &["strictly increasing"]);
    let e = fx.error(&format!("{T}{T}"));
    expect(&e, "5:8", &["duplicate name 'a'", "line 2, column 8"]);
    let e = fx.error(&format!("{T}pan = 0.5\n"));
    expect(&e, "4:7", &["pan applies to mono tracks", "use balance"]);
}

#[test]
fn error_unknown_master_target() {
    let e = stem_fx().error(&format!("{T}[master]\ntarget = \"spotfy\"\n"));
    expect(
        &e,
        "5:10",
        &[
            "unknown mastering target 'spotfy'",
            "did you mean 'spotify'?",
        ],
    );
}

#[test]
fn error_toml_syntax() {
    let e = stem_fx().error(&format!("{T}gain_db = = 3\n"));
    expect(&e, "4:11", &[]);
}

/// The complete example of docs/SESSION.md parses, plans and renders
/// (stems: mono kick, bass and vox, stereo snare). Reference: the document
/// itself; the mix is finite, not silent, and as long as the vox (offset
/// 4 s + 8 s) plus the 3 s tail.
#[test]
fn docs_example_renders() {
    let doc = include_str!("../../../../docs/SESSION.md");
    let start = doc.find("## A complete example").unwrap();
    let body = &doc[start..];
    let from = body.find("```toml\n").unwrap() + 8;
    let text = &body[from..from + body[from..].find("```").unwrap()];
    let fx = Fx::new();
    std::fs::create_dir(fx.path("stems")).unwrap();
    let n = 8 * 48_000;
    fx.stem("stems/kick.wav", &[noise(n, 1, 0.5)]);
    fx.stem("stems/snare.wav", &[noise(n, 2, 0.3), noise(n, 3, 0.3)]);
    fx.stem("stems/bass.wav", &[noise(n, 4, 0.4)]);
    fx.stem("stems/vox.wav", &[noise(n, 5, 0.3)]);
    let plan = fx.plan(text);
    assert_eq!(plan.length_frames, (4 + 8 + 3) * 48_000);
    assert!(plan.latency_samples() > 0, "look-ahead and oversampling");
    let out = render_to_memory(&plan, 2).unwrap();
    assert!(out.iter().flatten().all(|x| x.is_finite()));
    assert!(peak_dbfs(&out[0]) > -30.0);
}

/// Reference: [`Engine::next_block`] (the mix frames of every span, and
/// [`Engine::position`] after it). [`Engine::for_each_mix`], which hands
/// each span to the writer beside the next span's stages, delivers the
/// same frames (same bits) and positions in the same order, on 1, 2 and 3
/// threads (spans depend on the thread count, so each against its own).
#[test]
fn for_each_mix_matches_next_block() {
    let fx = Fx::new();
    let plan = fx.plan(&busy_session(&fx));
    for threads in [1, 2, 3] {
        let mut want: Vec<(Vec<u64>, Vec<u64>, u64)> = Vec::new();
        let mut e = Engine::new(&plan, threads).unwrap();
        while let Some(b) = e.next_block().unwrap() {
            let bits = |c: &[f64]| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let (l, r) = (bits(b.mix[0]), bits(b.mix[1]));
            want.push((l, r, e.position()));
        }
        assert!(want.len() > 2);
        let mut e = Engine::new(&plan, threads).unwrap();
        let mut got = Vec::new();
        e.in_pool(|e| {
            e.for_each_mix(|mix, done| {
                let bits = |c: &[f64]| c.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                got.push((bits(mix[0]), bits(mix[1]), done));
                Ok(())
            })
        })
        .unwrap();
        assert!(got == want, "{threads} threads");
    }
}
