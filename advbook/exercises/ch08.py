"""Chapter 8 exercises: L2 neighbours, quantisation, BPDA, VAT's smoothness."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import (Mismatch, exercise, require_array, require_function,
               require_result)


# --- 8.1 an L2 adversarial neighbour -----------------------------------------

def _l2_neighbour(x: np.ndarray, grad: np.ndarray, step: float) -> np.ndarray:
    g = np.asarray(grad, float)
    lengths = np.linalg.norm(g.reshape(len(g), -1), axis=1)
    unit = g / np.maximum(lengths, 1e-12).reshape((-1,) + (1,) * (g.ndim - 1))
    return np.asarray(x, float) + step * unit


def _l2_neighbour_whole_batch(x, grad, step):
    g = np.asarray(grad, float)
    return np.asarray(x, float) + step * g / np.linalg.norm(g)


@exercise("ch8.l2_neighbour", "an adversarial neighbour in the L2 norm",
          reference=lambda: _l2_neighbour, wrong=lambda: _l2_neighbour_whole_batch)
def check_l2_neighbour(answer: Callable) -> None:
    """Each example moves by exactly `step` in L2, along its own gradient."""
    require_function(answer, "l2_neighbour")
    rng = np.random.default_rng(81)
    x = rng.uniform(0, 1, size=(16, 8, 8, 1))
    grad = rng.normal(size=x.shape) * rng.uniform(0.01, 10, size=(16, 1, 1, 1))
    got = require_array(answer(x.copy(), grad.copy(), 0.3), x.shape)
    lengths = np.linalg.norm((got - x).reshape(16, -1), axis=1)
    if not np.allclose(lengths, 0.3, rtol=1e-5):
        raise Mismatch("every example must end up exactly `step` away from "
                       "x in L2: normalise each example's gradient separately")
    if not np.allclose(got, _l2_neighbour(x, grad, 0.3)):
        raise Mismatch("move along the gradient (uphill), not against it")


# --- 8.2 quantisation --------------------------------------------------------

def _quantise(x: np.ndarray, levels: int) -> np.ndarray:
    steps = levels - 1
    return np.round(np.asarray(x, float) * steps) / steps


def _quantise_floor(x, levels):
    steps = levels - 1
    return np.floor(np.asarray(x, float) * steps) / steps


@exercise("ch8.quantise", "round pixels to a few levels",
          reference=lambda: _quantise, wrong=lambda: _quantise_floor)
def check_quantise(answer: Callable) -> None:
    """Each pixel in [0, 1] goes to the nearest of `levels` evenly spaced values."""
    require_function(answer, "quantise")
    rng = np.random.default_rng(82)
    x = rng.uniform(0, 1, size=(5, 8, 8, 1))
    for levels in (2, 4, 9):
        got = require_array(answer(x.copy(), levels), x.shape)
        allowed = np.linspace(0, 1, levels)
        if not np.all(np.isclose(got[..., None], allowed).any(axis=-1)):
            raise Mismatch(f"with {levels} levels the only values allowed are "
                           f"{np.round(allowed, 3).tolist()}")
        if not np.allclose(got, _quantise(x, levels)):
            raise Mismatch("round to the *nearest* level (0.9 with 2 levels "
                           "becomes 1, not 0)")


# --- 8.3 a straight-through (BPDA) quantiser ---------------------------------

def _straight_through(x: Any, levels: int) -> Any:
    import tensorflow as tf

    steps = levels - 1
    quantised = tf.round(x * steps) / steps
    return x + tf.stop_gradient(quantised - x)


def _plain_round(x: Any, levels: int) -> Any:
    import tensorflow as tf

    steps = levels - 1
    return tf.round(x * steps) / steps


@exercise("ch8.straight_through", "quantise forward, identity backward",
          reference=lambda: _straight_through, wrong=lambda: _plain_round)
def check_straight_through(answer: Callable) -> None:
    """Forward: the quantised pixels. Backward: the gradient passes unchanged."""
    import tensorflow as tf

    require_function(answer, "straight_through")
    rng = np.random.default_rng(83)
    x = tf.constant(rng.uniform(0, 1, size=(4, 8, 8, 1)), tf.float32)
    weights = tf.constant(rng.normal(size=(4, 8, 8, 1)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = require_result(answer(x, 4), "a tensor")
        loss = tf.reduce_sum(weights * out)
    forward = np.asarray(out, float)
    if not np.allclose(forward, _quantise(x.numpy(), 4), atol=1e-6):
        raise Mismatch("the forward pass must give the quantised pixels")
    grad = tape.gradient(loss, x)
    if grad is None or np.allclose(grad.numpy(), 0):
        raise Mismatch("no gradient reaches x: that is the masked version. "
                       "Try x + tf.stop_gradient(quantised - x)")
    if not np.allclose(grad.numpy(), weights.numpy(), atol=1e-6):
        raise Mismatch("the backward pass should act as the identity")


# --- 8.4 VAT's smoothness term -----------------------------------------------

def _kl(p: np.ndarray, q: np.ndarray) -> float:
    p, q = np.asarray(p, float), np.asarray(q, float)
    terms = np.where(p > 0, p * np.log(np.maximum(p, 1e-300) / q), 0.0)
    return float(terms.sum(axis=1).mean())


def _kl_reversed(p, q):
    return _kl(q, p)


@exercise("ch8.vat_smoothness", "the KL divergence VAT minimises",
          reference=lambda: _kl, wrong=lambda: _kl_reversed)
def check_vat_smoothness(answer: Callable) -> None:
    """mean over examples of KL(p ‖ q) = Σ p log(p / q)."""
    require_function(answer, "vat_smoothness")
    rng = np.random.default_rng(84)
    logits = rng.normal(size=(25, 10)) * 2
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    noisy = logits + rng.normal(size=logits.shape)
    q = np.exp(noisy) / np.exp(noisy).sum(axis=1, keepdims=True)
    got = float(require_result(answer(p.copy(), q.copy()), "a number"))
    if not np.isclose(float(answer(p.copy(), p.copy())), 0.0, atol=1e-9):
        raise Mismatch("the divergence of a distribution from itself is 0")
    if np.isclose(got, _kl_reversed(p, q)):
        raise Mismatch("KL is not symmetric: weight the log-ratio by p, the "
                       "prediction on the clean input")
    if not np.isclose(got, _kl(p, q)):
        raise Mismatch("sum p·log(p/q) over the classes, then average over "
                       "the examples")
