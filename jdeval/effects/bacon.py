"""Goodman-Bacon decomposition of the static TWFE DiD estimate.

With staggered adoption and a balanced panel, the TWFE coefficient on the treatment
dummy is a weighted average of all 2×2 DiD comparisons (Goodman-Bacon 2021,
*Journal of Econometrics* 225(2), Theorem 1):

* **treated vs never treated** (cohort k against the never-funded firms);
* **earlier vs later treated**: cohort k, before cohort l is treated, against l as
  control (a valid comparison);
* **later vs earlier treated**: cohort l against the *already treated* cohort k as
  control — the "forbidden" comparison; it is biased when effects change over
  time, and its weight is what separates TWFE from Callaway–Sant'Anna.

Weights (eq. 10a–c) depend on group sizes and on the variance of the treatment
dummy inside each comparison; they are non-negative and sum to one. Written here:
the decomposition is a few group means; no Python package was needed for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["bacon_decomposition", "BaconResult", "COMPARISON_ZH"]

#: Comparison types → Chinese labels.
COMPARISON_ZH = {
    "treated_vs_never": "受资助批次 vs 从未受资助",
    "earlier_vs_later": "较早批次 vs 较晚批次（尚未受资助）",
    "later_vs_earlier": "较晚批次 vs 较早批次（已受资助，“禁用”对照）",
}


@dataclass
class BaconResult:
    """Result of :func:`bacon_decomposition`.

    Attributes
    ----------
    table
        One row per 2×2 comparison: ``type, type_zh, treated, control, estimate,
        weight``.
    twfe
        TWFE coefficient on the balanced panel used (= Σ weight · estimate).
    by_type
        Weight and weighted mean estimate per comparison type.
    forbidden_weight
        Total weight of later-vs-earlier comparisons.
    n_units, years
        Balanced panel used.
    available, reason_zh
        False (with the reason) when there is nothing to decompose.
    """

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    twfe: float = float("nan")
    forbidden_weight: float = float("nan")
    n_units: int = 0
    years: list = field(default_factory=list)
    available: bool = True
    reason_zh: str = ""
    outcome: str = ""

    @property
    def by_type(self) -> pd.DataFrame:
        """Weight and weighted average estimate per comparison type."""
        t = self.table
        if t.empty:
            return pd.DataFrame(columns=["type", "type_zh", "weight", "estimate"])
        g = t.assign(we=t["weight"] * t["estimate"]).groupby("type", sort=False)
        out = g.agg(weight=("weight", "sum"), we=("we", "sum")).reset_index()
        out["estimate"] = out["we"] / out["weight"]
        out["type_zh"] = out["type"].map(COMPARISON_ZH)
        return out[["type", "type_zh", "weight", "estimate"]]


def _twfe_coef(y: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """TWFE coefficient of ``d`` in a balanced units × periods panel; var of d̃."""

    def dm(a):
        return (
            a - a.mean(axis=1, keepdims=True) - a.mean(axis=0, keepdims=True) + a.mean()
        )

    dt, yt = dm(d), dm(y)
    vd = float((dt * dt).mean())
    return float((dt * yt).sum() / (dt * dt).sum()), vd


def bacon_decomposition(
    data: pd.DataFrame,
    *,
    yname: str,
    idname: str,
    tname: str,
    gname: str,
) -> BaconResult:
    """Decompose the TWFE estimate of ``yname`` on ``1{t ≥ g}`` (Goodman-Bacon 2021).

    Units with a missing outcome in any period are dropped (the theorem needs a
    balanced panel); ``g = 0`` marks never-treated units, cohorts after the last
    period count as never treated and cohorts at or before the first period as
    always treated (they serve as "already treated" controls).

    Returns
    -------
    BaconResult
    """
    wide = data.pivot_table(index=idname, columns=tname, values=yname, aggfunc="first")
    wide = wide.dropna()
    years = np.asarray(wide.columns, dtype=float)
    gmap = data.drop_duplicates(idname).set_index(idname)[gname]
    g = gmap.reindex(wide.index).to_numpy(dtype=float)
    g = np.where((g == 0) | (g > years.max()), np.inf, g)
    g = np.where(g <= years.min(), years.min(), g)  # always treated
    y = wide.to_numpy(dtype=float)
    d = (years[None, :] >= g[:, None]).astype(float)
    n, T = y.shape
    if n == 0 or d.std() == 0:
        return BaconResult(
            available=False,
            reason_zh="平衡面板中没有处理状态的变化，无法分解",
            n_units=n,
            outcome=yname,
        )
    beta, vd = _twfe_coef(y, d)
    groups = np.unique(g)
    share = {k: float((g == k).mean()) for k in groups}
    dbar = {k: float((years >= k).mean()) for k in groups}
    mean_y = {k: y[g == k].mean(axis=0) for k in groups}
    rows = []

    def did(tr, co, post, pre):
        return float(
            (mean_y[tr][post].mean() - mean_y[tr][pre].mean())
            - (mean_y[co][post].mean() - mean_y[co][pre].mean())
        )

    timing = [k for k in groups if np.isfinite(k) and k > years.min()]
    never = np.inf in share
    always = [k for k in groups if k == years.min()]
    for k in timing:
        if never:
            nk, nu = share[k], share[np.inf]
            nku = nk / (nk + nu)
            w = (nk + nu) ** 2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k]) / vd
            est = did(k, np.inf, years >= k, years < k)
            rows.append(("treated_vs_never", k, np.inf, est, w))
    for a, k in enumerate(sorted(timing + always)):
        for l_ in sorted(timing + always)[a + 1 :]:
            # k earlier, l later
            nk, nl = share[k], share[l_]
            nkl = nk / (nk + nl)
            dk, dl = dbar[k], dbar[l_]
            if k > years.min():  # earlier vs later (window before l)
                w = (
                    ((nk + nl) * (1 - dl)) ** 2
                    * nkl
                    * (1 - nkl)
                    * ((dk - dl) / (1 - dl))
                    * ((1 - dk) / (1 - dl))
                    / vd
                )
                win = years < l_
                est = did(k, l_, (years >= k) & win, years < k)
                rows.append(("earlier_vs_later", k, l_, est, w))
            w = (
                ((nk + nl) * dk) ** 2
                * nkl
                * (1 - nkl)
                * (dl / dk)
                * ((dk - dl) / dk)
                / vd
            )
            win = years >= k
            est = did(l_, k, years >= l_, win & (years < l_))
            rows.append(("later_vs_earlier", l_, k, est, w))
    table = pd.DataFrame(
        rows, columns=["type", "treated", "control", "estimate", "weight"]
    )
    table.insert(1, "type_zh", table["type"].map(COMPARISON_ZH))
    for c in ("treated", "control"):
        table[c] = table[c].map(lambda v: 0 if not np.isfinite(v) else int(v))
    return BaconResult(
        table=table,
        twfe=beta,
        forbidden_weight=float(
            table.loc[table["type"] == "later_vs_earlier", "weight"].sum()
        ),
        n_units=n,
        years=[int(v) for v in years],
        outcome=yname,
    )
