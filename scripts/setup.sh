#!/usr/bin/env bash
# Creates .venv (once) and installs paddle-port with the CPU frameworks and the test tools.
# The exact builds come from constraints.txt (torch 2.13.0's CPU build: an unconstrained torch pulls a
# multi-GB CUDA build); the package's extras only state compatible ranges.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.paddle-port-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || [ constraints.txt -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[cpu,test]" -c constraints.txt
  touch "$stamp"
fi
# The repository root is the demo workspace: give it the demo's reference checkpoint (made, not shipped).
if [ ! -f weights/reference.pth ]; then
  .venv/bin/python -m demo_port.make_checkpoint --out weights/reference.pth
fi
