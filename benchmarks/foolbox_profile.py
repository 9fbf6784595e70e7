"""Why foolbox on a compiled forward pass missed raw speed (issue 17).

    python -m benchmarks.foolbox_profile [--models ...] [--batches ...] [--steps 3]

Two measurements per model and batch.

1. One loss-and-gradient evaluation, timed phase by phase against the raw
   compiled step (interleaved rounds, medians): the forward pass under
   foolbox's eager GradientTape and the tape's backward, once with the
   weights captured by the tf.function (what advbook did before) and once
   with them read as constants (models.Classifier.compiled_forward now);
   and compiled()'s one-call step, the same work as the raw step.
   The tape runs a tf.function as two graph calls: a forward that exports
   its intermediates and a backward that differentiates with respect to
   every input of the call, the captured weights included.
2. cProfile of one warm foolbox LinfPGD call on each wrapper (and of L2FMN,
   which compiled() cannot reach): the time inside calls of tf.functions
   (the forward, or compiled()'s whole step) and whether any traced again.
   For the taped wrappers the rest holds the tape's backward graph, which
   tape.gradient runs, besides eager ops and eagerpy's Python; with
   compiled() the rest is foolbox's own loop alone.
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import time
from typing import Any, Callable

import numpy as np

from advbook import attacks, models

from .pgd_profile import seconds_in_compiled_step
from .pgd_step import EPS, STEP, build_parser, cases
from .timing import markdown_table, timed_rounds, write_csv

WRAPPERS = 4  # rows eager_share returns per case


def _loss(logits: Any, y: Any) -> Any:
    import tensorflow as tf

    return tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits))


def _captured_forward(clf: models.Classifier) -> Any:
    """The compiled forward advbook used before: weights captured as variables."""
    import tensorflow as tf

    net = clf.keras_model
    return tf.function(lambda z: net(z, training=False), reduce_retracing=True)


def _taped(forward: Callable, prep: Callable, x: Any, y: Any,
           phases: list[tuple[float, float]]) -> Callable[[], None]:
    """Loss and input gradient through an eager tape, as eagerpy does it;
    each call appends (forward seconds, backward seconds) to phases."""
    import tensorflow as tf

    def run() -> None:
        start = time.perf_counter()
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = _loss(forward(prep(x)), y)
        loss.numpy()  # wait for the forward graph before timing the backward
        middle = time.perf_counter()
        tape.gradient(loss, x).numpy()
        phases.append((middle - start, time.perf_counter() - middle))

    return run


def tape_split(clf: models.Classifier, x: np.ndarray, y: np.ndarray,
               repeats: int) -> dict:
    """Seconds for one gradient: raw step, and each taped forward by phase."""
    import tensorflow as tf

    net, prep = clf.keras_model, clf.preprocessing.tf
    x_tf, y_tf = tf.constant(x), attacks.as_label_tensor(y)

    @tf.function
    def raw_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = _loss(net(prep(x), training=False), y_tf)
        return tape.gradient(loss, x)

    inference = clf.compiled_forward()
    step = _compiled_step(clf, x_tf, y_tf)
    captured: list = []
    frozen: list = []
    runs = {"raw": lambda: raw_gradient(x_tf).numpy(),
            "compiled": lambda: step(x_tf, y_tf)[1].numpy(),
            "inference": lambda: inference(prep(x_tf)).numpy(),
            "captured": _taped(_captured_forward(clf), prep, x_tf, y_tf, captured),
            "frozen": _taped(inference, prep, x_tf, y_tf, frozen)}
    times = timed_rounds(runs, repeats)
    del captured[0], frozen[0]  # the warm-up call traced
    raw = statistics.median(times["raw"])
    row = {"s_raw_gradient": raw,
           "x_compiled_step": statistics.median(times["compiled"]) / raw,
           "x_inference_forward": statistics.median(times["inference"]) / raw}
    for name, phases in (("captured", captured), ("frozen", frozen)):
        row[f"x_{name}_forward"] = statistics.median(p[0] for p in phases) / raw
        row[f"x_{name}_backward"] = statistics.median(p[1] for p in phases) / raw
        row[f"x_{name}_total"] = statistics.median(sum(p) for p in phases) / raw
    return row


def _compiled_step(clf: models.Classifier, x: Any, y: Any) -> Callable:
    """compiled()'s loss-and-gradient step on foolbox_model, traced for x."""
    import foolbox as fb

    fmodel = attacks.foolbox_model(clf)
    attacks.compiled(fb.attacks.FGSM())(fmodel, x, y, epsilons=EPS)
    [step] = fmodel.__dict__["_advbook_grad_steps"].values()
    return step


def _traces(fmodel: Any) -> int:
    """Traces so far of the model's forward and of any compiled gradient step."""
    functions = [fmodel._model, *fmodel.__dict__.get("_advbook_grad_steps", {}).values()]
    return sum(f.experimental_get_tracing_count() for f in functions)


def eager_share(clf: models.Classifier, x: np.ndarray, y: np.ndarray,
                steps: int) -> list[dict]:
    """cProfile one warm call per wrapper: time in tf.function calls against the rest."""
    import foolbox as fb
    import tensorflow as tf

    x_tf, y_tf = tf.constant(x), attacks.as_label_tensor(y)
    pgd = fb.attacks.LinfPGD(steps=steps, abs_stepsize=STEP, random_start=False)
    prep = clf.preprocessing.foolbox()
    wrappers = {
        "captured weights": (fb.TensorFlowModel(_captured_forward(clf), (0, 255),
                                                preprocessing=prep), pgd),
        "advbook.foolbox_model": (attacks.foolbox_model(clf), pgd),
        "foolbox_model + compiled()": (attacks.foolbox_model(clf),
                                       attacks.compiled(pgd)),
        # FMN builds its loss inside run(), out of compiled()'s reach.
        "L2FMN on foolbox_model": (attacks.foolbox_model(clf),
                                   fb.attacks.L2FMNAttack(steps=steps)),
    }
    rows = []
    for name, (fmodel, attack) in wrappers.items():
        eps = None if "FMN" in name else EPS

        def run(fmodel=fmodel, attack=attack, eps=eps):
            return attack(fmodel, x_tf, y_tf, epsilons=eps)

        run()  # trace outside the profile
        before = _traces(fmodel)
        profiler = cProfile.Profile()
        profiler.runcall(run)
        stats = pstats.Stats(profiler)
        total = stats.total_tt  # type: ignore[attr-defined]
        inside = seconds_in_compiled_step(stats)
        rows.append({"wrapper": name, "s_total": total, "s_in_function_calls": inside,
                     "outside_pct": 100 * (total - inside) / total,
                     "retraces": _traces(fmodel) - before})
    return rows


def main(argv: list[str] | None = None) -> tuple[list[dict], list[dict]]:
    args = build_parser(__doc__.splitlines()[0]).parse_args(argv)

    splits, shares = [], []
    for name, clf, batch, x, y in cases(args):
        case = {"model": name, "batch": batch}
        splits.append({**case, **tape_split(clf, x, y, args.repeats)})
        print(markdown_table(splits[-1:]), flush=True)
        shares += [{**case, **row} for row in eager_share(clf, x, y, args.steps)]
        print(markdown_table(shares[-WRAPPERS:]), flush=True)
    print("\none gradient, as a multiple of the raw compiled step's")
    print(markdown_table(splits))
    print(f"\none warm call of {args.steps} steps")
    print(markdown_table(shares))
    stem = args.csv or "foolbox"
    print(f"wrote {write_csv(splits, stem + '_tape_split')}, "
          f"{write_csv(shares, stem + '_eager_share')}")
    return splits, shares


if __name__ == "__main__":
    main()
