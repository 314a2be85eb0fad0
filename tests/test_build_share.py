"""The build-scoped cache (``jdeval.build.shared``) and the dependency-aware schedule.

Checks: outside a build nothing is cached; inside, a result is computed once per
function, data and arguments, and any change of those recomputes; damaged entries are
recomputed; unpicklable fitted models are left out; notebook 05 waits for 02 and
prerequisites missing from a custom suite are ignored.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from test_build_helpers import make_notebook

from jdeval.build import build, shared
from jdeval.build.runner import NOTEBOOKS, Notebook, _next_ready, _start_order
from jdeval.build.share import ENV_CACHE, dataset_fingerprint


def _ds(value: float = 1.0) -> SimpleNamespace:
    return SimpleNamespace(
        tables={
            "firms": pd.DataFrame({"firm_id": ["F1", "F2"], "x": [value, 2.0]}),
            "awards": pd.DataFrame({"award_id": ["A1"], "amount": [10.0]}),
        }
    )


class _Counter:
    """An analysis that counts its calls and returns a fresh object each time."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, ds, *, year: int, scale: float = 1.0) -> dict:
        self.calls += 1
        total = float(ds.tables["firms"]["x"].sum()) * scale
        return {"year": year, "total": total, "frame": ds.tables["firms"].copy()}


def test_outside_a_build_always_computes(monkeypatch):
    monkeypatch.delenv(ENV_CACHE, raising=False)
    fn = _Counter()
    assert shared(fn, _ds(), year=2024)["total"] == 3.0
    assert shared(fn, _ds(), year=2024)["total"] == 3.0
    assert fn.calls == 2


def test_inside_a_build_computes_once_per_key(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    fn = _Counter()
    first = shared(fn, _ds(), year=2024)
    again = shared(fn, _ds(), year=2024)
    assert fn.calls == 1
    assert again["total"] == first["total"] == 3.0
    pd.testing.assert_frame_equal(again["frame"], first["frame"])
    # another year, another option, other data: computed again, right values
    assert shared(fn, _ds(), year=2023)["year"] == 2023
    assert shared(fn, _ds(), year=2024, scale=2.0)["total"] == 6.0
    assert shared(fn, _ds(5.0), year=2024)["total"] == 7.0
    assert fn.calls == 4
    assert len(list((tmp_path / "cache").glob("*.pkl"))) == 4


def test_damaged_entry_is_recomputed(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    fn = _Counter()
    shared(fn, _ds(), year=2024)
    (entry,) = tmp_path.glob("*.pkl")
    entry.write_bytes(b"not a pickle")
    assert shared(fn, _ds(), year=2024)["total"] == 3.0
    assert fn.calls == 2


class _FittedModel:
    """Stands for a pyfixest model: holds a local function, so it cannot pickle."""

    def __init__(self) -> None:
        self.method = lambda: None


_FittedModel.__module__ = "pyfixest.estimation.fake"


def test_fitted_models_are_left_out(monkeypatch, tmp_path):
    with pytest.raises((pickle.PicklingError, AttributeError)):
        pickle.dumps(_FittedModel())
    monkeypatch.setenv(ENV_CACHE, str(tmp_path))

    def fit(ds, *, year):
        return {"estimate": 0.25, "extra": {"model": _FittedModel()}}

    assert isinstance(shared(fit, _ds(), year=2024)["extra"]["model"], _FittedModel)
    cached = shared(fit, _ds(), year=2024)
    assert cached == {"estimate": 0.25, "extra": {"model": None}}


def test_fingerprint_sees_values_columns_and_dtypes():
    base = dataset_fingerprint(_ds())
    assert dataset_fingerprint(_ds()) == base
    assert dataset_fingerprint(_ds(1.5)) != base
    ds = _ds()
    ds.tables["firms"] = ds.tables["firms"].rename(columns={"x": "y"})
    assert dataset_fingerprint(ds) != base
    ds = _ds()
    ds.tables["firms"]["x"] = ds.tables["firms"]["x"].astype("float32")
    assert dataset_fingerprint(ds) != base


def test_annual_report_starts_after_policy_effects():
    suite = [(nb, Path(f"{nb.name}.ipynb")) for nb in NOTEBOOKS]
    pending = _start_order(suite)
    names = [nb.name for nb, _ in pending]
    assert names[0] == "02_policy_effects"
    assert sorted(names) == sorted(nb.name for nb in NOTEBOOKS)
    # 02 waiting too: 05 is not ready, another notebook goes first
    at_05 = [p for p in pending if p[0].name != "02_policy_effects"]
    only_05 = [p for p in pending if p[0].name == "05_annual_report"]
    with_02 = [pending[0], *only_05]
    assert _next_ready(with_02[::-1], {}) == 1  # 02 before 05 whatever the order
    assert _next_ready(only_05 + with_02[:1], {"x": None}) == 1
    # once 02 has started, 05 may start (it waits for the shared estimate)
    assert pending.index(only_05[0]) > 0
    assert _next_ready(at_05[at_05.index(only_05[0]) :], {"02": None}) == 0


def test_prerequisite_missing_from_suite_is_ignored():
    nb = Notebook("05_annual_report", "报告", "Report", after=("02_policy_effects",))
    assert _next_ready([(nb, Path("x.ipynb"))], {"01_a": None}) == 0


def test_waiting_for_a_result_another_process_computes(monkeypatch, tmp_path):
    """A second process asking for the same result waits and does not recompute."""
    import subprocess
    import sys
    import time

    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    script = tmp_path / "slow.py"
    script.write_text(
        "import time\n"
        "from types import SimpleNamespace\n"
        "import pandas as pd\n"
        "from jdeval.build import shared\n"
        "def slow(ds, *, year):\n"
        "    open(r'%s', 'a').write('x')\n"
        "    time.sleep(2)\n"
        "    return year * 2\n"
        "ds = SimpleNamespace(tables={'t': pd.DataFrame({'v': [1.0]})})\n"
        "print(shared(slow, ds, year=2024))\n" % (tmp_path / "calls.txt"),
        encoding="utf-8",
    )
    first = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE)
    deadline = time.time() + 30
    while not (tmp_path / "calls.txt").exists() and time.time() < deadline:
        time.sleep(0.05)
    second = subprocess.run(
        [sys.executable, str(script)], capture_output=True, check=True
    )
    assert first.communicate()[0].strip() == second.stdout.strip() == b"4048"
    assert (tmp_path / "calls.txt").read_text() == "x"


SHARE = """\
from pathlib import Path
from types import SimpleNamespace
import pandas as pd
from jdeval.build import shared
calls = Path(out_dir or ".", "calls.txt")

def slow_sum(ds, *, year):
    with open(calls, "a", encoding="utf-8") as f:
        f.write("computed\\n")
    return float(ds.tables["t"]["v"].sum()) + year

ds = SimpleNamespace(tables={"t": pd.DataFrame({"v": [1.0, 2.0]})})
print("result", shared(slow_sum, ds, year=year))"""


@pytest.mark.build
def test_second_notebook_reads_what_the_first_computed(tmp_path):
    """Inside a real build the cache is shared across notebooks and not published."""
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    params = 'year = 2024  # 年度 year\nout_dir = ""  # 输出 out'
    for name in ("01_first", "02_second"):
        make_notebook(
            nbs / f"{name}.ipynb", params, [("md", f"# {name}"), ("code", SHARE)]
        )
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n1\n", encoding="utf-8")
    out = tmp_path / "reports" / "2024"
    build(
        2024,
        data=data,
        out=out,
        notebooks=nbs,
        check_data=False,
        jobs=1,
        progress=lambda s: None,
    )
    assert (out / "calls.txt").read_text(encoding="utf-8") == "computed\n"
    assert not list(out.rglob("*.pkl")) and not (out / "_tasks").exists()


class _FileReader:
    """An analysis reading a file named by a keyword argument."""

    calls = 0

    def __call__(self, ds, *, path: str) -> str:
        type(self).calls += 1
        return Path(path).read_text(encoding="utf-8")


def test_persistent_results_never_stale(monkeypatch, tmp_path):
    """Kept across builds: the key covers the jdeval source and files passed by name,
    and every call is recorded for the manifest."""
    import json

    from jdeval.build.share import ENV_SHARED_LOG

    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_SHARED_LOG, str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("JDEVAL_CODE_VERSION", "v1")
    fn, f = _FileReader(), tmp_path / "weights.yaml"
    f.write_text("A: 10\n", encoding="utf-8")
    assert shared(fn, _ds(), path=str(f)) == "A: 10\n"
    assert shared(fn, _ds(), path=str(f)) == "A: 10\n" and fn.calls == 1
    f.write_text("A: 15\n", encoding="utf-8")  # same name, new content
    assert shared(fn, _ds(), path=str(f)) == "A: 15\n" and fn.calls == 2
    monkeypatch.setenv("JDEVAL_CODE_VERSION", "v2")  # jdeval was edited
    assert shared(fn, _ds(), path=str(f)) == "A: 15\n" and fn.calls == 3
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [c["reused"] for c in calls] == [False, True, False, False]


def test_loaded_data_are_shared_by_content(monkeypatch, tmp_path, ds):
    import json
    import shutil

    from jdeval.build import load_data
    from jdeval.build.share import ENV_SHARED_LOG

    data = tmp_path / "data"
    shutil.copytree(ds.source, data)
    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_SHARED_LOG, str(tmp_path / "calls.jsonl"))
    first = load_data(data)
    again = load_data(data)
    for name, table in first.tables.items():
        pd.testing.assert_frame_equal(again.tables[name], table)
    (data / ".hidden").write_text("x", encoding="utf-8")  # not data: same key
    load_data(data)
    (data / "towns.csv").write_bytes((data / "towns.csv").read_bytes() + b"\n")
    load_data(data)  # a data file changed: loaded again
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [c["reused"] for c in calls] == [False, True, True, False]


def test_data_check_and_load_share_one_parse(monkeypatch, tmp_path, ds):
    """validate_data and load_data read one cached check; errors still raise."""
    import json
    import shutil

    from jdeval.build import load_data, validate_data
    from jdeval.build.share import ENV_SHARED_LOG
    from jdeval.errors import DataError

    data = tmp_path / "data"
    shutil.copytree(ds.source, data)
    monkeypatch.setenv(ENV_SHARED_LOG, str(tmp_path / "calls.jsonl"))
    cache = tmp_path / "cache"
    check = validate_data(data, cache=cache)  # explicit cache: the build's check
    assert check.ok and check.dataset is not None
    monkeypatch.setenv(ENV_CACHE, str(cache))  # a notebook of the same build
    loaded = load_data(data)
    pd.testing.assert_frame_equal(
        loaded.tables["awards"], check.dataset.tables["awards"]
    )
    assert len(validate_data(data).findings) == len(check.findings)
    awards = (data / "awards.csv").read_text(encoding="utf-8-sig").splitlines()
    awards[1] = awards[1].replace(",", ",not-a-number-", 1)  # break one cell
    (data / "awards.csv").write_text("\n".join(awards) + "\n", encoding="utf-8")
    assert not validate_data(data).ok
    with pytest.raises(DataError):
        load_data(data)
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [(c["function"], c["reused"]) for c in calls] == [
        ("validate", False),
        ("validate", True),
        ("validate", True),
        ("validate", False),
        ("validate", True),
    ]


class _Mean:
    """An analysis taking a DataFrame argument (counted)."""

    calls = 0

    def __call__(self, ds, *, frame: pd.DataFrame, base: object = None) -> float:
        type(self).calls += 1
        return float(frame["v"].mean())


def test_object_arguments_count_by_content(monkeypatch, tmp_path):
    """A DataFrame differing in a row its repr does not show is another key; a
    result of another shared call counts by that call's key; an unpicklable
    argument is never reused."""
    monkeypatch.setenv(ENV_CACHE, str(tmp_path))
    fn = _Mean()
    big = pd.DataFrame({"v": [1.0] * 200})
    assert shared(fn, _ds(), frame=big) == 1.0
    changed = big.copy()
    changed.loc[100, "v"] = 201.0  # hidden in the middle of the repr
    assert repr(changed) == repr(big)
    assert shared(fn, _ds(), frame=changed) == 2.0
    assert shared(fn, _ds(), frame=big.copy()) == 1.0 and fn.calls == 2
    counter = _Counter()
    first = shared(counter, _ds(), year=2024)
    assert shared(fn, _ds(), frame=big, base=first) == 1.0 and fn.calls == 3
    assert shared(fn, _ds(), frame=big, base=first) == 1.0 and fn.calls == 3
    other = shared(counter, _ds(5.0), year=2024)  # another upstream key
    assert shared(fn, _ds(), frame=big, base=other) == 1.0 and fn.calls == 4
    unpicklable = _FittedModel()
    shared(fn, _ds(), frame=big, base=lambda: unpicklable)
    shared(fn, _ds(), frame=big, base=lambda: unpicklable)
    assert fn.calls == 6
