//! The main job on built-in defaults, and task data edited by an assessor.

use std::path::Path;

use crate::support::ws_run;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let dest = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).expect("copy");
        }
    }
}

#[test]
fn demo_runs_every_task_and_writes_valid_reports() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = tmp.path().join("demo");
    let r = ws_run(&["demo", "--out", out.to_str().expect("utf-8")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for task in ["series@", "deid@", "shift@"] {
        assert!(r.stdout.contains(task), "{task}: {}", r.stdout);
    }
    let schema: serde_json::Value =
        serde_json::from_str(worksample_rubric::render::SCHEMA_JSON).expect("schema");
    let validator = jsonschema::validator_for(&schema).expect("a valid schema");
    for file in ["report.json", "report.md", "junit.xml", "report.txt"] {
        assert!(out.join("series").join(file).is_file(), "{file} written");
    }
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("series/report.json")).expect("report"),
    )
    .expect("json");
    let errors: Vec<String> = validator
        .iter_errors(&report)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let percent = report["total"]["percent"].as_f64().expect("percent");
    assert!(
        (20.0..80.0).contains(&percent),
        "a starter scores low: {percent}"
    );
}

#[test]
fn an_assessors_edited_rubric_is_used_and_its_typos_are_named() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tasks = tmp.path().join("tasks");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tasks"), &tasks);
    let rubric = tasks.join("series/rubric.toml");
    let text = std::fs::read_to_string(&rubric).expect("rubric");
    let dir = tasks.to_str().expect("utf-8");

    // Each edit is refused on loading, before any command runs, naming the file and the key:
    // the grader scores exactly the built-in criteria, in the built-in categories.
    let without_coverage = {
        let start = text
            .find("[[criterion]]\nid = \"coverage\"")
            .expect("coverage");
        let end = start + 1 + text[start + 1..].find("[[criterion]]").expect("next");
        format!("{}{}", &text[..start], &text[end..])
    };
    let edits = [
        (
            "a misspelt key",
            text.replacen("weight =", "wieght =", 1),
            "wieght",
        ),
        (
            "a renamed criterion",
            text.replacen("id = \"coverage\"", "id = \"coverag\"", 1),
            "criterion `coverag` is not one the `series` grader scores",
        ),
        (
            "a removed criterion",
            without_coverage,
            "criterion `coverage` is missing",
        ),
        (
            "a misspelt category",
            text.replacen("category = \"grouping\"", "category = \"grupping\"", 1),
            "category `grupping` is not one of this task's",
        ),
    ];
    for (name, edited, said) in edits {
        std::fs::write(&rubric, edited).expect("write");
        let r = ws_run(&["--tasks-dir", dir, "show", "series"]);
        assert_eq!(r.code, 2, "{name}: {r:?}");
        assert!(
            r.stderr.contains("series/rubric.toml"),
            "{name}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(said), "{name}: {}", r.stderr);
    }

    // Doubling every weight doubles the maximum the report is scored out of.
    let doubled: String = text
        .lines()
        .map(|l| match l.strip_prefix("weight = ") {
            Some(w) => format!(
                "weight = {}",
                w.trim().parse::<f64>().expect("number") * 2.0
            ),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&rubric, doubled).expect("write");
    let bin = env!("CARGO_BIN_EXE_worksample");
    let r = ws_run(&[
        "--tasks-dir",
        dir,
        "run",
        "series",
        "--format",
        "json",
        "--",
        bin,
        "starter",
        "series",
        "{input}",
        "{output}",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(report["total"]["max_points"], 200.0);
}

#[test]
fn a_command_about_one_task_reads_only_that_tasks_folder() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let tasks = tmp.path().join("tasks");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tasks/series"),
        &tasks.join("series"),
    );
    let dir = tasks.to_str().expect("utf-8");

    // Only series is copied: its commands work, and the other tasks' folders are not read.
    let r = ws_run(&["--tasks-dir", dir, "show", "series", "--part", "rubric"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("## Rubric"), "{}", r.stdout);
    let out = tmp.path().join("fixtures");
    let r = ws_run(&[
        "--tasks-dir",
        dir,
        "generate",
        "series",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // An unknown id is still the usage error listing every task this build registers.
    let r = ws_run(&["--tasks-dir", dir, "show", "nosuch"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("known tasks: ") && r.stderr.contains("deid"),
        "{}",
        r.stderr
    );

    // Commands over every task still need every folder, and name the one missing.
    let r = ws_run(&["--tasks-dir", dir, "list"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("task.toml"), "{}", r.stderr);
}

/// The files a brief says are published with it can be printed without writing a kit.
#[test]
fn show_prints_the_files_published_with_a_brief() {
    let tasks = Path::new(env!("CARGO_MANIFEST_DIR")).join("tasks");
    let published = [
        ("series", "output.schema.json"),
        ("deid", "ps3.15-table-e1-1-2024b.csv"),
        ("shift", "config.schema.json"),
    ];
    for (task, file) in published {
        let brief = ws_run(&["show", task, "--part", "brief"]);
        assert_eq!(brief.code, 0, "{brief:?}");
        let published = brief
            .stdout
            .lines()
            .find(|l| l.starts_with("Published with this brief: "))
            .unwrap_or_else(|| panic!("{task}: {}", brief.stdout));
        assert!(published.contains(file), "{task}: {published}");
        let r = ws_run(&["show", task, "--file", file]);
        assert_eq!(r.code, 0, "{r:?}");
        let on_disk = std::fs::read_to_string(tasks.join(task).join(file)).expect("published");
        assert_eq!(r.stdout, on_disk, "{task}/{file}");
    }
    let r = ws_run(&["show", "series", "--file", "answers.json"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr.contains("it publishes: output.schema.json"),
        "{}",
        r.stderr
    );
}
