#!/usr/bin/env bash
# mypy (strict for checks/ and the app core) and the import contracts. mypy reads the libraries under their
# installed names, whose folders are checks/ and templates/: .mypy_paths/ (ignored by git) maps them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .mypy_paths
ln -sfn ../checks .mypy_paths/paddle_port_checks
ln -sfn ../templates .mypy_paths/paddle_port_templates
.venv/bin/mypy
.venv/bin/lint-imports
