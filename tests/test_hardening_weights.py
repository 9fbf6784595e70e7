"""Issue 18, items 8-11: unreadable weights, imports, orphans, stale caches."""

import os
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from advbook import efficientnet_lite as el, models, weights
from advbook.build import cli
from advbook.errors import WeightsUnavailable

RESNET = models.REGISTRY["resnet50"].weights


def _deny(monkeypatch, *places: Path):
    """Make reads under `places` fail as for another user (tests run as root)."""
    real_is_file, real_md5 = Path.is_file, weights.md5_of

    def denied(path):
        return any(Path(path).is_relative_to(p) for p in places)

    def is_file(self):
        if denied(self):
            raise PermissionError(13, "Permission denied", str(self))
        return real_is_file(self)

    def md5_of(path):
        if denied(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_md5(path)

    monkeypatch.setattr(Path, "is_file", is_file)
    monkeypatch.setattr(weights, "md5_of", md5_of)


# --- 8: unreadable weights -----------------------------------------------------

def test_unreadable_weights_dir_is_reported_not_raised(keras_home, tmp_path,
                                                       monkeypatch):
    locked = tmp_path / "locked"
    monkeypatch.setenv("ADVBOOK_WEIGHTS_DIR", str(locked))
    _deny(monkeypatch, locked)
    assert RESNET.locate() is None
    assert RESNET.status().startswith("unreadable")
    with pytest.raises(WeightsUnavailable, match="cannot be read"):
        RESNET.fetch()


def test_unreadable_weights_file_keeps_the_fallback(keras_home, tmp_path,
                                                    monkeypatch, capsys):
    keras_home.mkdir(parents=True)
    (keras_home / RESNET.file_name).write_bytes(b"not readable for you")
    _deny(monkeypatch, keras_home / RESNET.file_name)
    chosen = models.default_classifier()
    assert chosen.name == "efficientnet_lite0"
    status = models.availability()
    assert any(v.startswith("unreadable") for v in status.values())


def test_weights_status_command_survives(keras_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ADVBOOK_WEIGHTS_DIR", str(tmp_path / "locked"))
    _deny(monkeypatch, tmp_path / "locked")
    assert cli.main(["weights", "status"]) == 0
    assert "unreadable" in capsys.readouterr().out


def test_unreadable_lite_pickle_is_weights_unavailable(monkeypatch, tmp_path):
    source = el.weights_source("lite0")
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == source:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.setattr("builtins.open", lambda p, *a, **k: refuse(Path(p), *a, **k))
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(tmp_path))
    el._digest.cache_clear()
    with pytest.raises(WeightsUnavailable, match="cannot read"):
        el.build("lite0")
    assert models.spec("efficientnet_lite0").status().startswith("unreadable")


# --- 9: weights import -----------------------------------------------------------

def _fake_weight_file(tmp_path, accept_md5) -> Path:
    """A small file that advbook takes for resnet50's weights."""
    source = tmp_path / "download" / RESNET.file_name
    source.parent.mkdir()
    source.write_bytes(b"pretend weights")
    accept_md5("resnet50", weights.md5_of(source))
    return source


def test_import_of_an_unreadable_source_is_one_clear_line(keras_home, tmp_path,
                                                         monkeypatch, capsys,
                                                         accept_md5):
    source = _fake_weight_file(tmp_path, accept_md5)
    _deny(monkeypatch, source)
    assert cli.main(["weights", "import", str(source)]) == 2
    err = capsys.readouterr().err
    assert "cannot read" in err and "Traceback" not in err


def test_import_into_a_read_only_cache_is_one_clear_line(keras_home, tmp_path,
                                                        monkeypatch, capsys,
                                                        accept_md5):
    source = _fake_weight_file(tmp_path, accept_md5)

    def read_only(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(keras_home))

    monkeypatch.setattr(weights.tempfile, "mkstemp", read_only)
    assert cli.main(["weights", "import", str(source)]) == 2
    assert "KERAS_HOME" in capsys.readouterr().err


def test_imported_files_are_readable_by_everyone(keras_home, tmp_path, accept_md5):
    source = _fake_weight_file(tmp_path, accept_md5)
    target = weights.import_file(source)
    assert target.stat().st_mode & 0o777 == 0o644


# --- 10 and 11: the Lite cache --------------------------------------------------

@pytest.fixture(scope="module")
def lite_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("lite-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVBOOK_CACHE_DIR", str(cache))
        el.build("lite0")
    return cache


def test_stale_temporaries_are_removed_fresh_ones_kept(lite_cache, monkeypatch):
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(lite_cache))
    old = lite_cache / ".efficientnet_lite0-x-v1.abcd.tmp.weights.h5"
    fresh = lite_cache / ".efficientnet_lite0-x-v1.efgh.tmp.weights.h5"
    for tmp in (old, fresh):
        tmp.write_bytes(b"\0" * 1024)
    stamp = time.time() - 2 * el._STALE_TMP_S
    os.utime(old, (stamp, stamp))
    el.build("lite0")
    assert not old.exists()
    assert fresh.exists()  # may belong to a build that is running now
    fresh.unlink()


def test_cache_from_another_converter_is_rebuilt(lite_cache, monkeypatch):
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(lite_cache))
    conversions = []
    real_convert = el._convert
    monkeypatch.setattr(el, "_convert",
                        lambda *a: conversions.append(a) or real_convert(*a))
    el.build("lite0")
    assert not conversions  # same code: the cache is used
    monkeypatch.setattr(el, "_converter_digest", lambda: "a-changed-converter")
    el.build("lite0")
    assert len(conversions) == 1


def test_consistent_cache_with_the_wrong_provenance_is_rebuilt(lite_cache,
                                                               monkeypatch):
    import h5py

    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(lite_cache))
    cached = el._cache_file("lite0", el.weights_source("lite0"))
    el.build("lite0")
    with h5py.File(cached, "a") as fh:  # weights and fingerprint untouched
        fh.attrs[el._PROVENANCE_ATTR] = "source=elsewhere;converter=old"
    conversions = []
    real_convert = el._convert
    monkeypatch.setattr(el, "_convert",
                        lambda *a: conversions.append(a) or real_convert(*a))
    with pytest.warns(UserWarning, match="built from"):
        el.build("lite0")
    assert len(conversions) == 1


def test_provenance_names_the_source_hash_and_the_converter():
    source = el.weights_source("lite0")
    provenance = el._provenance(source)
    assert el._converter_digest() in provenance
    st = source.stat()
    assert el._digest(source, st.st_size, st.st_mtime_ns) in provenance
