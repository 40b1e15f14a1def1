//! Reading the process table from `/proc` (proc(5)): one `/proc/<pid>/stat` per process gives
//! its parent, process group, state, CPU ticks, virtual size and RSS. Pure parsing is separated
//! from the directory walk so it can be tested on fixed text.

use std::collections::{HashMap, HashSet};
use std::fs;

/// The fields of `/proc/<pid>/stat` the watchdog needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProcStat {
    pub pid: i32,
    pub state: u8,
    pub ppid: i32,
    pub pgrp: i32,
    /// utime + stime, in clock ticks.
    pub cpu_ticks: u64,
    /// Virtual size in bytes.
    pub vsize: u64,
    /// Resident set in pages.
    pub rss_pages: u64,
}

impl ProcStat {
    pub(crate) fn is_zombie(&self) -> bool {
        self.state == b'Z' || self.state == b'X'
    }
}

/// Parses one `/proc/<pid>/stat` line. The command name (field 2) is in parentheses and may
/// itself contain spaces and parentheses, so fields are counted after the LAST `)`.
pub(crate) fn parse_stat(line: &str) -> Option<ProcStat> {
    let (head, tail) = line.rsplit_once(')')?;
    let pid = head.split_once('(')?.0.trim().parse().ok()?;
    // `fields[0]` is field 3 (state) in proc(5) numbering.
    let fields: Vec<&str> = tail.split_ascii_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    let number = |n: usize| field(n)?.parse::<u64>().ok();
    Some(ProcStat {
        pid,
        state: *field(3)?.as_bytes().first()?,
        ppid: field(4)?.parse().ok()?,
        pgrp: field(5)?.parse().ok()?,
        cpu_ticks: number(14)?.saturating_add(number(15)?),
        vsize: number(23)?,
        rss_pages: number(24)?,
    })
}

/// Every process visible in `/proc` right now. Processes that vanish mid-walk are skipped.
pub(crate) fn snapshot() -> std::io::Result<Vec<ProcStat>> {
    let mut all = Vec::new();
    for entry in fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let Ok(text) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if let Some(stat) = parse_stat(&text) {
            all.push(stat);
        }
    }
    Ok(all)
}

/// Which processes belong to a run: members of the process group `pgid`, descendants of `root`,
/// and (when `adopt` says so) processes re-parented to the harness that are not registered main
/// processes, together with their descendants.
pub(crate) fn tree_members(
    all: &[ProcStat],
    root: i32,
    pgid: i32,
    adopt: impl Fn(&ProcStat) -> bool,
) -> Vec<&ProcStat> {
    let mut children: HashMap<i32, Vec<&ProcStat>> = HashMap::new();
    for stat in all {
        children.entry(stat.ppid).or_default().push(stat);
    }
    let mut seen: HashSet<i32> = HashSet::new();
    let mut stack: Vec<&ProcStat> = all
        .iter()
        .filter(|stat| stat.pid == root || stat.pgrp == pgid || adopt(stat))
        .collect();
    let mut members = Vec::new();
    while let Some(stat) = stack.pop() {
        if !seen.insert(stat.pid) {
            continue;
        }
        members.push(stat);
        if let Some(kids) = children.get(&stat.pid) {
            stack.extend(kids.iter().copied());
        }
    }
    members
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "4242 (we ird) (name)) S 100 4242 4242 0 -1 4194560 120 0 0 0 7 3 0 0 20 0 1 0 \
                        5000 12345678 321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        assert_eq!(
            parse_stat(STAT),
            Some(ProcStat {
                pid: 4242,
                state: b'S',
                ppid: 100,
                pgrp: 4242,
                cpu_ticks: 10,
                vsize: 12_345_678,
                rss_pages: 321,
            })
        );
        assert_eq!(parse_stat("12 (short) S 1"), None);
    }

    fn stat(pid: i32, ppid: i32, pgrp: i32) -> ProcStat {
        ProcStat {
            pid,
            state: b'S',
            ppid,
            pgrp,
            cpu_ticks: 0,
            vsize: 0,
            rss_pages: 0,
        }
    }

    #[test]
    fn tree_includes_group_descendants_and_adopted_orphans() {
        let all = [
            stat(1, 0, 1),
            stat(10, 1, 10),  // the harness
            stat(20, 10, 20), // main child
            stat(21, 20, 20), // background job in the group
            stat(22, 20, 22), // setsid'd child
            stat(23, 22, 22), // its child
            stat(30, 1, 20),  // left the tree but kept the group
            stat(40, 10, 40), // adopted orphan
            stat(41, 40, 40), // its child
            stat(50, 10, 50), // another run's main child
            stat(60, 1, 60),  // unrelated
        ];
        let mut pids: Vec<i32> =
            tree_members(&all, 20, 20, |s| s.ppid == 10 && s.pid != 20 && s.pid != 50)
                .iter()
                .map(|s| s.pid)
                .collect();
        pids.sort_unstable();
        assert_eq!(pids, [20, 21, 22, 23, 30, 40, 41]);
    }

    #[test]
    fn the_live_proc_table_contains_this_process() {
        let me = i32::try_from(std::process::id()).expect("pids fit in i32 on Linux");
        let all = snapshot().expect("procfs is mounted on the test machine");
        assert!(all.iter().any(|s| s.pid == me && s.rss_pages > 0));
    }
}
