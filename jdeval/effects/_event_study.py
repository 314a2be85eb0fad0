"""Event studies (事件研究) by regression: dynamic TWFE and Sun–Abraham (2021).

``estimator="twfe"``
    ``y_it = alpha_i + gamma_t + sum_{e != ref} beta_e 1{t - g_i = e} + u_it`` on
    all firms (never-treated firms have all dummies zero). Under heterogeneous
    effects the ``beta_e`` are contaminated by other periods' effects
    (Sun & Abraham 2021, Prop. 3).
``estimator="sunab"``
    Interaction-weighted estimator of Sun & Abraham (2021, J. Econometrics 225):
    a saturated regression with one dummy per treated cohort ``g`` × event time
    ``e`` (``e != ref``), firm and year fixed effects, and a clean control
    cohort (never-treated firms; if there are none, the last-treated cohort, with
    periods from its first treatment on dropped). Then
    ``beta_e = sum_g w_{g,e} CATT_{g,e}`` with ``w_{g,e}`` the share of cohort ``g``
    among the treated firm-years at event time ``e``; SEs by the delta method from
    the firm-clustered covariance of the CATTs, weights treated as known (as in R
    fixest's ``sunab`` aggregation).

Reference period ``ref = -1`` (the year before the first award). ``bin_min`` /
``bin_max`` bin the endpoints: all event times ``<= bin_min`` (``>= bin_max``) share
one coefficient. ``overall_att`` is the average of the post-treatment effects
(``e >= 0``) weighted by the number of treated firm-years at each event time — the
same weighting as Callaway–Sant'Anna's ``simple`` aggregation. SEs: firm-clustered
CRV1 with R fixest's small-sample correction (see :mod:`jdeval.effects._twfe`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special

from jdeval.effects._fe_regression import FeFit, indicator_fe_fit, pyfixest_fit
from jdeval.effects._twfe import _formula_vars, check_columns, vcov_spec
from jdeval.effects.results import AggregateResult
from jdeval.errors import DataError, ProblemList

__all__ = ["event_study"]


def _name(e: int, g: int | None = None) -> str:
    sign = "m" if e < 0 else "p"
    base = f"e_{sign}{abs(e)}"
    return base if g is None else f"g{g}_{base}"


def event_study(
    data: pd.DataFrame,
    *,
    yname: str,
    idname: str,
    tname: str,
    gname: str,
    estimator: str = "twfe",
    ref: int = -1,
    bin_min: int | None = None,
    bin_max: int | None = None,
    xformla: str | None = None,
    vcov: str = "CRV1",
    alp: float = 0.05,
) -> AggregateResult:
    """Regression event study with firm and year fixed effects.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    yname, idname, tname, gname
        Outcome, unit, period and cohort (first treated period; 0 or missing =
        never treated) columns, as in R did.
    estimator
        ``"twfe"`` (dynamic TWFE) or ``"sunab"`` (Sun–Abraham interaction-weighted).
    ref
        Omitted reference event time (default −1).
    bin_min, bin_max
        Bin event times at or beyond these endpoints into one coefficient each.
    xformla
        Extra time-varying regressors, e.g. ``"~ x1 + x2"``.
    vcov
        ``"CRV1"`` (firm-clustered, default), ``"iid"`` or ``"hetero"``.
    alp
        Significance level (normal critical values, as in the CS aggregations).

    Returns
    -------
    AggregateResult
        ``kind="event_study"``; rows ``event_time, estimate, se, ci_low, ci_high,
        p_value, n`` (``n`` = treated firm-years at that event time); the reference
        period appears with estimate 0 and SE ``nan``. ``extra["n_obs"]`` is the
        number of rows used, ``extra["catt"]`` (Sun–Abraham) the cohort ×
        event-time table. No fitted model is kept (a pyfixest model holds ~1 GB
        at 200,000 firms).
    """
    if estimator not in ("twfe", "sunab"):
        raise ValueError("estimator must be 'twfe' or 'sunab'")
    xcols = _formula_vars(xformla)
    check_columns(data, [yname, idname, tname, gname, *xcols], "事件研究 event study")
    df, g, t, notes = _sample(data, [yname, idname, tname, gname, *xcols], estimator)
    treated = g > 0
    e = np.where(treated, t - g, 0)
    if bin_min is not None:
        e = np.where(treated, np.maximum(e, bin_min), e)
    if bin_max is not None:
        e = np.where(treated, np.minimum(e, bin_max), e)
    df["_e"] = e
    event_times = sorted(set(e[treated].tolist()) - {ref})
    if not event_times:
        problems = ProblemList()
        problems.error(
            "no_treated",
            "数据中没有受资助企业的观测",
            "no observations of funded (treated) firms",
            column=gname,
        )
        problems.raise_if_errors(
            DataError, "无法估计事件研究 / cannot estimate the event study"
        )
    cells: list[tuple[int, int, str]] = []
    if estimator == "twfe":
        # one regressor per event time: key (1, e) for every treated row
        keys = [(1, ev, _name(ev)) for ev in event_times]
        row_group = treated.astype("int64")
    else:
        for gg in sorted(set(g[treated].tolist())):
            for ev in sorted(set(e[g == gg].tolist()) - {ref}):
                cells.append((gg, ev, _name(ev, gg)))
        keys, row_group = cells, g
    fit = _fit(df, (yname, idname, tname), row_group, t, e, keys, xcols, vcov)
    counts = df.loc[treated].groupby(["_g", "_e"]).size()
    n_at_e = df.loc[treated].groupby("_e").size()
    rows, weights_post, catt_rows = _by_event_time(
        fit, event_times, cells if estimator == "sunab" else None, counts, n_at_e
    )
    rows.append({"event_time": ref, "estimate": 0.0, "se": math.nan})
    frame = _frame(rows, n_at_e, alp)
    overall, overall_se = math.nan, math.nan
    if weights_post:
        overall, overall_se = _combine(fit, pd.Series(weights_post))
    if bin_min is not None or bin_max is not None:
        notes.append(
            f"端点合并：事件时间 ≤{bin_min} / ≥{bin_max} 各合并为一个系数 / endpoints "
            f"binned at {bin_min} and {bin_max}"
        )
    if estimator == "twfe":
        notes.append(
            "动态 TWFE 在效应随批次不同时会相互污染，稳健结果见 Sun-Abraham 或 CS / "
            "dynamic TWFE coefficients are contaminated when effects differ by "
            "cohort; see Sun-Abraham or Callaway-Sant'Anna"
        )
    label = {
        "twfe": "dynamic TWFE (firm and year FE)",
        "sunab": "Sun-Abraham (2021) IW",
    }
    return AggregateResult(
        frame=frame,
        overall_att=overall,
        overall_se=overall_se,
        estimator=label[estimator],
        kind="event_study",
        type="dynamic",
        control_group="nevertreated" if estimator == "sunab" else None,
        n_units=int(df[idname].nunique()),
        se_type="按企业聚类 CRV1 / clustered by firm (CRV1, as R fixest)"
        if vcov == "CRV1"
        else vcov,
        alp=alp,
        outcome=yname,
        notes=notes,
        extra={
            "n_obs": fit.n_obs,
            "engine": fit.engine,
            "catt": pd.DataFrame(catt_rows),
            "ref": ref,
        },
    )


def _cell_codes(row_group, e, keys) -> np.ndarray:
    """Code ``k + 1`` of the row's key in ``keys``, ``0`` if it has none.

    Integer keys ``group · span + (e − min e)`` and a binary search: no Python
    tuples per row (a MultiIndex lookup on 1.4 M rows costs ~0.2 GB).
    """
    lo = int(e.min())
    span = int(e.max()) - lo + 1
    row_key = row_group.astype("int64") * span + (e - lo)
    cell_key = np.array([k[0] * span + (k[1] - lo) for k in keys], dtype="int64")
    order = np.argsort(cell_key)
    sorted_keys = cell_key[order]
    pos = np.minimum(np.searchsorted(sorted_keys, row_key), len(keys) - 1)
    return np.where(sorted_keys[pos] == row_key, order[pos] + 1, 0)


def _sample(data, columns, estimator):
    """Rows with the outcome and covariates present, cohorts ``_g``, periods ``_t``.

    Sun–Abraham without never-treated firms takes the last cohort as the control
    and drops the periods from its first treatment on (with a note).
    """
    yname, _, tname, gname, *xcols = columns
    df = data[list(dict.fromkeys(columns))].copy()
    df = df.dropna(subset=[yname, *xcols])
    g = pd.to_numeric(df[gname], errors="coerce").fillna(0).astype("int64").to_numpy()
    t = pd.to_numeric(df[tname]).astype("int64").to_numpy()
    df["_g"] = g
    df["_t"] = t
    notes: list[str] = []
    if estimator == "sunab" and not (g == 0).any():
        last = int(g.max())
        keep = t < last
        df = df.loc[keep].copy()
        df["_g"] = np.where(df["_g"].to_numpy() == last, 0, df["_g"].to_numpy())
        notes.append(
            f"无从未受资助企业：以最后一批（{last}年）为对照，删去 {last} 年及以后 / "
            f"no never-treated firms: the last cohort ({last}) is the control; "
            f"periods from {last} on dropped"
        )
        g = df["_g"].to_numpy()
        t = df["_t"].to_numpy()
    return df, g, t, notes


def _by_event_time(fit: FeFit, event_times, cells, counts, n_at_e):
    """Per event time: the estimate (a cohort-share-weighted sum of CATTs for
    Sun–Abraham, ``cells`` given; the coefficient itself for dynamic TWFE), the
    post-period weights of each coefficient, and the CATT rows."""
    coef, vc = fit.coef_series, fit.vcov_frame
    rows, catt_rows = [], []
    weights_post: dict[str, float] = {}
    cell_g = {n: gg for gg, _, n in cells or []}
    for ev in event_times:
        if cells is None:
            name = _name(ev)
            if name not in coef.index:
                continue
            w = pd.Series({name: 1.0})
        else:
            names = [n for gg, e2, n in cells if e2 == ev and n in coef.index]
            if not names:
                continue
            cnt = np.array([counts[(cell_g[n], ev)] for n in names], float)
            w = pd.Series(cnt / cnt.sum(), index=names)
            for n_ in names:
                catt_rows.append(
                    {
                        "group": cell_g[n_],
                        "event_time": ev,
                        "estimate": float(coef[n_]),
                        "se": float(math.sqrt(vc.loc[n_, n_])),
                        "n": int(counts[(cell_g[n_], ev)]),
                    }
                )
        est, se = _combine(fit, w)
        rows.append({"event_time": ev, "estimate": est, "se": se})
        if ev >= 0:
            share = float(n_at_e.get(ev, 0))
            for n_, wi in w.items():
                weights_post[n_] = weights_post.get(n_, 0.0) + wi * share
    return rows, weights_post, catt_rows


def _combine(fit: FeFit, w: pd.Series) -> tuple[float, float]:
    """Estimate and SE of ``w' beta`` (weights normalised to sum to one)."""
    w = w / w.sum()
    coef, vc = fit.coef_series, fit.vcov_frame
    est = float(w @ coef[w.index])
    se = float(math.sqrt(w @ vc.loc[w.index, w.index] @ w))
    return est, se


def _frame(rows, n_at_e, alp) -> pd.DataFrame:
    """Event-time table with normal intervals and p-values, as the CS aggregations."""
    z = special.ndtri(1 - alp / 2)
    frame = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)
    frame["ci_low"] = frame["estimate"] - z * frame["se"]
    frame["ci_high"] = frame["estimate"] + z * frame["se"]
    frame["p_value"] = 2 * special.ndtr(-np.abs(frame["estimate"] / frame["se"]))
    frame["n"] = frame["event_time"].map(n_at_e).fillna(0).astype("int64")
    return frame


def _fit(df, columns, row_group, t, e, keys, xcols, vcov) -> FeFit:
    """Regress on one dummy per ``(group, event time)`` key with firm and year FE.

    Without covariates and with firm-clustered SEs the dummies are indicators of
    one code per row, which the exact solver of
    :mod:`jdeval.effects._fe_regression` handles without building them; otherwise
    (or if it declines, e.g. a collinear cell) the dummy columns go to pyfixest.
    """
    code = _cell_codes(row_group, e, keys)
    names = [k[2] for k in keys]
    yname, idname, tname = columns
    if not xcols and vcov == "CRV1":
        fit = indicator_fe_fit(df[yname].to_numpy(float), df[idname], t, code, names)
        if fit is not None:
            return fit
    dummies = pd.DataFrame(
        {n: (code == i + 1).astype("float64") for i, n in enumerate(names)},
        index=df.index,
    )
    rhs = " + ".join(names + xcols)
    return pyfixest_fit(
        f"{yname} ~ {rhs} | {idname} + {tname}",
        pd.concat([df, dummies], axis=1),
        vcov_spec(vcov, idname),
    )
