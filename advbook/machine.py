"""What this machine can run and where weights go: `advbook doctor`."""

from __future__ import annotations

import os
import platform
import sys
from contextlib import contextmanager
from importlib import metadata
from typing import Iterator

from . import __version__, config

_PACKAGES = ("numpy", "tensorflow", "keras", "foolbox", "pandas",
             "matplotlib", "scikit-image", "scikit-learn", "nbval")


@contextmanager
def _stderr_muted() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null, C++ writes included."""
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def start_tensorflow_quietly() -> None:
    """Import TensorFlow and find devices without its C++ start-up chatter.

    TensorFlow's CUDA build logs through absl before any setting applies
    (even TF_CPP_MIN_LOG_LEVEL=3 leaves "Could not find cuda drivers" and
    "failed call to cuInit" on a CPU machine). In a notebook those lines
    would open every chapter; `advbook doctor` still reports the GPU.
    """
    with _stderr_muted():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")


def versions() -> dict[str, str]:
    """Installed versions of python and the packages the book uses."""
    found = {"advbook": __version__, "python": platform.python_version()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def gpus() -> list[str]:
    """Names of the GPUs TensorFlow can see (empty on a CPU machine)."""
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def keras_models_dir() -> str:
    """keras' own download cache for application weights."""
    from keras.src.backend.config import keras_home

    return os.path.join(keras_home(), "models")


def report() -> str:
    """The doctor's report as text."""
    lines = ["advbook doctor", "", "Versions"]
    lines += [f"  {k:<13} {v}" for k, v in versions().items()]
    found = gpus()
    lines += ["", "Device",
              f"  GPU: {', '.join(found)}" if found else
              "  GPU: none found; everything runs on the CPU"]
    lines += ["", "Where weights live",
              f"  keras cache        {keras_models_dir()}",
              "  ADVBOOK_WEIGHTS_DIR "
              f"{os.environ.get('ADVBOOK_WEIGHTS_DIR', '(not set)')}",
              f"  converted weights  {config.cache_dir()}"]
    lines += _classifier_lines()
    lines += ["", "Mode",
              f"  smoke (ADVBOOK_SMOKE)     {'on' if config.smoke() else 'off'}",
              f"  offline (ADVBOOK_OFFLINE) {'on' if config.offline() else 'off'}",
              f"  executable {sys.executable}"]
    return "\n".join(lines)


def _classifier_lines() -> list[str]:
    """One line per registered classifier saying whether it can run now."""
    try:
        from .models import availability
    except ImportError:  # the registry is optional for the doctor itself
        return []
    from .models import roles

    lines = ["", "Classifiers"]
    for name, status in availability().items():
        lines.append(f"  {name:<19} {status}")
    lines += ["", "Roles in the chapters (set ADVBOOK_DEFAULT_CLASSIFIER or "
              "ADVBOOK_SECOND_CLASSIFIER to choose)"]
    for title, said in roles().items():
        lines.append(f"  {title:<19} {said}")
    return lines
