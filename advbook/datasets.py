"""Small datasets: scikit-learn's digits (always there), MNIST when cached."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import SEED, offline
from .errors import WeightsUnavailable


@dataclass(frozen=True)
class Split:
    """Images (N, H, W, 1) in [0, 1], integer labels, for train and test."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str

    @property
    def num_classes(self) -> int:
        """How many classes the labels use."""
        return int(self.y_train.max()) + 1

    def flat(self) -> tuple[np.ndarray, np.ndarray]:
        """(x_train, x_test) flattened to (N, H*W) for linear models."""
        return (self.x_train.reshape(len(self.x_train), -1),
                self.x_test.reshape(len(self.x_test), -1))


def digits(test_fraction: float = 0.25, seed: int = SEED) -> Split:
    """scikit-learn's 8x8 digits, scaled to [0, 1], split reproducibly."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = (bunch.images / 16.0).astype(np.float32)[..., None]
    y = bunch.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_fraction, random_state=seed, stratify=y)
    return Split(x_train, y_train, x_test, y_test, "digits (8x8)")


def mnist() -> Split:
    """Keras' MNIST in [0, 1]; needs the file cached or the internet."""
    import keras

    if offline():
        raise WeightsUnavailable(
            "MNIST needs a download and ADVBOOK_OFFLINE=1 forbids it; "
            "use advbook.datasets.digits(), or unset ADVBOOK_OFFLINE")
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as err:  # noqa: BLE001 - any fetch failure means the same
        raise WeightsUnavailable(
            f"MNIST could not be loaded ({type(err).__name__}); it downloads "
            "mnist.npz into ~/.keras/datasets. Copy that file there from a "
            "machine with internet, or use advbook.datasets.digits()") from None
    scale = np.float32(1 / 255)
    return Split(x_train[..., None] * scale, y_train.astype(np.int64),
                 x_test[..., None] * scale, y_test.astype(np.int64), "MNIST")
