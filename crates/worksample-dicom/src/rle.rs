//! RLE Lossless encoder (PS3.5 Annex G) for encapsulated pixel data.
//!
//! dicom-rs 0.10 can decode RLE Lossless but has no encoder (dicom-rs issue #287), so we write our
//! own: one RLE header per frame, one byte segment per sample byte, PackBits runs that never cross a
//! row boundary (PS3.5 §G.3.1), each segment padded to an even length (PS3.5 §G.5).

/// Most segments an RLE frame may hold: the header has 15 offset slots (PS3.5 §G.5).
pub const MAX_SEGMENTS: usize = 15;

/// Longest literal or replicate run a PackBits header byte can describe (PS3.5 §G.3.1).
const MAX_RUN: usize = 128;

/// Shape of one frame's stored values, as the RLE encoder needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameLayout {
    /// Rows (0028,0010).
    pub rows: u16,
    /// Columns (0028,0011).
    pub columns: u16,
    /// Samples per Pixel (0028,0002); samples are interleaved (Planar Configuration 0).
    pub samples_per_pixel: u16,
    /// Bytes per sample: Bits Allocated / 8 (1 or 2).
    pub bytes_per_sample: u16,
}

impl FrameLayout {
    /// Number of bytes one frame takes when stored natively.
    pub fn frame_len(&self) -> usize {
        usize::from(self.rows)
            * usize::from(self.columns)
            * usize::from(self.samples_per_pixel)
            * usize::from(self.bytes_per_sample)
    }

    fn segment_count(&self) -> usize {
        usize::from(self.samples_per_pixel) * usize::from(self.bytes_per_sample)
    }
}

/// Why a frame could not be RLE-encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RleError {
    /// The frame needs more than 15 segments (PS3.5 §G.5 header limit).
    #[error("rle frame needs {segments} segments, more than the 15 the header can hold")]
    TooManySegments {
        /// Segments the layout asks for.
        segments: usize,
    },
    /// The byte buffer does not match rows × columns × samples × bytes.
    #[error("rle frame has {actual} bytes, expected {expected}")]
    WrongLength {
        /// Bytes the layout implies.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
}

/// Encodes one frame of native little-endian stored values (`frame_le`, interleaved samples) as
/// one RLE fragment: 64-byte header, then the segments.
///
/// Segment order follows PS3.5 §G.2: for each sample, most significant byte first.
pub fn encode_frame(frame_le: &[u8], layout: FrameLayout) -> Result<Vec<u8>, RleError> {
    let segments = layout.segment_count();
    if segments > MAX_SEGMENTS {
        return Err(RleError::TooManySegments { segments });
    }
    if frame_le.len() != layout.frame_len() {
        return Err(RleError::WrongLength {
            expected: layout.frame_len(),
            actual: frame_le.len(),
        });
    }
    let bytes = usize::from(layout.bytes_per_sample);
    let samples = usize::from(layout.samples_per_pixel);
    let columns = usize::from(layout.columns);
    let stride = samples * bytes;

    let mut out = vec![0u8; 64];
    let mut offsets = Vec::with_capacity(segments);
    let mut plane = Vec::with_capacity(columns);
    for sample in 0..samples {
        // Most significant byte first: in little-endian storage that is the last byte.
        for byte in (0..bytes).rev() {
            offsets.push(u32::try_from(out.len()).unwrap_or(u32::MAX));
            let start = sample * bytes + byte;
            for row in frame_le.chunks_exact(columns * stride) {
                plane.clear();
                plane.extend(row.iter().skip(start).step_by(stride));
                pack_bits(&plane, &mut out);
            }
            if out.len() % 2 == 1 {
                out.push(0);
            }
        }
    }
    let count = u32::try_from(segments).expect("at most 15 segments");
    out[0..4].copy_from_slice(&count.to_le_bytes());
    for (slot, offset) in offsets.iter().enumerate() {
        let at = 4 + slot * 4;
        out[at..at + 4].copy_from_slice(&offset.to_le_bytes());
    }
    Ok(out)
}

/// PackBits one row: replicate runs of two or more equal bytes, literal runs otherwise.
fn pack_bits(row: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < row.len() {
        let run = run_length(row, i);
        if run >= 2 {
            // Header −(n−1) as a two's-complement byte (PS3.5 §G.3.1).
            out.push((257 - run) as u8);
            out.push(row[i]);
            i += run;
        } else {
            let start = i;
            while i < row.len() && i - start < MAX_RUN && run_length(row, i) < 2 {
                i += 1;
            }
            out.push((i - start - 1) as u8);
            out.extend_from_slice(&row[start..i]);
        }
    }
}

fn run_length(row: &[u8], at: usize) -> usize {
    let value = row[at];
    row[at..]
        .iter()
        .take(MAX_RUN)
        .take_while(|&&b| b == value)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reference PackBits decoder, independent of the encoder's logic.
    fn unpack(segment: &[u8], len: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let mut i = 0;
        while out.len() < len {
            let h = segment[i] as i8;
            i += 1;
            if h >= 0 {
                let n = h as usize + 1;
                out.extend_from_slice(&segment[i..i + n]);
                i += n;
            } else if h != -128 {
                let n = (-(h as i16)) as usize + 1;
                out.extend(std::iter::repeat_n(segment[i], n));
                i += 1;
            }
        }
        out
    }

    #[test]
    fn header_and_segments_round_trip_16_bit() {
        let values: Vec<u16> = (0..300u32).map(|v| ((v / 7) * 300 % 4096) as u16).collect();
        let le: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let layout = FrameLayout {
            rows: 15,
            columns: 20,
            samples_per_pixel: 1,
            bytes_per_sample: 2,
        };
        let enc = encode_frame(&le, layout).expect("valid layout");
        assert_eq!(
            u32::from_le_bytes(enc[0..4].try_into().expect("4 bytes")),
            2
        );
        let off1 = u32::from_le_bytes(enc[4..8].try_into().expect("4 bytes")) as usize;
        let off2 = u32::from_le_bytes(enc[8..12].try_into().expect("4 bytes")) as usize;
        assert_eq!(off1, 64);
        assert_eq!(off2 % 2, 0);
        assert_eq!(enc.len() % 2, 0);
        let high = unpack(&enc[off1..off2], 300);
        let low = unpack(&enc[off2..], 300);
        let decoded: Vec<u16> = high
            .iter()
            .zip(&low)
            .map(|(h, l)| u16::from_be_bytes([*h, *l]))
            .collect();
        assert_eq!(decoded, values);
    }

    #[test]
    fn runs_never_cross_rows_and_long_runs_split() {
        let layout = FrameLayout {
            rows: 2,
            columns: 200,
            samples_per_pixel: 1,
            bytes_per_sample: 1,
        };
        let enc = encode_frame(&[9u8; 400], layout).expect("valid layout");
        // Per row: 128 + 72 replicate runs = 4 bytes; two rows = 8 bytes after the header.
        assert_eq!(&enc[64..], &[129, 9, 185, 9, 129, 9, 185, 9]);
    }

    #[test]
    fn wrong_length_is_an_error() {
        let layout = FrameLayout {
            rows: 2,
            columns: 2,
            samples_per_pixel: 1,
            bytes_per_sample: 2,
        };
        assert_eq!(
            encode_frame(&[0; 3], layout),
            Err(RleError::WrongLength {
                expected: 8,
                actual: 3
            })
        );
    }
}
