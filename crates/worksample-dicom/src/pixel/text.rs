//! Burned-in annotation: text drawn into the pixels, as on screen captures and some
//! ultrasound/CR images (Burned In Annotation (0028,0301), PS3.3 C.7.6.1.1.4), and the rectangle
//! a de-identifier must blank.
//!
//! The glyphs are a hand-drawn 5×7 table for `A–Z 0–9 ^ - . : /` and space: the `font8x8` crate
//! is not available here and no other maintained crate fits a tiny bitmap font. Other characters
//! draw as a hollow box, lowercase as uppercase.

use super::{Photometric, PixelData, PixelValues};

/// Text to burn in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BurnedInText {
    /// Lines, top to bottom.
    pub lines: Vec<String>,
    /// Top-left corner of the first glyph cell: (row, column).
    pub origin: (u16, u16),
    /// Each glyph pixel becomes a `scale × scale` block (0 is treated as 1).
    pub scale: u16,
}

/// A pixel rectangle: top-left (`row`, `col`) and size. Empty when `rows` or `columns` is 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskRect {
    /// First row.
    pub row: u16,
    /// First column.
    pub col: u16,
    /// Height in pixels.
    pub rows: u16,
    /// Width in pixels.
    pub columns: u16,
}

const GLYPH_W: u64 = 5;
const GLYPH_H: usize = 7;
/// Glyph cell including one column and two rows of spacing.
const CELL_W: u64 = 6;
const CELL_H: u64 = 9;

/// Seven rows of five bits, most significant of the five leftmost.
fn glyph(c: char) -> [u8; GLYPH_H] {
    match c.to_ascii_uppercase() {
        'A' => [0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'B' => [0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E],
        'C' => [0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E],
        'D' => [0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E],
        'E' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F],
        'F' => [0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10],
        'G' => [0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F],
        'H' => [0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11],
        'I' => [0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E],
        'J' => [0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C],
        'K' => [0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11],
        'L' => [0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F],
        'M' => [0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11],
        'N' => [0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11],
        'O' => [0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'P' => [0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10],
        'Q' => [0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D],
        'R' => [0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11],
        'S' => [0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E],
        'T' => [0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04],
        'U' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E],
        'V' => [0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04],
        'W' => [0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A],
        'X' => [0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11],
        'Y' => [0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04],
        'Z' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F],
        '0' => [0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E],
        '1' => [0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E],
        '2' => [0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F],
        '3' => [0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E],
        '4' => [0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02],
        '5' => [0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E],
        '6' => [0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E],
        '7' => [0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08],
        '8' => [0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E],
        '9' => [0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C],
        '^' => [0x04, 0x0A, 0x11, 0x00, 0x00, 0x00, 0x00],
        '-' => [0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00],
        '.' => [0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C],
        ':' => [0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00],
        '/' => [0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00],
        ' ' => [0x00; 7],
        _ => [0x1F, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1F],
    }
}

/// Draws `text` into every frame of `pixels` and returns the bounding rectangle of the pixels
/// drawn (clipped to the image; empty if nothing landed inside it).
///
/// Glyph pixels get the stored value displayed as white: the maximum stored value for
/// MONOCHROME2, the minimum for MONOCHROME1 (PS3.3 C.7.6.3.1.2), as scanners burn annotations.
/// Out-of-range origins and overlong lines are clipped, never a panic.
pub fn burn_in(pixels: &mut PixelData, text: &BurnedInText) -> MaskRect {
    let (lo, hi) = pixels.stored.stored_range();
    let ink = match pixels.stored.photometric {
        Photometric::Monochrome2 => hi,
        Photometric::Monochrome1 => lo,
    };
    // u64 so that many long lines at a large scale cannot overflow.
    let (rows, columns) = (u64::from(pixels.rows), u64::from(pixels.columns));
    let scale = u64::from(text.scale.max(1));
    let (r0, c0) = (u64::from(text.origin.0), u64::from(text.origin.1));
    // Bounding box as (min row, min col, max row, max col), inclusive.
    let mut bbox: Option<(u64, u64, u64, u64)> = None;
    let mut targets = Vec::new();
    for (li, line) in (0u64..).zip(&text.lines) {
        for (ci, ch) in (0u64..).zip(line.chars()) {
            let bits = glyph(ch);
            for (gy, row_bits) in (0u64..).zip(bits) {
                for gx in 0..GLYPH_W {
                    if row_bits & (1 << (GLYPH_W - 1 - gx)) == 0 {
                        continue;
                    }
                    let top = r0 + (li * CELL_H + gy) * scale;
                    let left = c0 + (ci * CELL_W + gx) * scale;
                    for r in top..(top + scale).min(rows) {
                        for c in left..(left + scale).min(columns) {
                            targets.push(r * columns + c);
                            bbox = Some(match bbox {
                                None => (r, c, r, c),
                                Some((a, b, d, e)) => (a.min(r), b.min(c), d.max(r), e.max(c)),
                            });
                        }
                    }
                }
            }
        }
    }
    let frame_len = (rows * columns) as usize;
    for frame in 0..pixels.frames as usize {
        let base = frame * frame_len;
        for &t in &targets {
            let i = base + t as usize;
            // The ink is inside the stored range, which the buffer type holds (a signed 8-bit
            // value keeps its two's-complement bit pattern in `U8`); `get_mut` keeps a buffer
            // shorter than its declared size from panicking.
            match &mut pixels.values {
                PixelValues::U8(v) => v.get_mut(i).map(|x| *x = ink as u8),
                PixelValues::U16(v) => v.get_mut(i).map(|x| *x = ink as u16),
                PixelValues::I16(v) => v.get_mut(i).map(|x| *x = ink as i16),
            };
        }
    }
    match bbox {
        None => MaskRect {
            row: text.origin.0.min(pixels.rows),
            col: text.origin.1.min(pixels.columns),
            rows: 0,
            columns: 0,
        },
        // Every coordinate is below `rows`/`columns`, which came from u16.
        Some((a, b, d, e)) => MaskRect {
            row: a as u16,
            col: b as u16,
            rows: (d - a + 1) as u16,
            columns: (e - b + 1) as u16,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Noise, Phantom, SamplingGrid, StoredValues, render_slice};
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn flat(rows: u16, columns: u16, stored: StoredValues) -> PixelData {
        let grid = SamplingGrid {
            rows,
            columns,
            origin: [0.0; 3],
            row_dir: [1.0, 0.0, 0.0],
            col_dir: [0.0, 1.0, 0.0],
            spacing: [1.0, 1.0],
        };
        render_slice(
            &Phantom::Flat { value: 40.0 },
            &grid,
            &stored,
            Noise::None,
            &mut ChaCha8Rng::seed_from_u64(0),
        )
    }

    /// Bounding box of the pixels that differ, as a MaskRect.
    fn changed(before: &PixelData, after: &PixelData) -> MaskRect {
        let mut bbox: Option<(u16, u16, u16, u16)> = None;
        for r in 0..before.rows {
            for c in 0..before.columns {
                if before.get(0, r, c) != after.get(0, r, c) {
                    bbox = Some(bbox.map_or((r, c, r, c), |(a, b, d, e)| {
                        (a.min(r), b.min(c), d.max(r), e.max(c))
                    }));
                }
            }
        }
        bbox.map_or(
            MaskRect {
                row: 0,
                col: 0,
                rows: 0,
                columns: 0,
            },
            |(a, b, d, e)| MaskRect {
                row: a,
                col: b,
                rows: d - a + 1,
                columns: e - b + 1,
            },
        )
    }

    #[test]
    fn mask_covers_exactly_the_changed_pixels() {
        let before = flat(64, 96, StoredValues::ct_unsigned_12());
        let mut after = before.clone();
        let text = BurnedInText {
            lines: vec!["DOE^JANE".to_owned(), "MRN: 12-345/6.".to_owned()],
            origin: (5, 3),
            scale: 1,
        };
        let rect = burn_in(&mut after, &text);
        assert_eq!(rect, changed(&before, &after));
        // Glyphs start in the first row and column of their cell ('D' and 'M' have a left stem).
        assert_eq!((rect.row, rect.col), (5, 3));
        assert_eq!(after.get(0, 5, 3), Some(4095));
    }

    #[test]
    fn scaled_text_is_clipped_at_the_image_edge() {
        let before = flat(20, 30, StoredValues::ct_signed_16());
        let mut after = before.clone();
        let text = BurnedInText {
            lines: vec!["WWWWWW".to_owned()],
            origin: (10, 4),
            scale: 3,
        };
        let rect = burn_in(&mut after, &text);
        assert_eq!(rect, changed(&before, &after));
        assert_eq!((rect.row + rect.rows, rect.col + rect.columns), (20, 30));
        assert_eq!(after.get(0, 10, 4), Some(32767));
    }

    #[test]
    fn monochrome1_text_uses_the_minimum_and_empty_text_changes_nothing() {
        let mut sv = StoredValues::dx(12, Photometric::Monochrome1);
        sv.rescale_intercept = 0.0;
        let before = flat(16, 16, sv);
        let mut after = before.clone();
        let rect = burn_in(
            &mut after,
            &BurnedInText {
                lines: vec!["I".to_owned()],
                origin: (1, 1),
                scale: 1,
            },
        );
        assert_eq!(rect, changed(&before, &after));
        assert_eq!(after.get(0, 1, 2), Some(0));
        let mut untouched = before.clone();
        let empty = burn_in(
            &mut untouched,
            &BurnedInText {
                lines: vec![" ".to_owned()],
                origin: (90, 2),
                scale: 2,
            },
        );
        assert_eq!((empty.rows, empty.columns), (0, 0));
        assert_eq!(untouched, before);
    }
}
