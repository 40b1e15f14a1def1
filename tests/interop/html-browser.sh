#!/usr/bin/env bash
# The assessor's HTML report and the cohort page in headless Chromium: no console errors (a CSP
# violation, a failed load or a script error would log one), the expected elements in the DOM
# (score card, every criterion, figures as <img>, the ranking the scores imply), and a
# screenshot of the expected size that is not blank. Never pixel-exact.
#
# The cohort is five reports on one fixture folder: the pydicom reference (run by `worksample
# run`, so it has real run resources), the built-in starter, and three mutants of the
# reference's output.
#
# Usage: tests/interop/html-browser.sh WORKSAMPLE_BINARY
# Environment: WORKSAMPLE_PYTHON, a Python with pydicom and numpy (default: python3);
#              CHROMIUM, the browser (default: chromium).
set -euo pipefail
bin="$(realpath "$1")"
py="${WORKSAMPLE_PYTHON:-python3}"
chromium="${CHROMIUM:-chromium}"
cd "$(dirname "$0")/../.."
repo="$PWD"
"$py" -c 'import pydicom, numpy' || { echo "html-browser: $py lacks pydicom/numpy" >&2; exit 1; }
command -v "$chromium" >/dev/null || { echo "html-browser: $chromium not found" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
seed=11
width=1280
height=2000

echo "html-browser: fixtures and five submissions (seed $seed)"
"$bin" generate series --seed "$seed" --out fixtures >/dev/null
"$bin" run series --seed "$seed" --format json,html --audience assessor --out reports/reference \
  --keep-output subs/reference -- "$py" "$repo/tests/python/series_reference.py" {input} {output}
"$bin" starter series fixtures subs/starter
python3 - <<'EOF'
import json, os
ref = json.load(open("subs/reference/volumes.json"))

def mutant(name, edit):
    doc = json.loads(json.dumps(ref))
    edit(doc)
    os.makedirs(f"subs/{name}", exist_ok=True)
    json.dump(doc, open(f"subs/{name}/volumes.json", "w"))

def reverse_some(doc):
    for v in doc["volumes"][::2]:
        v["instances"].reverse()

def drop_flags(doc):
    for v in doc["volumes"]:
        v["anomalies"] = []

def merge_pairs(doc):
    vs = doc["volumes"]
    for a, b in zip(vs[0::2], vs[1::2]):
        a["instances"] += b["instances"]
    doc["volumes"] = vs[0::2]

mutant("reversed", reverse_some)
mutant("no-flags", drop_flags)
mutant("merged", merge_pairs)
EOF
for name in starter reversed no-flags merged; do
  "$bin" grade series --fixtures fixtures --submission "subs/$name" --format json,html \
    --audience assessor --out "reports/$name"
done
for name in reference starter reversed no-flags merged; do
  cp "reports/$name/report.json" "$name.json"
done
"$bin" cohort --format html --out cohort.html reference.json starter.json reversed.json no-flags.json merged.json

# A blank page of the same size: the control the screenshots must differ from.
printf '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>blank</title></head><body></body></html>\n' > blank.html

browse() { # browse PAGE NAME: screenshot, DOM and console log of one page
  "$chromium" --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size="$width,$height" --virtual-time-budget=5000 \
    --enable-logging=stderr --v=0 --screenshot="$work/$2.png" "file://$work/$1" \
    2>"$2.screenshot.log" >/dev/null
  "$chromium" --headless=new --no-sandbox --disable-gpu --virtual-time-budget=5000 \
    --enable-logging=stderr --v=0 --dump-dom "file://$work/$1" >"$2.dom.html" 2>"$2.dom.log"
  if grep -h ':CONSOLE' "$2.screenshot.log" "$2.dom.log"; then
    echo "html-browser: $1 logged console messages (above)" >&2
    exit 1
  fi
}
browse reports/reference/report.html report
browse cohort.html cohort
browse blank.html blank

echo "html-browser: checking DOM and screenshots"
python3 - "$width" "$height" <<'EOF'
import json, struct, sys, zlib

width, height = int(sys.argv[1]), int(sys.argv[2])
fail = []

def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        fail.append(what)

# The report page: score card, every criterion, debrief prompts, every tile as an image.
dom = open("report.dom.html").read()
ref = json.load(open("reference.json"))
check('id="score-card"' in dom, "report: score card")
for c in ref["criteria"]:
    check(f'id="criterion-{c["id"]}"' in dom, f'report: criterion {c["id"]}')
tiles = sum(len(f["kind"].get("tiles", [])) for f in ref.get("figures", []))
check(tiles > 0, f"report: {tiles} thumbnails in the JSON")
check(dom.count('src="data:image/png;base64,') == tiles, "report: every thumbnail is an <img>")
check('id="run"' in dom and "Peak memory" in dom, "report: run resources")

# The cohort page: one row per report, in the order of the totals.
dom = open("cohort.dom.html").read()
names = ["reference", "starter", "reversed", "no-flags", "merged"]
totals = {n: json.load(open(f"{n}.json"))["total"]["points"] for n in names}
print("totals:", totals)
check(dom.count('class="cohort-row"') == len(names), "cohort: five rows")
shown = sorted(names, key=lambda n: dom.index(f'id="row-{n}-json"'))
check([totals[n] for n in shown] == sorted(totals.values(), reverse=True),
      f"cohort: rows in score order {shown}")
check(shown[0] == "reference", "cohort: the reference ranks first")
check('id="spread-table"' in dom, "cohort: spread table")

# Screenshots: PNGs of the window's size, far from blank. A blank page compresses to almost
# nothing; rendered text and thumbnails do not.
def png_info(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    w, h = struct.unpack(">II", data[16:24])
    idat, pos = b"", 8
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw = zlib.decompress(idat)
    return w, h, len(data), len(set(raw))

blank = png_info("blank.png")
for name in ["report", "cohort"]:
    w, h, size, distinct = png_info(f"{name}.png")
    check((w, h) == (width, height), f"{name}.png is {w}x{h}")
    check(size > 5 * blank[2], f"{name}.png ({size} B) is not blank ({blank[2]} B)")
    check(distinct > 32, f"{name}.png has {distinct} distinct byte values")
sys.exit(1 if fail else 0)
EOF
echo "html-browser: ok"
