"""The per-norm pieces of a gradient attack, as chapter 6 teaches them.

An L∞ or L2 attack step is three small functions: `ascend` takes one
step uphill, `project` pulls a perturbation back into the ε-ball, and
`random_start` draws a starting point inside it. foolbox's gradient
attacks are built the same way (normalize, project, random start).
`tf_attacks` and `adversarial_regularization` use these, so each formula
is written once.
"""

from __future__ import annotations

from typing import Any

import numpy as np

TINY = 1e-12  # keeps an all-zero gradient or perturbation from dividing by zero


def _l2_length(t: Any) -> Any:
    """Each example's L2 length, shaped to broadcast over its axes."""
    import tensorflow as tf

    axes = list(range(1, len(t.shape)))
    return tf.sqrt(tf.reduce_sum(t ** 2, axis=axes, keepdims=True))


def ascend(x: Any, gradient: Any, step_size: Any, norm: str) -> Any:
    """One step uphill: sign for L∞, unit L2 direction for L2 (TensorFlow)."""
    import tensorflow as tf

    if norm == "linf":
        return x + step_size * tf.sign(gradient)
    # (step · g) / |g|, in this order: the chapters' from-scratch PGD
    # rounds the same way, so the two agree to the last bit.
    return x + step_size * gradient / tf.maximum(_l2_length(gradient), TINY)


def project(delta: Any, eps: Any, norm: str) -> Any:
    """The nearest perturbation of size ≤ ε: clip (L∞) or rescale (L2)."""
    import tensorflow as tf

    if norm == "linf":
        return tf.clip_by_value(delta, -eps, eps)
    return delta * tf.minimum(1.0, eps / tf.maximum(_l2_length(delta), TINY))


def random_start(x: np.ndarray, eps: float, norm: str,
                 rng: np.random.Generator) -> np.ndarray:
    """A uniform random perturbation in the L∞ box or the L2 ball (numpy)."""
    if norm == "linf":
        return rng.uniform(-eps, eps, size=x.shape)
    # Uniform in the L2 ball: a random direction, radius ε·u^(1/d).
    dims = x[0].size
    direction = rng.standard_normal((len(x), dims))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = eps * rng.uniform(size=(len(x), 1)) ** (1.0 / dims)
    return (direction * radius).reshape(x.shape)
