//! `--format html` and `cohort`: the assessor's page (score card, every criterion, debrief
//! prompts, figures as images, escaping of candidate text) and the cohort comparison (ranking
//! from the scores, consistency errors naming file and field), on real `series` fixtures graded
//! by the binary. The page in a real browser is tests/interop/html-browser.sh.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{generate, ws_run};

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Fixtures for `seed` and the built-in starter's output on them.
fn starter(dir: &Path, seed: u64) -> (PathBuf, PathBuf) {
    let (fx, sub) = (dir.join("fixtures"), dir.join("starter"));
    generate(seed, &fx);
    let r = ws_run(&["starter", "series", p(&fx), p(&sub)]);
    assert_eq!(r.code, 0, "starter failed: {r:?}");
    (fx, sub)
}

/// A copy of `from` whose volumes.json went through `edit`.
fn mutant(from: &Path, to: &Path, edit: impl FnOnce(&mut Value)) -> PathBuf {
    std::fs::create_dir_all(to).expect("mkdir");
    let text = std::fs::read_to_string(from.join("volumes.json")).expect("volumes.json");
    let mut doc: Value = serde_json::from_str(&text).expect("json");
    edit(&mut doc);
    std::fs::write(to.join("volumes.json"), doc.to_string()).expect("write");
    to.to_path_buf()
}

/// Text as the page escapes it.
fn escaped(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn volumes(doc: &mut Value) -> &mut Vec<Value> {
    doc["volumes"].as_array_mut().expect("volumes")
}

/// Grades into `out/` as JSON and HTML for `audience`; returns the JSON report and the page.
fn grade(fx: &Path, sub: &Path, out: &Path, audience: &str) -> (Value, String) {
    let r = ws_run(&[
        "grade",
        "series",
        "--fixtures",
        p(fx),
        "--submission",
        p(sub),
        "--format",
        "json,html",
        "--audience",
        audience,
        "--out",
        p(out),
    ]);
    assert_eq!(r.code, 0, "grade failed: {r:?}");
    let json = std::fs::read_to_string(out.join("report.json")).expect("report.json");
    let html = std::fs::read_to_string(out.join("report.html")).expect("report.html");
    (serde_json::from_str(&json).expect("json"), html)
}

#[test]
fn the_assessor_page_shows_scores_evidence_debrief_and_pictures() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = starter(tmp.path(), 5);
    let (report, html) = grade(&fx, &sub, &tmp.path().join("assessor"), "assessor");

    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("id=\"score-card\""));
    let percent = format!(
        "{:.2}",
        report["total"]["percent"].as_f64().expect("percent")
    );
    let total = format!("{}%", percent.trim_end_matches('0').trim_end_matches('.'));
    assert!(html.contains(&total), "total {total} not on the page");
    for c in report["criteria"].as_array().expect("criteria") {
        let id = c["id"].as_str().expect("id");
        assert!(html.contains(&format!("id=\"criterion-{id}\"")), "{id}");
        for q in c["debrief"].as_array().into_iter().flatten() {
            let q = escaped(q.as_str().expect("question"));
            assert!(html.contains(&q), "debrief question of {id} missing: {q}");
        }
    }
    assert!(
        report["criteria"]
            .as_array()
            .expect("criteria")
            .iter()
            .any(|c| c["debrief"].as_array().is_some_and(|d| !d.is_empty())),
        "the starter loses points, so some debrief prompts are due"
    );
    assert!(html.contains("id=\"debrief\""));

    // One strip per true volume; every tile is a PNG image with alt text.
    let figures = report["figures"].as_array().expect("figures");
    assert!(figures.len() >= 3, "{} figures", figures.len());
    let tiles: usize = figures
        .iter()
        .map(|f| f["kind"]["tiles"].as_array().map_or(0, Vec::len))
        .sum();
    assert!(tiles > 0);
    assert_eq!(
        html.matches("src=\"data:image/png;base64,iVBORw0KGgo")
            .count(),
        tiles
    );
    assert_eq!(html.matches(" alt=\"slice of true rank ").count(), tiles);
    assert!(
        html.contains("class=\"tile mark-"),
        "the starter misplaces something"
    );
    for external in ["http://", "https://", "<script", "<link"] {
        assert!(!html.contains(external), "{external}");
    }
}

#[test]
fn candidates_get_neither_the_pictures_nor_the_debrief() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = starter(tmp.path(), 6);
    let (report, html) = grade(&fx, &sub, &tmp.path().join("candidate"), "candidate");
    assert!(report.get("figures").is_none(), "figures reveal the key");
    assert!(!html.contains("<img"));
    assert!(!html.contains("id=\"debrief\""));
    assert!(!html.contains("Debrief questions"));
    assert!(html.contains("id=\"score-card\""));
}

#[test]
fn hostile_candidate_text_is_escaped_on_the_page() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (fx, sub) = starter(tmp.path(), 7);
    let hostile = "</script><img src=x onerror=alert(1)>";
    let bad = mutant(&sub, &tmp.path().join("hostile"), |doc| {
        let v = &mut volumes(doc)[0];
        v["id"] = Value::from(hostile);
        v["anomalies"] = serde_json::json!([{ "type": "gantry_tilt", "angle_deg": 45.0 }]);
    });
    let (report, html) = grade(&fx, &bad, &tmp.path().join("report"), "assessor");
    assert!(
        report.to_string().contains("onerror"),
        "the grader quotes the volume id in a finding, so the test exercises escaping"
    );
    assert!(html.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!html.contains(hostile));
    assert!(!html.contains("<img src=x"));
}

/// Five reports of one fixture folder: the starter and four mutants of it, each losing more.
fn cohort_reports(dir: &Path) -> Vec<(PathBuf, f64)> {
    let (fx, sub) = starter(dir, 8);
    let subs = [
        sub.clone(),
        mutant(&sub, &dir.join("reversed"), |doc| {
            for v in volumes(doc) {
                v["instances"].as_array_mut().expect("instances").reverse();
            }
        }),
        mutant(&sub, &dir.join("half"), |doc| {
            let vs = volumes(doc);
            let keep = vs.len() / 2;
            vs.truncate(keep);
        }),
        mutant(&sub, &dir.join("no-exclusions"), |doc| {
            doc["excluded"] = Value::Array(vec![]);
        }),
        {
            let empty = dir.join("empty");
            std::fs::create_dir_all(&empty).expect("mkdir");
            empty
        },
    ];
    subs.iter()
        .enumerate()
        .map(|(i, s)| {
            let out = dir.join(format!("report-{i}"));
            let (report, _) = grade(&fx, s, &out, "assessor");
            let total = report["total"]["points"].as_f64().expect("points");
            let named = dir.join(format!("candidate-{i}.json"));
            std::fs::copy(out.join("report.json"), &named).expect("copy");
            (named, total)
        })
        .collect()
}

#[test]
fn a_cohort_ranks_by_score_and_refuses_mixed_versions_unless_forced() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let reports = cohort_reports(tmp.path());
    let mut args: Vec<&str> = vec!["cohort", "--format", "csv"];
    args.extend(reports.iter().map(|(f, _)| p(f)));
    let r = ws_run(&args);
    assert_eq!(r.code, 0, "{r:?}");

    // The CSV's rows follow the totals, best first, with competition ranks.
    let rows: Vec<Vec<&str>> = r.stdout.lines().map(|l| l.split(',').collect()).collect();
    assert_eq!(rows[0][..3], ["rank", "candidate", "file"]);
    assert_eq!(rows.len(), reports.len() + 1);
    let mut expected: Vec<f64> = reports.iter().map(|(_, t)| *t).collect();
    expected.sort_by(|a, b| b.total_cmp(a));
    let points: Vec<f64> = rows[1..]
        .iter()
        .map(|row| row[6].parse().expect("points"))
        .collect();
    assert_eq!(points, expected);
    assert_eq!(rows[1][0], "1");
    assert_eq!(*rows.last().expect("rows").first().expect("rank"), {
        let last = expected.last().expect("a total");
        (expected.iter().position(|t| t == last).expect("present") + 1).to_string()
    });
    assert!(
        expected.first() > expected.last(),
        "the mutants lose points: {expected:?}"
    );

    let page = tmp.path().join("cohort.html");
    let mut html_args: Vec<&str> = vec!["cohort", "--format", "html", "--out", p(&page)];
    html_args.extend(reports.iter().map(|(f, _)| p(f)));
    assert_eq!(ws_run(&html_args).code, 0);
    let html = std::fs::read_to_string(&page).expect("cohort.html");
    assert_eq!(html.matches("class=\"cohort-row\"").count(), reports.len());
    assert!(html.contains("id=\"spread-table\""));

    // Another task version: an error naming the file and the field, unless forced.
    let (odd, _) = &reports[2];
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(odd).expect("read")).expect("json");
    doc["task"]["version"] = Value::from(99);
    std::fs::write(odd, doc.to_string()).expect("write");
    let mut md_args: Vec<&str> = vec!["cohort", "--format", "md"];
    md_args.extend(reports.iter().map(|(f, _)| p(f)));
    let r = ws_run(&md_args);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains(p(odd)), "{}", r.stderr);
    assert!(r.stderr.contains("task.version"), "{}", r.stderr);
    md_args.push("--force");
    let r = ws_run(&md_args);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("warning: forced"), "{}", r.stderr);
    assert!(r.stdout.contains("### Ranking"));
}

/// `worksample check` writes every task's report into one `report.json` array; `cohort` reads
/// such files beside single reports, and asks which task to compare when they hold several.
#[test]
fn a_cohort_reads_check_s_report_arrays_and_asks_for_the_task() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let reports = cohort_reports(tmp.path());
    let read = |f: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("json")
    };
    let mut other = read(&reports[1].0);
    other["task"]["id"] = Value::from("deid");
    let array = tmp.path().join("check-report.json");
    std::fs::write(
        &array,
        Value::Array(vec![read(&reports[0].0), other]).to_string(),
    )
    .expect("write");
    let single = p(&reports[2].0);

    let r = ws_run(&["cohort", "--format", "csv", p(&array), single]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("`deid`, `series`"), "{}", r.stderr);
    assert!(r.stderr.contains("--task"), "{}", r.stderr);

    let r = ws_run(&[
        "cohort",
        "--format",
        "csv",
        "--task",
        "series",
        p(&array),
        single,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let files: Vec<&str> = r
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(2).expect("file column"))
        .collect();
    let mut files = files;
    files.sort_unstable();
    let first = format!("{}[0]", p(&array));
    let mut expected = vec![first.as_str(), single];
    expected.sort_unstable();
    assert_eq!(files, expected);

    let r = ws_run(&["cohort", "--task", "shift", p(&array)]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("no report is of task `shift`"),
        "{}",
        r.stderr
    );
}

/// A report whose points contradict themselves (edited to rank first) is refused by name, with
/// the first inconsistency; `--force`, which is for comparability, does not let it in.
#[test]
fn a_cohort_refuses_a_report_whose_points_do_not_add_up() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let reports = cohort_reports(tmp.path());
    let read = |f: &Path| -> Value {
        serde_json::from_str(&std::fs::read_to_string(f).expect("read")).expect("json")
    };
    let forge = |name: &str, edit: &dyn Fn(&mut Value)| -> PathBuf {
        let mut r = read(&reports[1].0);
        edit(&mut r);
        let path = tmp.path().join(name);
        std::fs::write(&path, r.to_string()).expect("write");
        path
    };
    let cases = [
        (
            forge("over.json", &|r| {
                r["total"] =
                    serde_json::json!({"points": 250.0, "max_points": 100.0, "percent": 250.0});
                r["criteria"][0]["points"] = Value::from(500.0);
            }),
            "`criteria[0]`",
        ),
        (
            forge("total.json", &|r| {
                r["total"]["points"] = Value::from(99.0);
                r["total"]["percent"] = Value::from(99.0);
            }),
            "the criteria add up to",
        ),
        (
            forge("percent.json", &|r| {
                r["total"]["percent"] = Value::from(100.0);
            }),
            "`total.percent`",
        ),
    ];
    for (forged, said) in &cases {
        for force in [false, true] {
            let mut args = vec!["cohort", "--format", "csv", p(&reports[0].0), p(forged)];
            if force {
                args.push("--force");
            }
            let r = ws_run(&args);
            assert_eq!(r.code, 2, "{said}: {r:?}");
            assert!(r.stderr.contains(p(forged)), "{}", r.stderr);
            assert!(r.stderr.contains(said), "{said}: {}", r.stderr);
        }
    }
    let r = ws_run(&[
        "cohort",
        "--format",
        "csv",
        p(&reports[0].0),
        p(&reports[1].0),
    ]);
    assert_eq!(r.code, 0, "the reports as written: {r:?}");
}
