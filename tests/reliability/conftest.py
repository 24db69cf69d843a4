"""The reliability suite uses the fake checks and workspaces of tests/ (fast, framework-free)."""

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1])
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
