"""The reliability suite uses the fake checks and workspaces of tests/ and the verdict harness beside this
file; at the end of a session it prints one line tallying the verdicts of every case that used the harness."""

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1])
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)


def pytest_terminal_summary(terminalreporter):
    from harness import RECORDED, summary_line

    if RECORDED:
        terminalreporter.write_line(summary_line())
