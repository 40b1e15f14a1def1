#!/usr/bin/env bash
# The pydicom reference solution of the `shift` task must score at least 95 on both profiles.
# Usage: tests/interop/shift-python.sh WORKSAMPLE_BINARY PYTHON_WITH_PYDICOM_AND_NUMPY
set -euo pipefail
bin="$1"
py="$2"
cd "$(dirname "$0")/../.."
for profile in standard hard; do
  for seed in 1 2 3; do
    echo "shift: pydicom reference, profile $profile, seed $seed"
    "$bin" run shift --seed "$seed" --profile "$profile" --fail-under 95 -- \
      "$py" tests/python/shift_reference.py {input} {output}
  done
done
