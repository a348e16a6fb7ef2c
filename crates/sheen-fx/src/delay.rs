//! Stereo echo ("tape-less digital delay"): one recirculating delay line per
//! side with feedback, optional ping-pong cross-feedback, and high/low-cut
//! filters inside the feedback loop — the classic feedback comb / echo
//! structure (J. O. Smith III, "Physical Audio Signal Processing", Feedback
//! Comb Filters; U. Zölzer (ed.), "DAFX", 2nd ed., §2.6.2 delay-based
//! effects).
//!
//! Signal flow per side (non ping-pong):
//! `line_in = F(x + feedback · y)`, `y[n] = line_in[n − D]`,
//! `out = (1 − mix) · x + mix · y`, where `F` is the low-cut then high-cut
//! (RBJ Butterworth biquads, Q = 1/√2). The filters sit at the line input,
//! inside the loop, so every repeat — the first included — passes them once
//! more than the one before. Ping-pong feeds the mono sum `(L + R)/2` into the
//! left line only and crosses the feedback (`left ← right`, `right ← left`),
//! so repeats alternate sides.
//!
//! Delay times are whole samples, `D = round(time · fs)` (at least 1), so an
//! impulse comes back exactly `D` samples later. Times may be given in ms or
//! tempo-synced as a note value at a tempo (`1/8d` at 120 bpm = 375 ms).
//! A time change jumps (no crossfade); mix and feedback changes ramp over
//! 20 ms.

use crate::delay_line::DelayBuffer;
use serde::{Deserialize, Serialize};
use sheen_dsp::biquad::{BiquadCoeffs, BiquadState, FilterKind};
use sheen_dsp::smooth::Smoothed;
use sheen_dsp::Processor;
use std::f64::consts::FRAC_1_SQRT_2;
use std::fmt;
use std::str::FromStr;

/// Ramp length for mix and feedback changes.
const PARAM_RAMP_MS: f64 = 20.0;
/// Largest accepted feedback magnitude (keeps the loop stable).
pub const MAX_FEEDBACK: f64 = 0.99;
/// Values this small entering a line are flushed to zero, so a decaying
/// feedback tail never reaches subnormal arithmetic (~−5000 dB).
const FLUSH: f64 = 1e-250;

/// Rhythmic modifier of a note value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoteModifier {
    Straight,
    /// × 3/2.
    Dotted,
    /// × 2/3.
    Triplet,
}

/// A note value such as `1/4`, `1/8d` (dotted), `1/8t` (triplet) or `3/16`,
/// serialised as that string (`d` or `.` for dotted, `t` for triplet; a
/// trailing ` dotted` / ` triplet` is accepted too).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NoteValue {
    pub numerator: u32,
    pub denominator: u32,
    pub modifier: NoteModifier,
}

impl NoteValue {
    pub const fn new(numerator: u32, denominator: u32, modifier: NoteModifier) -> Self {
        Self {
            numerator,
            denominator,
            modifier,
        }
    }

    /// Length in quarter-note beats (`1/4` = 1, `1/8d` = 0.75).
    pub fn beats(&self) -> f64 {
        let m = match self.modifier {
            NoteModifier::Straight => 1.0,
            NoteModifier::Dotted => 1.5,
            NoteModifier::Triplet => 2.0 / 3.0,
        };
        4.0 * self.numerator as f64 / self.denominator as f64 * m
    }

    /// Duration in seconds at `bpm` quarter notes per minute.
    pub fn duration_s(&self, bpm: f64) -> f64 {
        self.beats() * 60.0 / bpm
    }
}

impl fmt::Display for NoteValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let suffix = match self.modifier {
            NoteModifier::Straight => "",
            NoteModifier::Dotted => "d",
            NoteModifier::Triplet => "t",
        };
        write!(f, "{}/{}{}", self.numerator, self.denominator, suffix)
    }
}

impl FromStr for NoteValue {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bad note value {s:?} (expected e.g. \"1/4\", \"1/8d\", \"1/8t\")");
        let t = s.trim().to_ascii_lowercase();
        let (body, modifier) = if let Some(b) = t.strip_suffix("dotted") {
            (b.trim_end(), NoteModifier::Dotted)
        } else if let Some(b) = t.strip_suffix("triplet") {
            (b.trim_end(), NoteModifier::Triplet)
        } else if let Some(b) = t.strip_suffix('d').or_else(|| t.strip_suffix('.')) {
            (b, NoteModifier::Dotted)
        } else if let Some(b) = t.strip_suffix('t') {
            (b, NoteModifier::Triplet)
        } else {
            (t.as_str(), NoteModifier::Straight)
        };
        let (n, d) = body.split_once('/').ok_or_else(bad)?;
        let numerator: u32 = n.trim().parse().map_err(|_| bad())?;
        let denominator: u32 = d.trim().parse().map_err(|_| bad())?;
        if numerator == 0 || denominator == 0 {
            return Err(bad());
        }
        Ok(Self::new(numerator, denominator, modifier))
    }
}

impl TryFrom<String> for NoteValue {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<NoteValue> for String {
    fn from(n: NoteValue) -> String {
        n.to_string()
    }
}

/// Tempo-synced delay times.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TempoSync {
    /// Tempo in quarter notes per minute.
    pub bpm: f64,
    /// Left (and right, unless `note_r` is set) delay as a note value.
    pub note: NoteValue,
    /// Right delay as a note value, if different.
    pub note_r: Option<NoteValue>,
}

impl Default for TempoSync {
    fn default() -> Self {
        Self {
            bpm: 120.0,
            note: NoteValue::new(1, 4, NoteModifier::Straight),
            note_r: None,
        }
    }
}

/// Parameters of [`Delay`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DelayParams {
    /// Left delay time in ms (also the right one unless `time_r_ms` is set).
    /// Ignored when `sync` is set.
    pub time_ms: f64,
    /// Right delay time in ms, if different from the left.
    pub time_r_ms: Option<f64>,
    /// Tempo-synced times; overrides `time_ms` / `time_r_ms`.
    pub sync: Option<TempoSync>,
    /// Feedback gain (linear, clamped to ±0.99).
    pub feedback: f64,
    /// Ping-pong: input into the left line, feedback crossed between sides.
    pub ping_pong: bool,
    /// Low-cut (high-pass) corner in the feedback loop, Hz; `None` = off.
    pub low_cut_hz: Option<f64>,
    /// High-cut (low-pass) corner in the feedback loop, Hz; `None` = off.
    pub high_cut_hz: Option<f64>,
    /// Dry/wet: 0 = dry only, 1 = wet only (linear crossfade).
    pub mix: f64,
}

impl Default for DelayParams {
    fn default() -> Self {
        Self {
            time_ms: 250.0,
            time_r_ms: None,
            sync: None,
            feedback: 0.35,
            ping_pong: false,
            low_cut_hz: None,
            high_cut_hz: None,
            mix: 0.3,
        }
    }
}

impl DelayParams {
    /// (left, right) delay times in seconds.
    pub fn times_s(&self) -> (f64, f64) {
        match &self.sync {
            Some(s) => (
                s.note.duration_s(s.bpm),
                s.note_r.unwrap_or(s.note).duration_s(s.bpm),
            ),
            None => (
                self.time_ms * 1e-3,
                self.time_r_ms.unwrap_or(self.time_ms) * 1e-3,
            ),
        }
    }

    /// (left, right) delays in whole samples at `sample_rate_hz`:
    /// `round(time · fs)`, at least 1.
    pub fn delay_samples(&self, sample_rate_hz: f64) -> (usize, usize) {
        let (l, r) = self.times_s();
        let to_samples = |t: f64| {
            let d = (t * sample_rate_hz).round();
            if d >= 1.0 {
                d as usize
            } else {
                1
            }
        };
        (to_samples(l), to_samples(r))
    }
}

/// The stereo echo. Works on channels 0 and 1 (a single channel is a mono
/// echo with the left time; further channels pass through). Latency 0.
#[derive(Clone, Debug)]
pub struct Delay {
    params: DelayParams,
    fs: f64,
    prepared: bool,
    delays: [usize; 2],
    lines: [DelayBuffer; 2],
    low_cut: BiquadCoeffs,
    high_cut: BiquadCoeffs,
    /// Both loop filters are the identity.
    no_cuts: bool,
    /// A non-finite value went through the loop filters since the last
    /// reset (their state may not be a zero any more).
    filters_hit: bool,
    low_state: [BiquadState; 2],
    high_state: [BiquadState; 2],
    mix: Smoothed,
    feedback: Smoothed,
}

impl Delay {
    pub fn new(params: DelayParams) -> Self {
        let mut s = Self {
            params,
            fs: 48_000.0,
            prepared: false,
            delays: [1, 1],
            lines: [DelayBuffer::new(0), DelayBuffer::new(0)],
            low_cut: BiquadCoeffs::IDENTITY,
            high_cut: BiquadCoeffs::IDENTITY,
            no_cuts: true,
            filters_hit: false,
            low_state: [BiquadState::default(); 2],
            high_state: [BiquadState::default(); 2],
            mix: Smoothed::new(0.0, 0),
            feedback: Smoothed::new(0.0, 0),
        };
        s.set_params(params);
        s
    }

    pub fn params(&self) -> &DelayParams {
        &self.params
    }

    /// The current (left, right) delays in samples.
    pub fn delay_samples(&self) -> (usize, usize) {
        (self.delays[0], self.delays[1])
    }

    fn clamped_feedback(p: &DelayParams) -> f64 {
        if p.feedback.is_nan() {
            0.0
        } else {
            p.feedback.clamp(-MAX_FEEDBACK, MAX_FEEDBACK)
        }
    }

    fn clamped_mix(p: &DelayParams) -> f64 {
        if p.mix.is_nan() {
            0.0
        } else {
            p.mix.clamp(0.0, 1.0)
        }
    }

    /// Applies new parameters. Times jump; mix and feedback ramp over 20 ms.
    /// Allocates only when a time exceeds the buffers sized at `prepare`
    /// (the history is kept).
    pub fn set_params(&mut self, params: DelayParams) {
        self.params = params;
        let (dl, dr) = params.delay_samples(self.fs);
        self.delays = [dl, dr];
        if self.prepared {
            self.lines[0].ensure_max_delay(dl);
            self.lines[1].ensure_max_delay(dr);
            self.mix.set_target(Self::clamped_mix(&params));
            self.feedback.set_target(Self::clamped_feedback(&params));
        } else {
            self.mix.set_immediate(Self::clamped_mix(&params));
            self.feedback.set_immediate(Self::clamped_feedback(&params));
        }
        let q = FRAC_1_SQRT_2;
        self.low_cut = match params.low_cut_hz {
            Some(f) if f > 0.0 => BiquadCoeffs::rbj(FilterKind::HighPass, f, q, 0.0, self.fs),
            _ => BiquadCoeffs::IDENTITY,
        };
        self.high_cut = match params.high_cut_hz {
            Some(f) if f > 0.0 => BiquadCoeffs::rbj(FilterKind::LowPass, f, q, 0.0, self.fs),
            _ => BiquadCoeffs::IDENTITY,
        };
        self.no_cuts =
            self.low_cut == BiquadCoeffs::IDENTITY && self.high_cut == BiquadCoeffs::IDENTITY;
    }

    /// The loop filters of `side`, then the subnormal flush. Without cuts
    /// (both filters [`BiquadCoeffs::IDENTITY`]) the filters are left out:
    /// for a finite `x` an identity biquad gives `x + (±0)`, which is `x`
    /// or (for `x = ±0`) a zero, and every zero flushes to `+0.0` — the
    /// same output (its state stays a zero either way). After a
    /// non-finite value the filters always run.
    #[inline]
    fn filter(&mut self, side: usize, x: f64) -> f64 {
        if self.no_cuts && !self.filters_hit {
            if x.is_finite() {
                return if x.abs() < FLUSH { 0.0 } else { x };
            }
            self.filters_hit = true;
        }
        let y = self.low_state[side].tick(&self.low_cut, x);
        let y = self.high_state[side].tick(&self.high_cut, y);
        if y.abs() < FLUSH {
            0.0
        } else {
            y
        }
    }
}

impl Processor for Delay {
    fn prepare(&mut self, sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.fs = sample_rate_hz;
        let ramp = Smoothed::ramp_from_ms(PARAM_RAMP_MS, sample_rate_hz);
        self.mix = Smoothed::new(Self::clamped_mix(&self.params), ramp);
        self.feedback = Smoothed::new(Self::clamped_feedback(&self.params), ramp);
        self.prepared = false;
        self.set_params(self.params);
        self.prepared = true;
        self.lines = [
            DelayBuffer::new(self.delays[0]),
            DelayBuffer::new(self.delays[1]),
        ];
        self.low_state = [BiquadState::default(); 2];
        self.high_state = [BiquadState::default(); 2];
        self.filters_hit = false;
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        let [dl, dr] = self.delays;
        match block {
            [] => {}
            [mono] => {
                for x in mono.iter_mut() {
                    let fb = self.feedback.next_value();
                    let mix = self.mix.next_value();
                    let y = self.lines[0].get(dl - 1);
                    let w = self.filter(0, *x + fb * y);
                    self.lines[0].push(w);
                    *x = (1.0 - mix) * *x + mix * y;
                }
            }
            [left, right, ..] => {
                let ping_pong = self.params.ping_pong;
                for (l, r) in left.iter_mut().zip(right.iter_mut()) {
                    let fb = self.feedback.next_value();
                    let mix = self.mix.next_value();
                    let yl = self.lines[0].get(dl - 1);
                    let yr = self.lines[1].get(dr - 1);
                    let (wl, wr) = if ping_pong {
                        ((*l + *r) * 0.5 + fb * yr, fb * yl)
                    } else {
                        (*l + fb * yl, *r + fb * yr)
                    };
                    let wl = self.filter(0, wl);
                    let wr = self.filter(1, wr);
                    self.lines[0].push(wl);
                    self.lines[1].push(wr);
                    *l = (1.0 - mix) * *l + mix * yl;
                    *r = (1.0 - mix) * *r + mix * yr;
                }
            }
        }
    }

    fn reset(&mut self) {
        self.lines.iter_mut().for_each(DelayBuffer::clear);
        self.low_state = [BiquadState::default(); 2];
        self.high_state = [BiquadState::default(); 2];
        self.filters_hit = false;
        self.mix.set_immediate(Self::clamped_mix(&self.params));
        self.feedback
            .set_immediate(Self::clamped_feedback(&self.params));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{assert_block_independent, impulse, run};

    fn wet_only(time_ms: f64, feedback: f64) -> DelayParams {
        DelayParams {
            time_ms,
            feedback,
            mix: 1.0,
            ..DelayParams::default()
        }
    }

    /// Indices of the non-zero samples.
    fn nonzero(x: &[f64]) -> Vec<usize> {
        x.iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, _)| i)
            .collect()
    }

    /// Reference: the same delay with its identity loop filters run (the
    /// shortcut turned off). Without cuts the output is the same bits, for
    /// plain and ping-pong feedback, on noise with silent stretches
    /// (zeros and decaying feedback tails down to the flush level).
    #[test]
    fn no_cut_shortcut_matches_identity_filters() {
        let mut sig = crate::test_util::noise(30_000, 5);
        sig[10_000..25_000].iter_mut().for_each(|x| *x = 0.0);
        sig[12_000] = 1e-300;
        for ping_pong in [false, true] {
            let p = DelayParams {
                time_ms: 3.0,
                feedback: 0.9,
                mix: 0.6,
                ping_pong,
                ..DelayParams::default()
            };
            let mut outs = Vec::new();
            for shortcut in [true, false] {
                let mut d = Delay::new(p);
                d.prepare(48_000.0, 2, 1000);
                d.no_cuts = shortcut;
                let mut bufs = vec![sig.clone(), sig.iter().map(|x| -0.5 * x).collect()];
                sheen_dsp::processor::process_in_blocks(&mut d, &mut bufs, 1000);
                outs.push(bufs);
            }
            for (a, b) in outs[0].iter().zip(&outs[1]) {
                for (x, y) in a.iter().zip(b) {
                    assert_eq!(x.to_bits(), y.to_bits());
                }
            }
        }
    }

    /// Reference: an impulse must come back at exactly round(time · fs)
    /// samples with unit gain and nothing else (feedback 0, mix 1).
    /// Tolerance: exact (sample position and value).
    #[test]
    fn impulse_returns_exactly_on_the_sample() {
        for fs in [8_000.0, 44_100.0, 48_000.0, 96_000.0, 384_000.0] {
            for t in [0.01f64, 1.0, 10.0, 123.456, 250.0, 1000.0] {
                let d = (t * 1e-3 * fs).round().max(1.0) as usize;
                let mut dly = Delay::new(wet_only(t, 0.0));
                let y = run(&mut dly, fs, vec![impulse(d + 50), impulse(d + 50)], 4096);
                assert_eq!(dly.delay_samples(), (d, d));
                for ch in &y {
                    assert_eq!(nonzero(ch), vec![d], "fs={fs} t={t}");
                    assert_eq!(ch[d], 1.0);
                }
            }
        }
    }

    /// Reference: note durations (quarter = 60/bpm s; dotted × 3/2, triplet
    /// × 2/3): 120 bpm 1/8d = 375 ms = 18000 samples at 48 kHz, 1/8t =
    /// 8000, 1/4 at 100 bpm = 600 ms = 26460 at 44.1 kHz. Tolerance: exact.
    #[test]
    fn tempo_sync_times() {
        let cases = [
            (120.0, "1/8d", 48_000.0, 18_000),
            (120.0, "1/8 dotted", 48_000.0, 18_000),
            (120.0, "1/8t", 48_000.0, 8_000),
            (100.0, "1/4", 44_100.0, 26_460),
            (128.0, "3/16", 96_000.0, 33_750),
        ];
        for (bpm, note, fs, d) in cases {
            let note: NoteValue = note.parse().unwrap();
            let p = DelayParams {
                sync: Some(TempoSync {
                    bpm,
                    note,
                    note_r: None,
                }),
                ..wet_only(1.0, 0.0)
            };
            let mut dly = Delay::new(p);
            let y = run(&mut dly, fs, vec![impulse(d + 10), vec![0.0; d + 10]], 1000);
            assert_eq!(nonzero(&y[0]), vec![d], "{bpm} bpm {note}");
        }
        assert_eq!(
            NoteValue::new(1, 8, NoteModifier::Dotted).duration_s(120.0),
            0.375
        );
    }

    /// Reference: feedback comb y[n] = x[n − D] + g y[n − D]: repeats at
    /// k·D with gain g^(k−1); separate L/R times. Tolerance: exact positions,
    /// gains within 1e-15.
    #[test]
    fn feedback_repeats_and_separate_times() {
        let fs = 48_000.0;
        let p = DelayParams {
            time_r_ms: Some(15.0),
            ..wet_only(10.0, 0.5)
        };
        let mut dly = Delay::new(p);
        let y = run(&mut dly, fs, vec![impulse(2000), impulse(2000)], 64);
        assert_eq!(nonzero(&y[0]), vec![480, 960, 1440, 1920]);
        assert_eq!(nonzero(&y[1]), vec![720, 1440]);
        for (k, &i) in [480usize, 960, 1440, 1920].iter().enumerate() {
            assert!((y[0][i] - 0.5f64.powi(k as i32)).abs() < 1e-15);
        }
    }

    /// Reference: ping-pong topology — the first echo on the left at D_L,
    /// then alternating right at D_L + D_R, left at 2 D_L + D_R, … each
    /// scaled by the feedback. Tolerance: exact positions, gains 1e-15.
    #[test]
    fn ping_pong_alternates() {
        let fs = 44_100.0;
        let p = DelayParams {
            ping_pong: true,
            time_r_ms: Some(20.0),
            ..wet_only(10.0, 0.5)
        };
        let mut dly = Delay::new(p);
        let (dl, dr) = p.delay_samples(fs);
        let y = run(&mut dly, fs, vec![impulse(3500), impulse(3500)], 100);
        assert_eq!(nonzero(&y[0]), vec![dl, 2 * dl + dr, 3 * dl + 2 * dr]);
        assert_eq!(nonzero(&y[1]), vec![dl + dr, 2 * dl + 2 * dr]);
        assert_eq!(y[0][dl], 1.0);
        assert!((y[1][dl + dr] - 0.5).abs() < 1e-15);
        assert!((y[0][2 * dl + dr] - 0.25).abs() < 1e-15);
    }

    /// Reference: the loop filters are causal, so the first echo still
    /// starts exactly at D; the high-cut lowers its peak, and successive
    /// repeats lose high-frequency energy. Tolerance: exact onset.
    #[test]
    fn feedback_filters_keep_onset() {
        let fs = 48_000.0;
        let p = DelayParams {
            low_cut_hz: Some(200.0),
            high_cut_hz: Some(3000.0),
            ..wet_only(5.0, 0.7)
        };
        let mut dly = Delay::new(p);
        let y = run(&mut dly, fs, vec![impulse(2000), impulse(2000)], 64);
        assert!(y[0][..240].iter().all(|&v| v == 0.0));
        assert!(y[0][240] != 0.0 && y[0][240].abs() < 1.0);
        let peak = |a: usize| y[0][a..a + 240].iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(peak(480) < peak(240));
    }

    /// Reference: Processor contract; bit-exact for any block partition,
    /// with feedback, filters and ping-pong, mono and stereo.
    #[test]
    fn block_size_independent() {
        for ping_pong in [false, true] {
            for ch in [1, 2] {
                assert_block_independent(
                    || {
                        Delay::new(DelayParams {
                            time_ms: 31.0,
                            time_r_ms: Some(47.3),
                            feedback: 0.6,
                            ping_pong,
                            low_cut_hz: Some(150.0),
                            high_cut_hz: Some(6000.0),
                            mix: 0.4,
                            sync: None,
                        })
                    },
                    48_000.0,
                    ch,
                );
            }
        }
    }

    #[test]
    fn params_serde() {
        let p: DelayParams = serde_json::from_str(
            r#"{"sync": {"bpm": 120, "note": "1/8d"}, "feedback": 0.4, "ping_pong": true}"#,
        )
        .unwrap();
        assert_eq!(p.times_s(), (0.375, 0.375));
        let s = serde_json::to_string(&p).unwrap();
        assert!(s.contains(r#""note":"1/8d""#), "{s}");
        assert!(serde_json::from_str::<DelayParams>(r#"{"time": 3}"#).is_err());
        assert!(serde_json::from_str::<DelayParams>(r#"{"sync": {"note": "1/0"}}"#).is_err());
        assert_eq!(
            "1/16t".parse::<NoteValue>().unwrap(),
            NoteValue::new(1, 16, NoteModifier::Triplet)
        );
    }
}
