"""The classifier registry: load ImageNet models by name, pick the book's roles."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

import numpy as np
import pandas as pd

from . import imagenet, preprocess, weights
from .config import SEED
from .errors import UnknownModel, WeightsUnavailable
from .images import check_images, load_image
from .numerics import softmax



@dataclass(frozen=True)
class ModelSpec:
    """One classifier: everything the registry knows before loading it."""

    name: str
    display_name: str
    input_size: int
    preprocessing: preprocess.Preprocessing
    weights: weights.WeightFile | weights.ShippedWeights  # where they come from
    build: Callable[["ModelSpec"], Any]  # -> keras model: preprocessed input -> logits

    def can_have(self) -> tuple[bool, str]:
        """Whether this model can run now, and a short why (no loading)."""
        if random_weights() and self.has_keras_weights:
            return True, "ADVBOOK_WEIGHTS=random: untrained, for structure tests"
        return self.weights.can_have()

    def status(self) -> str:
        """Whether its weights are here, will download, or are unavailable."""
        if random_weights() and self.has_keras_weights:
            return "random weights (ADVBOOK_WEIGHTS=random)"
        return self.weights.status()

    @property
    def has_keras_weights(self) -> bool:
        """True for keras' downloadable files (ResNet-50, Inception-V3)."""
        return isinstance(self.weights, weights.WeightFile)


def random_weights() -> bool:
    """True when ADVBOOK_WEIGHTS=random asks for untrained keras models."""
    return os.environ.get("ADVBOOK_WEIGHTS", "").strip().lower() == "random"


def _keras_app(class_name: str) -> Callable[[ModelSpec], Any]:
    """A builder for keras.applications.<class_name> with ImageNet weights."""

    def build(entry: ModelSpec) -> Any:
        import keras

        app = getattr(keras.applications, class_name)
        if random_weights():
            # A test-only switch: it runs the ResNet-50 / Inception-V3 code
            # paths (input sizes, preprocessing, shapes) where the real
            # weights cannot be downloaded. Its predictions mean nothing.
            keras.utils.set_random_seed(SEED)
            return app(weights=None, classifier_activation=None)
        path = entry.weights.fetch()
        # Logits, not softmax: attacks need them, and softmax is one call away.
        model = app(weights=None, classifier_activation=None)
        model.load_weights(path)
        return model

    return build


def _lite_port(entry: ModelSpec) -> Any:
    """The EfficientNet-Lite port with its shipped weights."""
    from . import efficientnet_lite

    return efficientnet_lite.build(entry.weights.variant)


def _lite(variant: str, display_name: str) -> ModelSpec:
    """An EfficientNet-Lite port: its size and preprocessing come from the port."""
    from . import efficientnet_lite as lite

    return ModelSpec(f"efficientnet_{variant}", display_name,
                     lite.INPUT_SIZE[variant],
                     preprocess.get(lite.PREPROCESSING[variant]),
                     weights.ShippedWeights(variant), _lite_port)


def _keras_file(model: str, path: str, md5: str, approx_mb: int) -> weights.WeightFile:
    """keras' own ImageNet weight file for `model`, under keras' base URL."""
    return weights.WeightFile(model, path.rsplit("/", 1)[-1],
                              weights.KERAS_BASE_URL + path, md5, approx_mb)


# The one place to add a classifier. Input sizes and preprocessing are the
# ones each network was trained with (see advbook.preprocess).
REGISTRY: dict[str, ModelSpec] = {spec.name: spec for spec in [
    ModelSpec("resnet50", "ResNet-50", 224, preprocess.CAFFE,
              _keras_file("resnet50",
                          "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
                          "2cb95161c43110f7111970584f804107", 98),
              _keras_app("ResNet50")),
    ModelSpec("inception_v3", "Inception-V3", 299, preprocess.TF,
              _keras_file("inception_v3", "inception_v3/"
                          "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
                          "9a0d58056eeedaa3f26cb7ebd46da564", 92),
              _keras_app("InceptionV3")),
    _lite("lite0", "EfficientNet-Lite0"),
    _lite("lite2", "EfficientNet-Lite2"),
]}


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

    def top_k(self, image: np.ndarray, k: int = 3) -> pd.DataFrame:
        """Top-k table (rank, class_id, class, confidence) for one image.

        Named apart from Keras' `predict`, which returns arrays.
        """
        batch = image[None] if np.ndim(image) == 3 else image
        return imagenet.top_k(self.probs(batch)[0], k)

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
    return Classifier(entry, entry.build(entry))


def load(name: str) -> Classifier:
    """Load a registered classifier once per process; later calls reuse it."""
    spec(name)  # unknown names fail before anything heavy happens
    return _load_cached(name)


@dataclass(frozen=True)
class Role:
    """One of the two parts a classifier plays in the chapters."""

    title: str  # as the chapters say it
    variable: str  # the environment variable that picks its model
    preferred: str  # the book's model
    fallback: str  # the offline stand-in


DEFAULT_ROLE = Role("default classifier", "ADVBOOK_DEFAULT_CLASSIFIER",
                    "resnet50", "efficientnet_lite0")
SECOND_ROLE = Role("second architecture", "ADVBOOK_SECOND_CLASSIFIER",
                   "inception_v3", "efficientnet_lite2")
ROLES = (DEFAULT_ROLE, SECOND_ROLE)


def can_have(name: str) -> tuple[bool, str]:
    """Whether classifier `name` can run now, and a short why (no loading)."""
    return spec(name).can_have()


def choose(role: Role) -> tuple[str, str]:
    """The registry name that fills `role`, and why, without loading it."""
    picked = os.environ.get(role.variable, "").strip()
    if picked:
        if picked not in REGISTRY:
            raise UnknownModel(
                f"{role.variable}={picked!r} names no classifier; known: "
                f"{', '.join(REGISTRY)}. Set it to one of them or unset it")
        return picked, f"chosen by {role.variable}={picked}"
    ok, why = can_have(role.preferred)
    if ok:
        return role.preferred, f"the book's {role.title}: {why}"
    return role.fallback, (f"stands in for {spec(role.preferred).display_name}"
                           f" ({spec(role.preferred).display_name}: {why})")


def _for_role(role: Role) -> Classifier:
    """Load the model that fills `role`; announce it once per process."""
    name, reason = choose(role)
    try:
        chosen = load(name)
    except WeightsUnavailable as err:
        if os.environ.get(role.variable, "").strip():
            raise WeightsUnavailable(
                f"{role.variable}={name} asks for {spec(name).display_name}, "
                f"but {err}. Unset {role.variable} to let advbook pick a "
                "model that can run here") from None
        if name == role.fallback:
            raise
        chosen = load(role.fallback)  # the download failed after all
        reason = (f"stands in for {spec(name).display_name} "
                  f"({str(err).split('. ')[0]})")
    if random_weights() and spec(name).has_keras_weights:
        reason += "; RANDOM WEIGHTS, predictions mean nothing"
    reason = f"{chosen.display_name}, {reason}"
    if chosen.reason != reason:  # announce once per process
        chosen.reason = reason
        print(f"{role.title}: {reason}")
    return chosen


def default_classifier() -> Classifier:
    """ResNet-50 when its weights can be had, else EfficientNet-Lite0."""
    return _for_role(DEFAULT_ROLE)


def second_classifier() -> Classifier:
    """Inception-V3 when its weights can be had, else EfficientNet-Lite2."""
    return _for_role(SECOND_ROLE)


def roles() -> dict[str, str]:
    """For each role, the model that would fill it and why (no loading)."""
    report = {}
    for role in ROLES:
        try:
            name, reason = choose(role)
            report[role.title] = f"{spec(name).display_name}, {reason}"
        except UnknownModel as err:
            report[role.title] = f"error: {err}"
    return report


def availability() -> dict[str, str]:
    """For each classifier, whether it can run now and why (no downloads)."""
    return {f"{entry.display_name} ({name})": entry.status()
            for name, entry in REGISTRY.items()}
