#!/usr/bin/env python3
"""Reference solution of the worksample `deid` task, with pydicom.

Usage: deid_reference.py [--table CSV] INPUT OUTPUT

Applies the PS3.15 Basic Application Level Confidentiality Profile (Table E.1-1, 2024b) with the
five options of tasks/deid/brief.md -- Retain Longitudinal Temporal Information Modified Dates,
Retain Patient Characteristics, Clean Descriptors, Retain Safe Private and Clean Pixel Data -- to
every DICOM file under INPUT, at every depth, and writes OUTPUT/<study>/<series>/<sop>.dcm plus
patients.csv and uids.csv. It follows the brief and nothing else, as a strong candidate would: an
independent check that the brief, the published table and the grader agree.

The table is the CSV published with the brief (ps3.15-table-e1-1-2024b.csv). Its path comes from
`--table CSV`, else the environment variable DEID_TABLE, else the copy in tasks/deid/ next to this
repository's tests/ folder.
"""

import csv
import datetime
import os
import re
import sys
import uuid
import secrets

import pydicom
from pydicom.dataset import Dataset
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import Tag

MANIFEST = "worksample.json"
DEFAULT_TABLE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "tasks", "deid", "ps3.15-table-e1-1-2024b.csv"
)

# The option columns of the CSV that the brief applies (PS3.15 §E.3). Clean Pixel Data has no
# column: it acts on pixels, below.
APPLIED_OPTIONS = ("rtnLongModifDatesOpt", "rtnPatCharsOpt", "cleanDescOpt", "rtnSafePrivOpt")

# CID 7050 codes (PS3.16) written in De-identification Method Code Sequence (brief question 5).
CODES = [
    ("113100", "Basic Application Confidentiality Profile"),
    ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ("113108", "Retain Patient Characteristics Option"),
    ("113105", "Clean Descriptors Option"),
    ("113111", "Retain Safe Private Option"),
]
CLEAN_PIXEL_CODE = ("113101", "Clean Pixel Data Option")

# Retain Safe Private: the subset of PS3.15 Table E.3.10-1 the brief lists, keyed by
# (creator, group, low byte of the element). Never by fixed tag: PS3.5 §7.8.1 lets a creator
# reserve any block (gggg,0010-00FF), and its elements move with it.
SAFE_PRIVATE = {
    ("SIEMENS MR HEADER", 0x0019, 0x0C),
    ("SIEMENS MR HEADER", 0x0019, 0x0D),
    ("SIEMENS MR HEADER", 0x0019, 0x0E),
    ("SIEMENS MR HEADER", 0x0019, 0x27),
    ("GEMS_ACQU_01", 0x0019, 0x23),
    ("GEMS_ACQU_01", 0x0019, 0x27),
    ("GEMS_PARM_01", 0x0043, 0x27),
    ("GEMS_PARM_01", 0x0043, 0x39),
    ("Philips MR Imaging DD 001", 0x2005, 0x0D),
    ("Philips MR Imaging DD 001", 0x2005, 0x0E),
    ("Philips PET Private Group", 0x7053, 0x00),
    ("Philips PET Private Group", 0x7053, 0x09),
}

# Free text that Table E.1-1 does not list but the brief says may hold identifiers (question 2):
# SR Text Value, and the Unformatted Text Value of a presentation state's text objects (inside
# Graphic Annotation Sequence, whose action is D).
FREE_TEXT = {Tag(0x0040, 0xA160), Tag(0x0070, 0x0006)}

# SOP classes whose Types differ from the common modules (PS3.4 Annex B).
PET = "1.2.840.10008.5.1.4.1.1.128"
ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
RT_STRUCT = "1.2.840.10008.5.1.4.1.1.481.3"
GSPS = "1.2.840.10008.5.1.4.1.1.11.1"
KOS = "1.2.840.10008.5.1.4.1.1.88.59"
SR_PREFIX = "1.2.840.10008.5.1.4.1.1.88."

TEXT_VRS = {"LO", "SH", "ST", "LT", "UT", "UC"}
STRING_VRS = TEXT_VRS | {"AE", "AS", "CS", "DA", "DS", "DT", "IS", "PN", "TM", "UI", "UR"}


# ── Table E.1-1 ─────────────────────────────────────────────────────────────────────────────────


class Table:
    """Table E.1-1 as published: exact tags, plus the pattern rows for curves (50xx,xxxx),
    overlays (60xx,3000) and (60xx,4000), and private attributes (odd groups)."""

    def __init__(self, path):
        self.exact = {}
        self.private = None
        with open(path, newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                action = self.effective(row)
                tag = row["tag"]
                if tag.startswith("(GGGG"):
                    self.private = action
                elif tag.startswith("(50XX") or tag.startswith("(60XX"):
                    continue  # whole groups are removed (question 6), see remove_group()
                else:
                    group, element = tag.strip("()").split(",")
                    self.exact[Tag(int(group, 16), int(element, 16))] = action

    @staticmethod
    def effective(row):
        """The row's action once the applied options are taken into account: an option's K
        (keep) wins, else its C (clean), else the basic profile's action."""
        flags = [row[o] for o in APPLIED_OPTIONS]
        if "K" in flags:
            return "K"
        if "C" in flags:
            return "C"
        return row["basicProfile"]

    def lookup(self, tag):
        return self.exact.get(tag)


def remove_group(tag):
    """Question 6: every element of the curve (50xx) and overlay (60xx) repeating groups
    (PS3.5 §7.6: even groups base..base+1E)."""
    group = tag.group
    return group % 2 == 0 and (0x5000 <= group <= 0x501E or 0x6000 <= group <= 0x601E)


def attribute_type(sop_class, keyword, depth):
    """The Type (1, 2 or 3) of a top-level attribute in the instance's IOD (PS3.3), for the
    compound actions of the brief; None inside sequences, where the Type depends on the macro
    and the strict branch (D or U) is taken."""
    if depth > 0:
        return None
    document = sop_class.startswith(SR_PREFIX) or sop_class in (KOS, GSPS)
    if keyword in (
        "PatientName", "PatientID", "PatientBirthDate", "PatientSex",  # Patient, §C.7.1.1
        "StudyDate", "StudyTime", "ReferringPhysicianName", "StudyID",  # General Study, §C.7.2.1
        "AccessionNumber",
    ):
        return 2
    if sop_class == PET and keyword in ("SeriesDate", "SeriesTime", "AcquisitionDate", "AcquisitionTime"):
        return 1  # PET Series §C.8.9.1, PET Image §C.8.9.4
    if keyword in ("ContentDate", "ContentTime"):
        return 1 if document else 2  # SR Document General §C.17.2, PS Identification §C.11.10
    if sop_class == ENHANCED_MR and keyword == "DeviceSerialNumber":
        return 1  # Enhanced General Equipment §C.7.5.2
    if sop_class == ENHANCED_MR and keyword == "AcquisitionContextSequence":
        return 2  # Acquisition Context §C.7.6.14
    if sop_class == RT_STRUCT and keyword in ("OperatorsName", "StructureSetDate", "StructureSetTime"):
        return 2  # RT Series §C.8.8.1, Structure Set §C.8.8.5
    if sop_class == GSPS and keyword == "ContentCreatorName":
        return 2  # Presentation State Identification §C.11.10
    return 3


def resolve(action, attr_type):
    """PS3.15 §E.1.1: compound actions by Type -- 1 → D (or U), 2 → Z, 3 → X; an unknown Type
    takes the branch that keeps the IOD valid."""
    if action == "X/Z/U*":
        return "U"  # question 1: keep the references and replace the UIDs inside
    branches = action.split("/")
    if len(branches) == 1:
        return action
    if attr_type == 3 and "X" in branches:
        return "X"
    if attr_type == 2 and "Z" in branches:
        return "Z"
    return "D" if "D" in branches else branches[-1]


# ── Descriptors (question 8) ────────────────────────────────────────────────────────────────────


def is_date(token):
    """YYYYMMDD, YYYY-MM-DD, DD.MM.YYYY or MM/DD/YYYY, naming a day that exists."""
    patterns = [
        (r"(\d{4})(\d{2})(\d{2})", (1, 2, 3)),
        (r"(\d{4})-(\d{2})-(\d{2})", (1, 2, 3)),
        (r"(\d{2})\.(\d{2})\.(\d{4})", (3, 2, 1)),
        (r"(\d{2})/(\d{2})/(\d{4})", (3, 1, 2)),
    ]
    for pattern, (y, m, d) in patterns:
        match = re.fullmatch(pattern, token)
        if match:
            try:
                datetime.date(int(match.group(y)), int(match.group(m)), int(match.group(d)))
                return True
            except ValueError:
                return False
    return False


class Vocabulary:
    """The identifying tokens of question 8: name components of every person in the set, and
    every Patient ID, other patient ID and accession number."""

    def __init__(self):
        self.names = set()
        self.ids = set()

    def tokens(self, text):
        """Words split on spaces and punctuation; dates and known IDs stay whole."""
        out = []
        for word in text.split():
            trimmed = word.strip("".join(c for c in word if not c.isalnum()))
            if is_date(trimmed) or trimmed.lower() in self.ids:
                out.append(trimmed)
                continue
            out.extend(t for t in re.split(r"[^\w]|_", word) if t)
        return out

    def identifying(self, token):
        folded = token.lower()
        return is_date(token) or folded in self.names or folded in self.ids

    def clean(self, text):
        """Removes identifying tokens (and a `Dr` or `for` attached to one), keeps the rest in
        order: `CT CHEST 2019-06-19 for Zelda Qxvorak` → `CT CHEST`."""
        tokens = self.tokens(text)
        drop = [self.identifying(t) for t in tokens]
        for i in range(len(tokens) - 1):
            if drop[i + 1] and tokens[i].lower() in ("dr", "for"):
                drop[i] = True
        return " ".join(t for t, d in zip(tokens, drop) if not d)


# ── The set-wide state: pseudonyms, offsets, UIDs ───────────────────────────────────────────────


class Broker:
    """What an honest broker keeps: one pseudonym and one date offset per original Patient ID
    (questions 3 and 4), and one map over UID values."""

    def __init__(self, patient_ids):
        self.pseudonyms = {pid: "DEID-%04d" % (i + 1) for i, pid in enumerate(sorted(patient_ids))}
        # Question 3: a whole-day offset in -3650..-30 per patient, random so it cannot be
        # derived from the data.
        self.offsets = {pid: -30 - secrets.randbelow(3621) for pid in patient_ids}
        self.uids = {}

    def uid(self, old):
        """PS3.5 §B.2: 2.25 and the decimal of a random 128-bit UUID; the same original UID gets
        the same new UID everywhere, so references still resolve."""
        old = old.strip().rstrip("\0")
        if not old:
            return old
        if old not in self.uids:
            self.uids[old] = "2.25.%d" % uuid.uuid4().int
        return self.uids[old]


def shift(value, days):
    """Shifts a DA value, or the date part of a DT value (time and offset kept); '' when the
    value holds no readable date."""
    value = value.strip()
    try:
        date = datetime.date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
    except (ValueError, IndexError):
        return ""
    return (date + datetime.timedelta(days=days)).strftime("%Y%m%d") + value[8:]


def values(element):
    v = element.value
    if v is None:
        return []
    if isinstance(v, (list, MultiValue)):
        return [str(x) for x in v]
    return [str(v)]


DUMMIES = {"PN": "REMOVED^REMOVED", "TM": "000000", "AS": "000Y", "DS": "0", "IS": "0", "CS": "REMOVED"}


class File:
    """The per-file context of the walk."""

    def __init__(self, broker, table, vocabulary, ds):
        self.broker = broker
        self.table = table
        self.vocabulary = vocabulary
        self.sop_class = str(ds.get("SOPClassUID", ""))
        pid = str(ds.get("PatientID", ""))
        self.pseudonym = broker.pseudonyms[pid]
        self.offset = broker.offsets[pid]

    def walk(self, ds, depth):
        """Applies the profile to every element of a data set or sequence item."""
        self.private(ds)
        for tag in list(ds.keys()):
            if tag.is_private:
                continue
            element = ds[tag]
            if remove_group(tag):
                del ds[tag]
                continue
            if tag in FREE_TEXT:
                element.value = "REMOVED"
                continue
            if tag in (Tag(0x0010, 0x0010), Tag(0x0010, 0x0020)):
                # Question 4: Patient's Name and ID become the pseudonym (every PN component
                # group is replaced, so nothing of an ideographic name remains).
                element.value = self.pseudonym
                continue
            action = self.table.lookup(tag)
            if action is None:
                action = "K"  # not in the table: kept (dates still shift, below)
            elif action not in ("K", "C"):
                action = resolve(action, attribute_type(self.sop_class, element.keyword, depth))
            self.apply(ds, tag, element, action, depth)

    def apply(self, ds, tag, element, action, depth):
        if action == "X":
            del ds[tag]
            return
        if element.VR == "SQ":
            if action == "Z":
                element.value = Sequence()
            else:
                # Question 2: D, U, K and C on a sequence keep it and apply the table inside.
                for item in element.value:
                    self.walk(item, depth + 1)
            return
        if action == "Z":
            element.value = "" if element.VR in STRING_VRS else None
        elif action == "U" or (action == "D" and element.VR == "UI"):
            element.value = [self.broker.uid(u) for u in values(element)] if element.VM > 1 else self.broker.uid(
                str(element.value or "")
            )
        elif element.VR in ("DA", "DT"):
            # Question 3: every date at every depth, listed or not, under D, K or C.
            shifted = [shift(v, self.offset) for v in values(element)]
            if action == "D" and not any(shifted):
                shifted = ["19000101"]
            element.value = shifted if len(shifted) > 1 else (shifted[0] if shifted else "")
        elif action == "D":
            element.value = DUMMIES.get(element.VR, "REMOVED") if element.VR in STRING_VRS else 0
        elif action == "C" and element.VR in TEXT_VRS:
            element.value = self.vocabulary.clean(" ".join(values(element)))
        # K, and C on anything else: kept unchanged (times stay, question 3).

    def private(self, ds):
        """Retain Safe Private (§E.3.10): keep the listed attributes, found by creator and low
        byte, with their creator; remove every other private element of this data set."""
        creators = {}
        for tag in ds.keys():
            if tag.is_private and 0x0010 <= tag.element <= 0x00FF:
                raw = ds[tag].value
                if isinstance(raw, bytes):  # Implicit VR input reads creators as UN
                    raw = raw.decode("latin-1")
                creators[(tag.group, tag.element)] = str(raw).strip(" \0")
        kept_blocks = set()
        for tag in list(ds.keys()):
            if not tag.is_private or tag.element <= 0x00FF:
                continue
            block = tag.element >> 8
            creator = creators.get((tag.group, block))
            if (creator, tag.group, tag.element & 0xFF) in SAFE_PRIVATE:
                kept_blocks.add((tag.group, block))
            else:
                del ds[tag]
        for tag in list(ds.keys()):
            if tag.is_private and tag.element <= 0x00FF and (tag.group, tag.element) not in kept_blocks:
                del ds[tag]


# ── Pixels and markers ──────────────────────────────────────────────────────────────────────────


def blank_band(ds):
    """Question 7: zero rows 0..ceil(Rows/8)-1 of every frame, all columns; every other byte
    stays as it was (uncompressed pixel data, no re-encoding)."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    row_bytes = columns * int(ds.get("SamplesPerPixel", 1)) * ((int(ds.BitsAllocated) + 7) // 8)
    frame_bytes = rows * row_bytes
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    band = -(-rows // 8)
    data = bytearray(ds.PixelData)
    for f in range(frames):
        start = f * frame_bytes
        data[start : start + band * row_bytes] = bytes(band * row_bytes)
    ds.PixelData = bytes(data)


def write_markers(ds, cleaned):
    """Question 5 (PS3.15 §E.1.1, PS3.3 §C.7.1.1): the de-identification markers; 113101 only
    where the pixels were cleaned."""
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = "PS3.15 E.1-1 2024b basic profile with options"
    items = []
    for value, meaning in CODES + ([CLEAN_PIXEL_CODE] if cleaned else []):
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        items.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(items)
    ds.LongitudinalTemporalInformationModified = "MODIFIED"
    if cleaned:
        ds.BurnedInAnnotation = "NO"


# ── The run ─────────────────────────────────────────────────────────────────────────────────────


def list_files(root):
    out = []
    for folder, _dirs, files in os.walk(root, followlinks=False):
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def collect_vocabulary(ds, vocabulary):
    for element in ds.iterall():
        if element.VR == "PN":
            for v in values(element):
                vocabulary.names.update(p.lower() for p in re.split(r"[\^=\s,]+", v) if p)
        elif element.keyword in ("PatientID", "OtherPatientIDs", "AccessionNumber"):
            vocabulary.ids.update(v.strip().lower() for v in values(element) if v.strip())


def write_map(path, mapping):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id_old", "id_new"])
        for old in sorted(mapping):
            writer.writerow([old, mapping[old]])


def main(argv):
    args = argv[1:]
    table_path = os.environ.get("DEID_TABLE", DEFAULT_TABLE)
    if len(args) >= 2 and args[0] == "--table":
        table_path, args = args[1], args[2:]
    if len(args) != 2:
        sys.stderr.write("usage: deid_reference.py [--table CSV] INPUT OUTPUT\n")
        return 2
    src, dst = args
    table = Table(table_path)

    # Pass 1: who is in the set, and which tokens identify them.
    files = list_files(src)
    vocabulary = Vocabulary()
    patient_ids = set()
    for rel in files:
        ds = pydicom.dcmread(os.path.join(src, rel), stop_before_pixels=True)
        patient_ids.add(str(ds.get("PatientID", "")))
        collect_vocabulary(ds, vocabulary)
    broker = Broker(patient_ids)

    # Pass 2: de-identify file by file.
    for rel in files:
        ds = pydicom.dcmread(os.path.join(src, rel))
        burned_in = str(ds.get("BurnedInAnnotation", "")).strip() == "YES"
        File(broker, table, vocabulary, ds).walk(ds, 0)
        if burned_in and "PixelData" in ds:
            blank_band(ds)
        write_markers(ds, burned_in)
        # The file meta follows the new instance (brief, UIDs); transfer syntax unchanged.
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
        target = os.path.join(dst, ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID + ".dcm")
        os.makedirs(os.path.dirname(target), exist_ok=True)
        ds.save_as(target, enforce_file_format=True)

    write_map(os.path.join(dst, "patients.csv"), broker.pseudonyms)
    write_map(os.path.join(dst, "uids.csv"), broker.uids)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
