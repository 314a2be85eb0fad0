"""Effects by subsidy intensity and value for money (continuous-treatment DiD).

Follows Callaway, Goodman-Bacon & Sant'Anna (2024, "Difference-in-differences with a
continuous treatment"): the dose ``d`` of a funded firm is its approved subsidy
(万元) in its first funding year; untreated (not-yet / never funded) firms are the
comparison group.

* ``ATT(d|d)`` by **dose bin** (terciles of the dose): Callaway–Sant'Anna ATT of the
  firms in the bin against the untreated firms (``att_gt`` on the bin's firms plus
  the controls, "simple" aggregation) — under parallel trends for each dose.
* **Linear slope (ACRT under linearity)**: each funded firm's own DiD
  ``τ_i = mean_{t≥g}(Y_it − Y_i,g−1) − mean_{controls}(Y_ct − Y_c,g−1)`` regressed on
  its dose with cohort fixed effects (so the control means, common to a cohort,
  drop out), heteroskedasticity-robust (HC1) standard errors, statsmodels OLS. A
  causal reading of the slope needs CGBS's *strong* parallel trends.
* **Additional investment per 万元 of subsidy**: the Callaway–Sant'Anna ATT on the
  technology-investment outcome **in levels** (``tech_reno_inv``, 万元 per firm-year)
  times the number of funded firm-years it averages over, divided by the total
  subsidy of those firms: ``ratio = ATT_level · N_fy / Σ_i d_i``. The subsidy is
  known, so the interval is the ATT's interval times the same factor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["DoseResult", "dose_response", "firm_dose", "firm_did"]


@dataclass
class DoseResult:
    """Effects by subsidy intensity (see the module docstring).

    Attributes
    ----------
    by_bin
        ``bin, dose_min, dose_max, dose_mean, n_firms, estimate, se, ci_low, ci_high``
        per outcome (column ``outcome``).
    slope
        ``outcome, slope, se, ci_low, ci_high, p_value, n_firms`` (per 万元 of dose).
    value_for_money
        ``per_wan, ci_low, ci_high, att_level, att_level_se, n_firm_years,
        total_subsidy`` — additional technology investment (万元) per 万元 of subsidy.
    available, reason_zh
        False with the reason when the data carry no dose variation.
    """

    by_bin: pd.DataFrame = field(default_factory=pd.DataFrame)
    slope: pd.DataFrame = field(default_factory=pd.DataFrame)
    value_for_money: dict = field(default_factory=dict)
    available: bool = True
    reason_zh: str = ""

    @property
    def reading_zh(self) -> str:
        """Short label: additional investment per 万元 with its interval."""
        if not self.available or not self.value_for_money:
            return self.reason_zh
        v = self.value_for_money
        return (
            f"每万元补贴带动新增技改投资 {v['per_wan']:.2f} 万元"
            f"（95% 置信区间 {v['ci_low']:.2f} 至 {v['ci_high']:.2f}）"
        )


def firm_dose(awards: pd.DataFrame, first_award: pd.Series) -> pd.Series:
    """Approved subsidy (万元) of each funded firm in its first funding year.

    ``first_award``: firm_id → first award year (0 = never). Awards of other years
    (repeat funding) are not part of the dose.
    """
    a = awards.loc[awards["firm_id"].notna() & (awards["approved_amount"] > 0)]
    a = a.assign(g=a["firm_id"].map(first_award))
    a = a.loc[a["batch_year"] == a["g"]]
    return a.groupby("firm_id")["approved_amount"].sum()


def firm_did(panel: pd.DataFrame, *, yname: str, year: int) -> pd.DataFrame:
    """Each funded firm's DiD against never/not-yet funded firms (base year g − 1).

    Returns ``firm_id, g, tau, n_post``; ``tau`` averages the firm's post years
    ``g..year``; controls in year t are firms unfunded by t (not yet treated).
    """
    w = panel.pivot_table(
        index="firm_id", columns="year", values=yname, aggfunc="first"
    )
    g = panel.drop_duplicates("firm_id").set_index("firm_id")["first_award_year"]
    g = g.reindex(w.index).to_numpy(dtype=float)
    yrs = np.asarray(w.columns, dtype=int)
    y = w.to_numpy(dtype=float)
    out = []
    for gv in np.unique(g[(g > 0) & (g <= year)]):
        if gv - 1 not in yrs:
            continue
        base = np.flatnonzero(yrs == gv - 1)[0]
        tr = g == gv
        diffs = []
        for t in range(int(gv), year + 1):
            if t not in yrs:
                continue
            j = np.flatnonzero(yrs == t)[0]
            ctrl = (g == 0) | (g > t)
            cd = y[ctrl, j] - y[ctrl, base]
            cmean = np.nanmean(cd)
            diffs.append(y[tr, j] - y[tr, base] - cmean)
        if not diffs:
            continue
        dm = np.vstack(diffs)
        ok = np.isfinite(dm)
        tau = np.where(ok, dm, 0).sum(axis=0) / np.maximum(ok.sum(axis=0), 1)
        tau = np.where(ok.sum(axis=0) > 0, tau, np.nan)
        out.append(
            pd.DataFrame(
                {
                    "firm_id": w.index[tr],
                    "g": int(gv),
                    "tau": tau,
                    "n_post": ok.sum(axis=0),
                }
            )
        )
    if not out:
        return pd.DataFrame(columns=["firm_id", "g", "tau", "n_post"])
    return pd.concat(out, ignore_index=True).dropna(subset=["tau"])


def _slope(fd: pd.DataFrame, dose: pd.Series, alp: float) -> dict:
    d = fd.assign(dose=fd["firm_id"].map(dose)).dropna(subset=["dose", "tau"])
    if len(d) < 5 or d["dose"].nunique() < 2:
        return {
            "slope": math.nan,
            "se": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "p_value": math.nan,
            "n_firms": len(d),
        }
    x = pd.get_dummies(d["g"].astype(str), dtype=float)
    x["dose"] = d["dose"].to_numpy(float)
    # imported here: statsmodels costs ~1 s to import, and reading a stored result
    # (the annual report's edit loop) must not pay it
    from statsmodels.regression.linear_model import OLS

    fit = OLS(d["tau"].to_numpy(float), x.to_numpy(float)).fit(cov_type="HC1")
    j = x.columns.get_loc("dose")
    lo, hi = fit.conf_int(alpha=alp)[j]
    return {
        "slope": float(fit.params[j]),
        "se": float(fit.bse[j]),
        "ci_low": float(lo),
        "ci_high": float(hi),
        "p_value": float(fit.pvalues[j]),
        "n_firms": len(d),
    }


def _simple_att(sub: pd.DataFrame, yname: str, alp: float):
    """Outcome-regression CS estimate of ``sub``, simple aggregation (the dose
    designs: a bin's firms, or all funded firms, against the not yet funded)."""
    from jdeval.effects.did import att_gt

    return att_gt(
        sub,
        yname=yname,
        tname="year",
        idname="firm_id",
        gname="first_award_year",
        control_group="notyettreated",
        est_method="reg",
        alp=alp,
        allow_unbalanced_panel=True,
    ).aggregate(type="simple")


def dose_response(
    panel: pd.DataFrame,
    dose: pd.Series,
    *,
    outcomes: list[str],
    year: int,
    level_outcome: str | None = "tech_reno_inv",
    n_bins: int = 3,
    alp: float = 0.05,
) -> DoseResult:
    """Effects by dose bin, linear dose slope and value for money.

    Parameters
    ----------
    panel
        Analysis panel (``firm_id, year, first_award_year`` and the outcomes).
    dose
        firm_id → dose (万元), e.g. from :func:`firm_dose`.
    outcomes
        Outcomes to split by dose.
    year
        Evaluation year (later years are not used).
    level_outcome
        Outcome in 万元 levels for the value-for-money ratio (``None``: skip).
    n_bins
        Number of dose bins (quantiles of the funded firms' doses).
    """

    # only the columns used: row subsets of the whole panel cost ~0.3 GB each at
    # 200,000 firms
    keys = ["firm_id", "year", "first_award_year"]
    level = [level_outcome] if level_outcome in panel else []
    p = panel.loc[panel["year"] <= year, list(dict.fromkeys(keys + outcomes + level))]
    g = p["first_award_year"]
    funded = p.loc[(g > 0) & (g <= year), "firm_id"].unique()
    dose = dose.reindex(funded).dropna()
    if len(dose) < n_bins * 3 or dose.nunique() < 2:
        return DoseResult(
            available=False,
            reason_zh="受资助企业的补贴金额没有足够差异，无法按补贴强度估计",
        )
    bins = pd.qcut(dose.rank(method="first"), n_bins, labels=False)
    controls = p.loc[(g == 0) | (g > year), "firm_id"].unique()
    by_bin, slopes = [], []
    for o in outcomes:
        for b in range(n_bins):
            ids = np.concatenate([bins.index[bins == b].to_numpy(), controls])
            sub = p.loc[p["firm_id"].isin(ids), keys + [o]].dropna(subset=[o])
            agg = _simple_att(sub, o, alp)
            lo, hi = agg.overall_ci
            dsel = dose[bins == b]
            by_bin.append(
                {
                    "outcome": o,
                    "bin": b + 1,
                    "dose_min": float(dsel.min()),
                    "dose_max": float(dsel.max()),
                    "dose_mean": float(dsel.mean()),
                    "n_firms": int(len(dsel)),
                    "estimate": agg.overall_att,
                    "se": agg.overall_se,
                    "ci_low": lo,
                    "ci_high": hi,
                }
            )
        slopes.append(
            {"outcome": o, **_slope(firm_did(p, yname=o, year=year), dose, alp)}
        )
    vfm = {}
    if level_outcome is not None and level_outcome in p:
        ids = np.concatenate([dose.index.to_numpy(), controls])
        sub = p.loc[p["firm_id"].isin(ids), keys + level].dropna(subset=level)
        agg = _simple_att(sub, level_outcome, alp)
        gs = sub["first_award_year"]
        post = sub.loc[(gs > 0) & (sub["year"] >= gs)]
        n_fy = int(len(post))
        total = float(dose.reindex(post["firm_id"].unique()).sum())
        factor = n_fy / total if total > 0 else math.nan
        lo, hi = agg.overall_ci
        vfm = {
            "per_wan": agg.overall_att * factor,
            "ci_low": lo * factor,
            "ci_high": hi * factor,
            "att_level": agg.overall_att,
            "att_level_se": agg.overall_se,
            "n_firm_years": n_fy,
            "total_subsidy": total,
            "outcome": level_outcome,
        }
    return DoseResult(
        by_bin=pd.DataFrame(by_bin), slope=pd.DataFrame(slopes), value_for_money=vfm
    )
