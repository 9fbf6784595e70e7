"""Timing helpers shared by the benchmarks: warm-up, paired rounds, tables, CSV."""

from __future__ import annotations

import csv
import statistics
import time
from pathlib import Path
from typing import Callable

from advbook import config


def timed_rounds(runs: dict[str, Callable[[], object]], repeats: int,
                 warmup: int = 1) -> dict[str, list[float]]:
    """Wall times of every run, interleaved round by round.

    Each round times every contender once, in a rotated order, so a slow
    spell of the machine (another process, a hot core) lands on all of them
    instead of on whichever happened to be running.
    """
    for run in runs.values():
        for _ in range(warmup):
            run()
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(repeats):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - start)
    return times


def spread(times: list[float]) -> float:
    """Half the interquartile range, as a fraction of the median."""
    if len(times) < 4:
        return (max(times) - min(times)) / 2 / statistics.median(times)
    q1, _, q3 = statistics.quantiles(times, n=4)
    return (q3 - q1) / 2 / statistics.median(times)


def write_csv(rows: list[dict], name: str) -> Path:
    """Write rows to build/bench/NAME.csv and return the path."""
    path = config.build_dir() / "bench" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def markdown_table(rows: list[dict]) -> str:
    """Rows of equal keys as a markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [f"{v:.3f}" if isinstance(v, float) else str(v) for v in row.values()]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
