"""att_gt where peers break: unbalanced panels, no never-treated units, cohort coding,
first-period and tiny cohorts, bad input; plus bootstrap and clustering.

Truth used here: hand-computed 2×2 difference-in-differences of means (without
covariates every estimator reduces to it), invariance of the estimates to how the
same data is coded, and R did's results on ``mpdta`` (fixture).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jdeval.effects.did import AttGtResult, DidWarning, att_gt
from jdeval.errors import DataError

FIX = Path(__file__).parent / "fixtures"
KW = dict(yname="lemp", tname="year", idname="countyreal", gname="first.treat")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(FIX / "mpdta.csv")


@pytest.fixture(scope="module")
def base(mpdta) -> AttGtResult:
    return att_gt(mpdta, **KW, xformla="~ lpop")


def _quiet(fn, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DidWarning)
        return fn(*a, **k)


def _same(r1: AttGtResult, r2: AttGtResult, tol=1e-12):
    f1, f2 = r1.to_frame(), r2.to_frame()
    assert list(f1["group"]) == list(f2["group"])
    assert list(f1["time"]) == list(f2["time"])
    np.testing.assert_allclose(f1["estimate"], f2["estimate"], atol=tol, rtol=0)
    np.testing.assert_allclose(f1["se"], f2["se"], atol=tol, rtol=0)


def _did_means(df, g, t, base, controls):
    """Plain 2×2 DiD of means: the truth every estimator reduces to without covariates."""
    w = df.pivot(index="countyreal", columns="year", values="lemp")
    grp = df.groupby("countyreal")["first.treat"].first()
    dy = w[t] - w[base]
    return dy[grp == g].mean() - dy[grp.isin(controls)].mean()


# ----------------------------------------------------------- cohort coding
def test_never_treated_as_nan_equals_zero(mpdta, base):
    d = mpdta.copy()
    d["first.treat"] = d["first.treat"].astype(float).replace(0.0, np.nan)
    _same(base, att_gt(d, **KW, xformla="~ lpop"))


def test_float_and_datetime_cohorts(mpdta, base):
    d = mpdta.copy()
    d["first.treat"] = d["first.treat"].astype(float)
    _same(base, att_gt(d, **KW, xformla="~ lpop"))
    d = mpdta.copy()
    d["year"] = pd.to_datetime(d["year"].astype(str) + "-01-01")
    d["first.treat"] = pd.to_datetime(
        d["first.treat"].where(d["first.treat"] > 0).astype("Int64").astype(str),
        errors="coerce",
        format="%Y",
    )
    res = att_gt(d, **KW, xformla="~ lpop")
    _same(base, res)
    assert list(res.to_frame()["group"].unique()) == [2004, 2006, 2007]


def test_cohort_after_last_period_is_never_treated(mpdta, base):
    d = mpdta.copy()
    d.loc[d["first.treat"] == 0, "first.treat"] = 2050
    _same(base, att_gt(d, **KW, xformla="~ lpop"))


# ------------------------------------------------------ peers break here
def test_first_period_cohort_dropped_with_warning(mpdta, base):
    extra = mpdta[mpdta["countyreal"].isin(mpdta["countyreal"].unique()[:7])].copy()
    extra["countyreal"] += 100_000
    extra["first.treat"] = 2003
    d = pd.concat([mpdta, extra], ignore_index=True)
    with pytest.warns(DidWarning, match="7"):
        res = att_gt(d, **KW, xformla="~ lpop")
    _same(base, res)
    assert any("2003" in n for n in res.notes)


def test_tiny_cohort_warned(mpdta):
    small_ids = mpdta.loc[mpdta["first.treat"] == 2004, "countyreal"].unique()[:3]
    d = mpdta[(mpdta["first.treat"] != 2004) | mpdta["countyreal"].isin(small_ids)]
    with pytest.warns(DidWarning, match="2004 \\(n=3\\)"):
        res = att_gt(d, **KW)
    assert np.isfinite(res.to_frame()["estimate"]).all()


def test_no_never_treated_nevertreated_is_clear_error(mpdta):
    d = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(DataError, match="notyettreated") as err:
        att_gt(d, **KW)
    assert err.value.problems[0].code == "did_no_never_treated"


def test_no_never_treated_notyettreated_works(mpdta):
    d = mpdta[mpdta["first.treat"] > 0].reset_index(drop=True)
    with pytest.warns(DidWarning, match="2007"):
        res = att_gt(d, **KW, control_group="notyettreated")
    f = res.to_frame().set_index(["group", "time"])
    # As R did: periods >= 2007 dropped, cohort 2007 becomes the comparison group.
    assert set(f.index) == {(2004, t) for t in (2004, 2005, 2006)} | {
        (2006, t) for t in (2004, 2005, 2006)
    }
    # ATT(2004, 2005): base 2003; not-yet-treated by 2005 = cohorts 2006 and 2007.
    truth = _did_means(d, 2004, 2005, 2003, [2006, 2007])
    assert f.loc[(2004, 2005), "estimate"] == pytest.approx(truth, abs=1e-12)
    truth = _did_means(d, 2006, 2006, 2005, [2007])
    assert f.loc[(2006, 2006), "estimate"] == pytest.approx(truth, abs=1e-12)
    agg = res.aggregate("dynamic")
    assert np.isfinite(agg.overall_att) and agg.overall_se > 0


def test_unbalanced_panel_error_lists_units(mpdta):
    d = mpdta.drop(index=[3, 7, 12]).reset_index(drop=True)
    with pytest.raises(DataError) as err:
        att_gt(d, **KW)
    probs = err.value.problems
    assert len(probs) == 3 and all(p.code == "did_unbalanced" for p in probs)
    assert "allow_unbalanced_panel=True" in probs[0].message_zh
    assert {p.value for p in probs} == set(mpdta.loc[[3, 7, 12], "countyreal"])


def test_unbalanced_panel_allowed(mpdta, base):
    # On a balanced panel the unbalanced code path gives the balanced answer.
    _same(base, att_gt(mpdta, **KW, xformla="~ lpop", allow_unbalanced_panel=True))
    rng = np.random.default_rng(1)
    drop = rng.choice(len(mpdta), 150, replace=False)
    d = mpdta.drop(index=drop).reset_index(drop=True)
    res = att_gt(d, **KW, allow_unbalanced_panel=True, panel_mode="balanced_pairs")
    assert res.params["panel_mode"] == "balanced_pairs"
    f = res.to_frame().set_index(["group", "time"])
    # balanced_pairs: each ATT(g, t) uses the firms observed in both its periods.
    w = d.pivot(index="countyreal", columns="year", values="lemp")
    grp = d.groupby("countyreal")["first.treat"].first()
    dy = (w[2006] - w[2003]).dropna()
    g = grp[dy.index]
    truth = dy[g == 2004].mean() - dy[g == 0].mean()
    assert f.loc[(2004, 2006), "estimate"] == pytest.approx(truth, abs=1e-12)
    assert res.n_units == mpdta["countyreal"].nunique()
    assert np.isfinite(res.aggregate("simple").overall_se)
    # R's meaning (default): repeated cross sections, every row of the two periods:
    # without covariates, differences of the four period-group means.
    rcs = att_gt(d, **KW, allow_unbalanced_panel=True)
    assert rcs.params["panel_mode"] == "repeated_cross_section"
    fr = rcs.to_frame().set_index(["group", "time"])
    lvl = d.assign(g=d["first.treat"]).groupby(["g", "year"])["lemp"].mean()
    truth = (lvl[2004, 2006] - lvl[2004, 2003]) - (lvl[0, 2006] - lvl[0, 2003])
    assert fr.loc[(2004, 2006), "estimate"] == pytest.approx(truth, abs=1e-12)
    assert fr.loc[(2004, 2006), "estimate"] != pytest.approx(
        f.loc[(2004, 2006), "estimate"], abs=1e-6
    )


# ------------------------------------------------------------- bad input
def test_missing_columns_all_listed(mpdta):
    with pytest.raises(DataError) as err:
        att_gt(mpdta, yname="y_missing", tname="year", idname="countyreal", gname="gg")
    cols = {p.column for p in err.value.problems}
    assert cols == {"y_missing", "gg"}
    assert "缺少列" in err.value.problems[0].message_zh


def test_non_numeric_time(mpdta):
    d = mpdta.assign(year=mpdta["year"].astype(str) + "年")
    with pytest.raises(DataError, match="year"):
        att_gt(d, **KW)


def test_group_varying_within_unit(mpdta):
    d = mpdta.copy()
    d.loc[1, "first.treat"] = 2005  # county 8001 (cohort 2007) now has two cohorts
    with pytest.raises(DataError) as err:
        att_gt(d, **KW)
    p = err.value.problems[0]
    assert p.code == "did_group_varies" and p.value == 8001 and p.row == 2


def test_duplicate_rows(mpdta):
    d = pd.concat([mpdta, mpdta.iloc[[5]]], ignore_index=True)
    with pytest.raises(DataError, match="重复|more than one row"):
        att_gt(d, **KW)


@pytest.mark.parametrize(
    "opt",
    [
        {"control_group": "never"},
        {"est_method": "ols"},
        {"base_period": "fixed"},
        {"anticipation": -1},
        {"xformla": "~ log(lpop)"},
    ],
)
def test_bad_options_are_value_errors(mpdta, opt):
    with pytest.raises(ValueError):
        att_gt(mpdta, **KW, **opt)


# ------------------------------------------------------- SEs and bootstrap
def test_bootstrap_close_to_analytic_and_reproducible(mpdta, base):
    r1 = att_gt(mpdta, **KW, xformla="~ lpop", bstrap=True, biters=2000, seed=7)
    r2 = att_gt(mpdta, **KW, xformla="~ lpop", bstrap=True, biters=2000, seed=7)
    np.testing.assert_array_equal(r1.to_frame()["se"], r2.to_frame()["se"])
    ratio = r1.to_frame()["se"] / base.to_frame()["se"]
    assert ratio.between(0.85, 1.15).all(), ratio
    f = r1.to_frame()
    # Uniform band is wider than pointwise intervals, narrower than Bonferroni.
    assert 1.96 < r1.crit_val < 3.5
    assert (f["cband_high"] - f["cband_low"] > f["ci_high"] - f["ci_low"]).all()
    dyn = r1.aggregate("dynamic")
    assert {"cband_low", "cband_high"} <= set(dyn.to_frame().columns)
    assert dyn.overall_se == pytest.approx(
        base.aggregate("dynamic").overall_se, rel=0.15
    )


def test_rademacher_bootstrap(mpdta, base):
    r = att_gt(
        mpdta,
        **KW,
        xformla="~ lpop",
        bstrap=True,
        biters=2000,
        seed=3,
        bootstrap_weights="rademacher",
    )
    ratio = r.to_frame()["se"] / base.to_frame()["se"]
    assert ratio.between(0.85, 1.15).all()


def test_cluster_by_unit_equals_default_and_coarser_cluster(mpdta, base):
    d = mpdta.assign(cl=mpdta["countyreal"] * 10)
    same = att_gt(d, **KW, xformla="~ lpop", clustervars=["cl"])
    _same(base, same)
    d = mpdta.assign(state=mpdta["countyreal"] // 1000)
    with pytest.warns(DidWarning, match="2004"):
        # cohort 2004 lies in a single state: no cluster-robust SE for it
        res = att_gt(d, **KW, xformla="~ lpop", clustervars="state")
    # Few clusters: leave-one-cluster-out jackknife SEs (checked against a
    # brute-force jackknife in test_effects_did_clusters.py), t(G-1) intervals.
    g = d.groupby("countyreal")["state"].first().nunique()
    f = res.to_frame()
    assert f.loc[f["group"] == 2004, "se"].isna().all()
    assert np.isnan(res.aggregate("simple").overall_se)
    f = f.loc[f["group"] != 2004]
    assert f["se"].notna().all()
    assert not np.allclose(f["se"], base.to_frame().loc[f.index, "se"])
    tcrit = stats.t.ppf(0.975, g - 1)
    np.testing.assert_allclose(
        f["ci_high"] - f["estimate"], tcrit * f["se"], rtol=1e-12
    )
    assert res.inference.n_clusters == g and res.inference.critical == "t(G-1)"
    agg = res.aggregate("group")
    assert agg.t_df == g - 1
    row = agg.to_frame().set_index("group").loc[2007]
    assert row["ci_high"] - row["estimate"] == pytest.approx(tcrit * row["se"])


def test_cluster_must_be_constant_within_unit(mpdta):
    d = mpdta.assign(cl=np.arange(len(mpdta)) % 3)
    with pytest.raises(DataError, match="cl"):
        att_gt(d, **KW, clustervars=["cl"])


# ----------------------------------------------------------- result object
def test_result_interface(base):
    dyn = base.aggregate("dynamic", min_e=-2, max_e=2)
    f = dyn.to_frame()
    assert list(f["event_time"]) == [-2, -1, 0, 1, 2]
    assert {"estimate", "se", "ci_low", "ci_high"} <= set(f.columns)
    text = dyn.summary()
    assert "总体效应 overall ATT" in text and "对照组 control group" in text
    assert "<table" in dyn._repr_html_()
    assert "Wald" in str(base.pretest())
    bal = base.aggregate("dynamic", balance_e=1)
    # balance_e=1: only cohorts observed >= 1 period after treatment (2004, 2006).
    assert bal.to_frame()["event_time"].max() == 1


def test_plots_draw(base):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for obj in (base, base.aggregate("dynamic"), base.aggregate("group")):
        ax = obj.plot(lang="en")
        ax.figure.canvas.draw()
        assert ax.get_xlabel()
        plt.close(ax.figure)


def test_string_ids_nullable_ints_and_shuffled_rows(mpdta, base):
    # As jdeval.data loads firm_year: str ids, Int64 years, missing = never funded.
    d = mpdta.copy()
    d["countyreal"] = ("F" + d["countyreal"].astype(str)).astype("str")
    d["year"] = d["year"].astype("Int64")
    d["first.treat"] = d["first.treat"].astype("Int64").mask(d["first.treat"] == 0)
    d = d.sample(frac=1, random_state=1)
    _same(base, att_gt(d, **KW, xformla="~ lpop"), tol=1e-14)
