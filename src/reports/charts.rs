//! Report charts as SVG, rendered on the server so the dashboard needs no chart library and
//! the same picture can be downloaded or mailed. Each chart is accessible on its own: `role="img"`
//! with a `<title>` and a `<desc>` that reads out every value, and visible text labels carrying
//! the values. Only presentation attributes, no `style` and no script, so a page whose
//! Content-Security-Policy allows nothing inline can inline the markup as it is.
//!
//! Every element that stands for a datum carries `data-label` and `data-value`, for the
//! dashboard's tests (and anyone scripting against the dashboard).

mod markup;
mod scale;

pub use markup::escape;
use markup::{shorten, Svg};
use scale::Scale;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 320.0;
const TOP: f64 = 44.0;
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
const INK: &str = "#1f2933";
const MUTED: &str = "#52606d";
const GRID: &str = "#d9e2ec";
const ACCENT: &str = "#1f6feb";
/// Labels longer than this are cut with an ellipsis; the full text stays in `data-label`,
/// the element's `<title>` and the chart's `<desc>`.
const MAX_LABEL_CHARS: usize = 26;
/// Average advance of a 12px system font, for laying out labels without measuring them.
const CHAR_WIDTH: f64 = 7.0;

/// How values are written on a chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueFormat {
    /// A ratio 0..1 written as a percentage (`0.125` -> `12.5%`).
    Percent,
    /// A whole number with thousands separators.
    Count,
    /// An amount with two decimals, without a currency sign (programs do not record one).
    Money,
}

impl ValueFormat {
    pub fn format(self, value: f64) -> String {
        match self {
            ValueFormat::Percent => {
                let p = format!("{:.1}", value * 100.0);
                format!("{}%", p.strip_suffix(".0").unwrap_or(&p))
            }
            ValueFormat::Count => group_thousands(&format!("{:.0}", value)),
            ValueFormat::Money => {
                let s = format!("{:.2}", value);
                match s.split_once('.') {
                    Some((whole, cents)) => format!("{}.{cents}", group_thousands(whole)),
                    None => s,
                }
            }
        }
    }
}

fn group_thousands(digits: &str) -> String {
    let (sign, digits) = match digits.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", digits),
    };
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

/// A value over time; `None` is a period with nothing to measure, drawn as a gap in the line.
pub fn line_chart(title: &str, points: &[(String, Option<f64>)], format: ValueFormat) -> String {
    let points: Vec<(&str, Option<f64>)> = points
        .iter()
        .map(|(l, v)| (l.as_str(), v.filter(|v| v.is_finite())))
        .collect();
    if points.iter().all(|(_, v)| v.is_none()) {
        return no_data(title, "line");
    }
    let desc = points
        .iter()
        .map(|(l, v)| match v {
            Some(v) => format!("{l}: {}", format.format(*v)),
            None => format!("{l}: no data"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut svg = Svg::open(title, &desc, "line");
    let (left, right, bottom) = (64.0, WIDTH - 24.0, HEIGHT - 48.0);
    let values = points.iter().filter_map(|(_, v)| *v);
    let scale = Scale::new(values, format);
    for tick in scale.ticks() {
        let y = bottom - scale.fraction(tick) * (bottom - TOP);
        svg.raw(&format!(
            r#"<line x1="{left}" y1="{y:.1}" x2="{right}" y2="{y:.1}" stroke="{GRID}" stroke-width="1"/>"#
        ));
        svg.text(
            left - 8.0,
            y + 4.0,
            "end",
            MUTED,
            "axis-label",
            &format.format(tick),
        );
    }
    let step = if points.len() > 1 {
        (right - left - 24.0) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let x_of = |i: usize| {
        if points.len() > 1 {
            left + 12.0 + step * i as f64
        } else {
            (left + right) / 2.0
        }
    };
    let y_of = |v: f64| bottom - scale.fraction(v) * (bottom - TOP);
    // One path; a gap starts a new subpath, so no line crosses a period without data.
    let mut d = String::new();
    let mut pen_down = false;
    for (i, (_, v)) in points.iter().enumerate() {
        match v {
            Some(v) => {
                let cmd = if pen_down { 'L' } else { 'M' };
                d.push_str(&format!("{cmd}{:.1},{:.1} ", x_of(i), y_of(*v)));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    svg.raw(&format!(
        r#"<path class="line" d="{}" fill="none" stroke="{ACCENT}" stroke-width="2.5" stroke-linejoin="round"/>"#,
        d.trim_end()
    ));
    // Every label and value when they fit, otherwise every n-th.
    let every = points.len().div_ceil(12).max(1);
    for (i, (label, v)) in points.iter().enumerate() {
        let x = x_of(i);
        let shown = i % every == 0 || i + 1 == points.len();
        if shown {
            svg.text(x, bottom + 20.0, "middle", MUTED, "x-label", label);
        }
        let Some(v) = v else {
            svg.raw(&format!(
                r#"<g class="gap" data-label="{}" data-value=""><title>{}: no data</title></g>"#,
                escape(label),
                escape(label)
            ));
            continue;
        };
        let value = format.format(*v);
        let y = y_of(*v);
        svg.raw(&format!(
            r#"<g class="point" data-label="{}" data-value="{}"><title>{}: {}</title><circle cx="{x:.1}" cy="{y:.1}" r="4" fill="{ACCENT}"/>"#,
            escape(label),
            escape(&value),
            escape(label),
            escape(&value)
        ));
        if shown {
            svg.text(x, y - 10.0, "middle", INK, "value", &value);
        }
        svg.raw("</g>");
    }
    svg.close()
}

/// Horizontal bars, one per label, longest first as given.
pub fn bar_chart(title: &str, bars: &[(String, f64)], format: ValueFormat) -> String {
    if bars.is_empty() {
        return no_data(title, "bars");
    }
    let bars: Vec<(&str, f64)> = bars
        .iter()
        .map(|(l, v)| (l.as_str(), if v.is_finite() { *v } else { 0.0 }))
        .collect();
    let desc = bars
        .iter()
        .map(|(l, v)| format!("{l}: {}", format.format(*v)))
        .collect::<Vec<_>>()
        .join("; ");
    let mut svg = Svg::open(title, &desc, "bars");
    let widest = bars
        .iter()
        .map(|(l, _)| shorten(l).chars().count())
        .max()
        .unwrap_or(0);
    let left = (widest as f64 * CHAR_WIDTH + 24.0).clamp(80.0, 220.0);
    let right = WIDTH - 72.0;
    let max = bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let row = ((HEIGHT - TOP - 12.0) / bars.len() as f64).min(36.0);
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = TOP + row * i as f64;
        let length = if max > 0.0 {
            (v.max(0.0) / max) * (right - left)
        } else {
            0.0
        };
        let value = format.format(*v);
        svg.raw(&format!(
            r#"<g class="bar" data-label="{}" data-value="{}"><title>{}: {}</title>"#,
            escape(label),
            escape(&value),
            escape(label),
            escape(&value)
        ));
        svg.text(
            left - 8.0,
            y + row * 0.5 + 4.0,
            "end",
            INK,
            "label",
            &shorten(label),
        );
        svg.raw(&format!(
            r#"<rect x="{left:.1}" y="{:.1}" width="{length:.1}" height="{:.1}" rx="3" fill="{ACCENT}"/>"#,
            y + row * 0.15,
            row * 0.7
        ));
        svg.text(
            left + length + 6.0,
            y + row * 0.5 + 4.0,
            "start",
            INK,
            "value",
            &value,
        );
        svg.raw("</g>");
    }
    svg.close()
}

/// Stages that each keep some of the one before (enrolled -> installed -> active -> redeemed):
/// each bar is its share of the first stage and says what it kept of the previous one.
pub fn funnel(title: &str, stages: &[(String, i64)]) -> String {
    if stages.is_empty() {
        return no_data(title, "funnel");
    }
    let first = stages[0].1.max(0);
    let desc = stages
        .iter()
        .enumerate()
        .map(|(i, (l, v))| match i.checked_sub(1).map(|p| stages[p].1) {
            Some(prev) => format!("{l}: {v} ({} of {})", kept(*v, prev), stages[i - 1].0),
            None => format!("{l}: {v}"),
        })
        .collect::<Vec<_>>()
        .join("; ");
    let mut svg = Svg::open(title, &desc, "funnel");
    let row = ((HEIGHT - TOP - 12.0) / stages.len() as f64).min(60.0);
    let (left, full) = (24.0, WIDTH - 48.0);
    let centre = left + full / 2.0;
    for (i, (label, v)) in stages.iter().enumerate() {
        let y = TOP + row * i as f64;
        let share = if first > 0 {
            (*v).clamp(0, first) as f64 / first as f64
        } else {
            0.0
        };
        // A sliver stays visible for zero, so the stage still reads as a stage.
        let width = (share * full).max(2.0);
        let count = ValueFormat::Count.format(*v as f64);
        svg.raw(&format!(
            r#"<g class="stage" data-label="{}" data-value="{}"><title>{}: {}</title>"#,
            escape(label),
            v,
            escape(label),
            escape(&count)
        ));
        svg.raw(&format!(
            r##"<rect x="{:.1}" y="{:.1}" width="{width:.1}" height="{:.1}" rx="3" fill="{ACCENT}"/>"##,
            centre - width / 2.0,
            y + row * 0.1,
            row * 0.8,
        ));
        let caption = match i.checked_sub(1) {
            Some(p) => format!(
                "{}: {count} ({} of {})",
                shorten(label),
                kept(*v, stages[p].1),
                shorten(&stages[p].0)
            ),
            None => format!("{}: {count}", shorten(label)),
        };
        // White on the bar where it is wide enough, dark beside it where it is not.
        let baseline = y + row * 0.5 + 4.0;
        if width > caption.chars().count() as f64 * CHAR_WIDTH + 16.0 {
            svg.text(centre, baseline, "middle", "#ffffff", "label", &caption);
        } else {
            let x = centre + width / 2.0 + 8.0;
            svg.text(x, baseline, "start", INK, "label", &caption);
        }
        svg.raw("</g>");
    }
    svg.close()
}

/// `part` as a percentage of `whole`, or a dash when there is no whole.
fn kept(part: i64, whole: i64) -> String {
    if whole > 0 {
        ValueFormat::Percent.format(part as f64 / whole as f64)
    } else {
        "–".to_string()
    }
}

/// The chart with nothing to draw: same size and title, and a sentence instead of marks.
fn no_data(title: &str, kind: &str) -> String {
    let mut svg = Svg::open(title, "No data for the selected period.", kind);
    svg.raw(r#"<g class="no-data" data-empty="true">"#);
    svg.text(
        WIDTH / 2.0,
        HEIGHT / 2.0,
        "middle",
        MUTED,
        "label",
        "No data for the selected period",
    );
    svg.raw("</g>");
    svg.close()
}

#[cfg(test)]
mod tests;
