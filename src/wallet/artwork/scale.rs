//! Scaling with Lanczos3, weighing colours by alpha (so transparent edges keep no dark halo),
//! and encoding the result as a PNG that carries pixels and nothing else.

use std::borrow::Cow;

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{CompressionType, PngEncoder};
use image::{DynamicImage, ImageEncoder, RgbaImage};

use super::ArtworkError;

/// `image` as 8-bit RGB or RGBA: what the resizer and the encoder take.
fn eight_bit(image: &DynamicImage) -> Cow<'_, DynamicImage> {
    match image {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => Cow::Borrowed(image),
        other if other.color().has_alpha() => {
            Cow::Owned(DynamicImage::ImageRgba8(other.to_rgba8()))
        }
        other => Cow::Owned(DynamicImage::ImageRgb8(other.to_rgb8())),
    }
}

fn resize(
    image: &DynamicImage,
    width: u32,
    height: u32,
    crop_to_fit: bool,
) -> Result<DynamicImage, ArtworkError> {
    let source = eight_bit(image);
    let mut target = match source.as_ref() {
        DynamicImage::ImageRgba8(_) => DynamicImage::new_rgba8(width, height),
        _ => DynamicImage::new_rgb8(width, height),
    };
    if (width, height) == (source.width(), source.height()) && !crop_to_fit {
        return Ok(source.into_owned());
    }
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if crop_to_fit {
        options = options.fit_into_destination(None);
    }
    Resizer::new()
        .resize(source.as_ref(), &mut target, &options)
        .map_err(|e| ArtworkError::Encoding {
            detail: e.to_string(),
        })?;
    Ok(target)
}

/// `image` scaled to exactly `width` x `height`.
pub(super) fn exact(
    image: &DynamicImage,
    width: u32,
    height: u32,
) -> Result<DynamicImage, ArtworkError> {
    resize(image, width, height, false)
}

/// `image` covering `width` x `height`: scaled to fill it and cropped around the centre.
pub(super) fn cover(
    image: &DynamicImage,
    width: u32,
    height: u32,
) -> Result<DynamicImage, ArtworkError> {
    resize(image, width, height, true)
}

/// `image` inside a `side` x `side` square, whole, centred on transparency when it is not
/// square itself.
pub(super) fn contain_square(
    image: &DynamicImage,
    side: u32,
) -> Result<DynamicImage, ArtworkError> {
    let (w, h) = (image.width().max(1), image.height().max(1));
    let long = w.max(h);
    let fw = (u64::from(w) * u64::from(side) / u64::from(long)).max(1) as u32;
    let fh = (u64::from(h) * u64::from(side) / u64::from(long)).max(1) as u32;
    let scaled = exact(image, fw, fh)?;
    if fw == side && fh == side {
        return Ok(scaled);
    }
    let mut canvas = RgbaImage::new(side, side);
    image::imageops::overlay(
        &mut canvas,
        &scaled.to_rgba8(),
        i64::from((side - fw) / 2),
        i64::from((side - fh) / 2),
    );
    Ok(DynamicImage::ImageRgba8(canvas))
}

/// A PNG of `image`'s pixels alone. Fully opaque pictures are stored without alpha.
pub(super) fn png(image: &DynamicImage) -> Result<Vec<u8>, ArtworkError> {
    let source = eight_bit(image);
    let opaque = match source.as_ref() {
        DynamicImage::ImageRgba8(rgba) => rgba.pixels().all(|p| p.0[3] == 255),
        _ => true,
    };
    let pixels: Cow<'_, DynamicImage> = match source.as_ref() {
        DynamicImage::ImageRgba8(_) if opaque => {
            Cow::Owned(DynamicImage::ImageRgb8(source.to_rgb8()))
        }
        _ => source,
    };
    let mut out = Vec::new();
    PngEncoder::new_with_quality(
        &mut out,
        CompressionType::Default,
        image::codecs::png::FilterType::Adaptive,
    )
    .write_image(
        pixels.as_bytes(),
        pixels.width(),
        pixels.height(),
        pixels.color().into(),
    )
    .map_err(|e| ArtworkError::Encoding {
        detail: e.to_string(),
    })?;
    Ok(out)
}
