"""The worker's notebook run: a kernel that dies while starting is started once more."""

from __future__ import annotations

import json
import sys

import nbformat
import pytest
from test_build_helpers import make_notebook

from jdeval.build.worker import run_task

pytestmark = pytest.mark.build

# A kernel that exits at once the first ``fails`` times it is started, then runs.
FLAKY = """\
import sys
from pathlib import Path
count = Path(__file__).with_name("starts")
n = int(count.read_text()) if count.exists() else 0
count.write_text(str(n + 1))
if n < {fails}:
    sys.exit(1)
from ipykernel.kernelapp import launch_new_instance
launch_new_instance()
"""


def _flaky_kernel(root, monkeypatch, fails):
    spec = root / "kernels" / "flaky"
    spec.mkdir(parents=True)
    script = root / "flaky.py"
    script.write_text(FLAKY.format(fails=fails), encoding="utf-8")
    argv = [sys.executable, str(script), "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "flaky", "language": "python"}),
        encoding="utf-8",
    )
    monkeypatch.setenv("JUPYTER_PATH", str(root))
    return root / "starts"


def _task(root):
    cells = [("md", "# 测试 Test"), ("code", "print('算了 ran', x + 1)")]
    nb = make_notebook(root / "nb.ipynb", "x = 1", cells)
    return {
        "input": str(nb),
        "output": str(root / "out.ipynb"),
        "html": str(root / "out.html"),
        "cwd": str(root),
        "parameters": {"x": 2},
        "kernel_name": "flaky",
        "page": {
            "title_zh": "测试",
            "title_en": "Test",
            "parameters": [],
            "fingerprint": "f",
            "build_time": "t",
            "version": "v",
        },
        "timeout": 120,
    }


def test_a_kernel_that_dies_while_starting_is_started_once_more(tmp_path, monkeypatch):
    starts = _flaky_kernel(tmp_path, monkeypatch, fails=1)
    result = run_task(_task(tmp_path))
    assert result["status"] == "ok", result.get("error")
    assert starts.read_text() == "2"
    assert "算了 ran 3" in (tmp_path / "out.ipynb").read_text(encoding="utf-8")


def test_a_kernel_that_keeps_dying_fails_the_notebook_with_the_reason(
    tmp_path, monkeypatch
):
    starts = _flaky_kernel(tmp_path, monkeypatch, fails=5)
    result = run_task(_task(tmp_path))
    assert result["status"] == "failed"
    assert result["error"]["evalue"].startswith("Kernel died before replying")
    assert starts.read_text() == "2"


def test_a_kernel_started_ahead_runs_the_notebook_as_a_fresh_one(tmp_path):
    """Imports done ahead; the task's folder and environment set before cell 1."""
    from jdeval.build.warmkernel import Ahead

    work = tmp_path / "work"
    work.mkdir()
    cells = [
        ("md", "# 测试 Test"),
        (
            "code",
            "import os, sys\n"
            "print('ahead', 'colorsys' in sys.modules, os.getcwd(), "
            "os.environ.get('JDEVAL_TEST_X'), x)",
        ),
    ]
    nb = make_notebook(tmp_path / "ahead.ipynb", "x = 1", cells)
    task = {
        **_task(tmp_path),
        "input": str(nb),
        "cwd": str(work),
        "kernel_name": "python3",
        "env": {"JDEVAL_TEST_X": "任务 task"},
    }
    ahead = Ahead(["colorsys"])
    ahead.start()
    try:
        result = run_task(task, ahead)
    finally:
        ahead.close()
    assert result["status"] == "ok", result.get("error")
    out = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    code = [c for c in out.cells if c.cell_type == "code"]
    printed = "".join(o.get("text", "") for c in code for o in c.outputs)
    assert f"ahead True {work} 任务 task 2" in printed
    assert [c["execution_count"] for c in code] == list(range(1, len(code) + 1))
    assert ahead.next is None and ahead.used is None


def test_the_suite_kernels_import_what_every_notebook_imports(tmp_path):
    from jdeval.build.runner import _warm_imports, imported_modules

    a = make_notebook(
        tmp_path / "a.ipynb",
        "x = 1",
        [
            (
                "code",
                "%matplotlib inline\nimport jdeval\nfrom jdeval.report import fonts",
            )
        ],
    )
    b = make_notebook(
        tmp_path / "b.ipynb",
        "x = 1",
        [
            (
                "code",
                "import jdeval.data as d\nfrom jdeval.report import charts\nimport json",
            )
        ],
    )
    nb_a = json.loads(a.read_text(encoding="utf-8"))
    assert imported_modules(nb_a) == {"jdeval", "jdeval.report"}
    assert _warm_imports([(None, a), (None, b)]) == "jdeval.report"
