//! Calendar arithmetic for Modified Dates (PS3.15 §E.3.6): reading DA and the date part of DT
//! values (PS3.5 §6.2), shifting them by whole days, and measuring the offset between an
//! original and a de-identified value, so the grader can check one constant offset per patient.
//!
//! Day arithmetic is worksample-dicom's [`Date`] (days since 1970-01-01, proleptic Gregorian);
//! this module adds strict reading of candidate values and the offset bookkeeping.

use worksample_dicom::identity::Date;

/// Whether year-month-day names a day of the proleptic Gregorian calendar with a four-digit
/// year, as a DA value can (PS3.5 Table 6.2-1).
pub fn exists(year: i32, month: u32, day: u32) -> bool {
    (1..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
}

/// Reads a DA value `YYYYMMDD` (PS3.5 Table 6.2-1), ignoring trailing space padding; `None`
/// unless it names a day that exists.
pub fn parse_da(text: &str) -> Option<Date> {
    let text = text.trim_end_matches([' ', '\0']);
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let year = text[0..4].parse().ok()?;
    let month = text[4..6].parse().ok()?;
    let day = text[6..8].parse().ok()?;
    exists(year, month, day).then_some(Date { year, month, day })
}

/// Reads the date part of a DT value `YYYYMMDD[HHMMSS[.F…]][&ZZXX]` (PS3.5 Table 6.2-1); a DT
/// that gives only a year or a month has no day to shift and reads as `None`.
pub fn parse_dt_date(text: &str) -> Option<Date> {
    parse_da(text.get(..8)?)
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Shifts a DA value by `days`, or the date part of a DT value keeping its time and offset
/// suffix unchanged (the task keeps times: tasks/deid/brief.md, question 3). `None` when the
/// value is not a date or the result leaves the four-digit years.
pub fn shift_value(text: &str, days: i64) -> Option<String> {
    let text = text.trim_end_matches([' ', '\0']);
    let date = parse_dt_date(text)?.add_days(days);
    exists(date.year, date.month, date.day).then(|| format!("{}{}", date.to_da(), &text[8..]))
}

/// The offset in days from an original DA/DT value to its de-identified value; `None` when
/// either is not a readable date.
pub fn offset_days(original: &str, deidentified: &str) -> Option<i64> {
    Some(parse_dt_date(deidentified)?.to_days() - parse_dt_date(original)?.to_days())
}

/// The most common offset and how often it occurs; ties go to the offset closest to zero, then
/// the negative one, so the choice does not depend on input order.
pub fn modal_offset(offsets: &[i64]) -> Option<(i64, usize)> {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable();
    let mut best: Option<(i64, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        let candidate = (run[0], run.len());
        best = match best {
            None => Some(candidate),
            Some(b) if candidate.1 > b.1 => Some(candidate),
            Some(b)
                if candidate.1 == b.1 && (candidate.0.abs(), candidate.0) < (b.0.abs(), b.0) =>
            {
                Some(candidate)
            }
            Some(b) => Some(b),
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_da_and_the_date_part_of_dt() {
        assert_eq!(
            parse_da("20190619").map(Date::to_da).as_deref(),
            Some("20190619")
        );
        assert_eq!(
            parse_da("20190619 "),
            Some(Date {
                year: 2019,
                month: 6,
                day: 19
            })
        );
        assert_eq!(
            parse_dt_date("20190619083015.123456+0100"),
            parse_da("20190619")
        );
        for bad in [
            "2019061",
            "2019-06-19",
            "20191319",
            "2019",
            "",
            "2019061a",
            "20190229",
            "19000229",
        ] {
            assert!(parse_dt_date(bad).is_none(), "{bad}");
        }
        assert!(parse_da("20000229").is_some());
        assert!(!exists(2023, 4, 31));
    }

    #[test]
    fn shifts_dates_and_keeps_time_and_offset_suffix() {
        assert_eq!(shift_value("20190301", -1).as_deref(), Some("20190228"));
        assert_eq!(shift_value("20200301", -1).as_deref(), Some("20200229"));
        assert_eq!(
            shift_value("20190619083015.5+0100", -365).as_deref(),
            Some("20180619083015.5+0100")
        );
        assert_eq!(shift_value("00010101", -1), None);
        assert_eq!(offset_days("20190619", "20180619083015"), Some(-365));
        assert_eq!(offset_days("20190619", ""), None);
    }

    #[test]
    fn modal_offset_breaks_ties_deterministically() {
        assert_eq!(modal_offset(&[-40, -40, -35]), Some((-40, 2)));
        assert_eq!(modal_offset(&[-40, 40]), Some((-40, 1)));
        assert_eq!(modal_offset(&[-90, -40, -90, -40]), Some((-40, 2)));
        assert_eq!(modal_offset(&[]), None);
    }
}
