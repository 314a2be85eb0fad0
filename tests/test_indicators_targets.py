"""Targets and assessments files: defaults, and clear located errors for bad files."""

from pathlib import Path

import pytest
import yaml

from jdeval.errors import ConfigError
from jdeval.indicators import load_assessments, load_targets
from jdeval.indicators.targets import targets_from_declaration, write_targets

FIX = Path(__file__).parent / "fixtures" / "targets"
ROOT = Path(__file__).resolve().parents[1]
# The real 2024 申报表 export, byte-for-byte as the budget system wrote it.
SEED = ROOT / "data" / "targets" / "declaration_2024.txt"


@pytest.fixture(scope="module")
def targets():
    return load_targets()


def test_default_targets(targets):
    ids = [i.id for i in targets.indicators]
    assert ids[:11] == [
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
    ]
    assert {"D1", "D6", "P1", "P5"} <= set(ids)
    for s in "AB":
        assert sum(i.w for i in targets.for_scheme(s)) == pytest.approx(100)
    a = {i.id: i for i in targets.for_scheme("A")}
    assert set(a) == {
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
    }
    assert a["P2"].level1 == "预算执行率"
    # scheme A: 成本+产出 = 50, 效益 30, 满意度 10, 预算执行率 10 (spec §4.1)
    by = {}
    for i in a.values():
        by[i.level1] = by.get(i.level1, 0) + i.w
    assert by == {
        "成本指标": 15,
        "产出指标": 35,
        "效益指标": 30,
        "满意度指标": 10,
        "预算执行率": 10,
    }
    b = targets.for_scheme("B")
    out_eff = sum(i.w for i in b if i.level1 in ("产出", "效益"))
    assert out_eff == 65  # spec §4.2: 产出+效益 ≥ 60
    assert [k.id for k in targets.kpis] == [f"K{i}" for i in range(1, 9)]
    assert targets.policies.theta_over == 0.30


def _one(path, **kw):
    with pytest.raises(ConfigError) as e:
        load_targets(path, **kw)
    return e.value


def test_typo_field_names_line_field_and_fix():
    err = _one(FIX / "typo_field.yaml")
    text = err.render("text")
    codes = {p.code for p in err.errors}
    assert {"unknown_key", "missing_field", "weights_sum"} <= codes
    typo = next(p for p in err.errors if p.code == "unknown_key")
    lines = (FIX / "typo_field.yaml").read_text(encoding="utf-8").splitlines()
    assert "wieght" in lines[typo.row - 1]
    assert typo.column.endswith("wieght") and "weight" in typo.message_zh  # suggestion
    assert "Traceback" not in text


def test_bad_scoring_value_suggests():
    err = _one(FIX / "bad_scoring.yaml")
    (p,) = err.errors
    assert p.code == "bad_value" and p.value == "ratio_caped"
    assert "ratio_capped" in p.message_zh
    lines = (FIX / "bad_scoring.yaml").read_text(encoding="utf-8").splitlines()
    assert "ratio_caped" in lines[p.row - 1]


def test_weights_must_sum_to_100():
    (p,) = _one(FIX / "weights_not_100.yaml").errors
    assert p.code == "weights_sum" and p.value == pytest.approx(102)


def test_unknown_rule():
    (p,) = _one(FIX / "unknown_rule.yaml").errors
    assert p.code == "bad_rule" and "no_clawback" in p.message_zh


def test_yaml_syntax_error_has_line():
    (p,) = _one(FIX / "yaml_syntax.yaml").errors
    lines = (FIX / "yaml_syntax.yaml").read_text(encoding="utf-8").splitlines()
    assert p.code == "yaml_syntax" and "operator" in lines[p.row - 1]


def test_missing_targets_file(tmp_path):
    (p,) = _one(tmp_path / "nope.yaml").errors
    assert p.code == "file_missing"


def test_example_assessments(targets):
    a = load_assessments(
        ROOT / "data" / "assessments" / "example_2024.yaml", targets=targets
    )
    assert a.is_example and a.get("d1_1").result == 1.0
    assert a.get("d1_3").result == 0.5


def test_assessment_unknown_item(targets):
    with pytest.raises(ConfigError) as e:
        load_assessments(FIX / "unknown_item_assessments.yaml", targets=targets)
    (p,) = e.value.errors
    assert p.code == "unknown_item" and p.value == "d1_9" and p.row == 8
    assert "d1_3" in p.message_zh  # closest known id suggested


def test_assessment_bad_result_and_missing_fields(targets):
    with pytest.raises(ConfigError) as e:
        load_assessments(FIX / "bad_result_assessments.yaml", targets=targets)
    codes = sorted(p.code for p in e.value.errors)
    # 很好 is no result; d2_1 lacks source; d3_1 has 'reslt' (unknown) and no result
    assert codes.count("bad_result") == 2
    assert "unknown_key" in codes and "missing_field" in codes
    assert all(p.row for p in e.value.errors)


def test_declaration_roundtrip_to_targets(tmp_path, targets):
    if not SEED.is_file():
        pytest.skip("seed form not available")
    from jdeval.indicators import read_declaration

    doc = targets_from_declaration(read_declaration(SEED), template=targets)
    path = write_targets(doc, tmp_path / "t.yaml")
    t2 = load_targets(path)
    assert [i.id for i in t2.indicators][:11] == [i.id for i in targets.indicators][:11]
    b1 = t2.indicator("B1")
    assert b1.level1_as_printed == "产出指标" and b1.direction == "trend_up"
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["meta"]["year"] == 2024


def test_unknown_indicator_gets_generic_scoring(tmp_path, targets):
    import pandas as pd

    from jdeval.indicators.declaration import Declaration

    df = pd.DataFrame(
        [
            {
                "id": "O4",
                "line": 5,
                "level1": "产出指标",
                "level2": "数量指标",
                "level3": "培训人次",
                "level1_as_printed": "产出指标",
                "target_raw": "≥200.00(人次)",
                "operator": ">=",
                "target_value": 200.0,
                "unit": "人次",
                "kind": "quantitative",
                "direction": "positive",
                "note": "",
            }
        ]
    )
    doc = targets_from_declaration(Declaration({"year": 2024}, df), template=targets)
    path = write_targets(doc, tmp_path / "t.yaml")
    t2 = load_targets(path)
    o4 = t2.indicator("O4")
    assert o4.measure.method == "assessed_value" and o4.scoring == "ratio_capped"
    for s in "AB":
        assert sum(i.w for i in t2.for_scheme(s)) == pytest.approx(100)


def test_assessments_checked_when_used(targets):
    from types import SimpleNamespace

    from jdeval.errors import ConfigError as CE
    from jdeval.indicators import evaluate

    a = load_assessments(FIX / "unknown_item_assessments.yaml")  # no targets: loads
    with pytest.raises(CE) as e:
        evaluate(SimpleNamespace(tables={}), targets, year=2024, assessments=a)
    assert e.value.errors[0].code == "unknown_item"
