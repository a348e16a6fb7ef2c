//! `--report-html` and `sheen report` (issue 8, "Report"): the HTML report
//! of a short synthesized master holds the measured figures, the PASS
//! marks, the chain's reasons, valid SVG charts and loudness-matched audio
//! excerpts as data URIs; the same job gives the same bytes; the report is
//! written atomically, never over an input, and bad paths fail in one line
//! before any work is done.

mod common;

use base64::Engine as _;
use common::{assert_ok, sheen};
use std::path::Path;

/// 8 s of stereo "music": two tones and a pulsed noise-like mix, with the
/// level changing over time (so the loudness series and LRA are not flat).
fn song(path: &Path, secs: f64) {
    let fs = 48_000.0;
    let n = (secs * fs) as usize;
    let mut seed = 0x1234_5678_u64;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut l = Vec::with_capacity(n);
    let mut r = Vec::with_capacity(n);
    for i in 0..n {
        let t = i as f64 / fs;
        let env = 0.6 + 0.4 * (2.0 * std::f64::consts::PI * 0.25 * t).sin();
        let beat = if (t * 2.0).fract() < 0.1 { 1.0 } else { 0.2 };
        let w = std::f64::consts::TAU;
        let a = 0.15 * (w * 110.0 * t).sin() + 0.05 * (w * 1760.0 * t).sin();
        let x = noise() * 0.2 * beat;
        l.push(env * (a + x));
        r.push(env * (0.9 * a + 0.7 * x + 0.03 * (w * 2500.0 * t).sin()));
    }
    let spec = sheen_io::WriteSpec {
        sample_rate_hz: 48_000,
        channels: 2,
        format: sheen_io::SampleFormat::F32,
        container: sheen_io::Container::Wav,
    };
    sheen_io::write_all(path, spec, &[], &[l, r]).unwrap();
}

fn run(args: &[&str], dir: &Path) -> std::process::Output {
    sheen().current_dir(dir).args(args).output().unwrap()
}

fn audio_uris(html: &str) -> Vec<Vec<u8>> {
    html.match_indices("src=\"data:audio/flac;base64,")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            let end = rest.find('"').unwrap();
            base64::engine::general_purpose::STANDARD
                .decode(&rest[..end])
                .unwrap()
        })
        .collect()
}

fn integrated(bytes: &[u8], dir: &Path, name: &str) -> (f64, f64) {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let (info, x) = sheen_io::read_all(&p).unwrap();
    let mut m = sheen_meter::LoudnessMeter::new(info.sample_rate_hz as f64, x.len());
    let block: Vec<&[f64]> = x.iter().map(Vec::as_slice).collect();
    m.push(&block);
    (
        m.integrated_lufs().unwrap(),
        x[0].len() as f64 / info.sample_rate_hz as f64,
    )
}

/// Reference: issue 8's list of report contents, checked against the JSON
/// report of the same run (figures with two decimals, as rendered) and the
/// written masters; the A/B excerpts decoded and re-measured with
/// BS.1770-4: both sides of a pair within 0.1 LU of each other.
#[test]
fn master_report_has_figures_marks_reasons_charts_and_audio() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    song(&d.join("song.wav"), 8.0);
    let args = [
        "master",
        "song.wav",
        "-o",
        "out",
        "--target",
        "spotify",
        "--target",
        "apple",
        "--report",
        "rep.json",
        "--report-html",
        "r.html",
    ];
    let out = run(&args, d);
    assert_ok(&out);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("rep.json")).unwrap()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.ends_with("</html>\n"));
    let dels = json["deliverables"].as_array().unwrap();
    assert_eq!(dels.len(), 2);
    for del in dels {
        assert!(del["pass"].as_bool().unwrap());
        let i = del["after"]["integrated_lufs"].as_f64().unwrap();
        let tp = del["after"]["true_peak_dbtp"].as_f64().unwrap();
        let want_i = format!(
            "{} <span class=\"ok\">✓</span>",
            sheen_report::num::fixed(i, 2)
        );
        let want_tp = format!(
            "{} <span class=\"ok\">✓</span>",
            sheen_report::num::fixed(tp, 2)
        );
        assert!(html.contains(&want_i), "{want_i}");
        assert!(html.contains(&want_tp), "{want_tp}");
        let reason = del["chain"]["limiter"]["reason"].as_str().unwrap();
        assert!(html.contains(&sheen_report::html::esc(reason)), "{reason}");
        let reason = del["chain"]["gain"]["reason"].as_str().unwrap();
        assert!(html.contains(&sheen_report::html::esc(reason)), "{reason}");
    }
    for b in json["chain"]["eq"].as_array().unwrap() {
        let reason = b["reason"].as_str().unwrap();
        assert!(html.contains(&sheen_report::html::esc(reason)), "{reason}");
    }
    assert_eq!(html.matches("<span class=\"pass\">PASS</span>").count(), 3);
    assert!(!html.contains("class=\"fail\""));
    assert!(html.contains("2 of 2 deliverables"));
    // charts: complete SVG elements with drawn lines and bundled-font text
    assert_eq!(html.matches("<svg").count(), 5);
    assert_eq!(html.matches("</svg>").count(), 5);
    assert!(html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(html.matches("<polyline").count() >= 15);
    assert!(html.contains("font-family=\"SheenSans\""));
    // loudness-matched A/B: one pair per deliverable, 8 s (the whole song)
    let audio = audio_uris(&html);
    assert_eq!(audio.len(), 4);
    for (k, pair) in audio.chunks(2).enumerate() {
        assert!(pair[0].starts_with(b"fLaC") && pair[1].starts_with(b"fLaC"));
        let (ia, la) = integrated(&pair[0], d, &format!("a{k}.flac"));
        let (ib, lb) = integrated(&pair[1], d, &format!("b{k}.flac"));
        assert!(
            (la - 8.0).abs() < 1e-3 && (lb - 8.0).abs() < 1e-3,
            "{la} {lb}"
        );
        assert!(
            (ia - ib).abs() < 0.1,
            "pair {k}: A {ia:.2} LUFS, B {ib:.2} LUFS"
        );
    }
    // atomic: no temporary file left beside the report
    let names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.contains("sheen-tmp")), "{names:?}");

    // determinism: the same job again gives the same bytes
    std::fs::rename(d.join("r.html"), d.join("first.html")).unwrap();
    let out = run(&args, d);
    assert!(out.status.success());
    let again = std::fs::read(d.join("r.html")).unwrap();
    assert!(
        again == std::fs::read(d.join("first.html")).unwrap(),
        "report bytes differ"
    );
}

/// Reference: the "never overwrite an input" and "bad input → one line"
/// rules (common rules; issue 8): each bad destination fails in one line
/// naming it, before any master is written, and the input is unchanged.
#[test]
fn bad_report_paths_fail_in_one_line_before_work() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    song(&d.join("song.wav"), 1.0);
    let before = std::fs::read(d.join("song.wav")).unwrap();
    std::fs::create_dir(d.join("folder")).unwrap();
    for (dest, want) in [
        ("song.wav", "is an input"),
        ("missing/r.html", "does not exist"),
        ("folder", "is a folder"),
    ] {
        let out = run(
            &["master", "song.wav", "-o", "m.wav", "--report-html", dest],
            d,
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{dest}");
        assert_eq!(err.trim_end().lines().count(), 1, "{dest}: {err}");
        assert!(err.contains(dest) && err.contains(want), "{dest}: {err}");
        assert!(!d.join("m.wav").exists(), "{dest}: work was done");
    }
    let out = run(&["report", "song.wav", "-o", "song.wav"], d);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is an input"));
    let out = run(&["report", "nothere.wav", "-o", "r.html"], d);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.trim_end().lines().count() == 1,
        "{err}"
    );
    assert!(err.contains("nothere.wav"), "{err}");
    assert!(!d.join("r.html").exists());
    assert_eq!(std::fs::read(d.join("song.wav")).unwrap(), before);
}

/// Reference: `sheen analyze --json` of the same files (figures with two
/// decimals as rendered): `sheen report` shows every file, a mono one
/// without a stereo chart line, and no deliverables (nothing processed).
#[test]
fn plain_analysis_report() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    song(&d.join("a.wav"), 4.0);
    let x: Vec<f64> = (0..96_000).map(|i| 0.1 * (i as f64 * 0.05).sin()).collect();
    let spec = sheen_io::WriteSpec {
        sample_rate_hz: 48_000,
        channels: 1,
        format: sheen_io::SampleFormat::I16,
        container: sheen_io::Container::Flac,
    };
    sheen_io::write_all(&d.join("mono.flac"), spec, &[], &[x]).unwrap();
    let out = run(&["report", "a.wav", "mono.flac", "-o", "r.html"], d);
    assert_ok(&out);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    let out = run(&["analyze", "--json", "a.wav", "mono.flac"], d);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for f in json.as_array().unwrap() {
        let i = f["integrated_lufs"].as_f64().unwrap();
        let tp = f["true_peak_dbtp"].as_f64().unwrap();
        for v in [i, tp] {
            let s = format!("<td class=\"n\">{}</td>", sheen_report::num::fixed(v, 2));
            assert!(html.contains(&s), "{s}");
        }
    }
    assert!(html.contains("a.wav") && html.contains("mono.flac"));
    assert!(!html.contains("id=\"deliverables\"") && !html.contains("data:audio"));
    assert!(html.contains("id=\"stereo\""));
    assert_eq!(html.matches("<svg").count(), 5);
}

/// Reference: issue 8 (`--report-html` for `mix` and `automix`): the
/// automix report lists every stem's decisions with their reasons (as in
/// the written session) and the master's PASS; the report of a plain `mix`
/// (no master) measures the mix and names the session, with no verdict.
#[test]
fn automix_and_mix_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::create_dir(d.join("stems")).unwrap();
    song(&d.join("stems/bass.wav"), 6.0);
    song(&d.join("stems/vocal.wav"), 6.0);
    let out = run(
        &[
            "automix",
            "stems",
            "-o",
            "s.toml",
            "--render",
            "mix.wav",
            "--master",
            "spotify",
            "--report-html",
            "a.html",
        ],
        d,
    );
    assert_ok(&out);
    let html = std::fs::read_to_string(d.join("a.html")).unwrap();
    let session = std::fs::read_to_string(d.join("s.toml")).unwrap();
    for stem in ["bass", "vocal"] {
        assert!(
            html.contains(&format!("<tr><td>{stem}</td><td>gain</td>")),
            "{stem}"
        );
        assert!(
            html.contains(&format!("<tr><td>{stem}</td><td>class</td>")),
            "{stem}"
        );
    }
    // every gain reason of the session is in the report
    let doc: toml::Value = toml::from_str(&session).unwrap();
    let tracks = doc["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 2);
    for t in tracks {
        // the session writes the class as `CLASS (REASON)`
        let class = t["reasons"]["class"].as_str().unwrap();
        let (name, why) = class.split_once(" (").unwrap();
        let why = why.strip_suffix(')').unwrap();
        let row = format!(
            "<td>class</td><td>{name}</td><td>{}</td>",
            sheen_report::html::esc(why)
        );
        assert!(html.contains(&row), "{row}");
        let r = t["reasons"]["gain_db"].as_str().unwrap();
        assert!(html.contains(&sheen_report::html::esc(r)), "{r}");
        for ins in t
            .get("inserts")
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
        {
            // an EQ insert joins its cuts' reasons with "; "; the report
            // lists each cut on its own row
            for r in ins["reason"].as_str().unwrap().split("; ") {
                assert!(html.contains(&sheen_report::html::esc(r)), "{r}");
            }
        }
    }
    assert!(html.contains("<span class=\"pass\">PASS</span>"));
    assert_eq!(audio_uris(&html).len(), 2);

    let out = run(
        &["mix", "s.toml", "-o", "mix2.wav", "--report-html", "m.html"],
        d,
    );
    assert_ok(&out);
    let html = std::fs::read_to_string(d.join("m.html")).unwrap();
    assert!(html.contains("as written in s.toml"));
    assert!(!html.contains("id=\"deliverables\""));
    assert_eq!(html.matches("<svg").count(), 5);
    // --report-html needs --render for automix
    let out = run(
        &[
            "automix",
            "stems",
            "-o",
            "t.toml",
            "--report-html",
            "x.html",
        ],
        d,
    );
    assert!(!out.status.success());
}

/// Reference: issue 8 ("spectrum before/after/reference"): a reference
/// match's report measures the reference too (its row and its curve in the
/// spectrum chart) and judges the match against its loudness target.
#[test]
fn match_report_shows_the_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    song(&d.join("a.wav"), 5.0);
    // the reference: the same song, brighter and louder
    let (info, mut x) = sheen_io::read_all(&d.join("a.wav")).unwrap();
    for c in &mut x {
        let mut prev = 0.0;
        for s in c.iter_mut() {
            let v = 2.0 * (*s - 0.7 * prev);
            prev = *s;
            *s = v.clamp(-0.9, 0.9);
        }
    }
    let spec = sheen_io::WriteSpec {
        sample_rate_hz: info.sample_rate_hz,
        channels: 2,
        format: sheen_io::SampleFormat::F32,
        container: sheen_io::Container::Wav,
    };
    sheen_io::write_all(&d.join("ref.wav"), spec, &[], &x).unwrap();
    let out = run(
        &[
            "match",
            "a.wav",
            "--reference",
            "ref.wav",
            "-o",
            "m.wav",
            "--report-html",
            "r.html",
        ],
        d,
    );
    assert_ok(&out);
    let html = std::fs::read_to_string(d.join("r.html")).unwrap();
    assert!(html.contains("<b>reference</b> <span class=\"note\">(reference)</span>"));
    assert!(html.contains("<b>matched</b> <span class=\"note\">(after)</span>"));
    assert!(html.contains("<b>before</b> <span class=\"note\">(before)</span>"));
    let spectrum =
        &html[html.find("id=\"spectrum\"").unwrap()..html.find("id=\"stereo\"").unwrap()];
    assert!(
        spectrum.contains(">\nreference\n</text>"),
        "reference in the legend"
    );
    assert!(spectrum.matches("<polyline").count() >= 3);
    assert!(html.contains("id=\"deliverables\"") && html.contains("ref.wav (weight 1.00)"));
    assert_eq!(audio_uris(&html).len(), 2);
}
