"""`paddle-port convert`'s findings as one JSON document and as a readable summary.

The smoke check runs as `python -m paddle_port_checks.smoke DST --json` in the porter's interpreter (the app
never imports paddle); its per-file results are kept as the dicts it prints.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from paddle_port_tui.convert_rules import Hit
from paddle_port_tui.paconvert import ConvertError, ConvertRun

SMOKE_TIMEOUT_S = 900


def smoke(dst: Path, python: str, workspace: Path | None = None) -> list[dict[str, Any]]:
    """Per converted file: {"file", "ok", "line", "failing_file", "text", "error", "seconds"}; with the
    workspace an import root after the tree (converted code that names its package imports through it)."""
    command = [python, "-m", "paddle_port_checks.smoke", str(dst), "--json"]
    command += ["--path", str(workspace)] if workspace is not None and dst.resolve().is_relative_to(workspace) else []
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise ConvertError(f"the smoke check of {dst} did not finish in {SMOKE_TIMEOUT_S} s") from None
    try:
        results: list[dict[str, Any]] = json.loads(done.stdout)["results"]
    except (ValueError, KeyError):
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise ConvertError(f"the smoke check could not run in {python}: {last}") from None
    return results


def forward_smoke(src: Path, dst: Path, python: str, workspace: Path) -> dict[str, Any] | None:
    """One forward of the reference model's converted twin on the workspace config's inputs (as the forward step
    will run it); None when there is no config, or the reference model does not live in the converted tree."""
    import tomllib

    from paddle_port_tui.convert_init import ConvertInitError, converted_values, import_roots

    config = workspace / "paddle_port.toml"
    try:
        raw = tomllib.loads(config.read_text(encoding="utf-8"))
        reference = raw.get("reference", {})
        values = {"reference_model": str(reference.get("model", ""))}
        twin, _ = converted_values(values, src, dst, workspace, import_roots(raw, workspace))
    except (OSError, ValueError, ConvertInitError):
        return None  # no config, or the converted code cannot be named from the workspace: init says why
    if "paddle_model" not in twin:
        return None
    kwargs = reference.get("kwargs", {})
    command = [python, "-m", "paddle_port_checks.smoke", str(dst), "--json", "--forward", str(config)]
    command += ["--model", twin["paddle_model"], "--kwargs", json.dumps(kwargs)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_S, check=False)
        found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])["forward"]
    except subprocess.TimeoutExpired:
        return {"model": twin["paddle_model"], "ok": False, "error": f"no answer in {SMOKE_TIMEOUT_S} s"}
    except (ValueError, KeyError, IndexError):
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        return {"model": twin["paddle_model"], "ok": False, "error": f"the forward smoke could not run: {last}"}
    return found


def where(result: dict[str, Any]) -> str:
    file = result.get("failing_file") or result["file"]
    return f"{file}:{result['line']}" if result.get("line") is not None else str(file)


@dataclass
class Conversion:
    """One `paddle-port convert`: PaConvert's run, the smoke import, the faults found, and what --fix and the
    forward of the converted model gave (None when they did not run)."""

    run: ConvertRun
    smoke: list[dict[str, Any]]
    hits: list[Hit]
    diff: str | None = None  # --fix's edits
    fixed: list[dict[str, Any]] | None = None  # the smoke import after --fix
    forward: dict[str, Any] | None = None

    def problems(self) -> bool:
        """Anything left for the porter: unconverted lines, a file that does not import, a fault not fixed, a
        converted model that does not run."""
        final = self.fixed if self.fixed is not None else self.smoke
        left = self.hits if self.fixed is None else [hit for hit in self.hits if not hit.safe]
        broken = self.forward is not None and not self.forward.get("ok")
        return bool(self.run.log.unconverted or left or not all(item["ok"] for item in final) or broken)

    def document(self) -> dict[str, Any]:
        """The JSON document of `convert --json`, kept as DST/.paddle_port_convert.json."""
        log = self.run.log
        return {
            "src": str(self.run.src),
            "dst": str(self.run.dst),
            "log": str(self.run.log_path),
            "rate": log.rate,
            "apis_total": log.total,
            "apis_converted": log.converted,
            "apis_not_converted": log.not_converted,
            "converted": [asdict(item) for item in log.apis],
            "unconverted": [asdict(item) for item in log.unconverted],
            "comments_dropped": self.run.comments_dropped,
            "smoke": self.smoke,
            "rule_hits": [asdict(hit) for hit in self.hits],
            "fix_diff": self.diff,
            "smoke_after_fix": self.fixed,
            "forward": self.forward,
            "passed": not self.problems(),
        }

    def summary(self) -> list[str]:
        """The readable report."""
        log = self.run.log
        rate = f"{log.rate:.2f}%" if log.rate is not None else "not in the log"
        lines = [
            f"PaConvert: {self.run.src} -> {self.run.dst}",
            f"convert rate {rate}: {log.converted} of {log.total} torch APIs converted, {log.not_converted} not "
            f"(full log: {self.run.log_path})",
        ]
        if log.unconverted:
            lines.append("not converted (left as torch, marked >>>>>>):")
            by_api: dict[str, list[str]] = {}
            for item in log.unconverted:
                by_api.setdefault(item.api, []).append(f"{item.file}:{item.line}" if item.line else item.file)
            lines.extend(f"  {api}: {', '.join(places)}" for api, places in sorted(by_api.items()))
        if self.run.comments_dropped:
            dropped = ", ".join(f"{file} ({count})" for file, count in self.run.comments_dropped.items())
            lines.append(f"comments dropped by PaConvert: {dropped}")
        lines.extend(_smoke_lines("smoke import", self.smoke))
        if self.hits:
            lines.append("known converter faults:")
            for hit in self.hits:
                how = "edit (--fix)" if hit.safe else "by hand"
                lines.append(f"  {hit.file}:{hit.line} [{hit.rule}] {hit.text.strip()}")
                lines.append(f"      {how}: {hit.suggested.strip()}")
                lines.append(f"      why: {hit.why}")
        if self.diff is not None:
            lines.append("--fix applied:" if self.diff else "--fix: no safe edit to make")
            lines.extend(self.diff.rstrip("\n").splitlines())
        if self.fixed is not None:
            lines.extend(_smoke_lines("smoke import after --fix", self.fixed))
        if self.forward is not None:
            lines.append(
                f"forward of {self.forward.get('model')} on the config's inputs: {forward_words(self.forward)}"
            )
        return lines


def forward_words(forward: dict[str, Any]) -> str:
    """ "ok (logits [2, 3])" or "fails at model.py:12: AttributeError: ..."."""
    if forward.get("ok"):
        shapes = ", ".join(f"{name} {shape}" for name, shape in (forward.get("outputs") or {}).items())
        return f"ok ({shapes})" if shapes else "ok"
    place = f" at {forward['file']}:{forward['line']}" if forward.get("file") else ""
    return f"fails{place}: {forward.get('error')}"


def _smoke_lines(title: str, results: list[dict[str, Any]]) -> list[str]:
    lines = [f"{title}:"]
    for item in results:
        if item["ok"]:
            lines.append(f"  {item['file']}: ok")
        else:
            lines.append(f"  {item['file']}: fails at {where(item)}: {item['error']}")
            if item.get("text"):
                lines.append(f"      {item['text']}")
    return lines
