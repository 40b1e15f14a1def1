//! The `shift-json` target: the `report.json` a `shift` candidate writes (tasks/shift/brief.md,
//! `output.schema.json`), graded by the task's own grader,
//! [`worksample_shift::grade::grade_submission`]: read under the grader's byte and value caps,
//! validated against the published schema, read into the typed report, and graded — metric
//! cells recomputed, claims matched to the planted causes, and the submitted pipeline
//! configuration replayed on the hidden-label test slices.
//!
//! Setup generates a small `shift` set from a fixed seed and runs the reference solution and
//! the shipped starter on it; their reports are the seeds, and the reference's
//! `predictions_test.csv` stays beside every input so the replay is compared with it.

use std::path::{Path, PathBuf};

use serde_json::Value;
use worksample_shift::generate::Params;
use worksample_shift::key::Key;
use worksample_shift::output::{PREDICTIONS_FILE, REPORT_FILE};
use worksample_shift::{SCHEMA_FILE, ShiftTask};
use worksample_task::rubric::Grade;
use worksample_task::{Task, TaskData};

use crate::reference::shift::reference;
use crate::target::{Outcome, SetupError, io_error, normalize};

/// Generator seed of the set every input is graded against.
const FIXTURE_SEED: u64 = 1;

/// The grader with its set: trusted fixtures, schema, key.
#[derive(Debug)]
pub struct ShiftJson {
    fixtures: PathBuf,
    submission: PathBuf,
    key: Key,
    schema: Value,
    seeds: Vec<Vec<u8>>,
}

impl ShiftJson {
    /// Generates the set under `scratch`, runs the reference and the starter on it, and keeps
    /// their reports as seeds.
    pub fn new(scratch: &Path) -> Result<Self, SetupError> {
        let fixtures = scratch.join("shift-fixtures");
        let submission = scratch.join("shift-submission");
        let starter_out = scratch.join("shift-starter");
        for dir in [&fixtures, &submission, &starter_out] {
            std::fs::create_dir_all(dir).map_err(io_error(dir))?;
        }
        let embedded = ShiftTask.embedded();
        let data = TaskData::from_embedded(worksample_shift::ID, &embedded)
            .map_err(|e| SetupError::Generate(format!("shift: {e}")))?;
        let mut params: Params = data
            .profile(None)
            .and_then(|p| p.parse())
            .map_err(|e| SetupError::Generate(format!("shift: {e}")))?;
        // A small set whose draw passes the generator's self-checks for this seed (at 64 or
        // 96 pixels P0 misses too many lesions at the reference site, and no draw passes):
        // 300 slices, so replaying one input takes milliseconds.
        params.matrix = 128;
        params.reference_dev = 40;
        params.stratum_dev = 30;
        params.reference_test = 10;
        params.stratum_test = 10;
        let key = worksample_shift::generate::generate(FIXTURE_SEED, &params, &fixtures)
            .map_err(|e| SetupError::Generate(format!("shift: {e}")))?;
        let schema_text = embedded
            .files
            .iter()
            .find(|(name, _)| *name == SCHEMA_FILE)
            .map(|(_, text)| *text)
            .ok_or_else(|| SetupError::Generate(format!("shift: no built-in {SCHEMA_FILE}")))?;
        let schema: Value = serde_json::from_str(schema_text)
            .map_err(|e| SetupError::Generate(format!("shift {SCHEMA_FILE}: {e}")))?;

        let (report, predictions) = reference(&fixtures);
        let predictions_path = submission.join(PREDICTIONS_FILE);
        std::fs::write(&predictions_path, predictions).map_err(io_error(&predictions_path))?;
        worksample_shift::starter::run(&fixtures, &starter_out)
            .map_err(|e| SetupError::Generate(format!("shift starter: {e}")))?;
        let starter_path = starter_out.join(REPORT_FILE);
        let starter = std::fs::read(&starter_path).map_err(io_error(&starter_path))?;
        let pretty = serde_json::to_vec_pretty(&report)
            .map_err(|e| SetupError::Generate(format!("shift reference report: {e}")))?;
        Ok(ShiftJson {
            fixtures,
            submission,
            key,
            schema,
            seeds: vec![pretty, starter],
        })
    }

    /// The reference's and the starter's reports.
    pub fn seeds(&self) -> Vec<Vec<u8>> {
        self.seeds.clone()
    }

    /// Writes the input as `report.json` and grades the submission.
    pub fn run(&mut self, input: &[u8]) -> Outcome {
        let path = self.submission.join(REPORT_FILE);
        if let Err(e) = std::fs::write(&path, input) {
            return Outcome::Handled(format!("scratch write failed: {}", e.kind()));
        }
        match worksample_shift::grade::grade_submission(
            &self.schema,
            &self.key,
            &self.fixtures,
            &self.submission,
            // The figures are part of what a report may fail on.
            worksample_task::Figures::Draw,
        ) {
            Ok(grade) => Outcome::Handled(signature(&grade)),
            // `Err` is the grader's word for a harness fault; with fixtures and predictions
            // fixed, the report alone caused it.
            Err(message) => Outcome::Fault(message),
        }
    }
}

/// Each criterion's score in tenths and summary, and the first finding and note, with numbers
/// and names masked. A report the schema refuses is reduced to where and how it failed (the
/// instance path with indices masked, the message without the offending value), so that
/// every hostile value in the same place does not count as new behaviour.
fn signature(grade: &Grade) -> String {
    let criteria: Vec<String> = grade
        .criteria
        .iter()
        .map(|c| format!("{:.1} {}", c.score.get(), normalize(&c.summary)))
        .collect();
    let first = grade
        .criteria
        .iter()
        .flat_map(|c| c.findings.first())
        .next();
    let first_finding = first
        .map(|f| {
            let location = f.location.as_deref().map(normalize).unwrap_or_default();
            format!("{location} {}", normalize(without_value(&f.message)))
        })
        .unwrap_or_default();
    let first_note = grade
        .notes
        .first()
        .map(|n| normalize(n))
        .unwrap_or_default();
    format!("{} | {first_finding} | {first_note}", criteria.join(" / "))
}

/// A JSON Schema message without the instance value it opens with (`"x" is not of type
/// "number"` becomes `is not of type "number"`); other messages unchanged.
fn without_value(message: &str) -> &str {
    match message.rfind(" is ") {
        // `null`, `true` and `false` are three values: left in, they cost three behaviours.
        Some(at) if !message.starts_with(char::is_alphabetic) => &message[at + 1..],
        _ => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handled(outcome: Outcome) -> String {
        match outcome {
            Outcome::Handled(signature) => signature,
            Outcome::Fault(message) => panic!("a harness fault: {message}"),
        }
    }

    #[test]
    fn the_reference_report_grades_and_broken_json_is_a_finding() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut target = ShiftJson::new(dir.path()).expect("the set generates");
        let seeds = target.seeds();
        let reference = handled(target.run(&seeds[0]));
        assert!(!reference.contains("not graded"), "{reference}");
        let truncated = handled(target.run(&seeds[0][..seeds[0].len() / 2]));
        assert!(truncated.contains("not graded"), "{truncated}");
        assert!(
            truncated.contains("no usable report.json"),
            "the note names the unusable report: {truncated}"
        );
    }

    /// Found by the first 10-minute run: `"fp": 1e308` passes the schema's `integer` but not
    /// the typed u64 count, and the grader called that a harness fault.
    #[test]
    fn counts_with_a_zero_fraction_are_graded_and_huge_ones_are_a_finding() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut target = ShiftJson::new(dir.path()).expect("the set generates");
        let reference: Value = serde_json::from_slice(&target.seeds()[0]).expect("JSON");
        let with_fp = |fp: Value| {
            let mut report = reference.clone();
            report["strata_metrics"][0]["fp"] = fp;
            serde_json::to_vec(&report).expect("serialises")
        };
        let exact = reference["strata_metrics"][0]["fp"]
            .as_u64()
            .expect("a count") as f64;
        let as_float = handled(target.run(&with_fp(serde_json::json!(exact))));
        let as_integer =
            handled(target.run(&with_fp(reference["strata_metrics"][0]["fp"].clone())));
        assert_eq!(as_float, as_integer, "20.0 grades as 20");
        let huge = handled(target.run(&with_fp(serde_json::json!(1e308))));
        assert!(huge.contains("not graded"), "{huge}");
        assert!(huge.contains("does not fit its field"), "{huge}");
    }

    #[test]
    fn schema_messages_lose_the_value_they_open_with() {
        assert_eq!(
            without_value(r#""../x" is not of type "number""#),
            r#"is not of type "number""#
        );
        assert_eq!(
            without_value("[[1]] is not of type \"object\""),
            "is not of type \"object\""
        );
        assert_eq!(without_value("12 is greater than 1"), "is greater than 1");
        assert_eq!(
            without_value("the claim `c1` is made twice"),
            "the claim `c1` is made twice"
        );
    }
}
