"""The edit loop: a rebuild reuses exactly what the changed inputs cannot affect.

Small throwaway notebooks (no dependence on the data layer): ``01_data`` reads the
data only, ``02_text`` also the narrative file and writes a file into the report.
"""

from __future__ import annotations

import json
import shutil

import pytest
from test_build_helpers import first_difference, normalise, small_build, small_inputs

from jdeval.build import cache, verify

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """A first build, then an unchanged rebuild, into the same folder."""
    root = tmp_path_factory.mktemp("loop")
    inputs = small_inputs(root)
    cache_dir = root / "cache"
    out = root / "reports" / "2024"
    first = small_build(inputs, out, cache_dir)
    first_pages = {p.name: p.read_text("utf-8") for p in out.glob("*.html")}
    first_man = json.loads((out / "manifest.json").read_text("utf-8"))
    again = small_build(inputs, out, cache_dir)
    return {
        "root": root,
        "inputs": inputs,
        "cache": cache_dir,
        "out": out,
        "first": first,
        "again": again,
        "first_pages": first_pages,
        "first_man": first_man,
    }


def _manifest(out):
    return json.loads((out / "manifest.json").read_text("utf-8"))


def test_first_build_runs_everything_and_unchanged_rebuild_reuses_all(loop):
    assert loop["first_man"]["reuse"]["notebooks"] == {
        "01_data": False,
        "02_text": False,
    }
    man = _manifest(loop["out"])
    assert man["reuse"]["notebooks"] == {"01_data": True, "02_text": True}
    assert sum("复用 reused" in x for x in loop["again"]) == 2
    assert not any("开始 start" in x for x in loop["again"])  # no kernel started


def test_reused_build_is_the_same_report(loop):
    out = loop["out"]
    for name, before in loop["first_pages"].items():
        now = (out / name).read_text("utf-8")
        assert normalise(now) == normalise(before), first_difference(now, before)
    # the file the notebook wrote comes back from the cache, and is listed
    assert (out / "note_2024.txt").read_text("utf-8").startswith("说明")
    assert "note_2024.txt" in _manifest(out)["outputs"]
    assert verify(out).ok


def test_narrative_edit_reruns_only_the_notebook_reading_it(loop, tmp_path):
    inputs = dict(loop["inputs"])
    edited = tmp_path / "narrative.yaml"
    edited.write_text("说明: 第二稿 second draft\n", encoding="utf-8")
    inputs["narrative"] = edited
    out = tmp_path / "2024"
    small_build(inputs, out, loop["cache"])
    man = _manifest(out)
    assert man["reuse"]["notebooks"] == {"01_data": True, "02_text": False}
    assert "第二稿 second draft" in (out / "02_text.html").read_text("utf-8")
    assert "第二稿" in (out / "note_2024.txt").read_text("utf-8")
    assert "第一稿" not in (out / "02_text.html").read_text("utf-8")
    assert man["fingerprint"] != loop["first_man"]["fingerprint"]
    assert verify(out).ok


def test_data_edit_reruns_everything(loop, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(loop["inputs"]["data"], data)
    (data / "firms.csv").write_text("firm_id,name\nF1,甲\n", encoding="utf-8")
    out = tmp_path / "2024"
    small_build({**loop["inputs"], "data": data}, out, loop["cache"])
    assert _manifest(out)["reuse"]["notebooks"] == {"01_data": False, "02_text": False}
    assert "企业数 firms: 1" in (out / "01_data.html").read_text("utf-8")


def test_no_cache_runs_everything_and_stores_nothing(loop, tmp_path):
    out = tmp_path / "2024"
    lines = small_build(loop["inputs"], out, None)
    man = _manifest(out)
    assert man["reuse"]["cache"] is False
    assert man["reuse"]["notebooks"] == {"01_data": False, "02_text": False}
    assert sum("开始 start" in x for x in lines) == 2


def test_key_covers_code_notebook_parameters_inputs_and_date(monkeypatch):
    base = dict(
        input_hashes={"data_dir": "a" * 64},
        packages={"pandas": "3.0"},
        build_date="2025-01-01",
    )
    k = cache.notebook_key("n" * 64, {"year": 2024}, **base)
    assert k == cache.notebook_key("n" * 64, {"year": 2024}, **base)
    others = [
        cache.notebook_key("m" * 64, {"year": 2024}, **base),
        cache.notebook_key("n" * 64, {"year": 2023}, **base),
        cache.notebook_key(
            "n" * 64, {"year": 2024}, **{**base, "input_hashes": {"data_dir": "b"}}
        ),
        cache.notebook_key(
            "n" * 64, {"year": 2024}, **{**base, "packages": {"pandas": "3.1"}}
        ),
        cache.notebook_key("n" * 64, {"year": 2024}, **{**base, "build_date": "x"}),
    ]
    monkeypatch.setattr(cache, "code_version", lambda: "other jdeval source")
    others.append(cache.notebook_key("n" * 64, {"year": 2024}, **base))
    assert k not in others and len(set(others)) == len(others)


def test_code_version_changes_with_any_package_file(tmp_path, monkeypatch):
    pkg = tmp_path / "jdeval"
    (pkg / "report").mkdir(parents=True)
    (pkg / "__init__.py").write_text("x = 1\n", encoding="utf-8")
    (pkg / "report" / "rules.yaml").write_text("a: 1\n", encoding="utf-8")
    monkeypatch.setattr(cache, "_PACKAGE", pkg)
    cache.code_version.cache_clear()
    try:
        v1 = cache.code_version()
        cache.code_version.cache_clear()
        (pkg / "report" / "rules.yaml").write_text("a: 2\n", encoding="utf-8")
        assert cache.code_version() != v1
    finally:
        cache.code_version.cache_clear()


def test_prune_removes_only_old_entries(tmp_path):
    import os
    import time

    old = tmp_path / "notebooks" / "old"
    new = tmp_path / "shared" / "new.pkl"
    old.mkdir(parents=True)
    new.parent.mkdir(parents=True)
    new.write_bytes(b"x")
    past = time.time() - 40 * 86400
    os.utime(old, (past, past))
    assert cache.prune(tmp_path) == 1
    assert not old.exists() and new.exists()
