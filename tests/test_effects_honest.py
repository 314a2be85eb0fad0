"""Rambachan–Roth sensitivity (jdeval.effects.honest) against R HonestDiD's published output.

Truth we did not make:
- R's ``set.seed(0); rnorm(5)`` (documented R output) for the random numbers of the
  least-favourable critical value;
- the HonestDiD README's Medicaid example (printed to 3 significant digits). Its
  inputs are not printed; we recompute them from the same data (ehec, shipped with
  moderndid) with fixest's clustered covariance — the same betahat, and a sigma that
  reproduces the README's FLCI table;
- the LW (Lovenheim–Willen) FLCI results stored at full precision in the package's
  ``VignetteResults`` with the package's own ``LWdata_EventStudy`` inputs.

Known, explained differences (asserted, so a change shows up):
- R's FLCI uses a *simulated* folded-normal quantile (10⁶ draws: 1.9622 instead of
  1.9600 at μ = 0) and an inexact conic solve; we use the exact quantile and optimum,
  so R's intervals differ from ours by < 0.6 % of their length (LW) — and the README
  prints 9 of the 12 Medicaid FLCI bounds exactly as we compute them;
- C-LF intervals are the extreme accepted points of a 1000-point grid; ours are
  within one grid step (40·sd(θ̂)/999) of every README value.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.honest import (
    breakdown_value,
    event_study_inputs,
    honest_did,
    honest_from_event_study,
    original_ci,
    r_rnorm,
)

FIX = json.loads(
    (Path(__file__).parent / "fixtures" / "honestdid_published.json").read_text()
)


@pytest.fixture(scope="module")
def mpdta():
    return pd.read_csv(Path(__file__).parent / "fixtures" / "mpdta.csv")


def _sig3(x):
    return float(f"{x:.3g}")


@pytest.fixture(scope="module")
def medicaid():
    m = FIX["medicaid"]
    return np.array(m["betahat"]), np.array(m["sigma"]), m


def test_r_random_numbers():
    # R: set.seed(0); rnorm(5)
    r = [1.2629543, -0.3262334, 1.3297993, 1.2724293, 0.4146414]
    np.testing.assert_allclose(r_rnorm(5, 0), r, atol=5e-8)
    # R: set.seed(1); rnorm(3)
    np.testing.assert_allclose(
        r_rnorm(3, 1), [-0.6264538, 0.1836433, -0.8356286], atol=5e-8
    )


def test_relative_magnitudes_medicaid(medicaid):
    b, s, m = medicaid
    f = honest_did(b, s, num_pre_periods=5, num_post_periods=2, Mbarvec=m["rm"]["Mbar"])
    assert list(f.columns) == ["lb", "ub", "method", "Delta", "Mbar"]
    assert (f["method"] == "C-LF").all() and (f["Delta"] == "DeltaRM").all()
    step = 40 * np.sqrt(s[5, 5]) / 999
    np.testing.assert_allclose(f["lb"], m["rm"]["lb"], atol=step)
    np.testing.assert_allclose(f["ub"], m["rm"]["ub"], atol=step)
    # the README's conclusion: significant up to M̄ = 1.5, not at M̄ = 2
    assert (f["lb"].iloc[:3] > 0).all() and f["lb"].iloc[3] < 0


def test_smoothness_medicaid(medicaid):
    b, s, m = medicaid
    f = honest_did(
        b,
        s,
        num_pre_periods=5,
        num_post_periods=2,
        type="smoothness",
        Mvec=m["sd"]["M"],
    )
    assert list(f.columns) == ["lb", "ub", "method", "Delta", "M"]
    assert (f["method"] == "FLCI").all()
    ours = [_sig3(v) for v in (*f["lb"], *f["ub"])]
    published = [*m["sd"]["lb"], *m["sd"]["ub"]]
    same = sum(a == b for a, b in zip(ours, published))
    assert same >= 9  # the rest differ by one unit in the last printed digit
    np.testing.assert_allclose(ours, published, atol=1.1e-4)


def test_smoothness_lw_vignette_results():
    lw = FIX["lw"]
    b, s = np.array(lw["betahat"]), np.array(lw["sigma"])
    lv = np.zeros(lw["num_post_periods"])
    lv[lw["l_index"]] = 1.0
    f = honest_did(
        b,
        s,
        num_pre_periods=lw["num_pre_periods"],
        num_post_periods=lw["num_post_periods"],
        type="smoothness",
        Mvec=lw["M"],
        l_vec=lv,
    )
    width = np.array(lw["ub"]) - np.array(lw["lb"])
    assert np.all(np.abs(f["lb"] - lw["lb"]) < 0.006 * width)
    assert np.all(np.abs(f["ub"] - lw["ub"]) < 0.006 * width)


def test_average_effect_and_original_ci(medicaid):
    b, s, _ = medicaid
    lo, hi = original_ci(b, s, num_pre_periods=5, num_post_periods=2)
    assert lo == pytest.approx(b[5] - 1.959964 * np.sqrt(s[5, 5]), abs=1e-6)
    f = honest_did(
        b, s, num_pre_periods=5, num_post_periods=2, Mbarvec=[0, 1], l_vec=[0.5, 0.5]
    )
    # M̄ = 0 with an average target: the robust CI sits around the average estimate
    assert f["lb"].iloc[0] < b[5:].mean() < f["ub"].iloc[0]
    assert f["ub"].iloc[1] - f["lb"].iloc[1] > f["ub"].iloc[0] - f["lb"].iloc[0]


def test_breakdown_value(medicaid):
    b, s, _ = medicaid
    bd = breakdown_value(b, s, num_pre_periods=5, num_post_periods=2, tol=0.01)
    assert 1.5 <= bd < 2.0  # README: robust up to M̄ = 1.5, not 2
    # above the breakdown value the CI contains 0, below it excludes 0
    f = honest_did(b, s, num_pre_periods=5, num_post_periods=2, Mbarvec=[bd, bd + 0.02])
    assert f["lb"].iloc[0] > 0 and f["lb"].iloc[1] <= 0


def test_bad_arguments(medicaid):
    b, s, _ = medicaid
    with pytest.raises(ValueError):
        honest_did(b, s, num_pre_periods=4, num_post_periods=2)
    with pytest.raises(ValueError):
        honest_did(b, s, num_pre_periods=5, num_post_periods=2, type="other")


def test_on_event_study_aggregate(mpdta):
    from jdeval.effects.did import att_gt

    es = att_gt(
        mpdta,
        yname="lemp",
        tname="year",
        idname="countyreal",
        gname="first.treat",
        base_period="universal",
    ).aggregate(type="dynamic")
    b, s, npre, npost = event_study_inputs(es)
    assert (npre, npost) == (3, 4)
    f = es.honest_did(Mbarvec=[0, 1])
    g = honest_from_event_study(es, Mbarvec=[0, 1])
    assert f.equals(g)
    # M̄ = 0 is close to the original CI of e = 0
    lo, hi = original_ci(b, s, num_pre_periods=npre, num_post_periods=npost)
    assert f["lb"].iloc[0] == pytest.approx(lo, abs=0.01)
    varying = att_gt(
        mpdta, yname="lemp", tname="year", idname="countyreal", gname="first.treat"
    ).aggregate(type="dynamic")
    with pytest.raises(ValueError):
        event_study_inputs(varying)
