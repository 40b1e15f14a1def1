#!/usr/bin/env bash
# Builds every compiled solution worksample.toml runs, before `worksample check`: CI calls this
# in a step of its own. `setup` cannot do it, since it runs sandboxed like the solution: without
# network (no crates to fetch) and with a private HOME (no rustup toolchain).
#
# A command whose program lies under DIR/target/release/ or DIR/target/debug/ is built from
# DIR/Cargo.toml. A build that fails is reported and the others go on: `check` then grades that
# task as a program that could not start, and still grades every other task.
# Usage: bash build-solutions.sh          (needs python3 ≥ 3.11 for tomllib)
set -euo pipefail
cd "$(dirname "$0")"
[[ -f worksample.toml ]] || { echo "build-solutions.sh: no worksample.toml in $PWD" >&2; exit 2; }
# The binary must land where the command looks for it.
unset CARGO_TARGET_DIR CARGO_BUILD_TARGET_DIR
# One line per compiled solution: its folder, then `release` or `debug`.
plan=$(python3 - <<'PY'
import re, tomllib
with open("worksample.toml", "rb") as f:
    tasks = tomllib.load(f).get("task", [])
seen = set()
for t in tasks:
    program = (t.get("command") or [""])[0]
    m = re.fullmatch(r"(?:\./)?(.*?)/?target/(release|debug)/[^/]+", program)
    if m and (m.group(1), m.group(2)) not in seen:
        seen.add((m.group(1), m.group(2)))
        print(m.group(1) or ".", m.group(2))
PY
)
failed=()
while read -r dir mode; do
    [[ -n "$dir" ]] || continue
    echo "building $dir ($mode)"
    flags=()
    [[ "$mode" == release ]] && flags=(--release)
    if ! cargo build "${flags[@]}" --manifest-path "$dir/Cargo.toml"; then
        echo "::warning::$dir did not build; check will grade its task as a program that could not start"
        failed+=("$dir")
    fi
done <<< "$plan"
[[ -n "$plan" ]] || echo "no compiled solution in worksample.toml"
[[ ${#failed[@]} -eq 0 ]] || echo "build-solutions.sh: ${#failed[@]} solution(s) did not build: ${failed[*]}" >&2
exit 0
