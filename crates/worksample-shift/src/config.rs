//! The pipeline configuration of the deployed model: one knob per preprocessing assumption P0
//! hard-codes. Every field defaults to P0's behaviour, so `{}` is P0 and a corrected
//! configuration names only what it changes.
//!
//! Parsing is strict (unknown keys are errors) because a silently ignored typo would replay a
//! different model from the one the candidate meant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::slice::{GROUP_KEYS, Slice};

/// The pixel spacing P0 assumes, mm: Site A's reconstruction (200 columns over a 180 mm field).
pub const P0_SPACING_MM: f64 = 0.9;
/// The offset P0 subtracts from every stored value to get HU (the "intercept is usually −1024"
/// folklore, research shift.md §1.2 cause 1).
pub const P0_OFFSET: f64 = 1024.0;
/// The lesion-area decision threshold, mm².
pub const P0_THRESHOLD_MM2: f64 = 12.0;
/// The fixed brain window P0 was tuned under at Site A (centre, width), HU.
pub const SITE_A_WINDOW: (f64, f64) = (50.0, 100.0);

/// How the 16-bit pixel words become stored values (step 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decode {
    /// P0: every word is an unsigned integer, whatever Pixel Representation says.
    #[default]
    U16,
    /// Pixel Representation and Bits Stored decide: two's complement sign-extended from the High
    /// Bit when (0028,0103) is 1, masked to Bits Stored otherwise (PS3.5 §8.1.1).
    Header,
}

/// How stored values become HU (step 3, the Modality LUT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModalityLut {
    /// P0: `HU = SV − 1024`.
    #[default]
    Fixed,
    /// `HU = slope × SV + intercept` from (0028,1053)/(0028,1052), identity when absent
    /// (PS3.3 C.11.1.1.2).
    Header,
}

/// Whether inputs the model was never meant for are refused (step 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// P0: everything is scored.
    #[default]
    None,
    /// REJECT when Rescale Type (0028,1054) is present and not `HU`, or Image Type (0008,0008)
    /// value 1 is `DERIVED` (PS3.3 C.7.6.1.1.2): such pixels are not CT numbers.
    RescaleTypeHu,
}

/// What happens to pixels equal to Pixel Padding Value (step 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// P0: padding pixels are ordinary pixels.
    #[default]
    Ignore,
    /// Pixels whose stored word equals (0028,0120) are excluded from every later step's
    /// candidates and from the body mask. The comparison is on stored values, before the
    /// Modality LUT (PS3.3 C.7.5.1.1.2).
    Mask,
}

/// Which window maps HU to 0..1 (step 5, the VOI LUT).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(
    tag = "mode",
    rename_all = "snake_case",
    deny_unknown_fields,
    expecting = "an object: {\"mode\": \"header\"} or {\"mode\": \"fixed\", \"center\": HU, \"width\": HU}"
)]
pub enum Window {
    /// P0: the first Window Center/Width pair of the header (Site A's 50/100 when absent).
    #[default]
    Header,
    /// A fixed window, HU.
    Fixed {
        /// Window centre.
        center: f64,
        /// Window width (> 0).
        width: f64,
    },
}

/// Whether MONOCHROME1 is honoured (step 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Photometric {
    /// P0: Photometric Interpretation is ignored.
    #[default]
    Ignore,
    /// MONOCHROME1 images are inverted after the VOI window, `x = 1 − x` (PS3.3 C.7.6.3.1.2:
    /// the minimum is white after the VOI transformation).
    Header,
}

/// Where candidate pixels may lie (step 8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mask {
    /// P0: anywhere in the image.
    #[default]
    None,
    /// Only inside the body: the largest 8-connected component of pixels with HU > −500 (after
    /// offsets, before denoising), padding excluded; ties go to the component whose first pixel
    /// comes first in raster order.
    Body,
}

/// Which spacing turns a pixel count into mm² (step 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// P0: 0.9 × 0.9 mm whatever the header says.
    #[default]
    Fixed,
    /// Pixel Spacing (0028,0030), row × column; P0's value when absent.
    PixelSpacing,
}

/// Which slices a per-selector knob applies to: every named attribute must equal the slice's
/// value exactly (after trimming). An empty selector matches every slice.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Selector(pub BTreeMap<String, String>);

impl Selector {
    /// Whether `slice` matches.
    pub fn matches(&self, slice: &Slice) -> bool {
        self.0.iter().all(|(k, v)| slice.attribute(k) == v.trim())
    }

    /// Keys that are not grouping attributes ([`GROUP_KEYS`]).
    pub fn unknown_keys(&self) -> Vec<&str> {
        self.0
            .keys()
            .map(String::as_str)
            .filter(|k| !GROUP_KEYS.iter().any(|(g, _)| g == k))
            .collect()
    }
}

/// A HU offset for the slices a selector matches (a per-stratum recalibration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HuOffset {
    /// Which slices.
    pub selector: Selector,
    /// Added to every HU value (step 3b).
    pub add_hu: f64,
}

/// A denoising filter for the slices a selector matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Denoise {
    /// Which slices.
    pub selector: Selector,
    /// The filter.
    pub filter: Filter,
    /// Half-width of the square window, pixels (1 = 3 × 3), 1..=3.
    pub radius_px: u32,
}

/// A denoising filter kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filter {
    /// The median of the (2r+1)² window, borders replicated.
    Median,
}

/// The whole pipeline configuration. `Config::default()` is P0.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Step 0.
    pub gate: Gate,
    /// Step 1.
    pub decode: Decode,
    /// Step 2.
    pub padding: Padding,
    /// Step 3.
    pub modality_lut: ModalityLut,
    /// Step 3b: the first matching entry applies.
    pub hu_offset: Vec<HuOffset>,
    /// Step 4: the first matching entry applies.
    pub denoise: Vec<Denoise>,
    /// Step 5.
    pub window: Window,
    /// Step 6.
    pub photometric: Photometric,
    /// Step 7: the band of windowed values that are lesion candidates, `[lo, hi)`.
    pub band: [f64; 2],
    /// Step 8.
    pub mask: Mask,
    /// Step 10.
    pub spacing: Spacing,
    /// Step 11: POS when the largest component's area reaches this, mm².
    pub area_threshold_mm2: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            gate: Gate::None,
            decode: Decode::U16,
            padding: Padding::Ignore,
            modality_lut: ModalityLut::Fixed,
            hu_offset: Vec::new(),
            denoise: Vec::new(),
            window: Window::Header,
            photometric: Photometric::Ignore,
            band: [0.55, 0.95],
            mask: Mask::None,
            spacing: Spacing::Fixed,
            area_threshold_mm2: P0_THRESHOLD_MM2,
        }
    }
}

/// The configuration's JSON Schema, as published with the brief.
pub const CONFIG_SCHEMA: &str = include_str!("../../../tasks/shift/config.schema.json");

/// The compiled [`CONFIG_SCHEMA`], once per process.
fn schema() -> Result<&'static jsonschema::Validator, ConfigError> {
    static SCHEMA: std::sync::LazyLock<Result<jsonschema::Validator, String>> =
        std::sync::LazyLock::new(|| {
            let doc: serde_json::Value =
                serde_json::from_str(CONFIG_SCHEMA).map_err(|e| e.to_string())?;
            jsonschema::validator_for(&doc).map_err(|e| e.to_string())
        });
    SCHEMA.as_ref().map_err(|e| ConfigError::Schema(e.clone()))
}

/// A JSON Pointer (`/denoise/0/radius_px`) as the field names [`ConfigError::Value`] uses
/// elsewhere (`denoise[0].radius_px`); the whole document is `(root)`.
fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for part in pointer.split('/').skip(1) {
        let part = part.replace("~1", "/").replace("~0", "~");
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&part);
        }
    }
    if out.is_empty() {
        "(root)".to_owned()
    } else {
        out
    }
}

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The built-in config.schema.json does not compile: a fault of the harness, not of the
    /// configuration (a unit test compiles it).
    #[error("the built-in config.schema.json does not compile: {0}")]
    Schema(String),
    /// Not valid JSON for the schema.
    #[error("the pipeline configuration is invalid: {0}")]
    Parse(String),
    /// A value out of range or a selector naming an unknown attribute.
    #[error("the pipeline configuration is invalid at `{field}`: {message}")]
    Value {
        /// Where, as a JSON path.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Config {
    /// P0, the deployed model.
    pub fn p0() -> Config {
        Config::default()
    }

    /// P0 with every global knob set to respect the header: decode, padding, Modality LUT and
    /// photometric interpretation as the header says, a fixed HU window of 50/100 instead of the
    /// header's, the body mask and Pixel Spacing. The reference fix starts from it; without the
    /// per-stratum corrections it is the "every switch on" guess the fix gate is about.
    pub fn header_respecting() -> Config {
        Config {
            decode: Decode::Header,
            padding: Padding::Mask,
            modality_lut: ModalityLut::Header,
            window: Window::Fixed {
                center: 50.0,
                width: 100.0,
            },
            photometric: Photometric::Header,
            mask: Mask::Body,
            spacing: Spacing::PixelSpacing,
            ..Config::p0()
        }
    }

    /// Parses and validates a JSON configuration.
    pub fn from_json(text: &str) -> Result<Config, ConfigError> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?;
        Self::from_value(&value)
    }

    /// Parses and validates a configuration already held as JSON: first against the published
    /// schema, whose errors name the field in the candidate's terms (serde's would speak of
    /// "internally tagged enum Window"), then typed, then the ranges serde cannot express.
    pub fn from_value(value: &serde_json::Value) -> Result<Config, ConfigError> {
        let typed = || serde_json::from_value::<Config>(value.clone());
        if let Some(e) = schema()?.iter_errors(value).next() {
            let field = dotted(&e.instance_path().to_string());
            // "Valid under none of the `oneOf` schemas" says nothing of what was expected;
            // the typed reader's message does (see `Window`'s `expecting`).
            let message = match (e.kind(), typed()) {
                (jsonschema::error::ValidationErrorKind::OneOfNotValid { .. }, Err(typed)) => {
                    typed.to_string()
                }
                _ => e.to_string(),
            };
            return Err(ConfigError::Value { field, message });
        }
        let config: Config = typed().map_err(|e| ConfigError::Parse(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges serde cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: String, message: &str| ConfigError::Value {
            field,
            message: message.to_owned(),
        };
        if let Window::Fixed { center, width } = self.window
            && !(center.is_finite() && width.is_finite() && width > 0.0)
        {
            return Err(bad(
                "window".into(),
                "center must be finite and width positive",
            ));
        }
        let [lo, hi] = self.band;
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(bad("band".into(), "needs two finite values, lo < hi"));
        }
        if !(self.area_threshold_mm2.is_finite() && self.area_threshold_mm2 >= 0.0) {
            return Err(bad(
                "area_threshold_mm2".into(),
                "must be a finite non-negative number",
            ));
        }
        for (i, d) in self.denoise.iter().enumerate() {
            if !(1..=3).contains(&d.radius_px) {
                return Err(bad(format!("denoise[{i}].radius_px"), "must be 1, 2 or 3"));
            }
            selector_ok(&d.selector, &format!("denoise[{i}].selector"))?;
        }
        for (i, o) in self.hu_offset.iter().enumerate() {
            if !(o.add_hu.is_finite() && o.add_hu.abs() <= 2000.0) {
                return Err(bad(
                    format!("hu_offset[{i}].add_hu"),
                    "must be finite, at most 2000 HU either way",
                ));
            }
            selector_ok(&o.selector, &format!("hu_offset[{i}].selector"))?;
        }
        Ok(())
    }

    /// The HU offset that applies to `slice` (0 when none matches).
    pub fn offset_for(&self, slice: &Slice) -> f64 {
        self.hu_offset
            .iter()
            .find(|o| o.selector.matches(slice))
            .map_or(0.0, |o| o.add_hu)
    }

    /// The denoising entry that applies to `slice`.
    pub fn denoise_for(&self, slice: &Slice) -> Option<&Denoise> {
        self.denoise.iter().find(|d| d.selector.matches(slice))
    }
}

fn selector_ok(selector: &Selector, field: &str) -> Result<(), ConfigError> {
    match selector.unknown_keys().first() {
        None => Ok(()),
        Some(k) => Err(ConfigError::Value {
            field: field.to_owned(),
            message: format!(
                "`{k}` is not a grouping attribute (one of {})",
                GROUP_KEYS.map(|(g, _)| g).join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_json_is_p0_and_p0_round_trips() {
        assert_eq!(Config::from_json("{}").expect("valid"), Config::p0());
        let text = serde_json::to_string(&Config::p0()).expect("serialises");
        assert_eq!(Config::from_json(&text).expect("valid"), Config::p0());
    }

    #[test]
    fn a_corrected_configuration_parses() {
        let c = Config::from_json(
            r#"{"gate": "rescale_type_hu", "decode": "header", "padding": "mask",
                "modality_lut": "header", "window": {"mode": "fixed", "center": 50, "width": 100},
                "photometric": "header", "mask": "body", "spacing": "pixel_spacing",
                "hu_offset": [{"selector": {"SliceThickness": "5"}, "add_hu": 10}],
                "denoise": [{"selector": {"ConvolutionKernel": "BONE"}, "filter": "median", "radius_px": 1}]}"#,
        )
        .expect("valid");
        assert_eq!(
            c.window,
            Window::Fixed {
                center: 50.0,
                width: 100.0
            }
        );
        assert_eq!(c.denoise[0].radius_px, 1);
        assert_eq!(c.hu_offset[0].add_hu, 10.0);
    }

    #[test]
    fn typos_and_bad_values_are_refused_with_the_field() {
        let cases = [
            (r#"{"modality": "header"}"#, "'modality' was unexpected"),
            (
                r#"{"decode": "signed"}"#,
                "at `decode`: \"signed\" is not one of",
            ),
            (
                r#"{"window": {"mode": "fixed", "center": 50, "width": 0}}"#,
                "window",
            ),
            (r#"{"band": [0.9, 0.5]}"#, "band"),
            (
                r#"{"denoise": [{"selector": {}, "filter": "median", "radius_px": 9}]}"#,
                "denoise[0].radius_px",
            ),
            (
                r#"{"hu_offset": [{"selector": {"Kernel": "B"}, "add_hu": 1}]}"#,
                "hu_offset[0].selector",
            ),
        ];
        for (text, expected) in cases {
            let err = Config::from_json(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn the_published_schema_compiles() {
        assert!(schema().is_ok());
    }

    /// Shape errors name the field as the schema sees it, not serde's types.
    #[test]
    fn shape_errors_name_the_field() {
        let cases = [
            (
                r#"{"window": "fixed"}"#,
                "at `window`: invalid type: string \"fixed\", expected an object: {\"mode\": \"header\"}",
            ),
            (
                r#"{"window": {"mode": "fixed", "center": 40}}"#,
                "at `window`:",
            ),
            (r#"{"band": [0.2]}"#, "at `band`:"),
            (r#"{"denoise": [{"filter": "mean"}]}"#, "at `denoise[0]"),
            (r#"{"colour": 1}"#, "at `(root)`:"),
        ];
        for (text, expected) in cases {
            let err = Config::from_json(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains("internally tagged"), "{err}");
        }
        assert_eq!(dotted("/denoise/0/radius_px"), "denoise[0].radius_px");
        assert_eq!(dotted(""), "(root)");
    }
}
