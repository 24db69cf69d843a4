#!/usr/bin/env bash
# Sets up, writes the bundled demo port to ./demo-workspace and opens it in the wizard.
# `bash scripts/demo.sh --headless` runs the five checks without the UI and prints the checklist.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/paddle-port demo demo-workspace "$@"
