//! `worksample show`: a task's brief and its rubric, as a candidate or assessor reads them, or
//! one of the files published with the brief (schemas, tables).

use anyhow::anyhow;
use worksample_task::LoadedTask;

use crate::args::{ShowArgs, ShowPart};
use crate::exit::{CliError, Outcome};

pub(crate) fn run(t: &LoadedTask, a: &ShowArgs) -> Result<Outcome, CliError> {
    let files = &t.data.files;
    let names = || files.keys().cloned().collect::<Vec<_>>().join(", ");
    if let Some(name) = &a.file {
        let text = files.get(name).ok_or_else(|| {
            CliError::usage(anyhow!(
                "task `{}` publishes no file `{name}`; it publishes: {}",
                t.data.spec.id,
                names()
            ))
        })?;
        crate::output::print_stdout(text)?;
        return Ok(Outcome::Ok);
    }
    let mut text = String::new();
    if matches!(a.part, ShowPart::All | ShowPart::Brief) {
        text.push_str(&t.data.brief);
        if !text.ends_with('\n') {
            text.push('\n');
        }
        // The brief says these are published with it: say how to get them without a kit.
        if !files.is_empty() {
            text.push_str(&format!(
                "\nPublished with this brief: {} (print one with `worksample show {} --file NAME`; \
                 `worksample kit` writes them all).\n",
                names(),
                t.data.spec.id
            ));
        }
    }
    if matches!(a.part, ShowPart::All | ShowPart::Rubric) {
        let r = &t.data.rubric;
        text.push_str(&format!("\n## Rubric ({} points)\n\n", r.max_points()));
        for c in &r.criteria {
            text.push_str(&format!(
                "- {} [{}] — {} points ({}){}\n  {}\n",
                c.title,
                c.id,
                c.weight,
                c.category,
                match c.visibility {
                    worksample_rubric::Visibility::Visible => "",
                    worksample_rubric::Visibility::Hidden => ", findings not shown to candidates",
                },
                c.description
            ));
        }
        for g in &r.gates {
            text.push_str(&format!(
                "- gate `{}`: while `{}` scores below {}, category `{}` earns at most {:.0}% — {}\n",
                g.id,
                g.criterion,
                g.below,
                g.caps,
                g.cap * 100.0,
                g.reason
            ));
        }
    }
    crate::output::print_stdout(&text)?;
    Ok(Outcome::Ok)
}
