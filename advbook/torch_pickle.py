"""Reads legacy PyTorch state-dict pickles into numpy, without torch."""

from __future__ import annotations

import collections
import io
import os
import pickle
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import UnsafePickle, WeightsUnavailable

# The legacy (pre-zip) container is a run of pickles, then raw bytes:
#   1. the magic number        4. the object, storages as persistent ids
#   2. the protocol version    5. the sorted list of storage keys
#   3. a dict of system info   6. per key: int64 element count + data
_MAGIC = 0x1950A86A20F9469CFC6C
_PROTOCOL = 1001
_ZIP_SIGNATURE = b"PK\x03\x04"

# Storage class name -> little-endian element dtype. Only what the
# EfficientNet-Lite files use: float weights, int64 batch counters.
_STORAGE_DTYPES = {
    "FloatStorage": "<f4",
    "LongStorage": "<i8",
}

_DEFAULT_FIX = "re-download the file or reinstall the package that ships it"


@dataclass(frozen=True)
class _StorageType:
    """Stands in for a torch.*Storage class named by the pickle."""

    name: str
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    """One storage a tensor points into, before its bytes are read."""

    key: str
    stype: _StorageType
    numel: int
    view: tuple[int, int] | None  # (offset, numel) into the root


@dataclass(frozen=True)
class _TensorRef:
    """A tensor's geometry, to be cut out of its storage later."""

    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


class _LoadFailure(Exception):
    """Internal: the file is not a well-formed legacy state dict."""


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    """Validate a tuple of non-negative ints from the pickle."""
    ok = isinstance(value, tuple) and all(
        type(v) is int and v >= 0 for v in value
    )
    if not ok:
        raise _LoadFailure(f"bad tensor {what}: {value!r}")
    return value


def _rebuild_tensor(storage: Any, offset: Any, size: Any, stride: Any,
                    requires_grad: Any = False, hooks: Any = None,
                    *extra: Any) -> _TensorRef:
    """Replacement for torch._utils._rebuild_tensor_v2."""
    if not isinstance(storage, _StorageRef):
        raise _LoadFailure("tensor built on something that is no storage")
    if type(offset) is not int or offset < 0:
        raise _LoadFailure(f"bad storage offset {offset!r}")
    shape = _int_tuple(size, "size")
    steps = _int_tuple(stride, "stride")
    if len(shape) != len(steps):
        raise _LoadFailure(f"size {shape} and stride {steps} disagree")
    # Hooks are an empty OrderedDict in every honest state dict.
    if hooks is not None and len(hooks) != 0:
        raise _LoadFailure("tensor carries backward hooks")
    return _TensorRef(storage, offset, shape, steps)


class _Unpickler(pickle.Unpickler):
    """An unpickler that knows only the globals a state dict needs."""

    def __init__(self, stream: io.BytesIO, path: str,
                 allow_globals: bool, fix: str) -> None:
        super().__init__(stream)
        self._path = path
        self._fix = fix
        self._allow_globals = allow_globals
        self.storages: dict[str, _StorageRef] = {}

    def find_class(self, module: str, name: str) -> Any:
        """Resolve only the few names a state dict may mention."""
        allowed = self._allowed()
        target = allowed.get((module, name))
        if target is None:
            raise UnsafePickle(
                f"refused to load {self._path}: its pickle asks for "
                f"the global '{module}.{name}', which a PyTorch state "
                "dict never needs. The file may be malicious or may "
                "not be a state dict; do not open it with torch.load "
                f"either. To fix: {self._fix}."
            )
        return target

    def _allowed(self) -> dict[tuple[str, str], Any]:
        """The globals this stage of the file may use."""
        if not self._allow_globals:
            return {}
        table: dict[tuple[str, str], Any] = {
            ("collections", "OrderedDict"): collections.OrderedDict,
            ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        }
        for name, dtype in _STORAGE_DTYPES.items():
            table[("torch", name)] = _StorageType(name, np.dtype(dtype))
        return table

    def persistent_load(self, pid: Any) -> _StorageRef:
        """Turn a storage record into a reference, checking each field."""
        if not self._allow_globals:
            raise _LoadFailure("persistent id in a header pickle")
        if not (isinstance(pid, tuple) and len(pid) == 6
                and pid[0] == "storage"):
            raise UnsafePickle(
                f"refused to load {self._path}: it holds the persistent "
                f"id {pid!r:.80}, which is not a PyTorch storage record. "
                "Delete it and reinstall the package that ships it."
            )
        _, stype, key, location, numel, view = pid
        if not isinstance(stype, _StorageType):
            raise _LoadFailure(f"storage of unknown type {stype!r:.60}")
        if not (isinstance(key, str) and isinstance(location, str)):
            raise _LoadFailure("storage key or location is not a string")
        if type(numel) is not int or numel < 0:
            raise _LoadFailure(f"bad storage size {numel!r}")
        ref = self._register(key, stype, numel)
        if view is None:
            return ref
        return self._view_of(ref, view)

    def _register(self, key: str, stype: _StorageType,
                  numel: int) -> _StorageRef:
        """Record a root storage, or check it against its first sighting."""
        ref = _StorageRef(key, stype, numel, None)
        seen = self.storages.setdefault(key, ref)
        if seen != ref:
            raise _LoadFailure(f"storage {key} declared twice differently")
        return seen

    def _view_of(self, root: _StorageRef, view: Any) -> _StorageRef:
        """A slice of a root storage (very old files only)."""
        ok = (isinstance(view, tuple) and len(view) == 3
              and isinstance(view[0], str)
              and all(type(v) is int and v >= 0 for v in view[1:]))
        if not ok:
            raise _LoadFailure(f"bad storage view {view!r:.80}")
        _, start, numel = view
        if start + numel > root.numel:
            raise _LoadFailure(f"storage view {view} overruns its root")
        return _StorageRef(root.key, root.stype, root.numel, (start, numel))


@dataclass(frozen=True)
class _Source:
    """The file being read, and the advice to give if it is bad."""

    path: str
    fix: str


def _load_one(stream: io.BytesIO, src: _Source,
              allow_globals: bool = False) -> tuple[Any, _Unpickler]:
    """Unpickle the next pickle in the stream."""
    unpickler = _Unpickler(stream, src.path, allow_globals, src.fix)
    return unpickler.load(), unpickler


def _read_header(stream: io.BytesIO, src: _Source) -> None:
    """Check the magic number, protocol version and byte order."""
    magic, _ = _load_one(stream, src)
    if magic != _MAGIC:
        raise _LoadFailure("no legacy PyTorch magic number")
    version, _ = _load_one(stream, src)
    if version != _PROTOCOL:
        raise _LoadFailure(f"unknown legacy protocol {version!r}")
    info, _ = _load_one(stream, src)
    if not isinstance(info, dict):
        raise _LoadFailure("system-info record is not a dict")
    if info.get("little_endian") is not True:
        raise _LoadFailure("saved on a big-endian machine")


def _read_storages(stream: io.BytesIO,
                   wanted: dict[str, _StorageRef],
                   keys: Any) -> dict[str, np.ndarray]:
    """Read the raw storage blocks that follow the pickles."""
    if not (isinstance(keys, list) and all(isinstance(k, str) for k in keys)):
        raise _LoadFailure("storage key list is malformed")
    missing = set(wanted) - set(keys)
    if missing:
        raise _LoadFailure(f"storages never written: {sorted(missing)[:3]}")
    data: dict[str, np.ndarray] = {}
    for key in keys:
        ref = wanted.get(key)
        if ref is None:
            raise _LoadFailure(f"storage {key} written but never used")
        head = stream.read(8)
        if len(head) != 8:
            raise _LoadFailure(f"file ends before storage {key}")
        count = int(np.frombuffer(head, "<i8")[0])
        if count != ref.numel:
            raise _LoadFailure(
                f"storage {key} holds {count} elements, "
                f"the pickle says {ref.numel}"
            )
        nbytes = count * ref.stype.dtype.itemsize
        raw = stream.read(nbytes)
        if len(raw) != nbytes:
            raise _LoadFailure(f"file is truncated inside storage {key}")
        data[key] = np.frombuffer(raw, ref.stype.dtype)
    return data


def _contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    """Element strides of a C-contiguous array of this shape."""
    strides, step = [], 1
    for dim in reversed(shape):
        strides.append(step)
        step *= max(dim, 1)
    return tuple(reversed(strides))


def _materialise(ref: _TensorRef, data: dict[str, np.ndarray]) -> np.ndarray:
    """Cut one tensor out of its storage, honouring offset and strides."""
    flat = data[ref.storage.key]
    if ref.storage.view is not None:
        start, numel = ref.storage.view
        flat = flat[start:start + numel]
    numel = int(np.prod(ref.shape, dtype=np.int64))
    if numel == 0:
        return np.zeros(ref.shape, flat.dtype.newbyteorder("="))
    last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride))
    if last >= flat.size:
        raise _LoadFailure(
            f"tensor of shape {ref.shape} runs past its storage"
        )
    dims = [(n, s) for n, s in zip(ref.shape, ref.stride) if n != 1]
    same = [(n, s) for n, s in zip(ref.shape, _contiguous_strides(ref.shape))
            if n != 1]
    if dims == same:
        # Size-1 dims may carry any stride; the rest decide contiguity.
        out = flat[ref.offset:ref.offset + numel].reshape(ref.shape)
    else:
        item = flat.dtype.itemsize
        out = np.lib.stride_tricks.as_strided(
            flat[ref.offset:],
            shape=ref.shape,
            strides=tuple(s * item for s in ref.stride),
            writeable=False,
        )
    # Own, native-order, writeable copies: storages may be shared.
    return np.array(out, dtype=flat.dtype.newbyteorder("="), order="C")


def _parse(blob: bytes, src: _Source) -> dict[str, np.ndarray]:
    """Parse a whole legacy file held in memory."""
    if blob.startswith(_ZIP_SIGNATURE):
        raise _LoadFailure(
            "it is a zip-format checkpoint, not the legacy format"
        )
    stream = io.BytesIO(blob)
    _read_header(stream, src)
    obj, unpickler = _load_one(stream, src, allow_globals=True)
    if not isinstance(obj, dict):
        raise _LoadFailure(f"top-level object is a {type(obj).__name__}")
    keys, _ = _load_one(stream, src)
    data = _read_storages(stream, unpickler.storages, keys)
    out: dict[str, np.ndarray] = collections.OrderedDict()
    for name, value in obj.items():
        if not (isinstance(name, str) and isinstance(value, _TensorRef)):
            raise _LoadFailure(f"entry {name!r:.60} is not a tensor")
        out[name] = _materialise(value, data)
    return out


def load_state_dict(path: str | os.PathLike,
                    fix: str = _DEFAULT_FIX) -> dict[str, np.ndarray]:
    """Read a legacy torch.save state dict as an ordered name->array dict.

    `fix` is the advice printed when the file is damaged, such as the
    pip command that reinstalls the package shipping it.
    """
    shown = os.fspath(path)
    try:
        with open(path, "rb") as handle:
            blob = handle.read()
    except OSError as exc:
        raise WeightsUnavailable(
            f"cannot read weights file {shown}: {exc.strerror}. "
            f"To fix: {fix}."
        ) from exc
    try:
        return _parse(blob, _Source(shown, fix))
    except UnsafePickle:
        raise
    except (_LoadFailure, pickle.UnpicklingError, EOFError, ValueError,
            TypeError, KeyError, IndexError, AttributeError,
            OverflowError, MemoryError, RecursionError) as exc:
        reason = str(exc) or type(exc).__name__
        raise WeightsUnavailable(
            f"weights file {shown} is damaged or is not a legacy PyTorch "
            f"state dict ({reason}). To fix: {fix}."
        ) from exc

