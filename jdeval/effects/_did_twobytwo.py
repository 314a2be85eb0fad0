"""Two-group, two-period DiD estimators on panel data, vectorised over units.

These are the panel estimators of Sant'Anna & Zhao (2020) as implemented in R's DRDID
package and called by R's ``did::att_gt``:

* ``"dr"`` — ``DRDID::drdid_panel``: locally efficient doubly robust DiD with a logit
  propensity score (maximum likelihood) and a linear outcome regression for the
  comparison group's change (Sant'Anna & Zhao 2020, eq. 3.1 with the panel influence
  function of their Appendix).
* ``"ipw"`` — ``DRDID::std_ipw_did_panel``: normalised (Hájek) inverse probability
  weighting (Abadie 2005 with weights summing to one).
* ``"reg"`` — ``DRDID::reg_did_panel``: outcome regression (Heckman, Ichimura & Todd 1997).

Each returns the ATT and its influence function (one value per unit in the
subsample), so that standard errors, clustering and aggregation are linear algebra on
the influence functions. Propensity scores are clipped at ``1 - 1e-6`` and comparison
units with a score of ``0.995`` or more get zero weight (DRDID's ``trim.level``).

Work that depends only on the subsample and covariates (logit fit, Gram matrices) is
done once per subsample by :class:`CellDesign` and reused for every period that uses
the same treated and comparison units.
"""

from __future__ import annotations

import numpy as np

__all__ = ["CellDesign", "logit_fit", "TRIM_LEVEL"]

TRIM_LEVEL = 0.995
_PS_MAX = 1 - 1e-6


def logit_fit(
    d: np.ndarray,
    xt: np.ndarray,
    *,
    beta0: np.ndarray | None = None,
    max_iter: int = 50,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logit by Newton–Raphson; returns fitted probabilities.

    ``xt`` is the ``(k, n)`` covariate matrix (intercept row first): the transposed
    layout makes every product a contiguous BLAS call. Starts like R's ``glm``
    (``mustart = (y + 0.5) / 2``) and iterates until the Newton step is below
    ``1e-9`` in every coefficient (relative); by quadratic convergence the fit is then
    the MLE up to rounding. ``beta0`` is an optional warm start (e.g. the fit for
    a neighbouring comparison group). Returns ``(probabilities, coefficients)``.

    Raises
    ------
    np.linalg.LinAlgError
        If the information matrix is singular (collinear covariates).
    """
    if beta0 is None:
        mu = (d + 0.5) / 2.0
        w = mu * (1 - mu)
        z = np.log(mu / (1 - mu)) + (d - mu) / w
        xw = xt * w
        beta = np.linalg.solve(xw @ xt.T, xw @ z)
    else:
        beta = np.asarray(beta0, dtype=float).copy()
    p = 1.0 / (1.0 + np.exp(-(beta @ xt)))
    for _ in range(max_iter):
        w = p * (1 - p)
        step = np.linalg.solve((xt * w) @ xt.T, xt @ (d - p))
        beta = beta + step
        p = 1.0 / (1.0 + np.exp(-(beta @ xt)))
        # Quadratic convergence: once a step is below 1e-9 the next would be ~1e-18.
        if np.all(np.abs(step) <= 1e-9 * (1 + np.abs(beta))):
            break
    return p, beta


class CellDesign:
    """Treated-vs-comparison design shared by cells with the same units and covariates.

    Parameters
    ----------
    d
        ``(n1,)`` 1.0 for treated-cohort units, 0.0 for comparison units.
    xt
        ``(k, n1)`` covariates, intercept row first (transposed for speed).
    est_method
        ``"dr"``, ``"ipw"`` or ``"reg"``.
    beta0
        Warm start for the propensity-score logit.
    """

    def __init__(
        self,
        d: np.ndarray,
        xt: np.ndarray,
        est_method: str,
        beta0: np.ndarray | None = None,
    ):
        self.d = d
        self.xt = xt
        self.n1 = d.shape[0]
        self.est_method = est_method
        self.ctrl = 1.0 - d
        self.mean_d = d.mean()
        k = xt.shape[0]
        if est_method in ("dr", "reg"):
            gram = (xt * self.ctrl) @ xt.T / self.n1
            if self.ctrl.sum() < k or np.linalg.cond(gram) > 1 / np.finfo(float).eps:
                raise np.linalg.LinAlgError(
                    "outcome regression design is singular among comparison units"
                )
            self.xpx_inv = np.linalg.inv(gram)
        if est_method in ("dr", "ipw"):
            self.beta = None
            if k == 1:
                ps = np.full(self.n1, self.mean_d)
            else:
                ps, self.beta = logit_fit(d, xt, beta0=beta0)
            ps = np.minimum(ps, _PS_MAX)
            self.ps = ps
            self.hess_ps = np.linalg.inv((xt * (ps * (1 - ps))) @ xt.T) * self.n1
            self.score_ps = d - ps
            trim = np.where(d == 0, ps < TRIM_LEVEL, True)
            self.w_treat = d * trim
            self.w_cont = trim * ps * self.ctrl / (1 - ps)
            self.mw_treat = self.w_treat.mean()
            self.mw_cont = self.w_cont.mean()
            if self.mw_treat == 0 or self.mw_cont == 0:
                raise np.linalg.LinAlgError(
                    "no treated or comparison weight after trimming"
                )
            if est_method == "dr":
                m1 = xt @ self.w_treat / self.n1
                m3 = xt @ self.w_cont / self.n1
                # OLS part of the DR influence function, up to the residual factor.
                v = self.xpx_inv @ (m3 / self.mw_cont - m1 / self.mw_treat)
                self.ols_dir = self.ctrl * (v @ xt)
        if est_method == "reg":
            m1 = xt @ d / self.n1
            self.ols_dir_reg = self.ctrl * ((self.xpx_inv @ m1) @ xt)

    def estimate(self, dy: np.ndarray) -> tuple[float, np.ndarray]:
        """ATT and influence function for the outcome change ``dy`` (``(n1,)``)."""
        if self.est_method == "dr":
            return self._dr(dy)
        if self.est_method == "ipw":
            return self._ipw(dy)
        return self._reg(dy)

    def _ols(self, dy: np.ndarray) -> np.ndarray:
        beta = self.xpx_inv @ (self.xt @ (dy * self.ctrl)) / self.n1
        return beta @ self.xt

    def _dr(self, dy):
        resid = dy - self._ols(dy)
        wt, wc = self.w_treat, self.w_cont
        a_t = wt * resid
        a_c = wc * resid
        eta_t = a_t.sum() / self.n1 / self.mw_treat
        eta_c = a_c.sum() / self.n1 / self.mw_cont
        inf_c1 = a_c - wc * eta_c
        m2 = self.xt @ inf_c1 / self.n1
        inf = (a_t - wt * eta_t) / self.mw_treat
        inf -= (inf_c1 + self.score_ps * ((self.hess_ps @ m2) @ self.xt)) / self.mw_cont
        inf += resid * self.ols_dir
        return eta_t - eta_c, inf

    def _ipw(self, dy):
        wt, wc = self.w_treat, self.w_cont
        a_t = wt * dy
        a_c = wc * dy
        eta_t = a_t.mean() / self.mw_treat
        eta_c = a_c.mean() / self.mw_cont
        inf_t = (a_t - wt * eta_t) / self.mw_treat
        inf_c1 = a_c - wc * eta_c
        m2 = self.xt @ inf_c1 / self.n1
        ps_part = self.score_ps * ((self.hess_ps @ m2) @ self.xt)
        return eta_t - eta_c, inf_t - (inf_c1 + ps_part) / self.mw_cont

    def _reg(self, dy):
        d = self.d
        out = self._ols(dy)
        md = self.mean_d
        eta_t = (d * dy).mean() / md
        eta_c = (d * out).mean() / md
        inf_t = (d * dy - d * eta_t) / md
        inf_c1 = d * out - d * eta_c
        inf_c2 = (dy - out) * self.ols_dir_reg
        return eta_t - eta_c, inf_t - (inf_c1 + inf_c2) / md
