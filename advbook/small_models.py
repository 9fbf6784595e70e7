"""Small Keras classifiers for the digits data, and how the book trains them."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from .config import SEED
from .datasets import Split
from .errors import InvalidArgument


def _keras() -> Any:
    import keras

    return keras


def softmax_regression(input_shape: Sequence[int] = (8, 8, 1),
                       num_classes: int = 10) -> Any:
    """Multinomial logistic regression: one dense layer, logits out."""
    keras = _keras()
    return keras.Sequential([
        keras.Input(tuple(input_shape)),
        keras.layers.Flatten(),
        keras.layers.Dense(num_classes, name="logits"),
    ], name="softmax_regression")


def dense_net(input_shape: Sequence[int] = (8, 8, 1), hidden: Sequence[int] = (128, 64),
              num_classes: int = 10) -> Any:
    """A fully connected ReLU network, logits out."""
    keras = _keras()
    layers = [keras.Input(tuple(input_shape)), keras.layers.Flatten()]
    layers += [keras.layers.Dense(width, activation="relu") for width in hidden]
    layers.append(keras.layers.Dense(num_classes, name="logits"))
    return keras.Sequential(layers, name="dense_net")


def small_cnn(input_shape: Sequence[int] = (8, 8, 1), num_classes: int = 10,
              filters: int = 32) -> Any:
    """Two 3x3 convolutions, pooling and a dense head, logits out."""
    keras = _keras()
    return keras.Sequential([
        keras.Input(tuple(input_shape)),
        keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
        keras.layers.Conv2D(filters, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Flatten(),
        keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(num_classes, name="logits"),
    ], name="small_cnn")


def compile_for_logits(model: Any, learning_rate: float = 1e-3) -> Any:
    """Adam + cross-entropy on integer labels, from logits (not probabilities)."""
    keras = _keras()
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def train(model: Any, data: Split, epochs: int = 30, batch_size: int = 64,
          learning_rate: float = 1e-3, seed: int = SEED) -> Any:
    """Fit on data.x_train (seeded); return the keras History."""
    keras = _keras()
    if epochs < 1:
        raise InvalidArgument(f"epochs must be >= 1; got {epochs}")
    keras.utils.set_random_seed(seed)
    if getattr(model, "optimizer", None) is None:  # not compiled yet
        compile_for_logits(model, learning_rate)
    return model.fit(data.x_train, data.y_train, epochs=epochs,
                     batch_size=batch_size, verbose=0, shuffle=True)


def accuracy(model: Any, x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of x that the model labels y."""
    logits = model.predict(x, verbose=0, batch_size=256)
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(y)))
