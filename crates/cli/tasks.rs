//! The tasks this binary registers. Adding a task crate means adding one line here.

use worksample_task::DynTask;

/// Every task, in the order `list` shows them.
pub(crate) fn all() -> Vec<Box<dyn DynTask>> {
    vec![
        Box::new(worksample_deid::DeidTask),
        Box::new(worksample_series::SeriesTask),
        Box::new(worksample_shift::ShiftTask),
    ]
}
