"""Propensity-score overlap diagnostics and DRDID trimming in att_gt (issue 13 item 2)."""

from __future__ import annotations

import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from jdeval.effects.did import DidWarning, att_gt

matplotlib.use("Agg")

KW = dict(yname="y", tname="t", idname="id", gname="g")


def _panel(seed: int = 0, separated: bool = True, n: int = 400, T: int = 5):
    """Cohort 4 (~30 %) overlaps; cohort 3 = 3 firms far out on x (planted 1.5)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    g = np.where(rng.random(n) < 0.3, 4, 0)
    if separated:
        top = np.argsort(x)[-3:]
        g[top] = 3
        x[top] += 3
    t = np.arange(1, T + 1)
    tau = np.where((g[:, None] > 0) & (t[None, :] >= g[:, None]), 1.5, 0.0)
    y = (
        rng.normal(size=n)[:, None]
        + (0.2 + 0.5 * x[:, None]) * t
        + tau
        + rng.normal(size=(n, T))
    )
    return pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), T),
            "t": np.tile(t, n),
            "g": np.repeat(g, T),
            "x": np.repeat(x, T),
            "x2": np.repeat(x**2, T),
            "y": y.ravel(),
        }
    )


def test_separated_small_cohort_is_named_not_silent():
    df = _panel()
    with pytest.warns(DidWarning, match=r"批次 3 的倾向得分缺乏重叠.*cohort 3: poor"):
        res = att_gt(df, **KW, xformla="~ x + x2", est_method="dr")
    ov = res.overlap
    assert ov.available and ov.threshold == 0.995
    row = ov.table.set_index("cohort").loc[3.0]
    assert row["n"] == 3 and row["n_treated_above"] == 3 and not row["overlap_ok"]
    assert row["ps_max"] >= 0.995 and row["share_near_1"] > 0
    assert row["ess_comparison"] < 5  # weights rest on a handful of firms
    assert ov.poor == [3.0]
    assert ov.table.set_index("cohort").loc[4.0, "overlap_ok"]
    assert any("cohort 3" in n for n in res.notes)
    assert len(ov.warnings) == 1
    ax = ov.plot(lang="en")
    assert len(ax.patches) > 0


def test_no_warning_with_overlap():
    df = _panel(separated=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DidWarning)
        res = att_gt(df, **KW, xformla="~ x", est_method="ipw")
    assert res.overlap.table["overlap_ok"].all()
    assert res.overlap.poor == []


def test_scores_and_trimming_match_statsmodels_logit():
    """ps range and the DRDID trimming count agree with an independent logit."""
    sm = pytest.importorskip("statsmodels.api")
    df = _panel(seed=3, separated=False)
    firms = df.drop_duplicates("id")
    sub = firms[firms["g"].isin([0, 4])]
    d = (sub["g"] == 4).to_numpy(float)
    fit = sm.Logit(d, sm.add_constant(sub[["x", "x2"]].to_numpy())).fit(disp=0)
    ps = fit.predict()
    level = float(np.quantile(ps[d == 0], 0.9))  # trims ~10 % of the comparison
    with pytest.warns(DidWarning, match="cohort 4"):  # treated above the level too
        res = att_gt(df, **KW, xformla="~ x + x2", est_method="dr", trim_level=level)
    row = res.overlap.table.set_index("cohort").loc[4.0]
    assert row["ps_min"] == pytest.approx(ps.min(), abs=1e-6)
    assert row["ps_max"] == pytest.approx(ps.max(), abs=1e-6)
    assert row["n_trimmed"] == int((ps[d == 0] >= level).sum()) > 0
    assert row["n_comparison"] == int((d == 0).sum())
    base = att_gt(df, **KW, xformla="~ x + x2", est_method="dr")
    # Trimming changes the comparison weights, hence the estimates.
    assert not np.allclose(res.to_frame()["estimate"], base.to_frame()["estimate"])


def test_unavailable_without_propensity_score():
    df = _panel(separated=False)
    reg = att_gt(df, **KW, xformla="~ x", est_method="reg")
    assert not reg.overlap.available and "倾向得分" in reg.overlap.reason_zh
    nocov = att_gt(df, **KW, est_method="dr")
    assert not nocov.overlap.available
