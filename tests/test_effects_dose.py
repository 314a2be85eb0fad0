"""Effects by subsidy intensity (jdeval.effects.dose) on a planted dose-response.

The default synthetic data plant no dose-response (truth.json: effects depend on
event time and cohort, not on the amount), so the test plants one: staggered
cohorts 2022/2023, dose d ~ U(5, 200) 万元, effect ``0.1 + 0.004·d`` from the first
funded year on. Cross-check: the independent ``contdid`` package (PyPI 0.1.0,
Callaway–Goodman-Bacon–Sant'Anna semantics) run on the same panel; its results are
stored in tests/fixtures/contdid_planted.json (contdid is AGPL and not a
dependency) and recomputed live when contdid is installed.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.dose import dose_response, firm_did, firm_dose

BETA, A0 = 0.004, 0.1
REF = json.loads(
    (Path(__file__).parent / "fixtures" / "contdid_planted.json").read_text()
)


def planted(seed=0, n=1500, beta=BETA, a0=A0):
    rng = np.random.default_rng(seed)
    years = np.arange(2019, 2025)
    g = rng.choice([0, 2022, 2023], size=n, p=[0.5, 0.25, 0.25])
    dose = np.where(g > 0, rng.uniform(5, 200, size=n), 0.0)
    fe = rng.normal(size=n)
    rows = []
    for i in range(n):
        for t in years:
            post = g[i] > 0 and t >= g[i]
            eff = (a0 + beta * dose[i]) if post else 0.0
            rows.append(
                (
                    f"F{i:05d}",
                    int(t),
                    int(g[i]),
                    dose[i],
                    fe[i] + 0.05 * (t - 2019) + eff + rng.normal(0, 0.5),
                    eff,
                )
            )
    return pd.DataFrame(
        rows, columns=["firm_id", "year", "first_award_year", "dose", "y", "tau"]
    )


@pytest.fixture(scope="module")
def panel():
    df = planted()
    assert df["y"].sum() == pytest.approx(REF["dgp_sum_y"], rel=1e-12)
    # a level outcome in 万元: 20·y plus 2·d per funded firm-year
    df["inv"] = 100 + 20 * df["y"] + 2.0 * df["tau"].gt(0) * df["dose"]
    return df


@pytest.fixture(scope="module")
def result(panel):
    dose = panel.drop_duplicates("firm_id").set_index("firm_id")["dose"]
    return dose_response(
        panel, dose[dose > 0], outcomes=["y"], year=2024, level_outcome="inv"
    )


def test_slope_recovers_planted_and_matches_contdid(result):
    s = result.slope.iloc[0]
    assert s["ci_low"] <= BETA <= s["ci_high"]
    # contdid's ACRT (linear dose-response) on the same panel
    assert s["slope"] == pytest.approx(REF["acrt"], abs=0.1 * REF["acrt_se"])
    assert s["se"] == pytest.approx(REF["acrt_se"], rel=0.05)


def test_bins_recover_planted_and_agree_with_contdid(result, panel):
    b = result.by_bin
    assert list(b["bin"]) == [1, 2, 3] and b["n_firms"].sum() == 774
    truth = [
        panel.loc[panel["tau"].gt(0) & panel["dose"].between(lo, hi), "tau"].mean()
        for lo, hi in zip(b["dose_min"], b["dose_max"])
    ]
    assert ((b["ci_low"] <= truth) & (truth <= b["ci_high"])).all()
    assert b["estimate"].is_monotonic_increasing
    np.testing.assert_allclose(b["dose_mean"], REF["level_dvals"], rtol=1e-10)
    gap = np.abs(b["estimate"] - REF["level"])
    assert (gap < 2 * np.hypot(b["se"], REF["level_se"])).all()


def test_value_for_money_levels(result, panel):
    v = result.value_for_money
    post = panel.loc[panel["tau"].gt(0)]
    # inv = 100 + 20·y + 2·d after funding: effect 20·τ + 2·d per funded firm-year
    added = (20 * post["tau"] + 2.0 * post["dose"]).sum()
    truth = float(added / post.drop_duplicates("firm_id")["dose"].sum())
    assert v["ci_low"] <= truth <= v["ci_high"]
    assert v["n_firm_years"] == len(post)
    assert v["per_wan"] == pytest.approx(
        v["att_level"] * v["n_firm_years"] / v["total_subsidy"]
    )
    assert "万元" in result.reading_zh


def test_firm_did_is_exact_without_noise():
    df = planted(n=300)
    df["y"] = df["tau"] + 0.05 * df["year"]  # no noise: every firm's DiD is its τ
    fd = firm_did(df, yname="y", year=2024).set_index("firm_id")
    tau = df.loc[df["tau"].gt(0)].groupby("firm_id")["tau"].mean()
    np.testing.assert_allclose(fd.loc[tau.index, "tau"], tau, atol=1e-12)


def test_firm_dose_uses_first_year_awards():
    awards = pd.DataFrame(
        {
            "firm_id": ["A", "A", "B", "C"],
            "batch_year": [2023, 2024, 2024, 2024],
            "approved_amount": [50.0, 100.0, 20.0, 0.0],
        }
    )
    g = pd.Series({"A": 2023, "B": 2024, "C": 0})
    assert firm_dose(awards, g).to_dict() == {"A": 50.0, "B": 20.0}


def test_no_dose_variation_is_unavailable(panel):
    same = panel.drop_duplicates("firm_id").set_index("firm_id")["dose"].clip(upper=5.0)
    r = dose_response(panel, same[same > 0] * 0 + 5.0, outcomes=["y"], year=2024)
    assert not r.available and r.reason_zh


@pytest.mark.slow
def test_contdid_live(panel):
    contdid = pytest.importorskip("contdid")
    pdat = contdid.PanelData(
        panel,
        id_column="firm_id",
        time_column="year",
        outcome_column="y",
        group_column="first_award_year",
        dose_column="dose",
    )
    r = contdid.cont_did(pdat, target_parameter="slope", degree=1, bstrap=False)
    assert contdid.to_dataframe(r)["estimate"].iloc[0] == pytest.approx(
        REF["acrt"], rel=1e-8
    )
