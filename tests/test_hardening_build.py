"""Issue 18, items 12-14: build commands keep work and explain broken files."""

from pathlib import Path

import nbformat
import pytest

from advbook.build import book, cli, slides
from advbook.errors import AdvbookError


@pytest.fixture
def build_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("ADVBOOK_BUILD_DIR", str(tmp_path))
    monkeypatch.setattr(slides, "vendor", lambda out: out / "vendor")
    return tmp_path


def _fake_runs(monkeypatch, ok: bool):
    monkeypatch.setattr(book, "_run_isolated", lambda nb, out, env: book.ChapterRun(
        nb.name, ok, 1.0, 10.0))


# --- 12: a subset run must not replace the full report -------------------------

def test_a_subset_run_keeps_the_full_books_report(build_dir, monkeypatch):
    full_md, full_csv = build_dir / "timing-full.md", build_dir / "timing-full.csv"
    full_md.write_text("the whole book\n")
    full_csv.write_text("notebook,ok\n")
    monkeypatch.delenv("ADVBOOK_SMOKE", raising=False)
    _fake_runs(monkeypatch, ok=False)
    assert book.build(["typo.ipynb"]) == 1
    assert full_md.read_text() == "the whole book\n"
    assert full_csv.read_text() == "notebook,ok\n"
    assert "typo.ipynb" in (build_dir / "timing-full-partial.md").read_text()


def test_a_whole_book_run_still_writes_the_full_report(build_dir, monkeypatch):
    monkeypatch.delenv("ADVBOOK_SMOKE", raising=False)
    monkeypatch.setattr(book, "chapters", lambda: [Path("00_setup.ipynb")])
    _fake_runs(monkeypatch, ok=True)
    assert book.build() == 0
    assert "00_setup.ipynb" in (build_dir / "timing-full.md").read_text()


# --- 13: slides keeps decks it cannot rebuild ---------------------------------

def test_slides_keeps_decks_and_handouts_without_executed_notebooks(build_dir):
    out = slides.slides_dir(build_dir)
    (out / "handouts").mkdir(parents=True)
    deck = out / f"{book.chapters()[0].stem}.slides.html"
    deck.write_text("<html>an earlier deck</html>")
    handout = slides.handout_path(deck)
    handout.write_bytes(b"%PDF-1.4 an earlier handout")
    slides.build_decks(build_dir)
    assert deck.read_text() == "<html>an earlier deck</html>"
    assert handout.exists()


# --- 14: corrupt executed notebooks; atomic writes -----------------------------

@pytest.mark.parametrize("content, words", [
    ("{not json", "corrupt"),
    (nbformat.writes(nbformat.v4.new_notebook()), "no cells"),
])
def test_corrupt_executed_notebook_is_one_clear_error(build_dir, capsys,
                                                      content, words):
    name = book.chapters()[0].name
    (build_dir / "notebooks").mkdir()
    (build_dir / "notebooks" / name).write_text(content)
    assert cli.main(["slides"]) == 2
    err = capsys.readouterr().err
    assert words in err and name in err and "Traceback" not in err
    assert "advbook book" in err


def test_write_atomically_keeps_the_old_file_when_writing_fails(tmp_path, monkeypatch):
    target = tmp_path / "chapter.ipynb"
    target.write_text("old")

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(slides.os, "replace", fail)
    with pytest.raises(OSError):
        slides.write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["chapter.ipynb"]


def test_book_writes_executed_notebooks_atomically(tmp_path, monkeypatch):
    from nbconvert.preprocessors import ExecutePreprocessor

    written = []
    monkeypatch.setattr(ExecutePreprocessor, "preprocess", lambda self, nb, res: (nb, res))
    monkeypatch.setattr(slides, "write_atomically",
                        lambda path, text: written.append(path) or path.write_text(text))
    executed = book.execute(book.chapters()[0], tmp_path)
    assert executed in written
    assert nbformat.read(executed, as_version=4).cells
    assert issubclass(slides.SlidesError, AdvbookError)
