//! Validation of a candidate's JSON against the published `output.schema.json` itself.
//!
//! The grader interprets the schema it publishes, so the two cannot drift apart: the subset of
//! JSON Schema 2020-12 used there (`type`, `properties`, `required`, `additionalProperties:
//! false`, `items`, `minItems`/`maxItems`, `enum`, `const`, `minimum`/`maximum`,
//! `minLength`/`maxLength`, local `$ref`) is implemented here, and a schema keyword outside it is
//! reported as an error of the schema (a harness fault), never silently ignored. Errors carry a
//! JSON Pointer (RFC 6901) to the offending value.

use serde_json::Value;

/// Most errors reported for one document; the rest are counted.
pub const MAX_ERRORS: usize = 50;

/// One validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// JSON Pointer to the value, `` for the root.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

/// Keywords that only document; they never constrain.
const ANNOTATIONS: [&str; 5] = ["$schema", "$id", "title", "description", "$defs"];

/// What a validation found: the first [`MAX_ERRORS`] errors, and how many more there were
/// (counted, not kept, so a document of many errors costs no more memory than one of a few).
#[derive(Debug, Clone, PartialEq)]
pub struct Errors {
    /// The errors listed, in document order.
    pub listed: Vec<SchemaError>,
    /// Errors past the cap.
    pub dropped: usize,
}

impl Errors {
    /// Every error found, listed or not.
    pub fn total(&self) -> usize {
        self.listed.len() + self.dropped
    }
}

/// Validates `doc` against `schema`: every error found (the first [`MAX_ERRORS`] listed, the
/// rest counted), or an `Err` when the schema itself uses a keyword this validator does not
/// implement.
pub fn validate(schema: &Value, doc: &Value) -> Result<Errors, String> {
    let mut v = Validator {
        root: schema,
        errors: Vec::new(),
        dropped: 0,
    };
    v.check(schema, doc, "")?;
    Ok(Errors {
        listed: v.errors,
        dropped: v.dropped,
    })
}

struct Validator<'a> {
    root: &'a Value,
    errors: Vec<SchemaError>,
    dropped: usize,
}

impl Validator<'_> {
    fn error(&mut self, path: &str, message: String) {
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(SchemaError {
                path: path.to_owned(),
                message,
            });
        } else {
            self.dropped += 1;
        }
    }

    fn check(&mut self, schema: &Value, doc: &Value, path: &str) -> Result<(), String> {
        let Some(obj) = schema.as_object() else {
            return Err(format!("schema at `{path}` is not an object"));
        };
        if let Some(r) = obj.get("$ref") {
            let target = r
                .as_str()
                .and_then(|r| r.strip_prefix("#/$defs/"))
                .and_then(|name| self.root.get("$defs")?.get(name))
                .ok_or_else(|| format!("schema `$ref` {r} does not resolve"))?;
            return self.check(target, doc, path);
        }
        for key in obj.keys() {
            let known = ANNOTATIONS.contains(&key.as_str())
                || matches!(
                    key.as_str(),
                    "type"
                        | "properties"
                        | "required"
                        | "additionalProperties"
                        | "items"
                        | "minItems"
                        | "maxItems"
                        | "enum"
                        | "const"
                        | "minimum"
                        | "maximum"
                        | "minLength"
                        | "maxLength"
                );
            if !known {
                return Err(format!(
                    "schema keyword `{key}` at `{path}` is not supported"
                ));
            }
        }
        if let Some(t) = obj.get("type") {
            let allowed: Vec<&str> = match t {
                Value::String(s) => vec![s.as_str()],
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                _ => return Err(format!("schema `type` at `{path}` is malformed")),
            };
            if !allowed.iter().any(|t| type_matches(t, doc)) {
                let msg = format!("expected {}, found {}", allowed.join(" or "), kind(doc));
                self.error(path, msg);
                return Ok(());
            }
        }
        if let Some(c) = obj.get("const")
            && c != doc
        {
            self.error(path, format!("must be {c}"));
        }
        if let Some(Value::Array(options)) = obj.get("enum")
            && !options.contains(doc)
        {
            let names: Vec<String> = options.iter().map(Value::to_string).collect();
            self.error(
                path,
                format!("{} is not one of {}", short(doc), names.join(", ")),
            );
        }
        if let (Some(min), Some(n)) = (obj.get("minimum").and_then(Value::as_f64), doc.as_f64())
            && n < min
        {
            self.error(path, format!("{n} is below the minimum {min}"));
        }
        if let (Some(max), Some(n)) = (obj.get("maximum").and_then(Value::as_f64), doc.as_f64())
            && n > max
        {
            self.error(path, format!("{n} is above the maximum {max}"));
        }
        if let Value::String(s) = doc {
            let len = s.chars().count() as u64;
            if let Some(min) = obj.get("minLength").and_then(Value::as_u64)
                && len < min
            {
                self.error(path, format!("string is shorter than {min} characters"));
            }
            if let Some(max) = obj.get("maxLength").and_then(Value::as_u64)
                && len > max
            {
                self.error(path, format!("string is longer than {max} characters"));
            }
        }
        if let Value::Array(items) = doc {
            let len = items.len() as u64;
            if let Some(min) = obj.get("minItems").and_then(Value::as_u64)
                && len < min
            {
                self.error(path, format!("has {len} items, fewer than {min}"));
            }
            if let Some(max) = obj.get("maxItems").and_then(Value::as_u64)
                && len > max
            {
                self.error(path, format!("has {len} items, more than {max}"));
            }
            if let Some(item_schema) = obj.get("items") {
                for (i, item) in items.iter().enumerate() {
                    self.check(item_schema, item, &format!("{path}/{i}"))?;
                }
            }
        }
        if let Value::Object(map) = doc {
            let props = obj.get("properties").and_then(Value::as_object);
            if let Some(Value::Array(required)) = obj.get("required") {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        self.error(path, format!("missing required property `{name}`"));
                    }
                }
            }
            for (name, value) in map {
                let child = format!("{path}/{}", escape(name));
                match props.and_then(|p| p.get(name)) {
                    Some(s) => self.check(s, value, &child)?,
                    None => {
                        if obj.get("additionalProperties") == Some(&Value::Bool(false)) {
                            self.error(&child, format!("unknown property `{}`", short_str(name)));
                        }
                    }
                }
            }
        }
        Ok(())
    }
}

fn type_matches(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        "number" => v.is_number(),
        // JSON Schema: an integer is a number with no fractional part (1.0 counts).
        "integer" => {
            v.as_i64().is_some()
                || v.as_u64().is_some()
                || v.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A value shortened for a message: a candidate string may be megabytes long.
fn short(v: &Value) -> String {
    short_str(&v.to_string())
}

fn short_str(s: &str) -> String {
    worksample_task::submission::quoted(s, 60)
}

fn escape(name: &str) -> String {
    short_str(&name.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        serde_json::from_str(include_str!("../../../tasks/series/output.schema.json"))
            .expect("the published schema is JSON")
    }

    #[test]
    fn a_minimal_valid_document_passes() {
        let doc = json!({"schema_version": "1.0", "volumes": [], "excluded": []});
        assert_eq!(validate(&schema(), &doc).expect("supported").total(), 0);
    }

    #[test]
    fn errors_carry_pointers() {
        let doc = json!({
            "schema_version": "2.0",
            "volumes": [{
                "id": "",
                "instances": [],
                "geometry": {"image_orientation_patient": [1, 0, 0], "rows": 0, "columns": 64,
                             "pixel_spacing_mm": [1, 1], "slice_spacing_mm": "2",
                             "first_position_mm": [0, 0, 0], "regular": true, "extra": 1},
                "anomalies": [{"type": "wobbly"}]
            }],
            "excluded": [{"file": "a", "reason": "junk"}],
            "more": true
        });
        let errors = validate(&schema(), &doc).expect("supported");
        assert_eq!(errors.dropped, 0);
        let text: Vec<String> = errors
            .listed
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        insta::assert_snapshot!(text.join("\n"), @r#"
        /schema_version: must be "1.0"
        /volumes/0/id: string is shorter than 1 characters
        /volumes/0/instances: has 0 items, fewer than 1
        /volumes/0/geometry/image_orientation_patient: has 3 items, fewer than 6
        /volumes/0/geometry/rows: 0 is below the minimum 1
        /volumes/0/geometry/slice_spacing_mm: expected number or null, found string
        /volumes/0/geometry/extra: unknown property `extra`
        /volumes/0/anomalies/0/type: "wobbly" is not one of "localizer", "missing_slice", "irregular_spacing", "gantry_tilt", "instance_number_not_spatial", "missing_series_uid", "other"
        /excluded/0/reason: "junk" is not one of "not_dicom", "dicomdir", "no_pixel_data", "duplicate_instance", "duplicate_position", "unreadable"
        /more: unknown property `more`
        "#);
    }

    #[test]
    fn error_lists_are_capped() {
        let many: Vec<Value> = (0..200).map(|_| json!({"file": 1})).collect();
        let doc = json!({"schema_version": "1.0", "volumes": [], "excluded": many});
        let errors = validate(&schema(), &doc).expect("supported");
        assert_eq!(errors.listed.len(), MAX_ERRORS);
        // Each entry breaks two rules: `file` is no string, and `reason` is missing.
        assert_eq!(errors.total(), 400);
    }

    #[test]
    fn unsupported_schema_keywords_are_harness_errors() {
        let s = json!({"type": "string", "pattern": "^a$"});
        assert!(validate(&s, &json!("a")).is_err());
    }
}
