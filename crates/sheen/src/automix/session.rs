//! Writes the automix decisions as an ordinary mixing session (the format
//! of `sheen mix`, `docs/SESSION.md`): one track per stem, a drum bus when
//! there are drum parts, reverb and delay returns when something is sent
//! to them, and a `reasons` table / `reason` key next to every decided
//! value. The text is a pure function of the decisions.

use super::rules::{StemDecision, DRUM_BUS};
use crate::mixing::init::toml_str;
use std::fmt::Write as _;

/// Reverb return settings (a medium hall; `docs/AUTOMIX.md` §6).
pub const REVERB_RT60_S: f64 = 1.6;
/// Delay return time, ms (a dotted-eighth at 120 bpm).
pub const DELAY_TIME_MS: f64 = 375.0;

fn num(x: f64) -> String {
    if x == f64::NEG_INFINITY {
        "-inf".into()
    } else if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{}", (x * 1000.0).round() / 1000.0)
    }
}

/// One stem for the writer: its decision and the file as the session
/// should name it (relative to the session's folder where possible).
pub struct WrittenStem<'a> {
    pub decision: &'a StemDecision,
    pub file: String,
    pub channels: usize,
}

/// The session text.
pub fn session_text(stems: &[WrittenStem], sample_rate_hz: u32, header: &str) -> String {
    let mut s = String::new();
    for line in header.lines() {
        let _ = writeln!(s, "# {line}");
    }
    let _ = writeln!(s, "sample_rate_hz = {sample_rate_hz}\n");
    let uses = |to: &str| {
        stems
            .iter()
            .any(|w| w.decision.mute.is_none() && w.decision.sends.iter().any(|x| x.to == to))
    };
    let drums = stems.iter().any(|w| w.decision.output == DRUM_BUS);
    for w in stems {
        let d = w.decision;
        let _ = writeln!(s, "[[tracks]]");
        let _ = writeln!(s, "name = {}", toml_str(&d.name));
        let _ = writeln!(s, "file = {}", toml_str(&w.file));
        let _ = writeln!(s, "gain_db = {}", num(d.gain_db.value));
        if w.channels == 1 {
            let _ = writeln!(s, "pan = {}", num(d.pan.value));
            let _ = writeln!(s, "pan_law = -3");
        }
        if d.mute.is_some() {
            let _ = writeln!(s, "mute = true");
        }
        let _ = writeln!(s, "output = {}", toml_str(d.output));
        let mut inserts: Vec<String> = Vec::new();
        if let Some(h) = &d.highpass_hz {
            inserts.push(format!(
                "{{ type = \"highpass\", freq_hz = {}, reason = {} }}",
                num(h.value),
                toml_str(&h.reason)
            ));
        }
        if !d.cuts.is_empty() {
            let bands: Vec<String> = d
                .cuts
                .iter()
                .map(|c| {
                    format!(
                        "{{ kind = \"peak\", freq_hz = {}, q = {}, gain_db = {} }}",
                        num(c.freq_hz),
                        num(c.q),
                        num(c.gain_db)
                    )
                })
                .collect();
            let why: Vec<&str> = d.cuts.iter().map(|c| c.reason.as_str()).collect();
            inserts.push(format!(
                "{{ type = \"eq\", bands = [{}], reason = {} }}",
                bands.join(", "),
                toml_str(&why.join("; "))
            ));
        }
        if let Some(g) = &d.gate {
            inserts.push(format!(
                "{{ type = \"gate\", threshold_db = {}, range_db = {}, reason = {} }}",
                num(g.threshold_db),
                num(g.range_db),
                toml_str(&g.reason)
            ));
        }
        if let Some(c) = &d.compressor {
            inserts.push(format!(
                "{{ type = \"compressor\", threshold_db = {}, ratio = {}, attack_ms = {}, \
                 release_ms = {}, knee_db = 6.0, reason = {} }}",
                num(c.threshold_db),
                num(c.ratio),
                num(c.attack_ms),
                num(c.release_ms),
                toml_str(&c.reason)
            ));
        }
        if let Some(e) = &d.deesser {
            inserts.push(format!(
                "{{ type = \"deesser\", freq_hz = {}, threshold_db = {}, max_reduction_db = 6.0, \
                 reason = {} }}",
                num(e.freq_hz),
                num(e.threshold_db),
                toml_str(&e.reason)
            ));
        }
        if !inserts.is_empty() {
            let _ = writeln!(s, "inserts = [\n  {},\n]", inserts.join(",\n  "));
        }
        if !d.sends.is_empty() && d.mute.is_none() {
            let sends: Vec<String> = d
                .sends
                .iter()
                .map(|x| {
                    format!(
                        "{{ to = {}, level_db = {}, reason = {} }}",
                        toml_str(x.to),
                        num(x.level_db),
                        toml_str(&x.reason)
                    )
                })
                .collect();
            let _ = writeln!(s, "sends = [\n  {},\n]", sends.join(",\n  "));
        }
        let _ = writeln!(s, "[tracks.reasons]");
        let _ = writeln!(
            s,
            "class = {}",
            toml_str(&format!("{} ({})", d.class.class.name(), d.class.reason))
        );
        let _ = writeln!(s, "gain_db = {}", toml_str(&d.gain_db.reason));
        if w.channels == 1 {
            let _ = writeln!(s, "pan = {}", toml_str(&d.pan.reason));
        }
        if let Some(m) = &d.mute {
            let _ = writeln!(s, "mute = {}", toml_str(m));
        }
        s.push('\n');
    }
    if drums {
        let _ = writeln!(s, "[[buses]]");
        let _ = writeln!(s, "name = {}", toml_str(DRUM_BUS));
        let _ = writeln!(s, "gain_db = 0.0");
        let _ = writeln!(s, "output = \"master\"");
        let _ = writeln!(s, "[buses.reasons]");
        let _ = writeln!(
            s,
            "output = \"kit parts are summed on one bus so the kit can be balanced as a whole\"\n"
        );
    }
    if uses("reverb") {
        let _ = writeln!(s, "[[returns]]");
        let _ = writeln!(s, "name = \"reverb\"");
        let _ = writeln!(
            s,
            "inserts = [{{ type = \"reverb\", rt60_s = {}, pre_delay_ms = 20.0, damping_hz = 6000.0, \
             hf_rt60_ratio = 0.5, mix = 1.0, reason = \"one shared medium hall: common space for \
             everything sent\" }}]",
            num(REVERB_RT60_S)
        );
        let _ = writeln!(s, "output = \"master\"\n");
    }
    if uses("delay") {
        let _ = writeln!(s, "[[returns]]");
        let _ = writeln!(s, "name = \"delay\"");
        let _ = writeln!(
            s,
            "inserts = [{{ type = \"delay\", time_ms = {}, feedback = 0.25, low_cut_hz = 200.0, \
             high_cut_hz = 5000.0, mix = 1.0, reason = \"filtered echo: depth without clutter\" }}]",
            num(DELAY_TIME_MS)
        );
        let _ = writeln!(s, "output = \"master\"\n");
    }
    let _ = writeln!(s, "[master]");
    let _ = writeln!(s, "gain_db = 0.0");
    s
}
