#!/usr/bin/env python3
"""Reference solution of the worksample `shift` task, with pydicom and numpy.

Usage: shift_reference.py INPUT OUTPUT

Follows tasks/shift/brief.md and nothing else: P0's per-stratum metrics with Wilson and DeLong
intervals, the strata that fail diagnosed from their headers and pixels, effects with Newcombe
intervals and Holm's correction, a corrected configuration, and the test predictions that
configuration gives. An independent check that the brief, the published schema and the grader
agree.
"""

import csv
import json
import math
import os
import sys

import numpy as np
import pydicom

Z = 1.959963984540054
GROUPS = ["InstitutionName", "StationName", "ManufacturerModelName", "ConvolutionKernel",
          "SoftwareVersions", "SliceThickness", "PatientSex", "AgeBand"]
KEYWORDS = ["InstitutionName", "StationName", "Manufacturer", "ManufacturerModelName",
            "SoftwareVersions", "ConvolutionKernel", "SliceThickness", "ProtocolName", "KVP",
            "PhotometricInterpretation", "PatientSex"]


# ---------------------------------------------------------------- statistics

def wilson(k, n):
    if n == 0:
        return 0.0, 0.0, 1.0
    p = k / n
    denom = 1 + Z * Z / n
    centre = (p + Z * Z / (2 * n)) / denom
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / denom
    return p, max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1, n1, k2, n2):
    p1, l1, u1 = wilson(k1, n1)
    p2, l2, u2 = wilson(k2, n2)
    d = p1 - p2
    return d, d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def two_proportion_p(k1, n1, k2, n2):
    if n1 == 0 or n2 == 0:
        return 1.0
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se <= 0:
        return 1.0
    z = abs(k1 / n1 - k2 / n2) / se
    return min(1.0, math.erfc(z / math.sqrt(2)))


def holm(p):
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, p[i] * (len(p) - rank)))
        out[i] = running
    return out


def auc_delong(pos, neg):
    if not pos or not neg:
        return 0.5, 0.0, 1.0
    pos, neg = np.asarray(pos, float), np.asarray(neg, float)
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    auc = float(psi.mean())
    if len(pos) < 2 or len(neg) < 2:
        return auc, 0.0, 1.0
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    se = math.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg))
    return auc, max(0.0, auc - Z * se), min(1.0, auc + Z * se)


class Confusion:
    def __init__(self, pairs):
        self.tp = sum(1 for label, pos in pairs if label and pos)
        self.fn = sum(1 for label, pos in pairs if label and not pos)
        self.tn = sum(1 for label, pos in pairs if not label and not pos)
        self.fp = sum(1 for label, pos in pairs if not label and pos)
        self.n_pos, self.n_neg = self.tp + self.fn, self.tn + self.fp

    def ba(self):
        s = self.tp / self.n_pos if self.n_pos else 0.5
        t = self.tn / self.n_neg if self.n_neg else 0.5
        return (s + t) / 2


# ---------------------------------------------------------------- reading

def text(ds, keyword):
    elem = ds.get(keyword)
    if elem is None or elem == "":
        return ""
    if isinstance(elem, pydicom.multival.MultiValue):
        return "\\".join(str(v).strip() for v in elem)
    return str(elem).strip()


def age_band(age):
    age = age.strip()
    if not age.endswith("Y") or not age[:-1].isdigit():
        return ""
    years = int(age[:-1])
    return "<40" if years < 40 else "40-59" if years < 60 else "60-79" if years < 80 else "80+"


def first_number(ds, keyword, default=None):
    v = ds.get(keyword)
    if v is None or v == "":
        return default
    if isinstance(v, pydicom.multival.MultiValue):
        v = v[0]
    return float(v)


class Item:
    def __init__(self, path):
        ds = pydicom.dcmread(path)
        self.ds = ds
        self.uid = str(ds.SOPInstanceUID)
        self.attrs = {k: text(ds, k) for k in KEYWORDS}
        self.attrs["AgeBand"] = age_band(text(ds, "PatientAge"))
        self.label = None
        self.p0 = None
        bits_alloc = int(ds.BitsAllocated)
        raw = np.frombuffer(ds.PixelData, dtype="<u2" if bits_alloc == 16 else "u1")
        self.raw = raw[: int(ds.Rows) * int(ds.Columns)].astype(np.int64).reshape(int(ds.Rows), int(ds.Columns))

    def stored(self, mode):
        """Stored values: the words as unsigned (u16) or by Bits Stored and Pixel Representation."""
        if mode == "u16":
            return self.raw.copy()
        ds = self.ds
        bits = max(1, min(int(ds.BitsStored), int(ds.BitsAllocated), 16))
        v = self.raw & ((1 << bits) - 1)
        if int(ds.PixelRepresentation) == 1:
            v = np.where(v & (1 << (bits - 1)), v - (1 << bits), v)
        return v

    def attr(self, k):
        return self.attrs.get(k, "")


def matches(item, selector):
    return all(item.attr(k) == v.strip() for k, v in selector.items())


# ---------------------------------------------------------------- the pipeline (brief: P0, exactly)

def largest_component(mask):
    """(size, boolean mask) of the largest 8-connected component, ties to the first in raster order."""
    rows, cols = mask.shape
    flat = mask.ravel()
    labels = np.zeros(flat.size, dtype=np.int32)
    best_size, best_label, current = 0, 0, 0
    for start in np.flatnonzero(flat):
        if labels[start]:
            continue
        current += 1
        labels[start] = current
        stack, size = [int(start)], 0
        while stack:
            i = stack.pop()
            size += 1
            y, x = divmod(i, cols)
            for yy in range(max(y - 1, 0), min(y + 2, rows)):
                base = yy * cols
                for xx in range(max(x - 1, 0), min(x + 2, cols)):
                    j = base + xx
                    if flat[j] and not labels[j]:
                        labels[j] = current
                        stack.append(j)
        if size > best_size:
            best_size, best_label = size, current
    return best_size, (labels == best_label).reshape(mask.shape) if best_label else np.zeros_like(mask)


def median3(values, r):
    padded = np.pad(values, r, mode="edge")
    rows, cols = values.shape
    stack = [padded[dy:dy + rows, dx:dx + cols] for dy in range(2 * r + 1) for dx in range(2 * r + 1)]
    return np.median(np.stack(stack), axis=0)


def predict(config, item):
    ds = item.ds
    if config.get("gate", "none") == "rescale_type_hu":
        rt = text(ds, "RescaleType")
        image_type = ds.get("ImageType", [])
        if (rt and rt.upper() != "HU") or (len(image_type) and str(image_type[0]).upper() == "DERIVED"):
            return 0.0, "REJECT"
    header = item.stored("header")
    values = item.stored(config.get("decode", "u16"))
    pad = ds.get("PixelPaddingValue")
    if config.get("padding", "ignore") == "mask" and pad is not None:
        padded = header == int(pad)
    else:
        padded = np.zeros(values.shape, dtype=bool)
    if config.get("modality_lut", "fixed") == "header":
        slope, intercept = first_number(ds, "RescaleSlope", 1.0), first_number(ds, "RescaleIntercept", 0.0)
    else:
        slope, intercept = 1.0, -1024.0
    add = next((o["add_hu"] for o in config.get("hu_offset", []) if matches(item, o["selector"])), 0.0)
    hu = slope * values.astype(float) + intercept + add
    body = None
    if config.get("mask", "none") == "body":
        _, body = largest_component((hu > -500.0) & ~padded)
    denoise = next((d for d in config.get("denoise", []) if matches(item, d["selector"])), None)
    if denoise is not None:
        hu = median3(hu, int(denoise["radius_px"]))
    window = config.get("window", {"mode": "header"})
    if window["mode"] == "fixed":
        c, w = float(window["center"]), float(window["width"])
    else:
        c, w = first_number(ds, "WindowCenter", 50.0), first_number(ds, "WindowWidth", 100.0)
    w = w if w > 0 else 1.0
    x = np.clip((hu - (c - w / 2.0)) / w, 0.0, 1.0)
    if config.get("photometric", "ignore") == "header" and text(ds, "PhotometricInterpretation") == "MONOCHROME1":
        x = 1.0 - x
    lo, hi = config.get("band", [0.55, 0.95])
    candidate = (x >= lo) & (x < hi) & ~padded
    if body is not None:
        candidate &= body
    n, _ = largest_component(candidate)
    if config.get("spacing", "fixed") == "pixel_spacing" and ds.get("PixelSpacing"):
        sr, sc = float(ds.PixelSpacing[0]), float(ds.PixelSpacing[1])
    else:
        sr = sc = 0.9
    score = n * sr * sc
    return score, "POS" if score >= config.get("area_threshold_mm2", 12.0) else "NEG"


# ---------------------------------------------------------------- measurements

def true_hu(item):
    ds = item.ds
    return first_number(ds, "RescaleSlope", 1.0) * item.stored("header").astype(float) + first_number(ds, "RescaleIntercept", 0.0)


def noise_sd(items):
    diffs = []
    for item in [i for i in items if i.label is False][:6]:
        hu = true_hu(item)
        a, b = hu[:, :-1], hu[:, 1:]
        ok = (a >= -100) & (a < 200) & (b >= -100) & (b < 200)
        diffs.append((a - b)[ok])
    d = np.abs(np.concatenate(diffs))
    return float(np.sort(d)[len(d) // 2]) / (0.67449 * math.sqrt(2))


def lesion_contrast(items):
    contrasts = []
    for item in [i for i in items if i.label is True]:
        smooth = median3(true_hu(item), 1)
        size, lesion = largest_component((smooth >= 42) & (smooth < 200))
        if size:
            contrasts.append(float(smooth[lesion].mean()) - 33.0)
    contrasts.sort()
    return contrasts[len(contrasts) // 2] if contrasts else 0.0


# ---------------------------------------------------------------- the solution

def main():
    if len(sys.argv) != 3:
        sys.exit("usage: shift_reference.py INPUT OUTPUT")
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    labels = {r["sop_instance_uid"]: r["label"] == "1" for r in csv.DictReader(open(os.path.join(src, "dev_labels.csv")))}
    p0 = {r["sop_instance_uid"]: (float(r["score"]), r["decision"] == "POS") for r in csv.DictReader(open(os.path.join(src, "p0_dev.csv")))}
    reference_site = json.load(open(os.path.join(src, "deployment.json")))["reference_site"]

    def read(sub):
        return [Item(os.path.join(src, sub, name)) for name in sorted(os.listdir(os.path.join(src, sub))) if name.endswith(".dcm")]

    dev, test = read("dev"), read("test")
    for item in dev:
        item.label, item.p0 = labels[item.uid], p0[item.uid]

    def confusion(items):
        return Confusion([(i.label, i.p0[1]) for i in items])

    cells = []
    for g in GROUPS:
        for v in sorted({i.attr(g) for i in dev}):
            items = [i for i in dev if i.attr(g) == v]
            c = confusion(items)
            s, t = wilson(c.tp, c.n_pos), wilson(c.tn, c.n_neg)
            a = auc_delong([i.p0[0] for i in items if i.label], [i.p0[0] for i in items if not i.label])
            cells.append({"group_by": g, "value": v, "n": len(items), "n_pos": c.n_pos,
                          "tp": c.tp, "fp": c.fp, "tn": c.tn, "fn": c.fn,
                          "sensitivity": {"est": s[0], "ci95": [s[1], s[2]]},
                          "specificity": {"est": t[0], "ci95": [t[1], t[2]]},
                          "auc": {"est": a[0], "ci95": [a[1], a[2]], "method": "delong"},
                          "insufficient": c.n_pos < 10 or c.n_neg < 10})

    reference = [i for i in dev if i.attr("InstitutionName") == reference_site]
    rc = confusion(reference)
    ref_noise, ref_contrast = noise_sd(reference), lesion_contrast(reference)

    # Strata: (station, software, kernel) combinations, each as the smallest exact selector.
    combos = sorted({(i.attr("StationName"), i.attr("SoftwareVersions"), i.attr("ConvolutionKernel")) for i in dev})
    judged = []
    for st, sw, k in combos:
        same = [c for c in combos if c[0] == st]
        sel = {"StationName": st}
        if any(c[1] != sw for c in same):
            sel["SoftwareVersions"] = sw
        if any(c[2] != k for c in same):
            sel["ConvolutionKernel"] = k
        items = [i for i in dev if matches(i, sel)]
        if items[0].attr("InstitutionName") == reference_site:
            continue
        c = confusion(items)
        if c.n_pos < 10 or c.n_neg < 10:
            continue
        judged.append((sel, items, c))
    pvals = []
    for _, _, c in judged:
        pvals += [two_proportion_p(c.tp, c.n_pos, rc.tp, rc.n_pos), two_proportion_p(c.tn, c.n_neg, rc.tn, rc.n_neg)]
    adjusted = holm(pvals)

    config = {"decode": "header", "padding": "mask", "modality_lut": "header",
              "window": {"mode": "fixed", "center": 50, "width": 100}, "photometric": "header",
              "mask": "body", "spacing": "pixel_spacing", "hu_offset": [], "denoise": []}
    claims, not_causal = [], []
    for n, (sel, items, c) in enumerate(judged):
        affected = (adjusted[2 * n] < 0.05 or adjusted[2 * n + 1] < 0.05) and rc.ba() - c.ba() >= 0.1
        if not affected:
            not_causal.append({"selector": sel, "examined": ["(0028,0103)", "(0028,0120)", "(0028,1052)", "(0028,1050)", "(0028,0030)", "(0018,1210)", "(0018,0050)"]})
            continue
        sens = newcombe(c.tp, c.n_pos, rc.tp, rc.n_pos)
        spec = newcombe(c.tn, c.n_neg, rc.tn, rc.n_neg)
        if abs(sens[0]) >= abs(spec[0]):
            effect = {"metric": "sensitivity", "p0": c.tp / c.n_pos, "reference": rc.tp / rc.n_pos, "diff_ci95": [sens[1], sens[2]]}
        else:
            effect = {"metric": "specificity", "p0": c.tn / c.n_neg, "reference": rc.tn / rc.n_neg, "diff_ci95": [spec[1], spec[2]]}

        def claim(cause, tags, evidence):
            claims.append({"cause": cause, "selector": sel, "evidence_tags": tags, "evidence": evidence, "effect": effect})

        ds = items[0].ds
        intercept, slope = first_number(ds, "RescaleIntercept", 0.0), first_number(ds, "RescaleSlope", 1.0)
        wc, ww = first_number(ds, "WindowCenter", 50.0), first_number(ds, "WindowWidth", 100.0)
        ps = float(ds.PixelSpacing[0])
        burned = [text(i.ds, "BurnedInAnnotation") == "YES" for i in items]
        if text(ds, "PhotometricInterpretation") == "MONOCHROME1":
            claim("MONOCHROME1_IGNORED", ["(0028,0004)"], {})
        elif intercept != -1024.0 or slope != 1.0:
            claim("RESCALE_IGNORED", ["(0028,1052)"], {"hu_offset_p0": -1024.0 - intercept})
        elif (wc, ww) != (50.0, 100.0):
            claim("HEADER_WINDOW_USED", ["(0028,1050)", "(0028,1051)"], {"header_window_center": wc, "header_window_width": ww})
        elif abs(ps - 0.9) > 1e-6:
            claim("PIXEL_SPACING_IGNORED", ["(0028,0030)"], {"area_scale_p0": (0.9 / ps) ** 2})
        elif any(burned):
            claim("BURNED_IN_ANNOTATION", ["(0028,0301)"], {"annotated_fraction": sum(burned) / len(burned)})
        elif float(items[0].attr("SliceThickness") or 0) >= 4.0:
            claim("SLICE_THICKNESS_PV", ["(0018,0050)"], {"lesion_contrast_ratio": lesion_contrast(items) / ref_contrast})
            config["hu_offset"].append({"selector": sel, "add_hu": 12.0})
        else:
            sd = noise_sd(items)
            if sd > 2 * ref_noise:
                claim("KERNEL_NOISE", ["(0018,1210)"], {"noise_sd_hu": sd})
                config["denoise"].append({"selector": sel, "filter": "median", "radius_px": 1})

    report = {"schema": "shift-report/1", "strata_metrics": cells, "root_causes": claims,
              "not_causal": not_causal, "pipeline_config": config}
    with open(os.path.join(out, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    with open(os.path.join(out, "predictions_test.csv"), "w") as f:
        f.write("sop_instance_uid,score,decision\n")
        for item in test:
            score, decision = predict(config, item)
            f.write(f"{item.uid},{score},{decision}\n")


if __name__ == "__main__":
    main()
