"""Chapter 6 exercises: projections, one PGD step, a random start."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import Mismatch, exercise, require_array, require_function


def _rng(seed: int = 6) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- 6.1 L∞ projection -------------------------------------------------------

def _project_linf(x: np.ndarray, x0: np.ndarray, eps: float) -> np.ndarray:
    return x0 + np.clip(x - x0, -eps, eps)


def _project_linf_around_zero(x: np.ndarray, x0: np.ndarray, eps: float) -> np.ndarray:
    return np.clip(x, -eps, eps)


@exercise("ch6.project_linf", "projection onto the L∞ box",
          reference=lambda: _project_linf, wrong=lambda: _project_linf_around_zero)
def check_project_linf(answer: Callable) -> None:
    """The nearest point of the box around x0, on fixed arrays."""
    require_function(answer, "project_linf")
    rng = _rng()
    x0 = rng.uniform(0.2, 0.8, size=(3, 4, 4, 1))
    x = x0 + rng.normal(0, 0.2, size=x0.shape)
    got = require_array(answer(x.copy(), x0.copy(), 0.1), x.shape)
    want = _project_linf(x, x0, 0.1)
    if np.abs(got - x0).max() > 0.1 + 1e-9:
        raise Mismatch("some values are further than ε from x0: the box is "
                       "centred on x0, not on 0")
    inside = np.abs(x - x0) <= 0.1
    if not np.allclose(got[inside], x[inside]):
        raise Mismatch("values already inside the box must not move")
    if not np.allclose(got, want):
        raise Mismatch("clip each value of x - x0 to [-ε, ε], then add x0 back")


# --- 6.2 L2 projection ---------------------------------------------------------

def _project_l2(delta: np.ndarray, eps: float) -> np.ndarray:
    delta = np.asarray(delta, float)
    lengths = np.linalg.norm(delta.reshape(len(delta), -1), axis=1)
    factor = np.minimum(1.0, eps / np.maximum(lengths, 1e-12))
    return delta * factor.reshape((-1,) + (1,) * (delta.ndim - 1))


def _normalise_always(delta: np.ndarray, eps: float) -> np.ndarray:
    delta = np.asarray(delta, float)
    lengths = np.linalg.norm(delta.reshape(len(delta), -1), axis=1)
    return delta * (eps / lengths).reshape((-1,) + (1,) * (delta.ndim - 1))


@exercise("ch6.project_l2", "projection onto the L2 ball, per example",
          reference=lambda: _project_l2, wrong=lambda: _normalise_always)
def check_project_l2(answer: Callable) -> None:
    """Per-example rescaling, only for perturbations longer than ε."""
    require_function(answer, "project_l2")
    rng = _rng()
    delta = rng.normal(size=(4, 3, 3, 2))
    delta[1] *= 0.05  # this one is already inside the ball
    got = require_array(answer(delta.copy(), 1.0), delta.shape)
    want = _project_l2(delta, 1.0)
    if np.allclose(got, _project_l2(delta[None].reshape(1, -1), 1.0).reshape(
            delta.shape)):
        raise Mismatch("project each example on its own: one norm per row of "
                       "the batch, not one for the whole batch")
    if not np.allclose(got[1], delta[1]):
        raise Mismatch("a perturbation already inside the ball stays as it is")
    if not np.allclose(got, want):
        raise Mismatch("scale each example by min(1, ε / its L2 norm)")
    # With ε = 1 the radius hides in the formula; try another one.
    small = require_array(answer(delta.copy(), 0.5), delta.shape)
    if not np.allclose(small, _project_l2(delta, 0.5)):
        raise Mismatch("use ε: scale each example by min(1, ε / its L2 norm)")


# --- 6.3 one PGD step -------------------------------------------------------------

def _pgd_step(x: np.ndarray, x0: np.ndarray, gradient: np.ndarray, eps: float,
              step_size: float) -> np.ndarray:
    x = x + step_size * np.sign(gradient)
    x = x0 + np.clip(x - x0, -eps, eps)
    return np.clip(x, 0, 1)


def _step_without_projection(x: np.ndarray, x0: np.ndarray, gradient: np.ndarray,
                             eps: float, step_size: float) -> np.ndarray:
    return np.clip(x + step_size * np.sign(gradient), 0, 1)


@exercise("ch6.pgd_step", "one L∞ PGD step", reference=lambda: _pgd_step,
          wrong=lambda: _step_without_projection)
def check_pgd_step(answer: Callable) -> None:
    """Step, project, clip, from a point near the edge of the box."""
    require_function(answer, "pgd_step")
    rng = _rng()
    x0 = rng.uniform(0, 1, size=(2, 5, 5, 1))
    x0[0, 0, 0, 0], x0[0, 0, 1, 0] = 0.99, 0.01  # near the pixel bounds
    x = np.clip(x0 + rng.uniform(-0.1, 0.1, size=x0.shape), 0, 1)
    gradient = rng.normal(size=x0.shape)
    gradient[0, 0, 0, 0], gradient[0, 0, 1, 0] = 1.0, -1.0
    got = require_array(answer(x.copy(), x0.copy(), gradient.copy(), 0.1, 0.05), x.shape)
    want = _pgd_step(x, x0, gradient, 0.1, 0.05)
    if np.allclose(got, _pgd_step(x, x0, -gradient, 0.1, 0.05)):
        raise Mismatch("an attack climbs the loss: step along +sign(gradient)")
    if np.abs(got - x0).max() > 0.1 + 1e-9:
        raise Mismatch("after the step, project back into the ε-box around x0")
    if got.min() < 0 or got.max() > 1:
        raise Mismatch("finally clip to valid pixels [0, 1]")
    if not np.allclose(got, want):
        raise Mismatch("step by step_size · sign(gradient), project, then clip")


# --- 6.4 random start ----------------------------------------------------------------

def _random_start(x: np.ndarray, eps: float, rng: np.random.Generator) -> np.ndarray:
    return np.clip(x + rng.uniform(-eps, eps, size=np.shape(x)), 0, 1)


def _no_start(x: np.ndarray, eps: float, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(x, float).copy()


@exercise("ch6.random_start", "a uniform random start in the L∞ box",
          reference=lambda: _random_start, wrong=lambda: _no_start)
def check_random_start(answer: Callable) -> None:
    """Inside the box and the pixel range, spread over the box, seeded."""
    require_function(answer, "random_start_linf")
    x = np.full((2000, 3), 0.5)
    x[:, 2] = 0.0  # at the lower pixel bound
    got = require_array(answer(x.copy(), 0.1, _rng()), x.shape)
    if np.allclose(got, x):
        raise Mismatch("the start should be a random point, not x itself")
    if np.abs(got - x).max() > 0.1 + 1e-9:
        raise Mismatch("the start must stay within ε of x")
    if got.min() < 0 or got.max() > 1:
        raise Mismatch("clip the start to valid pixels [0, 1]")
    spread = got[:, :2] - 0.5
    if spread.std() < 0.045 or np.abs(spread).max() < 0.09:
        raise Mismatch("draw uniformly from the whole box [-ε, ε], not from "
                       "a normal or a smaller range")
    # A uniform draw almost never lands on ±ε exactly; corners-only starts
    # and clipped normals pile values up there.
    if np.mean(np.abs(spread) >= 0.1 - 1e-9) > 0.01:
        raise Mismatch("many values sit exactly at ±ε: draw uniformly inside "
                       "the box (rng.uniform(-eps, eps, shape)) rather than "
                       "picking corners or clipping a normal")
    # |δ|/ε is uniform on [0, 1]: its quartiles are 0.25, 0.5 and 0.75.
    quartiles = np.quantile(np.abs(spread) / 0.1, [0.25, 0.5, 0.75])
    if np.abs(quartiles - [0.25, 0.5, 0.75]).max() > 0.04:
        raise Mismatch("the values are not spread evenly over [-ε, ε]: draw "
                       "them with rng.uniform(-eps, eps, shape)")
    again = np.asarray(answer(x.copy(), 0.1, _rng()), float)
    other = np.asarray(answer(x.copy(), 0.1, _rng(7)), float)
    if not np.allclose(got, again) or np.allclose(got, other):
        raise Mismatch("draw from the rng you are given, so a seed fixes it")
