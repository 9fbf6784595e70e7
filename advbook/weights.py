"""keras' ImageNet weight files: find, download, import, report."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import tempfile
from functools import lru_cache
from dataclasses import dataclass
from pathlib import Path

from .config import offline
from .errors import InvalidArgument, WeightsUnavailable

_BASE = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class WeightFile:
    """One keras application weight file, as keras itself names and hashes it."""

    model: str
    file_name: str
    url: str
    md5: str  # the hash keras checks after a download
    approx_mb: int


KERAS_FILES = {
    "resnet50": WeightFile(
        "resnet50", "resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        _BASE + "resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5",
        "2cb95161c43110f7111970584f804107", 98),
    "inception_v3": WeightFile(
        "inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        _BASE + "inception_v3/inception_v3_weights_tf_dim_ordering_tf_kernels.h5",
        "9a0d58056eeedaa3f26cb7ebd46da564", 92),
}


def keras_cache_dir() -> Path:
    """keras' download folder: $KERAS_HOME/models or ~/.keras/models."""
    from keras.src.backend.config import keras_home

    return Path(keras_home()) / "models"


def _candidates(spec: WeightFile) -> list[Path]:
    """Where the file may already be, in the order we look."""
    places = [keras_cache_dir() / spec.file_name]
    extra = os.environ.get("ADVBOOK_WEIGHTS_DIR")
    if extra:
        places.append(Path(extra).expanduser() / spec.file_name)
    return places


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


def locate(model: str) -> Path | None:
    """A verified local copy of `model`'s weights, or None.

    An unreadable folder or file counts as absent, so the caller can fall
    back to another model; status() names it.
    """
    spec = _spec(model)
    for place in _candidates(spec):
        try:
            if _is_valid(place, spec):
                return place
        except OSError:
            continue
    return None


def fetch(model: str) -> Path:
    """A local copy of the weights, downloading once if allowed."""
    spec = _spec(model)
    found = locate(model)
    if found:
        return found
    blocked = [why for p in _candidates(spec) if (why := _unreadable(p, spec))]
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
                spec.file_name, spec.url, cache_subdir="models",
                file_hash=spec.md5))
        except Exception as err:  # noqa: BLE001 - any fetch failure: same advice
            reason = f"the download failed ({str(err)[-200:]})"
    raise WeightsUnavailable(_missing_message(spec, reason))


def _missing_message(spec: WeightFile, reason: str) -> str:
    """What is missing, where it was looked for, and how to fix it."""
    looked = ", ".join(str(p.parent) for p in _candidates(spec))
    return (
        f"{spec.model}: ImageNet weights not found and {reason}. "
        f"Needed: {spec.file_name} (about {spec.approx_mb} MB, md5 "
        f"{spec.md5}), looked in: {looked}. On a machine with internet, "
        f"download {spec.url} and then run here: "
        f"advbook weights import PATH/{spec.file_name}"
    )


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
    spec = next((s for s in KERAS_FILES.values() if s.md5 == digest), None)
    if spec is None:
        expected = "; ".join(f"{s.file_name}: md5 {s.md5}"
                             for s in KERAS_FILES.values())
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


def status(model: str) -> str:
    """Whether `model`'s weights are here, will download, or are unavailable."""
    spec = _spec(model)
    found = locate(model)
    if found:
        return f"weights present ({found})"
    blocked = [why for p in _candidates(spec) if (why := _unreadable(p, spec))]
    if blocked:
        return (f"unreadable: {'; '.join(blocked)}; fix the permissions "
                "(chmod a+r) or point ADVBOOK_WEIGHTS_DIR elsewhere")
    if offline() or not can_reach_download_host():
        return ("unavailable offline: run `advbook weights import "
                f"PATH/{spec.file_name}`")
    return f"will download on first use ({spec.approx_mb} MB)"


@lru_cache(maxsize=1)
def can_reach_download_host(timeout_s: float = 3.0) -> bool:
    """Whether keras' weight server answers a TCP connection, once per run."""
    try:
        socket.create_connection(("storage.googleapis.com", 443), timeout_s).close()
        return True
    except OSError:
        return False


def _spec(model: str) -> WeightFile:
    try:
        return KERAS_FILES[model]
    except KeyError:
        raise InvalidArgument(f"{model!r} has no keras weight file; known: "
                              f"{', '.join(KERAS_FILES)}") from None
