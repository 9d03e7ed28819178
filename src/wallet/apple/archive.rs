//! The small part of the zip format a `.pkpass` needs: file entries at the root, stored or
//! deflated, then the central directory.
//!
//! Why not the `zip` crate's writer: it creates a fresh deflate compressor per entry (~200 KB of
//! tables zeroed each time) and checksums every entry on every call, which measured at ~400 us
//! per pass against a ~260 us RSA signature. Here a program's images and translations are
//! checksummed and compressed once into a [`ZipBuilder`] that every pass of that design clones,
//! adding only its own three small files.

use std::io::Write as _;

use flate2::write::DeflateEncoder;
use flate2::{Compression, Crc};

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL_DIRECTORY: u32 = 0x0605_4b50;
const METHOD_STORED: u16 = 0;
const METHOD_DEFLATED: u16 = 8;
/// Zip 2.0 (deflate), written on Unix so extractors apply the mode in the external attributes.
const VERSION_NEEDED: u16 = 20;
const VERSION_MADE_BY: u16 = (3 << 8) | 20;
/// Regular file, rw-r--r--.
const EXTERNAL_ATTRIBUTES: u32 = 0o100_644 << 16;
/// Name is UTF-8 (general purpose flag bit 11).
const FLAG_UTF8: u16 = 1 << 11;
/// 1980-01-01 00:00:00, the earliest DOS timestamp: builds are reproducible and Wallet ignores it.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("zip entry {name:?} is too large (the limit without zip64 is 4 GiB)")]
    TooLarge { name: String },
    #[error("too many files for a zip without zip64 (the limit is 65535)")]
    TooManyEntries,
    #[error("compressing {name:?} failed")]
    Deflate {
        name: String,
        source: std::io::Error,
    },
}

/// A zip in the making: entries so far, plus their central-directory records.
#[derive(Debug, Clone, Default)]
pub struct ZipBuilder {
    data: Vec<u8>,
    central: Vec<u8>,
    entries: u16,
}

impl ZipBuilder {
    /// A copy of this builder with room for `extra` more bytes, so adding entries does not
    /// reallocate.
    pub fn clone_with_room(&self, extra: usize) -> ZipBuilder {
        let mut data = Vec::with_capacity(self.data.len() + extra);
        data.extend_from_slice(&self.data);
        let mut central = Vec::with_capacity(self.central.len() + 256);
        central.extend_from_slice(&self.central);
        ZipBuilder {
            data,
            central,
            entries: self.entries,
        }
    }

    pub fn add_stored(&mut self, name: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        self.add(name, METHOD_STORED, crc32(bytes), bytes.len(), bytes)
    }

    /// Compresses at the best level: this is for files added once per design, not per pass.
    pub fn add_deflated(&mut self, name: &str, bytes: &[u8]) -> Result<(), ArchiveError> {
        let deflate_error = |source| ArchiveError::Deflate {
            name: name.to_owned(),
            source,
        };
        let mut encoder = DeflateEncoder::new(
            Vec::with_capacity(bytes.len() / 2 + 64),
            Compression::best(),
        );
        encoder.write_all(bytes).map_err(deflate_error)?;
        let compressed = encoder.finish().map_err(deflate_error)?;
        self.add(
            name,
            METHOD_DEFLATED,
            crc32(bytes),
            bytes.len(),
            &compressed,
        )
    }

    fn add(
        &mut self,
        name: &str,
        method: u16,
        crc: u32,
        size: usize,
        data: &[u8],
    ) -> Result<(), ArchiveError> {
        let too_large = || ArchiveError::TooLarge {
            name: name.to_owned(),
        };
        let size = u32::try_from(size).map_err(|_| too_large())?;
        let compressed = u32::try_from(data.len()).map_err(|_| too_large())?;
        let offset = u32::try_from(self.data.len()).map_err(|_| too_large())?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_large())?;
        self.entries = self
            .entries
            .checked_add(1)
            .filter(|n| *n < u16::MAX)
            .ok_or(ArchiveError::TooManyEntries)?;
        let flags = if name.is_ascii() { 0 } else { FLAG_UTF8 };

        let local = &mut self.data;
        put32(local, LOCAL_HEADER);
        put16(local, VERSION_NEEDED);
        put16(local, flags);
        put16(local, method);
        put16(local, DOS_TIME);
        put16(local, DOS_DATE);
        put32(local, crc);
        put32(local, compressed);
        put32(local, size);
        put16(local, name_len);
        put16(local, 0); // extra field length
        local.extend_from_slice(name.as_bytes());
        local.extend_from_slice(data);

        let central = &mut self.central;
        put32(central, CENTRAL_HEADER);
        put16(central, VERSION_MADE_BY);
        put16(central, VERSION_NEEDED);
        put16(central, flags);
        put16(central, method);
        put16(central, DOS_TIME);
        put16(central, DOS_DATE);
        put32(central, crc);
        put32(central, compressed);
        put32(central, size);
        put16(central, name_len);
        put16(central, 0); // extra field length
        put16(central, 0); // comment length
        put16(central, 0); // disk number
        put16(central, 0); // internal attributes
        put32(central, EXTERNAL_ATTRIBUTES);
        put32(central, offset);
        central.extend_from_slice(name.as_bytes());
        Ok(())
    }

    /// Appends the central directory and returns the finished archive.
    pub fn finish(mut self) -> Result<Vec<u8>, ArchiveError> {
        let too_large = || ArchiveError::TooLarge {
            name: "central directory".to_owned(),
        };
        let directory_offset = u32::try_from(self.data.len()).map_err(|_| too_large())?;
        let directory_len = u32::try_from(self.central.len()).map_err(|_| too_large())?;
        self.data.reserve(self.central.len() + 22);
        self.data.extend_from_slice(&self.central);
        let end = &mut self.data;
        put32(end, END_OF_CENTRAL_DIRECTORY);
        put16(end, 0); // this disk
        put16(end, 0); // disk with the directory
        put16(end, self.entries);
        put16(end, self.entries);
        put32(end, directory_len);
        put32(end, directory_offset);
        put16(end, 0); // comment length
        Ok(self.data)
    }
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc::new();
    crc.update(bytes);
    crc.sum()
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    fn read_back(archive: &[u8]) -> Vec<(String, Vec<u8>, zip::CompressionMethod)> {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(archive)).unwrap();
        (0..zip.len())
            .map(|i| {
                let mut entry = zip.by_index(i).unwrap();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                (entry.name().to_owned(), bytes, entry.compression())
            })
            .collect()
    }

    #[test]
    fn zip_crate_and_unzip_read_what_we_write() {
        let text = "\"POINTS\" = \"Punkte\";\n".repeat(20);
        let mut base = ZipBuilder::default();
        base.add_deflated("de.lproj/pass.strings", text.as_bytes())
            .unwrap();
        base.add_stored("icon.png", &[0x89, b'P', b'N', b'G'])
            .unwrap();
        let mut zip = base.clone_with_room(100);
        zip.add_stored("pass.json", b"{}").unwrap();
        zip.add_stored("zh-Hans.lproj/übersicht.txt", b"").unwrap();
        let archive = zip.finish().unwrap();

        let files = read_back(&archive);
        let names: Vec<&str> = files.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "de.lproj/pass.strings",
                "icon.png",
                "pass.json",
                "zh-Hans.lproj/übersicht.txt"
            ]
        );
        assert_eq!(files[0].1, text.as_bytes());
        assert_eq!(files[0].2, zip::CompressionMethod::Deflated);
        assert_eq!(files[1].2, zip::CompressionMethod::Stored);
        assert_eq!(files[2].1, b"{}");

        // Info-ZIP's `unzip -t` is a second, independent reader (the zip crate checks CRCs too).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test.zip");
        std::fs::write(&path, &archive).unwrap();
        match std::process::Command::new("unzip")
            .arg("-t")
            .arg(&path)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stdout)
            ),
            Err(e) => eprintln!("unzip not available ({e}); relying on the zip crate's checks"),
        }
    }

    #[test]
    fn the_base_builder_is_unchanged_by_clones() {
        let mut base = ZipBuilder::default();
        base.add_stored("a", b"1").unwrap();
        let mut first = base.clone_with_room(0);
        first.add_stored("b", b"2").unwrap();
        let second = base.clone_with_room(0);
        assert_eq!(read_back(&second.finish().unwrap()).len(), 1);
        assert_eq!(read_back(&first.finish().unwrap()).len(), 2);
    }
}
