#!/usr/bin/env python3
"""Decode every file of a `worksample synth --pixel-manifest` run with pydicom and compare.

Usage: check_pixels.py MANIFEST.jsonl ROOT_DIR

For each manifest line it reads ROOT_DIR/path with pydicom (force=True, so files without the
128-byte preamble are read too), checks the header fields the manifest lists, and compares
SHA-256 of `pixel_array.astype(<stored type>).tobytes()` with `pixel_sha256`. Prints one line per
mismatch and a closing "N passed, N failed" line; exits 1 if anything failed.
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pydicom


def stored_dtype(entry):
    if entry["bits_allocated"] <= 8:
        return np.dtype("u1")
    return np.dtype("<i2") if entry["pixel_representation"] == 1 else np.dtype("<u2")


def check(entry, root):
    path = root / entry["path"]
    ds = pydicom.dcmread(path, force=True)
    problems = []
    ts = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in ds.file_meta else None
    if ts is not None and ts != entry["transfer_syntax"]:
        problems.append(f"transfer syntax {ts} != {entry['transfer_syntax']}")
    if ts is None:
        # A bare data set: pydicom must be told how it is encoded.
        ds.file_meta = pydicom.dataset.FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = entry["transfer_syntax"]
    for key, attr in [
        ("sop_class_uid", "SOPClassUID"),
        ("rows", "Rows"),
        ("columns", "Columns"),
        ("samples_per_pixel", "SamplesPerPixel"),
        ("bits_allocated", "BitsAllocated"),
        ("pixel_representation", "PixelRepresentation"),
        ("photometric", "PhotometricInterpretation"),
    ]:
        have = getattr(ds, attr, None)
        have = str(have) if isinstance(entry[key], str) else have
        if have != entry[key]:
            problems.append(f"{attr} {have!r} != {entry[key]!r}")
    frames = int(getattr(ds, "NumberOfFrames", 1) or 1)
    if frames != entry["frames"]:
        problems.append(f"NumberOfFrames {frames} != {entry['frames']}")
    values = ds.pixel_array.astype(stored_dtype(entry))
    digest = hashlib.sha256(values.tobytes()).hexdigest()
    if digest != entry["pixel_sha256"]:
        problems.append(f"pixel sha256 {digest[:16]}… != {entry['pixel_sha256'][:16]}…")
    return problems


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    manifest, root = Path(argv[1]), Path(argv[2])
    passed = failed = 0
    with manifest.open(encoding="utf-8") as lines:
        for line in lines:
            if not line.strip():
                continue
            entry = json.loads(line)
            try:
                problems = check(entry, root)
            except Exception as exc:  # a decode failure is a finding, not a crash
                problems = [f"{type(exc).__name__}: {exc}"]
            if problems:
                failed += 1
                print(f"{entry['path']}: " + "; ".join(problems))
            else:
                passed += 1
    print(f"pixels: {passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
