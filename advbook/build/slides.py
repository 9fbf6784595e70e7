"""Offline reveal.js decks and PDF handouts from executed chapters."""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import config
from ..errors import AdvbookError
# Decks and handouts are printed in it; tests reach it from here too.
from .browser import Chromium, find_chromium

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
NODE_MODULES = config.REPO_ROOT / "node_modules"
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720  # 16:9, what projectors show today
MATHJAX_CONFIG = "TeX-AMS_CHTML-full,Safe"

# What the decks load, as (npm package, path inside it). Only the parts of
# MathJax that its CommonHTML output needs: the whole package is 73 MB.
VENDOR_FILES = [
    ("reveal.js", "dist"),
    ("reveal.js", "plugin/notes"),
    ("requirejs", "require.js"),
    ("jquery", "dist/jquery.min.js"),
    ("mathjax", "MathJax.js"),
    ("mathjax", "config/TeX-AMS_CHTML-full.js"),
    ("mathjax", "config/Safe.js"),
    ("mathjax", "extensions"),
    ("mathjax", "jax/input/TeX"),
    ("mathjax", "jax/output/CommonHTML"),
    ("mathjax", "jax/output/PreviewHTML"),
    ("mathjax", "jax/element"),
    ("mathjax", "fonts/HTML-CSS/TeX/woff"),
    ("mathjax", "localization/en"),
]

# A resource the browser would fetch by itself: src/href/url()/@import/import
# pointing off the machine. Links in text (<a href>) are not fetched.
_REMOTE_RESOURCE = re.compile(
    r"""(?:<(?:script|img|iframe|source|video|audio|embed)\b[^>]*\bsrc\s*=\s*["']?"""
    r"""|<link\b[^>]*\bhref\s*=\s*["']?"""
    r"""|url\(\s*["']?|@import\s+["']?|\bimport\s+[\w{}\s,*]*\s*from\s*["']"""
    r"""|\bimport\s*\(\s*["'])\s*((?:https?:)?//[^"')\s>]+)""",
    re.IGNORECASE)


class SlidesError(AdvbookError):
    """A deck or handout that cannot be built, with what to do about it."""


def slides_dir(build: Path | None = None) -> Path:
    """Where decks, handouts, the index and the vendor/ folder go."""
    return (build or config.build_dir()) / "slides"


def vendor(out: Path, node_modules: Path = NODE_MODULES) -> Path:
    """Copy reveal.js, requirejs, jquery and MathJax from node_modules."""
    missing = sorted({pkg for pkg, _ in VENDOR_FILES if not (node_modules / pkg).is_dir()})
    if missing:
        raise SlidesError(
            f"{', '.join(missing)} not found in {node_modules}; run `npm ci` in "
            f"{config.REPO_ROOT} (`make slides` does it) to install the pinned "
            "versions from package.json")
    target = out / "vendor"
    for pkg, part in VENDOR_FILES:
        source, dest = node_modules / pkg / part, target / pkg / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("*.map", "*.esm.js"))
        else:
            shutil.copy2(source, dest)
    return target


def exporter():
    """nbconvert's SlidesExporter on the offline template and vendor/ paths."""
    from nbconvert import SlidesExporter

    return SlidesExporter(
        extra_template_basedirs=[str(TEMPLATES_DIR)],
        template_name="reveal_offline",
        reveal_url_prefix="vendor/reveal.js",
        reveal_theme="white",
        reveal_number="c/t",
        reveal_width=str(SLIDE_WIDTH),
        reveal_height=str(SLIDE_HEIGHT),
        require_js_url="vendor/requirejs/require.js",
        jquery_url="vendor/jquery/dist/jquery.min.js",
        mathjax_url=f"vendor/mathjax/MathJax.js?config={MATHJAX_CONFIG}",
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def remote_resources(page: str) -> list[str]:
    """URLs off this machine that a browser would fetch when opening page."""
    return sorted(set(_REMOTE_RESOURCE.findall(page)))


def expected_slides(nb) -> int:
    """Slides in the deck: slide and subslide cells, counted as nbconvert does."""
    # nbconvert makes the first visible cell open a slide, whatever its type.
    kinds = [c.metadata.get("slideshow", {}).get("slide_type", "-") for c in nb.cells]
    visible = [k for k in kinds if k not in ("skip", "notes")]
    if not visible:
        return 0
    return 1 + sum(k in ("slide", "subslide") for k in visible[1:])


def title(nb) -> str:
    """A notebook's title: the first line of its first cell."""
    first = nb.cells[0].source if nb.cells else ""
    return first.splitlines()[0].lstrip("# ").strip() if first else ""


def read_executed(executed: Path) -> Any:
    """An executed notebook, or SlidesError saying it is corrupt and what to do."""
    import nbformat

    try:
        nb = nbformat.read(executed, as_version=4)
    except Exception as err:  # noqa: BLE001 - NotJSONError, ValidationError, ...
        raise SlidesError(
            f"{executed} is corrupt ({type(err).__name__}: {str(err)[:120]}); "
            f"execute it again with `advbook book chapters/{executed.name}`"
        ) from None
    if not nb.cells:
        raise SlidesError(f"{executed} has no cells; execute it again with "
                          f"`advbook book chapters/{executed.name}`")
    return nb


def export_deck(executed: Path, out: Path) -> Path:
    """Write one chapter's deck; refuse one that would reach the network."""
    nb = read_executed(executed)
    page, _ = exporter().from_notebook_node(
        nb, resources={"metadata": {"name": title(nb) or executed.stem}})
    remote = remote_resources(page)
    if remote:
        raise SlidesError(
            f"{executed.name}: the deck would load {', '.join(remote[:3])} from "
            "the network; attach the file to the notebook instead of "
            "linking to it")
    deck = out / f"{executed.stem}.slides.html"
    write_atomically(deck, page)
    return deck


def handout_path(deck: Path) -> Path:
    """Where the PDF handout of a deck goes."""
    return deck.parent / "handouts" / deck.name.replace(".slides.html", ".pdf")


def executed_notebook(deck: Path) -> Path:
    """The executed notebook a deck in build/slides/ was made from."""
    return deck.parent.parent / "notebooks" / deck.name.replace(".slides.html", ".ipynb")


def write_index(out: Path) -> Path:
    """An index.html that links every deck, and its handout when printed."""
    import nbformat

    rows = []
    for deck in sorted(out.glob("*.slides.html")):
        executed = executed_notebook(deck)
        try:
            name = title(read_executed(executed)) or deck.stem
        except (SlidesError, OSError):  # missing or corrupt: the file name will do
            name = deck.stem
        pdf = handout_path(deck)
        handout = (f'<a href="handouts/{html.escape(pdf.name)}">PDF handout</a>'
                   if pdf.exists() else "no handout yet (<code>make handouts</code>)")
        rows.append(f'<li><a href="{html.escape(deck.name)}">{html.escape(name)}</a>'
                    f" &middot; {handout}</li>")
    index = out / "index.html"
    index.write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<title>advbook: lecture slides</title>"
        "<style>body{font-family:sans-serif;max-width:42em;margin:2em auto;"
        "line-height:1.6}</style></head><body>\n"
        "<h1>advbook: lecture slides</h1>\n"
        "<p>Arrow keys move, <kbd>s</kbd> opens the speaker view (notes, "
        "timer, next slide) in a pop-up window, <kbd>f</kbd> goes full "
        "screen, <kbd>Esc</kbd> shows every slide.</p>\n<ol>\n"
        + "\n".join(rows) + "\n</ol>\n</body></html>\n", encoding="utf-8")
    return index


def build_decks(build: Path | None = None) -> list[Path]:
    """Export a deck for every executed chapter, plus vendor/ and the index."""
    from .book import chapters

    build = build or config.build_dir()
    out = slides_dir(build)
    out.mkdir(parents=True, exist_ok=True)
    vendor(out)
    decks, broken = [], []
    for chapter in chapters():
        executed = build / "notebooks" / chapter.name
        if not executed.exists():
            # An existing deck stays: without the executed notebook it could
            # not be made again.
            print(f"{chapter.name}: not executed yet, no new deck "
                  f"(`make book` or `advbook book {chapter}`)", flush=True)
            continue
        if executed.stat().st_mtime < chapter.stat().st_mtime:
            print(f"{chapter.name}: changed since it was executed; this deck shows "
                  "the old version until `make book` runs it again", flush=True)
        try:
            decks.append(export_deck(executed, out))
        except SlidesError as err:  # one bad chapter must not stop the others
            broken.append(str(err))
            print(f"advbook: {err}", file=sys.stderr, flush=True)
            continue
        print(f"deck: {decks[-1]}", flush=True)
    write_index(out)
    if broken:
        raise SlidesError(f"{len(broken)} deck(s) not made: {broken[0]}")
    return decks


def write_atomically(path: Path, text: str) -> None:
    """Write text to a temporary file beside `path`, then rename it over."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


# The smallest projected text on each slide, in the deck's own pixels
# (1280 x 720): computed font size times the zoom the deck template gives an
# overfull slide (Element.currentCSSZoom is the product of every zoom above
# the text). Speaker notes are not projected. A formula counts at its base
# size: MathJax sets sub- and superscripts at 70 %, as print does, and
# readers read them as part of the line.
SMALLEST_TEXT_JS = r"""Reveal.getSlides().map((slide, index) => {
    let smallest = Infinity, sample = '';
    const walker = document.createTreeWalker(slide, NodeFilter.SHOW_TEXT);
    while (walker.nextNode()) {
        const text = walker.currentNode.textContent.trim();
        let el = walker.currentNode.parentElement;
        if (!text || el.closest('aside.notes') || !el.getClientRects().length) continue;
        el = el.closest('.MathJax_CHTML') || el;
        const px = parseFloat(getComputedStyle(el).fontSize) * el.currentCSSZoom;
        if (px < smallest) { smallest = px; sample = text.slice(0, 40); }
    }
    const first = slide.innerText.trim().split('\n')[0];
    return {slide: index, px: smallest, text: sample, first: first.slice(0, 60)};
})"""


def smallest_text(deck: Path, browser: "Chromium") -> list[dict]:
    """Per slide: its smallest projected text size (px) and that text.

    Measured in the print view, where every slide is laid out and fitted
    at once (the deck fits only the shown slide while presenting, with the
    same zoom)."""
    browser.open(deck.resolve().as_uri() + "?print-pdf")
    return browser.evaluate(SMALLEST_TEXT_JS)


# Handout layouts: (per page, with notes) -> (landscape?, rows, columns),
# each grid cell holding a slide, or a slide with its notes page beside it
# (below it when there is one slide to the page). 1 per page without notes
# is the print itself, one page per slide at the slide's own size.
A4 = (595.28, 841.89)  # points, portrait
HANDOUT_LAYOUTS = {
    (2, False): (False, 2, 1),
    (4, False): (True, 2, 2),
    (1, True): (False, 1, 1),
    (2, True): (True, 2, 1),
    (4, True): (False, 4, 1),
}
HANDOUT_MARGIN, HANDOUT_GAP = 28.0, 10.0  # points


def print_handout(deck: Path, browser: Chromium | None = None, per_page: int = 1,
                  notes: bool = False) -> Path:
    """Print a deck's ?print-pdf view to PDF: per_page slides to a page,
    each with its speaker notes beside it when notes is set."""
    if per_page not in (1, 2, 4):
        raise SlidesError(f"--per-page must be 1, 2 or 4, not {per_page}")
    pdf = handout_path(deck)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    own = browser is None
    browser = browser or Chromium()
    try:
        # reveal reads its settings from the query too: with separate-page
        # it prints each slide's notes as a page of their own after it.
        browser.open(deck.resolve().as_uri() + "?print-pdf"
                     + ("&showNotes=separate-page" if notes else ""))
        with_notes = browser.evaluate(
            "Reveal.getSlides().map(s => !!Reveal.getSlideNotes(s))")
        if per_page == 1 and not notes:
            return browser.print_pdf(pdf)
        with tempfile.TemporaryDirectory(prefix="advbook-handout-") as tmp:
            raw = browser.print_pdf(Path(tmp) / "slides.pdf")
            impose(raw, pdf, with_notes if notes else [False] * len(with_notes),
                   per_page)
    finally:
        if own:
            browser.close()
    return pdf


def impose(raw: Path, out: Path, with_notes: list[bool], per_page: int) -> Path:
    """Place the printed pages per_page slides to an A4 sheet.

    pypdf (pure Python, maintained, already used widely for exactly this)
    places each page as a form XObject with a scale and a shift, so text
    stays text (pdftotext, search, sharp print) and nothing is redrawn.
    Chromium's own printing has no N-up, and reveal's print CSS lays out
    one slide per page only.
    """
    from pypdf import PdfReader, PdfWriter, Transformation

    pages = list(PdfReader(raw).pages)
    if len(pages) != len(with_notes) + sum(with_notes):
        raise SlidesError(
            f"{out.name}: {len(pages)} printed pages for {len(with_notes)} slides "
            f"and {sum(with_notes)} notes pages; a slide's notes are probably "
            "longer than a page, shorten them")
    units, it = [], iter(pages)
    for has_notes in with_notes:
        units.append((next(it), next(it) if has_notes else None))
    notes = any(with_notes)
    landscape, rows, cols = HANDOUT_LAYOUTS[(per_page, notes)]
    width, height = (A4[1], A4[0]) if landscape else A4
    # Panels inside a cell: the slide, then its notes to the right (below
    # when there is one slide to the page).
    across, down = (1, 2) if notes and per_page == 1 else ((2, 1) if notes else (1, 1))
    slide_w, slide_h = float(pages[0].mediabox.width), float(pages[0].mediabox.height)
    cell_w = (width - 2 * HANDOUT_MARGIN - (cols - 1) * HANDOUT_GAP) / cols
    cell_h = (height - 2 * HANDOUT_MARGIN - (rows - 1) * HANDOUT_GAP) / rows
    scale = min((cell_w - (across - 1) * HANDOUT_GAP) / (across * slide_w),
                (cell_h - (down - 1) * HANDOUT_GAP) / (down * slide_h))
    writer = PdfWriter()
    for first in range(0, len(units), rows * cols):
        sheet, frames = writer.add_blank_page(width, height), []
        for n, unit in enumerate(units[first:first + rows * cols]):
            row, col = divmod(n, cols)
            left = HANDOUT_MARGIN + col * (cell_w + HANDOUT_GAP)
            top = height - HANDOUT_MARGIN - row * (cell_h + HANDOUT_GAP)
            for k, page in enumerate(unit):
                if page is None:
                    continue
                x = left + (k if across == 2 else 0) * (scale * slide_w + HANDOUT_GAP)
                y = top - ((k if down == 2 else 0) + 1) * scale * slide_h \
                    - (k if down == 2 else 0) * HANDOUT_GAP
                sheet.merge_transformed_page(
                    page, Transformation().scale(scale, scale).translate(x, y))
                frames.append((x, y, scale * slide_w, scale * slide_h))
        _draw_frames(sheet, frames)
    with open(out, "wb") as fh:
        writer.write(fh)
    return out


def _draw_frames(sheet, frames: list[tuple[float, float, float, float]]) -> None:
    """A thin grey line round each placed page: white slides on white paper
    have no edge of their own, and the notes would run into the slide."""
    from pypdf.generic import ContentStream, FloatObject

    content = sheet.get_contents()
    if content is None:
        return
    content = ContentStream(content, sheet.pdf)
    content.operations += [([FloatObject(0.6)], b"G"), ([FloatObject(0.5)], b"w")]
    for box in frames:
        content.operations += [([FloatObject(v) for v in box], b"re"), ([], b"S")]
    sheet.replace_contents(content)


def pdf_pages(pdf: Path) -> int:
    """Page count of a PDF as Chromium writes it (page objects are plain)."""
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", pdf.read_bytes()))


def build_handouts(build: Path | None = None, optional: bool = False,
                   per_page: int = 1, notes: bool = False) -> list[Path]:
    """A PDF handout per deck (per_page slides to a page, with the speaker
    notes when notes is set); with optional, skip politely without Chromium."""
    out = slides_dir(build)
    decks = sorted(out.glob("*.slides.html"))
    if not decks:
        raise SlidesError(f"no decks in {out}; run `make slides` first")
    if find_chromium() is None and optional:
        print("Chromium is not installed: skipping the PDF handouts "
              "(`apt-get install chromium`, then `make handouts`)", flush=True)
        return []
    import nbformat

    pdfs = []
    with Chromium() as browser:
        for deck in decks:
            pdfs.append(print_handout(deck, browser, per_page, notes))
            pages = pdf_pages(pdfs[-1])
            print(f"handout: {pdfs[-1]} ({pages} pages)", flush=True)
            executed = executed_notebook(deck)
            wanted = expected_slides(read_executed(executed)) \
                if executed.exists() else pages * per_page
            if pages != math.ceil(wanted / per_page):
                raise SlidesError(
                    f"{pdfs[-1].name} has {pages} pages for {wanted} slides at "
                    f"{per_page} to a page: either "
                    f"{deck.name} is older than {executed.name} (run `make slides`) "
                    "or printing split a slide")
    write_index(out)
    return pdfs
