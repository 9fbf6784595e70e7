"""The system's headless Chromium, driven by Playwright, cut off the network."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import AdvbookError


class BrowserError(AdvbookError):
    """Chromium cannot be started or driven, with what to do about it."""


def find_chromium() -> str | None:
    """The Chromium (or Chrome) executable: ADVBOOK_CHROMIUM, else on PATH."""
    explicit = os.environ.get("ADVBOOK_CHROMIUM")
    if explicit:
        return explicit
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


# Chromium's own flags: headless, and no way off this machine.
QUIET_FLAGS = [
    "--disable-gpu",
    # Root in a container has no sandbox to offer; we only open our own files.
    "--no-sandbox",
    "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--mute-audio", "--hide-scrollbars",
]
# For pages read from files: any request, loopback included, fails at once.
CHROMIUM_FLAGS = QUIET_FLAGS + [
    "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND",
]

# For a server on this machine: only loopback resolves, the rest fails.
LOOPBACK_FLAGS = QUIET_FLAGS + [
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]

# One Playwright driver per process, shared by every open Chromium: its
# synchronous API refuses a second driver in the same thread.
_driver: Any = None
_driver_users = 0


def _playwright() -> Any:
    """The shared Playwright driver, started on first use."""
    global _driver, _driver_users
    if _driver is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise BrowserError(
                "the Python package playwright is missing; `pip install -e .` "
                "installs it (no browser download: it drives the system Chromium)"
            ) from None
        _driver = sync_playwright().start()
    _driver_users += 1
    return _driver


def _release_playwright() -> None:
    global _driver, _driver_users
    _driver_users -= 1
    if _driver_users == 0 and _driver is not None:
        _driver.stop()
        _driver = None


class Chromium:
    """The system's headless Chromium, driven by Playwright.

    Playwright (maintained by Microsoft, a stable synchronous API) speaks the
    DevTools protocol for us; `executable_path` points it at the installed
    Chromium, so no browser is downloaded. Chromium's own `--print-to-pdf`
    flag cannot do the job: it prints when a virtual-time budget runs out,
    and virtual time races MathJax's font loading, while here we print when
    the deck says it has settled; and the tests need every request a page
    makes, JavaScript answers and the speaker view's pop-up window, which no
    command-line flag gives.
    """

    def __init__(self, width: int = 1280, height: int = 720,
                 loopback: bool = False) -> None:
        """A page of width x height; loopback lets it reach a local server
        (JupyterLab), while every other address stays unreachable."""
        chromium = find_chromium()
        if chromium is None:
            raise BrowserError(
                "Chromium is not installed, so no PDF handouts or browser "
                "checks; install it "
                "(Debian/Ubuntu: `apt-get install chromium`) or point "
                "ADVBOOK_CHROMIUM at a Chrome/Chromium executable")
        driver = _playwright()
        try:
            self.browser = driver.chromium.launch(
                executable_path=chromium, headless=True,
                args=LOOPBACK_FLAGS if loopback else CHROMIUM_FLAGS)
        except Exception:
            _release_playwright()
            raise
        self._requests: list[str] = []
        self._failures: list[str] = []
        self.popups: list[Any] = []  # windows the page opened (speaker view)
        self.page = self.browser.new_page(
            viewport={"width": width, "height": height}, device_scale_factor=1)
        self.page.on("request", lambda request: self._requests.append(request.url))
        self.page.on("requestfailed", lambda request: self._failures.append(
            f"{request.url}: {request.failure}"))
        self.page.on("popup", lambda popup: self.popups.append(popup))

    def __enter__(self) -> "Chromium":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def evaluate(self, expression: str, page: Any = None):
        """The value of a JavaScript expression in the page (promises awaited)."""
        from playwright.sync_api import Error

        # Wrapped in a function: Playwright would call an expression that
        # looks like one, e.g. `(() => {...})()`.
        try:
            return (page or self.page).evaluate(f"() => ({expression}\n)")
        except Error as err:
            raise BrowserError(f"{expression}: {err.message}") from None

    def wait_for(self, expression: str, timeout: float = 60, page: Any = None):
        """Poll until the expression is truthy; return its value."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            handle = (page or self.page).wait_for_function(
                f"() => ({expression}\n)", timeout=timeout * 1000, polling=100)
        except PlaywrightTimeout:
            raise BrowserError(
                f"the deck never got to `{expression}` in {timeout:.0f} s") from None
        return handle.json_value()

    def navigate(self, url: str, timeout: float = 120) -> None:
        """Load a page and wait for its load event."""
        self.page.goto(url, wait_until="load", timeout=timeout * 1000)

    def open(self, url: str, timeout: float = 120) -> None:
        """Load a deck; return once reveal, MathJax and the fonts have settled."""
        self.navigate(url, timeout)
        self.wait_for("document.documentElement.dataset.settled === 'yes' && "
                      "document.fonts.status === 'loaded'", timeout)

    def screenshot(self) -> bytes:
        """The page as it looks now, as PNG bytes."""
        return self.page.screenshot(type="png")

    def print_pdf(self, path: Path) -> Path:
        """Print the page at the size its CSS asks for (reveal sets it)."""
        self.page.pdf(path=str(path), print_background=True,
                      prefer_css_page_size=True, display_header_footer=False,
                      margin={"top": "0", "bottom": "0", "left": "0", "right": "0"})
        return path

    def requests(self) -> list[str]:
        """Every URL the page asked for since it opened or was cleared."""
        return list(self._requests)

    def failures(self) -> list[str]:
        """Requests that failed so far, each with Chromium's reason."""
        return list(self._failures)

    def clear(self) -> None:
        """Forget the requests so far: the next page answers for its own."""
        self._requests.clear()
        self._failures.clear()

    def close(self) -> None:
        """Shut the browser down (Playwright deletes its profile)."""
        try:
            self.browser.close()
        finally:
            _release_playwright()
