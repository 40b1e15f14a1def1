//! Totals as a report shows them, for tests that assert score bands: the rubric's weights,
//! gates and caps applied by the same code the CLI uses, never a copy of it.

/// The total out of 100 as a report would show it: the rubric's weights, gates and caps
/// applied by the same code the CLI uses.
pub fn total(grade: worksample_task::rubric::Grade, profile: &str, seed: u64) -> f64 {
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
    score(&data.rubric, grade, ctx)
        .expect("scores")
        .total
        .percent
}
