"""Monte Carlo: coverage of Callaway–Sant'Anna 95 % confidence intervals (slow).

Simulated staggered panels with a planted effect. Firms select into funding on a
covariate that also drives their outcome trend, so unconditional parallel trends fail
and only the covariate-adjusted (doubly robust) estimator is valid. Among funded firms
the cohort is uniform over 4, 5, 6 (periods 1..6), so the population cohort shares are
equal and the simple aggregation targets the plain mean of the six post-treatment
cells: ``(3·τ(0) + 2·τ(1) + τ(2)) / 6`` with ``τ(e) = 1 + 0.5·e``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.did import att_gt

N_FIRMS, T, REPS = 600, 6, 500
TAU = {0: 1.0, 1: 1.5, 2: 2.0}
TRUTH = (3 * TAU[0] + 2 * TAU[1] + TAU[2]) / 6


def _panel(rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=N_FIRMS)
    funded = rng.random(N_FIRMS) < 1 / (1 + np.exp(-(0.8 * x - 0.2)))
    g = np.where(funded, rng.choice([4, 5, 6], N_FIRMS), 0)
    t = np.arange(1, T + 1)
    alpha = rng.normal(size=N_FIRMS) + x
    e = t[None, :] - g[:, None]
    tau = np.where((g[:, None] > 0) & (e >= 0), 1.0 + 0.5 * e, 0.0)
    # AR(1) errors: serial correlation within firm is what firm clustering is for.
    eps = np.empty((N_FIRMS, T))
    eps[:, 0] = rng.normal(size=N_FIRMS)
    for j in range(1, T):
        eps[:, j] = 0.5 * eps[:, j - 1] + rng.normal(size=N_FIRMS) * np.sqrt(0.75)
    y = alpha[:, None] + (0.3 + 0.4 * x[:, None]) * t[None, :] + tau + eps
    return pd.DataFrame(
        {
            "firm": np.repeat(np.arange(N_FIRMS), T),
            "year": np.tile(t, N_FIRMS),
            "g": np.repeat(g, T),
            "x": np.repeat(x, T),
            "y": y.ravel(),
        }
    )


@pytest.mark.slow
@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
def test_coverage_of_simple_att(control_group):
    rng = np.random.default_rng(20261126)
    covered, estimates = 0, []
    for _ in range(REPS):
        df = _panel(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = att_gt(
                df,
                yname="y",
                tname="year",
                idname="firm",
                gname="g",
                xformla="~ x",
                control_group=control_group,
                est_method="dr",
            )
        agg = res.aggregate("simple")
        lo, hi = agg.overall_ci
        covered += lo <= TRUTH <= hi
        estimates.append(agg.overall_att)
    coverage = covered / REPS
    print(
        f"{control_group}: coverage {coverage:.3f}, mean estimate {np.mean(estimates):.4f}"
    )
    assert 0.92 <= coverage <= 0.98, coverage
    # And the estimator is unbiased for the planted effect (MC error ~ sd / sqrt(R)).
    est = np.asarray(estimates)
    assert abs(est.mean() - TRUTH) < 4 * est.std(ddof=1) / np.sqrt(REPS)
