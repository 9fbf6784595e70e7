"""Load photos into float32 RGB arrays (0-255), and the sample-photo registry.

Resize policy, the same for every model: crop the largest centred region
with the target's aspect ratio, then resize it with Pillow's bicubic filter.
Nothing is stretched, and a square target keeps the middle of the photo.

Colour policy: grayscale is repeated into three channels; transparency
(RGBA, LA, palette) is composited onto white, because a classifier has no
alpha channel and white is what a viewer shows behind a transparent PNG;
16-bit images are scaled to 0-255.
"""

from __future__ import annotations

import csv
import importlib.util
import io
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from . import config
from .errors import ImageLoadError, InvalidArgument

MAX_PIXELS = 50_000_000  # a 7000x7000 photo fits; decompression bombs don't
SAMPLES_MANIFEST = "samples.csv"  # in data/ (installed as advbook.data)

Size = Union[int, tuple[int, int], None]


@dataclass(frozen=True)
class Sample:
    """A photo that ships inside an installed Python package."""

    name: str
    package: str
    file: str  # path inside the package
    subject: str
    licence: str

    @property
    def path(self) -> Path:
        """Where the installed package keeps this photo."""
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise ImageLoadError(
                f"sample {self.name!r} lives in the package {self.package!r}, "
                f"which is not installed; run: pip install {self.package}"
            )
        return Path(list(spec.submodule_search_locations)[0]) / self.file


@lru_cache(maxsize=1)
def samples() -> dict[str, Sample]:
    """The sample registry, read from data/samples.csv."""
    with open(config.data_file(SAMPLES_MANIFEST), newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    return {row["name"]: Sample(**row) for row in rows}


def sample_names() -> list[str]:
    """Names of all sample photos, in manifest order."""
    return list(samples())


def sample_path(name: str) -> Path:
    """The installed file behind sample `name`."""
    try:
        return samples()[name].path
    except KeyError:
        known = ", ".join(sample_names())
        raise ImageLoadError(
            f"unknown sample photo {name!r}; known samples: {known}. "
            "To load your own photo, pass its file path instead."
        ) from None


def load_image(path_or_sample: Union[str, Path], size: Size = (224, 224)) -> np.ndarray:
    """Load a photo or a sample as float32 (H, W, 3) RGB in 0-255."""
    path = _resolve(path_or_sample)
    return _decode(path, str(path), size)


def load_image_bytes(data: bytes, name: str, size: Size = (224, 224)) -> np.ndarray:
    """Load an uploaded photo's bytes, with the same checks as load_image.

    Nothing is written to disk; `name` (the upload's file name) only labels
    the error messages.
    """
    label = f"the upload {name!r}"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageLoadError(f"{label} did not arrive as bytes (got "
                             f"{type(data).__name__}); upload the file again")
    if len(data) == 0:
        raise ImageLoadError(f"{label} is empty (0 bytes); re-export the "
                             "image and upload it again")
    return _decode(io.BytesIO(bytes(data)), label, size)


def _decode(source: Union[Path, BinaryIO], label: str, size: Size) -> np.ndarray:
    """Open a file or an in-memory upload, convert to RGB, crop and resize."""
    image = _open_checked(source, label)
    rgb = _to_rgb(image, label)
    if size is not None:
        rgb = _crop_and_resize(rgb, _as_hw(size))
    return np.asarray(rgb, dtype=np.float32)


def _resolve(path_or_sample: Union[str, Path]) -> Path:
    """A sample name or a path -> an existing file path."""
    if isinstance(path_or_sample, str) and path_or_sample in samples():
        return sample_path(path_or_sample)
    path = Path(path_or_sample).expanduser()
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file; "
                             "pass the path of a .jpg or .png inside it")
    if not path.exists():
        hint = ""
        if isinstance(path_or_sample, str) and "/" not in path_or_sample \
                and "." not in path_or_sample:
            hint = f" It is not a sample name either; samples: " \
                   f"{', '.join(sample_names())}."
        raise ImageLoadError(f"image file not found: {path}. Check the path.{hint}")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{path} is empty (0 bytes); re-download or "
                             "re-export the image")
    return path


def _open_checked(source: Union[Path, BinaryIO], path: str) -> Image.Image:
    """Open, check the pixel count before decoding, then decode fully.

    `path` names the source in messages: a file path, or an upload.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns about big images; our own limit below decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
            width, height = image.size
            if width == 0 or height == 0:
                raise ImageLoadError(f"{path} has zero size ({width}x{height})")
            if width * height > MAX_PIXELS:
                raise ImageLoadError(
                    f"{path} is {width}x{height} = {width * height:,} pixels, "
                    f"above advbook's limit of {MAX_PIXELS:,} "
                    "(a guard against decompression bombs); downscale it "
                    "first, e.g. with an image editor or PIL.Image.thumbnail"
                )
            image.load()  # decode now so truncation shows up here
            return ImageOps.exif_transpose(image)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(
            f"{path} is not an image Pillow can read; "
            "is it really a JPEG or PNG file?") from None
    except Image.DecompressionBombError as err:
        raise ImageLoadError(f"{path} is far too large to decode safely "
                             f"({err}); downscale it first") from None
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageLoadError(f"{path} is corrupt or truncated ({err}); "
                             "re-download or re-export it") from None


def _to_rgb(image: Image.Image, path: str) -> np.ndarray:
    """Any supported mode -> uint8 (H, W, 3) RGB."""
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit grayscale: scale 0-65535 to 0-255.
        values = np.asarray(image, dtype=np.float64) / 257.0
        gray = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return np.repeat(gray[..., None], 3, axis=-1)
    if mode == "F":
        raise ImageLoadError(f"{path} holds floating-point pixels (mode F), "
                             "which have no fixed range; save it as an "
                             "8- or 16-bit PNG")
    if mode == "P":
        mode = "RGBA" if "transparency" in image.info else "RGB"
        image = image.convert(mode)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _as_hw(size: Size) -> tuple[int, int]:
    """Normalise `size` (int or (height, width)) and validate it."""
    if isinstance(size, (int, np.integer)):
        size = (int(size), int(size))
    try:
        height, width = (int(s) for s in size)  # type: ignore[union-attr]
    except (TypeError, ValueError):
        raise InvalidArgument(f"size must be an int or (height, width); "
                              f"got {size!r}") from None
    if height < 1 or width < 1 or height * width > MAX_PIXELS:
        raise InvalidArgument(f"size {size!r} is out of range; use e.g. "
                              "(224, 224)")
    return height, width


def _crop_and_resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Centre-crop to the target aspect ratio, then resize (bicubic)."""
    out_h, out_w = size
    in_h, in_w = rgb.shape[:2]
    if in_w * out_h > in_h * out_w:  # too wide: trim the sides
        crop_w, crop_h = round(in_h * out_w / out_h), in_h
    else:  # too tall: trim top and bottom
        crop_w, crop_h = in_w, round(in_w * out_h / out_w)
    left, top = (in_w - crop_w) // 2, (in_h - crop_h) // 2
    image = Image.fromarray(rgb).crop((left, top, left + crop_w, top + crop_h))
    if image.size != (out_w, out_h):
        image = image.resize((out_w, out_h), Image.Resampling.BICUBIC)
    return np.asarray(image)


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    """Validate a batch (N, H, W, 3) of 0-255 RGB; return it as float32."""
    x = images
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except Exception:  # noqa: BLE001 - any conversion failure is bad input
            raise InvalidArgument(f"{name} must be a numpy array") from None
    if x.ndim == 3 and x.shape[-1] != 3:
        raise InvalidArgument(
            f"{name} has shape {x.shape}, which looks like a grayscale batch "
            "(N, H, W); advbook models take RGB, so repeat the channel: "
            "np.repeat(images[..., None], 3, axis=-1)")
    if x.ndim == 3:
        raise InvalidArgument(
            f"{name} has shape {x.shape}, a single image; add a batch axis "
            "with images[None] (advbook works on batches (N, H, W, 3))")
    if x.ndim != 4 or x.shape[-1] != 3:
        raise InvalidArgument(f"{name} must have shape (N, H, W, 3) with RGB "
                              f"channels last; got {x.shape}")
    if x.shape[0] == 0:
        raise InvalidArgument(f"{name} is an empty batch (N = 0)")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.floating)
                               or np.issubdtype(x.dtype, np.integer)):
        raise InvalidArgument(f"{name} must hold real-valued pixels in "
                              f"0-255; got dtype {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if not np.all(np.isfinite(x)):
        raise InvalidArgument(f"{name} contains NaN or infinite values")
    low, high = float(x.min()), float(x.max())
    if low < 0 or high > 255:
        raise InvalidArgument(
            f"{name} has values in [{low:.3g}, {high:.3g}], outside 0-255; "
            "advbook models take raw RGB pixels (use np.clip(x, 0, 255))")
    if high <= 1.0 and high > low:
        raise InvalidArgument(
            f"{name} looks scaled to 0-1 (max {high:.3g}); advbook models "
            "take 0-255 pixels, so multiply by 255")
    return x


def noise_images(pairs, size: int, rng: np.random.Generator) -> np.ndarray:
    """One size x size x 3 Gaussian image per (μ, σ) pair, clipped to 0-255."""
    return np.stack([np.clip(rng.normal(mu, sigma, (size, size, 3)), 0, 255)
                     for mu, sigma in pairs]).astype(np.float32)
