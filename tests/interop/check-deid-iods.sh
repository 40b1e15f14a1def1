#!/usr/bin/env bash
# Interop checks of the `deid` fixtures against external DICOM tools (not run by cargo test; CI
# installs dicom3tools, dcmtk and libgdcm-tools, then runs this script).
#
# Usage: tests/interop/check-deid-iods.sh WORKSAMPLE_BIN [SEEDS...]   (default seeds: 1 2 3)
#
# For both profiles (standard, hard) and every seed it writes a fixture set with
# `worksample generate deid` and checks every file with:
#   dciodvfy   zero "Error" lines, and no "Warning" line other than the justified ones below;
#   dcmdump    parses with no "W:" or "E:" lines;
#   gdcminfo   exit status 0.
#
# Justified dciodvfy warnings (each is a trap the fixtures plant on purpose, research/deid.md §4):
#   Patient's Address (0010,1040) and Patient's Telephone Numbers (0010,2154) are not in the
#     Patient module of any of these IODs: planted identifiers (T2) that Table E.1-1 removes (X).
#   "Standard Extended SOP Class": the consequence of the attributes above.
#   Curve group (50xx,xxxx) elements are retired and not in the IODs: the legacy curve trap
#     (T17, the (50XX,XXXX) row), planted only where the profile sets curve_data.
#   "Dicom dataset contains retired attributes": the consequence of the curve group.
set -euo pipefail

bin=${1:?usage: check-deid-iods.sh WORKSAMPLE_BIN [SEEDS...]}
shift
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3)
for tool in dciodvfy dcmdump gdcminfo; do
    command -v "$tool" >/dev/null || { echo "check-deid-iods: $tool not found (install dicom3tools, dcmtk, libgdcm-tools)" >&2; exit 2; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

justified='Patient'"'"'s Address|Patient'"'"'s Telephone Numbers|Standard Extended SOP Class|\(0x5000,0x[0-9a-f]{4}\)|contains retired attributes'
passed=0
failed=0
fail() {
    echo "FAIL $1" >&2
    failed=$((failed + 1))
}

for profile in standard hard; do
    for seed in "${seeds[@]}"; do
        out="$work/$profile-$seed"
        if ! "$bin" generate deid --seed "$seed" --profile "$profile" --out "$out" >"$work/summary" 2>"$work/stderr"; then
            fail "$profile seed $seed: generation failed"
            cat "$work/stderr" >&2
            continue
        fi
        while IFS= read -r -d '' f; do
            rel=${f#"$out"/}
            report=$(dciodvfy "$f" 2>&1) || true
            if grep -q '^Error' <<<"$report"; then
                fail "$profile/$seed dciodvfy errors: $rel"
                grep '^Error' <<<"$report" | head -5 >&2
                continue
            fi
            unjustified=$(grep '^Warning' <<<"$report" | grep -Ev "$justified" || true)
            if [ -n "$unjustified" ]; then
                fail "$profile/$seed dciodvfy unjustified warnings: $rel"
                head -5 <<<"$unjustified" >&2
                continue
            fi
            report=$(dcmdump "$f" 2>&1) || { fail "$profile/$seed dcmdump exit: $rel"; continue; }
            if grep -qE '^(W|E):' <<<"$report"; then
                fail "$profile/$seed dcmdump warnings: $rel"
                grep -E '^(W|E):' <<<"$report" | head -5 >&2
                continue
            fi
            gdcminfo "$f" >/dev/null 2>&1 || { fail "$profile/$seed gdcminfo: $rel"; continue; }
            passed=$((passed + 1))
        done < <(find "$out" -type f -name '*.dcm' -print0 | sort -z)
    done
done

echo "check-deid-iods: $passed files passed, $failed failed"
[ "$failed" = 0 ]
