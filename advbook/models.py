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
    """What the registry knows about a classifier before loading it."""

    name: str
    display_name: str
    input_size: int
    preprocessing: preprocess.Preprocessing
    build: Callable[[], Any]  # -> keras model: preprocessed input -> logits


def random_weights() -> bool:
    """True when ADVBOOK_WEIGHTS=random asks for untrained keras models."""
    return os.environ.get("ADVBOOK_WEIGHTS", "").strip().lower() == "random"


def _keras_app(app_name: str) -> Callable[[], Any]:
    """A builder for a keras.applications model with ImageNet weights."""

    def build() -> Any:
        import keras

        app = {"resnet50": keras.applications.ResNet50,
               "inception_v3": keras.applications.InceptionV3}[app_name]
        if random_weights():
            # A test-only switch: it runs the ResNet-50 / Inception-V3 code
            # paths (input sizes, preprocessing, shapes) where the real
            # weights cannot be downloaded. Its predictions mean nothing.
            keras.utils.set_random_seed(SEED)
            return app(weights=None, classifier_activation=None)
        path = weights.fetch(app_name)
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
    return Classifier(entry, entry.build())


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


def _can_have(name: str) -> tuple[bool, str]:
    """Whether `name`'s weights can be had now, and a short why (no loading)."""
    if name not in weights.KERAS_FILES:
        return True, "its weights ship with advbook's dependencies"
    if random_weights():
        return True, "ADVBOOK_WEIGHTS=random: untrained, for structure tests"
    found = weights.locate(name)
    if found:
        return True, "its weights are here"
    state = weights.status(name)
    return state.startswith("will download"), state.split(":")[0]


def choose(role: Role) -> tuple[str, str]:
    """The registry name that fills `role`, and why, without loading it."""
    picked = os.environ.get(role.variable, "").strip()
    if picked:
        if picked not in REGISTRY:
            raise UnknownModel(
                f"{role.variable}={picked!r} names no classifier; known: "
                f"{', '.join(REGISTRY)}. Set it to one of them or unset it")
        return picked, f"chosen by {role.variable}={picked}"
    ok, why = _can_have(role.preferred)
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
    if random_weights() and name in weights.KERAS_FILES:
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
    report = {}
    for name, entry in REGISTRY.items():
        label = f"{entry.display_name} ({name})"
        if name in weights.KERAS_FILES and random_weights():
            report[label] = "random weights (ADVBOOK_WEIGHTS=random)"
        elif name in weights.KERAS_FILES:
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
    try:
        source.open("rb").close()
    except OSError as err:
        return f"unreadable: {source} ({err.strerror or err}); fix its permissions"
    return f"weights present, always offline ({source.name})"
