#!/usr/bin/env python3
"""The naive starter of the worksample `shift` task, in Python (pydicom + numpy).

Usage: solve.py INPUT OUTPUT

Reports P0's counts per institution without intervals, diagnoses nothing, keeps P0's
configuration ({}) and predicts the test set with P0 as the brief specifies it. It runs and writes
valid output, and scores low on purpose: measure per stratum, find the causes, fix the pipeline.
"""

import csv
import json
import os
import sys

import numpy as np
import pydicom


def largest_component(mask):
    """Pixels in the largest 8-connected component of a boolean image."""
    rows, cols = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    best = 0
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        seen[y, x] = True
        stack, size = [(y, x)], 0
        while stack:
            cy, cx = stack.pop()
            size += 1
            for yy in range(max(cy - 1, 0), min(cy + 2, rows)):
                for xx in range(max(cx - 1, 0), min(cx + 2, cols)):
                    if mask[yy, xx] and not seen[yy, xx]:
                        seen[yy, xx] = True
                        stack.append((yy, xx))
        best = max(best, size)
    return best


def p0(ds):
    """P0 as deployed: u16 words, HU = SV - 1024, header window, 0.9 mm pixels."""
    sv = ds.pixel_array.astype(np.int64)
    if int(ds.PixelRepresentation) == 1:
        sv = sv & 0xFFFF  # P0 ignores signedness: read the words as unsigned
    hu = sv - 1024.0
    wc = ds.get("WindowCenter", 50)
    ww = ds.get("WindowWidth", 100)
    wc = float(wc[0] if isinstance(wc, pydicom.multival.MultiValue) else wc)
    ww = float(ww[0] if isinstance(ww, pydicom.multival.MultiValue) else ww)
    x = np.clip((hu - (wc - ww / 2)) / ww, 0, 1)
    mask = (x >= 0.55) & (x < 0.95)
    largest = largest_component(mask)
    score = largest * 0.9 * 0.9
    return score, "POS" if score >= 12 else "NEG"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: solve.py INPUT OUTPUT")
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    labels = {r["sop_instance_uid"]: r["label"] == "1" for r in csv.DictReader(open(os.path.join(src, "dev_labels.csv")))}
    calls = {r["sop_instance_uid"]: r["decision"] == "POS" for r in csv.DictReader(open(os.path.join(src, "p0_dev.csv")))}
    cells = {}
    for name in sorted(os.listdir(os.path.join(src, "dev"))):
        ds = pydicom.dcmread(os.path.join(src, "dev", name), stop_before_pixels=True)
        uid = ds.SOPInstanceUID
        c = cells.setdefault(str(ds.get("InstitutionName", "")).strip(), [0, 0, 0, 0])
        label, pos = labels[uid], calls[uid]
        index = {(True, True): 0, (False, True): 1, (False, False): 2, (True, False): 3}[(label, pos)]
        c[index] += 1
    metrics = []
    for value, (tp, fp, tn, fn) in sorted(cells.items()):
        sens = tp / (tp + fn) if tp + fn else 0.0
        spec = tn / (tn + fp) if tn + fp else 0.0
        metrics.append({
            "group_by": "InstitutionName", "value": value, "n": tp + fp + tn + fn, "n_pos": tp + fn,
            "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "sensitivity": {"est": sens, "ci95": [sens, sens]},
            "specificity": {"est": spec, "ci95": [spec, spec]},
            "auc": {"est": 0.5, "ci95": [0.0, 1.0], "method": "delong"},
            "insufficient": False,
        })
    report = {"schema": "shift-report/1", "strata_metrics": metrics, "root_causes": [],
              "not_causal": [], "pipeline_config": {}}
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=2)
    with open(os.path.join(out, "predictions_test.csv"), "w") as f:
        f.write("sop_instance_uid,score,decision\n")
        for name in sorted(os.listdir(os.path.join(src, "test"))):
            ds = pydicom.dcmread(os.path.join(src, "test", name))
            score, decision = p0(ds)
            f.write(f"{ds.SOPInstanceUID},{score},{decision}\n")


if __name__ == "__main__":
    main()
