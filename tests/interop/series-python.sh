#!/usr/bin/env bash
# The pydicom reference solution of the `series` task must score at least 99 on both profiles.
# Usage: tests/interop/series-python.sh WORKSAMPLE_BINARY PYTHON_WITH_PYDICOM_AND_NUMPY
set -euo pipefail
bin="$1"
py="$2"
cd "$(dirname "$0")/../.."
for profile in standard hard; do
  for seed in 1 2 3; do
    echo "series: pydicom reference, profile $profile, seed $seed"
    "$bin" run series --seed "$seed" --profile "$profile" --fail-under 99 -- \
      "$py" tests/python/series_reference.py {input} {output}
  done
done
