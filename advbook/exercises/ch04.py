"""Chapter 4 exercises: an FGSM step, budgets, ResNet-50 preprocessing, ε search."""

from __future__ import annotations

from typing import Callable

import numpy as np

from . import (Mismatch, exercise, require_array, require_function,
               require_result)

_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], np.float32)


def _rng() -> np.random.Generator:
    return np.random.default_rng(4)


# --- 4.1 FGSM step ----------------------------------------------------------

def _fgsm_step(image: np.ndarray, gradient: np.ndarray, eps: float) -> np.ndarray:
    return np.clip(image + eps * np.sign(gradient), 0, 255)


def _fgsm_step_unclipped(image: np.ndarray, gradient: np.ndarray,
                         eps: float) -> np.ndarray:
    return image + eps * np.sign(gradient)


@exercise("ch4.fgsm_step", "an FGSM step in NumPy", reference=lambda: _fgsm_step,
          wrong=lambda: _fgsm_step_unclipped)
def check_fgsm_step(answer: Callable) -> None:
    """Matches clip(x + ε·sign(g), 0, 255) on fixed arrays."""
    require_function(answer, "fgsm_step")
    rng = _rng()
    image = rng.integers(0, 256, size=(6, 6, 3)).astype(np.float32)
    image[0, 0] = [0, 255, 128]  # values at the edges of the range
    gradient = rng.normal(size=image.shape).astype(np.float32)
    gradient[0, 0] = [-1.0, 1.0, 0.0]
    for eps in (1.0, 8.0):
        got = require_array(answer(image.copy(), gradient.copy(), eps),
                            image.shape, "the new image")
        want = _fgsm_step(image, gradient, eps)
        if np.allclose(got, _fgsm_step(image, -gradient, eps)):
            raise Mismatch("FGSM climbs the loss: which sign?")
        if got.min() < 0 or got.max() > 255:
            raise Mismatch("pixels must stay within 0-255: clip")
        if np.allclose(got, image + eps * gradient):
            raise Mismatch("use the sign of the gradient, not the gradient")
        if not np.allclose(got, want):
            raise Mismatch("each value moves by exactly ε (or 0 where the "
                           "gradient is 0), then clip")


# --- 4.2 budget -------------------------------------------------------------

def _measure(original: np.ndarray, adversarial: np.ndarray) -> dict:
    delta = (np.asarray(adversarial, float) - np.asarray(original, float)).ravel()
    return {"linf": float(np.abs(delta).max()), "l2": float(np.linalg.norm(delta)),
            "changed": int(np.count_nonzero(delta))}


def _measure_squared(original: np.ndarray, adversarial: np.ndarray) -> dict:
    result = _measure(original, adversarial)
    result["l2"] = result["l2"] ** 2
    return result


@exercise("ch4.budget", "measure a perturbation's budget",
          reference=lambda: _measure, wrong=lambda: _measure_squared)
def check_budget(answer: Callable) -> None:
    """L∞, L2 and the count of changed values on fixed image pairs."""
    require_function(answer, "measure")
    rng = _rng()
    original = rng.integers(0, 256, size=(8, 8, 3)).astype(np.float32)
    changed = original.copy()
    changed[1, 2, 0] += 3
    changed[1, 2, 1] += 5  # a second value of the same pixel
    changed[4, 4, 2] -= 20  # the largest change is a decrease
    changed[7, 0, 1] += 12
    got = answer(original.copy(), changed.copy())
    if not isinstance(got, dict):
        raise Mismatch("return a dict with keys 'linf', 'l2' and 'changed'")
    missing = {"linf", "l2", "changed"} - set(got)
    if missing:
        raise Mismatch(f"the dict lacks {sorted(missing)}")
    want = _measure(original, changed)
    if not np.isclose(float(got["linf"]), want["linf"]):
        raise Mismatch("L∞ is the largest absolute change of any value: "
                       "take abs() before max(), or a decrease is missed")
    if np.isclose(float(got["l2"]), want["l2"] ** 2):
        raise Mismatch("L2 is the square root of the sum of squares")
    if not np.isclose(float(got["l2"]), want["l2"]):
        raise Mismatch("L2: the Euclidean length of adversarial - original")
    if int(got["changed"]) != want["changed"]:
        raise Mismatch("count the values (not pixels) that differ at all: "
                       "one pixel with two changed channels counts twice")


# --- 4.3 ResNet-50 preprocessing ---------------------------------------------

def _caffe(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, np.float32)[..., ::-1] - _CAFFE_MEAN_BGR


def _caffe_no_flip(images: np.ndarray) -> np.ndarray:
    return np.asarray(images, np.float32) - _CAFFE_MEAN_BGR


@exercise("ch4.caffe", "ResNet-50 preprocessing by hand", reference=lambda: _caffe,
          wrong=lambda: _caffe_no_flip)
def check_caffe(answer: Callable) -> None:
    """BGR order and Keras' channel means, on a fixed batch."""
    require_function(answer, "resnet_preprocess")
    rng = _rng()
    images = rng.uniform(0, 255, size=(2, 5, 5, 3)).astype(np.float32)
    got = require_array(answer(images.copy()), images.shape,
                        "the preprocessed batch")
    want = _caffe(images)
    if np.allclose(got, _caffe_no_flip(images), atol=1e-3):
        raise Mismatch("ResNet-50 wants BGR: reverse the channel axis first")
    if np.allclose(got, images[..., ::-1] - _CAFFE_MEAN_BGR[::-1], atol=1e-3):
        raise Mismatch("the means (103.939, 116.779, 123.68) are in BGR order")
    if np.allclose(got, want, atol=0.6):
        if not np.allclose(got, want, atol=1e-3):
            raise Mismatch("close: use Keras' exact means, not the rounded ones")
        return
    raise Mismatch("flip RGB to BGR, then subtract one mean per channel; "
                   "no scaling to [0, 1]")


# --- 4.4 smallest successful ε ------------------------------------------------

def _smallest(epsilons: list, success: np.ndarray) -> list:
    found = []
    for column in np.asarray(success, bool).T:
        hits = [eps for eps, ok in zip(epsilons, column) if ok]
        found.append(min(hits) if hits else None)
    return found


def _largest(epsilons: list, success: np.ndarray) -> list:
    found = []
    for column in np.asarray(success, bool).T:
        hits = [eps for eps, ok in zip(epsilons, column) if ok]
        found.append(max(hits) if hits else None)
    return found


@exercise("ch4.smallest_epsilon", "the smallest successful ε",
          reference=lambda: _smallest, wrong=lambda: _largest)
def check_smallest(answer: Callable) -> None:
    """Per image (column), the smallest ε whose row succeeded, else None."""
    require_function(answer, "smallest_epsilon")
    epsilons = [8.0, 1.0, 2.0, 4.0]  # deliberately not sorted
    success = np.array([[True, False, True, False],
                        [False, False, True, False],
                        [True, False, False, False],
                        [True, True, True, False]])
    got = list(require_result(answer(list(epsilons), success.copy()), "a list"))
    want = _smallest(epsilons, success)
    if len(got) != len(want):
        raise Mismatch("one entry per image: images are the columns")
    if got[3] is not None:
        raise Mismatch("an image no ε fooled gets None")
    if any(g is None or not np.isclose(g, w) for g, w in zip(got[:3], want[:3])):
        raise Mismatch("the smallest ε that succeeded, which is not always "
                       "the first row: the list need not be sorted")
