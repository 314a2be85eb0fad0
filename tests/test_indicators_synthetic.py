"""Computed actuals on the synthetic default data agree with the planted truth.

Realised counts must agree exactly; injected probabilities within a binomial
tolerance (3.5 standard errors).
"""

import copy
import math

import numpy as np
import pandas as pd
import pytest

from jdeval.indicators import evaluate, load_assessments, load_targets
from jdeval.survey import analyse

YEARS = (2023, 2024, 2025)


@pytest.fixture(scope="module")
def targets():
    return load_targets()


@pytest.fixture(scope="module")
def cards(ds, targets):
    return {y: evaluate(ds, targets, year=y, scheme="A") for y in YEARS}


def _truth(ds, y):
    return ds.truth["indicators"][str(y)]


@pytest.mark.parametrize("year", YEARS)
def test_realised_counts_exact(ds, cards, year):
    tr = _truth(ds, year)
    m = cards[year].measurements
    assert m["O1"].actual == tr["n_funded_enterprises"]
    assert (
        cards[year].drilldown("O1")["firm_id"].nunique() == tr["n_funded_enterprises"]
    )
    for ind, cat in (("C1", "SF_DISTRICT"), ("C2", "PROVIDER"), ("C3", "SF_CITY_DEMO")):
        d = m[ind].details
        if d["n"]:
            assert d["n"] - d["n_within"] == tr["cap_violations_by_category"][cat]
    # O2: share of approved awards passing all six checks = 1 − realised fail share
    assert m["O2"].actual / 100 == pytest.approx(1 - tr["o2_fail_share"], abs=1e-6)
    assert m["O2"].details["n"] == tr["n_approved"]
    # O3: every disbursement is before the 2026-12 deadline, and at the data's
    # as-of date undisbursed awards are older than L_max: on time = disbursed
    assert m["O3"].actual / 100 == pytest.approx(1 - tr["undisbursed_share"], abs=1e-6)
    assert m["O3"].details["n_over_lmax"] == tr["n_late_over_180d"]
    k = cards[year].kpis.set_index("id")["actual"]
    assert k["K2"] == tr["n_providers_cumulative"]
    assert k["K3"] == tr["n_recognitions"]
    items = cards[year].checklist("B2").set_index("item")
    assert f"线下诊断企业{tr['n_offline_diagnoses']}家" in items.loc["b2_1", "evidence"]
    c4 = cards[year].checklist("C4").set_index("item")
    comp = tr["complaints"]
    sub = comp["投诉"]["n_substantiated"] + comp["信访"]["n_substantiated"]
    assert c4.loc["c4_1", "x"] == (1.0 if sub == 0 else 0.0)
    assert c4.loc["c4_5", "x"] == (1.0 if tr["n_clawbacks"] == 0 else 0.0)


@pytest.mark.parametrize("year", YEARS)
def test_survey_against_injected_rates(ds, year):
    tr = _truth(ds, year)
    s = analyse(ds, year=year)
    assert s.n_population == tr["n_survey_population"]
    assert s.n_valid == tr["n_respondents"]
    p, n = tr["response_rate"], s.n_population
    assert abs(s.response_rate - p) <= 3.5 * math.sqrt(p * (1 - p) / n)
    probs = np.array(tr["likert_probs"])
    v = np.array([100, 80, 60, 40, 20])
    sd = math.sqrt(probs @ v**2 - (probs @ v) ** 2)
    assert abs(s.index - tr["sat_index_expected"]) <= 3.5 * sd / math.sqrt(s.n_valid)
    p2 = probs[:2].sum()
    assert abs(s.top2_rate - p2) <= 3.5 * math.sqrt(p2 * (1 - p2) / s.n_valid)
    lo, hi = s.top2_ci
    assert lo < s.top2_rate < hi
    assert list(s.items["item"]) == [f"Q{i}" for i in range(7)]
    # one-factor model with loading 0.7: items correlate, alpha clearly positive
    assert 0.6 < s.alpha < 0.95
    assert not s.low_sample


def test_budget_and_aggregation(ds, cards, targets):
    sc = cards[2024]
    tr = _truth(ds, 2024)
    b = evaluate(ds, targets, year=2024, scheme="B")
    p2 = b.measurements["P2"]
    assert p2.details["numerator"] == pytest.approx(tr["total_disbursed"])
    for card in (sc, b):
        f = card.to_frame()
        assert f["weight"].sum() == pytest.approx(100)
        assert card.total == pytest.approx(f["score"].sum())
        assert card.grade == card.targets.grade_for(card.total)
        lv = card.by_level(1)
        assert lv.iloc[-1]["score"] == pytest.approx(card.total)
        assert lv.iloc[:-1]["weight"].sum() == pytest.approx(100)
        assert ((f["score"] >= -1e-12) & (f["score"] <= f["weight"] + 1e-9)).all()
    missing = f["deviation_reason"] == ""
    assert (f.loc[missing, "score_rate"] >= 1 - 1e-12).all()


def test_breakdowns(ds, cards):
    sc = cards[2024]
    tr = _truth(ds, 2024)
    t = sc.by_town()
    assert len(t) == 12 and t["n_funded_firms"].sum() == tr["n_funded_enterprises"]
    assert t["n_above_scale"].sum() == tr["n_above_scale_firms"]
    assert t["n_survey"].sum() == tr["n_respondents"]
    assert t["town_name"].notna().all()
    ind = sc.by_industry()
    assert ind["n_funded_firms"].sum() == tr["n_funded_enterprises"]


def test_missing_assessments_are_flagged_not_scored(ds, targets):
    b = evaluate(ds, targets, year=2024, scheme="B")
    assert not b.complete
    f = b.to_frame().set_index("id")
    assert "missing_assessment" in f.loc["D1", "flags"]
    assert f.loc["D1", "score"] == 0  # policy zero: missing counts as 0
    assert "缺评估" in f.loc["D1", "deviation_reason"]
    assert b.total_if_complete > b.total
    assert set(b.missing_items["item"]) >= {"d1_1", "d1_2", "d1_3"}
    t2 = copy.deepcopy(targets)
    t2.policies.missing_assessment = "exclude"
    b2 = evaluate(ds, t2, year=2024, scheme="B")
    f2 = b2.to_frame().set_index("id")
    # D2 has one computed item (d2_2, numbered policy document) and two missing:
    # zero gives x/3, exclude gives x
    x = b.checklist("D2").set_index("item").loc["d2_2", "x"]
    assert f.loc["D2", "score_rate"] == pytest.approx(x / 3)
    assert f2.loc["D2", "score_rate"] == pytest.approx(x)
    # D1 has only missing items: with exclude it is N/A, flagged, weight redistributed
    assert "missing_assessment" in f2.loc["D1", "flags"]
    assert f2.loc["D1", "tier"] == "不适用"


def test_with_example_assessments(ds, targets):
    from pathlib import Path

    a = load_assessments(
        Path(__file__).resolve().parents[1]
        / "data"
        / "assessments"
        / "example_2024.yaml",
        targets=targets,
    )
    b = evaluate(ds, targets, year=2024, scheme="B", assessments=a)
    assert b.complete
    items = b.checklist("D1").set_index("item")
    assert list(items["origin"]) == ["assessment"] * 3
    assert items.loc["d1_3", "x"] == 0.5
    assert b.to_frame().set_index("id").loc["D1", "score_rate"] == pytest.approx(
        2.5 / 3
    )
    assert "示例" in b.summary_zh()


def test_not_applicable_redistributes_within_level1(ds, targets):
    from jdeval.data import Dataset

    aw = ds.tables["awards"]
    keep = ~((aw["category"] == "SF_CITY_DEMO") & (aw["batch_year"] == 2024))
    ds2 = Dataset(
        tables={**ds.tables, "awards": aw.loc[keep]}, files=ds.files, truth=ds.truth
    )
    sc = evaluate(ds2, targets, year=2024, scheme="A")
    f = sc.to_frame().set_index("id")
    assert f.loc["C3", "tier"] == "不适用" and f.loc["C3", "weight"] == 0
    assert f.loc["C1", "weight"] == pytest.approx(4 + 4 * 4 / 11)
    assert f.loc["C4", "weight"] == pytest.approx(3 + 4 * 3 / 11)
    assert f.loc["O1", "weight"] == 15
    assert f["weight"].sum() == pytest.approx(100)


def test_budget_missing_is_na_and_spread_over_all(ds, targets):
    from jdeval.data import Dataset

    b = ds.tables["budget"]
    ds2 = Dataset(
        tables={**ds.tables, "budget": b.loc[b["year"] != 2024]},
        files=ds.files,
        truth=ds.truth,
    )
    sc = evaluate(ds2, targets, year=2024, scheme="A")
    f = sc.to_frame().set_index("id")
    assert f.loc["P2", "tier"] == "不适用"
    assert f.loc["O1", "weight"] == pytest.approx(15 * 100 / 90)
    assert f["weight"].sum() == pytest.approx(100)


def test_outputs_json_and_html(ds, cards, targets):
    import json

    sc = cards[2024]
    d = json.loads(sc.to_json())
    assert {"total", "grade", "indicators"} <= set(d)
    first = d["indicators"][0]
    assert {
        "id",
        "name",
        "target",
        "actual",
        "weight",
        "score",
        "tier",
        "flags",
    } <= set(first)
    t2 = copy.deepcopy(targets)
    t2.indicator("O1").level3.zh = "<script>x</script>"
    h = evaluate(ds, t2, year=2024)._repr_html_()
    assert "<script>" not in h and "&lt;script&gt;" in h
    assert isinstance(sc.drilldown("O3"), pd.DataFrame)
    ev = sc.evidence("O2")
    assert ev["rule"] and ev["source"] and len(ev["rows"]) == ev["details"]["n"]
