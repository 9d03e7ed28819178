//! A camera for headless Chromium: a QR code rendered into a YUV4MPEG2 file, which Chromium
//! plays as the webcam with `--use-fake-device-for-media-stream
//! --use-file-for-fake-video-capture=<file>` (looping it), so the scanner page reads a real
//! card's barcode through `getUserMedia` as it would on a phone.

use std::io::Write;
use std::path::Path;

use qrcode::{Color, EcLevel, QrCode};

pub const WIDTH: usize = 640;
pub const HEIGHT: usize = 480;
/// Video-range luma: what a camera delivers for black and white paper.
const BLACK: u8 = 16;
const WHITE: u8 = 235;
/// Chroma for grey: no colour at all.
const NEUTRAL: u8 = 128;
/// Modules of white around the code, as the QR specification requires.
const QUIET_ZONE: usize = 4;
const FRAMES: usize = 3;

/// The luma plane of one frame: `text` as a QR code, as large as fits, centred on white.
pub fn qr_luma(text: &str) -> Vec<u8> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .expect("the text fits in a QR code");
    let modules = code.width();
    let colors = code.to_colors();
    let scale = HEIGHT / (modules + 2 * QUIET_ZONE);
    assert!(scale >= 2, "{modules} modules do not fit {HEIGHT} lines");
    let size = modules * scale;
    let (left, top) = ((WIDTH - size) / 2, (HEIGHT - size) / 2);
    let mut luma = vec![WHITE; WIDTH * HEIGHT];
    for y in 0..size {
        for x in 0..size {
            if colors[(y / scale) * modules + x / scale] == Color::Dark {
                luma[(top + y) * WIDTH + left + x] = BLACK;
            }
        }
    }
    luma
}

/// Writes `text` as a QR code into a `.y4m` file of a few identical 640x480 4:2:0 frames.
pub fn write_qr_y4m(text: &str, path: &Path) {
    let luma = qr_luma(text);
    let chroma = vec![NEUTRAL; (WIDTH / 2) * (HEIGHT / 2)];
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F15:1 Ip A1:1 C420").unwrap();
    for _ in 0..FRAMES {
        file.write_all(b"FRAME\n").unwrap();
        file.write_all(&luma).unwrap();
        file.write_all(&chroma).unwrap(); // U
        file.write_all(&chroma).unwrap(); // V
    }
    file.flush().unwrap();
}

#[test]
fn y4m_has_the_header_and_whole_frames_of_a_centred_code() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("card.y4m");
    write_qr_y4m("PW1-EXAMPLE-1-AAAAAAAAAAAAAAAAAAAAAAAAAA", &path);
    let bytes = std::fs::read(&path).unwrap();
    let header = b"YUV4MPEG2 W640 H480 F15:1 Ip A1:1 C420\n";
    assert!(bytes.starts_with(header));
    let frame = b"FRAME\n".len() + WIDTH * HEIGHT * 3 / 2;
    assert_eq!(bytes.len(), header.len() + FRAMES * frame);
    let luma = qr_luma("PW1-EXAMPLE-1-AAAAAAAAAAAAAAAAAAAAAAAAAA");
    // White quiet zone around, black finder pattern in the top-left corner of the code.
    assert_eq!(luma[0], WHITE);
    assert_eq!(luma[WIDTH * HEIGHT - 1], WHITE);
    let dark = luma.iter().filter(|&&l| l == BLACK).count();
    assert!(dark > WIDTH * HEIGHT / 10, "{dark} dark pixels");
    let first_dark = luma.iter().position(|&l| l == BLACK).unwrap();
    let (x, y) = (first_dark % WIDTH, first_dark / WIDTH);
    assert!(
        x > 100 && y > 10 && x < WIDTH / 2 && y < HEIGHT / 2,
        "({x}, {y})"
    );
}
