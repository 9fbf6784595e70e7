"""Chapter 5 exercises: the noise sweep, noise images, equal norms, rates."""

from __future__ import annotations

import itertools
from typing import Callable

import numpy as np

from . import (Mismatch, exercise, require_array, require_function,
               require_result)


def _rng(seed: int = 5) -> np.random.Generator:
    return np.random.default_rng(seed)


# --- 5.1 pairs ----------------------------------------------------------------

def _pairs() -> list:
    return list(zip(range(0, 256, 32), range(8, 64, 8)))


@exercise("ch5.pairs", "(μ, σ) pairs the book's way", reference=_pairs,
          wrong=lambda: list(itertools.product(range(0, 256, 32), range(8, 64, 8))))
def check_pairs(answer: object) -> None:
    """The zipped list of (μ, σ) tuples."""
    if answer is None:
        raise Mismatch("assign the list of pairs to answer")
    try:
        got = [tuple(int(v) for v in pair) for pair in answer]
    except (TypeError, ValueError):
        raise Mismatch("answer should be a list of (mu, sigma) tuples") from None
    want = _pairs()
    if len(got) == 8 * 7:
        raise Mismatch("that is every combination; the book pairs them up "
                       "one by one")
    if any(len(pair) != 2 for pair in got):
        raise Mismatch("each entry is one (mu, sigma) pair")
    if got and got[0] == (want[0][1], want[0][0]):
        raise Mismatch("mu comes first in each pair")
    if got != want:
        raise Mismatch("pair the i-th mean with the i-th sigma; how many pairs "
                       "does zip make from ranges of different lengths?")


# --- 5.2 noise image --------------------------------------------------------------

def _noise_image(mu: float, sigma: float, size: int,
                 rng: np.random.Generator) -> np.ndarray:
    return np.clip(rng.normal(mu, sigma, (size, size, 3)), 0, 255).astype(np.float32)


def _noise_unclipped(mu: float, sigma: float, size: int,
                     rng: np.random.Generator) -> np.ndarray:
    return rng.normal(mu, sigma, (size, size, 3)).astype(np.float32)


@exercise("ch5.noise_image", "one clipped Gaussian noise image",
          reference=lambda: _noise_image, wrong=lambda: _noise_unclipped)
def check_noise_image(answer: Callable) -> None:
    """Shape, dtype, range and the statistics of the drawn values."""
    require_function(answer, "noise_image")
    got = np.asarray(require_result(answer(120, 20, 64, _rng()), "the image"))
    require_array(got, (64, 64, 3), "the image (size, size, 3)")
    if got.dtype != np.float32:
        raise Mismatch("return float32, as the models take")
    if abs(got.mean() - 120) > 2 or abs(got.std() - 20) > 2:
        raise Mismatch("draw from a normal with mean mu and standard "
                       "deviation sigma (rng.normal(mu, sigma, shape))")
    wide = np.asarray(answer(180, 90, 64, _rng()))
    if wide.min() < 0 or wide.max() > 255:
        raise Mismatch("valid pixels lie in 0-255: clip the image")
    if not np.isclose(wide.max(), 255) or not np.isclose(wide.min(), 0):
        raise Mismatch("clip to 0-255 rather than rescaling")
    if np.array_equal(np.asarray(answer(120, 20, 8, _rng(1))),
                      np.asarray(answer(120, 20, 8, _rng(2)))):
        raise Mismatch("use the rng you are given, so seeds matter")
    # np.random's global state differs between calls; the given rng doesn't.
    if not np.array_equal(np.asarray(answer(120, 20, 8, _rng(1))),
                          np.asarray(answer(120, 20, 8, _rng(1)))):
        raise Mismatch("draw from the rng you are given (rng.normal), not from "
                       "np.random, so the same seed gives the same image")


# --- 5.3 scale to an L2 norm ------------------------------------------------------

def _scale(delta: np.ndarray, norm: float) -> np.ndarray:
    delta = np.asarray(delta, float)
    return delta * (norm / np.linalg.norm(delta))


def _scale_linf(delta: np.ndarray, norm: float) -> np.ndarray:
    delta = np.asarray(delta, float)
    return delta * (norm / np.abs(delta).max())


@exercise("ch5.scale_to_l2", "rescale to a given L2 norm", reference=lambda: _scale,
          wrong=lambda: _scale_linf)
def check_scale(answer: Callable) -> None:
    """Norm and direction on fixed arrays, including an image-shaped one."""
    require_function(answer, "scale_to_l2")
    delta = _rng().normal(size=(4, 5, 3))
    for norm in (1.0, 250.0):
        got = require_array(answer(delta.copy(), norm), delta.shape,
                            "the rescaled delta")
        if not np.isclose(np.linalg.norm(got), norm, rtol=1e-4):
            raise Mismatch("the L2 norm counts all values: "
                           "sqrt of the sum of squares over the whole array")
        cosine = np.sum(got * delta) / (np.linalg.norm(got) * np.linalg.norm(delta))
        if cosine < 0.9999:
            raise Mismatch("scale delta by one positive number; don't change "
                           "its direction")


# --- 5.4 confident fraction -------------------------------------------------------

def _fraction(probs: np.ndarray, threshold: float) -> float:
    return float(np.mean(np.max(probs, axis=1) >= threshold))


def _mean_confidence(probs: np.ndarray, threshold: float) -> float:
    return float(np.mean(np.max(probs, axis=1)))


@exercise("ch5.confident_fraction", "the confident-on-noise rate",
          reference=lambda: _fraction, wrong=lambda: _mean_confidence)
def check_fraction(answer: Callable) -> None:
    """The fraction of rows whose largest probability reaches the threshold."""
    require_function(answer, "confident_fraction")
    probs = np.array([[0.5, 0.3, 0.2],   # exactly at the threshold counts
                      [0.2, 0.7, 0.1],
                      [0.4, 0.35, 0.25],
                      [0.1, 0.1, 0.8]])
    got = answer(probs.copy(), 0.5)
    try:
        got = float(got)
    except (TypeError, ValueError):
        raise Mismatch("return one number, a fraction between 0 and 1") from None
    if np.isclose(got, 3):
        raise Mismatch("a fraction, not a count: divide by the number of images")
    if np.isclose(got, 0.5):
        raise Mismatch("'at least the threshold' includes a probability equal to it")
    if not np.isclose(got, 0.75):
        raise Mismatch("look at each row's largest probability and compare it "
                       "with the threshold")
    if not np.isclose(float(answer(probs.copy(), 0.75)), 0.25):
        raise Mismatch("use the threshold argument")
