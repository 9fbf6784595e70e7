"""`make site`: the reader's book as one static Sphinx site in build/site/."""

from __future__ import annotations

import copy
import html
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .. import config
from ..errors import AdvbookError

TEMPLATE = Path(__file__).resolve().parent / "templates" / "site"

# What the reader sees of each tagged cell, as myst-nb tags: the smoke and
# claim cells are machinery (collapsed, one click away), a solution shows
# its ✓ but keeps its source folded until the reader asks for it. Lecturer
# notes are removed before this (book.reader_copy), so they never reach the
# sources, the pages or the search index.
CELL_TAGS = {"smoke": "hide-cell", "claim": "hide-cell", "solution": "hide-input"}

# The Python packages sphinx-build needs (import names, pip names).
GENERATOR = [("sphinx", "sphinx"), ("myst_nb", "myst-nb"),
             ("sphinx_book_theme", "sphinx-book-theme")]


class SiteError(AdvbookError):
    """The reader's site cannot be built, with what is missing and the fix."""


def site_dir(build: Path | None = None) -> Path:
    """The finished site: copy or publish this one folder."""
    return (build or config.build_dir()) / "site"


def _title(nb: Any) -> str:
    from .slides import title

    return title(nb)


def reader_notebook(nb: Any, links: str = "") -> Any:
    """A copy of an executed chapter as the site shows it.

    Lecturer notes go, tagged cells get the myst-nb tag that folds them,
    and `links` (HTML) goes right under the title.
    """
    from .book import reader_copy

    nb = reader_copy(copy.deepcopy(nb))
    for cell in nb.cells:
        tags = list(cell.metadata.get("tags", []))
        extra = [CELL_TAGS[t] for t in tags if t in CELL_TAGS]
        if extra:
            cell.metadata["tags"] = tags + [t for t in extra if t not in tags]
    if links:
        import nbformat

        # Raw HTML, not a Markdown link: MyST would turn a link to a
        # non-page file into a download and copy the file a second time.
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(links))
    return nb


def _chapter_links(stem: str, extra: Path) -> str:
    """HTML links to a chapter's deck, handout and student notebook, if made."""
    found = [(label, rel) for label, rel in (
        ("Slides", f"slides/{stem}.slides.html"),
        ("PDF handout", f"slides/handouts/{stem}.pdf"),
        ("Student notebook", f"student/{stem}.ipynb"),
    ) if (extra / rel).exists()]
    if not found:
        return ""
    items = " &middot; ".join(f'<a href="{html.escape(rel)}">{label}</a>'
                              for label, rel in found)
    return f'<p class="advbook-links">{items}</p>'


def _index_page(chapters: list[tuple[str, str]], extra: Path) -> str:
    """The home page: what the book is, the other editions, the contents."""
    rows = []
    for stem, name in chapters:
        cells = [f"[{name}]({stem}.ipynb)"]
        for rel in (f"slides/{stem}.slides.html", f"slides/handouts/{stem}.pdf",
                    f"student/{stem}.ipynb"):
            cells.append(f'<a href="{rel}">{Path(rel).suffix[1:]}</a>'
                         if (extra / rel).exists() else "–")
        rows.append("| " + " | ".join(cells) + " |")
    decks = ("- **Lecturers**: <a href=\"slides/index.html\">all the slide "
             "decks</a>, with PDF handouts.\n" if (extra / "slides" / "index.html").exists()
             else "")
    return f"""# advbook: adversarial examples, runnable

A Jupyter companion to the textbook chapter on adversarial examples: from
the SGD update to gradient ascent on pixels, FGSM, Gaussian-noise attacks,
PGD on ImageNet classifiers, transferability and defences. Every figure and
number on these pages was produced by the code above it, and every claim
is checked by an `assert` (folded under "Show code cell").

- **Readers**: start with the first chapter in the contents on the left,
  or search with the box at the top.
- **Students**: the notebooks without the solutions are in the student
  edition (the *student* column below); open them in JupyterLab.
{decks}
| chapter | slides | handout | student notebook |
|---|---|---|---|
{chr(10).join(rows)}

```{{toctree}}
:hidden:
:maxdepth: 1

{chr(10).join(stem for stem, _ in chapters)}
```
"""


def _check_generator() -> None:
    missing = [pip for module, pip in GENERATOR if importlib.util.find_spec(module) is None]
    if missing:
        raise SiteError(
            f"{', '.join(missing)} not installed, so no site; run "
            "`pip install -e .` (or `make site`, which installs the project "
            "into .venv) to get the generator pyproject.toml declares")


def _vendor_mathjax(static: Path) -> None:
    """The parts of MathJax 2.7 the pages use, from npm, into _static/."""
    from .slides import NODE_MODULES, VENDOR_FILES

    source = NODE_MODULES / "mathjax"
    if not (source / "MathJax.js").is_file():
        raise SiteError(
            f"MathJax not found in {NODE_MODULES}; run `npm ci` in "
            f"{config.REPO_ROOT} (`make site` does it) so the pages can show "
            "equations without the internet")
    for pkg, part in VENDOR_FILES:  # the same subset the decks ship
        if pkg != "mathjax":
            continue
        src, dest = source / part, static / "mathjax" / part
        dest.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dest, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dest)


def _copy_editions(build: Path, extra: Path) -> None:
    """Decks, handouts and the student edition, next to the pages."""
    from .book import student_edition

    # The student edition comes from chapters/, not from an execution, so
    # it is cheap enough to make afresh every time.
    student_edition(build)
    shutil.copytree(build / "student", extra / "student")
    slides = build / "slides"
    if (slides / "index.html").exists():
        shutil.copytree(slides, extra / "slides")
    else:
        print("no decks in build/slides/: the site will not link them "
              "(`make slides`, then `make site`)", flush=True)


def build_site(build: Path | None = None, quiet: bool = True) -> Path:
    """Turn the executed chapters in build/notebooks/ into build/site/."""
    import nbformat

    from .slides import read_executed, remote_resources

    build = build or config.build_dir()
    executed = sorted((build / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not executed:
        raise SiteError(
            f"no executed chapters in {build / 'notebooks'}; run `make book` "
            "(or `advbook book`) first: the site shows their outputs")
    _check_generator()

    # Sphinx reads a source folder; it is rebuilt from scratch each time so
    # that a chapter removed from the book leaves the site too.
    source = build / "site-src"
    shutil.rmtree(source, ignore_errors=True)
    extra = source / "extra"
    extra.mkdir(parents=True)
    _vendor_mathjax(source / "_static")
    shutil.copy2(TEMPLATE / "conf.py", source / "conf.py")
    shutil.copy2(TEMPLATE / "advbook.css", source / "_static" / "advbook.css")
    _copy_editions(build, extra)

    chapters = []
    for path in executed:
        nb = read_executed(path)
        chapters.append((path.stem, _title(nb) or path.stem))
        page = reader_notebook(nb, _chapter_links(path.stem, extra))
        nbformat.write(page, source / path.name)
    (source / "index.md").write_text(_index_page(chapters, extra), encoding="utf-8")

    out = site_dir(build)
    shutil.rmtree(out, ignore_errors=True)
    # -E: no stale pickles from an earlier build; -j auto would race the
    # myst-nb image extraction on two cores for little gain.
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-n",
               "-d", str(build / "site-doctrees"), str(source), str(out)]
    if quiet:
        command.insert(3, "-q")
    log = build / "logs" / "site.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w") as sink:
        done = subprocess.run(command, stdout=sink, stderr=subprocess.STDOUT,
                              env=dict(os.environ, PYTHONWARNINGS="ignore"))
    if done.returncode != 0:
        print(log.read_text()[-3000:], file=sys.stderr)
        raise SiteError(f"sphinx-build failed (exit {done.returncode}); the whole "
                        f"log is in {log}")
    shutil.rmtree(out / ".doctrees", ignore_errors=True)
    (out / ".nojekyll").touch()  # GitHub Pages would hide _static/ otherwise

    leaks = {}
    for page in out.glob("*.html"):
        found = remote_resources(page.read_text(encoding="utf-8"))
        if found:
            leaks[page.name] = found
    if leaks:
        name, urls = next(iter(leaks.items()))
        raise SiteError(f"{name} would load {', '.join(urls[:3])} from the network; "
                        "the site must work offline: ship the file in the build")
    return out


def page_sizes(out: Path) -> dict[str, int]:
    """Bytes of every HTML page of a site, the biggest first."""
    sizes = {p.name: p.stat().st_size for p in out.glob("*.html")}
    return dict(sorted(sizes.items(), key=lambda kv: -kv[1]))
