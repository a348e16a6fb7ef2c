//! HTML reports: measures the files of a job and turns the job's own report
//! (mastering, matching, album, mix, automix, plain analysis) into a
//! [`sheen_report::ReportData`], rendered by [`sheen_report::render_html`].
//!
//! Measuring streams each file once through `sheen-meter` (bounded memory:
//! the series keep one point per 100 ms, about 3 MB per hour of audio):
//! BS.1770-4 / EBU Tech 3341 momentary and short-term series, EBU Tech 3342
//! LRA, true peak, the stereo series ([`sheen_meter::stereo`]) and the
//! 1/3-octave spectrum of the mid signal `(L+R)/2`.
//!
//! A/B excerpts reuse [`crate::mastering::preview::matched`] (same window
//! rule as `--preview-ab`, [`EXCERPT_S`] long); both sides are then lowered
//! together if needed so neither passes −1 dBFS (they stay loudness-matched),
//! and encoded as 16-bit FLAC by `sheen-io`.

use crate::automix::Automix;
use crate::mastering::{preview, MasterReport};
use crate::matching::album::AlbumReport;
use crate::matching::plan::MatchReport;
use crate::mixing::plan::Plan as MixPlan;
use crate::Error;
use sheen_io::{AudioReader, Container, SampleFormat, WriteSpec};
use sheen_meter::{Analyzer, AnalyzerOptions, SpectrumAnalyzer};
use sheen_report::{Audio, Decision, Deliverable, Excerpt, ReportData, Role, Signal, StereoSample};
use std::path::{Path, PathBuf};

/// Length of each embedded A/B excerpt, s.
pub const EXCERPT_S: f64 = 12.0;
/// Most A/B pairs in one report (an album's first songs), to keep the file
/// small.
pub const MAX_EXCERPTS: usize = 6;
/// Peak the embedded excerpts stay under, dBFS.
pub const EXCERPT_PEAK_DBFS: f64 = -1.0;

/// The generator string of the reports.
pub fn generator() -> String {
    format!("sheen {}", env!("CARGO_PKG_VERSION"))
}

/// Streams `path` through the meters (see the module docs).
pub fn measure(path: &Path, label: &str, role: Role) -> Result<Signal, Error> {
    let mut reader = AudioReader::open(path)?;
    let info = reader.info().clone();
    let fs = info.sample_rate_hz as f64;
    let mut analyzer = Analyzer::new(
        fs,
        info.channels,
        AnalyzerOptions {
            series: true,
            spectrum: false,
            channel_weights: None,
        },
    );
    let mut mid = SpectrumAnalyzer::new(fs);
    let mut m: Vec<f64> = Vec::new();
    crate::analysis::stream_blocks(&mut reader, path, |block| {
        analyzer.push(block);
        if block.len() >= 2 {
            m.clear();
            m.extend(block[0].iter().zip(block[1]).map(|(l, r)| 0.5 * (l + r)));
            mid.push(&m);
        } else {
            mid.push(block[0]);
        }
    })?;
    mid.finish();
    let a = analyzer.finish();
    Ok(Signal {
        label: label.to_string(),
        file: path.display().to_string(),
        role,
        sample_rate_hz: info.sample_rate_hz,
        channels: info.channels,
        duration_s: a.duration_s,
        integrated_lufs: a.integrated_lufs,
        loudness_range_lu: a.loudness_range_lu,
        true_peak_dbtp: a.true_peak_dbtp,
        sample_peak_dbfs: a.sample_peak_dbfs,
        plr_db: a.plr_db,
        short_term_max_lufs: a.short_term_max_lufs,
        correlation: a.correlation,
        side_to_mid_db: a.side_to_mid_db,
        momentary: a.momentary.unwrap_or_default(),
        short_term: a.short_term.unwrap_or_default(),
        stereo: a
            .stereo
            .unwrap_or_default()
            .into_iter()
            .map(|p| StereoSample {
                time_s: p.time_s,
                correlation: p.correlation,
                side_to_mid_db: p.side_to_mid_db,
            })
            .collect(),
        spectrum_mid: mid.band_levels().iter().map(|b| [b.hz, b.db]).collect(),
    })
}

/// The end time of the loudest short-term window of a measured signal, s.
pub fn loudest_s(s: &Signal) -> f64 {
    s.short_term
        .iter()
        .max_by(|a, b| a[1].total_cmp(&b[1]))
        .map_or(0.0, |p| p[0])
}

fn flac16(rate: u32, x: &[Vec<f64>]) -> Result<Audio, Error> {
    let spec = WriteSpec {
        sample_rate_hz: rate,
        channels: x.len(),
        format: SampleFormat::I16,
        container: Container::Flac,
    };
    let (bytes, _) = sheen_io::encode_in_memory(spec, x)?;
    Ok(Audio {
        mime: "audio/flac".into(),
        bytes,
    })
}

/// A loudness-matched A/B pair of `original` and `processed` around the
/// loudest part of the original (`before`'s series), [`EXCERPT_S`] long.
pub fn excerpt(
    label: &str,
    original: &Path,
    before: &Signal,
    processed: &Path,
) -> Result<Excerpt, Error> {
    let w = preview::window_of(before.duration_s, loudest_s(before), EXCERPT_S);
    let mut p = preview::matched(original, processed, w)?;
    let peak = p
        .original
        .iter()
        .chain(&p.master)
        .flatten()
        .fold(0.0f64, |m, x| m.max(x.abs()));
    let limit = sheen_dsp::db_to_gain(EXCERPT_PEAK_DBFS);
    let mut both_db = 0.0;
    if peak > limit {
        both_db = 20.0 * (limit / peak).log10();
        let g = limit / peak;
        p.original
            .iter_mut()
            .chain(&mut p.master)
            .flatten()
            .for_each(|x| *x *= g);
    }
    let mut note = format!(
        "original {} dB to match the processed file's loudness over the excerpt",
        sheen_report::num::signed(p.original_gain_db, 1)
    );
    if both_db < 0.0 {
        note.push_str(&format!(
            "; both {} dB so neither passes {} dBFS",
            sheen_report::num::signed(both_db, 1),
            EXCERPT_PEAK_DBFS
        ));
    }
    Ok(Excerpt {
        label: label.to_string(),
        start_s: w.0,
        len_s: w.1,
        a_label: "original".into(),
        a: flac16(p.original_rate_hz, &p.original)?,
        b_label: "processed".into(),
        b: flac16(p.master_rate_hz, &p.master)?,
        note,
    })
}

fn fmt(v: f64, d: usize) -> String {
    sheen_report::num::fixed(v, d)
}

fn decision(scope: &str, stage: &str, setting: String, reason: &str) -> Decision {
    Decision {
        scope: scope.into(),
        stage: stage.into(),
        setting,
        reason: reason.into(),
    }
}

/// The decisions of a mastering chain.
pub fn chain_decisions(c: &crate::mastering::Chain) -> Vec<Decision> {
    let all = "all targets";
    let mut v = Vec::new();
    for b in &c.eq {
        v.push(decision(
            all,
            "eq",
            format!(
                "{:?} {} Hz, {} dB, Q {}",
                b.kind,
                fmt(b.freq_hz, 0),
                sheen_report::num::signed(b.gain_db, 1),
                fmt(b.q, 2)
            ),
            &b.reason,
        ));
    }
    if let Some(x) = &c.compressor {
        v.push(decision(
            all,
            "compressor",
            if x.enabled { "on".into() } else { "off".into() },
            &x.reason,
        ));
    }
    if let Some(w) = &c.width {
        v.push(decision(
            all,
            "width",
            format!(
                "{}{}",
                fmt(w.width, 2),
                w.mono_below_hz
                    .map_or_else(String::new, |h| format!(", mono below {} Hz", fmt(h, 0)))
            ),
            &w.reason,
        ));
    }
    for d in &c.deliverables {
        v.push(decision(
            &d.target,
            "gain",
            format!("{} dB", sheen_report::num::signed(d.gain.gain_db, 2)),
            &d.gain.reason,
        ));
        v.push(decision(
            &d.target,
            "limiter",
            format!(
                "ceiling {} dBTP, lookahead {} ms, release {} ms, {}× oversampled",
                fmt(d.limiter.ceiling_dbtp, 1),
                fmt(d.limiter.lookahead_ms, 1),
                fmt(d.limiter.release_ms, 0),
                d.limiter.oversampling
            ),
            &d.limiter.reason,
        ));
        v.push(decision(
            &d.target,
            "output",
            format!("{} Hz, {} bit", d.output.sample_rate_hz, d.output.bits),
            &d.output.reason,
        ));
    }
    v
}

/// The report of a mastering job (`sheen master`): the input before, every
/// deliverable after, their verdicts, the chain, and one A/B pair per
/// deliverable when `excerpts`.
pub fn master_data(r: &MasterReport, input: &Path, excerpts: bool) -> Result<ReportData, Error> {
    let before = measure(input, "before", Role::Before)?;
    let mut signals = vec![before];
    let mut out = Vec::new();
    let mut ex = Vec::new();
    for d in &r.deliverables {
        signals.push(measure(Path::new(&d.file), &d.target, Role::After)?);
        out.push(Deliverable {
            name: d.target.clone(),
            file: d.file.clone(),
            target_lufs: Some(d.target_lufs),
            tolerance_lu: crate::mastering::verify::LOUDNESS_TOLERANCE_LU,
            ceiling_dbtp: Some(d.ceiling_dbtp),
            integrated_lufs: d.after.integrated_lufs,
            true_peak_dbtp: d.after.true_peak_dbtp,
            loudness_range_lu: d.after.loudness_range_lu,
            plr_db: d.after.plr_db,
            pass: d.pass,
        });
        if excerpts && ex.len() < MAX_EXCERPTS {
            ex.push(excerpt(&d.target, input, &signals[0], Path::new(&d.file))?);
        }
    }
    Ok(ReportData {
        title: format!("sheen master: {}", r.input),
        summary: vec![format!(
            "style {}; {} deliverable{}; every figure measured on the written files",
            r.chain.style.name(),
            r.deliverables.len(),
            if r.deliverables.len() == 1 { "" } else { "s" }
        )],
        generated_at: None,
        generator: generator(),
        signals,
        deliverables: out,
        decisions: chain_decisions(&r.chain),
        excerpts: ex,
        warnings: r.warnings.clone(),
    })
}

fn match_decisions(scope: &str, r: &MatchReport) -> Vec<Decision> {
    let c = &r.chain;
    vec![
        decision(scope, "eq", format!("{}-tap FIR", c.eq.taps), &c.eq.reason),
        decision(
            scope,
            "width",
            format!(
                "side {} dB",
                sheen_report::num::signed(c.width.side_change_db, 1)
            ),
            &c.width.reason,
        ),
        decision(
            scope,
            "dynamics",
            if c.dynamics.compressor.is_some() {
                "compressor".into()
            } else {
                "none".into()
            },
            &c.dynamics.reason,
        ),
        decision(
            scope,
            "loudness",
            format!(
                "target {} LUFS, gain {} dB",
                fmt(c.loudness.target_lufs, 2),
                sheen_report::num::signed(c.loudness.gain_db, 2)
            ),
            &c.loudness.reason,
        ),
        decision(scope, "limiter", String::new(), &c.limiter.reason),
    ]
}

fn match_deliverable(name: &str, r: &MatchReport) -> Deliverable {
    Deliverable {
        name: name.to_string(),
        file: r.output.clone(),
        target_lufs: Some(r.target_lufs),
        tolerance_lu: crate::mastering::verify::LOUDNESS_TOLERANCE_LU,
        ceiling_dbtp: Some(r.ceiling_dbtp),
        integrated_lufs: r.after.integrated_lufs,
        true_peak_dbtp: r.after.true_peak_dbtp,
        loudness_range_lu: r.after.loudness_range_lu,
        plr_db: match (r.after.true_peak_dbtp, r.after.integrated_lufs) {
            (Some(t), Some(i)) => Some(t - i),
            _ => None,
        },
        pass: r.pass,
    }
}

/// The report of a reference match (`sheen match`, `sheen master
/// --reference`): before, after and each reference.
pub fn match_data(
    r: &MatchReport,
    input: &Path,
    references: &[PathBuf],
    excerpts: bool,
) -> Result<ReportData, Error> {
    let before = measure(input, "before", Role::Before)?;
    let after = measure(Path::new(&r.output), "matched", Role::After)?;
    let mut signals = vec![before, after];
    for (k, p) in references.iter().enumerate() {
        let label = if references.len() == 1 {
            "reference".to_string()
        } else {
            format!("reference {}", k + 1)
        };
        signals.push(measure(p, &label, Role::Reference)?);
    }
    let ex = if excerpts {
        vec![excerpt(
            "matched",
            input,
            &signals[0],
            Path::new(&r.output),
        )?]
    } else {
        Vec::new()
    };
    Ok(ReportData {
        title: format!("sheen match: {}", r.input),
        summary: vec![
            format!(
                "references: {}",
                r.chain
                    .references
                    .iter()
                    .map(|(p, w)| format!("{p} (weight {})", fmt(*w, 2)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            format!(
                "mean band difference to the reference after matching: {} dB",
                fmt(r.match_error_db, 2)
            ),
        ],
        generated_at: None,
        generator: generator(),
        signals,
        deliverables: vec![match_deliverable("matched", r)],
        decisions: match_decisions("matched", r),
        excerpts: ex,
        warnings: r.warnings.clone(),
    })
}

/// The report of an album job: every song before and after.
pub fn album_data(
    r: &AlbumReport,
    reference: Option<&Path>,
    excerpts: bool,
) -> Result<ReportData, Error> {
    let mut signals = Vec::new();
    let mut out = Vec::new();
    let mut decisions = Vec::new();
    let mut ex = Vec::new();
    for (k, song) in r.songs.iter().enumerate() {
        let name = format!("song {}", k + 1);
        let before = measure(
            Path::new(&song.input),
            &format!("{name} before"),
            Role::Before,
        )?;
        let after = measure(Path::new(&song.output), &name, Role::After)?;
        out.push(match_deliverable(&name, song));
        decisions.extend(match_decisions(&name, song));
        if excerpts && ex.len() < MAX_EXCERPTS {
            ex.push(excerpt(
                &name,
                Path::new(&song.input),
                &before,
                Path::new(&song.output),
            )?);
        }
        signals.push(before);
        signals.push(after);
    }
    if let Some(p) = reference {
        signals.push(measure(p, "reference", Role::Reference)?);
    }
    Ok(ReportData {
        title: format!("sheen album: {} songs", r.songs.len()),
        summary: vec![format!(
            "loudest song on {} LUFS, ceiling {} dBTP, keep differences {}, tone pull {}{}",
            fmt(r.options.target_lufs, 2),
            fmt(r.options.ceiling_dbtp, 1),
            fmt(r.options.keep_differences, 2),
            fmt(r.options.tone_pull, 2),
            if r.options.gapless { ", gapless" } else { "" }
        )],
        generated_at: None,
        generator: generator(),
        signals,
        deliverables: out,
        decisions,
        excerpts: ex,
        warnings: r.warnings.clone(),
    })
}

/// The decisions of an automix, with their reasons.
pub fn automix_decisions(a: &Automix) -> Vec<Decision> {
    let mut v = Vec::new();
    for d in &a.decisions {
        let s = d.name.as_str();
        v.push(decision(
            s,
            "class",
            d.class.class.name().to_string(),
            &d.class.reason,
        ));
        if let Some(m) = &d.mute {
            v.push(decision(s, "mute", "muted".into(), m));
        }
        v.push(decision(
            s,
            "gain",
            format!("{} dB", sheen_report::num::signed(d.gain_db.value, 1)),
            &d.gain_db.reason,
        ));
        v.push(decision(s, "pan", fmt(d.pan.value, 2), &d.pan.reason));
        if let Some(h) = &d.highpass_hz {
            v.push(decision(
                s,
                "high-pass",
                format!("{} Hz", fmt(h.value, 0)),
                &h.reason,
            ));
        }
        for c in &d.cuts {
            v.push(decision(
                s,
                "eq cut",
                format!(
                    "{} dB at {} Hz",
                    sheen_report::num::signed(c.gain_db, 1),
                    fmt(c.freq_hz, 0)
                ),
                &c.reason,
            ));
        }
        if let Some(c) = &d.compressor {
            v.push(decision(
                s,
                "compressor",
                format!("{}:1 from {} dB", fmt(c.ratio, 1), fmt(c.threshold_db, 1)),
                &c.reason,
            ));
        }
        if let Some(e) = &d.deesser {
            v.push(decision(s, "de-esser", String::new(), &e.reason));
        }
        if let Some(g) = &d.gate {
            v.push(decision(s, "gate", String::new(), &g.reason));
        }
        for x in &d.sends {
            v.push(decision(
                s,
                "send",
                format!("{} {} dB", x.to, fmt(x.level_db, 0)),
                &x.reason,
            ));
        }
    }
    v
}

/// The decisions of a hand-written session: its tracks as written.
pub fn session_decisions(plan: &MixPlan) -> Vec<Decision> {
    plan.tracks
        .iter()
        .map(|t| {
            decision(
                &t.strip.name,
                "track",
                format!(
                    "{} insert{}, {} output{}{}",
                    t.strip.inserts.len(),
                    if t.strip.inserts.len() == 1 { "" } else { "s" },
                    t.strip.outputs.len(),
                    if t.strip.outputs.len() == 1 { "" } else { "s" },
                    if t.strip.mute { ", muted" } else { "" }
                ),
                &format!("as written in {}", plan.session_path.display()),
            )
        })
        .collect()
}

/// The report of a rendered mix (`sheen mix`, `sheen automix --render`):
/// the mix and, when it was mastered, the master against its target.
/// `decisions` are the session's (see [`automix_decisions`],
/// [`session_decisions`]).
pub fn mix_data(
    title: String,
    mix: &Path,
    decisions: Vec<Decision>,
    master: Option<&MasterReport>,
    excerpts: bool,
) -> Result<ReportData, Error> {
    match master {
        Some(m) => {
            let mut d = master_data(m, mix, excerpts)?;
            d.title = title;
            d.signals[0].label = "mix".into();
            let mut all = decisions;
            all.extend(d.decisions);
            d.decisions = all;
            Ok(d)
        }
        None => Ok(ReportData {
            title,
            summary: vec!["the rendered mix as measured (no mastering target given)".into()],
            generated_at: None,
            generator: generator(),
            signals: vec![measure(mix, "mix", Role::Input)?],
            deliverables: Vec::new(),
            decisions,
            excerpts: Vec::new(),
            warnings: Vec::new(),
        }),
    }
}

/// The report of plain analysis (`sheen report IN...`).
pub fn analysis_data(inputs: &[PathBuf]) -> Result<ReportData, Error> {
    let mut signals = Vec::new();
    for p in inputs {
        let label = p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().to_string(),
        );
        signals.push(measure(p, &label, Role::Input)?);
    }
    Ok(ReportData {
        title: if inputs.len() == 1 {
            format!("sheen report: {}", inputs[0].display())
        } else {
            format!("sheen report: {} files", inputs.len())
        },
        summary: vec!["analysis only: nothing was processed".into()],
        generated_at: None,
        generator: generator(),
        signals,
        ..Default::default()
    })
}

/// Renders `data` and writes it to `out` atomically, refusing to write over
/// any of `inputs`.
pub fn write_html(out: &Path, data: &ReportData, inputs: &[&Path]) -> Result<(), Error> {
    let html = sheen_report::render_html(data);
    sheen_io::write_text(out, &html, inputs)?;
    Ok(())
}
