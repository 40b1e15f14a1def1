#!/usr/bin/env bash
# Engine benchmark (issue 3; crates/worksample-bench/run.sh has the same rows among the rest):
# a 300-slice 512×512 16-bit CT written by
#   - `worksample synth`, end to end (draw, render, encode, write), whole process;
#   - the engine's writer alone (examples/write_stage.rs: the same objects built in memory first,
#     untimed, then written as synth writes them; its files are checked against synth's);
#   - a plain write of the same file sizes (examples/plain_write.rs);
#   - pydicom writing equivalent objects it already holds (benches/pydicom_write.py).
# The last three report their write loop's time (no start-up), so writer, plain write and pydicom
# are compared loop to loop; synth is compared with the plain write's whole process. Rounds are
# interleaved; each write goes into a new folder, the previous one synced and its page cache
# dropped, and nothing is deleted until the end (crates/worksample-bench/evict.py says why).
#
# Usage: crates/worksample-dicom/benches/engine.sh [ROUNDS]   (default 5)
# Env:   PYTHON   python with pydicom + numpy (default: /tmp/ws-bench-venv, created if missing)
#        BENCH_DIR scratch folder (default: a fresh mktemp -d, removed at exit)
#        BENCH_VERBOSE non-empty: print every round's times at the end
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
cargo build --quiet --release -p worksample-dicom --example plain_write --example render_slice --example write_stage
synth="$root/target/release/worksample"
plain="$root/target/release/examples/plain_write"
stage="$root/target/release/examples/write_stage"

scratch="${BENCH_DIR:-$(mktemp -d)}"
if [[ -n "${BENCH_DIR:-}" ]]; then trap 'rm -rf "$scratch"/write.*' EXIT; else trap 'rm -rf "$scratch"' EXIT; fi
mkdir -p "$scratch"
# Reference output: the sizes plain_write copies and the header pydicom starts from.
"$synth" synth --modality CT --slices "$slices" --rows "$rows" --columns "$columns" --seed 1 \
    --out "$scratch/reference" >/dev/null
reference_file="$(find "$scratch/reference" -name '*.dcm' | sort | head -n 1)"
bytes="$(find "$scratch/reference" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"

now() { date +%s.%N; }
declare -A times
writes=0
out=""
run() { # name command...: whole-process time into times[name], the loop's into times[name_loop]
    local name="$1" t0 t1 loop
    shift
    sync
    # The previous write's page cache goes, the files stay: see crates/worksample-bench/evict.py.
    [[ -z "$out" ]] || "$PYTHON" "$root/crates/worksample-bench/evict.py" "$out"
    writes=$((writes + 1))
    out="$scratch/write.$writes"
    t0="$(now)"
    "$@" "$out" >"$scratch/$name.log"
    t1="$(now)"
    times[$name]+="$(echo "$t1 - $t0" | bc -l) "
    loop="$(awk '/^loop_seconds/ {print $2}' "$scratch/$name.log")"
    [[ -z "$loop" ]] || times[${name}_loop]+="$loop "
}
synth_cmd() { "$synth" synth --modality CT --slices "$slices" --rows "$rows" --columns "$columns" --seed 1 --out "$1"; }
plain_cmd() { "$plain" "$scratch/reference" "$1"; }
pydicom_cmd() { "$PYTHON" "$here/pydicom_write.py" "$reference_file" "$1" "$slices"; }
stage_cmd() { "$stage" "$1" "$slices" "$rows" "$columns" 1; }

for ((i = 1; i <= rounds; i++)); do
    run synth synth_cmd
    run plain plain_cmd
    run pydicom pydicom_cmd
    run stage stage_cmd
    if ((i == 1)) && ! diff -r "$scratch/reference" "$out" >/dev/null; then
        echo "engine.sh: write_stage's files differ from synth's" >&2
        exit 1
    fi
done
rm -rf "$scratch"/write.*
[[ -z "${BENCH_VERBOSE:-}" ]] || for k in "${!times[@]}"; do echo "$k: ${times[$k]}" >&2; done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
range() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.3f–%.3f", lo, hi}'; }
m_synth="$(median <<<"${times[synth]}")"
m_plain="$(median <<<"${times[plain]}")"
m_py="$(median <<<"${times[pydicom]}")"
m_pyloop="$(median <<<"${times[pydicom_loop]}")"
m_plainloop="$(median <<<"${times[plain_loop]}")"
m_stage="$(median <<<"${times[stage_loop]}")"

echo "engine benchmark: CT ${slices}×${rows}×${columns} 16-bit, $(du -sb "$scratch/reference" | cut -f1) bytes on disk ($bytes in files), $rounds interleaved rounds, $(nproc) cores, page cache (no fsync)"
printf '| %-44s | %-9s | %-15s |\n' test "median s" "min–max s"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..17})"
printf '| %-44s | %9.3f | %-15s |\n' "worksample synth (render + encode + write)" "$m_synth" "$(range <<<"${times[synth]}")"
printf '| %-44s | %9.3f | %-15s |\n' "plain write of the same file sizes" "$m_plain" "$(range <<<"${times[plain]}")"
printf '| %-44s | %9.3f | %-15s |\n' "engine writer alone, in-loop (write_stage)" "$m_stage" "$(range <<<"${times[stage_loop]}")"
printf '| %-44s | %9.3f | %-15s |\n' "plain write, in-loop only" "$m_plainloop" "$(range <<<"${times[plain_loop]}")"
printf '| %-44s | %9.3f | %-15s |\n' "pydicom write, whole process" "$m_py" "$(range <<<"${times[pydicom]}")"
printf '| %-44s | %9.3f | %-15s |\n' "pydicom write, in-loop only" "$m_pyloop" "$(range <<<"${times[pydicom_loop]}")"
echo
echo "writer / plain, in-loop          = $(echo "scale=2; $m_stage / $m_plainloop" | bc -l)   (target ≤ 1.5)"
echo "pydicom / writer, in-loop         = $(echo "scale=2; $m_pyloop / $m_stage" | bc -l)   (target ≥ 4)"
echo "synth / plain, whole process      = $(echo "scale=2; $m_synth / $m_plain" | bc -l)   (rendering included)"
echo "pydicom / synth, whole process    = $(echo "scale=2; $m_py / $m_synth" | bc -l)"
echo "pydicom in-loop / synth           = $(echo "scale=2; $m_pyloop / $m_synth" | bc -l)"
echo
echo "pixel rendering alone, one thread (examples/render_slice.rs):"
"$root/target/release/examples/render_slice" 30 | sed 's/^/  /'
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on this machine skew every number)"
