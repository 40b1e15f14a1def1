//! Profile parameters of the `deid` task (`[profiles.*.params]` in tasks/deid/task.toml), parsed
//! strictly: an unknown key or object kind is an error naming it, because a silently ignored
//! typo changes which traps a fixture plants.

use serde::Deserialize;

/// A kind of object the generator plants (issue 4: CT, MR, radiograph, PET, Enhanced MR, SR,
/// KOS, a presentation state or RT structure set that references images).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// CT Image Storage series.
    Ct,
    /// MR Image Storage series, with Siemens safe private diffusion attributes.
    Mr,
    /// Digital X-Ray Image Storage (radiograph).
    Dx,
    /// PET Image Storage (Type 1 Series Date/Time; radiopharmaceutical timing).
    Pet,
    /// Secondary Capture with Burned In Annotation YES and text in the top band.
    ScBurnedIn,
    /// Comprehensive SR with names, dates and text in the content tree.
    Sr,
    /// Key Object Selection referencing images.
    Kos,
    /// Grayscale Softcopy Presentation State referencing a series.
    Gsps,
    /// Enhanced MR Image Storage (Type 1 Device Serial Number).
    EnhancedMr,
    /// RT Structure Set referencing a CT series and its study.
    Rtstruct,
}

/// A character set trap (PS3.5 §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CharsetTrap {
    /// A patient whose name needs ISO_IR 100 (Latin-1).
    Latin1,
    /// A patient whose name has three component groups under ISO 2022 IR 87 (Japanese).
    Iso2022Ir87,
}

/// `[profiles.*.params]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Number of patients (two share a name when `shared_name` is set).
    pub patients: u32,
    /// One patient gets a second study with its own accession number.
    pub second_study: bool,
    /// Two different patients (different IDs) share one name.
    pub shared_name: bool,
    /// Objects planted, each at least once.
    pub objects: Vec<ObjectKind>,
    /// Slices per image series.
    pub slices: u32,
    /// Image rows.
    pub rows: u16,
    /// Image columns.
    pub columns: u16,
    /// Character set traps.
    pub charsets: Vec<CharsetTrap>,
    /// Safe private creators sit in a block other than 0x10 (e.g. (0019,0011)).
    pub relocated_private_blocks: bool,
    /// A private attribute holding an identifier is planted inside a sequence item.
    pub private_in_sequence: bool,
    /// A legacy curve group (50xx) is planted.
    pub curve_data: bool,
    /// One series is written in Implicit VR Little Endian.
    pub implicit_vr_series: bool,
    /// Input folder and file names contain identifiers.
    pub phi_in_paths: bool,
}

impl Params {
    /// Checks what serde cannot. Errors name the key.
    pub fn validate(&self) -> Result<(), String> {
        let least = if self.shared_name { 3 } else { 2 };
        if !(least..=16).contains(&self.patients) {
            return Err(format!(
                "patients = {} must lie in {least}..=16 (two share a name, a third tells them apart)",
                self.patients
            ));
        }
        if self.objects.is_empty() {
            return Err("objects: at least one object kind".into());
        }
        let mut seen = self.objects.clone();
        seen.sort();
        seen.dedup();
        if seen.len() != self.objects.len() {
            return Err("objects: a kind is listed twice".into());
        }
        let needs_images = [ObjectKind::Kos, ObjectKind::Gsps, ObjectKind::Rtstruct];
        if self.objects.iter().any(|o| needs_images.contains(o))
            && !self.objects.contains(&ObjectKind::Ct)
        {
            return Err("objects: kos, gsps and rtstruct reference a CT series; add ct".into());
        }
        // Up to 512 so an assessor (or the benchmark) can grade a set of 1,000+ CT files.
        if !(1..=512).contains(&self.slices) {
            return Err(format!("slices = {} must lie in 1..=512", self.slices));
        }
        for (key, value) in [("rows", self.rows), ("columns", self.columns)] {
            // The burned-in band is the top eighth of the rows; at least 16 rows keep it two
            // glyph rows high, and the pixel fingerprint needs a corner of its own.
            if !(16..=1024).contains(&value) {
                return Err(format!("{key} = {value} must lie in 16..=1024"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: &str = r#"
patients = 3
second_study = true
shared_name = true
objects = ["ct", "kos"]
slices = 4
rows = 64
columns = 64
charsets = ["latin1"]
relocated_private_blocks = false
private_in_sequence = true
curve_data = false
implicit_vr_series = false
phi_in_paths = true
"#;

    fn parse(text: &str) -> Result<Params, String> {
        toml::from_str::<Params>(text).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_and_validates() {
        let p = parse(STANDARD).expect("valid");
        assert_eq!(p.objects, [ObjectKind::Ct, ObjectKind::Kos]);
        p.validate().expect("sane");
    }

    #[test]
    fn unknown_keys_and_kinds_are_named() {
        let err = parse(&format!("{STANDARD}slicez = 3\n")).expect_err("unknown key");
        assert!(err.contains("slicez"), "{err}");
        let err = parse(&STANDARD.replace("\"kos\"", "\"ko\"")).expect_err("unknown kind");
        assert!(err.contains("ko"), "{err}");
    }

    #[test]
    fn validation_names_the_key() {
        let cases = [
            (
                STANDARD.replace("patients = 3", "patients = 2"),
                "patients = 2",
            ),
            (STANDARD.replace("[\"ct\", \"kos\"]", "[\"kos\"]"), "add ct"),
            (
                STANDARD.replace("[\"ct\", \"kos\"]", "[\"ct\", \"ct\"]"),
                "listed twice",
            ),
            (STANDARD.replace("rows = 64", "rows = 8"), "rows = 8"),
            (STANDARD.replace("slices = 4", "slices = 0"), "slices = 0"),
        ];
        for (text, expected) in cases {
            let err = parse(&text)
                .expect("parses")
                .validate()
                .expect_err(expected);
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
    }
}
