//! What to run and under which limits: [`RunSpec`], [`Limits`], [`EnvPolicy`], and the pure
//! helpers that turn a spec into a concrete command line and child environment (placeholder
//! substitution, the environment filter, resolving `argv[0]` against the allowed `PATH`).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Placeholder replaced by the absolute input directory anywhere inside an argv element.
pub const INPUT_PLACEHOLDER: &str = "{input}";
/// Placeholder replaced by the absolute output directory anywhere inside an argv element.
pub const OUTPUT_PLACEHOLDER: &str = "{output}";
/// Environment names with this prefix never reach the candidate, even if allow-listed: the
/// hidden-seed secret lives there.
pub const SECRET_ENV_PREFIX: &str = "WORKSAMPLE_";

/// One candidate command to run. Build it with [`RunSpec::new`] and the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSpec {
    /// The command line; `argv[0]` is the program. `{input}` and `{output}` anywhere inside any
    /// element are replaced by the absolute directories. No shell is involved.
    pub argv: Vec<String>,
    /// Directory the candidate reads. It must exist; the runner makes it read-only (best effort).
    pub input: PathBuf,
    /// Directory the candidate writes. Created (empty) by the runner if missing.
    pub output: PathBuf,
    /// Working directory of the candidate. By default, a fresh temporary directory that is removed
    /// after the run.
    pub workdir: Option<PathBuf>,
    /// Directory the command starts in. By default, the workdir. Candidates' solutions live in
    /// their own repository and name files relative to it (`python3 solve.py`), while `HOME`
    /// and `TMPDIR` stay in the private workdir.
    pub cwd: Option<PathBuf>,
    /// Resource limits. By default, [`Limits::default`].
    pub limits: Limits,
    /// Which environment variables the candidate sees. By default, [`EnvPolicy::default`].
    pub env: EnvPolicy,
}

impl RunSpec {
    /// A spec with default limits, the default environment policy and a temporary workdir.
    pub fn new(
        argv: impl IntoIterator<Item = impl Into<String>>,
        input: impl Into<PathBuf>,
        output: impl Into<PathBuf>,
    ) -> Self {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            input: input.into(),
            output: output.into(),
            workdir: None,
            cwd: None,
            limits: Limits::default(),
            env: EnvPolicy::default(),
        }
    }

    /// Runs the candidate in `workdir` (created if missing, kept afterwards).
    #[must_use]
    pub fn with_workdir(mut self, workdir: impl Into<PathBuf>) -> Self {
        self.workdir = Some(workdir.into());
        self
    }

    /// Starts the command in `dir` instead of the workdir.
    #[must_use]
    pub fn with_cwd(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Replaces the environment policy.
    #[must_use]
    pub fn with_env(mut self, env: EnvPolicy) -> Self {
        self.env = env;
        self
    }
}

/// Resource limits of one run. Memory and process limits apply to the whole process tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock budget. By default, 300 s.
    pub wall: Duration,
    /// Time between SIGTERM and SIGKILL when the wall budget is spent. By default, 2 s.
    pub grace: Duration,
    /// Peak summed RSS of the process tree. By default, 2 GiB. `RLIMIT_AS` is set to four times
    /// this as a backstop for allocations faster than the watchdog polls.
    pub memory_bytes: Option<u64>,
    /// Live members of the process tree. By default, 256. Enforced by counting, because
    /// `RLIMIT_NPROC` is per user and root ignores it.
    pub max_processes: Option<u64>,
    /// Largest file the candidate may write (`RLIMIT_FSIZE`). By default, 1 GiB.
    pub max_file_bytes: Option<u64>,
    /// Bytes kept per stream (the tail). By default, 64 KiB.
    pub capture_bytes: usize,
    /// Total stdout+stderr bytes after which the run is killed. By default, 256 MiB.
    pub max_output_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            wall: Duration::from_secs(300),
            grace: Duration::from_secs(2),
            memory_bytes: Some(2 << 30),
            max_processes: Some(256),
            max_file_bytes: Some(1 << 30),
            capture_bytes: 64 << 10,
            max_output_bytes: 256 << 20,
        }
    }
}

/// Which environment variables reach the candidate. The child environment starts empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPolicy {
    /// Names copied from the harness environment when present.
    pub allow: Vec<String>,
    /// Variables set explicitly; they win over allow-listed ones.
    pub set: Vec<(String, String)>,
}

impl Default for EnvPolicy {
    fn default() -> Self {
        Self {
            allow: [
                "PATH",
                "LANG",
                "LC_ALL",
                "LC_CTYPE",
                "TZ",
                "VIRTUAL_ENV",
                "PYTHONDONTWRITEBYTECODE",
            ]
            .map(String::from)
            .to_vec(),
            set: Vec::new(),
        }
    }
}

/// Whether a variable name may reach the candidate at all.
pub(crate) fn is_passable(name: &str) -> bool {
    !name.starts_with(SECRET_ENV_PREFIX)
}

/// The child's complete environment: allow-listed harness variables, then `set`, then `HOME`
/// and `TMPDIR` pointing into the workdir. `lookup` reads the harness environment (a parameter so
/// that tests need not mutate the process environment). `WORKSAMPLE_*` is dropped everywhere.
pub(crate) fn child_env(
    policy: &EnvPolicy,
    lookup: impl Fn(&str) -> Option<OsString>,
    home: &Path,
    tmp: &Path,
) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = Vec::new();
    let mut put = |name: &str, value: OsString| {
        if !is_passable(name) || name == "HOME" || name == "TMPDIR" {
            return;
        }
        env.retain(|(existing, _)| existing != name);
        env.push((name.into(), value));
    };
    for name in &policy.allow {
        if let Some(value) = lookup(name) {
            put(name, value);
        }
    }
    for (name, value) in &policy.set {
        put(name, value.into());
    }
    env.push(("HOME".into(), home.into()));
    env.push(("TMPDIR".into(), tmp.into()));
    env
}

/// Replaces `{input}` and `{output}` inside every element. Works on `OsString` so that
/// non-UTF-8 directory names survive unchanged.
pub(crate) fn substitute(argv: &[String], input: &Path, output: &Path) -> Vec<OsString> {
    argv.iter()
        .map(|element| {
            let mut out = OsString::new();
            let mut rest = element.as_str();
            loop {
                let next = [
                    (rest.find(INPUT_PLACEHOLDER), INPUT_PLACEHOLDER, input),
                    (rest.find(OUTPUT_PLACEHOLDER), OUTPUT_PLACEHOLDER, output),
                ]
                .into_iter()
                .filter_map(|(at, token, dir)| at.map(|at| (at, token, dir)))
                .min_by_key(|(at, _, _)| *at);
                match next {
                    Some((at, token, dir)) => {
                        out.push(&rest[..at]);
                        out.push(dir);
                        rest = &rest[at + token.len()..];
                    }
                    None => {
                        out.push(rest);
                        break out;
                    }
                }
            }
        })
        .collect()
}

/// Finds the program to execute, so that "not found" is a clear [`crate::RunStatus::SpawnFailed`]
/// instead of an opaque errno. A name with a `/` is taken relative to `start_dir`, the folder the
/// command starts in, as a shell there would take it (std leaves relative paths with
/// `current_dir` platform-specific); a bare name is looked up in the `PATH` the candidate will
/// see, relative entries from `start_dir` too, as `execvp` would after the `chdir`.
pub(crate) fn resolve_program(
    program: &OsStr,
    child_path: Option<&OsStr>,
    start_dir: &Path,
) -> Result<PathBuf, String> {
    let shown = Path::new(program).display();
    if program.is_empty() {
        return Err("the command is empty".to_owned());
    }
    if program.as_encoded_bytes().contains(&b'/') {
        let path = start_dir.join(program);
        return if is_executable_file(&path) {
            Ok(path)
        } else if path.exists() {
            Err(format!("program `{shown}` is not an executable file"))
        } else {
            Err(format!("program `{shown}` does not exist"))
        };
    }
    let Some(search) = child_path else {
        return Err(format!(
            "program `{shown}` not found: no PATH is passed to the candidate"
        ));
    };
    std::env::split_paths(search)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| start_dir.join(dir).join(program))
        .find(|candidate| is_executable_file(candidate))
        .ok_or_else(|| format!("program `{shown}` not found on PATH"))
}

fn is_executable_file(path: &Path) -> bool {
    let Ok(meta) = path.metadata() else {
        return false;
    };
    if !meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<OsString> {
        match name {
            "PATH" => Some("/usr/bin:/bin".into()),
            "LANG" => Some("C.UTF-8".into()),
            "WORKSAMPLE_SECRET" => Some("hidden-seed".into()),
            "HOME" => Some("/root".into()),
            _ => None,
        }
    }

    fn names(env: &[(OsString, OsString)]) -> Vec<String> {
        env.iter()
            .map(|(name, value)| format!("{}={}", name.display(), value.display()))
            .collect()
    }

    #[test]
    fn worksample_variables_are_dropped_even_when_allowed_or_set() {
        let policy = EnvPolicy {
            allow: vec!["PATH".into(), "WORKSAMPLE_SECRET".into(), "HOME".into()],
            set: vec![
                ("WORKSAMPLE_SEED".into(), "7".into()),
                ("TMPDIR".into(), "/tmp".into()),
                ("MODE".into(), "fast".into()),
            ],
        };
        let env = child_env(&policy, lookup, Path::new("/w/home"), Path::new("/w/tmp"));
        assert_eq!(
            names(&env),
            [
                "PATH=/usr/bin:/bin",
                "MODE=fast",
                "HOME=/w/home",
                "TMPDIR=/w/tmp"
            ]
        );
    }

    #[test]
    fn default_policy_passes_only_present_allowed_names() {
        let env = child_env(
            &EnvPolicy::default(),
            lookup,
            Path::new("/w/home"),
            Path::new("/w/tmp"),
        );
        assert_eq!(
            names(&env),
            [
                "PATH=/usr/bin:/bin",
                "LANG=C.UTF-8",
                "HOME=/w/home",
                "TMPDIR=/w/tmp"
            ]
        );
    }

    #[test]
    fn set_overrides_an_allowed_value() {
        let policy = EnvPolicy {
            allow: vec!["LANG".into()],
            set: vec![("LANG".into(), "de_DE.UTF-8".into())],
        };
        let env = child_env(&policy, lookup, Path::new("/h"), Path::new("/t"));
        assert_eq!(names(&env), ["LANG=de_DE.UTF-8", "HOME=/h", "TMPDIR=/t"]);
    }

    #[test]
    fn placeholders_are_substituted_inside_elements() {
        let argv = [
            "tool".to_owned(),
            "--in={input}".to_owned(),
            "{output}/result.json".to_owned(),
            "{input}:{output}:{input}".to_owned(),
            "{inp}".to_owned(),
        ];
        let got = substitute(&argv, Path::new("/data/in"), Path::new("/data/out"));
        assert_eq!(
            got,
            [
                "tool",
                "--in=/data/in",
                "/data/out/result.json",
                "/data/in:/data/out:/data/in",
                "{inp}"
            ]
            .map(OsString::from)
        );
    }

    #[test]
    fn bare_names_resolve_against_the_child_path_only() {
        let found = resolve_program(
            OsStr::new("sh"),
            Some(OsStr::new("/nonexistent:/bin")),
            Path::new("/"),
        );
        assert_eq!(found, Ok(PathBuf::from("/bin/sh")));
        assert_eq!(
            resolve_program(OsStr::new("sh"), None, Path::new("/")),
            Err("program `sh` not found: no PATH is passed to the candidate".to_owned())
        );
        assert_eq!(
            resolve_program(
                OsStr::new("nosuch-program-xyz"),
                Some(OsStr::new("/bin")),
                Path::new("/")
            ),
            Err("program `nosuch-program-xyz` not found on PATH".to_owned())
        );
    }

    #[test]
    fn paths_with_a_slash_are_relative_to_the_start_folder() {
        assert_eq!(
            resolve_program(OsStr::new("bin/sh"), None, Path::new("/")),
            Ok(PathBuf::from("/bin/sh"))
        );
        assert_eq!(
            resolve_program(OsStr::new("./etc/hostname-nope"), None, Path::new("/")),
            Err("program `./etc/hostname-nope` does not exist".to_owned())
        );
        assert_eq!(
            resolve_program(OsStr::new("/etc"), None, Path::new("/")),
            Err("program `/etc` is not an executable file".to_owned())
        );
    }

    #[test]
    fn limit_defaults_match_the_documented_values() {
        let limits = Limits::default();
        assert_eq!(limits.wall, Duration::from_secs(300));
        assert_eq!(limits.grace, Duration::from_secs(2));
        assert_eq!(limits.memory_bytes, Some(2 * 1024 * 1024 * 1024));
        assert_eq!(limits.max_processes, Some(256));
        assert_eq!(limits.max_file_bytes, Some(1024 * 1024 * 1024));
        assert_eq!(limits.capture_bytes, 64 * 1024);
        assert_eq!(limits.max_output_bytes, 256 * 1024 * 1024);
    }
}
