#!/usr/bin/env bash
# Builds every compiled solution worksample.toml runs, before `worksample check`: CI calls this
# in a step of its own. `setup` cannot do it, since it runs sandboxed like the solution: without
# network (no crates to fetch) and with a private HOME (no rustup toolchain).
# Usage: bash build-solutions.sh   (from anywhere; extra cargo flags via CARGO_* variables)
set -euo pipefail
cd "$(dirname "$0")"
# The tasks whose uncommented `command` runs TASK/rust/target/release/…
tasks=$({ grep -v '^[[:space:]]*#' worksample.toml | grep -o '"[^"/]*/rust/target/release/' || true; } \
    | cut -d'"' -f2 | cut -d/ -f1 | sort -u)
for task in $tasks; do
    echo "building $task/rust"
    cargo build --release --manifest-path "$task/rust/Cargo.toml"
done
[[ -n "$tasks" ]] || echo "no compiled solution in worksample.toml"
