//! The tolerant reader's caps: hostile or broken files give a ReadError naming the file and the
//! cap, never a panic or an unbounded allocation. The bytes are built here by hand.

use std::path::Path;

use worksample_dicom::read::{ReadError, ReadLimits, read_full, read_header};

/// A Part-10 header: preamble, DICM, and a meta group declaring `ts`.
fn part10(ts: &str) -> Vec<u8> {
    let mut meta = Vec::new();
    let mut put = |element: u16, vr: &[u8; 2], value: &[u8]| {
        meta.extend_from_slice(&0x0002u16.to_le_bytes());
        meta.extend_from_slice(&element.to_le_bytes());
        meta.extend_from_slice(vr);
        if vr == b"OB" {
            meta.extend_from_slice(&[0, 0]);
            meta.extend_from_slice(&(value.len() as u32).to_le_bytes());
        } else {
            meta.extend_from_slice(&(value.len() as u16).to_le_bytes());
        }
        meta.extend_from_slice(value);
    };
    let pad = |s: &str| {
        let mut v = s.as_bytes().to_vec();
        if v.len() % 2 == 1 {
            v.push(0);
        }
        v
    };
    put(0x0001, b"OB", &[0, 1]);
    put(0x0002, b"UI", &pad("1.2.840.10008.5.1.4.1.1.7"));
    put(0x0003, b"UI", &pad("2.25.1"));
    put(0x0010, b"UI", &pad(ts));
    put(0x0012, b"UI", &pad("2.25.2"));
    let mut out = vec![0u8; 128];
    out.extend_from_slice(b"DICM");
    out.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(&meta);
    out
}

/// Explicit VR LE element with a 2-byte length.
fn short(group: u16, element: u16, vr: &[u8; 2], value: &[u8]) -> Vec<u8> {
    let mut v = group.to_le_bytes().to_vec();
    v.extend_from_slice(&element.to_le_bytes());
    v.extend_from_slice(vr);
    v.extend_from_slice(&(value.len() as u16).to_le_bytes());
    v.extend_from_slice(value);
    v
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("writable temp dir");
    path
}

fn message(err: ReadError) -> String {
    err.to_string()
}

#[test]
fn zero_bytes_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "empty.dcm", &[]);
    let err = read_header(&path, &ReadLimits::default()).expect_err("empty");
    assert!(matches!(err, ReadError::Empty { .. }));
    assert!(message(err).contains("empty.dcm"));
}

#[test]
fn truncated_file_names_the_element_and_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = part10("1.2.840.10008.1.2.1");
    bytes.extend(short(0x0010, 0x0010, b"PN", b"Doe^Jane"));
    // Pixel Data (OW) declaring 1000 bytes, of which only 10 are present.
    bytes.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
    bytes.extend_from_slice(&1000u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 10]);
    let path = write(dir.path(), "cut.dcm", &bytes);
    // The header stops before Pixel Data, so it still reads; the full read does not.
    assert!(read_header(&path, &ReadLimits::default()).is_ok());
    let err = read_full(&path, &ReadLimits::default()).expect_err("truncated");
    assert!(matches!(err, ReadError::Truncated { .. }), "{err}");
    let text = message(err);
    assert!(
        text.contains("cut.dcm") && text.contains("(7FE0,0010)") && text.contains("truncated"),
        "{text}"
    );
}

#[test]
fn four_gigabyte_length_field_hits_the_element_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = part10("1.2.840.10008.1.2.1");
    // An OB element claiming 0xFFFF_FFF0 bytes.
    bytes.extend_from_slice(&[0x09, 0x00, 0x10, 0x10, b'O', b'B', 0, 0]);
    bytes.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 16]);
    let path = write(dir.path(), "huge.dcm", &bytes);
    let err = read_header(&path, &ReadLimits::default()).expect_err("4 GB length");
    assert!(
        matches!(
            err,
            ReadError::ElementTooLong {
                length: 0xFFFF_FFF0,
                ..
            }
        ),
        "{err}"
    );
    let text = message(err);
    assert!(
        text.contains("huge.dcm") && text.contains("max_element_length"),
        "{text}"
    );
}

#[test]
fn deeply_nested_sequence_hits_the_depth_cap() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = part10("1.2.840.10008.1.2.1");
    // 100 000 nested undefined-length sequences, each holding one undefined-length item.
    for _ in 0..100_000 {
        bytes.extend_from_slice(&[
            0x08, 0x00, 0x15, 0x11, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        ]);
        bytes.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
    }
    let path = write(dir.path(), "deep.dcm", &bytes);
    let err = read_full(&path, &ReadLimits::default()).expect_err("too deep");
    assert!(
        matches!(
            err,
            ReadError::TooDeep {
                depth: 33,
                cap: 32,
                ..
            }
        ),
        "{err}"
    );
    let text = message(err);
    assert!(
        text.contains("deep.dcm") && text.contains("max_sequence_depth"),
        "{text}"
    );
}

#[test]
fn file_size_cap_is_checked_before_reading() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "big.dcm", &part10("1.2.840.10008.1.2.1"));
    let limits = ReadLimits {
        max_file_size: 100,
        ..ReadLimits::default()
    };
    let err = read_header(&path, &limits).expect_err("over the size cap");
    let text = message(err);
    assert!(
        text.contains("big.dcm") && text.contains("max_file_size"),
        "{text}"
    );
}

#[test]
fn garbage_is_not_dicom() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        dir.path(),
        "readme.txt",
        b"this is a text file, not an image at all",
    );
    let err = read_header(&path, &ReadLimits::default()).expect_err("not dicom");
    assert!(matches!(err, ReadError::NotDicom { .. }));
    assert!(!worksample_dicom::read::is_dicom(&path));
    assert!(!worksample_dicom::read::is_dicom(
        &dir.path().join("missing")
    ));
}

#[test]
fn stray_delimiter_is_malformed_not_a_panic() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut bytes = part10("1.2.840.10008.1.2.1");
    bytes.extend_from_slice(&[0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0]);
    let path = write(dir.path(), "stray.dcm", &bytes);
    let err = read_full(&path, &ReadLimits::default()).expect_err("malformed");
    assert!(matches!(err, ReadError::Malformed { .. }), "{err}");
}
