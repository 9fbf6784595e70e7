"""Chapter 7 exercises: FGSM on a linear model, transfer rates, votes."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..numerics import softmax
from . import (Mismatch, exercise, require_array, require_function,
               require_result)


# --- 7.1 FGSM on a linear model, by hand -------------------------------------


def _linear_fgsm(W: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray,
                 eps: float) -> np.ndarray:
    p = softmax(x @ W + b)
    p[np.arange(len(x)), y] -= 1.0  # d loss / d logits
    return np.clip(x + eps * np.sign(p @ W.T), 0.0, 1.0)


def _linear_fgsm_towards_label(W, b, x, y, eps):
    """Descends the loss: makes the true class more likely, not less."""
    p = softmax(x @ W + b)
    p[np.arange(len(x)), y] -= 1.0
    return np.clip(x - eps * np.sign(p @ W.T), 0.0, 1.0)


@exercise("ch7.linear_fgsm", "FGSM on a linear model in NumPy",
          reference=lambda: _linear_fgsm, wrong=lambda: _linear_fgsm_towards_label)
def check_linear_fgsm(answer: Callable) -> None:
    """Matches x + ε·sign(∇ₓ cross-entropy), clipped, on fixed inputs."""
    require_function(answer, "linear_fgsm")
    rng = np.random.default_rng(7)
    W, b = rng.normal(size=(64, 10)), rng.normal(size=10)
    x = rng.uniform(0, 1, size=(20, 64))
    x[:, :4] = 0.0  # some pixels sit on the bounds
    y = rng.integers(0, 10, size=20)
    got = require_array(answer(W.copy(), b.copy(), x.copy(), y.copy(), 0.2), x.shape)
    want = _linear_fgsm(W, b, x, y, 0.2)
    if got.min() < 0 or got.max() > 1:
        raise Mismatch("clip the result to the valid pixel range [0, 1]")
    if np.abs(got - x).max() > 0.2 + 1e-9:
        raise Mismatch("no pixel may move by more than ε")
    if np.allclose(got, _linear_fgsm_towards_label(W, b, x, y, 0.2)):
        raise Mismatch("you walked downhill: FGSM *increases* the loss")
    if not np.allclose(got, want):
        raise Mismatch("the gradient of the loss with respect to the logits "
                       "is softmax(z) - onehot(y); chain it through z = xW + b")


# --- 7.2 transfer rate on what the target got right --------------------------

def _conditional(clean_pred: np.ndarray, adv_pred: np.ndarray,
                 labels: np.ndarray) -> float:
    right = np.asarray(clean_pred) == np.asarray(labels)
    return float(np.mean(np.asarray(adv_pred)[right] != np.asarray(labels)[right]))


def _unconditional(clean_pred, adv_pred, labels):
    return float(np.mean(np.asarray(adv_pred) != np.asarray(labels)))


@exercise("ch7.conditional_rate", "transfer rate on correctly classified inputs",
          reference=lambda: _conditional, wrong=lambda: _unconditional)
def check_conditional_rate(answer: Callable) -> None:
    """The error on adversarials among inputs the target got right when clean."""
    require_function(answer, "conditional_transfer_rate")
    rng = np.random.default_rng(71)
    labels = rng.integers(0, 10, size=200)
    clean = np.where(rng.uniform(size=200) < 0.8, labels, (labels + 1) % 10)
    adv = np.where(rng.uniform(size=200) < 0.5, labels, (labels + 3) % 10)
    got = float(require_result(answer(clean.copy(), adv.copy(), labels.copy()),
                               "a number"))
    if not 0 <= got <= 1:
        raise Mismatch("a rate lies between 0 and 1")
    if np.isclose(got, _unconditional(clean, adv, labels)):
        raise Mismatch("count only the inputs that the target classified "
                       "correctly before the attack")
    if not np.isclose(got, _conditional(clean, adv, labels)):
        raise Mismatch("among inputs with clean_pred == labels, what fraction "
                       "has adv_pred != labels?")


# --- 7.3 how alike are two perturbations? ------------------------------------

def _mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, float).reshape(len(a), -1)
    b = np.asarray(b, float).reshape(len(b), -1)
    dots = (a * b).sum(axis=1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return float(np.mean(dots / np.maximum(norms, 1e-12)))


def _batch_cosine(a, b):
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


@exercise("ch7.mean_cosine", "mean cosine similarity of two perturbations",
          reference=lambda: _mean_cosine, wrong=lambda: _batch_cosine)
def check_mean_cosine(answer: Callable) -> None:
    """Cosine per example (flattened), then the mean over the batch."""
    require_function(answer, "mean_cosine")
    rng = np.random.default_rng(73)
    a = rng.normal(size=(30, 8, 8, 1))
    b = 0.5 * a + rng.normal(size=a.shape)
    b[:10] *= 20.0  # examples of very different lengths
    got = float(require_result(answer(a.copy(), b.copy()), "a number"))
    if not -1 <= got <= 1:
        raise Mismatch("a cosine lies between -1 and 1: divide by both lengths")
    if np.isclose(got, _batch_cosine(a, b)):
        raise Mismatch("compute one cosine per example, then average them; "
                       "flattening the whole batch lets long examples dominate")
    if not np.isclose(got, _mean_cosine(a, b)):
        raise Mismatch("flatten each example, take a·b / (|a| |b|), average")
    if not np.isclose(float(answer(a.copy(), a.copy())), 1.0):
        raise Mismatch("a perturbation's cosine with itself must be 1")


# --- 7.4 a majority vote that trusts the first model on ties -----------------

def _vote_first(votes: np.ndarray) -> np.ndarray:
    votes = np.asarray(votes)
    out = np.empty(len(votes), dtype=int)
    for i, row in enumerate(votes):
        counts = np.bincount(row, minlength=10)
        best = np.flatnonzero(counts == counts.max())
        out[i] = row[0] if row[0] in best else best[0]
    return out


def _vote_smallest(votes: np.ndarray) -> np.ndarray:
    return np.array([np.bincount(row, minlength=10).argmax()
                     for row in np.asarray(votes)])


@exercise("ch7.vote_first", "majority vote, ties to the first model",
          reference=lambda: _vote_first, wrong=lambda: _vote_smallest)
def check_vote_first(answer: Callable) -> None:
    """The most common label per row; a tie goes to column 0 when it is tied."""
    require_function(answer, "vote_first")
    rng = np.random.default_rng(74)
    votes = rng.integers(0, 10, size=(300, 5))
    votes[:50, 1:3] = votes[:50, :1]  # clear majorities
    got = require_array(answer(votes.copy()), (300,), "the vote")
    counts = np.array([np.bincount(r, minlength=10)[g] if 0 <= g < 10 else -1
                       for r, g in zip(votes, got.astype(int))])
    most = np.array([np.bincount(r, minlength=10).max() for r in votes])
    if np.any(counts != most):
        raise Mismatch("some rows do not get one of their most common labels")
    if not np.array_equal(got, _vote_first(votes)):
        raise Mismatch("on a tie, take the first model's label (column 0) "
                       "if it is among the tied labels")
