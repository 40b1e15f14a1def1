//! The fuzz targets: one per parser of candidate or user input, each driving the same entry
//! point the harness uses, and reducing the outcome to a short signature so the engine can keep
//! inputs that reach behaviour not seen before.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use worksample_dicom::read::{ReadLimits, is_dicom, read_full, read_header};
use worksample_series::generate::{Params, generate};
use worksample_series::key::Key;
use worksample_series::output::{OUTPUT_FILE, SCHEMA_VERSION};
use worksample_series::{SCHEMA_FILE, SeriesTask};
use worksample_task::{CheckFile, EmbeddedTask, MANIFEST_FILE, Manifest, Task, TaskData, TaskId};

use crate::deid_maps::DeidMaps;
use crate::shift_json::ShiftJson;

/// Caps tight enough that every hostile input hits one quickly; the generated fixtures (32x32
/// slices, a few KB each) fit well inside them.
pub const TIGHT_LIMITS: ReadLimits = ReadLimits {
    max_file_size: 4 << 20,
    max_sequence_depth: 8,
    max_element_length: 1 << 20,
};

/// A parser under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetId {
    /// `is_dicom`, `read_header` and `read_full` (tight and default limits) on one file.
    Dicom,
    /// `volumes.json` of the series task: read, schema-validated and graded against a key.
    SeriesJson,
    /// A candidate's `worksample.toml`.
    Checkfile,
    /// An assessor's edited `task.toml`, loaded as `--tasks-dir` does, profile params included.
    TaskToml,
    /// An assessor's edited `rubric.toml`, loaded the same way.
    RubricToml,
    /// The `worksample.json` manifest of a fixtures folder handed back to `grade`.
    Manifest,
    /// The `deid` task's `patients.csv` and `uids.csv`, graded beside the reference output.
    DeidMaps,
    /// The `shift` task's `report.json`: read, schema-validated, graded and replayed.
    ShiftJson,
}

/// How the engine mutates a target's inputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// DICOM element framing (PS3.5 §7.1).
    Dicom,
    /// JSON documents.
    Json,
    /// TOML text.
    Toml,
    /// Comma-separated rows.
    Csv,
}

impl TargetId {
    /// Every target, in the order the documented run takes them.
    pub const ALL: [TargetId; 8] = [
        TargetId::Dicom,
        TargetId::SeriesJson,
        TargetId::Checkfile,
        TargetId::TaskToml,
        TargetId::RubricToml,
        TargetId::Manifest,
        TargetId::DeidMaps,
        TargetId::ShiftJson,
    ];

    /// The name used on the command line and for the seed folder under `fixtures/fuzz/`.
    pub fn name(self) -> &'static str {
        match self {
            TargetId::Dicom => "dicom",
            TargetId::SeriesJson => "series-json",
            TargetId::Checkfile => "checkfile",
            TargetId::TaskToml => "task-toml",
            TargetId::RubricToml => "rubric-toml",
            TargetId::Manifest => "manifest",
            TargetId::DeidMaps => "deid-maps",
            TargetId::ShiftJson => "shift-json",
        }
    }

    /// The target called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == name)
    }

    /// How its inputs are mutated.
    pub fn shape(self) -> Shape {
        match self {
            TargetId::Dicom => Shape::Dicom,
            TargetId::SeriesJson | TargetId::Manifest | TargetId::ShiftJson => Shape::Json,
            TargetId::Checkfile | TargetId::TaskToml | TargetId::RubricToml => Shape::Toml,
            TargetId::DeidMaps => Shape::Csv,
        }
    }
}

/// Why a target could not be set up (a fault of the fuzzer's environment, not a finding).
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A scratch file could not be written.
    #[error("failed to prepare `{path}`")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The built-in series task could not produce its key.
    #[error("failed to generate the series fixtures the targets are seeded from: {0}")]
    Generate(String),
}

pub(crate) fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SetupError + '_ {
    move |source| SetupError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What one input did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted or refused cleanly; the signature sorts it among the behaviours seen.
    Handled(String),
    /// Refused with a harness fault where the input alone is to blame: the grader would turn a
    /// candidate's mistake into an error of ours.
    Fault(String),
}

/// A target with its scratch folder and the trusted data it grades against.
#[derive(Debug)]
pub struct Harness {
    target: TargetId,
    scratch: PathBuf,
    /// Generated fixture files, used as seeds.
    generated: Vec<Vec<u8>>,
    key: Key,
    schema: Value,
    embedded: EmbeddedTask,
    /// The `deid-maps` grader and set, for that target only.
    deid: Option<DeidMaps>,
    /// The `shift-json` grader and set, for that target only.
    shift: Option<ShiftJson>,
}

impl Harness {
    /// Generates a small series fixture folder under `scratch` (its files seed the DICOM target,
    /// its key grades the JSON target) and prepares the target's scratch files.
    pub fn new(target: TargetId, scratch: &Path) -> Result<Self, SetupError> {
        let fixtures = scratch.join("fixtures");
        std::fs::create_dir_all(&fixtures).map_err(io_error(&fixtures))?;
        let embedded = SeriesTask.embedded();
        let needs_fixtures = match target {
            TargetId::Dicom | TargetId::SeriesJson => true,
            TargetId::Checkfile
            | TargetId::TaskToml
            | TargetId::RubricToml
            | TargetId::Manifest
            | TargetId::DeidMaps
            | TargetId::ShiftJson => false,
        };
        let (key, generated) = if needs_fixtures {
            generate_fixtures(&embedded, &fixtures)?
        } else {
            (Key::default(), Vec::new())
        };
        let schema_text = embedded
            .files
            .iter()
            .find(|(name, _)| *name == SCHEMA_FILE)
            .map(|(_, text)| *text)
            .ok_or_else(|| SetupError::Generate(format!("no built-in {SCHEMA_FILE}")))?;
        let schema: Value = serde_json::from_str(schema_text)
            .map_err(|e| SetupError::Generate(format!("{SCHEMA_FILE}: {e}")))?;
        for dir in ["submission", "tasks/series", "fixtures-copy"] {
            let path = scratch.join(dir);
            std::fs::create_dir_all(&path).map_err(io_error(&path))?;
        }
        let deid = (target == TargetId::DeidMaps)
            .then(|| DeidMaps::new(scratch))
            .transpose()?;
        let shift = (target == TargetId::ShiftJson)
            .then(|| ShiftJson::new(scratch))
            .transpose()?;
        let h = Harness {
            target,
            scratch: scratch.to_path_buf(),
            generated,
            key,
            schema,
            embedded,
            deid,
            shift,
        };
        h.write_task_dir()?;
        Ok(h)
    }

    /// The target.
    pub fn target(&self) -> TargetId {
        self.target
    }

    /// Seeds made at setup: fixture files, a perfect `volumes.json`, the built-in TOML.
    pub fn seeds(&self) -> Vec<Vec<u8>> {
        match self.target {
            TargetId::Dicom => self.generated.clone(),
            TargetId::SeriesJson => {
                let perfect = perfect_output(&self.key);
                let mut empty = perfect.clone();
                empty["volumes"] = json!([]);
                vec![
                    perfect.to_string().into_bytes(),
                    empty.to_string().into_bytes(),
                ]
            }
            TargetId::Checkfile => Vec::new(),
            TargetId::TaskToml => vec![self.embedded.task_toml.as_bytes().to_vec()],
            TargetId::RubricToml => vec![self.embedded.rubric_toml.as_bytes().to_vec()],
            TargetId::Manifest => Vec::new(),
            TargetId::DeidMaps => self.deid.as_ref().map(DeidMaps::seeds).unwrap_or_default(),
            TargetId::ShiftJson => self
                .shift
                .as_ref()
                .map(ShiftJson::seeds)
                .unwrap_or_default(),
        }
    }

    /// Runs one input through the target's entry points.
    pub fn run(&mut self, input: &[u8]) -> Outcome {
        match self.target {
            TargetId::Dicom => self.run_dicom(input),
            TargetId::SeriesJson => self.run_series_json(input),
            TargetId::Checkfile => match std::str::from_utf8(input) {
                // The CLI reads worksample.toml with read_to_string, which refuses non-UTF-8.
                Err(_) => Outcome::Handled("not utf-8".into()),
                Ok(text) => Outcome::Handled(signature(CheckFile::parse(text, "worksample.toml"))),
            },
            TargetId::TaskToml => self.run_task_dir("task.toml", input),
            TargetId::RubricToml => self.run_task_dir("rubric.toml", input),
            TargetId::Manifest => self.run_manifest(input),
            TargetId::DeidMaps => self
                .deid
                .as_mut()
                .expect("Harness::new sets the deid grader up for this target")
                .run(input),
            TargetId::ShiftJson => self
                .shift
                .as_mut()
                .expect("Harness::new sets the shift grader up for this target")
                .run(input),
        }
    }

    fn run_dicom(&mut self, input: &[u8]) -> Outcome {
        let path = self.scratch.join("input.dcm");
        if let Err(e) = std::fs::write(&path, input) {
            return Outcome::Handled(format!("scratch write failed: {}", e.kind()));
        }
        let looks = is_dicom(&path);
        let header = read_header(&path, &TIGHT_LIMITS).map(|f| (f.framing, f.transfer_syntax));
        let full = read_full(&path, &TIGHT_LIMITS).map(|f| f.dataset.iter().count());
        let default = read_header(&path, &ReadLimits::default()).map(|f| f.framing);
        Outcome::Handled(format!(
            "{looks} | {} | {} | {}",
            signature(header),
            signature(full),
            signature(default)
        ))
    }

    fn run_series_json(&mut self, input: &[u8]) -> Outcome {
        let dir = self.scratch.join("submission");
        let path = dir.join(OUTPUT_FILE);
        if let Err(e) = std::fs::write(&path, input) {
            return Outcome::Handled(format!("scratch write failed: {}", e.kind()));
        }
        match worksample_series::grade::grade_submission(&self.schema, &self.key, &dir) {
            Ok(grade) => {
                let scores: Vec<String> = grade
                    .criteria
                    .iter()
                    .map(|c| normalize(&c.summary))
                    .collect();
                let first_note = grade
                    .notes
                    .first()
                    .map(|n| normalize(n))
                    .unwrap_or_default();
                Outcome::Handled(format!("{} | {first_note}", scores.join(" / ")))
            }
            Err(message) => Outcome::Fault(message),
        }
    }

    fn write_task_dir(&self) -> Result<(), SetupError> {
        let dir = self.scratch.join("tasks/series");
        let mut files: Vec<(&str, &str)> = vec![
            ("task.toml", self.embedded.task_toml),
            ("rubric.toml", self.embedded.rubric_toml),
            ("brief.md", self.embedded.brief_md),
        ];
        files.extend(self.embedded.files.iter().copied());
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(io_error(&path))?;
        }
        Ok(())
    }

    fn run_task_dir(&mut self, file: &str, input: &[u8]) -> Outcome {
        let tasks = self.scratch.join("tasks");
        let path = tasks.join("series").join(file);
        if let Err(e) = std::fs::write(&path, input) {
            return Outcome::Handled(format!("scratch write failed: {}", e.kind()));
        }
        let loaded = TaskData::load_dir(&tasks, "series", &self.embedded);
        let outcome = match loaded {
            Err(e) => signature::<(), _>(Err(e)),
            Ok(data) => {
                let profiles: Vec<String> = data
                    .spec
                    .profiles
                    .keys()
                    .map(|name| {
                        let params = data
                            .profile(Some(name))
                            .and_then(|p| p.parse::<Params>())
                            .map_err(|e| e.to_string())
                            .and_then(|p| p.validate());
                        signature(params)
                    })
                    .collect();
                let points = data.rubric.max_points();
                format!(
                    "ok {} criteria, {points:.1} points | {}",
                    data.rubric.criteria.len(),
                    profiles.join(" / ")
                )
            }
        };
        // The next input mutates one file only: restore the other to the built-in text.
        let restored = self.write_task_dir();
        match restored {
            Ok(()) => Outcome::Handled(outcome),
            Err(e) => Outcome::Handled(format!("{outcome} | restore failed: {e}")),
        }
    }

    fn run_manifest(&mut self, input: &[u8]) -> Outcome {
        let dir = self.scratch.join("fixtures-copy");
        let path = dir.join(MANIFEST_FILE);
        if let Err(e) = std::fs::write(&path, input) {
            return Outcome::Handled(format!("scratch write failed: {}", e.kind()));
        }
        let read = Manifest::read(&dir).and_then(|m| {
            let series = TaskId::new("series")?;
            m.expect_task(&path, &series, 1).map(|()| m.seed)
        });
        Outcome::Handled(signature(read.map(|seed| format!("{seed:?}").len())))
    }
}

/// A small series fixture folder in `out`: its key and up to 64 of its files.
fn generate_fixtures(
    embedded: &EmbeddedTask,
    out: &Path,
) -> Result<(Key, Vec<Vec<u8>>), SetupError> {
    let data = TaskData::from_embedded("series", embedded)
        .map_err(|e| SetupError::Generate(e.to_string()))?;
    let mut params: Params = data
        .profile(None)
        .and_then(|p| p.parse())
        .map_err(|e| SetupError::Generate(e.to_string()))?;
    // Small slices and folder: seeds stay a few KB and setup takes a second.
    params.matrix = 16;
    params.min_files = 0;
    let key = generate(1, &params, out).map_err(|e| SetupError::Generate(e.to_string()))?;
    let mut files: Vec<PathBuf> = Vec::new();
    collect_files(out, &mut files).map_err(io_error(out))?;
    files.sort();
    let mut generated = Vec::new();
    for f in files.iter().take(64) {
        generated.push(std::fs::read(f).map_err(io_error(f))?);
    }
    Ok((key, generated))
}

/// A perfect `volumes.json` for `key`: every volume with its slices in true order.
fn perfect_output(key: &Key) -> Value {
    let volumes: Vec<Value> = key
        .volumes
        .iter()
        .enumerate()
        .map(|(k, v)| {
            let instances: Vec<Value> = v
                .instances
                .iter()
                .map(|id| json!({ "file": key.label(*id) }))
                .collect();
            let g = &v.geometry;
            json!({
                "id": format!("v{k}"),
                "instances": instances,
                "geometry": {
                    "image_orientation_patient": g.iop,
                    "rows": g.rows,
                    "columns": g.columns,
                    "pixel_spacing_mm": g.pixel_spacing,
                    "slice_spacing_mm": g.slice_spacing,
                    "first_position_mm": g.first_position,
                    "regular": g.regular,
                },
                "anomalies": [],
            })
        })
        .collect();
    json!({ "schema_version": SCHEMA_VERSION, "volumes": volumes, "excluded": [] })
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// A result reduced to its kind: the value's debug form for successes, the error chain for
/// failures, with numbers and quoted names masked so that only new behaviour looks new.
fn signature<T: std::fmt::Debug, E: std::fmt::Display>(r: Result<T, E>) -> String {
    match r {
        Ok(v) => format!("ok {}", normalize(&format!("{v:?}"))),
        Err(e) => format!("err {}", normalize(&e.to_string())),
    }
}

/// Masks digits and back-quoted names, drops the source excerpt of parse errors (the lines
/// drawn with `|`), and keeps the first 120 characters.
pub fn normalize(text: &str) -> String {
    let text: Vec<&str> = text.lines().filter(|l| !l.contains('|')).collect();
    let text = text.join(" ");
    let mut out = String::new();
    let mut in_quote = false;
    let mut last_digit = false;
    for c in text.chars() {
        if c == '`' {
            in_quote = !in_quote;
            if in_quote {
                out.push_str("`…`");
            }
            continue;
        }
        if in_quote {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
        if out.len() >= 120 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_masks_numbers_and_names() {
        assert_eq!(
            normalize("`/tmp/x/in.dcm`: element (0010,0010) at byte 132 has length 4294967294"),
            "`…`: element (#,#) at byte # has length #"
        );
    }

    #[test]
    fn names_round_trip() {
        for t in TargetId::ALL {
            assert_eq!(TargetId::from_name(t.name()), Some(t));
        }
        assert_eq!(TargetId::from_name("nope"), None);
    }
}
