"""Exercise checkers: `check(exercise_id, answer)` with pass/fail and a hint.

Each chapter's checkers live in `advbook/exercises/chNN.py` and register
themselves with the `@exercise` decorator. A checker compares the student's
function or value with a reference on fixed inputs. The references are
readable in those files: determined students can peek, and that is fine.
"""

from __future__ import annotations

import copy
import functools
import importlib
import pkgutil
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..errors import ExerciseError


class Mismatch(Exception):
    """Raised inside a checker: the answer is wrong; the message is a hint."""


def require_function(answer: Any, name: str) -> None:
    """The answer must be the student's function itself, not its result."""
    if not callable(answer):
        raise Mismatch(f"assign the function itself: answer = {name}")


def require_result(value: Any, kind: str = "the result") -> Any:
    """The answer's return value, unless it is None (a missing `return`)."""
    if value is None:
        raise Mismatch(f"your function returns None; return {kind}")
    return value


def require_array(value: Any, shape: tuple, what: str = "the result") -> Any:
    """A returned value as a float array of the expected shape."""
    import numpy as np

    value = np.asarray(require_result(value, "an array"), float)
    if value.shape != shape:
        raise Mismatch(f"{what} has shape {value.shape}; want {shape}")
    return value


@dataclass(frozen=True)
class Exercise:
    """One checkable exercise."""

    exercise_id: str
    title: str
    checker: Callable[[Any], None]  # raises Mismatch(hint) on a wrong answer
    reference: Callable[[], Any]  # builds a correct answer, for our tests
    wrong: Callable[[], Any]  # builds a plausible wrong answer, for our tests


_REGISTRY: dict[str, Exercise] = {}


def exercise(exercise_id: str, title: str, *, reference: Callable[[], Any],
             wrong: Callable[[], Any]) -> Callable:
    """Decorator registering a checker function under `exercise_id`."""

    def register(checker: Callable[[Any], None]) -> Callable[[Any], None]:
        _REGISTRY[exercise_id] = Exercise(exercise_id, title, checker,
                                          reference, wrong)
        return checker

    return register


def _load_all() -> None:
    """Import every chNN module so its exercises register."""
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("ch"):
            importlib.import_module(f"{__name__}.{info.name}")


def all_exercises() -> dict[str, Exercise]:
    """Every registered exercise, by id."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


TIME_LIMIT_S = 60.0  # generous: the slowest reference runs in about a second


class _TimeUp(BaseException):
    """Raised in the answer when its time runs out (a BaseException, so a
    student's `except Exception` cannot swallow it)."""


@contextmanager
def _time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the code inside after `seconds` of wall time.

    A SIGALRM timer in the main thread: a Jupyter kernel runs cells in its
    main thread on Linux, and the signal interrupts pure-Python loops (the
    usual way an answer hangs) without a second process, so the answer keeps
    working on the notebook's own objects. A thread could not stop the loop;
    a subprocess would need every argument pickled. Off the main thread, or
    where SIGALRM is missing, the answer runs without a limit.
    """
    usable = (hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def time_up(signum: int, frame: Any) -> None:
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, time_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _copied(value: Any) -> Any:
    """A private copy of array-like arguments; other objects as they are."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)) and any(isinstance(v, np.ndarray)
                                                for v in value):
        return type(value)(_copied(v) for v in value)
    if isinstance(value, dict):
        return copy.copy(value)
    return value


def _with_copies(answer: Any) -> Any:
    """The answer, called with copies of its array arguments.

    A correct answer may change its inputs in place; the checker must then
    still compute its reference from the originals.
    """
    if not callable(answer):
        return answer

    @functools.wraps(answer)
    def call(*args: Any, **kwargs: Any) -> Any:
        return answer(*(_copied(a) for a in args),
                      **{k: _copied(v) for k, v in kwargs.items()})

    return call


def evaluate(exercise_id: str, answer: Any,
             time_limit: float = TIME_LIMIT_S) -> tuple[bool, str]:
    """Run the checker; return (passed, message) without printing."""
    exercises = all_exercises()
    if exercise_id not in exercises:
        raise ExerciseError(
            f"no exercise called {exercise_id!r}; known: "
            f"{', '.join(exercises)}")
    item = exercises[exercise_id]
    head = f"✗ {exercise_id} ({item.title})"
    try:
        with _time_limit(time_limit):
            item.checker(_with_copies(answer))
    except Mismatch as hint:
        return False, f"{head}: not yet. Hint: {hint}"
    except _TimeUp:
        return False, (f"{head}: your answer was still running after "
                       f"{time_limit:g} s, so it was stopped. Hint: look for "
                       "a loop that never ends (a while loop whose condition "
                       "never changes)")
    except (SystemExit, KeyboardInterrupt) as err:
        # sys.exit() or exit() would otherwise end the cell (or the kernel).
        return False, (f"{head}: your answer called {type(err).__name__} "
                       "(sys.exit(), exit() or raise). Hint: return the "
                       "result instead of exiting")
    except Exception as err:  # noqa: BLE001 - a crashing answer is a wrong answer
        return False, (f"{head}: your answer raised "
                       f"{type(err).__name__}: {err}")
    return True, f"✓ {exercise_id} ({item.title}): correct."


def check(exercise_id: str, answer: Any,
          time_limit: float = TIME_LIMIT_S) -> None:
    """Check a student's answer and print ✓, or ✗ with a hint."""
    # Returns nothing, so a notebook shows the verdict alone; use
    # evaluate() for the verdict as a value.
    print(evaluate(exercise_id, answer, time_limit)[1])
