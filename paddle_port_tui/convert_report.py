"""`paddle-port convert`'s findings as one JSON document and as a readable summary.

The smoke check runs as `python -m paddle_port_checks.smoke DST --json` in the porter's interpreter (the app
never imports paddle); its per-file results are kept as the dicts it prints.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict
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


def forward_smoke(dst: Path, python: str, workspace: Path) -> dict[str, Any] | None:
    """One forward of the reference model's converted twin on the workspace config's inputs (as the forward step
    will run it); None when there is no config, or the reference model does not live in the converted tree."""
    import tomllib

    from paddle_port_tui.convert_init import RECORD, ConvertInitError, converted_values

    config = workspace / "paddle_port.toml"
    try:
        raw = tomllib.loads(config.read_text(encoding="utf-8"))
        reference = raw.get("reference", {})
        src = Path(json.loads((dst / RECORD).read_text(encoding="utf-8"))["src"])
        roots = [workspace, *(workspace / entry for entry in raw.get("run", {}).get("pythonpath", []))]
        twin, _ = converted_values({"reference_model": str(reference.get("model", ""))}, src, dst, workspace, roots)
    except (OSError, ValueError, KeyError, ConvertInitError):
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


def problems(
    run: ConvertRun,
    results: list[dict[str, Any]],
    hits: list[Hit],
    fixed: list[dict[str, Any]] | None,
    forward: dict[str, Any] | None = None,
) -> bool:
    """Anything left for the porter: unconverted lines, a file that does not import, a fault not fixed, a
    converted model that does not run."""
    final = fixed if fixed is not None else results
    left = hits if fixed is None else [hit for hit in hits if not hit.safe]
    broken = forward is not None and not forward.get("ok")
    return bool(run.log.unconverted or left or not all(item["ok"] for item in final) or broken)


def document(
    run: ConvertRun,
    results: list[dict[str, Any]],
    hits: list[Hit],
    diff: str | None,
    fixed: list[dict[str, Any]] | None,
    forward: dict[str, Any] | None = None,
) -> dict[str, Any]:
    log = run.log
    return {
        "src": str(run.src),
        "dst": str(run.dst),
        "log": str(run.log_path),
        "rate": log.rate,
        "apis_total": log.total,
        "apis_converted": log.converted,
        "apis_not_converted": log.not_converted,
        "converted": [asdict(item) for item in log.apis],
        "unconverted": [asdict(item) for item in log.unconverted],
        "comments_dropped": run.comments_dropped,
        "smoke": results,
        "rule_hits": [asdict(hit) for hit in hits],
        "fix_diff": diff,
        "smoke_after_fix": fixed,
        "forward": forward,
        "passed": not problems(run, results, hits, fixed, forward),
    }


def summary(
    run: ConvertRun,
    results: list[dict[str, Any]],
    hits: list[Hit],
    diff: str | None,
    fixed: list[dict[str, Any]] | None,
    forward: dict[str, Any] | None = None,
) -> list[str]:
    log = run.log
    rate = f"{log.rate:.2f}%" if log.rate is not None else "not in the log"
    lines = [
        f"PaConvert: {run.src} -> {run.dst}",
        f"convert rate {rate}: {log.converted} of {log.total} torch APIs converted, {log.not_converted} not "
        f"(full log: {run.log_path})",
    ]
    if log.unconverted:
        lines.append("not converted (left as torch, marked >>>>>>):")
        by_api: dict[str, list[str]] = {}
        for item in log.unconverted:
            by_api.setdefault(item.api, []).append(f"{item.file}:{item.line}" if item.line else item.file)
        lines.extend(f"  {api}: {', '.join(places)}" for api, places in sorted(by_api.items()))
    if run.comments_dropped:
        dropped = ", ".join(f"{file} ({count})" for file, count in run.comments_dropped.items())
        lines.append(f"comments dropped by PaConvert: {dropped}")
    lines.extend(_smoke_lines("smoke import", results))
    if hits:
        lines.append("known converter faults:")
        for hit in hits:
            how = "edit (--fix)" if hit.safe else "by hand"
            lines.append(f"  {hit.file}:{hit.line} [{hit.rule}] {hit.text.strip()}")
            lines.append(f"      {how}: {hit.suggested.strip()}")
            lines.append(f"      why: {hit.why}")
    if diff is not None:
        lines.append("--fix applied:" if diff else "--fix: no safe edit to make")
        lines.extend(diff.rstrip("\n").splitlines())
    if fixed is not None:
        lines.extend(_smoke_lines("smoke import after --fix", fixed))
    if forward is not None:
        lines.append(f"forward of {forward.get('model')} on the config's inputs: {forward_words(forward)}")
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
