"""The live attack explorer: pick a photo, a model and an attack, drag ε.

`ab.explore()` shows ipywidgets in JupyterLab (and in RISE slides). In a
build (TQDM_DISABLE=1) or without a widget front end it shows a static
snapshot of the same view instead, so printed pages and decks get a picture.

Speed: each ε change runs `advbook.tf_attacks`, whose compiled step is cached
per model and takes ε as a tensor, so moving the slider never retraces.
"""

from __future__ import annotations

import datetime
import html
import io
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np
import pandas as pd

from . import imagenet, images, models, progress, tf_attacks
from .checks import check_epsilon
from .errors import AdvbookError, InvalidArgument

FGSM, PGD, NOISE, TARGETED = "FGSM", "PGD", "Gaussian noise", "targeted PGD"
ATTACKS = (FGSM, PGD, NOISE, TARGETED)
ITERATIVE = (PGD, TARGETED)
ROLE_LOADERS: dict[str, Callable[[], models.Classifier]] = {
    models.DEFAULT_ROLE.title: models.default_classifier,
    models.SECOND_ROLE.title: models.second_classifier,
}
UPLOAD_PREFIX = "upload: "
TOP = 5  # classes in each bar chart
SHOWN_PX = 200  # on-screen size of each image in the live view
SNAPSHOT_PX = 1000  # on-screen width of the static snapshot


@dataclass(frozen=True)
class Settings:
    """Everything that decides one view of the explorer."""

    photo: str = "coffee"
    role: str = models.DEFAULT_ROLE.title
    attack: str = FGSM
    eps: float = 4.0  # L∞ budget (noise: σ), in 0-255 pixel units
    target: str = "volcano"  # for targeted PGD
    steps: int = 5  # for PGD: 5 keep an ε change under a second on 2 cores
    seed: int = 0  # for Gaussian noise: the same picture every time


@dataclass(frozen=True)
class View:
    """What the explorer shows for one setting."""

    settings: Settings
    model_name: str
    original: np.ndarray
    adversarial: np.ndarray
    clean_top: pd.DataFrame
    attacked_top: pd.DataFrame
    seconds: float  # attack plus prediction, without drawing

    @property
    def perturbation(self) -> np.ndarray:
        """adversarial − original, in pixel units."""
        return self.adversarial - self.original


def amplified(delta: np.ndarray) -> tuple[np.ndarray, float]:
    """The perturbation centred on grey and scaled so its largest change is ±127."""
    largest = float(np.abs(delta).max())
    factor = 127.0 / largest if largest > 0 else 1.0
    return np.clip(128.0 + factor * delta, 0, 255), factor


def noise(shape: tuple[int, ...], sigma: float, seed: int) -> np.ndarray:
    """Seeded Gaussian noise: one fixed direction, scaled by σ."""
    # Drawn from the seed alone, so dragging ε rescales the same pattern.
    unit = np.random.default_rng(seed).standard_normal(shape)
    return (sigma * unit).astype(np.float32)


def attack_photo(model: models.Classifier, photo: np.ndarray, settings: Settings,
                 clean_class: int,
                 on_step: Optional[Callable[[int, int], None]] = None) -> np.ndarray:
    """The attacked photo (0-255) for one setting."""
    # Checked here for every attack: noise would take a negative σ silently.
    x, eps = photo[None], check_epsilon(settings.eps)
    if settings.attack == FGSM:
        adv = tf_attacks.fgsm(model, x, np.array([clean_class]), eps)
    elif settings.attack == PGD:
        # No random start: the same ε always gives the same picture.
        adv = tf_attacks.pgd(model, x, np.array([clean_class]), eps,
                             steps=settings.steps, random_start=False,
                             on_step=on_step)
    elif settings.attack == TARGETED:
        target = imagenet.class_index(settings.target)
        adv = tf_attacks.pgd(model, x, np.array([target]), eps,
                             steps=settings.steps, random_start=False,
                             targeted=True, on_step=on_step)
    elif settings.attack == NOISE:
        adv = np.clip(x + noise(x.shape, eps, settings.seed), 0, 255)
    else:
        raise InvalidArgument(f"unknown attack {settings.attack!r}; "
                              f"choose one of {', '.join(ATTACKS)}")
    return np.asarray(adv[0], np.float32)


@dataclass
class Session:
    """The models, photos and clean predictions an explorer keeps at hand."""

    uploads: dict[str, bytes] = field(default_factory=dict)  # in memory only
    _photos: dict[tuple[str, int], np.ndarray] = field(default_factory=dict)
    _clean: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)

    def model(self, role: str) -> models.Classifier:
        """The classifier that fills `role` (loaded once per process)."""
        if role not in ROLE_LOADERS:
            raise InvalidArgument(f"unknown model role {role!r}; choose "
                                  f"{' or '.join(ROLE_LOADERS)}")
        return ROLE_LOADERS[role]()

    def photo(self, name: str, size: int) -> np.ndarray:
        """A sample or an uploaded photo at `size`, loaded once."""
        key = (name, size)
        if key not in self._photos:
            if name.startswith(UPLOAD_PREFIX):
                upload = name.removeprefix(UPLOAD_PREFIX)
                self._photos[key] = images.load_image_bytes(
                    self.uploads[upload], upload, size=size)
            else:
                self._photos[key] = images.load_image(name, size=size)
        return self._photos[key]

    def clean_top(self, model: models.Classifier, name: str,
                  photo: np.ndarray) -> pd.DataFrame:
        """The model's own top-5 for the clean photo, computed once."""
        key = (model.name, name)
        if key not in self._clean:
            self._clean[key] = model.top_k(photo, k=TOP)
        return self._clean[key]

    def view(self, settings: Settings,
             on_step: Optional[Callable[[int, int], None]] = None) -> View:
        """Attack the photo as `settings` say and predict before and after."""
        model = self.model(settings.role)
        photo = self.photo(settings.photo, model.input_size)
        start = time.perf_counter()
        clean = self.clean_top(model, settings.photo, photo)
        # Untargeted attacks push away from the model's own clean answer.
        adversarial = attack_photo(model, photo, settings,
                                   int(clean["class_id"].iloc[0]), on_step)
        attacked = model.top_k(adversarial, k=TOP)
        return View(settings, model.display_name, photo, adversarial, clean,
                    attacked, time.perf_counter() - start)


def caption(view: View) -> str:
    """One line naming the attack, ε, model and photo."""
    s = view.settings
    what = {NOISE: f"Gaussian noise, σ = {s.eps:g}",
            FGSM: f"FGSM, ε = {s.eps:g}",
            PGD: f"PGD ({s.steps} steps), ε = {s.eps:g}",
            TARGETED: f"PGD towards {s.target} ({s.steps} steps), ε = {s.eps:g}"}
    return (f"{what[s.attack]} (pixel units, of 255) on "
            f"{s.photo.removeprefix(UPLOAD_PREFIX)}, {view.model_name}")


def perturbation_title(view: View) -> str:
    """The perturbation's caption, stating the amplification."""
    _, factor = amplified(view.perturbation)
    return f"perturbation × {factor:.0f} (grey = 0)"


def snapshot(view: View) -> Any:
    """The view as one static matplotlib figure (for builds and decks)."""
    import matplotlib.pyplot as plt

    from .plots import as_displayable

    # Large type: the snapshot is projected in the decks, shrunk to fit.
    # ytick labels (class names such as magnetic_compass) a size smaller, so
    # the bar charts keep room for their bars.
    with plt.rc_context({"font.size": 13, "axes.titlesize": 14,
                         "ytick.labelsize": 12}):
        fig = plt.figure(figsize=(12, 6.8))
        grid = fig.add_gridspec(2, 6, height_ratios=[1.25, 1])
        shown, _ = amplified(view.perturbation)
        panels = [(view.original, f"original: {view.clean_top['class'].iloc[0]}"),
                  (shown, perturbation_title(view)),
                  (view.adversarial,
                   f"attacked: {view.attacked_top['class'].iloc[0]}")]
        for i, (image, title) in enumerate(panels):
            ax = fig.add_subplot(grid[0, 2 * i:2 * i + 2])
            ax.imshow(as_displayable(image))
            ax.set_title(title)
            ax.axis("off")
        for i, (title, table) in enumerate([("top-5 before", view.clean_top),
                                            ("top-5 after", view.attacked_top)]):
            ax = fig.add_subplot(grid[1, 3 * i:3 * i + 3])
            names = list(table["class"])[::-1]
            values = np.asarray(table["confidence"], float)[::-1]
            ax.barh(names, values, color="tab:blue")
            ax.set(xlim=(0, 1), title=title, xlabel="confidence")
            ax.grid(axis="y", visible=False)
        fig.suptitle(caption(view), fontsize=14)
        fig.tight_layout()
    return fig


def png(image: np.ndarray) -> bytes:
    """0-255 RGB pixels as PNG bytes (for an ipywidgets Image)."""
    from PIL import Image

    from .plots import as_displayable

    buffer = io.BytesIO()
    Image.fromarray(as_displayable(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def bars_html(title: str, table: pd.DataFrame, marked: set[int]) -> str:
    """A top-5 table as HTML bars; rows of `marked` class ids in orange."""
    rows = []
    for class_id, name, confidence in zip(table["class_id"], table["class"],
                                          table["confidence"]):
        colour = "#e67e22" if int(class_id) in marked else "#1f77b4"
        width = max(1.0, 100.0 * float(confidence))
        rows.append(
            "<div style='display:flex;align-items:center;margin:2px 0'>"
            f"<span style='width:11em;text-align:right;padding-right:6px'>"
            f"{html.escape(str(name))}</span>"
            f"<span style='width:12em;background:#eee'><span style='display:"
            f"block;height:1.1em;width:{width:.1f}%;background:{colour}'>"
            f"</span></span><span style='padding-left:6px'>{confidence:.3f}"
            "</span></div>")
    return f"<b>{html.escape(title)}</b>" + "".join(rows)


def _error_html(message: str) -> str:
    return f"<span style='color:#c0392b'>{html.escape(message)}</span>"


class Explorer:
    """The live widgets; set their values from code to drive it (tests do)."""

    def __init__(self, settings: Settings = Settings(),
                 session: Optional[Session] = None) -> None:
        import ipywidgets as w

        self.session = session or Session()
        self.view: Optional[View] = None
        self.photo = w.Dropdown(options=images.sample_names(), value=settings.photo,
                                description="photo")
        self.upload = w.FileUpload(accept="image/*", multiple=False,
                                   description="upload")
        self.role = w.Dropdown(options=list(ROLE_LOADERS), value=settings.role,
                               description="model")
        self.attack = w.ToggleButtons(options=ATTACKS, value=settings.attack,
                                      description="attack")
        self.target = w.Dropdown(options=list(imagenet.class_names()),
                                 value=settings.target, description="target")
        self.steps = w.IntSlider(value=settings.steps, min=1, max=50,
                                 description="PGD steps")
        self.eps = w.FloatSlider(value=settings.eps, min=0.0, max=64.0, step=0.5,
                                 description="ε (of 255)", readout_format=".1f",
                                 layout=w.Layout(width="32em"))
        self.seed = settings.seed
        self.bar = w.IntProgress(value=0, min=0, max=1, description="PGD")
        self.images = [w.Image(format="png", width=SHOWN_PX, height=SHOWN_PX)
                       for _ in range(3)]
        self.captions = [w.HTML() for _ in range(3)]
        self.before, self.after = w.HTML(), w.HTML()
        self.status, self.message = w.HTML(), w.HTML()
        for control in (self.photo, self.role, self.attack, self.target,
                        self.steps, self.eps):
            control.observe(self._changed, names="value")
        self.upload.observe(self._uploaded, names="value")
        self.widget = w.VBox([
            w.HBox([self.photo, self.upload, self.role]),
            self.attack,
            w.HBox([self.eps, self.steps, self.target]),
            w.HBox([w.VBox([image, text])
                    for image, text in zip(self.images, self.captions)]),
            w.HBox([self.before, self.after],
                   layout=w.Layout(grid_gap="2em")),
            w.HBox([self.status, self.bar]), self.message,
        ])
        self._show_controls()
        self.refresh()

    def settings(self) -> Settings:
        """The current widget values as Settings."""
        return Settings(self.photo.value, self.role.value, self.attack.value,
                        float(self.eps.value), self.target.value,
                        int(self.steps.value), self.seed)

    def add_upload(self, name: str, data: bytes) -> None:
        """Check an uploaded photo, then offer and select it (kept in memory)."""
        try:
            images.load_image_bytes(data, name, size=None)  # fail here, clearly
        except AdvbookError as err:
            self.message.value = _error_html(str(err))
            return
        key = UPLOAD_PREFIX + name
        self.session.uploads[name] = bytes(data)
        self.session._photos = {k: v for k, v in self.session._photos.items()
                                if k[0] != key}  # a new file under an old name
        self.session._clean = {k: v for k, v in self.session._clean.items()
                               if k[1] != key}
        if key not in self.photo.options:
            self.photo.options = list(self.photo.options) + [key]
        if self.photo.value == key:
            self.refresh()
        else:
            self.photo.value = key  # refreshes through the observer

    def refresh(self) -> None:
        """Recompute and redraw; errors go to the red message line."""
        self._show_controls()
        settings = self.settings()
        self.bar.value, self.bar.max = 0, max(1, settings.steps)
        try:
            start = time.perf_counter()
            view = self.session.view(settings, on_step=self._stepped)
            self._draw(view)
        except AdvbookError as err:
            self.message.value = _error_html(str(err))
            return
        except Exception as err:  # noqa: BLE001 - a live lecture must go on
            self.message.value = _error_html(
                f"unexpected {type(err).__name__}: {err}. Try another photo "
                "or attack; please report this with the settings above.")
            return
        self.view = view
        self.message.value = ""
        self.status.value = (f"answered in {time.perf_counter() - start:.2f} s "
                             f"(attack and prediction: {view.seconds:.2f} s)")

    def _draw(self, view: View) -> None:
        shown, _ = amplified(view.perturbation)
        for image, pixels in zip(self.images, (view.original, shown,
                                               view.adversarial)):
            image.value = png(pixels)
        clean_class = int(view.clean_top["class_id"].iloc[0])
        top_after = view.attacked_top["class"].iloc[0]
        self.captions[0].value = f"original: <b>{view.clean_top['class'].iloc[0]}</b>"
        self.captions[1].value = perturbation_title(view)
        self.captions[2].value = f"{view.settings.attack}: <b>{top_after}</b>"
        marked = {clean_class}
        if view.settings.attack == TARGETED:
            marked.add(imagenet.class_index(view.settings.target))
        self.before.value = bars_html("top-5 before", view.clean_top, marked)
        self.after.value = bars_html("top-5 after", view.attacked_top, marked)

    def _show_controls(self) -> None:
        """Show only the controls the chosen attack uses."""
        attack = self.attack.value
        self.steps.layout.display = None if attack in ITERATIVE else "none"
        self.bar.layout.display = None if attack in ITERATIVE else "none"
        self.target.layout.display = None if attack == TARGETED else "none"
        # FGSM and noise answer in a fraction of a second, so they follow the
        # drag; PGD updates when the slider is let go, so drags don't queue up.
        self.eps.continuous_update = attack not in ITERATIVE

    def _stepped(self, done: int, total: int) -> None:
        self.bar.max, self.bar.value = total, done

    def _changed(self, _change: dict) -> None:
        self.refresh()

    def _uploaded(self, change: dict) -> None:
        files = change["new"]
        if not files:  # cleared below, after reading
            return
        entry = files[0]
        name, data = entry["name"], bytes(entry["content"])
        self.upload.value = ()  # the bytes now live in the session, once
        self.add_upload(name, data)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def live_front_end() -> bool:
    """True in a Jupyter kernel that can show widgets, unless a build runs."""
    if progress.bars_disabled():  # make book and the tests set TQDM_DISABLE
        return False
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and "IPKernelApp" in shell.config


def explore(photo: str = "coffee", attack: str = FGSM, eps: float = 4.0, *,
            role: str = models.DEFAULT_ROLE.title, target: str = "volcano",
            steps: int = 5, seed: int = 0, live: Optional[bool] = None) -> Any:
    """The attack explorer: live widgets, or a static PNG in builds.

    live=None decides by itself (widgets in JupyterLab, a snapshot when
    TQDM_DISABLE is set or outside a kernel); True or False forces it.
    """
    if attack not in ATTACKS:
        raise InvalidArgument(f"attack must be one of {', '.join(ATTACKS)}; "
                              f"got {attack!r}")
    settings = Settings(photo, role, attack, check_epsilon(eps), target,
                        int(steps), seed)
    if live is None:
        live = live_front_end()
    if live:
        return Explorer(settings)
    return static_snapshot(settings)


def static_snapshot(settings: Settings) -> Any:
    """The view for `settings` as an IPython PNG image."""
    import matplotlib.pyplot as plt
    from IPython.display import Image

    fig = snapshot(Session().view(settings))
    buffer = io.BytesIO()
    # Drawn at 150 dpi and shown 1000 px wide: sharp on a projector, and
    # the whole view fits one 1280 x 720 slide under its code line.
    fig.savefig(buffer, format="png", dpi=150)
    plt.close(fig)  # shown once, as the returned PNG
    return Image(data=buffer.getvalue(), format="png", width=SNAPSHOT_PX)


def upload_entry(name: str, data: bytes) -> dict:
    """A FileUpload value entry, as the browser sends one (for tests and demos)."""
    return {"name": name, "type": "", "size": len(data),
            "content": memoryview(data),
            "last_modified": datetime.datetime.now(datetime.timezone.utc)}
