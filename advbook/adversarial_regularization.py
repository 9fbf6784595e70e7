"""Adversarial neighbours as a Keras 3 regulariser, after neural structured learning.

Neural structured learning (NSL) trains on each example *and* on an
"adversarial neighbour": a copy moved a fixed step along the gradient of the
labelled loss with respect to the input. The training objective is

    labelled loss + multiplier * loss on the neighbours.

NSL's own Keras wrapper needs `tf.estimator`, which TensorFlow 2.16 removed,
so this module re-implements the idea for Keras 3 on the TensorFlow backend:
`make_neighbours` builds the neighbours, and `AdversarialRegularization`
wraps any logits model with a `train_step` that adds the neighbour term.

The defaults here (multiplier 0.2, step size 0.2, the L∞ norm) are the
settings of NSL's MNIST tutorial, "Adversarial regularization for image
classification". They are not NSL's library defaults:
`nsl.configs.AdvRegConfig` (and `make_adv_reg_config`) default to
multiplier 0.2, adv_step_size 0.001 and the L2 norm.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

from .checks import check_batch, check_non_negative, check_norm
from .errors import AdvbookError, InvalidArgument
from .norms import ascend


def _keras() -> Any:
    import keras

    return keras


# The shared wording lives in advbook.checks; the old name stays for callers.
_check_non_negative = check_non_negative


def _check_clip(clip: Any) -> Optional[tuple[float, float]]:
    """None, or a (low, high) pair of finite numbers with low < high."""
    if clip is None:
        return None
    try:
        low, high = (float(v) for v in clip)
    except (TypeError, ValueError):
        raise InvalidArgument(f"clip must be None or a (low, high) pair; "
                              f"got {clip!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise InvalidArgument(f"clip needs finite low < high; got {clip!r}")
    return low, high


def perturb(x: Any, grad: Any, step_size: float, norm: str = "linf",
            clip: Optional[tuple[float, float]] = None) -> Any:
    """x + step_size * (gradient normalised per example), then clipped (TF)."""
    import tensorflow as tf

    # No projection: a neighbour is one step from x, so it is inside the ball.
    neighbour = ascend(x, tf.cast(grad, x.dtype), step_size, check_norm(norm))
    if clip is not None:
        neighbour = tf.clip_by_value(neighbour, clip[0], clip[1])
    return neighbour


def make_neighbours(model: Any, x: np.ndarray, y: np.ndarray,
                    step_size: float = 0.2, norm: str = "linf",
                    clip: Optional[tuple[float, float]] = None,
                    loss: Any = None) -> np.ndarray:
    """Adversarial neighbours of x for a logits model, as a numpy array.

    step_size and norm default to the settings of NSL's MNIST tutorial
    (0.2, L∞), not to NSL's library defaults (0.001, L2). loss defaults
    to cross-entropy of integer labels from logits; any Keras loss
    (y_true, y_pred) -> scalar works.
    """
    import tensorflow as tf

    step_size = _check_non_negative("step_size", step_size)
    norm, clip = check_norm(norm, "norm"), _check_clip(clip)
    x = check_batch(x, (-math.inf, math.inf), "x")
    if len(np.asarray(y)) != len(x):
        raise InvalidArgument(f"y must hold one label per example: {len(x)} "
                              f"examples, {len(np.asarray(y))} labels")
    if loss is None:
        loss = _keras().losses.SparseCategoricalCrossentropy(from_logits=True)
    x = tf.constant(x, dtype=tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss(tf.constant(y), model(x, training=False))
    grad = tape.gradient(value, x)
    if grad is None:
        raise InvalidArgument("the loss does not depend on x: the model "
                              "gives no gradient to build neighbours from")
    return perturb(x, grad, step_size, norm, clip).numpy()


def _loss_object(loss: Any) -> Any:
    """The compiled loss as a callable (y_true, y_pred, sample_weight)."""
    keras = _keras()
    if isinstance(loss, (dict, list, tuple)) or loss is None:
        raise InvalidArgument(
            "AdversarialRegularization supports one output with one loss; "
            f"compile it with a single loss, got {loss!r}")
    found = keras.losses.get(loss)
    if found is None:
        raise InvalidArgument(f"unknown loss {loss!r}")
    if not isinstance(found, keras.losses.Loss):  # a plain function
        found = keras.losses.LossFunctionWrapper(found)
    return found


class AdversarialRegularization(_keras().Model):
    """Wrap a model: train on labelled loss + multiplier x neighbour loss.

    multiplier, adv_step_size and adv_grad_norm ("linf" or "l2"; NSL's
    "infinity" is accepted) follow NSL's names. Their defaults (0.2, 0.2,
    L∞) are the settings of NSL's
    MNIST tutorial; NSL's own AdvRegConfig defaults to 0.2, 0.001 and L2.
    clip=(low, high) keeps neighbours inside the valid input range; None
    leaves them unclipped.
    Compile with one loss (for logits, from_logits=True); predict, evaluate
    and the weights are the base model's. Needs the TensorFlow backend.
    """

    def __init__(self, base_model: Any, multiplier: float = 0.2,
                 adv_step_size: float = 0.2, adv_grad_norm: str = "linf",
                 clip: Optional[tuple[float, float]] = None,
                 name: str = "adversarial_regularization", **kwargs: Any):
        keras = _keras()
        if keras.backend.backend() != "tensorflow":
            raise AdvbookError(
                "AdversarialRegularization needs the TensorFlow backend; "
                f"this Keras runs on {keras.backend.backend()!r}. Set "
                "KERAS_BACKEND=tensorflow before importing keras")
        if not isinstance(base_model, keras.layers.Layer):
            raise InvalidArgument(f"base_model must be a Keras model; got "
                                  f"{type(base_model).__name__}")
        super().__init__(name=name, **kwargs)
        self.base_model = base_model
        self.multiplier = _check_non_negative("multiplier", multiplier)
        self.adv_step_size = _check_non_negative("adv_step_size", adv_step_size)
        self.adv_grad_norm = check_norm(adv_grad_norm, "adv_grad_norm")
        self.clip = _check_clip(clip)
        self.neighbour_loss_tracker = keras.metrics.Mean(name="neighbour_loss")
        self._neighbour_loss = None

    def call(self, inputs: Any, training: Optional[bool] = None) -> Any:
        return self.base_model(inputs, training=training)

    def compile(self, *args: Any, **kwargs: Any) -> None:
        loss = kwargs.get("loss", args[1] if len(args) > 1 else None)
        self._neighbour_loss = _loss_object(loss)
        super().compile(*args, **kwargs)

    def _input(self, data: Any) -> tuple[Any, Any, Any]:
        """(x as a float tensor, y, sample_weight) from a fit/evaluate batch."""
        import tensorflow as tf

        keras = _keras()
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if not tf.is_tensor(x) and not isinstance(x, np.ndarray):
            raise InvalidArgument("AdversarialRegularization takes one input "
                                  f"tensor; got {type(x).__name__}")
        x = tf.convert_to_tensor(x)
        if not x.dtype.is_floating:
            x = tf.cast(x, keras.backend.floatx())
        return x, y, sample_weight

    def _objective(self, x: Any, y: Any, sample_weight: Any, training: bool,
                   tape: Any = None) -> tuple[Any, Any]:
        """(predictions, labelled + multiplier x neighbour loss), tracked."""
        import tensorflow as tf

        with tf.GradientTape(watch_accessed_variables=False) as input_tape:
            input_tape.watch(x)
            y_pred = self(x, training=training)
            labelled = self._compute_loss(x=x, y=y, y_pred=y_pred,
                                          sample_weight=sample_weight,
                                          training=training)
        # The neighbour is a constant input: no gradient flows through it.
        if tape is not None:
            with tape.stop_recording():
                neighbour = self._neighbour(x, input_tape.gradient(labelled, x))
        else:
            neighbour = self._neighbour(x, input_tape.gradient(labelled, x))
        neighbour_pred = self(neighbour, training=training)
        neighbour_loss = self._neighbour_loss(y, neighbour_pred,
                                              sample_weight=sample_weight)
        loss = labelled + self.multiplier * neighbour_loss
        batch = tf.shape(x)[0]
        self._loss_tracker.update_state(loss, sample_weight=batch)
        self.neighbour_loss_tracker.update_state(neighbour_loss,
                                                 sample_weight=batch)
        return y_pred, loss

    def _neighbour(self, x: Any, grad: Any) -> Any:
        import tensorflow as tf

        return tf.stop_gradient(perturb(x, grad, self.adv_step_size,
                                        self.adv_grad_norm, self.clip))

    def train_step(self, data: Any) -> dict:
        import tensorflow as tf

        x, y, sample_weight = self._input(data)
        with tf.GradientTape() as tape:
            y_pred, loss = self._objective(x, y, sample_weight, True, tape)
            scaled = self.optimizer.scale_loss(loss)
        weights = self.trainable_weights
        self.optimizer.apply_gradients(zip(tape.gradient(scaled, weights), weights))
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)

    def test_step(self, data: Any) -> dict:
        x, y, sample_weight = self._input(data)
        y_pred, _ = self._objective(x, y, sample_weight, False)
        return self.compute_metrics(x, y, y_pred, sample_weight=sample_weight)
