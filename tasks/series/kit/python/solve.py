#!/usr/bin/env python3
"""The naive starter of the worksample `series` task, in Python (pydicom).

Usage: solve.py INPUT OUTPUT

Groups files by SeriesInstanceUID, sorts each group by InstanceNumber, excludes only files that do
not decode, and copies geometry from the first file of each group. It runs and writes a valid
volumes.json, and falls into most of the task's traps: improve it.
"""

import json
import os
import sys
from collections import defaultdict

import pydicom

MANIFEST = "worksample.json"


def list_files(root):
    out = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in files:
            rel = os.path.relpath(os.path.join(folder, name), root).replace(os.sep, "/")
            if rel != MANIFEST:
                out.append(rel)
    return sorted(out)


def read(path):
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:
        pass
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
        uid = str(ds.get("SOPClassUID", ""))
        return ds if uid and all(c.isdigit() or c == "." for c in uid) else None
    except Exception:
        return None


def numbers(ds, keyword, n, default):
    try:
        v = [float(x) for x in ds.get(keyword)]
        return v if len(v) == n else default
    except Exception:
        return default


def main(inp, out):
    groups, excluded = defaultdict(list), []
    for rel in list_files(inp):
        ds = read(os.path.join(inp, rel))
        if ds is None:
            excluded.append({"file": rel, "reason": "unreadable"})
            continue
        uid = str(ds.get("SeriesInstanceUID", "") or "")
        try:
            number = int(ds.get("InstanceNumber"))
        except Exception:
            number = 2**62
        groups[uid].append((number, rel, ds))
    volumes = []
    for i, uid in enumerate(sorted(groups)):
        files = sorted(groups[uid], key=lambda f: (f[0], f[1]))
        first = files[0][2]
        spacing = None
        for keyword in ("SpacingBetweenSlices", "SliceThickness"):
            try:
                spacing = float(first.get(keyword))
                break
            except Exception:
                continue
        volumes.append({
            "id": f"series_{i + 1}",
            "series_instance_uid": uid or None,
            "instances": [{"file": f[1]} for f in files],
            "geometry": {
                "image_orientation_patient": numbers(first, "ImageOrientationPatient", 6, [1, 0, 0, 0, 1, 0]),
                "rows": max(1, int(first.get("Rows", 1) or 1)),
                "columns": max(1, int(first.get("Columns", 1) or 1)),
                "pixel_spacing_mm": numbers(first, "PixelSpacing", 2, [1, 1]),
                "slice_spacing_mm": spacing if len(files) > 1 else None,
                "first_position_mm": numbers(first, "ImagePositionPatient", 3, [0, 0, 0]),
                "regular": True,
            },
            "anomalies": [],
        })
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "volumes.json"), "w") as f:
        json.dump({"schema_version": "1.0", "volumes": volumes, "excluded": excluded}, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: solve.py INPUT OUTPUT")
    main(sys.argv[1], sys.argv[2])
