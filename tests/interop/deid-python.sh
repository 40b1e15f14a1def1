#!/usr/bin/env bash
# The pydicom reference solution of the `deid` task must score at least 99 on both profiles.
# Usage: tests/interop/deid-python.sh WORKSAMPLE_BINARY PYTHON_WITH_PYDICOM_AND_NUMPY
set -euo pipefail
bin="$1"
py="$2"
cd "$(dirname "$0")/../.."
for profile in standard hard; do
  for seed in 1 2 3; do
    echo "deid: pydicom reference, profile $profile, seed $seed"
    "$bin" run deid --seed "$seed" --profile "$profile" --fail-under 99 -- \
      "$py" tests/python/deid_reference.py {input} {output}
  done
done
