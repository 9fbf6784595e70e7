"""Chapter 3 exercises: the worst perturbation, FGSM, sweeps, paper numbers."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from ..numerics import softmax
from . import Mismatch, exercise, require_array, require_function


def _worst(w: np.ndarray, eps: float) -> np.ndarray:
    return eps * np.sign(w)


def _scaled(w: np.ndarray, eps: float) -> np.ndarray:
    return eps * w / np.abs(w).max()


@exercise("ch3.worst_perturbation", "the worst L∞ perturbation of w·x",
          reference=lambda: _worst, wrong=lambda: _scaled)
def check_worst(answer: Callable) -> None:
    """Within the ε box, and w·η reaches ε‖w‖₁."""
    require_function(answer, "worst_perturbation")
    rng = np.random.default_rng(3)
    for n, eps in ((5, 0.1), (100, 0.25), (1000, 0.01)):
        w = rng.normal(size=n)
        eta = require_array(answer(w.copy(), eps), w.shape,
                            "η (one entry per weight)")
        if np.abs(eta).max() > eps + 1e-9:
            raise Mismatch("no entry of η may exceed ε in size")
        if not np.isclose(w @ eta, eps * np.abs(w).sum()):
            raise Mismatch("w·η can reach ε·‖w‖₁: push every input by the "
                           "full ε, in the direction its weight prefers")


def _model() -> Any:
    """A fixed small dense net on 8x8x1 images, logits out."""
    import keras

    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((8, 8, 1)), keras.layers.Flatten(),
        keras.layers.Dense(16, activation="relu"), keras.layers.Dense(10)])
    return model


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (12, 8, 8, 1)).astype(np.float32)
    x[:, :2] = 0.0  # some pixels at the bounds, so clipping matters
    x[:, -1] = 1.0
    return x, rng.integers(0, 10, 12)


def _fgsm(model: Any, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    from .. import tf_attacks

    return tf_attacks.fgsm(model, x, np.asarray(y), eps)


def _fgsm_raw_gradient(model: Any, x: np.ndarray, y: np.ndarray,
                       eps: float) -> np.ndarray:
    import tensorflow as tf

    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
            y, model(x)))
    return np.clip(x + eps * tape.gradient(loss, x), 0, 1)


@exercise("ch3.fgsm", "FGSM from scratch", reference=lambda: _fgsm,
          wrong=lambda: _fgsm_raw_gradient)
def check_fgsm(answer: Callable) -> None:
    """Equals the package's FGSM on a fixed model, for two ε."""
    require_function(answer, "my_fgsm")
    model = _model()
    x, y = _inputs()
    for eps in (0.1, 0.25):
        got = require_array(answer(model, x.copy(), y.copy(), eps), x.shape,
                            "the images")
        if got.min() < 0 or got.max() > 1:
            raise Mismatch("clip the result to the pixel range [0, 1]")
        changed = np.abs(got - x)
        if changed.max() > eps + 1e-5:
            raise Mismatch("no pixel may move by more than ε")
        if not np.allclose(got, _fgsm(model, x, y, eps), atol=1e-5):
            raise Mismatch("step by ε·sign(gradient of the cross-entropy of "
                           "the true labels, from logits), then clip")


def _first_flip(epsilons: np.ndarray, logits: np.ndarray) -> float | None:
    top = np.argmax(logits, axis=1)
    clean = top[np.flatnonzero(epsilons == 0)[0]]
    changed = epsilons[(epsilons > 0) & (top != clean)]
    return float(changed.min()) if len(changed) else None


def _first_flip_any_side(epsilons: np.ndarray,
                         logits: np.ndarray) -> float | None:
    top = np.argmax(logits, axis=1)
    clean = top[np.flatnonzero(epsilons == 0)[0]]
    changed = epsilons[top != clean]
    return float(changed[np.argmin(np.abs(changed))]) if len(changed) else None


def _sweeps() -> list[tuple[np.ndarray, np.ndarray, float | None]]:
    eps = np.arange(-4.0, 5.0)  # -4 ... 4, with 0 at index 4
    flips_both = np.zeros((9, 3))
    flips_both[:, 0] = 1.0
    flips_both[[1, 2], 1] = 2.0  # negative side: class 1 wins at -3, -2
    flips_both[[7, 8], 2] = 2.0  # positive side: class 2 from +3
    never = np.tile([0.0, 1.0, 0.0], (9, 1))
    # ε = 0 is neither the first row nor the middle one, and both of those
    # rows hold other classes than the clean one.
    off_centre = np.arange(-2.0, 7.0)
    tops = [1, 1, 0, 0, 2, 2, 2, 2, 2]
    shifted = np.eye(3)[tops] * 2.0
    return [(eps, flips_both, 3.0), (eps, never, None),
            (off_centre, shifted, 2.0)]


@exercise("ch3.first_flip", "the smallest ε that changes the class",
          reference=lambda: _first_flip, wrong=lambda: _first_flip_any_side)
def check_first_flip(answer: Callable) -> None:
    """Right on a sweep that flips on both sides, and one that never flips."""
    require_function(answer, "first_flip")
    for eps, logits, want in _sweeps():
        got = answer(eps.copy(), logits.copy())
        if want is None:
            if got is not None:
                raise Mismatch("when the top class never changes for ε > 0, "
                               "return None")
        elif got is None or not np.isclose(float(got), want):
            raise Mismatch("only ε > 0 counts, and the comparison is with "
                           "the top class in the row where ε == 0 (find that "
                           "row; it need not be the first or the middle one)")


def _error_confidence(logits: np.ndarray, labels: np.ndarray) -> tuple:
    probs = softmax(np.asarray(logits, float))
    wrong = probs.argmax(axis=1) != labels
    return float(wrong.mean()), float(probs.max(axis=1)[wrong].mean())


def _error_confidence_all(logits: np.ndarray, labels: np.ndarray) -> tuple:
    probs = softmax(np.asarray(logits, float))
    wrong = probs.argmax(axis=1) != labels
    return float(wrong.mean()), float(probs.max(axis=1).mean())


@exercise("ch3.error_and_confidence", "error rate and confidence on errors",
          reference=lambda: _error_confidence,
          wrong=lambda: _error_confidence_all)
def check_error_confidence(answer: Callable) -> None:
    """(error rate, mean top probability over the misclassified rows)."""
    require_function(answer, "error_and_confidence")
    rng = np.random.default_rng(6)
    logits = rng.normal(0, 3, (40, 10))
    labels = rng.integers(0, 10, 40)
    labels[:10] = logits[:10].argmax(axis=1)  # some right, most wrong
    got = answer(logits.copy(), labels.copy())
    if got is None or len(got) != 2:
        raise Mismatch("return a tuple: (error rate, mean confidence)")
    want = _error_confidence(logits, labels)
    if not np.isclose(float(got[0]), want[0]):
        raise Mismatch("the error rate is the share of rows whose argmax "
                       "is not the label")
    if not np.isclose(float(got[1]), want[1], atol=1e-6):
        raise Mismatch("average the softmax probability of the predicted "
                       "class over the misclassified rows only")
