"""Exercise checkers: `check(exercise_id, answer)` with pass/fail and a hint.

Each chapter's checkers live in `advbook/exercises/chNN.py` and register
themselves with the `@exercise` decorator. A checker compares the student's
function or value with a reference on fixed inputs. The references are
readable in those files: determined students can peek, and that is fine.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import ExerciseError


class Mismatch(Exception):
    """Raised inside a checker: the answer is wrong; the message is a hint."""


def require_function(answer: Any, name: str) -> None:
    """The answer must be the student's function itself, not its result."""
    if not callable(answer):
        raise Mismatch(f"assign the function itself: answer = {name}")


def require_array(value: Any, shape: tuple, what: str = "the result") -> Any:
    """A returned value as a float array of the expected shape."""
    import numpy as np

    if value is None:
        raise Mismatch("your function returns None; return the result")
    value = np.asarray(value, float)
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


def evaluate(exercise_id: str, answer: Any) -> tuple[bool, str]:
    """Run the checker; return (passed, message) without printing."""
    exercises = all_exercises()
    if exercise_id not in exercises:
        raise ExerciseError(
            f"no exercise called {exercise_id!r}; known: "
            f"{', '.join(exercises)}")
    item = exercises[exercise_id]
    try:
        item.checker(answer)
    except Mismatch as hint:
        return False, f"✗ {exercise_id} ({item.title}): not yet. Hint: {hint}"
    except Exception as err:  # noqa: BLE001 - a crashing answer is a wrong answer
        return False, (f"✗ {exercise_id} ({item.title}): your answer raised "
                       f"{type(err).__name__}: {err}")
    return True, f"✓ {exercise_id} ({item.title}): correct."


def check(exercise_id: str, answer: Any) -> None:
    """Check a student's answer and print ✓, or ✗ with a hint."""
    # Returns nothing, so a notebook shows the verdict alone; use
    # evaluate() for the verdict as a value.
    print(evaluate(exercise_id, answer)[1])
