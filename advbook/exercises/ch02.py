"""Chapter 2 exercises: SGD, the cross-entropy gradient, landscapes, ascent."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..numerics import softmax
from . import (Mismatch, exercise, require_array, require_function,
               require_result)


def _rng() -> np.random.Generator:
    return np.random.default_rng(2)


def _sgd(params: list, grads: list, rate: float) -> list:
    return [p - rate * g for p, g in zip(params, grads)]


def _sgd_uphill(params: list, grads: list, rate: float) -> list:
    return [p + rate * g for p, g in zip(params, grads)]


@exercise("ch2.sgd_step", "one SGD update", reference=lambda: _sgd,
          wrong=lambda: _sgd_uphill)
def check_sgd_step(answer: Callable) -> None:
    """Matches θ − α·g on a few fixed arrays."""
    require_function(answer, "sgd_step_np")
    rng = _rng()
    params = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    grads = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    # Rates other than 0.1 and 0.3, so a hard-coded rate shows.
    for rate in (0.05, 0.7):
        got = list(require_result(
            answer([p.copy() for p in params], [g.copy() for g in grads], rate),
            "a list of arrays"))
        if len(got) != len(params):
            raise Mismatch("return one array per parameter, in the same order")
        wants, uphill = _sgd(params, grads, rate), _sgd_uphill(params, grads, rate)
        for new, want, wrong_way in zip(got, wants, uphill):
            if np.shape(new) != want.shape:
                raise Mismatch("each new parameter keeps its shape")
            if np.allclose(new, wrong_way):
                raise Mismatch("SGD steps against the gradient: which sign?")
            if not np.allclose(new, want):
                raise Mismatch(f"with rate={rate} the step is rate·gradient: "
                               "use the rate argument, and subtract")


def _logit_gradient(logits: np.ndarray, label: int) -> np.ndarray:
    gradient = softmax(np.asarray(logits, float))
    gradient[label] -= 1
    return gradient


def _logit_gradient_flipped(logits: np.ndarray, label: int) -> np.ndarray:
    return -_logit_gradient(logits, label)


@exercise("ch2.logit_gradient", "the cross-entropy gradient on logits",
          reference=lambda: _logit_gradient,
          wrong=lambda: _logit_gradient_flipped)
def check_logit_gradient(answer: Callable) -> None:
    """softmax(z) − onehot(y), including for large logits."""
    require_function(answer, "logit_gradient")
    rng = _rng()
    cases = [(rng.normal(size=10), 3), (rng.normal(size=5) * 4, 0),
             (np.array([1000.0, 999.0, 0.0]), 1)]
    for logits, label in cases:
        got = require_array(answer(logits.copy(), label), logits.shape,
                            "the gradient (one number per logit)")
        if not np.all(np.isfinite(got)):
            raise Mismatch("large logits overflow np.exp: subtract the "
                           "largest logit first")
        if not np.allclose(got, _logit_gradient(logits, label), atol=1e-6):
            raise Mismatch("it is the predicted probabilities minus the "
                           "one-hot label; check the sign and the softmax")


def _filter_normalise(direction: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return direction * (np.linalg.norm(weights, axis=0)
                        / np.linalg.norm(direction, axis=0))


def _whole_normalise(direction: np.ndarray, weights: np.ndarray) -> np.ndarray:
    return direction * np.linalg.norm(weights) / np.linalg.norm(direction)


@exercise("ch2.filter_normalise", "filter-normalise a random direction",
          reference=lambda: _filter_normalise, wrong=lambda: _whole_normalise)
def check_filter_normalise(answer: Callable) -> None:
    """Each column rescaled to the matching column norm of the weights."""
    require_function(answer, "filter_normalise")
    rng = _rng()
    weights = rng.normal(size=(6, 4)) * np.array([0.1, 1.0, 3.0, 0.5])
    direction = rng.normal(size=(6, 4))
    got = require_array(answer(direction.copy(), weights.copy()),
                        direction.shape, "the direction (inputs, units)")
    if not np.allclose(np.linalg.norm(got, axis=0),
                       np.linalg.norm(weights, axis=0)):
        raise Mismatch("each column (one unit's weights) needs the norm of "
                       "the same column of the weights, not the whole matrix")
    if not np.allclose(got, _filter_normalise(direction, weights)):
        raise Mismatch("only rescale each column; keep its direction")


def _ascent(x: np.ndarray, grad: np.ndarray, rate: float) -> np.ndarray:
    return np.clip(x + rate * grad, 0, 1)


def _descent(x: np.ndarray, grad: np.ndarray, rate: float) -> np.ndarray:
    return np.clip(x - rate * grad, 0, 1)


@exercise("ch2.ascent_step", "one gradient-ascent step on pixels",
          reference=lambda: _ascent, wrong=lambda: _descent)
def check_ascent_step(answer: Callable) -> None:
    """x + α·g, clipped to [0, 1]."""
    require_function(answer, "ascent_step")
    rng = _rng()
    x = rng.uniform(0, 1, (5, 64))
    grad = rng.normal(size=(5, 64)) * 2
    for rate in (0.05, 0.7):  # not 0.1 or 0.3, so a hard-coded rate shows
        got = require_array(answer(x.copy(), grad.copy(), rate), x.shape,
                            "the image batch")
        if got.min() < 0 or got.max() > 1:
            raise Mismatch("pixels must stay in [0, 1]: clip the result")
        if np.allclose(got, _descent(x, grad, rate)):
            raise Mismatch("an attack climbs the loss: which sign does the "
                           "step take?")
        if not np.allclose(got, _ascent(x, grad, rate)):
            raise Mismatch(f"with rate={rate} the step is x + rate·gradient, "
                           "then clip: use the rate argument")
