"""Seconds per L∞ PGD step: raw TF, plain foolbox, advbook, ART, side by side.

    python -m benchmarks.pgd_step [--models efficientnet_lite0 resnet50]
                                  [--batches 1 8 32] [--steps 5] [--repeats 5]

Every contender attacks the same model, on the same batch of random 0-255
images, for the same number of steps, in this one process, after a warm-up
run; each figure is the median of several runs divided by the step count.
ResNet-50 uses random weights (speed does not depend on them).
"""

from __future__ import annotations

import argparse
import platform
from typing import Any, Callable

import numpy as np

import advbook as ab
from advbook import attacks, models, tf_attacks

from .timing import markdown_table, median_seconds, write_csv

EPS = 4.0
STEP = 1.0


def _classifier(name: str) -> models.Classifier:
    """The registry model, or ResNet-50 with random weights for timing."""
    if name == "resnet50_random":
        import keras

        spec = models.spec("resnet50")
        net = keras.applications.ResNet50(weights=None, classifier_activation=None)
        return models.Classifier(spec, net)
    return models.load(name)


def raw_step(clf: models.Classifier, jit: bool) -> Callable:
    """The floor: one PGD step written straight in TensorFlow, compiled."""
    import tensorflow as tf

    net, prep = clf.keras_model, clf.preprocessing.tf

    @tf.function(jit_compile=jit)
    def step(x, x0, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=net(prep(x), training=False)))
        x = x + STEP * tf.sign(tape.gradient(loss, x))
        return tf.clip_by_value(x0 + tf.clip_by_value(x - x0, -EPS, EPS), 0.0, 255.0)

    return step


def contenders(clf: models.Classifier, x: np.ndarray, y: np.ndarray,
               steps: int, xla: bool) -> dict[str, Callable[[], Any]]:
    """name -> a zero-argument callable running `steps` PGD steps."""
    import foolbox as fb
    import tensorflow as tf

    x_tf, y_tf = tf.constant(x), attacks.as_label_tensor(y)
    runs: dict[str, Callable[[], Any]] = {}
    for jit in (False, True) if xla else (False,):
        step = raw_step(clf, jit)

        def run_raw(step=step):
            adv = x_tf
            for _ in range(steps):
                adv = step(adv, x_tf, y_tf)
            return adv.numpy()

        runs["raw TF step" + (" (XLA)" if jit else "")] = run_raw

    plain = fb.TensorFlowModel(clf.keras_model, bounds=(0, 255),
                               device=attacks.device(),
                               preprocessing=clf.preprocessing.foolbox())
    wrapped = attacks.foolbox_model(clf)
    pgd = fb.attacks.LinfPGD(steps=steps, abs_stepsize=STEP, random_start=False)
    runs["foolbox LinfPGD, eager model"] = lambda: pgd(plain, x_tf, y_tf, epsilons=EPS)
    runs["foolbox LinfPGD, advbook.foolbox_model"] = (
        lambda: pgd(wrapped, x_tf, y_tf, epsilons=EPS))
    runs["advbook tf_attacks.pgd"] = lambda: tf_attacks.pgd(
        clf, x, y, EPS, steps=steps, step_size=STEP, random_start=False)
    art = _art_attack(clf, x, steps)
    if art is not None:
        runs["ART ProjectedGradientDescent"] = lambda: art.generate(x, y=y)
    return runs


def _art_attack(clf: models.Classifier, x: np.ndarray, steps: int) -> Any:
    """ART's PGD on a TensorFlowV2Classifier, or None if ART is not installed."""
    try:
        from art.attacks.evasion import ProjectedGradientDescent
        from art.estimators.classification import TensorFlowV2Classifier
    except ImportError:
        print("ART not installed (pip install -e '.[bench]'): skipping it")
        return None
    import keras

    # ART takes (mean, std) only; a channel flip (ResNet-50's BGR) cannot be
    # expressed, so the preprocessing goes inside the model for everyone's
    # benefit: it is the same arithmetic either way.
    pixels = keras.Input(x.shape[1:])
    logits = clf.keras_model(keras.layers.Lambda(clf.preprocessing.tf)(pixels))
    estimator = TensorFlowV2Classifier(
        keras.Model(pixels, logits), nb_classes=1000, input_shape=x.shape[1:],
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        clip_values=(0.0, 255.0))
    return ProjectedGradientDescent(
        estimator, norm=np.inf, eps=EPS, eps_step=STEP, max_iter=steps,
        num_random_init=0, batch_size=len(x), verbose=False)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["efficientnet_lite0", "resnet50_random"])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8, 32])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    # On a 2-core CPU XLA made the step ~12x slower (Lite0, batch 1), so it
    # is measured only on request.
    parser.add_argument("--xla", action="store_true",
                        help="also time the raw step compiled with XLA")
    args = parser.parse_args(argv)

    rng = ab.seed_everything(0)
    rows = []
    for name in args.models:
        clf = _classifier(name)
        size = clf.input_size
        for batch in args.batches:
            x = rng.uniform(0, 255, (batch, size, size, 3)).astype(np.float32)
            y = rng.integers(0, 1000, batch)
            timed = {label: median_seconds(run, args.repeats) / args.steps
                     for label, run in contenders(clf, x, y, args.steps,
                                                      args.xla).items()}
            floor = timed["raw TF step"]
            for label, seconds in timed.items():
                rows.append({"model": name, "batch": batch, "contender": label,
                             "s_per_step": seconds, "x_raw": seconds / floor})
            print(markdown_table(rows[-len(timed):]), flush=True)
    device = attacks.device()
    print(f"\n{platform.processor() or platform.machine()}, device {device}, "
          f"{args.steps} steps, median of {args.repeats}")
    print(markdown_table(rows))
    print(f"wrote {write_csv(rows, 'pgd_step_' + device.strip('/').replace(':', ''))}")
    return rows


if __name__ == "__main__":
    main()
