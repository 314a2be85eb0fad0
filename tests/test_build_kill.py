"""A build killed with SIGKILL at any moment leaves the previous report intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_build_helpers import make_notebook, tree_digest

from jdeval.build import build

pytestmark = [pytest.mark.build, pytest.mark.skipif(os.name != "posix", reason="POSIX")]

SLOW = """\
import time
from pathlib import Path
for i in range(int(pause * 10)):
    time.sleep(0.1)
Path(out_dir or ".", "written_%d.txt" % year).write_text("new", encoding="utf-8")
print("done", year)"""

BUILD = """\
import sys
from jdeval.build import build
build(int(sys.argv[1]), data=sys.argv[2], out=sys.argv[3], notebooks=sys.argv[4],
      check_data=False, jobs=2)
"""


def _workers_of(stage_prefix: str) -> list[int]:
    """Pids of processes whose command line mentions a staging folder."""
    pids = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            cmd = (d / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if stage_prefix in cmd:
            pids.append(int(d.name))
    return pids


def _suite(tmp_path: Path) -> tuple[Path, Path, Path]:
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    params = 'year = 2024  # 年度 year\nout_dir = ""  # 输出 out\npause = 1.5  # 秒 s'
    make_notebook(nbs / "01_a.ipynb", params, [("md", "# A"), ("code", SLOW)])
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n", encoding="utf-8")
    out = tmp_path / "reports" / "2024"
    return nbs, data, out


# moments: interpreter start-up, kernels starting, cells running, rendering;
# one moment runs in the fast suite, the sweep in `make test-all`.
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(
    "moments",
    [
        pytest.param((0.5,), id="mid-run"),
        pytest.param(
            (0.02, 0.2, 0.4, 0.6, 0.8, 0.95), id="sweep", marks=pytest.mark.slow
        ),
    ],
)
def test_sigkill_keeps_previous_report(tmp_path, moments):
    """Kill -9 at fractions of the time an uninterrupted build takes."""
    nbs, data, out = _suite(tmp_path)
    t0 = time.perf_counter()
    build(
        2024,
        data=data,
        out=out,
        notebooks=nbs,
        check_data=False,
        progress=lambda s: None,
    )
    duration = time.perf_counter() - t0
    before = tree_digest(out)
    assert "written_2024.txt" in before

    script = tmp_path / "b.py"
    script.write_text(BUILD, encoding="utf-8")
    killed = 0
    for moment in moments:
        delay = moment * duration
        proc = subprocess.Popen(
            [sys.executable, str(script), "2025", str(data), str(out), str(nbs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        if proc.poll() is not None:  # finished already: later moments are too late
            break
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        killed += 1
        assert tree_digest(out) == before, f"report changed after kill at {delay}s"
        visible = sorted(
            p.name for p in out.parent.iterdir() if not p.name.startswith(".")
        )
        assert visible == ["2024"], visible
        # the workers die with the build (PR_SET_PDEATHSIG) instead of writing on
        stage = str(out.parent / ".2024.building-")
        deadline = time.time() + 10
        while _workers_of(stage) and time.time() < deadline:
            time.sleep(0.2)
        assert _workers_of(stage) == []
    assert killed >= 1

    # the next build cleans the stale staging folders and publishes
    build(
        2025,
        data=data,
        out=out,
        notebooks=nbs,
        check_data=False,
        progress=lambda s: None,
    )
    after = tree_digest(out)
    assert "written_2025.txt" in after and "written_2024.txt" not in after
    hidden = [p.name for p in out.parent.iterdir() if p.name.startswith(".")]
    assert hidden == [".2024.lock"], hidden
