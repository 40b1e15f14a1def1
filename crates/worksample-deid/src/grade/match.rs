//! Matching output files to input files by content, never by the candidate's maps or UIDs
//! (research/deid.md §2.2 and §4.4 pre-step): images by the SHA-256 of their pixel rows below
//! the burned-in band (the generator makes these unique), other objects by an attribute the
//! profile keeps and the generator made unique. Images whose pixels were altered (re-encoded,
//! wholly zeroed) get a second chance by header: SOP Class, size, frames, Series and Instance
//! Number, when that names exactly one leftover input and one leftover output.

use std::collections::BTreeMap;
use std::path::Path;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use sha2::{Digest, Sha256};
use worksample_dicom::read::{ReadLimits, read_header};

use super::inventory::OutputInfo;
use super::text;
use crate::contract::text_band;
use crate::key::{Fingerprint, Key};
use crate::paths::AttrPath;

/// The header fields of the fallback match.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct HeaderKey {
    /// SOP Class UID, Rows, Columns, Number of Frames, Series Number, Instance Number.
    fields: [Option<String>; 6],
}

impl HeaderKey {
    /// The key of a data set; `None` fields where absent.
    pub fn of(obj: &InMemDicomObject) -> Self {
        let tags = [
            tags::SOP_CLASS_UID,
            tags::ROWS,
            tags::COLUMNS,
            tags::NUMBER_OF_FRAMES,
            tags::SERIES_NUMBER,
            tags::INSTANCE_NUMBER,
        ];
        HeaderKey {
            fields: tags.map(|t| text(obj, t)),
        }
    }

    /// Whether the key is specific enough to match on: an image with an Instance Number.
    fn usable(&self) -> bool {
        self.fields[1].is_some() && self.fields[5].is_some()
    }

    /// 128 bits of the SHA-256 of the fields, each absent or length-prefixed: what an output
    /// keeps of its header key until matching, instead of six strings.
    pub fn digest(&self) -> HeaderDigest {
        let mut hasher = Sha256::new();
        for field in &self.fields {
            match field {
                None => hasher.update([0]),
                Some(v) => {
                    hasher.update([1]);
                    hasher.update((v.len() as u64).to_le_bytes());
                    hasher.update(v.as_bytes());
                }
            }
        }
        let full: [u8; 32] = hasher.finalize().into();
        let mut out = [0; 16];
        out.copy_from_slice(&full[..16]);
        HeaderDigest(out)
    }
}

/// The digest of a [`HeaderKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct HeaderDigest([u8; 16]);

/// The match of one submission.
#[derive(Debug, Clone, Default)]
pub(crate) struct Matched {
    /// For each key file, the index of its output in the inventory.
    pub output_of: Vec<Option<usize>>,
    /// Outputs that match an input already matched by another output (a duplicate), each with
    /// that input's index in the key: (output, input).
    pub duplicates: Vec<(usize, usize)>,
    /// Outputs that match no input.
    pub unmatched_outputs: Vec<usize>,
}

/// The fingerprint of an image as the key defines it ([`Fingerprint::PixelRows`]): SHA-256 of
/// the native Pixel Data rows from ⌈Rows / 8⌉ on, frame by frame. `None` without usable pixels.
pub fn pixel_fingerprint(obj: &InMemDicomObject) -> Option<[u8; 32]> {
    let number = |tag: Tag| -> Option<usize> { text(obj, tag)?.trim().parse().ok() };
    let rows = number(tags::ROWS)?;
    let columns = number(tags::COLUMNS)?;
    let bits = number(tags::BITS_ALLOCATED)?;
    let samples = number(tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let frames = number(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let bytes = obj.get(tags::PIXEL_DATA)?.value().to_bytes().ok()?;
    let row_len = columns
        .checked_mul(samples)?
        .checked_mul(bits.div_ceil(8))?;
    let frame_len = row_len.checked_mul(rows)?;
    let band = usize::from(text_band(u16::try_from(rows).ok()?).end);
    if frame_len == 0 || bytes.len() < frame_len.checked_mul(frames)? {
        return None;
    }
    let mut hasher = Sha256::new();
    for f in 0..frames {
        let frame = &bytes[f * frame_len..(f + 1) * frame_len];
        hasher.update(&frame[band * row_len..]);
    }
    Some(hasher.finalize().into())
}

/// The distinct attribute-fingerprint paths of the key, in first-seen order.
pub(crate) fn attribute_paths(key: &Key) -> Vec<AttrPath> {
    let mut out: Vec<AttrPath> = Vec::new();
    for f in &key.files {
        if let Fingerprint::Attribute { path, .. } = &f.fingerprint
            && !out.contains(path)
        {
            out.push(path.clone());
        }
    }
    out
}

/// Matches every output to at most one input and every input to at most one output.
pub(crate) fn match_outputs(
    key: &Key,
    fixtures: &Path,
    outputs: &[OutputInfo],
    notes: &mut Vec<String>,
) -> Matched {
    let paths = attribute_paths(key);
    let mut by_pixels: BTreeMap<[u8; 32], usize> = BTreeMap::new();
    let mut by_attribute: BTreeMap<(usize, &str), usize> = BTreeMap::new();
    for (i, f) in key.files.iter().enumerate() {
        match &f.fingerprint {
            Fingerprint::PixelRows { sha256 } => {
                by_pixels.insert(*sha256, i);
            }
            Fingerprint::Attribute { path, value } => {
                if let Some(p) = paths.iter().position(|q| q == path) {
                    by_attribute.insert((p, value.trim_end_matches([' ', '\0'])), i);
                }
            }
        }
    }
    let mut matched = Matched {
        output_of: vec![None; key.files.len()],
        ..Matched::default()
    };
    let mut leftover = Vec::new();
    for (o, out) in outputs.iter().enumerate() {
        let by_content = out
            .pixel_fingerprint
            .and_then(|fp| by_pixels.get(&fp).copied())
            .or_else(|| {
                out.attributes.iter().enumerate().find_map(|(p, v)| {
                    v.as_deref()
                        .and_then(|v| by_attribute.get(&(p, v)).copied())
                })
            });
        match by_content {
            Some(i) if matched.output_of[i].is_none() => matched.output_of[i] = Some(o),
            Some(i) => matched.duplicates.push((o, i)),
            None => leftover.push(o),
        }
    }
    // Fallback by header for images whose pixels changed everywhere.
    let unmatched_inputs: Vec<usize> = (0..key.files.len())
        .filter(|i| matched.output_of[*i].is_none())
        .collect();
    let mut by_header_matches = 0;
    if !leftover.is_empty() && !unmatched_inputs.is_empty() {
        let mut inputs_by_header: BTreeMap<HeaderDigest, Vec<usize>> = BTreeMap::new();
        for i in unmatched_inputs {
            let path = fixtures.join(&key.files[i].path);
            if let Ok(file) = read_header(&path, &ReadLimits::default()) {
                let h = HeaderKey::of(&file.dataset);
                if h.usable() {
                    inputs_by_header.entry(h.digest()).or_default().push(i);
                }
            }
        }
        let mut outputs_by_header: BTreeMap<HeaderDigest, Vec<usize>> = BTreeMap::new();
        for &o in &leftover {
            outputs_by_header
                .entry(outputs[o].header)
                .or_default()
                .push(o);
        }
        leftover.retain(|o| {
            let h = &outputs[*o].header;
            match (inputs_by_header.get(h), outputs_by_header.get(h)) {
                (Some(ins), Some(outs)) if ins.len() == 1 && outs.len() == 1 => {
                    matched.output_of[ins[0]] = Some(*o);
                    by_header_matches += 1;
                    false
                }
                _ => true,
            }
        });
    }
    if by_header_matches > 0 {
        notes.push(format!(
            "{by_header_matches} output image(s) matched their input by header only: their pixels outside the burned-in band changed"
        ));
    }
    matched.unmatched_outputs = leftover;
    matched
}

#[cfg(test)]
mod tests {
    use dicom_core::{DataElement, PrimitiveValue, VR};

    use super::*;

    fn image(pixels: Vec<u8>) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        for (tag, v) in [
            (tags::ROWS, 16u16),
            (tags::COLUMNS, 2),
            (tags::BITS_ALLOCATED, 8),
        ] {
            obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
        }
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(pixels),
        ));
        obj
    }

    #[test]
    fn the_fingerprint_ignores_the_band_and_nothing_else() {
        let pixels: Vec<u8> = (0..32).collect();
        let base = pixel_fingerprint(&image(pixels.clone())).expect("fingerprint");
        let mut blanked = pixels.clone();
        blanked[..4].fill(0); // rows 0..2 of 16 are the band
        assert_eq!(pixel_fingerprint(&image(blanked)), Some(base));
        let mut below = pixels;
        below[4] ^= 1;
        assert_ne!(pixel_fingerprint(&image(below)), Some(base));
        assert_eq!(pixel_fingerprint(&image(vec![0; 8])), None, "too short");
    }
}
