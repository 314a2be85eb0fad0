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
