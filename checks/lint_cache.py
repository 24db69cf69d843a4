"""The layer lint's findings, kept while the two models are unchanged: steps after the forward one (backward,
whose BatchNorm momentum finding explains its running statistics) reuse them without rebuilding the reference.

They depend on the two models' structure only: the reference weights' key and the Paddle code. The lint rules
are the library's, so its digest is part of the key: a new release's findings (a fix, a place) must not be
hidden by old ones.
"""

from __future__ import annotations

import json
from typing import Any

from paddle_port_checks import golden
from paddle_port_checks.atomic import write_json_atomic
from paddle_port_checks.schema import Finding, from_json

CACHE_NAME = "lint.json"  # in result/cache/


def _key(context: Any) -> str:
    side = context.config.paddle
    code = golden.module_digest(side.model, context.config.root)
    return golden.fingerprint([context.weights_fingerprint(), side.model, side.kwargs, code, golden.library_digest()])


def stored_findings(context: Any) -> list[Finding] | None:
    """The findings stored for these two models, or None when none are (or they are for other models)."""
    try:
        stored = json.loads((context.result_dir / "cache" / CACHE_NAME).read_text())
    except (OSError, ValueError):
        return None
    if stored.get("key") != _key(context):
        return None
    return [from_json(Finding, raw) for raw in stored["findings"]]


def store_findings(context: Any, findings: list[Finding]) -> None:
    path = context.result_dir / "cache" / CACHE_NAME
    write_json_atomic(path, {"key": _key(context), "findings": [finding.to_json() for finding in findings]})
