"""The classifier registry: load ImageNet models by name, pick the book's roles."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import imagenet, preprocess, weights
from .errors import UnknownModel, WeightsUnavailable
from .images import check_images, load_image

top_k = imagenet.top_k  # label decoding is part of what the registry offers


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, stable for large logits."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about a classifier before loading it."""

    name: str
    display_name: str
    input_size: int
    preprocessing: preprocess.Preprocessing
    build: Callable[[], Any]  # -> keras model: preprocessed input -> logits


def _keras_app(app_name: str) -> Callable[[], Any]:
    """A builder for a keras.applications model with ImageNet weights."""

    def build() -> Any:
        import keras

        path = weights.fetch(app_name)
        app = {"resnet50": keras.applications.ResNet50,
               "inception_v3": keras.applications.InceptionV3}[app_name]
        # Logits, not softmax: attacks need them, and softmax is one call away.
        model = app(weights=None, classifier_activation=None)
        model.load_weights(path)
        return model

    return build


def _lite(variant: str) -> Callable[[], Any]:
    """A builder for an EfficientNet-Lite port with its shipped weights."""

    def build() -> Any:
        from . import efficientnet_lite

        return efficientnet_lite.build(variant)

    return build


def _lite_spec(variant: str, display: str) -> ModelSpec:
    from . import efficientnet_lite as lite

    return ModelSpec(f"efficientnet_{variant}", display, lite.INPUT_SIZE[variant],
                     preprocess.get(lite.PREPROCESSING[variant]), _lite(variant))


REGISTRY: dict[str, ModelSpec] = {
    "resnet50": ModelSpec("resnet50", "ResNet-50", 224, preprocess.CAFFE,
                          _keras_app("resnet50")),
    "inception_v3": ModelSpec("inception_v3", "Inception-V3", 299, preprocess.TF,
                              _keras_app("inception_v3")),
    "efficientnet_lite0": _lite_spec("lite0", "EfficientNet-Lite0"),
    "efficientnet_lite2": _lite_spec("lite2", "EfficientNet-Lite2"),
}


def spec(name: str) -> ModelSpec:
    """The registry entry for `name`."""
    if isinstance(name, str) and name in REGISTRY:
        return REGISTRY[name]
    raise UnknownModel(f"no classifier called {name!r}; known: "
                       f"{', '.join(REGISTRY)}")


@dataclass
class Classifier:
    """A loaded ImageNet classifier taking RGB pixels in 0-255."""

    spec: ModelSpec
    keras_model: Any  # preprocessed input -> logits
    reason: str = ""  # why this model fills its role, when it has one
    _compiled: Any = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def display_name(self) -> str:
        return self.spec.display_name

    @property
    def input_size(self) -> int:
        return self.spec.input_size

    @property
    def preprocessing(self) -> preprocess.Preprocessing:
        return self.spec.preprocessing

    def load_image(self, path_or_sample: str) -> np.ndarray:
        """A photo at this model's input size (float32 RGB 0-255)."""
        return load_image(path_or_sample, size=self.input_size)

    def logits(self, images: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Logits (N, 1000) for a batch of 0-255 RGB images."""
        x = check_images(images)
        forward = self.compiled_forward()
        chunks = [forward(self.preprocessing(x[i:i + batch_size])).numpy()
                  for i in range(0, len(x), batch_size)]
        return np.concatenate(chunks)

    def probs(self, images: np.ndarray) -> np.ndarray:
        """Softmax probabilities (N, 1000)."""
        return softmax(self.logits(images))

    def predict(self, image: np.ndarray, k: int = 3) -> pd.DataFrame:
        """Top-k table (rank, class_id, class, confidence) for one image."""
        batch = image[None] if np.ndim(image) == 3 else image
        return top_k(self.probs(batch)[0], k)

    def compiled_forward(self) -> Any:
        """preprocessed input -> logits, as a tf.function (traced once).

        The weights are read as constants. Under an eager GradientTape (as
        foolbox calls it) TF splits a tf.function into a forward and a
        backward built for every input of the call, captured weights
        included, so each attack step also computed the weight gradients;
        profiled in benchmarks/foolbox_profile.py. keras 3's stateless_call
        takes the weights' values, and stop_gradient leaves only the input
        gradient to compute.
        """
        if self._compiled is None:
            import tensorflow as tf

            model = self.keras_model

            @tf.function(reduce_retracing=True)
            def forward(x):
                weights = [tf.stop_gradient(v.value) for v in model.trainable_variables]
                state = [tf.stop_gradient(v.value) for v in model.non_trainable_variables]
                return model.stateless_call(weights, state, x, training=False)[0]

            self._compiled = forward
        return self._compiled


@lru_cache(maxsize=None)
def _load_cached(name: str) -> Classifier:
    entry = spec(name)
    return Classifier(entry, entry.build())


def load(name: str) -> Classifier:
    """Load a registered classifier once per process; later calls reuse it."""
    spec(name)  # unknown names fail before anything heavy happens
    return _load_cached(name)


def _with_fallback(role: str, preferred: str, fallback: str) -> Classifier:
    """The preferred model if its weights can be had, else the fallback."""
    try:
        chosen = load(preferred)
        reason = f"{chosen.display_name}, the book's {role}: its weights are here"
    except WeightsUnavailable as err:
        chosen = load(fallback)
        short = str(err).split(". ")[0]
        reason = (f"{chosen.display_name} stands in for "
                  f"{spec(preferred).display_name} ({short})")
    if chosen.reason != reason:  # announce once per process
        chosen.reason = reason
        print(f"{role}: {reason}")
    return chosen


def default_classifier() -> Classifier:
    """ResNet-50 when its weights can be had, else EfficientNet-Lite0."""
    return _with_fallback("default classifier", "resnet50", "efficientnet_lite0")


def second_classifier() -> Classifier:
    """Inception-V3 when its weights can be had, else EfficientNet-Lite2."""
    return _with_fallback("second architecture", "inception_v3",
                          "efficientnet_lite2")


def availability() -> dict[str, str]:
    """For each classifier, whether it can run now and why (no downloads)."""
    report = {}
    for name, entry in REGISTRY.items():
        label = f"{entry.display_name} ({name})"
        if name in weights.KERAS_FILES:
            report[label] = weights.status(name)
        else:
            report[label] = _lite_status(name)
    return report


def _lite_status(name: str) -> str:
    from . import efficientnet_lite as lite

    variant = name.removeprefix("efficientnet_")
    try:
        source = lite.weights_source(variant)
    except WeightsUnavailable as err:
        return f"unavailable: {err}"
    return f"weights present, always offline ({source.name})"
