"""Scoring formulas of domain-spec §3 against hand-computed values."""

import math

import pandas as pd
import pytest

from jdeval.indicators import formulas as F
from jdeval.indicators.targets import load_targets

# The spec's values (domain-spec §3) passed explicitly: formulas take every rule
# as an argument and hold no defaults of their own.
POS = dict(
    theta_over=0.30,
    over_policy="cap",
    penalty_floor=0.8,
    penalty_slope=0.5,
    partial=0.6,
)
TIERS = dict(achieved=0.8, partial=0.6)
TREND = dict(delta=0.05, f_up=1.0, f_flat=0.7, f_down=0.4, **TIERS)


def test_positive_under_on_over_target():
    r = F.positive(45, 60, **POS)
    assert r.f == pytest.approx(0.75) and r.tier == F.PARTIAL
    r = F.positive(60, 60, **POS)
    assert r.f == 1.0 and r.tier == F.ACHIEVED and r.flags == ()
    r = F.positive(30, 60, **POS)
    assert r.f == pytest.approx(0.5) and r.tier == F.NOT_ACHIEVED
    # exactly on the θ_over boundary: r = 1.3 is not "more than" 1 + θ
    r = F.positive(78, 60, **POS)
    assert r.f == 1.0 and "over_target" not in r.flags
    r = F.positive(90, 60, **POS)  # r = 1.5
    assert r.f == 1.0 and "over_target" in r.flags


def test_positive_over_penalty():
    # r = 1.5, θ = 0.3: 1 − 0.5·0.2 = 0.9
    r = F.positive(90, 60, **(POS | {"over_policy": "penalty"}))
    assert r.f == pytest.approx(0.9)
    # r = 3: 1 − 0.5·1.7 = 0.15 → floor 0.8
    assert F.positive(180, 60, **(POS | {"over_policy": "penalty"})).f == pytest.approx(
        0.8
    )


def test_positive_target_zero_and_missing():
    r = F.positive(5, 0, **POS)
    assert r.f == 1.0 and "target_zero" in r.flags
    assert not F.positive(float("nan"), 60, **POS).applicable


def test_negative_formulas():
    assert F.negative(8, 10, formula="ratio", partial=0.6).f == 1.0
    assert F.negative(12.5, 10, formula="ratio", partial=0.6).f == pytest.approx(0.8)
    assert F.negative(12.5, 10, formula="two_minus", partial=0.6).f == pytest.approx(
        0.75
    )
    assert F.negative(30, 10, formula="two_minus", partial=0.6).f == 0.0
    r = F.negative(1, 0, formula="ratio", partial=0.6)
    assert r.f == 0.0 and "target_zero" in r.flags
    assert F.negative(0, 0, formula="ratio", partial=0.6).f == 1.0


def test_exact():
    assert F.exact(45, 50, partial=0.6).f == pytest.approx(0.9)
    assert F.exact(55, 50, partial=0.6).f == pytest.approx(0.9)
    assert F.exact(120, 50, partial=0.6).f == 0.0
    assert F.exact(0, 0, partial=0.6).f == 1.0 and F.exact(1, 0, partial=0.6).f == 0.0


def test_cost_cap():
    r = F.cost_cap([50, 50, 40, 60], 50, partial=0.6)
    assert r.f == pytest.approx(0.75) and "over_cap" in r.flags
    assert F.cost_cap([50.0, 49.99], 50, partial=0.6).f == 1.0
    r = F.cost_cap([], 50, partial=0.6)
    assert not r.applicable and math.isnan(r.f) and r.tier == F.NOT_APPLICABLE


def test_on_time_and_deadline():
    due, ev = "2026-12-31", "2024-12-31"
    appr = ["2024-06-01", "2024-11-01", "2024-03-01", "2024-11-15"]
    disb = ["2024-08-01", None, None, "2025-03-01"]  # the last is after eval date
    got = F.on_time(appr, disb, due=due, eval_date=ev, lmax_days=180)
    # disbursed; 60 days old; 305 days old (late); not yet known and 46 days old
    assert list(got) == [1.0, 1.0, 0.0, 1.0]
    assert F.deadline(got, partial=0.6).f == pytest.approx(0.75)
    # after the deadline nothing undisbursed is on track; disbursed after due is late
    got = F.on_time(
        ["2026-11-01", "2026-01-01"],
        [None, "2027-01-05"],
        due=due,
        eval_date="2027-02-01",
        lmax_days=180,
    )
    assert list(got) == [0.0, 0.0]
    assert not F.deadline([], partial=0.6).applicable


def test_checklist_tiers_and_boundaries():
    assert F.checklist([1, 1, 1, 1, 0], missing="zero", **TIERS).f == pytest.approx(0.8)
    assert (
        F.checklist([1, 1, 1, 1, 0], missing="zero", **TIERS).tier == F.ACHIEVED
    )  # 0.8 is 达成 (含80)
    assert (
        F.checklist([1, 1, 1, 0, 0], missing="zero", **TIERS).tier == F.PARTIAL
    )  # 0.6 is 部分达成 (含60)
    assert (
        F.checklist([1, 1, 0.5, 0, 0], missing="zero", **TIERS).tier == F.NOT_ACHIEVED
    )  # 0.5
    r = F.checklist([1, 0.5], weights=[3, 1], missing="zero", **TIERS)
    assert r.f == pytest.approx(3.5 / 4)
    r = F.checklist([1, 1, 1], cap=0.59, missing="zero", **TIERS)
    assert r.f == 0.59 and r.tier == F.NOT_ACHIEVED and "capped" in r.flags


def test_checklist_missing_assessment():
    r = F.checklist([1, None, 1, 1], missing="zero", **TIERS)
    assert r.f == pytest.approx(0.75) and "missing_assessment" in r.flags
    r = F.checklist([1, None, 1, 1], missing="exclude", **TIERS)
    assert r.f == 1.0 and "missing_assessment" in r.flags
    assert not F.checklist([None], missing="exclude", **TIERS).applicable


def test_trend():
    r = F.trend(110, 100, **TREND)
    assert r.f == 1.0 and r.ratio == pytest.approx(0.1) and r.tier == F.ACHIEVED
    assert (
        F.trend(100, 100, **TREND).f == 0.7
        and F.trend(100, 100, **TREND).tier == F.PARTIAL
    )
    assert F.trend(96, 100, **TREND).f == 0.7  # g = −0.04 > −δ
    assert F.trend(95, 100, **TREND).f == 0.4  # g = −0.05: on the boundary → 未达成
    assert (
        F.trend(5, 0, **TREND).f == 1.0 and "base_zero" in F.trend(5, 0, **TREND).flags
    )


@pytest.mark.parametrize(
    ("total", "grade"),
    [
        (100, "优"),
        (90, "优"),
        (89.996, "优"),
        (89.994, "良"),
        (80, "良"),
        (79.99, "中"),
        (60, "中"),
        (59.99, "差"),
        (0, "差"),
    ],
)
def test_grade_bands_inclusive_lower(total, grade):
    # targets.grade_for is the one place scores map to grades (bundled bands)
    assert load_targets().grade_for(total) == grade


def test_redistribute_within_and_across_groups():
    w = {"C1": 4, "C2": 4, "C3": 4, "C4": 3, "O1": 15, "P2": 10}
    g = {
        "C1": "成本",
        "C2": "成本",
        "C3": "成本",
        "C4": "成本",
        "O1": "产出",
        "P2": "预算执行率",
    }
    ok = dict.fromkeys(w, True) | {"C3": False}
    eff = F.redistribute(w, ok, g)
    assert eff["C3"] == 0
    assert eff["C1"] == pytest.approx(4 + 4 * 4 / 11)
    assert eff["C4"] == pytest.approx(3 + 4 * 3 / 11)
    assert eff["O1"] == 15 and sum(eff.values()) == pytest.approx(40)
    # a whole 一级 N/A (no budget): spread over all others pro rata
    ok = dict.fromkeys(w, True) | {"P2": False}
    eff = F.redistribute(w, ok, g)
    assert eff["O1"] == pytest.approx(15 + 10 * 15 / 30)
    assert sum(eff.values()) == pytest.approx(40)
    assert F.redistribute(w, ok, g, policy="zero") == {
        k: float(v) for k, v in w.items()
    }


def test_on_time_accepts_datetime_series():
    s = pd.Series(pd.to_datetime(["2024-01-01"]))
    assert list(
        F.on_time(
            s,
            pd.Series([pd.NaT]),
            due="2026-12-31",
            eval_date="2024-03-01",
            lmax_days=180,
        )
    ) == [1.0]
