"""Seconds per ε change in the attack explorer, per attack, against plain TF.

    python -m benchmarks.explore_response [--model efficientnet_lite0]
                                          [--photo coffee] [--changes 7]

What a lecturer waits for when the slider moves: `Session.view` (the attack,
the prediction after it) plus drawing the three images and the bars, as
`Explorer.refresh` does. Each attack gets `--changes` new ε values, never
seen before, after a warm-up; s_per_change is the median, x_baseline its
ratio to a plain compiled TF FGSM step with a forward pass (the least any
FGSM answer needs) on the same model and photo, timed in the same process.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable, Optional

import numpy as np

from advbook import explorer, models

from .timing import markdown_table, spread, write_csv

TARGET_S = 1.0  # one ε change must answer within this on 2 cores (Lite0)


def baseline(clf: models.Classifier, photo: np.ndarray, label: int) -> Callable[[float], None]:
    """A plain tf.function FGSM step plus the forward pass after it."""
    import tensorflow as tf

    net, prep = clf.keras_model, clf.preprocessing.tf

    @tf.function
    def step(x, y, eps):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=net(prep(x), training=False)))
        adv = tf.clip_by_value(x + eps * tf.sign(tape.gradient(loss, x)), 0.0, 255.0)
        return net(prep(adv), training=False)

    x, y = tf.constant(photo[None]), tf.constant([label])
    return lambda eps: step(x, y, tf.constant(eps, tf.float32)).numpy()


def answer(ex: explorer.Explorer, attack: str) -> Callable[[float], None]:
    """One ε change as the widgets make it: compute, then draw."""

    def run(eps: float) -> None:
        ex.eps.value = eps
        if ex.message.value:
            raise RuntimeError(ex.message.value)

    return run


def choose(ex: explorer.Explorer, attack: Optional[str]) -> None:
    """Select the attack before the clock starts (it redraws at the old ε)."""
    if attack is not None:
        ex.attack.value = attack


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--photo", default="coffee")
    parser.add_argument("--changes", type=int, default=7)
    args = parser.parse_args(argv)

    clf = models.load(args.model)
    role = {"efficientnet_lite0": models.DEFAULT_ROLE.title,
            "efficientnet_lite2": models.SECOND_ROLE.title}[args.model]
    ex = explorer.Explorer(explorer.Settings(photo=args.photo, role=role, eps=0.0))
    if ex.view is None or ex.view.model_name != clf.display_name:
        raise SystemExit(f"the explorer did not run {clf.display_name}: "
                         f"{ex.message.value}")
    photo = ex.view.original
    label = int(ex.view.clean_top["class_id"].iloc[0])
    runs = {"baseline: TF FGSM step + forward": baseline(clf, photo, label)}
    for attack in explorer.ATTACKS:
        runs[attack] = answer(ex, attack)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for name, run in runs.items():
        choose(ex, name if name in explorer.ATTACKS else None)
        run(0.25)  # warm-up: traces once per attack
    # New ε values each round (never 0.25), interleaved across contenders.
    for eps in np.linspace(1.0, 24.0, args.changes):
        for offset, (name, run) in enumerate(runs.items()):
            choose(ex, name if name in explorer.ATTACKS else None)
            start = time.perf_counter()
            # Each contender its own ε: a value the slider already holds
            # would fire no change at all.
            run(float(eps) + 0.5 * offset)
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["baseline: TF FGSM step + forward"])
    rows = [{"model": args.model, "attack": name,
             "s_per_change": statistics.median(t), "spread": spread(t),
             "x_baseline": statistics.median(t) / base,
             "under_1s": statistics.median(t) < TARGET_S}
            for name, t in times.items()]
    print(markdown_table(rows))
    print(f"\nPGD: {ex.steps.value} steps; median of {args.changes} new ε values")
    print(f"wrote {write_csv(rows, 'explore_response_' + args.model)}")
    return rows


if __name__ == "__main__":
    main()
