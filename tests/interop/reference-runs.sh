#!/usr/bin/env bash
# Sourced by tests/interop/{deid,series,shift}-python.sh: `reference_runs TASK BAR REFERENCE` runs
# the task's pydicom reference solution through `worksample run` on seeds 1–3 of both profiles
# and fails unless every run scores at least BAR. Two runs at a time (the references are
# single-threaded Python; CI has two cores); each run's output is printed whole when it ends, so
# the logs of concurrent runs do not interleave. Needs $bin and $py set by the caller.

reference_run() {
  local task=$1 bar=$2 reference=$3 profile=$4 seed=$5 log status=0
  log=$("$bin" run "$task" --seed "$seed" --profile "$profile" --fail-under "$bar" -- \
    "$py" "$reference" {input} {output} 2>&1) || status=$?
  printf '%s: pydicom reference, profile %s, seed %s (exit %s)\n%s\n' \
    "$task" "$profile" "$seed" "$status" "$log"
  return "$status"
}

reference_runs() {
  local task=$1 bar=$2 reference=$3
  export -f reference_run
  export bin py
  for profile in standard hard; do
    for seed in 1 2 3; do
      printf '%s\n' "$task" "$bar" "$reference" "$profile" "$seed"
    done
  done | xargs -d '\n' -n 5 -P 2 bash -c 'reference_run "$@"' reference_run
}
