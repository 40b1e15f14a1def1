//! `worksample starter` (hidden): runs a task's naive built-in starter solution on a folder.
//! `demo` launches it through the runner like any candidate command.

use worksample_task::LoadedTask;

use crate::args::StarterArgs;
use crate::exit::{CliError, Outcome};

pub(crate) fn run(t: &LoadedTask, a: &StarterArgs) -> Result<Outcome, CliError> {
    t.task.starter(&a.input, &a.output)?;
    Ok(Outcome::Ok)
}
