//! DICOM-shaped hostile inputs that no registered task can deliver yet (issue 9): zero-byte and
//! truncated files, a 4 GB length field, sequences nested a million deep. Each goes straight to
//! the reader's entry points, which must refuse it with an error naming the file and the cap or
//! defect hit — never panic, allocate the declared length, or recurse a million frames.

use std::path::Path;

use worksample_dicom::read::{ReadError, ReadLimits, is_dicom, read_full, read_header};
use worksample_fuzz::mutate::nested_sequences;
use worksample_fuzz::target::TIGHT_LIMITS;

/// One explicit VR little-endian element (PS3.5 §7.1.2): 16-bit length for most VRs, reserved
/// bytes and a 32-bit length for the long ones.
fn element(group: u16, elem: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&group.to_le_bytes());
    out.extend_from_slice(&elem.to_le_bytes());
    out.extend_from_slice(vr);
    if matches!(vr, b"OB" | b"OW" | b"SQ" | b"UN" | b"UT") {
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    } else {
        out.extend_from_slice(&(value.len() as u16).to_le_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// A UID value padded to even length with NUL (PS3.5 §9.1).
fn uid(text: &str) -> Vec<u8> {
    let mut v = text.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// Preamble, "DICM" and a File Meta Information group (PS3.10 §7.1) for explicit VR little
/// endian, followed by `dataset`.
fn part10(dataset: &[u8]) -> Vec<u8> {
    let mut meta = Vec::new();
    meta.extend(element(0x0002, 0x0001, b"OB", &[0, 1]));
    meta.extend(element(
        0x0002,
        0x0002,
        b"UI",
        &uid("1.2.840.10008.5.1.4.1.1.7"),
    ));
    meta.extend(element(0x0002, 0x0003, b"UI", &uid("1.2.3.4.5.6")));
    meta.extend(element(0x0002, 0x0010, b"UI", &uid("1.2.840.10008.1.2.1")));
    meta.extend(element(0x0002, 0x0012, b"UI", &uid("1.2.3.4")));
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend(element(
        0x0002,
        0x0000,
        b"UL",
        &(meta.len() as u32).to_le_bytes(),
    ));
    out.extend(meta);
    out.extend_from_slice(dataset);
    out
}

/// A small valid data set: Patient's Name and Modality.
fn plain_dataset() -> Vec<u8> {
    let mut ds = element(0x0008, 0x0060, b"CS", b"OT");
    ds.extend(element(0x0010, 0x0010, b"PN", b"Doe^Jane"));
    ds
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Empty,
    Truncated,
    ElementTooLong,
    TooDeep,
    TooLarge,
    NotDicom,
}

impl Expect {
    fn matches(self, e: &ReadError) -> bool {
        match self {
            Expect::Empty => matches!(e, ReadError::Empty { .. }),
            Expect::Truncated => matches!(e, ReadError::Truncated { .. }),
            Expect::ElementTooLong => matches!(e, ReadError::ElementTooLong { .. }),
            Expect::TooDeep => matches!(e, ReadError::TooDeep { .. }),
            Expect::TooLarge => matches!(e, ReadError::TooLarge { .. }),
            Expect::NotDicom => matches!(e, ReadError::NotDicom { .. }),
        }
    }
}

struct Case {
    name: &'static str,
    bytes: fn() -> Vec<u8>,
    limits: ReadLimits,
    expect: Expect,
    /// Words the message must contain: the cap or defect, so an assessor can tell which.
    says: &'static str,
    /// False when the defect sits in Pixel Data, which `read_header` never reads.
    in_header: bool,
}

fn four_gb_length() -> Vec<u8> {
    // Text Value (0040,A160) UT declaring 0xFFFFFFF0 bytes (about 4 GB) with 4 present; before
    // Pixel Data, so the header reader meets it too.
    let mut ds = plain_dataset();
    ds.extend_from_slice(&[0x40, 0x00, 0x60, 0xA1, b'U', b'T', 0, 0]);
    ds.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    ds.extend_from_slice(&[1, 2, 3, 4]);
    part10(&ds)
}

fn four_gb_pixel_data() -> Vec<u8> {
    // Pixel Data (7FE0,0010) OB declaring 0xFFFFFFF0 bytes with 4 present.
    let mut ds = plain_dataset();
    ds.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'B', 0, 0]);
    ds.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    ds.extend_from_slice(&[1, 2, 3, 4]);
    part10(&ds)
}

fn million_deep() -> Vec<u8> {
    let mut ds = plain_dataset();
    ds.extend(nested_sequences(1_000_000, true));
    part10(&ds)
}

fn million_deep_unclosed() -> Vec<u8> {
    let mut ds = plain_dataset();
    ds.extend(nested_sequences(1_000_000, false));
    part10(&ds)
}

const CASES: &[Case] = &[
    Case {
        name: "4 GB pixel data",
        bytes: four_gb_pixel_data,
        limits: TIGHT_LIMITS,
        expect: Expect::ElementTooLong,
        in_header: false,
        says: "element (7FE0,0010) at byte",
    },
    Case {
        name: "zero-byte",
        bytes: Vec::new,
        limits: TIGHT_LIMITS,
        expect: Expect::Empty,
        in_header: true,
        says: "is empty (0 bytes)",
    },
    Case {
        name: "truncated inside an element value",
        bytes: || {
            let full = part10(&plain_dataset());
            full[..full.len() - 3].to_vec()
        },
        limits: TIGHT_LIMITS,
        expect: Expect::Truncated,
        in_header: true,
        says: "is truncated",
    },
    Case {
        name: "truncated inside the meta group",
        bytes: || part10(&plain_dataset())[..150].to_vec(),
        limits: TIGHT_LIMITS,
        expect: Expect::Truncated,
        in_header: true,
        says: "is truncated",
    },
    Case {
        name: "preamble only",
        bytes: || vec![0u8; 128],
        limits: TIGHT_LIMITS,
        expect: Expect::NotDicom,
        in_header: true,
        says: "is not dicom",
    },
    Case {
        name: "4 GB length field, tight limits",
        bytes: four_gb_length,
        limits: TIGHT_LIMITS,
        expect: Expect::ElementTooLong,
        in_header: true,
        says: "over the max_element_length cap of 1048576",
    },
    Case {
        name: "4 GB length field, default limits",
        bytes: four_gb_length,
        limits: ReadLimits {
            max_file_size: 1 << 30,
            max_sequence_depth: 32,
            max_element_length: 512 << 20,
        },
        expect: Expect::ElementTooLong,
        in_header: true,
        says: "over the max_element_length cap of 536870912",
    },
    Case {
        name: "sequences nested a million deep, default limits",
        bytes: million_deep,
        limits: ReadLimits {
            max_file_size: 1 << 30,
            max_sequence_depth: 32,
            max_element_length: 512 << 20,
        },
        expect: Expect::TooDeep,
        in_header: true,
        says: "nests 33 deep, over the max_sequence_depth cap of 32",
    },
    Case {
        name: "sequences nested a million deep and never closed",
        bytes: million_deep_unclosed,
        limits: ReadLimits {
            max_file_size: 1 << 30,
            max_sequence_depth: 32,
            max_element_length: 512 << 20,
        },
        expect: Expect::TooDeep,
        in_header: true,
        says: "over the max_sequence_depth cap of 32",
    },
    Case {
        name: "sequences nested a million deep, tight limits",
        bytes: million_deep,
        limits: TIGHT_LIMITS,
        expect: Expect::TooLarge,
        in_header: true,
        says: "over the max_file_size cap of 4194304",
    },
];

fn check(path: &Path, case: &Case, header_only: bool) {
    let entry = if header_only {
        "read_header"
    } else {
        "read_full"
    };
    let result = if header_only {
        read_header(path, &case.limits)
    } else {
        read_full(path, &case.limits)
    };
    let Err(e) = result else {
        panic!("{}: {entry} accepted it", case.name);
    };
    assert!(case.expect.matches(&e), "{}: {entry} gave {e:?}", case.name);
    let message = e.to_string();
    assert!(
        message.contains(case.says),
        "{}: {entry}: {message}",
        case.name
    );
    assert!(
        message.contains("input.dcm"),
        "{}: names the file: {message}",
        case.name
    );
}

#[test]
fn the_reader_refuses_each_hostile_file_naming_the_cap_hit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("input.dcm");
    for case in CASES {
        std::fs::write(&path, (case.bytes)()).expect("write the case");
        if case.in_header {
            check(&path, case, true);
        } else {
            let header = read_header(&path, &case.limits).expect("the header reads");
            assert_eq!(header.dataset.iter().count(), 2, "{}", case.name);
        }
        check(&path, case, false);
    }
}

#[test]
fn is_dicom_answers_every_hostile_file_without_reading_it_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("input.dcm");
    let expected = [
        ("zero-byte", false),
        ("preamble only", false),
        ("4 GB length field, tight limits", true),
        ("sequences nested a million deep, default limits", true),
    ];
    for (name, looks) in expected {
        let case = CASES
            .iter()
            .find(|c| c.name == name)
            .expect("the case exists");
        std::fs::write(&path, (case.bytes)()).expect("write the case");
        assert_eq!(is_dicom(&path), looks, "{name}");
    }
}

#[test]
fn the_valid_base_file_reads() {
    // Guards the cases above: they fail because of their defect, not a broken base file.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("input.dcm");
    std::fs::write(&path, part10(&plain_dataset())).expect("write");
    let file = read_full(&path, &TIGHT_LIMITS).expect("the base file reads");
    assert_eq!(file.dataset.iter().count(), 2);
    assert!(is_dicom(&path));
}
