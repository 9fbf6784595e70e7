"""The attack explorer: uploads, the widgets driven from code, and JupyterLab."""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import numpy as np
import pytest
from PIL import Image

from advbook import config, explorer, images, tf_attacks
from advbook.errors import ImageLoadError, InvalidArgument

SHOTS = config.build_dir() / "explore"


# --- uploads: the same loader and guards as files ------------------------

def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")  # mode from the dtype
    return buffer.getvalue()


def test_upload_bytes_match_the_file_loader():
    path = images.sample_path("coffee")
    from_file = images.load_image(path, size=64)
    from_bytes = images.load_image_bytes(path.read_bytes(), "coffee.png", size=64)
    assert np.array_equal(from_file, from_bytes)


@pytest.mark.parametrize("data, words", [
    (b"", ["empty", "0 bytes"]),
    (b"this is not an image at all", ["not an image"]),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, ["not an image"]),
])
def test_bad_uploads_are_named_in_the_error(data, words):
    with pytest.raises(ImageLoadError) as err:
        images.load_image_bytes(data, "holiday.png")
    assert "holiday.png" in str(err.value)
    for word in words:
        assert word in str(err.value)


def test_truncated_upload():
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 10, 10)).save(buffer, format="JPEG")
    cut = buffer.getvalue()[:300]
    with pytest.raises(ImageLoadError, match="truncated") as err:
        images.load_image_bytes(cut, "cut.jpg")
    assert "cut.jpg" in str(err.value)


def test_huge_upload_is_refused_before_decoding():
    side = int(images.MAX_PIXELS ** 0.5) + 100
    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, format="PNG")  # small file, huge image
    with pytest.raises(ImageLoadError) as err:
        images.load_image_bytes(buffer.getvalue(), "bomb.png")
    assert "bomb.png" in str(err.value)
    assert f"{images.MAX_PIXELS:,}" in str(err.value)


def test_rgba_upload_is_composited_on_white():
    rgba = np.zeros((8, 8, 4), np.uint8)  # fully transparent black
    x = images.load_image_bytes(_png(rgba), "clear.png", size=None)
    assert x.shape == (8, 8, 3) and np.all(x == 255)


def test_16bit_upload_is_scaled_to_255():
    gray = np.full((8, 8), 65535, np.uint16)
    gray[0, 0] = 0
    assert Image.open(io.BytesIO(_png(gray))).mode.startswith("I;16")
    x = images.load_image_bytes(_png(gray), "deep.png", size=None)
    assert x.shape == (8, 8, 3) and x.max() == 255 and x.min() == 0


def test_upload_that_is_not_bytes():
    with pytest.raises(ImageLoadError, match="bytes"):
        images.load_image_bytes("coffee.png", "coffee.png")  # a name, not data


# --- the explorer, driven from code --------------------------------------

@pytest.fixture(scope="module")
def ex(lite0):
    """An explorer on Lite0 (the offline default classifier) and coffee."""
    explorer.ROLE_LOADERS  # the default role is Lite0 offline, as lite0 is
    made = explorer.Explorer(explorer.Settings(photo="coffee", eps=0.0))
    assert made.view is not None, made.message.value
    assert made.view.model_name == lite0.display_name
    return made


@pytest.fixture(scope="module")
def clean_class(ex, lite0, photos):
    """Lite0's own clean top-1 for coffee (never a hard-coded class)."""
    top = int(lite0.top_k(photos[0], k=1)["class_id"].iloc[0])
    assert int(ex.view.clean_top["class_id"].iloc[0]) == top
    return top


def _set(ex, **values):
    """Change several controls, then check the explorer answered cleanly."""
    for name, value in values.items():
        getattr(ex, name).value = value
    assert ex.message.value == "", ex.message.value
    return ex.view


@pytest.mark.parametrize("attack", explorer.ATTACKS)
def test_eps_zero_shows_the_clean_prediction(ex, clean_class, attack):
    view = _set(ex, attack=attack, eps=0.0)
    assert np.all(view.perturbation == 0)
    assert view.attacked_top["class_id"].tolist() == view.clean_top["class_id"].tolist()
    assert "perturbation" in ex.captions[1].value
    assert ex.images[0].value == ex.images[2].value  # the same picture twice


def test_large_eps_pgd_flips_the_top_class(ex, clean_class):
    _set(ex, attack=explorer.PGD, eps=0.0)
    before = ex.images[2].value
    view = _set(ex, eps=16.0)
    assert int(view.attacked_top["class_id"].iloc[0]) != clean_class
    assert np.abs(view.perturbation).max() <= 16.0 + 1e-3
    assert ex.images[2].value != before, "the adversarial image is redrawn"
    assert view.attacked_top["class"].iloc[0] in ex.after.value
    assert view.clean_top["class"].iloc[0] in ex.before.value
    assert "answered in" in ex.status.value


def test_targeted_pgd_reaches_the_chosen_class(ex, clean_class):
    target = next(name for name in ("volcano", "goldfish", "tree_frog")
                  if explorer.imagenet.class_index(name) != clean_class)
    view = _set(ex, attack=explorer.TARGETED, target=target, eps=32.0)
    assert view.attacked_top["class"].iloc[0] == target


def test_noise_is_reproducible(ex):
    first = _set(ex, attack=explorer.NOISE, eps=8.0).adversarial
    shown = ex.images[2].value
    _set(ex, eps=2.0)
    again = _set(ex, eps=8.0).adversarial
    assert np.array_equal(first, again)
    assert ex.images[2].value == shown
    assert np.abs(first - ex.view.original).max() > 8.0, "σ = 8, not a box"


def test_pgd_progress_hook_leaves_the_result_alone(lite0, photos):
    x, y = photos[:1], np.array([0])
    calls = []
    hooked = tf_attacks.pgd(lite0, x, y, 4.0, steps=3, restarts=2,
                            on_step=lambda done, total: calls.append((done, total)))
    plain = tf_attacks.pgd(lite0, x, y, 4.0, steps=3, restarts=2)
    assert np.array_equal(hooked, plain)
    assert calls == [(i, 6) for i in range(1, 7)]


def test_corrupt_upload_shows_a_red_error(ex):
    photo = ex.photo.value
    ex.upload.value = (explorer.upload_entry("broken.jpg", b"\xff\xd8 garbage"),)
    assert "broken.jpg" in ex.message.value
    assert "color:#c0392b" in ex.message.value  # red, in the widget
    assert ex.photo.value == photo, "a bad upload changes nothing"
    assert ex.upload.value == (), "the bytes are not kept in the widget"


def test_upload_of_a_sample_file_behaves_like_the_sample(ex):
    _set(ex, attack=explorer.FGSM, eps=0.0, photo="coffee")
    clean = ex.view.clean_top["class_id"].tolist()
    data = images.sample_path("coffee").read_bytes()
    ex.upload.value = (explorer.upload_entry("my_coffee.png", data),)
    assert ex.message.value == "", ex.message.value
    assert ex.photo.value == "upload: my_coffee.png"
    assert ex.view.clean_top["class_id"].tolist() == clean
    assert "my_coffee.png" in ex.session.uploads


def test_explore_in_a_build_returns_a_png(lite0, monkeypatch):
    import advbook as ab

    monkeypatch.setenv("TQDM_DISABLE", "1")
    shown = ab.explore("coffee", "PGD", 2.0)
    assert shown.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(shown.data)).size[0] > 600


@pytest.mark.parametrize("eps", [-1.0, float("nan"), "4"])
def test_bad_eps_is_refused_for_every_attack(eps):
    for attack in explorer.ATTACKS:
        with pytest.raises(InvalidArgument, match="ε"):
            explorer.explore("coffee", attack, eps, live=False)


def test_negative_sigma_is_refused_not_used(lite0, photos):
    # Noise alone never reaches tf_attacks' ε check, so it checks its own.
    with pytest.raises(InvalidArgument, match="ε"):
        explorer.attack_photo(lite0, photos[0],
                              explorer.Settings(attack=explorer.NOISE, eps=-2.0), 0)


def test_unknown_attack_is_refused():
    import advbook as ab

    with pytest.raises(ab.InvalidArgument, match="FGSM"):
        ab.explore(attack="DeepFool")


# --- JupyterLab and RISE in headless Chromium ----------------------------

def _chromium_missing() -> bool:
    from advbook.build import browser as chromium_driver

    return chromium_driver.find_chromium() is None


browser = pytest.mark.skipif(
    _chromium_missing(), reason="Chromium is not installed (Debian: apt-get "
    "install chromium), so JupyterLab cannot be opened headless")

def _lab_browser(width: int = 1400, height: int = 1000):
    """advbook's Chromium (waits, evaluate), allowed to reach JupyterLab on
    127.0.0.1, unlike the decks' browser, which reaches nothing at all."""
    from advbook.build import browser as chromium_driver

    return chromium_driver.Chromium(width, height, loopback=True)


DEMO = ["import advbook as ab", "ex = ab.explore('coffee', 'FGSM', 0.0)\nex"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on a scratch folder holding a demo notebook."""
    root = tmp_path_factory.mktemp("lab")
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell(source) for source in DEMO])
    notebook.cells[1].metadata["slideshow"] = {"slide_type": "slide"}
    # A kernelspec, or JupyterLab asks which kernel to start.
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python",
                                       "display_name": "Python 3 (ipykernel)"}
    nbformat.write(notebook, root / "demo.ipynb")
    env = dict(os.environ)
    env.pop("TQDM_DISABLE", None)  # the kernel must go live, not static
    env["PYTHONPATH"] = str(config.REPO_ROOT)
    port, token = _free_port(), "explore-test"
    jupyter = Path(sys.executable).with_name("jupyter")
    server = subprocess.Popen(
        [str(jupyter), "lab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
         f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
         "--LabApp.expose_app_in_browser=True", "--allow-root",
         # A fresh layout: no tabs restored from a developer's own sessions.
         f"--LabApp.workspaces_dir={root / 'workspaces'}"],
        env=env, stdout=subprocess.DEVNULL, stderr=(root / "server.log").open("w"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # up to a minute for the server to answer
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab never answered:\n" + (root / "server.log").read_text())
        yield url, token, root
    finally:
        server.terminate()
        server.wait(timeout=30)


def _run_demo(chromium, url: str, token: str) -> None:
    chromium.navigate(f"{url}/lab/tree/demo.ipynb?token={token}")
    chromium.wait_for("window.jupyterapp && document.querySelector("
                      "'.jp-Notebook .jp-Cell')", timeout=120)
    chromium.wait_for("[...window.jupyterapp.shell.widgets('main')].some(w =>"
                      " w.sessionContext && w.sessionContext.session"
                      " && w.sessionContext.session.kernel"
                      " && w.sessionContext.session.kernel.status === 'idle')",
                      timeout=120)
    chromium.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # The first call loads TensorFlow and the model: allow it some time.
    chromium.wait_for("document.querySelector('.jp-OutputArea-output .widget-slider')"
                      " && document.querySelector('.jp-OutputArea-output img.widget-image')",
                      timeout=240)
    chromium.wait_for("[...document.querySelectorAll('.jp-OutputArea .widget-html')]"
                      ".some(e => e.textContent.includes('answered in'))", timeout=120)


def _caption(chromium, page=None) -> str:
    return chromium.evaluate(
        "[...document.querySelectorAll('.widget-html')].map(e => e.textContent)"
        ".find(t => t.startsWith('FGSM:') || t.startsWith('PGD:')) || ''", page)


@pytest.fixture
def demo(lab):
    """Chromium on the demo notebook in JupyterLab, run, explorer live."""
    url, token, _ = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    with _lab_browser() as chromium:
        _run_demo(chromium, url, token)
        yield chromium


@browser
def test_explorer_renders_and_follows_an_upload_in_jupyterlab(demo):
    chromium = demo
    chromium.page.screenshot(path=str(SHOTS / "lab_explorer.png"), full_page=True)
    clean = _caption(chromium)
    assert clean.startswith("FGSM:"), clean
    # Upload a sample's file, as a lecturer would with their own photo.
    # The upload button makes its file input on click: answer the chooser.
    with chromium.page.expect_file_chooser() as chooser:
        chromium.page.locator(".jp-OutputArea-output .widget-upload").first.click()
    chooser.value.set_files(str(images.sample_path("coffee")))
    chromium.wait_for("[...document.querySelectorAll('.widget-dropdown select')]"
                      ".some(s => s.value.startsWith('upload: '))", timeout=120)
    # Drag ε to the right end of its slider.
    handle = chromium.page.locator(".jp-OutputArea-output .widget-slider .noUi-handle").first
    track = chromium.page.locator(".jp-OutputArea-output .widget-slider .noUi-target").first
    box, end = handle.bounding_box(), track.bounding_box()
    chromium.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    chromium.page.mouse.down()
    chromium.page.mouse.move(end["x"] + end["width"], box["y"] + box["height"] / 2,
                             steps=8)
    chromium.page.mouse.up()
    chromium.wait_for("[...document.querySelectorAll('.widget-html')]"
                      ".some(e => e.textContent.includes('× '))", timeout=60)
    for _ in range(60):  # FGSM follows the drag: wait for the last answer
        time.sleep(1)
        if _caption(chromium) != clean:
            break
    chromium.page.screenshot(path=str(SHOTS / "lab_explorer_dragged.png"),
                             full_page=True)
    assert _caption(chromium) != clean, "the top class never flipped"


def _open_rise(chromium, tries: int = 3):
    """Present the notebook with RISE; the slideshow's frame, or None."""
    page = chromium.page
    for _ in range(tries):
        # RISE:preview acts on the current notebook: focus it first, in
        # command mode, as a lecturer's click on a cell does.
        page.locator(".jp-Notebook .jp-InputPrompt").first.click()
        page.keyboard.press("Escape")
        chromium.wait_for("window.jupyterapp.commands.isEnabled('RISE:preview')",
                          timeout=60)
        chromium.evaluate("window.jupyterapp.commands.execute('RISE:preview')")
        for _ in range(120):  # RISE starts its own app: up to a minute a try
            frame = next((f for f in page.frames if "/rise/" in f.url), None)
            if frame is not None:
                return frame
            time.sleep(0.5)
    return None


@browser
def test_explorer_renders_live_in_rise(demo):
    chromium = demo
    frame = _open_rise(chromium)
    assert frame is not None, "RISE:preview opened no slideshow"
    frame.wait_for_selector(".reveal", timeout=120_000)
    try:
        frame.wait_for_selector(".widget-slider", timeout=120_000)
    finally:
        chromium.page.screenshot(path=str(SHOTS / "rise_explorer.png"))
    assert frame.locator("img.widget-image").count() >= 1
    text = frame.locator(".reveal").inner_text()
    assert "FloatSlider(" not in text and "VBox(" not in text, \
        "RISE shows the widgets as text: see the widget pins in pyproject.toml"



def test_snapshot_lays_out_long_class_names_without_warnings(lite0):
    # PGD on coffee ends with "magnetic_compass" among the bars: its layout
    # once warned (tight_layout gave up) into the built chapter 6.
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        shown = explorer.static_snapshot(
            explorer.Settings(photo="coffee", attack=explorer.PGD, eps=2.0))
    assert shown.data[:4] == b"\x89PNG"
