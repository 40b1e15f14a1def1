#!/usr/bin/env bash
# The benchmark suite of issue 10, in one run: generation, grading, `worksample run` overhead and
# peak memory, side by side with a plain write, a full dicom-rs read and pydicom, as medians of
# ROUNDS interleaved rounds. Not run by .ci/run (minutes, and timing is not a test).
#
# Usage: bash crates/worksample-bench/run.sh [ROUNDS]          (default 5)
# Env:   PYTHON     python with pydicom, numpy and scipy (default: /tmp/ws-bench-venv, created if
#                   missing)
#        BENCH_DIR  scratch folder (default: a fresh mktemp -d, removed at exit)
#        RSS_FILES  file counts of the memory rows (default "100 1000 5000")
#        BENCH_VERBOSE  non-empty: print every timing as it is taken
#
# What each row times (whole process unless marked, page cache, `sync` before every generation
# so earlier dirty pages do not skew it; each generation writes into a new folder, whose page
# cache is dropped once it is synced, and nothing is deleted until the end, see next_out and
# evict.py; `run` still deletes its own staging folder, so its rows come last):
#   generation   `worksample generate TASK --profile hard` for every task `worksample list` prints,
#                and `worksample synth` of a 300-slice 512×512 CT; against `plain_write` (the same
#                file sizes with std::fs::write) and pydicom writing the same objects
#                (pydicom_bench.py write: objects read beforehand, untimed; its in-loop time).
#   CT write     the engine's writer alone (examples/write_stage.rs: the CT's objects built in
#                memory first, untimed, then written as synth writes them, byte for byte the
#                same files, checked once with diff): its in-loop time against plain_write's and
#                pydicom's in-loop times, three loops writing the same bytes.
#   grading      `worksample grade TASK` of the hard fixtures, as an assessor (JSON with every
#                figure drawn; a candidate's report draws none); against `dicom_read` (a full
#                dicom-rs read of the same files) and the pydicom checks: for series the Python
#                reference solution (tests/python/series_reference.py, whole process); for shift
#                the grader's replay of the reference solution's pipeline_config over the test
#                slices (pydicom_bench.py replay: pydicom, numpy, scipy's labeller; whole
#                process; its scores and decisions must equal the reference's, checked once);
#                for deid a full pydicom read of the fixtures (pydicom_bench.py read, whole
#                process). The series and shift submissions are their reference solutions'
#                output (made once, untimed); deid is graded on an empty submission (every check
#                still runs against the key).
#   run          `worksample run TASK --profile hard -- true` against `worksample generate` alone,
#                on the scratch folder's file system and again with both on tmpfs (/dev/shm,
#                TMPDIR for run's staging folder) when there is one.
#   memory       peak RSS (/usr/bin/time %M) of `worksample synth` (256×256 CT) and of series
#                generate + grade with min_files raised in a --tasks-dir copy, one run each.
set -euo pipefail

# dicom-rs captures a backtrace for each error it builds internally when these are set (a shell
# left with RUST_BACKTRACE=1 from debugging); users run without them, so the suite does too.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE

rounds="${1:-5}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
here="$root/crates/worksample-bench"
cd "$root"

if [[ -z "${PYTHON:-}" ]]; then
    venv=/tmp/ws-bench-venv
    if ! "$venv/bin/python" -c 'import pydicom, numpy, scipy' 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet pydicom numpy scipy
    fi
    PYTHON="$venv/bin/python"
fi
"$PYTHON" -c 'import pydicom, numpy, scipy' || { echo "run.sh: $PYTHON lacks pydicom/numpy/scipy" >&2; exit 2; }

echo "building (release)…" >&2
cargo build --quiet --release -p worksample --bin worksample
cargo build --quiet --release -p worksample-dicom --example plain_write --example write_stage
cargo build --quiet --release -p worksample-bench
ws="$root/target/release/worksample"
plain="$root/target/release/examples/plain_write"
stage="$root/target/release/examples/write_stage"
dread="$root/target/release/dicom_read"

scratch="${BENCH_DIR:-$(mktemp -d)}"
# A kept BENCH_DIR loses only the timed writes (a run cut short would leave them for the next).
shm="" # the tmpfs scratch folder of the `run` rows, once made
if [[ -n "${BENCH_DIR:-}" ]]; then trap 'rm -rf "$scratch"/write.* ${shm:+"$shm"}' EXIT; else trap 'rm -rf "$scratch" ${shm:+"$shm"}' EXIT; fi
mkdir -p "$scratch"
tasks=$("$ws" list | awk '{print $1}' | tr '\n' ' ')
ct_size=(300 512 512 1) # slices rows columns seed
ct=(synth --modality CT --slices "${ct_size[0]}" --rows "${ct_size[1]}" --columns "${ct_size[2]}" --seed "${ct_size[3]}")

# Untimed references: fixtures whose sizes plain_write copies, objects pydicom rewrites and files
# the graders read; the series and shift reference solutions' outputs as their submissions.
echo "references…" >&2
ref="$scratch/ref"
rm -rf "$ref"
mkdir -p "$ref/empty"
for t in $tasks; do
    "$ws" generate "$t" --profile hard --seed 1 --out "$ref/$t" >/dev/null
done
"$ws" "${ct[@]}" --out "$ref/ct300" >/dev/null
for t in series shift; do
    if [[ " $tasks " == *" $t "* ]]; then
        mkdir -p "$ref/$t-out"
        "$PYTHON" "tests/python/${t}_reference.py" "$ref/$t" "$ref/$t-out" >/dev/null
    fi
done
submission() {
    case "$1" in
        series | shift) echo "$ref/$1-out" ;;
        *) echo "$ref/empty" ;;
    esac
}

now() { date +%s.%N; }
declare -A T
# timed KEY CMD...: whole-process wall time of CMD appended to T[KEY]; stdout kept in $scratch/last.
timed() {
    local key="$1" t0 t1
    shift
    t0="$(now)"
    "$@" >"$scratch/last" 2>"$scratch/last.err" || { echo "run.sh: failed: $*" >&2; cat "$scratch/last.err" >&2; exit 1; }
    t1="$(now)"
    T[$key]+="$(echo "$t1 - $t0" | bc -l) "
    [[ -z "${BENCH_VERBOSE:-}" ]] || echo "  $key $(echo "$t1 - $t0" | bc -l)" >&2
}
loop_time() { T[$1]+="$(awk '/^loop_seconds/ {print $2}' "$scratch/last") "; }
fresh() { rm -rf "$scratch/out"; sync; }
# next_out: a new, empty folder in $out for the next timed write; the previous one is synced and
# its page cache dropped (evict.py), and nothing is deleted until the end. Deleting made ext4
# without a journal walk past the freed inodes for minutes (the plain CT write took 0.04 s alone
# and 0.14–0.24 s in suites that deleted before every write); keeping the pages let the page
# cache grow into memory the host had not backed (copies 4–5 × slower): see evict.py.
writes=0
out=""
next_out() {
    sync
    [[ -z "$out" ]] || "$PYTHON" "$here/evict.py" "$out"
    writes=$((writes + 1))
    out="$scratch/write.$writes"
}

for ((i = 1; i <= rounds; i++)); do
    echo "round $i/$rounds…" >&2
    for t in $tasks ct300; do
        if [[ "$t" == ct300 ]]; then
            next_out; timed "gen|$t|ws" "$ws" "${ct[@]}" --out "$out"
        else
            next_out; timed "gen|$t|ws" "$ws" generate "$t" --profile hard --seed 1 --out "$out"
        fi
        next_out; timed "gen|$t|plain" "$plain" "$ref/$t" "$out"
        loop_time "gen|$t|plainloop"
        next_out; timed "gen|$t|pyproc" "$PYTHON" "$here/pydicom_bench.py" write "$ref/$t" "$out"
        loop_time "gen|$t|py"
    done
    next_out; timed "gen|ctwrite|proc" "$stage" "$out" "${ct_size[@]}"
    loop_time "gen|ctwrite|ws"
    # The write stage must write what synth writes, or its row compares nothing (untimed).
    if ((i == 1)) && ! diff -r "$ref/ct300" "$out" >/dev/null; then
        echo "run.sh: write_stage's files differ from synth's" >&2
        exit 1
    fi
    for t in $tasks; do
        timed "grade|$t|ws" "$ws" grade "$t" --fixtures "$ref/$t" --submission "$(submission "$t")" --format json --audience assessor --out "$scratch/report-$t.json"
        timed "grade|$t|rs" "$dread" "$ref/$t"
        if [[ "$t" == series ]]; then
            mkdir -p "$scratch/py-out"
            timed "grade|$t|py" "$PYTHON" tests/python/series_reference.py "$ref/$t" "$scratch/py-out"
        elif [[ "$t" == shift ]]; then
            timed "grade|$t|py" "$PYTHON" "$here/pydicom_bench.py" replay "$ref/$t" "$ref/$t-out"
            # The replay must make the reference's own predictions, or it checks something else.
            if ((i == 1)) && ! awk '/^slices/ {ok = ($2 == $4 && $2 > 0)} END {exit !ok}' "$scratch/last"; then
                echo "run.sh: the pydicom replay disagrees with the shift reference: $(head -n 1 "$scratch/last")" >&2
                exit 1
            fi
        else
            timed "grade|$t|py" "$PYTHON" "$here/pydicom_bench.py" read "$ref/$t"
        fi
    done
done
# `worksample run` deletes its staging folder, a cost its users pay, and deletions slow the file
# creations after them (next_out): so these rows come last, generation and run back to back,
# both in the same state.
for ((i = 1; i <= rounds; i++)); do
    echo "run round $i/$rounds…" >&2
    for t in $tasks; do
        next_out; timed "run|$t|gen" "$ws" generate "$t" --profile hard --seed 1 --out "$out"
        sync
        timed "run|$t|run" "$ws" run "$t" --profile hard --seed 1 -- true
    done
done
rm -rf "$scratch"/write.* "$scratch/py-out"
# The same rows with generation and run's staging folder (TMPDIR) on tmpfs, when /dev/shm is one:
# the harness's own overhead without the file system's cost of creating files past freed inodes
# (ext4 without a journal, see next_out), which run's deletions add to every later run above.
if [[ "$(stat -f -c %T /dev/shm 2>/dev/null)" == tmpfs ]]; then
    shm="$(mktemp -d /dev/shm/ws-bench.XXXXXX)"
    for ((i = 1; i <= rounds; i++)); do
        echo "run round $i/$rounds (tmpfs)…" >&2
        for t in $tasks; do
            timed "shm|$t|gen" "$ws" generate "$t" --profile hard --seed 1 --out "$shm/gen"
            rm -rf "$shm/gen"
            timed "shm|$t|run" env TMPDIR="$shm" "$ws" run "$t" --profile hard --seed 1 -- true
        done
    done
    rm -rf "$shm"
    ran_shm=1
fi

# Peak memory, one run per size.
rss_files="${RSS_FILES:-100 1000 5000}"
declare -A M N
if [[ " $tasks " == *" series "* ]]; then
    cp -r "$root/tasks" "$scratch/tasks"
fi
peak() { # KEY CMD...: peak RSS in KB of CMD into M[KEY]
    local key="$1"
    shift
    /usr/bin/time -f '%M' -o "$scratch/rss" "$@" >/dev/null 2>"$scratch/last.err" || { echo "run.sh: failed: $*" >&2; cat "$scratch/last.err" >&2; exit 1; }
    M[$key]="$(tail -n 1 "$scratch/rss")"
}
for n in $rss_files; do
    echo "memory at $n files…" >&2
    fresh
    peak "synth|$n" "$ws" synth --modality CT --slices "$n" --rows 256 --columns 256 --seed 1 --out "$scratch/out"
    N["synth|$n"]="$(find "$scratch/out" -type f | wc -l)"
    if [[ -d "$scratch/tasks" ]]; then
        sed -i "0,/^min_files = .*/s//min_files = $n/; 0,/^scale = .*/s//scale = 0.5/" "$scratch/tasks/series/task.toml"
        fresh
        peak "sgen|$n" "$ws" --tasks-dir "$scratch/tasks" generate series --seed 1 --out "$scratch/out"
        N["sgen|$n"]="$(find "$scratch/out" -type f | wc -l)"
        rm -rf "$scratch/sub"
        mkdir -p "$scratch/sub"
        "$PYTHON" tests/python/series_reference.py "$scratch/out" "$scratch/sub" >/dev/null
        N["sgrade|$n"]="${N["sgen|$n"]}"
        peak "sgrade|$n" "$ws" --tasks-dir "$scratch/tasks" grade series --fixtures "$scratch/out" --submission "$scratch/sub" --format json --audience assessor --out "$scratch/report-memory.json"
    fi
done
rm -rf "$scratch/out" "$scratch/sub"

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
m() { median <<<"${T[$1]}"; }
ratio() { echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; }
files() { find "$1" -type f | wc -l; }
mb() { du -sb "$1" | awk '{printf "%.1f", $1 / 1e6}'; }

echo
echo "worksample benchmark suite: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), medians of $rounds interleaved rounds, page cache (no fsync)"
echo "command: bash crates/worksample-bench/run.sh $rounds"
echo
echo "Generation (hard profiles; CT = worksample synth, 300 × 512×512 16-bit); pydicom = its write loop only"
echo
echo "| fixture | files | MB | worksample s | plain write s | pydicom s | worksample / plain (≤ 1.5) | pydicom / worksample (≥ 4) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in $tasks ct300; do
    w="$(m "gen|$t|ws")" p="$(m "gen|$t|plain")" y="$(m "gen|$t|py")"
    label="$t"; [[ "$t" == ct300 ]] && label="CT 300 slices (synth)"
    printf '| %s | %s | %s | %.3f | %.3f | %.3f | %s | %s |\n' "$label" "$(files "$ref/$t")" "$(mb "$ref/$t")" "$w" "$p" "$y" "$(ratio "$w" "$p")" "$(ratio "$y" "$w")"
done
echo
echo "CT write stage: the same 300 files written from objects already in memory; in-loop times of all three"
echo
echo "| writer | worksample s | plain write s | pydicom s | worksample / plain (≤ 1.5) | pydicom / worksample (≥ 4) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
w="$(m "gen|ctwrite|ws")" p="$(m "gen|ct300|plainloop")" y="$(m "gen|ct300|py")"
printf '| %s | %.3f | %.3f | %.3f | %s | %s |\n' "CT 300 × 512² (write_stage)" "$w" "$p" "$y" "$(ratio "$w" "$p")" "$(ratio "$y" "$w")"
echo
echo "Grading (hard profiles, whole process)"
echo
echo "| task | files | worksample grade s | dicom-rs full read s | pydicom checks s | grade / read (≤ 2) | pydicom / grade (≥ 5) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
for t in $tasks; do
    g="$(m "grade|$t|ws")" r="$(m "grade|$t|rs")" y="$(m "grade|$t|py")"
    printf '| %s | %s | %.3f | %.3f | %.3f | %s | %s |\n' "$t" "$(files "$ref/$t")" "$g" "$r" "$y" "$(ratio "$g" "$r")" "$(ratio "$y" "$g")"
done
echo
echo "\`worksample run\` with a no-op candidate (\`true\`), hard profiles"
echo
run_table() { # KEY: the `run` rows timed under KEY|task|gen and KEY|task|run
    echo "| task | generate s | run s | overhead beyond generation ms (≤ 50) |"
    echo "| --- | ---: | ---: | ---: |"
    for t in $tasks; do
        g="$(m "$1|$t|gen")" r="$(m "$1|$t|run")"
        printf '| %s | %.3f | %.3f | %.0f |\n' "$t" "$g" "$r" "$(echo "($r - $g) * 1000" | bc -l)"
    done
}
run_table run
if [[ -n "${ran_shm:-}" ]]; then
    echo
    echo "The same, both on tmpfs (--out and TMPDIR under /dev/shm)"
    echo
    run_table shm
fi
echo
echo "Peak RSS, MB (one run each; target: growth from the smallest to the largest ≤ 64 MB)"
echo
row() { # LABEL KEY
    local line="| $1 |" first="" last=""
    for n in $rss_files; do
        local kb="${M[$2|$n]:-}"
        [[ -n "$kb" ]] || { line+=" – |"; continue; }
        local count="${N[$2|$n]:-$n}"
        line+=" $(awk -v k="$kb" 'BEGIN {printf "%.1f", k / 1024}') ($count files) |"
        [[ -n "$first" ]] || first="$kb"
        last="$kb"
    done
    [[ -n "$first" ]] && line+=" $(awk -v a="$first" -v b="$last" 'BEGIN {printf "%+.1f", (b - a) / 1024}') |"
    echo "$line"
}
header="| workload |"; sep="| --- |"
for n in $rss_files; do header+=" ~$n files |"; sep+=" ---: |"; done
echo "$header growth MB |"
echo "$sep ---: |"
row "worksample synth (CT 256×256)" synth
row "worksample generate series" sgen
row "worksample grade series (reference submission)" sgrade
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on this machine skew every number)"
