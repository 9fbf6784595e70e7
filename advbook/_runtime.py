"""Start-up plumbing for notebooks: TensorFlow without its C++ chatter."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from typing import Iterator


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
