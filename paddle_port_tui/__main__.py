"""`python -m paddle_port_tui`: the same entry point as the `paddle-port` console script."""

import sys

from paddle_port_tui.cli import main

sys.exit(main())
