"""Where advbook's PGD spends its time: the compiled step against the rest.

    python -m benchmarks.pgd_profile [--models ...] [--batches ...] [--steps 3]

advbook.tf_attacks.pgd runs the same compiled graph as the raw step in
pgd_step.py; whatever it adds is Python around it: checking the inputs,
making tensors, copying the result back. cProfile splits one warm call into
time inside the compiled step and time outside it, so a ratio above 1 in
pgd_step can be told apart from timing noise.
"""

from __future__ import annotations

import cProfile
import pstats

import numpy as np

from advbook import tf_attacks

from .pgd_step import EPS, STEP, build_parser, cases
from .timing import markdown_table, write_csv


def seconds_in_compiled_step(stats: pstats.Stats) -> float:
    """Cumulative time inside tf.function calls (the compiled PGD step)."""
    total = 0.0
    for (path, _, function), row in stats.stats.items():  # type: ignore[attr-defined]
        if function == "__call__" and path.endswith("polymorphic_function.py"):
            total += row[3]  # cumulative time, recursion counted once
    return total


def profile_once(clf, x: np.ndarray, y: np.ndarray, steps: int) -> dict:
    """Profile one warm PGD call; return its split in seconds."""
    def attack():
        return tf_attacks.pgd(clf, x, y, EPS, steps=steps, step_size=STEP,
                              random_start=False)

    attack()  # trace and warm up outside the profile
    profiler = cProfile.Profile()
    profiler.runcall(attack)
    stats = pstats.Stats(profiler)
    total = stats.total_tt  # type: ignore[attr-defined]
    inside = seconds_in_compiled_step(stats)
    return {"s_total": total, "s_compiled_step": inside,
            "s_outside": total - inside, "outside_pct": 100 * (total - inside) / total}


def main(argv: list[str] | None = None) -> list[dict]:
    # Same options as pgd_step, so one BENCH_ARGS serves both; --repeats and
    # --xla do not apply to a single profiled call.
    args = build_parser(__doc__.splitlines()[0]).parse_args(argv)

    rows = []
    for name, clf, batch, x, y in cases(args):
        rows.append({"model": name, "batch": batch, "steps": args.steps,
                     **profile_once(clf, x, y, args.steps)})
        print(markdown_table(rows[-1:]), flush=True)
    print()
    print(markdown_table(rows))
    print(f"wrote {write_csv(rows, (args.csv or 'pgd_step') + '_profile')}")
    return rows


if __name__ == "__main__":
    main()
