"""Progress bars: widgets in JupyterLab, none in built pages."""

from __future__ import annotations

import os
from typing import Any, Iterable

from tqdm.auto import tqdm as _auto_tqdm

_OFF = {"1", "true", "yes"}


def bars_disabled() -> bool:
    """True when TQDM_DISABLE asks for no bars (book builds and tests set it)."""
    return os.environ.get("TQDM_DISABLE", "").strip().lower() in _OFF


def tqdm(iterable: Iterable | None = None, **options: Any) -> _auto_tqdm:
    """tqdm.auto's bar, off when TQDM_DISABLE is set.

    Plain tqdm reads TQDM_DISABLE itself, but the notebook bar that
    tqdm.auto picks inside Jupyter overrides it, and a bar in a printed page
    or a slide is noise; hence this thin wrapper.
    """
    options.setdefault("disable", bars_disabled())
    return _auto_tqdm(iterable, **options)
