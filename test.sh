#!/usr/bin/env bash
# Installs everything (./setup.sh), lints, and runs the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh -k hostile -x
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
uv run ruff check assay tests bench
uv run ruff format --check assay tests bench
uv run pytest "$@"
# the storer's suite once more on PostgreSQL (the end-to-end suites start servers of their own,
# and test_scale_out already runs them on PostgreSQL)
ASSAY_DATABASE_URL="${ASSAY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/assay}" \
  uv run pytest tests/storer --ignore=tests/storer/test_end_to_end.py \
  --ignore=tests/storer/test_browser.py --ignore=tests/storer/test_scale_out.py "$@"
