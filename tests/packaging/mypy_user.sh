#!/usr/bin/env bash
# Usage: mypy_user.sh <python with mypy>
# mypy --strict on tests/packaging/typing_user.py, a user-style module exercising the public
# API, against the package sources (python_ext/). --follow-imports=silent: the package's own
# modules are analysed for their types but their errors are not reported here, as for a user
# whose mypy reads an installed package.
set -euo pipefail
python=$1
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
MYPYPATH=python_ext "$python" -m mypy --strict --follow-imports=silent --no-incremental \
  --python-version 3.11 tests/packaging/typing_user.py
