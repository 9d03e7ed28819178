//! The images of a program that has uploaded none: drawn in its own colours, with its
//! initial and its brand name, so the first card a marketer sees is already theirs.
//!
//! - icon: a rounded square in the card's background colour holding the initial;
//! - logo: a disc in the text colour holding the initial, then the brand name (just the disc
//!   when the design sets its own logo text, which Wallet shows beside the logo);
//! - strip: the background colour as a soft diagonal light, the brand name large and faint at
//!   its right, where the primary field (on the left) does not go;
//! - Google's logo and hero: the same at Google's sizes.
//!
//! Text is drawn with DejaVu Sans Bold (`assets/fonts`), and only in the scripts that need no
//! shaping (Latin, Greek, Cyrillic); a brand name in any other script is left out rather than
//! drawn wrongly, and the colours carry the card.

use std::sync::LazyLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use image::{DynamicImage, Rgba, RgbaImage};

use super::{scale, ArtworkError, GOOGLE_HERO, GOOGLE_HERO_SIZE, GOOGLE_LOGO, GOOGLE_LOGO_SIDE};
use crate::domain::color::Rgb;
use crate::domain::program::Colors;
use crate::wallet::apple::images::{file_name, ImageKind};

static FONT: LazyLock<Option<FontRef<'static>>> = LazyLock::new(|| {
    FontRef::try_from_slice(include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf")).ok()
});

/// Every default image of a program: the nine pass images and Google's two, as PNGs.
/// `name_in_logo`: draw the brand name in the logo (false when Wallet shows a logo text).
pub fn drawn(
    colors: &Colors,
    brand: &str,
    name_in_logo: bool,
) -> Result<Vec<(String, Vec<u8>)>, ArtworkError> {
    let font = FONT.as_ref();
    let brand = brand.trim();
    let drawable = font.is_some_and(|f| can_draw(f, brand));
    let initial = brand
        .chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect::<String>())
        .filter(|i| font.is_some_and(|f| can_draw(f, i)));
    let name = drawable.then_some(brand).filter(|b| !b.is_empty());
    let mut files = Vec::with_capacity(11);
    for s in 1..=3u32 {
        let icon = badge(colors, initial.as_deref(), 29 * s, true);
        files.push((file_name(ImageKind::Icon, s as u8), scale::png(&icon)?));
        let logo = logo(colors, initial.as_deref(), name.filter(|_| name_in_logo), s);
        files.push((file_name(ImageKind::Logo, s as u8), scale::png(&logo)?));
        let strip = strip(colors, name, 375 * s, 123 * s);
        files.push((file_name(ImageKind::Strip, s as u8), scale::png(&strip)?));
    }
    let google_logo = badge(colors, initial.as_deref(), GOOGLE_LOGO_SIDE, false);
    files.push((GOOGLE_LOGO.to_owned(), scale::png(&google_logo)?));
    let (w, h) = GOOGLE_HERO_SIZE;
    files.push((
        GOOGLE_HERO.to_owned(),
        scale::png(&strip(colors, name, w, h))?,
    ));
    Ok(files)
}

/// Only scripts drawn right without shaping: Latin, Greek, Cyrillic and their punctuation,
/// each character in the font.
fn can_draw(font: &FontRef<'_>, text: &str) -> bool {
    text.chars().all(|c| {
        c.is_whitespace()
            || ((c as u32) < 0x0530 || ('\u{2000}'..='\u{20CF}').contains(&c))
                && font.glyph_id(c).0 != 0
    })
}

fn rgba(c: &Rgb, alpha: f32) -> [f32; 4] {
    [f32::from(c.0), f32::from(c.1), f32::from(c.2), alpha]
}

/// `colour` laid over the pixel at `coverage` (0 to 1).
fn blend(image: &mut RgbaImage, x: u32, y: u32, colour: [f32; 4], coverage: f32) {
    let a = (colour[3] * coverage).clamp(0.0, 1.0);
    if a <= 0.0 {
        return;
    }
    let p = image.get_pixel_mut(x, y);
    let below = f32::from(p.0[3]) / 255.0;
    let out = a + below * (1.0 - a);
    for (channel, c) in p.0.iter_mut().zip(colour).take(3) {
        let mixed = (c * a + f32::from(*channel) * below * (1.0 - a)) / out.max(1e-6);
        *channel = mixed.round().clamp(0.0, 255.0) as u8;
    }
    p.0[3] = (out * 255.0).round() as u8;
}

/// A filled rounded rectangle (radius `r`), its edge anti-aliased.
fn rounded_rect(image: &mut RgbaImage, rect: (f32, f32, f32, f32), r: f32, colour: [f32; 4]) {
    let (x0, y0, x1, y1) = rect;
    for y in 0..image.height() {
        for x in 0..image.width() {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let cx = px.clamp(x0 + r, x1 - r);
            let cy = py.clamp(y0 + r, y1 - r);
            let outside = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() - r;
            let edge = (px - x0).min(x1 - px).min(py - y0).min(y1 - py);
            let coverage = (0.5 - outside).clamp(0.0, 1.0) * (edge + 0.5).clamp(0.0, 1.0);
            blend(image, x, y, colour, coverage);
        }
    }
}

/// `text` at `size` pixels with its left edge at `x` and its capitals centred on `mid_y`.
fn text(image: &mut RgbaImage, text: &str, size: f32, x: f32, mid_y: f32, colour: [f32; 4]) {
    let Some(font) = FONT.as_ref() else { return };
    let scaled = font.as_scaled(PxScale::from(size));
    let cap = font
        .outline_glyph(scaled.scaled_glyph('H'))
        .map_or(size * 0.7, |g| g.px_bounds().height());
    let baseline = mid_y + cap / 2.0;
    let mut pen = x;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            pen += scaled.kern(prev, id);
        }
        let glyph = id.with_scale_and_position(size, ab_glyph::point(pen, baseline));
        pen += scaled.h_advance(id);
        last = Some(id);
        if let Some(outline) = font.outline_glyph(glyph) {
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                if px >= 0 && py >= 0 && (px as u32) < image.width() && (py as u32) < image.height()
                {
                    blend(image, px as u32, py as u32, colour, coverage);
                }
            });
        }
    }
}

fn text_width(text: &str, size: f32) -> f32 {
    let Some(font) = FONT.as_ref() else {
        return 0.0;
    };
    let scaled = font.as_scaled(PxScale::from(size));
    let mut width = 0.0;
    let mut last = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(prev) = last {
            width += scaled.kern(prev, id);
        }
        width += scaled.h_advance(id);
        last = Some(id);
    }
    width
}

/// The square icon: the background colour with the initial in the text colour. `rounded`:
/// Apple's rounded corners (Google masks its logo to a circle itself).
fn badge(colors: &Colors, initial: Option<&str>, side: u32, rounded: bool) -> DynamicImage {
    let mut image = RgbaImage::from_pixel(side, side, Rgba([0, 0, 0, 0]));
    let s = side as f32;
    let radius = if rounded { s * 0.225 } else { 0.0 };
    rounded_rect(
        &mut image,
        (0.0, 0.0, s, s),
        radius,
        rgba(&colors.background, 1.0),
    );
    if let Some(initial) = initial {
        let size = s * 0.62;
        let x = (s - text_width(initial, size)) / 2.0;
        text(
            &mut image,
            initial,
            size,
            x,
            s / 2.0,
            rgba(&colors.foreground, 1.0),
        );
    }
    DynamicImage::ImageRgba8(image)
}

/// The logo at scale `s`: a disc with the initial, then the brand name when given.
fn logo(colors: &Colors, initial: Option<&str>, name: Option<&str>, s: u32) -> DynamicImage {
    let sf = s as f32;
    let (height, disc, gap) = (50.0 * sf, 34.0 * sf, 8.0 * sf);
    let max_width = 160.0 * sf;
    let name = name.map(|n| fitted(n, max_width - disc - gap, 17.0 * sf, 11.0 * sf));
    let width = match &name {
        Some((n, size)) => (disc + gap + text_width(n, *size)).min(max_width).ceil(),
        None => disc.ceil(),
    };
    let mut image = RgbaImage::from_pixel(width as u32, height as u32, Rgba([0, 0, 0, 0]));
    let top = (height - disc) / 2.0;
    rounded_rect(
        &mut image,
        (0.0, top, disc, top + disc),
        disc / 2.0,
        rgba(&colors.foreground, 1.0),
    );
    if let Some(initial) = initial {
        let size = disc * 0.58;
        let x = (disc - text_width(initial, size)) / 2.0;
        text(
            &mut image,
            initial,
            size,
            x,
            height / 2.0,
            rgba(&colors.background, 1.0),
        );
    }
    if let Some((name, size)) = name {
        text(
            &mut image,
            &name,
            size,
            disc + gap,
            height / 2.0,
            rgba(&colors.foreground, 1.0),
        );
    }
    DynamicImage::ImageRgba8(image)
}

/// `text` at the largest size from `start` down to `min` that fits `width`, else cut short
/// with an ellipsis at `min`.
fn fitted(text: &str, width: f32, start: f32, min: f32) -> (String, f32) {
    let mut size = start;
    while size > min {
        if text_width(text, size) <= width {
            return (text.to_owned(), size);
        }
        size -= 0.5;
    }
    let mut cut: Vec<char> = text.chars().collect();
    while !cut.is_empty() {
        let candidate = format!("{}…", cut.iter().collect::<String>().trim_end());
        if text_width(&candidate, min) <= width {
            return (candidate, min);
        }
        cut.pop();
    }
    (String::new(), min)
}

/// The strip: a diagonal light over the background colour and the brand name, faint, at
/// the right.
fn strip(colors: &Colors, name: Option<&str>, width: u32, height: u32) -> DynamicImage {
    let bg = rgba(&colors.background, 1.0);
    let (w, h) = (width as f32, height as f32);
    let mut image = RgbaImage::new(width, height);
    for (x, y, p) in image.enumerate_pixels_mut() {
        // From 10 % lighter at the top left to 10 % darker at the bottom right.
        let t = (x as f32 / w + y as f32 / h) / 2.0;
        let shade = 0.10 - 0.20 * t;
        for (channel, c) in p.0.iter_mut().zip(bg).take(3) {
            let v = if shade >= 0.0 {
                c + (255.0 - c) * shade
            } else {
                c * (1.0 + shade)
            };
            *channel = v.round().clamp(0.0, 255.0) as u8;
        }
        p.0[3] = 255;
    }
    if let Some(name) = name {
        let (fitted_name, size) = fitted(name, w * 0.55, h * 0.42, h * 0.16);
        let x = w - h * 0.12 - text_width(&fitted_name, size);
        text(
            &mut image,
            &fitted_name,
            size,
            x,
            h * 0.72,
            rgba(&colors.foreground, 0.16),
        );
    }
    DynamicImage::ImageRgba8(image)
}
