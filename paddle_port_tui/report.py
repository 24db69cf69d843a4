"""The checklist a porter hands to a reviewer: Markdown, self-contained HTML, or JSON.

`build_report` gathers everything once (state, each step's result, environment) into a plain dict;
the three formats only render it. Text that came from a child process or a config (keys, errors,
warnings, layer names) is escaped in every format, so a hostile or unlucky `<script>` in a log stays text.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paddle_port_tui.results import sorted_keys

if TYPE_CHECKING:
    from paddle_port_tui.state import State
    from paddle_port_tui.workspace import Workspace

FORMATS = {"md": "md", "markdown": "md", "html": "html", "json": "json"}
GLYPHS = {"passed": "✓", "failed": "✗", "error": "!", "cancelled": "-", "running": "…", "stale": "~", "pending": "·"}


def build_report(ws: Workspace, state: State) -> dict[str, Any]:
    """Every step with its verdict, decisive numbers, times, device, evidence and warnings, plus the environment."""
    from paddle_port_checks.schema import to_json
    from paddle_port_tui.checklist import checklist

    steps, environment = [], {}
    for row in checklist(ws, state):
        step, record, result = row.step, row.record, row.result
        if result is not None and result.environment:
            environment = result.environment
        steps.append(
            {
                "number": step.number,
                "id": step.id,
                "title": step.title,
                "script": step.script,
                "rule": step.pass_rule,
                "status": row.status,
                "decisive": row.decisive,
                "started_at": record.started_at,
                "finished_at": record.finished_at,
                "duration_s": record.duration_s,
                "device": record.device or (result.environment.get("device") if result else None),
                "keys": [key.to_json() for key in sorted_keys(result)] if result else [],
                "evidence": row.evidence,
                "log": record.log_path,
                "reference_reused": result.reference.reused if result and result.reference else None,
                "warnings": list(result.warnings) if result else [],
                "error": record.error or (result.error if result else None),
                "first_divergence": to_json(result.first_divergence) if result else None,
            }
        )
    return {
        "schema": 1,
        "workspace": str(ws.root),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": getattr(state, "device", "") or environment.get("device", ""),
        "passed": all(step["status"] == "passed" for step in steps),
        "environment": environment,
        "steps": steps,
    }


def _divergence_line(divergence: dict[str, Any]) -> str:
    """The divergent pair, its verdict and, for a difference born between layers, where."""
    line = (
        f"paddle {divergence.get('paddle_layer')} ({divergence.get('paddle_type')}) vs reference "
        f"{divergence.get('reference_layer')} ({divergence.get('reference_type')}), "
        f"verdict {divergence.get('verdict')}"
    )
    if divergence.get("problem"):
        line += f": {divergence['problem']}"
    if divergence.get("location"):
        line += f"; born {divergence['location']}"
    return line


def _fmt(value: Any) -> str:
    from paddle_port_tui.tables import number

    return number(value)


def _md(text: Any) -> str:
    """Child-provided text inside Markdown: HTML escaped (Markdown passes raw HTML through) and one line."""
    return html.escape(" ".join(str(text).split())).replace("|", "\\|")


def _environment_lines(environment: dict[str, Any]) -> list[tuple[str, str]]:
    names = ("python", "torch", "paddle", "device", "torch_device", "paddle_device", "seed")
    rows = [(name, str(environment[name])) for name in names if name in environment]
    rows += [(name, str(value)) for name, value in (environment.get("determinism") or {}).items()]
    return rows


def to_markdown(report: dict[str, Any]) -> str:
    """A Markdown checklist: summary table, then each step's keys, warnings, errors and evidence."""
    from paddle_port_tui.chart import divergent_index, text_chart

    verdict = "all steps passed" if report["passed"] else "not all steps passed"
    lines = [
        f"# paddle-port report: {verdict}",
        "",
        f"Workspace `{_md(report['workspace'])}`, device `{_md(report['device'])}`, "
        f"generated {report['generated_at']}.",
        "",
        "| # | step | status | decisive numbers | device | ran at (UTC) |",
        "|---|---|---|---|---|---|",
    ]
    for step in report["steps"]:
        lines.append(
            f"| {step['number']} | {step['id']} | {GLYPHS.get(step['status'], '?')} {step['status']} | "
            f"{_md(step['decisive'])} | {_md(step['device'] or '')} | {step['started_at'] or ''} |"
        )
    if report["environment"]:
        lines += ["", "## Environment", "", "| | |", "|---|---|"]
        lines += [f"| {_md(name)} | {_md(value)} |" for name, value in _environment_lines(report["environment"])]
    for step in report["steps"]:
        lines += [
            "",
            f"## {step['number']}. {step['id']}: {step['title']} ({step['status']})",
            "",
            f"Script `{step['script']}`; pass rule: {step['rule']}.",
        ]
        if step["started_at"]:
            lines.append(
                f"Ran {step['started_at']} to {step['finished_at'] or '?'} "
                f"({_fmt(step['duration_s'])} s); reference outputs "
                f"{'reused' if step['reference_reused'] else 'computed'}."
            )
        if step["error"]:
            lines += ["", "**Error:**", ""] + [f"> {html.escape(line)}" for line in str(step["error"]).splitlines()]
        if step["keys"]:
            lines += ["", "| key | mean | max | min | threshold | verdict | problem |", "|---|---|---|---|---|---|---|"]
            for key in step["keys"]:
                lines.append(
                    f"| {_md(key.get('key', ''))} | {_fmt(key.get('mean'))} | {_fmt(key.get('max'))} | "
                    f"{_fmt(key.get('min'))} | {_fmt(key.get('threshold'))} | "
                    f"{'✓ passed' if key.get('passed') else '✗ failed'} | {_md(key.get('problem') or '')} |"
                )
        lines += [f"- warning: {_md(warning)}" for warning in step["warnings"]]
        divergence = step["first_divergence"]
        if divergence:
            lines += ["", f"First divergence: {_md(_divergence_line(divergence))}"]
        if divergence and divergence.get("layers"):
            chart = text_chart(divergence["layers"], 72, 12, divergent_index(divergence))
            lines += ["", "Per-layer mean difference (log scale, X = first divergence):", "", "```", *chart, "```"]
        if step["evidence"] or step["log"]:
            paths = [path for path in [*step["evidence"], step["log"]] if path]
            lines += ["", "Evidence: " + ", ".join(f"`{_md(path)}`" for path in paths)]
    return "\n".join(lines) + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #1f2328; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; font-family: ui-monospace, monospace; }
.passed { color: #1a7f37; } .failed, .error { color: #d1242f; font-weight: bold; }
.stale, .cancelled { color: #9a6700; } .pending, .running { color: #656d76; }
pre { background: #f6f8fa; padding: 0.6em; overflow-x: auto; }
.warning { color: #9a6700; }
"""


def _h(text: Any) -> str:
    return html.escape(str(text if text is not None else ""))


def _status_html(status: str) -> str:
    return f'<span class="{_h(status)}">{GLYPHS.get(status, "?")} {_h(status)}</span>'


def to_html(report: dict[str, Any]) -> str:
    """One self-contained page (inline CSS, inline SVG, no script); every value is escaped."""
    from paddle_port_tui.chart import divergent_index, svg_chart

    verdict = "all steps passed" if report["passed"] else "not all steps passed"
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>paddle-port report: {verdict}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>paddle-port report: {verdict}</h1>",
        f"<p>Workspace <code>{_h(report['workspace'])}</code>, device <code>{_h(report['device'])}</code>, "
        f"generated {_h(report['generated_at'])}.</p>",
        "<table><tr><th>#</th><th>step</th><th>status</th><th>decisive numbers</th><th>device</th>"
        "<th>ran at (UTC)</th></tr>",
    ]
    for step in report["steps"]:
        out.append(
            f"<tr><td>{step['number']}</td><td>{_h(step['id'])}</td><td>{_status_html(step['status'])}</td>"
            f"<td>{_h(step['decisive'])}</td><td>{_h(step['device'])}</td><td>{_h(step['started_at'])}</td></tr>"
        )
    out.append("</table>")
    if report["environment"]:
        out.append("<h2>Environment</h2><table>")
        out += [
            f"<tr><th>{_h(name)}</th><td>{_h(value)}</td></tr>"
            for name, value in _environment_lines(report["environment"])
        ]
        out.append("</table>")
    for step in report["steps"]:
        out.append(f"<h2>{step['number']}. {_h(step['id'])}: {_h(step['title'])} {_status_html(step['status'])}</h2>")
        out.append(f"<p>Script <code>{_h(step['script'])}</code>; pass rule: {_h(step['rule'])}.")
        if step["started_at"]:
            out.append(
                f" Ran {_h(step['started_at'])} to {_h(step['finished_at'])} ({_h(_fmt(step['duration_s']))} s);"
                f" reference outputs {'reused' if step['reference_reused'] else 'computed'}."
            )
        out.append("</p>")
        if step["error"]:
            out.append(f'<p class="error">Error:</p><pre>{_h(step["error"])}</pre>')
        if step["keys"]:
            out.append(
                "<table><tr><th>key</th><th>mean</th><th>max</th><th>min</th><th>threshold</th>"
                "<th>verdict</th><th>problem</th></tr>"
            )
            for key in step["keys"]:
                cells = "".join(
                    f'<td class="num">{_h(_fmt(key.get(name)))}</td>' for name in ("mean", "max", "min", "threshold")
                )
                out.append(
                    f"<tr><td>{_h(key.get('key'))}</td>{cells}"
                    f"<td>{_status_html('passed' if key.get('passed') else 'failed')}</td>"
                    f"<td>{_h(key.get('problem') or '')}</td></tr>"
                )
            out.append("</table>")
        out += [f'<p class="warning">warning: {_h(warning)}</p>' for warning in step["warnings"]]
        divergence = step["first_divergence"]
        if divergence:
            out.append(f"<p>First divergence: {_h(_divergence_line(divergence))}</p>")
        if divergence and divergence.get("layers"):
            out.append("<p>Per-layer mean difference along the depth (log scale), first divergence marked:</p>")
            out.append(svg_chart(divergence["layers"], divergent_index(divergence)))
        paths = [path for path in [*step["evidence"], step["log"]] if path]
        if paths:
            out.append("<p>Evidence: " + ", ".join(f"<code>{_h(path)}</code>" for path in paths) + "</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


def to_json(report: dict[str, Any]) -> str:
    """Strict JSON; `<`, `>` and `&` as \\u escapes so the document is also safe to embed in a page."""
    from paddle_port_checks.atomic import dumps_strict

    text = dumps_strict(report, indent=2)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026") + "\n"


RENDERERS = {"md": to_markdown, "html": to_html, "json": to_json}


def export(ws: Workspace, state: State, fmt: str, path: Path | None = None) -> Path:
    """Write the report in `fmt` (md, html or json) to `path`, default `result/report.<ext>`; returns the path."""
    from paddle_port_checks.atomic import write_text_atomic

    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; expected md, html or json")
    ext = FORMATS[fmt]
    target = Path(path) if path is not None else ws.result_dir / f"report.{ext}"
    return write_text_atomic(target, RENDERERS[ext](build_report(ws, state)))
