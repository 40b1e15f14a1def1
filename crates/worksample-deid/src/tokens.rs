//! The token rules of Clean Descriptors as the task publishes them (tasks/deid/brief.md,
//! question 8), so "cleaned, not wiped" is graded without argument: a descriptor is split into
//! tokens; a token is identifying when it is a date in one of four forms, a name component of a
//! person in the set, an ID from the set, or the whole value of any other identifier the set
//! plants when that is one token (a station name, a device serial number); a `DR`/`Dr` prefix
//! goes with the name it precedes.
//! A cleaned descriptor scores (non-identifying tokens kept) × (identifying tokens removed),
//! after MIDI-B's `text_retained`/`text_removed` checks (research/deid.md §2.3).

use std::collections::BTreeSet;

use crate::dates;

/// The identifiers a descriptor may contain, as the generator planted them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    names: BTreeSet<String>,
    ids: BTreeSet<String>,
}

impl Vocabulary {
    /// An empty vocabulary.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a person's name components (family, given, middle…), compared case-insensitively.
    pub fn add_name(&mut self, component: &str) {
        self.names.insert(component.to_lowercase());
    }

    /// Adds a Patient ID, other patient ID or accession number, compared case-insensitively.
    pub fn add_id(&mut self, id: &str) {
        self.ids.insert(id.to_lowercase());
    }
}

/// What one token of a descriptor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Clinical content to keep.
    Keep,
    /// An identifier to remove.
    Identifying,
    /// Neither required nor penalised: `for` directly before an identifying token.
    Neutral,
}

/// Splits a descriptor into tokens: runs of letters and digits, except that a date in one of the
/// forms `YYYY-MM-DD`, `DD.MM.YYYY` or `MM/DD/YYYY`, and an ID of the vocabulary (which may hold
/// punctuation, e.g. `MRN-7Q2K9`), stay one token.
pub fn split<'a>(text: &'a str, vocabulary: &Vocabulary) -> Vec<&'a str> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let trimmed = word.trim_matches(|c: char| !c.is_alphanumeric());
        if is_date(trimmed) || vocabulary.ids.contains(&trimmed.to_lowercase()) {
            out.push(trimmed);
            continue;
        }
        out.extend(
            word.split(|c: char| !c.is_alphanumeric())
                .filter(|t| !t.is_empty()),
        );
    }
    out
}

/// Whether a token is a date in a form the brief lists: `YYYYMMDD`, `YYYY-MM-DD`, `DD.MM.YYYY`
/// or `MM/DD/YYYY`, naming a day that exists.
pub fn is_date(token: &str) -> bool {
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let ymd = |y: &str, m: &str, d: &str| match (y.parse(), m.parse(), d.parse()) {
        (Ok(y), Ok(m), Ok(d)) => dates::exists(y, m, d),
        _ => false,
    };
    let parts = |sep: char| -> Option<(&str, &str, &str)> {
        let mut it = token.split(sep);
        let (a, b, c) = (it.next()?, it.next()?, it.next()?);
        (it.next().is_none() && digits(a) && digits(b) && digits(c)).then_some((a, b, c))
    };
    if token.len() == 8 && digits(token) {
        return ymd(&token[..4], &token[4..6], &token[6..]);
    }
    if token.len() != 10 {
        return false;
    }
    match (parts('-'), parts('.'), parts('/')) {
        (Some((y, m, d)), _, _) if y.len() == 4 => ymd(y, m, d),
        (_, Some((d, m, y)), _) if y.len() == 4 => ymd(y, m, d),
        (_, _, Some((m, d, y))) if y.len() == 4 => ymd(y, m, d),
        _ => false,
    }
}

/// Classifies every token of a descriptor.
pub fn classify<'a>(text: &'a str, vocabulary: &Vocabulary) -> Vec<(&'a str, TokenKind)> {
    let tokens = split(text, vocabulary);
    let identifying = |t: &str| {
        let folded = t.to_lowercase();
        is_date(t) || vocabulary.names.contains(&folded) || vocabulary.ids.contains(&folded)
    };
    let mut kinds: Vec<TokenKind> = tokens
        .iter()
        .map(|t| {
            if identifying(t) {
                TokenKind::Identifying
            } else {
                TokenKind::Keep
            }
        })
        .collect();
    for i in 0..tokens.len() {
        let next_identifying = kinds.get(i + 1) == Some(&TokenKind::Identifying);
        let folded = tokens[i].to_lowercase();
        if next_identifying && folded == "dr" {
            kinds[i] = TokenKind::Identifying;
        } else if next_identifying && folded == "for" {
            kinds[i] = TokenKind::Neutral;
        }
    }
    tokens.into_iter().zip(kinds).collect()
}

/// How well one descriptor was cleaned.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DescriptorScore {
    /// Non-identifying tokens of the original still present.
    pub kept: usize,
    /// Non-identifying tokens of the original.
    pub keep_total: usize,
    /// Identifying tokens of the original no longer present.
    pub removed: usize,
    /// Identifying tokens of the original.
    pub remove_total: usize,
}

impl DescriptorScore {
    /// `kept / keep_total × removed / remove_total`, a part counting fully when it has nothing
    /// to check. Deleting the descriptor keeps nothing; copying it removes nothing.
    pub fn score(&self) -> f64 {
        let part = |n: usize, total: usize| {
            if total == 0 {
                1.0
            } else {
                n as f64 / total as f64
            }
        };
        part(self.kept, self.keep_total) * part(self.removed, self.remove_total)
    }
}

/// Scores the de-identified value of a descriptor (`None`: the attribute is absent) against its
/// original. Tokens are compared case-insensitively, each original token needing its own
/// occurrence in the output.
pub fn score(original: &str, cleaned: Option<&str>, vocabulary: &Vocabulary) -> DescriptorScore {
    let mut remaining: Vec<String> = cleaned
        .map(|c| {
            split(c, vocabulary)
                .into_iter()
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let mut result = DescriptorScore {
        kept: 0,
        keep_total: 0,
        removed: 0,
        remove_total: 0,
    };
    let classified = classify(original, vocabulary);
    for (token, kind) in &classified {
        if *kind == TokenKind::Keep {
            result.keep_total += 1;
            let folded = token.to_lowercase();
            if let Some(at) = remaining.iter().position(|r| *r == folded) {
                remaining.swap_remove(at);
                result.kept += 1;
            }
        }
    }
    for (token, kind) in &classified {
        if *kind == TokenKind::Identifying {
            result.remove_total += 1;
            if !remaining.contains(&token.to_lowercase()) {
                result.removed += 1;
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vocabulary() -> Vocabulary {
        let mut v = Vocabulary::new();
        for name in ["Zelda", "Qxvorak", "Iyer"] {
            v.add_name(name);
        }
        v.add_id("MRN-7Q2K9");
        v
    }

    fn kinds(text: &str) -> String {
        classify(text, &vocabulary())
            .iter()
            .map(|(t, k)| match k {
                TokenKind::Keep => (*t).to_owned(),
                TokenKind::Identifying => format!("<{t}>"),
                TokenKind::Neutral => format!("({t})"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn classifies_the_brief_examples() {
        assert_eq!(
            kinds("CT CHEST 2019-06-19 for Zelda Qxvorak"),
            "CT CHEST <2019-06-19> (for) <Zelda> <Qxvorak>"
        );
        assert_eq!(
            kinds("4.6 COLONOSCOPY (ACRIN) DR.IYER for Nicholas"),
            "4 6 COLONOSCOPY ACRIN <DR> <IYER> for Nicholas"
        );
        assert_eq!(
            kinds("P4^P101^S108^I0, Gated, 0.0% 20140321"),
            "P4 P101 S108 I0 Gated 0 0 <20140321>"
        );
        assert_eq!(
            kinds("MRN MRN-7Q2K9, 19.06.2019 06/19/2019"),
            "MRN <MRN-7Q2K9> <19.06.2019> <06/19/2019>"
        );
    }

    #[test]
    fn an_id_with_punctuation_is_one_token() {
        let v = vocabulary();
        let original = "HEAD MRN-7Q2K9";
        assert_eq!(score(original, Some("HEAD"), &v).score(), 1.0);
        // Keeping the ID, even in another case, fails the removal half.
        assert_eq!(score(original, Some("HEAD mrn-7q2k9"), &v).score(), 0.0);
        // Keeping only a fragment of it is not the ID.
        assert_eq!(score(original, Some("HEAD MRN"), &v).score(), 1.0);
    }

    #[test]
    fn dates_must_exist() {
        for ok in [
            "20190619",
            "2019-06-19",
            "19.06.2019",
            "06/19/2019",
            "20200229",
        ] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in [
            "20190231",
            "2019-13-01",
            "19.13.2019",
            "19/06/2019",
            "2019619",
            "ABCDEFGH",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn cleaned_beats_deleted_and_copied() {
        let v = vocabulary();
        let original = "CT CHEST 2019-06-19 for Zelda Qxvorak";
        let s = |cleaned: Option<&str>| score(original, cleaned, &v).score();
        assert_eq!(s(Some("CT CHEST")), 1.0);
        assert_eq!(s(Some("ct chest for")), 1.0);
        assert_eq!(s(None), 0.0);
        assert_eq!(s(Some(original)), 0.0);
        assert_eq!(s(Some("REMOVED")), 0.0);
        // Half the clinical tokens kept, all three identifiers removed.
        assert_eq!(s(Some("CT")), 0.5);
        // Both clinical tokens kept, one of three identifiers left.
        let partial = score(original, Some("CT CHEST Zelda"), &v);
        assert_eq!(
            (partial.kept, partial.removed, partial.remove_total),
            (2, 2, 3)
        );
        assert!((partial.score() - 2.0 / 3.0).abs() < 1e-12);
    }
}
