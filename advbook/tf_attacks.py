"""FGSM and PGD written directly in TensorFlow, as the chapters teach them.

Chapters 3 and 6 derive these from scratch; this module keeps the same code
for reuse, with the gradient step compiled by tf.function. They work on any
Keras model that returns logits, or on an `advbook.models.Classifier`
(then the bounds are 0-255 pixels and the model's preprocessing applies).
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from .checks import (NORMS, check_batch, check_bounds, check_epsilon, check_labels,
                     check_non_negative, check_norm, check_positive_int,
                     check_preprocess, check_seed, model_classes, model_rank)
from .errors import InvalidArgument
from .images import check_images
from .norms import ascend, project, random_start

__all__ = ["NORMS", "fgsm", "pgd"]

# One compiled step per (model, preprocessing, norm, direction, input rank).
# The rank is part of the key: with reduce_retracing, one call of another
# rank would relax the shared signature to unknown rank for every later call.
_STEPS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _identity(x: Any) -> Any:
    return x


@dataclass(frozen=True)
class _Target:
    """What an attack runs on: the Keras model, its bounds and preprocessing."""

    model: Any
    bounds: tuple[float, float]
    preprocess: Callable
    classes: Optional[int]  # logits per example, when the model declares it
    rank: Optional[int]  # axes of an input batch, when the model declares it
    pixels: bool  # an advbook Classifier: RGB batches of 0-255 pixels


def _unpack(model: Any, bounds: Optional[tuple[float, float]],
            preprocess: Optional[Callable]) -> _Target:
    """The attack target for a Keras model or an advbook Classifier."""
    from .models import Classifier

    if isinstance(model, Classifier):
        # A Classifier fixes its own pixel range and preprocessing; silently
        # ignoring other values would attack a different problem.
        if bounds is not None and tuple(check_bounds(bounds)) != (0.0, 255.0):
            raise InvalidArgument(
                f"{model.name} takes 0-255 pixels, so bounds must be (0, 255) "
                f"or left out; got {bounds!r}")
        if preprocess is not None:
            raise InvalidArgument(
                f"{model.name} applies its own preprocessing; leave preprocess "
                "out, or pass model.keras_model to preprocess yourself")
        return _Target(model.keras_model, (0.0, 255.0), model.preprocessing.tf,
                       1000, 4, True)
    if not callable(model):
        raise InvalidArgument(f"model must be a Keras model or an advbook "
                              f"Classifier; got {type(model).__name__}")
    bounds = (0.0, 1.0) if bounds is None else check_bounds(bounds)
    prep = _identity if preprocess is None else getattr(preprocess, "tf", preprocess)
    return _Target(model, bounds, prep, model_classes(model), model_rank(model),
                   False)


def _check(target: _Target, x: np.ndarray, y: np.ndarray,
           eps: float) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate inputs; return float32 x, int64 y and a float ε."""
    if target.pixels:
        x = check_images(x, "x")  # the same 0-255 rules as run_attack
    else:
        x = check_batch(x, target.bounds, "x", rank=target.rank)
    y = check_labels(y, len(x), target.classes, "y")
    eps = check_epsilon(eps)
    if target.preprocess is not _identity:
        check_preprocess(target.preprocess, x[:1])
    return x, y, eps


def _tensors(x: np.ndarray, y: np.ndarray, eps: float,
             bounds: tuple[float, float]) -> tuple:
    """Tensors for the compiled step: Python floats would be baked into
    the trace as constants, forcing a retrace for every new ε."""
    import tensorflow as tf

    return (tf.constant(x), tf.constant(y), tf.constant(eps, tf.float32),
            tf.constant(bounds[0], tf.float32), tf.constant(bounds[1], tf.float32))


def _compiled_step(model: Any, preprocess: Callable, norm: str,
                   targeted: bool, rank: int) -> Callable:
    """A tf.function doing one ascent step, projection and clipping."""
    import tensorflow as tf

    per_model = _STEPS.setdefault(model, {})
    key = (preprocess, norm, targeted, rank)
    if key in per_model:
        return per_model[key]
    sign = -1.0 if targeted else 1.0  # targeted: descend the target's loss

    @tf.function(reduce_retracing=True)
    def step(x, x0, y, eps, step_size, low, high):
        with tf.GradientTape() as tape:
            tape.watch(x)
            logits = model(preprocess(x), training=False)
            # Summed, so each example's gradient ignores the rest of the batch.
            loss = tf.reduce_sum(tf.nn.sparse_softmax_cross_entropy_with_logits(
                labels=y, logits=logits))
        grad = tape.gradient(loss, x)
        x = ascend(x, grad, sign * step_size, norm)
        x = x0 + project(x - x0, eps, norm)  # back into the ball
        return tf.clip_by_value(x, low, high)  # back to valid pixels

    per_model[key] = step
    return step


def fgsm(model: Any, x: np.ndarray, y: np.ndarray, eps: float, *,
         bounds: Optional[tuple[float, float]] = None,
         preprocess: Optional[Callable] = None, targeted: bool = False) -> np.ndarray:
    """x + ε·sign(∇ₓ loss), clipped to bounds (towards y when targeted).

    bounds default to (0, 1) for a Keras model; a Classifier takes 0-255.
    """
    target = _unpack(model, bounds, preprocess)
    x, y, eps = _check(target, x, y, eps)
    # FGSM is one L∞ step of size ε from x, with nothing to project.
    step = _compiled_step(target.model, target.preprocess, "linf", targeted, x.ndim)
    x_t, y_t, eps_t, low, high = _tensors(x, y, eps, target.bounds)
    return step(x_t, x_t, y_t, eps_t, eps_t, low, high).numpy()


def pgd(model: Any, x: np.ndarray, y: np.ndarray, eps: float, *,
        steps: int = 10, step_size: Optional[float] = None, norm: str = "linf",
        random_start: bool = True, restarts: int = 1, seed: int = 0,
        bounds: Optional[tuple[float, float]] = None,
        preprocess: Optional[Callable] = None, targeted: bool = False,
        on_step: Optional[Callable[[int, int], None]] = None) -> np.ndarray:
    """Projected gradient descent in an L∞ or L2 ball of radius ε.

    The default step size, 2.5·ε/steps, lets the walk cross the ball.
    With restarts > 1 each example keeps its first successful restart
    (misclassified; for a targeted attack, classified as the target), else
    the one with the worst loss. Restart k draws the same start whatever
    the total, so more restarts never fool fewer examples.
    on_step(done, total), if given, is called after every step (e.g. to
    move a progress bar); it sees no tensors and cannot change the result.
    """
    target = _unpack(model, bounds, preprocess)
    bounds, keras_model, prep = target.bounds, target.model, target.preprocess
    x, y, eps = _check(target, x, y, eps)
    norm = check_norm(norm)
    steps = check_positive_int("steps", steps)
    restarts = check_positive_int("restarts", restarts)
    size = (2.5 * eps / steps if step_size is None
            else check_non_negative("step_size", step_size))
    step = _compiled_step(keras_model, prep, norm, targeted, x.ndim)
    rng = np.random.default_rng(check_seed(seed))

    x_t, y_t, eps_t, low, high = _tensors(x, y, eps, bounds)
    size_t = _tensors(x[:1], y[:1], size, bounds)[2]
    best, best_score, fooled = x, None, None
    done, total = 0, steps * restarts
    for _ in range(restarts):
        adv = (_start(x, eps, norm, rng, bounds) if random_start else x)
        for _ in range(steps):
            adv = step(adv, x_t, y_t, eps_t, size_t, low, high)
            done += 1
            if on_step is not None:
                on_step(done, total)
        adv = np.asarray(adv)
        if restarts == 1:
            return adv
        score, hit = _score(keras_model, prep, adv, y, targeted)
        if best_score is None:
            best, best_score, fooled = adv, score, hit
            continue
        # Keep a success once found; otherwise take a success or a worse loss.
        take = ~fooled & (hit | (score > best_score))
        best = np.where(take.reshape((-1,) + (1,) * (x.ndim - 1)), adv, best)
        best_score = np.where(take, score, best_score)
        fooled |= hit
    return best


def _start(x: np.ndarray, eps: float, norm: str, rng: np.random.Generator,
           bounds: tuple[float, float]) -> np.ndarray:
    """A uniform random point in the ε-ball around x, clipped to bounds."""
    return np.clip(x + random_start(x, eps, norm, rng), *bounds).astype(np.float32)


def _score(model: Any, preprocess: Callable, x: np.ndarray, y: np.ndarray,
           targeted: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per example: the loss the attack climbs, and whether it succeeded."""
    import tensorflow as tf

    logits = model(preprocess(tf.constant(x)), training=False)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits).numpy()
    top = np.argmax(logits.numpy(), axis=1)
    if targeted:  # climbing means getting closer to the target
        return -loss, top == np.asarray(y)
    return loss, top != np.asarray(y)
