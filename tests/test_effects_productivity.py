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
from jdeval.effects.productivity import estimate_tfp
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
