//! The `deid` work-sample: the candidate de-identifies a multi-patient DICOM study set under the
//! PS3.15 Basic Application Level Confidentiality Profile with five options, and is graded on
//! privacy, referential integrity, clinical utility and conformance (tasks/deid/brief.md,
//! tasks/deid/rubric.toml).
//!
//! This crate holds the foundations the generator and grader stand on:
//! - [`contract`]: the output contract of the brief as constants and predicates;
//! - [`profile`]: Table E.1-1 compiled in, options, CID 7050 codes, action resolution;
//! - [`safe_private`]: the safe private attributes the task retains (Table E.3.10-1 subset);
//! - [`paths`]: attribute paths such as `(0040,0275)[0]>(0010,0010)` and a walker that visits
//!   every element of a data set at every depth;
//! - [`params`]: the strict profile parameters of task.toml;
//! - [`canary`], [`planted`] and [`leak`]: minting unique planted identifiers, the registry of
//!   where they were planted, and the leak scanner;
//! - [`dates`] and [`tokens`]: date offsets and the descriptor token rules the grader applies;
//! - [`uidmap`]: the audit of a UID remap (one-to-one, valid, no input UID reused);
//! - [`markers`]: writing and checking the de-identification markers.
//!
//! ```
//! use dicom_core::Tag;
//! use worksample_deid::profile::{Action, AttributeType, task_action};
//! // Patient's Birth Date is emptied, not shifted, even under Modified Dates.
//! assert_eq!(task_action(Tag(0x0010, 0x0030), AttributeType::Type2), Action::Empty);
//! ```

pub mod canary;
pub mod contract;
pub mod dates;
pub mod generate;
pub mod grade;
pub mod key;
pub mod leak;
pub mod markers;
pub mod params;
pub mod paths;
pub mod planted;
pub mod profile;
pub mod safe_private;
pub mod starter;
mod task;
pub mod tokens;
pub mod uidmap;

pub use task::DeidTask;

use worksample_task::EmbeddedTask;

/// The task id; equals its folder under `tasks/`.
pub const TASK_ID: &str = "deid";

/// The rubric's criterion ids, in rubric order; the grader reports a score under each.
pub const CRITERIA: [&str; 23] = [
    "direct_leaks",
    "indirect_leaks",
    "action_compliance",
    "date_offsets",
    "private_tags",
    "burned_in",
    "uid_remap",
    "class_uids",
    "file_meta",
    "references",
    "hierarchy",
    "pseudonyms",
    "maps",
    "pixels_untouched",
    "minimal_pixel_edit",
    "geometry_acquisition",
    "safe_private",
    "descriptors",
    "intervals",
    "iod_conformance",
    "markers",
    "charset",
    "hygiene",
];

/// The task's data files as compiled in: task.toml, brief.md, rubric.toml and the Table E.1-1
/// CSV published to candidates.
pub const EMBEDDED: EmbeddedTask = EmbeddedTask {
    task_toml: include_str!("../../../tasks/deid/task.toml"),
    brief_md: include_str!("../../../tasks/deid/brief.md"),
    rubric_toml: include_str!("../../../tasks/deid/rubric.toml"),
    files: &[("ps3.15-table-e1-1-2024b.csv", profile::TABLE_CSV)],
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use worksample_task::TaskData;

    use super::*;
    use crate::params::Params;
    use crate::profile::{Options, ProfileOption};

    fn data() -> TaskData {
        TaskData::from_embedded(TASK_ID, &EMBEDDED).expect("tasks/deid loads")
    }

    #[test]
    fn task_data_loads_and_both_profiles_parse() {
        let data = data();
        assert_eq!(data.spec.version, 3);
        for name in ["standard", "hard"] {
            let profile = data.profile(Some(name)).expect("profile exists");
            let params: Params = profile.parse().expect("params parse");
            params.validate().expect("params are sane");
        }
    }

    #[test]
    fn rubric_weights_follow_the_research_split() {
        let data = data();
        let mut by_category: BTreeMap<&str, f64> = BTreeMap::new();
        for c in &data.rubric.criteria {
            *by_category.entry(c.category.as_str()).or_default() += c.weight;
        }
        let expected = BTreeMap::from([
            ("conformance", 10.0),
            ("integrity", 20.0),
            ("privacy", 45.0),
            ("utility", 25.0),
        ]);
        assert_eq!(by_category, expected);
        let gate = data
            .rubric
            .gates
            .iter()
            .find(|g| g.caps == "privacy")
            .expect("a privacy gate");
        assert_eq!((gate.criterion.as_str(), gate.below), ("direct_leaks", 1.0));
    }

    #[test]
    fn rubric_lists_exactly_the_criteria_in_order() {
        let data = data();
        let ids: Vec<&str> = data.rubric.criteria.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, CRITERIA);
        for c in &data.rubric.criteria {
            assert!(
                !c.debrief.is_empty(),
                "criterion {} has no debrief question",
                c.id
            );
        }
    }

    #[test]
    fn brief_names_every_marker_code_and_the_answers() {
        let brief = EMBEDDED.brief_md;
        // Compare with line breaks folded: the brief is wrapped Markdown.
        let flat = brief.split_whitespace().collect::<Vec<_>>().join(" ");
        for code in Options::task().codes() {
            assert!(flat.contains(code), "brief lacks CID 7050 code {code}");
        }
        for option in Options::task().iter() {
            if option != ProfileOption::CleanPixelData {
                assert!(
                    flat.contains(option.meaning().trim_end_matches(" Option")),
                    "brief lacks {option:?}"
                );
            }
        }
        for needle in [
            "Patient Identity Removed (0012,0062)",
            "(0012,0063)",
            "(0012,0064)",
            "(0028,0303) = `MODIFIED`",
            "patients.csv",
            "uids.csv",
        ] {
            assert!(flat.contains(needle), "brief lacks {needle}");
        }
        // Every de-identification question of research/brief-questions.md has a numbered
        // answer in the brief.
        let answers = brief
            .split("## Answers to the questions careful candidates ask")
            .nth(1)
            .expect("answers section");
        for n in 1..=8 {
            assert!(
                answers.contains(&format!("\n{n}. **")),
                "answer {n} missing"
            );
        }
    }
}
