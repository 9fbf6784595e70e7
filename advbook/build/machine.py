"""What this machine can run and where weights go: `advbook doctor`."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from .. import config
from .._version import __version__

_PACKAGES = ("numpy", "tensorflow", "keras", "foolbox", "pandas",
             "matplotlib", "scikit-image", "scikit-learn", "nbval")


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


def report() -> str:
    """The doctor's report as text."""
    from ..weights import keras_cache_dir

    lines = ["advbook doctor", "", "Versions"]
    lines += [f"  {k:<13} {v}" for k, v in versions().items()]
    found = gpus()
    lines += ["", "Device",
              f"  GPU: {', '.join(found)}" if found else
              "  GPU: none found; everything runs on the CPU"]
    lines += ["", "Where weights live",
              f"  keras cache        {keras_cache_dir()}",
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
        from ..models import availability
    except ImportError:  # the registry is optional for the doctor itself
        return []
    from ..models import roles

    lines = ["", "Classifiers"]
    for name, status in availability().items():
        lines.append(f"  {name:<19} {status}")
    lines += ["", "Roles in the chapters (set ADVBOOK_DEFAULT_CLASSIFIER or "
              "ADVBOOK_SECOND_CLASSIFIER to choose)"]
    for title, said in roles().items():
        lines.append(f"  {title:<19} {said}")
    return lines
