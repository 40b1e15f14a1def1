//! Totals and gates as a report shows them, for tests that assert score bands: the rubric's
//! weights, gates and caps applied by the same code the CLI uses, never a copy of it.

use worksample_task::rubric::{Grade, Report};

/// The report the CLI would build from `grade`.
fn report(grade: Grade, profile: &str, seed: u64) -> Report {
    use worksample_deid::{EMBEDDED, TASK_ID};
    use worksample_task::TaskData;
    use worksample_task::rubric::{ReportContext, RunSummary, SeedInfo, TaskRef, score};
    let data = TaskData::from_embedded(TASK_ID, &EMBEDDED).expect("task data");
    let ctx = ReportContext {
        harness_version: "test".into(),
        task: TaskRef {
            id: TASK_ID.into(),
            version: data.spec.version,
            title: data.spec.title.clone(),
        },
        profile: profile.into(),
        seed: SeedInfo::Public { value: seed },
        candidate: None,
        run: RunSummary::not_run(),
        threshold: None,
    };
    score(&data.rubric, grade, ctx).expect("scores")
}

/// The total out of 100 as a report would show it.
pub fn total(grade: Grade, profile: &str, seed: u64) -> f64 {
    report(grade, profile, seed).total.percent
}

/// The ids of the gates that capped some criterion's points, sorted.
pub fn closed_gates(grade: Grade) -> std::collections::BTreeSet<String> {
    report(grade, "standard", 0)
        .criteria
        .into_iter()
        .flat_map(|c| c.gated_by)
        .map(|hit| hit.gate)
        .collect()
}
