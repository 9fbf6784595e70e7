"""advbook.progress: bars in JupyterLab, none when TQDM_DISABLE is set."""

import nbformat
import pytest
from nbclient import NotebookClient

from advbook import progress


@pytest.mark.parametrize("value, off", [("1", True), ("true", True),
                                        ("0", False), ("", False)])
def test_bars_disabled_reads_the_environment_at_call_time(value, off, monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", value)
    assert progress.bars_disabled() == off
    assert progress.tqdm(range(3)).disable == off


def test_callers_choice_wins(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not progress.tqdm(range(3), disable=False).disable


def _bar_outputs(env_value, monkeypatch):
    """Outputs of a one-cell notebook that loops under advbook's tqdm."""
    cell = nbformat.v4.new_code_cell(
        "from advbook.progress import tqdm\n"
        "for _ in tqdm(range(3), desc='looping'):\n    pass")
    notebook = nbformat.v4.new_notebook(cells=[cell])
    # The kernel inherits this process's environment.
    if env_value is None:
        monkeypatch.delenv("TQDM_DISABLE", raising=False)
    else:
        monkeypatch.setenv("TQDM_DISABLE", env_value)
    NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    return notebook.cells[0].outputs


def test_a_kernel_shows_a_widget_bar_unless_disabled(monkeypatch):
    # tqdm.auto's notebook bar ignores TQDM_DISABLE on its own: the reason
    # advbook.progress exists, and what `make book` relies on.
    shown = _bar_outputs(None, monkeypatch)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
               for o in shown), shown
    assert _bar_outputs("1", monkeypatch) == []
