"""Result rows, machine facts, the rich table on stdout and `.bench/latest.json`."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import psutil  # type: ignore[import-untyped]
from rich.console import Console
from rich.table import Table


@dataclass
class Row:
    """One line of the table and one element of `rows` in latest.json (see bench/README.md)."""

    scenario: str
    batch: int | None = None
    concurrency: int | None = None
    workers: int | None = None
    statements_per_s: float | None = None
    requests_per_s: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    ceiling_ratio: float | None = None
    peak_rss_mb: float | None = None
    client_cpu: float | None = None
    errors: int = 0
    count: int | None = None
    seconds: float | None = None
    note: str = ""


@dataclass
class Report:
    mode: str
    rows: list[Row] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    machine: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    duration_s: float = 0.0

    def add(self, row: Row) -> Row:
        self.rows.append(row)
        return row

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2)


def machine_info(pg_version: str) -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "postgres": pg_version,
        "platform": platform.platform(),
        "load_avg_at_start": load_avg(),
        "git_commit": _git_commit(),
    }


def load_avg() -> list[float]:
    """1/5/15-minute load averages: the machine is shared, so say how busy it was."""
    return [round(x, 2) for x in os.getloadavg()]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        )
        return out.stdout.strip()
    except OSError:
        return ""


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    if digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console(width=160)
    m = report.machine
    title = (
        f"Learnproof bench ({report.mode}) - {m.get('cores')} cores, {m.get('memory_gb')} GB, "
        f"Python {m.get('python')}, PostgreSQL {m.get('postgres')}, {report.duration_s:.0f} s"
    )
    table = Table(title=title, show_lines=False)
    for name in (
        "scenario",
        "batch",
        "conc",
        "wk",
        "stmts/s",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "÷ceiling",
        "RSS MB",
        "client cpu",
        "err",
        "note",
    ):
        table.add_column(name, justify="left" if name in ("scenario", "note") else "right")
    for r in report.rows:
        table.add_row(
            r.scenario,
            "" if r.batch is None else str(r.batch),
            "" if r.concurrency is None else str(r.concurrency),
            "" if r.workers is None else str(r.workers),
            _fmt(r.statements_per_s, 0),
            _fmt(r.requests_per_s, 0),
            _fmt(r.p50_ms),
            _fmt(r.p95_ms),
            _fmt(r.p99_ms),
            "" if r.ceiling_ratio is None else f"{r.ceiling_ratio:.0%}",
            _fmt(r.peak_rss_mb, 0),
            "" if r.client_cpu is None else f"{r.client_cpu:.0%}",
            str(r.errors) if r.errors else "",
            r.note,
        )
    console.print(table)
    if report.targets:
        targets = Table(title="Targets (issue 7)")
        for name in ("target", "measured", "met"):
            targets.add_column(name)
        for t in report.targets:
            targets.add_row(t["target"], t["measured"], "yes" if t["met"] else "NO")
        console.print(targets)
