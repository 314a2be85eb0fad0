"""The build machinery on small throwaway notebooks (no dependence on the data layer).

Checks: pages are offline and self-contained, index links resolve, manifest is
complete, code hidden by default, failure keeps the previous report, identical inputs
give identical pages (build time aside), verify detects changed inputs.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from test_build_helpers import (
    external_refs,
    first_difference,
    links,
    make_notebook,
    normalise,
    tree_digest,
)

from jdeval.build import build, verify
from jdeval.build.atomic import Staging, recover
from jdeval.build.runner import parameter_names
from jdeval.cli import main as cli_main
from jdeval.errors import BuildError, ConfigError

pytestmark = pytest.mark.build

PARAMS = (
    "year = 2024  # 评价年度 evaluation year\n"
    'data_dir = ""  # 数据目录 data folder\n'
    'audience = "reviewer"  # 读者 audience\n'
    'out_dir = ""  # 输出目录 output folder'
)

PLOT = """\
import matplotlib.pyplot as plt
from jdeval.report import fonts
fonts.setup()
fig, ax = plt.subplots(figsize=(4, 3))
ax.bar(["嘉定工业区", "南翔镇"], [3, 5])
ax.set_title("街镇分布 by town")
plt.show()"""

TABLE = """\
import pandas as pd
pd.DataFrame({"企业 firm": ["<script>alert(1)</script>", "甲公司"], "金额": [1.5, 2.0]})"""

PUBLISH = """\
from jdeval.build import publish
from pathlib import Path
Path(out_dir or ".", "annual_report_%d.docx" % year).write_bytes(b"PK-not-a-real-docx")
publish(total=87.456, grade="良", scheme="A", docx="annual_report_%d.docx" % year,
        effects=[{"outcome": "tfp", "outcome_zh": "全要素生产率", "estimate": 0.0412,
                  "ci_low": 0.01, "ci_high": 0.07, "p_value": 0.01, "n_treated": 300},
                 {"outcome_zh": "研发投入比重", "shown": "+2.11个百分点",
                  "shown_ci": "+1.51至+2.70个百分点", "p_value_shown": "<0.001",
                  "strength_zh": "证据明确", "n_treated_shown": "300"}],
        highlights=[["有效问卷 valid responses", "412"]])
print("总分 total score:", 87.46)"""

FAIL = """\
x = 1
if year == 2023:
    raise ValueError("坏数据 bad data in firm_year")"""


def make_suite(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    make_notebook(
        folder / "01_plot.ipynb",
        PARAMS,
        [
            ("md", "# 图表 Charts\n\n按街镇统计。"),
            ("md", "## 街镇分布 Distribution by town"),
            ("code", PLOT),
            ("md", "## 明细 Details"),
            ("code", TABLE),
        ],
        title_zh="图表",
        title_en="Charts",
    )
    make_notebook(
        folder / "02_report.ipynb",
        PARAMS,
        [("md", "# 报告 Report"), ("code", FAIL), ("code", PUBLISH)],
        title_zh="报告",
        title_en="Report",
    )
    return folder


@pytest.fixture(scope="module")
def suite(tmp_path_factory) -> dict[str, Path]:
    """One successful build shared by the tests of this module."""
    root = tmp_path_factory.mktemp("suite")
    data = root / "data"
    data.mkdir()
    (data / "firms.csv").write_text("firm_id,name\nF1,甲\n", encoding="utf-8")
    (data / "awards.csv").write_text("award_id,amount\nA1,10\n", encoding="utf-8")
    nbs = make_suite(root / "nbs")
    out = root / "reports" / "2024"
    lines: list[str] = []
    build(
        2024,
        data=data,
        out=out,
        notebooks=nbs,
        check_data=False,
        jobs=2,
        progress=lines.append,
    )
    return {"root": root, "data": data, "nbs": nbs, "out": out, "lines": lines}


def test_progress_one_line_per_start_and_finish(suite):
    lines = suite["lines"]
    assert sum("开始 start" in x for x in lines) == 2
    assert sum("完成 done" in x for x in lines) == 2


def test_pages_offline_and_self_contained(suite):
    out = suite["out"]
    pages = sorted(out.glob("*.html"))
    assert {p.name for p in pages} == {"index.html", "01_plot.html", "02_report.html"}
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert external_refs(text) == [], page.name
        assert "<script src" not in text
        for link in links(text):
            assert not link.startswith(("http:", "https:", "//")), link
    plot = (out / "01_plot.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in plot


def test_index_links_resolve_and_headline(suite):
    out = suite["out"]
    text = (out / "index.html").read_text(encoding="utf-8")
    targets = [x for x in links(text) if not x.startswith("#")]
    assert "01_plot.html" in targets and "02_report.html" in targets
    assert "annual_report_2024.docx" in targets and "manifest.json" in targets
    for t in targets:
        assert (out / t).is_file(), t
    assert "87.46" in text and "良" in text
    # only the report's formatted effects are shown, never raw estimates/keys
    assert "+2.11个百分点" in text and "+1.51至+2.70个百分点" in text
    assert "证据明确" in text and "&lt;0.001" in text
    assert "全要素生产率" not in text and "tfp" not in text and "0.041" not in text
    assert "有效问卷 valid responses" in text


def test_pages_hide_code_and_have_header_and_toc(suite):
    text = (suite["out"] / "01_plot.html").read_text(encoding="utf-8")
    assert "fonts.setup()" not in text  # code hidden by default
    assert 'class="jd-toc"' in text
    assert "街镇分布 Distribution by town" in text.split("<main>")[0]  # in the TOC
    man = json.loads((suite["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert man["fingerprint"] in text
    assert f"jdeval {man['jdeval_version']}" in text
    assert "评价年度：<code>2024</code>" in text and "jd-build-time" in text


def test_data_text_escaped(suite):
    text = (suite["out"] / "01_plot.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_no_glyph_missing_in_executed_notebooks(suite):
    for p in (suite["out"] / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(p), as_version=4)
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                assert "Glyph" not in json.dumps(o, ensure_ascii=False), p.name


def test_manifest_complete(suite):
    out, data = suite["out"], suite["data"]
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for key in (
        "parameters",
        "inputs",
        "packages",
        "git",
        "build_time",
        "jdeval_version",
        "fingerprint",
        "notebooks",
        "outputs",
    ):
        assert key in man, key
    assert man["parameters"]["year"] == 2024
    names = {i["name"]: i for i in man["inputs"]}
    assert set(names) == {"firms.csv", "awards.csv"}
    import hashlib

    assert (
        names["firms.csv"]["sha256"]
        == hashlib.sha256((data / "firms.csv").read_bytes()).hexdigest()
    )
    for pkg in ("numpy", "pandas", "papermill", "nbconvert", "matplotlib"):
        assert man["packages"][pkg]
    for rel, sha in man["outputs"].items():
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha, rel


def test_no_staging_left(suite):
    parent = suite["out"].parent
    leftovers = [p.name for p in parent.iterdir() if "building" in p.name]
    assert leftovers == []
    assert not (parent / "2024_failed").exists()


def test_verify_match_and_mismatch(suite, tmp_path, capsys):
    out, data = suite["out"], suite["data"]
    assert verify(out).ok
    assert cli_main(["verify", str(out)]) == 0
    copy = tmp_path / "data"
    shutil.copytree(data, copy)
    (copy / "awards.csv").write_text("award_id,amount\nA1,11\n", encoding="utf-8")
    res = verify(out, data=copy)
    assert not res.ok and [i["name"] for i in res.changed] == ["awards.csv"]
    (copy / "extra.csv").write_text("x\n", encoding="utf-8")
    (copy / "firms.csv").unlink()
    res = verify(out, data=copy)
    assert [i["name"] for i in res.missing] == ["firms.csv"]
    assert any(a.endswith("extra.csv") for a in res.added)
    capsys.readouterr()
    assert cli_main(["verify", str(out), "--data", str(copy)]) == 1
    text = capsys.readouterr().out
    assert "awards.csv" in text and "firms.csv" in text and "不一致" in text


def test_verify_without_manifest_is_config_error(tmp_path, capsys):
    with pytest.raises(ConfigError):
        verify(tmp_path)
    assert cli_main(["verify", str(tmp_path)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_failure_leaves_previous_report_untouched(suite, tmp_path):
    """A failing notebook: exit code 1, where and why, partial output kept aside.

    The same build also shows code (``show_code``) in the page it did render.
    """
    out = suite["out"]
    before = tree_digest(out)
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    shutil.copy(suite["nbs"] / "02_report.ipynb", nbs)
    make_notebook(
        nbs / "01_code.ipynb",
        "year = 2024  # 年度 year",
        [("md", "# X"), ("code", "answer = 40 + 2\nprint(answer)")],
    )
    with pytest.raises(BuildError) as info:
        build(
            2023,
            data=suite["data"],
            out=out,
            notebooks=nbs,
            check_data=False,
            show_code=True,
            progress=lambda s: None,
        )
    err = info.value
    assert err.exit_code == 1
    text = err.render()
    assert "02_report" in text and "ValueError" in text and "坏数据 bad data" in text
    assert "In[" in text and "01_code" not in text
    failed = out.with_name("2024_failed")
    kept = failed / "notebooks" / "02_report.ipynb"
    assert str(kept) in text and kept.is_file()
    assert tree_digest(out) == before
    shown = (failed / "01_code.html").read_text(encoding="utf-8")
    assert "answer" in shown and "highlight" in shown  # code shown on request


def test_identical_inputs_identical_pages(suite, tmp_path):
    out2 = tmp_path / "again"
    build(
        2024,
        data=suite["data"],
        out=out2,
        notebooks=suite["nbs"],
        check_data=False,
        progress=lambda s: None,
    )
    for name in ("index.html", "01_plot.html", "02_report.html"):
        a = (suite["out"] / name).read_text(encoding="utf-8")
        b = (out2 / name).read_text(encoding="utf-8")
        assert normalise(a) == normalise(b), first_difference(a, b)
    ra = json.loads((suite["out"] / "results" / "02_report.json").read_text("utf-8"))
    rb = json.loads((out2 / "results" / "02_report.json").read_text("utf-8"))
    assert ra == rb


def test_bad_parameters_listed_together(tmp_path):
    with pytest.raises(ConfigError) as info:
        build(
            1999,
            data=tmp_path / "nope",
            out=tmp_path / "r",
            targets=tmp_path / "t.yaml",
            scheme="C",
            audience="public",
            jobs=0,
            check_data=False,
        )
    codes = [p.code for p in info.value.problems]
    assert codes.count("path_missing") == 2
    assert {"year", "scheme", "audience", "jobs"} <= set(codes)
    assert not (tmp_path / "r").exists()


def test_output_folder_that_is_not_a_report_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.csv").write_text("a\n", encoding="utf-8")
    precious = tmp_path / "documents"
    precious.mkdir()
    (precious / "thesis.docx").write_bytes(b"keep me")
    for out, code in ((precious, "out_not_report"), (data / "r", "out_overlaps_input")):
        with pytest.raises(ConfigError) as info:
            build(2024, data=data, out=out, notebooks=tmp_path, check_data=False)
        assert code in [p.code for p in info.value.problems]
    assert (precious / "thesis.docx").read_bytes() == b"keep me"
    assert not (data / "r").exists()


def test_parameter_names_reads_tagged_cell(tmp_path):
    p = make_notebook(tmp_path / "a.ipynb", PARAMS, [("md", "# A")])
    names = parameter_names(nbformat.read(str(p), as_version=4))
    assert names == ["year", "data_dir", "audience", "out_dir"]


def test_lock_refuses_second_build(tmp_path):
    out = tmp_path / "r" / "2024"
    with Staging(out):
        with pytest.raises(BuildError):
            with Staging(out):
                pass


def test_recover_restores_report_after_kill_between_renames(tmp_path):
    out = tmp_path / "2024"
    old = tmp_path / ".2024.old-123-abcd"
    old.mkdir()
    (old / "index.html").write_text("previous", encoding="utf-8")
    stale = tmp_path / ".2024.building-124-ef01"
    stale.mkdir()
    (stale / "half.html").write_text("half", encoding="utf-8")
    recover(out)
    assert (out / "index.html").read_text(encoding="utf-8") == "previous"
    assert not old.exists() and not stale.exists()
