//! `worksample generate`: a task's input fixtures and manifest, into a new folder.

use worksample_task::{Figures, LoadedTask, PublicSeed, pipeline};

use crate::args::GenerateArgs;
use crate::exit::{CliError, Outcome};
use crate::progress::Bar;

pub(crate) fn run(t: &LoadedTask, a: GenerateArgs) -> Result<Outcome, CliError> {
    let seed = super::seed_source(&a.seed)?;
    let g = pipeline::generate(
        t,
        a.profile.as_deref(),
        &seed,
        &a.out,
        super::HARNESS_VERSION,
        Figures::Skip,
        &Bar::default(),
    )?;
    let m = &g.manifest;
    let seed_text = match &m.seed {
        PublicSeed::Public { value } => format!("seed {value}"),
        PublicSeed::Hidden { candidate, .. } => format!("hidden seed for {candidate}"),
    };
    crate::output::print_stdout(&format!(
        "wrote {} files ({:.1} MiB) of `{}` v{} profile `{}`, {seed_text}, into {}\n",
        m.files,
        m.bytes as f64 / (1024.0 * 1024.0),
        m.task,
        m.task_version,
        m.profile,
        a.out.display()
    ))?;
    Ok(Outcome::Ok)
}
