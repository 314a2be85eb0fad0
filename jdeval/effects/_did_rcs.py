"""Two-period DiD on repeated cross sections (R DRDID's ``*_rc`` estimators).

R ``did::att_gt(..., allow_unbalanced_panel = TRUE)`` treats an unbalanced panel as
repeated cross sections: each ATT(g, t) uses every *row* observed in period ``t``
or in the base period (a firm seen in only one of them still counts), and the
estimators of Sant'Anna & Zhao (2020, sec. 3.2 / Appendix) for repeated cross
sections are applied:

* ``"dr"`` — ``DRDID::drdid_rc``: the locally efficient doubly robust estimator,
  with outcome regressions for comparison and treated units in each period and a
  logit propensity score fitted on the stacked rows;
* ``"ipw"`` — ``DRDID::std_ipw_did_rc`` (normalised IPW);
* ``"reg"`` — ``DRDID::reg_did_rc`` (outcome regression).

Each returns the ATT and one influence-function value per row; the caller rescales
by ``n / rows`` and sums the rows of a firm, so standard errors stay clustered by
firm (R did does the same). Sampling weights are normalised to mean one within the
cell, as DRDID does. Propensity scores are capped at ``1 - 1e-6`` and comparison
rows with a score at or above ``trim_level`` get zero weight.

The algebra follows the published influence functions; the layout (``(m, k)``
designs, one solve per regression) is ours. It is not tuned for speed: it runs
only for unbalanced panels, cell by cell.
"""

from __future__ import annotations

import numpy as np

from jdeval.effects._did_twobytwo import _PS_MAX, logit_fit

__all__ = ["rcs_cell"]


def _ols(y, x, wo, m):
    """Weighted OLS on rows with ``wo > 0``: fitted values, asymptotic linear rep."""
    xw = x * wo[:, None]
    gram = xw.T @ x / m
    if np.linalg.cond(gram) > 1 / np.finfo(float).eps:
        raise np.linalg.LinAlgError("outcome regression design is singular")
    inv = np.linalg.inv(gram)
    beta = inv @ (xw.T @ y) / m
    fit = x @ beta
    return fit, ((wo * (y - fit))[:, None] * x) @ inv


def _pscore(d, x, w, m, trim_level):
    ps, _ = logit_fit(d, x.T, w=w)
    ps = np.minimum(ps, _PS_MAX)
    hess = np.linalg.inv((x * (w * ps * (1 - ps))[:, None]).T @ x) * m
    lin_ps = ((w * (d - ps))[:, None] * x) @ hess
    trim = np.where(d == 0, ps < trim_level, True).astype(float)
    return ps, trim, lin_ps


def _flat(d, x, w, m, trim_level):
    """Intercept-only propensity score: the weighted share treated (as glm)."""
    ps = np.full(m, min((w * d).sum() / w.sum(), _PS_MAX))
    hess = np.linalg.inv((x * (w * ps * (1 - ps))[:, None]).T @ x) * m
    lin_ps = ((w * (d - ps))[:, None] * x) @ hess
    trim = np.where(d == 0, ps < trim_level, True).astype(float)
    return ps, trim, lin_ps


def _centred(eta_w, w):
    """``eta - w · mean(eta) / mean(w)`` and the normalised mean ``mean(eta)``."""
    a = eta_w.mean()
    return eta_w - w * a / w.mean(), a


def rcs_cell(
    y: np.ndarray,
    post: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    w: np.ndarray,
    est_method: str,
    trim_level: float,
) -> tuple[float, np.ndarray, tuple | None]:
    """ATT, per-row influence function and overlap inputs of one cell.

    The third value is ``(ps, comparison weights)`` for the overlap diagnostics,
    ``None`` for outcome regression.

    Parameters
    ----------
    y, post, d
        ``(m,)`` outcome, 1 for rows of the later period, 1 for treated rows.
    x
        ``(m, k)`` covariates with an intercept column first.
    w
        ``(m,)`` sampling weights (normalised here).
    est_method
        ``"dr"``, ``"ipw"`` or ``"reg"``.
    trim_level
        DRDID's ``trim.level``.

    Raises
    ------
    np.linalg.LinAlgError
        Singular regression designs or no weight left in a group.
    """
    w = w / w.mean()
    if est_method == "reg":
        return (*_reg_rc(y, post, d, x, w), None)
    m = len(y)
    ps, trim, lin_ps = (
        _pscore(d, x, w, m, trim_level)
        if x.shape[1] > 1
        else _flat(d, x, w, m, trim_level)
    )
    fn = _ipw_rc if est_method == "ipw" else _dr_rc
    att, inf = fn(y, post, d, x, w, ps, trim, lin_ps)
    diag = (ps, trim * w * ps / (1 - ps) * (1 - d)) if x.shape[1] > 1 else None
    return att, inf, diag


def _reg_rc(y, post, d, x, w):
    m = len(y)
    fit_pre, lin_pre = _ols(y, x, w * (1 - d) * (1 - post), m)
    fit_post, lin_post = _ols(y, x, w * (1 - d) * post, m)
    w_pre = w * d * (1 - post)
    w_post = w * d * post
    w_d = w * d
    _check_mass(w_pre, w_post)
    inf_pre, a_pre = _centred(w_pre * y, w_pre)
    inf_post, a_post = _centred(w_post * y, w_post)
    inf_c1, a_c = _centred(w_d * (fit_post - fit_pre), w_d)
    att = a_post / w_post.mean() - a_pre / w_pre.mean() - a_c / w_d.mean()
    moment = (w_d[:, None] * x).mean(axis=0)
    inf_c = (inf_c1 + (lin_post - lin_pre) @ moment) / w_d.mean()
    return float(att), inf_post / w_post.mean() - inf_pre / w_pre.mean() - inf_c


def _ipw_rc(y, post, d, x, w, ps, trim, lin_ps):
    odds = ps / (1 - ps)
    w_tp = trim * w * d * (1 - post)
    w_t1 = trim * w * d * post
    w_cp = trim * w * odds * (1 - d) * (1 - post)
    w_c1 = trim * w * odds * (1 - d) * post
    _check_mass(w_tp, w_t1, w_cp, w_c1)
    parts = {}
    for name, wt in (("tp", w_tp), ("t1", w_t1), ("cp", w_cp), ("c1", w_c1)):
        eta = wt * y / wt.mean()
        parts[name] = (eta - wt * eta.mean() / wt.mean(), eta.mean())
    att = (parts["t1"][1] - parts["tp"][1]) - (parts["c1"][1] - parts["cp"][1])
    m2 = {
        k: ((wt * (y - parts[k][1]))[:, None] * x).mean(axis=0) / wt.mean()
        for k, wt in (("cp", w_cp), ("c1", w_c1))
    }
    inf_t = parts["t1"][0] - parts["tp"][0]
    inf_c = parts["c1"][0] - parts["cp"][0] + lin_ps @ (m2["c1"] - m2["cp"])
    return float(att), inf_t - inf_c


def _dr_rc(y, post, d, x, w, ps, trim, lin_ps):
    m = len(y)
    c_pre, lin_c_pre = _ols(y, x, w * (1 - d) * (1 - post), m)
    c_post, lin_c_post = _ols(y, x, w * (1 - d) * post, m)
    t_pre, lin_t_pre = _ols(y, x, w * d * (1 - post), m)
    t_post, lin_t_post = _ols(y, x, w * d * post, m)
    c_fit = post * c_post + (1 - post) * c_pre
    odds = ps / (1 - ps)
    wt = {
        "tp": trim * w * d * (1 - post),
        "t1": trim * w * d * post,
        "cp": trim * w * odds * (1 - d) * (1 - post),
        "c1": trim * w * odds * (1 - d) * post,
        "d": trim * w * d,
    }
    _check_mass(wt["tp"], wt["t1"], wt["cp"], wt["c1"])
    mw = {k: v.mean() for k, v in wt.items()}
    resid = y - c_fit
    eta = {k: wt[k] * resid / mw[k] for k in ("tp", "t1", "cp", "c1")}
    eta["d_post"] = wt["d"] * (t_post - c_post) / mw["d"]
    eta["t1_post"] = wt["t1"] * (t_post - c_post) / mw["t1"]
    eta["d_pre"] = wt["d"] * (t_pre - c_pre) / mw["d"]
    eta["tp_pre"] = wt["tp"] * (t_pre - c_pre) / mw["tp"]
    a = {k: v.mean() for k, v in eta.items()}
    att = (
        (a["t1"] - a["tp"])
        - (a["c1"] - a["cp"])
        + (a["d_post"] - a["t1_post"])
        - (a["d_pre"] - a["tp_pre"])
    )

    def inf_of(k, wk):
        return eta[k] - wt[wk] * a[k] / mw[wk]

    def col_mean(v):
        return (v[:, None] * x).mean(axis=0)

    # Treated part, with the comparison regressions' estimation effect.
    m1_post = -col_mean(wt["t1"] * post) / mw["t1"]
    m1_pre = -col_mean(wt["tp"] * (1 - post)) / mw["tp"]
    inf_treat = (
        inf_of("t1", "t1")
        - inf_of("tp", "tp")
        + lin_c_post @ m1_post
        - lin_c_pre @ m1_pre
    )
    # Comparison part: propensity score and comparison regressions.
    m2_pre = col_mean(wt["cp"] * (resid - a["cp"])) / mw["cp"]
    m2_post = col_mean(wt["c1"] * (resid - a["c1"])) / mw["c1"]
    m3_post = -col_mean(wt["c1"] * post) / mw["c1"]
    m3_pre = -col_mean(wt["cp"] * (1 - post)) / mw["cp"]
    inf_cont = (
        inf_of("c1", "c1")
        - inf_of("cp", "cp")
        + lin_ps @ (m2_post - m2_pre)
        + lin_c_post @ m3_post
        - lin_c_pre @ m3_pre
    )
    # Local-efficiency terms and the treated regressions' estimation effect.
    inf_eff = (inf_of("d_post", "d") - inf_of("t1_post", "t1")) - (
        inf_of("d_pre", "d") - inf_of("tp_pre", "tp")
    )
    mom_post = col_mean(wt["d"] / mw["d"] - wt["t1"] / mw["t1"])
    mom_pre = col_mean(wt["d"] / mw["d"] - wt["tp"] / mw["tp"])
    inf_or = (lin_t_post - lin_c_post) @ mom_post - (lin_t_pre - lin_c_pre) @ mom_pre
    return float(att), inf_treat - inf_cont + inf_eff + inf_or


def _check_mass(*weights: np.ndarray) -> None:
    if any(not wt.sum() > 0 for wt in weights):
        raise np.linalg.LinAlgError(
            "a treated or comparison group has no weight in one of the periods"
        )
