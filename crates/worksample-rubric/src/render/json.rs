//! The JSON rendering, which is the report's contract with CI and `worksample cohort`, and the
//! published JSON Schema (draft 2020-12) that describes it.
//!
//! The JSON is exactly the model's serde form; the schema is written by hand next to it and the
//! tests below hold the two together: rich reports covering every enum variant and every
//! optional field must validate, and a report with an unknown field or enum value must not.

use crate::Report;

/// The JSON Schema of `worksample.report/v1`, as published in
/// `crates/worksample-rubric/report.schema.json`.
pub const SCHEMA_JSON: &str = include_str!("../../report.schema.json");

/// The report as pretty JSON in struct field order, with a trailing newline.
pub fn json(report: &Report) -> String {
    let mut text = serde_json::to_string_pretty(report)
        .expect("a Report has string keys and no custom serializers, so it always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::render::fixtures;
    use crate::{Audience, Level, RunStatusKind, Status, Verdict, Visibility};

    fn validator() -> jsonschema::Validator {
        let schema: Value = serde_json::from_str(SCHEMA_JSON).expect("the schema is JSON");
        jsonschema::draft202012::new(&schema).expect("the schema is a valid draft 2020-12 schema")
    }

    /// Every report shape the model can produce: three fixtures in both audiences, and the
    /// good one under every run status.
    fn rich_reports() -> Vec<Report> {
        let mut reports = Vec::new();
        for r in [
            fixtures::good(),
            fixtures::gated_candidate(),
            fixtures::timed_out(),
            fixtures::with_figures(),
        ] {
            reports.push(r.clone().for_candidate());
            reports.push(r);
        }
        let kinds = [
            RunStatusKind::Completed,
            RunStatusKind::TimedOut,
            RunStatusKind::Killed,
            RunStatusKind::MemoryLimit,
            RunStatusKind::ProcessLimit,
            RunStatusKind::OutputLimit,
            RunStatusKind::FileSizeLimit,
            RunStatusKind::SpawnFailed,
            RunStatusKind::NotRun,
        ];
        for kind in kinds {
            let mut r = fixtures::good();
            r.run.status = kind;
            reports.push(r);
        }
        reports
    }

    /// A change that makes a valid report invalid.
    type Mutation = fn(&mut Value);

    fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
        validator
            .iter_errors(value)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect()
    }

    #[test]
    fn is_the_serde_form_pretty_with_a_trailing_newline() {
        let report = fixtures::good();
        let text = json(&report);
        assert!(text.ends_with("}\n"));
        assert!(text.starts_with("{\n  \"schema\": \"worksample.report/v1\",\n"));
        let back: Report = serde_json::from_str(&text).expect("the JSON reads back");
        assert_eq!(back, report);
    }

    #[test]
    fn rich_reports_cover_every_variant_and_optional_field() {
        let reports = rich_reports();
        let crit = || reports.iter().flat_map(|r| &r.criteria);
        for s in [Status::Pass, Status::Partial, Status::Fail] {
            assert!(crit().any(|c| c.status == s), "{s:?}");
        }
        for l in [Level::Poor, Level::Mixed, Level::Good, Level::Excellent] {
            assert!(crit().any(|c| c.level == l), "{l:?}");
        }
        for v in [Visibility::Visible, Visibility::Hidden] {
            assert!(crit().any(|c| c.visibility == v), "{v:?}");
        }
        for v in [Verdict::Unjudged, Verdict::Pass, Verdict::Fail] {
            assert!(reports.iter().any(|r| r.verdict == v), "{v:?}");
        }
        for a in [Audience::Candidate, Audience::Assessor] {
            assert!(reports.iter().any(|r| r.audience == a), "{a:?}");
        }
        assert!(crit().any(|c| !c.gated_by.is_empty()));
        assert!(crit().any(|c| !c.debrief.is_empty()));
        assert!(crit().any(|c| c.findings_omitted > 0));
        let findings = || crit().flat_map(|c| &c.findings);
        assert!(findings().any(|f| f.file.is_some() && f.location.is_some()));
        assert!(
            reports
                .iter()
                .any(|r| r.candidate.is_some() && r.threshold.is_some())
        );
        assert!(
            reports
                .iter()
                .any(|r| r.run.exit_code.is_some() && r.run.network_isolated.is_some())
        );
        assert!(
            reports
                .iter()
                .any(|r| matches!(r.seed, crate::SeedInfo::Hidden { .. }))
        );
        assert!(
            reports
                .iter()
                .any(|r| matches!(r.seed, crate::SeedInfo::Public { .. }))
        );
        assert!(
            reports
                .iter()
                .any(|r| !r.cards.is_empty() && !r.notes.is_empty())
        );
        let figures = || reports.iter().flat_map(|r| &r.figures);
        for kind in ["png", "strip", "bars", "histogram"] {
            assert!(
                figures().any(|f| serde_json::to_value(&f.kind).expect("JSON")["type"] == kind),
                "{kind}"
            );
        }
        assert!(figures().any(|f| f.visibility == Visibility::Visible));
    }

    #[test]
    fn every_rich_report_validates_against_the_published_schema() {
        let validator = validator();
        for report in rich_reports() {
            let value: Value = serde_json::from_str(&json(&report)).expect("JSON");
            let errs = errors(&validator, &value);
            assert!(errs.is_empty(), "{}: {errs:#?}", report.task.id);
        }
    }

    #[test]
    fn the_schema_rejects_unknown_fields_and_values() {
        let validator = validator();
        let good: Value = serde_json::to_value(fixtures::gated_candidate()).expect("JSON");
        let mutations: [(&str, Mutation); 11] = [
            ("unknown figure kind", |v| {
                v["figures"] = serde_json::json!([{
                    "id": "f", "title": "t", "caption": "c",
                    "kind": { "type": "pie", "slices": [] }
                }]);
            }),
            ("figure bytes that are not base64", |v| {
                v["figures"] = serde_json::json!([{
                    "id": "f", "title": "t", "caption": "c",
                    "kind": { "type": "png", "image": { "width": 1, "height": 1, "alt": "a", "bytes": "<svg>" } }
                }]);
            }),
            ("extra top-level field", |v| {
                v["score"] = Value::from(1);
            }),
            ("extra criterion field", |v| {
                v["criteria"][0]["hint"] = Value::from("x");
            }),
            ("extra finding field", |v| {
                v["criteria"][0]["findings"][0]["line"] = Value::from(3);
            }),
            ("wrong status", |v| {
                v["criteria"][0]["status"] = Value::from("error");
            }),
            ("wrong level", |v| {
                v["criteria"][0]["level"] = Value::from("great");
            }),
            ("wrong run status", |v| {
                v["run"]["status"] = Value::from("crashed");
            }),
            ("wrong schema tag", |v| {
                v["schema"] = Value::from("worksample.report/v2");
            }),
            ("seed with both forms", |v| {
                v["seed"]["value"] = Value::from(1);
            }),
            ("missing verdict", |v| {
                v.as_object_mut().expect("object").remove("verdict");
            }),
        ];
        assert!(errors(&validator, &good).is_empty());
        for (what, mutate) in mutations {
            let mut bad = good.clone();
            mutate(&mut bad);
            assert!(!errors(&validator, &bad).is_empty(), "{what} was accepted");
        }
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("json_good", json(&fixtures::good()));
        insta::assert_snapshot!("json_gated_candidate", json(&fixtures::gated_candidate()));
        insta::assert_snapshot!("json_timed_out", json(&fixtures::timed_out()));
    }
}
