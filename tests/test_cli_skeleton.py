"""The command line and the package root: what every user touches first."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import jdeval
from jdeval.cli import main
from jdeval.errors import DataError, Problem


def test_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for command in ("validate", "synth", "score", "build", "verify"):
        assert command in out


def test_python_m_jdeval_version():
    proc = subprocess.run(
        [sys.executable, "-m", "jdeval", "--version"], capture_output=True, text=True
    )
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"jdeval {jdeval.__version__}"


def test_import_is_lazy_and_fast():
    # `import jdeval` must not pull in the heavy layers (pandas estimation, papermill).
    code = (
        "import sys, jdeval; "
        "print(any(m.startswith(('jdeval.effects', 'papermill', 'pyfixest')) "
        "for m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False"


def test_subpackages_reachable_as_attributes():
    assert jdeval.data.__name__ == "jdeval.data"
    with pytest.raises(AttributeError):
        jdeval.nonexistent  # noqa: B018


def test_error_render_lists_every_problem_in_both_languages():
    problems = [
        Problem(
            "error",
            "fk",
            "企业不存在",
            "unknown firm",
            file="a.csv",
            table="awards",
            row=3,
            column="firm_id",
            value="F9",
        ),
        Problem(
            "error",
            "range",
            "金额为负",
            "negative amount",
            file="a.csv",
            table="awards",
            row=7,
            column="approved_amount",
            value=-1.0,
        ),
    ]
    err = DataError("数据不可用 data unusable", problems)
    text = err.render("text")
    assert "行 row=3" in text and "行 row=7" in text
    assert "企业不存在" in text and "unknown firm" in text
    payload = json.loads(err.render("json"))
    assert [p["row"] for p in payload["problems"]] == [3, 7]
    assert payload["problems"][0]["column"] == "firm_id"


def test_one_liners_work_from_any_working_directory(tmp_path):
    """The README snippet, run from a folder that is not the project."""
    code = (
        "import jdeval; ds = jdeval.load_default(); "
        "card = jdeval.scorecard(ds); "
        "print(len(ds.firms) > 0, card.grade in ('优', '良', '中', '差'))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "True"]


def test_help_into_a_closed_pipe_is_not_a_traceback():
    proc = subprocess.run(
        f"{sys.executable} -m jdeval --help | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr and "内部错误" not in proc.stderr


def test_only_the_named_command_is_loaded():
    code = (
        "import sys; from jdeval.cli import make_parser; make_parser(['verify', 'x']); "
        "print(any(m.startswith(('jdeval.data', 'jdeval.report', 'pandas')) "
        "for m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "False", proc.stderr[-2000:]


def test_os_errors_a_user_can_fix_are_messages(capsys):
    import errno

    from jdeval.cli import _os_error

    code = _os_error(PermissionError(errno.EACCES, "Permission denied", "/r/2024"))
    assert code == 2 and "/r/2024" in capsys.readouterr().err
    code = _os_error(OSError(errno.ENOSPC, "No space left on device", "/r/x.html"))
    assert code == 1 and "磁盘空间不足" in capsys.readouterr().err
