//! Noise gate / downward expander: the expander gain computer of
//! [`crate::dynamics`] (mirror image of the Giannoulis, Massberg & Reiss
//! 2012 compressor curve, JAES 60(6)) limited to `range_db` of attenuation,
//! with an open/closed state machine adding hysteresis and hold (the classic
//! gate ballistics: opens at `threshold_db`, closes below
//! `threshold_db - hysteresis_db` once `hold_ms` has elapsed), and the
//! smooth branching attack/release smoothing of the attenuation in dB.
//!
//! Attack = opening (attenuation falling), release = closing. Optional
//! key filter (high-/low-pass on the detector input), look-ahead and
//! external side chain ([`Gate::process_keyed`]).

use crate::delay_line::LookaheadDelay;
use crate::dynamics::{
    finite_or, linked_level_db, ms_to_samples, ratio_or, smooth_branching, time_coeff, KeyFilter,
    LevelDetector, LEVEL_FLOOR_DB,
};
use crate::processor::{Processor, MAX_CHANNELS};
use crate::units::db_to_gain;
use serde::{Deserialize, Serialize};

pub use crate::dynamics::Detector;

/// Longest look-ahead accepted, ms.
pub const MAX_LOOKAHEAD_MS: f64 = 100.0;

/// Parameters of [`Gate`]. Out-of-range values are clamped (ratio ≥ 1,
/// range, times and hysteresis ≥ 0, link 0..1, look-ahead 0..100 ms).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GateParams {
    /// Opening threshold, dBFS of the detector level.
    pub threshold_db: f64,
    /// Largest attenuation in dB (positive; the gain never goes below
    /// `-range_db`).
    pub range_db: f64,
    /// Downward expansion ratio below the threshold: the attenuation is
    /// `(threshold - level) (ratio - 1)` dB, up to `range_db`. 1 = off;
    /// large values (the default 100, or infinity) make a gate.
    pub ratio: f64,
    /// Opening time constant, ms.
    pub attack_ms: f64,
    /// Time the gate stays open after the level falls below the closing
    /// threshold, ms.
    pub hold_ms: f64,
    /// Closing time constant, ms.
    pub release_ms: f64,
    /// The gate closes at `threshold_db - hysteresis_db`.
    pub hysteresis_db: f64,
    /// Level detector.
    pub detector: Detector,
    /// RMS window in ms (for [`Detector::Rms`]).
    pub rms_window_ms: f64,
    /// Stereo link 0..1 (1 = all channels follow the loudest key channel).
    pub stereo_link: f64,
    /// Look-ahead in ms; delays the audio by this much.
    pub lookahead_ms: f64,
    /// Key filter: 2nd-order Butterworth high-pass on the detector input,
    /// Hz (0 = off).
    pub sidechain_hpf_hz: f64,
    /// Key filter: 2nd-order Butterworth low-pass on the detector input,
    /// Hz (0 = off).
    pub sidechain_lpf_hz: f64,
}

impl Default for GateParams {
    fn default() -> Self {
        Self {
            threshold_db: -50.0,
            range_db: 80.0,
            ratio: 100.0,
            attack_ms: 0.5,
            hold_ms: 20.0,
            release_ms: 100.0,
            hysteresis_db: 3.0,
            detector: Detector::Peak,
            rms_window_ms: 10.0,
            stereo_link: 1.0,
            lookahead_ms: 0.0,
            sidechain_hpf_hz: 0.0,
            sidechain_lpf_hz: 0.0,
        }
    }
}

impl GateParams {
    /// The parameters with non-finite and out-of-range values replaced or
    /// clamped.
    pub fn sanitized(&self) -> Self {
        let d = Self::default();
        Self {
            threshold_db: finite_or(self.threshold_db, d.threshold_db),
            range_db: finite_or(self.range_db, d.range_db).max(0.0),
            ratio: ratio_or(self.ratio, d.ratio),
            attack_ms: finite_or(self.attack_ms, d.attack_ms).max(0.0),
            hold_ms: finite_or(self.hold_ms, d.hold_ms).max(0.0),
            release_ms: finite_or(self.release_ms, d.release_ms).max(0.0),
            hysteresis_db: finite_or(self.hysteresis_db, d.hysteresis_db).max(0.0),
            detector: self.detector,
            rms_window_ms: finite_or(self.rms_window_ms, d.rms_window_ms).max(0.0),
            stereo_link: finite_or(self.stereo_link, d.stereo_link).clamp(0.0, 1.0),
            lookahead_ms: finite_or(self.lookahead_ms, 0.0).clamp(0.0, MAX_LOOKAHEAD_MS),
            sidechain_hpf_hz: finite_or(self.sidechain_hpf_hz, 0.0).max(0.0),
            sidechain_lpf_hz: finite_or(self.sidechain_lpf_hz, 0.0).max(0.0),
        }
    }

    /// Attenuation in dB (≥ 0) of the expander curve at `level_db`, ignoring
    /// hysteresis and hold.
    #[inline]
    pub fn curve_attenuation_db(&self, level_db: f64) -> f64 {
        if level_db >= self.threshold_db {
            0.0
        } else {
            ((self.threshold_db - level_db) * (self.ratio - 1.0)).min(self.range_db)
        }
    }
}

#[derive(Clone, Copy, Debug)]
struct ChannelState {
    open: bool,
    hold_left: usize,
    /// Smoothed attenuation, dB (≥ 0).
    atten_db: f64,
}

const INITIAL: ChannelState = ChannelState {
    open: true,
    hold_left: 0,
    atten_db: 0.0,
};

/// The gate / downward expander. Starts open; latency = look-ahead.
#[derive(Clone, Debug)]
pub struct Gate {
    p: GateParams,
    fs: f64,
    att: f64,
    rel: f64,
    hold: usize,
    detector: LevelDetector,
    key_filter: KeyFilter,
    delay: LookaheadDelay,
    st: [ChannelState; MAX_CHANNELS],
    last_gr_db: f64,
    max_gr_db: f64,
}

impl Gate {
    /// A gate prepared for 48 kHz (call [`Processor::prepare`]).
    pub fn new(params: GateParams) -> Self {
        let p = params.sanitized();
        let fs = 48_000.0;
        let mut g = Self {
            p,
            fs,
            att: 0.0,
            rel: 0.0,
            hold: 0,
            detector: LevelDetector::new(p.detector, p.rms_window_ms, fs),
            key_filter: KeyFilter::new(0.0, 0.0, fs),
            delay: LookaheadDelay::new(0),
            st: [INITIAL; MAX_CHANNELS],
            last_gr_db: 0.0,
            max_gr_db: 0.0,
        };
        g.configure(true);
        g
    }

    /// The current (sanitized) parameters.
    pub fn params(&self) -> &GateParams {
        &self.p
    }

    /// Applies new parameters; changing the detector, RMS window or
    /// look-ahead reallocates and clears the side-chain history.
    pub fn set_params(&mut self, params: GateParams) {
        let old = self.p;
        self.p = params.sanitized();
        let realloc = old.detector != self.p.detector
            || old.rms_window_ms != self.p.rms_window_ms
            || old.lookahead_ms != self.p.lookahead_ms;
        self.configure(realloc);
    }

    fn configure(&mut self, realloc: bool) {
        self.att = time_coeff(self.p.attack_ms, self.fs);
        self.rel = time_coeff(self.p.release_ms, self.fs);
        self.hold = ms_to_samples(self.p.hold_ms, self.fs);
        self.key_filter
            .set(self.p.sidechain_hpf_hz, self.p.sidechain_lpf_hz, self.fs);
        if realloc {
            self.detector = LevelDetector::new(self.p.detector, self.p.rms_window_ms, self.fs);
            self.delay = LookaheadDelay::new(ms_to_samples(self.p.lookahead_ms, self.fs));
        }
    }

    /// Static gain in dB (≤ 0) for a steady detector level `input_db`,
    /// hysteresis ignored: `-min(range, max(0, (T - x)(R - 1)))`.
    pub fn static_gain_db(&self, input_db: f64) -> f64 {
        -self.p.curve_attenuation_db(input_db)
    }

    /// Attenuation in dB (≥ 0) at the last processed sample, largest over
    /// the channels.
    pub fn last_gain_reduction_db(&self) -> f64 {
        self.last_gr_db
    }

    /// Largest attenuation in dB since the last call (or reset), then
    /// restarts the meter.
    pub fn take_max_gain_reduction_db(&mut self) -> f64 {
        std::mem::take(&mut self.max_gr_db)
    }

    /// Processes `block` in place with the detector reading `key` (external
    /// side chain, e.g. a kick drum keying a bass). Output channel `ch` is
    /// keyed by key channel `ch % key.len()`; each key channel must be at
    /// least as long as the block.
    ///
    /// # Panics
    /// If a key channel is shorter than the block.
    pub fn process_keyed(&mut self, block: &mut [&mut [f64]], key: &[&[f64]]) {
        let len = block.first().map_or(0, |c| c.len());
        assert!(
            key.iter().all(|k| k.len() >= len),
            "side-chain key shorter than the block ({len} samples)"
        );
        self.run(block, Some(key));
    }

    fn run(&mut self, block: &mut [&mut [f64]], key: Option<&[&[f64]]>) {
        let n_ch = block.len().min(MAX_CHANNELS);
        let len = block.first().map_or(0, |c| c.len());
        let k_ch = key.map_or(n_ch, |k| k.len().min(MAX_CHANNELS));
        let p = self.p;
        let close_db = p.threshold_db - p.hysteresis_db;
        let mut levels = [LEVEL_FLOOR_DB; MAX_CHANNELS];
        for i in 0..len {
            let mut max_db = LEVEL_FLOOR_DB;
            for (k, lv) in levels.iter_mut().enumerate().take(k_ch) {
                let x = match key {
                    Some(kb) => kb[k][i],
                    None => block[k][i],
                };
                let x = self.key_filter.tick(k, x);
                *lv = self.detector.level_db(k, x);
                max_db = max_db.max(*lv);
            }
            self.detector.advance();
            let mut frame_gr = 0.0f64;
            for (ch, chan) in block.iter_mut().enumerate().take(n_ch) {
                let level = linked_level_db(&levels[..k_ch], max_db, ch, p.stereo_link);
                let s = &mut self.st[ch];
                if s.open {
                    if level >= close_db {
                        s.hold_left = self.hold;
                    } else if s.hold_left > 0 {
                        s.hold_left -= 1;
                    } else {
                        s.open = false;
                    }
                } else if level >= p.threshold_db {
                    s.open = true;
                    s.hold_left = self.hold;
                }
                let target = if s.open {
                    0.0
                } else {
                    p.curve_attenuation_db(level)
                };
                let a = smooth_branching(&mut s.atten_db, target, self.rel, self.att);
                frame_gr = frame_gr.max(a);
                let x = self.delay.tick(ch, chan[i]);
                chan[i] = x * db_to_gain(-a);
            }
            self.last_gr_db = frame_gr;
            self.max_gr_db = self.max_gr_db.max(frame_gr);
        }
    }
}

impl Processor for Gate {
    fn prepare(&mut self, sample_rate_hz: f64, _channels: usize, _max_block: usize) {
        self.fs = sample_rate_hz;
        self.configure(true);
        self.reset();
    }

    fn process(&mut self, block: &mut [&mut [f64]]) {
        self.run(block, None);
    }

    fn latency_samples(&self) -> usize {
        self.delay.len()
    }

    fn reset(&mut self) {
        self.detector.reset();
        self.key_filter.reset();
        self.delay.reset();
        self.st = [INITIAL; MAX_CHANNELS];
        self.last_gr_db = 0.0;
        self.max_gr_db = 0.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::processor::{process_in_blocks, PlanarMut};
    use crate::test_util::*;

    fn gate(p: GateParams, fs: f64) -> Gate {
        let mut g = Gate::new(p);
        g.prepare(fs, 2, MAX_BLOCK);
        g
    }

    /// Measured steady gain (dB) of `g` on `x`, over the last half.
    fn steady_gain_db(g: &mut Gate, x: &[f64]) -> f64 {
        let mut bufs = vec![x.to_vec()];
        process_in_blocks(g, &mut bufs, 300);
        let h = x.len() / 2..x.len();
        rms_db(&bufs[0][h.clone()]) - rms_db(&x[h])
    }

    /// Reference: gate definition — a steady 1 kHz sine 20 dB below the
    /// threshold (ratio 100, so the curve is clamped) is attenuated by
    /// exactly `range_db` (tolerance 0.1 dB), for several ranges, peak and
    /// RMS detection, at 44.1 and 96 kHz; a sine 20 dB above passes at unity
    /// (tolerance 0.001 dB).
    #[test]
    fn below_threshold_attenuated_by_range_above_unity() {
        for fs in [44_100.0, 96_000.0] {
            for detector in [Detector::Peak, Detector::Rms] {
                for range_db in [10.0, 30.0, 60.0] {
                    let p = GateParams {
                        threshold_db: -40.0,
                        range_db,
                        detector,
                        release_ms: 50.0,
                        ..Default::default()
                    };
                    let below = sine(fs as usize, 1000.0, db_to_gain(-60.0), fs);
                    let g = steady_gain_db(&mut gate(p, fs), &below);
                    eprintln!("gate {fs} Hz {detector:?} range {range_db}: below {g:.6} dB");
                    assert!(
                        (g + range_db).abs() < 0.1,
                        "{detector:?} range {range_db}: {g}"
                    );
                    let above = sine(fs as usize, 1000.0, db_to_gain(-20.0), fs);
                    let g = steady_gain_db(&mut gate(p, fs), &above);
                    eprintln!("gate {fs} Hz {detector:?} range {range_db}: above {g:e} dB");
                    assert!(g.abs() < 0.001, "{detector:?} above: {g}");
                }
            }
        }
    }

    /// Reference: downward expander curve `(T - L)(R - 1)`: an RMS level
    /// 10 dB below the threshold at ratio 2 is attenuated 10 dB; at ratio 3,
    /// 20 dB (hysteresis 0; tolerance 0.05 dB).
    #[test]
    fn expander_ratio() {
        let fs = 48_000.0;
        for ratio in [2.0, 3.0] {
            let p = GateParams {
                threshold_db: -30.0,
                ratio,
                hysteresis_db: 0.0,
                detector: Detector::Rms,
                rms_window_ms: 10.0,
                ..Default::default()
            };
            let x = sine(96_000, 1000.0, db_to_gain(-40.0 + 3.010_299_956_6), fs);
            let mut g = gate(p, fs);
            let meas = steady_gain_db(&mut g, &x);
            let want = g.static_gain_db(-40.0);
            assert!((want + 10.0 * (ratio - 1.0)).abs() < 1e-9);
            eprintln!("expander 1:{ratio}: {meas:.4} dB (formula {want})");
            assert!(
                (meas - want).abs() < 0.05,
                "ratio {ratio}: {meas} vs {want}"
            );
        }
    }

    /// Reference: gate ballistics — after a burst stops the gain stays at
    /// exactly 0 dB for `hold_ms` (here 10 ms = 480 samples, exact), then
    /// the attenuation rises as `range (1 - alpha_R^n)`; hysteresis keeps
    /// a level between the two thresholds open when coming from above and
    /// closed when coming from below.
    #[test]
    fn hold_and_hysteresis() {
        let fs = 48_000.0;
        let p = GateParams {
            threshold_db: -40.0,
            range_db: 40.0,
            hold_ms: 10.0,
            release_ms: 20.0,
            hysteresis_db: 6.0,
            ..Default::default()
        };
        let mut g = gate(p, fs);
        let mut gr = Vec::new();
        for i in 0..4800 {
            let x = if i < 2400 { 0.5 } else { 0.0 };
            let mut s = [x];
            g.process(&mut [&mut s[..]]);
            gr.push(g.last_gain_reduction_db());
        }
        assert!(gr[2400..2400 + 480].iter().all(|&a| a == 0.0));
        let ar = time_coeff(20.0, fs);
        for n in [0usize, 100, 959] {
            let want = 40.0 * (1.0 - ar.powi(n as i32 + 1));
            assert!((gr[2880 + n] - want).abs() < 1e-9, "release n={n}");
        }
        // hysteresis: -43 dBFS DC lies between close (-46) and open (-40)
        let mid = db_to_gain(-43.0);
        let mut from_above = gate(p, fs);
        let mut x: Vec<f64> = vec![0.5; 2400];
        x.extend(std::iter::repeat_n(mid, 9600));
        let mut bufs = vec![x.clone()];
        process_in_blocks(&mut from_above, &mut bufs, 64);
        assert_eq!(bufs[0][11_999], mid);
        let mut from_below = gate(p, fs);
        let mut x: Vec<f64> = vec![0.0; 2400];
        x.extend(std::iter::repeat_n(mid, 9600));
        let mut bufs = vec![x];
        process_in_blocks(&mut from_below, &mut bufs, 64);
        assert!((bufs[0][11_999] / mid - db_to_gain(-40.0)).abs() < 1e-6);
    }

    /// Reference: the `Processor` contract (bit-identical for blocks of 1,
    /// 64, 4096, random), stereo and 6 channels, with look-ahead, at 8, 48
    /// and 384 kHz.
    #[test]
    fn block_size_independent() {
        for fs in [8_000.0, 48_000.0, 384_000.0] {
            let p = GateParams {
                threshold_db: -20.0,
                hold_ms: 3.0,
                lookahead_ms: 1.0,
                sidechain_hpf_hz: 100.0,
                sidechain_lpf_hz: 3000.0,
                stereo_link: 0.3,
                ..Default::default()
            };
            assert_block_independent(|| Gate::new(p), fs, 2);
            let p = GateParams {
                detector: Detector::Rms,
                ratio: 2.0,
                ..p
            };
            assert_block_independent(|| Gate::new(p), fs, 6);
        }
    }

    /// Reference: external key — a quiet pad (-50 dBFS, below the -30 dB
    /// threshold) passes at unity while a loud mono key is on and is
    /// attenuated by `range_db` (within 0.1 dB) after the key stops.
    #[test]
    fn keyed_gate() {
        let fs = 48_000.0;
        let p = GateParams {
            threshold_db: -30.0,
            range_db: 24.0,
            ..Default::default()
        };
        let n = 96_000;
        let pad = vec![sine(n, 300.0, db_to_gain(-50.0), fs); 2];
        let key: Vec<f64> = sine(n, 100.0, 0.5, fs)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if i < n / 2 { v } else { 0.0 })
            .collect();
        let mut g = gate(p, fs);
        let mut bufs = pad.clone();
        for_blocks(n, &[512], |r| {
            let k = [&key[r.clone()]];
            g.process_keyed(PlanarMut::new(&mut bufs, r).channels(), &k);
        });
        let on = 24_000..48_000;
        let g_on = rms_db(&bufs[0][on.clone()]) - rms_db(&pad[0][on]);
        let off = 72_000..96_000;
        let g_off = rms_db(&bufs[1][off.clone()]) - rms_db(&pad[1][off]);
        eprintln!("keyed gate: open {g_on:e} dB, closed {g_off:.4} dB");
        assert!(g_on.abs() < 1e-3, "keyed open: {g_on}");
        assert!((g_off + 24.0).abs() < 0.1, "closed: {g_off}");
    }

    /// Reference: key filter = RBJ Butterworth low-pass (|H| at 8 kHz for a
    /// 200 Hz corner ≈ -64 dB): a -20 dBFS 8 kHz hi-hat over a -40 dB
    /// threshold opens the gate unfiltered (unity) but not with the key
    /// low-pass (attenuated by `range_db`, 0.1 dB), while a 60 Hz kick
    /// opens it either way (unity, 0.001 dB).
    #[test]
    fn key_filter() {
        let fs = 48_000.0;
        let base = GateParams {
            threshold_db: -40.0,
            range_db: 30.0,
            ..Default::default()
        };
        let filtered = GateParams {
            sidechain_lpf_hz: 200.0,
            sidechain_hpf_hz: 30.0,
            ..base
        };
        let hat = sine(96_000, 8000.0, 0.1, fs);
        let kick = sine(96_000, 60.0, 0.1, fs);
        let g = |p, x: &[f64]| steady_gain_db(&mut gate(p, fs), x);
        let (hat_open, hat_closed) = (g(base, &hat), g(filtered, &hat));
        let kick_open = g(filtered, &kick);
        eprintln!("gate key filter: hat {hat_open:e} -> {hat_closed:.4} dB, kick {kick_open:e} dB");
        assert!(hat_open.abs() < 1e-3);
        assert!((hat_closed + 30.0).abs() < 0.1);
        assert!(kick_open.abs() < 1e-3);
    }

    /// Reference: serde `deny_unknown_fields`, defaults for missing fields.
    #[test]
    fn params_serde() {
        let p: GateParams = serde_json::from_str(r#"{"range_db": 12, "detector": "rms"}"#).unwrap();
        assert_eq!(p.range_db, 12.0);
        assert_eq!(p.detector, Detector::Rms);
        assert!(serde_json::from_str::<GateParams>(r#"{"range": 12}"#).is_err());
    }
}
