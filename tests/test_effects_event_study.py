"""Regression event studies: Sun–Abraham against diff-diff, and planted effects.

The simulated panel below plants effects that differ by cohort and event time
(``tau = 0.1 + 0.05 e + 0.02 (g - 2023)``), the case where dynamic TWFE is
contaminated and Sun–Abraham is not.
"""

import numpy as np
import pandas as pd
import pytest

from jdeval.effects._event_study import event_study


def staggered(n=600, seed=3, never_share=0.4):
    rng = np.random.default_rng(seed)
    years = np.arange(2019, 2026)
    p_g = [never_share] + [(1 - never_share) / 3] * 3
    g = rng.choice([0, 2023, 2024, 2025], n, p=p_g)
    a = rng.normal(0, 1, n)
    rows = []
    for t in years:
        e = t - g
        tau = np.where((g > 0) & (t >= g), 0.1 + 0.05 * e + 0.02 * (g - 2023), 0.0)
        y = a + 0.1 * (t - 2019) + tau + rng.normal(0, 0.3, n)
        rows.append(
            pd.DataFrame({"id": np.arange(n), "year": t, "g": g, "y": y, "tau": tau})
        )
    return pd.concat(rows, ignore_index=True)


@pytest.fixture(scope="module")
def panel():
    return staggered()


def true_by_event_time(d):
    tr = d.loc[(d["g"] > 0) & (d["year"] >= d["g"])]
    return tr.groupby(tr["year"] - tr["g"])["tau"].mean()


def test_sun_abraham_equals_diff_diff(panel):
    dd = pytest.importorskip("diff_diff")
    ours = event_study(
        panel, yname="y", idname="id", tname="year", gname="g", estimator="sunab"
    )
    theirs = dd.SunAbraham(cluster="id").fit(
        panel, outcome="y", unit="id", time="year", first_treat="g"
    )
    f = ours.to_frame().set_index("event_time")
    for e, v in theirs.event_study_effects.items():
        assert f.loc[int(e), "estimate"] == pytest.approx(v["effect"], abs=1e-8)
        assert f.loc[int(e), "se"] == pytest.approx(v["se"], rel=1e-6)
    assert ours.overall_att == pytest.approx(theirs.overall_att, abs=1e-8)
    assert ours.overall_se == pytest.approx(theirs.overall_se, rel=1e-6)


def test_sun_abraham_covers_planted_effects(panel):
    res = event_study(
        panel, yname="y", idname="id", tname="year", gname="g", estimator="sunab"
    )
    f = res.to_frame().set_index("event_time")
    truth = true_by_event_time(panel)
    for e, tv in truth.items():
        assert f.loc[e, "ci_low"] <= tv <= f.loc[e, "ci_high"], (e, tv)
    # reference period is the omitted category
    assert f.loc[-1, "estimate"] == 0.0 and np.isnan(f.loc[-1, "se"])
    post = panel.loc[(panel["g"] > 0) & (panel["year"] >= panel["g"]), "tau"].mean()
    lo, hi = res.overall_ci
    assert lo <= post <= hi


def test_dynamic_twfe_and_binning(panel):
    res = event_study(
        panel, yname="y", idname="id", tname="year", gname="g", bin_min=-3
    )
    f = res.to_frame()
    assert f["event_time"].min() == -3
    assert (f["n"] > 0).all()
    assert res.kind == "event_study" and res.type == "dynamic"


def test_sun_abraham_without_never_treated_uses_last_cohort():
    d = staggered(never_share=0.0, seed=5)
    res = event_study(
        d, yname="y", idname="id", tname="year", gname="g", estimator="sunab"
    )
    assert any("2025" in n for n in res.notes)
    f = res.to_frame().set_index("event_time")
    truth = true_by_event_time(d.loc[(d["g"] < 2025) & (d["year"] < 2025)])
    for e, tv in truth.items():
        assert f.loc[e, "ci_low"] <= tv <= f.loc[e, "ci_high"]


@pytest.mark.slow
def test_sun_abraham_coverage_monte_carlo():
    """95 % CIs of the SA overall effect cover the sample ATT in 92–98 % of 300 draws
    (binomial SD 1.3 points)."""
    hits = 0
    reps = 300
    for seed in range(reps):
        d = staggered(n=300, seed=1000 + seed)
        res = event_study(
            d, yname="y", idname="id", tname="year", gname="g", estimator="sunab"
        )
        att = d.loc[(d["g"] > 0) & (d["year"] >= d["g"]), "tau"].mean()
        lo, hi = res.overall_ci
        hits += lo <= att <= hi
    assert 0.92 <= hits / reps <= 0.98, hits / reps
