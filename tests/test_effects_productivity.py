"""TFP: ACF recovers the planted production elasticities; FE is biased.

Truth: ``truth.json["production"]`` of the synthetic default data (beta_k, beta_l;
labour reacts to productivity, so the within estimator is biased), and a small
independent simulation below with the same structure but a stronger transmission
bias. Tolerance on the default data: |error| < 0.05 for both elasticities, about
one firm-bootstrap SE (0.036 for beta_k, 0.059 for beta_l, 40 replications).
"""

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.outcomes import build_panel
from jdeval.effects.productivity import (
    GMM_TOL,
    ProductionWarning,
    _AcfProblem,
    estimate_tfp,
    prepare_production_data,
)
from jdeval.errors import DataError


@pytest.fixture(scope="module")
def panel(ds):
    return build_panel(ds, tfp=None)


def simulate(n=1500, years=8, bk=0.35, bl=0.6, rho=0.7, delta=0.15, seed=1):
    """Value-added Cobb–Douglas with capital chosen a year ahead, labour reacting to
    current productivity, a planted TFP effect of funding and selection on size."""
    rng = np.random.default_rng(seed)
    size = rng.normal(0, 1, n)
    funded = rng.random(n) < 0.6 / (1 + np.exp(-(size - 0.5)))
    g = np.where(funded, rng.choice([2023, 2024, 2025], n), 0)
    om_star = rng.normal(0, 0.3, n)
    om = om_star.copy()
    k = 3 + size + rng.normal(0, 0.3, n)
    lab = 4 + 0.8 * size + rng.normal(0, 0.3, n)
    rows = []
    for i, t in enumerate(range(2025 - years + 1, 2026)):
        om_star_new = rho * om_star + rng.normal(0, 0.1, n)
        om_new = om_star_new + delta * ((g > 0) & (t >= g))
        if i:
            k = 0.85 * k + 0.15 * (3 + size) + 0.3 * om + rng.normal(0, 0.1, n)
            lab = (
                0.6 * lab
                + 0.4 * (4 + 0.8 * size)
                + 0.4 * om_new
                + rng.normal(0, 0.1, n)
            )
            om_star, om = om_star_new, om_new
        m = 1 + om + 0.3 * k + 0.6 * lab
        y = bk * k + bl * lab + om + rng.normal(0, 0.1, n)
        rows.append(
            pd.DataFrame(
                {
                    "firm_id": np.arange(n).astype(str),
                    "year": t,
                    "value_added": np.exp(y),
                    "fixed_assets_net": np.exp(k),
                    "employees": np.exp(lab),
                    "intermediate_inputs": np.exp(m),
                    "first_award_year": g,
                    "omega": om,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_acf_recovers_synthetic_elasticities(ds, panel):
    truth = ds.truth["production"]
    res = estimate_tfp(panel, method="acf")
    assert abs(res.beta_k - truth["beta_k"]) < 0.05
    assert abs(res.beta_l - truth["beta_l"]) < 0.05
    assert abs(res.rho - truth["rho"]) < 0.05
    assert res.n_firms == panel["firm_id"].nunique()


def test_fe_labour_elasticity_is_biased_on_synthetic_data(ds, panel):
    """Labour responds to productivity (phi_labour > 0): FE beta_l is biased up."""
    truth = ds.truth["production"]
    fe = estimate_tfp(panel, method="fe")
    lo = fe.beta_l - 1.96 * fe.se_l
    assert lo > truth["beta_l"] + 0.1
    assert any("biased" in n for n in fe.notes)


def test_acf_tfp_tracks_true_omega_in_simulation():
    d = simulate()
    acf = estimate_tfp(d, method="acf")
    fe = estimate_tfp(d, method="fe")
    assert abs(acf.beta_k - 0.35) < 0.04 and abs(acf.beta_l - 0.6) < 0.04
    assert abs(fe.beta_k - 0.35) > 0.1  # transmission bias
    m = acf.tfp.merge(d[["firm_id", "year", "omega"]], on=["firm_id", "year"])
    assert np.corrcoef(m["tfp"], m["omega"])[0, 1] > 0.99


def test_missing_columns_listed_together(panel):
    with pytest.raises(DataError) as err:
        estimate_tfp(panel.drop(columns=["value_added", "intermediate_inputs"]))
    assert {p.column for p in err.value.problems} == {
        "value_added",
        "intermediate_inputs",
    }


@pytest.mark.slow
def test_acf_bootstrap_ci_covers_truth(ds, panel):
    truth = ds.truth["production"]
    res = estimate_tfp(panel, method="acf", bootstrap=99, seed=7)
    assert res.n_boot >= 90
    f = res.to_frame().set_index("term")
    for term in ("beta_k", "beta_l"):
        assert f.loc[term, "ci_low"] <= truth[term] <= f.loc[term, "ci_high"]


@pytest.mark.parametrize("n", [40, 6000])
def test_acf_converges_on_small_and_large_panels(n):
    """Same scaled criterion on 320 and 48,000 rows; estimates near the truth.

    On 40 firms the split between capital and labour is noisy (SD ~0.15), the
    returns to scale are not."""
    res = estimate_tfp(simulate(n=n, seed=3), method="acf")
    assert res.method == "acf" and res.converged
    assert res.criterion < GMM_TOL
    assert abs(res.beta_k + res.beta_l - 0.95) < 0.1
    if n > 1000:
        assert abs(res.beta_k - 0.35) < 0.04 and abs(res.beta_l - 0.6) < 0.04


def test_acf_analytic_jacobian_matches_finite_differences():
    d, _ = prepare_production_data(simulate(n=400, seed=5))
    prob = _AcfProblem(d, 3, True)
    beta = np.array([0.33, 0.62])
    jac = prob.moments.evaluate(beta, jacobian=True)["jacobian"]
    h = 1e-6
    num = np.column_stack(
        [
            (
                prob.moments.evaluate(beta + h * e)["moments"]
                - prob.moments.evaluate(beta - h * e)["moments"]
            )
            / (2 * h)
            for e in np.eye(2)
        ]
    )
    np.testing.assert_allclose(jac, num, rtol=1e-5, atol=1e-9)


def test_acf_moments_equal_full_regression():
    """Sufficient statistics give the same innovation moments as the full data."""
    d, _ = prepare_production_data(simulate(n=300, seed=2))
    prob = _AcfProblem(d, 3, False)
    beta = np.array([0.3, 0.7])
    om = prob.omega(beta)
    ids, t = d["id"].to_numpy(), d["t"].to_numpy()
    cur = np.nonzero(np.r_[False, (ids[1:] == ids[:-1]) & (t[1:] == t[:-1] + 1)])[0]
    w = om[cur - 1]
    years = pd.get_dummies(t[cur], drop_first=True).to_numpy(float)
    x = np.column_stack([np.ones_like(w), w, w**2, w**3, years])
    coef, *_ = np.linalg.lstsq(x, om[cur], rcond=None)
    xi = om[cur] - x @ coef
    full = np.array([xi @ prob.k[cur], xi @ prob.l[cur - 1]]) / len(cur)
    np.testing.assert_allclose(
        prob.moments.evaluate(beta)["moments"], full, rtol=1e-8, atol=1e-12
    )


def test_acf_singular_law_of_motion_is_handled():
    """Every firm funded in the same year: cell dummies duplicate year dummies."""
    d = simulate(n=800, seed=4)
    d["first_award_year"] = 2023
    res = estimate_tfp(d, method="acf")
    assert res.converged and res.method == "acf"
    assert abs(res.beta_k - 0.35) < 0.05 and abs(res.beta_l - 0.6) < 0.05


def test_acf_failure_is_a_located_warning_with_fe_fallback():
    d = simulate(n=300, seed=6)
    with pytest.warns(ProductionWarning, match=r"ACF step 2 .*max\|t\| = "):
        res = estimate_tfp(d, method="acf", tol=0.0)  # no value can satisfy < 0
    fe = estimate_tfp(d, method="fe")
    assert res.method == "fe" and not res.converged
    assert res.beta_k == fe.beta_k and res.beta_l == fe.beta_l
    assert np.isfinite(res.criterion)
    assert any("固定效应" in n and "ACF" in n for n in res.notes)
