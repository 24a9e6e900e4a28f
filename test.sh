#!/usr/bin/env bash
# Installs everything (./setup.sh), lints, and runs the whole test suite.
# Extra arguments go to pytest, e.g. ./test.sh -k hostile -x
set -euo pipefail
cd "$(dirname "$0")"
./setup.sh
uv run ruff check assay tests bench
uv run ruff format --check assay tests bench
uv run pytest "$@"
