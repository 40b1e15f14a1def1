//! The PS3.15 Basic Application Level Confidentiality Profile as data: Table E.1-1 (revision
//! 2024b) compiled into the binary, its option columns (PS3.15 §E.3), the CID 7050 codes of the
//! profile and its options (PS3.16), and the resolution of a tag's action under a set of options
//! and the attribute's Type in its IOD.
//!
//! The table is `tasks/deid/ps3.15-table-e1-1-2024b.csv`, a flattening of the standard's own
//! table (one row per attribute: tag, name, basic action, "in standard composite IOD" flag and
//! the ten option columns). It is parsed once, on first use. Four rows are patterns rather than
//! tags — curve data (50xx,xxxx), overlay data (60xx,3000), overlay comments (60xx,4000) and
//! private attributes (odd groups) — and match by rule (PS3.5 §7.6 repeating groups, §7.8
//! private groups).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;

use dicom_core::Tag;

/// Table E.1-1 as a CSV file: the standard's table (PS3.15 2024b), flattened by the innolitics
/// dicom-standard extraction and copied into the task folder unchanged.
pub const TABLE_CSV: &str = include_str!("../../../tasks/deid/ps3.15-table-e1-1-2024b.csv");

/// The revision of PS3.15 the table comes from.
pub const TABLE_REVISION: &str = "2024b";

/// CID 7050 code of the Basic Application Confidentiality Profile itself (PS3.16).
pub const BASIC_PROFILE_CODE: &str = "113100";

/// Coding scheme designator of the CID 7050 codes: DICOM's own (PS3.16 §8).
pub const CODING_SCHEME: &str = "DCM";

static STANDARD: LazyLock<Table> = LazyLock::new(|| {
    Table::parse(TABLE_CSV).expect("the compiled-in Table E.1-1 parses; a unit test checks it")
});

/// Why a table text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// A quoted field never ends.
    #[error("confidentiality table: unterminated quoted field starting on line {line}")]
    Unterminated {
        /// 1-based line of the opening quote.
        line: usize,
    },
    /// The header lacks a column we need.
    #[error("confidentiality table: header has no `{column}` column")]
    MissingColumn {
        /// The column name.
        column: &'static str,
    },
    /// A row has a value we do not understand.
    #[error("confidentiality table: record {record}, field `{field}`: cannot read `{value}`")]
    BadValue {
        /// 1-based record number (the header is record 0).
        record: usize,
        /// The column.
        field: &'static str,
        /// The text found.
        value: String,
    },
    /// Two rows claim the same tag or pattern.
    #[error("confidentiality table: record {record}: `{tag}` appears twice")]
    Duplicate {
        /// 1-based record number.
        record: usize,
        /// The tag or pattern.
        tag: String,
    },
}

/// The basic-profile action of a row, spelled as the table spells it (PS3.15 §E.1.1 Table
/// E.1-1 legend).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BasicAction {
    /// `D`: replace with a non-zero length dummy value consistent with the VR.
    D,
    /// `Z`: replace with a zero length value, or a dummy value consistent with the VR.
    Z,
    /// `X`: remove.
    X,
    /// `U`: replace with a non-zero length UID, consistent within the set of instances.
    U,
    /// `Z/D`: Z unless D is required to keep the IOD conformant (Type 2 vs Type 1).
    ZD,
    /// `X/Z`: X unless Z is required (Type 3 vs Type 2).
    XZ,
    /// `X/D`: X unless D is required (Type 3 vs Type 1).
    XD,
    /// `X/Z/D`: X unless Z or D is required (Type 3 vs 2 vs 1).
    XZD,
    /// `X/Z/U*`: X unless Z, or replacing the contained instance UIDs, is required (sequences
    /// of UID references; Type 3 vs 2 vs 1).
    XZU,
}

impl BasicAction {
    /// Every action, in legend order.
    pub const ALL: [BasicAction; 9] = [
        BasicAction::D,
        BasicAction::Z,
        BasicAction::X,
        BasicAction::U,
        BasicAction::ZD,
        BasicAction::XZ,
        BasicAction::XD,
        BasicAction::XZD,
        BasicAction::XZU,
    ];

    /// The action as the table writes it, e.g. `X/Z/U*`.
    pub fn as_str(self) -> &'static str {
        match self {
            BasicAction::D => "D",
            BasicAction::Z => "Z",
            BasicAction::X => "X",
            BasicAction::U => "U",
            BasicAction::ZD => "Z/D",
            BasicAction::XZ => "X/Z",
            BasicAction::XD => "X/D",
            BasicAction::XZD => "X/Z/D",
            BasicAction::XZU => "X/Z/U*",
        }
    }

    /// Reads the table's spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == text)
    }

    /// Resolves the action for an attribute of the given Type in the instance's IOD (PS3.15
    /// §E.1.1 legend). When the Type is unknown the strictest reading that still keeps the IOD
    /// valid is taken: the replacing branch (D or U) over Z, Z over X.
    pub fn resolve(self, ty: AttributeType) -> Action {
        match (self, ty) {
            (BasicAction::D, _) => Action::Dummy,
            (BasicAction::Z, _) => Action::Empty,
            (BasicAction::X, _) => Action::Remove,
            (BasicAction::U, _) => Action::ReplaceUid,
            (BasicAction::ZD, AttributeType::Type1 | AttributeType::Unknown) => Action::Dummy,
            (BasicAction::ZD, AttributeType::Type2 | AttributeType::Type3) => Action::Empty,
            (BasicAction::XZ, AttributeType::Type1 | AttributeType::Type2) => Action::Empty,
            (BasicAction::XZ, AttributeType::Unknown) => Action::Empty,
            (BasicAction::XZ, AttributeType::Type3) => Action::Remove,
            (BasicAction::XD, AttributeType::Type1 | AttributeType::Unknown) => Action::Dummy,
            // X/D offers no Z: on a Type 2 attribute X would break the IOD, so D it is.
            (BasicAction::XD, AttributeType::Type2) => Action::Dummy,
            (BasicAction::XD, AttributeType::Type3) => Action::Remove,
            (BasicAction::XZD, AttributeType::Type1 | AttributeType::Unknown) => Action::Dummy,
            (BasicAction::XZD, AttributeType::Type2) => Action::Empty,
            (BasicAction::XZD, AttributeType::Type3) => Action::Remove,
            (BasicAction::XZU, AttributeType::Type1 | AttributeType::Unknown) => Action::ReplaceUid,
            (BasicAction::XZU, AttributeType::Type2) => Action::Empty,
            (BasicAction::XZU, AttributeType::Type3) => Action::Remove,
        }
    }
}

impl fmt::Display for BasicAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an option column says about a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptionAction {
    /// `K`: keep (for a sequence: keep, and process its items).
    K,
    /// `C`: clean: replace with values of similar meaning that identify no one.
    C,
}

/// The options of PS3.15 §E.3 with their CID 7050 codes (PS3.16).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProfileOption {
    /// Clean Pixel Data Option (§E.3.1), 113101.
    CleanPixelData,
    /// Clean Recognizable Visual Features Option (§E.3.2), 113102.
    CleanRecognizableVisualFeatures,
    /// Clean Graphics Option (§E.3.3), 113103.
    CleanGraphics,
    /// Clean Structured Content Option (§E.3.4), 113104.
    CleanStructuredContent,
    /// Clean Descriptors Option (§E.3.5), 113105.
    CleanDescriptors,
    /// Retain Longitudinal Temporal Information Full Dates Option (§E.3.6), 113106.
    RetainLongitudinalFullDates,
    /// Retain Longitudinal Temporal Information Modified Dates Option (§E.3.6), 113107.
    RetainLongitudinalModifiedDates,
    /// Retain Patient Characteristics Option (§E.3.7), 113108.
    RetainPatientCharacteristics,
    /// Retain Device Identity Option (§E.3.8), 113109.
    RetainDeviceIdentity,
    /// Retain UIDs Option (§E.3.9), 113110.
    RetainUids,
    /// Retain Safe Private Option (§E.3.10), 113111.
    RetainSafePrivate,
    /// Retain Institution Identity Option (§E.3.11), 113112.
    RetainInstitutionIdentity,
}

impl ProfileOption {
    /// Every option, in code order.
    pub const ALL: [ProfileOption; 12] = [
        ProfileOption::CleanPixelData,
        ProfileOption::CleanRecognizableVisualFeatures,
        ProfileOption::CleanGraphics,
        ProfileOption::CleanStructuredContent,
        ProfileOption::CleanDescriptors,
        ProfileOption::RetainLongitudinalFullDates,
        ProfileOption::RetainLongitudinalModifiedDates,
        ProfileOption::RetainPatientCharacteristics,
        ProfileOption::RetainDeviceIdentity,
        ProfileOption::RetainUids,
        ProfileOption::RetainSafePrivate,
        ProfileOption::RetainInstitutionIdentity,
    ];

    /// The CID 7050 code value, e.g. `113107`.
    pub fn code(self) -> &'static str {
        match self {
            ProfileOption::CleanPixelData => "113101",
            ProfileOption::CleanRecognizableVisualFeatures => "113102",
            ProfileOption::CleanGraphics => "113103",
            ProfileOption::CleanStructuredContent => "113104",
            ProfileOption::CleanDescriptors => "113105",
            ProfileOption::RetainLongitudinalFullDates => "113106",
            ProfileOption::RetainLongitudinalModifiedDates => "113107",
            ProfileOption::RetainPatientCharacteristics => "113108",
            ProfileOption::RetainDeviceIdentity => "113109",
            ProfileOption::RetainUids => "113110",
            ProfileOption::RetainSafePrivate => "113111",
            ProfileOption::RetainInstitutionIdentity => "113112",
        }
    }

    /// The CID 7050 code meaning.
    pub fn meaning(self) -> &'static str {
        match self {
            ProfileOption::CleanPixelData => "Clean Pixel Data Option",
            ProfileOption::CleanRecognizableVisualFeatures => {
                "Clean Recognizable Visual Features Option"
            }
            ProfileOption::CleanGraphics => "Clean Graphics Option",
            ProfileOption::CleanStructuredContent => "Clean Structured Content Option",
            ProfileOption::CleanDescriptors => "Clean Descriptors Option",
            ProfileOption::RetainLongitudinalFullDates => {
                "Retain Longitudinal Temporal Information Full Dates Option"
            }
            ProfileOption::RetainLongitudinalModifiedDates => {
                "Retain Longitudinal Temporal Information Modified Dates Option"
            }
            ProfileOption::RetainPatientCharacteristics => "Retain Patient Characteristics Option",
            ProfileOption::RetainDeviceIdentity => "Retain Device Identity Option",
            ProfileOption::RetainUids => "Retain UIDs Option",
            ProfileOption::RetainSafePrivate => "Retain Safe Private Option",
            ProfileOption::RetainInstitutionIdentity => "Retain Institution Identity Option",
        }
    }

    /// The table column of an attribute-level option; pixel options have none.
    fn column(self) -> Option<&'static str> {
        match self {
            ProfileOption::CleanPixelData | ProfileOption::CleanRecognizableVisualFeatures => None,
            ProfileOption::CleanGraphics => Some("cleanGraphOpt"),
            ProfileOption::CleanStructuredContent => Some("cleanStructContOpt"),
            ProfileOption::CleanDescriptors => Some("cleanDescOpt"),
            ProfileOption::RetainLongitudinalFullDates => Some("rtnLongFullDatesOpt"),
            ProfileOption::RetainLongitudinalModifiedDates => Some("rtnLongModifDatesOpt"),
            ProfileOption::RetainPatientCharacteristics => Some("rtnPatCharsOpt"),
            ProfileOption::RetainDeviceIdentity => Some("rtnDevIdOpt"),
            ProfileOption::RetainUids => Some("rtnUIDsOpt"),
            ProfileOption::RetainSafePrivate => Some("rtnSafePrivOpt"),
            ProfileOption::RetainInstitutionIdentity => Some("rtnInstIdOpt"),
        }
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A set of options applied together with the basic profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Options(u16);

impl Options {
    /// The basic profile alone.
    pub const NONE: Options = Options(0);

    /// The options the `deid` task demands (tasks/deid/brief.md): Modified Dates, Patient
    /// Characteristics, Clean Descriptors, Safe Private and Clean Pixel Data.
    pub fn task() -> Self {
        Options::NONE
            .with(ProfileOption::RetainLongitudinalModifiedDates)
            .with(ProfileOption::RetainPatientCharacteristics)
            .with(ProfileOption::CleanDescriptors)
            .with(ProfileOption::RetainSafePrivate)
            .with(ProfileOption::CleanPixelData)
    }

    /// This set plus `option`.
    #[must_use]
    pub fn with(self, option: ProfileOption) -> Self {
        Options(self.0 | option.bit())
    }

    /// This set without `option`.
    #[must_use]
    pub fn without(self, option: ProfileOption) -> Self {
        Options(self.0 & !option.bit())
    }

    /// Whether `option` is in the set.
    pub fn contains(self, option: ProfileOption) -> bool {
        self.0 & option.bit() != 0
    }

    /// The options in the set, in code order.
    pub fn iter(self) -> impl Iterator<Item = ProfileOption> {
        ProfileOption::ALL
            .into_iter()
            .filter(move |o| self.contains(*o))
    }

    /// The CID 7050 codes a De-identification Method Code Sequence (0012,0064) lists for this
    /// set: 113100, then each option's code in code order.
    pub fn codes(self) -> Vec<&'static str> {
        std::iter::once(BASIC_PROFILE_CODE)
            .chain(self.iter().map(ProfileOption::code))
            .collect()
    }
}

/// Which tags a row covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TagPattern {
    /// One tag.
    Exact(Tag),
    /// `(50XX,XXXX)`: every element of the curve repeating groups 5000–501E (PS3.5 §7.6,
    /// retired curve module).
    Curve,
    /// `(60XX,eeee)`: element `eeee` of the overlay repeating groups 6000–601E (PS3.5 §7.6).
    Overlay(u16),
    /// `(GGGG,EEEE) WHERE GGGG IS ODD`: every private attribute (PS3.5 §7.8).
    Private,
}

impl TagPattern {
    /// Whether `tag` falls under the pattern.
    pub fn matches(self, tag: Tag) -> bool {
        match self {
            TagPattern::Exact(t) => t == tag,
            TagPattern::Curve => is_repeating_group(tag.group(), 0x5000),
            TagPattern::Overlay(element) => {
                is_repeating_group(tag.group(), 0x6000) && tag.element() == element
            }
            TagPattern::Private => tag.group() % 2 == 1,
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "(50XX,XXXX)" => return Some(TagPattern::Curve),
            "(GGGG,EEEE) WHERE GGGG IS ODD" => return Some(TagPattern::Private),
            _ => {}
        }
        let inner = text.strip_prefix('(')?.strip_suffix(')')?;
        let (group, element) = inner.split_once(',')?;
        let element = parse_hex4(element)?;
        if group == "60XX" {
            return Some(TagPattern::Overlay(element));
        }
        Some(TagPattern::Exact(Tag(parse_hex4(group)?, element)))
    }
}

impl fmt::Display for TagPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TagPattern::Exact(t) => write!(f, "({:04X},{:04X})", t.group(), t.element()),
            TagPattern::Curve => f.write_str("(50XX,XXXX)"),
            TagPattern::Overlay(e) => write!(f, "(60XX,{e:04X})"),
            TagPattern::Private => f.write_str("(GGGG,EEEE) WHERE GGGG IS ODD"),
        }
    }
}

/// Whether `group` is one of the 16 even repeating groups `base`..=`base + 0x1E` (PS3.5 §7.6).
pub fn is_repeating_group(group: u16, base: u16) -> bool {
    (base..=base + 0x1E).contains(&group) && group & 1 == 0
}

fn parse_hex4(text: &str) -> Option<u16> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        u16::from_str_radix(text, 16).ok()
    } else {
        None
    }
}

/// Number of option columns in the table.
const OPTION_COLUMNS: usize = 10;

/// The attribute-level options, in the order [`Row`] stores their column values.
const COLUMN_OPTIONS: [ProfileOption; OPTION_COLUMNS] = [
    ProfileOption::CleanGraphics,
    ProfileOption::CleanStructuredContent,
    ProfileOption::CleanDescriptors,
    ProfileOption::RetainLongitudinalFullDates,
    ProfileOption::RetainLongitudinalModifiedDates,
    ProfileOption::RetainPatientCharacteristics,
    ProfileOption::RetainDeviceIdentity,
    ProfileOption::RetainUids,
    ProfileOption::RetainSafePrivate,
    ProfileOption::RetainInstitutionIdentity,
];

/// One row of Table E.1-1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The tag or pattern.
    pub pattern: TagPattern,
    /// Attribute name as the table writes it (whitespace collapsed).
    pub name: String,
    /// The basic-profile action.
    pub basic: BasicAction,
    /// Whether the attribute occurs in a standard composite IOD (the table's "In Std. Comp.
    /// IOD" column).
    pub in_std_iod: bool,
    options: [Option<OptionAction>; OPTION_COLUMNS],
}

impl Row {
    /// What `option`'s column says about this row (`None` for the pixel options and blanks).
    pub fn option(&self, option: ProfileOption) -> Option<OptionAction> {
        let index = COLUMN_OPTIONS.iter().position(|o| *o == option)?;
        self.options[index]
    }

    /// The row's action once `options` are applied. When two applied options disagree, `K`
    /// wins over `C`: an option that retains an attribute is a decision to keep it (in the
    /// 2024b table this only happens between Retain Device Identity or Full Dates and Modified
    /// Dates, which cannot be applied together).
    pub fn effective(&self, options: &Options) -> Effective {
        let mut result = Effective::Basic(self.basic);
        for option in options.iter() {
            match self.option(option) {
                Some(OptionAction::K) => return Effective::Keep,
                Some(OptionAction::C) => result = Effective::Clean,
                None => {}
            }
        }
        result
    }
}

/// A row's action after options, before the IOD Type is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effective {
    /// No applied option overrides the row: its basic action.
    Basic(BasicAction),
    /// An option retains the attribute (`K`).
    Keep,
    /// An option cleans the attribute (`C`).
    Clean,
}

impl Effective {
    /// The concrete action for an attribute of Type `ty` in the instance's IOD.
    pub fn resolve(self, ty: AttributeType) -> Action {
        match self {
            Effective::Basic(basic) => basic.resolve(ty),
            Effective::Keep => Action::Keep,
            Effective::Clean => Action::Clean,
        }
    }
}

/// The Type of an attribute in the instance's IOD (PS3.5 §7.4); 1C and 2C count as 1 and 2
/// when their condition holds (tasks/deid/brief.md, compound actions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttributeType {
    /// Required, non-empty.
    Type1,
    /// Required, may be empty.
    Type2,
    /// Optional.
    Type3,
    /// Not known (attribute outside the curated IOD map): resolved strictly.
    Unknown,
}

/// A concrete de-identification action on one attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Remove the attribute.
    Remove,
    /// Keep it present with an empty value (a dummy value is also allowed by `Z`).
    Empty,
    /// Replace with a non-empty dummy value valid for the VR. On a sequence: keep the items and
    /// apply the table inside them (tasks/deid/brief.md, question 2).
    Dummy,
    /// Replace the UID(s) through the set-wide map. On a sequence: replace the UIDs inside.
    ReplaceUid,
    /// Keep unchanged. On a sequence: keep, and apply the table inside its items.
    Keep,
    /// Replace with a value of similar meaning that identifies no one; for dates under
    /// Modified Dates, shift by the patient's offset; for private attributes under Retain Safe
    /// Private, keep only the safe ones.
    Clean,
}

/// Table E.1-1 with indexes for lookup.
#[derive(Debug, Clone)]
pub struct Table {
    rows: Vec<Row>,
    exact: BTreeMap<Tag, usize>,
    patterns: Vec<usize>,
}

impl Table {
    /// The compiled-in table (PS3.15 2024b), parsed on first use.
    pub fn standard() -> &'static Table {
        &STANDARD
    }

    /// Parses a table in the CSV layout of [`TABLE_CSV`].
    pub fn parse(text: &str) -> Result<Self, ProfileError> {
        let records = parse_csv(text)?;
        let mut records = records.into_iter();
        let header = records.next().unwrap_or_default();
        let column = |name: &'static str| {
            header
                .iter()
                .position(|h| h == name)
                .ok_or(ProfileError::MissingColumn { column: name })
        };
        let (tag_col, name_col, basic_col, iod_col) = (
            column("tag")?,
            column("name")?,
            column("basicProfile")?,
            column("stdCompIOD")?,
        );
        let mut option_cols = [0usize; OPTION_COLUMNS];
        for (slot, option) in option_cols.iter_mut().zip(COLUMN_OPTIONS) {
            *slot = column(option.column().expect("column options have columns"))?;
        }
        let mut table = Table {
            rows: Vec::new(),
            exact: BTreeMap::new(),
            patterns: Vec::new(),
        };
        for (index, record) in records.enumerate() {
            let number = index + 1;
            if record.iter().all(String::is_empty) {
                continue;
            }
            let field = |col: usize| record.get(col).map(String::as_str).unwrap_or("");
            let bad = |name: &'static str, value: &str| ProfileError::BadValue {
                record: number,
                field: name,
                value: value.to_owned(),
            };
            let pattern =
                TagPattern::parse(field(tag_col)).ok_or_else(|| bad("tag", field(tag_col)))?;
            let basic = BasicAction::parse(field(basic_col))
                .ok_or_else(|| bad("basicProfile", field(basic_col)))?;
            let in_std_iod = match field(iod_col) {
                "Y" => true,
                "N" => false,
                other => return Err(bad("stdCompIOD", other)),
            };
            let mut options = [None; OPTION_COLUMNS];
            for ((slot, col), option) in options.iter_mut().zip(option_cols).zip(COLUMN_OPTIONS) {
                *slot = match field(col) {
                    "" => None,
                    "K" => Some(OptionAction::K),
                    "C" => Some(OptionAction::C),
                    other => {
                        return Err(bad(option.column().expect("column option"), other));
                    }
                };
            }
            let row_index = table.rows.len();
            let duplicate = match pattern {
                TagPattern::Exact(tag) => table.exact.insert(tag, row_index).is_some(),
                TagPattern::Curve | TagPattern::Overlay(_) | TagPattern::Private => {
                    let seen = table
                        .patterns
                        .iter()
                        .any(|&i| table.rows[i].pattern == pattern);
                    table.patterns.push(row_index);
                    seen
                }
            };
            if duplicate {
                return Err(ProfileError::Duplicate {
                    record: number,
                    tag: pattern.to_string(),
                });
            }
            let name = field(name_col)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            table.rows.push(Row {
                pattern,
                name,
                basic,
                in_std_iod,
                options,
            });
        }
        Ok(table)
    }

    /// Every row, in file order.
    pub fn rows(&self) -> &[Row] {
        &self.rows
    }

    /// The row that governs `tag`: its own row, else the pattern row it falls under. Private
    /// creator elements (gggg,0010–00FF) fall under the private row like any odd-group element.
    pub fn lookup(&self, tag: Tag) -> Option<&Row> {
        if let Some(&i) = self.exact.get(&tag) {
            return Some(&self.rows[i]);
        }
        self.patterns
            .iter()
            .map(|&i| &self.rows[i])
            .find(|row| row.pattern.matches(tag))
    }

    /// The action on `tag` under `options`, before the IOD Type is known; `None` for attributes
    /// the table does not list, which the profile leaves alone (PS3.15 §E.1.1).
    pub fn effective(&self, tag: Tag, options: &Options) -> Option<Effective> {
        self.lookup(tag).map(|row| row.effective(options))
    }
}

/// The concrete action on `tag` under `options` for an attribute of Type `ty`, by the standard
/// table. Attributes the table does not list are kept ([`Action::Keep`]; sequences among them
/// are still processed item by item).
pub fn action_for(tag: Tag, options: &Options, ty: AttributeType) -> Action {
    match Table::standard().effective(tag, options) {
        Some(effective) => effective.resolve(ty),
        None => Action::Keep,
    }
}

/// The action the `deid` task expects on `tag`: [`action_for`] under [`Options::task`], with
/// the one decision tasks/deid/brief.md (question 1) takes beyond the table: `X/Z/U*`
/// sequences (Referenced Image Sequence, Source Image Sequence) are kept with their UIDs
/// replaced whatever their Type, because the objects they reference are in the set.
pub fn task_action(tag: Tag, ty: AttributeType) -> Action {
    let options = Options::task();
    match Table::standard().effective(tag, &options) {
        Some(Effective::Basic(BasicAction::XZU)) => Action::ReplaceUid,
        Some(effective) => effective.resolve(ty),
        None => Action::Keep,
    }
}

/// Splits RFC 4180 CSV: comma-separated fields, `"`-quoted fields may hold commas, newlines and
/// doubled quotes; records end at LF or CRLF.
fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, ProfileError> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '"' if field.is_empty() => {
                let start = line;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            field.push(c);
                        }
                        None => return Err(ProfileError::Unterminated { line: start }),
                    }
                }
            }
            ',' => record.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                line += 1;
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(group: u16, element: u16) -> &'static Row {
        Table::standard()
            .lookup(Tag(group, element))
            .expect("row present")
    }

    #[test]
    fn the_compiled_table_has_621_rows_with_the_published_action_counts() {
        let table = Table::standard();
        assert_eq!(table.rows().len(), 621);
        let count = |a: BasicAction| table.rows().iter().filter(|r| r.basic == a).count();
        // Counts by basic action of the 2024b table (research/deid.md §1.3).
        let expected = [
            (BasicAction::X, 384),
            (BasicAction::D, 92),
            (BasicAction::U, 54),
            (BasicAction::Z, 42),
            (BasicAction::XD, 22),
            (BasicAction::XZ, 11),
            (BasicAction::XZD, 8),
            (BasicAction::ZD, 6),
            (BasicAction::XZU, 2),
        ];
        for (action, n) in expected {
            assert_eq!(count(action), n, "{action}");
        }
        assert_eq!(table.rows().iter().filter(|r| r.in_std_iod).count(), 438);
        let with = |o: ProfileOption| {
            table
                .rows()
                .iter()
                .filter(|r| r.option(o).is_some())
                .count()
        };
        assert_eq!(with(ProfileOption::CleanDescriptors), 125);
        assert_eq!(with(ProfileOption::RetainLongitudinalModifiedDates), 165);
        assert_eq!(with(ProfileOption::RetainPatientCharacteristics), 13);
        assert_eq!(with(ProfileOption::RetainSafePrivate), 1);
        assert_eq!(with(ProfileOption::CleanPixelData), 0);
    }

    #[test]
    fn rows_quoted_in_research_match_the_table() {
        // (tag, basic action, option overrides) as quoted in research/deid.md §1.4.
        use OptionAction::{C, K};
        use ProfileOption as O;
        type Case = (
            u16,
            u16,
            BasicAction,
            &'static [(ProfileOption, OptionAction)],
        );
        let cases: [Case; 16] = [
            (0x0010, 0x0010, BasicAction::Z, &[]),
            (0x0010, 0x0020, BasicAction::ZD, &[]),
            (0x0010, 0x0030, BasicAction::Z, &[]),
            (
                0x0010,
                0x0040,
                BasicAction::Z,
                &[(O::RetainPatientCharacteristics, K)],
            ),
            (
                0x0010,
                0x1010,
                BasicAction::X,
                &[(O::RetainPatientCharacteristics, K)],
            ),
            (0x0010, 0x4000, BasicAction::X, &[(O::CleanDescriptors, C)]),
            (
                0x0008,
                0x0021,
                BasicAction::XD,
                &[
                    (O::RetainLongitudinalFullDates, K),
                    (O::RetainLongitudinalModifiedDates, C),
                ],
            ),
            (
                0x0008,
                0x002A,
                BasicAction::XZD,
                &[(O::RetainLongitudinalModifiedDates, C)],
            ),
            (
                0x0018,
                0x1078,
                BasicAction::X,
                &[(O::RetainLongitudinalModifiedDates, C)],
            ),
            (
                0x0008,
                0x0080,
                BasicAction::XZD,
                &[(O::RetainInstitutionIdentity, K)],
            ),
            (
                0x0018,
                0x1000,
                BasicAction::XZD,
                &[(O::RetainDeviceIdentity, K)],
            ),
            (0x0018, 0x1030, BasicAction::XD, &[(O::CleanDescriptors, C)]),
            (0x0002, 0x0003, BasicAction::U, &[(O::RetainUids, K)]),
            (0x0008, 0x1140, BasicAction::XZU, &[(O::RetainUids, K)]),
            (
                0x0040,
                0xA730,
                BasicAction::D,
                &[(O::CleanStructuredContent, C)],
            ),
            (0x0088, 0x0200, BasicAction::X, &[]),
        ];
        for (g, e, basic, overrides) in cases {
            let r = row(g, e);
            assert_eq!(r.basic, basic, "({g:04X},{e:04X}) {}", r.name);
            for (option, action) in overrides {
                assert_eq!(
                    r.option(*option),
                    Some(*action),
                    "({g:04X},{e:04X}) {option:?}"
                );
            }
        }
        assert_eq!(row(0x0010, 0x0030).name, "Patient's Birth Date");
        assert_eq!(
            row(0x0088, 0x0200).name,
            "Icon Image Sequence (see Note 11)"
        );
        // Attributes outside the table (research/deid.md §1.4, last paragraph).
        for tag in [
            Tag(0x0008, 0x0016),
            Tag(0x0020, 0x0011),
            Tag(0x0028, 0x0301),
        ] {
            assert!(Table::standard().lookup(tag).is_none(), "{tag}");
        }
    }

    #[test]
    fn pattern_rows_match_repeating_and_private_groups() {
        let table = Table::standard();
        let pattern = |g, e| table.lookup(Tag(g, e)).map(|r| r.pattern);
        assert_eq!(pattern(0x5000, 0x3000), Some(TagPattern::Curve));
        assert_eq!(pattern(0x501E, 0x0010), Some(TagPattern::Curve));
        assert_eq!(pattern(0x6000, 0x3000), Some(TagPattern::Overlay(0x3000)));
        assert_eq!(pattern(0x6002, 0x4000), Some(TagPattern::Overlay(0x4000)));
        assert_eq!(pattern(0x0019, 0x100C), Some(TagPattern::Private));
        assert_eq!(pattern(0x0019, 0x0010), Some(TagPattern::Private));
        // Odd groups are not repeating groups; 5020 is past the last curve group; overlay rows
        // other than 3000 and 4000 are not in the table.
        assert_eq!(pattern(0x5020, 0x3000), None);
        assert_eq!(pattern(0x6000, 0x0010), None);
        assert!(!is_repeating_group(0x6001, 0x6000));
        assert_eq!(TagPattern::Overlay(0x3000).to_string(), "(60XX,3000)");
    }

    #[test]
    fn task_options_resolve_the_rows_the_brief_discusses() {
        let task = Options::task();
        let act = |g, e, ty| task_action(Tag(g, e), ty);
        use AttributeType::{Type1, Type2, Type3, Unknown};
        // Birth date has no date option: emptied, not shifted (brief question 3).
        assert_eq!(act(0x0010, 0x0030, Type2), Action::Empty);
        // Study Date is cleaned (shifted) under Modified Dates.
        assert_eq!(act(0x0008, 0x0020, Type2), Action::Clean);
        // Patient characteristics are kept; descriptors cleaned.
        assert_eq!(act(0x0010, 0x1010, Type3), Action::Keep);
        assert_eq!(act(0x0008, 0x103E, Type3), Action::Clean);
        // Device and institution identity are not retained: X/Z/D by Type.
        assert_eq!(act(0x0018, 0x1000, Type1), Action::Dummy);
        assert_eq!(act(0x0018, 0x1000, Type3), Action::Remove);
        assert_eq!(act(0x0008, 0x0080, Type2), Action::Empty);
        // UIDs replaced; Patient ID is Z/D.
        assert_eq!(act(0x0020, 0x000D, Type1), Action::ReplaceUid);
        assert_eq!(act(0x0010, 0x0020, Type2), Action::Empty);
        assert_eq!(act(0x0010, 0x0020, Unknown), Action::Dummy);
        // Private attributes are cleaned (kept only when safe); curves and overlays removed.
        assert_eq!(act(0x0019, 0x100C, Type3), Action::Clean);
        assert_eq!(act(0x5000, 0x3000, Type3), Action::Remove);
        assert_eq!(act(0x6000, 0x3000, Type1), Action::Remove);
        // The brief keeps X/Z/U* sequences, where the standard reading would remove a Type 3.
        assert_eq!(act(0x0008, 0x1140, Type3), Action::ReplaceUid);
        assert_eq!(
            action_for(Tag(0x0008, 0x1140), &task, Type3),
            Action::Remove
        );
        // Outside the table: kept.
        assert_eq!(act(0x0020, 0x0013, Type2), Action::Keep);
    }

    #[test]
    fn compound_actions_resolve_by_type() {
        use AttributeType::{Type1, Type2, Type3, Unknown};
        let table: Vec<String> = BasicAction::ALL
            .into_iter()
            .map(|a| {
                let cells: Vec<String> = [Type1, Type2, Type3, Unknown]
                    .into_iter()
                    .map(|t| format!("{:?}", a.resolve(t)))
                    .collect();
                format!("{:<7} {}", a.as_str(), cells.join(" "))
            })
            .collect();
        insta::assert_snapshot!(table.join("\n"), @r"
        D       Dummy Dummy Dummy Dummy
        Z       Empty Empty Empty Empty
        X       Remove Remove Remove Remove
        U       ReplaceUid ReplaceUid ReplaceUid ReplaceUid
        Z/D     Dummy Empty Empty Dummy
        X/Z     Empty Empty Remove Empty
        X/D     Dummy Dummy Remove Dummy
        X/Z/D   Dummy Empty Remove Dummy
        X/Z/U*  ReplaceUid Empty Remove ReplaceUid
        ");
    }

    #[test]
    fn options_list_their_cid_7050_codes() {
        assert_eq!(
            Options::task().codes(),
            ["113100", "113101", "113105", "113107", "113108", "113111"]
        );
        assert_eq!(Options::NONE.codes(), ["113100"]);
        let full = Options::NONE.with(ProfileOption::RetainLongitudinalFullDates);
        assert!(full.contains(ProfileOption::RetainLongitudinalFullDates));
        assert!(!full.contains(ProfileOption::RetainLongitudinalModifiedDates));
        // Full Dates keeps what Modified Dates would shift.
        assert_eq!(
            action_for(Tag(0x0008, 0x0020), &full, AttributeType::Type2),
            Action::Keep
        );
    }

    #[test]
    fn k_wins_over_c_when_two_applied_options_disagree() {
        // Date of Last Calibration: Retain Device Identity K, Modified Dates C.
        let both = Options::NONE
            .with(ProfileOption::RetainDeviceIdentity)
            .with(ProfileOption::RetainLongitudinalModifiedDates);
        assert_eq!(row(0x0018, 0x1200).effective(&both), Effective::Keep);
        let dates = Options::NONE.with(ProfileOption::RetainLongitudinalModifiedDates);
        assert_eq!(row(0x0018, 0x1200).effective(&dates), Effective::Clean);
        assert_eq!(
            row(0x0018, 0x1200).effective(&Options::NONE),
            Effective::Basic(BasicAction::X)
        );
    }

    #[test]
    fn malformed_tables_are_errors_naming_the_record() {
        let header = "tag,name,basicProfile,stdCompIOD,rtnSafePrivOpt,rtnUIDsOpt,rtnDevIdOpt,rtnInstIdOpt,rtnPatCharsOpt,rtnLongFullDatesOpt,rtnLongModifDatesOpt,cleanDescOpt,cleanStructContOpt,cleanGraphOpt\n";
        let ok = format!("{header}\"(0010,0010)\",\"Patient's Name, quoted\",Z,Y,,,,,,,,,,\n");
        let table = Table::parse(&ok).expect("valid");
        assert_eq!(table.rows()[0].name, "Patient's Name, quoted");
        let cases = [
            (
                format!("{header}\"(0010,0010)\",N,Q,Y,,,,,,,,,,\n"),
                "record 1, field `basicProfile`: cannot read `Q`",
            ),
            (
                format!("{header}\"(0010,001G)\",N,Z,Y,,,,,,,,,,\n"),
                "field `tag`",
            ),
            (
                format!(
                    "{header}\"(0010,0010)\",N,Z,Y,,,,,,,,,,\n\"(0010,0010)\",N,Z,Y,,,,,,,,,,\n"
                ),
                "record 2: `(0010,0010)` appears twice",
            ),
            (
                format!("{header}\"(0010,0010)\",N,Z,Y,,,,,,,,,,K\n\"(0010,"),
                "unterminated quoted field starting on line 3",
            ),
            ("tag,name\n".to_owned(), "no `basicProfile` column"),
            (
                format!("{header}\"(0010,0010)\",N,Z,maybe,,,,,,,,,,\n"),
                "`stdCompIOD`",
            ),
        ];
        for (text, expected) in cases {
            let err = Table::parse(&text).expect_err(expected);
            assert!(err.to_string().contains(expected), "{err} lacks {expected}");
        }
    }
}
