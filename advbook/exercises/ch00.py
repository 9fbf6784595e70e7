"""Chapter 0 exercise: loading photos the book's way."""

from __future__ import annotations

import numpy as np

from ..images import load_image
from . import Mismatch, exercise


def _reference() -> np.ndarray:
    return load_image("chelsea", size=(160, 240))


def _wrong() -> np.ndarray:
    return load_image("chelsea", size=(160, 240)) / 255.0


@exercise("ch0.load", "load chelsea at 160x240", reference=_reference,
          wrong=_wrong)
def check_load(answer: np.ndarray) -> None:
    """The cat photo, 160 high and 240 wide, as 0-255 float32 RGB."""
    if not isinstance(answer, np.ndarray):
        raise Mismatch("return the numpy array that ab.load_image gives")
    if answer.shape != (160, 240, 3):
        raise Mismatch(f"shape is {answer.shape}; size takes (height, width)")
    if answer.max() <= 1.0:
        raise Mismatch("the models expect 0-255 pixels; don't divide by 255")
    if not np.allclose(answer, _reference(), atol=1e-3):
        raise Mismatch("right shape, other pixels: did you load 'chelsea'?")
