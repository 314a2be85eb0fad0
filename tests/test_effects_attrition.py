"""Entry/exit diagnostic and the unbalanced-panel estimators (issue 13 item 3).

Planted truth: effect 1.0 from the first funded year. Three exit mechanisms:
random; size-driven (small unfunded firms leave: composition bias for repeated cross
sections, harmless for within-firm differences); shock-driven (firms leave after a
bad transitory year, funded firms less often: selection bias for within-firm
differences, harmless for repeated cross sections). The diagnostic must choose the
valid estimator and the chosen estimate must recover the truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.attrition import attrition_diagnostic
from jdeval.effects.did import att_gt

T = 6
KW = dict(yname="y", tname="t", idname="id", gname="g")
EXPECTED = {
    "random": "panel",
    "size": "panel",
    "shock": "repeated_cross_section",
}


def _panel(rng: np.random.Generator, kind: str, n: int = 2000) -> pd.DataFrame:
    alpha = rng.normal(size=n)
    g = np.where(rng.random(n) < 0.4, rng.choice([4, 5], n), 0)
    t = np.arange(1, T + 1)
    tau = np.where((g[:, None] > 0) & (t[None, :] >= g[:, None]), 1.0, 0.0)
    u = rng.normal(size=(n, T))
    y = alpha[:, None] + 0.2 * t + tau + u
    if kind == "random":
        leave = rng.random((n, T)) < 0.06
    elif kind == "size":
        p = np.where((g == 0) & (alpha < 0), 0.2, 0.02)
        leave = rng.random((n, T)) < p[:, None]
    elif kind == "shock":
        leave = u < np.where(g > 0, -1.6, -0.9)[:, None]
    else:  # no exit: balanced
        leave = np.zeros((n, T), bool)
    leave[:, [0, -1]] = False
    gone = np.cumsum(leave, axis=1) > 0
    obs = np.ones((n, T), bool)
    obs[:, 1:] = ~gone[:, :-1]  # not observed from the year after the exit year
    df = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), T),
            "t": np.tile(t, n),
            "g": np.repeat(g, T),
            "y": y.ravel(),
        }
    )
    return df.loc[obs.ravel()].reset_index(drop=True)


def _estimates(df):
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for mode in ("balanced_pairs", "repeated_cross_section"):
            out[mode] = att_gt(
                df,
                **KW,
                allow_unbalanced_panel=True,
                panel_mode=mode,
                control_group="nevertreated",
            ).aggregate("simple")
    return out


@pytest.mark.parametrize("kind", ["random", "size", "shock"])
def test_diagnostic_chooses_the_valid_estimator(kind):
    df = _panel(np.random.default_rng(11), kind)
    a = attrition_diagnostic(df, **KW)
    assert not a.balanced and a.available
    assert a.estimator == EXPECTED[kind], a.summary()
    assert a.panel_mode == (
        "balanced_pairs" if a.estimator == "panel" else "repeated_cross_section"
    )
    assert a.reason_zh.startswith("面板不平衡") and a.reason_en
    est = _estimates(df)
    chosen = est[a.panel_mode]
    lo, hi = chosen.overall_ci
    assert abs(chosen.overall_att - 1.0) < 3 * chosen.overall_se, chosen.overall_att
    if kind != "random":  # the other estimator is visibly biased
        other = est[
            "repeated_cross_section"
            if a.panel_mode == "balanced_pairs"
            else "balanced_pairs"
        ]
        assert abs(other.overall_att - 1.0) > 3 * other.overall_se


def test_tables_and_intervals():
    df = _panel(np.random.default_rng(2), "size")
    a = attrition_diagnostic(df, **KW)
    t = a.table.set_index("group")
    firms = df.drop_duplicates("id")
    n_funded = int((firms["g"] > 0).sum())
    assert t.loc["受资助 funded", "n_firms"] == n_funded
    last = df.groupby("id")["t"].max()
    g = df.groupby("id")["g"].first()
    k0 = int(((last < T) & (g == 0)).sum())
    assert t.loc["未受资助 not funded", "n_exited"] == k0
    row = t.loc["未受资助 not funded"]
    assert row["exit_ci_low"] < row["exit_rate"] < row["exit_ci_high"]
    status = a.tests.set_index("test").loc["exit rate: funded - not funded"]
    assert status["difference"] < 0 and status["p_value"] < 0.05


def test_balanced_panel_needs_no_choice():
    df = _panel(np.random.default_rng(3), "none")
    a = attrition_diagnostic(df, **KW)
    assert a.balanced and a.estimator == "panel" and a.panel_mode == "auto"
    assert "平衡" in a.reason_zh


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["random", "size", "shock"])
def test_chosen_estimator_is_unbiased_and_covers(kind):
    rng = np.random.default_rng(20261130)
    reps, chosen, covered = 60, [], 0
    for _ in range(reps):
        df = _panel(rng, kind)
        a = attrition_diagnostic(df, **KW)
        res = _estimates(df)[a.panel_mode]
        chosen.append(res.overall_att)
        lo, hi = res.overall_ci
        covered += lo <= 1.0 <= hi
    bias = float(np.mean(chosen)) - 1.0
    print(kind, bias, covered / reps)
    assert abs(bias) < 0.03, bias
    assert covered / reps >= 0.85
