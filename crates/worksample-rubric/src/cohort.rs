//! A cohort: many candidates' reports of one task, checked for comparability and summarised
//! as a ranking, a per-criterion matrix and the spread of every criterion.
//!
//! Comparability comes first: reports of different tasks or rubrics are never mixed; reports of
//! different task versions, profiles, or seed kinds (a practice seed beside hidden ones, or two
//! different practice seeds) measure different things and are an error unless forced, in which
//! case the cohort carries a warning naming each difference. Every error names the report file
//! and the field.

use std::collections::BTreeMap;

use crate::{Report, RunLimits, RunStatusKind, SeedInfo, TaskRef, Total};

/// One report and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortEntry {
    /// The file, as the user named it; used in errors and tables.
    pub source: String,
    /// The report.
    pub report: Report,
}

impl CohortEntry {
    /// Parses a report's JSON; `source` names it in errors.
    pub fn parse(source: &str, json: &str) -> Result<Self, CohortError> {
        let report: Report = serde_json::from_str(json).map_err(|e| CohortError::Parse {
            source_file: source.to_owned(),
            message: format!("{e} (a report is one JSON object, as `--format json` writes)"),
        })?;
        Self::checked(source.to_owned(), report)
    }

    /// Parses a file that holds one report (`--format json`) or an array of them (the
    /// `report.json` of `worksample check`, one per task). An array's reports are named
    /// `source[i]` unless it holds just one.
    pub fn parse_all(source: &str, json: &str) -> Result<Vec<Self>, CohortError> {
        if !json.trim_start().starts_with('[') {
            return Ok(vec![Self::parse(source, json)?]);
        }
        let reports: Vec<Report> = serde_json::from_str(json).map_err(|e| CohortError::Parse {
            source_file: source.to_owned(),
            message: format!("{e} (an array must hold reports only, as `worksample check` writes)"),
        })?;
        let one = reports.len() == 1;
        reports
            .into_iter()
            .enumerate()
            .map(|(i, report)| {
                let name = if one {
                    source.to_owned()
                } else {
                    format!("{source}[{i}]")
                };
                Self::checked(name, report)
            })
            .collect()
    }

    fn checked(source: String, report: Report) -> Result<Self, CohortError> {
        if report.schema != crate::REPORT_SCHEMA {
            return Err(CohortError::Mismatch {
                source_file: source,
                field: "schema".into(),
                expected: crate::REPORT_SCHEMA.into(),
                found: report.schema,
            });
        }
        if let Some(message) = inconsistency(&report) {
            return Err(CohortError::Inconsistent {
                source_file: source,
                message,
            });
        }
        Ok(Self { source, report })
    }
}

/// Half a unit of the two decimals points are rounded to, with room for float error.
const ROUNDING: f64 = 0.005 + 1e-9;

/// The first way `report`'s points contradict themselves, if any: a report is a file anyone
/// can edit, and a cohort ranks on it. Each criterion's points lie within `0..=max_points`, the
/// criteria add up to the total (within its rounding), and the total lies within
/// `0..=max_points`, with a percentage to match.
fn inconsistency(report: &Report) -> Option<String> {
    let within = |points: f64, max: f64| {
        points.is_finite() && max.is_finite() && max >= 0.0 && (0.0..=max).contains(&points)
    };
    for (i, c) in report.criteria.iter().enumerate() {
        if !within(c.points, c.max_points) {
            return Some(format!(
                "`criteria[{i}]` (`{}`) has {} of {} points",
                c.id, c.points, c.max_points
            ));
        }
    }
    let t = &report.total;
    if !within(t.points, t.max_points) {
        return Some(format!(
            "`total` has {} of {} points",
            t.points, t.max_points
        ));
    }
    let (sum, max): (f64, f64) = report
        .criteria
        .iter()
        .fold((0.0, 0.0), |(p, m), c| (p + c.points, m + c.max_points));
    // Each rounded figure may be half a unit off, and so may the total.
    let slack = ROUNDING * (report.criteria.len() + 1) as f64;
    if (sum - t.points).abs() > slack || (max - t.max_points).abs() > slack {
        return Some(format!(
            "the criteria add up to {sum:.2} of {max:.2} points but `total` says {} of {}",
            t.points, t.max_points
        ));
    }
    let percent = if t.max_points > 0.0 {
        100.0 * t.points / t.max_points
    } else {
        0.0
    };
    // The percentage was worked out from the unrounded points, and then rounded itself.
    let slack = 2.0 * ROUNDING + 100.0 * ROUNDING / t.max_points.max(f64::MIN_POSITIVE);
    if (percent - t.percent).abs() > slack {
        return Some(format!(
            "`total.percent` is {} but {} of {} points is {percent:.2}",
            t.percent, t.points, t.max_points
        ));
    }
    None
}

/// Why reports cannot form a cohort.
#[derive(Debug)]
#[non_exhaustive]
pub enum CohortError {
    /// No reports were given.
    Empty,
    /// A file is not a report.
    Parse {
        /// The file.
        source_file: String,
        /// What the JSON reader said.
        message: String,
    },
    /// A report's points contradict themselves (edited by hand, say): never forceable.
    Inconsistent {
        /// The file.
        source_file: String,
        /// The first inconsistency, naming the field.
        message: String,
    },
    /// A field differs from the first report's.
    Mismatch {
        /// The file that differs.
        source_file: String,
        /// The field, as a JSON path, e.g. `task.version`.
        field: String,
        /// The first report's value.
        expected: String,
        /// This report's value.
        found: String,
    },
}

impl std::fmt::Display for CohortError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CohortError::Empty => f.write_str("a cohort needs at least one report"),
            CohortError::Parse {
                source_file,
                message,
            } => write!(f, "`{source_file}` is not a worksample report: {message}"),
            CohortError::Inconsistent {
                source_file,
                message,
            } => write!(
                f,
                "`{source_file}` is refused: {message}; a report's points must stay as \
                 `worksample` wrote them"
            ),
            CohortError::Mismatch {
                source_file,
                field,
                expected,
                found,
            } => {
                write!(
                    f,
                    "`{source_file}`: field `{field}` is `{found}` but the first report has `{expected}`"
                )?;
                if self.forceable() {
                    f.write_str(" (can be forced)")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for CohortError {}

impl CohortError {
    /// Whether `force` would accept the difference.
    pub fn forceable(&self) -> bool {
        match self {
            CohortError::Mismatch { field, .. } => FORCEABLE.contains(&field.as_str()),
            CohortError::Empty | CohortError::Parse { .. } | CohortError::Inconsistent { .. } => {
                false
            }
        }
    }
}

/// The fields in which `found` differs from `first`, in words; `None` when they agree or
/// `found` records no limits.
fn limits_differ(a: RunLimits, found: Option<RunLimits>) -> Option<String> {
    let b = found?;
    let opt = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
    let fields = [
        ("wall_s", a.wall_s.to_string(), b.wall_s.to_string()),
        ("memory_bytes", opt(a.memory_bytes), opt(b.memory_bytes)),
        ("max_processes", opt(a.max_processes), opt(b.max_processes)),
        (
            "max_file_bytes",
            opt(a.max_file_bytes),
            opt(b.max_file_bytes),
        ),
        (
            "max_output_bytes",
            a.max_output_bytes.to_string(),
            b.max_output_bytes.to_string(),
        ),
    ];
    let differ: Vec<String> = fields
        .into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(name, x, y)| format!("run.limits.{name} `{y}` against `{x}`"))
        .collect();
    (!differ.is_empty()).then(|| differ.join(", "))
}

/// Differences `force` accepts: the reports still share task and rubric, so the matrix is
/// well-formed, but the numbers were measured on different ground.
const FORCEABLE: [&str; 4] = ["task.version", "profile", "seed.kind", "seed.value"];

/// Min, quartiles and max of one column (points), by linear interpolation between order
/// statistics (Hyndman & Fan 1996, definition 7, the default of R and NumPy).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    /// Lowest.
    pub min: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// Highest.
    pub max: f64,
}

impl Spread {
    /// The spread of non-empty `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Spread> {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let q = |p: f64| {
            let h = (v.len() - 1) as f64 * p;
            let lo = h.floor() as usize;
            let hi = h.ceil() as usize;
            v[lo] + (h - lo as f64) * (v[hi] - v[lo])
        };
        Some(Spread {
            min: v[0],
            q1: q(0.25),
            median: q(0.5),
            q3: q(0.75),
            max: v[v.len() - 1],
        })
    }

    /// Interquartile range.
    pub fn iqr(&self) -> f64 {
        self.q3 - self.q1
    }
}

/// One criterion column of the cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortCriterion {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Maximum points.
    pub max_points: f64,
    /// Spread of points over the cohort.
    pub spread: Spread,
}

/// One candidate's row.
#[derive(Debug, Clone, PartialEq)]
pub struct CohortRow {
    /// Standard competition rank by total ("1224"): equal totals share a rank.
    pub rank: usize,
    /// Candidate id, or the file name when the report has none.
    pub name: String,
    /// The report file.
    pub source: String,
    /// Task version graded.
    pub version: u32,
    /// The seed or commitment.
    pub seed: SeedInfo,
    /// Total.
    pub total: Total,
    /// Points per criterion, in [`Cohort::criteria`] order.
    pub points: Vec<f64>,
    /// How the run ended.
    pub run_status: RunStatusKind,
    /// The main process's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// Wall seconds.
    pub wall_s: f64,
    /// CPU seconds.
    pub cpu_s: f64,
    /// Peak resident bytes.
    pub peak_rss_bytes: u64,
    /// The report's notes (problems with the submission as a whole, such as output that could
    /// not be used, and harness notes): a run that "completed" with unusable output looked
    /// like any other row.
    pub notes: Vec<String>,
}

/// A checked, ranked cohort.
#[derive(Debug, Clone, PartialEq)]
pub struct Cohort {
    /// The task (of the first report).
    pub task: TaskRef,
    /// The criteria, in rubric order.
    pub criteria: Vec<CohortCriterion>,
    /// Rows, best total first; ties in name order.
    pub rows: Vec<CohortRow>,
    /// Spread of the totals (points).
    pub total_spread: Spread,
    /// Differences accepted by `force`, and other things an assessor should know.
    pub warnings: Vec<String>,
}

impl Cohort {
    /// Checks the entries against the first one and ranks them.
    pub fn build(entries: Vec<CohortEntry>, force: bool) -> Result<Cohort, CohortError> {
        let first = entries.first().ok_or(CohortError::Empty)?.report.clone();
        let mut warnings = Vec::new();
        for e in &entries {
            for err in differences(&first, e) {
                if force && err.forceable() {
                    warnings.push(format!(
                        "forced: {}",
                        err.to_string().replace(" (can be forced)", "")
                    ));
                } else {
                    return Err(err);
                }
            }
        }
        // Runs under other limits still compare on points, but not on time and memory, and a
        // looser limit may have let a run finish that would otherwise have been stopped. The
        // reference is the first report that records limits (one that graded an existing
        // output, or came from an older harness, records none).
        let reference = entries
            .iter()
            .find_map(|e| e.report.run.limits.map(|l| (e.source.as_str(), l)));
        if let Some((by, limits)) = reference {
            for e in &entries {
                if let Some(what) = limits_differ(limits, e.report.run.limits) {
                    warnings.push(format!(
                        "`{}` ran under other limits than `{by}`: {what}",
                        e.source
                    ));
                }
            }
        }
        let mut names: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for e in &entries {
            names.entry(name(e)).or_default().push(&e.source);
        }
        for (n, files) in &names {
            if files.len() > 1 {
                warnings.push(format!(
                    "candidate `{n}` appears {} times ({})",
                    files.len(),
                    files.join(", ")
                ));
            }
        }
        if let SeedInfo::Hidden { .. } = first.seed {
            let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
            for e in &entries {
                if let SeedInfo::Hidden { commitment } = &e.report.seed
                    && let Some(prev) = seen.insert(commitment, &e.source)
                {
                    warnings.push(format!(
                        "`{}` and `{prev}` share a hidden seed commitment: the same candidate, or a copied report",
                        e.source
                    ));
                }
            }
        }

        let mut rows: Vec<CohortRow> = entries
            .iter()
            .map(|e| CohortRow {
                rank: 0,
                name: name(e),
                source: e.source.clone(),
                version: e.report.task.version,
                seed: e.report.seed.clone(),
                total: e.report.total,
                points: e.report.criteria.iter().map(|c| c.points).collect(),
                run_status: e.report.run.status,
                exit_code: e.report.run.exit_code,
                wall_s: e.report.run.wall_s,
                cpu_s: e.report.run.cpu_s,
                peak_rss_bytes: e.report.run.peak_rss_bytes,
                notes: e.report.notes.clone(),
            })
            .collect();
        rows.sort_by(|a, b| {
            b.total
                .points
                .total_cmp(&a.total.points)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.source.cmp(&b.source))
        });
        let mut rank = 0;
        for i in 0..rows.len() {
            if i == 0 || rows[i].total.points != rows[i - 1].total.points {
                rank = i + 1;
            }
            rows[i].rank = rank;
        }
        let criteria = first
            .criteria
            .iter()
            .enumerate()
            .map(|(j, c)| {
                let column: Vec<f64> = rows.iter().map(|r| r.points[j]).collect();
                CohortCriterion {
                    id: c.id.as_str().to_owned(),
                    title: c.title.clone(),
                    max_points: c.max_points,
                    spread: Spread::of(&column).expect("a cohort has at least one row"),
                }
            })
            .collect();
        let totals: Vec<f64> = rows.iter().map(|r| r.total.points).collect();
        Ok(Cohort {
            task: first.task.clone(),
            criteria,
            total_spread: Spread::of(&totals).expect("a cohort has at least one row"),
            rows,
            warnings,
        })
    }

    /// Notes every row's report holds, when there are two rows or more: the environment's (a
    /// validator that was not run), said once for the cohort instead of in every row, where
    /// they would hide each candidate's own first note.
    pub fn shared_notes(&self) -> Vec<&str> {
        let Some((first, rest)) = self.rows.split_first() else {
            return Vec::new();
        };
        if rest.is_empty() {
            return Vec::new();
        }
        first
            .notes
            .iter()
            .filter(|n| rest.iter().all(|r| r.notes.contains(n)))
            .map(String::as_str)
            .collect()
    }

    /// Distinct candidates among the rows: a candidate whose reports were given twice (a
    /// warning says so) is one.
    pub fn candidates(&self) -> usize {
        self.rows
            .iter()
            .map(|r| r.name.as_str())
            .collect::<std::collections::BTreeSet<_>>()
            .len()
    }

    /// Maximum total points.
    pub fn max_points(&self) -> f64 {
        self.criteria.iter().map(|c| c.max_points).sum()
    }
}

fn name(e: &CohortEntry) -> String {
    e.report.candidate.clone().unwrap_or_else(|| {
        std::path::Path::new(&e.source)
            .file_stem()
            .map_or_else(|| e.source.clone(), |s| s.to_string_lossy().into_owned())
    })
}

/// Every way `e` differs from `first` that matters for comparison.
fn differences(first: &Report, e: &CohortEntry) -> Vec<CohortError> {
    let r = &e.report;
    let mut out = Vec::new();
    let mut check = |field: &str, expected: String, found: String| {
        if expected != found {
            out.push(CohortError::Mismatch {
                source_file: e.source.clone(),
                field: field.to_owned(),
                expected,
                found,
            });
        }
    };
    check("task.id", first.task.id.clone(), r.task.id.clone());
    let ids = |r: &Report| {
        r.criteria
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    check("criteria[].id", ids(first), ids(r));
    let weights = |r: &Report| {
        r.criteria
            .iter()
            .map(|c| c.max_points.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    check("criteria[].max_points", weights(first), weights(r));
    check(
        "task.version",
        first.task.version.to_string(),
        r.task.version.to_string(),
    );
    check("profile", first.profile.clone(), r.profile.clone());
    let kind = |s: &SeedInfo| match s {
        SeedInfo::Public { .. } => "public".to_owned(),
        SeedInfo::Hidden { .. } => "hidden".to_owned(),
    };
    check("seed.kind", kind(&first.seed), kind(&r.seed));
    // Practice seeds: everyone must have had the same fixtures. Hidden seeds differ per
    // candidate by design (DESIGN.md, "Seeds and determinism").
    if let (SeedInfo::Public { value: a }, SeedInfo::Public { value: b }) = (&first.seed, &r.seed) {
        check("seed.value", a.to_string(), b.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    fn entry(source: &str, report: Report) -> CohortEntry {
        CohortEntry {
            source: source.into(),
            report,
        }
    }

    /// Other limits are a warning naming both files and each field; a report that records no
    /// limits is not compared, even when it comes first.
    #[test]
    fn runs_under_other_limits_are_named() {
        let first = fixtures::good();
        let mut loose = fixtures::good();
        loose.candidate = Some("loose".into());
        let limits = loose.run.limits.as_mut().expect("the fixture ran");
        limits.wall_s = 9999.0;
        limits.memory_bytes = None;
        let mut graded = fixtures::good();
        graded.candidate = Some("graded".into());
        graded.run.limits = None;
        let cohort = Cohort::build(
            vec![
                entry("c.json", graded),
                entry("a.json", first),
                entry("b.json", loose),
            ],
            false,
        )
        .expect("comparable");
        let warned: Vec<&String> = cohort
            .warnings
            .iter()
            .filter(|w| w.contains("other limits"))
            .collect();
        assert_eq!(warned.len(), 1, "{:?}", cohort.warnings);
        assert_eq!(
            warned[0],
            "`b.json` ran under other limits than `a.json`: run.limits.wall_s `9999` against \
             `60`, run.limits.memory_bytes `none` against `2147483648`"
        );
    }

    #[test]
    fn spread_interpolates_quartiles() {
        let s = Spread::of(&[1.0, 2.0, 3.0, 4.0, 10.0]).expect("non-empty");
        assert_eq!(
            (s.min, s.q1, s.median, s.q3, s.max),
            (1.0, 2.0, 3.0, 4.0, 10.0)
        );
        assert_eq!(s.iqr(), 2.0);
        let s = Spread::of(&[0.0, 10.0]).expect("non-empty");
        assert_eq!((s.q1, s.median, s.q3), (2.5, 5.0, 7.5));
        assert_eq!(Spread::of(&[]), None);
    }

    #[test]
    fn ranks_by_total_with_shared_ranks_for_ties() {
        let mut b = fixtures::good();
        b.candidate = Some("cand-b".into());
        let mut c = fixtures::good();
        c.candidate = Some("cand-c".into());
        c.total.points -= 10.0;
        let cohort = Cohort::build(
            vec![
                entry("c.json", c),
                entry("a.json", fixtures::good()),
                entry("b.json", b),
            ],
            false,
        )
        .expect("comparable");
        let ranks: Vec<(usize, &str)> = cohort
            .rows
            .iter()
            .map(|r| (r.rank, r.name.as_str()))
            .collect();
        assert_eq!(ranks, [(1, "cand-a"), (1, "cand-b"), (3, "cand-c")]);
        assert!(cohort.warnings.is_empty(), "{:?}", cohort.warnings);
    }

    #[test]
    fn version_mixing_is_an_error_naming_file_and_field_unless_forced() {
        let mut newer = fixtures::good();
        newer.task.version = 2;
        newer.candidate = Some("cand-b".into());
        let entries = vec![entry("a.json", fixtures::good()), entry("b.json", newer)];
        let err = Cohort::build(entries.clone(), false).expect_err("mixed versions");
        let msg = err.to_string();
        assert!(
            msg.contains("`b.json`") && msg.contains("task.version"),
            "{msg}"
        );
        assert!(msg.contains("can be forced"), "{msg}");
        let forced = Cohort::build(entries, true).expect("forced");
        assert_eq!(forced.warnings.len(), 1, "{:?}", forced.warnings);
        assert!(forced.warnings[0].contains("task.version"));
    }

    #[test]
    fn other_tasks_and_rubrics_are_never_mixed() {
        let mut other = fixtures::good();
        other.task.id = "deid".into();
        let err = Cohort::build(
            vec![entry("a.json", fixtures::good()), entry("x.json", other)],
            true,
        )
        .expect_err("another task");
        assert!(err.to_string().contains("task.id"), "{err}");
        let mut fewer = fixtures::good();
        fewer.criteria.pop();
        let err = Cohort::build(
            vec![entry("a.json", fixtures::good()), entry("y.json", fewer)],
            true,
        )
        .expect_err("another rubric");
        assert!(err.to_string().contains("criteria[].id"), "{err}");
    }

    #[test]
    fn seeds_must_agree_in_kind_and_practice_value() {
        let mut other_seed = fixtures::good();
        other_seed.seed = SeedInfo::Public { value: 43 };
        let err = Cohort::build(
            vec![
                entry("a.json", fixtures::good()),
                entry("s.json", other_seed),
            ],
            false,
        )
        .expect_err("different practice seeds");
        assert!(err.to_string().contains("seed.value"), "{err}");
        let hidden = fixtures::gated_candidate();
        let err = Cohort::build(
            vec![entry("a.json", fixtures::good()), entry("h.json", hidden)],
            false,
        )
        .expect_err("practice beside hidden");
        assert!(err.to_string().contains("seed.kind"), "{err}");
    }

    #[test]
    fn shared_commitments_and_repeated_candidates_warn() {
        let a = fixtures::gated_candidate();
        let mut b = a.clone();
        b.candidate = Some("cand-c".into());
        let cohort = Cohort::build(
            vec![
                entry("a.json", a.clone()),
                entry("b.json", b),
                entry("a2.json", a),
            ],
            false,
        )
        .expect("comparable");
        let text = cohort.warnings.join("\n");
        assert!(text.contains("share a hidden seed commitment"), "{text}");
        assert!(
            text.contains("candidate `cand-b` appears 2 times"),
            "{text}"
        );
        assert_eq!((cohort.rows.len(), cohort.candidates()), (3, 2));
        assert_eq!(
            cohort.shared_notes(),
            cohort.rows[0]
                .notes
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
            "copies share every note"
        );
        let md = crate::render::cohort_markdown(&cohort);
        assert!(md.contains("3 reports of 2 candidates;"), "{md}");
    }

    #[test]
    fn parse_names_the_file() {
        let err = CohortEntry::parse("r.json", "{\"schema\": 1}").expect_err("not a report");
        assert!(err.to_string().contains("`r.json`"), "{err}");
        let json = crate::render::json(&fixtures::good());
        let e = CohortEntry::parse("ok.json", &json).expect("a report");
        assert_eq!(e.report, fixtures::good());
        assert_eq!(
            Cohort::build(vec![], false).expect_err("empty").to_string(),
            "a cohort needs at least one report"
        );
    }

    /// `worksample check` writes an array of reports, one per task; a file of one report and an
    /// array of one name the file alone, a longer array names each element.
    #[test]
    fn a_file_holds_one_report_or_an_array_of_them() {
        let good = fixtures::good();
        let one = crate::render::json(&good);
        let array = |n: usize| format!("[{}]", vec![one.as_str(); n].join(","));
        let sources = |json: &str| -> Vec<String> {
            CohortEntry::parse_all("r.json", json)
                .expect("reports")
                .into_iter()
                .map(|e| {
                    assert_eq!(e.report, good);
                    e.source
                })
                .collect()
        };
        assert_eq!(sources(&one), ["r.json"]);
        assert_eq!(sources(&format!("  \n{}", array(1))), ["r.json"]);
        assert_eq!(sources(&array(2)), ["r.json[0]", "r.json[1]"]);
        assert!(sources("[]").is_empty());
        let err = CohortEntry::parse_all("r.json", "[1]").expect_err("not reports");
        assert!(err.to_string().contains("`r.json`"), "{err}");
        assert!(err.to_string().contains("reports only"), "{err}");
    }
}
