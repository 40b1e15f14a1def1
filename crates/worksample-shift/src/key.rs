//! The answer key of one fixture folder: every case with its label and stratum, the planted
//! causes with the cases they affect and the evidence values a correct diagnosis measures, the
//! decoy and tiny strata, and the reference ("oracle") configuration. In memory only.

use std::collections::{BTreeMap, BTreeSet};

use crate::config::Config;
use crate::model::Prediction;

/// The closed vocabulary of root causes (research shift.md §3.2). The generator plants the
/// ones listed in [`Cause::PLANTABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Cause {
    /// Rescale Slope/Intercept ignored (P0 step 3).
    RescaleIgnored,
    /// Pixel Representation ignored (P0 step 1).
    PixelRepresentationIgnored,
    /// Pixel Padding Value not masked.
    PaddingNotMasked,
    /// The header window used as preprocessing (P0 step 5).
    HeaderWindowUsed,
    /// Pixel Spacing ignored (P0 step 10).
    PixelSpacingIgnored,
    /// A sharp reconstruction kernel's noise.
    KernelNoise,
    /// Thick-slice partial volume lowering lesion contrast.
    SliceThicknessPv,
    /// Burned-in annotation at lesion-band values outside the body.
    BurnedInAnnotation,
    /// Non-HU (derived) input scored as CT numbers.
    NonHuInput,
    /// MONOCHROME1 ignored.
    Monochrome1Ignored,
}

impl Cause {
    /// Every id of the vocabulary, in brief order.
    pub const ALL: [Cause; 10] = [
        Cause::RescaleIgnored,
        Cause::PixelRepresentationIgnored,
        Cause::PaddingNotMasked,
        Cause::HeaderWindowUsed,
        Cause::PixelSpacingIgnored,
        Cause::KernelNoise,
        Cause::SliceThicknessPv,
        Cause::BurnedInAnnotation,
        Cause::NonHuInput,
        Cause::Monochrome1Ignored,
    ];

    /// The causes this generator version can plant.
    pub const PLANTABLE: [Cause; 7] = [
        Cause::RescaleIgnored,
        Cause::HeaderWindowUsed,
        Cause::PixelSpacingIgnored,
        Cause::KernelNoise,
        Cause::SliceThicknessPv,
        Cause::BurnedInAnnotation,
        Cause::Monochrome1Ignored,
    ];

    /// The id as written in reports, e.g. `RESCALE_IGNORED`.
    pub fn id(self) -> &'static str {
        match self {
            Cause::RescaleIgnored => "RESCALE_IGNORED",
            Cause::PixelRepresentationIgnored => "PIXEL_REPRESENTATION_IGNORED",
            Cause::PaddingNotMasked => "PADDING_NOT_MASKED",
            Cause::HeaderWindowUsed => "HEADER_WINDOW_USED",
            Cause::PixelSpacingIgnored => "PIXEL_SPACING_IGNORED",
            Cause::KernelNoise => "KERNEL_NOISE",
            Cause::SliceThicknessPv => "SLICE_THICKNESS_PV",
            Cause::BurnedInAnnotation => "BURNED_IN_ANNOTATION",
            Cause::NonHuInput => "NON_HU_INPUT",
            Cause::Monochrome1Ignored => "MONOCHROME1_IGNORED",
        }
    }

    /// Parses an id (exact).
    pub fn parse(id: &str) -> Option<Cause> {
        Cause::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Causes that a stratum planted with this one shows as well, by the brief's own
    /// definitions, and whose fix is part of this one's: a claim of them on its stratum is
    /// neither credited nor charged, and their tags are this cause's too. A MONOCHROME1
    /// stratum's modality values are mirrored for display (V = 100 − HU, PS3.3 C.7.6.3.1.2),
    /// which takes a Rescale Intercept other than P0's fixed −1024, so P0's HU there also
    /// differs from what the header's Modality LUT gives (the brief's "true HU"), and its
    /// reference fix reads the header's rescale as well as inverting.
    pub fn also_shows(self) -> &'static [Cause] {
        match self {
            Cause::Monochrome1Ignored => &[Cause::RescaleIgnored],
            Cause::RescaleIgnored
            | Cause::PixelRepresentationIgnored
            | Cause::PaddingNotMasked
            | Cause::HeaderWindowUsed
            | Cause::PixelSpacingIgnored
            | Cause::KernelNoise
            | Cause::SliceThicknessPv
            | Cause::BurnedInAnnotation
            | Cause::NonHuInput => &[],
        }
    }

    /// The attribute tags whose values show the cause; evidence naming one of them counts.
    pub fn primary_tags(self) -> &'static [&'static str] {
        match self {
            Cause::RescaleIgnored => &["(0028,1052)", "(0028,1053)", "(0028,1054)"],
            Cause::PixelRepresentationIgnored => &["(0028,0103)", "(0028,0101)"],
            Cause::PaddingNotMasked => &["(0028,0120)", "(0028,0121)"],
            Cause::HeaderWindowUsed => &["(0028,1050)", "(0028,1051)"],
            Cause::PixelSpacingIgnored => &["(0028,0030)", "(0018,1100)"],
            Cause::KernelNoise => &["(0018,1210)"],
            Cause::SliceThicknessPv => &["(0018,0050)"],
            Cause::BurnedInAnnotation => &["(0028,0301)"],
            Cause::NonHuInput => &["(0028,1054)", "(0008,0008)"],
            Cause::Monochrome1Ignored => &["(0028,0004)"],
        }
    }
}

/// Which part of the fixtures a case is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Split {
    /// Development: labels and P0 outputs given.
    Dev,
    /// Test: labels hidden.
    Test,
}

/// What a stratum (a unit of generation: one station × protocol × software) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Site A, where P0's assumptions hold: the comparison stratum.
    Reference,
    /// A stratum carrying a planted cause.
    Planted(Cause),
    /// A stratum whose header differences do not hurt P0.
    Decoy,
    /// A stratum too small to judge (fewer than 10 positives or negatives).
    Tiny,
}

/// One generated stratum.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// What it is for.
    pub role: Role,
    /// Attribute values that identify it (each unit differs from every other in at least one).
    pub selector: BTreeMap<String, String>,
    /// Header differences from the reference, in words, for debrief cards.
    pub differences: Vec<String>,
}

/// One case (one slice, one file).
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// SOP Instance UID.
    pub uid: String,
    /// Path relative to the fixtures, e.g. `dev/3f2a….dcm`.
    pub file: String,
    /// Dev or test.
    pub split: Split,
    /// Whether a reportable lesion is present.
    pub label: bool,
    /// Index into [`Key::units`].
    pub unit: usize,
    /// P0's output.
    pub p0: Prediction,
    /// The reference configuration's output.
    pub oracle: Prediction,
    /// Grouping attributes by keyword, as the header carries them.
    pub attributes: BTreeMap<String, String>,
}

/// A planted cause: which cases it affects and what a correct measurement finds.
#[derive(Debug, Clone, PartialEq)]
pub struct Planted {
    /// The cause.
    pub cause: Cause,
    /// Index into [`Key::units`].
    pub unit: usize,
    /// Expected quantitative evidence, by name: (value, absolute tolerance).
    pub evidence: BTreeMap<String, (f64, f64)>,
}

/// The answer key.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// Every case, dev then test, in file order.
    pub cases: Vec<Case>,
    /// The strata.
    pub units: Vec<Unit>,
    /// The planted causes.
    pub planted: Vec<Planted>,
    /// The corrected configuration the harness considers the reference fix.
    pub oracle: Config,
    /// How many draws were rejected by the self-checks before this one.
    pub redraws: u32,
}

impl Key {
    /// UIDs of the cases of unit `u` (both splits).
    pub fn unit_cases(&self, u: usize) -> BTreeSet<&str> {
        self.cases
            .iter()
            .filter(|c| c.unit == u)
            .map(|c| c.uid.as_str())
            .collect()
    }

    /// Cases of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &Case> {
        self.cases.iter().filter(move |c| c.split == split)
    }
}
