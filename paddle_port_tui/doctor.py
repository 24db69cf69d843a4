"""What the porter's ML environment offers: interpreter, torch / paddle versions, GPUs, reprod_log.

The app never imports torch or paddle itself (they are slow to import and may live in another
virtualenv), so the probe is a short script run by the configured interpreter. Anything missing or
broken there is reported as data, never raised: `doctor` exists precisely for broken environments.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

PROBE_TIMEOUT_S = 180

# Runs in the porter's interpreter; must work on any Python 3 with nothing installed, and print one JSON line.
PROBE_SCRIPT = r"""
import importlib.util, json, platform, sys

def version(dist):
    try:
        from importlib.metadata import version as v
        return v(dist)
    except Exception:
        return None

def torch_info():
    try:  # imported by name: this text runs in the porter's interpreter, never in the app
        torch = importlib.import_module("torch")
    except Exception as error:
        return {"installed": False, "error": f"{type(error).__name__}: {error}"}
    info = {"installed": True, "version": torch.__version__, "cuda_available": False, "gpu_count": 0,
            "cuda_version": getattr(torch.version, "cuda", None)}
    try:
        info["cuda_available"] = bool(torch.cuda.is_available())
        info["gpu_count"] = int(torch.cuda.device_count()) if info["cuda_available"] else 0
    except Exception as error:
        info["error"] = f"{type(error).__name__}: {error}"
    return info

def paddle_info():
    try:
        paddle = importlib.import_module("paddle")
    except Exception as error:
        return {"installed": False, "error": f"{type(error).__name__}: {error}"}
    info = {"installed": True, "version": paddle.__version__, "compiled_with_cuda": False, "gpu_count": 0}
    try:
        info["compiled_with_cuda"] = bool(paddle.device.is_compiled_with_cuda())
        info["gpu_count"] = int(paddle.device.cuda.device_count()) if info["compiled_with_cuda"] else 0
    except Exception as error:
        info["error"] = f"{type(error).__name__}: {error}"
    return info

def present(module, dist):
    # find_spec only: importing reprod_log would import paddle a second time for nothing.
    try:
        spec = importlib.util.find_spec(module)
    except Exception:
        spec = None
    return {"installed": spec is not None, "version": version(dist) if spec else None,
            "path": (spec.origin if spec else None)}

print(json.dumps({
    "python_version": platform.python_version(), "executable": sys.executable,
    "torch": torch_info(), "paddle": paddle_info(),
    "reprod_log": present("reprod_log", "reprod-log"),
    "paddle_port_checks": present("paddle_port_checks", "paddle-port"),
}))
"""


def probe(python: str) -> dict[str, Any]:
    """Run the probe in `python`; `ok` is False with an `error` when it could not run at all."""
    report: dict[str, Any] = {"python": python, "ok": False, "error": None}
    try:
        done = subprocess.run(
            [python, "-c", PROBE_SCRIPT],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=PROBE_TIMEOUT_S,
        )
    except (OSError, subprocess.SubprocessError) as error:
        report["error"] = f"cannot run {python}: {error}"
        return report
    last_line = done.stdout.strip().splitlines()[-1:] or [""]
    try:
        report.update(json.loads(last_line[0]))
    except json.JSONDecodeError:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        report["error"] = f"the probe failed in {python} (exit {done.returncode}): {tail}"
        return report
    report["ok"] = True
    return report


def devices(probe: dict[str, Any]) -> list[str]:
    """The devices a check can run on: always cpu, plus each GPU that Paddle can use."""
    paddle = probe.get("paddle") or {}
    count = int(paddle.get("gpu_count") or 0) if paddle.get("compiled_with_cuda") else 0
    return ["cpu", *(f"gpu:{index}" for index in range(count))]


def ready(probe: dict[str, Any]) -> bool:
    """Whether the checks can run there: both frameworks and the check library import."""
    return bool(
        probe.get("ok")
        and all((probe.get(name) or {}).get("installed") for name in ("torch", "paddle", "paddle_port_checks"))
    )


def doctor_rows(probe: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(what, found, note) rows for a table: one per component, missing ones explained."""
    if not probe.get("ok"):
        return [("interpreter", probe.get("python", ""), probe.get("error") or "did not run")]
    torch, paddle = probe.get("torch") or {}, probe.get("paddle") or {}
    rows = [("interpreter", f"{probe.get('executable')} (Python {probe.get('python_version')})", "")]
    if torch.get("installed"):
        rows.append(
            (
                "torch",
                torch.get("version", ""),
                f"CUDA available: {torch.get('cuda_available')}, GPUs: {torch.get('gpu_count')}"
                + (f"; {torch['error']}" if torch.get("error") else ""),
            )
        )
    else:
        rows.append(("torch", "missing", torch.get("error") or "pip install torch"))
    if paddle.get("installed"):
        rows.append(
            (
                "paddle",
                paddle.get("version", ""),
                f"compiled with CUDA: {paddle.get('compiled_with_cuda')}, GPUs: {paddle.get('gpu_count')}"
                + (f"; {paddle['error']}" if paddle.get("error") else ""),
            )
        )
    else:
        rows.append(("paddle", "missing", paddle.get("error") or "pip install paddlepaddle (or paddlepaddle-gpu)"))
    for name, hint in (
        ("reprod_log", "pip install reprod-log (optional: evidence is readable without it)"),
        ("paddle_port_checks", "pip install paddle-port into this interpreter"),
    ):
        info = probe.get(name) or {}
        rows.append(
            (
                name,
                (info.get("version") or "present") if info.get("installed") else "missing",
                "" if info.get("installed") else hint,
            )
        )
    rows.append(("devices", ", ".join(devices(probe)), ""))
    return rows
