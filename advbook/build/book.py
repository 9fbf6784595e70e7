"""`make book`: execute every chapter headless into build/, with a report."""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import config
from ..config import chapters

# Speaker notes addressed to the lecturer: in the decks, nowhere else.
LECTURER_TAG = "lecturer"
CELL_TIMEOUT_S = 1800


@dataclass
class ChapterRun:
    """How one chapter's build went."""

    notebook: str
    ok: bool
    seconds: float
    peak_mb: float


def execute(notebook: Path, out_dir: Path) -> Path:
    """Run one notebook top to bottom and write it executed.

    Readers get it as a page of the book site (`advbook.build.site`), which
    replaces the standalone nbconvert pages this wrote before.
    """
    import nbformat
    from nbconvert.preprocessors import ExecutePreprocessor

    nb = nbformat.read(notebook, as_version=4)
    runner = ExecutePreprocessor(timeout=CELL_TIMEOUT_S, kernel_name="python3")
    runner.preprocess(nb, {"metadata": {"path": str(notebook.parent)}})
    from .slides import write_atomically

    executed = out_dir / "notebooks" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    # Atomic: a killed build leaves the old notebook or the new one, never
    # half a file that `advbook slides` would then choke on.
    write_atomically(executed, nbformat.writes(nb))
    return executed


def reader_copy(nb: Any) -> Any:
    """The notebook without the cells addressed to the lecturer."""
    from nbconvert.preprocessors import TagRemovePreprocessor

    remover = TagRemovePreprocessor(remove_cell_tags={LECTURER_TAG})
    return remover.preprocess(copy.deepcopy(nb), {})[0]


def _run_isolated(notebook: Path, out_dir: Path, env: dict) -> ChapterRun:
    """Execute in a child process so its time and peak memory are its own."""
    log = out_dir / "logs" / notebook.with_suffix(".log").name
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with open(log, "w") as sink:  # kernel chatter goes here, not the terminal
        child = subprocess.Popen(
            [sys.executable, "-m", "advbook.build.book", str(notebook), str(out_dir)],
            env=env, stdout=sink, stderr=subprocess.STDOUT)
        # wait4 gives the child's peak RSS, including the kernel it reaped.
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    ok = child.returncode == 0
    if not ok:
        print(log.read_text()[-3000:], file=sys.stderr)
    return ChapterRun(notebook.name, ok, time.perf_counter() - start,
                      usage.ru_maxrss / 1024)


def build(paths: list[str] | None = None, smoke: bool = False) -> int:
    """Execute chapters into the build folder; return a shell exit code."""
    notebooks = [Path(p).resolve() for p in paths] if paths else chapters()
    out_dir = config.build_dir()
    # advbook.progress reads TQDM_DISABLE: a progress bar has no meaning in
    # a printed page or a slide, so built chapters carry none.
    env = dict(os.environ, ADVBOOK_BUILD_DIR=str(out_dir), TQDM_DISABLE="1",
               ADVBOOK_SMOKE="1" if smoke else os.environ.get("ADVBOOK_SMOKE", "0"))
    runs = []
    for i, notebook in enumerate(notebooks, 1):
        print(f"[{i}/{len(notebooks)}] {notebook.name} ...", flush=True)
        run = _run_isolated(notebook, out_dir, env)
        runs.append(run)
        verdict = "ok" if run.ok else "FAILED"
        print(f"[{i}/{len(notebooks)}] {notebook.name} {verdict} in "
              f"{run.seconds:.0f} s, peak {run.peak_mb:.0f} MB", flush=True)
    # A run on some chapters gets its own report, so it cannot replace the
    # whole book's.
    _write_report(runs, out_dir, smoke or config.smoke(), partial=bool(paths))
    failed = [r.notebook for r in runs if not r.ok]
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


def student_edition(out_dir: Path | None = None) -> list[Path]:
    """Write every chapter without its solution and lecturer cells."""
    import nbformat
    from nbconvert.preprocessors import TagRemovePreprocessor

    out_dir = (out_dir or config.build_dir()) / "student"
    out_dir.mkdir(parents=True, exist_ok=True)
    remover = TagRemovePreprocessor(remove_cell_tags={"solution", LECTURER_TAG})
    written = []
    for path in chapters():
        nb = nbformat.read(path, as_version=4)
        nb, _ = remover.preprocess(nb, {})
        target = out_dir / path.name
        nbformat.write(nb, target)
        written.append(target)
    return written


def _write_report(runs: list[ChapterRun], out_dir: Path, smoke: bool,
                  partial: bool = False) -> None:
    """Time and peak memory per chapter, as CSV and a markdown table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    mode = ("smoke" if smoke else "full") + ("-partial" if partial else "")
    with open(out_dir / f"timing-{mode}.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["notebook", "ok", "seconds", "peak_mb"])
        for r in runs:
            writer.writerow([r.notebook, r.ok, f"{r.seconds:.1f}", f"{r.peak_mb:.0f}"])
    lines = [f"| chapter ({mode}) | ok | wall s | peak MB |", "|---|---|---|---|"]
    lines += [f"| {r.notebook} | {'yes' if r.ok else 'no'} | {r.seconds:.0f} "
              f"| {r.peak_mb:.0f} |" for r in runs]
    total = sum(r.seconds for r in runs)
    peak = max((r.peak_mb for r in runs), default=0)
    lines.append(f"| **total** | | {total:.0f} | {peak:.0f} |")
    (out_dir / f"timing-{mode}.md").write_text("\n".join(lines) + "\n")
    print(f"report: {out_dir / f'timing-{mode}.md'}")


if __name__ == "__main__":  # the per-chapter child process
    from ..errors import AdvbookError

    try:
        execute(Path(sys.argv[1]), Path(sys.argv[2]))
    except AdvbookError as err:
        print(f"advbook: {err}", file=sys.stderr)
        raise SystemExit(2)
    except Exception as err:  # noqa: BLE001 - a failing cell is reported, not raised
        print(f"{Path(sys.argv[1]).name}: {type(err).__name__}: {err}"[:4000],
              file=sys.stderr)
        raise SystemExit(1)
