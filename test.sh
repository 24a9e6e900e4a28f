#!/usr/bin/env bash
# Installs everything (./setup.sh), lints, and runs the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh -k hostile -x
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh --all-runtimes
uv run ruff check assay tests bench
uv run ruff format --check assay tests bench
uv run mypy  # with the pydantic and Django plugins (pyproject.toml)
# two workers, a whole file each at a time (module-scoped servers start once), longest files
# first in the order tests/conftest.py gives (xdist would reorder by test count): about half
# the time of one process on 2 cores
uv run pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=25 "$@"
# the storer's database-backed suite once more on PostgreSQL (the suites that start servers of
# their own already run them on PostgreSQL where it matters: test_scale_out, test_netns)
ASSAY_DATABASE_URL="${ASSAY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/assay}" \
  uv run pytest -n 2 --dist loadfile --no-loadscope-reorder tests/storer/test_api_*.py tests/storer/test_permissions.py tests/storer/test_web_pages.py "$@"
