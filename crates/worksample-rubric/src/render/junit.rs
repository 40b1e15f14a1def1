//! The JUnit XML rendering, for CI test views (GitLab, Jenkins, GitHub report actions).
//!
//! JUnit XML has no formal spec; this writes the common subset those tools read (harness
//! research §2.1): one `<testsuite>` per report, one `<testcase>` per criterion with
//! `classname` = task id, a `<failure>` for partial or failed criteria, an `<error>` testcase
//! `run` when the candidate's command failed (did not complete, or exited with a code other
//! than 0), and the summary in the testcase's
//! `<system-out>` (GitLab reads it only there). Score properties sit on the testsuite, never on
//! a testcase, which the xunit2 schema Jenkins validates against does not allow. No timestamp is
//! written, so the same report always renders the same bytes.
//!
//! JUnit cannot carry points in a way CI shows; the exit code and the JSON report do that.

use quick_xml::escape::{escape, partial_escape};

use super::{
    category_cap, finding_text, level_label, num, omitted_line, points, run_status_id,
    run_status_text, status_id,
};
use crate::{Report, RunStatusKind, SeedInfo, Status};

/// The report as a JUnit XML document with one `<testsuite>`.
pub fn junit(report: &Report) -> String {
    junit_many(std::slice::from_ref(report))
}

/// Several reports (e.g. `worksample check` over many tasks) as one JUnit XML document with
/// one `<testsuite>` per report.
pub fn junit_many(reports: &[Report]) -> String {
    let suites: Vec<Suite> = reports.iter().map(Suite::of).collect();
    let tests: usize = suites.iter().map(|s| s.tests).sum();
    let failures: usize = suites.iter().map(|s| s.failures).sum();
    let errors: usize = suites.iter().map(|s| s.errors).sum();
    let time: f64 = reports.iter().map(|r| r.run.wall_s).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"worksample\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">\n",
        seconds(time)
    ));
    for (report, suite) in reports.iter().zip(&suites) {
        write_suite(&mut out, report, suite);
    }
    out.push_str("</testsuites>\n");
    out
}

/// Counts of one testsuite.
struct Suite {
    tests: usize,
    failures: usize,
    errors: usize,
}

impl Suite {
    fn of(report: &Report) -> Self {
        let failures = report
            .criteria
            .iter()
            .filter(|c| match c.status {
                Status::Pass => false,
                Status::Partial | Status::Fail => true,
            })
            .count();
        let errors = usize::from(report.run.failed());
        Self {
            tests: report.criteria.len() + errors,
            failures,
            errors,
        }
    }
}

fn write_suite(out: &mut String, report: &Report, suite: &Suite) {
    let task = &report.task.id;
    out.push_str(&format!(
        "  <testsuite name=\"{}@{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"0\" time=\"{}\">\n",
        attr(task),
        report.task.version,
        suite.tests,
        suite.failures,
        suite.errors,
        seconds(report.run.wall_s),
    ));
    out.push_str("    <properties>\n");
    let mut props: Vec<(&str, String)> = vec![
        (
            "score",
            points(report.total.points, report.total.max_points),
        ),
        ("percent", num(report.total.percent)),
    ];
    match &report.seed {
        SeedInfo::Public { value } => props.push(("seed", value.to_string())),
        SeedInfo::Hidden { commitment } => props.push(("seed_commitment", commitment.clone())),
    }
    props.push(("profile", report.profile.clone()));
    if let Some(candidate) = &report.candidate {
        props.push(("candidate", candidate.clone()));
    }
    props.push(("verdict", super::verdict_text(report)));
    props.push(("harness_version", report.harness_version.clone()));
    for (name, value) in props {
        out.push_str(&format!(
            "      <property name=\"{name}\" value=\"{}\"/>\n",
            attr(&value)
        ));
    }
    out.push_str("    </properties>\n");

    for c in &report.criteria {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}: {}\" time=\"0\">\n",
            attr(task),
            attr(c.id.as_str()),
            attr(&c.title)
        ));
        match c.status {
            Status::Pass => {}
            Status::Partial | Status::Fail => {
                // The text repeats the message first: GitLab's older parser ignores the
                // `message` attribute (harness research §2.1, gitlab-foss#53668), and a criterion
                // without findings would otherwise show an empty failure.
                let message = format!("{} ({})", points(c.points, c.max_points), level_label(c));
                let mut lines = vec![message.clone()];
                lines.extend(c.findings.iter().map(finding_text));
                lines.extend(omitted_line(report, c));
                for g in &c.gated_by {
                    lines.push(format!(
                        "capped by gate {} (closed by {}), which {}: {}",
                        g.gate,
                        g.by,
                        category_cap(&c.category),
                        g.reason
                    ));
                }
                out.push_str(&format!(
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>\n",
                    attr(&message),
                    status_id(c.status),
                    text(&lines.join("\n")),
                ));
            }
        }
        out.push_str(&format!(
            "      <system-out>{}</system-out>\n    </testcase>\n",
            text(&c.summary)
        ));
    }

    if report.run.failed() {
        let run = &report.run;
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"run\" time=\"{}\">\n",
            attr(task),
            seconds(run.wall_s)
        ));
        // A command that completed with another exit code than 0 is its own kind of error.
        let kind = match (run.status, run.exit_code) {
            (RunStatusKind::Completed, Some(code)) if code != 0 => "nonzero_exit",
            (status, _) => run_status_id(status),
        };
        out.push_str(&format!(
            "      <error message=\"{}: {}\" type=\"{kind}\">{}</error>\n",
            run_status_text(run.status),
            attr(&run.detail),
            text(&run.stderr_tail),
        ));
        out.push_str(&format!(
            "      <system-out>{}</system-out>\n    </testcase>\n",
            text(&run.stdout_tail)
        ));
    }
    out.push_str("  </testsuite>\n");
}

/// Seconds with millisecond precision, as JUnit's `time` attributes expect.
fn seconds(s: f64) -> String {
    format!("{s:.3}")
}

/// Escaped element text. `]]>` needs no care since `>` is escaped.
fn text(s: &str) -> String {
    partial_escape(xml_chars(s)).into_owned()
}

/// An escaped attribute value. Line breaks and tabs become spaces: attribute-value
/// normalization would turn them into spaces anyway (XML 1.0 §3.3.3), so say so up front.
fn attr(s: &str) -> String {
    let flat: String = xml_chars(s)
        .chars()
        .map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                ' '
            } else {
                c
            }
        })
        .collect();
    escape(flat).into_owned()
}

/// Removes characters XML 1.0 forbids anywhere, even escaped (XML 1.0 §2.2 `Char`): C0 controls
/// other than tab, line feed and carriage return, and U+FFFE/U+FFFF. Candidate output contains
/// them (progress bars, binary junk) and one would make the whole file unreadable to CI.
fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| match c {
            '\t' | '\n' | '\r' => true,
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => false,
            _ => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quick_xml::Reader;
    use quick_xml::events::Event;

    use super::*;
    use crate::Finding;
    use crate::render::fixtures;

    /// What a CI tool would read back: per testcase its name, its `<failure>` or `<error>`,
    /// and its `<system-out>`.
    #[derive(Debug, Default)]
    struct Case {
        name: String,
        outcome: Option<Outcome>,
        out: String,
    }

    /// A `<failure>` or `<error>` child: element name, `message` and `type`, and the text.
    #[derive(Debug, Clone)]
    struct Outcome {
        kind: String,
        message: String,
        ty: String,
        text: String,
    }

    #[derive(Debug, Default)]
    struct Parsed {
        root: Vec<(String, String)>,
        suites: Vec<Vec<(String, String)>>,
        properties: Vec<(String, String)>,
        cases: Vec<Case>,
    }

    fn attrs(e: &quick_xml::events::BytesStart<'_>) -> Vec<(String, String)> {
        e.attributes()
            .map(|a| {
                let a = a.expect("well-formed attribute");
                let key = String::from_utf8(a.key.as_ref().to_vec()).expect("UTF-8 key");
                let value = a.unescape_value().expect("valid escapes").into_owned();
                (key, value)
            })
            .collect()
    }

    fn get<'a>(attrs: &'a [(String, String)], key: &str) -> &'a str {
        attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no attribute {key} in {attrs:?}"))
    }

    fn parse(xml: &str) -> Parsed {
        let mut reader = Reader::from_str(xml);
        let mut parsed = Parsed::default();
        let mut element = String::new();
        let mut current = String::new();
        loop {
            match reader.read_event().expect("well-formed XML") {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e) => {
                    element = String::from_utf8(e.name().as_ref().to_vec()).expect("UTF-8");
                    let a = attrs(&e);
                    match element.as_str() {
                        "testsuites" => parsed.root = a,
                        "testsuite" => parsed.suites.push(a),
                        "property" => parsed
                            .properties
                            .push((get(&a, "name").into(), get(&a, "value").into())),
                        "testcase" => parsed.cases.push(Case {
                            name: get(&a, "name").into(),
                            ..Case::default()
                        }),
                        "failure" | "error" => {
                            let case = parsed.cases.last_mut().expect("inside a testcase");
                            case.outcome = Some(Outcome {
                                kind: element.clone(),
                                message: get(&a, "message").into(),
                                ty: get(&a, "type").into(),
                                text: String::new(),
                            });
                        }
                        _ => {}
                    }
                    current.clear();
                }
                Event::Text(t) => current.push_str(&t.decode().expect("UTF-8 text")),
                Event::GeneralRef(r) => {
                    let name = r.decode().expect("UTF-8 reference");
                    let c = quick_xml::escape::resolve_predefined_entity(&name)
                        .unwrap_or_else(|| panic!("unknown entity {name}"));
                    current.push_str(c);
                }
                Event::End(e) => {
                    let name = String::from_utf8(e.name().as_ref().to_vec()).expect("UTF-8");
                    let case = parsed.cases.last_mut();
                    match (name.as_str(), case) {
                        ("failure" | "error", Some(case)) => {
                            if let Some(o) = case.outcome.as_mut() {
                                o.text = current.clone();
                            }
                        }
                        ("system-out", Some(case)) => case.out = current.clone(),
                        _ => {}
                    }
                    current.clear();
                    element.clear();
                }
                _ => {}
            }
        }
        parsed
    }

    #[test]
    fn counts_and_attributes_read_back() {
        let report = fixtures::gated_candidate();
        let parsed = parse(&junit(&report));
        assert_eq!(get(&parsed.root, "name"), "worksample");
        assert_eq!(get(&parsed.root, "tests"), "5");
        assert_eq!(get(&parsed.root, "failures"), "5");
        assert_eq!(get(&parsed.root, "errors"), "0");
        let suite = &parsed.suites[0];
        assert_eq!(get(suite, "name"), "series@1");
        assert!(
            suite.iter().all(|(k, _)| k != "timestamp"),
            "reports are deterministic"
        );
        let props: Vec<&str> = parsed.properties.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            props,
            [
                "score",
                "percent",
                "seed_commitment",
                "profile",
                "candidate",
                "verdict",
                "harness_version"
            ]
        );
        assert_eq!(parsed.cases.len(), 5);
        assert_eq!(parsed.cases[0].name, "coverage: Files accounted for");
        let o = parsed.cases[0].outcome.clone().expect("a failure");
        assert_eq!(
            (o.kind.as_str(), o.ty.as_str(), o.message.as_str()),
            ("failure", "partial", "7.5/10 (good)")
        );
        assert!(
            o.text
                .starts_with("7.5/10 (good)\nMR/1/0001.dcm: not in any series"),
            "{}",
            o.text
        );
        assert!(o.text.ends_with("\n… and 100 more"), "{}", o.text);
        let spacing = &parsed.cases[3];
        let o = spacing.outcome.clone().expect("a failure");
        assert_eq!((o.ty.as_str(), o.message.as_str()), ("fail", "0/20 (poor)"));
        assert_eq!(o.text, "0/20 (poor)\nfindings hidden until review (2)");
        assert_eq!(
            spacing.out,
            "measured on hidden checks; details after review"
        );
    }

    #[test]
    fn a_run_that_did_not_complete_is_an_error_testcase() {
        let parsed = parse(&junit(&fixtures::timed_out()));
        assert_eq!(get(&parsed.root, "tests"), "6");
        assert_eq!(get(&parsed.root, "errors"), "1");
        assert_eq!(get(&parsed.root, "failures"), "5");
        let run = parsed.cases.last().expect("cases");
        assert_eq!(run.name, "run");
        let o = run.outcome.clone().expect("an error");
        assert_eq!((o.kind.as_str(), o.ty.as_str()), ("error", "timed_out"));
        assert_eq!(
            o.message,
            "timed out: killed after the 60 s wall-clock limit"
        );
        assert_eq!(run.out, "reading CT/1 ...\nreading CT/2 ...\n");
        let good = parse(&junit(&fixtures::good()));
        assert!(good.cases.iter().all(|c| c.name != "run"));
        assert_eq!(good.cases.iter().filter(|c| c.outcome.is_none()).count(), 4);
    }

    #[test]
    fn hostile_candidate_text_survives_as_valid_xml() {
        let mut report = fixtures::timed_out();
        let hostile = "a < b && c ]]> d \"q\" 'a' \u{1}\u{1b}[31m\u{FFFF}end";
        report.criteria[0].findings = vec![Finding::new(hostile).in_file("<x>")];
        report.criteria[0].summary = hostile.into();
        report.criteria[0].title = hostile.into();
        report.run.detail = hostile.into();
        report.run.stderr_tail = hostile.into();
        let parsed = parse(&junit(&report));
        let expected = "a < b && c ]]> d \"q\" 'a' [31mend";
        let case = &parsed.cases[0];
        assert_eq!(case.name, format!("coverage: {expected}"));
        assert_eq!(case.out, expected);
        let o = case.outcome.clone().expect("failure");
        assert_eq!(o.text, format!("0/10 (poor)\n<x>: {expected}"));
        let o = parsed
            .cases
            .last()
            .and_then(|c| c.outcome.clone())
            .expect("error");
        assert_eq!(o.message, format!("timed out: {expected}"));
        assert_eq!(o.text, expected);
    }

    #[test]
    fn many_reports_make_one_suite_each() {
        let reports = [fixtures::good(), fixtures::timed_out()];
        let parsed = parse(&junit_many(&reports));
        assert_eq!(parsed.suites.len(), 2);
        assert_eq!(get(&parsed.root, "tests"), "11");
        assert_eq!(get(&parsed.root, "time"), "63.214");
        assert_eq!(
            parsed
                .properties
                .iter()
                .filter(|(k, _)| k == "seed")
                .count(),
            2
        );
        let empty = parse(&junit_many(&[]));
        assert_eq!(get(&empty.root, "tests"), "0");
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("junit_good", junit(&fixtures::good()));
        insta::assert_snapshot!("junit_gated_candidate", junit(&fixtures::gated_candidate()));
        insta::assert_snapshot!("junit_timed_out", junit(&fixtures::timed_out()));
    }
}
