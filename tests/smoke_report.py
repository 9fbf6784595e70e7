"""pytest plugin: per-chapter time, kernel peak memory and unmet claims.

Loaded by `make test` (-p tests.smoke_report). It writes
build/timing-smoke[-PASS].md, PASS being ADVBOOK_TEST_PASS (the swapped and
structure passes of `make test` set it).

With ADVBOOK_CLAIMS=report (the structure pass, whose models have random
weights) an AssertionError raised by a cell tagged `claim` is listed in
that report instead of failing the run; every other error still fails.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict

import psutil
import pytest

from advbook import config

_seconds: dict[str, float] = defaultdict(float)
_peak_mb: dict[str, float] = defaultdict(float)
_unmet_claims: list[str] = []


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


def claims_only_reported() -> bool:
    """True in the structure pass: claim failures are listed, not failed."""
    return os.environ.get("ADVBOOK_CLAIMS", "").strip() == "report"


def _failed_claim(item) -> str | None:
    """'Cell N: AssertionError ...' when a claim cell's assert failed."""
    cell = getattr(item, "cell", None)
    if cell is None or "claim" not in cell.metadata.get("tags", []):
        return None
    errors = [o for o in (item.test_outputs or [])
              if o.get("output_type") == "error"]
    if not errors or errors[-1]["ename"] != "AssertionError":
        return None
    return f"cell {item.cell_num}: {errors[-1]['evalue'] or _failing_line(errors[-1])}"


def _failing_line(error: dict) -> str:
    """The source line IPython's traceback marks with an arrow."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.get("traceback", [])))
    marked = re.findall(r"^-+> *\d+ (.*)$", plain, re.M)
    return marked[-1].strip() if marked else "assertion failed"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In the structure pass, turn a claim's AssertionError into a listing."""
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.failed or not claims_only_reported():
        return
    unmet = _failed_claim(item)
    if unmet:
        notebook = os.path.basename(report.nodeid.split("::")[0])
        _unmet_claims.append(f"{notebook} {unmet}")
        report.outcome = "skipped"
        report.longrepr = (str(item.fspath), 0, f"claim not met: {unmet}")


def pytest_runtest_logreport(report) -> None:
    """Add each nbval cell's time to its notebook; sample kernel memory."""
    path = report.nodeid.split("::")[0]
    if not path.endswith(".ipynb"):
        path = "unit tests"
    _seconds[path] += report.duration
    if report.when == "call" and path != "unit tests":
        _peak_mb[path] = max(_peak_mb[path], _kernel_rss_mb())


def report_path():
    """build/timing-smoke.md, or timing-smoke-PASS.md for a named pass."""
    name = os.environ.get("ADVBOOK_TEST_PASS", "").strip()
    return config.build_dir() / f"timing-smoke{'-' + name if name else ''}.md"


def pytest_terminal_summary(terminalreporter) -> None:
    """Say which claims were only reported, so nobody mistakes them for passes."""
    if _unmet_claims:
        terminalreporter.section("claims not met (reported, not failed)")
        for line in _unmet_claims:
            terminalreporter.write_line(line)


def pytest_sessionfinish(session) -> None:
    """Write the report if any notebook ran."""
    if not any(p.endswith(".ipynb") for p in _seconds):
        return
    out = report_path()
    out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["| part (smoke test run) | s | kernel peak MB |", "|---|---|---|"]
    for path, seconds in sorted(_seconds.items()):
        peak = f"{_peak_mb[path]:.0f}" if path in _peak_mb else ""
        lines.append(f"| {os.path.basename(path)} | {seconds:.0f} | {peak} |")
    lines.append(f"| **total** | {sum(_seconds.values()):.0f} | "
                 f"{max(_peak_mb.values(), default=0):.0f} |")
    if claims_only_reported():
        lines += ["", f"Claims not met (reported, not failed): "
                  f"{len(_unmet_claims)}", ""]
        lines += [f"- {line}" for line in _unmet_claims]
    out.write_text("\n".join(lines) + "\n")
