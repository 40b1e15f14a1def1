//! The HTML rendering: one self-contained page an assessor reads before the debrief, and the
//! shared page frame of the cohort comparison ([`super::cohort`]).
//!
//! Self-contained means no network and no external assets: styles are inline, images are
//! `data:` URLs, plots are inline SVG, and there is no script at all. A Content Security Policy
//! (`default-src 'none'`) states that in the page itself, so even a missed escape could neither
//! run script nor fetch anything (CSP Level 3 §6.1).
//!
//! Layout, for a panel on one screen: a header (candidate, task, version, seed or commitment,
//! verdict), the score card (total, per category, per criterion with level), the debrief
//! prompts of the criteria the candidate lost points on, then every criterion with its evidence,
//! the trap cards, the run's resources and the figures.
//!
//! Every candidate-controlled string (findings, summaries, notes, output tails, figure text) goes
//! through [`text`] or [`attr`]: `&`, `<`, `>`, `"` and `'` become character references, so no
//! tag or attribute can open (HTML Living Standard §13.1.4, §13.5), and control and bidi
//! characters are dropped as in the other formats.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{
    category_cap, finding_text, level_heading, mib, num, omitted_line, points, run_status_text,
    status_id, tally, verdict_text,
};
use crate::figure::{TreeNode, base64};
use crate::{
    Audience, CriterionReport, Figure, FigureKind, Level, MarkKind, PngImage, Report,
    RunStatusKind, SeedInfo, Verdict, Visibility,
};

/// Styles of every page: readable on screen, compact in print (no backgrounds needed to read a
/// level, since each level is also written out).
const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1b1f24; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa;
  --excellent: #1a7f37; --good: #4d9a2a; --mixed: #9a6700; --poor: #cf222e; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink);
  margin: 0 auto; max-width: 72rem; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .5rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid var(--line); padding-bottom: .25rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin: 1.25rem 0 .25rem; }
h4 { font-size: .95rem; margin: .75rem 0 .25rem; }
header dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem 1rem; margin: 0; }
header dt { color: var(--muted); }
header dd { margin: 0; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--bg); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; overflow-wrap: anywhere; }
pre { background: var(--bg); padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
.wide { overflow-x: auto; }
.total { font-size: 2.2rem; font-weight: 700; margin: .25rem 0; }
.cards { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.level { display: inline-block; padding: 0 .45rem; border-radius: .6rem; color: #fff; font-weight: 600; font-size: .85em; }
.level-excellent { background: var(--excellent); } .level-good { background: var(--good); }
.level-mixed { background: var(--mixed); } .level-poor { background: var(--poor); }
.verdict-pass { color: var(--excellent); } .verdict-fail { color: var(--poor); }
.meter { display: inline-block; width: 6rem; height: .6rem; background: var(--line); vertical-align: middle; }
.meter > span { display: block; height: 100%; background: var(--ink); }
.criterion + .criterion { border-top: 1px solid var(--line); padding-top: .25rem; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; }
@media print { nav { display: none; } }
.debrief { border-left: 4px solid var(--mixed); background: #fff8c5; padding: .25rem .75rem; margin: .5rem 0; }
.gate, .capped { color: var(--poor); }
.muted { color: var(--muted); }
.strip { display: flex; flex-wrap: wrap; gap: .5rem; list-style: none; padding: 0; margin: .5rem 0; }
.tile { border: 3px solid transparent; padding: 2px; width: 104px; font-size: .8rem; }
.tile img { width: 96px; height: auto; image-rendering: pixelated; display: block; background: #000; }
.tile.mark-wrong { border-color: var(--poor); } .tile.mark-anomaly { border-color: var(--mixed); }
.tile.mark-missing { border-color: var(--muted); border-style: dashed; }
.marks { list-style: none; padding: 0; margin: .15rem 0 0; font-size: .72rem; line-height: 1.2; }
.mark-word { font-weight: 700; }
.tree, .tree ul { list-style: none; margin: .15rem 0; padding-left: 1.1rem; }
.tree ul { border-left: 1px solid var(--line); }
.tree { padding-left: 0; font-size: .9rem; }
.tree .node { padding: 0 .25rem; }
.tree li.mark-wrong > .node { background: #ffebe9; border-left: 3px solid var(--poor); }
.tree li.mark-anomaly > .node { background: #fff8c5; border-left: 3px solid var(--mixed); }
.tree li.mark-missing > .node { border: 1px dashed var(--muted); }
figure { margin: 1rem 0; break-inside: avoid; }
figcaption { color: var(--muted); }
svg text { font: 12px system-ui, sans-serif; fill: var(--ink); }
body:has(.cohort) { max-width: none; }
.cohort table { font-size: .85rem; }
.cohort td.num { white-space: nowrap; }
.cohort td .meter { width: 2.5rem; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; }
  details > *:not(summary) { display: block; }
  .criterion, .cards > *, table { break-inside: avoid; }
  .level, .meter > span, .tile, th { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"#;

/// Colours of the histogram series, distinguishable for common colour-vision deficiencies
/// (Okabe–Ito palette); every series is also named in the legend and the data table.
const PALETTE: [&str; 6] = [
    "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
];

/// The report as one self-contained HTML page.
pub fn html(report: &Report) -> String {
    let title = match &report.candidate {
        Some(c) => format!("{} — {}", report.task.title, c),
        None => report.task.title.clone(),
    };
    let mut body = String::new();
    header(report, &title, &mut body);
    body.push_str("<main>\n");
    score_card(report, &mut body);
    nav(report, &mut body);
    debrief_section(report, &mut body);
    notes(report, &mut body);
    criteria(report, &mut body);
    cards(report, &mut body);
    run_section(report, &mut body);
    figures(report, &mut body);
    body.push_str("</main>\n");
    page(&format!("worksample report: {title}"), &body)
}

/// The page frame: doctype, CSP, styles, and `body` (already escaped HTML).
pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"worksample\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        text(title)
    )
}

/// Escapes text for element content, and shows each `quoted` span (the graders' and notes'
/// convention for file names, keys and values) as code, as Markdown would. The escaping comes
/// first, so a span's content stays text; a lone backtick stays a backtick.
fn prose(s: &str) -> String {
    let escaped = text(s);
    let parts: Vec<&str> = escaped.split('`').collect();
    // An odd number of parts means every backtick has a partner.
    if parts.len() < 3 || parts.len().is_multiple_of(2) {
        return escaped;
    }
    let mut out = String::with_capacity(escaped.len() + parts.len() * 6);
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{part}</code>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// Escapes text for element content and attribute values alike.
pub(super) fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            '\r' => {}
            c if c.is_control() || super::is_bidi_control(c) => {}
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a quoted attribute value, on one line.
pub(super) fn attr(s: &str) -> String {
    text(&super::one_line(s))
}

/// A fragment id from free text: ids may hold any character but space (HTML §3.2.6.2); letters,
/// digits, `-` and `_` are kept and the rest become `-`, so ids stay readable in URLs too.
pub(super) fn anchor(prefix: &str, id: &str) -> String {
    let tail: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}-{tail}")
}

pub(super) fn level_badge(level: Level) -> String {
    format!("<span class=\"level level-{0}\">{0}</span>", level.as_str())
}

/// A criterion's level as [`super::level_label`] words it: the badge, or for a criterion a
/// closed gate scaled down "capped by gate `g`, measured [badge]", so a capped perfect
/// measurement never shows a bare "excellent" badge.
fn level_html(c: &CriterionReport) -> String {
    if c.gated_by.is_empty() {
        return level_badge(c.level);
    }
    let gates: Vec<String> = c
        .gated_by
        .iter()
        .map(|g| format!("<code>{}</code>", text(&g.gate)))
        .collect();
    let noun = if gates.len() == 1 { "gate" } else { "gates" };
    format!(
        "<span class=\"capped\">capped by {noun} {}</span>, measured {}",
        gates.join(", "),
        level_badge(c.level)
    )
}

/// A bar of `fraction` (0..=1) with its value for screen readers in the cell beside it.
pub(super) fn meter(fraction: f64) -> String {
    let pct = (fraction.clamp(0.0, 1.0) * 100.0).round();
    format!(
        "<span class=\"meter\" aria-hidden=\"true\"><span style=\"width:{pct}%\"></span></span>"
    )
}

fn header(report: &Report, title: &str, out: &mut String) {
    out.push_str("<header>\n");
    let _ = writeln!(out, "<h1>{}</h1>", text(title));
    out.push_str("<dl>\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<dt>{k}</dt><dd>{v}</dd>");
    };
    row(
        "Candidate",
        report
            .candidate
            .as_deref()
            .map_or_else(|| "<span class=\"muted\">not given</span>".to_owned(), text),
    );
    row(
        "Task",
        format!(
            "{} <code>{}</code> version {}, profile <code>{}</code>",
            text(&report.task.title),
            text(&report.task.id),
            report.task.version,
            text(&report.profile)
        ),
    );
    row(
        "Seed",
        match &report.seed {
            SeedInfo::Public { value } => format!("public seed <code>{value}</code>"),
            SeedInfo::Hidden { commitment } => {
                format!("hidden; commitment <code>{}</code>", text(commitment))
            }
        },
    );
    let verdict_class = match report.verdict {
        Verdict::Pass => "verdict-pass",
        Verdict::Fail => "verdict-fail",
        Verdict::Unjudged => "muted",
    };
    row(
        "Verdict",
        format!(
            "<strong class=\"{verdict_class}\" id=\"verdict\">{}</strong>",
            text(&verdict_text(report))
        ),
    );
    let audience = match report.audience {
        Audience::Assessor => "assessor (everything shown)",
        Audience::Candidate => "candidate (hidden findings and figures left out)",
    };
    row("Audience", audience.to_owned());
    row(
        "Harness",
        format!("worksample {}", text(&report.harness_version)),
    );
    out.push_str("</dl>\n</header>\n");
}

fn score_card(report: &Report, out: &mut String) {
    out.push_str("<section id=\"score-card\" aria-labelledby=\"score-card-h\">\n<h2 id=\"score-card-h\">Score card</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"total\" id=\"total\">{}% <span class=\"muted\">({} points)</span></p>\n<p>{}</p>",
        num(report.total.percent),
        points(report.total.points, report.total.max_points),
        text(&tally(report))
    );
    let _ = writeln!(out, "<p id=\"run-line\">Run: {}</p>", run_line(report));
    out.push_str("<div class=\"cards\">\n");
    // Categories in rubric order of first appearance.
    let mut order: Vec<&str> = Vec::new();
    let mut sums: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for c in &report.criteria {
        let e = sums.entry(c.category.as_str()).or_insert_with(|| {
            order.push(c.category.as_str());
            (0.0, 0.0)
        });
        e.0 += c.points;
        e.1 += c.max_points;
    }
    out.push_str("<table id=\"categories\">\n<caption>Per category</caption>\n<thead><tr><th scope=\"col\">Category</th><th scope=\"col\" class=\"num\">Points</th><th scope=\"col\">Share</th></tr></thead>\n<tbody>\n");
    for cat in order {
        let (p, m) = sums.get(cat).copied().unwrap_or((0.0, 0.0));
        let frac = if m > 0.0 { p / m } else { 0.0 };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td>{} {}%</td></tr>",
            text(cat),
            points(p, m),
            meter(frac),
            num(frac * 100.0)
        );
    }
    out.push_str("</tbody>\n</table>\n");
    out.push_str("<table id=\"criteria-table\">\n<caption>Per criterion</caption>\n<thead><tr><th scope=\"col\">Criterion</th><th scope=\"col\">Level</th><th scope=\"col\" class=\"num\">Points</th><th scope=\"col\">Status</th></tr></thead>\n<tbody>\n");
    for c in &report.criteria {
        let hidden = match c.visibility {
            Visibility::Hidden => " <span class=\"muted\">(hidden)</span>",
            Visibility::Visible => "",
        };
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\"><a href=\"#{}\">{}</a>{hidden}</th><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            anchor("criterion", c.id.as_str()),
            text(&c.title),
            level_html(c),
            points(c.points, c.max_points),
            status_id(c.status)
        );
    }
    out.push_str("</tbody>\n</table>\n</div>\n</section>\n");
}

/// The run in one line for the score card: status, time, memory, isolation.
fn run_line(report: &Report) -> String {
    let run = &report.run;
    match run.status {
        RunStatusKind::NotRun => text(run_status_text(run.status)),
        RunStatusKind::Completed
        | RunStatusKind::TimedOut
        | RunStatusKind::Killed
        | RunStatusKind::MemoryLimit
        | RunStatusKind::ProcessLimit
        | RunStatusKind::OutputLimit
        | RunStatusKind::FileSizeLimit
        | RunStatusKind::SpawnFailed => format!(
            "{}, {} s wall, {} s CPU, {} MiB peak{} (<a href=\"#run\">details</a>)",
            run_status_text(run.status),
            num(run.wall_s),
            num(run.cpu_s),
            mib(run.peak_rss_bytes),
            match run.network_isolated {
                Some(true) => ", network isolated",
                Some(false) => ", network not isolated",
                None => "",
            }
        ),
    }
}

/// Links to the sections the page has, so a panel can jump from the score card.
fn nav(report: &Report, out: &mut String) {
    let mut links = Vec::new();
    if report.criteria.iter().any(|c| !c.debrief.is_empty()) {
        links.push(("debrief", "Debrief prompts".to_owned()));
    }
    links.push(("criteria", "Criteria and findings".to_owned()));
    if !report.cards.is_empty() {
        links.push(("cards", "Debrief cards".to_owned()));
    }
    links.push(("run", "Run resources".to_owned()));
    if !report.figures.is_empty() {
        links.push(("figures", format!("Figures ({})", report.figures.len())));
    }
    out.push_str("<nav aria-label=\"Sections\"><ul>");
    for (id, label) in links {
        let _ = write!(out, "<li><a href=\"#{id}\">{label}</a></li>");
    }
    out.push_str("</ul></nav>\n");
}

fn debrief_section(report: &Report, out: &mut String) {
    let lost: Vec<&CriterionReport> = report
        .criteria
        .iter()
        .filter(|c| !c.debrief.is_empty())
        .collect();
    if lost.is_empty() {
        return;
    }
    out.push_str("<section id=\"debrief\" aria-labelledby=\"debrief-h\">\n<h2 id=\"debrief-h\">Debrief prompts</h2>\n<p class=\"muted\">Questions for the structured interview, for the criteria whose own measurement lost points (a criterion only a gate capped has none); start from the evidence below.</p>\n");
    for c in lost {
        let _ = writeln!(
            out,
            "<h3><a href=\"#{}\">{}</a> {} {}</h3>\n<ol>",
            anchor("criterion", c.id.as_str()),
            text(&c.title),
            level_html(c),
            points(c.points, c.max_points)
        );
        for q in &c.debrief {
            let _ = writeln!(out, "<li>{}</li>", text(q));
        }
        out.push_str("</ol>\n");
    }
    out.push_str("</section>\n");
}

fn notes(report: &Report, out: &mut String) {
    if report.notes.is_empty() {
        return;
    }
    out.push_str("<section id=\"notes\" aria-labelledby=\"notes-h\">\n<h2 id=\"notes-h\">Notes on the submission</h2>\n<ul>\n");
    for n in &report.notes {
        let _ = writeln!(out, "<li>{}</li>", prose(n));
    }
    out.push_str("</ul>\n</section>\n");
}

fn criteria(report: &Report, out: &mut String) {
    out.push_str("<section id=\"criteria\" aria-labelledby=\"criteria-h\">\n<h2 id=\"criteria-h\">Criteria</h2>\n");
    for c in &report.criteria {
        let _ = writeln!(
            out,
            "<article class=\"criterion\" id=\"{}\">\n<h3>{} {}</h3>",
            anchor("criterion", c.id.as_str()),
            text(&c.title),
            level_html(c)
        );
        let _ = writeln!(
            out,
            "<p><strong>{}</strong> points, {} · <code>{}</code> · category {}{}</p>",
            points(c.points, c.max_points),
            status_id(c.status),
            text(c.id.as_str()),
            text(&c.category),
            match c.visibility {
                Visibility::Hidden => " · hidden from candidates",
                Visibility::Visible => "",
            }
        );
        let _ = writeln!(out, "<p>{}</p>", prose(&c.summary));
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} {}: {}</p>",
            level_heading(c),
            c.level.as_str(),
            text(&c.level_text)
        );
        for g in &c.gated_by {
            let _ = writeln!(
                out,
                "<p class=\"gate\">Capped by gate <code>{}</code> (closed by <code>{}</code>), which {}: {}</p>",
                text(&g.gate),
                text(g.by.as_str()),
                text(&category_cap(&c.category)),
                text(&g.reason)
            );
        }
        if !c.findings.is_empty() {
            out.push_str("<h4>Findings</h4>\n<ul class=\"findings\">\n");
            for f in &c.findings {
                let _ = writeln!(out, "<li>{}</li>", prose(&finding_text(f)));
            }
            out.push_str("</ul>\n");
        }
        if let Some(line) = omitted_line(report, c) {
            let _ = writeln!(out, "<p class=\"muted\">{}</p>", text(&line));
        }
        if !c.debrief.is_empty() {
            out.push_str("<aside class=\"debrief\">\n<h4>Debrief questions</h4>\n<ol>\n");
            for q in &c.debrief {
                let _ = writeln!(out, "<li>{}</li>", text(q));
            }
            out.push_str("</ol>\n</aside>\n");
        }
        out.push_str("</article>\n");
    }
    out.push_str("</section>\n");
}

fn cards(report: &Report, out: &mut String) {
    if report.cards.is_empty() {
        return;
    }
    out.push_str("<section id=\"cards\" aria-labelledby=\"cards-h\">\n<h2 id=\"cards-h\">Debrief cards</h2>\n");
    for card in &report.cards {
        let handled = card.rows.iter().filter(|r| r.handled).count();
        let _ = writeln!(
            out,
            "<table class=\"card\">\n<caption>{} ({handled} of {} handled)</caption>\n<thead><tr><th scope=\"col\">Item</th><th scope=\"col\">Handled</th><th scope=\"col\">Evidence</th></tr></thead>\n<tbody>",
            text(&card.title),
            card.rows.len()
        );
        for r in &card.rows {
            let _ = writeln!(
                out,
                "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td></tr>",
                text(&r.name),
                if r.handled { "✔ yes" } else { "✘ no" },
                text(&r.detail)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</section>\n");
}

fn run_section(report: &Report, out: &mut String) {
    let run = &report.run;
    out.push_str("<section id=\"run\" aria-labelledby=\"run-h\">\n<h2 id=\"run-h\">Run resources</h2>\n<table>\n<tbody>\n");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(out, "<tr><th scope=\"row\">{k}</th><td>{v}</td></tr>");
    };
    row(
        "Status",
        format!("{}: {}", run_status_text(run.status), text(&run.detail)),
    );
    let ran = match run.status {
        RunStatusKind::NotRun => false,
        RunStatusKind::Completed
        | RunStatusKind::TimedOut
        | RunStatusKind::Killed
        | RunStatusKind::MemoryLimit
        | RunStatusKind::ProcessLimit
        | RunStatusKind::OutputLimit
        | RunStatusKind::FileSizeLimit
        | RunStatusKind::SpawnFailed => true,
    };
    if ran {
        if let Some(code) = run.exit_code {
            row("Exit code", code.to_string());
        }
        row("Wall time", format!("{} s", num(run.wall_s)));
        row("CPU time", format!("{} s", num(run.cpu_s)));
        row("Peak memory", format!("{} MiB", mib(run.peak_rss_bytes)));
        row(
            "Output",
            format!(
                "{} B stdout, {} B stderr",
                run.stdout_bytes, run.stderr_bytes
            ),
        );
        let isolation = match run.network_isolated {
            Some(true) => "network isolated",
            Some(false) => "network not isolated",
            None => "unknown",
        };
        row("Isolation", isolation.to_owned());
        if let Some(l) = run.limits {
            // Limits are whole MiB as the task and the flags give them.
            let mut limits = vec![format!("{} s wall", num(l.wall_s))];
            limits.extend(l.memory_bytes.map(|b| format!("{} MiB memory", b >> 20)));
            limits.extend(l.max_processes.map(|n| format!("{n} processes")));
            limits.extend(
                l.max_file_bytes
                    .map(|b| format!("{} MiB per file", b >> 20)),
            );
            limits.push(format!("{} MiB of output", l.max_output_bytes >> 20));
            row("Limits", limits.join(" · "));
        }
    }
    out.push_str("</tbody>\n</table>\n");
    for (name, tail) in [("stdout", &run.stdout_tail), ("stderr", &run.stderr_tail)] {
        if !tail.is_empty() {
            let _ = writeln!(
                out,
                "<details><summary>Last lines of {name}</summary>\n<pre>{}</pre>\n</details>",
                text(tail)
            );
        }
    }
    out.push_str("</section>\n");
}

fn figures(report: &Report, out: &mut String) {
    if report.figures.is_empty() {
        return;
    }
    out.push_str("<section id=\"figures\" aria-labelledby=\"figures-h\">\n<h2 id=\"figures-h\">Figures</h2>\n");
    for (i, f) in report.figures.iter().enumerate() {
        figure(f, i, out);
    }
    out.push_str("</section>\n");
}

fn figure(f: &Figure, index: usize, out: &mut String) {
    // The index keeps ids unique even if a task repeats a figure id.
    let id = anchor(&format!("figure-{index}"), f.id.as_str());
    let _ = writeln!(
        out,
        "<figure id=\"{id}\" aria-labelledby=\"{id}-title\">\n<h3 id=\"{id}-title\">{}</h3>",
        text(&f.title)
    );
    match &f.kind {
        FigureKind::Png { image } => {
            let _ = writeln!(out, "{}", img(image, "figure-image"));
        }
        FigureKind::Strip { tiles } => {
            out.push_str("<ol class=\"strip\">\n");
            for t in tiles {
                let classes: String = t
                    .marks
                    .iter()
                    .map(|m| format!(" mark-{}", mark_id(m.kind)))
                    .collect();
                let _ = write!(
                    out,
                    "<li class=\"tile{classes}\">{}<span>{}</span>",
                    img(&t.image, "tile-image"),
                    text(&t.label)
                );
                if !t.marks.is_empty() {
                    out.push_str("<ul class=\"marks\">");
                    for m in &t.marks {
                        let _ = write!(
                            out,
                            "<li class=\"mark-{}\"><span class=\"mark-word\">{}</span>: {}</li>",
                            mark_id(m.kind),
                            mark_word(m.kind),
                            text(&m.note)
                        );
                    }
                    out.push_str("</ul>");
                }
                out.push_str("</li>\n");
            }
            out.push_str("</ol>\n");
        }
        FigureKind::Bars { unit, bars } => {
            bars_svg(&id, unit, bars, out);
        }
        FigureKind::Histogram {
            unit,
            edges,
            series,
        } => {
            histogram_svg(&id, unit, edges, series, out);
        }
        FigureKind::Tree { roots } => {
            out.push_str("<ul class=\"tree\">\n");
            for node in roots {
                tree_node(node, out);
            }
            out.push_str("</ul>\n");
        }
    }
    let _ = writeln!(
        out,
        "<figcaption>{}</figcaption>\n</figure>",
        text(&f.caption)
    );
}

fn mark_id(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Wrong => "wrong",
        MarkKind::Anomaly => "anomaly",
        MarkKind::Missing => "missing",
    }
}

/// Marks are told apart by word as well as colour (WCAG 2.2 SC 1.4.1).
fn mark_word(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Wrong => "misplaced",
        MarkKind::Anomaly => "anomaly",
        MarkKind::Missing => "missing",
    }
}

/// The word of a mark on a tree node: the strip's words speak of slices out of place, a tree
/// node is simply wrong, an anomaly, or missing. Told apart by word as well as colour (WCAG 2.2
/// SC 1.4.1).
fn tree_mark_word(kind: MarkKind) -> &'static str {
    match kind {
        MarkKind::Wrong => "wrong",
        MarkKind::Anomaly => "anomaly",
        MarkKind::Missing => "missing",
    }
}

/// One node of a tree and, nested, its children. Depth follows the data: a report's trees are
/// made by graders from bounded paths (a JSON report is read with serde's recursion limit).
fn tree_node(node: &TreeNode, out: &mut String) {
    match node.mark {
        Some(kind) => {
            let _ = write!(
                out,
                "<li class=\"mark-{}\"><span class=\"node\"><code>{}</code> <span class=\"mark-word\">{}</span></span>",
                mark_id(kind),
                text(&node.label),
                tree_mark_word(kind)
            );
        }
        None => {
            let _ = write!(
                out,
                "<li><span class=\"node\"><code>{}</code></span>",
                text(&node.label)
            );
        }
    }
    if let Some(note) = &node.note {
        let _ = write!(out, ": {}", text(note));
    }
    if !node.children.is_empty() {
        out.push_str("\n<ul>\n");
        for child in &node.children {
            tree_node(child, out);
        }
        out.push_str("</ul>\n");
    }
    out.push_str("</li>\n");
}

fn img(image: &PngImage, class: &str) -> String {
    format!(
        "<img class=\"{class}\" src=\"data:image/png;base64,{}\" width=\"{}\" height=\"{}\" alt=\"{}\">",
        base64(&image.bytes),
        image.width,
        image.height,
        attr(&image.alt)
    )
}

/// Horizontal bars with interval whiskers; the numbers are repeated in a table for screen
/// readers and print.
fn bars_svg(id: &str, unit: &str, bars: &[crate::Bar], out: &mut String) {
    const LABEL: f64 = 140.0;
    const PLOT: f64 = 360.0;
    const ROW: f64 = 26.0;
    let finite = |x: f64| if x.is_finite() { x } else { 0.0 };
    let mut lo = 0.0f64;
    let mut hi = 0.0f64;
    for b in bars {
        for x in std::iter::once(b.value).chain(b.interval.into_iter().flatten()) {
            lo = lo.min(finite(x));
            hi = hi.max(finite(x));
        }
    }
    if hi - lo <= 0.0 {
        hi = lo + 1.0;
    }
    let x = |v: f64| LABEL + (finite(v) - lo) / (hi - lo) * PLOT;
    let height = ROW * bars.len() as f64 + 24.0;
    let _ = writeln!(
        out,
        "<svg role=\"img\" aria-labelledby=\"{id}-title\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">",
        num(LABEL + PLOT + 60.0),
        num(height),
        num(LABEL + PLOT + 60.0),
        num(height)
    );
    for (i, b) in bars.iter().enumerate() {
        let y = ROW * i as f64 + 4.0;
        let (a, z) = (x(0.0_f64.max(lo)), x(b.value));
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#0072b2\"/>",
            num(LABEL - 6.0),
            num(y + 14.0),
            text(&super::one_line(&b.label)),
            num(a.min(z)),
            num(y + 2.0),
            num((z - a).abs()),
            num(ROW - 10.0)
        );
        if let Some([l, h]) = b.interval {
            let mid = y + (ROW - 6.0) / 2.0;
            let _ = writeln!(
                out,
                "<path d=\"M{l} {mid}H{h}M{l} {t}V{b}M{h} {t}V{b}\" stroke=\"#1b1f24\" stroke-width=\"1.5\" fill=\"none\"/>",
                l = num(x(l)),
                h = num(x(h)),
                mid = num(mid),
                t = num(mid - 5.0),
                b = num(mid + 5.0),
            );
        }
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            num(x(b.interval.map_or(b.value, |[_, h]| h.max(b.value))) + 4.0),
            num(y + 14.0),
            num(b.value)
        );
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n</svg>",
        num(LABEL + PLOT / 2.0),
        num(height - 4.0),
        text(&super::one_line(unit))
    );
    out.push_str("<details><summary>Data</summary>\n<table>\n<thead><tr><th scope=\"col\">Label</th><th scope=\"col\" class=\"num\">Value</th><th scope=\"col\">Interval</th></tr></thead>\n<tbody>\n");
    for b in bars {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td class=\"num\">{} {}</td><td>{}</td></tr>",
            text(&b.label),
            num(b.value),
            text(unit),
            b.interval
                .map_or_else(String::new, |[l, h]| format!("{} – {}", num(l), num(h)))
        );
    }
    out.push_str("</tbody>\n</table>\n</details>\n");
}

/// Step outlines of each series over shared bins, with a legend and a data table.
fn histogram_svg(
    id: &str,
    unit: &str,
    edges: &[f64],
    series: &[crate::HistogramSeries],
    out: &mut String,
) {
    const W: f64 = 480.0;
    const H: f64 = 180.0;
    const PAD: f64 = 40.0;
    let bins = edges.len().saturating_sub(1);
    let max = series
        .iter()
        .flat_map(|s| s.counts.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let legend = 18.0 * series.len() as f64;
    let total_h = H + PAD + legend;
    let _ = writeln!(
        out,
        "<svg role=\"img\" aria-labelledby=\"{id}-title\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">",
        num(W + 2.0 * PAD),
        num(total_h),
        num(W + 2.0 * PAD),
        num(total_h)
    );
    let _ = writeln!(
        out,
        "<path d=\"M{PAD} 10V{}H{}\" stroke=\"#57606a\" fill=\"none\"/>",
        num(H),
        num(PAD + W)
    );
    if bins > 0 {
        let bx = |i: usize| PAD + W * i as f64 / bins as f64;
        for (k, s) in series.iter().enumerate() {
            let mut d = format!("M{} {}", num(bx(0)), num(H));
            for i in 0..bins {
                let c = s.counts.get(i).copied().unwrap_or(0) as f64;
                let y = H - (H - 10.0) * c / max;
                let _ = write!(d, "V{}H{}", num(y), num(bx(i + 1)));
            }
            let _ = write!(d, "V{}", num(H));
            let _ = writeln!(
                out,
                "<path d=\"{d}\" stroke=\"{}\" stroke-width=\"2\" fill=\"none\"/>",
                PALETTE[k % PALETTE.len()]
            );
        }
        for (i, e) in [(0, edges.first()), (bins, edges.last())] {
            if let Some(e) = e {
                let _ = writeln!(
                    out,
                    "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                    num(bx(i)),
                    num(H + 16.0),
                    num(*e)
                );
            }
        }
    }
    let _ = writeln!(
        out,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        num(PAD + W / 2.0),
        num(H + 16.0),
        text(&super::one_line(unit))
    );
    for (k, s) in series.iter().enumerate() {
        let y = H + PAD + 18.0 * k as f64;
        let _ = writeln!(
            out,
            "<rect x=\"{PAD}\" y=\"{}\" width=\"14\" height=\"4\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            num(y - 4.0),
            PALETTE[k % PALETTE.len()],
            num(PAD + 20.0),
            num(y),
            text(&super::one_line(&s.label))
        );
    }
    out.push_str(
        "</svg>\n<details><summary>Data</summary>\n<table>\n<thead><tr><th scope=\"col\">Bin</th>",
    );
    for s in series {
        let _ = write!(
            out,
            "<th scope=\"col\" class=\"num\">{}</th>",
            text(&s.label)
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for i in 0..bins {
        let _ = write!(
            out,
            "<tr><th scope=\"row\">{} to {} {}</th>",
            num(edges[i]),
            num(edges[i + 1]),
            text(unit)
        );
        for s in series {
            let _ = write!(
                out,
                "<td class=\"num\">{}</td>",
                s.counts.get(i).copied().unwrap_or(0)
            );
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</details>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::fixtures;

    /// Replaces base64 payloads so snapshots show structure, not bytes.
    fn redacted(html: &str) -> String {
        let mut out = String::with_capacity(html.len());
        let mut rest = html;
        let marker = "data:image/png;base64,";
        while let Some(i) = rest.find(marker) {
            out.push_str(&rest[..i + marker.len()]);
            rest = &rest[i + marker.len()..];
            let end = rest.find('"').unwrap_or(rest.len());
            out.push_str("[png]");
            rest = &rest[end..];
        }
        out.push_str(rest);
        out
    }

    /// Everything after the `<style>` block, which would only repeat in every snapshot.
    fn body(html: &str) -> String {
        let start = html.find("</head>").expect("a head");
        redacted(&html[start..])
    }

    #[test]
    fn snapshots() {
        insta::assert_snapshot!("html_figures", body(&html(&fixtures::with_figures())));
        insta::assert_snapshot!(
            "html_gated_candidate",
            body(&html(&fixtures::gated_candidate()))
        );
        insta::assert_snapshot!("html_timed_out", body(&html(&fixtures::timed_out())));
    }

    /// A tree figure alone, hostile text in it, drawn as the figures section.
    #[test]
    fn trees_nest_and_mark_their_nodes() {
        let node = |label: &str, note: Option<&str>, mark, children| TreeNode {
            label: label.into(),
            note: note.map(str::to_owned),
            mark,
            children,
        };
        let mut report = fixtures::with_figures();
        report.figures = vec![Figure::new(
            "leaks",
            "Leaks on the attribute tree",
            "Values masked to their first 2 characters.",
            FigureKind::Tree {
                roots: vec![node(
                    "out/<b>1</b>.dcm",
                    Some("2 identifiers leaked"),
                    None,
                    vec![
                        node(
                            "(0040,0275)[0] RequestAttributesSequence",
                            None,
                            None,
                            vec![node(
                                "(0010,0020) PatientID",
                                Some("direct `MR…` (patient id)"),
                                Some(MarkKind::Wrong),
                                vec![],
                            )],
                        ),
                        node(
                            "file path",
                            Some("checked"),
                            Some(MarkKind::Anomaly),
                            vec![],
                        ),
                        node(
                            "(0010,0010) PatientName",
                            None,
                            Some(MarkKind::Missing),
                            vec![],
                        ),
                    ],
                )],
            },
        )];
        let page = html(&report);
        let start = page
            .find("<section id=\"figures\"")
            .expect("a figures section");
        let end = start + page[start..].find("</section>").expect("closed");
        let section = &page[start..end];
        assert!(!section.contains("<b>"), "labels are escaped");
        insta::assert_snapshot!("html_tree", section);
    }

    #[test]
    fn hostile_text_never_opens_a_tag() {
        let mut report = fixtures::with_figures();
        let hostile = "</script><img src=x onerror=alert(1)>\"' onload=\"x";
        report.criteria[2]
            .findings
            .push(crate::Finding::new(hostile).in_file(hostile).at(hostile));
        report.notes.push(hostile.into());
        report.run.stderr_tail = hostile.into();
        report.candidate = Some(hostile.into());
        let page = html(&report);
        assert!(!page.contains("<img src=x"), "{page}");
        assert!(!page.contains("</script>"));
        assert!(!page.contains("onload=\"x"));
        assert!(!page.contains("<script"));
        assert!(page.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&quot;&#39;"));
        // Only our own tags remain: every `<img` is one of ours, with a data: URL.
        let imgs = page.matches("<img").count();
        assert_eq!(imgs, page.matches("<img class=").count());
        assert_eq!(imgs, page.matches("src=\"data:image/png;base64,").count());
    }

    /// Quoted spans read as code; escaping comes first, so a span cannot open a tag, and an
    /// unpaired backtick stays as it is.
    #[test]
    fn quoted_spans_are_code_and_stay_escaped() {
        let cases = [
            (
                "`volumes.json` is missing",
                "<code>volumes.json</code> is missing",
            ),
            ("a `<b>` b", "a <code>&lt;b&gt;</code> b"),
            ("one ` alone", "one ` alone"),
            ("`a` and `b` and `c", "`a` and `b` and `c"),
            ("no quotes", "no quotes"),
        ];
        for (given, shown) in cases {
            assert_eq!(prose(given), shown, "{given}");
        }
    }

    #[test]
    fn is_self_contained() {
        let page = html(&fixtures::with_figures());
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("default-src 'none'"));
        for external in [
            "http://", "https://", "src=\"/", "<link", "<script", "@import",
        ] {
            assert!(!page.contains(external), "{external}");
        }
    }

    #[test]
    fn debrief_prompts_show_for_lost_criteria_and_assessors_only() {
        let assessor = html(&fixtures::with_figures());
        assert!(assessor.contains("id=\"debrief\""));
        assert!(assessor.contains("How did you order slices when Instance Number disagreed"));
        // Full marks on grouping: its question is not asked.
        assert!(!assessor.contains("Which attributes did you group on"));
        let candidate = html(&fixtures::with_figures().for_candidate());
        assert!(!candidate.contains("id=\"debrief\""));
        assert!(!candidate.contains("Debrief questions"));
    }

    #[test]
    fn candidates_see_only_visible_figures() {
        let page = html(&fixtures::with_figures().for_candidate());
        assert!(page.contains("Burned-in region"));
        assert!(!page.contains("Volume CT/3"));
        assert!(!page.contains("AUC per site"));
    }

    #[test]
    fn anchors_are_url_safe() {
        assert_eq!(anchor("criterion", "a b/\"c"), "criterion-a-b--c");
    }
}
