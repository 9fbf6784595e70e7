"""FGSM and PGD written directly in TensorFlow, as the chapters teach them.

Chapters 3 and 6 derive these from scratch; this module keeps the same code
for reuse, with the gradient step compiled by tf.function. They work on any
Keras model that returns logits, or on an `advbook.models.Classifier`
(then the bounds are 0-255 pixels and the model's preprocessing applies).
"""

from __future__ import annotations

import math
import weakref
from typing import Any, Callable, Optional

import numpy as np

from .attacks import check_epsilons
from .errors import InvalidArgument

NORMS = ("linf", "l2")
_TINY = 1e-12  # keeps an all-zero gradient from dividing by zero

# One compiled step per (model, preprocessing, norm, direction), reused.
_STEPS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def _identity(x: Any) -> Any:
    return x


def _unpack(model: Any, bounds: tuple[float, float],
            preprocess: Optional[Callable]) -> tuple[Any, tuple[float, float], Callable]:
    """(keras model, bounds, TF preprocessing) for a model or a Classifier."""
    from .models import Classifier

    if isinstance(model, Classifier):
        return model.keras_model, (0.0, 255.0), model.preprocessing.tf
    if not callable(model):
        raise InvalidArgument(f"model must be a Keras model or an advbook "
                              f"Classifier; got {type(model).__name__}")
    if preprocess is None:
        return model, bounds, _identity
    return model, bounds, getattr(preprocess, "tf", preprocess)


def _check(x: np.ndarray, y: np.ndarray, eps: float,
           bounds: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, float]:
    """Validate inputs; return float32 x, int64 y and a float ε."""
    x = np.asarray(x)
    if x.ndim < 2 or not np.issubdtype(x.dtype, np.number):
        raise InvalidArgument(f"x must be a numeric batch (N, ...); got shape "
                              f"{x.shape}, dtype {x.dtype}")
    x = x.astype(np.float32)
    low, high = bounds
    if not np.all(np.isfinite(x)) or x.min() < low - 1e-6 or x.max() > high + 1e-6:
        raise InvalidArgument(f"x must lie within bounds {bounds}; got values "
                              f"in [{np.nanmin(x):.3g}, {np.nanmax(x):.3g}]")
    y = np.asarray(y)
    if y.shape != (len(x),) or not np.issubdtype(y.dtype, np.integer):
        raise InvalidArgument(f"y must hold {len(x)} integer labels; got shape "
                              f"{y.shape}, dtype {y.dtype}")
    if np.ndim(eps) != 0:
        raise InvalidArgument(f"ε must be one number here; got {eps!r}")
    return x, y.astype(np.int64), check_epsilons(eps)[0]


def _tensors(x: np.ndarray, y: np.ndarray, eps: float,
             bounds: tuple[float, float]) -> tuple:
    """Tensors for the compiled step: Python floats would be baked into
    the trace as constants, forcing a retrace for every new ε."""
    import tensorflow as tf

    return (tf.constant(x), tf.constant(y), tf.constant(eps, tf.float32),
            tf.constant(bounds[0], tf.float32), tf.constant(bounds[1], tf.float32))


def _compiled_step(model: Any, preprocess: Callable, norm: str,
                   targeted: bool) -> Callable:
    """A tf.function doing one ascent step, projection and clipping."""
    import tensorflow as tf

    per_model = _STEPS.setdefault(model, {})
    key = (preprocess, norm, targeted)
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
        if norm == "linf":
            x = x + sign * step_size * tf.sign(grad)
            x = x0 + tf.clip_by_value(x - x0, -eps, eps)
        else:
            axes = list(range(1, len(x.shape)))
            g_norm = tf.sqrt(tf.reduce_sum(grad ** 2, axis=axes, keepdims=True))
            x = x + sign * step_size * grad / tf.maximum(g_norm, _TINY)
            delta = x - x0
            d_norm = tf.sqrt(tf.reduce_sum(delta ** 2, axis=axes, keepdims=True))
            x = x0 + delta * tf.minimum(1.0, eps / tf.maximum(d_norm, _TINY))
        return tf.clip_by_value(x, low, high)

    per_model[key] = step
    return step


def fgsm(model: Any, x: np.ndarray, y: np.ndarray, eps: float, *,
         bounds: tuple[float, float] = (0.0, 1.0),
         preprocess: Optional[Callable] = None, targeted: bool = False) -> np.ndarray:
    """x + ε·sign(∇ₓ loss), clipped to bounds (towards y when targeted)."""
    keras_model, bounds, prep = _unpack(model, bounds, preprocess)
    x, y, eps = _check(x, y, eps, bounds)
    # FGSM is one L∞ step of size ε from x, with nothing to project.
    step = _compiled_step(keras_model, prep, "linf", targeted)
    x_t, y_t, eps_t, low, high = _tensors(x, y, eps, bounds)
    return step(x_t, x_t, y_t, eps_t, eps_t, low, high).numpy()


def pgd(model: Any, x: np.ndarray, y: np.ndarray, eps: float, *,
        steps: int = 10, step_size: Optional[float] = None, norm: str = "linf",
        random_start: bool = True, restarts: int = 1, seed: int = 0,
        bounds: tuple[float, float] = (0.0, 1.0),
        preprocess: Optional[Callable] = None, targeted: bool = False) -> np.ndarray:
    """Projected gradient descent in an L∞ or L2 ball of radius ε.

    The default step size, 2.5·ε/steps, lets the walk cross the ball.
    With restarts > 1 each example keeps its worst case (highest loss; for a
    targeted attack, lowest loss of the target) over the random starts.
    """
    keras_model, bounds, prep = _unpack(model, bounds, preprocess)
    x, y, eps = _check(x, y, eps, bounds)
    if norm not in NORMS:
        raise InvalidArgument(f"norm must be one of {NORMS}; got {norm!r}")
    if not isinstance(steps, int) or steps < 1:
        raise InvalidArgument(f"steps must be a positive int; got {steps!r}")
    if not isinstance(restarts, int) or restarts < 1:
        raise InvalidArgument(f"restarts must be a positive int; got {restarts!r}")
    size = 2.5 * eps / steps if step_size is None else float(step_size)
    if not math.isfinite(size) or size < 0:
        raise InvalidArgument(f"step_size must be finite and >= 0; got {step_size!r}")
    step = _compiled_step(keras_model, prep, norm, targeted)
    rng = np.random.default_rng(seed)

    x_t, y_t, eps_t, low, high = _tensors(x, y, eps, bounds)
    size_t = _tensors(x[:1], y[:1], size, bounds)[2]
    best, best_loss = x, None
    for _ in range(restarts):
        adv = (_random_start(x, eps, norm, rng, bounds) if random_start else x)
        for _ in range(steps):
            adv = step(adv, x_t, y_t, eps_t, size_t, low, high)
        adv = np.asarray(adv)
        if restarts == 1:
            return adv
        loss = _losses(keras_model, prep, adv, y) * (-1.0 if targeted else 1.0)
        if best_loss is None:
            best, best_loss = adv, loss
        else:
            better = loss > best_loss
            best = np.where(better.reshape((-1,) + (1,) * (x.ndim - 1)), adv, best)
            best_loss = np.maximum(loss, best_loss)
    return best


def _random_start(x: np.ndarray, eps: float, norm: str, rng: np.random.Generator,
                  bounds: tuple[float, float]) -> np.ndarray:
    """A uniform random point in the ε-ball around x, clipped to bounds."""
    if norm == "linf":
        noise = rng.uniform(-eps, eps, size=x.shape)
    else:
        # Uniform in the L2 ball: a random direction, radius ε·u^(1/d).
        flat = rng.standard_normal((len(x), x[0].size))
        flat /= np.linalg.norm(flat, axis=1, keepdims=True)
        radius = eps * rng.uniform(size=(len(x), 1)) ** (1.0 / x[0].size)
        noise = (flat * radius).reshape(x.shape)
    return np.clip(x + noise, *bounds).astype(np.float32)


def _losses(model: Any, preprocess: Callable, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-example cross-entropy of the true (or target) labels."""
    import tensorflow as tf

    logits = model(preprocess(tf.constant(x)), training=False)
    return tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=y, logits=logits).numpy()
