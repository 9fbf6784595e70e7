"""The AdvbookError family: every error a reader can cause, with a fix."""

from __future__ import annotations


class AdvbookError(Exception):
    """Base of every error advbook raises on purpose."""


class ImageLoadError(AdvbookError):
    """An image file or sample could not be read into an RGB array."""


class UnknownModel(AdvbookError, KeyError):
    """A classifier name that is not in the registry."""

    def __str__(self) -> str:
        # KeyError would repr() the message; show it as written.
        return str(self.args[0]) if self.args else ""


class WeightsUnavailable(AdvbookError):
    """Weights that cannot be found locally and cannot be downloaded."""


class UnsafePickle(AdvbookError):
    """A weights pickle asked for something a state dict never needs."""


class InvalidArgument(AdvbookError, ValueError):
    """An argument with the wrong shape, dtype, range or value."""


class ExerciseError(AdvbookError):
    """An exercise id that does not exist, or an answer of the wrong kind."""


class DataFileMissing(AdvbookError, FileNotFoundError):
    """A data file that should ship inside the package is not installed."""
