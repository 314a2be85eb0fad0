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
from scipy import stats

from jdeval.effects._twfe import _formula_vars, check_columns, feols_quiet, vcov_spec
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
        period appears with estimate 0 and SE ``nan``. ``extra["model"]`` is the
        pyfixest model, ``extra["catt"]`` (Sun–Abraham) the cohort × event-time
        table.
    """
    if estimator not in ("twfe", "sunab"):
        raise ValueError("estimator must be 'twfe' or 'sunab'")
    xcols = _formula_vars(xformla)
    check_columns(data, [yname, idname, tname, gname, *xcols], "事件研究 event study")
    df = data[list(dict.fromkeys([yname, idname, tname, gname, *xcols]))].copy()
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
    regs: list[str] = []
    cells: list[tuple[int, int, str]] = []
    if estimator == "twfe":
        for ev in event_times:
            name = _name(ev)
            df[name] = (treated & (e == ev)).astype("float64")
            regs.append(name)
    else:
        for gg in sorted(set(g[treated].tolist())):
            for ev in sorted(set(e[g == gg].tolist()) - {ref}):
                name = _name(ev, gg)
                df[name] = ((g == gg) & (e == ev)).astype("float64")
                regs.append(name)
                cells.append((gg, ev, name))
    rhs = " + ".join(regs + xcols)
    model = feols_quiet(
        f"{yname} ~ {rhs} | {idname} + {tname}", df, vcov_spec(vcov, idname)
    )
    coef = model.coef()
    vc = pd.DataFrame(model._vcov, index=model._coefnames, columns=model._coefnames)
    counts = df.loc[treated].groupby(["_g", "_e"]).size()
    n_at_e = df.loc[treated].groupby("_e").size()
    z = stats.norm.ppf(1 - alp / 2)
    rows = []
    weights_post: dict[str, float] = {}
    catt_rows = []
    cell_g = {n: gg for gg, _, n in cells}
    for ev in event_times:
        if estimator == "twfe":
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
        est = float(w @ coef[w.index])
        se = float(math.sqrt(w @ vc.loc[w.index, w.index] @ w))
        rows.append({"event_time": ev, "estimate": est, "se": se})
        if ev >= 0:
            share = float(n_at_e.get(ev, 0))
            for n_, wi in w.items():
                weights_post[n_] = weights_post.get(n_, 0.0) + wi * share
    rows.append({"event_time": ref, "estimate": 0.0, "se": math.nan})
    frame = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)
    frame["ci_low"] = frame["estimate"] - z * frame["se"]
    frame["ci_high"] = frame["estimate"] + z * frame["se"]
    frame["p_value"] = 2 * stats.norm.sf(np.abs(frame["estimate"] / frame["se"]))
    frame["n"] = frame["event_time"].map(n_at_e).fillna(0).astype("int64")
    overall, overall_se = math.nan, math.nan
    if weights_post:
        wp = pd.Series(weights_post)
        wp = wp / wp.sum()
        overall = float(wp @ coef[wp.index])
        overall_se = float(math.sqrt(wp @ vc.loc[wp.index, wp.index] @ wp))
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
    label = {"twfe": "dynamic TWFE (pyfixest)", "sunab": "Sun-Abraham (2021) IW"}
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
            "model": model,
            "n_obs": int(model._N),
            "catt": pd.DataFrame(catt_rows),
            "ref": ref,
        },
    )
