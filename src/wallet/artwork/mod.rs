//! A card's artwork from one upload per image, and the default artwork drawn for a program
//! that has none.
//!
//! The marketer uploads one logo, one icon and, if they like, one strip, as PNG or JPEG of any
//! reasonable size. [`from_upload`] decodes it (with limits, so a small file claiming a huge
//! picture is refused before any pixel memory is taken), turns it upright, scales it to every
//! Apple scale (@1x, @2x, @3x) and to the image Google shows, and encodes each as a fresh PNG:
//! nothing of the uploaded file but its pixels is ever published (no text chunks, no EXIF, no
//! GPS position). [`reencoded`] does the same for a PNG uploaded for one slot exactly.
//!
//! [`drawn`] makes the images of a program without uploads: its colours, its initial and its
//! brand name, so a new program's card already looks like the brand's and not like a
//! placeholder.

mod decode;
mod drawn;
mod scale;

pub use decode::{ArtworkError, MAX_PIXELS};
pub use drawn::drawn;

use image::DynamicImage;

use crate::wallet::apple::images::{file_name, ImageKind};

/// The banner Google shows on the card (from the strip).
pub const GOOGLE_HERO: &str = "google-hero.png";
/// The round logo Google shows (from the square icon: Google masks it to a circle).
pub const GOOGLE_LOGO: &str = "google-logo.png";

/// Google's hero image: 1032 x 336 pixels is what Google's guidelines ask for.
const GOOGLE_HERO_SIZE: (u32, u32) = (1032, 336);
/// Google's logo: 660 x 660 pixels at most.
const GOOGLE_LOGO_SIDE: u32 = 660;

/// The Google image made from an upload of `kind`, if any.
pub fn google_name(kind: ImageKind) -> Option<&'static str> {
    match kind {
        ImageKind::Icon => Some(GOOGLE_LOGO),
        ImageKind::Strip => Some(GOOGLE_HERO),
        ImageKind::Logo => None,
    }
}

/// Every file an upload of `kind` makes: its three Apple scales and its Google image.
pub fn files_of(kind: ImageKind) -> Vec<String> {
    (1..=3)
        .map(|s| file_name(kind, s))
        .chain(google_name(kind).map(str::to_owned))
        .collect()
}

/// One image made from an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Made {
    /// The file name: `logo@2x.png`, `google-hero.png`, ...
    pub name: String,
    pub width: u32,
    pub height: u32,
    /// A PNG.
    pub png: Vec<u8>,
}

/// Every image `kind` needs, from one uploaded PNG or JPEG: the three Apple scales and, for
/// the icon and the strip, Google's image. Refuses with a reason a person can act on.
pub fn from_upload(kind: ImageKind, bytes: &[u8]) -> Result<Vec<Made>, ArtworkError> {
    let source = decode::decode(bytes)?;
    check_big_enough(kind, &source)?;
    let mut made = Vec::with_capacity(4);
    // The largest scale from the upload, the smaller ones from it: as sharp, far cheaper.
    let at3 = sized(kind, &source, 3)?;
    for scale in 1..=3u8 {
        let image = if scale == 3 {
            at3.clone()
        } else {
            sized(kind, &at3, scale)?
        };
        made.push(encoded(file_name(kind, scale), &image)?);
    }
    if let Some(name) = google_name(kind) {
        let image = match kind {
            ImageKind::Strip => {
                let (w, h) = GOOGLE_HERO_SIZE;
                scale::cover(&source, w, h)?
            }
            _ => {
                let side = source.width().max(source.height()).min(GOOGLE_LOGO_SIDE);
                scale::contain_square(&source, side)?
            }
        };
        made.push(encoded(name.to_owned(), &image)?);
    }
    Ok(made)
}

/// A PNG uploaded for one slot as it is, decoded and encoded again so only its pixels remain.
/// The caller has checked it fits the slot.
pub fn reencoded(bytes: &[u8]) -> Result<Vec<u8>, ArtworkError> {
    let image = decode::decode(bytes)?;
    scale::png(&image)
}

/// The other scales of `kind` made from one slot's image (`from_scale`), for the slots that
/// would otherwise keep the default while this one is the brand's.
pub fn other_scales(
    kind: ImageKind,
    from_scale: u8,
    bytes: &[u8],
) -> Result<Vec<Made>, ArtworkError> {
    let source = decode::decode(bytes)?;
    let mut made = Vec::new();
    for scale in (1..=3u8).filter(|s| *s != from_scale) {
        let w = (source.width() * u32::from(scale)).div_ceil(u32::from(from_scale));
        let h = (source.height() * u32::from(scale)).div_ceil(u32::from(from_scale));
        let image = scale::exact(&source, w.max(1), h.max(1))?;
        made.push(encoded(file_name(kind, scale), &image)?);
    }
    Ok(made)
}

fn encoded(name: String, image: &DynamicImage) -> Result<Made, ArtworkError> {
    Ok(Made {
        name,
        width: image.width(),
        height: image.height(),
        png: scale::png(image)?,
    })
}

/// The box each kind fills, in points (times the scale in pixels): the icon a square it
/// fits inside, the logo a box it fits inside, the strip a box it covers (cropped to it).
fn box_pt(kind: ImageKind) -> (u32, u32) {
    match kind {
        ImageKind::Icon => (29, 29),
        ImageKind::Logo => (160, 50),
        ImageKind::Strip => (375, 123),
    }
}

/// `image` at `scale`, for `kind`.
fn sized(kind: ImageKind, image: &DynamicImage, scale: u8) -> Result<DynamicImage, ArtworkError> {
    let (w, h) = box_pt(kind);
    let s = u32::from(scale);
    match kind {
        ImageKind::Icon => scale::contain_square(image, w * s),
        ImageKind::Logo => {
            let (fw, fh) = fit_inside(image.width(), image.height(), w * s, h * s);
            scale::exact(image, fw, fh)
        }
        ImageKind::Strip => scale::cover(image, w * s, h * s),
    }
}

/// The largest size with `width:height`'s proportions inside `max_w` x `max_h`.
fn fit_inside(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    let k = f64::min(
        f64::from(max_w) / f64::from(width),
        f64::from(max_h) / f64::from(height),
    );
    let fw = (f64::from(width) * k).round().clamp(1.0, f64::from(max_w));
    let fh = (f64::from(height) * k).round().clamp(1.0, f64::from(max_h));
    (fw as u32, fh as u32)
}

/// An upload must be big enough for the sharpest scale (@3x) without being blown up, and a
/// logo must not end up a sliver.
fn check_big_enough(kind: ImageKind, image: &DynamicImage) -> Result<(), ArtworkError> {
    let (w, h) = (image.width(), image.height());
    let (bw, bh) = box_pt(kind);
    let too_small = |need: String| ArtworkError::TooSmall {
        kind: kind.base_name(),
        width: w,
        height: h,
        need,
    };
    match kind {
        ImageKind::Icon => {
            if w.max(h) < bw * 3 {
                return Err(too_small(format!("at least {0}x{0} pixels", bw * 3)));
            }
        }
        ImageKind::Logo => {
            if w < bw * 3 && h < bh * 3 {
                return Err(too_small(format!(
                    "at least {} pixels wide or {} pixels tall",
                    bw * 3,
                    bh * 3
                )));
            }
            let (fw, fh) = fit_inside(w, h, bw, bh);
            if fw < 10 || fh < 10 {
                return Err(ArtworkError::OddShape {
                    kind: kind.base_name(),
                    width: w,
                    height: h,
                });
            }
        }
        ImageKind::Strip => {
            if w < bw * 3 || h < bh * 3 {
                return Err(too_small(format!("at least {}x{} pixels", bw * 3, bh * 3)));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
