//! The published `output.schema.json`, the grader's own validator (`schema.rs`) and the typed
//! reader (`output.rs`) agree: an independent JSON Schema 2020-12 implementation (the
//! `jsonschema` crate) and ours accept and reject the same documents, and every accepted
//! document reads into [`Output`], so a schema-valid submission can never become a grader fault.

use serde_json::{Value, json};
use worksample_series::SeriesTask;
use worksample_series::output::Output;
use worksample_series::schema::validate;
use worksample_task::Task;

use crate::common;

fn schema() -> Value {
    serde_json::from_str(include_str!("../../../../tasks/series/output.schema.json"))
        .expect("the published schema is JSON")
}

/// A small valid document with every optional field present.
fn base() -> Value {
    json!({
        "schema_version": "1.0",
        "volumes": [{
            "id": "ct",
            "series_instance_uid": "2.25.1",
            "split_by": ["ImageType"],
            "instances": [{"file": "a/1"}, {"file": "a/2", "frame": null}],
            "geometry": {
                "image_orientation_patient": [1, 0, 0, 0, 1, 0],
                "rows": 64, "columns": 64, "pixel_spacing_mm": [0.8, 0.8],
                "slice_spacing_mm": 2.5, "first_position_mm": [0, 0, -10], "regular": true
            },
            "anomalies": [
                {"type": "missing_slice", "between": [{"file": "a/1"}, {"file": "a/2"}], "detail": "x"},
                {"type": "gantry_tilt", "angle_deg": 20.0}
            ]
        }],
        "excluded": [{"file": "b", "reason": "duplicate_instance", "duplicate_of": {"file": "a/1"}, "detail": "copy"}]
    })
}

/// (what, JSON Pointer, new value or `None` to delete, valid afterwards).
const CASES: &[(&str, &str, Option<&str>, bool)] = &[
    ("as given", "", None, true),
    (
        "rows written as 64.0",
        "/volumes/0/geometry/rows",
        Some("64.0"),
        true,
    ),
    (
        "rows with a fraction",
        "/volumes/0/geometry/rows",
        Some("64.5"),
        false,
    ),
    (
        "rows over the US range",
        "/volumes/0/geometry/rows",
        Some("70000"),
        false,
    ),
    (
        "rows beyond u64",
        "/volumes/0/geometry/rows",
        Some("1e300"),
        false,
    ),
    ("rows zero", "/volumes/0/geometry/rows", Some("0"), false),
    (
        "rows negative",
        "/volumes/0/geometry/columns",
        Some("-1"),
        false,
    ),
    (
        "frame 1.0",
        "/volumes/0/instances/0/frame",
        Some("1.0"),
        true,
    ),
    ("frame 0", "/volumes/0/instances/0/frame", Some("0"), false),
    (
        "frame at i32::MAX",
        "/volumes/0/instances/0/frame",
        Some("2147483647"),
        true,
    ),
    (
        "frame past i32::MAX",
        "/volumes/0/instances/0/frame",
        Some("2147483648"),
        false,
    ),
    (
        "frame as a string",
        "/volumes/0/instances/0/frame",
        Some("\"1\""),
        false,
    ),
    (
        "null series UID",
        "/volumes/0/series_instance_uid",
        Some("null"),
        true,
    ),
    (
        "no series UID",
        "/volumes/0/series_instance_uid",
        None,
        true,
    ),
    ("no split_by", "/volumes/0/split_by", None, true),
    (
        "id of 64 multi-byte characters",
        "/volumes/0/id",
        Some("\"ééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééééé\""),
        true,
    ),
    (
        "id of 65 characters",
        "/volumes/0/id",
        Some("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\""),
        false,
    ),
    ("empty id", "/volumes/0/id", Some("\"\""), false),
    ("no instances", "/volumes/0/instances", Some("[]"), false),
    (
        "instance without file",
        "/volumes/0/instances/0",
        Some("{}"),
        false,
    ),
    (
        "empty file",
        "/volumes/0/instances/0/file",
        Some("\"\""),
        false,
    ),
    (
        "unknown instance field",
        "/volumes/0/instances/0/sop",
        Some("\"1.2\""),
        false,
    ),
    (
        "five cosines",
        "/volumes/0/geometry/image_orientation_patient",
        Some("[1,0,0,0,1]"),
        false,
    ),
    (
        "a cosine as a string",
        "/volumes/0/geometry/image_orientation_patient/0",
        Some("\"1\""),
        false,
    ),
    (
        "null slice spacing",
        "/volumes/0/geometry/slice_spacing_mm",
        Some("null"),
        true,
    ),
    (
        "no slice spacing",
        "/volumes/0/geometry/slice_spacing_mm",
        None,
        false,
    ),
    (
        "regular as 1",
        "/volumes/0/geometry/regular",
        Some("1"),
        false,
    ),
    (
        "unknown geometry field",
        "/volumes/0/geometry/thickness",
        Some("1"),
        false,
    ),
    ("no anomalies", "/volumes/0/anomalies", None, false),
    (
        "unknown anomaly type",
        "/volumes/0/anomalies/0/type",
        Some("\"wobbly\""),
        false,
    ),
    (
        "between of three",
        "/volumes/0/anomalies/0/between/2",
        Some("{\"file\": \"a/3\"}"),
        false,
    ),
    (
        "between with frames",
        "/volumes/0/anomalies/0/between/0/frame",
        Some("2"),
        true,
    ),
    (
        "angle as a string",
        "/volumes/0/anomalies/1/angle_deg",
        Some("\"20\""),
        false,
    ),
    (
        "null angle",
        "/volumes/0/anomalies/1/angle_deg",
        Some("null"),
        false,
    ),
    (
        "unknown reason",
        "/excluded/0/reason",
        Some("\"lost\""),
        false,
    ),
    ("no reason", "/excluded/0/reason", None, false),
    (
        "duplicate_of with a frame",
        "/excluded/0/duplicate_of/frame",
        Some("3"),
        true,
    ),
    (
        "duplicate_of as a string",
        "/excluded/0/duplicate_of",
        Some("\"a/1\""),
        false,
    ),
    (
        "wrong schema version",
        "/schema_version",
        Some("\"1.1\""),
        false,
    ),
    ("unknown top-level field", "/comment", Some("\"hi\""), false),
    ("volumes as an object", "/volumes", Some("{}"), false),
    ("no excluded", "/excluded", None, false),
];

/// Sets or deletes the value at `pointer` (its parent must exist).
fn edit(doc: &mut Value, pointer: &str, value: Option<&str>) {
    if pointer.is_empty() {
        return;
    }
    let (parent, last) = pointer.rsplit_once('/').expect("a pointer");
    let parent = doc.pointer_mut(parent).expect("parent exists");
    match (parent, value) {
        (Value::Object(map), Some(v)) => {
            map.insert(last.to_owned(), serde_json::from_str(v).expect("case JSON"));
        }
        (Value::Object(map), None) => {
            map.shift_remove(last);
        }
        (Value::Array(items), Some(v)) => {
            let i: usize = last.parse().expect("an index");
            let v = serde_json::from_str(v).expect("case JSON");
            if i < items.len() {
                items[i] = v;
            } else {
                items.push(v);
            }
        }
        (other, _) => panic!("cannot edit {pointer} in {other}"),
    }
}

/// Both validators give the same verdict, and an accepted document reads into [`Output`].
fn agree(what: &str, doc: &Value) -> Result<bool, String> {
    let schema = schema();
    let theirs = jsonschema::validator_for(&schema)
        .map_err(|e| format!("the published schema is not valid JSON Schema: {e}"))?
        .is_valid(doc);
    let ours = validate(&schema, doc)
        .map_err(|e| format!("{what}: schema unsupported: {e}"))?
        .total()
        == 0;
    if theirs != ours {
        return Err(format!(
            "{what}: jsonschema says {theirs}, ours says {ours}"
        ));
    }
    if ours && let Err(e) = serde_json::from_value::<Output>(doc.clone()) {
        return Err(format!(
            "{what}: schema-valid but the typed reader refuses it: {e}"
        ));
    }
    Ok(ours)
}

#[test]
fn validators_and_typed_reader_agree_on_edge_cases() {
    let mut problems = Vec::new();
    for (what, pointer, value, valid) in CASES {
        let mut doc = base();
        edit(&mut doc, pointer, *value);
        match agree(what, &doc) {
            Ok(verdict) if verdict == *valid => {}
            Ok(verdict) => problems.push(format!("{what}: valid = {verdict}, expected {valid}")),
            Err(e) => problems.push(e),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn reference_and_starter_outputs_are_schema_valid() {
    for profile in ["standard", "hard"] {
        let (dir, _key) = common::fixture(4, profile);
        let reference = serde_json::to_value(common::reference(dir.path())).expect("json");
        assert_eq!(agree("reference", &reference), Ok(true), "{profile}");
        let out = tempfile::tempdir().expect("tempdir");
        SeriesTask
            .starter(dir.path(), out.path())
            .expect("the starter runs");
        let text = std::fs::read_to_string(out.path().join("volumes.json")).expect("written");
        let naive: Value = serde_json::from_str(&text).expect("the starter writes JSON");
        assert_eq!(agree("starter", &naive), Ok(true), "{profile}");
    }
}
