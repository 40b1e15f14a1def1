//! The set of tasks a binary knows, with their data loaded either from what was compiled in or
//! from an assessor's edited copy (`--tasks-dir`).

use std::path::Path;

use crate::{DynTask, TaskData, TaskError, TaskId};

/// One task and its loaded data.
pub struct LoadedTask {
    /// The implementation.
    pub task: Box<dyn DynTask>,
    /// Its data.
    pub data: TaskData,
}

impl std::fmt::Debug for LoadedTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedTask")
            .field("id", &self.task.id())
            .field("origin", &self.data.origin)
            .finish()
    }
}

/// Every registered task, in registration order.
#[derive(Debug, Default)]
pub struct Registry {
    tasks: Vec<LoadedTask>,
}

impl Registry {
    /// Loads every task's data: compiled in, or from `tasks_dir/<id>/` when given.
    pub fn load(tasks: Vec<Box<dyn DynTask>>, tasks_dir: Option<&Path>) -> Result<Self, TaskError> {
        let tasks = tasks
            .into_iter()
            .map(|task| load_task(task, tasks_dir))
            .collect::<Result<_, _>>()?;
        Ok(Self { tasks })
    }

    /// Loads the data of task `id` alone, for the commands about one task: they parse no other
    /// task's files, and an assessor's `--tasks-dir` needs only the folder of the task at hand
    /// (a mistake in another task's copy does not stop it). An unknown id is the usage error
    /// [`Registry::get`] gives.
    pub fn load_one(
        mut tasks: Vec<Box<dyn DynTask>>,
        tasks_dir: Option<&Path>,
        id: &str,
    ) -> Result<LoadedTask, TaskError> {
        TaskId::new(id)?;
        let Some(at) = tasks.iter().position(|t| t.id() == id) else {
            return Err(unknown(id, tasks.iter().map(|t| t.id())));
        };
        load_task(tasks.swap_remove(at), tasks_dir)
    }

    /// All tasks.
    pub fn tasks(&self) -> &[LoadedTask] {
        &self.tasks
    }

    /// Looks a task up by id; an unknown id is a usage error listing the known ones.
    pub fn get(&self, id: &str) -> Result<&LoadedTask, TaskError> {
        TaskId::new(id)?;
        self.tasks
            .iter()
            .find(|t| t.task.id() == id)
            .ok_or_else(|| unknown(id, self.tasks.iter().map(|t| t.task.id())))
    }
}

/// Reads one task's data: compiled in, or from `tasks_dir/<id>/` when given.
fn load_task(task: Box<dyn DynTask>, tasks_dir: Option<&Path>) -> Result<LoadedTask, TaskError> {
    let id = task.id();
    let embedded = task.embedded();
    let data = match tasks_dir {
        Some(dir) => TaskData::load_dir(dir, id, &embedded)?,
        None => TaskData::from_embedded(id, &embedded)?,
    };
    Ok(LoadedTask { task, data })
}

/// The usage error for a task id this build does not register, listing the ones it does.
fn unknown<'a>(id: &str, known: impl Iterator<Item = &'a str>) -> TaskError {
    let known: Vec<&str> = known.collect();
    TaskError::Usage(if known.is_empty() {
        format!("no task `{id}`: this build registers no tasks")
    } else {
        format!("no task `{id}`; known tasks: {}", known.join(", "))
    })
}
