//! The assessor figures of the `deid` grade: what a debrief points at.
//! - Burned-in bands before and after: for each image the key marks as carrying burned-in text
//!   (tasks/deid/brief.md question 7), the text band of the input and of its matched output,
//!   cropped and enlarged, the output marked when text pixels survive; a lost image is one tile
//!   marked missing.
//! - Leaks on the attribute tree: for the output files with the most leaked identifiers, where
//!   each leak sits, sequence steps nested (PS3.5 §7.5), the leaked element marked with its
//!   identifier class.
//!
//! A picture of the data must not re-publish what the candidate was asked to remove, so every
//! identifier the set planted is masked to its first two characters wherever it would appear in
//! a figure (file names included: the generator plants identifiers in those too); the findings
//! name each leaked value in full, since that is the evidence, and the caption says so. Figures never fail grading:
//! an image that cannot be previewed is left out and the caption says so.

use std::collections::BTreeSet;
use std::path::Path;

use dicom_core::Tag;
use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
use dicom_dictionary_std::{StandardDataDictionary, tags};
use dicom_object::InMemDicomObject;
use worksample_dicom::preview::{Slice, Thumbnail};
use worksample_dicom::read::{ReadLimits, read_full};
use worksample_task::rubric::figure::TreeNode;
use worksample_task::rubric::{Figure, FigureKind, Mark, MarkKind, PngImage, Tile};

use super::inventory::{self, Inventory, LeakTally};
use super::matching::Matched;
use super::text;
use crate::contract::text_band;
use crate::key::Key;
use crate::leak::{Leak, LeakSite};
use crate::paths::ElementKey;
use crate::planted::Registry;

/// Output files shown on the leak tree; the rest are counted in the caption.
pub(crate) const LEAK_FILES_SHOWN: usize = 8;

/// Burned-in images shown; the rest are counted in the last caption.
const BURNED_SHOWN: usize = 8;

/// Characters of an identifier left visible.
const KEPT_CHARS: usize = 2;

/// Longest side of a band crop before enlarging; wider images are averaged down to it.
const CROP_MAX_SIDE: u32 = 512;

/// Width a band crop is enlarged towards, by a whole factor, so 5-pixel text is legible.
const CROP_TARGET_WIDTH: u32 = 256;

/// Largest enlargement factor.
const MAX_ZOOM: u32 = 8;

/// Share of text pixels that may survive with full credit: the grader's threshold (privacy's
/// band check gives full credit at 99% blanked).
const SURVIVOR_TOLERANCE: f64 = 0.01;

/// Every figure of one graded submission: the burned-in bands, then the leak tree (when
/// anything leaked).
pub(crate) fn figures(
    key: &Key,
    fixtures: &Path,
    submission: &Path,
    inventory: &Inventory,
    matched: &Matched,
) -> Vec<Figure> {
    let mut out = burned_in_figures(key, fixtures, submission, inventory, matched);
    out.extend(leak_figure(&key.registry, &inventory.leaks));
    out
}

/// One figure per burned-in input (up to [`BURNED_SHOWN`]), read again from the trusted fixtures
/// and the submission: a handful of small secondary captures, so re-reading is cheaper than
/// holding every image's pixels through the grading pass.
fn burned_in_figures(
    key: &Key,
    fixtures: &Path,
    submission: &Path,
    inventory: &Inventory,
    matched: &Matched,
) -> Vec<Figure> {
    let burned: Vec<usize> = (0..key.files.len())
        .filter(|&i| key.files[i].burned_in)
        .collect();
    let mut figures = Vec::new();
    let mut left_out = 0usize;
    for &i in burned.iter().take(BURNED_SHOWN) {
        let file = &key.files[i];
        let input = worksample_task::submission::safe_relative(&file.path)
            .ok()
            .and_then(|rel| read_full(&fixtures.join(rel), &ReadLimits::default()).ok());
        let Some(input) = input else {
            left_out += 1;
            continue;
        };
        let output = matched
            .output_of
            .get(i)
            .copied()
            .flatten()
            .and_then(|o| inventory.outputs.get(o))
            .and_then(|info| {
                inventory::read_output(submission, &info.rel)
                    .ok()
                    .map(|(_, dicom)| (info.rel.clone(), dicom))
            });
        let figure = band_figure(
            figures.len(),
            &key.registry,
            &file.path,
            &input.dataset,
            output.as_ref().map(|(rel, f)| (rel.as_str(), &f.dataset)),
        );
        match figure {
            Some(f) => figures.push(f),
            None => left_out += 1,
        }
    }
    let more = burned.len().saturating_sub(BURNED_SHOWN);
    if let Some(last) = figures.last_mut() {
        if more > 0 {
            last.caption
                .push_str(&format!(" {more} more burned-in images are not shown."));
        }
        if left_out > 0 {
            last.caption.push_str(&format!(
                " {left_out} burned-in images could not be previewed and are left out."
            ));
        }
    }
    figures
}

/// The band of one burned-in input beside the band of its output; `None` when the input cannot
/// be previewed.
fn band_figure(
    index: usize,
    registry: &Registry,
    input_file: &str,
    input: &InMemDicomObject,
    output: Option<(&str, &InMemDicomObject)>,
) -> Option<Figure> {
    let input_file = mask_identifiers(input_file, registry);
    let before = Slice::from_dataset(input).ok()?;
    let rows = before.rows;
    let band = text_band(rows).end;
    // A margin below the band shows where the band ends and that the image goes on unchanged.
    let crop_rows = (band + (band / 2).max(2)).min(rows);
    let window = before.display_window();
    let before_tile = Tile {
        label: "input".to_owned(),
        image: band_png(
            &before,
            crop_rows,
            window,
            format!("text band of input {input_file}, rows 0 to {crop_rows} of {rows}"),
        )?,
        marks: Vec::new(),
    };
    let mut tiles = vec![before_tile];
    let mut notes = Vec::new();
    let title = format!("Burned-in band of {input_file}");
    match output {
        None => {
            tiles[0].marks.push(Mark {
                kind: MarkKind::Missing,
                note: "no output matched this input".to_owned(),
            });
        }
        Some((rel, out)) => {
            let rel = mask_identifiers(rel, registry);
            let mut marks = Vec::new();
            match band_survivors(input, out) {
                Ok((survivors, total)) => {
                    let share = if total == 0 {
                        0.0
                    } else {
                        survivors as f64 / total as f64
                    };
                    let said = format!(
                        "{survivors} of {total} text pixels survive ({:.1}%)",
                        share * 100.0
                    );
                    if share > SURVIVOR_TOLERANCE {
                        marks.push(Mark {
                            kind: MarkKind::Wrong,
                            note: said,
                        });
                    } else {
                        notes.push(format!("Output `{rel}`: {said}."));
                    }
                }
                Err(why) => marks.push(Mark {
                    kind: MarkKind::Wrong,
                    note: format!("band not comparable ({why}); graded as not blanked"),
                }),
            }
            let after = Slice::from_dataset(out).ok().and_then(|s| {
                // The input's window on both sides: the same grey is the same value.
                band_png(
                    &s,
                    crop_rows.min(s.rows),
                    window,
                    format!("text band of output {rel}, rows 0 to {crop_rows}"),
                )
            });
            match after {
                Some(image) => tiles.push(Tile {
                    label: "output".to_owned(),
                    image,
                    marks,
                }),
                None => {
                    notes.push(format!("Output `{rel}` could not be previewed."));
                    tiles[0].marks.extend(marks);
                }
            }
            if !notes.iter().any(|n| n.starts_with("Output")) {
                notes.push(format!("Output `{rel}`."));
            }
        }
    }
    let mut caption = format!(
        "Rows 0 to {} are the text band (⌈Rows / 8⌉ of {rows}, brief question 7), shown with {} rows below it, first frame, enlarged; both sides in the input's display window. Marked when more than {:.0}% of the input's text pixels are not 0 in the output (the grader's full-credit line), or when the input lost its output.",
        band.saturating_sub(1),
        crop_rows - band,
        SURVIVOR_TOLERANCE * 100.0
    );
    for n in notes {
        caption.push(' ');
        caption.push_str(&n);
    }
    Some(Figure::new(
        format!("burned-in-{index}"),
        title,
        caption,
        FigureKind::Strip { tiles },
    ))
}

/// The top `crop_rows` rows of `slice` in `window`, averaged down to [`CROP_MAX_SIDE`] when
/// wider and enlarged by a whole factor towards [`CROP_TARGET_WIDTH`] (nearest neighbour, so
/// pixels stay sharp).
fn band_png(
    slice: &Slice,
    crop_rows: u16,
    window: worksample_dicom::preview::Window,
    alt: String,
) -> Option<PngImage> {
    let columns = usize::from(slice.columns);
    let keep = usize::from(crop_rows) * columns;
    if crop_rows == 0 || slice.stored.len() < keep {
        return None;
    }
    let crop = Slice {
        rows: crop_rows,
        stored: slice.stored[..keep].to_vec(),
        window: Some(window),
        ..slice.clone()
    };
    let small = crop.thumbnail(CROP_MAX_SIDE);
    let zoom = (CROP_TARGET_WIDTH / small.width.max(1)).clamp(1, MAX_ZOOM);
    let big = enlarge(&small, zoom);
    let bytes = big.to_png().ok()?;
    Some(PngImage {
        width: big.width,
        height: big.height,
        alt,
        bytes,
    })
}

/// Each pixel repeated `zoom` times across and down.
fn enlarge(t: &Thumbnail, zoom: u32) -> Thumbnail {
    let (w, z) = (t.width as usize, zoom as usize);
    let mut grey = Vec::with_capacity(t.grey.len() * z * z);
    for row in t.grey.chunks(w.max(1)) {
        let wide: Vec<u8> = row
            .iter()
            .flat_map(|g| std::iter::repeat_n(*g, z))
            .collect();
        for _ in 0..z {
            grey.extend_from_slice(&wide);
        }
    }
    Thumbnail {
        width: t.width * zoom,
        height: t.height * zoom,
        grey,
    }
}

/// Text pixels of the band that are not 0 in the output, over every frame, and how many text
/// pixels there were: the input's non-zero band pixels, or the whole band when the input's band
/// was blank (the measure of privacy's band check, counted instead of scored).
fn band_survivors(
    input: &InMemDicomObject,
    output: &InMemDicomObject,
) -> Result<(usize, usize), String> {
    let number = |tag: Tag| -> Option<usize> { text(input, tag)?.trim().parse().ok() };
    let (Some(rows), Some(columns), Some(bits)) = (
        number(tags::ROWS),
        number(tags::COLUMNS),
        number(tags::BITS_ALLOCATED),
    ) else {
        return Err("Rows, Columns or Bits Allocated missing".to_owned());
    };
    let unit = (number(tags::SAMPLES_PER_PIXEL).unwrap_or(1) * bits.div_ceil(8)).max(1);
    let frames = number(tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let pixels = |o: &InMemDicomObject| {
        o.get(tags::PIXEL_DATA)
            .and_then(|e| e.value().to_bytes().ok().map(|b| b.into_owned()))
    };
    let (Some(before), Some(after)) = (pixels(input), pixels(output)) else {
        return Err("native Pixel Data missing".to_owned());
    };
    let band = usize::from(text_band(u16::try_from(rows).unwrap_or(u16::MAX)).end);
    let frame_len = rows * columns * unit;
    // (text pixels surviving, text pixels, band pixels surviving, band pixels)
    let (mut text_kept, mut text_total, mut kept, mut total) = (0usize, 0usize, 0usize, 0usize);
    for f in 0..frames {
        let start = f * frame_len;
        let end = start + band * columns * unit;
        let (Some(b), Some(a)) = (before.get(start..end), after.get(start..end)) else {
            return Err("Pixel Data shorter than its frames".to_owned());
        };
        for (pb, pa) in b.chunks(unit).zip(a.chunks(unit)) {
            let survives = pa.iter().any(|x| *x != 0);
            total += 1;
            kept += usize::from(survives);
            if pb.iter().any(|x| *x != 0) {
                text_total += 1;
                text_kept += usize::from(survives);
            }
        }
    }
    Ok(if text_total > 0 {
        (text_kept, text_total)
    } else {
        (kept, total)
    })
}

/// The leak tree: one root per output file with leaks, most serious first, up to
/// [`LEAK_FILES_SHOWN`]; `None` when nothing leaked.
fn leak_figure(registry: &Registry, leaks: &LeakTally) -> Option<Figure> {
    let total_files = leaks.files();
    if total_files == 0 {
        return None;
    }
    let roots: Vec<TreeNode> = leaks
        .worst()
        .iter()
        .map(|f| {
            let ls: Vec<&Leak> = f.leaks.iter().collect();
            file_tree(registry, &f.file, &ls)
        })
        .collect();
    let mut caption = format!(
        "Where planted identifiers survive in each output file, most serious first: attribute paths with each sequence item one level deeper (the path notation of the findings), the leaked element marked with its identifier class; identifiers found only in the raw bytes (binary or undecodable elements) or in the file's path are listed as such. Every planted identifier is masked to its first {KEPT_CHARS} characters in this figure, file names included; the findings name them in full, as the evidence of each leak."
    );
    if total_files > LEAK_FILES_SHOWN {
        caption.push_str(&format!(
            " {} more output files with leaks are not shown.",
            total_files - LEAK_FILES_SHOWN
        ));
    }
    Some(Figure::new(
        "leaks",
        format!("Leaked identifiers on the attribute tree ({total_files} files)"),
        caption,
        FigureKind::Tree { roots },
    ))
}

/// The tree of one output file's leaks.
fn file_tree(registry: &Registry, file: &str, leaks: &[&Leak]) -> TreeNode {
    let describe = |l: &Leak| {
        let what = registry
            .get(&l.value)
            .map_or("identifier", |p| p.what.as_str());
        format!("{} `{}` ({what})", l.class, mask(&l.value))
    };
    // In attribute order: the path text orders by tag, top-level before nested at each tag.
    let mut sorted: Vec<(u8, String, &Leak)> = leaks
        .iter()
        .map(|l| match &l.site {
            LeakSite::Value(path) => (0, path.to_string(), *l),
            LeakSite::Bytes { offset } => (1, format!("{offset:020}"), *l),
            LeakSite::Inflated { offset } => (1, format!("i{offset:020}"), *l),
            LeakSite::Path => (2, String::new(), *l),
            LeakSite::Pixels => (3, String::new(), *l),
        })
        .collect();
    sorted.sort_by(|a, b| (a.0, &a.1, &a.2.value).cmp(&(b.0, &b.1, &b.2.value)));
    let sorted: Vec<&Leak> = sorted.into_iter().map(|(_, _, l)| l).collect();
    let in_values: BTreeSet<&str> = sorted
        .iter()
        .filter(|l| matches!(l.site, LeakSite::Value(_)))
        .map(|l| l.value.as_str())
        .collect();
    let mut root = TreeNode::new(mask_identifiers(file, registry));
    for l in &sorted {
        match &l.site {
            LeakSite::Value(path) => {
                let mut node = &mut root;
                for (key, item) in path.steps() {
                    let label = format!("{key}[{item}] {}", keyword(key));
                    let label = label.trim_end();
                    node = child(node, mask_identifiers(label, registry));
                }
                let label = format!("{} {}", path.leaf(), keyword(path.leaf()));
                mark(
                    child(node, mask_identifiers(label.trim_end(), registry)),
                    describe(l),
                );
            }
            LeakSite::Bytes { offset } | LeakSite::Inflated { offset } => {
                // Also found in a decoded value: the tree already shows where.
                if in_values.contains(l.value.as_str()) {
                    continue;
                }
                let bytes = match l.site {
                    LeakSite::Inflated { .. } => "inflated data set",
                    LeakSite::Value(_)
                    | LeakSite::Bytes { .. }
                    | LeakSite::Path
                    | LeakSite::Pixels => "raw bytes",
                };
                mark(
                    child(&mut root, format!("{bytes} at offset {offset}")),
                    describe(l),
                );
            }
            LeakSite::Path => mark(child(&mut root, "file path".to_owned()), describe(l)),
            // Never among the pictured files: the burned-in band figures show these.
            LeakSite::Pixels => {}
        }
    }
    let distinct: BTreeSet<&str> = leaks.iter().map(|l| l.value.as_str()).collect();
    root.note = Some(match distinct.len() {
        1 => "1 identifier leaked".to_owned(),
        n => format!("{n} identifiers leaked"),
    });
    root
}

/// The child of `node` labelled `label`, added when missing.
fn child(node: &mut TreeNode, label: String) -> &mut TreeNode {
    let at = match node.children.iter().position(|c| c.label == label) {
        Some(at) => at,
        None => {
            node.children.push(TreeNode::new(label));
            node.children.len() - 1
        }
    };
    &mut node.children[at]
}

/// Marks a node as a leak site, adding `note` to any it already has (one element can hold two
/// identifiers).
fn mark(node: &mut TreeNode, note: String) {
    node.mark = Some(MarkKind::Wrong);
    node.note = Some(match node.note.take() {
        Some(before) if before.contains(&note) => before,
        Some(before) => format!("{before}; {note}"),
        None => note,
    });
}

/// The standard keyword of a public element (PS3.6), empty for private and unknown ones.
fn keyword(key: &ElementKey) -> &'static str {
    match key {
        ElementKey::Tag(tag) => StandardDataDictionary
            .by_tag(*tag)
            .map_or("", |e| e.alias()),
        ElementKey::Private { .. } => "",
    }
}

/// An identifier cut to its first [`KEPT_CHARS`] characters (fewer for a short one, so at most
/// half shows) and an ellipsis.
fn mask(value: &str) -> String {
    let n = value.chars().count();
    let keep = KEPT_CHARS.min(n / 2);
    let mut out: String = value.chars().take(keep).collect();
    out.push('…');
    out
}

/// `text` with every planted identifier in it masked, matched case-insensitively as the leak
/// scanner does; longer identifiers first.
fn mask_identifiers(text: &str, registry: &Registry) -> String {
    let mut values: Vec<Vec<char>> = registry
        .iter()
        .map(|p| p.value.chars().collect())
        .filter(|v: &Vec<char>| !v.is_empty())
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    let same = |a: char, b: char| a == b || a.to_lowercase().eq(b.to_lowercase());
    let mut current: Vec<char> = text.chars().collect();
    for v in &values {
        if current.len() < v.len() {
            continue;
        }
        let mut out = Vec::with_capacity(current.len());
        let mut i = 0;
        while i < current.len() {
            let hit = current
                .get(i..i + v.len())
                .is_some_and(|w| w.iter().zip(v).all(|(a, b)| same(*a, *b)));
            if hit {
                let found: String = current[i..i + v.len()].iter().collect();
                out.extend(mask(&found).chars());
                i += v.len();
            } else {
                out.push(current[i]);
                i += 1;
            }
        }
        current = out;
    }
    current.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use dicom_core::value::DataSetSequence;
    use dicom_core::{DataElement, PrimitiveValue, VR};

    use super::*;
    use crate::leak::scan_values;
    use crate::paths::AttrPath;
    use crate::planted::{IdentifierClass, Site};

    fn registry() -> Registry {
        let mut r = Registry::new();
        let site = Site::FileName {
            file: "in/1.dcm".into(),
        };
        for (value, class, what) in [
            ("QXVORAK", IdentifierClass::Direct, "patient family name"),
            ("MRN-7Q2K9", IdentifierClass::Direct, "patient id"),
            ("20190619", IdentifierClass::Date, "study date"),
        ] {
            r.plant(value, class, what, site.clone())
                .expect("plantable");
        }
        r
    }

    fn put(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
        obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
    }

    /// The labels of a tree, indented two spaces a level, with marks and notes.
    fn outline(node: &TreeNode, depth: usize, out: &mut Vec<String>) {
        let mark = node.mark.map_or("", |_| " [wrong]");
        let note = node
            .note
            .as_deref()
            .map_or(String::new(), |n| format!(": {n}"));
        out.push(format!("{}{}{mark}{note}", "  ".repeat(depth), node.label));
        for c in &node.children {
            outline(c, depth + 1, out);
        }
    }

    #[test]
    fn a_leaky_output_yields_a_tree_naming_the_path_with_values_masked() {
        let r = registry();
        let mut item = InMemDicomObject::new_empty();
        put(&mut item, tags::PATIENT_ID, VR::LO, "MRN-7Q2K9");
        let mut obj = InMemDicomObject::new_empty();
        put(&mut obj, tags::STUDY_DATE, VR::DA, "20190619");
        obj.put(DataElement::new(
            tags::REQUEST_ATTRIBUTES_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        ));
        let file = "qxvorak/1.dcm";
        let mut leaks = scan_values(file, [], &obj, &r);
        leaks.push(Leak {
            value: "QXVORAK".into(),
            class: IdentifierClass::Direct,
            file: file.into(),
            site: LeakSite::Path,
        });
        // Found by value too: not repeated as a byte hit.
        leaks.push(Leak {
            value: "MRN-7Q2K9".into(),
            class: IdentifierClass::Direct,
            file: file.into(),
            site: LeakSite::Bytes { offset: 300 },
        });
        let fig = leak_figure(&r, &LeakTally::of(&leaks)).expect("a leak figure");
        let FigureKind::Tree { roots } = &fig.kind else {
            panic!("a tree, got {:?}", fig.kind);
        };
        let mut lines = Vec::new();
        for root in roots {
            outline(root, 0, &mut lines);
        }
        assert_eq!(
            lines,
            [
                "qx…/1.dcm: 3 identifiers leaked",
                "  (0008,0020) StudyDate [wrong]: date `20…` (study date)",
                "  (0040,0275)[0] RequestAttributesSequence",
                "    (0010,0020) PatientID [wrong]: direct `MR…` (patient id)",
                "  file path [wrong]: direct `QX…` (patient family name)",
            ]
        );
        let all = format!("{fig:?}");
        for value in ["QXVORAK", "qxvorak", "MRN-7Q2K9", "20190619"] {
            assert!(!all.contains(value), "{value} re-published: {all}");
        }
    }

    #[test]
    fn a_clean_output_yields_no_leak_figure_and_many_are_capped() {
        let r = registry();
        let mut obj = InMemDicomObject::new_empty();
        put(&mut obj, tags::PATIENT_ID, VR::LO, "DEID-0001");
        put(&mut obj, tags::STUDY_DATE, VR::DA, "20170101");
        let leaks = scan_values("out/1.dcm", [], &obj, &r);
        assert!(leaks.is_empty());
        assert!(leak_figure(&r, &LeakTally::of(&leaks)).is_none());

        let many: Vec<Leak> = (0..LEAK_FILES_SHOWN + 3)
            .map(|i| Leak {
                value: "20190619".into(),
                class: IdentifierClass::Date,
                file: format!("out/{i:02}.dcm"),
                site: LeakSite::Value(AttrPath::top(ElementKey::Tag(tags::STUDY_DATE))),
            })
            .collect();
        let fig = leak_figure(&r, &LeakTally::of(&many)).expect("a leak figure");
        let FigureKind::Tree { roots } = &fig.kind else {
            panic!("a tree");
        };
        assert_eq!(roots.len(), LEAK_FILES_SHOWN);
        assert!(
            fig.caption.contains("3 more output files"),
            "{}",
            fig.caption
        );
    }

    /// A 16 × 8 8-bit image: the band (rows 0–1) holds text (255) in its first 4 columns.
    fn burned_image() -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        for (tag, v) in [
            (tags::ROWS, 16u16),
            (tags::COLUMNS, 8),
            (tags::BITS_ALLOCATED, 8),
            (tags::BITS_STORED, 8),
            (tags::SAMPLES_PER_PIXEL, 1),
        ] {
            obj.put(DataElement::new(tag, VR::US, PrimitiveValue::from(v)));
        }
        put(
            &mut obj,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2",
        );
        let mut pixels = vec![40u8; 128];
        pixels[..16].fill(0);
        pixels[..4].fill(255);
        pixels[8..12].fill(255);
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(pixels),
        ));
        obj
    }

    fn marks(fig: &Figure) -> Vec<(String, MarkKind, String)> {
        let FigureKind::Strip { tiles } = &fig.kind else {
            panic!("a strip");
        };
        tiles
            .iter()
            .flat_map(|t| {
                t.marks
                    .iter()
                    .map(|m| (t.label.clone(), m.kind, m.note.clone()))
            })
            .collect()
    }

    #[test]
    fn a_burned_in_image_left_unblanked_is_marked_wrong() {
        let r = registry();
        let input = burned_image();
        let fig = band_figure(0, &r, "sc/1.dcm", &input, Some(("out/sc1.dcm", &input)))
            .expect("previewable");
        assert_eq!(
            marks(&fig),
            [(
                "output".to_owned(),
                MarkKind::Wrong,
                "8 of 8 text pixels survive (100.0%)".to_owned()
            )]
        );
        let FigureKind::Strip { tiles } = &fig.kind else {
            panic!("a strip");
        };
        // Band of 2 rows plus a margin of 2, 8 columns enlarged 8 times.
        assert_eq!((tiles[0].image.width, tiles[0].image.height), (64, 32));
        assert_eq!(tiles.len(), 2);

        let mut blanked = input.clone();
        let mut pixels = vec![40u8; 128];
        pixels[..16].fill(0);
        blanked.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::from(pixels),
        ));
        let fig = band_figure(0, &r, "sc/1.dcm", &input, Some(("out/sc1.dcm", &blanked)))
            .expect("previewable");
        assert!(marks(&fig).is_empty(), "{:?}", marks(&fig));
        assert!(
            fig.caption.contains("0 of 8 text pixels survive"),
            "{}",
            fig.caption
        );
    }

    #[test]
    fn a_lost_burned_in_image_is_one_tile_marked_missing() {
        let r = registry();
        let fig = band_figure(1, &r, "QXVORAK/sc.dcm", &burned_image(), None).expect("previewable");
        assert_eq!(
            marks(&fig),
            [(
                "input".to_owned(),
                MarkKind::Missing,
                "no output matched this input".to_owned()
            )]
        );
        assert_eq!(fig.title, "Burned-in band of QX…/sc.dcm");
        let mut odd = burned_image();
        put(
            &mut odd,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "PALETTE COLOR",
        );
        assert!(
            band_figure(1, &r, "x", &odd, None).is_none(),
            "left out, no error"
        );
    }

    #[test]
    fn masking_keeps_two_characters_and_never_half_of_a_short_value() {
        assert_eq!(mask("QXVORAK"), "QX…");
        assert_eq!(mask("ABC"), "A…");
        assert_eq!(
            mask_identifiers("a/Qxvorak_MRN-7Q2K9x.dcm", &registry()),
            "a/Qx…_MR…x.dcm"
        );
    }
}
