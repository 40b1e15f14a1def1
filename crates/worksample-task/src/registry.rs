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
        let mut loaded = Vec::with_capacity(tasks.len());
        for task in tasks {
            let id = task.id();
            let embedded = task.embedded();
            let data = match tasks_dir {
                Some(dir) => TaskData::load_dir(dir, id, &embedded)?,
                None => TaskData::from_embedded(id, &embedded)?,
            };
            loaded.push(LoadedTask { task, data });
        }
        Ok(Self { tasks: loaded })
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
            .ok_or_else(|| {
                let known: Vec<&str> = self.tasks.iter().map(|t| t.task.id()).collect();
                TaskError::Usage(if known.is_empty() {
                    format!("no task `{id}`: this build registers no tasks")
                } else {
                    format!("no task `{id}`; known tasks: {}", known.join(", "))
                })
            })
    }
}
