#!/usr/bin/env bash
# The pydicom reference solution of the `shift` task must score at least 95 on both profiles.
# Usage: tests/interop/shift-python.sh WORKSAMPLE_BINARY PYTHON_WITH_PYDICOM_AND_NUMPY
set -euo pipefail
bin="$1"
py="$2"
cd "$(dirname "$0")/../.."
source tests/interop/reference-runs.sh
reference_runs shift 95 tests/python/shift_reference.py
