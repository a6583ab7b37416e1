//! IDX, the MNIST file format: a big-endian header (magic `0x0000TTNN` with element type TT and
//! NN dimensions, then NN u32 sizes) followed by the elements in row-major order.

use std::path::Path;

use crate::error::{DataError, Result};
use crate::formats::{maybe_gunzip, read_file};

/// Element type code for unsigned bytes, the only one the MNIST family uses.
const UNSIGNED_BYTE: u8 = 0x08;

/// A decoded IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// The size of each dimension, from the header.
    pub dims: Vec<usize>,
    /// The elements, in row-major order.
    pub data: Vec<u8>,
}

/// Reads and parses an IDX file, gzipped or not.
pub fn read_idx(path: &Path) -> Result<IdxArray> {
    parse_idx(path, &maybe_gunzip(path, read_file(path)?)?)
}

/// Parses an IDX file's (already decompressed) bytes. `path` only names the file in errors.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<IdxArray> {
    if bytes.len() < 4 {
        return Err(DataError::format(
            path,
            format!(
                "IDX header needs at least 4 bytes, file has {}",
                bytes.len()
            ),
        ));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(DataError::format(
            path,
            format!(
                "not an IDX file: magic number starts {:02x} {:02x}, expected 00 00",
                bytes[0], bytes[1]
            ),
        ));
    }
    if bytes[2] != UNSIGNED_BYTE {
        return Err(DataError::format(
            path,
            format!(
                "IDX element type 0x{:02x} is not supported (only unsigned bytes, 0x08)",
                bytes[2]
            ),
        ));
    }
    let rank = bytes[3] as usize;
    let header_len = 4 + 4 * rank;
    if rank == 0 || bytes.len() < header_len {
        return Err(DataError::format(
            path,
            format!(
                "IDX header declares {rank} dimensions, needing {header_len} header bytes; file has {}",
                bytes.len()
            ),
        ));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    if let Some(axis) = dims.iter().position(|&d| d == 0) {
        return Err(DataError::format(
            path,
            format!("IDX header {dims:?} has an empty dimension (axis {axis} is 0)"),
        ));
    }
    let expected = dims
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| {
            DataError::format(
                path,
                format!("IDX header {dims:?} declares more elements than can be addressed"),
            )
        })?;
    let found = bytes.len() - header_len;
    if found != expected {
        return Err(DataError::format(
            path,
            format!(
                "IDX header {dims:?} needs {expected} data bytes, file has {found} ({})",
                if found < expected {
                    "truncated"
                } else {
                    "trailing bytes"
                }
            ),
        ));
    }
    Ok(IdxArray {
        dims,
        data: bytes[header_len..].to_vec(),
    })
}

/// Images (rank 3: count × rows × cols, or rank 4 with channels) and their labels, checked to
/// agree on the sample count. Returns `(sample shape, pixel values as f32, labels)`.
pub fn images_and_labels(
    images_path: &Path,
    images: IdxArray,
    labels_path: &Path,
    labels: IdxArray,
) -> Result<(Vec<usize>, Vec<f32>, Vec<u32>)> {
    let count = images.dims.first().copied().unwrap_or(0);
    let (shape, pixels) = images_only(images_path, images)?;
    if labels.dims.len() != 1 {
        return Err(DataError::format(
            labels_path,
            format!(
                "expected labels of rank 1, found dimensions {:?}",
                labels.dims
            ),
        ));
    }
    if labels.dims[0] != count {
        return Err(DataError::Count {
            path: labels_path.to_path_buf(),
            what: format!("labels (one per image in {})", images_path.display()),
            expected: count,
            found: labels.dims[0],
        });
    }
    let labels = labels.data.iter().map(|&l| l as u32).collect();
    Ok((shape, pixels, labels))
}

/// Images without labels (new data to predict): `(sample shape, pixel values as f32)`.
pub fn images_only(images_path: &Path, images: IdxArray) -> Result<(Vec<usize>, Vec<f32>)> {
    let shape = match images.dims.as_slice() {
        [_, rows, cols] => vec![1, *rows, *cols],
        [_, channels, rows, cols] => vec![*channels, *rows, *cols],
        other => {
            return Err(DataError::format(
                images_path,
                format!(
                    "expected images of rank 3 (count, rows, cols) or 4, found dimensions {other:?}"
                ),
            ));
        }
    };
    let pixels = images.data.iter().map(|&p| p as f32).collect();
    Ok((shape, pixels))
}
