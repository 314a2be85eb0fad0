"""Few-cluster inference for att_gt (issue 13 item 1).

Jiading has 12 街镇 of very unequal size. With ``clustervars`` naming such a level,
att_gt uses the leave-one-cluster-out jackknife variance with t(G-1) critical values,
or a wild cluster bootstrap-t (Webb / Rademacher weights) on the jackknife-transformed
scores. The fast tests check the machinery on one sample against a brute-force
jackknife (att_gt re-run on the data without each town); the slow Monte Carlo checks
95 % coverage with 12 unequal towns and town-year shocks.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jdeval.effects.did import att_gt

SIZES = np.array([300, 200, 150, 120, 100, 80, 70, 60, 40, 40, 25, 15])
T = 6
KW = dict(yname="y", tname="year", idname="firm", gname="g", xformla="~ x")
#: simple aggregation target: cohorts 4, 5, 6 equally likely, tau(e) = 1 + 0.5 e
TRUTH = (3 * 1.0 + 2 * 1.5 + 2.0) / 6


def _panel(rng: np.random.Generator, sizes=SIZES, shock_sd: float = 0.5):
    """Firms in towns of unequal size; town-year shocks; funding varies by town."""
    town = np.repeat(np.arange(len(sizes)), sizes)
    n = town.size
    x = rng.normal(size=n)
    p_town = np.linspace(0.15, 0.6, len(sizes))[rng.permutation(len(sizes))]
    funded = rng.random(n) < 1.6 * p_town[town] / (1 + np.exp(-0.8 * x))
    g = np.where(funded, rng.choice([4, 5, 6], n), 0)
    t = np.arange(1, T + 1)
    e = t[None, :] - g[:, None]
    tau = np.where((g[:, None] > 0) & (e >= 0), 1.0 + 0.5 * e, 0.0)
    eta = rng.normal(scale=shock_sd, size=(len(sizes), T))
    y = (
        rng.normal(size=n)[:, None]
        + (0.3 + 0.4 * x[:, None]) * t[None, :]
        + tau
        + rng.normal(size=(n, T))
        + eta[town]
    )
    return pd.DataFrame(
        {
            "firm": np.repeat(np.arange(n), T),
            "year": np.tile(t, n),
            "g": np.repeat(g, T),
            "x": np.repeat(x, T),
            "town": np.repeat(town, T),
            "y": y.ravel(),
        }
    )


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return _panel(np.random.default_rng(7))


@pytest.fixture(scope="module")
def clustered(sample):
    return att_gt(sample, **KW, clustervars="town")


def test_jackknife_equals_brute_force(sample, clustered):
    """SEs equal the jackknife over att_gt runs on the data without each town."""
    reps_cells, reps_simple, reps_dyn = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for c in range(len(SIZES)):
            r = att_gt(sample.loc[sample["town"] != c], **KW)
            reps_cells.append(r.to_frame()["estimate"].to_numpy())
            reps_simple.append(r.aggregate("simple").overall_att)
            reps_dyn.append(r.aggregate("dynamic").to_frame()["estimate"].to_numpy())
    g = len(SIZES)

    def jk(a):
        a = np.asarray(a)
        return np.sqrt((g - 1) / g * ((a - a.mean(axis=0)) ** 2).sum(axis=0))

    f = clustered.to_frame()
    np.testing.assert_allclose(f["se"], jk(reps_cells), rtol=1e-9)
    tcrit = stats.t.ppf(0.975, g - 1)
    np.testing.assert_allclose(
        f["ci_high"] - f["estimate"], tcrit * f["se"], rtol=1e-12
    )
    simple = clustered.aggregate("simple")
    assert simple.overall_se == pytest.approx(jk(reps_simple), rel=1e-9)
    assert simple.t_df == g - 1
    lo, hi = simple.overall_ci
    assert hi - simple.overall_att == pytest.approx(tcrit * simple.overall_se)
    p = 2 * stats.t.sf(abs(simple.overall_att / simple.overall_se), g - 1)
    assert simple.overall_p_value == pytest.approx(p)
    dyn = clustered.aggregate("dynamic")
    np.testing.assert_allclose(dyn.to_frame()["se"], jk(reps_dyn), rtol=1e-9)


def test_inference_is_described_for_the_report(sample, clustered):
    info = clustered.inference
    assert info.cluster_var == "town" and info.n_clusters == 12
    assert info.method == "analytic" and info.critical == "t(G-1)" and info.df == 11
    assert "town" in info.reason_zh and "12" in info.reason_zh
    firm = att_gt(sample, **KW)
    assert firm.inference.cluster_var == "firm"
    assert firm.inference.critical == "normal" and firm.inference.df is None
    assert "按企业聚类" in firm.inference.reason_zh
    # One firm per cluster is clustering by firm (R did drops such a cluster).
    same = att_gt(sample.assign(cl=sample["firm"] * 10), **KW, clustervars="cl")
    np.testing.assert_allclose(same.to_frame()["se"], firm.to_frame()["se"])
    assert same.inference.cluster_var == "firm"


@pytest.mark.parametrize("weights", ["webb", "rademacher"])
def test_wild_cluster_bootstrap_agrees_with_analytic(sample, clustered, weights):
    b = att_gt(
        sample,
        **KW,
        clustervars="town",
        bstrap=True,
        biters=4999,
        seed=11,
        bootstrap_weights=weights,
    )
    assert b.inference.method == "wild_cluster_bootstrap"
    assert b.inference.weights == weights
    ratio = b.to_frame()["se"] / clustered.to_frame()["se"]
    assert ratio.between(0.93, 1.07).all(), ratio
    agg_a = clustered.aggregate("simple")
    agg_b = b.aggregate("simple")
    assert agg_b.overall_se / agg_a.overall_se == pytest.approx(1.0, abs=0.07)
    # Bootstrap-t critical values: heavier than normal, near t(11) = 2.20.
    crit = agg_b.overall_crit
    assert 1.96 < crit < 3.2, crit
    assert 0 <= agg_b.overall_p_value <= 1
    f = b.to_frame()
    assert (
        f["cband_high"] - f["cband_low"] >= f["ci_high"] - f["ci_low"] - 1e-12
    ).all()


def test_r_style_cluster_means_are_not_used(sample, clustered):
    """R did's bootstrap averages the IF within clusters; with unequal clusters its
    SE differs from the clustered variance. Ours agrees with the jackknife."""
    from jdeval.effects._did_boot import multiplier_bootstrap

    inf = clustered.influence
    r_style = multiplier_bootstrap(
        inf, biters=2000, seed=1, cluster=clustered.cluster, weights="rademacher"
    )["se"]
    ours = clustered.to_frame()["se"].to_numpy()
    assert np.median(np.abs(r_style / ours - 1)) > 0.15


@pytest.mark.slow
def test_coverage_with_twelve_unequal_clusters():
    rng = np.random.default_rng(20261130)
    reps = 300
    cover = {"analytic": 0, "webb": 0, "rademacher": 0, "firm": 0}
    cell_cover = {"analytic": 0, "webb": 0}
    est = []
    for r in range(reps):
        df = _panel(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = att_gt(df, **KW, clustervars="town")
            rad = att_gt(df, **KW, clustervars="town", bootstrap_weights="rademacher")
            firm = att_gt(df, **KW)
        aggs = {
            "analytic": res.aggregate("simple"),
            "webb": res.aggregate("simple", bstrap=True, biters=999, seed=r),
            "rademacher": rad.aggregate("simple", bstrap=True, biters=999, seed=r),
            "firm": firm.aggregate("simple"),
        }
        for k, a in aggs.items():
            lo, hi = a.overall_ci
            cover[k] += lo <= TRUTH <= hi
        est.append(aggs["analytic"].overall_att)
        # cell ATT(4, 4) = tau(0) = 1
        for k, rr in (
            ("analytic", res),
            ("webb", att_gt(df, **KW, clustervars="town", bstrap=True, seed=r)),
        ):
            f = rr.to_frame()
            row = f[(f["group"] == 4) & (f["time"] == 4)].iloc[0]
            cell_cover[k] += row["ci_low"] <= 1.0 <= row["ci_high"]
    cov = {k: v / reps for k, v in cover.items()}
    cell = {k: v / reps for k, v in cell_cover.items()}
    print(cov, cell, np.mean(est))
    for k in ("analytic", "webb", "rademacher"):
        assert 0.92 <= cov[k] <= 0.98, (k, cov)
    for k in cell:
        assert 0.92 <= cell[k] <= 0.98, (k, cell)
    # Clustering by firm ignores the town-year shocks and under-covers here.
    assert cov["firm"] < cov["analytic"]
    assert abs(np.mean(est) - TRUTH) < 4 * np.std(est) / np.sqrt(reps)
