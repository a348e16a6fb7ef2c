//! The HTML document: one file with inline CSS (the bundled font as a
//! `data:` URI), inline SVG charts and `data:` URI audio; no script, no
//! external resource.

use crate::num::{fixed, opt, signed};
use crate::plot::{self, LoudnessKind, StereoKind};
use crate::{Deliverable, ReportData, Role};
use base64::Engine as _;
use std::fmt::Write as _;

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// A `data:` URI of `bytes`.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!(
        "data:{mime};base64,{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

const CSS: &str = "\
body{font-family:SheenSans,sans-serif;color:#222;background:#f6f6f4;margin:0;line-height:1.4}
main{max-width:1100px;margin:0 auto;padding:18px 24px 40px}
h1{font-size:26px;margin:8px 0 4px}h2{font-size:20px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;padding:4px 16px 14px;margin:14px 0}
svg{display:block;max-width:100%;height:auto;margin:8px 0}
svg text{font-family:SheenSans,sans-serif}
table{border-collapse:collapse;width:100%;font-size:14px}
th,td{border-bottom:1px solid #eee;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:bold}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.pass{color:#fff;background:#1b8a3a;border-radius:4px;padding:1px 7px;font-weight:bold}
.fail{color:#fff;background:#c62828;border-radius:4px;padding:1px 7px;font-weight:bold}
.ok{color:#1b8a3a}.bad{color:#c62828;font-weight:bold}
.verdict{font-size:18px;margin:10px 0}.summary{color:#555;margin:2px 0}
.note{color:#666;font-size:13px}.warn{color:#a15c00}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:middle}
.ab{display:flex;gap:24px;flex-wrap:wrap;align-items:center;margin:8px 0}.ab div{min-width:300px}
audio{width:320px}
footer{color:#777;font-size:12px;margin-top:24px}
";

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "<span class=\"ok\">✓</span>",
        Some(false) => "<span class=\"bad\">✗</span>",
        None => "",
    }
}

fn verdict(pass: bool) -> &'static str {
    if pass {
        "<span class=\"pass\">PASS</span>"
    } else {
        "<span class=\"fail\">FAIL</span>"
    }
}

fn deliverable_row(o: &mut String, d: &Deliverable) {
    let loud = match d.target_lufs {
        Some(t) => format!(
            "{} {} <span class=\"note\">(target {} ±{}, error {})</span>",
            opt(d.integrated_lufs, 2),
            mark(d.loudness_ok()),
            fixed(t, 2),
            fixed(d.tolerance_lu, 1),
            d.integrated_lufs
                .map_or_else(|| "–".into(), |i| format!("{} LU", signed(i - t, 2)))
        ),
        None => opt(d.integrated_lufs, 2),
    };
    let peak = match d.ceiling_dbtp {
        Some(c) => format!(
            "{} {} <span class=\"note\">(ceiling {})</span>",
            opt(d.true_peak_dbtp, 2),
            mark(d.ceiling_ok()),
            fixed(c, 2)
        ),
        None => opt(d.true_peak_dbtp, 2),
    };
    let _ = writeln!(
        o,
        "<tr><td><b>{}</b><br><span class=\"note\">{}</span></td><td class=\"n\">{loud}</td><td class=\"n\">{peak}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
        esc(&d.name),
        esc(&d.file),
        opt(d.loudness_range_lu, 1),
        opt(d.plr_db, 1),
        verdict(d.pass)
    );
}

/// Renders the whole report (see the crate docs). Pure: the same data
/// gives the same bytes.
pub fn render_html(r: &ReportData) -> String {
    let mut o = String::with_capacity(
        64 * 1024
            + r.excerpts
                .iter()
                .map(|e| (e.a.bytes.len() + e.b.bytes.len()) * 4 / 3 + 256)
                .sum::<usize>(),
    );
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"generator\" content=\"{}\">\n<title>{}</title>\n<style>\n@font-face{{font-family:SheenSans;font-style:normal;font-weight:normal;src:url({}) format(\"truetype\")}}\n{CSS}</style>\n</head>\n<body>\n<main>\n",
        esc(&r.generator),
        esc(&r.title),
        data_uri("font/ttf", plot::FONT_TTF)
    );
    let _ = writeln!(o, "<h1>{}</h1>", esc(&r.title));
    for s in &r.summary {
        let _ = writeln!(o, "<p class=\"summary\">{}</p>", esc(s));
    }
    if !r.deliverables.is_empty() {
        let n_pass = r.deliverables.iter().filter(|d| d.pass).count();
        let _ = writeln!(
            o,
            "<p class=\"verdict\">{} {} of {} deliverable{} met {} target.</p>",
            verdict(r.all_pass()),
            n_pass,
            r.deliverables.len(),
            if r.deliverables.len() == 1 { "" } else { "s" },
            if r.deliverables.len() == 1 {
                "its"
            } else {
                "their"
            }
        );
    }
    for w in &r.warnings {
        let _ = writeln!(o, "<p class=\"warn\">warning: {}</p>", esc(w));
    }

    // Deliverables
    if !r.deliverables.is_empty() {
        o.push_str("<section id=\"deliverables\">\n<h2>Deliverables against their targets</h2>\n<table>\n<tr><th>deliverable</th><th>integrated (LUFS)</th><th>true peak (dBTP)</th><th>LRA (LU)</th><th>PLR (dB)</th><th>verdict</th></tr>\n");
        for d in &r.deliverables {
            deliverable_row(&mut o, d);
        }
        o.push_str("</table>\n<p class=\"note\">Integrated loudness: ITU-R BS.1770-4 gated; true peak: BS.1770-4 Annex 2 (4× oversampled or more); LRA: EBU Tech 3342; PLR = true peak − integrated loudness. PASS needs the loudness within the tolerance and the true peak at or under the ceiling.</p>\n</section>\n");
    }

    // Measured signals
    if !r.signals.is_empty() {
        let cols = plot::colours(&r.signals);
        o.push_str("<section id=\"signals\">\n<h2>Measured files</h2>\n<table>\n<tr><th>signal</th><th>integrated (LUFS)</th><th>true peak (dBTP)</th><th>LRA (LU)</th><th>PLR (dB)</th><th>short-term max (LUFS)</th><th>correlation</th><th>side/mid (dB)</th></tr>\n");
        for (s, c) in r.signals.iter().zip(&cols) {
            let _ = writeln!(
                o,
                "<tr><td><span class=\"swatch\" style=\"background:{}\"></span><b>{}</b> <span class=\"note\">({})</span><br><span class=\"note\">{} · {} Hz · {} ch · {} s</span></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                plot::css(*c),
                esc(&s.label),
                match s.role {
                    Role::Before => "before",
                    Role::After => "after",
                    Role::Reference => "reference",
                    Role::Input => "input",
                },
                esc(&s.file),
                s.sample_rate_hz,
                s.channels,
                fixed(s.duration_s, 2),
                opt(s.integrated_lufs, 2),
                opt(s.true_peak_dbtp, 2),
                opt(s.loudness_range_lu, 1),
                opt(s.plr_db, 1),
                opt(s.short_term_max_lufs, 2),
                opt(s.correlation, 2),
                opt(s.side_to_mid_db, 1),
            );
        }
        o.push_str("</table>\n</section>\n");

        // Loudness over time
        let targets: Vec<(String, f64)> = {
            let mut t: Vec<(String, f64)> = Vec::new();
            for d in &r.deliverables {
                if let Some(l) = d.target_lufs {
                    if !t.iter().any(|(_, x)| (x - l).abs() < 1e-9) {
                        t.push((d.name.clone(), l));
                    }
                }
            }
            t
        };
        o.push_str("<section id=\"loudness\">\n<h2>Loudness over time</h2>\n");
        o.push_str(&plot::loudness_chart(
            &r.signals,
            LoudnessKind::ShortTerm,
            &targets,
        ));
        o.push('\n');
        o.push_str(&plot::loudness_chart(
            &r.signals,
            LoudnessKind::Momentary,
            &[],
        ));
        o.push_str("\n<p class=\"note\">EBU Tech 3341 momentary (400 ms) and short-term (3 s) loudness, one point per 100 ms; silent windows are left out.</p>\n</section>\n");

        // Spectrum
        o.push_str("<section id=\"spectrum\">\n<h2>Spectrum</h2>\n");
        o.push_str(&plot::spectrum_chart(&r.signals));
        o.push_str("\n<p class=\"note\">Long-term average 1/3-octave spectrum (IEC 61260-1 bands) of the mid signal (L+R)/2, each curve relative to its own integrated loudness so that tone, not level, is compared.</p>\n</section>\n");

        // Stereo
        if r.signals.iter().any(|s| !s.stereo.is_empty()) {
            o.push_str("<section id=\"stereo\">\n<h2>Stereo image</h2>\n");
            o.push_str(&plot::stereo_chart(&r.signals, StereoKind::Correlation));
            o.push('\n');
            o.push_str(&plot::stereo_chart(&r.signals, StereoKind::SideToMid));
            o.push_str("\n</section>\n");
        }
    }

    // Decisions
    if !r.decisions.is_empty() {
        o.push_str("<section id=\"decisions\">\n<h2>Decisions and their reasons</h2>\n<table>\n<tr><th>where</th><th>stage</th><th>setting</th><th>reason</th></tr>\n");
        for d in &r.decisions {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.scope),
                esc(&d.stage),
                esc(&d.setting),
                esc(&d.reason)
            );
        }
        o.push_str("</table>\n</section>\n");
    }

    // Listening
    if !r.excerpts.is_empty() {
        o.push_str("<section id=\"listen\">\n<h2>Listen: loudness-matched A/B</h2>\n<p class=\"note\">The same excerpt before and after, matched to the same integrated loudness so that the comparison is not fooled by level.</p>\n");
        for e in &r.excerpts {
            let _ = writeln!(
                o,
                "<h3>{}</h3>\n<p class=\"note\">{} s to {} s; {}</p>\n<div class=\"ab\"><div><b>A: {}</b><br><audio controls preload=\"none\" src=\"{}\"></audio></div><div><b>B: {}</b><br><audio controls preload=\"none\" src=\"{}\"></audio></div></div>",
                esc(&e.label),
                fixed(e.start_s, 1),
                fixed(e.start_s + e.len_s, 1),
                esc(&e.note),
                esc(&e.a_label),
                data_uri(&e.a.mime, &e.a.bytes),
                esc(&e.b_label),
                data_uri(&e.b.mime, &e.b.bytes),
            );
        }
        o.push_str("</section>\n");
    }

    let _ = write!(
        o,
        "<footer>Made by {}{}. Self-contained: no network needed to view this page.</footer>\n</main>\n</body>\n</html>\n",
        esc(&r.generator),
        r.generated_at
            .as_deref()
            .map_or_else(String::new, |t| format!(" at {}", esc(t)))
    );
    o
}
