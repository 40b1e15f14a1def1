#!/usr/bin/env python3
"""The naive starter of the worksample `deid` task, in Python (pydicom).

Usage: solve.py INPUT OUTPUT

Copies every DICOM file to the same relative path under OUTPUT and empties Patient's Name and
Patient ID at the top level. That is all: identifiers inside sequences, private attributes, UIDs,
dates, burned-in pixels, file names, the markers and the two maps are left for you. It runs and
scores low: improve it (read brief.md and ps3.15-table-e1-1-2024b.csv).
"""

import os
import sys

import pydicom

MANIFEST = "worksample.json"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write("usage: solve.py INPUT OUTPUT\n")
        return 2
    src, dst = argv[1], argv[2]
    for folder, _dirs, files in os.walk(src, followlinks=False):
        for name in files:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, src).replace(os.sep, "/")
            if rel == MANIFEST:
                continue
            ds = pydicom.dcmread(path)
            # Table E.1-1 says Z for both, at every depth; this only does the top level.
            for keyword in ("PatientName", "PatientID"):
                if keyword in ds:
                    setattr(ds, keyword, "")
            target = os.path.join(dst, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            ds.save_as(target, enforce_file_format=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
