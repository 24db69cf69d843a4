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
    from paddle_port_tui.findings import FindingGroup
    from paddle_port_tui.state import State
    from paddle_port_tui.workspace import Workspace

FORMATS = {"md": "md", "markdown": "md", "html": "html", "json": "json"}
GLYPHS = {"passed": "✓", "failed": "✗", "error": "!", "cancelled": "-", "running": "…", "stale": "~", "pending": "·"}


def build_report(ws: Workspace, state: State) -> dict[str, Any]:
    """Every step with its verdict (lint findings included), decisive numbers, times, device, evidence that is
    on disk and warnings, plus the environment. A run that wrote no result is reported as itself (its
    status, time and reason); an earlier pass is `history`."""
    from paddle_port_checks.schema import to_json
    from paddle_port_tui.checklist import checklist
    from paddle_port_tui.findings import count_label

    steps, environment = [], {}
    rows = checklist(ws, state)
    for row in rows:
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
                "label": row.label,
                "findings_count": count_label(row.findings),
                "decisive": row.decisive,
                "history": row.history,
                "started_at": record.started_at,
                "finished_at": record.finished_at,
                "duration_s": record.duration_s,
                "device": record.device or (result.environment.get("device") if result else None),
                "keys": [key.to_json() for key in sorted_keys(result)] if result else [],
                "evidence": row.evidence,
                "log": record.log_path if record.log_path and (ws.root / record.log_path).exists() else None,
                "reference_reused": result.reference.reused if result and result.reference else None,
                "warnings": list(result.warnings) if result else [],
                "error": record.error or (result.error if result else None),
                "first_divergence": to_json(result.first_divergence) if result else None,
                # In the result's own order (the keys above are failing first): the backward step's charts.
                "training": _training(result),
                "tipc": _tipc(result),
                "findings": [group.to_json() for group in row.findings],
            }
        )
    return {
        "schema": 1,
        "findings_count": count_label(group for row in rows for group in row.findings),
        "workspace": str(ws.root),
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": getattr(state, "device", "") or environment.get("device", ""),
        "passed": all(step["status"] == "passed" for step in steps),
        "environment": environment,
        "steps": steps,
    }


def _training(result: Any) -> dict[str, Any] | None:
    """The backward step's loss and gradient series (``training_chart.py``), None for another step."""
    from paddle_port_checks.schema import to_json
    from paddle_port_tui.training_chart import training_series

    series = training_series(result.step, to_json(result.keys)) if result is not None else None
    return series.to_json() if series is not None else None


def _tipc(result: Any) -> dict[str, Any] | None:
    """The tipc step's commands as the wizard's table shows them (tipc_table.py), in plain cells, with the
    total time and predict's answer beside infer's; None for another step."""
    from paddle_port_tui.tipc_table import cells, commands_from_result, tipc_details

    details = tipc_details(result)
    if details is None:
        return None
    logs = str(details.get("output") or "")
    rows = [
        {"cells": [str(cell) for cell in cells(row, logs)] + [row.note], "failed": row.failed}
        for row in commands_from_result(result)
    ]
    total = f"{details.get('mode')}: {details.get('total_seconds')} s in all (limit {details.get('time_limit_s')} s)"
    return {"total": total, "logs": logs, "rows": rows, "prediction": _prediction_line(details)}


def _prediction_line(tipc: dict[str, Any]) -> str:
    """predict's and infer's answers side by side, "" without [tipc] predict."""
    prediction = tipc.get("prediction") or {}
    ours_answer, their_answer = prediction.get("predict"), prediction.get("infer")
    if not isinstance(ours_answer, list) or not isinstance(their_answer, list):
        return ""
    if len(ours_answer) != 2 or len(their_answer) != 2:
        return ""
    (ours, prob), (theirs, their_prob) = ours_answer, their_answer
    engine = f"predict (training engine): class {ours}, prob {prob:.8f}"
    return f"{engine}; infer (Paddle Inference): class {theirs}, prob {their_prob:.8f}"


def _md_tipc(tipc: dict[str, Any] | None) -> list[str]:
    from paddle_port_tui.tipc_table import HEADINGS

    if not tipc:
        return []
    lines = ["", f"TIPC commands, {_md(tipc['total'])} (logs in `{_md(tipc['logs'])}/`):", ""]
    lines += ["| " + " | ".join((*HEADINGS, "why")) + " |", "|" + "---|" * (len(HEADINGS) + 1)]
    lines += ["| " + " | ".join(_md(cell) for cell in row["cells"]) + " |" for row in tipc["rows"]]
    return [*lines, "", _md(tipc["prediction"])] if tipc["prediction"] else lines


def _html_tipc(tipc: dict[str, Any] | None) -> list[str]:
    from paddle_port_tui.tipc_table import HEADINGS

    if not tipc:
        return []
    out = [f"<p>TIPC commands, {_h(tipc['total'])} (logs in <code>{_h(tipc['logs'])}/</code>):</p><table><tr>"]
    out.append("".join(f"<th>{_h(name)}</th>" for name in (*HEADINGS, "why")) + "</tr>")
    for row in tipc["rows"]:
        style = ' class="failed"' if row["failed"] else ""
        out.append(f"<tr{style}>" + "".join(f"<td>{_h(cell)}</td>" for cell in row["cells"]) + "</tr>")
    out.append("</table>")
    return [*out, f"<p>{_h(tipc['prediction'])}</p>"] if tipc["prediction"] else out


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


def _decisive(step: dict[str, Any]) -> str:
    """The decisive line, with the last pass as history when this run did not pass."""
    return f"{step['decisive']} ({step['history']})" if step["history"] else step["decisive"]


def _reference_note(step: dict[str, Any]) -> str:
    """Whether the reference was reused; nothing for a run that wrote no result (it cannot say)."""
    if step["reference_reused"] is None:
        return ""
    return f"; reference outputs {'reused' if step['reference_reused'] else 'computed'}"


def _key_columns(keys: list[dict[str, Any]]) -> tuple[list[tuple[str, Any]], list[str]]:
    """The key table's columns as (header, cell of a key document), and the distinct rules that decided:
    the float64 replay's column only when a key has one, the rule per key only when they differ."""
    from paddle_port_checks.schema import KeyDiff, from_json
    from paddle_port_tui.tables import float64_cell

    columns: list[tuple[str, Any]] = [("key", lambda key: key.get("key", ""))]
    columns += [(name, lambda key, name=name: _fmt(key.get(name))) for name in ("mean", "max", "min", "threshold")]
    replay = {id(key): float64_cell(from_json(KeyDiff, key)) for key in keys}
    if any(replay.values()):
        columns.append(("float64", lambda key: replay[id(key)]))
    rules = list(dict.fromkeys(key["rule"] for key in keys if key.get("rule")))
    if len(rules) > 1:
        columns.append(("rule", lambda key: key.get("rule", "")))
    columns.append(("verdict", lambda key: "✓ passed" if key.get("passed") else "✗ failed"))
    columns.append(("problem", lambda key: key.get("problem") or ""))
    return columns, rules


def _finding(finding: dict[str, Any]) -> tuple[str, FindingGroup]:
    """A finding document as its severity in glyph + word, and the group that words it."""
    from paddle_port_tui.findings import FindingGroup

    group = FindingGroup.from_json(finding)
    return ("⚠ warning" if group.severity == "warning" else "! finding"), group


def _md_remedy(group: FindingGroup) -> str:
    """The fix as code and where, for Markdown: fix: `paddle.nn.BatchNorm2D(momentum=0.9)` at file:20, :23."""
    from paddle_port_tui.findings import places

    parts = [f"fix: `{_md(group.fix)}`"] if group.fix else []
    if group.defined_at:
        parts.append(f"at {_md(places(group.defined_at))}")
    return " ".join(parts)


def _title(report: dict[str, Any]) -> str:
    """`all steps passed`, `all steps passed · 1 warning`, `not all steps passed`."""
    verdict = "all steps passed" if report["passed"] else "not all steps passed"
    return f"{verdict} · {report['findings_count']}" if report["findings_count"] else verdict


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

    lines = [
        f"# paddle-port report: {_title(report)}",
        "",
        f"Workspace `{_md(report['workspace'])}`, device `{_md(report['device'])}`, "
        f"generated {report['generated_at']}.",
        "",
        "| # | step | status | decisive numbers | device | ran at (UTC) |",
        "|---|---|---|---|---|---|",
    ]
    for step in report["steps"]:
        lines.append(
            f"| {step['number']} | {step['id']} | {GLYPHS.get(step['status'], '?')} {_md(step['label'])} | "
            f"{_md(_decisive(step))} | {_md(step['device'] or '')} | {step['started_at'] or ''} |"
        )
    if report["environment"]:
        lines += ["", "## Environment", "", "| | |", "|---|---|"]
        lines += [f"| {_md(name)} | {_md(value)} |" for name, value in _environment_lines(report["environment"])]
    for step in report["steps"]:
        lines += [
            "",
            f"## {step['number']}. {step['id']}: {step['title']} ({_md(step['label'])})",
            "",
            f"Script `{step['script']}`; pass rule: {step['rule']}.",
        ]
        if step["started_at"]:
            lines.append(
                f"Ran {step['started_at']} to {step['finished_at'] or '?'} "
                f"({_fmt(step['duration_s'])} s){_reference_note(step)}."
            )
        if step["history"]:
            lines.append(f"History: {_md(step['history'])} (an earlier run; not this run's verdict).")
        if step["error"]:
            lines += ["", "**Error:**", ""] + [f"> {html.escape(line)}" for line in str(step["error"]).splitlines()]
        if step["keys"]:
            columns, rules = _key_columns(step["keys"])
            lines += ["", "| " + " | ".join(name for name, _ in columns) + " |", "|" + "---|" * len(columns)]
            lines += ["| " + " | ".join(_md(cell(key)) for _, cell in columns) + " |" for key in step["keys"]]
            if len(rules) == 1:
                lines += ["", f"Rule: {_md(rules[0])}."]
        if step["findings"]:
            lines += ["", f"**Lint findings (part of the verdict): {_md(step['findings_count'])}**", ""]
            for finding in step["findings"]:
                head, group = _finding(finding)
                lines.append(f"- {head}: {_md(group.headline())}")
                lines += [f"  - {_md_remedy(group)}"] if group.remedy() else []
                lines.append(f"  - why: {_md(group.why)}")
        lines += [f"- warning: {_md(warning)}" for warning in step["warnings"]]
        divergence = step["first_divergence"]
        if divergence:
            lines += ["", f"First divergence: {_md(_divergence_line(divergence))}"]
        if divergence and divergence.get("layers"):
            chart = text_chart(divergence["layers"], 72, 12, divergent_index(divergence))
            lines += ["", "Per-layer mean difference (log scale, X = first divergence):", "", "```", *chart, "```"]
        lines += _md_training(step.get("training"))
        lines += _md_tipc(step.get("tipc"))
        if step["evidence"] or step["log"]:
            paths = [path for path in [*step["evidence"], step["log"]] if path]
            lines += ["", "Evidence: " + ", ".join(f"`{_md(path)}`" for path in paths)]
    return "\n".join(lines) + "\n"


def _md_training(training: dict[str, Any] | None) -> list[str]:
    """The backward step's two charts as text blocks."""
    from paddle_port_tui.chart import text_chart
    from paddle_port_tui.training_chart import loss_text_chart

    if not training:
        return []
    lines: list[str] = []
    if training["reference_losses"]:
        chart = loss_text_chart(training["reference_losses"], training["paddle_losses"], 72, 12)
        lines += ["", "Loss per iteration (r = reference, p = paddle):", "", "```", *chart, "```"]
    if training["gradients"]:
        chart = text_chart(training["gradients"], 72, 12, training["first_gradient"], "parameter")
        lines += ["", "Gradient mean difference per parameter at iteration 0 (log scale):", "", "```", *chart, "```"]
    return lines


def _html_training(training: dict[str, Any] | None) -> list[str]:
    """The backward step's two charts as inline SVG."""
    from paddle_port_tui.chart import svg_chart
    from paddle_port_tui.training_chart import GRADIENT_AXIS, loss_svg_chart

    if not training:
        return []
    out: list[str] = []
    if training["reference_losses"]:
        out.append("<p>Loss per iteration, reference (solid) and paddle (dashed):</p>")
        out.append(loss_svg_chart(training["reference_losses"], training["paddle_losses"]))
    if training["gradients"]:
        out.append(
            "<p>Gradient mean difference per parameter at iteration 0 (log scale), the first that differs marked:</p>"
        )
        out.append(svg_chart(training["gradients"], training["first_gradient"], x_label=GRADIENT_AXIS))
    return out


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


def _key_cell_html(name: str, cell: Any, key: dict[str, Any]) -> str:
    """One cell of a key row: the verdict as glyph + word, numbers right-aligned, the rest as text."""
    if name == "verdict":
        return f"<td>{_status_html('passed' if key.get('passed') else 'failed')}</td>"
    kind = "" if name in ("key", "problem", "rule") else ' class="num"'
    return f"<td{kind}>{_h(cell(key))}</td>"


def _findings_html(step: dict[str, Any]) -> str:
    """` · 1 warning` after the status, when the step has findings."""
    return f' <span class="warning">· {_h(step["findings_count"])}</span>' if step["findings_count"] else ""


def to_html(report: dict[str, Any]) -> str:
    """One self-contained page (inline CSS, inline SVG, no script); every value is escaped."""
    from paddle_port_tui.chart import divergent_index, svg_chart

    title = _h(_title(report))
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>paddle-port report: {title}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>paddle-port report: {title}</h1>",
        f"<p>Workspace <code>{_h(report['workspace'])}</code>, device <code>{_h(report['device'])}</code>, "
        f"generated {_h(report['generated_at'])}.</p>",
        "<table><tr><th>#</th><th>step</th><th>status</th><th>decisive numbers</th><th>device</th>"
        "<th>ran at (UTC)</th></tr>",
    ]
    for step in report["steps"]:
        out.append(
            f"<tr><td>{step['number']}</td><td>{_h(step['id'])}</td><td>{_status_html(step['status'])}"
            f"{_findings_html(step)}</td><td>{_h(_decisive(step))}</td><td>{_h(step['device'])}</td>"
            f"<td>{_h(step['started_at'])}</td></tr>"
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
        out.append(
            f"<h2>{step['number']}. {_h(step['id'])}: {_h(step['title'])} {_status_html(step['status'])}"
            f"{_findings_html(step)}</h2>"
        )
        out.append(f"<p>Script <code>{_h(step['script'])}</code>; pass rule: {_h(step['rule'])}.")
        if step["started_at"]:
            out.append(
                f" Ran {_h(step['started_at'])} to {_h(step['finished_at'])} ({_h(_fmt(step['duration_s']))} s)"
                f"{_h(_reference_note(step))}."
            )
        if step["history"]:
            out.append(f" History: {_h(step['history'])} (an earlier run; not this run's verdict).")
        out.append("</p>")
        if step["error"]:
            out.append(f'<p class="error">Error:</p><pre>{_h(step["error"])}</pre>')
        if step["keys"]:
            columns, rules = _key_columns(step["keys"])
            out.append("<table><tr>" + "".join(f"<th>{_h(name)}</th>" for name, _ in columns) + "</tr>")
            for key in step["keys"]:
                out.append("<tr>" + "".join(_key_cell_html(name, cell, key) for name, cell in columns) + "</tr>")
            out.append("</table>")
            if len(rules) == 1:
                out.append(f"<p>Rule: {_h(rules[0])}.</p>")
        if step["findings"]:
            out.append(f"<p><strong>Lint findings (part of the verdict): {_h(step['findings_count'])}</strong></p><ul>")
            for finding in step["findings"]:
                head, group = _finding(finding)
                kind = "warning" if group.severity == "warning" else "error"
                fix = f"<br><code>{_h(group.remedy())}</code>" if group.remedy() else ""
                what = f'<span class="{kind}">{_h(head)}</span>: {_h(group.headline())}'
                out.append(f"<li>{what}{fix}<br>why: {_h(group.why)}</li>")
            out.append("</ul>")
        out += [f'<p class="warning">warning: {_h(warning)}</p>' for warning in step["warnings"]]
        divergence = step["first_divergence"]
        if divergence:
            out.append(f"<p>First divergence: {_h(_divergence_line(divergence))}</p>")
        if divergence and divergence.get("layers"):
            out.append("<p>Per-layer mean difference along the depth (log scale), first divergence marked:</p>")
            out.append(svg_chart(divergence["layers"], divergent_index(divergence)))
        out += _html_training(step.get("training"))
        out += _html_tipc(step.get("tipc"))
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
