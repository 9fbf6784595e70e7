"""Shared test settings: small sizes, no network, a private cache."""

import os

# Direct `pytest` runs behave like `make test`.
os.environ.setdefault("ADVBOOK_SMOKE", "1")
os.environ.setdefault("ADVBOOK_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The chapters' kernels inherit this: a progress bar is noise in a test log.
os.environ.setdefault("TQDM_DISABLE", "1")


import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def lite0():
    """EfficientNet-Lite0, loaded once per module (its weights ship offline)."""
    from advbook import models

    return models.load("efficientnet_lite0")


@pytest.fixture(scope="module")
def photos(lite0):
    """Two sample photos at Lite0's input size."""
    return np.stack([lite0.load_image(n) for n in ("coffee", "chelsea")])


@pytest.fixture
def keras_home(tmp_path, monkeypatch):
    """An empty keras cache, so no weights a developer has can leak in."""
    from keras.src.backend import config as keras_config

    from advbook import weights

    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras"))
    monkeypatch.delenv("ADVBOOK_WEIGHTS_DIR", raising=False)
    weights._verified.clear()
    return tmp_path / "keras" / "models"


@pytest.fixture
def accept_md5(monkeypatch):
    """accept_md5(name, md5): the registry takes files with that hash as `name`'s."""
    import dataclasses

    from advbook import models

    def swap(name: str, md5: str) -> None:
        entry = models.REGISTRY[name]
        fake = dataclasses.replace(entry.weights, md5=md5)
        monkeypatch.setitem(models.REGISTRY, name,
                            dataclasses.replace(entry, weights=fake))
    return swap
