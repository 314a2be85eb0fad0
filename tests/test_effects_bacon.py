"""Goodman-Bacon decomposition (jdeval.effects.bacon).

Truth we did not make: the bacondecomp R package's README example (Goodman 2019,
JOLE, math reform and earnings; data ``math_reform`` shipped with bacondecomp, MIT
licence, in tests/fixtures/bacon_math_reform.csv) and TWFE from pyfixest.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from jdeval.effects.bacon import bacon_decomposition

FIX = Path(__file__).parent / "fixtures"


def _staggered(seed, cohorts, probs, n=240, years=range(2015, 2025)):
    rng = np.random.default_rng(seed)
    g = rng.choice(cohorts, size=n, p=probs)
    rows = []
    for i in range(n):
        a = rng.normal()
        for t in years:
            treated = g[i] > 0 and t >= g[i]
            eff = 0.5 + 0.3 * (t - g[i]) if treated else 0.0  # growing effects
            rows.append((i, t, g[i], a + 0.1 * t + eff + rng.normal()))
    return pd.DataFrame(rows, columns=["id", "t", "g", "y"])


def _twfe(df):
    df = df.assign(D=((df["g"] > 0) & (df["t"] >= df["g"])).astype(float))
    return float(pf.feols("y ~ D | id + t", data=df).coef()["D"])


@pytest.mark.parametrize(
    "cohorts, probs",
    [
        ([0, 2017, 2019, 2022], [0.4, 0.2, 0.2, 0.2]),  # with never treated
        ([2017, 2019, 2022], [0.3, 0.3, 0.4]),  # no never-treated firm
        ([0, 2015, 2018, 2021], [0.3, 0.2, 0.25, 0.25]),  # always treated
    ],
)
def test_weights_sum_to_one_and_reproduce_twfe(cohorts, probs):
    df = _staggered(3, cohorts, probs)
    r = bacon_decomposition(df, yname="y", idname="id", tname="t", gname="g")
    assert r.available
    assert r.table["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (r.table["weight"] >= 0).all()
    total = float((r.table["weight"] * r.table["estimate"]).sum())
    assert total == pytest.approx(r.twfe, abs=1e-8)
    assert r.twfe == pytest.approx(_twfe(df), abs=1e-8)
    forbidden = r.table.loc[r.table["type"] == "later_vs_earlier", "weight"].sum()
    assert r.forbidden_weight == pytest.approx(forbidden)
    assert r.by_type["weight"].sum() == pytest.approx(1.0)


def test_forbidden_comparisons_are_biased_with_growing_effects():
    df = _staggered(4, [0, 2017, 2019, 2022], [0.25, 0.25, 0.25, 0.25])
    r = bacon_decomposition(df, yname="y", idname="id", tname="t", gname="g")
    bt = r.by_type.set_index("type")
    # growing effects move the already-treated control: later-vs-earlier < others
    assert (
        bt.loc["later_vs_earlier", "estimate"] < bt.loc["treated_vs_never", "estimate"]
    )


def test_bacondecomp_readme_math_reform():
    d = pd.read_csv(FIX / "bacon_math_reform.csv")
    d["g"] = d["reformyr_math"].fillna(0).astype(int)
    r = bacon_decomposition(
        d, yname="incearn_ln", idname="state", tname="class", gname="g"
    )
    # bacon_summary(df_bacon), printed to 5 decimals
    bt = r.by_type.set_index("type")
    assert round(bt.loc["earlier_vs_later", "weight"], 5) == 0.06353
    assert round(bt.loc["later_vs_earlier", "weight"], 5) == 0.05265
    assert round(bt.loc["treated_vs_never", "weight"], 5) == 0.88382
    assert round(bt.loc["earlier_vs_later", "estimate"], 5) == 0.02868
    assert round(bt.loc["later_vs_earlier", "estimate"], 5) == 0.03375
    assert round(bt.loc["treated_vs_never", "estimate"], 5) == -0.00129
    # head(df_bacon): treated, control, estimate, weight
    published = [
        (1987, 1985, 0.04575585, 0.031655309),
        (1986, 1985, 0.11390411, 0.001978457),
        (1984, 1985, 0.12012908, 0.001978457),
        (1985, 1987, 0.01021379, 0.039569136),
        (1986, 1987, -0.09374495, 0.005440756),
        (1984, 1987, 0.09784857, 0.013354583),
    ]
    t = r.table.set_index(["treated", "control"])
    for tr, co, est, w in published:
        assert t.loc[(tr, co), "estimate"] == pytest.approx(est, abs=5e-9)
        assert t.loc[(tr, co), "weight"] == pytest.approx(w, abs=5e-10)


def test_no_variation_is_unavailable_not_an_error():
    df = _staggered(5, [0], [1.0], n=20)
    r = bacon_decomposition(df, yname="y", idname="id", tname="t", gname="g")
    assert not r.available and r.reason_zh
