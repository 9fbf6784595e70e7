"""Input checks shared by the attack modules, one wording per message.

`tf_attacks`, `attacks` and `adversarial_regularization` validate their
arguments here, so the same mistake gets the same advice everywhere. Only
numpy is imported at module level: checking ε must not pull in foolbox.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .errors import InvalidArgument


def check_number(name: str, value: Any) -> float:
    """A finite real number (not a str, bool or array), as a float."""
    # float("0.1") and float(True) both succeed, which hides a typo.
    if isinstance(value, (str, bytes, bool, np.bool_)) or not isinstance(
            value, numbers.Real):
        raise InvalidArgument(f"{name} must be a number such as 0.1; got "
                              f"{value!r} ({type(value).__name__})")
    value = float(value)
    if not math.isfinite(value):
        raise InvalidArgument(f"{name} must be finite; got {value!r}")
    return value


def check_non_negative(name: str, value: Any) -> float:
    """A finite float >= 0."""
    number = check_number(name, value)
    if number < 0:
        raise InvalidArgument(f"{name} must be >= 0; got {value!r}")
    return number


def check_epsilons(epsilons: Union[float, Sequence[float]]) -> list[float]:
    """Validate ε values: finite and >= 0; return them as a list of floats."""
    if isinstance(epsilons, (str, bytes)):
        raise InvalidArgument(f"ε must be a number such as 0.1, not the "
                              f"string {epsilons!r}")
    values = [epsilons] if np.ndim(epsilons) == 0 else list(epsilons)
    if not values:
        raise InvalidArgument("epsilons is empty; give at least one ε, e.g. [1.0]")
    cleaned = []
    for eps in values:
        try:
            eps = check_non_negative("ε", eps)
        except InvalidArgument as err:
            raise InvalidArgument(f"{err}. ε is a perturbation size in the "
                                  "units of the pixels (0-255 for advbook "
                                  "classifiers)") from None
        cleaned.append(eps)
    return cleaned


def check_epsilon(eps: Any) -> float:
    """Exactly one ε."""
    if np.ndim(eps) != 0:
        raise InvalidArgument(f"ε must be one number here; got {eps!r}")
    return check_epsilons(eps)[0]


# The book spells the norms "linf" and "l2"; NSL and numpy say "infinity"
# and "inf", which are accepted as aliases.
NORMS = ("linf", "l2")
_NORM_ALIASES = {"linf": "linf", "inf": "linf", "infinity": "linf", "l2": "l2"}


def check_norm(norm: Any, name: str = "norm") -> str:
    """The canonical norm name, "linf" or "l2" ("inf", "infinity" accepted)."""
    key = norm.lower() if isinstance(norm, str) else None
    if key not in _NORM_ALIASES:
        raise InvalidArgument(f"{name} must be \"linf\" or \"l2\" (\"inf\" and "
                              f"\"infinity\" also mean L∞); got {norm!r}")
    return _NORM_ALIASES[key]


def check_positive_int(name: str, value: Any) -> int:
    """An int >= 1 (True is not a count)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
            or value < 1:
        raise InvalidArgument(f"{name} must be a positive int such as 10; got "
                              f"{value!r} ({type(value).__name__})")
    return int(value)


def check_seed(seed: Any) -> Optional[int]:
    """None or a non-negative int, as np.random.default_rng takes."""
    if seed is None:
        return None
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral) \
            or seed < 0:
        raise InvalidArgument(f"seed must be a non-negative int such as 0, or "
                              f"None; got {seed!r} ({type(seed).__name__})")
    return int(seed)


def check_bounds(bounds: Any) -> tuple[float, float]:
    """A (low, high) pair of finite numbers with low < high."""
    try:
        low, high = bounds
    except (TypeError, ValueError):
        raise InvalidArgument(f"bounds must be a (low, high) pair such as "
                              f"(0, 1); got {bounds!r}") from None
    low, high = check_number("bounds' low", low), check_number("bounds' high", high)
    if not low < high:
        raise InvalidArgument(f"bounds need low < high; got {bounds!r}")
    return low, high


def check_batch(x: Any, bounds: tuple[float, float], name: str = "x",
                rank: Optional[int] = None) -> np.ndarray:
    """A non-empty real batch (N, ...) within bounds, as float32."""
    try:
        x = np.asarray(x)
    except Exception:  # noqa: BLE001 - any conversion failure is bad input
        raise InvalidArgument(f"{name} must be a numpy array") from None
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.floating)
                               or np.issubdtype(x.dtype, np.integer)):
        # Complex values would lose their imaginary part without a word.
        raise InvalidArgument(f"{name} must hold real numbers; got dtype "
                              f"{x.dtype}. Convert with x.real or x.astype(float)")
    if rank is not None and x.ndim != rank:
        raise InvalidArgument(
            f"{name} has shape {x.shape} ({x.ndim} axes), but the model takes "
            f"batches with {rank} axes (N first). Add a batch axis with "
            f"x[None] for one example, or reshape to the model's input")
    if x.ndim < 2:
        raise InvalidArgument(f"{name} must be a batch (N, ...); got shape {x.shape}")
    if x.shape[0] == 0:
        raise InvalidArgument(f"{name} is an empty batch (N = 0); pass at "
                              "least one example")
    x = x.astype(np.float32)
    low, high = bounds
    if not np.all(np.isfinite(x)):
        raise InvalidArgument(f"{name} contains NaN or infinite values")
    if x.min() < low - 1e-6 or x.max() > high + 1e-6:
        raise InvalidArgument(f"{name} must lie within bounds {bounds}; got "
                              f"values in [{x.min():.3g}, {x.max():.3g}]")
    return x


def check_labels(y: Any, n: int, classes: Optional[int],
                 name: str = "labels") -> np.ndarray:
    """n integer class ids in 0..classes-1, as int64."""
    y = np.asarray(y)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise InvalidArgument(
            f"{name} must be {n} integer class labels, one per example; got shape "
            f"{y.shape}, dtype {y.dtype}")
    if classes is not None and len(y) and (y.min() < 0 or y.max() >= classes):
        bad = y[(y < 0) | (y >= classes)][0]
        raise InvalidArgument(
            f"{name} must be class labels in 0-{classes - 1} for this model; "
            f"got {bad}")
    return y.astype(np.int64)


def model_rank(model: Any) -> Optional[int]:
    """The number of axes a Keras model's input has, if it declares one."""
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):  # a subclassed model: not declared
        return None
    return len(shape) if isinstance(shape, tuple) else None


def model_classes(model: Any) -> Optional[int]:
    """How many logits a Keras model returns, if it declares it."""
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, tuple) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return None


def check_preprocess(preprocess: Callable, sample: np.ndarray) -> None:
    """The preprocessing must be TensorFlow ops that let gradients through."""
    import tensorflow as tf

    x = tf.constant(sample)
    try:
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = preprocess(x)
            total = tf.reduce_sum(out) if tf.is_tensor(out) else None
    except Exception as err:  # noqa: BLE001 - reported with the fix below
        raise InvalidArgument(
            f"preprocess {getattr(preprocess, '__name__', preprocess)!r} failed "
            f"on a TensorFlow tensor ({type(err).__name__}: {err}). Write it with "
            "tf ops, or pass an advbook Preprocessing") from None
    if total is None or tape.gradient(total, x) is None:
        raise InvalidArgument(
            f"preprocess {getattr(preprocess, '__name__', preprocess)!r} returns "
            f"{type(out).__name__}, so no gradient reaches the input: numpy "
            "functions cut TensorFlow's gradient path. Write it with tf ops "
            "(tf.reverse, arithmetic on tensors), or pass an advbook Preprocessing")
