"""Chapter 1 exercises: counting images, grey noise, neighbours."""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Callable, Iterator

import numpy as np

from . import Mismatch, exercise, require_function, require_result


def _count_digits(height: int, width: int, channels: int, bits: int) -> int:
    exponent = height * width * channels * bits  # the count is 2**exponent
    digits = math.floor(exponent * math.log10(2)) + 1
    if 2**exponent < 10 ** (digits - 1):
        digits -= 1
    elif 2**exponent >= 10**digits:
        digits += 1
    return digits


def _count_digits_rounded(height: int, width: int, channels: int,
                          bits: int) -> int:
    return round(height * width * channels * bits * math.log10(2))


@contextmanager
def _single_precision_logs() -> Iterator[None]:
    """Logarithms rounded to float32 while the answer runs.

    In double precision, floor(e·log10 2) + 1 is right for every exponent a
    checker can afford, so a float-only answer would pass by luck. With
    float32 logs the luck runs out at exponents of a few thousand, while an
    answer that confirms its digit count with exact integers stays right.
    """
    names = ("log", "log10", "log2")
    saved = [(module, name, getattr(module, name))
             for module in (math, np) for name in names]

    def rounded(function: Callable) -> Callable:
        def log(*args: object) -> object:
            value = function(*args)
            if isinstance(value, np.ndarray):
                return value.astype(np.float32).astype(np.float64)
            return float(np.float32(value))
        return log

    try:
        for module, name, function in saved:
            setattr(module, name, rounded(function))
        yield
    finally:
        for module, name, function in saved:
            setattr(module, name, function)


@exercise("ch1.count_digits", "digits in the number of possible images",
          reference=lambda: _count_digits, wrong=lambda: _count_digits_rounded)
def check_count_digits(answer: Callable) -> None:
    """Exact digit counts for small sizes, MNIST and the book's 300x300."""
    require_function(answer, "count_digits")
    cases = [(2, 2, 1, 1), (1, 1, 1, 8), (8, 8, 1, 4), (28, 28, 1, 8),
             (300, 300, 3, 8)]
    for case in cases:
        got = require_result(answer(*case), "an int")
        if int(got) != _count_digits(*case):
            raise Mismatch(
                f"count_digits{case} is off: the number is 2**(h*w*c*bits); "
                "its digit count is floor(log10(number)) + 1, not a rounding")
    # Exponents 13301 and 28738 lie within float32 error of a power of ten.
    for case in ((47, 283, 1, 1), (2, 14369, 1, 1)):
        with _single_precision_logs():
            got = answer(*case)
        if got is None or int(got) != _count_digits(*case):
            raise Mismatch(
                f"count_digits{case} is off when logarithms are less precise "
                "(float32): floor(e·log10(2)) + 1 trusts the float. Check the "
                "digit count with exact integers, e.g. 10**(d-1) <= 2**e < 10**d")


def _mean_spread(n: int) -> float:
    return math.sqrt((256**2 - 1) / 12) / math.sqrt(n)


@exercise("ch1.mean_spread", "spread of the mean of random colour values",
          reference=lambda: _mean_spread,
          wrong=lambda: (lambda n: math.sqrt((256**2 - 1) / 12)))
def check_mean_spread(answer: Callable) -> None:
    """sqrt((256**2 - 1) / 12 / n) for several n, to float precision."""
    require_function(answer, "mean_spread")
    for n in (1, 4, 100, 2352, 270_000):
        got = require_result(answer(n), "a number")
        if math.isclose(float(got), 255 / math.sqrt(12 * n), rel_tol=1e-6):
            raise Mismatch(
                "255/√12 is the spread of a continuous uniform value; colour "
                "values are the 256 integers 0..255, whose variance is "
                "(256**2 - 1) / 12")
        # 1e-6: the continuous answer is only 0.4% off the discrete one.
        if not math.isclose(float(got), _mean_spread(n), rel_tol=1e-6):
            raise Mismatch(
                f"mean_spread({n}) is off. One uniform value on 0..255 has a "
                "standard deviation near 74; how does averaging n "
                "independent values shrink it?")


def _test_images() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    ramp = np.linspace(0, 255, 20)
    stripes = np.repeat(np.tile(ramp, (12, 1))[..., None], 3, axis=-1)
    return [rng.uniform(0, 255, (16, 20, 3)),
            stripes + rng.normal(0, 20, stripes.shape),
            np.cumsum(rng.normal(0, 5, (15, 18, 3)), axis=0)]


def _vertical(image: np.ndarray) -> float:
    grey = image.mean(axis=-1)
    return float(np.corrcoef(grey[:-1].ravel(), grey[1:].ravel())[0, 1])


def _horizontal(image: np.ndarray) -> float:
    grey = image.mean(axis=-1)
    return float(np.corrcoef(grey[:, :-1].ravel(), grey[:, 1:].ravel())[0, 1])


@exercise("ch1.vertical_correlation", "correlation with the pixel below",
          reference=lambda: _vertical, wrong=lambda: _horizontal)
def check_vertical(answer: Callable) -> None:
    """Matches the reference on noise, horizontal stripes and a random walk."""
    require_function(answer, "vertical_correlation")
    for image in _test_images():
        got = require_result(answer(image.copy()), "a number")
        if not math.isclose(float(got), _vertical(image), abs_tol=1e-6):
            raise Mismatch("compare row r with row r + 1 (grey[:-1] against "
                           "grey[1:]), not column c with column c + 1")


def _nearest(x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray,
             y: int) -> float:
    return float(np.linalg.norm(x_train[y_train == y] - x, axis=1).min())


def _nearest_any(x_train: np.ndarray, y_train: np.ndarray, x: np.ndarray,
                 y: int) -> float:
    return float(np.linalg.norm(x_train - x, axis=1).min())


@exercise("ch1.nearest_same_class", "distance to the nearest same-class image",
          reference=lambda: _nearest, wrong=lambda: _nearest_any)
def check_nearest(answer: Callable) -> None:
    """Matches the reference on a fixed random data set."""
    require_function(answer, "nearest_same_class")
    rng = np.random.default_rng(5)
    x_train = rng.uniform(0, 1, (60, 64))
    y_train = rng.integers(0, 3, 60)
    for k in range(6):
        x, y = rng.uniform(0, 1, 64), int(k % 3)
        got = require_result(answer(x_train.copy(), y_train.copy(), x.copy(), y),
                             "a number")
        if not math.isclose(float(got), _nearest(x_train, y_train, x, y),
                            rel_tol=1e-6):
            raise Mismatch("keep only the training rows whose label is y, "
                           "then take the smallest L2 distance (not squared)")
