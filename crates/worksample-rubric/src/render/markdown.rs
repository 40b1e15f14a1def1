//! The Markdown rendering, for a pull-request comment or a GitHub job summary
//! (`$GITHUB_STEP_SUMMARY`, capped at 1 MiB per step; harness research §2.2).
//!
//! Layout, most important first so that truncation cuts the least useful part: an H2 with the
//! task and total, the tally and verdict, notes, the criteria table, cards, the run's
//! resources, then one `<details>` block of evidence per criterion, then the output tails.
//!
//! Safety against a hostile submission rests on two rules. Candidate-controlled text (findings,
//! summaries, notes, output tails; graders quote the submission) is always escaped for the
//! context it lands in: [`inline`] for Markdown inline content and table cells, [`html`] inside
//! HTML elements. And such text never starts a line: it sits in a table cell or after fixed
//! text, so it cannot open a heading, list or block quote, and inline escaping suffices
//! (CommonMark 0.31 §4, §6; GFM tables extension §4.10).

use super::{
    category_cap, finding_text, level_heading, level_label, mib, num, omitted_line, points,
    run_status_text, seed_text, tally, verdict_text,
};
use crate::{Audience, CriterionReport, Report, RunStatusKind, Status, Visibility};

/// Options of [`markdown`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkdownOptions {
    /// The most bytes the rendering may take. By default 1 000 000, under GitHub's 1 MiB step
    /// summary cap with room for other steps' lines.
    pub max_bytes: usize,
}

impl Default for MarkdownOptions {
    fn default() -> Self {
        Self {
            max_bytes: 1_000_000,
        }
    }
}

/// A piece of the document that can be left out whole without breaking the rest: cuts happen
/// only between sections, never inside a table or an HTML element.
struct Section {
    /// What the truncation notice calls it when it is cut.
    label: String,
    text: String,
}

/// The report as GitHub-flavoured Markdown, at most `opts.max_bytes` long.
pub fn markdown(report: &Report, opts: &MarkdownOptions) -> String {
    let sections = sections(report);
    fit(&sections, opts.max_bytes)
}

fn emoji(status: Status) -> &'static str {
    match status {
        Status::Pass => "✅",
        Status::Partial => "🟡",
        Status::Fail => "❌",
    }
}

fn sections(report: &Report) -> Vec<Section> {
    let mut sections = Vec::new();

    let mut head = format!(
        "## {} ({}@{}): {} ({}%)\n\n",
        inline(&report.task.title),
        inline(&report.task.id),
        report.task.version,
        points(report.total.points, report.total.max_points),
        num(report.total.percent),
    );
    head.push_str(&format!(
        "**{}** · verdict: **{}**\n\nprofile {} · {}",
        inline(&tally(report)),
        inline(&verdict_text(report)),
        inline(&report.profile),
        inline(&seed_text(&report.seed)),
    ));
    if let Some(candidate) = &report.candidate {
        head.push_str(&format!(" · candidate {}", inline(candidate)));
    }
    head.push_str(&format!(
        " · worksample {}\n",
        inline(&report.harness_version)
    ));
    sections.push(Section {
        label: "the header".into(),
        text: head,
    });

    if !report.notes.is_empty() {
        let mut text = String::new();
        for note in &report.notes {
            text.push_str(&format!("- ⚠️ {}\n", inline(note)));
        }
        sections.push(Section {
            label: "the notes".into(),
            text,
        });
    }

    let mut table = String::from("| | Criterion | Points | Level |\n| --- | --- | --- | --- |\n");
    for c in &report.criteria {
        let hidden = match c.visibility {
            Visibility::Visible => "",
            Visibility::Hidden => " 🔒",
        };
        table.push_str(&format!(
            "| {} | {}{hidden} | {} | {} |\n",
            emoji(c.status),
            inline(&c.title),
            points(c.points, c.max_points),
            inline(&level_label(c)),
        ));
    }
    sections.push(Section {
        label: "the criteria table".into(),
        text: table,
    });

    for card in &report.cards {
        let mut text = format!(
            "**{}**\n\n| | Item | Detail |\n| --- | --- | --- |\n",
            inline(&card.title)
        );
        for row in &card.rows {
            let mark = if row.handled { "✅" } else { "❌" };
            text.push_str(&format!(
                "| {mark} | {} | {} |\n",
                inline(&row.name),
                inline(&row.detail)
            ));
        }
        sections.push(Section {
            label: format!("the card {}", inline(&card.title)),
            text,
        });
    }

    sections.push(Section {
        label: "the run's resources".into(),
        text: run_table(report),
    });

    for c in &report.criteria {
        sections.push(Section {
            label: format!("the evidence for {}", inline(&c.title)),
            text: details(report, c),
        });
    }

    for (name, tail, total) in [
        ("stdout", &report.run.stdout_tail, report.run.stdout_bytes),
        ("stderr", &report.run.stderr_tail, report.run.stderr_bytes),
    ] {
        if tail.is_empty() {
            continue;
        }
        sections.push(Section {
            label: format!("the {name} tail"),
            text: format!(
                "<details><summary>{name}: last {} of {total} bytes</summary>\n\n<pre>\n{}\n</pre>\n\n</details>\n",
                tail.len(),
                html(tail.trim_end_matches('\n')),
            ),
        });
    }
    sections
}

fn run_table(report: &Report) -> String {
    let run = &report.run;
    let mut text = String::from("| Run | |\n| --- | --- |\n");
    text.push_str(&format!(
        "| Status | {}: {} |\n",
        run_status_text(run.status),
        inline(&run.detail)
    ));
    match run.status {
        RunStatusKind::NotRun => return text,
        RunStatusKind::Completed
        | RunStatusKind::TimedOut
        | RunStatusKind::Killed
        | RunStatusKind::MemoryLimit
        | RunStatusKind::ProcessLimit
        | RunStatusKind::OutputLimit
        | RunStatusKind::FileSizeLimit
        | RunStatusKind::SpawnFailed => {}
    }
    if let Some(code) = run.exit_code {
        text.push_str(&format!("| Exit code | {code} |\n"));
    }
    text.push_str(&format!(
        "| Wall time | {} s |\n| CPU time | {} s |\n| Peak RSS | {} MiB |\n| Output | {} B stdout, {} B stderr |\n",
        num(run.wall_s),
        num(run.cpu_s),
        mib(run.peak_rss_bytes),
        run.stdout_bytes,
        run.stderr_bytes,
    ));
    if let Some(isolated) = run.network_isolated {
        let network = if isolated { "isolated" } else { "not isolated" };
        text.push_str(&format!("| Network | {network} |\n"));
    }
    text
}

/// One criterion's evidence as a collapsed `<details>` block.
fn details(report: &Report, c: &CriterionReport) -> String {
    let mut text = format!(
        "<details><summary>{} {}: {} ({})</summary>\n\n",
        emoji(c.status),
        html_line(&c.title),
        points(c.points, c.max_points),
        html_line(&level_label(c)),
    );
    text.push_str(&format!("Measured: {}\n\n", inline(&c.summary)));
    text.push_str(&format!(
        "{} {}: {}\n\n",
        level_heading(c),
        c.level.as_str(),
        inline(&c.level_text)
    ));
    for g in &c.gated_by {
        text.push_str(&format!(
            "Capped by gate {} (closed by {}), which {}: {}\n\n",
            inline(&g.gate),
            inline(g.by.as_str()),
            inline(&category_cap(&c.category)),
            inline(&g.reason)
        ));
    }
    if !c.findings.is_empty() {
        text.push_str("| Finding |\n| --- |\n");
        for f in &c.findings {
            text.push_str(&format!("| {} |\n", inline(&finding_text(f))));
        }
        text.push('\n');
    }
    if let Some(line) = omitted_line(report, c) {
        text.push_str(&format!("_{}_\n\n", inline(&line)));
    }
    match (report.audience, c.visibility) {
        (Audience::Assessor, Visibility::Hidden) => {
            text.push_str(
                "🔒 _Hidden criterion: candidates see its score, not this evidence._\n\n",
            );
        }
        (Audience::Candidate, Visibility::Hidden)
        | (Audience::Assessor | Audience::Candidate, Visibility::Visible) => {}
    }
    for q in &c.debrief {
        text.push_str(&format!("- 💬 Debrief: {}\n", inline(q)));
    }
    if !c.debrief.is_empty() {
        text.push('\n');
    }
    text.push_str("</details>\n");
    text
}

/// Joins sections with blank lines, leaving out the last ones (and saying which) when the
/// whole would exceed `max_bytes`.
fn fit(sections: &[Section], max_bytes: usize) -> String {
    let whole = join(sections);
    if whole.len() <= max_bytes {
        return whole;
    }
    for keep in (0..sections.len()).rev() {
        let mut text = join(&sections[..keep]);
        let notice = notice(&sections[keep..], max_bytes);
        if !text.is_empty() {
            text.push('\n');
        }
        if text.len() + notice.len() <= max_bytes {
            text.push_str(&notice);
            return text;
        }
    }
    // Not even the notice fits: an absurdly small limit. Cut the notice at a character boundary
    // so the promise "at most max_bytes" still holds.
    let notice = notice(sections, max_bytes);
    let mut end = max_bytes.min(notice.len());
    while !notice.is_char_boundary(end) {
        end -= 1;
    }
    notice[..end].to_owned()
}

fn join(sections: &[Section]) -> String {
    let texts: Vec<&str> = sections.iter().map(|s| s.text.as_str()).collect();
    texts.join("\n")
}

/// The final line saying what was cut. Names the cut sections while that stays short.
fn notice(cut: &[Section], max_bytes: usize) -> String {
    let labels: Vec<&str> = cut.iter().map(|s| s.label.as_str()).collect();
    let named = labels.join(", ");
    let what = if named.len() <= 300 {
        named
    } else {
        format!("the last {} sections", cut.len())
    };
    format!(
        "_Truncated to fit {max_bytes} bytes; left out: {what}. The JSON report has everything._\n"
    )
}

/// Escapes text for Markdown inline content and GFM table cells. HTML-significant characters
/// become entities so no tag can open; Markdown punctuation that starts inline constructs
/// (emphasis, code spans, links and images, strikethrough) gets a backslash (CommonMark §2.4);
/// `|` is escaped so it cannot end a table cell (GFM §4.10). Line breaks would end the cell or
/// paragraph, so they become spaces; other control characters are dropped. `@` and `#` are
/// defused as in [`push_reference_char`].
pub(super) fn inline(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '@' => push_reference_char(&mut out, c),
            '#' => {
                out.push('\\');
                push_reference_char(&mut out, c);
            }
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() || super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// `@` or `#` followed by U+2060 WORD JOINER. GitHub turns `@name` and `#123` /
/// `owner/repo#123` in comments into mentions and cross-references (GitHub Docs, "Autolinked
/// references"), and a mention notifies: a submission whose output says `@some-org/everyone`
/// must not page people when its report is posted as a pull-request comment. A backslash does
/// not stop those filters, which run on the rendered text; an invisible joiner between the sign
/// and the name does. Only the rendering changes; the JSON report keeps the exact text.
fn push_reference_char(out: &mut String, c: char) {
    out.push(c);
    out.push('\u{2060}');
}

/// Escapes text for a one-line HTML element such as `<summary>`: an HTML block that starts with
/// `<details>` ends at the first blank line (CommonMark §4.6, type 6), after which the rest of
/// the text would be read as Markdown, so line breaks become spaces here.
fn html_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in html(&super::one_line(s)).chars() {
        match c {
            '@' | '#' => push_reference_char(&mut out, c),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for the inside of an HTML element (`<pre>`), where Markdown is not
/// interpreted. `<pre>` ends only at `</pre>` (CommonMark §4.6, HTML block type 1), which escaped
/// text cannot contain, so blank lines inside an output tail are harmless; GitHub does not look
/// for mentions inside `<pre>` either. Control characters other than newline and tab are
/// dropped.
fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Finding;
    use crate::render::fixtures;

    fn render(report: &Report) -> String {
        markdown(report, &MarkdownOptions::default())
    }

    #[test]
    fn hostile_text_cannot_open_html_or_break_the_table() {
        let mut report = fixtures::good();
        let hostile =
            "a | b <script>alert(1)</script> `code`\n\n![x](http://t/p.png) </details>\n| x |";
        report.criteria[0].title = hostile.into();
        report.criteria[0].summary = hostile.into();
        report.criteria[0]
            .findings
            .push(Finding::new(hostile).in_file("<b>f</b>"));
        report.notes.push(hostile.into());
        report.run.stderr_tail = format!("{hostile}\n</pre><img src=x>");
        let md = render(&report);
        assert!(!md.contains("<script"), "{md}");
        assert!(!md.contains("<b>") && !md.contains("<img"), "{md}");
        assert_eq!(
            md.matches("</details>").count(),
            md.matches("<details>").count()
        );
        assert_eq!(md.matches("</pre>").count(), 2, "{md}");
        assert_eq!(md.matches("<pre>").count(), 2, "{md}");
        // Markdown is interpreted outside HTML blocks (`<details><summary>` lines and `<pre>`):
        // there, no image can open.
        let before_tails = md.split("<pre>").next().expect("split yields one part");
        let markdown_lines = before_tails
            .lines()
            .filter(|l| !l.starts_with("<details><summary>"));
        for line in markdown_lines {
            assert!(!line.contains("![x]"), "{line}");
        }
        assert!(before_tails.contains("\\!\\[x\\]"), "{md}");
        // Every table row keeps its column count: unescaped pipes are only the separators.
        for line in md.lines().filter(|l| l.starts_with("| ")) {
            let pipes = line.replace("\\|", "").matches('|').count();
            assert!((2..=5).contains(&pipes), "row broken: {line}");
        }
        let table_row = md
            .lines()
            .find(|l| l.starts_with("| ✅ | a \\| b"))
            .expect("the criterion row with the escaped title");
        assert_eq!(
            table_row.replace("\\|", "").matches('|').count(),
            5,
            "{table_row}"
        );
    }

    #[test]
    fn truncation_stays_under_the_limit_and_says_what_was_cut() {
        let mut report = fixtures::good();
        report.criteria[2].findings = (0..2000)
            .map(|i| Finding::new(format!("slice {i} swapped")))
            .collect();
        let full = render(&report);
        for max_bytes in [full.len() - 1, 20_000, 3_000, 1_500, 200, 40, 0] {
            let md = markdown(&report, &MarkdownOptions { max_bytes });
            assert!(md.len() <= max_bytes, "{} > {max_bytes}", md.len());
            if max_bytes >= 200 {
                assert!(md.contains("_Truncated to fit"), "{md}");
                assert_eq!(
                    md.matches("</details>").count(),
                    md.matches("<details>").count()
                );
            }
        }
        let md = markdown(&report, &MarkdownOptions { max_bytes: 20_000 });
        assert!(md.starts_with("## Series reconstruction"));
        assert!(
            md.contains("left out: the evidence for Slice order, the evidence for"),
            "{md}"
        );
        assert!(md.ends_with("The JSON report has everything._\n"));
    }

    #[test]
    fn summary_lines_stay_one_line() {
        let mut report = fixtures::good();
        report.criteria[1].title = "Grouping\n\n![x](http://t/p.png)".into();
        let md = render(&report);
        let summary = md
            .lines()
            .find(|l| l.starts_with("<details><summary>✅ Grouping"))
            .expect("the criterion's details block");
        assert!(summary.ends_with("</summary>"), "{summary}");
        assert!(!md.contains("\n![x]"), "{md}");
    }

    #[test]
    fn mentions_and_references_cannot_notify_anyone() {
        let mut report = fixtures::good();
        let text = "cc @some-org/everyone, see #12 and owner/repo#3";
        report.criteria[2].findings = vec![Finding::new(text)];
        report.criteria[2].summary = text.into();
        report.criteria[2].title = text.into();
        report.notes.push(text.into());
        let md = render(&report);
        for needle in ["@s", "#1", "#3"] {
            assert!(!md.contains(needle), "{needle} in {md}");
        }
        // Table row, `<summary>`, measured line, finding and note: each with the joiner right
        // after the sign.
        assert_eq!(md.matches("@\u{2060}some-org").count(), 5, "{md}");
        assert_eq!(md.matches("repo\\#\u{2060}3").count(), 4, "{md}");
        assert_eq!(
            md.matches("repo#\u{2060}3").count(),
            1,
            "the <summary> line: {md}"
        );
    }

    #[test]
    fn hidden_findings_are_counted_not_shown() {
        let md = render(&fixtures::gated_candidate());
        assert!(md.contains("_findings hidden until review (2)_"), "{md}");
        assert!(!md.contains("missing slice"), "{md}");
        assert!(md.contains("1 hidden criterion"), "{md}");
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("markdown_good", render(&fixtures::good()));
        insta::assert_snapshot!(
            "markdown_gated_candidate",
            render(&fixtures::gated_candidate())
        );
        insta::assert_snapshot!("markdown_timed_out", render(&fixtures::timed_out()));
    }
}
