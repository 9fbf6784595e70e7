"""The book's figures, in one consistent style."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from . import config

STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 120,
    "savefig.bbox": "tight",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "font.size": 11,
    "axes.titlesize": 11,
}


def use_style() -> None:
    """Apply the book's matplotlib style."""
    plt.rcParams.update(STYLE)


def as_displayable(image: np.ndarray) -> np.ndarray:
    """0-255 float pixels -> uint8, so imshow shows them as a photo."""
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def image_grid(images: Sequence[np.ndarray], titles: Sequence[str] = (),
               ncols: int = 4, size: float = 2.6) -> plt.Figure:
    """Show images (0-255 RGB) in a grid, each with an optional title."""
    n = len(images)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, list(titles) + [""] * n):
        ax.imshow(as_displayable(image))
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def savefig(fig: plt.Figure, name: str) -> Path:
    """Save a figure as build/figures/NAME.png and return the path."""
    path = config.build_dir() / "figures" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return path


def curves(x: np.ndarray, ys: dict[str, np.ndarray], xlabel: str = "",
           ylabel: str = "", title: str = "", logx: bool = False,
           logy: bool = False, dashed: Sequence[str] = (),
           size: tuple[float, float] = (6.0, 4.0),
           xticks: Sequence[float] | None = None) -> plt.Figure:
    """Named curves against one x axis; names in `dashed` drawn dashed."""
    fig, ax = plt.subplots(figsize=size)
    for name, y in ys.items():
        style = "--" if name in dashed else "-"
        marker = "" if len(x) > 40 else "o"
        ax.plot(x, y, style, marker=marker, ms=4, label=name)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title,
           xscale="log" if logx else "linear", yscale="log" if logy else "linear")
    if xticks is not None:
        # A log axis labels only powers of ten; label the values we ran
        # instead, without the unlabelled minor ticks between them.
        ax.set_xticks(xticks, [f"{tick:g}" for tick in xticks])
        ax.minorticks_off()
    if len(ys) > 1:
        ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def loss_landscape(alphas: np.ndarray, betas: np.ndarray, losses: np.ndarray,
                   levels: int = 20, title: str = "") -> plt.Figure:
    """A 2-D loss slice: contour lines (left) and a 3-D surface (right)."""
    grid_a, grid_b = np.meshgrid(alphas, betas)  # losses[i, j]: betas[i], alphas[j]
    fig = plt.figure(figsize=(12, 5))
    ax = fig.add_subplot(1, 2, 1)
    # Log-spaced levels: the basin is shallow, the walls are steep.
    steps = np.geomspace(losses.min(), losses.max(), levels)
    lines = ax.contour(grid_a, grid_b, losses, levels=steps, cmap="viridis")
    ax.clabel(lines, lines.levels[::3], fmt="%.2g", fontsize=8)
    ax.plot(0, 0, "r*", ms=14, label="trained parameters")
    ax.set(xlabel="α (direction 1)", ylabel="β (direction 2)",
           title="contour lines of the loss")
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=9)
    ax3d = fig.add_subplot(1, 2, 2, projection="3d")
    ax3d.plot_surface(grid_a, grid_b, losses, cmap="viridis",
                      linewidth=0, antialiased=True)
    ax3d.set(xlabel="α", ylabel="β", zlabel="loss", title="the same slice in 3-D")
    ax3d.view_init(elev=30, azim=-60)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def logit_sweep(epsilons: np.ndarray, logits: np.ndarray,
                highlight: Sequence[int], labels: Sequence[str],
                limits: Sequence[float | None] = (None,), xlabel: str = "ε",
                size: float = 5.5, title: str = "logits") -> plt.Figure:
    """Every logit against ε in grey, the `highlight` classes in colour.

    One panel per entry of `limits`: None shows the whole sweep, a number r
    zooms in to |ε| <= r. Each panel's title is `title` and its ε range.
    """
    fig, axes = plt.subplots(1, len(limits), figsize=(size * len(limits), 4.2),
                             squeeze=False)
    for ax, limit in zip(axes[0], limits):
        keep = (np.ones(len(epsilons), bool) if limit is None
                else np.abs(epsilons) <= limit + 1e-9)
        ax.plot(epsilons[keep], logits[keep], color="0.82", lw=0.5, zorder=1)
        for index, label in zip(highlight, labels):
            ax.plot(epsilons[keep], logits[keep, index], lw=2, label=label,
                    zorder=2)
        ax.axvline(0, color="k", lw=0.8, ls=":")
        span = "all ε" if limit is None else f"|ε| ≤ {limit:g}"
        ax.set(xlabel=xlabel, ylabel="logit", title=f"{title} ({span})")
    axes[0, -1].legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def image_triplet(original: np.ndarray, adversarial: np.ndarray,
                  titles: Sequence[str] = ("original", "adversarial"),
                  amplify: float | None = None, size: float = 3.6) -> plt.Figure:
    """Original | amplified, re-centred difference | adversarial (0-255 RGB)."""
    delta = np.asarray(adversarial, np.float64) - np.asarray(original, np.float64)
    largest = float(np.abs(delta).max())
    if amplify is None:  # the largest change reaches mid-grey ± 127
        amplify = 127.0 / largest if largest > 0 else 1.0
    shown = 128.0 + amplify * delta
    fig, axes = plt.subplots(1, 3, figsize=(3 * size, size + 0.4))
    panels = [(original, titles[0]),
              (shown, f"difference × {amplify:.0f} (grey = 0)"),
              (adversarial, titles[1])]
    for ax, (image, title) in zip(axes, panels):
        ax.imshow(as_displayable(image))
        ax.set_title(title, fontsize=10)
        ax.axis("off")
    fig.tight_layout()
    return fig


def topk_bars(tables: dict, xlabel: str = "confidence",
              size: tuple[float, float] = (4.2, 2.2)) -> plt.Figure:
    """One horizontal bar chart per top-k table (columns class, confidence)."""
    fig, axes = plt.subplots(1, len(tables), squeeze=False,
                             figsize=(size[0] * len(tables), size[1]))
    for ax, (title, table) in zip(axes[0], tables.items()):
        names = list(table["class"])[::-1]
        values = np.asarray(table["confidence"], float)[::-1]
        ax.barh(names, values, color="tab:blue")
        for row, value in enumerate(values):
            ax.text(min(value + 0.02, 0.8), row, f"{value:.3f}",
                    va="center", fontsize=9)
        ax.set(xlim=(0, 1), xlabel=xlabel, title=title)
        ax.grid(axis="y", visible=False)
    fig.tight_layout()
    return fig


def projection_diagram(start: Sequence[float] = (0.3, 0.5),
                       step: Sequence[float] = (0.95, 0.3),
                       eps: float = 1.0) -> plt.Figure:
    """PGD in 2-D: a step that leaves the L∞ box / L2 ball, projected back."""
    from matplotlib.patches import Circle, Rectangle

    x0 = np.zeros(2)
    x_k = np.asarray(start, float)
    y_next = x_k + np.asarray(step, float)
    projections = {
        "L∞ box: clip each coordinate": np.clip(y_next, -eps, eps),
        "L2 ball: scale back to radius ε":
            y_next * min(1.0, eps / np.linalg.norm(y_next)),
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
    for ax, (title, x_next) in zip(axes, projections.items()):
        shape = (Rectangle((-eps, -eps), 2 * eps, 2 * eps) if "∞" in title
                 else Circle((0, 0), eps))
        shape.set(facecolor="tab:green", alpha=0.12, edgecolor="tab:green", lw=2)
        ax.add_patch(shape)
        arrow = dict(length_includes_head=True, head_width=0.06, lw=1.5)
        ax.arrow(*x0, *x_k, color="0.55", **arrow)  # the earlier steps
        ax.arrow(*x_k, *(y_next - x_k), color="tab:red", **arrow)
        ax.annotate("", x_next, y_next, arrowprops=dict(
            arrowstyle="->", ls="--", color="tab:blue", lw=1.8))
        points = [(x0, "x (original)", (-20, -18)),
                  (x_k, "$x^{(k)}$", (-30, 4)),
                  (y_next, "$y^{(k+1)}$ (gradient step)", (-40, 10)),
                  (x_next, "$x^{(k+1)}$ (projected)", (-20, -34))]
        for point, label, offset in points:
            ax.plot(*point, "ko", ms=4)
            ax.annotate(label, point, xytext=offset, textcoords="offset points",
                        fontsize=10)
        ax.text(-eps + 0.05, -eps + 0.08, "feasible set: distance ≤ ε from x",
                color="tab:green", fontsize=9)
        keys = [("0.55", "-", "earlier steps"), ("tab:red", "-", "gradient step"),
                ("tab:blue", "--", "projection")]
        ax.legend(handles=[plt.Line2D([], [], color=c, ls=ls, label=label)
                           for c, ls, label in keys], loc="upper left", fontsize=8)
        ax.set(xlim=(-1.4 * eps, 2.0 * eps), ylim=(-1.3 * eps, 1.5 * eps),
               title=title, xlabel="pixel 1 − x₁", ylabel="pixel 2 − x₂")
        ax.set_aspect("equal")
    fig.tight_layout()
    return fig


def annotated_heatmap(table, title: str = "", xlabel: str = "",
                      ylabel: str = "", fmt: str = "{:.0%}", cmap: str = "Reds",
                      vmin: float = 0.0, vmax: float = 1.0,
                      size: tuple[float, float] | None = None) -> plt.Figure:
    """A DataFrame as a colour grid with each cell's value written in it."""
    values = np.asarray(table, dtype=float)
    rows, cols = values.shape
    fig, ax = plt.subplots(figsize=size or (1.0 + 1.05 * cols, 0.9 + 0.7 * rows))
    image = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto")
    for i in range(rows):
        for j in range(cols):
            dark = (values[i, j] - vmin) / (vmax - vmin) > 0.6
            ax.text(j, i, fmt.format(values[i, j]), ha="center", va="center",
                    fontsize=10, color="white" if dark else "black")
    ax.set_xticks(range(cols), [str(c) for c in table.columns])
    ax.set_yticks(range(rows), [str(r) for r in table.index])
    ax.grid(False)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.03)
    fig.tight_layout()
    return fig


def digit_rows(rows: dict[str, np.ndarray], titles: Sequence[str] = (),
               size: float = 1.1) -> plt.Figure:
    """Small grayscale images in [0, 1], one labelled row per dict entry."""
    names = list(rows)
    ncols = max(len(images) for images in rows.values())
    fig, axes = plt.subplots(len(names), ncols, squeeze=False,
                             figsize=(size * ncols + 1.2, size * len(names) + 0.3))
    for r, name in enumerate(names):
        for c, ax in enumerate(axes[r]):
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
            if c >= len(rows[name]):
                ax.axis("off")
                continue
            ax.imshow(np.squeeze(rows[name][c]), cmap="gray_r", vmin=0, vmax=1)
            if r == 0 and c < len(titles):
                ax.set_title(titles[c], fontsize=9)
        axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center",
                              fontsize=10)
    fig.tight_layout()
    return fig


def robust_curves(epsilons: Sequence[float],
                  accuracies: dict[str, dict[str, Sequence[float]]],
                  title: str = "", xlabel: str = "ε",
                  ylabel: str = "accuracy under attack",
                  size: tuple[float, float] = (6.4, 4.2)) -> plt.Figure:
    """Accuracy against ε: one colour per model, one line style per attack."""
    fig, ax = plt.subplots(figsize=size)
    styles = ["--", "-", ":", "-."]
    attacks = list(dict.fromkeys(a for per in accuracies.values() for a in per))
    for i, (model, per_attack) in enumerate(accuracies.items()):
        colour = f"C{i}"
        for attack, values in per_attack.items():
            style = styles[attacks.index(attack) % len(styles)]
            ax.plot(epsilons, values, style, color=colour, marker="o", ms=3.5,
                    label=f"{model}, {attack}")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, ylim=(-0.02, 1.02))
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


use_style()


def digits_as_rgb(digits: np.ndarray) -> np.ndarray:
    """8x8 digits in [0, 1], flat or not -> (N, 8, 8, 3) pixels in 0-255."""
    return np.repeat(np.reshape(digits, (-1, 8, 8, 1)) * 255, 3, axis=-1)
