//! Helpers shared by the benchmark binaries: the file list of a fixture folder.
//!
//! The suite itself is `run.sh`; the binaries are the Rust baselines it times.

use std::path::{Path, PathBuf};

/// Every regular file under `root`, recursively, sorted by path (so runs visit files in the same
/// order).
pub fn files_under(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                out.push(entry.path());
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_files_in_path_order() {
        let dir = std::env::temp_dir().join(format!("ws-bench-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("b/c")).expect("temp dirs");
        for name in ["b/c/2.dcm", "a.dcm", "b/1.dcm"] {
            std::fs::write(dir.join(name), b"x").expect("temp file");
        }
        let found = files_under(&dir).expect("listing");
        std::fs::remove_dir_all(&dir).expect("cleanup");
        let names: Vec<_> = found
            .iter()
            .map(|p| {
                p.strip_prefix(&dir)
                    .expect("under dir")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["a.dcm", "b/1.dcm", "b/c/2.dcm"]);
    }
}
