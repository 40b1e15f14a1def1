#!/usr/bin/env python3
"""Reference solution of the worksample `series` task, with pydicom and numpy.

Usage: series_reference.py INPUT OUTPUT

Reads every file under INPUT, groups the images into volumes by the brief's rules, orders each
volume by ascending IPP . (row x column), and writes OUTPUT/volumes.json. It follows
tasks/series/brief.md and nothing else: an independent check that the brief, the published schema
and the grader agree.
"""

import json
import os
import sys
from collections import defaultdict

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

DICOMDIR_CLASS = "1.2.840.10008.1.3.10"
MANIFEST = "worksample.json"
IOP_TOL = 1e-4
POS_TOL = 0.01
GAP_TOL = 0.01
TILT_DEG = 1.0


def list_files(root):
    out = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def has_dicm(path):
    with open(path, "rb") as f:
        head = f.read(132)
    return len(head) == 132 and head[128:] == b"DICM"


def read(path):
    """The dataset, or None when the file is not DICOM; raises ValueError when it is DICOM
    that cannot be decoded."""
    try:
        return pydicom.dcmread(path)
    except InvalidDicomError:
        pass
    except Exception as e:
        if has_dicm(path):
            raise ValueError(str(e)) from e
        return None
    # No preamble or meta group: a bare data set (PS3.10 7.1 is optional in practice).
    try:
        ds = pydicom.dcmread(path, force=True)
        uid = str(ds.get("SOPClassUID", ""))
        if uid and all(c.isdigit() or c == "." for c in uid):
            return ds
    except Exception:
        pass
    return None


def pixels_complete(ds):
    """Native (uncompressed) Pixel Data holds rows x columns x samples x frames x bytes."""
    try:
        expected = (
            int(ds.Rows)
            * int(ds.Columns)
            * int(ds.get("SamplesPerPixel", 1) or 1)
            * int(ds.get("NumberOfFrames", 1) or 1)
            * ((int(ds.BitsAllocated) + 7) // 8)
        )
        return len(ds.PixelData) >= expected
    except (AttributeError, TypeError, ValueError):
        return False


def text(ds, keyword):
    v = ds.get(keyword)
    if v is None:
        return None
    v = str(v).strip()
    return v or None


def floats(ds, keyword):
    v = ds.get(keyword)
    if v is None or v == "":
        return None
    try:
        if isinstance(v, (list, tuple, pydicom.multival.MultiValue)):
            return tuple(float(x) for x in v)
        return (float(v),)
    except (TypeError, ValueError):
        return None


def integer(ds, keyword):
    v = floats(ds, keyword)
    return int(v[0]) if v else None


class Image:
    def __init__(self, rel, ds):
        self.file = rel
        self.sop = text(ds, "SOPInstanceUID")
        self.series = text(ds, "SeriesInstanceUID")
        self.iop = np.array(floats(ds, "ImageOrientationPatient"), dtype=float)
        self.ipp = np.array(floats(ds, "ImagePositionPatient"), dtype=float)
        self.rows = int(ds.Rows)
        self.columns = int(ds.Columns)
        self.spacing = floats(ds, "PixelSpacing")
        self.number = integer(ds, "InstanceNumber")
        self.acquisition = integer(ds, "AcquisitionNumber")
        image_type = ds.get("ImageType")
        self.image_type = tuple(str(x) for x in image_type) if image_type else ()
        self.key = (
            text(ds, "PatientID"),
            text(ds, "StudyInstanceUID"),
            self.series,
            text(ds, "FrameOfReferenceUID"),
            self.rows,
            self.columns,
            tuple(round(x, 6) for x in self.spacing or ()),
            self.image_type,
            integer(ds, "EchoNumbers"),
            floats(ds, "EchoTime"),
            floats(ds, "DiffusionBValue"),
            floats(ds, "DiffusionGradientOrientation"),
            integer(ds, "TemporalPositionIdentifier"),
        )
        self.pixels = bytes(ds.PixelData)


def normal(iop):
    n = np.cross(iop[:3], iop[3:])
    return n / np.linalg.norm(n)


def split_repeats(images, n):
    """Duplicates out, then AcquisitionNumber splits, as the brief says."""
    kept, dups = [], []
    for im in images:
        d = float(im.ipp @ n)
        twin = next((k for k in kept if abs(float(k.ipp @ n) - d) <= POS_TOL and k.pixels == im.pixels), None)
        if twin is not None:
            dups.append((im, twin))
        else:
            kept.append(im)
    ds = sorted(float(im.ipp @ n) for im in kept)
    repeats = any(b - a <= POS_TOL for a, b in zip(ds, ds[1:]))
    if not repeats:
        return [kept], dups
    by_acq = defaultdict(list)
    for im in kept:
        by_acq[im.acquisition].append(im)
    return list(by_acq.values()), dups


def analyse(ordered, n):
    d = [float(im.ipp @ n) for im in ordered]
    if len(d) < 2:
        return None, True, [], None
    gaps = [b - a for a, b in zip(d, d[1:])]
    counts = defaultdict(list)
    for g in gaps:
        counts[round(g * 100)].append(g)
    best = max(sorted(counts), key=lambda k: len(counts[k]))
    nominal = counts[best][0]
    same = lambda a, b: abs(a - b) <= GAP_TOL * abs(nominal)
    flags, prev = [], None
    for i, g in enumerate(gaps):
        if same(g, nominal):
            prev = None
            continue
        m = round(g / nominal)
        pair = [{"file": ordered[i].file}, {"file": ordered[i + 1].file}]
        if m >= 2 and same(g, m * nominal):
            flags.append({"type": "missing_slice", "between": pair})
            prev = None
        else:
            if prev is None or not same(prev, g):
                flags.append({"type": "irregular_spacing", "between": pair})
            prev = g
    step = ordered[-1].ipp - ordered[0].ipp
    cos = min(1.0, abs(float(step @ n)) / float(np.linalg.norm(step)))
    angle = float(np.degrees(np.arccos(cos)))
    tilt = angle if angle > TILT_DEG else None
    return nominal, not flags and tilt is None, flags, tilt


def main(inp, out):
    volumes, excluded = [], []
    images, seen_sop = [], {}
    for rel in list_files(inp):
        try:
            ds = read(os.path.join(inp, rel))
        except ValueError:
            excluded.append({"file": rel, "reason": "unreadable"})
            continue
        if ds is None:
            excluded.append({"file": rel, "reason": "not_dicom"})
            continue
        meta = getattr(ds, "file_meta", None)
        meta_class = str(meta.get("MediaStorageSOPClassUID", "")) if meta is not None else ""
        if meta_class == DICOMDIR_CLASS or "DirectoryRecordSequence" in ds:
            excluded.append({"file": rel, "reason": "dicomdir"})
            continue
        if "PixelData" not in ds:
            excluded.append({"file": rel, "reason": "no_pixel_data"})
            continue
        if not pixels_complete(ds):
            # pydicom returns a short Pixel Data value for a file cut off inside it.
            excluded.append({"file": rel, "reason": "unreadable"})
            continue
        im = Image(rel, ds)
        if im.sop in seen_sop:
            excluded.append({"file": rel, "reason": "duplicate_instance", "duplicate_of": {"file": seen_sop[im.sop]}})
            continue
        seen_sop[im.sop] = rel
        images.append(im)

    groups = defaultdict(list)
    for im in images:
        clusters = groups[im.key]
        for c in clusters:
            if np.all(np.abs(c[0].iop - im.iop) <= IOP_TOL):
                c.append(im)
                break
        else:
            clusters.append([im])

    for key in groups:
        for cluster in groups[key]:
            n = normal(cluster[0].iop)
            parts, dups = split_repeats(cluster, n)
            for im, twin in dups:
                excluded.append({"file": im.file, "reason": "duplicate_position", "duplicate_of": {"file": twin.file}})
            for part in parts:
                ordered = sorted(part, key=lambda im: float(im.ipp @ n))
                nominal, regular, flags, tilt = analyse(ordered, n)
                first = ordered[0]
                if first.image_type[2:3] == ("LOCALIZER",):
                    flags.insert(0, {"type": "localizer"})
                if first.series is None:
                    flags.append({"type": "missing_series_uid"})
                if tilt is not None:
                    flags.append({"type": "gantry_tilt", "angle_deg": round(tilt, 3)})
                numbers = [im.number for im in ordered]
                if len(numbers) >= 2 and None not in numbers:
                    up = all(a < b for a, b in zip(numbers, numbers[1:]))
                    down = all(a > b for a, b in zip(numbers, numbers[1:]))
                    if not up and not down:
                        flags.append({"type": "instance_number_not_spatial"})
                volumes.append({
                    "id": f"vol_{len(volumes) + 1:03d}",
                    "series_instance_uid": first.series,
                    "instances": [{"file": im.file} for im in ordered],
                    "geometry": {
                        "image_orientation_patient": [float(x) for x in first.iop],
                        "rows": first.rows,
                        "columns": first.columns,
                        "pixel_spacing_mm": list(first.spacing),
                        "slice_spacing_mm": nominal,
                        "first_position_mm": [float(x) for x in first.ipp],
                        "regular": regular,
                    },
                    "anomalies": flags,
                })

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "volumes.json"), "w") as f:
        json.dump({"schema_version": "1.0", "volumes": volumes, "excluded": excluded}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: series_reference.py INPUT OUTPUT")
    main(sys.argv[1], sys.argv[2])
