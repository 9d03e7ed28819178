//! Report charts as SVG, rendered on the server so the dashboard needs no chart library and
//! the same picture can be downloaded or mailed. Each chart is accessible on its own: `role="img"`
//! with a `<title>` and a `<desc>` that reads out every value, and visible text labels carrying
//! the values. Only presentation attributes, no `style` and no script, so a page whose
//! Content-Security-Policy allows nothing inline can inline the markup as it is.
//!
//! Every element that stands for a datum carries `data-label` and `data-value`, for the
//! dashboard's tests (and anyone scripting against the dashboard).

use sha2::{Digest, Sha256};

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

fn shorten(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let cut: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    format!("{}…", cut.trim_end())
}

/// Text for XML content and attribute values. Characters XML 1.0 cannot carry at all
/// (most C0 controls) are dropped rather than escaped: `&#1;` is not well-formed either.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The value axis: from zero (or below, for negative values) to a round number above the
/// largest value.
struct Scale {
    low: f64,
    high: f64,
    step: f64,
}

impl Scale {
    fn new(values: impl Iterator<Item = f64>, format: ValueFormat) -> Scale {
        let (mut low, mut high) = (0.0_f64, 0.0_f64);
        for v in values {
            low = low.min(v);
            high = high.max(v);
        }
        if high <= low {
            high = low
                + if format == ValueFormat::Percent {
                    1.0
                } else {
                    1.0_f64.max(low.abs())
                };
        }
        let step = nice_step((high - low) / 4.0);
        Scale {
            low: (low / step).floor() * step,
            high: (high / step).ceil() * step,
            step,
        }
    }

    fn fraction(&self, v: f64) -> f64 {
        (v - self.low) / (self.high - self.low)
    }

    fn ticks(&self) -> Vec<f64> {
        let n = ((self.high - self.low) / self.step).round() as i64;
        (0..=n).map(|i| self.low + self.step * i as f64).collect()
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let m = raw / magnitude;
    let nice = if m <= 1.0 {
        1.0
    } else if m <= 2.0 {
        2.0
    } else if m <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// The markup being built; `open` writes the accessible head, `close` the tail.
struct Svg {
    out: String,
}

impl Svg {
    fn open(title: &str, desc: &str, kind: &str) -> Svg {
        // Ids unique per chart content, so several charts can be inlined into one page.
        let digest = Sha256::digest(format!("{kind}\u{0}{title}\u{0}{desc}").as_bytes());
        let id = format!("chart-{}", hex::encode(&digest[..5]));
        let mut out = format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="{id}-title {id}-desc" font-family="{}" font-size="12">"#,
            escape(FONT)
        );
        out.push_str(&format!(
            r#"<title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>"#,
            escape(title),
            escape(desc)
        ));
        out.push_str(&format!(
            r##"<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>"##
        ));
        let mut svg = Svg { out };
        svg.text(16.0, 26.0, "start", INK, "chart-title", title);
        svg
    }

    fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    fn text(&mut self, x: f64, y: f64, anchor: &str, fill: &str, class: &str, text: &str) {
        let weight = if class == "chart-title" {
            r#" font-size="15" font-weight="600""#
        } else {
            ""
        };
        self.out.push_str(&format!(
            r#"<text class="{class}" x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" fill="{fill}"{weight}>{}</text>"#,
            escape(text)
        ));
    }

    fn close(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

#[cfg(test)]
mod tests;
