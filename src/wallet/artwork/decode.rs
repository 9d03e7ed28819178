//! Reading an upload: what it is, how big it claims to be, whether it moves, and its pixels,
//! turned upright as the camera meant them.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};

/// The most pixels an upload may have (a 5000 x 5000 picture). Decoding takes four bytes per
/// pixel, so this bounds what one upload can cost in memory, whatever the file claims.
pub const MAX_PIXELS: u64 = 25_000_000;
/// No side longer than this, whatever the other side is.
const MAX_SIDE: u32 = 12_000;

/// Why an upload was refused; shown to the person uploading it, as it is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ArtworkError {
    #[error("The file is empty. Choose the image file again.")]
    Empty,
    #[error("This is a {format} image. Upload a PNG or JPEG instead (most design tools can export one).")]
    WrongFormat { format: &'static str },
    #[error("This file is not an image. Upload a PNG or JPEG.")]
    NotAnImage,
    #[error("This is an animated image. A card shows one still picture: upload a PNG or JPEG that does not move.")]
    Animated,
    #[error("The image is {width}x{height} pixels, more than a card could ever use (the limit is 25 megapixels, for example 5000x5000). Scale it down and upload it again.")]
    TooManyPixels { width: u32, height: u32 },
    #[error(
        "The image is damaged or incomplete ({detail}). Export it again and upload the new file."
    )]
    Damaged { detail: String },
    #[error("The {kind} is {width}x{height} pixels, too small to look sharp on every iPhone: it needs {need}.")]
    TooSmall {
        kind: &'static str,
        width: u32,
        height: u32,
        need: String,
    },
    #[error("The {kind} is {width}x{height} pixels: so long and thin that it would be a sliver on the card. Crop it closer to the logo itself.")]
    OddShape {
        kind: &'static str,
        width: u32,
        height: u32,
    },
    #[error("The image could not be converted ({detail}).")]
    Encoding { detail: String },
}

/// The upload's pixels, upright.
pub(super) fn decode(bytes: &[u8]) -> Result<DynamicImage, ArtworkError> {
    if bytes.is_empty() {
        return Err(ArtworkError::Empty);
    }
    let format = image::guess_format(bytes).map_err(|_| match sniff_other(bytes) {
        Some(format) => ArtworkError::WrongFormat { format },
        None => ArtworkError::NotAnImage,
    })?;
    match format {
        ImageFormat::Png => {
            if is_animated_png(bytes) {
                return Err(ArtworkError::Animated);
            }
        }
        ImageFormat::Jpeg => {}
        other => {
            return Err(ArtworkError::WrongFormat {
                format: format_name(other),
            })
        }
    }
    let damaged = |e: image::ImageError| ArtworkError::Damaged {
        detail: e.to_string(),
    };
    let reader = |limits: Limits| {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        r.limits(limits);
        r
    };
    // The claimed size first, from the header alone.
    let (width, height) = reader(Limits::default())
        .into_dimensions()
        .map_err(damaged)?;
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ArtworkError::TooManyPixels { width, height });
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Eight bytes a pixel covers 16-bit colour; a little over for the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 8 + 16 * 1024 * 1024);
    let mut decoder = reader(limits).into_decoder().map_err(damaged)?;
    let orientation = decoder.orientation().map_err(damaged)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// An APNG carries an `acTL` chunk before its first `IDAT`.
fn is_animated_png(bytes: &[u8]) -> bool {
    let mut at = 8;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        match &header[4..8] {
            b"acTL" => return true,
            b"IDAT" | b"IEND" => return false,
            _ => {}
        }
        at = match at.checked_add(12 + len) {
            Some(next) => next,
            None => return false,
        };
    }
    false
}

fn format_name(format: ImageFormat) -> &'static str {
    match format {
        ImageFormat::Gif => "GIF",
        ImageFormat::WebP => "WebP",
        ImageFormat::Tiff => "TIFF",
        ImageFormat::Bmp => "BMP",
        ImageFormat::Ico => "ICO",
        ImageFormat::Avif => "AVIF",
        _ => "different kind of",
    }
}

/// Formats the image crate does not guess (or is not built for), named for the message.
fn sniff_other(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("GIF")
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("WebP")
    } else if bytes
        .get(4..12)
        .is_some_and(|b| b == b"ftypheic" || b == b"ftypheix" || b == b"ftypmif1")
    {
        Some("HEIC")
    } else if bytes.get(4..12).is_some_and(|b| b == b"ftypavif") {
        Some("AVIF")
    } else if bytes.starts_with(b"%PDF") {
        Some("PDF")
    } else {
        let head = String::from_utf8_lossy(&bytes[..bytes.len().min(256)]).to_ascii_lowercase();
        head.contains("<svg").then_some("SVG")
    }
}
