"""pydicom side of crates/worksample-bench/run.sh.

Usage:
  pydicom_bench.py write SRC_DIR OUT_DIR   read every file under SRC_DIR (untimed), then write the
                                           same objects under OUT_DIR (timed): DICOM files with
                                           save_as, as read (same attributes, file meta, preamble
                                           or not); anything pydicom cannot parse as raw bytes.
  pydicom_bench.py read DIR                read every file under DIR fully (timed), touching the
                                           Pixel Data and the attributes a grader looks at.
  pydicom_bench.py replay DIR SUBMISSION   the `shift` grader's replay in Python (timed): every
                                           test slice of DIR read with pydicom and run through
                                           the submission's pipeline_config with the shift
                                           reference solution's numpy pipeline, its components
                                           labelled by scipy.ndimage (C) instead of its Python
                                           flood fill; scores and decisions compared with
                                           the submission's predictions_test.csv.

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


def replay(root, submission):
    import csv
    import json

    import numpy as np
    from scipy import ndimage

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "python"))
    import shift_reference as ref

    def largest_component(mask):
        """(size, mask) of the largest 8-connected component, ties to the first in raster order:
        the reference's contract, with labels numbered in raster order of first pixels."""
        labels, n = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
        if n == 0:
            return 0, np.zeros_like(mask)
        sizes = np.bincount(labels.ravel())[1:]
        best = int(np.argmax(sizes))
        return int(sizes[best]), labels == best + 1

    ref.largest_component = largest_component
    config = json.load(open(Path(submission) / "report.json"))["pipeline_config"]
    claimed = {r["sop_instance_uid"]: (float(r["score"]), r["decision"])
               for r in csv.DictReader(open(Path(submission) / "predictions_test.csv"))}
    start = time.perf_counter()
    test = Path(root) / "test"
    n = agree = 0
    for name in sorted(os.listdir(test)):
        if not name.endswith(".dcm"):
            continue
        item = ref.Item(str(test / name))
        n += 1
        agree += claimed.get(item.uid) == ref.predict(config, item)
    elapsed = time.perf_counter() - start
    print(f"slices {n} agree {agree}")
    print(f"loop_seconds {elapsed:.4f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "read":
        read(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "replay":
        replay(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
