//! Tolerant, bounded reading for graders: candidate files may be truncated, hostile or odd.
//!
//! Before dicom-rs sees a byte, a small structural walker checks the element framing against
//! [`ReadLimits`]: every length fits the file and the element cap, sequences nest no deeper than the
//! cap, and undefined-length items close. So a 4 GB length field or a million-deep sequence is a
//! [`ReadError`] naming the file and the cap, never a huge allocation or a stack overflow inside
//! the parser. Files with or without the preamble (PS3.10 §7.1), and bare data sets without a file
//! meta group (explicit VR LE tried first, then implicit VR LE), are accepted.

use std::io::Read;
use std::path::{Path, PathBuf};

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{Tag, VR};
use dicom_dictionary_std::{StandardDataDictionary, tags, uids};
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileMetaTable, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Caps applied while reading. The defaults suit grading candidate output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    /// Largest file accepted, and largest inflated data set. By default, 1 GiB.
    pub max_file_size: u64,
    /// Deepest sequence nesting accepted. By default, 32.
    pub max_sequence_depth: u32,
    /// Longest single element value accepted. By default, 512 MiB.
    pub max_element_length: u32,
}

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_file_size: 1 << 30,
            max_sequence_depth: 32,
            max_element_length: 512 << 20,
        }
    }
}

/// How the file was framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Preamble, "DICM", file meta group, data set.
    Part10,
    /// File meta group without the preamble and "DICM".
    NoPreamble,
    /// A bare data set, no file meta group.
    RawDataSet,
}

/// A file as read: meta group (when present), data set, and how it was encoded.
#[derive(Debug, Clone)]
pub struct DicomFile {
    /// File Meta Information, absent for a bare data set.
    pub meta: Option<FileMetaTable>,
    /// The data set (without Pixel Data when read by [`read_header`]).
    pub dataset: InMemDicomObject,
    /// Transfer Syntax UID the data set was decoded with.
    pub transfer_syntax: String,
    /// Framing found.
    pub framing: Framing,
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Opening or reading failed.
    #[error("failed to read `{path}`")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O reason.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("`{path}` is empty (0 bytes)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file or inflated data set exceeds `max_file_size`.
    #[error("`{path}` has {size} bytes, over the max_file_size cap of {cap}")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or the inflated size reached).
        size: u64,
        /// The cap.
        cap: u64,
    },
    /// An element declares a length over `max_element_length`.
    #[error(
        "`{path}`: element {tag} at byte {offset} has length {length}, over the max_element_length cap of {cap}"
    )]
    ElementTooLong {
        /// The file.
        path: PathBuf,
        /// The element.
        tag: Tag,
        /// Byte offset of its header in the (inflated) data set.
        offset: u64,
        /// The declared length.
        length: u32,
        /// The cap.
        cap: u32,
    },
    /// Sequences nest deeper than `max_sequence_depth`.
    #[error(
        "`{path}`: sequence {tag} at byte {offset} nests {depth} deep, over the max_sequence_depth cap of {cap}"
    )]
    TooDeep {
        /// The file.
        path: PathBuf,
        /// The sequence.
        tag: Tag,
        /// Byte offset of its header.
        offset: u64,
        /// The depth reached.
        depth: u32,
        /// The cap.
        cap: u32,
    },
    /// The file ends inside an element or an open sequence.
    #[error("`{path}` is truncated: {what} at byte {offset} runs past the end of the data")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// What was cut.
        what: String,
        /// Byte offset where it starts.
        offset: u64,
    },
    /// The element structure is broken (e.g. a stray delimiter).
    #[error("`{path}` is malformed at byte {offset}: {reason}")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where.
        offset: u64,
        /// What.
        reason: String,
    },
    /// Neither a Part-10 file nor a plausible bare data set.
    #[error(
        "`{path}` is not dicom: no \"DICM\" prefix, no meta group and no plausible first element"
    )]
    NotDicom {
        /// The file.
        path: PathBuf,
    },
    /// The meta group names a transfer syntax we cannot decode.
    #[error("`{path}` uses transfer syntax `{uid}`, which this reader cannot decode")]
    UnsupportedTransferSyntax {
        /// The file.
        path: PathBuf,
        /// The UID.
        uid: String,
    },
    /// The deflated data set does not inflate.
    #[error("`{path}`: the deflated data set does not inflate")]
    Inflate {
        /// The file.
        path: PathBuf,
        /// The reason.
        #[source]
        source: std::io::Error,
    },
    /// The structure passed our checks but dicom-rs could not parse it.
    #[error("`{path}`: failed to parse the {part}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// "file meta group" or "data set".
        part: &'static str,
        /// dicom-rs's reason.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Reads everything up to (not including) Pixel Data.
pub fn read_header(path: &Path, limits: &ReadLimits) -> Result<DicomFile, ReadError> {
    read(path, limits, true)
}

/// Reads the whole file, Pixel Data included.
pub fn read_full(path: &Path, limits: &ReadLimits) -> Result<DicomFile, ReadError> {
    read(path, limits, false)
}

/// Reads bytes already in memory; `path` only names them in errors.
pub fn read_bytes(
    bytes: &[u8],
    path: &Path,
    limits: &ReadLimits,
    header_only: bool,
) -> Result<DicomFile, ReadError> {
    let path_buf = || path.to_path_buf();
    if bytes.is_empty() {
        return Err(ReadError::Empty { path: path_buf() });
    }
    if bytes.len() as u64 > limits.max_file_size {
        return Err(ReadError::TooLarge {
            path: path_buf(),
            size: bytes.len() as u64,
            cap: limits.max_file_size,
        });
    }
    let walker = Walker { path, limits };
    let Some(Framed {
        framing,
        meta,
        ts_uid,
        body,
    }) = framed(bytes, &walker)?
    else {
        return read_raw(bytes, &walker, header_only);
    };

    let inflated;
    let (data, encoding, decode_uid) = if ts_uid == uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN {
        inflated = inflate(body, path, limits)?;
        (
            inflated.as_slice(),
            Encoding::EXPLICIT_LE,
            uids::EXPLICIT_VR_LITTLE_ENDIAN.to_owned(),
        )
    } else {
        let encoding = Encoding::for_uid(&ts_uid);
        (body, encoding, ts_uid.clone())
    };
    let Some(ts) = TransferSyntaxRegistry.get(&decode_uid) else {
        return Err(ReadError::UnsupportedTransferSyntax {
            path: path_buf(),
            uid: ts_uid,
        });
    };
    let stop = if header_only {
        Stop::AtPixelData
    } else {
        Stop::Never
    };
    let end = walker
        .walk(data, encoding, stop)?
        .stopped_at
        .unwrap_or(data.len());
    let dataset =
        InMemDicomObject::read_dataset_with_ts(&data[..end], ts).map_err(|e| ReadError::Parse {
            path: path_buf(),
            part: "data set",
            source: Box::new(e),
        })?;
    Ok(DicomFile {
        meta: Some(meta),
        dataset,
        transfer_syntax: ts_uid,
        framing,
    })
}

/// A Part-10 file split at its file meta group.
struct Framed<'a> {
    framing: Framing,
    meta: FileMetaTable,
    /// The Transfer Syntax UID, padding trimmed.
    ts_uid: String,
    /// Everything after the meta group, as stored.
    body: &'a [u8],
}

/// Splits `bytes` after the file meta group; `None` for a bare data set (no meta group).
fn framed<'a>(bytes: &'a [u8], walker: &Walker<'_>) -> Result<Option<Framed<'a>>, ReadError> {
    let (framing, meta_start) = if bytes.len() >= 132 && &bytes[128..132] == b"DICM" {
        (Framing::Part10, 132)
    } else if bytes.len() >= 8
        && bytes[0..2] == [0x02, 0x00]
        && bytes[4..6].iter().all(u8::is_ascii_uppercase)
    {
        (Framing::NoPreamble, 0)
    } else {
        return Ok(None);
    };
    // The meta group is always explicit VR little endian (PS3.10 §7.1).
    let meta_bytes = &bytes[meta_start..];
    let meta_end = walker
        .walk(meta_bytes, Encoding::EXPLICIT_LE, Stop::AfterGroup2)?
        .stopped_at
        .unwrap_or(meta_bytes.len());
    let mut with_magic = b"DICM".to_vec();
    with_magic.extend_from_slice(&meta_bytes[..meta_end]);
    let meta = FileMetaTable::from_reader(with_magic.as_slice()).map_err(|e| ReadError::Parse {
        path: walker.path.to_path_buf(),
        part: "file meta group",
        source: Box::new(e),
    })?;
    let ts_uid = meta
        .transfer_syntax()
        .trim_end_matches(['\0', ' '])
        .to_owned();
    Ok(Some(Framed {
        framing,
        meta,
        ts_uid,
        body: &meta_bytes[meta_end..],
    }))
}

/// The data set's bytes as a reader decodes them: after the file meta group (if any), and
/// inflated when the transfer syntax is Deflated Explicit VR Little Endian (PS3.5 §A.5). A
/// search of a file's bytes (the deid grader's leak scan) needs these: a deflated file stores
/// its values compressed, so its stored bytes hide them.
pub fn data_set_bytes<'a>(
    bytes: &'a [u8],
    path: &Path,
    limits: &ReadLimits,
) -> Result<std::borrow::Cow<'a, [u8]>, ReadError> {
    let walker = Walker { path, limits };
    Ok(match framed(bytes, &walker)? {
        None => std::borrow::Cow::Borrowed(bytes),
        Some(f) if f.ts_uid == uids::DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN => {
            std::borrow::Cow::Owned(inflate(f.body, path, limits)?)
        }
        Some(f) => std::borrow::Cow::Borrowed(f.body),
    })
}

/// True when `path` looks like DICOM: "DICM" after a 128-byte preamble, or a first element in
/// group 0002 or 0008 with a plausible header.
pub fn is_dicom(path: &Path) -> bool {
    let mut head = [0u8; 132];
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => filled += n,
        }
    }
    let head = &head[..filled];
    if head.len() >= 132 && &head[128..132] == b"DICM" {
        return true;
    }
    plausible_first_element(head)
}

fn plausible_first_element(head: &[u8]) -> bool {
    if head.len() < 8 {
        return false;
    }
    let group = u16::from_le_bytes([head[0], head[1]]);
    let element = u16::from_le_bytes([head[2], head[3]]);
    if group != 0x0002 && group != 0x0008 {
        return false;
    }
    let explicit = head[4..6].iter().all(u8::is_ascii_uppercase);
    let implicit_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    element < 0x1000 && (explicit || implicit_len < 1024)
}

fn read(path: &Path, limits: &ReadLimits, header_only: bool) -> Result<DicomFile, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > limits.max_file_size {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size,
            cap: limits.max_file_size,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    read_bytes(&bytes, path, limits, header_only)
}

/// A bare data set: explicit VR LE if the first element carries a VR, else implicit VR LE.
fn read_raw(bytes: &[u8], walker: &Walker<'_>, header_only: bool) -> Result<DicomFile, ReadError> {
    if !plausible_first_element(bytes) {
        return Err(ReadError::NotDicom {
            path: walker.path.to_path_buf(),
        });
    }
    let stop = if header_only {
        Stop::AtPixelData
    } else {
        Stop::Never
    };
    let first_has_vr = VR::from_binary([bytes[4], bytes[5]]).is_some();
    let order: [(Encoding, &str); 2] = if first_has_vr {
        [
            (Encoding::EXPLICIT_LE, uids::EXPLICIT_VR_LITTLE_ENDIAN),
            (Encoding::IMPLICIT_LE, uids::IMPLICIT_VR_LITTLE_ENDIAN),
        ]
    } else {
        [
            (Encoding::IMPLICIT_LE, uids::IMPLICIT_VR_LITTLE_ENDIAN),
            (Encoding::EXPLICIT_LE, uids::EXPLICIT_VR_LITTLE_ENDIAN),
        ]
    };
    let mut first_error = None;
    for (encoding, uid) in order {
        match walker.walk(bytes, encoding, stop) {
            Ok(walked) => {
                let end = walked.stopped_at.unwrap_or(bytes.len());
                let ts = TransferSyntaxRegistry
                    .get(uid)
                    .expect("the registry has both little-endian syntaxes");
                let dataset =
                    InMemDicomObject::read_dataset_with_ts(&bytes[..end], ts).map_err(|e| {
                        ReadError::Parse {
                            path: walker.path.to_path_buf(),
                            part: "data set",
                            source: Box::new(e),
                        }
                    })?;
                return Ok(DicomFile {
                    meta: None,
                    dataset,
                    transfer_syntax: uid.to_owned(),
                    framing: Framing::RawDataSet,
                });
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.expect("two encodings were tried"))
}

fn inflate(body: &[u8], path: &Path, limits: &ReadLimits) -> Result<Vec<u8>, ReadError> {
    let mut out = Vec::new();
    let decoder = flate2::read::DeflateDecoder::new(body);
    decoder
        .take(limits.max_file_size + 1)
        .read_to_end(&mut out)
        .map_err(|source| ReadError::Inflate {
            path: path.to_path_buf(),
            source,
        })?;
    if out.len() as u64 > limits.max_file_size {
        return Err(ReadError::TooLarge {
            path: path.to_path_buf(),
            size: out.len() as u64,
            cap: limits.max_file_size,
        });
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Encoding {
    explicit: bool,
    big_endian: bool,
}

impl Encoding {
    const EXPLICIT_LE: Encoding = Encoding {
        explicit: true,
        big_endian: false,
    };
    const IMPLICIT_LE: Encoding = Encoding {
        explicit: false,
        big_endian: false,
    };

    fn for_uid(uid: &str) -> Encoding {
        match uid {
            uids::IMPLICIT_VR_LITTLE_ENDIAN => Encoding::IMPLICIT_LE,
            "1.2.840.10008.1.2.2" => Encoding {
                explicit: true,
                big_endian: true,
            },
            // Every other standard syntax (encapsulated ones included) is explicit VR LE.
            _ => Encoding::EXPLICIT_LE,
        }
    }

    fn u16(self, b: &[u8]) -> u16 {
        let a = [b[0], b[1]];
        if self.big_endian {
            u16::from_be_bytes(a)
        } else {
            u16::from_le_bytes(a)
        }
    }

    fn u32(self, b: &[u8]) -> u32 {
        let a = [b[0], b[1], b[2], b[3]];
        if self.big_endian {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Walk the whole buffer.
    Never,
    /// Stop at top-level Pixel Data (7FE0,0010).
    AtPixelData,
    /// Stop at the first top-level element outside group 0002.
    AfterGroup2,
}

struct Walked {
    stopped_at: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Container {
    /// A sequence; `fragments` when it is encapsulated Pixel Data, whose items are opaque.
    Sequence {
        tag: Tag,
        end: Option<usize>,
        fragments: bool,
    },
    /// An item of a sequence.
    Item { end: Option<usize> },
}

impl Container {
    fn end(self) -> Option<usize> {
        match self {
            Container::Sequence { end, .. } | Container::Item { end } => end,
        }
    }
}

const UNDEFINED: u32 = 0xFFFF_FFFF;

struct Walker<'a> {
    path: &'a Path,
    limits: &'a ReadLimits,
}

impl Walker<'_> {
    /// Iterative (never recursive) walk of the element structure; see the module docs.
    fn walk(&self, data: &[u8], enc: Encoding, stop: Stop) -> Result<Walked, ReadError> {
        let mut stack: Vec<Container> = Vec::new();
        let mut pos = 0usize;
        loop {
            while let Some(top) = stack.last().copied() {
                match top.end() {
                    Some(end) if end == pos => {
                        stack.pop();
                    }
                    Some(end) if end < pos => {
                        return Err(self
                            .malformed(pos, "an element overruns its enclosing item or sequence"));
                    }
                    Some(_) | None => break,
                }
            }
            let limit = stack
                .iter()
                .rev()
                .find_map(|c| c.end())
                .unwrap_or(data.len());
            if pos == data.len() {
                return match stack.last() {
                    None => Ok(Walked { stopped_at: None }),
                    Some(Container::Sequence { tag, .. }) => {
                        Err(self.truncated(format!("sequence {tag}"), pos))
                    }
                    Some(Container::Item { .. }) => {
                        Err(self.truncated("sequence item".to_owned(), pos))
                    }
                };
            }
            if pos + 8 > limit.min(data.len()) {
                return Err(self.truncated("element header".to_owned(), pos));
            }
            let tag = Tag(enc.u16(&data[pos..]), enc.u16(&data[pos + 2..]));

            if tag.group() == 0xFFFE {
                // Item and delimiters always have a 4-byte length and no VR (PS3.5 §7.5).
                let len = enc.u32(&data[pos + 4..]);
                match (tag.element(), stack.last().copied()) {
                    (0xE000, Some(Container::Sequence { fragments, .. })) => {
                        if len == UNDEFINED {
                            if fragments {
                                return Err(self
                                    .malformed(pos, "a pixel data fragment has undefined length"));
                            }
                            stack.push(Container::Item { end: None });
                            pos += 8;
                        } else {
                            self.check_len(tag, pos, len, limit)?;
                            let end = pos + 8 + len as usize;
                            if fragments {
                                pos = end;
                            } else {
                                stack.push(Container::Item { end: Some(end) });
                                pos += 8;
                            }
                        }
                    }
                    (0xE00D, Some(Container::Item { end: None })) => {
                        stack.pop();
                        pos += 8;
                    }
                    (0xE0DD, Some(Container::Sequence { end: None, .. })) => {
                        stack.pop();
                        pos += 8;
                    }
                    _ => {
                        return Err(
                            self.malformed(pos, &format!("unexpected item or delimiter {tag}"))
                        );
                    }
                }
                continue;
            }
            if matches!(stack.last(), Some(Container::Sequence { .. })) {
                return Err(self.malformed(
                    pos,
                    &format!("element {tag} directly inside a sequence, outside any item"),
                ));
            }
            if stack.is_empty() {
                let stop_here = match stop {
                    Stop::Never => false,
                    Stop::AtPixelData => tag >= tags::PIXEL_DATA,
                    Stop::AfterGroup2 => tag.group() != 0x0002,
                };
                if stop_here {
                    return Ok(Walked {
                        stopped_at: Some(pos),
                    });
                }
            }

            let (vr, len, header) = if enc.explicit {
                let vr = VR::from_binary([data[pos + 4], data[pos + 5]]);
                match vr {
                    Some(
                        vr @ (VR::OB
                        | VR::OD
                        | VR::OF
                        | VR::OL
                        | VR::OV
                        | VR::OW
                        | VR::SQ
                        | VR::UC
                        | VR::UN
                        | VR::UR
                        | VR::UT
                        | VR::SV
                        | VR::UV),
                    ) => {
                        if pos + 12 > limit.min(data.len()) {
                            return Err(self.truncated(format!("element {tag} header"), pos));
                        }
                        (vr, enc.u32(&data[pos + 8..]), 12)
                    }
                    Some(vr) => (vr, u32::from(enc.u16(&data[pos + 6..])), 8),
                    None => {
                        return Err(self.malformed(pos, &format!("element {tag} has no valid VR")));
                    }
                }
            } else {
                (implicit_vr(tag), enc.u32(&data[pos + 4..]), 8)
            };

            if len == UNDEFINED {
                let fragments = tag == tags::PIXEL_DATA && stack.is_empty() && vr != VR::SQ;
                // Undefined length is only legal on SQ, on UN holding a sequence (CP-246) and on
                // encapsulated Pixel Data (PS3.5 §7.1.2, §A.4).
                if vr != VR::SQ && vr != VR::UN && !fragments {
                    return Err(self
                        .malformed(pos, &format!("element {tag} ({vr:?}) has undefined length")));
                }
                self.check_depth(tag, pos, &stack)?;
                stack.push(Container::Sequence {
                    tag,
                    end: None,
                    fragments,
                });
                pos += header;
                continue;
            }
            self.check_len(tag, pos, len, limit.saturating_sub(header - 8))?;
            if vr == VR::SQ {
                self.check_depth(tag, pos, &stack)?;
                stack.push(Container::Sequence {
                    tag,
                    end: Some(pos + header + len as usize),
                    fragments: false,
                });
                pos += header;
            } else {
                pos += header + len as usize;
            }
        }
    }

    fn check_len(&self, tag: Tag, pos: usize, len: u32, limit: usize) -> Result<(), ReadError> {
        if len > self.limits.max_element_length {
            return Err(ReadError::ElementTooLong {
                path: self.path.to_path_buf(),
                tag,
                offset: pos as u64,
                length: len,
                cap: self.limits.max_element_length,
            });
        }
        if pos + 8 + len as usize > limit {
            return Err(self.truncated(format!("element {tag} of {len} bytes"), pos));
        }
        Ok(())
    }

    fn check_depth(&self, tag: Tag, pos: usize, stack: &[Container]) -> Result<(), ReadError> {
        let depth = stack
            .iter()
            .filter(|c| matches!(c, Container::Sequence { .. }))
            .count() as u32
            + 1;
        if depth > self.limits.max_sequence_depth {
            return Err(ReadError::TooDeep {
                path: self.path.to_path_buf(),
                tag,
                offset: pos as u64,
                depth,
                cap: self.limits.max_sequence_depth,
            });
        }
        Ok(())
    }

    fn truncated(&self, what: String, pos: usize) -> ReadError {
        ReadError::Truncated {
            path: self.path.to_path_buf(),
            what,
            offset: pos as u64,
        }
    }

    fn malformed(&self, pos: usize, reason: &str) -> ReadError {
        ReadError::Malformed {
            path: self.path.to_path_buf(),
            offset: pos as u64,
            reason: reason.to_owned(),
        }
    }
}

/// The VR an implicit-VR element has: from the standard dictionary, UN when unknown (private).
fn implicit_vr(tag: Tag) -> VR {
    match StandardDataDictionary.by_tag(tag).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => vr,
        Some(_) => VR::OW,
        None => VR::UN,
    }
}
