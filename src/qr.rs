//! QR codes of links as images: SVG (inline on the landing page, and for print) and PNG.
//! Both draw the same module matrix with the 4-module quiet zone scanners need.

use qrcode::{Color, EcLevel, QrCode};

/// Modules of white border around the code, as the QR specification asks.
const QUIET_ZONE: usize = 4;

/// A QR code ready to draw: `width` modules a side (quiet zone included), dark or light.
pub struct QrMatrix {
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// The code for `text`, with medium error correction: a printed poster survives a smudge.
    pub fn new(text: &str) -> anyhow::Result<QrMatrix> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
            .map_err(|e| anyhow::anyhow!("cannot encode a QR code: {e}"))?;
        let inner = code.width();
        let width = inner + 2 * QUIET_ZONE;
        let colors = code.to_colors();
        let mut dark = vec![false; width * width];
        for y in 0..inner {
            for x in 0..inner {
                dark[(y + QUIET_ZONE) * width + x + QUIET_ZONE] =
                    colors[y * inner + x] == Color::Dark;
            }
        }
        Ok(QrMatrix { width, dark })
    }

    fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.width + x]
    }

    /// An SVG `size` pixels a side, in module units (so it scales without blur). `label` is
    /// its accessible name.
    pub fn svg(&self, size: u32, label: &str) -> String {
        let w = self.width;
        let mut path = String::new();
        for y in 0..w {
            let mut x = 0;
            while x < w {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < w && self.is_dark(x, y) {
                        x += 1;
                    }
                    path.push_str(&format!("M{start} {y}h{}v1H{start}z", x - start));
                } else {
                    x += 1;
                }
            }
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" \
             viewBox=\"0 0 {w} {w}\" shape-rendering=\"crispEdges\" role=\"img\" \
             aria-label=\"{}\"><rect width=\"{w}\" height=\"{w}\" fill=\"#fff\"/>\
             <path fill=\"#000\" d=\"{path}\"/></svg>",
            escape_attr(label)
        )
    }

    /// A greyscale PNG about `size` pixels a side: whole pixels per module, so the edges
    /// stay sharp; never smaller than one pixel per module.
    pub fn png(&self, size: u32) -> anyhow::Result<Vec<u8>> {
        let scale = (size as usize / self.width).max(1);
        let side = self.width * scale;
        let mut pixels = vec![255u8; side * side];
        for y in 0..side {
            for x in 0..side {
                if self.is_dark(x / scale, y / scale) {
                    pixels[y * side + x] = 0;
                }
            }
        }
        let side = u32::try_from(side)?;
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        let mut writer = encoder.write_header()?;
        writer.write_image_data(&pixels)?;
        writer.finish()?;
        Ok(out)
    }
}

fn escape_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_and_svg_have_the_asked_size_and_a_quiet_zone() {
        let qr = QrMatrix::new("https://cards.example.com/c/abcdefgh").unwrap();
        let png = qr.png(300).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert!(info.width <= 300 && info.width > 250, "{}", info.width);
        assert!(!qr.is_dark(0, 0) && !qr.is_dark(3, 3) && qr.is_dark(4, 4));
        let svg = qr.svg(200, "Scan \"me\"");
        assert!(svg.starts_with("<svg ") && svg.contains("width=\"200\""));
        assert!(svg.contains("aria-label=\"Scan &quot;me&quot;\""));
    }
}
