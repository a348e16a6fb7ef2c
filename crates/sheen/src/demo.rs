//! Built-in demo material: a short synthesized song as separate stems
//! (drums, bass, chords, lead), generated deterministically so `sheen demo`
//! and the tests need no audio files.
//!
//! 120 bpm, 4/4, A minor progression Am–F–C–G, one bar each, repeated.
//!
//! [`stems`] gives four stems (drums, bass, chords, lead); [`multitrack`]
//! the same song with the drums split into kick, snare and hats, and
//! [`SESSION`] a mixing session for it (drum and music buses, reverb and
//! echo returns fed by sends, gain / balance / send automation).

use std::f64::consts::PI;

/// One synthesized stem: a name and planar stereo samples.
pub struct Stem {
    /// File-name-like stem name (`drums`, `bass`, `chords`, `lead`).
    pub name: &'static str,
    /// Planar samples, `[left, right]`.
    pub channels: Vec<Vec<f64>>,
}

/// Deterministic PRNG (xorshift64*), for noise in drum sounds.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (v >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
    }
}

fn midi_hz(note: f64) -> f64 {
    440.0 * 2f64.powf((note - 69.0) / 12.0)
}

/// Seconds per beat at the demo tempo (120 bpm).
pub const BEAT_S: f64 = 0.5;

/// Chord roots (MIDI) and minor/major flags for Am F C G.
const CHORDS: [(f64, bool); 4] = [(57.0, true), (53.0, false), (48.0, false), (55.0, false)];

/// Synthesizes `bars` bars (2 s each) of the demo song at `sample_rate_hz`.
/// Stems are stereo, peaking well below full scale (about −10 dBFS).
pub fn stems(sample_rate_hz: u32, bars: usize) -> Vec<Stem> {
    let mut parts = multitrack(sample_rate_hz, bars);
    let mut rest = parts.split_off(3);
    let mut drum_parts = parts.into_iter();
    let mut drums = drum_parts.next().map(|s| s.channels).unwrap_or_default();
    for p in drum_parts {
        for (d, c) in drums.iter_mut().zip(&p.channels) {
            d.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        }
    }
    rest.insert(
        0,
        Stem {
            name: "drums",
            channels: drums,
        },
    );
    rest
}

/// The demo song as six stereo stems: kick, snare, hats, bass, chords,
/// lead (the drums of [`stems`] split into their parts).
pub fn multitrack(sample_rate_hz: u32, bars: usize) -> Vec<Stem> {
    let fs = sample_rate_hz as f64;
    let n = (bars as f64 * 4.0 * BEAT_S * fs).round() as usize;
    let mut kick = vec![vec![0.0; n]; 2];
    let mut snare = vec![vec![0.0; n]; 2];
    let mut hats = vec![vec![0.0; n]; 2];
    let mut bass = vec![vec![0.0; n]; 2];
    let mut chords = vec![vec![0.0; n]; 2];
    let mut lead = vec![vec![0.0; n]; 2];
    let mut rng = Rng(0x5eed_cafe_f00d_1234);
    let beat = (BEAT_S * fs).round() as usize;
    let eighth = beat / 2;

    // Drums: kick on 1 and 3, snare on 2 and 4, closed hats on eighths.
    for step in 0..(bars * 8) {
        let start = step * eighth;
        let on_beat = step % 2 == 0;
        let beat_in_bar = (step / 2) % 4;
        if on_beat && beat_in_bar % 2 == 0 {
            // kick: pitch-swept sine 120→45 Hz, 350 ms
            let len = (0.35 * fs) as usize;
            let mut phase = 0.0;
            for i in 0..len.min(n.saturating_sub(start)) {
                let t = i as f64 / fs;
                let f = 45.0 + 75.0 * (-t * 30.0).exp();
                phase += 2.0 * PI * f / fs;
                let y = 0.32 * phase.sin() * (-t * 9.0).exp();
                kick[0][start + i] += y;
                kick[1][start + i] += y;
            }
        }
        if on_beat && beat_in_bar % 2 == 1 {
            // snare: noise + 190 Hz body, 200 ms
            let len = (0.2 * fs) as usize;
            for i in 0..len.min(n.saturating_sub(start)) {
                let t = i as f64 / fs;
                let y = 0.16 * rng.next_f64() * (-t * 22.0).exp()
                    + 0.12 * (2.0 * PI * 190.0 * t).sin() * (-t * 30.0).exp();
                snare[0][start + i] += y * 0.95;
                snare[1][start + i] += y;
            }
        }
        // hat: high-passed noise burst (first difference), 40 ms, slightly right
        let len = (0.04 * fs) as usize;
        let mut prev = 0.0;
        for i in 0..len.min(n.saturating_sub(start)) {
            let t = i as f64 / fs;
            let w = rng.next_f64();
            let y = 0.05 * (w - prev) * (-t * 90.0).exp();
            prev = w;
            hats[0][start + i] += y * 0.8;
            hats[1][start + i] += y;
        }
    }

    for bar in 0..bars {
        let (root, minor) = CHORDS[bar % 4];
        let bar_start = bar * 4 * beat;
        // Bass: root on eighths, saw-ish (few harmonics), octave below.
        for e in 0..8 {
            let f = midi_hz(root - 12.0 + if e % 4 == 3 { 12.0 } else { 0.0 });
            let start = bar_start + e * eighth;
            for i in 0..eighth.min(n.saturating_sub(start)) {
                let t = i as f64 / fs;
                let env = (1.0 - (-t * 200.0).exp()) * (-t * 3.0).exp();
                let mut y = 0.0;
                for h in 1..=6 {
                    y += (2.0 * PI * f * h as f64 * t).sin() / h as f64;
                }
                let y = 0.16 * env * y;
                bass[0][start + i] += y;
                bass[1][start + i] += y;
            }
        }
        // Chords: sustained triad, slow attack, spread left/right voices.
        let third = if minor { 3.0 } else { 4.0 };
        let notes = [root, root + third, root + 7.0];
        let len = 4 * beat;
        for (v, &note) in notes.iter().enumerate() {
            let f = midi_hz(note);
            let pan = [0.3, 0.7, 0.5][v];
            for i in 0..len.min(n.saturating_sub(bar_start)) {
                let t = i as f64 / fs;
                let env = (t / 0.08).min(1.0) * (1.0 - (t / (len as f64 / fs)).powi(4));
                let y = 0.07
                    * env
                    * ((2.0 * PI * f * t).sin() + 0.3 * (2.0 * PI * 2.0 * f * t + 0.5).sin());
                chords[0][bar_start + i] += y * (1.0 - pan) * 1.4;
                chords[1][bar_start + i] += y * pan * 1.4;
            }
        }
        // Lead: a simple melody on quarter notes, sine + vibrato.
        let melody = [0.0, 3.0, 7.0, 12.0, 10.0, 7.0, 5.0, 3.0];
        for q in 0..4 {
            let note = root + 12.0 + melody[(bar * 4 + q) % melody.len()];
            let f = midi_hz(note);
            let start = bar_start + q * beat;
            let mut phase = 0.0;
            for i in 0..beat.min(n.saturating_sub(start)) {
                let t = i as f64 / fs;
                let vib = 1.0 + 0.004 * (2.0 * PI * 5.5 * t).sin();
                phase += 2.0 * PI * f * vib / fs;
                let env = (t / 0.02).min(1.0) * (-t * 2.5).exp();
                let y = 0.12 * env * (phase.sin() + 0.25 * (2.0 * phase).sin());
                lead[0][start + i] += y;
                lead[1][start + i] += y;
            }
        }
    }
    vec![
        Stem {
            name: "kick",
            channels: kick,
        },
        Stem {
            name: "snare",
            channels: snare,
        },
        Stem {
            name: "hats",
            channels: hats,
        },
        Stem {
            name: "bass",
            channels: bass,
        },
        Stem {
            name: "chords",
            channels: chords,
        },
        Stem {
            name: "lead",
            channels: lead,
        },
    ]
}

/// The plain sum of the demo stems (a rough mix), planar stereo.
pub fn rough_mix(sample_rate_hz: u32, bars: usize) -> Vec<Vec<f64>> {
    let stems = stems(sample_rate_hz, bars);
    let n = stems[0].channels[0].len();
    let mut mix = vec![vec![0.0; n]; 2];
    for s in &stems {
        for (m, c) in mix.iter_mut().zip(&s.channels) {
            for (a, b) in m.iter_mut().zip(c) {
                *a += b;
            }
        }
    }
    mix
}

/// A mixing session for the [`multitrack`] stems, written as
/// `stems/<name>.wav` next to the session file: kick, snare and hats on a
/// drum bus, chords and lead on a music bus, a reverb return fed by sends
/// and an echo return (dotted eighth at 120 bpm) that feeds the reverb;
/// the kick keys a compressor on the bass (side chain), the drum bus is
/// compressed and the master ends in a true-peak limiter (look-ahead
/// latency compensated); automation rides the lead up in bar 2, sweeps the
/// chords' balance and opens the lead's echo send.
pub const SESSION: &str = r#"# sheen demo session (docs/SESSION.md)
tail_s = 2.5

[[tracks]]
name = "kick"
file = "stems/kick.wav"
gain_db = -1.0
output = "drums"
inserts = [{ type = "highpass", freq_hz = 30.0 }]

[[tracks]]
name = "snare"
file = "stems/snare.wav"
gain_db = -2.0
output = "drums"
sends = [{ to = "verb", level_db = -12.0 }]

[[tracks]]
name = "hats"
file = "stems/hats.wav"
gain_db = -4.0
balance = 0.3
output = "drums"
inserts = [{ type = "highpass", freq_hz = 400.0 }]

[[tracks]]
name = "bass"
file = "stems/bass.wav"
gain_db = -1.5
inserts = [
  { type = "lowpass", freq_hz = 3000.0 },
  { type = "eq", bands = [{ kind = "low_shelf", freq_hz = 90.0, gain_db = 2.0 }] },
  { type = "compressor", sidechain = "kick", threshold_db = -30.0, ratio = 3.0, attack_ms = 2.0, release_ms = 120.0 },
]

[[tracks]]
name = "chords"
file = "stems/chords.wav"
gain_db = -3.0
output = "music"
fade_in = { length_s = 1.0, curve = "s-curve" }
sends = [{ to = "verb", level_db = -10.0 }]
automation = [
  { param = "balance", points = [
    { time_s = 0.0, value = -0.3, curve = "s-curve" },
    { time_s = 8.0, value = 0.3 },
  ] },
]

[[tracks]]
name = "lead"
file = "stems/lead.wav"
gain_db = -2.0
output = "music"
fade_out = { length_s = 2.0, curve = "exp" }
inserts = [{ type = "eq", bands = [{ kind = "peak", freq_hz = 2500.0, q = 1.0, gain_db = 2.5 }] }]
sends = [
  { to = "verb", level_db = -14.0 },
  { to = "echo", level_db = -inf },
]
automation = [
  { param = "gain_db", points = [
    { time_s = 0.0, value = -6.0 },
    { time_s = 2.0, value = -6.0, curve = "s-curve" },
    { time_s = 4.0, value = -1.0 },
  ] },
  { param = "sends.echo.level_db", points = [
    { time_s = 4.0, value = -inf },
    { time_s = 6.0, value = -9.0 },
  ] },
]

[[buses]]
name = "drums"
gain_db = -1.0
inserts = [
  { type = "eq", bands = [{ kind = "peak", freq_hz = 250.0, q = 1.2, gain_db = -2.0 }] },
  { type = "compressor", threshold_db = -20.0, ratio = 2.0, attack_ms = 20.0, release_ms = 150.0 },
]

[[buses]]
name = "music"
inserts = [{ type = "chorus", mix = 0.25, depth_ms = 1.5 }]

[[returns]]
name = "verb"
inserts = [
  { type = "highpass", freq_hz = 200.0 },
  { type = "reverb", rt60_s = 1.6, pre_delay_ms = 20.0, mix = 1.0 },
]

[[returns]]
name = "echo"
output = "verb"
gain_db = -3.0
inserts = [{ type = "delay", sync = { bpm = 120.0, note = "1/8d" }, feedback = 0.35, high_cut_hz = 5000.0, mix = 1.0 }]

[master]
gain_db = -1.0
inserts = [
  { type = "highpass", freq_hz = 20.0 },
  { type = "limiter", ceiling_dbtp = -1.0 },
]
"#;

/// Masters the demo mix at `mix` to the built-in `spotify` target
/// (−14 LUFS, −1 dBTP), writing `out` (analyse → plan → render → verify).
pub fn master_to_spotify(
    mix: &std::path::Path,
    out: &std::path::Path,
) -> Result<crate::mastering::MasterReport, crate::Error> {
    let t = crate::mastering::Targets::builtin();
    let target = t.get("spotify").expect("built-in spotify target").clone();
    crate::mastering::master_file(
        mix,
        &[("spotify".to_string(), target)],
        crate::mastering::Style::Balanced,
        &[out.to_path_buf()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_below_full_scale() {
        let a = rough_mix(48_000, 2);
        let b = rough_mix(48_000, 2);
        assert_eq!(a, b);
        let peak = a.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(peak > 0.1 && peak < 0.9, "peak {peak}");
        assert_eq!(a[0].len(), 4 * 48_000);
    }

    /// The demo session loads and renders: 2 bars (4 s) plus the 2.5 s
    /// tail, peak between −30 and −1 dBFS (the limiter's ceiling is
    /// −1 dBTP), the bass keyed by the kick, the limiter's latency removed.
    #[test]
    fn demo_session_renders() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("stems")).unwrap();
        let spec = sheen_io::WriteSpec {
            sample_rate_hz: 48_000,
            channels: 2,
            format: sheen_io::SampleFormat::F32,
            container: sheen_io::Container::Wav,
        };
        for s in multitrack(48_000, 2) {
            let p = d.path().join(format!("stems/{}.wav", s.name));
            sheen_io::write_all(&p, spec, &[], &s.channels).unwrap();
        }
        let plan = crate::mixing::plan_text(&d.path().join("session.toml"), SESSION)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(plan.latency_samples() > 0);
        assert_eq!(plan.tracks[3].level, 1, "bass keyed by kick");
        let out = crate::mixing::render_to_memory(&plan, 2).unwrap();
        assert_eq!(out[0].len(), 4 * 48_000 + 120_000);
        let peak = out.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
        let db = 20.0 * peak.log10();
        assert!(db > -30.0 && db < -0.99, "peak {db}");
    }

    /// The demo mix mastered to spotify lands within 0.1 LU of −14 LUFS
    /// under −1 dBTP (sheen-meter).
    #[test]
    fn demo_masters_to_spotify() {
        let d = tempfile::tempdir().unwrap();
        let mix = d.path().join("mix.wav");
        let spec = sheen_io::WriteSpec {
            sample_rate_hz: 48_000,
            channels: 2,
            format: sheen_io::SampleFormat::F32,
            container: sheen_io::Container::Wav,
        };
        sheen_io::write_all(&mix, spec, &[], &rough_mix(48_000, 4)).unwrap();
        let r = master_to_spotify(&mix, &d.path().join("master.wav")).unwrap();
        let m = &r.deliverables[0];
        assert!(m.pass, "{:?}", m.after);
        assert!(m.loudness_error_lu.unwrap().abs() <= 0.1);
        assert!(m.after.true_peak_dbtp.unwrap() <= -1.0);
    }
}
