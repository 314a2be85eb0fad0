"""A report that proves itself: every attack on a published report is detected.

One small build (throwaway notebooks); each attack works on a copy of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys

import pytest
from test_build_helpers import small_build, small_inputs

from jdeval.build import verify
from jdeval.build.manifest import core_digest
from jdeval.build.paths import PROJECT
from jdeval.cli import main as cli_main

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("proof")
    inputs = small_inputs(root)
    out = root / "reports" / "2024"
    small_build(inputs, out, root / "cache")
    return {"root": root, "inputs": inputs, "out": out}


@pytest.fixture
def copy(report, tmp_path):
    """A copy of the report beside a copy of its inputs (same relative layout)."""
    root = tmp_path / "copy"
    shutil.copytree(report["root"], root, ignore=shutil.ignore_patterns("cache"))
    return {"out": root / "reports" / "2024", "data": root / "data", "root": root}


def _sha(p):
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_intact_report_verifies(report, capsys):
    res = verify(report["out"])
    assert res.ok and res.report_ok and res.inputs_ok
    assert cli_main(["verify", str(report["out"])]) == 0
    assert "一致 OK" in capsys.readouterr().out


def test_manifest_covers_every_published_file(report):
    out = report["out"]
    man = json.loads((out / "manifest.json").read_text("utf-8"))
    files = {
        p.relative_to(out).as_posix()
        for p in out.rglob("*")
        if p.is_file() and p.name not in ("manifest.json", "SHA256SUMS")
    }
    assert set(man["outputs"]) == files
    assert {"index.html", "01_data.html", "02_text.html", "note_2024.txt"} <= files
    assert any(f.startswith("notebooks/") for f in files)
    sums = (out / "SHA256SUMS").read_text("utf-8")
    assert f"{_sha(out / 'manifest.json')}  manifest.json" in sums


def test_every_page_shows_the_manifest_digest(report):
    out = report["out"]
    man = json.loads((out / "manifest.json").read_text("utf-8"))
    assert man["digest"] == core_digest(man)
    for page in out.glob("*.html"):
        assert man["digest"] in page.read_text("utf-8"), page.name
    index = (out / "index.html").read_text("utf-8")
    footer = index[index.index("<footer") :]
    assert man["digest"] in footer


def test_changed_page_is_detected(copy, capsys):
    page = copy["out"] / "02_text.html"
    before = page.read_bytes()
    page.write_bytes(before.replace("第一稿".encode(), "第三稿".encode(), 1))
    assert page.read_bytes() != before
    res = verify(copy["out"])
    assert res.pages_changed == ["02_text.html"] and not res.ok
    assert cli_main(["verify", str(copy["out"])]) == 1
    assert "02_text.html" in capsys.readouterr().out


def test_deleted_and_added_pages_are_detected(copy):
    (copy["out"] / "01_data.html").unlink()
    (copy["out"] / "extra.html").write_text("<p>插入 inserted</p>", encoding="utf-8")
    res = verify(copy["out"])
    assert res.pages_missing == ["01_data.html"]
    assert res.pages_added == ["extra.html"]
    assert any("extra.html" in s for s in res.manifest_problems)  # no digest shown


def test_manifest_edited_to_match_changed_input_is_caught_by_the_pages(copy):
    """Change an input and write its new hash (and a fresh digest) into the
    manifest: the manifest agrees with itself, the pages still show the old one."""
    firms = copy["data"] / "firms.csv"
    firms.write_text("firm_id,name\nF1,甲\nF2,乙\nF3,丙\n", encoding="utf-8")
    path = copy["out"] / "manifest.json"
    man = json.loads(path.read_text("utf-8"))
    for item in man["inputs"]:
        if item["name"] == "firms.csv":
            item["sha256"], item["bytes"] = _sha(firms), firms.stat().st_size
    man["digest"] = core_digest(man)
    path.write_text(json.dumps(man, ensure_ascii=False, indent=2), encoding="utf-8")
    res = verify(copy["out"])
    assert res.inputs_ok  # the forged hashes match the changed input ...
    assert not res.ok
    assert any("index.html" in s for s in res.manifest_problems)  # ... pages disagree
    assert any("manifest.json" in s for s in res.sums_problems)


def test_manifest_edited_without_its_digest_is_caught(copy):
    path = copy["out"] / "manifest.json"
    man = json.loads(path.read_text("utf-8"))
    man["parameters"]["year"] = 2023
    path.write_text(json.dumps(man), encoding="utf-8")
    res = verify(copy["out"])
    assert any("recorded digest" in s for s in res.manifest_problems)


def test_detached_hash_list_catches_a_consistent_forgery(copy, tmp_path):
    """The bureau keeps SHA256SUMS; a forger then rewrites a page, the manifest's
    outputs and the folder's own SHA256SUMS consistently — only the kept copy shows it."""
    kept = tmp_path / "SHA256SUMS.kept"
    shutil.copy(copy["out"] / "SHA256SUMS", kept)
    page = copy["out"] / "02_text.html"
    text = page.read_text("utf-8")
    assert "第一稿" in text
    page.write_text(text.replace("第一稿", "第三稿"), "utf-8")
    path = copy["out"] / "manifest.json"
    man = json.loads(path.read_text("utf-8"))
    man["outputs"]["02_text.html"] = _sha(page)
    path.write_text(json.dumps(man, ensure_ascii=False, indent=2), encoding="utf-8")
    from jdeval.build.manifest import write_sums

    write_sums(copy["out"])
    assert verify(copy["out"]).ok  # self-consistent forgery
    res = verify(copy["out"], sums=kept)
    assert not res.ok and any("02_text.html" in s for s in res.sums_problems)
    assert cli_main(["verify", str(copy["out"]), "--sums", str(kept)]) == 1


def test_changed_input_is_detected(copy):
    (copy["data"] / "firms.csv").write_text("firm_id\nF9\n", encoding="utf-8")
    res = verify(copy["out"])
    assert [i["name"] for i in res.changed] == ["firms.csv"] and res.report_ok


def test_report_and_inputs_move_together(copy, tmp_path):
    """Inputs outside the project are recorded relative to the report folder."""
    moved = tmp_path / "elsewhere"
    shutil.move(str(copy["root"]), str(moved))
    assert verify(moved / "reports" / "2024").ok


def test_no_path_of_the_build_machine_in_the_report(report):
    forbidden = [str(report["root"]), str(PROJECT), str(os.path.expanduser("~"))]
    for p in report["out"].rglob("*"):
        if p.is_file():
            text = p.read_text(encoding="utf-8", errors="replace")
            for f in forbidden:
                assert f not in text, (p.relative_to(report["out"]), f)


def test_index_names_unavailable_sections(report):
    index = (report["out"] / "index.html").read_text("utf-8")
    assert "未提供的可选输入" in index and "未提供问卷数据 no survey data" in index


def test_verify_output_into_a_closed_pipe_is_not_a_traceback(copy):
    for i in range(3000):
        (copy["out"] / f"junk{i}.html").write_text("x", encoding="utf-8")
    proc = subprocess.run(
        f"{sys.executable} -m jdeval verify {copy['out']} | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr
    assert "内部错误" not in proc.stderr
    assert proc.stdout.count("\n") == 1
