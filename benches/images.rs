//! The image pipeline: one 3000 x 3000 JPEG to every scale, against the one second.
//!
//! 1. A photo-like 3000 x 3000 JPEG (gradients with noise, quality 90, about 3 MB) is made once.
//! 2. For each kind (icon, logo, strip), `wallet::artwork::from_upload` runs 10 times: decode
//!    with limits, turn upright, scale to @3x with Lanczos3 and from there to @2x and @1x, make
//!    Google's image (icon and strip), encode every PNG. Wall time per upload, on one thread,
//!    as a request's blocking task runs it.
//! 3. For contrast: the default images drawn in a program's colours (`wallet::artwork::drawn`),
//!    which each instance does once per design version.
//!
//! Printed: median, slowest, and the slowest divided by the 1 s target (met when below 1).
//!
//! Run: `cargo bench --bench images` (release build). Results go to docs/BENCHMARKS.md by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use image::{ImageEncoder, Rgb, RgbImage};
use passwright::domain::program::Colors;
use passwright::wallet::apple::images::ImageKind;
use passwright::wallet::artwork;

const RUNS: usize = 10;
const TARGET: Duration = Duration::from_secs(1);

fn main() {
    print_machine();
    let jpeg = photo(3000, 3000);
    println!("upload: 3000x3000 JPEG, {} bytes", jpeg.len());
    for kind in ImageKind::ALL {
        let mut times = Vec::with_capacity(RUNS);
        let mut made = Vec::new();
        for _ in 0..RUNS {
            let start = Instant::now();
            made = artwork::from_upload(kind, &jpeg).unwrap();
            times.push(start.elapsed());
        }
        let sizes: Vec<String> = made
            .iter()
            .map(|m| format!("{} {}x{} ({} B)", m.name, m.width, m.height, m.png.len()))
            .collect();
        report(&format!("{kind} from one upload"), &mut times);
        println!("  made: {}", sizes.join(", "));
    }
    let colors = Colors::default();
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let start = Instant::now();
        let files = artwork::drawn(&colors, "Bean There Coffee", true).unwrap();
        times.push(start.elapsed());
        assert_eq!(files.len(), 11);
    }
    report("default images drawn (all 11)", &mut times);
}

fn report(what: &str, times: &mut [Duration]) {
    times.sort();
    let median = times[times.len() / 2];
    let slowest = times[times.len() - 1];
    println!(
        "{what}: median {:.1} ms, slowest {:.1} ms of {} runs; slowest / 1 s target = {:.3} ({})",
        median.as_secs_f64() * 1e3,
        slowest.as_secs_f64() * 1e3,
        times.len(),
        slowest.as_secs_f64() / TARGET.as_secs_f64(),
        if slowest < TARGET { "met" } else { "NOT met" }
    );
}

/// Gradients with pseudo-random noise: JPEG cannot shrink it to nothing, as with a real photo.
fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let image = RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let n = (seed & 0x07) as u32;
        Rgb([
            ((x * 255 / width + n) % 256) as u8,
            ((y * 255 / height + n) % 256) as u8,
            (((x + y) * 127 / width + n) % 256) as u8,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(
            image.as_raw(),
            width,
            height,
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn print_machine() {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']))
        .unwrap_or("unknown");
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores (nproc), {model}");
}
