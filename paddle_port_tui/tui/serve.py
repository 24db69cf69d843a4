"""`paddle-port serve`: the wizard in a browser, through textual-serve, for a GPU server reached by `ssh -L`.

The browser session runs `paddle-port tui DIR` itself (textual-serve starts the command per connection
with Textual's web driver), so it is the same app on the same workspace state as in a terminal. It
listens on localhost by default: the tunnel (`ssh -L 8000:localhost:8000 you@gpu-server`) is the way in,
and nothing is exposed to the server's network unless --host says so.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

INSTALL_HINT = 'paddle-port serve needs textual-serve: pip install "paddle-port[serve]"'


class ServeError(Exception):
    """The server cannot start (textual-serve missing, the port taken): one line for the CLI, exit 2."""


def wizard_command(workspace: Path) -> str:
    """The shell command textual-serve runs per browser session: this interpreter's own `paddle-port tui`,
    so a served wizard uses the same installation whether or not `paddle-port` is on PATH."""
    return shlex.join([sys.executable, "-m", "paddle_port_tui", "tui", str(workspace)])


def public_url(port: int, given: str) -> str:
    """Where the browser finds the server. textual-serve writes it into the page (its websocket and static
    URLs), so it must be the address the browser uses: with the tunnel, localhost at the same port."""
    return given.rstrip("/") if given else f"http://localhost:{port}"


def serve(workspace: Path, host: str, port: int, url: str = "") -> None:
    """Serve the wizard on host:port until Ctrl+C."""
    try:
        from textual_serve.server import Server
    except ImportError:
        raise ServeError(INSTALL_HINT) from None
    title = f"paddle-port {workspace}"
    server = Server(wizard_command(workspace), host=host, port=port, title=title, public_url=public_url(port, url))
    try:
        server.serve()
    except OSError as error:  # the port is taken, or the host is not an address of this machine
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
