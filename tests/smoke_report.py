"""pytest plugin: per-chapter time and kernel peak memory of the smoke run.

Loaded by `make test` (-p tests.smoke_report); writes build/timing-smoke.md.
"""

from __future__ import annotations

import os
from collections import defaultdict

import psutil

from advbook import config

_seconds: dict[str, float] = defaultdict(float)
_peak_mb: dict[str, float] = defaultdict(float)


def _kernel_rss_mb() -> float:
    """RSS of this process's children: nbval's kernel while a notebook runs."""
    children = psutil.Process(os.getpid()).children(recursive=True)
    total = 0
    for child in children:
        try:
            total += child.memory_info().rss
        except psutil.Error:  # a child that just exited
            pass
    return total / 2**20


def pytest_runtest_logreport(report) -> None:
    """Add each nbval cell's time to its notebook; sample kernel memory."""
    path = report.nodeid.split("::")[0]
    if not path.endswith(".ipynb"):
        path = "unit tests"
    _seconds[path] += report.duration
    if report.when == "call" and path != "unit tests":
        _peak_mb[path] = max(_peak_mb[path], _kernel_rss_mb())


def pytest_sessionfinish(session) -> None:
    """Write the report if any notebook ran."""
    if not any(p.endswith(".ipynb") for p in _seconds):
        return
    out = config.build_dir()
    out.mkdir(parents=True, exist_ok=True)
    lines = ["| part (smoke test run) | s | kernel peak MB |", "|---|---|---|"]
    for path, seconds in sorted(_seconds.items()):
        peak = f"{_peak_mb[path]:.0f}" if path in _peak_mb else ""
        lines.append(f"| {os.path.basename(path)} | {seconds:.0f} | {peak} |")
    lines.append(f"| **total** | {sum(_seconds.values()):.0f} | "
                 f"{max(_peak_mb.values(), default=0):.0f} |")
    (out / "timing-smoke.md").write_text("\n".join(lines) + "\n")
