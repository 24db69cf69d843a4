"""The porter's workspace on disk: where its config, state, logs, results and scripts live.

Every other part of the app asks this class for a path instead of joining strings itself, so the
layout of a workspace is written down once.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

from paddle_port_checks.catalogue import Step, step_by_id
from paddle_port_checks.config import CONFIG_NAME, Config, ConfigError, load_config

STATE_DIR = ".paddle_port"


def as_step(step: Step | str) -> Step:
    """Accept a Step, a step id or a step number, so callers can pass whatever they hold."""
    return step if isinstance(step, Step) else step_by_id(step)


def file_hash(path: Path) -> str:
    """sha256 of a file's bytes, or "" when it does not exist: the fingerprint used for `stale`."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return ""


class Workspace:
    """A porter's repository with a `paddle_port.toml` at its root."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self._config: tuple[tuple[int, int, int], Config] | None = None

    def __repr__(self) -> str:
        return f"Workspace({str(self.root)!r})"

    @property
    def config_path(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def state_dir(self) -> Path:
        return self.root / STATE_DIR

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.json"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def result_dir(self) -> Path:
        return self.root / "result"

    def script_path(self, step: Step | str) -> Path:
        return self.root / as_step(step).script

    def log_path(self, step: Step | str) -> Path:
        """The full output of the step's last run (every line, with the child's colours)."""
        return self.logs_dir / f"{as_step(step).id}.log"

    def result_path(self, step: Step | str) -> Path:
        """The check's machine-readable result, `result/<step>.json`."""
        return self.result_dir / f"{as_step(step).id}.json"

    def relative(self, path: Path) -> str:
        """A path as stored in state and shown to the porter: relative to the root when inside it."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)

    def load_config(self) -> Config:
        """The validated config; raises ConfigError (file, key, expectation) for a bad or missing one.

        Parsed once per version of the file (inode, size, mtime): a run asks for it from many places (the
        device, the interpreter, the timeout, the environment), and an edit is still seen at once."""
        try:
            stat = self.config_path.stat()
            version: tuple[int, int, int] | None = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        except OSError:
            version = None
        if version is None or self._config is None or self._config[0] != version:
            config = load_config(self.config_path)  # a missing file raises its own ConfigError
            self._config = (version, config) if version is not None else None
            return config
        return self._config[1]

    def config_hash(self) -> str:
        return file_hash(self.config_path)

    def python(self) -> str:
        """The interpreter that runs the checks: config `[run] python`, else the app's own.

        A missing or broken config falls back to the app's interpreter on purpose: the check script
        then reports the config error itself, with the same message as everywhere else. A relative
        path with a folder in it (`.venv/bin/python`) is taken from the workspace root; a bare name
        (`python3`) is looked up on PATH.
        """
        try:
            configured = self.load_config().python
        except ConfigError:
            return sys.executable
        if not configured:
            return sys.executable
        candidate = Path(configured).expanduser()
        if candidate.is_absolute():
            return str(candidate)
        if len(candidate.parts) > 1:
            return str(self.root / candidate)
        return shutil.which(configured) or configured
