"""The advbook command line."""

import subprocess
import sys

from advbook.build import cli, machine


def test_doctor_reports_versions_device_and_weight_folders():
    text = machine.report()
    for expected in ("tensorflow", "keras", "foolbox", "GPU:", "keras cache",
                     "ADVBOOK_WEIGHTS_DIR", "converted weights"):
        assert expected in text


def test_python_dash_m_advbook_doctor_runs():
    done = subprocess.run([sys.executable, "-m", "advbook", "doctor"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "advbook doctor" in done.stdout


def test_unknown_subcommand_is_a_usage_error(capsys):
    try:
        cli.main(["frobnicate"])
    except SystemExit as stop:
        assert stop.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_ab_doctor_can_be_called_twice(capsys):
    import advbook as ab

    ab.doctor()
    ab.doctor()  # a submodule named `doctor` once shadowed this function
    assert capsys.readouterr().out.count("advbook doctor") == 2


def test_every_module_is_reachable_from_the_package():
    # A fresh interpreter: in this one, other tests have imported modules.
    probe = ("import pkgutil, advbook as ab; print(' '.join(m.name for m in "
             "pkgutil.iter_modules(ab.__path__) if not m.name.startswith('_') "
             "and not hasattr(ab, m.name)))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    # advbook.build is kept out of the reader's namespace on purpose.
    assert done.stdout.split() == ["build"], f"not reachable as ab.NAME: {done.stdout}"
