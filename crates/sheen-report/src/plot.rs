//! The report's charts: SVG drawn with `plotters` (SVG backend), text laid
//! out with the bundled font through plotters' `ab_glyph` feature (no system
//! fonts, no fontconfig).
//!
//! Each chart is a complete `<svg>` element. Coordinates are integer pixels
//! and every label is formatted by [`crate::num`], so the same data gives
//! the same bytes.

use crate::num;
use crate::{Role, Signal};
use plotters::prelude::*;
use std::sync::Once;

/// The font family the charts and the page use (the bundled font).
pub const FAMILY: &str = "SheenSans";

/// The bundled font: DejaVu Sans, cut down (see `assets/subset-font.sh`).
pub const FONT_TTF: &[u8] = include_bytes!("../assets/SheenSans.ttf");

/// Chart width and height, px.
pub const WIDTH: u32 = 1040;
pub const HEIGHT: u32 = 340;

/// Most points drawn per line (longer series are reduced per pixel bucket).
pub const MAX_POINTS: usize = 1200;

static FONT: Once = Once::new();

/// Registers the bundled font with plotters (once per process) under
/// [`FAMILY`] and `sans-serif` (plotters' default family).
pub fn register_font() {
    FONT.call_once(|| {
        for name in [FAMILY, "sans-serif"] {
            // the bundled font is a valid TrueType file (checked by a test)
            let _ = plotters::style::register_font(name, FontStyle::Normal, FONT_TTF);
        }
    });
}

const BEFORE: RGBColor = RGBColor(120, 120, 120);
const REFERENCE: RGBColor = RGBColor(200, 40, 40);
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 110, 180),
    RGBColor(30, 150, 60),
    RGBColor(230, 120, 0),
    RGBColor(140, 90, 190),
    RGBColor(20, 170, 190),
    RGBColor(140, 86, 75),
];

/// The colour of each signal, in order: before grey, reference red, the
/// others from a fixed palette.
pub fn colours(signals: &[Signal]) -> Vec<RGBColor> {
    let mut k = 0;
    signals
        .iter()
        .map(|s| match s.role {
            Role::Before => BEFORE,
            Role::Reference => REFERENCE,
            Role::After | Role::Input => {
                let c = PALETTE[k % PALETTE.len()];
                k += 1;
                c
            }
        })
        .collect()
}

/// CSS `#rrggbb` of a colour.
pub fn css(c: RGBColor) -> String {
    format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2)
}

/// Reduces `pts` (sorted by x) to at most `max` points: consecutive points
/// are grouped into equal buckets and each bucket keeps its point of largest
/// (`keep_max`) or its mean y at its mean x.
pub fn reduce(pts: &[(f64, f64)], max: usize, keep_max: bool) -> Vec<(f64, f64)> {
    if pts.len() <= max || max == 0 {
        return pts.to_vec();
    }
    let per = pts.len().div_ceil(max);
    pts.chunks(per)
        .map(|c| {
            if keep_max {
                *c.iter()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .expect("chunks are not empty")
            } else {
                let n = c.len() as f64;
                (
                    c.iter().map(|p| p.0).sum::<f64>() / n,
                    c.iter().map(|p| p.1).sum::<f64>() / n,
                )
            }
        })
        .collect()
}

/// A line to draw.
struct Line {
    label: String,
    colour: RGBColor,
    width: u32,
    dashed: bool,
    points: Vec<(f64, f64)>,
}

struct Axes<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x: (f64, f64),
    y: (f64, f64),
    log_x: bool,
    x_fmt: &'a dyn Fn(&f64) -> String,
    y_fmt: &'a dyn Fn(&f64) -> String,
    legend: SeriesLabelPosition,
}

fn clamp_points(pts: &[(f64, f64)], y: (f64, f64)) -> Vec<(f64, f64)> {
    pts.iter().map(|&(a, b)| (a, b.clamp(y.0, y.1))).collect()
}

macro_rules! draw_lines {
    ($chart:expr, $lines:expr, $y:expr) => {{
        for l in $lines {
            let style = l.colour.stroke_width(l.width);
            let pts = clamp_points(&l.points, $y);
            let anno = if l.dashed {
                $chart
                    .draw_series(DashedLineSeries::new(pts, 6, 4, style))
                    .map_err(|e| e.to_string())?
            } else {
                $chart
                    .draw_series(LineSeries::new(pts, style))
                    .map_err(|e| e.to_string())?
            };
            if !l.label.is_empty() {
                let c = l.colour;
                let w = l.width;
                anno.label(l.label.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(w))
                });
            }
        }
    }};
}

/// Mesh, lines and legend of a built chart (the same for linear and
/// log-frequency axes, whose coordinate types differ).
macro_rules! draw_chart {
    ($chart:expr, $axes:expr, $lines:expr, $label:expr, $desc:expr) => {{
        $chart
            .configure_mesh()
            .x_desc($axes.x_desc)
            .y_desc($axes.y_desc)
            .label_style($label)
            .axis_desc_style($desc)
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .x_label_formatter($axes.x_fmt)
            .y_label_formatter($axes.y_fmt)
            .draw()
            .map_err(|e| e.to_string())?;
        draw_lines!($chart, $lines, $axes.y);
        $chart
            .configure_series_labels()
            .position($axes.legend.clone())
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .label_font((FAMILY, 13).into_font())
            .draw()
            .map_err(|e| e.to_string())?;
    }};
}

fn draw(axes: &Axes<'_>, lines: &[Line]) -> Result<String, String> {
    register_font();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let label = (FAMILY, 13).into_font().color(&RGBColor(60, 60, 60));
        let desc = (FAMILY, 14).into_font().color(&RGBColor(40, 40, 40));
        let mut builder = ChartBuilder::on(&root);
        builder
            .margin(14)
            .caption(axes.title, (FAMILY, 18).into_font())
            .x_label_area_size(44)
            .y_label_area_size(64);
        if axes.log_x {
            let mut chart = builder
                .build_cartesian_2d((axes.x.0..axes.x.1).log_scale(), axes.y.0..axes.y.1)
                .map_err(|e| e.to_string())?;
            draw_chart!(chart, axes, lines, label, desc);
        } else {
            let mut chart = builder
                .build_cartesian_2d(axes.x.0..axes.x.1, axes.y.0..axes.y.1)
                .map_err(|e| e.to_string())?;
            draw_chart!(chart, axes, lines, label, desc);
        }
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(svg)
}

fn or_note(r: Result<String, String>) -> String {
    r.unwrap_or_else(|e| {
        format!(
            "<p class=\"note\">chart not drawn: {}</p>",
            crate::html::esc(&e)
        )
    })
}

fn time_axis(signals: &[Signal]) -> (f64, f64) {
    let end = signals.iter().map(|s| s.duration_s).fold(0.0, f64::max);
    (0.0, end.max(1.0))
}

fn time_label(duration_s: f64) -> impl Fn(&f64) -> String {
    move |t: &f64| {
        if duration_s >= 120.0 {
            let s = t.max(0.0).round() as i64;
            format!("{}:{:02}", s / 60, s % 60)
        } else {
            num::hz(*t)
        }
    }
}

/// Which loudness series to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoudnessKind {
    /// 400 ms windows.
    Momentary,
    /// 3 s windows.
    ShortTerm,
}

/// Loudness over time of every signal (`kind`), with a dashed line at each
/// `(label, lufs)` target.
pub fn loudness_chart(signals: &[Signal], kind: LoudnessKind, targets: &[(String, f64)]) -> String {
    let cols = colours(signals);
    let mut lines = Vec::new();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (s, &c) in signals.iter().zip(&cols) {
        let series = match kind {
            LoudnessKind::Momentary => &s.momentary,
            LoudnessKind::ShortTerm => &s.short_term,
        };
        let pts: Vec<(f64, f64)> = series.iter().map(|p| (p[0], p[1])).collect();
        for p in &pts {
            lo = lo.min(p.1);
            hi = hi.max(p.1);
        }
        lines.push(Line {
            label: s.label.clone(),
            colour: c,
            width: if kind == LoudnessKind::ShortTerm {
                2
            } else {
                1
            },
            dashed: s.role == Role::Reference,
            points: reduce(&pts, MAX_POINTS, true),
        });
    }
    let (x0, x1) = time_axis(signals);
    for (label, lufs) in targets {
        lo = lo.min(*lufs);
        hi = hi.max(*lufs);
        lines.push(Line {
            label: format!("target {label} {} LUFS", num::fixed(*lufs, 1)),
            colour: RGBColor(0, 0, 0),
            width: 1,
            dashed: true,
            points: vec![(x0, *lufs), (x1, *lufs)],
        });
    }
    if !lo.is_finite() {
        lo = -40.0;
        hi = -10.0;
    }
    let top = (hi / 5.0).ceil() * 5.0 + 2.0;
    let bottom = ((lo / 5.0).floor() * 5.0).max(top - 42.0);
    let title = match kind {
        LoudnessKind::Momentary => "Momentary loudness (400 ms window), LUFS",
        LoudnessKind::ShortTerm => "Short-term loudness (3 s window), LUFS",
    };
    let x_fmt = time_label(x1);
    or_note(draw(
        &Axes {
            title,
            x_desc: if x1 >= 120.0 {
                "time (m:ss)"
            } else {
                "time (s)"
            },
            y_desc: "LUFS",
            x: (x0, x1),
            y: (bottom, top),
            log_x: false,
            x_fmt: &x_fmt,
            y_fmt: &|v| num::fixed(*v, 0),
            legend: SeriesLabelPosition::LowerRight,
        },
        &lines,
    ))
}

/// The 1/3-octave mid spectrum of every signal, each relative to its own
/// integrated loudness (dB re LUFS) so that shapes compare.
pub fn spectrum_chart(signals: &[Signal]) -> String {
    let cols = colours(signals);
    let mut lines = Vec::new();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (s, &c) in signals.iter().zip(&cols) {
        let Some(i) = s.integrated_lufs else { continue };
        let pts: Vec<(f64, f64)> = s
            .spectrum_mid
            .iter()
            .filter(|p| (20.0..=20_000.0).contains(&p[0]))
            .map(|p| (p[0], p[1] - i))
            .collect();
        for p in &pts {
            lo = lo.min(p.1);
            hi = hi.max(p.1);
        }
        lines.push(Line {
            label: s.label.clone(),
            colour: c,
            width: 2,
            dashed: s.role == Role::Reference,
            points: pts,
        });
    }
    if !lo.is_finite() {
        lo = -40.0;
        hi = 0.0;
    }
    let top = (hi / 5.0).ceil() * 5.0 + 3.0;
    let bottom = ((lo / 5.0).floor() * 5.0).max(top - 60.0);
    or_note(draw(
        &Axes {
            title: "Spectrum of the mid signal (1/3 octave), dB relative to integrated loudness",
            x_desc: "frequency (Hz)",
            y_desc: "dB re LUFS",
            x: (20.0, 20_000.0),
            y: (bottom, top),
            log_x: true,
            x_fmt: &|v| num::hz(*v),
            y_fmt: &|v| num::fixed(*v, 0),
            legend: SeriesLabelPosition::LowerLeft,
        },
        &lines,
    ))
}

/// Which stereo series to draw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StereoKind {
    /// L/R correlation, −1…1.
    Correlation,
    /// Side/mid energy ratio, dB.
    SideToMid,
}

/// The stereo image over time of every stereo signal.
pub fn stereo_chart(signals: &[Signal], kind: StereoKind) -> String {
    let cols = colours(signals);
    let mut lines = Vec::new();
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for (s, &c) in signals.iter().zip(&cols) {
        let pts: Vec<(f64, f64)> = s
            .stereo
            .iter()
            .filter_map(|p| {
                let v = match kind {
                    StereoKind::Correlation => p.correlation,
                    StereoKind::SideToMid => p.side_to_mid_db,
                }?;
                Some((p.time_s, v))
            })
            .collect();
        if pts.is_empty() {
            continue;
        }
        for p in &pts {
            lo = lo.min(p.1);
            hi = hi.max(p.1);
        }
        lines.push(Line {
            label: s.label.clone(),
            colour: c,
            width: 1,
            dashed: s.role == Role::Reference,
            points: reduce(&pts, MAX_POINTS, false),
        });
    }
    let (x0, x1) = time_axis(signals);
    let x_fmt = time_label(x1);
    let (title, y_desc, y) = match kind {
        StereoKind::Correlation => (
            "Stereo correlation of L and R (400 ms windows): +1 mono, 0 wide, below 0 out of phase",
            "correlation",
            (-1.0, 1.0),
        ),
        StereoKind::SideToMid => {
            if !lo.is_finite() {
                lo = -30.0;
                hi = 0.0;
            }
            let top = ((hi / 5.0).ceil() * 5.0 + 2.0).min(10.0);
            let bottom = ((lo / 5.0).floor() * 5.0).max(top - 40.0);
            (
                "Width: side level relative to mid (400 ms windows), dB",
                "side − mid (dB)",
                (bottom, top),
            )
        }
    };
    let y_fmt = move |v: &f64| match kind {
        StereoKind::Correlation => num::fixed(*v, 1),
        StereoKind::SideToMid => num::fixed(*v, 0),
    };
    or_note(draw(
        &Axes {
            title,
            x_desc: if x1 >= 120.0 {
                "time (m:ss)"
            } else {
                "time (s)"
            },
            y_desc,
            x: (x0, x1),
            y,
            log_x: false,
            x_fmt: &x_fmt,
            y_fmt: &y_fmt,
            legend: SeriesLabelPosition::LowerRight,
        },
        &lines,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference: the bucket rule in [`reduce`]'s docs.
    #[test]
    fn reduce_keeps_maxima_or_means() {
        let pts: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, (i % 3) as f64)).collect();
        assert_eq!(reduce(&pts, 20, true), pts);
        let r = reduce(&pts, 5, true);
        assert_eq!(
            r,
            vec![(1.0, 1.0), (2.0, 2.0), (5.0, 2.0), (7.0, 1.0), (8.0, 2.0)]
        );
        let m = reduce(&pts, 5, false);
        assert_eq!(m[0], (0.5, 0.5));
    }

    /// Reference: ab_glyph parses the bundled TrueType file (plotters needs
    /// it to lay out text), and plotters draws an SVG with it.
    #[test]
    fn font_parses_and_chart_draws() {
        assert!(plotters::style::register_font("check", FontStyle::Normal, FONT_TTF).is_ok());
        let svg = loudness_chart(&[], LoudnessKind::ShortTerm, &[("x".into(), -14.0)]);
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("font-family=\"SheenSans\""), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
    }
}
