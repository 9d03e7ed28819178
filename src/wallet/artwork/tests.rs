use std::io::Cursor;

use image::{ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage};

use super::*;
use crate::domain::color::Rgb as Colour;
use crate::domain::program::Colors;
use crate::wallet::apple::images::validate_png;

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb([(x % 256) as u8, (y % 256) as u8, 120])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn png_rgba(image: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

/// Inserts a chunk right after IHDR (which ends at byte 33).
fn with_chunk(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = Vec::new();
    chunk.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    chunk.extend_from_slice(&body);
    chunk.extend_from_slice(&crc32(&body).to_be_bytes());
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[33..]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn decoded(png: &[u8]) -> image::DynamicImage {
    image::load_from_memory_with_format(png, image::ImageFormat::Png).unwrap()
}

/// The chunk types of a PNG, in order.
fn chunks(png: &[u8]) -> Vec<String> {
    let mut at = 8;
    let mut kinds = Vec::new();
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        kinds.push(String::from_utf8_lossy(&png[at + 4..at + 8]).into_owned());
        at += 12 + len;
    }
    kinds
}

#[test]
fn one_jpeg_makes_every_scale_and_google_image() {
    let made = from_upload(ImageKind::Strip, &jpeg(3000, 3000)).unwrap();
    let sizes: Vec<(&str, u32, u32)> = made
        .iter()
        .map(|m| (m.name.as_str(), m.width, m.height))
        .collect();
    assert_eq!(
        sizes,
        [
            ("strip.png", 375, 123),
            ("strip@2x.png", 750, 246),
            ("strip@3x.png", 1125, 369),
            ("google-hero.png", 1032, 336),
        ]
    );
    for m in &made[..3] {
        let scale = if m.name.contains("@2x") {
            2
        } else if m.name.contains("@3x") {
            3
        } else {
            1
        };
        validate_png(ImageKind::Strip, scale, &m.png).unwrap_or_else(|e| panic!("{}: {e}", m.name));
        assert_eq!(decoded(&m.png).dimensions_of(), (m.width, m.height));
    }
}

trait Dimensions {
    fn dimensions_of(&self) -> (u32, u32);
}

impl Dimensions for image::DynamicImage {
    fn dimensions_of(&self) -> (u32, u32) {
        (self.width(), self.height())
    }
}

#[test]
fn logos_keep_their_shape_and_icons_become_square_with_alpha_kept() {
    // A wide logo, transparent but for a red bar.
    let logo = RgbaImage::from_fn(1200, 300, |_, y| {
        if (100..200).contains(&y) {
            Rgba([200, 0, 0, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let made = from_upload(ImageKind::Logo, &png_rgba(&logo)).unwrap();
    assert_eq!((made[0].width, made[0].height), (160, 40));
    assert_eq!((made[2].width, made[2].height), (480, 120));
    assert_eq!(made.len(), 3, "a logo has no Google image of its own");
    let at3 = decoded(&made[2].png).to_rgba8();
    assert_eq!(at3.get_pixel(10, 2).0[3], 0, "transparency kept");
    let inside = at3.get_pixel(240, 60).0;
    assert!(inside[0] > 190 && inside[3] == 255, "{inside:?}");
    // No dark halo: the edge pixels stay red, only their alpha falls.
    let edge = at3.get_pixel(240, 40).0;
    assert!(edge[0] > 150 && edge[1] < 30, "edge {edge:?}");

    let tall = RgbaImage::from_pixel(200, 400, Rgba([0, 90, 0, 255]));
    let icons = from_upload(ImageKind::Icon, &png_rgba(&tall)).unwrap();
    let names: Vec<&str> = icons.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(
        names,
        ["icon.png", "icon@2x.png", "icon@3x.png", "google-logo.png"]
    );
    assert_eq!((icons[2].width, icons[2].height), (87, 87));
    assert_eq!((icons[3].width, icons[3].height), (400, 400));
    let at3 = decoded(&icons[2].png).to_rgba8();
    assert_eq!(at3.get_pixel(2, 43).0[3], 0, "padded with transparency");
    assert_eq!(at3.get_pixel(43, 43).0, [0, 90, 0, 255]);
    for (i, m) in icons[..3].iter().enumerate() {
        validate_png(ImageKind::Icon, i as u8 + 1, &m.png).unwrap();
    }
}

#[test]
fn nothing_but_pixels_is_published() {
    let icon = png_rgba(&RgbaImage::from_pixel(120, 120, Rgba([10, 20, 30, 255])));
    let secret = vec![b'x'; 100_000];
    let mut text = b"Comment\0".to_vec();
    text.extend_from_slice(&secret);
    let loaded = with_chunk(&icon, b"tEXt", &text);
    let loaded = with_chunk(&loaded, b"eXIf", b"MM\0*\0\0\0\x08\0\0");
    assert!(loaded.len() > 100_000);
    for m in from_upload(ImageKind::Icon, &loaded).unwrap() {
        assert_eq!(chunks(&m.png), ["IHDR", "IDAT", "IEND"], "{}", m.name);
        assert!(m.png.len() < 5_000, "{} is {} bytes", m.name, m.png.len());
    }
    let again = reencoded(&loaded).unwrap();
    assert_eq!(chunks(&again), ["IHDR", "IDAT", "IEND"]);
    assert_eq!(decoded(&again).to_rgba8(), decoded(&icon).to_rgba8());
}

#[test]
fn refusals_say_what_to_do() {
    let small = from_upload(ImageKind::Strip, &jpeg(800, 300)).unwrap_err();
    assert_eq!(
        small.to_string(),
        "The strip is 800x300 pixels, too small to look sharp on every iPhone: it needs at least 1125x369 pixels."
    );
    assert!(matches!(
        from_upload(ImageKind::Icon, &jpeg(60, 60)),
        Err(ArtworkError::TooSmall { .. })
    ));
    assert!(matches!(
        from_upload(ImageKind::Logo, &jpeg(5000, 40)),
        Err(ArtworkError::OddShape { .. })
    ));
    assert_eq!(from_upload(ImageKind::Logo, b""), Err(ArtworkError::Empty));
    assert_eq!(
        from_upload(ImageKind::Logo, b"hello, this is text"),
        Err(ArtworkError::NotAnImage)
    );
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    assert_eq!(
        from_upload(ImageKind::Logo, gif).unwrap_err().to_string(),
        "This is a GIF image. Upload a PNG or JPEG instead (most design tools can export one)."
    );
    let svg = b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>";
    assert_eq!(
        from_upload(ImageKind::Logo, svg),
        Err(ArtworkError::WrongFormat { format: "SVG" })
    );
    let still = png_rgba(&RgbaImage::from_pixel(500, 200, Rgba([1, 2, 3, 255])));
    let animated = with_chunk(&still, b"acTL", &[0, 0, 0, 2, 0, 0, 0, 0]);
    assert_eq!(
        from_upload(ImageKind::Logo, &animated),
        Err(ArtworkError::Animated)
    );
    let cut = &still[..still.len() / 2];
    assert!(matches!(
        from_upload(ImageKind::Logo, cut),
        Err(ArtworkError::Damaged { .. })
    ));
}

#[test]
fn a_decompression_bomb_is_refused_from_its_header() {
    // A 40000 x 40000 header over a few bytes: decoding it would take 6.4 GB.
    let mut bomb = png_rgba(&RgbaImage::from_pixel(10, 10, Rgba([0, 0, 0, 255])));
    bomb[16..20].copy_from_slice(&40_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&40_000u32.to_be_bytes());
    let ihdr_crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&ihdr_crc.to_be_bytes());
    assert_eq!(
        from_upload(ImageKind::Strip, &bomb),
        Err(ArtworkError::TooManyPixels {
            width: 40_000,
            height: 40_000
        })
    );
    // Big in pixels but within either side's limit.
    let mut wide = bomb.clone();
    wide[16..20].copy_from_slice(&9_000u32.to_be_bytes());
    wide[20..24].copy_from_slice(&9_000u32.to_be_bytes());
    let crc = crc32(&wide[12..29]);
    wide[29..33].copy_from_slice(&crc.to_be_bytes());
    assert!(matches!(
        from_upload(ImageKind::Strip, &wide),
        Err(ArtworkError::TooManyPixels { .. })
    ));
}

#[test]
fn jpeg_orientation_is_applied() {
    // A JPEG 400 wide and 200 tall whose EXIF says "rotate 90°": the card gets it upright.
    let plain = jpeg(400, 200);
    let mut exif = b"Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
    exif.extend_from_slice(&[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0]);
    exif.extend_from_slice(&[0, 0, 0, 0]);
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    app1.extend_from_slice(&exif);
    let mut rotated = plain[..2].to_vec();
    rotated.extend_from_slice(&app1);
    rotated.extend_from_slice(&plain[2..]);
    let icons = from_upload(ImageKind::Icon, &rotated).unwrap();
    let google = decoded(&icons[3].png);
    assert_eq!((google.width(), google.height()), (400, 400));
    let rgba = google.to_rgba8();
    // Upright it is 200 wide and 400 tall, so the padding is left and right.
    assert_eq!(rgba.get_pixel(20, 200).0[3], 0);
    assert_eq!(rgba.get_pixel(200, 20).0[3], 255);
}

#[test]
fn the_default_card_is_drawn_in_the_programs_colours() {
    let colors = Colors {
        background: Colour(120, 30, 40),
        foreground: Colour(255, 240, 200),
        label: Colour(230, 200, 160),
    };
    let files = drawn(&colors, "Bean There", true).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for kind in ImageKind::ALL {
        for s in 1..=3u8 {
            let name = file_name(kind, s);
            let (_, png) = files.iter().find(|(n, _)| *n == name).unwrap();
            validate_png(kind, s, png).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    assert!(names.contains(&GOOGLE_LOGO) && names.contains(&GOOGLE_HERO));
    let image = |name: &str| {
        let (_, png) = files.iter().find(|(n, _)| n == name).unwrap();
        image::load(Cursor::new(png), image::ImageFormat::Png)
            .unwrap()
            .to_rgba8()
    };
    // The icon's corner is transparent, its middle edge the background colour, and the
    // initial drawn in the text colour somewhere in it.
    let icon = image("icon@3x.png");
    assert_eq!(icon.get_pixel(0, 0).0[3], 0);
    assert_eq!(icon.get_pixel(43, 3).0, [120, 30, 40, 255]);
    assert!(
        icon.pixels().any(|p| p.0 == [255, 240, 200, 255]),
        "the initial"
    );
    // The strip is the background colour, lighter at the top left, darker at the bottom right.
    let strip = image("strip@2x.png");
    let (tl, br) = (strip.get_pixel(0, 0).0, strip.get_pixel(749, 245).0);
    assert!(tl[0] > 120 && br[0] < 120, "{tl:?} {br:?}");
    assert!(strip.pixels().all(|p| p.0[3] == 255));
    // The logo carries the name: much wider than the disc alone, unless the design's own
    // logo text stands beside it.
    assert!(image("logo@3x.png").width() > 300);
    let without = drawn(&colors, "Bean There", false).unwrap();
    let (_, disc) = without.iter().find(|(n, _)| n == "logo@3x.png").unwrap();
    assert_eq!(decoded(disc).width(), 102);
    // A long name is cut to fit the logo's 160 points.
    let long = drawn(&colors, "The Very Long Name Of A Coffee Roastery", true).unwrap();
    let (_, png) = long.iter().find(|(n, _)| n == "logo.png").unwrap();
    assert!(decoded(png).width() <= 160);
}

#[test]
fn scripts_that_need_shaping_are_left_out_not_drawn_wrong() {
    let colors = Colors::default();
    let arabic = drawn(&colors, "مقهى", true).unwrap();
    let (_, logo) = arabic.iter().find(|(n, _)| n == "logo.png").unwrap();
    assert_eq!(decoded(logo).width(), 34, "the disc alone");
    let latin = drawn(&colors, "Café Øre", true).unwrap();
    let (_, logo) = latin.iter().find(|(n, _)| n == "logo.png").unwrap();
    assert!(decoded(logo).width() > 60);
}
