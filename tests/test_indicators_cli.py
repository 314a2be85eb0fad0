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
    assert t.indicator("O1")["target_value"] == 60.0
