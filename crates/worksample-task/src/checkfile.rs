//! `worksample.toml`: what a candidate's repository declares for `worksample check` — for each
//! task, the command that solves it, an optional setup command, the profile and limits.
//!
//! The file is written by candidates, so it is parsed strictly and with bounds: unknown keys,
//! empty commands, a command that never mentions `{output}`, or limits above the task's own
//! are errors that name the file, the task and the key.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::TaskError;

/// Largest `worksample.toml` read, in bytes.
pub const MAX_CHECKFILE_BYTES: usize = 64 * 1024;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckFile {
    /// One entry per task, run in this order.
    #[serde(rename = "task")]
    pub tasks: Vec<CheckTask>,
}

/// One task to check.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckTask {
    /// Task id, e.g. `series`.
    pub id: String,
    /// The solution's command line, with `{input}` and `{output}`; run without a shell from the
    /// repository's root.
    pub command: Vec<String>,
    /// A command run once before `command`, e.g. to build a Rust solution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<Vec<String>>,
    /// Fixture profile; the task's default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Practice seed; 1 when absent. Ignored for hidden runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Wall-clock limit in seconds; at most the task's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
    /// Memory limit in MiB; at most the task's limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
}

impl CheckFile {
    /// Parses and checks a `worksample.toml`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, TaskError> {
        let invalid = |message: String| TaskError::Spec {
            origin: origin.to_owned(),
            message,
        };
        if text.len() > MAX_CHECKFILE_BYTES {
            return Err(invalid(format!(
                "larger than {MAX_CHECKFILE_BYTES} bytes; this is not a worksample.toml"
            )));
        }
        let file: CheckFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.tasks.is_empty() {
            return Err(invalid("declares no [[task]]".into()));
        }
        let mut seen = BTreeSet::new();
        for (i, t) in file.tasks.iter().enumerate() {
            let at = format!("[[task]] #{} (`{}`)", i + 1, t.id);
            if !seen.insert(t.id.as_str()) {
                return Err(invalid(format!("{at}: the task is listed twice")));
            }
            if let Err(message) = check_command(&t.command) {
                return Err(invalid(format!("{at}: `command` {message}")));
            }
            if let Some(setup) = &t.setup {
                if setup.first().is_none_or(|p| p.trim().is_empty()) {
                    return Err(invalid(format!(
                        "{at}: `setup` is empty; remove it or give a command"
                    )));
                }
            }
            if t.timeout_s == Some(0) || t.memory_mb == Some(0) {
                return Err(invalid(format!("{at}: limits must be positive")));
            }
        }
        Ok(file)
    }
}

/// What is wrong with a solution's command line. Each message completes "`command` …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandProblem {
    /// No program.
    #[error("is empty")]
    Empty,
    /// `{output}` appears nowhere: the solution cannot know where to write. `check` refuses it;
    /// `run` warns, since a no-op command (`-- true`) is how the harness's overhead is timed.
    #[error("never mentions `{{output}}`, so the solution cannot know where to write")]
    NoOutput,
    /// A `{word}` that looks like a misspelt placeholder (`{ouput}` would reach the program as
    /// is, and the solution would write nowhere the harness looks).
    #[error(
        "holds `{{{0}}}`, which is not a placeholder: only `{{input}}` and `{{output}}` are replaced"
    )]
    NotAPlaceholder(String),
    /// `${input}` or `${output}`: the harness replaces the placeholder inside it, so a shell
    /// would see `$/path/to/folder`.
    #[error(
        "holds `${{{0}}}`: the harness replaces `{{{0}}}` inside it, so the shell sees `$` \
         before a folder; write `{{{0}}}` alone, or name the shell variable otherwise"
    )]
    ShellVariable(String),
}

/// Whether `{word}` was meant as a placeholder: within two edits of `input` or `output` in any
/// case (`{ouput}`, `{Input}`, `{inputs}`), or a usual short form. Other braces are the
/// program's own (a Python f-string in `-c`, a shell's `${VAR}` or `{a,b}`) and pass.
fn misspelt_placeholder(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    let near = |p: &str| strsim::levenshtein(&w, p) <= 2;
    let exact = word == "input" || word == "output";
    !exact && (near("input") || near("output"))
        || matches!(
            w.as_str(),
            "in" | "out" | "indir" | "outdir" | "input_dir" | "output_dir"
        )
}

/// Checks a solution's command line as `run` and `check` take it: a program, no misspelt
/// placeholder ([`misspelt_placeholder`]) in an argument without spaces (one with spaces is a
/// script body, whose braces are its own: `awk '{print}'`, `print(f'{out}')`), no `${input}` or
/// `${output}` (other `${VAR}` are a shell's), and `{output}` somewhere.
pub fn check_command(argv: &[String]) -> Result<(), CommandProblem> {
    if argv.first().is_none_or(|p| p.trim().is_empty()) {
        return Err(CommandProblem::Empty);
    }
    for arg in argv {
        let script = arg.chars().any(char::is_whitespace);
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let shell = rest[..open].ends_with('$');
            if let Some(close) = after.find('}') {
                let word = &after[..close];
                if shell && (word == "input" || word == "output") {
                    return Err(CommandProblem::ShellVariable(word.to_owned()));
                }
                if !shell && !script && misspelt_placeholder(word) {
                    return Err(CommandProblem::NotAPlaceholder(word.to_owned()));
                }
            }
            rest = after;
        }
    }
    if !argv.iter().any(|a| a.contains("{output}")) {
        return Err(CommandProblem::NoOutput);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"
[[task]]
id = "series"
command = ["python3", "series/solve.py", "{input}", "{output}"]
setup = ["python3", "-c", "import pydicom"]
profile = "standard"
seed = 4
timeout_s = 120
"#;

    #[test]
    fn commands_need_output_and_only_the_two_placeholders() {
        let argv = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ok: [&[&str]; 7] = [
            &["python3", "solve.py", "{input}", "{output}"],
            &["solve", "--out={output}/x.json"],
            &["sh", "-c", "echo ${HOME} {} {a,b}; run {input} {output}"],
            &[
                "python3",
                "-c",
                "out = 1; print(f'{out} {inp}')",
                "{output}",
            ],
            &["awk", "{print}", "{input}/x", "{output}/y"],
            &["python3", "-c", "print(1)", "{output}"],
            &[
                "python3",
                "-c",
                "x = 1; print(f'{x} {index} {path}')",
                "{output}",
            ],
        ];
        for a in ok {
            assert_eq!(check_command(&argv(a)), Ok(()), "{a:?}");
        }
        let bad: [(&[&str], &str); 8] = [
            (&[], "is empty"),
            (&[" "], "is empty"),
            (&["solve", "{input}"], "never mentions `{output}`"),
            (
                &["solve", "{input}", "{ouput}"],
                "`{ouput}`, which is not a placeholder",
            ),
            (&["solve", "{output}", "--in={Input}"], "`{Input}`"),
            (&["solve", "{inputs}", "{output}"], "`{inputs}`"),
            (&["solve", "{in}", "{output}"], "`{in}`"),
            (&["sh", "-c", "run > ${output}/x"], "holds `${output}`"),
        ];
        for (a, says) in bad {
            let e = check_command(&argv(a)).expect_err(says).to_string();
            assert!(e.contains(says), "{a:?}: {e}");
        }
    }

    #[test]
    fn parses_a_candidate_file() {
        let f = CheckFile::parse(OK, "worksample.toml").expect("valid");
        assert_eq!(f.tasks[0].seed, Some(4));
        assert_eq!(f.tasks[0].command[1], "series/solve.py");
    }

    #[test]
    fn mistakes_name_the_file_task_and_key() {
        let cases = [
            (OK.replace("timeout_s", "timeout"), "timeout"),
            (
                OK.replace(", \"{output}\"", ""),
                "never mentions `{output}`",
            ),
            (
                OK.replace(
                    "command = [\"python3\", \"series/solve.py\", \"{input}\", \"{output}\"]",
                    "command = []",
                ),
                "`command` is empty",
            ),
            (format!("{OK}{OK}"), "listed twice"),
            ("".to_owned(), "task"),
            (OK.replace("timeout_s = 120", "timeout_s = 0"), "positive"),
            (OK.replace("seed = 4", "seed = -4"), "seed"),
            ("x".repeat(MAX_CHECKFILE_BYTES + 1), "larger than"),
        ];
        for (text, expected) in cases {
            let err = CheckFile::parse(&text, "repo/worksample.toml").expect_err(expected);
            let msg = err.to_string();
            assert!(msg.contains("repo/worksample.toml"), "{msg}");
            assert!(msg.contains(expected), "{msg} lacks {expected}");
        }
    }
}
