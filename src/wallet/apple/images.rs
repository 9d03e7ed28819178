//! The PNG images of a store card (icon, logo, strip at @1x/@2x/@3x): checking uploads before
//! they reach a pass, and the neutral defaults used until a program has its own.
//!
//! Sizes are in points and multiplied by the scale (apple-pkpass.md section 2.1). Wallet scales
//! what it gets, so we accept a range instead of insisting on Apple's exact pixel counts.

use std::fmt;

/// Largest upload we look at; real Wallet images are a few hundred kilobytes at most.
pub const MAX_PNG_BYTES: usize = 4 * 1024 * 1024;

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageKind {
    Icon,
    Logo,
    Strip,
}

impl ImageKind {
    pub const ALL: [ImageKind; 3] = [ImageKind::Icon, ImageKind::Logo, ImageKind::Strip];

    pub fn base_name(self) -> &'static str {
        match self {
            ImageKind::Icon => "icon",
            ImageKind::Logo => "logo",
            ImageKind::Strip => "strip",
        }
    }

    /// (min width, min height, max width, max height) in points.
    fn bounds_pt(self) -> (u32, u32, u32, u32) {
        match self {
            // Apple: 29 x 29. Twice that still scales down cleanly.
            ImageKind::Icon => (29, 29, 58, 58),
            // Apple: at most 160 x 50; narrower is fine, tiny is not.
            ImageKind::Logo => (10, 10, 160, 50),
            // Apple: 375 x 123 for store cards, 144 for gift cards and coupons.
            ImageKind::Strip => (160, 40, 375, 144),
        }
    }
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base_name())
    }
}

/// Pixel size of a validated PNG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngInfo {
    pub width: u32,
    pub height: u32,
}

/// Why an uploaded image was refused; shown to the person uploading it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ImageError {
    #[error("image scale must be 1, 2 or 3 (got {0})")]
    BadScale(u8),
    #[error("{file} is empty")]
    Empty { file: String },
    #[error("{file} is {size} bytes; the limit is {max} bytes")]
    TooManyBytes {
        file: String,
        size: usize,
        max: usize,
    },
    #[error("{file} is a {format} image; Apple Wallet only accepts PNG")]
    WrongFormat { file: String, format: &'static str },
    #[error("{file} is not a PNG image")]
    NotPng { file: String },
    #[error("{file} is damaged or incomplete: {detail}")]
    Corrupt { file: String, detail: String },
    #[error("{file} must be square, but it is {width}x{height} pixels")]
    NotSquare {
        file: String,
        width: u32,
        height: u32,
    },
    #[error(
        "{file} is {width}x{height} pixels; it must be at most {max_width}x{max_height} pixels"
    )]
    TooLarge {
        file: String,
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error(
        "{file} is {width}x{height} pixels; it must be at least {min_width}x{min_height} pixels"
    )]
    TooSmall {
        file: String,
        width: u32,
        height: u32,
        min_width: u32,
        min_height: u32,
    },
}

/// `icon.png`, `icon@2x.png`, `icon@3x.png`, ...
pub fn file_name(kind: ImageKind, scale: u8) -> String {
    match scale {
        1 => format!("{kind}.png"),
        n => format!("{kind}@{n}x.png"),
    }
}

/// Checks an uploaded PNG for `kind` at `scale` (1, 2 or 3): format, size limits, and that it
/// decodes completely. Dimensions are read from the header first, so a small file claiming a huge
/// image is refused before any pixel memory is allocated.
pub fn validate_png(kind: ImageKind, scale: u8, bytes: &[u8]) -> Result<PngInfo, ImageError> {
    if !(1..=3).contains(&scale) {
        return Err(ImageError::BadScale(scale));
    }
    let file = file_name(kind, scale);
    if bytes.is_empty() {
        return Err(ImageError::Empty { file });
    }
    if bytes.len() > MAX_PNG_BYTES {
        return Err(ImageError::TooManyBytes {
            file,
            size: bytes.len(),
            max: MAX_PNG_BYTES,
        });
    }
    if !bytes.starts_with(&PNG_SIGNATURE) {
        return Err(match sniff_format(bytes) {
            Some(format) => ImageError::WrongFormat { file, format },
            None => ImageError::NotPng { file },
        });
    }
    let (width, height) = header_size(bytes).ok_or_else(|| ImageError::Corrupt {
        file: file.clone(),
        detail: "the PNG header (IHDR) is missing".to_owned(),
    })?;
    check_dimensions(kind, scale, &file, width, height)?;
    decode_fully(bytes).map_err(|detail| ImageError::Corrupt { file, detail })?;
    Ok(PngInfo { width, height })
}

fn sniff_format(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("JPEG")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("GIF")
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        Some("WebP")
    } else if bytes
        .get(4..12)
        .is_some_and(|b| b == b"ftypheic" || b == b"ftypheix" || b == b"ftypmif1")
    {
        Some("HEIC")
    } else if bytes.starts_with(b"<svg") || bytes.starts_with(b"<?xml") {
        Some("SVG")
    } else {
        None
    }
}

/// Width and height from the IHDR chunk, which the PNG format requires to come first.
fn header_size(bytes: &[u8]) -> Option<(u32, u32)> {
    if bytes.get(12..16)? != b"IHDR" {
        return None;
    }
    let width = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let height = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    Some((width, height))
}

fn check_dimensions(
    kind: ImageKind,
    scale: u8,
    file: &str,
    width: u32,
    height: u32,
) -> Result<(), ImageError> {
    let s = u32::from(scale);
    let (min_w, min_h, max_w, max_h) = kind.bounds_pt();
    if kind == ImageKind::Icon && width != height {
        return Err(ImageError::NotSquare {
            file: file.to_owned(),
            width,
            height,
        });
    }
    if width > max_w * s || height > max_h * s {
        return Err(ImageError::TooLarge {
            file: file.to_owned(),
            width,
            height,
            max_width: max_w * s,
            max_height: max_h * s,
        });
    }
    if width < min_w * s || height < min_h * s {
        return Err(ImageError::TooSmall {
            file: file.to_owned(),
            width,
            height,
            min_width: min_w * s,
            min_height: min_h * s,
        });
    }
    Ok(())
}

/// Decodes every pixel and reads to the end, so truncated or bit-flipped files (CRC errors) fail.
fn decode_fully(bytes: &[u8]) -> Result<(), String> {
    let mut decoder = png::Decoder::new(bytes);
    // Dimensions are already bounded (at most 1125x432 at @3x); this only guards odd pixel formats.
    decoder.set_limits(png::Limits {
        bytes: 32 * 1024 * 1024,
    });
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let mut pixels = vec![0; reader.output_buffer_size()];
    reader.next_frame(&mut pixels).map_err(|e| e.to_string())?;
    reader.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// The fixed neutral images in `templates/images/` (made by its `generate.py`), named as they go
/// into a pass: byte-stable inputs for golden tests and benchmarks. Cards use the images drawn
/// in each program's colours (`wallet::artwork::drawn`) instead.
pub fn default_images() -> Vec<(String, Vec<u8>)> {
    macro_rules! image {
        ($name:literal) => {
            (
                $name.to_owned(),
                include_bytes!(concat!("../../../templates/images/", $name)).to_vec(),
            )
        };
    }
    vec![
        image!("icon.png"),
        image!("icon@2x.png"),
        image!("icon@3x.png"),
        image!("logo.png"),
        image!("logo@2x.png"),
        image!("logo@3x.png"),
        image!("strip.png"),
        image!("strip@2x.png"),
        image!("strip@3x.png"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal valid RGB PNG of the given size (one solid colour), built with the png crate.
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![90; (width * height * 3) as usize])
            .unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn default_images_are_valid_for_their_kind_and_scale() {
        let defaults = default_images();
        assert_eq!(defaults.len(), 9);
        for kind in ImageKind::ALL {
            for scale in 1..=3 {
                let name = file_name(kind, scale);
                let (_, bytes) = defaults.iter().find(|(n, _)| *n == name).unwrap();
                validate_png(kind, scale, bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        let icon = &defaults.iter().find(|(n, _)| n == "icon@3x.png").unwrap().1;
        assert_eq!(
            validate_png(ImageKind::Icon, 3, icon),
            Ok(PngInfo {
                width: 87,
                height: 87
            })
        );
    }

    #[test]
    fn file_names_follow_apple_scale_suffixes() {
        assert_eq!(file_name(ImageKind::Icon, 1), "icon.png");
        assert_eq!(file_name(ImageKind::Logo, 2), "logo@2x.png");
        assert_eq!(file_name(ImageKind::Strip, 3), "strip@3x.png");
    }

    #[test]
    fn garbage_and_other_formats_are_rejected_by_name() {
        let err = validate_png(ImageKind::Logo, 1, b"definitely not an image").unwrap_err();
        assert_eq!(
            err,
            ImageError::NotPng {
                file: "logo.png".into()
            }
        );
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0];
        let err = validate_png(ImageKind::Logo, 2, &jpeg).unwrap_err();
        assert_eq!(
            err.to_string(),
            "logo@2x.png is a JPEG image; Apple Wallet only accepts PNG"
        );
        assert_eq!(
            validate_png(ImageKind::Icon, 1, &[]).unwrap_err(),
            ImageError::Empty {
                file: "icon.png".into()
            }
        );
        assert_eq!(
            validate_png(ImageKind::Icon, 4, &png(29, 29)).unwrap_err(),
            ImageError::BadScale(4)
        );
    }

    #[test]
    fn truncated_or_corrupted_png_is_rejected() {
        let good = png(100, 40);
        assert!(validate_png(ImageKind::Logo, 1, &good).is_ok());
        let truncated = &good[..good.len() - 20];
        let err = validate_png(ImageKind::Logo, 1, truncated).unwrap_err();
        assert!(matches!(err, ImageError::Corrupt { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("logo.png is damaged or incomplete"),
            "{err}"
        );

        let mut flipped = good.clone();
        let idat = flipped.windows(4).position(|w| w == b"IDAT").unwrap();
        flipped[idat + 6] ^= 0xFF;
        assert!(matches!(
            validate_png(ImageKind::Logo, 1, &flipped),
            Err(ImageError::Corrupt { .. })
        ));

        let only_signature = &good[..8];
        assert!(matches!(
            validate_png(ImageKind::Logo, 1, only_signature),
            Err(ImageError::Corrupt { .. })
        ));
    }

    #[test]
    fn oversized_dimensions_are_rejected_before_decoding() {
        // A header claiming 100000 x 100000 pixels followed by nothing: decoding would need 30 GB.
        let mut bomb = png(10, 10);
        bomb[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = validate_png(ImageKind::Strip, 3, &bomb).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::TooLarge {
                    width: 100_000,
                    max_width: 1125,
                    max_height: 432,
                    ..
                }
            ),
            "{err:?}"
        );

        let err = validate_png(ImageKind::Logo, 1, &png(400, 50)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "logo.png is 400x50 pixels; it must be at most 160x50 pixels"
        );
        let too_many_bytes = vec![0u8; MAX_PNG_BYTES + 1];
        assert!(matches!(
            validate_png(ImageKind::Strip, 1, &too_many_bytes),
            Err(ImageError::TooManyBytes { .. })
        ));
    }

    #[test]
    fn icon_must_be_square_and_near_29_points() {
        assert!(validate_png(ImageKind::Icon, 2, &png(58, 58)).is_ok());
        assert!(validate_png(ImageKind::Icon, 2, &png(116, 116)).is_ok());
        let err = validate_png(ImageKind::Icon, 2, &png(29, 29)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "icon@2x.png is 29x29 pixels; it must be at least 58x58 pixels"
        );
        let err = validate_png(ImageKind::Icon, 1, &png(200, 200)).unwrap_err();
        assert!(
            matches!(err, ImageError::TooLarge { max_width: 58, .. }),
            "{err:?}"
        );
        let err = validate_png(ImageKind::Icon, 1, &png(40, 30)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "icon.png must be square, but it is 40x30 pixels"
        );
    }

    #[test]
    fn strip_within_store_card_bounds_is_accepted() {
        assert_eq!(
            validate_png(ImageKind::Strip, 1, &png(375, 123)),
            Ok(PngInfo {
                width: 375,
                height: 123
            })
        );
        assert!(matches!(
            validate_png(ImageKind::Strip, 1, &png(100, 123)),
            Err(ImageError::TooSmall { .. })
        ));
    }
}
