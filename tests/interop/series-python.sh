#!/usr/bin/env bash
# The pydicom reference solution of the `series` task must score at least 99 on both profiles.
# Usage: tests/interop/series-python.sh WORKSAMPLE_BINARY PYTHON_WITH_PYDICOM_AND_NUMPY
set -euo pipefail
bin="$1"
py="$2"
cd "$(dirname "$0")/../.."
source tests/interop/reference-runs.sh
reference_runs series 99 tests/python/series_reference.py
