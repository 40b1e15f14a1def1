//! Seeds: public practice seeds, and hidden per-candidate seeds derived from the assessor's
//! secret, which reports and manifests only ever carry as a commitment.
//!
//! Hidden seed = first 8 bytes of HMAC-SHA256(secret, "worksample/seed/v1" | task | version |
//! profile | candidate). The commitment is HMAC-SHA256(secret, "worksample/commit/v1" | seed)
//! in hex: an assessor holding the secret can check which seed a report was graded on, while a
//! candidate holding the report learns nothing about it (Advent of Code and PrairieLearn give
//! per-user inputs the same way; research/harness.md §6.6).

use std::fmt;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{TaskError, TaskId};

/// The seed fixtures are generated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Seed(pub u64);

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A candidate id as the assessor writes it, e.g. `cand-0042`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CandidateId(String);

impl CandidateId {
    /// A candidate id: 1–64 ASCII letters, digits, `-`, `_` or `.` (it ends up in file names).
    pub fn new(id: &str) -> Result<Self, TaskError> {
        let ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !id.starts_with('.');
        if ok {
            Ok(Self(id.to_owned()))
        } else {
            Err(TaskError::Usage(format!(
                "`{id}` is not a candidate id: use 1–64 letters, digits, `-`, `_` or `.`"
            )))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CandidateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The assessor's secret. Its `Debug` never shows the value.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 16;

    /// A secret from the environment's value; `None` (unset) or a short value is an error.
    pub fn from_env_value(value: Option<&str>) -> Result<Self, TaskError> {
        match value {
            Some(v) if v.len() >= Self::MIN_LEN => Ok(Self(v.as_bytes().to_vec())),
            Some(_) | None => Err(TaskError::MissingSecret),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC accepts keys of any length");
        for p in parts {
            // Length-prefix each part so that ("ab","c") and ("a","bc") differ.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Where a run's seed comes from.
#[derive(Debug, Clone)]
pub enum SeedSource {
    /// A practice seed, printed everywhere.
    Public(Seed),
    /// A seed derived from the secret for one candidate; never printed.
    Hidden {
        /// The candidate.
        candidate: CandidateId,
        /// The assessor's secret.
        secret: Secret,
    },
}

/// A seed resolved for one task, version and profile.
#[derive(Debug, Clone)]
pub struct ResolvedSeed {
    /// The seed to generate from. Never written anywhere for hidden runs.
    pub seed: Seed,
    /// What reports and manifests carry.
    pub public: PublicSeed,
}

/// The part of a seed that may be written down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum PublicSeed {
    /// A practice seed.
    Public {
        /// The seed.
        value: u64,
    },
    /// A hidden seed: its commitment and the candidate it belongs to.
    Hidden {
        /// Hex HMAC-SHA256 commitment to the seed.
        commitment: String,
        /// The candidate.
        candidate: CandidateId,
    },
}

impl PublicSeed {
    /// The candidate of a hidden seed; `None` for a practice seed.
    pub fn candidate(&self) -> Option<&CandidateId> {
        match self {
            PublicSeed::Hidden { candidate, .. } => Some(candidate),
            PublicSeed::Public { .. } => None,
        }
    }
}

impl SeedSource {
    /// The candidate of a hidden seed; `None` for a practice seed.
    pub fn candidate(&self) -> Option<&CandidateId> {
        match self {
            SeedSource::Hidden { candidate, .. } => Some(candidate),
            SeedSource::Public(_) => None,
        }
    }

    /// Resolves the seed for one task version and profile.
    pub fn resolve(&self, task: &TaskId, version: u32, profile: &str) -> ResolvedSeed {
        match self {
            SeedSource::Public(seed) => ResolvedSeed {
                seed: *seed,
                public: PublicSeed::Public { value: seed.0 },
            },
            SeedSource::Hidden { candidate, secret } => {
                let digest = secret.mac(&[
                    b"worksample/seed/v1",
                    task.as_str().as_bytes(),
                    &version.to_be_bytes(),
                    profile.as_bytes(),
                    candidate.as_str().as_bytes(),
                ]);
                let mut first = [0u8; 8];
                first.copy_from_slice(&digest[..8]);
                let seed = Seed(u64::from_be_bytes(first));
                ResolvedSeed {
                    seed,
                    public: PublicSeed::Hidden {
                        commitment: commitment(secret, seed),
                        candidate: candidate.clone(),
                    },
                }
            }
        }
    }
}

/// The commitment to a hidden seed.
pub fn commitment(secret: &Secret, seed: Seed) -> String {
    hex::encode(secret.mac(&[b"worksample/commit/v1", &seed.0.to_be_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> Secret {
        Secret::from_env_value(Some(s)).expect("long enough")
    }

    #[test]
    fn hidden_seeds_depend_on_every_input_and_hide_the_seed() {
        let task = TaskId::new("series").expect("id");
        let s = secret("correct horse battery staple");
        let hidden = |cand: &str, secret: &Secret, version: u32, profile: &str| {
            SeedSource::Hidden {
                candidate: CandidateId::new(cand).expect("id"),
                secret: secret.clone(),
            }
            .resolve(&task, version, profile)
        };
        let base = hidden("cand-a", &s, 1, "standard");
        let variants = [
            hidden("cand-b", &s, 1, "standard"),
            hidden(
                "cand-a",
                &secret("another secret of enough length"),
                1,
                "standard",
            ),
            hidden("cand-a", &s, 2, "standard"),
            hidden("cand-a", &s, 1, "hard"),
        ];
        for v in &variants {
            assert_ne!(v.seed, base.seed);
        }
        assert_eq!(
            hidden("cand-a", &s, 1, "standard").seed,
            base.seed,
            "stable"
        );
        let PublicSeed::Hidden { commitment: c, .. } = &base.public else {
            panic!("hidden runs publish a commitment");
        };
        assert!(!c.contains(&base.seed.0.to_string()));
        assert_eq!(c, &commitment(&s, base.seed));
        assert_eq!(c.len(), 64);
    }

    #[test]
    fn missing_or_short_secret_is_a_clear_error() {
        for v in [None, Some("short")] {
            let err = Secret::from_env_value(v).expect_err("rejected");
            assert!(err.to_string().contains("WORKSAMPLE_SECRET"));
        }
        assert_eq!(format!("{:?}", secret("0123456789abcdef")), "Secret(..)");
    }

    #[test]
    fn candidate_ids_cannot_escape_a_folder() {
        for bad in ["", "../x", "a/b", ".hidden", &"x".repeat(65)] {
            assert!(CandidateId::new(bad).is_err(), "{bad}");
        }
        assert!(CandidateId::new("cand-0042_b.v2").is_ok());
    }
}
