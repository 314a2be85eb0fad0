"""Power: what the funded sample can detect, and what the pre-trend test can see.

* **Minimum detectable effect** of a two-sided level-α test at power 1 − β from the
  estimate's standard error: ``MDE = (z_{1−α/2} + z_{1−β}) · SE`` (2.80 · SE at
  α = 0.05, 80 % power; Bloom 1995). A null result smaller than the MDE is "not
  detected", not "no effect". The power of the test at a given effect comes from
  :func:`statsmodels.stats.power.normal_power`.
* **Power of the pre-trend test against a linear violation** (Roth 2022, "Pretest
  with Caution", *AER: Insights* 4(3)): with pre-period event-study coefficients
  β_pre ~ N(δ_pre, Σ_pre) and a linear violation δ_t = γ·(t − t_ref) (reference
  period t_ref = −1 normalised to 0), the probability that the pre-test rejects.
  Roth's pretrends package uses the test "some pre-period coefficient is
  individually significant"; we give it and the joint Wald test used in this
  project (CS pre-test): power = P(χ²_k(λ) > χ²_{k,1−α}), λ = δ'Σ⁻¹δ.
  :func:`slope_for_power` returns the slope γ the test detects with the given
  power (Roth's ``slope_for_power``); ``γ`` times the distance of e = 0 from the
  reference period is the bias such a trend would put into the first-year effect.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

__all__ = [
    "mde",
    "power_at",
    "pretest_power",
    "slope_for_power",
]


def mde(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect ``(z_{1−α/2} + z_power) · se``."""
    if not np.isfinite(se) or se <= 0:
        return math.nan
    return float((special.ndtri(1 - alpha / 2) + special.ndtri(power)) * se)


def power_at(effect: float, se: float, *, alpha: float = 0.05) -> float:
    """Power of the two-sided z test of 0 when the true effect is ``effect``."""
    if not np.isfinite(se) or se <= 0:
        return math.nan
    from statsmodels.stats.power import normal_power  # ~1 s import: only when used

    return float(normal_power(abs(effect) / se, 1, alpha, alternative="two-sided"))


def pretest_power(
    sigma_pre,
    t_pre,
    slope: float,
    *,
    alpha: float = 0.05,
    test: str = "wald",
    reference: float = -1.0,
) -> float:
    """Power of the pre-trend test against ``δ_t = slope · (t − reference)``.

    Parameters
    ----------
    sigma_pre
        Covariance of the pre-period coefficients.
    t_pre
        Their event times (e.g. ``[-5, -4, -3, -2]``).
    slope
        Slope γ of the linear violation.
    test
        ``"wald"`` (joint χ² test) or ``"individual"`` (Roth: any |β_j/σ_j| >
        z_{1−α/2}; probability from the multivariate normal rectangle).
    """
    from scipy import stats  # imported when used: ~0.6 s, not on reading a result

    s = np.atleast_2d(np.asarray(sigma_pre, dtype=float))
    t = np.asarray(t_pre, dtype=float)
    delta = slope * (t - reference)
    if test == "wald":
        lam = float(delta @ np.linalg.solve(s, delta))
        crit = stats.chi2.ppf(1 - alpha, len(t))
        return float(stats.ncx2.sf(crit, len(t), lam)) if lam > 0 else alpha
    if test == "individual":
        sd = np.sqrt(np.diag(s))
        z = special.ndtri(1 - alpha / 2)
        mvn = stats.multivariate_normal(
            mean=delta, cov=s, allow_singular=True, seed=0, abseps=1e-5, releps=1e-5
        )
        inside = mvn.cdf(z * sd, lower_limit=-z * sd)
        return float(1 - inside)
    raise ValueError(
        "test 应为 wald 或 individual / test must be 'wald' or 'individual'"
    )


def slope_for_power(
    sigma_pre,
    t_pre,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    test: str = "wald",
    reference: float = -1.0,
) -> float:
    """Positive slope γ against which the pre-test has the given power (Roth 2022)."""
    s = np.atleast_2d(np.asarray(sigma_pre, dtype=float))
    scale = float(np.sqrt(np.diag(s)).max())

    def gap(g):
        return (
            pretest_power(s, t_pre, g, alpha=alpha, test=test, reference=reference)
            - power
        )

    hi = scale
    while gap(hi) < 0:
        hi *= 2
        if hi > 1e6 * scale:
            return math.nan
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-6 * scale))
