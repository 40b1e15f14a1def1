//! Representative reports for the renderers' tests, built through [`crate::score`] so they
//! always obey the model's rules (gates, caps, levels, candidate view) rather than a
//! hand-written imitation of them.

use crate::{
    Bar, Card, CardRow, CriterionGrade, Figure, FigureKind, Finding, Grade, HistogramSeries, Mark,
    MarkKind, PngImage, Report, ReportContext, RubricSpec, RunStatusKind, RunSummary, Score,
    SeedInfo, TaskRef, Tile, Visibility, score,
};

/// A series-reconstruction rubric with one gate and one hidden criterion; at most three
/// findings per criterion so that the "and N more" paths show.
const RUBRIC: &str = r#"
max_findings = 3

[[criterion]]
id = "coverage"
title = "Files accounted for"
category = "triage"
weight = 10
description = "Every input file is either placed in a series or reported as rejected."
anchors = { poor = "Files vanish silently.", mixed = "Some files are unaccounted for.", good = "One or two files unaccounted for.", excellent = "Every file is accounted for." }

[[criterion]]
id = "grouping"
title = "Series grouping"
category = "geometry"
weight = 30
description = "Instances are grouped by Series Instance UID and acquisition."
anchors = { poor = "Series are merged or split at random.", mixed = "Grouping follows the UID only.", good = "Grouping handles most edge cases.", excellent = "Every series is reconstructed exactly." }
debrief = ["Which attributes did you group on, and why those?"]

[[criterion]]
id = "ordering"
title = "Slice order"
category = "geometry"
weight = 30
description = "Slices ascend along the slice normal computed from Image Orientation (Patient)."
anchors = { poor = "Sorted by file name.", mixed = "Sorted by Instance Number.", good = "Sorted by position with rare errors.", excellent = "Sorted by projection on the normal." }
debrief = ["How did you order slices when Instance Number disagreed with position?"]

[[criterion]]
id = "spacing"
title = "Slice spacing checks"
category = "geometry"
weight = 20
visibility = "hidden"
description = "Irregular spacing and missing slices are reported."
anchors = { poor = "Never reported.", mixed = "Reported for gaps only.", good = "Reported with small errors.", excellent = "Reported exactly." }
debrief = ["What tolerance did you use for uneven spacing?"]

[[criterion]]
id = "report"
title = "Output schema"
category = "output"
weight = 10
description = "series.json validates against the published schema."
anchors = { poor = "Missing or invalid.", mixed = "Validates with fixes.", good = "Validates with warnings.", excellent = "Validates." }

[[gate]]
id = "lost-files"
criterion = "coverage"
below = 0.9
caps = "geometry"
cap = 0.25
reason = "files were lost before grouping, so geometry scores cannot be trusted"
"#;

fn spec() -> RubricSpec {
    RubricSpec::parse(RUBRIC, "fixtures rubric").expect("the fixture rubric is valid")
}

fn ctx(
    seed: SeedInfo,
    candidate: Option<&str>,
    run: RunSummary,
    threshold: Option<f64>,
) -> ReportContext {
    ReportContext {
        harness_version: "0.1.0".into(),
        task: TaskRef {
            id: "series".into(),
            version: 1,
            title: "Series reconstruction".into(),
        },
        profile: "standard".into(),
        seed,
        candidate: candidate.map(str::to_owned),
        run,
        threshold,
    }
}

fn completed_run() -> RunSummary {
    RunSummary {
        status: RunStatusKind::Completed,
        exit_code: Some(0),
        detail: "exited with code 0".into(),
        wall_s: 3.214,
        cpu_s: 2.9,
        peak_rss_bytes: 124_150_784,
        stdout_tail: "wrote out/series.json (44 series)\n".into(),
        stderr_tail: String::new(),
        stdout_bytes: 34,
        stderr_bytes: 0,
        network_isolated: Some(true),
        limits: Some(limits()),
    }
}

/// The series task's limits, as `run` applies them.
fn limits() -> crate::RunLimits {
    crate::RunLimits {
        wall_s: 60.0,
        memory_bytes: Some(2 << 30),
        max_processes: Some(64),
        max_file_bytes: Some(256 << 20),
        max_output_bytes: 1 << 20,
    }
}

fn trap_card(handled: [bool; 3]) -> Card {
    Card {
        title: "Trap card".into(),
        rows: vec![
            CardRow {
                name: "duplicate SOP Instance UID".into(),
                handled: handled[0],
                detail: "second copy rejected".into(),
            },
            CardRow {
                name: "gantry-tilted series".into(),
                handled: handled[1],
                detail: "sorted along the tilted normal".into(),
            },
            CardRow {
                name: "non-image object (SR)".into(),
                handled: handled[2],
                detail: "kept out of every series".into(),
            },
        ],
    }
}

/// A strong assessor report: public seed, one partial criterion with findings, threshold met.
pub(crate) fn good() -> Report {
    score_good(good_grade())
}

/// [`good`] with one figure of every kind, one of them visible to candidates, and a hostile
/// caption: what the HTML renderer draws.
pub(crate) fn with_figures() -> Report {
    let mut grade = good_grade();
    grade.figures = figures();
    score_good(grade)
}

/// A 4×4 grey ramp, a real PNG (8-bit greyscale, PNG spec §11.2.2) so browsers decode it.
pub(crate) const RAMP_PNG: [u8; 86] = [
    137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 4, 0, 0, 0, 4, 8, 0, 0,
    0, 0, 140, 154, 193, 162, 0, 0, 0, 29, 73, 68, 65, 84, 120, 218, 99, 96, 16, 80, 48, 96, 112,
    8, 72, 40, 96, 104, 152, 176, 96, 3, 195, 129, 11, 15, 62, 0, 0, 48, 212, 7, 129, 202, 56, 212,
    157, 0, 0, 0, 0, 73, 69, 78, 68, 174, 66, 96, 130,
];

fn ramp(alt: &str) -> PngImage {
    PngImage {
        width: 4,
        height: 4,
        alt: alt.into(),
        bytes: RAMP_PNG.to_vec(),
    }
}

fn figures() -> Vec<Figure> {
    let tile = |rank: usize, marks: Vec<Mark>| Tile {
        label: format!("#{rank}"),
        image: ramp(&format!("slice {rank} of CT/3")),
        marks,
    };
    let mut visible = Figure::new(
        "burned-in",
        "Burned-in region </script><img src=x onerror=alert(1)>",
        "before and after; the caption quotes <b>candidate</b> text & more",
        FigureKind::Png {
            image: ramp("burned-in text \"<script>\" before masking"),
        },
    );
    visible.visibility = Visibility::Visible;
    vec![
        Figure::new(
            "volume-ct3",
            "Volume CT/3 (4 slices)",
            "Slices in the submission's order; marked tiles are out of place or flagged.",
            FigureKind::Strip {
                tiles: vec![
                    tile(0, vec![]),
                    tile(
                        2,
                        vec![Mark {
                            kind: MarkKind::Wrong,
                            note: "true rank 2, placed 2nd".into(),
                        }],
                    ),
                    tile(
                        1,
                        vec![
                            Mark {
                                kind: MarkKind::Wrong,
                                note: "true rank 1, placed 3rd".into(),
                            },
                            Mark {
                                kind: MarkKind::Anomaly,
                                note: "gap after this slice".into(),
                            },
                        ],
                    ),
                    tile(
                        3,
                        vec![Mark {
                            kind: MarkKind::Missing,
                            note: "not in the submission".into(),
                        }],
                    ),
                ],
            },
        ),
        visible,
        Figure::new(
            "sites",
            "AUC per site",
            "Bars are the point estimate; whiskers the 95% Wilson interval.",
            FigureKind::Bars {
                unit: "AUC".into(),
                bars: vec![
                    Bar {
                        label: "site A".into(),
                        value: 0.91,
                        interval: Some([0.87, 0.94]),
                    },
                    Bar {
                        label: "site B".into(),
                        value: 0.64,
                        interval: Some([0.55, 0.72]),
                    },
                    Bar {
                        label: "site C".into(),
                        value: 0.8,
                        interval: None,
                    },
                ],
            },
        ),
        Figure::new(
            "histograms",
            "Intensity per scanner",
            "Counts of pixel values in HU.",
            FigureKind::Histogram {
                unit: "HU".into(),
                edges: vec![-1000.0, -500.0, 0.0, 500.0, 1000.0],
                series: vec![
                    HistogramSeries {
                        label: "scanner 1".into(),
                        counts: vec![10, 40, 30, 5],
                    },
                    HistogramSeries {
                        label: "scanner 2".into(),
                        counts: vec![5, 20, 60, 15],
                    },
                ],
            },
        ),
    ]
}

fn score_good(grade: Grade) -> Report {
    let run = completed_run();
    score(
        &spec(),
        grade,
        ctx(
            SeedInfo::Public { value: 42 },
            Some("cand-a"),
            run,
            Some(70.0),
        ),
    )
    .expect("the fixture grade matches the rubric")
}

fn good_grade() -> Grade {
    Grade {
        criteria: vec![
            CriterionGrade::new("coverage", Score::FULL, "all 412 files accounted for"),
            CriterionGrade::new("grouping", Score::FULL, "44 of 44 series exactly right"),
            CriterionGrade::new(
                "ordering",
                Score::new(0.9),
                "40 of 44 volumes in order (4 with one swap)",
            )
            .with_findings(vec![
                Finding::new("slices 11 and 12 swapped")
                    .in_file("CT/3/0012.dcm")
                    .at("(0020,0032) Image Position (Patient)"),
                Finding::new("slices 3 and 4 swapped").in_file("CT/7/0004.dcm"),
            ]),
            CriterionGrade::new("spacing", Score::FULL, "all 6 spacing anomalies reported"),
            CriterionGrade::new("report", Score::FULL, "series.json validates"),
        ],
        cards: vec![trap_card([true, true, true])],
        notes: vec![],
        figures: vec![],
    }
}

/// A weak submission seen by the candidate: hidden seed, a closed gate, a hidden criterion
/// with findings, findings over the cap, notes, and candidate text that tries to break out of
/// every format it lands in.
pub(crate) fn gated_candidate() -> Report {
    let hostile = "name `<img src=x onerror=alert(1)>` | x ]]> & \u{1}\u{1b}[2J";
    let grade = Grade {
        criteria: vec![
            CriterionGrade::new(
                "coverage",
                Score::new(0.75),
                "309 of 412 files accounted for",
            )
            .with_findings(vec![
                Finding::new("not in any series and not rejected").in_file("MR/1/0001.dcm"),
                Finding::new("not in any series and not rejected").in_file("MR/1/0002.dcm"),
                Finding::new("not in any series and not rejected").in_file("MR/1/0003.dcm"),
                Finding::new("not in any series and not rejected").in_file("MR/1/0004.dcm"),
                Finding::new("not in any series and not rejected").in_file("MR/1/0005.dcm"),
            ])
            // The grader kept 5 of the 103 files left out: the report counts the other 98.
            .with_dropped_findings(98),
            CriterionGrade::new("grouping", Score::new(0.6), "26 of 44 series exactly right")
                .with_findings(vec![
                    Finding::new("two acquisitions merged into one series")
                        .in_file("out/series.json")
                        .at("/series/3"),
                    Finding::new(hostile)
                        .in_file("out/series.json")
                        .at("/series/9/label"),
                ]),
            CriterionGrade::new("ordering", Score::new(0.5), "22 of 44 volumes in order")
                .with_findings(vec![Finding::new("sorted by file name").in_file("CT/3/")]),
            CriterionGrade::new("spacing", Score::ZERO, "0 of 6 spacing anomalies reported")
                .with_findings(vec![
                    Finding::new("missing slice not reported").in_file("CT/5/"),
                    Finding::new("uneven spacing not reported").in_file("CT/9/"),
                ]),
            CriterionGrade::new(
                "report",
                Score::new(0.8),
                "series.json validates after 2 fixes",
            )
            .with_findings(vec![
                Finding::new("`modality` must be a string").at("/series/0/modality"),
            ]),
        ],
        cards: vec![trap_card([false, true, false])],
        notes: vec!["out/series.json: 2 unknown keys ignored (`extra`, `debug`)".into()],
        figures: vec![],
    };
    let run = RunSummary {
        stdout_tail: String::new(),
        stdout_bytes: 0,
        stderr_tail: "warning: <pixel data> skipped\n".into(),
        stderr_bytes: 30,
        ..completed_run()
    };
    score(
        &spec(),
        grade,
        ctx(
            SeedInfo::Hidden {
                commitment: "9f2c4e1a7b3d5f60c8e2a4b6d8f0e1c3a5b7d9f1e3c5a7b9d1f3e5c7a9b1d3f5"
                    .into(),
            },
            Some("cand-b"),
            run,
            Some(70.0),
        ),
    )
    .expect("the fixture grade matches the rubric")
    .for_candidate()
}

/// A run killed at the wall-clock limit that left no output: everything fails, no threshold.
pub(crate) fn timed_out() -> Report {
    let missing = |id: &str| {
        CriterionGrade::new(id, Score::ZERO, "no output")
            .with_findings(vec![Finding::new("out/series.json was not written")])
    };
    let grade = Grade {
        criteria: ["coverage", "grouping", "ordering", "spacing", "report"]
            .into_iter()
            .map(missing)
            .collect(),
        cards: vec![],
        notes: vec!["out/series.json is missing".into()],
        figures: vec![],
    };
    let run = RunSummary {
        status: RunStatusKind::TimedOut,
        exit_code: None,
        detail: "killed after the 60 s wall-clock limit".into(),
        wall_s: 60.0,
        cpu_s: 59.41,
        peak_rss_bytes: 2_147_483_648,
        stdout_tail: "reading CT/1 ...\nreading CT/2 ...\n".into(),
        stderr_tail: String::new(),
        stdout_bytes: 1_048_576,
        stderr_bytes: 0,
        network_isolated: Some(true),
        limits: Some(limits()),
    };
    score(
        &spec(),
        grade,
        ctx(SeedInfo::Public { value: 7 }, None, run, None),
    )
    .expect("the fixture grade matches the rubric")
}
