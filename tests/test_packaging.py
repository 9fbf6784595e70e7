"""A non-editable install carries the data files advbook reads at run time."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import advbook as ab
from advbook import config, images

ROOT = Path(__file__).resolve().parent.parent
DATA_FILES = sorted(p.name for p in (ROOT / "data").iterdir()
                    if p.suffix == ".csv")


def test_the_package_holds_its_data_files():
    # Guards the test below: an empty list would make it pass vacuously.
    assert {"samples.csv", "foolbox_migration.csv"} <= set(DATA_FILES)


def test_the_wheel_ships_the_data_files(tmp_path):
    # Build from a copy of the sources, so setuptools leaves no build/lib or
    # egg-info in the checkout. No build isolation: setuptools is already in
    # the venv (the lock pins it), and the test stays offline and quick.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for folder in ("advbook", "data"):
        shutil.copytree(ROOT / folder, src / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(src), "--no-deps",
         "--no-build-isolation", "--quiet", "-w", str(tmp_path / "dist")],
        check=True, timeout=120)
    (wheel,) = (tmp_path / "dist").glob("advbook-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = [f for f in DATA_FILES if f"advbook/data/{f}" not in names]
    assert not missing, f"{wheel.name} lacks advbook/data/{missing}: map data/ " \
                        "to advbook.data in pyproject.toml's [tool.setuptools]"


def test_the_checkout_reads_data_from_the_top_level_folder():
    assert config.DATA_DIR.resolve() == (ROOT / "data").resolve()


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    """advbook as an install that lost its package data would see it."""
    monkeypatch.setattr(config, "DATA_DIR", tmp_path / "data")
    images.samples.cache_clear()
    yield
    images.samples.cache_clear()


def test_missing_manifest_names_the_file_and_the_fix(no_data):
    with pytest.raises(ab.DataFileMissing) as caught:
        ab.sample_names()
    message = str(caught.value)
    assert "samples.csv" in message and "pip install --force-reinstall" in message
    assert isinstance(caught.value, ab.AdvbookError)
