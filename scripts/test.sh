#!/usr/bin/env bash
# Sets up, then runs the house tools (ruff lint and format, mypy, the import contracts) and the whole test
# suite (real torch and paddle, CPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
bash scripts/typecheck.sh
.venv/bin/python -m pytest "$@"
