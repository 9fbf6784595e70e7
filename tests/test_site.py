"""The reader's site, built from two small executed notebooks and read in
headless Chromium with every request off this machine blocked."""

from __future__ import annotations

import importlib.util
import io
import json
import re
import time
from pathlib import Path

import nbformat
import pytest
from PIL import Image

from advbook.build import site, slides

pytestmark = pytest.mark.skipif(
    slides.find_chromium() is None,
    reason="Chromium is not installed (Debian: apt-get install chromium; "
           ".ci/run installs it, so CI never skips these)")

FIGURE_SIZE = (96, 64)
LECTURER_NOTE = "Point out the zebra to the class"  # must never reach a reader


def _png() -> str:
    """A small picture with visible structure, base64 as notebooks store it."""
    import base64

    import numpy as np

    ramp = np.linspace(0, 255, FIGURE_SIZE[0], dtype=np.uint8)
    pixels = np.stack([np.tile(ramp, (FIGURE_SIZE[1], 1))] * 3, axis=-1)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _chapter(title: str, body: str, *, figure: bool = False) -> nbformat.NotebookNode:
    """An executed chapter in the book's shape, outputs filled in by hand."""
    v4 = nbformat.v4
    code = v4.new_code_cell("fig = ab.plots.curves(...)", execution_count=1)
    if figure:
        code.outputs = [v4.new_output("display_data", data={
            "image/png": _png(), "text/plain": "<Figure size 96x64>"})]
    smoke = v4.new_code_cell("if ab.smoke():\n    SMOKE_ONLY_NAME = 1",
                             metadata={"tags": ["smoke"]})
    claim = v4.new_code_cell("assert CLAIM_ONLY_NAME > 0", metadata={"tags": ["claim"]})
    solution = v4.new_code_cell("def SOLUTION_ONLY_NAME(): ...",
                                metadata={"tags": ["solution"]}, execution_count=2)
    solution.outputs = [v4.new_output("stream", name="stdout", text="✓ ch0.fixture: correct.\n")]
    nb = v4.new_notebook(cells=[
        v4.new_markdown_cell(f"# {title}\n\nA fixture chapter."),
        smoke,
        v4.new_markdown_cell(body),
        code,
        claim,
        solution,
        v4.new_markdown_cell(LECTURER_NOTE, metadata={"tags": ["lecturer"]}),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


TITLES = ["Chapter 0: Fixture one", "Chapter 1: Fixture two"]
STEMS = ["00_fixture", "01_fixture"]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A build folder with two executed chapters, a deck and a handout."""
    missing = [pip for module, pip in site.GENERATOR if importlib.util.find_spec(module) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: `pip install -e .`")
    if not (slides.NODE_MODULES / "mathjax" / "MathJax.js").is_file():
        pytest.skip("MathJax not in node_modules: run `npm ci`")
    build = tmp_path_factory.mktemp("build")
    (build / "notebooks").mkdir()
    nbformat.write(_chapter(TITLES[0], (
        "A step of size $\\varepsilon$ along the sign of the gradient:\n"
        "$$x' = x + \\varepsilon\\,\\mathrm{sign}(\\nabla_x J(x, y))$$\n"
        "moves every pixel by exactly $\\varepsilon$."), figure=True),
        build / "notebooks" / f"{STEMS[0]}.ipynb")
    # The search term is in the second chapter only: a hit on it is a real
    # hit, not every page coming back.
    nbformat.write(_chapter(TITLES[1], "Here foolbox runs the attack."),
                   build / "notebooks" / f"{STEMS[1]}.ipynb")
    # Decks exist for chapter 0 only, so links to missing files must not appear.
    deck_dir = build / "slides"
    (deck_dir / "handouts").mkdir(parents=True)
    (deck_dir / f"{STEMS[0]}.slides.html").write_text("<html>deck</html>")
    (deck_dir / "handouts" / f"{STEMS[0]}.pdf").write_bytes(b"%PDF-1.4\n")
    (deck_dir / "index.html").write_text("<html>decks</html>")
    started = time.perf_counter()
    out = site.build_site(build)
    assert time.perf_counter() - started < 60
    return out


@pytest.fixture(scope="module")
def browser():
    with slides.Chromium(width=1280, height=900) as chromium:
        yield chromium


def _load(browser: slides.Chromium, url: str, ready: str, timeout: float = 30):
    """Open a page and wait until `ready` (JavaScript) holds; return its value."""
    browser.clear()  # each page answers for its own requests
    browser.navigate(url, timeout)
    return browser.wait_for(ready, timeout)


def _offline(browser: slides.Chromium, summaries: bool = False) -> None:
    """Every request so far stayed on this machine and none failed.

    With summaries, a page's own file:// fetch may fail: Sphinx's search
    fetches each hit to quote a snippet, which browsers refuse from file://
    (from a local server it works). The hit itself comes from searchindex.js.
    """
    remote = [u for u in browser.requests()
              if not u.startswith(("file://", "data:", "about:", "blob:"))]
    assert remote == []
    failed = browser.failures()
    if summaries:
        failed = [f for f in failed
                  if not (f.startswith("file://") and f.endswith(".html: net::ERR_FAILED"))]
    assert failed == []


def test_the_contents_list_every_chapter_in_order(browser, built):
    entries = _load(browser, (built / "index.html").as_uri(), """
        Array.from(document.querySelectorAll('nav.bd-docs-nav a'),
                   a => [a.textContent.trim(), a.getAttribute('href')])""")
    chapters = [e for e in entries if e[1].startswith(tuple(STEMS))]
    assert chapters == [[TITLES[0], f"{STEMS[0]}.html"], [TITLES[1], f"{STEMS[1]}.html"]]
    _offline(browser)


def test_a_chapter_page_has_its_title_and_neighbours(browser, built):
    page = _load(browser, (built / f"{STEMS[0]}.html").as_uri(), """({
        title: document.title,
        next: (document.querySelector('a.right-next') || {}).href || '',
        sidebar: !!document.querySelector('nav.bd-docs-nav a[href="#"], '
                                          + 'nav.bd-docs-nav li.current')})""")
    assert page["title"].startswith(TITLES[0])
    assert page["next"].endswith(f"{STEMS[1]}.html")
    assert page["sidebar"]
    prev = _load(browser, (built / f"{STEMS[1]}.html").as_uri(),
                 "(document.querySelector('a.left-prev') || {}).href")
    assert prev.endswith(f"{STEMS[0]}.html")


def test_equations_are_typeset_by_the_bundled_mathjax(browser, built):
    typeset = _load(browser, (built / f"{STEMS[0]}.html").as_uri(),
                    "document.querySelectorAll('.math .MathJax_CHTML').length >= 3 "
                    "&& document.querySelectorAll('.math .MathJax_CHTML').length")
    assert typeset == 3  # two inline, one display
    text = browser.evaluate("document.querySelector('article').innerText")
    assert "\\varepsilon" not in text and "$$" not in text  # no raw LaTeX left
    assert any(u.startswith("file://") and "/_static/mathjax/MathJax.js" in u
               for u in browser.requests())
    _offline(browser)


def test_search_finds_a_term_from_a_file_url(browser, built):
    hits = _load(browser, (built / "search.html").as_uri() + "?q=foolbox", """
        document.querySelector('#search-results p.search-summary') &&
        /found/.test(document.querySelector('#search-results').innerText) &&
        Array.from(document.querySelectorAll('#search-results ul.search li a'),
                   a => a.getAttribute('href'))""")
    assert [h.split("?")[0].split("#")[0] for h in hits] == [f"{STEMS[1]}.html"]
    # Let the snippet fetch finish (and fail) here, not during the next test.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not browser.failures():
        browser.evaluate("0")  # lets pending browser events arrive
        time.sleep(0.1)
    _offline(browser, summaries=True)


def test_the_figure_is_an_image_file_that_loads(browser, built):
    image = _load(browser, (built / f"{STEMS[0]}.html").as_uri(), """(() => {
        const img = document.querySelector('.cell_output img');
        return img && img.complete && {src: img.getAttribute('src'),
                                        width: img.naturalWidth,
                                        height: img.naturalHeight};
    })()""")
    assert image["src"].startswith("_images/")  # a file, so pages stay small
    assert (image["width"], image["height"]) == FIGURE_SIZE
    assert (built / f"{STEMS[0]}.html").stat().st_size < 100_000
    _offline(browser)


def test_tagged_cells_are_folded_or_gone(built):
    page = (built / f"{STEMS[0]}.html").read_text(encoding="utf-8")
    index = (built / "searchindex.js").read_text(encoding="utf-8")
    assert LECTURER_NOTE.lower().split()[2] not in index.lower()  # "zebra"
    assert LECTURER_NOTE not in page

    folded = re.findall(r'<details class="[^"]*\bhide\b[^"]*">(.*?)</details>', page, re.S)
    for name in ("SMOKE_ONLY_NAME", "CLAIM_ONLY_NAME", "SOLUTION_ONLY_NAME"):
        assert any(name in block for block in folded), name
    # The solution's verdict stays in view; only its source is folded.
    assert "✓ ch0.fixture: correct." in re.sub(r"<details.*?</details>", "", page, flags=re.S)


def test_each_chapter_links_what_exists_of_its_deck_handout_and_student_copy(built):
    first = (built / f"{STEMS[0]}.html").read_text(encoding="utf-8")
    second = (built / f"{STEMS[1]}.html").read_text(encoding="utf-8")
    for rel in (f"slides/{STEMS[0]}.slides.html", f"slides/handouts/{STEMS[0]}.pdf"):
        assert f'href="{rel}"' in first and (built / rel).is_file()
    assert "slides/" not in second.split('class="advbook-links"')[-1].split("</p>")[0]
    student = sorted((built / "student").glob("*.ipynb"))
    assert student, "the student edition was not copied into the site"
    for path in student:  # made from chapters/: no solutions in it
        cells = json.loads(path.read_text())["cells"]
        assert not any("solution" in c["metadata"].get("tags", []) for c in cells)


def test_no_page_names_a_resource_off_this_machine(built):
    for page in built.rglob("*.html"):
        assert slides.remote_resources(page.read_text(encoding="utf-8")) == [], page


def test_without_executed_chapters_the_error_says_run_make_book(tmp_path):
    with pytest.raises(site.SiteError, match="make book"):
        site.build_site(tmp_path)
