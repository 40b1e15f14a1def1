"""pydicom side of benches/engine.sh: write N CT files equivalent to a `worksample synth` run.

Usage: pydicom_write.py REFERENCE.dcm OUT_DIR COUNT

The dataset is built once and edited in place per file from the reference file's attributes (same elements, VRs, sequences
and private blocks, so the same attribute count), with a fixed pixel array of the same size;
each file then varies SOP Instance UID, Image Position (Patient), Slice Location and Instance
Number, as a generator writing a series would. The last stdout line is the in-process write
loop time, excluding interpreter start-up and the pydicom/numpy imports.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pydicom
from pydicom.uid import generate_uid


def main() -> None:
    reference, out_dir, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    template = pydicom.dcmread(reference, stop_before_pixels=True)
    rows, columns = int(template.Rows), int(template.Columns)
    dtype = np.int16 if int(template.PixelRepresentation) == 1 else np.uint16
    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 4096, size=(rows, columns)).astype(dtype)
    template.PixelData = pixels.tobytes()
    template["PixelData"].VR = "OW"
    ipp = [float(v) for v in template.ImagePositionPatient]
    out_dir.mkdir(parents=True, exist_ok=True)

    start = time.perf_counter()
    for i in range(count):
        ds = template
        uid = generate_uid()
        ds.SOPInstanceUID = uid
        ds.file_meta.MediaStorageSOPInstanceUID = uid
        ds.InstanceNumber = i + 1
        ds.ImagePositionPatient = [ipp[0], ipp[1], ipp[2] + i]
        if "SliceLocation" in ds:
            ds.SliceLocation = ipp[2] + i
        ds.save_as(out_dir / f"IM{i + 1:05}.dcm", enforce_file_format=True)
    elapsed = time.perf_counter() - start
    print(f"attributes {len(template)} rows {rows} columns {columns} files {count}")
    print(f"loop_seconds {elapsed:.4f}")


if __name__ == "__main__":
    main()
