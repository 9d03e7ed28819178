//! Writing the SVG: the accessible head and tail, text elements, and escaping.

use sha2::{Digest, Sha256};

use super::{FONT, HEIGHT, INK, MAX_LABEL_CHARS, WIDTH};

/// A label short enough to sit beside a bar; the full text stays in `data-label` and `<desc>`.
pub(super) fn shorten(label: &str) -> String {
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

/// The markup being built; `open` writes the accessible head, `close` the tail.
pub(super) struct Svg {
    out: String,
}

impl Svg {
    pub(super) fn open(title: &str, desc: &str, kind: &str) -> Svg {
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

    pub(super) fn raw(&mut self, markup: &str) {
        self.out.push_str(markup);
    }

    pub(super) fn text(
        &mut self,
        x: f64,
        y: f64,
        anchor: &str,
        fill: &str,
        class: &str,
        text: &str,
    ) {
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

    pub(super) fn close(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}
