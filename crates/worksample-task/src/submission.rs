//! Bounded, confined reading of a candidate's output folder.
//!
//! Everything a submission contains is hostile until proven otherwise: a JSON file can be
//! gigabytes long or nested a million deep, a "file" can be a symlink to `/dev/zero` or to the
//! assessor's home, a path inside JSON can climb out with `..`. Graders read through these
//! functions so each of those becomes a [`Problem`] they can report as a finding, never a panic,
//! a hang or a read outside the folder.

use std::fmt;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Limits for reading one submitted file.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Largest file read, in bytes. By default 32 MiB.
    pub max_bytes: u64,
}

impl Default for Caps {
    fn default() -> Self {
        Self {
            max_bytes: 32 * 1024 * 1024,
        }
    }
}

/// Why a submitted file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// It does not exist.
    Missing {
        /// Path relative to the submission.
        file: String,
    },
    /// It is a symlink, folder, device or other non-regular file.
    NotRegular {
        /// Path relative to the submission.
        file: String,
        /// What it is instead.
        kind: &'static str,
    },
    /// It exceeds the size cap.
    TooLarge {
        /// Path relative to the submission.
        file: String,
        /// The cap in bytes.
        limit: u64,
    },
    /// Reading it failed.
    Unreadable {
        /// Path relative to the submission.
        file: String,
        /// The I/O error.
        message: String,
    },
    /// It is not valid JSON (including nesting deeper than the parser's limit of 128).
    InvalidJson {
        /// Path relative to the submission.
        file: String,
        /// Line, column and what the parser said.
        message: String,
    },
    /// A path given inside the submission is absolute or leaves its root.
    UnsafePath {
        /// The path as written.
        path: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { file } => write!(f, "`{file}` is missing"),
            Problem::NotRegular { file, kind } => {
                write!(
                    f,
                    "`{file}` is a {kind}, not a regular file; it was not read"
                )
            }
            Problem::TooLarge { file, limit } => write!(
                f,
                "`{file}` is larger than the {limit}-byte cap for submitted files (cap hit: max_bytes)"
            ),
            Problem::Unreadable { file, message } => {
                write!(f, "`{file}` cannot be read: {message}")
            }
            Problem::InvalidJson { file, message } => {
                write!(f, "`{file}` is not valid JSON: {message}")
            }
            Problem::UnsafePath { path } => write!(
                f,
                "path `{path}` is absolute or leaves its folder; only relative paths inside it are accepted"
            ),
        }
    }
}

/// Reads `root/name` as bytes, refusing symlinks, non-regular files and files over the cap.
pub fn read_bytes(root: &Path, name: &str, caps: &Caps) -> Result<Vec<u8>, Problem> {
    let rel = safe_relative(name)?;
    let path = root.join(&rel);
    let file = name.to_owned();
    // symlink_metadata: a link is reported as a link, never followed (to /dev/zero, or out).
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Problem::Missing { file });
        }
        Err(e) => {
            return Err(Problem::Unreadable {
                file,
                message: e.to_string(),
            });
        }
    };
    let ft = meta.file_type();
    if !ft.is_file() {
        let kind = if ft.is_symlink() {
            "symbolic link"
        } else if ft.is_dir() {
            "folder"
        } else {
            "special file"
        };
        return Err(Problem::NotRegular { file, kind });
    }
    if meta.len() > caps.max_bytes {
        return Err(Problem::TooLarge {
            file,
            limit: caps.max_bytes,
        });
    }
    let unreadable = |e: std::io::Error| Problem::Unreadable {
        file: name.to_owned(),
        message: e.to_string(),
    };
    let f = std::fs::File::open(&path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    // The file may grow between stat and read; take() keeps the cap honest anyway.
    f.take(caps.max_bytes + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > caps.max_bytes {
        return Err(Problem::TooLarge {
            file: name.to_owned(),
            limit: caps.max_bytes,
        });
    }
    Ok(bytes)
}

/// Most JSON values (containers and scalars) a submitted document may hold; a real output holds
/// well under 200,000.
pub const MAX_JSON_VALUES: usize = 500_000;

/// An upper bound on the number of values in a JSON text, without parsing it: every value is
/// the document itself, an element after a comma, or the first element of a container.
fn json_value_bound(bytes: &[u8]) -> usize {
    let mut count = 1;
    let mut in_string = false;
    let mut escaped = false;
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                (false, _) => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' | b',' => count += 1,
                _ => {}
            }
        }
    }
    count
}

/// The UTF-8 byte-order mark, which JSON forbids writers to add (RFC 8259 §8.1) but Windows
/// tools (PowerShell 5's `Out-File`, Notepad) and Python's `utf-8-sig` write, and pandas' and
/// R's CSV writers can put before a header.
pub const BOM: &[u8] = b"\xef\xbb\xbf";

/// Reads and parses `root/name` as JSON into `T`, within the caps. A leading byte-order mark is
/// skipped rather than refused, as RFC 8259 §8.1 lets a parser do: it says nothing about the
/// content, and a candidate whose editor wrote one should not score zero for it.
pub fn read_json<T: serde::de::DeserializeOwned>(
    root: &Path,
    name: &str,
    caps: &Caps,
) -> Result<T, Problem> {
    let bytes = read_bytes(root, name, caps)?;
    let bytes = bytes.strip_prefix(BOM).unwrap_or(&bytes);
    let values = json_value_bound(bytes);
    if values > MAX_JSON_VALUES {
        // serde_json spends about 300 bytes of heap per value (found by fuzzing: a 3 MiB file of
        // nested one-element arrays took 440 MiB), so the byte cap alone does not bound memory.
        return Err(Problem::InvalidJson {
            file: name.to_owned(),
            message: format!(
                "it holds about {values} values, over the grader's cap of {MAX_JSON_VALUES} values"
            ),
        });
    }
    serde_json::from_slice(bytes).map_err(|e| Problem::InvalidJson {
        file: name.to_owned(),
        message: format!("{e}{}", non_number_hint(bytes, &e)),
    })
}

/// A hint when the parser stopped at `NaN` or `Infinity`: Python's `json.dump` writes them by
/// default, and JSON has no such numbers (RFC 8259 §6).
fn non_number_hint(bytes: &[u8], e: &serde_json::Error) -> &'static str {
    // serde_json counts lines from 1 and columns from 1, in bytes; it reports the column of the
    // byte it stopped at, or the one after it.
    let line_start = bytes
        .split(|b| *b == b'\n')
        .take(e.line().saturating_sub(1))
        .map(|l| l.len() + 1)
        .sum::<usize>();
    let at = line_start + e.column().saturating_sub(1);
    let near = |from: usize| {
        bytes.get(from..).is_some_and(|rest| {
            [&b"NaN"[..], b"Infinity", b"-Infinity"]
                .iter()
                .any(|w| rest.starts_with(w))
        })
    };
    if near(at) || near(at.saturating_sub(1)) {
        " (NaN and Infinity are not JSON, RFC 8259 §6: Python's json writes them unless \
         allow_nan=False; write null or a number)"
    } else {
        ""
    }
}

/// Text a candidate wrote (a value, a line of its stderr), as a report quotes it: at most `max`
/// characters, then `…`, so one huge value cannot swell the report. Cut at a character boundary.
pub fn quoted(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// Checks that a path written by a candidate is relative and stays inside its root, lexically
/// (no `..`, no root, no prefix), and returns it normalised.
pub fn safe_relative(path: &str) -> Result<PathBuf, Problem> {
    let unsafe_path = || Problem::UnsafePath {
        path: path.to_owned(),
    };
    if path.is_empty() || path.contains('\0') {
        return Err(unsafe_path());
    }
    let mut out = PathBuf::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(unsafe_path());
            }
        }
    }
    if out.as_os_str().is_empty() {
        return Err(unsafe_path());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `json.dump` writes NaN and Infinity: the error says so, wherever they stand.
    #[test]
    fn nan_and_infinity_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (text, hinted) in [
            ("{\"a\": NaN}", true),
            ("{\"a\": 1,\n \"b\": [2, Infinity]}", true),
            ("{\"a\": -Infinity}", true),
            ("{\"a\": nope}", false),
        ] {
            std::fs::write(dir.path().join("x.json"), text).expect("write");
            let err = read_json::<serde_json::Value>(dir.path(), "x.json", &Caps::default())
                .expect_err("not JSON");
            assert_eq!(
                err.to_string().contains("NaN and Infinity are not JSON"),
                hinted,
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn hostile_files_become_problems() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        std::fs::write(root.join("ok.json"), br#"{"a": [1, 2]}"#).expect("write");
        std::fs::write(root.join("big.json"), vec![b' '; 2048]).expect("write");
        std::fs::write(root.join("bad.json"), b"{\"a\": ").expect("write");
        std::fs::write(root.join("deep.json"), "[".repeat(100_000)).expect("write");
        std::os::unix::fs::symlink("/dev/zero", root.join("zero.json")).expect("symlink");
        std::os::unix::fs::symlink("/etc/passwd", root.join("out.json")).expect("symlink");
        std::fs::create_dir(root.join("dir.json")).expect("mkdir");
        let caps = Caps { max_bytes: 1024 };

        let v: serde_json::Value = read_json(root, "ok.json", &caps).expect("valid");
        std::fs::write(root.join("bom.json"), b"\xef\xbb\xbf{\"a\": [1, 2]}").expect("write");
        let bom: serde_json::Value = read_json(root, "bom.json", &caps).expect("a BOM is skipped");
        assert_eq!(bom, v);
        // Only one, at the start: JSON text has no other place for it.
        std::fs::write(root.join("bom2.json"), b"\xef\xbb\xbf\xef\xbb\xbf{}").expect("write");
        let twice = read_json::<serde_json::Value>(root, "bom2.json", &caps);
        assert!(
            matches!(twice, Err(Problem::InvalidJson { .. })),
            "{twice:?}"
        );
        assert_eq!(json_value_bound(br#"{"a": [1, 2], "b,[{": "x\\\"["}"#), 5);
        let wide = format!("[{}0]", "[],".repeat(MAX_JSON_VALUES));
        std::fs::write(root.join("wide.json"), wide).expect("write");
        let err = read_json::<serde_json::Value>(root, "wide.json", &Caps::default())
            .expect_err("over the value cap");
        assert!(
            err.to_string()
                .contains("over the grader's cap of 500000 values"),
            "{err}"
        );
        assert_eq!(v["a"][1], 2);
        type Expect = fn(&Problem) -> bool;
        let cases: [(&str, Expect); 7] = [
            ("big.json", |p| {
                matches!(p, Problem::TooLarge { limit: 1024, .. })
            }),
            ("bad.json", |p| matches!(p, Problem::InvalidJson { .. })),
            ("deep.json", |p| {
                matches!(p, Problem::TooLarge { .. } | Problem::InvalidJson { .. })
            }),
            ("zero.json", |p| {
                matches!(
                    p,
                    Problem::NotRegular {
                        kind: "symbolic link",
                        ..
                    }
                )
            }),
            ("out.json", |p| matches!(p, Problem::NotRegular { .. })),
            ("dir.json", |p| {
                matches!(p, Problem::NotRegular { kind: "folder", .. })
            }),
            ("nope.json", |p| matches!(p, Problem::Missing { .. })),
        ];
        for (name, expected) in cases {
            let p = read_json::<serde_json::Value>(root, name, &caps).expect_err(name);
            assert!(expected(&p), "{name}: {p}");
            assert!(p.to_string().contains(name), "{p} names the file");
        }
        let deep = read_json::<serde_json::Value>(root, "deep.json", &Caps::default())
            .expect_err("recursion limit, not a stack overflow");
        assert!(matches!(deep, Problem::InvalidJson { .. }), "{deep}");
    }

    #[test]
    fn candidate_paths_stay_inside() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a/..", ".", "a\0b"] {
            assert!(safe_relative(bad).is_err(), "{bad:?}");
        }
        assert_eq!(safe_relative("./a//b").expect("ok"), PathBuf::from("a/b"));
    }
}
