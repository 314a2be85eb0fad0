"""``jdeval score`` and ``jdeval targets``."""

import json
from pathlib import Path

import pytest

from jdeval.cli import main

FIX = Path(__file__).parent / "fixtures" / "targets"
ROOT = Path(__file__).resolve().parents[1]
# The real 2024 申报表 export, byte-for-byte as the budget system wrote it.
SEED = ROOT / "data" / "targets" / "declaration_2024.txt"


@pytest.fixture(scope="module")
def data_dir():
    from jdeval.data import ensure_default_data

    return ensure_default_data()


def test_score_json(data_dir, capsys):
    rc = main(["score", "--data", str(data_dir), "--year", "2024", "--format", "json"])
    out = capsys.readouterr().out
    assert rc == 0
    d = json.loads(out)
    assert d["grade"] in "优良中差" and 0 <= d["total"] <= 100
    ids = [i["id"] for i in d["indicators"]]
    assert ids == [
        "C1",
        "C2",
        "C3",
        "C4",
        "O1",
        "O2",
        "O3",
        "B1",
        "B2",
        "B3",
        "S1",
        "P2",
    ]
    assert all(
        {"id", "name", "target", "actual", "weight", "score", "tier", "flags"} <= set(i)
        for i in d["indicators"]
    )


def test_score_scheme_b_csv_with_assessments(data_dir, tmp_path, capsys):
    out = tmp_path / "score.csv"
    rc = main(
        [
            "score",
            "--data",
            str(data_dir),
            "--year",
            "2024",
            "--scheme",
            "B",
            "--assessments",
            str(ROOT / "data/assessments/example_2024.yaml"),
            "--format",
            "csv",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    import pandas as pd

    df = pd.read_csv(out)
    assert len(df) == 22 and df["weight"].sum() == pytest.approx(100)


def test_bad_targets_exit_2_without_traceback(data_dir, capsys):
    rc = main(
        [
            "score",
            "--data",
            str(data_dir),
            "--year",
            "2024",
            "--targets",
            str(FIX / "typo_field.yaml"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    assert "Traceback" not in err and "wieght" in err and "typo_field.yaml" in err


def test_bad_assessments_json_error(data_dir, capsys):
    rc = main(
        [
            "score",
            "--data",
            str(data_dir),
            "--year",
            "2024",
            "--format",
            "json",
            "--assessments",
            str(FIX / "unknown_item_assessments.yaml"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2
    probs = json.loads(err)["problems"]
    assert probs[0]["code"] == "unknown_item" and probs[0]["row"] == 8


def test_targets_from_declaration(tmp_path, capsys):
    if not SEED.is_file():
        pytest.skip("seed form not available")
    out = tmp_path / "t.yaml"
    rc = main(["targets", "--declaration", str(SEED), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 0 and out.is_file() and "11" in err and "效益指标" in err
    from jdeval.indicators import load_targets

    t = load_targets(out)
    assert t.indicator("O1").target_value == 60.0


def test_score_year_without_data_is_exit_2(data_dir, capsys):
    rc = main(["score", "--data", str(data_dir), "--year", "2031"])
    err = capsys.readouterr().err
    assert rc == 2
    assert "没有2031年度" in err and "2024" in err  # names the years present
    assert "分" not in capsys.readouterr().out  # no score printed


def test_score_other_year_than_targets_warns(data_dir, capsys):
    rc = main(["score", "--data", str(data_dir), "--year", "2023", "--format", "json"])
    cap = capsys.readouterr()
    assert rc == 0
    assert "meta.year" in cap.err and "2024" in cap.err
    d = json.loads(cap.out)
    (w,) = d["warnings"]
    assert w["code"] == "targets_year" and w["value"] == 2024


def test_score_xlsx_is_report_ready(data_dir, tmp_path, capsys):
    import openpyxl

    out = tmp_path / "评分.xlsx"
    rc = main(
        [
            "score",
            "--data",
            str(data_dir),
            "--year",
            "2024",
            "--format",
            "xlsx",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["说明", "评分表", "一级指标汇总", "补充指标"]
    ws = wb["评分表"]
    head = [c.value for c in ws[1]]
    assert head[:5] == ["编号", "一级指标", "二级指标", "三级指标", "指标值"]
    rows = {r[0]: dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True)}
    # a target starting with "=" is text as typed: no formula, no visible escape
    assert rows["C1"]["指标值"] == "=50.00(万元)"
    assert ws.cell(2, 5).data_type == "s"
    for r in rows.values():
        for k in ("分值", "得分"):
            assert r[k] == round(r[k], 2)
    total = sum(r["得分"] for r in rows.values())
    info = {r[0]: r[1] for r in wb["说明"].iter_rows(min_row=2, values_only=True)}
    assert info["总分"] == pytest.approx(total, abs=0.01 * len(rows))
    assert info["等级"] in "优良中差"


def test_template_writes_data_and_judgments_workbooks(data_dir, tmp_path, capsys):
    import openpyxl

    from jdeval.indicators import load_targets
    from jdeval.indicators.judgments import SHEET

    rc = main(["template", "--out", str(tmp_path)])
    assert rc == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "专家评估表_2024.xlsx" in names and len(names) >= 2  # + data templates
    path = tmp_path / "专家评估表_2024.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb[SHEET]
    head = [c.value for c in ws[1]]
    ids = [ws.cell(r, 1).value for r in range(2, ws.max_row + 1)]
    assert ids == list(load_targets().checklist_items())  # every checklist item
    assert ws.data_validations.dataValidation  # result drop-down
    r = ids.index("d1_2") + 2
    ws.cell(r, head.index("评估结论") + 1, "未达成")
    ws.cell(r, head.index("依据") + 1, "职责文件未列明")
    ws.cell(r, head.index("来源") + 1, "区经委三定方案")
    wb.save(path)
    capsys.readouterr()
    rc = main(
        [
            "score",
            "--data",
            str(data_dir),
            "--year",
            "2024",
            "--scheme",
            "B",
            "--assessments",
            str(path),
            "--format",
            "json",
        ]
    )
    assert rc == 0
    d1 = next(
        i for i in json.loads(capsys.readouterr().out)["indicators"] if i["id"] == "D1"
    )
    assert "missing_assessment" in d1["flags"]  # d1_1, d1_3 still unassessed
    from jdeval.indicators import load_assessments

    a = load_assessments(path)
    assert list(a.items) == ["d1_2"] and a.get("d1_2").result == 0.0
    assert a.get("d1_2").line == r  # errors would name the spreadsheet row
