"""MDE and pre-trend power (jdeval.effects.power) against hand values, statsmodels
and simulation."""

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower

from jdeval.effects.power import mde, power_at, pretest_power, slope_for_power

T_PRE = np.array([-5.0, -4.0, -3.0, -2.0])


def _sigma_pre():
    # an AR-like covariance of four pre-period coefficients (SE 0.02–0.03)
    sd = np.array([0.03, 0.026, 0.023, 0.02])
    rho = 0.4 ** np.abs(np.subtract.outer(np.arange(4), np.arange(4)))
    return rho * np.outer(sd, sd)


def test_mde_hand_value_and_statsmodels():
    # (1.959964 + 0.841621) · 0.1 = 0.2801585
    assert mde(0.1) == pytest.approx(0.2801585, abs=1e-7)
    assert mde(0.1, alpha=0.10, power=0.9) == pytest.approx(
        (1.6448536 + 1.2815516) * 0.1, abs=1e-7
    )
    # statsmodels' two-sided solve also counts the far tail (power 0.8 exactly)
    es = NormalIndPower().solve_power(nobs1=1, alpha=0.05, power=0.8, ratio=0)
    assert mde(1.0) == pytest.approx(es, abs=1e-4)
    assert power_at(mde(0.1), 0.1) == pytest.approx(0.8, abs=1e-4)
    assert np.isnan(mde(float("nan"))) and np.isnan(mde(0.0))


def test_wald_pretest_power_by_simulation():
    s = _sigma_pre()
    slope = 0.012
    analytic = pretest_power(s, T_PRE, slope)
    rng = np.random.default_rng(7)
    delta = slope * (T_PRE + 1)
    draws = rng.multivariate_normal(delta, s, size=40_000)
    w = np.einsum("ij,jk,ik->i", draws, np.linalg.inv(s), draws)
    sim = (w > stats.chi2.ppf(0.95, 4)).mean()
    assert analytic == pytest.approx(sim, abs=0.01)
    assert pretest_power(s, T_PRE, 0.0) == pytest.approx(0.05)


def test_individual_pretest_power_by_simulation():
    s = _sigma_pre()
    slope = 0.01
    analytic = pretest_power(s, T_PRE, slope, test="individual")
    rng = np.random.default_rng(8)
    draws = rng.multivariate_normal(slope * (T_PRE + 1), s, size=40_000)
    z = np.abs(draws) / np.sqrt(np.diag(s))
    sim = (z > stats.norm.ppf(0.975)).any(axis=1).mean()
    assert analytic == pytest.approx(sim, abs=0.01)


@pytest.mark.parametrize("test", ["wald", "individual"])
def test_slope_for_power(test):
    s = _sigma_pre()
    g = slope_for_power(s, T_PRE, power=0.8, test=test)
    assert g > 0
    assert pretest_power(s, T_PRE, g, test=test) == pytest.approx(0.8, abs=1e-3)
    # half the slope is detected less often
    assert pretest_power(s, T_PRE, g / 2, test=test) < 0.5


def test_one_pre_period_matches_z_test():
    # one coefficient, reference −1, t = −2: δ = −γ; Wald power = two-sided z power
    s = np.array([[0.04**2]])
    g = 0.05
    assert pretest_power(s, [-2.0], g) == pytest.approx(power_at(g, 0.04), abs=1e-6)
