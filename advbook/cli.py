"""The `advbook` command line: doctor, weights, book, student."""

from __future__ import annotations

import argparse
import sys

from .errors import AdvbookError


def _doctor(_: argparse.Namespace) -> int:
    from .machine import report

    print(report())
    return 0


def _book(args: argparse.Namespace) -> int:
    from .book import build

    return build(args.chapters, smoke=args.smoke)


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

    student = commands.add_parser(
        "student", help="write build/student/: chapters without solutions")
    student.set_defaults(run=_student)
    return top


def main(argv: list[str] | None = None) -> int:
    """Entry point; AdvbookErrors print as one clear line, not a traceback."""
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except AdvbookError as err:
        print(f"advbook: {type(err).__name__}: {err}", file=sys.stderr)
        return 2
