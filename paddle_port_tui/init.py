"""Create `paddle_port.toml` for a porter's repo, validated before anything touches the disk.

The config is parsed by the same `parse_config` the checks use, so a value `init` accepts is one every
check script accepts too, and a wrong one is refused with the key it belongs to.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def parse_shape(text: str, path: Path | str) -> list[int]:
    """'1,3,224,224' or '1x3x224x224' -> [1, 3, 224, 224]; a ConfigError on `input.shape` otherwise."""
    from paddle_port_checks.config import ConfigError

    parts = [part for part in re.split(r"[,x\s\[\]]+", text.strip()) if part]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise ConfigError(path, "input.shape", f"expected positive integers such as 1,3,224,224, got {text!r}")
    return [int(part) for part in parts]


def config_values(
    reference_model: str,
    paddle_model: str,
    input_shape: list[int] | None = None,
    data_list: str = "",
    device: str = "",
    python: str = "",
) -> dict[str, Any]:
    """The TOML tables for the values the porter named; everything else keeps the documented defaults."""
    values: dict[str, Any] = {"reference": {"model": reference_model}, "paddle": {"model": paddle_model}}
    if input_shape:
        values["input"] = {"shape": list(input_shape)}
    if data_list:
        values["data"] = {"list": data_list}
    run = {name: value for name, value in (("device", device), ("python", python)) if value}
    if run:
        values["run"] = run
    return values


def write_config(path: Path | str, values: dict[str, Any]) -> Path:
    """Validate `values` (TOML tables) and write them to `path`; an existing file is kept as a backup first."""
    import tomli_w

    from paddle_port_checks.atomic import write_text_atomic
    from paddle_port_checks.config import CONFIG_NAME, parse_config

    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    text = "# paddle-port workspace config; keys: see README, section 'Config reference'.\n" + tomli_w.dumps(values)
    parse_config(text, path)  # raises ConfigError naming the key; nothing is written then
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        shutil.copy2(path, path.with_name(f"{path.name}.bak-{stamp}"))
    return write_text_atomic(path, text)
