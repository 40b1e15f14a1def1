#!/usr/bin/env bash
# Fuzz one parser for a time budget:  crates/worksample-fuzz/run.sh TARGET SECONDS [OPTIONS]
# TARGET: dicom | series-json | checkfile | task-toml | rubric-toml | manifest | deid-maps | shift-json
# OPTIONS (passed on): --dir DIR (default target/worksample-fuzz/TARGET: corpus/, crashes/),
#   --seeds DIR (default fixtures/fuzz/TARGET), --seed N, --timeout-ms N (per input, 10000),
#   --memory-mb N (heap growth per input, 256), --max-len BYTES (4 MiB).
# Exits 1 when any input panicked, aborted, hung or made a grader fail; the inputs are in
# DIR/crashes/ with a .txt note beside each. Run targets one at a time: each uses one core.
set -euo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,8p' "$0" >&2
  exit 2
fi
cd "$(dirname "$0")/../.."
cargo build --release --locked --quiet -p worksample-fuzz
exec target/release/worksample-fuzz "$@"
