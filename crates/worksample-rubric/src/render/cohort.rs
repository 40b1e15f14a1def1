//! Renderings of a [`Cohort`]: an HTML page for the panel, Markdown for a hiring channel or
//! issue, and CSV for a spreadsheet. All three say the same things in the same order: the
//! ranking with totals and resources, the per-criterion matrix, then the spread of every
//! criterion, then warnings.

use std::fmt::Write as _;

use super::html::{anchor, attr, meter, page, text};
use super::markdown::inline;
use super::{mib, num, points, run_status_with_code, seed_text};
use crate::cohort::{Cohort, Spread};

fn spread_cells(s: &Spread) -> [String; 6] {
    [
        num(s.min),
        num(s.q1),
        num(s.median),
        num(s.q3),
        num(s.max),
        num(s.iqr()),
    ]
}

/// The cohort as one self-contained HTML page (same frame and guarantees as the report page).
pub fn cohort_html(cohort: &Cohort) -> String {
    let mut out = String::new();
    let title = format!(
        "Cohort: {} (version {})",
        cohort.task.title, cohort.task.version
    );
    let _ = writeln!(
        out,
        "<header>\n<h1>{}</h1>\n<p>{}, task <code>{}</code>; totals out of {} points.</p>\n</header>\n<main class=\"cohort\">",
        text(&title),
        headcount(cohort),
        text(&cohort.task.id),
        num(cohort.max_points())
    );
    let shared = cohort.shared_notes();
    if !shared.is_empty() {
        let _ = writeln!(
            out,
            "<p>Every report notes: {}</p>",
            shared
                .iter()
                .map(|n| text(n))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !cohort.warnings.is_empty() {
        out.push_str("<section id=\"warnings\" aria-labelledby=\"warnings-h\">\n<h2 id=\"warnings-h\">Warnings</h2>\n<ul>\n");
        for w in &cohort.warnings {
            let _ = writeln!(out, "<li>{}</li>", text(w));
        }
        out.push_str("</ul>\n</section>\n");
    }
    out.push_str("<section id=\"ranking\" aria-labelledby=\"ranking-h\">\n<h2 id=\"ranking-h\">Ranking</h2>\n<div class=\"wide\">\n<table id=\"ranking-table\">\n<thead><tr><th scope=\"col\" class=\"num\">Rank</th><th scope=\"col\">Candidate</th><th scope=\"col\" class=\"num\">Total</th><th scope=\"col\">Percent</th>");
    for c in &cohort.criteria {
        let _ = write!(
            out,
            "<th scope=\"col\" class=\"num\"><abbr title=\"{}\">{}</abbr><br><span class=\"muted\">/{}</span></th>",
            attr(&c.title),
            text(&c.id),
            num(c.max_points)
        );
    }
    out.push_str("<th scope=\"col\">Run</th><th scope=\"col\" class=\"num\">Wall s</th><th scope=\"col\" class=\"num\">CPU s</th><th scope=\"col\" class=\"num\">Peak MiB</th><th scope=\"col\">Seed</th><th scope=\"col\">Notes</th></tr></thead>\n<tbody>\n");
    for r in &cohort.rows {
        let _ = write!(
            out,
            "<tr class=\"cohort-row\" id=\"{}\" data-rank=\"{}\"><td class=\"num\">{}</td><th scope=\"row\">{}<br><span class=\"muted\">{}</span></th><td class=\"num\">{}</td><td>{} {}%</td>",
            anchor("row", &r.source),
            r.rank,
            r.rank,
            text(&r.name),
            text(&r.source),
            points(r.total.points, r.total.max_points),
            meter(r.total.percent / 100.0),
            num(r.total.percent)
        );
        for (p, c) in r.points.iter().zip(&cohort.criteria) {
            let _ = write!(
                out,
                "<td class=\"num\">{} {}</td>",
                meter(if c.max_points > 0.0 {
                    p / c.max_points
                } else {
                    0.0
                }),
                num(*p)
            );
        }
        let _ = writeln!(
            out,
            "<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            text(&run_status_with_code(r.run_status, r.exit_code)),
            num(r.wall_s),
            num(r.cpu_s),
            mib(r.peak_rss_bytes),
            text(&seed_text(&r.seed)),
            text(&notes_cell(&own_notes(&r.notes, &shared)))
        );
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
    out.push_str("<section id=\"spread\" aria-labelledby=\"spread-h\">\n<h2 id=\"spread-h\">Spread per criterion</h2>\n<table id=\"spread-table\">\n<thead><tr><th scope=\"col\">Criterion</th><th scope=\"col\" class=\"num\">Max</th><th scope=\"col\" class=\"num\">Min</th><th scope=\"col\" class=\"num\">Q1</th><th scope=\"col\" class=\"num\">Median</th><th scope=\"col\" class=\"num\">Q3</th><th scope=\"col\" class=\"num\">Highest</th><th scope=\"col\" class=\"num\">IQR</th></tr></thead>\n<tbody>\n");
    let mut spread_row = |label: String, max: f64, s: &Spread| {
        let cells = spread_cells(s);
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{label}</th><td class=\"num\">{}</td>",
            num(max)
        );
        for cell in cells {
            let _ = write!(out, "<td class=\"num\">{cell}</td>");
        }
        out.push_str("</tr>\n");
    };
    for c in &cohort.criteria {
        spread_row(
            format!("{} <code>{}</code>", text(&c.title), text(&c.id)),
            c.max_points,
            &c.spread,
        );
    }
    spread_row(
        "<strong>Total</strong>".to_owned(),
        cohort.max_points(),
        &cohort.total_spread,
    );
    out.push_str("</tbody>\n</table>\n<p class=\"muted\">Points; quartiles interpolate between candidates (Hyndman–Fan type 7).</p>\n</section>\n</main>\n");
    page(&title, &out)
}

/// "12 candidates", or "13 reports of 12 candidates" when a candidate's reports were given
/// twice (the warnings name them).
fn headcount(cohort: &Cohort) -> String {
    let (rows, candidates) = (cohort.rows.len(), cohort.candidates());
    if rows == candidates {
        format!("{candidates} candidates")
    } else {
        format!("{rows} reports of {candidates} candidates")
    }
}

/// `s` cut before its first parenthesis left open, so that a shortened note never reads as an
/// unbalanced aside; `s` itself when that would leave nothing.
fn before_open_parenthesis(s: &str) -> &str {
    let mut open = Vec::new();
    for (i, c) in s.char_indices() {
        match c {
            '(' => open.push(i),
            ')' => {
                open.pop();
            }
            _ => {}
        }
    }
    match open.first() {
        Some(&at) if !s[..at].trim_end().is_empty() => s[..at].trim_end(),
        Some(_) | None => s,
    }
}

/// A row's notes less those every report holds (said once above the table).
fn own_notes(notes: &[String], shared: &[&str]) -> Vec<String> {
    notes
        .iter()
        .filter(|n| !shared.contains(&n.as_str()))
        .cloned()
        .collect()
}

/// A row's notes in one short cell: the first, cut at a word near 100 characters, and how many
/// more there are; the report itself holds them all.
fn notes_cell(notes: &[String]) -> String {
    const SHORT: usize = 100;
    let Some(first) = notes.first() else {
        return String::new();
    };
    let first = super::one_line(first);
    let mut cell = if first.chars().count() <= SHORT {
        first
    } else {
        let cut: String = first.chars().take(SHORT).collect();
        let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(head, _)| head);
        format!("{} …", before_open_parenthesis(cut))
    };
    if notes.len() > 1 {
        cell.push_str(&format!(" (+{} more)", notes.len() - 1));
    }
    cell
}

/// The cohort as GitHub-flavoured Markdown tables.
pub fn cohort_markdown(cohort: &Cohort) -> String {
    let mut out = format!(
        "## Cohort: {} (`{}` version {})\n\n{}; totals out of {} points.\n\n",
        inline(&cohort.task.title),
        inline(&cohort.task.id),
        cohort.task.version,
        headcount(cohort),
        num(cohort.max_points())
    );
    let shared = cohort.shared_notes();
    if !shared.is_empty() {
        let _ = writeln!(
            out,
            "Every report notes: {}\n",
            shared
                .iter()
                .map(|n| inline(n))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    if !cohort.warnings.is_empty() {
        out.push_str("**Warnings**\n\n");
        for w in &cohort.warnings {
            let _ = writeln!(out, "- {}", inline(w));
        }
        out.push('\n');
    }
    out.push_str("### Ranking\n\n| Rank | Candidate | Total | % |");
    for c in &cohort.criteria {
        let _ = write!(out, " {} /{} |", inline(&c.id), num(c.max_points));
    }
    out.push_str(" Run | Wall s | CPU s | Peak MiB | Seed | Notes |\n| ---: | --- | ---: | ---: |");
    for _ in &cohort.criteria {
        out.push_str(" ---: |");
    }
    out.push_str(" --- | ---: | ---: | ---: | --- | --- |\n");
    for r in &cohort.rows {
        let _ = write!(
            out,
            "| {} | {} | {} | {} |",
            r.rank,
            inline(&r.name),
            points(r.total.points, r.total.max_points),
            num(r.total.percent)
        );
        for p in &r.points {
            let _ = write!(out, " {} |", num(*p));
        }
        let _ = writeln!(
            out,
            " {} | {} | {} | {} | {} | {} |",
            inline(&run_status_with_code(r.run_status, r.exit_code)),
            num(r.wall_s),
            num(r.cpu_s),
            mib(r.peak_rss_bytes),
            inline(&seed_text(&r.seed)),
            inline(&notes_cell(&own_notes(&r.notes, &shared)))
        );
    }
    out.push_str("\n### Spread per criterion (points)\n\n| Criterion | Max | Min | Q1 | Median | Q3 | Highest | IQR |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    let rows = cohort
        .criteria
        .iter()
        .map(|c| (inline(&c.title), c.max_points, &c.spread))
        .chain(std::iter::once((
            "**Total**".to_owned(),
            cohort.max_points(),
            &cohort.total_spread,
        )));
    for (label, max, s) in rows {
        let [a, b, c, d, e, f] = spread_cells(s);
        let _ = writeln!(
            out,
            "| {label} | {} | {a} | {b} | {c} | {d} | {e} | {f} |",
            num(max)
        );
    }
    out
}

/// The cohort as CSV (RFC 4180): one row per candidate in rank order, points per criterion.
/// Fields that a spreadsheet would run as a formula (leading `=`, `+`, `-`, `@`, tab or CR)
/// get a leading `'` (OWASP, "CSV Injection"); candidate ids and file names are the only
/// free text.
pub fn cohort_csv(cohort: &Cohort) -> String {
    let mut header: Vec<String> = [
        "rank",
        "candidate",
        "file",
        "task",
        "version",
        "seed",
        "points",
        "max_points",
        "percent",
    ]
    .map(str::to_owned)
    .to_vec();
    header.extend(cohort.criteria.iter().map(|c| c.id.clone()));
    header.extend(
        [
            "run_status",
            "exit_code",
            "wall_s",
            "cpu_s",
            "peak_rss_bytes",
            "notes",
        ]
        .map(str::to_owned)
        .to_vec(),
    );
    let mut out = csv_line(&header);
    for r in &cohort.rows {
        let seed = match &r.seed {
            crate::SeedInfo::Public { value } => value.to_string(),
            crate::SeedInfo::Hidden { commitment } => format!("hidden:{commitment}"),
        };
        let mut fields = vec![
            r.rank.to_string(),
            r.name.clone(),
            r.source.clone(),
            cohort.task.id.clone(),
            r.version.to_string(),
            seed,
            num(r.total.points),
            num(r.total.max_points),
            num(r.total.percent),
        ];
        fields.extend(r.points.iter().map(|p| num(*p)));
        fields.extend([
            super::run_status_id(r.run_status).to_owned(),
            r.exit_code.map(|c| c.to_string()).unwrap_or_default(),
            num(r.wall_s),
            num(r.cpu_s),
            r.peak_rss_bytes.to_string(),
            // Every note, in full: a spreadsheet is where an assessor reads them side by side.
            r.notes.join(" | "),
        ]);
        out.push_str(&csv_line(&fields));
    }
    out
}

fn csv_line(fields: &[String]) -> String {
    let cells: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
    let mut line = cells.join(",");
    line.push_str("\r\n");
    line
}

fn csv_field(s: &str) -> String {
    let s = super::one_line(s);
    let s = if s.starts_with(['=', '+', '-', '@']) && s.parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cohort::CohortEntry;
    use crate::render::fixtures;

    fn cohort() -> Cohort {
        let mut entries = Vec::new();
        let good = fixtures::good();
        let mut weak = fixtures::timed_out();
        weak.seed = good.seed.clone();
        weak.candidate = Some("=HYPERLINK(\"x\")".into());
        let mut middle = fixtures::gated_candidate();
        middle.seed = good.seed.clone();
        middle.candidate = Some("cand-d, jr".into());
        let mut tie = good.clone();
        tie.candidate = Some("cand-e".into());
        entries.push(CohortEntry {
            source: "reports/weak.json".into(),
            report: weak,
        });
        entries.push(CohortEntry {
            source: "reports/cand-a.json".into(),
            report: good,
        });
        entries.push(CohortEntry {
            source: "reports/cand-d.json".into(),
            report: middle,
        });
        entries.push(CohortEntry {
            source: "reports/cand-e.json".into(),
            report: tie,
        });
        Cohort::build(entries, false).expect("comparable")
    }

    /// A note every report holds (the environment's) is said once above the table, so each
    /// row's cell shows the candidate's own first note.
    #[test]
    fn a_note_every_report_holds_is_said_once() {
        let mut c = cohort();
        for r in &mut c.rows {
            r.notes.insert(0, "dciodvfy was not run".into());
        }
        let md = cohort_markdown(&c);
        assert_eq!(md.matches("dciodvfy was not run").count(), 1, "{md}");
        assert!(
            md.contains("Every report notes: dciodvfy was not run"),
            "{md}"
        );
        let html = cohort_html(&c);
        assert_eq!(html.matches("dciodvfy was not run").count(), 1);
        // CSV keeps every note of every row.
        let csv = cohort_csv(&c);
        assert_eq!(csv.matches("dciodvfy was not run").count(), c.rows.len());
    }

    /// A row's notes: the first in one line, cut at a word, and how many more.
    #[test]
    fn notes_cell_shows_the_first_note_short_and_counts_the_rest() {
        assert_eq!(notes_cell(&[]), "");
        assert_eq!(
            notes_cell(&["no usable volumes.json:\nline 1".into()]),
            "no usable volumes.json: line 1"
        );
        let long = format!("{} tail", "word ".repeat(30));
        let cell = notes_cell(&[long, "second".into(), "third".into()]);
        assert!(cell.starts_with("word word"), "{cell}");
        assert!(cell.ends_with(" … (+2 more)"), "{cell}");
        assert!(cell.chars().count() <= 100 + " … (+2 more)".len(), "{cell}");
        assert!(!cell.contains("tail"), "{cell}");
        // A cut inside an aside stops before it.
        let aside = format!(
            "no output matches 20 of 20 inputs (the first: {})",
            "x ".repeat(60)
        );
        let cell = notes_cell(&[aside]);
        assert_eq!(cell, "no output matches 20 of 20 inputs …");
    }

    #[test]
    fn snapshots() {
        let c = cohort();
        insta::assert_snapshot!("cohort_markdown", cohort_markdown(&c));
        insta::assert_snapshot!("cohort_csv", cohort_csv(&c));
        let html = cohort_html(&c);
        let body = &html[html.find("</head>").expect("a head")..];
        insta::assert_snapshot!("cohort_html", body);
    }

    #[test]
    fn csv_defuses_formulas_and_quotes_commas() {
        let csv = cohort_csv(&cohort());
        assert!(csv.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{csv}");
        assert!(csv.contains("\"cand-d, jr\""), "{csv}");
        // Fields per line, counting only commas outside quotes (RFC 4180 §2.6).
        let widths: Vec<usize> = csv
            .lines()
            .map(|l| {
                let mut quoted = false;
                l.chars()
                    .filter(|c| {
                        if *c == '"' {
                            quoted = !quoted;
                        }
                        *c == ',' && !quoted
                    })
                    .count()
            })
            .collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{widths:?}");
    }

    #[test]
    fn html_rows_follow_the_ranking() {
        let html = cohort_html(&cohort());
        let order: Vec<usize> = ["cand-a.json", "cand-e.json", "cand-d.json", "weak.json"]
            .iter()
            .map(|f| html.find(&format!("reports/{f}</span>")).expect(f))
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(html.contains("data-rank=\"1\""));
        assert!(!html.contains("<script"));
    }
}
