//! The command-line grammar (clap derive). One variant per verb; each verb's flags live here so
//! `--help` is the whole reference.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// DICOM-aware work-sample assessment: generate fixtures, run a solution under limits, grade it.
#[derive(Debug, Parser)]
#[command(name = "worksample", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// Load task data from DIR/<task>/ (an assessor's edited copy) instead of the built-in data.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) tasks_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// List the tasks with their version, time budget and profiles.
    List,
    /// Show a task's brief and rubric.
    Show(ShowArgs),
    /// Generate a task's input fixtures and manifest into a new folder.
    Generate(GenerateArgs),
    /// Grade an existing output folder against fixtures made by `generate`.
    Grade(GradeArgs),
    /// Generate fixtures, run a command on them under limits, and grade its output.
    Run(RunArgs),
    /// CI mode: run every task a repository's worksample.toml lists and write the reports.
    Check(CheckArgs),
    /// Write a candidate kit: briefs, practice fixtures, starters, worksample.toml and CI files.
    Kit(KitArgs),
    /// Run every task end to end with its built-in starter solution and write the reports.
    Demo(DemoArgs),
    /// Write general synthetic DICOM studies.
    Synth(crate::commands::synth::SynthArgs),
    /// Compare many candidates' JSON reports of one task: ranking, per-criterion matrix, spread.
    Cohort(crate::commands::cohort::CohortArgs),
    /// Run the shift task's deployed model P0, or a corrected configuration of it, on a folder.
    ShiftModel(crate::commands::shift_model::ShiftModelArgs),
    /// Run a task's built-in starter solution (used by `demo`).
    #[command(hide = true)]
    Starter(StarterArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// Task id, e.g. `series`.
    pub(crate) task: String,
    /// What to show.
    #[arg(long, value_enum, default_value_t = ShowPart::All)]
    pub(crate) part: ShowPart,
    /// Print one of the files published with the brief instead, e.g. `output.schema.json`.
    #[arg(long, value_name = "NAME", conflicts_with = "part")]
    pub(crate) file: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ShowPart {
    All,
    Brief,
    Rubric,
}

/// Where the seed comes from.
#[derive(Debug, Args)]
pub(crate) struct SeedArgs {
    /// A practice seed (anyone may reuse it).
    #[arg(long, conflicts_with = "hidden")]
    pub(crate) seed: Option<u64>,
    /// Derive a hidden seed for --candidate from WORKSAMPLE_SECRET; reports carry only a commitment.
    #[arg(long, requires = "candidate")]
    pub(crate) hidden: bool,
    /// Candidate id for a hidden seed.
    // `requires` alone lets `--candidate X --seed N` through, dropping the id silently: clap
    // waives the requirement of `--hidden` once `--seed`, which conflicts with it, is given.
    #[arg(long, requires = "hidden", conflicts_with = "seed")]
    pub(crate) candidate: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    /// Task id.
    pub(crate) task: String,
    #[command(flatten)]
    pub(crate) seed: SeedArgs,
    /// Fixture profile (default: the task's default profile).
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// A new or empty folder to write into.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

/// How to write the report.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Report formats; several may be given (then --out is a folder).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "terminal")]
    pub(crate) format: Vec<Format>,
    /// Write the report here instead of stdout (a folder when several formats are given).
    #[arg(long, value_name = "PATH")]
    pub(crate) out: Option<PathBuf>,
    /// Exit 1 when the total is below this percentage.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub(crate) fail_under: Option<f64>,
    /// Who the report is for: candidates do not see findings of hidden criteria.
    /// Default: assessor for hidden seeds, candidate otherwise.
    #[arg(long, value_enum)]
    pub(crate) audience: Option<AudienceArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    Terminal,
    Json,
    /// GitHub-flavoured Markdown (also `md`, as `cohort` names it).
    #[value(alias = "md")]
    Markdown,
    Junit,
    /// One self-contained HTML page for assessors (score card, evidence, debrief prompts, figures).
    Html,
}

impl ReportArgs {
    /// The formats asked for, each once, in the order first given (`--format json,json` is one
    /// report file, not two writes of it).
    pub(crate) fn formats(&self) -> Vec<Format> {
        let mut once = Vec::with_capacity(self.format.len());
        for f in &self.format {
            if !once.contains(f) {
                once.push(*f);
            }
        }
        once
    }

    /// Who the report is for: `--audience`, else the assessor for a hidden seed and the
    /// candidate for a practice one.
    pub(crate) fn audience(&self, hidden: bool) -> AudienceArg {
        self.audience.unwrap_or(if hidden {
            AudienceArg::Assessor
        } else {
            AudienceArg::Candidate
        })
    }

    /// Which figures some requested report shows: only the JSON and HTML renderings include
    /// them (terminal, Markdown and JUnit do not), and a candidate's report drops the hidden
    /// ones.
    pub(crate) fn figures(&self, hidden: bool) -> worksample_task::Figures {
        let shows = |f: &Format| match f {
            Format::Json | Format::Html => true,
            Format::Terminal | Format::Markdown | Format::Junit => false,
        };
        if !self.format.iter().any(shows) {
            return worksample_task::Figures::Skip;
        }
        match self.audience(hidden) {
            AudienceArg::Assessor => worksample_task::Figures::Draw,
            AudienceArg::Candidate => worksample_task::Figures::Visible,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AudienceArg {
    Candidate,
    Assessor,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    // `60%` reads as the user meant it.
    let number = s.strip_suffix('%').unwrap_or(s).trim_end();
    let v: f64 = number
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if (0.0..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} is not a percentage between 0 and 100"))
    }
}

#[derive(Debug, Args)]
pub(crate) struct GradeArgs {
    /// Task id.
    pub(crate) task: String,
    /// The fixtures folder made by `generate` (only its manifest is trusted).
    #[arg(long, value_name = "DIR")]
    pub(crate) fixtures: PathBuf,
    /// The candidate's output folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) submission: PathBuf,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Task id.
    pub(crate) task: String,
    #[command(flatten)]
    pub(crate) seed: SeedArgs,
    /// Fixture profile (default: the task's default profile).
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// Wall-clock limit in seconds (default: the task's). A looser one than the task's is
    /// allowed for practice, and the report says so.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: Option<u64>,
    /// Memory limit of the whole process tree in MiB (default: the task's; looser is noted).
    /// At most 16 TiB, so the limit in bytes is exactly what was asked.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=16 << 20))]
    pub(crate) memory: Option<u64>,
    /// Keep the candidate's output in this new or empty folder.
    #[arg(long, value_name = "DIR")]
    pub(crate) keep_output: Option<PathBuf>,
    /// Pass this environment variable through to the command (repeatable; WORKSAMPLE_* never is).
    #[arg(long = "pass-env", value_name = "NAME")]
    pub(crate) pass_env: Vec<String>,
    #[command(flatten)]
    pub(crate) report: ReportArgs,
    /// The command, run without a shell; `{input}` and `{output}` are replaced by the folders.
    #[arg(last = true, required = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The repository's task list; commands run from its folder.
    #[arg(long, value_name = "FILE", default_value = "worksample.toml")]
    pub(crate) manifest: PathBuf,
    /// Folder for report.json, report.md and junit.xml.
    #[arg(long, value_name = "DIR", default_value = "worksample-reports")]
    pub(crate) out: PathBuf,
    /// Exit 1 when any task's total is below this percentage.
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    pub(crate) fail_under: Option<f64>,
    /// Grade on this candidate's hidden seeds (needs WORKSAMPLE_SECRET: assessor-side jobs only).
    #[arg(long, value_name = "ID")]
    pub(crate) candidate: Option<String>,
    /// Fixture profile of every task, over worksample.toml's. With --candidate the repository's
    /// `profile` entries are ignored: each task's default unless this says otherwise.
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Who the reports, job summary and annotations are for. Default: assessor with
    /// --candidate (hidden findings shown: keep such a job's logs to assessors), candidate
    /// otherwise.
    #[arg(long, value_enum)]
    pub(crate) audience: Option<AudienceArg>,
}

impl CheckArgs {
    /// Who the reports are for: `--audience`, else the assessor on hidden seeds.
    pub(crate) fn audience(&self) -> AudienceArg {
        self.audience.unwrap_or(if self.candidate.is_some() {
            AudienceArg::Assessor
        } else {
            AudienceArg::Candidate
        })
    }
}

#[derive(Debug, Args)]
pub(crate) struct KitArgs {
    /// A new or empty folder for the kit.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Practice seed of the fixtures in the kit.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// Profile of the practice fixtures and of worksample.toml's entries (default: each task's
    /// default); give the one the candidate will be graded on.
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Tasks to include (default: all).
    pub(crate) tasks: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Folder for the reports (created; existing report files are replaced).
    #[arg(long, value_name = "DIR", default_value = "worksample-demo")]
    pub(crate) out: PathBuf,
    /// Practice seed.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

#[derive(Debug, Args)]
pub(crate) struct StarterArgs {
    /// Task id.
    pub(crate) task: String,
    /// Input folder.
    pub(crate) input: PathBuf,
    /// Output folder.
    pub(crate) output: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use worksample_task::Figures;

    /// A candidate id goes with a hidden seed only; with a practice seed it is refused rather
    /// than dropped.
    #[test]
    fn a_candidate_id_needs_hidden_and_refuses_a_practice_seed() {
        let parse = |extra: &[&str]| {
            let mut argv = vec!["worksample", "run", "series"];
            argv.extend(extra);
            argv.extend(["--", "true"]);
            Cli::try_parse_from(argv)
        };
        assert!(parse(&["--hidden", "--candidate", "c-1"]).is_ok());
        assert!(parse(&["--seed", "3"]).is_ok());
        // `md` is Markdown here as in `cohort`.
        let twice = parse(&["--format", "json,md,json,markdown"]).expect("twice");
        let Command::Run(run) = twice.command else {
            panic!("a run")
        };
        assert_eq!(run.report.formats(), [Format::Json, Format::Markdown]);
        let md = parse(&["--format", "md"]).expect("md");
        let Command::Run(run) = md.command else {
            panic!("a run")
        };
        assert_eq!(run.report.format, [Format::Markdown]);
        for bad in [
            &["--timeout", "0"][..],
            &["--memory", "0"],
            &["--candidate", "c-1"],
            &["--candidate", "c-1", "--seed", "3"],
            &["--hidden"],
            &["--hidden", "--candidate", "c-1", "--seed", "3"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn figures_are_drawn_for_json_or_html_and_hidden_ones_for_assessors_only() {
        use AudienceArg::{Assessor, Candidate};
        use Format::{Html, Json, Junit, Markdown, Terminal};
        let cases: [(&[Format], Option<AudienceArg>, bool, Figures); 9] = [
            (&[Terminal], None, true, Figures::Skip),
            (&[Markdown, Junit], Some(Assessor), true, Figures::Skip),
            (&[Json], None, true, Figures::Draw),
            (&[Json], None, false, Figures::Visible),
            (&[Html], Some(Assessor), false, Figures::Draw),
            (&[Html], Some(Candidate), true, Figures::Visible),
            (&[Markdown, Json], None, true, Figures::Draw),
            (&[Terminal, Html], None, false, Figures::Visible),
            (&[Junit], Some(Candidate), false, Figures::Skip),
        ];
        for (format, audience, hidden, expected) in cases {
            let args = ReportArgs {
                format: format.to_vec(),
                out: None,
                fail_under: None,
                audience,
            };
            assert_eq!(
                args.figures(hidden),
                expected,
                "{format:?} {audience:?} hidden={hidden}"
            );
        }
    }
}
