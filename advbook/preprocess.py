"""Per-model preprocessing: one definition gives numpy and foolbox forms."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import InvalidArgument

_IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
_IMAGENET_STD_RGB = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """An affine map from RGB 0-255 pixels to a network's input."""

    name: str
    flip_channels: bool  # True: RGB -> BGR before the affine step
    mean: tuple[float, float, float]  # in the channel order after any flip
    std: tuple[float, float, float]
    description: str

    def __call__(self, images: np.ndarray) -> np.ndarray:
        """Apply to float RGB pixels in 0-255, channels last."""
        x = np.asarray(images, dtype=np.float32)
        if x.ndim < 3 or x.shape[-1] != 3:
            raise InvalidArgument(
                f"preprocessing '{self.name}' needs channels-last RGB "
                f"images (..., H, W, 3); got shape {x.shape}. "
                "Load photos with advbook.load_image()."
            )
        if self.flip_channels:
            x = x[..., ::-1]
        mean = np.asarray(self.mean, np.float32)
        std = np.asarray(self.std, np.float32)
        return (x - mean) / std

    def tf(self, images):  # -> tf.Tensor
        """The same map in TensorFlow ops, so gradients reach the pixels."""
        import tensorflow as tf

        x = tf.convert_to_tensor(images, tf.float32)
        if self.flip_channels:
            x = tf.reverse(x, axis=[-1])
        return (x - tf.constant(self.mean)) / tf.constant(self.std)

    def foolbox(self) -> dict:
        """The same map as foolbox 3's `preprocessing` argument."""
        # foolbox flips first, then subtracts the mean, then divides.
        # axis=-1: mean and std are per channel, channels last.
        spec: dict = {"mean": list(self.mean), "std": list(self.std), "axis": -1}
        if self.flip_channels:
            spec["flip_axis"] = -1
        return spec


CAFFE = Preprocessing(
    name="caffe",
    flip_channels=True,
    mean=(103.939, 116.779, 123.68),  # B, G, R means of ImageNet
    std=(1.0, 1.0, 1.0),
    description="RGB->BGR, subtract the ImageNet channel means (ResNet-50)",
)

TF = Preprocessing(
    name="tf",
    flip_channels=False,
    mean=(127.5, 127.5, 127.5),
    std=(127.5, 127.5, 127.5),
    description="scale to [-1, 1] (Inception-V3)",
)

TORCH = Preprocessing(
    name="torch",
    flip_channels=False,
    mean=tuple(255.0 * m for m in _IMAGENET_MEAN_RGB),
    std=tuple(255.0 * s for s in _IMAGENET_STD_RGB),
    description="scale to [0, 1], ImageNet mean/std (EfficientNet-Lite)",
)

EDGE = Preprocessing(
    name="edge",
    flip_channels=False,
    mean=(127.0, 127.0, 127.0),
    std=(128.0, 128.0, 128.0),
    description="(x - 127) / 128, as TensorFlow trained EfficientNet-Lite",
)

FAMILIES = {p.name: p for p in (CAFFE, TF, TORCH, EDGE)}


def get(name: str) -> Preprocessing:
    """The preprocessing family called `name`."""
    try:
        return FAMILIES[name]
    except KeyError:
        known = ", ".join(sorted(FAMILIES))
        raise InvalidArgument(
            f"unknown preprocessing family {name!r}; known: {known}"
        ) from None
