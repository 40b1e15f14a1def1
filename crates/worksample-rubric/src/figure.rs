//! Figures: pictures and plots a grader attaches to a grade as data, for assessors to debrief
//! from. Producers never format: a task hands over PNG bytes or the numbers behind a plot, and
//! only a renderer turns them into an `<img>` or inline SVG (or leaves them out, as the text
//! formats do).
//!
//! Figures can reveal the answer key (a correctly ordered strip of slices is the key), so they
//! are [`Visibility::Hidden`] by default and [`crate::Report::for_candidate`] drops every hidden
//! one. In JSON, PNG bytes travel as standard base64 (RFC 4648 §4) so a report stays one file.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Visibility;

/// The id of a figure, unique within a report, e.g. `volume-3`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FigureId(String);

impl FigureId {
    /// An id from text.
    pub fn new(id: impl Into<String>) -> Self {
        FigureId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FigureId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One picture or plot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// Unique within the report.
    pub id: FigureId,
    /// Short title, e.g. "Volume ct_axial (42 slices)".
    pub title: String,
    /// What the assessor is looking at and what the marks mean.
    pub caption: String,
    /// Who may see it; hidden (assessor-only) unless a task says otherwise.
    #[serde(default = "hidden")]
    pub visibility: Visibility,
    /// The content.
    pub kind: FigureKind,
}

fn hidden() -> Visibility {
    Visibility::Hidden
}

impl Figure {
    /// An assessor-only figure.
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        caption: impl Into<String>,
        kind: FigureKind,
    ) -> Self {
        Self {
            id: FigureId::new(id),
            title: title.into(),
            caption: caption.into(),
            visibility: Visibility::Hidden,
            kind,
        }
    }
}

/// What a figure shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FigureKind {
    /// One image.
    Png {
        /// The image.
        image: PngImage,
    },
    /// An ordered row of images, e.g. the slices of a volume, each with its marks.
    Strip {
        /// Tiles in display order.
        tiles: Vec<Tile>,
    },
    /// One bar per label with an optional interval, e.g. a metric per site with its 95% CI.
    Bars {
        /// The unit of the values, e.g. "AUC" or "%".
        unit: String,
        /// The bars, in display order.
        bars: Vec<Bar>,
    },
    /// Counts over shared bins, one series per group, e.g. intensity histograms per scanner.
    Histogram {
        /// The unit of the binned values, e.g. "HU".
        unit: String,
        /// Bin edges, ascending; one more than the counts of each series.
        edges: Vec<f64>,
        /// One series per group.
        series: Vec<HistogramSeries>,
    },
    /// Nested labelled nodes, e.g. the attribute paths of leaked identifiers with each
    /// sequence step one level deeper and the leaked element marked.
    Tree {
        /// The top-level nodes, in display order.
        roots: Vec<TreeNode>,
    },
}

/// PNG bytes with the size and text alternative a page needs to lay it out accessibly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PngImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Text alternative (WCAG 2.2 SC 1.1.1).
    pub alt: String,
    /// The PNG file's bytes; base64 in JSON.
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub bytes: Vec<u8>,
}

/// One image of a [`FigureKind::Strip`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tile {
    /// A short label under the image, e.g. the slice's rank or file.
    pub label: String,
    /// The image.
    pub image: PngImage,
    /// What is wrong or notable here; empty when nothing is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub marks: Vec<Mark>,
}

/// A mark on a tile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mark {
    /// Which kind of mark.
    pub kind: MarkKind,
    /// Why, in a few words.
    pub note: String,
}

/// The meaning of a [`Mark`]; renderers give each its own colour and word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarkKind {
    /// The submission put this item in the wrong place.
    Wrong,
    /// The key flags an anomaly here (a gap, a tilt, uneven spacing).
    Anomaly,
    /// The submission lost this item.
    Missing,
}

/// One node of a [`FigureKind::Tree`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TreeNode {
    /// What the node names, e.g. an attribute `(0010,0010) PatientName`.
    pub label: String,
    /// A few words about it, e.g. what leaked there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// What is wrong or notable here; renderers highlight a marked node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mark: Option<MarkKind>,
    /// Nodes nested under this one, in display order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<TreeNode>,
}

impl TreeNode {
    /// An unmarked node without a note or children.
    pub fn new(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            note: None,
            mark: None,
            children: Vec::new(),
        }
    }
}

/// One bar of a [`FigureKind::Bars`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bar {
    /// What the bar measures, e.g. a site.
    pub label: String,
    /// The value.
    pub value: f64,
    /// The interval around it, `[low, high]`, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<[f64; 2]>,
}

/// One series of a [`FigureKind::Histogram`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistogramSeries {
    /// The group, e.g. a scanner model.
    pub label: String,
    /// Count per bin.
    pub counts: Vec<u64>,
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 §4).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard padded base64; `None` on any character or length RFC 4648 §4 forbids.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map(|p| p as u32);
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let quads = text.len() / 4;
    for (q, quad) in text.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && q + 1 != quads) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

fn to_base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64(bytes))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    base64_decode(&text).ok_or_else(|| serde::de::Error::custom("`bytes` is not valid base64"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10 test vectors.
    #[test]
    fn base64_matches_the_rfc_vectors_both_ways() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in vectors {
            assert_eq!(base64(plain.as_bytes()), encoded);
            assert_eq!(
                base64_decode(encoded).as_deref(),
                Some(plain.as_bytes()),
                "{encoded}"
            );
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(base64_decode(&base64(&all)), Some(all));
    }

    #[test]
    fn base64_rejects_what_the_rfc_forbids() {
        for bad in ["Zg=", "Zg==Zg==", "Z===", "Zm9v!A==", "Zm8=Zm8="] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn figures_round_trip_through_json_and_default_to_hidden() {
        let fig = Figure::new(
            "v1",
            "Volume",
            "caption",
            FigureKind::Strip {
                tiles: vec![Tile {
                    label: "0".into(),
                    image: PngImage {
                        width: 1,
                        height: 1,
                        alt: "slice 0".into(),
                        bytes: vec![137, 80, 78, 71],
                    },
                    marks: vec![Mark {
                        kind: MarkKind::Wrong,
                        note: "placed 3rd".into(),
                    }],
                }],
            },
        );
        assert_eq!(fig.visibility, Visibility::Hidden);
        let text = serde_json::to_string(&fig).expect("serializes");
        assert!(text.contains("\"bytes\":\"iVBORw==\""), "{text}");
        let back: Figure = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, fig);
        let bad = text.replace("iVBORw==", "iVBORw=");
        let err = serde_json::from_str::<Figure>(&bad).expect_err("bad base64");
        assert!(err.to_string().contains("base64"), "{err}");
    }

    fn tree_figure() -> Figure {
        let leaf = TreeNode {
            note: Some("direct `QX…`".into()),
            mark: Some(MarkKind::Wrong),
            ..TreeNode::new("(0010,0010) PatientName")
        };
        let step = TreeNode {
            children: vec![leaf],
            ..TreeNode::new("(0040,0275)[0] RequestAttributesSequence")
        };
        Figure::new(
            "leaks",
            "Leaks",
            "caption",
            FigureKind::Tree {
                roots: vec![TreeNode {
                    children: vec![step],
                    ..TreeNode::new("out/1.dcm")
                }],
            },
        )
    }

    #[test]
    fn trees_round_trip_through_json_leaving_out_empty_parts() {
        let fig = tree_figure();
        let text = serde_json::to_string(&fig).expect("serializes");
        assert!(text.contains("\"type\":\"tree\""), "{text}");
        assert!(
            text.contains("{\"label\":\"(0010,0010) PatientName\",\"note\":\"direct `QX…`\",\"mark\":\"wrong\"}"),
            "{text}"
        );
        let back: Figure = serde_json::from_str(&text).expect("reads back");
        assert_eq!(back, fig);
        let bad = text.replace("\"mark\":\"wrong\"", "\"mark\":\"leak\"");
        assert!(
            serde_json::from_str::<Figure>(&bad).is_err(),
            "unknown mark"
        );
    }

    #[test]
    fn tree_figures_validate_against_the_published_schema() {
        let schema: serde_json::Value =
            serde_json::from_str(crate::render::SCHEMA_JSON).expect("the schema is JSON");
        let validator = jsonschema::draft202012::new(&schema).expect("a valid schema");
        let mut report = crate::render::fixtures::with_figures();
        report.figures.push(tree_figure());
        let good = serde_json::to_value(&report).expect("JSON");
        let errors: Vec<String> = validator
            .iter_errors(&good)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{errors:#?}");
        let last = report.figures.len() - 1;
        let node = "/kind/roots/0/children/0";
        for (what, pointer, field, value) in [
            (
                "unknown node field",
                node,
                "colour",
                serde_json::json!("red"),
            ),
            ("unknown mark", node, "mark", serde_json::json!("leak")),
            ("label not text", node, "label", serde_json::json!(3)),
            (
                "children not a list",
                node,
                "children",
                serde_json::json!({}),
            ),
        ] {
            let mut bad = good.clone();
            let target = bad["figures"][last]
                .pointer_mut(pointer)
                .and_then(|v| v.as_object_mut())
                .expect("a node object");
            target.insert(field.to_owned(), value);
            assert!(!validator.is_valid(&bad), "{what} was accepted");
        }
    }
}
