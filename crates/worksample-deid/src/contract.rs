//! The output contract of tasks/deid/brief.md as constants and predicates, so the grader, the
//! starter and the reference solution read the same numbers the candidate reads: the two map
//! files, the pseudonym format (question 4), the date offset range (question 3) and the
//! burned-in text band (question 7).

use std::ops::{Range, RangeInclusive};

/// The patient map file in the output folder.
pub const PATIENT_MAP: &str = "patients.csv";

/// The UID map file in the output folder.
pub const UID_MAP: &str = "uids.csv";

/// Header line of both map files (MIDI-B's column names, research/deid.md §2.2).
pub const MAP_HEADER: &str = "id_old,id_new";

/// The allowed per-patient date offsets, in days.
pub const OFFSET_DAYS: RangeInclusive<i64> = -3650..=-30;

/// Longest pseudonym: Patient ID is an LO but Patient Name components are kept short; 16 also
/// fits an SH should a candidate reuse it elsewhere (PS3.5 Table 6.2-1).
pub const PSEUDONYM_MAX_LEN: usize = 16;

/// Whether `value` is a well-formed pseudonym: 1 to 16 characters from `A`–`Z`, `0`–`9` and `-`.
pub fn is_pseudonym(value: &str) -> bool {
    (1..=PSEUDONYM_MAX_LEN).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// The rows of the burned-in text band of an image with `rows` rows: the top eighth, rows 0 to
/// ⌈rows / 8⌉ − 1, all columns.
pub fn text_band(rows: u16) -> Range<u16> {
    0..rows.div_ceil(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_follow_the_published_format() {
        for ok in ["DEID-0001", "P1", "ABCDEFGHIJKLMNOP"] {
            assert!(is_pseudonym(ok), "{ok}");
        }
        for bad in [
            "",
            "deid-0001",
            "DEID_0001",
            "ABCDEFGHIJKLMNOPQ",
            "DEID 1",
            "MÜLLER",
        ] {
            assert!(!is_pseudonym(bad), "{bad}");
        }
    }

    #[test]
    fn the_band_is_the_top_eighth_rounded_up() {
        assert_eq!(text_band(64), 0..8);
        assert_eq!(text_band(65), 0..9);
        assert_eq!(text_band(16), 0..2);
        assert_eq!(text_band(0), 0..0);
    }

    #[test]
    fn the_brief_states_these_numbers() {
        let brief = include_str!("../../../tasks/deid/brief.md");
        let flat = brief.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            "−3650 ≤ δ ≤ −30",
            "1 to 16 characters from `A`–`Z`, `0`–`9` and `-`",
            "rows 0 to ⌈Rows / 8⌉ − 1",
            "header `id_old,id_new`",
            "**`patients.csv`**",
            "**`uids.csv`**",
        ] {
            assert!(flat.contains(needle), "brief lacks {needle}");
        }
        assert_eq!((*OFFSET_DAYS.start(), *OFFSET_DAYS.end()), (-3650, -30));
    }
}
