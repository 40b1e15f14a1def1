//! Auditing a UID remap (rubric criterion `uid_remap`; research/deid.md §4.4, B1): from the
//! (original, de-identified) value pairs the grader observes at every U attribute of
//! content-matched instances, check that every original UID was replaced through one bijective
//! map by valid UIDs that are not input UIDs (PS3.15 §E.1.1 action U; PS3.5 §9.1 UID syntax).
//!
//! The grader derives the pairs itself; the candidate's `uids.csv` is never trusted for this.

use std::collections::{BTreeMap, BTreeSet};

use worksample_dicom::uid::is_valid;

/// What is wrong with the remap of one original UID.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum UidProblem {
    /// The original value survived.
    Unchanged,
    /// The attribute carrying it was removed or emptied somewhere.
    Removed,
    /// It became different new UIDs in different places.
    Split {
        /// The new UIDs, sorted.
        news: Vec<String>,
    },
    /// Its new UID is also the new UID of other originals.
    Merged {
        /// The new UID.
        new: String,
        /// The other originals, sorted.
        others: Vec<String>,
    },
    /// The new value is not a valid UID.
    Invalid {
        /// The new value.
        new: String,
    },
    /// The new value is another UID of the input.
    ReusesInput {
        /// The new value.
        new: String,
    },
    /// The new value holds the original (`<original>.9`, say): replaced in form only, since
    /// anyone holding the output reads the original back.
    Derived {
        /// The new value.
        new: String,
    },
}

/// The result of an audit: every original UID seen, with its problems (none when remapped
/// correctly).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UidAudit {
    /// Problems by original UID; an original with an empty list was remapped correctly.
    pub by_original: BTreeMap<String, Vec<UidProblem>>,
}

impl UidAudit {
    /// Fraction of original UIDs remapped without any problem; full marks when none were seen.
    pub fn score(&self) -> f64 {
        let total = self.by_original.len();
        if total == 0 {
            return 1.0;
        }
        let good = self.by_original.values().filter(|p| p.is_empty()).count();
        good as f64 / total as f64
    }

    /// The map the output implies: each original whose replacement is unambiguous, with it.
    pub fn derived_map(&self, pairs: &[(String, Option<String>)]) -> BTreeMap<String, String> {
        let mut map = BTreeMap::new();
        for (original, new) in pairs {
            let splits = self.by_original.get(original).is_some_and(|problems| {
                problems
                    .iter()
                    .any(|p| matches!(p, UidProblem::Split { .. }))
            });
            if let (Some(new), false) = (new, splits) {
                map.insert(original.clone(), new.clone());
            }
        }
        map
    }
}

/// Whether the UID `new` holds `original` as a run of whole components (`<original>.9`,
/// `1.<original>`): the original is read back from it. A run that only happens to share digits
/// with a component boundary inside it (`2.25.123` in `2.25.1234…`) is not the original.
pub fn holds(new: &str, original: &str) -> bool {
    new != original
        && new.match_indices(original).any(|(at, _)| {
            let end = at + original.len();
            (at == 0 || new.as_bytes()[at - 1] == b'.')
                && (end == new.len() || new.as_bytes()[end] == b'.')
        })
}

/// Audits observed pairs `(original, de-identified)`; `None` means the attribute was absent or
/// empty in the output. `input_uids` is every UID value of the input set.
pub fn audit(pairs: &[(String, Option<String>)], input_uids: &BTreeSet<String>) -> UidAudit {
    let mut news_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut removed: BTreeSet<&str> = BTreeSet::new();
    for (original, new) in pairs {
        let entry = news_of.entry(original.as_str()).or_default();
        match new {
            Some(new) => {
                entry.insert(new.as_str());
            }
            None => {
                removed.insert(original.as_str());
            }
        }
    }
    let mut originals_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (original, news) in &news_of {
        for new in news {
            if new != original {
                originals_of.entry(new).or_default().insert(original);
            }
        }
    }
    let mut audit = UidAudit::default();
    for (original, news) in &news_of {
        let mut problems = Vec::new();
        if news.contains(original) {
            problems.push(UidProblem::Unchanged);
        }
        if removed.contains(original) {
            problems.push(UidProblem::Removed);
        }
        if news.len() > 1 {
            problems.push(UidProblem::Split {
                news: news.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
        for new in news.iter().filter(|n| *n != original) {
            if !is_valid(new) {
                problems.push(UidProblem::Invalid {
                    new: (*new).to_owned(),
                });
            }
            if input_uids.contains(*new) {
                problems.push(UidProblem::ReusesInput {
                    new: (*new).to_owned(),
                });
            }
            if holds(new, original) {
                problems.push(UidProblem::Derived {
                    new: (*new).to_owned(),
                });
            }
            let others: Vec<String> = originals_of
                .get(new)
                .into_iter()
                .flatten()
                .filter(|o| *o != original)
                .map(|o| (*o).to_owned())
                .collect();
            if !others.is_empty() {
                problems.push(UidProblem::Merged {
                    new: (*new).to_owned(),
                    others,
                });
            }
        }
        audit.by_original.insert((*original).to_owned(), problems);
    }
    audit
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, Option<&str>)]) -> Vec<(String, Option<String>)> {
        list.iter()
            .map(|(o, n)| ((*o).to_owned(), n.map(str::to_owned)))
            .collect()
    }

    fn inputs() -> BTreeSet<String> {
        ["1.2.3", "1.2.4", "1.2.5", "1.2.6", "1.2.7"]
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_consistent_bijection_scores_full() {
        let p = pairs(&[
            ("1.2.3", Some("2.25.10")),
            ("1.2.3", Some("2.25.10")),
            ("1.2.4", Some("2.25.11")),
        ]);
        let a = audit(&p, &inputs());
        assert_eq!(a.score(), 1.0);
        assert_eq!(
            a.derived_map(&p).get("1.2.4").map(String::as_str),
            Some("2.25.11")
        );
    }

    #[test]
    fn every_kind_of_problem_is_named_once_per_original() {
        let p = pairs(&[
            ("1.2.3", Some("1.2.3")),
            ("1.2.4", Some("2.25.20")),
            ("1.2.4", Some("2.25.21")),
            ("1.2.5", Some("2.25.30")),
            ("1.2.6", Some("2.25.30")),
            ("1.2.7", Some("1.2.03")),
            ("1.2.8", Some("1.2.5")),
            ("1.2.9", None),
            ("1.2.10", Some("2.25.40")),
            ("1.2.11", Some("1.2.11.9")),
            // Shares digits with its original but not whole components: a fresh UID.
            ("1.2.12", Some("1.2.123")),
        ]);
        let a = audit(&p, &inputs());
        let listed: Vec<String> = a
            .by_original
            .iter()
            .map(|(o, problems)| format!("{o}: {problems:?}"))
            .collect();
        insta::assert_snapshot!(listed.join("\n"), @r#"
        1.2.10: []
        1.2.11: [Derived { new: "1.2.11.9" }]
        1.2.12: []
        1.2.3: [Unchanged]
        1.2.4: [Split { news: ["2.25.20", "2.25.21"] }]
        1.2.5: [Merged { new: "2.25.30", others: ["1.2.6"] }]
        1.2.6: [Merged { new: "2.25.30", others: ["1.2.5"] }]
        1.2.7: [Invalid { new: "1.2.03" }]
        1.2.8: [ReusesInput { new: "1.2.5" }]
        1.2.9: [Removed]
        "#);
        assert!((a.score() - 2.0 / 10.0).abs() < 1e-12);
        assert!(holds("9.1.2.3", "1.2.3") && holds("1.2.3.4", "1.2.3"));
        assert!(!holds("1.2.34", "1.2.3") && !holds("1.2.3", "1.2.3"));
        assert!(!a.derived_map(&p).contains_key("1.2.4"));
        assert_eq!(audit(&[], &inputs()).score(), 1.0);
    }
}
