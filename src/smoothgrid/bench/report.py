"""The files of a benchmark: ``results.csv``, ``results.json``, ``results.md`` and plots.

``results.md`` has one table per problem, one row per method, mean ± std over the seeds of:
the final relative L2 error, the best one seen at any evaluation (labelled as such), the
training time to reach each target (``∞`` when a seed never reached it: never dropped), ms per
step, peak memory and the parameter count. ``error_vs_time_<problem>.png`` plots the error
against training wall-clock, one line per method.
"""

from __future__ import annotations

import csv
import json
import math
import os
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .suites import target_label

__all__ = ["write_report", "markdown", "summarise"]

INFINITY = "∞"


def _mean_std(values: Sequence[float]) -> tuple[float, float]:
    mean = statistics.fmean(values)
    return mean, statistics.stdev(values) if len(values) > 1 else 0.0


def _fmt_number(values: Sequence[float | None], fmt: str) -> str:
    """``mean ± std`` (``± std`` only with several values); ``-`` when nothing was measured."""
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean, std = _mean_std(values)
    return format(mean, fmt) + (f" ± {format(std, fmt)}" if len(values) > 1 else "")


def _fmt_error(records: Sequence[dict[str, Any]], key: str) -> str:
    diverged = sum(r["diverged"] for r in records)
    finite = [r[key] for r in records if not r["diverged"] and r[key] is not None]
    text = _fmt_number(finite, ".2e") if finite else ""
    if diverged:
        text = (text + " " if text else "") + f"(diverged {diverged}/{len(records)})"
    return text or "-"


def _fmt_time(values: Sequence[float]) -> str:
    """Seconds to a target: ``∞`` unless every seed reached it (then mean ± std)."""
    reached = [v for v in values if math.isfinite(v)]
    if len(reached) == len(values):
        return _fmt_number(reached, ".1f")
    if not reached:
        return INFINITY
    return f"{INFINITY} ({len(reached)}/{len(values)} reached)"


def summarise(
    records: Sequence[dict[str, Any]], targets: Sequence[float]
) -> dict[str, list[dict[str, str]]]:
    """Problem label -> table rows (column name -> formatted cell), methods in run order."""
    tables: dict[str, list[dict[str, str]]] = {}
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault((r["problem"], r["method"]), []).append(r)
    for (problem, method), rs in groups.items():
        row = {
            "method": method,
            "derivatives": rs[0]["derivatives"],
            "final rel L2": _fmt_error(rs, "final_rel_l2"),
            "best rel L2 (best evaluation)": _fmt_error(rs, "best_rel_l2"),
        }
        for t in targets:
            label = target_label(t)
            row[f"time to {label} (s)"] = _fmt_time([r[f"time_to_{label}"] for r in rs])
        row["ms/step"] = _fmt_number([r["ms_per_step"] for r in rs], ".1f")
        row["memory (MiB)"] = _fmt_number([r["peak_memory_mib"] for r in rs], ".0f")
        row["params"] = str(rs[0]["params"])
        row["steps"] = _fmt_number([r["steps"] for r in rs], ".0f")
        tables.setdefault(problem, []).append(row)
    return tables


def markdown(suite, records: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    """The Markdown report: a header (machine, budget, command), then a table per problem."""
    budget = meta["budget"]
    spent = (
        f"{budget['time_budget']:g} s of training per run (evaluation excluded)"
        if "time_budget" in budget
        else f"{budget['steps']} steps per run"
    )
    lines = [
        f"# smoothgrid bench: {suite.name}",
        "",
        f"Machine: {meta['machine']}. Budget: {spent}; {meta['seeds']} seed(s); batch "
        f"{meta['batch']} collocation points per step for every method; evaluation every "
        f"{meta['eval_every']} steps; model size {meta['size']}.",
        f"Memory: {meta['memory']} over the whole run (training and evaluation)"
        + (f"; {meta['memory_note']}" if meta.get("memory_note") else "")
        + ". Errors are "
        "relative L2 on each problem's test grid; 'best' is the lowest at any evaluation, "
        "'final' the one at the end of the budget. ∞: the target was not reached.",
    ]
    if meta.get("command"):
        lines.append(f"Command: `{meta['command']}`")
    specs = {s.label: s for s in suite.problems}
    for problem, rows in summarise(records, suite.targets).items():
        spec = specs[problem]
        params = ", ".join(f"{k}={v}" for k, v in spec.params.items())
        lines += ["", f"## {problem}" + (f" ({spec.name} {params})" if params else ""), ""]
        if spec.published:
            lines += [f"Published: {spec.published}", ""]
        columns = [c.replace("memory", meta["memory"]) for c in rows[0]]
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "---|" * len(columns))
        lines += ["| " + " | ".join(row.values()) + " |" for row in rows]
        lines += ["", f"![error vs wall-clock, {problem}](error_vs_time_{problem}.png)"]
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    """JSON-safe: infinities become the string ``"inf"``."""
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _plot(problem: str, records: Sequence[dict[str, Any]], targets, path: Path) -> None:
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    colours: dict[str, Any] = {}
    for r in records:
        points = [(h["time"], h["rel_l2"]) for h in r["history"] if h["rel_l2"] is not None]
        if not points:
            continue
        first = r["method"] not in colours
        line = ax.plot(
            *zip(*points),
            color=colours.get(r["method"]),
            alpha=1.0 if first else 0.4,
            label=r["method"] if first else None,
        )[0]
        colours.setdefault(r["method"], line.get_color())
    for t in targets:
        ax.axhline(t, color="grey", linestyle=":", linewidth=1)
    ax.set(xlabel="training time (s)", ylabel="relative L2 error", yscale="log", title=problem)
    ax.grid(True, which="both", alpha=0.3)
    if colours:
        ax.legend(fontsize=8, ncol=2)
    FigureCanvasAgg(fig)
    fig.savefig(path, dpi=100)


def write_report(
    out: str | os.PathLike, suite, records: Sequence[dict[str, Any]], meta: dict[str, Any]
) -> None:
    """Write ``results.csv`` (one row per run), ``results.json`` (meta, records with their
    histories), ``results.md`` and ``error_vs_time_<problem>.png`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    columns = [k for k in records[0] if k != "history"] if records else []
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for r in records:
            writer.writerow({k: ("" if r[k] is None else r[k]) for k in columns})
    payload = {"meta": meta, "records": list(records)}
    (out / "results.json").write_text(json.dumps(_plain(payload), indent=1))
    (out / "results.md").write_text(markdown(suite, records, meta))
    for spec in suite.problems:
        mine = [r for r in records if r["problem"] == spec.label]
        _plot(spec.label, mine, suite.targets, out / f"error_vs_time_{spec.label}.png")
