#!/usr/bin/env bash
# Creates .venv (once) and installs paddle-port with the CPU frameworks and the test tools.
# torch is pinned to its CPU build (2.13.0) by the `cpu` extra: an unpinned torch pulls a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.paddle-port-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[cpu,test]"
  touch "$stamp"
fi
# The repository root is the demo workspace: give it the demo's reference checkpoint (made, not shipped).
if [ ! -f weights/reference.pth ]; then
  .venv/bin/python -m demo_port.make_checkpoint --out weights/reference.pth
fi
