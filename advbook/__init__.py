"""advbook: helpers for the runnable companion on adversarial examples."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

# TensorFlow's C++ start-up chatter would fill every notebook's first output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from .config import seed_everything, smoke
from .errors import (AdvbookError, DataFileMissing, ImageLoadError,
                     InvalidArgument, UnknownModel, WeightsUnavailable)
from ._version import __version__
from .images import load_image, sample_names

# Heavy modules (TensorFlow, foolbox) load on first use, so that
# `import advbook` stays quick for `advbook doctor` and the unit tests.
# The build machinery (advbook.build) is not among them: readers never need it.
_LAZY_MODULES = (
    "adversarial_regularization", "attacks", "checks", "config", "datasets",
    "efficientnet_lite", "exercises", "explorer", "imagenet", "images",
    "models", "norms", "numerics", "plots", "preprocess", "progress",
    "small_models", "tf_attacks", "torch_pickle", "weights",
)


def __getattr__(name: str) -> Any:
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'advbook' has no attribute {name!r}")


if "ipykernel" in sys.modules:  # a notebook: keep the first output clean
    from ._runtime import start_tensorflow_quietly

    start_tensorflow_quietly()


def explore(*args: Any, **options: Any) -> Any:
    """The live attack explorer (see advbook.explorer.explore)."""
    # Imported here, so that `import advbook` does not load TensorFlow.
    from .explorer import explore as _explore

    return _explore(*args, **options)


def doctor() -> None:
    """Print versions, devices, weight locations and classifier status."""
    # The one doorway from the reader's API into the build machinery.
    from .build.machine import report

    print(report())


__all__ = ["AdvbookError", "DataFileMissing", "ImageLoadError",
           "InvalidArgument", "UnknownModel", "WeightsUnavailable",
           "__version__", "doctor", "explore",
           "load_image", "sample_names", "seed_everything", "smoke"]
