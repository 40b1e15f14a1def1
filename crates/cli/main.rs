//! The `worksample` command line: parses arguments, resolves settings, runs one verb and maps
//! the result to a documented exit code. It is the only code in the workspace that prints.

#![expect(
    clippy::print_stderr,
    reason = "the CLI is the one place that prints; stdout goes through output::print_stdout"
)]

mod args;
mod commands;
mod env;
mod exit;
mod output;
mod progress;
mod tasks;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    exit::finish(commands::dispatch(cli))
}
