//! `worksample kit`: everything a candidate needs in one folder — briefs, published schemas,
//! practice fixtures, starter solutions in Python and Rust that run but score low, a
//! `worksample.toml`, and CI definitions for GitHub Actions and GitLab CI.
//!
//! A kit holds no answer key (keys live only in memory), no reference solution (those are test
//! code, not in the binary) and no hidden seed (practice seeds only, whatever the environment
//! says); `tests/kit.rs` proves it by scanning a kit.

use std::path::Path;

use anyhow::Context;
use worksample_task::{Figures, Registry, Seed, SeedSource, pipeline};

use crate::args::KitArgs;
use crate::exit::{CliError, Outcome};
use crate::progress::Bar;

const GITHUB_WORKFLOW: &str = include_str!("../kit/github-workflow.yml");
const GITLAB_CI: &str = include_str!("../kit/gitlab-ci.yml");
const BUILD_SOLUTIONS: &str = include_str!("../kit/build-solutions.sh");

pub(crate) fn run(registry: &Registry, a: KitArgs) -> Result<Outcome, CliError> {
    let tasks: Vec<_> = if a.tasks.is_empty() {
        registry.tasks().iter().collect()
    } else {
        a.tasks
            .iter()
            .map(|id| registry.get(id))
            .collect::<Result<_, _>>()?
    };
    // Refused before anything is written: a repeated id would meet its own folder half-made.
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = a.tasks.iter().find(|id| !seen.insert(id.as_str())) {
        return Err(CliError::usage(anyhow::anyhow!(
            "task `{twice}` is named twice; name each task once"
        )));
    }
    if let Some(p) = &a.profile {
        for t in &tasks {
            if t.data.profile(Some(p)).is_err() {
                let known: Vec<&str> = t.data.spec.profiles.keys().map(String::as_str).collect();
                return Err(CliError::usage(anyhow::anyhow!(
                    "task `{}` has no profile `{p}` (from --profile); profiles: {}",
                    t.task.id(),
                    known.join(", ")
                )));
            }
        }
    }
    pipeline::prepare_empty_dir(&a.out)?;
    let out = &a.out;
    let mut toml = String::from(
        "# The tasks `worksample check` scores, and how to run your solution for each.\n\
         # Commands run from this folder, without a shell; {input} and {output} are folders.\n",
    );
    let mut requirements = std::collections::BTreeSet::new();
    let mut listing = String::new();
    for t in &tasks {
        let id = t.task.id();
        let dir = out.join(id);
        write(&dir.join("brief.md"), &t.data.brief)?;
        for (name, text) in &t.data.files {
            write(&dir.join(name), text)?;
        }
        for (path, text) in t.task.kit() {
            write(&dir.join(path), text)?;
            if path.ends_with("requirements.txt") {
                requirements.extend(
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(str::to_owned),
                );
            }
        }
        pipeline::generate(
            t,
            a.profile.as_deref(),
            &SeedSource::Public(Seed(a.seed)),
            &dir.join("practice"),
            super::HARNESS_VERSION,
            Figures::Skip,
            &Bar::default(),
        )?;
        let s = &t.data.spec;
        let profile = a
            .profile
            .as_ref()
            .map(|p| format!("profile = \"{p}\"\n"))
            .unwrap_or_default();
        toml.push_str(&format!(
            "\n[[task]]\nid = \"{id}\"\n{profile}command = [\"python3\", \"{id}/python/solve.py\", \"{{input}}\", \"{{output}}\"]\n\
             # Or the Rust starter, built first by `bash build-solutions.sh` (CI runs it):\n\
             # command = [\"{id}/rust/target/release/solve\", \"{{input}}\", \"{{output}}\"]\n"
        ));
        listing.push_str(&format!(
            "- `{id}/` — {} (v{}, about {} minutes): `brief.md`, practice fixtures in `practice/` \
             (seed {}, profile `{}`), starters in `python/` and `rust/`.\n",
            s.title,
            s.version,
            s.time_budget_minutes,
            a.seed,
            a.profile.as_deref().unwrap_or(&s.default_profile)
        ));
    }
    write(&out.join("worksample.toml"), &toml)?;
    let mut req: String = requirements.into_iter().collect::<Vec<_>>().join("\n");
    req.push('\n');
    write(&out.join("requirements.txt"), &req)?;
    write(
        &out.join(".github/workflows/worksample.yml"),
        GITHUB_WORKFLOW,
    )?;
    write(&out.join(".gitlab-ci.yml"), GITLAB_CI)?;
    write(&out.join("build-solutions.sh"), BUILD_SOLUTIONS)?;
    // The local examples practise on the profile the kit was made for.
    let profile = a
        .profile
        .as_deref()
        .map(|p| format!(" --profile {p}"))
        .unwrap_or_default();
    write(&out.join("README.md"), &readme(&listing, &profile))?;
    write(
        &out.join(".gitignore"),
        "worksample-reports/\nout/\ntarget/\n__pycache__/\n",
    )?;
    crate::output::print_stdout(&format!(
        "wrote a candidate kit for {} task(s) into {}\n",
        tasks.len(),
        out.display()
    ))?;
    Ok(Outcome::Ok)
}

fn write(path: &Path, text: &str) -> Result<(), CliError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("failed to create `{}`", parent.display()))
            .map_err(CliError::usage)?;
    }
    std::fs::write(path, text)
        .with_context(|| format!("failed to write `{}`", path.display()))
        .map_err(CliError::usage)
}

/// The kit's README; `profile` is ` --profile NAME` for a kit made with one, else empty.
fn readme(listing: &str, profile: &str) -> String {
    format!(
        "# Your work-sample

Welcome. This folder is a repository of its own: commit your solutions here. Each task has a
brief (read it first: it is the exact contract the grader applies), practice fixtures, and a
starter solution that runs and writes valid output but scores low on purpose.

{listing}
## Iterate locally

You need `worksample` (your assessor tells you how to install it) and, for the Python starters,
`python3 -m pip install -r requirements.txt`.

```sh
worksample show TASK                                   # the brief and the rubric
worksample run TASK{profile} --seed 7 -- python3 TASK/python/solve.py {{input}} {{output}}
worksample check                                       # every task in worksample.toml, as CI does
```

`run` generates fresh fixtures for the seed, runs your command under the task's limits (time,
memory, processes, output) with no network, and grades what it wrote. Try several seeds: the
fixtures differ, the rules do not. You can also grade an output you made yourself:

```sh
worksample generate TASK{profile} --seed 7 --out in/
python3 TASK/python/solve.py in/ out/
worksample grade TASK --fixtures in/ --submission out/
```

## Continuous integration

`.github/workflows/worksample.yml` (GitHub Actions) and `.gitlab-ci.yml` (GitLab CI) run
`worksample check` on every push and pull request, write `report.json`, `report.md` and
`junit.xml` to `worksample-reports/`, add the report to the job summary and annotate the worst
findings. Set the repository variable `WORKSAMPLE_GIT` to the address your assessor gave you.
They use practice seeds; your assessor grades on hidden fixtures of the same tasks.

Edit `worksample.toml` to point each task at your solution. A Rust solution works the same way
(see the commented lines there), built before `check`: `bash build-solutions.sh` builds every
`TASK/rust` solution `worksample.toml` runs, and both CI files call it. Do not build in `setup`:
it runs sandboxed like your solution, without network and with a HOME of its own, so it can
neither fetch crates nor find a Rust toolchain.
"
    )
}
