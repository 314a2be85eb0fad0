"""Batch regeneration, the build command's inputs and its refusals.

``jdeval build --year 2023 2024 2025`` / ``--portfolio``: builds in parallel processes
(or on a Dask cluster), one failure reported without stopping the others, one index
page linking every report.  Small throwaway notebooks; no dependence on the data layer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from test_build_helpers import links, small_inputs, tree_digest

from jdeval.build.batch import BuildSpec, load_portfolio, run_batch
from jdeval.build.paths import PROJECT, default_report_dir, display_path
from jdeval.cli import main as cli_main
from jdeval.errors import ConfigError

pytestmark = pytest.mark.build


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("batch")
    return {"root": root, **small_inputs(root)}


def _specs(inputs, out_root, years=(2023, 2024)):
    options = {
        "notebooks": inputs["nbs"],
        "check_data": False,
        "cache_dir": inputs["root"] / "cache",
        "jobs": 1,
    }
    specs = [
        BuildSpec(
            year=y,
            out=out_root / str(y),
            data=inputs["data"],
            name=str(y),
            narrative=inputs["narrative"],
            options=options,
        )
        for y in years
    ]
    # one build that cannot run: its data folder does not exist
    specs.append(
        BuildSpec(
            year=2025,
            out=out_root / "2025",
            data=inputs["root"] / "no-such-data",
            name="2025",
            options=options,
        )
    )
    return specs


def _check_batch(outcomes, out_root):
    why = "\n".join(f"{o.name}: {o.message}" for o in outcomes)
    assert [o.ok for o in outcomes] == [True, True, False], why
    assert "path_missing" in outcomes[2].codes
    for y in (2023, 2024):
        assert (out_root / str(y) / "index.html").is_file()
    index = (out_root / "index.html").read_text("utf-8")
    hrefs = [h for h in links(index) if h.endswith("index.html")]
    assert hrefs == ["2023/index.html", "2024/index.html"]
    assert "测试报告 2023" in index and "88.50" in index and "良" in index
    assert "失败" in index and "path_missing" in index
    summary = json.loads((out_root / "batch.json").read_text("utf-8"))
    assert [s["ok"] for s in summary] == [True, True, False]
    assert str(out_root) not in (out_root / "batch.json").read_text("utf-8")


def test_years_in_parallel_processes_one_failure_does_not_stop_others(inputs):
    out_root = inputs["root"] / "procs"
    lines: list[str] = []
    outcomes = run_batch(
        _specs(inputs, out_root), out_root=out_root, parallel=2, say=lines.append
    )
    _check_batch(outcomes, out_root)
    assert sum("完成 done" in x for x in lines) == 2
    assert sum("失败 FAILED" in x for x in lines) == 1


def test_batch_on_a_dask_cluster(inputs):
    distributed = pytest.importorskip("distributed")
    out_root = inputs["root"] / "dask"
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        outcomes = run_batch(
            _specs(inputs, out_root),
            out_root=out_root,
            scheduler=cluster.scheduler_address,
            say=lambda s: None,
        )
    _check_batch(outcomes, out_root)


def test_cli_batch_exits_1_with_a_summary(tmp_path, capsys):
    rc = cli_main(
        [
            "build",
            "--year",
            "2023",
            "2024",
            "--data",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path / "reports"),
            "--parallel",
            "1",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1
    assert "2 失败 failed" in err and "Traceback" not in err
    assert (tmp_path / "reports" / "index.html").is_file()


def test_portfolio_file(tmp_path):
    (tmp_path / "d").mkdir()
    p = tmp_path / "portfolio.yaml"
    p.write_text(
        "defaults:\n  data: d\n  as_of: 2025-06-30\n"
        "builds:\n  - year: 2023\n  - year: 2024\n    scheme: B\n"
        "    audience: internal\n",
        encoding="utf-8",
    )
    specs = load_portfolio(p, out_root=tmp_path / "r", data=tmp_path / "x")
    assert [(s.year, s.scheme, s.audience) for s in specs] == [
        (2023, "A", "reviewer"),
        (2024, "B", "internal"),
    ]
    assert all(s.data == tmp_path / "d" and s.as_of == "2025-06-30" for s in specs)
    assert len({s.out for s in specs}) == 2


def test_portfolio_errors_are_located(tmp_path):
    p = tmp_path / "portfolio.yaml"
    p.write_text("builds:\n  - year: 2024\n    shceme: B\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_portfolio(p, out_root=tmp_path, data=tmp_path)
    prob = info.value.problems[0]
    assert prob.row == 3 and "shceme" in prob.column
    p.write_text("builds:\n  - year: 2024\n  - year: 2024\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_portfolio(p, out_root=tmp_path, data=tmp_path)
    assert info.value.problems[0].code == "portfolio_out"


def test_unwritable_output_folder_is_a_message_not_a_traceback(inputs, capsys):
    target = "/sys/jdeval-test/2024" if os.geteuid() == 0 else None
    if target is None:
        ro = inputs["root"] / "readonly"
        ro.mkdir(exist_ok=True)
        ro.chmod(0o500)
        target = str(ro / "2024")
    rc = cli_main(
        ["build", "--year", "2024", "--data", str(inputs["data"]), "--out", target]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert "out_not_writable" in err or "无法写入" in err
    assert "Traceback" not in err and "内部错误" not in err


def test_bad_reference_date_is_refused(inputs, tmp_path):
    from jdeval.build import build

    with pytest.raises(ConfigError) as info:
        build(
            2024,
            data=inputs["data"],
            out=tmp_path / "r",
            notebooks=inputs["nbs"],
            as_of="2025/06/30",
            check_data=False,
        )
    assert [p.code for p in info.value.problems] == ["as_of"]


def test_build_never_writes_into_the_data_folder(inputs, tmp_path):
    from test_build_helpers import small_build

    before = tree_digest(inputs["data"])
    small_build(inputs, tmp_path / "2024", None)
    assert tree_digest(inputs["data"]) == before


def test_make_report_on_user_data_writes_nothing_there_and_names_the_folder(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make not installed")
    data = tmp_path / "real_2024"
    data.mkdir()
    cmd = ["make", "-n", "-C", str(PROJECT), "report", f"DATA={data}"]
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "synth" not in text  # never generated into a user's folder
    assert "--out reports/real_2024/2024" in text
    assert f"--data {data}" in text
    bundled = subprocess.run(
        ["make", "-n", "-C", str(PROJECT), "report"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--out reports/2024" in bundled
    explicit = subprocess.run(
        cmd + ["OUT=/tmp/elsewhere", "NARRATIVE=n.yaml", "AS_OF=2025-06-30"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--out /tmp/elsewhere" in explicit
    assert "--narrative n.yaml" in explicit and "--as-of 2025-06-30" in explicit


def test_default_report_folder_is_named_after_the_data():
    assert default_report_dir(2024, PROJECT / "data" / "synthetic") == Path(
        "reports/2024"
    )
    assert default_report_dir(2024, Path("/x/real_2024")) == Path(
        "reports/real_2024/2024"
    )


def test_display_paths_are_relative_to_the_project_or_bare_names():
    assert display_path(PROJECT / "data" / "targets" / "t.yaml") == (
        "data/targets/t.yaml"
    )
    assert display_path("/home/someone/secret/real_2024") == "real_2024"
    assert display_path("") == ""


@pytest.mark.slow
def test_every_year_of_the_policy_builds_with_the_bundled_suite(ds, tmp_path):
    """The real suite for 2023 (no previous batch), 2024 and 2025 (whose reviewer
    edition once failed the disclosure gate through notebook 03's means)."""
    out_root = tmp_path / "reports"
    specs = [
        BuildSpec(year=y, out=out_root / str(y), data=ds.source, name=str(y))
        for y in (2023, 2024, 2025)
    ]
    lines: list[str] = []
    outcomes = run_batch(specs, out_root=out_root, parallel=1, say=lines.append)
    assert [o.ok for o in outcomes] == [True, True, True], lines
    index = (out_root / "index.html").read_text("utf-8")
    assert [h for h in links(index) if h.endswith("index.html")] == [
        f"{y}/index.html" for y in (2023, 2024, 2025)
    ]
    for y in (2023, 2024, 2025):
        assert (out_root / str(y) / f"annual_report_{y}.docx").is_file()
