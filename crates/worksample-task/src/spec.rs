//! Task as data: the `tasks/<id>/` folder (task.toml, brief.md, rubric.toml and published
//! files such as an output JSON Schema), compiled into the binary or loaded from an assessor's
//! edited copy with `--tasks-dir`.
//!
//! Loading is strict: an unknown key in task.toml or rubric.toml is an error that names the file
//! and the key, because a silently ignored typo in a limit or weight changes every grade.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use worksample_rubric::RubricSpec;

use crate::TaskError;

/// A task id, e.g. `series`; equal to its folder name under `tasks/`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(String);

impl TaskId {
    /// A task id; ids are lowercase ASCII letters, digits and `-`.
    pub fn new(id: &str) -> Result<Self, TaskError> {
        let ok = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(TaskError::Usage(format!(
                "`{id}` is not a task id (lowercase letters, digits and `-`)"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `task.toml`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Task id; must equal the folder name.
    pub id: TaskId,
    /// Bumped whenever fixtures or grading change; manifests of another version are refused.
    pub version: u32,
    /// Human title.
    pub title: String,
    /// One line for `worksample list`.
    pub summary: String,
    /// The time a candidate is expected to spend, in minutes.
    pub time_budget_minutes: u32,
    /// Profile used when none is named.
    pub default_profile: String,
    /// Limits for the candidate's command.
    pub limits: LimitsSpec,
    /// Fixture profiles by name, in file order.
    pub profiles: BTreeMap<String, ProfileSpec>,
}

/// Limits for the candidate's command, as task data.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSpec {
    /// Wall-clock limit in seconds.
    pub timeout_s: u64,
    /// Memory limit of the whole process tree in MiB.
    pub memory_mb: u64,
    /// Most processes at once.
    pub max_processes: u64,
    /// Most stdout + stderr bytes, in MiB.
    pub max_output_mb: u64,
    /// Largest file the candidate may write, in MiB.
    pub max_file_mb: u64,
}

/// One fixture profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// What this profile is for.
    pub description: String,
    /// Task-specific parameters; each task parses them strictly.
    #[serde(default)]
    pub params: toml::Table,
}

/// A task's data files as compiled into the binary.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedTask {
    /// `task.toml`.
    pub task_toml: &'static str,
    /// `brief.md`.
    pub brief_md: &'static str,
    /// `rubric.toml`.
    pub rubric_toml: &'static str,
    /// Other published files, e.g. `("output.schema.json", include_str!(…))`.
    pub files: &'static [(&'static str, &'static str)],
}

/// A task's data, loaded and validated.
#[derive(Debug, Clone)]
pub struct TaskData {
    /// task.toml.
    pub spec: TaskSpec,
    /// The candidate-facing brief (Markdown).
    pub brief: String,
    /// The rubric.
    pub rubric: RubricSpec,
    /// Other published files by name.
    pub files: BTreeMap<String, String>,
    /// Where it came from: `built-in` or the folder.
    pub origin: String,
}

/// A resolved profile: its name and parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Profile name.
    pub name: String,
    /// Parameters from task.toml.
    pub params: toml::Table,
    /// Where the parameters came from, for error messages.
    pub origin: String,
}

impl Profile {
    /// Parses the parameters into a task's own strict type; errors name file, profile and key.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, TaskError> {
        T::deserialize(toml::Value::Table(self.params.clone())).map_err(|e| TaskError::Spec {
            origin: format!("{} [profiles.{}.params]", self.origin, self.name),
            message: e.to_string(),
        })
    }

    /// [`Profile::parse`], then the task's own cross-field check; its message becomes a spec
    /// error naming the file and profile like a parse error does.
    pub fn parse_checked<T: serde::de::DeserializeOwned>(
        &self,
        check: impl FnOnce(&T) -> Result<(), String>,
    ) -> Result<T, TaskError> {
        let params: T = self.parse()?;
        check(&params).map_err(|message| TaskError::Spec {
            origin: format!("{} [profiles.{}.params]", self.origin, self.name),
            message,
        })?;
        Ok(params)
    }
}

impl TaskData {
    /// Loads the compiled-in data of a task.
    pub fn from_embedded(id: &str, e: &EmbeddedTask) -> Result<Self, TaskError> {
        let files = e
            .files
            .iter()
            .map(|(name, text)| ((*name).to_owned(), (*text).to_owned()))
            .collect();
        Self::from_parts(
            id,
            &format!("built-in tasks/{id}"),
            e.task_toml,
            e.brief_md.to_owned(),
            e.rubric_toml,
            files,
        )
    }

    /// Loads `dir/<id>/`, taking the published file names from the compiled-in task so that a
    /// copy missing one is an error rather than a silently different task.
    pub fn load_dir(
        tasks_dir: &Path,
        id: &str,
        embedded: &EmbeddedTask,
    ) -> Result<Self, TaskError> {
        let dir = tasks_dir.join(id);
        // Far above any brief or schema; a link to `/dev/zero` or a FIFO in an assessor's copy
        // is an error naming the file, not exhausted memory or a hang.
        const MAX_TASK_FILE_BYTES: u64 = 4 << 20;
        let read = |name: &str| -> Result<String, TaskError> {
            let path: PathBuf = dir.join(name);
            crate::textfile::read_text(&path, MAX_TASK_FILE_BYTES).map_err(|p| TaskError::Spec {
                origin: path.display().to_string(),
                message: p.to_string(),
            })
        };
        let task_toml = read("task.toml")?;
        let rubric_toml = read("rubric.toml")?;
        let brief = read("brief.md")?;
        let mut files = BTreeMap::new();
        for (name, _) in embedded.files {
            files.insert((*name).to_owned(), read(name)?);
        }
        let data = Self::from_parts(
            id,
            &dir.display().to_string(),
            &task_toml,
            brief,
            &rubric_toml,
            files,
        )?;
        let built_in = Self::from_embedded(id, embedded)?;
        same_criteria(id, &data.rubric, &built_in.rubric).map_err(|message| TaskError::Spec {
            origin: dir.join("rubric.toml").display().to_string(),
            message,
        })?;
        Ok(data)
    }

    fn from_parts(
        id: &str,
        origin: &str,
        task_toml: &str,
        brief: String,
        rubric_toml: &str,
        files: BTreeMap<String, String>,
    ) -> Result<Self, TaskError> {
        let task_origin = format!("{origin}/task.toml");
        let spec: TaskSpec = toml::from_str(task_toml).map_err(|e| TaskError::Spec {
            origin: task_origin.clone(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| TaskError::Spec {
            origin: task_origin.clone(),
            message,
        };
        if spec.id.as_str() != id {
            return Err(invalid(format!(
                "`id = \"{}\"` does not match the task `{id}`",
                spec.id
            )));
        }
        if !spec.profiles.contains_key(&spec.default_profile) {
            return Err(invalid(format!(
                "`default_profile = \"{}\"` is not one of [profiles.*]",
                spec.default_profile
            )));
        }
        let l = spec.limits;
        if l.timeout_s == 0 || l.memory_mb == 0 || l.max_processes == 0 {
            return Err(invalid(
                "[limits]: timeout_s, memory_mb and max_processes must be positive".into(),
            ));
        }
        if brief.trim().is_empty() {
            return Err(TaskError::Spec {
                origin: format!("{origin}/brief.md"),
                message: "the brief is empty".into(),
            });
        }
        let rubric =
            RubricSpec::parse(rubric_toml, &format!("{origin}/rubric.toml")).map_err(|e| {
                TaskError::Spec {
                    origin: format!("{origin}/rubric.toml"),
                    message: e.to_string(),
                }
            })?;
        Ok(Self {
            spec,
            brief,
            rubric,
            files,
            origin: origin.to_owned(),
        })
    }

    /// Resolves a profile by name, or the default profile.
    pub fn profile(&self, name: Option<&str>) -> Result<Profile, TaskError> {
        let name = name.unwrap_or(&self.spec.default_profile);
        let p = self.spec.profiles.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.spec.profiles.keys().map(String::as_str).collect();
            TaskError::Usage(format!(
                "task `{}` has no profile `{name}`; it has: {}",
                self.spec.id,
                known.join(", ")
            ))
        })?;
        Ok(Profile {
            name: name.to_owned(),
            params: p.params.clone(),
            origin: format!("{}/task.toml", self.origin),
        })
    }
}

/// An edited rubric may change weights, words, levels and gates, but not what the grader
/// scores: the task's grader scores exactly the built-in rubric's criteria (a renamed or missing
/// one would fail only after the candidate's command had run), and a criterion's category must
/// be one of the built-in's, so a typo cannot silently take it out of a gate's category.
fn same_criteria(task: &str, edited: &RubricSpec, built_in: &RubricSpec) -> Result<(), String> {
    let ids = |r: &RubricSpec| -> Vec<String> {
        let mut ids: Vec<String> = r.criteria.iter().map(|c| c.id.to_string()).collect();
        ids.sort_unstable();
        ids
    };
    let quoted = |items: &[String]| {
        items
            .iter()
            .map(|i| format!("`{i}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (have, want) = (ids(edited), ids(built_in));
    if let Some(extra) = have.iter().find(|id| !want.contains(id)) {
        return Err(format!(
            "criterion `{extra}` is not one the `{task}` grader scores; it scores {}",
            quoted(&want)
        ));
    }
    if let Some(missing) = want.iter().find(|id| !have.contains(id)) {
        return Err(format!(
            "criterion `{missing}` is missing; the `{task}` grader scores it (every criterion \
             needs a positive weight: lower it rather than remove it)"
        ));
    }
    let mut categories: Vec<String> = built_in
        .criteria
        .iter()
        .map(|c| c.category.clone())
        .collect();
    categories.sort_unstable();
    categories.dedup();
    for c in &edited.criteria {
        if !categories.contains(&c.category) {
            return Err(format!(
                "criterion `{}`: category `{}` is not one of this task's: {}",
                c.id,
                c.category,
                quoted(&categories)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TASK: &str = r#"
id = "demo-task"
version = 3
title = "T"
summary = "S"
time_budget_minutes = 60
default_profile = "standard"
[limits]
timeout_s = 60
memory_mb = 512
max_processes = 32
max_output_mb = 16
max_file_mb = 64
[profiles.standard]
description = "d"
params = { files = 10 }
"#;
    const RUBRIC: &str = r#"
[[criterion]]
id = "c"
title = "C"
category = "k"
weight = 1
description = "d"
anchors = { poor = "p", mixed = "m", good = "g", excellent = "e" }
"#;

    fn embedded(task: &'static str) -> EmbeddedTask {
        EmbeddedTask {
            task_toml: task,
            brief_md: "# Brief",
            rubric_toml: RUBRIC,
            files: &[],
        }
    }

    #[test]
    fn loads_and_resolves_profiles() {
        let d = TaskData::from_embedded("demo-task", &embedded(TASK)).expect("valid");
        assert_eq!(d.spec.version, 3);
        let p = d.profile(None).expect("default");
        assert_eq!(p.name, "standard");
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            files: u32,
        }
        assert_eq!(p.parse::<Params>().expect("params").files, 10);
        let err = d.profile(Some("hard")).expect_err("missing");
        assert!(err.to_string().contains("has: standard"), "{err}");
    }

    #[test]
    fn unknown_keys_name_file_and_key() {
        let text: &'static str = Box::leak(TASK.replace("timeout_s", "timout_s").into_boxed_str());
        let err = TaskData::from_embedded("demo-task", &embedded(text)).expect_err("typo");
        let msg = err.to_string();
        assert!(msg.contains("tasks/demo-task/task.toml"), "{msg}");
        assert!(msg.contains("timout_s"), "{msg}");
    }

    #[test]
    fn profile_param_typos_name_the_profile_table() {
        let d = TaskData::from_embedded("demo-task", &embedded(TASK)).expect("valid");
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Params {
            #[expect(dead_code, reason = "only the parse error matters here")]
            filez: u32,
        }
        let err = d
            .profile(None)
            .and_then(|p| p.parse::<Params>())
            .expect_err("typo");
        assert!(
            err.to_string().contains("[profiles.standard.params]"),
            "{err}"
        );
    }

    #[test]
    fn id_mismatch_and_bad_default_are_errors() {
        assert!(TaskData::from_embedded("other", &embedded(TASK)).is_err());
        let text: &'static str = Box::leak(
            TASK.replace("default_profile = \"standard\"", "default_profile = \"x\"")
                .into_boxed_str(),
        );
        assert!(TaskData::from_embedded("demo-task", &embedded(text)).is_err());
        assert!(TaskId::new("Bad Id").is_err());
    }
}
