"""Where things live, smoke mode and seeding: the book's run-time settings."""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np

from .errors import DataFileMissing

REPO_ROOT = Path(__file__).resolve().parent.parent


def _data_dir() -> Path:
    """data/: inside the package once installed from a wheel (as advbook.data,
    see pyproject.toml), else the checkout's top-level folder."""
    installed = Path(__file__).resolve().parent / "data"
    return installed if installed.is_dir() else REPO_ROOT / "data"


DATA_DIR = _data_dir()
CHAPTERS_DIR = REPO_ROOT / "chapters"
SEED = 0


def data_file(name: str) -> Path:
    """The package data file `name`; a clear error if the install lacks it."""
    path = DATA_DIR / name
    if not path.is_file():
        raise DataFileMissing(
            f"advbook's data file {path} is missing: this install of advbook "
            "lacks its package data. Reinstall it, from a checkout with "
            "`pip install --force-reinstall --no-deps .` (in a checkout, "
            "`git checkout -- data` first restores deleted files).")
    return path


def smoke() -> bool:
    """True when ADVBOOK_SMOKE=1 asks notebooks to shrink their sweeps."""
    return os.environ.get("ADVBOOK_SMOKE", "0").strip() not in ("", "0", "false")


def offline() -> bool:
    """True when ADVBOOK_OFFLINE=1 forbids every download attempt."""
    return os.environ.get("ADVBOOK_OFFLINE", "0").strip() not in ("", "0", "false")


def cache_dir() -> Path:
    """The user cache folder for converted weights (ADVBOOK_CACHE_DIR)."""
    explicit = os.environ.get("ADVBOOK_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(xdg).expanduser() / "advbook"


def build_dir() -> Path:
    """Where executed notebooks, figures and CSVs go (ADVBOOK_BUILD_DIR)."""
    explicit = os.environ.get("ADVBOOK_BUILD_DIR")
    return Path(explicit).expanduser() if explicit else REPO_ROOT / "build"


def seed_everything(seed: int = SEED) -> np.random.Generator:
    """Seed python, numpy and TensorFlow; return a numpy Generator."""
    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras

        keras.utils.set_random_seed(seed)
    except ImportError:  # numpy-only use of advbook stays possible
        pass
    return np.random.default_rng(seed)


def chapters() -> list[Path]:
    """Every chapter notebook, in reading order."""
    return sorted(CHAPTERS_DIR.glob("[0-9][0-9]_*.ipynb"))


def contents() -> list[tuple[str, str]]:
    """(file name, title) of every chapter, the title from its first cell."""
    import nbformat

    table = []
    for path in chapters():
        first = nbformat.read(path, as_version=4).cells[0].source
        title = first.splitlines()[0].lstrip("# ").strip() if first else ""
        table.append((path.name, title))
    return table
