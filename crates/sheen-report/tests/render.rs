//! The rendered document for synthetic data: every section, figure, mark
//! and excerpt is present, the page is self-contained, and the bytes depend
//! only on the data.

use sheen_report::*;

fn signal(label: &str, role: Role, lufs: f64, corr: f64) -> Signal {
    let t: Vec<f64> = (1..=100).map(|i| i as f64 * 0.1).collect();
    Signal {
        label: label.into(),
        file: format!("{label}.wav"),
        role,
        sample_rate_hz: 48_000,
        channels: 2,
        duration_s: 10.0,
        integrated_lufs: Some(lufs),
        loudness_range_lu: Some(4.25),
        true_peak_dbtp: Some(lufs + 13.0),
        sample_peak_dbfs: Some(lufs + 12.5),
        plr_db: Some(13.0),
        short_term_max_lufs: Some(lufs + 2.0),
        correlation: Some(corr),
        side_to_mid_db: Some(-12.0),
        momentary: t.iter().map(|&x| [x, lufs + (x * 3.0).sin()]).collect(),
        short_term: t.iter().map(|&x| [x, lufs + 0.3 * (x).sin()]).collect(),
        stereo: t
            .iter()
            .map(|&x| StereoSample {
                time_s: x,
                correlation: Some(corr),
                side_to_mid_db: Some(-12.0 + x.sin()),
            })
            .collect(),
        spectrum_mid: [25.0, 100.0, 1000.0, 10_000.0, 20_000.0]
            .iter()
            .map(|&hz: &f64| [hz, lufs - 10.0 * (hz / 1000.0).log10().abs()])
            .collect(),
    }
}

fn data() -> ReportData {
    ReportData {
        title: "sheen master: song.wav".into(),
        summary: vec!["style balanced".into()],
        generated_at: None,
        generator: "sheen 0.1.0".into(),
        signals: vec![
            signal("before", Role::Before, -20.0, 0.8),
            signal("spotify", Role::After, -14.02, 0.7),
            signal("reference", Role::Reference, -9.0, 0.5),
        ],
        deliverables: vec![
            Deliverable {
                name: "spotify".into(),
                file: "out/song.spotify.wav".into(),
                target_lufs: Some(-14.0),
                tolerance_lu: 0.1,
                ceiling_dbtp: Some(-1.0),
                integrated_lufs: Some(-14.02),
                true_peak_dbtp: Some(-1.21),
                loudness_range_lu: Some(4.3),
                plr_db: Some(12.8),
                pass: true,
            },
            Deliverable {
                name: "club".into(),
                file: "out/song.club.wav".into(),
                target_lufs: Some(-8.0),
                tolerance_lu: 0.1,
                ceiling_dbtp: Some(-0.3),
                integrated_lufs: Some(-8.4),
                true_peak_dbtp: Some(-0.1),
                loudness_range_lu: Some(2.0),
                plr_db: Some(8.3),
                pass: false,
            },
        ],
        decisions: vec![Decision {
            scope: "all targets".into(),
            stage: "eq".into(),
            setting: "bell 250 Hz −1.5 dB".into(),
            reason: "low-mids 2.1 dB above the <balanced> curve".into(),
        }],
        excerpts: vec![Excerpt {
            label: "spotify".into(),
            start_s: 2.0,
            len_s: 5.0,
            a_label: "original".into(),
            a: Audio {
                mime: "audio/wav".into(),
                bytes: b"RIFFabc".to_vec(),
            },
            b_label: "master".into(),
            b: Audio {
                mime: "audio/flac".into(),
                bytes: b"fLaCxyz".to_vec(),
            },
            note: "original +6.0 dB".into(),
        }],
        warnings: vec![],
    }
}

/// Reference: the crate docs' list of contents; HTML escaping; PASS and
/// FAIL from the engine's verdicts, per-figure marks from the figures.
#[test]
fn contains_every_part() {
    let html = render_html(&data());
    assert!(html.starts_with("<!DOCTYPE html>"));
    for s in [
        "<title>sheen master: song.wav</title>",
        "id=\"deliverables\"",
        "id=\"loudness\"",
        "id=\"spectrum\"",
        "id=\"stereo\"",
        "id=\"decisions\"",
        "id=\"listen\"",
        "-14.02",
        "-1.21",
        "target -14.00 ±0.1, error -0.02 LU",
        "ceiling -1.00",
        "<span class=\"pass\">PASS</span>",
        "<span class=\"fail\">FAIL</span>",
        "1 of 2 deliverables",
        "low-mids 2.1 dB above the &lt;balanced&gt; curve",
        "src=\"data:audio/wav;base64,UklGRmFiYw==\"",
        "src=\"data:audio/flac;base64,ZkxhQ3h5eg==\"",
        "@font-face{font-family:SheenSans",
        "data:font/ttf;base64,",
    ] {
        assert!(html.contains(s), "missing {s:?}");
    }
    // 5 charts: short-term, momentary, spectrum, correlation, side/mid
    assert_eq!(html.matches("<svg").count(), 5);
    assert_eq!(html.matches("</svg>").count(), 5);
    assert!(html.matches("<polyline").count() >= 12, "lines drawn");
    // loudness 0.1 LU over the target gets the cross, the pass the tick
    assert!(html.contains("-8.40 <span class=\"bad\">✗</span>"));
    assert!(html.contains("-14.02 <span class=\"ok\">✓</span>"));
}

/// Reference: the self-contained rule (issue 8): nothing is fetched — no
/// http(s) URL in any src/href, no script, no external stylesheet.
#[test]
fn self_contained() {
    let html = render_html(&data());
    assert!(!html.contains("<script"));
    assert!(!html.contains("<link"));
    for attr in ["src=\"", "href=\"", "url("] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            assert!(
                rest.starts_with("data:"),
                "{attr} not a data URI: {}",
                &rest[..40.min(rest.len())]
            );
        }
    }
}

/// Reference: determinism rule (crate docs): same data, same bytes; the
/// timestamp appears only when passed in.
#[test]
fn deterministic() {
    let a = render_html(&data());
    let b = render_html(&data());
    assert_eq!(a, b);
    let mut d = data();
    d.generated_at = Some("2026-12-01T10:00:00Z".into());
    let c = render_html(&d);
    assert!(c.contains("at 2026-12-01T10:00:00Z"));
    assert!(!a.contains("2026-12-01"));
}

/// Reference: silence and mono (no series, no figures) render without a
/// panic, with dashes for the missing values and no stereo section.
#[test]
fn empty_and_mono() {
    let mut s = signal("mono", Role::Input, -20.0, 1.0);
    s.channels = 1;
    s.stereo.clear();
    s.momentary.clear();
    s.short_term.clear();
    s.integrated_lufs = None;
    s.correlation = None;
    let html = render_html(&ReportData {
        title: "t".into(),
        signals: vec![s],
        ..Default::default()
    });
    assert!(!html.contains("id=\"stereo\""));
    assert!(html.contains("<td class=\"n\">–</td>"));
    let empty = render_html(&ReportData::default());
    assert!(empty.ends_with("</html>\n"));
}
