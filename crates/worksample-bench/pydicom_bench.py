"""pydicom side of crates/worksample-bench/run.sh.

Usage:
  pydicom_bench.py write SRC_DIR OUT_DIR   read every file under SRC_DIR (untimed), then write the
                                           same objects under OUT_DIR (timed): DICOM files with
                                           save_as, as read (same attributes, file meta, preamble
                                           or not); anything pydicom cannot parse as raw bytes.
  pydicom_bench.py read DIR                read every file under DIR fully (timed), touching the
                                           Pixel Data and the attributes a grader looks at.

The last stdout line is `loop_seconds S`: the timed loop only, without interpreter start-up,
imports or the untimed preload.
"""

import os
import sys
import time
from pathlib import Path

import pydicom


def files_under(root):
    out = []
    for dirpath, _dirs, names in os.walk(root):
        out.extend(Path(dirpath) / n for n in names)
    return sorted(out)


def write(src, out):
    src, out = Path(src), Path(out)
    objects = []
    for path in files_under(src):
        rel = path.relative_to(src)
        try:
            objects.append((rel, pydicom.dcmread(path)))
        except Exception:  # junk files are planted on purpose; keep them as bytes
            objects.append((rel, path.read_bytes()))
    start = time.perf_counter()
    for rel, obj in objects:
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(obj, bytes):
            target.write_bytes(obj)
        else:
            obj.save_as(target, enforce_file_format=False)
    elapsed = time.perf_counter() - start
    size = sum(p.stat().st_size for p in files_under(out))
    print(f"files {len(objects)} bytes {size}")
    print(f"loop_seconds {elapsed:.4f}")


def read(root):
    start = time.perf_counter()
    n = skipped = pixel_bytes = 0
    for path in files_under(root):
        try:
            ds = pydicom.dcmread(path)
        except Exception:
            skipped += 1
            continue
        n += 1
        for keyword in ("SOPInstanceUID", "SeriesInstanceUID", "PatientName",
                        "ImagePositionPatient", "ImageOrientationPatient", "Rows"):
            ds.get(keyword)
        if "PixelData" in ds:
            pixel_bytes += len(ds.PixelData)
    elapsed = time.perf_counter() - start
    print(f"files {n} skipped {skipped} pixel_bytes {pixel_bytes}")
    print(f"loop_seconds {elapsed:.4f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "read":
        read(sys.argv[2])
    else:
        sys.exit(__doc__)
