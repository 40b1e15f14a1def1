//! `worksample list`: the tasks, one line each.

use worksample_task::Registry;

use crate::exit::{CliError, Outcome};

pub(crate) fn run(registry: &Registry) -> Result<Outcome, CliError> {
    let mut text = String::new();
    if registry.tasks().is_empty() {
        text.push_str("no tasks are registered in this build\n");
    }
    for t in registry.tasks() {
        let s = &t.data.spec;
        let profiles: Vec<&str> = s.profiles.keys().map(String::as_str).collect();
        text.push_str(&format!(
            "{:<10} v{:<3} {:>4} min  profiles: {:<20} {}\n",
            s.id,
            s.version,
            s.time_budget_minutes,
            profiles.join(", "),
            s.summary
        ));
    }
    crate::output::print_stdout(&text)?;
    Ok(Outcome::Ok)
}
