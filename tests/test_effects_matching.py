"""Propensity-score matching on the synthetic data (selection on size and maturity)."""

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.matching import propensity_match, propensity_model
from jdeval.effects.outcomes import COVARIATES, build_panel
from jdeval.errors import DataError


@pytest.fixture(scope="module")
def panel(ds):
    return build_panel(ds, tfp=None)


def matched_estimand(truth_effect, match, years):
    """CS 'simple' target on the matched sample: post cells weighted by the number of
    matched funded firms of each cohort (truth by cell from truth.json)."""
    f = match.firms
    n_g = f.loc[f["treated"] & f["matched"], "first_award_year"].value_counts()
    num = den = 0.0
    for key, v in truth_effect["by_cell"].items():
        g, t = (int(x) for x in key.split("-"))
        if t in years and g in n_g.index:
            num += n_g[g] * v
            den += n_g[g]
    return num / den


def test_propensity_model_recovers_planted_coefficients():
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"x": rng.normal(size=20000)})
    y = rng.random(20000) < 1 / (1 + np.exp(-(-0.5 + 1.0 * x["x"].to_numpy())))
    res = propensity_model(x, y)
    np.testing.assert_allclose(res.params.to_numpy(), [-0.5, 1.0], atol=0.06)
    assert res.mle_retvals["converged"]


def test_propensity_model_separation_is_a_located_error():
    x = pd.DataFrame({"size": np.arange(40.0)})
    with pytest.raises(DataError) as err:
        propensity_model(x, np.arange(40) >= 20)
    assert err.value.problems[0].code == "ps_separation"
    assert "size" in err.value.problems[0].column


def test_ps_fit_diagnostics(panel):
    m = propensity_match(panel, covariates=COVARIATES)
    assert list(m.ps_model["term"]) == ["const", *COVARIATES]
    assert (m.ps_model["se"] > 0).all()
    assert 0 < m.ps_fit["pseudo_r2"] < 1 and m.ps_fit["converged"]
    assert m.ps_fit["llr_p_value"] < 0.05  # funding is selected on size / maturity
    assert m.ps_fit["n"] == len(m.firms)


def test_matching_balances_pre_period_covariates(panel):
    m = propensity_match(panel, covariates=COVARIATES)
    assert m.max_abs_smd_before > 0.5  # funded firms are larger / more digital
    assert m.max_abs_smd_after < 0.1
    assert 0 <= m.share_trimmed < 0.2
    assert set(m.overlap["group"]) == {"受资助 funded", "未受资助 not funded"}
    # each kept treated firm has exactly one control within the caliper
    assert (m.pairs["distance"] <= m.caliper).all()
    assert m.pairs["treated_id"].is_unique
    # IPW weights reweight controls to the treated total
    f = m.firms
    assert f.loc[~f["treated"], "ipw_weight"].sum() == pytest.approx(f["treated"].sum())


def test_categorical_covariates_enter_as_dummies(panel):
    m = propensity_match(panel, covariates=COVARIATES, categorical=["key_industry"])
    dummies = [c for c in m.balance["covariate"] if c.startswith("key_industry_")]
    assert len(dummies) == panel["key_industry"].nunique() - 1


def test_matched_did_covers_its_estimand(panel, ds):
    yname = "digital_inv_share"
    m = propensity_match(panel, covariates=COVARIATES, yname=yname)
    target = matched_estimand(ds.truth["effects"][yname], m, set(panel["year"]))
    lo, hi = m.did.overall_ci
    assert lo <= target <= hi, (m.did.overall_att, target)
    assert m.did_dynamic is not None
    assert "matched" in m.did.notes[-1]


def test_plot_runs(panel):
    import matplotlib

    matplotlib.use("Agg")
    m = propensity_match(panel, covariates=COVARIATES)
    ax = m.plot(lang="en")
    assert ax.get_xlabel() == "propensity score"
    assert isinstance(m.to_frame(), pd.DataFrame)
