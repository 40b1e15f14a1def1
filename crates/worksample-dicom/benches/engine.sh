#!/usr/bin/env bash
# Engine benchmark (issues 3 and 10): time `worksample synth` writing a 300-slice 512×512 16-bit
# CT against (a) a plain write of the same file sizes (examples/plain_write.rs) and (b) pydicom
# writing equivalent objects (benches/pydicom_write.py). Rounds are interleaved; every test starts
# after `rm` + `sync` so earlier dirty pages do not skew it. Whole-process wall time is measured
# for all three; pydicom's in-loop time (no interpreter start-up or imports) is reported too.
#
# Usage: crates/worksample-dicom/benches/engine.sh [ROUNDS]   (default 5)
# Env:   PYTHON   python with pydicom + numpy (default: /tmp/ws-bench-venv, created if missing)
#        BENCH_DIR scratch folder (default: a fresh mktemp -d, removed at exit)
set -euo pipefail

rounds="${1:-5}"
slices=300 rows=512 columns=512
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
here="$root/crates/worksample-dicom/benches"
cd "$root"

if [[ -z "${PYTHON:-}" ]]; then
    venv=/tmp/ws-bench-venv
    if ! "$venv/bin/python" -c 'import pydicom, numpy' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet pydicom numpy
    fi
    PYTHON="$venv/bin/python"
fi

cargo build --quiet --release -p worksample --bin worksample
cargo build --quiet --release -p worksample-dicom --example plain_write --example render_slice
synth="$root/target/release/worksample"
plain="$root/target/release/examples/plain_write"

scratch="${BENCH_DIR:-$(mktemp -d)}"
[[ -n "${BENCH_DIR:-}" ]] || trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch"
# Reference output: the sizes plain_write copies and the header pydicom starts from.
"$synth" synth --modality CT --slices "$slices" --rows "$rows" --columns "$columns" --seed 1 \
    --out "$scratch/reference" >/dev/null
reference_file="$(find "$scratch/reference" -name '*.dcm' | sort | head -n 1)"
bytes="$(find "$scratch/reference" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"

now() { date +%s.%N; }
declare -A times
run() { # name command...
    local name="$1" out="$scratch/out" t0 t1
    shift
    rm -rf "$out"
    sync
    t0="$(now)"
    "$@" "$out" >"$scratch/$name.log"
    t1="$(now)"
    times[$name]+="$(echo "$t1 - $t0" | bc -l) "
    if [[ "$name" == pydicom ]]; then
        times[pydicom_loop]+="$(awk '/^loop_seconds/ {print $2}' "$scratch/$name.log") "
    fi
}
synth_cmd() { "$synth" synth --modality CT --slices "$slices" --rows "$rows" --columns "$columns" --seed 1 --out "$1"; }
plain_cmd() { "$plain" "$scratch/reference" "$1"; }
pydicom_cmd() { "$PYTHON" "$here/pydicom_write.py" "$reference_file" "$1" "$slices"; }

for ((i = 1; i <= rounds; i++)); do
    run synth synth_cmd
    run plain plain_cmd
    run pydicom pydicom_cmd
done
rm -rf "$scratch/out"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f–%.3f", lo, hi}'; }
m_synth="$(median <<<"${times[synth]}")"
m_plain="$(median <<<"${times[plain]}")"
m_py="$(median <<<"${times[pydicom]}")"
m_pyloop="$(median <<<"${times[pydicom_loop]}")"

echo "engine benchmark: CT ${slices}×${rows}×${columns} 16-bit, $(du -sb "$scratch/reference" | cut -f1) bytes on disk ($bytes in files), $rounds interleaved rounds, $(nproc) cores, page cache (no fsync)"
printf '| %-44s | %-9s | %-15s |\n' test "median s" "min–max s"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..17})"
printf '| %-44s | %9.3f | %-15s |\n' "worksample synth (render + encode + write)" "$m_synth" "$(range <<<"${times[synth]}")"
printf '| %-44s | %9.3f | %-15s |\n' "plain write of the same file sizes" "$m_plain" "$(range <<<"${times[plain]}")"
printf '| %-44s | %9.3f | %-15s |\n' "pydicom write, whole process" "$m_py" "$(range <<<"${times[pydicom]}")"
printf '| %-44s | %9.3f | %-15s |\n' "pydicom write, in-loop only" "$m_pyloop" "$(range <<<"${times[pydicom_loop]}")"
echo
echo "synth / plain            = $(echo "scale=2; $m_synth / $m_plain" | bc -l)   (target ≤ 1.5)"
echo "pydicom / synth          = $(echo "scale=2; $m_py / $m_synth" | bc -l)   (target ≥ 4, whole process)"
echo "pydicom in-loop / synth  = $(echo "scale=2; $m_pyloop / $m_synth" | bc -l)"
echo
echo "pixel rendering alone, one thread (examples/render_slice.rs):"
"$root/target/release/examples/render_slice" 30 | sed 's/^/  /'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on this machine skew every number)"
