#!/usr/bin/env bash
# Interop checks of `worksample synth` output against external DICOM tools (not run by cargo test;
# CI installs dicom3tools, dcmtk, libgdcm-tools and a pydicom venv, then runs this script).
#
# Usage: tests/interop/check-iods.sh WORKSAMPLE_BINARY PYTHON
#
# For every modality × transfer syntax (plus DX for processing, each vendor, and files without the
# preamble) it synthesizes a small study and checks every file with:
#   dciodvfy   IOD validation, zero "Error" lines (exit 1 on error). Deflated files are skipped:
#              dicom3tools 1.00~20220618 cannot read Deflated Explicit VR LE ("Seek failed").
#   dcmdump    parses with no "W:" or "E:" lines.
#   gdcminfo   exit status 0.
#   check_pixels.py  pydicom decodes each file to exactly the stored values of --pixel-manifest.
set -euo pipefail

bin=${1:?usage: check-iods.sh WORKSAMPLE_BINARY PYTHON}
python=${2:?usage: check-iods.sh WORKSAMPLE_BINARY PYTHON}
here=$(cd "$(dirname "$0")" && pwd)
for tool in dciodvfy dcmdump gdcminfo; do
    command -v "$tool" >/dev/null || { echo "check-iods: $tool not found (install dicom3tools, dcmtk, libgdcm-tools)" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

fail() {
    echo "FAIL $1" >&2
    failed=$((failed + 1))
}

# run NAME SYNTH_ARGS...: synthesize into $work/NAME and check every file.
run() {
    local name=$1
    shift
    local out="$work/$name"
    if ! "$bin" synth --seed 11 --rows 32 --columns 24 --slices 3 --out "$out" \
        --pixel-manifest "$work/$name.jsonl" "$@" >"$work/$name.summary" 2>"$work/$name.stderr"; then
        fail "$name: synth failed"
        cat "$work/$name.stderr" >&2
        return
    fi
    local deflated=0
    case " $* " in *" deflated "*) deflated=1 ;; esac
    local files
    files=$(find "$out" -type f -name '*.dcm' | sort)
    [ -n "$files" ] || { fail "$name: synth wrote no files"; return; }
    local f report
    for f in $files; do
        if [ "$deflated" = 0 ]; then
            if ! report=$(dciodvfy "$f" 2>&1) || grep -q '^Error' <<<"$report"; then
                fail "$name: dciodvfy ${f#"$out"/}"
                grep '^Error' <<<"$report" | head -5 >&2
                continue
            fi
        fi
        report=$(dcmdump "$f" 2>&1) || { fail "$name: dcmdump exit ${f#"$out"/}"; continue; }
        if grep -qE '^(W|E):' <<<"$report"; then
            fail "$name: dcmdump warnings ${f#"$out"/}"
            grep -E '^(W|E):' <<<"$report" | head -5 >&2
            continue
        fi
        gdcminfo "$f" >/dev/null 2>&1 || { fail "$name: gdcminfo ${f#"$out"/}"; continue; }
        passed=$((passed + 1))
    done
    if ! "$python" "$here/check_pixels.py" "$work/$name.jsonl" "$out" >"$work/$name.pixels" 2>&1; then
        fail "$name: pixel check"
        cat "$work/$name.pixels" >&2
    fi
}

for modality in CT MR DX CR SC; do
    for ts in implicit-le explicit-le explicit-be deflated rle; do
        run "$modality-$ts" --modality "$modality" --transfer-syntax "$ts"
    done
done
run DX-processing --modality DX --dx-intent processing
for vendor in ge siemens philips; do
    run "CT-$vendor" --modality CT --quirk "vendor=$vendor" --quirk charset=utf8
    run "MR-$vendor-latin1" --modality MR --quirk "vendor=$vendor" --quirk charset=latin1
done
run CT-tilt --modality CT --quirk gantry-tilt=20
run MR-sagittal --modality MR --quirk plane=sagittal
run CT-no-preamble --modality CT --quirk no-preamble

echo "check-iods: $passed passed, $failed failed"
[ "$failed" = 0 ]
