//! Readers for the file formats anneal understands: gzipped or raw IDX, and CSV (plain or gzipped).

pub mod csv;
pub mod idx;

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{DataError, Result};

/// Reads a whole file, naming it in the error when it is missing or unreadable.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| DataError::io(path, e))
}

/// Checks a file's bytes against the sha256 its manifest records.
pub fn verify_sha256(path: &Path, bytes: &[u8], expected: &str) -> Result<()> {
    let found = sha256_hex(bytes);
    if found.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(DataError::Checksum {
            path: path.to_path_buf(),
            expected: expected.to_string(),
            found,
            bytes: bytes.len() as u64,
        })
    }
}

/// The sha256 digest of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Returns the content, decompressed when it starts with the gzip magic bytes.
/// A truncated or corrupt gzip stream is an error naming the file, never partial data.
pub fn maybe_gunzip(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    // IDX files compress about 5:1; reserving up front avoids repeated reallocation.
    let mut out = Vec::with_capacity(bytes.len() * 5);
    // Multi-member streams (concatenated .gz files) are valid gzip; read every member.
    flate2::read::MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|e| {
            DataError::format(
                path,
                format!("cannot decompress gzip data ({e}); the file is truncated or corrupt"),
            )
        })?;
    Ok(out)
}
