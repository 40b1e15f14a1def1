//! UIDs under the 2.25 root (PS3.5 §B.2): `2.25.` + the decimal of a 128-bit hash.
//!
//! A UID is a pure function of (seed, role, index), so regenerating a fixture gives the same UIDs
//! and two roles never collide.

use sha2::{Digest, Sha256};

/// Implementation Class UID (0002,0012) written into every file meta group we produce
/// (PS3.7 §D.3.3.2; PS3.10 §7.1). Pinned: it is the 2.25 form of the first 128 bits of
/// SHA-256("worksample implementation class uid").
pub const IMPLEMENTATION_CLASS_UID: &str = "2.25.228386432707748161681112224084081493964";

/// Implementation Version Name (0002,0013): "WORKSAMPLE_" + crate version. PS3.10 §7.1 caps it at
/// 16 characters (an SH value), checked by a unit test.
pub const IMPLEMENTATION_VERSION_NAME: &str = concat!("WORKSAMPLE_", env!("CARGO_PKG_VERSION"));

/// The UID for the `index`-th object playing `role` (e.g. "study", "series", "sop") under `seed`.
pub fn derive(seed: u64, role: &str, index: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"worksample-uid\0");
    hasher.update(seed.to_le_bytes());
    hasher.update((role.len() as u64).to_le_bytes());
    hasher.update(role.as_bytes());
    hasher.update(index.to_le_bytes());
    let digest = hasher.finalize();
    let mut high = [0u8; 16];
    high.copy_from_slice(&digest[..16]);
    // u128's decimal rendering never has leading zeros, as PS3.5 §9.1 requires of UID components.
    format!("2.25.{}", u128::from_be_bytes(high))
}

/// True when `uid` is a syntactically valid UID (PS3.5 §9.1): at most 64 characters, digits and
/// dots, no empty component, no leading zero in a multi-digit component.
pub fn is_valid(uid: &str) -> bool {
    uid.len() <= 64
        && !uid.is_empty()
        && uid.split('.').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| b.is_ascii_digit())
                && !(part.len() > 1 && part.starts_with('0'))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_uids_are_valid_distinct_and_stable() {
        let a = derive(1, "study", 0);
        assert!(a.starts_with("2.25."));
        assert!(is_valid(&a));
        assert_eq!(a, derive(1, "study", 0));
        assert_ne!(a, derive(2, "study", 0));
        assert_ne!(a, derive(1, "series", 0));
        assert_ne!(a, derive(1, "study", 1));
    }

    #[test]
    fn pinned_constants_are_valid() {
        assert!(is_valid(IMPLEMENTATION_CLASS_UID));
        assert!(IMPLEMENTATION_VERSION_NAME.len() <= 16);
        assert!(IMPLEMENTATION_VERSION_NAME.starts_with("WORKSAMPLE_"));
    }

    #[test]
    fn invalid_uids_are_rejected() {
        assert!(!is_valid("1.02.3"));
        assert!(!is_valid("1..3"));
        assert!(!is_valid("1.2.a"));
        assert!(!is_valid(&format!("1.{}", "2".repeat(70))));
    }
}
