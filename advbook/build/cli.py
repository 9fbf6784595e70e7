"""The `advbook` command line: doctor, weights, book, slides, handouts, student, site."""

from __future__ import annotations

import argparse
import sys

from ..errors import AdvbookError


def _doctor(_: argparse.Namespace) -> int:
    from .machine import report

    print(report())
    return 0


def _book(args: argparse.Namespace) -> int:
    from .book import build

    return build(args.chapters, smoke=args.smoke)


def _slides(_: argparse.Namespace) -> int:
    from .slides import build_decks

    return 0 if build_decks() else 1


def _handouts(args: argparse.Namespace) -> int:
    from .slides import build_handouts

    build_handouts(optional=args.optional, per_page=args.per_page, notes=args.notes)
    return 0


def _site(_: argparse.Namespace) -> int:
    from .site import build_site, page_sizes

    out = build_site()
    biggest = next(iter(page_sizes(out).items()))
    print(f"site: {out / 'index.html'} (largest page {biggest[0]}, "
          f"{biggest[1] / 1e3:.0f} kB)")
    return 0


def _weights_status(_: argparse.Namespace) -> int:
    from ..models import availability

    for name, status in availability().items():
        print(f"{name:<40} {status}")
    return 0


def _weights_import(args: argparse.Namespace) -> int:
    from ..weights import import_file

    for path in args.paths:
        print(f"imported {path} -> {import_file(path)}")
    return 0


def _student(_: argparse.Namespace) -> int:
    from .book import student_edition

    for path in student_edition():
        print(path)
    return 0


def parser() -> argparse.ArgumentParser:
    """The argument parser of the `advbook` command."""
    top = argparse.ArgumentParser(prog="advbook", description=__doc__)
    commands = top.add_subparsers(dest="command", required=True)

    doctor = commands.add_parser("doctor", help="versions, GPU, weights")
    doctor.set_defaults(run=_doctor)

    book = commands.add_parser("book", help="execute chapters into build/")
    book.add_argument("chapters", nargs="*",
                      help="notebook paths (default: every chapter)")
    book.add_argument("--smoke", action="store_true",
                      help="run with ADVBOOK_SMOKE=1 (small sizes)")
    book.set_defaults(run=_book)

    slides = commands.add_parser(
        "slides", help="offline reveal.js decks of the executed chapters")
    slides.set_defaults(run=_slides)

    handouts = commands.add_parser(
        "handouts", help="a PDF handout per deck, printed by headless Chromium")
    handouts.add_argument("--optional", action="store_true",
                          help="skip with a message when Chromium is missing")
    handouts.add_argument("--per-page", type=int, choices=(1, 2, 4), default=1,
                          help="slides to a page (default 1: one page per slide, "
                               "at the slide's size; 2 and 4 go on A4)")
    handouts.add_argument("--notes", action="store_true",
                          help="print each slide's speaker notes beside it")
    handouts.set_defaults(run=_handouts)

    weights = commands.add_parser("weights", help="classifier weight files")
    actions = weights.add_subparsers(dest="action", required=True)
    actions.add_parser("status", help="which classifiers can run now"
                       ).set_defaults(run=_weights_status)
    importer = actions.add_parser(
        "import", help="copy downloaded keras .h5 files into keras' cache")
    importer.add_argument("paths", nargs="+", help="the .h5 files")
    importer.set_defaults(run=_weights_import)

    student = commands.add_parser(
        "student", help="write build/student/: chapters without solutions")
    student.set_defaults(run=_student)

    site = commands.add_parser(
        "site", help="write build/site/: the book as a static, offline website")
    site.set_defaults(run=_site)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point; AdvbookErrors print as one clear line, not a traceback."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except AdvbookError as err:
        print(f"advbook: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
