"""Entry and exit (样本进入与退出) in a firm panel, and which DiD estimator it allows.

规上 panels are unbalanced by construction: firms enter when they cross the
2,000万 revenue line and leave when they fall below it, close or move. Two
estimators of :func:`jdeval.effects.did.att_gt` handle this differently:

``"panel"`` (``panel_mode="balanced_pairs"``)
    Within-firm changes of the firms observed in both periods of each ATT(g, t).
    Differencing removes fixed firm characteristics, so entry and exit related to
    size or the outcome's *level* do no harm; but if firms leave after a bad year
    (exit driven by outcome *changes*), the firms kept are selected on the very
    changes being compared.
``"repeated_cross_section"`` (``panel_mode="repeated_cross_section"``, R did's
meaning of ``allow_unbalanced_panel=TRUE``)
    Period means of all firms observed in each period. Unaffected by who stays
    when exit follows transitory shocks, but composition changes that differ
    between funded and unfunded firms (e.g. small unfunded firms leaving) move
    the period means and bias it.

:func:`attrition_diagnostic` measures entry and exit by funding status and by the
pre-period outcome, tests whether exiting firms had a worse last change than
firms observed in the same years, and chooses: exit after bad changes →
repeated cross sections; otherwise → the within-firm panel estimator. The rule and
its evidence are in :attr:`Attrition.reason_zh` for the report. Proportions carry
Wilson intervals and the tests come from :mod:`statsmodels`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Attrition", "attrition_diagnostic"]

_GROUPS = {True: "受资助 funded", False: "未受资助 not funded"}


@dataclass
class Attrition:
    """Result of :func:`attrition_diagnostic`.

    Attributes
    ----------
    balanced
        Every firm observed in every period.
    table
        Per funding status: ``group, n_firms, n_entered, entry_rate,
        entry_ci_low, entry_ci_high, n_exited, exit_rate, exit_ci_low,
        exit_ci_high`` (Wilson intervals).
    tests
        ``test, test_zh, difference, statistic, p_value``: exit rate funded vs
        not funded; pre-period outcome of exiting vs staying firms; last change
        before exit vs the same years' changes of firms that stay.
    estimator
        ``"panel"`` or ``"repeated_cross_section"``.
    panel_mode
        The matching :func:`~jdeval.effects.did.att_gt` argument.
    reason_zh, reason_en
        Which estimator is reported and why.
    """

    balanced: bool
    table: pd.DataFrame
    tests: pd.DataFrame
    estimator: str
    panel_mode: str
    reason_zh: str
    reason_en: str
    alp: float = 0.05
    available: bool = True
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """Readable text (Chinese, then English, then the tables)."""
        return "\n".join(
            [
                self.reason_zh,
                self.reason_en,
                self.table.to_string(index=False, float_format="{:.3f}".format),
                self.tests.to_string(index=False, float_format="{:.4f}".format),
            ]
        )


def attrition_diagnostic(
    data: pd.DataFrame,
    *,
    yname: str,
    tname: str = "year",
    idname: str = "firm_id",
    gname: str = "first_award_year",
    alp: float = 0.05,
) -> Attrition:
    """Entry/exit by funding status and pre-period outcome; choose the estimator.

    Parameters
    ----------
    data
        Long firm × period panel (rows with a missing outcome count as not
        observed).
    yname, tname, idname, gname
        Outcome, period, firm and cohort (0 or missing = never funded).
    alp
        Level of the tests and intervals.

    Returns
    -------
    Attrition
    """
    from statsmodels.stats.proportion import proportion_confint

    d = data.loc[data[yname].notna(), [idname, tname, gname, yname]]
    t = pd.to_numeric(d[tname]).to_numpy(float)
    periods = np.unique(t)
    first, last = periods[0], periods[-1]
    by = d.assign(_t=t).groupby(idname)
    span = by["_t"].agg(["min", "max", "size"])
    funded = pd.to_numeric(by[gname].first(), errors="coerce").fillna(0).to_numpy() > 0
    entered = span["min"].to_numpy() > first
    exited = span["max"].to_numpy() < last
    balanced = bool((span["size"] == len(periods)).all())
    rows = []
    for f in (True, False):
        sel = funded == f
        n = int(sel.sum())
        row = {"group": _GROUPS[f], "n_firms": n}
        for name, flag in (("entry", entered), ("exit", exited)):
            k = int(flag[sel].sum())
            lo, hi = (
                proportion_confint(k, n, alpha=alp, method="wilson")
                if n
                else (np.nan, np.nan)
            )
            row.update(
                {
                    f"n_{name}ed" if name == "exit" else "n_entered": k,
                    f"{name}_rate": k / n if n else np.nan,
                    f"{name}_ci_low": lo,
                    f"{name}_ci_high": hi,
                }
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    if balanced:
        return Attrition(
            balanced=True,
            table=table,
            tests=pd.DataFrame(
                columns=["test", "test_zh", "difference", "statistic", "p_value"]
            ),
            estimator="panel",
            panel_mode="auto",
            reason_zh="面板平衡：所有企业各年均有观测，没有进入或退出，使用面板估计量。",
            reason_en="balanced panel: no entry or exit; the panel estimator is used.",
            alp=alp,
        )
    tests = _tests(d, t, idname, yname, funded, exited, span, last)
    return _decide(table, tests, alp)


def _tests(d, t, idname, yname, funded, exited, span, last) -> pd.DataFrame:
    """Exit by funding status, by first observed outcome, and after bad changes."""
    from statsmodels.stats.proportion import test_proportions_2indep
    from statsmodels.stats.weightstats import ttest_ind

    out = []
    n1, n0 = int(funded.sum()), int((~funded).sum())
    k1, k0 = int(exited[funded].sum()), int(exited[~funded].sum())
    if n1 and n0 and 0 < k1 + k0 < n1 + n0:
        r = test_proportions_2indep(k1, n1, k0, n0, method="wald")
        out.append(
            (
                "exit rate: funded - not funded",
                "退出率：受资助 − 未受资助",
                k1 / n1 - k0 / n0,
                float(r.statistic),
                float(r.pvalue),
            )
        )
    # Pre-period outcome: each firm's first observed value, demeaned within
    # period × cohort (funding differences have their own test above).
    gcol = d.columns[2]
    long = d.assign(_t=t)
    cell = [long["_t"], long[gcol]]
    long["_dev"] = long[yname] - long.groupby(cell)[yname].transform("mean")
    first_dev = long.sort_values([idname, "_t"]).groupby(idname)["_dev"].first()
    first_dev = first_dev.reindex(span.index).to_numpy()
    if exited.any() and (~exited).any():
        stat, p, _ = ttest_ind(first_dev[exited], first_dev[~exited], usevar="unequal")
        out.append(
            (
                "first observed outcome: exiting - staying firms",
                "首次观测结果（同期同批次去均值）：退出企业 − 留存企业",
                float(first_dev[exited].mean() - first_dev[~exited].mean()),
                float(stat),
                float(p),
            )
        )
    # Last change before exit vs changes of firms observed in the next period.
    long = long.sort_values([idname, "_t"])
    prev_t = long.groupby(idname)["_t"].shift()
    dy = long[yname] - long.groupby(idname)[yname].shift()
    step = long.assign(_dy=dy, _prev=prev_t).dropna(subset=["_dy"])
    last_t = span["max"].reindex(step[idname]).to_numpy()
    step = step.assign(_exit=(step["_t"].to_numpy() == last_t) & (last_t < last))
    step = step.loc[step["_t"] < last]  # no firm can be seen leaving after the end
    # Within period × cohort, so that a cohort's treatment onset is no "shock".
    step["_dev"] = step["_dy"] - step.groupby(["_t", gcol])["_dy"].transform("mean")
    ex = step.loc[step["_exit"], "_dev"].to_numpy()
    st = step.loc[~step["_exit"], "_dev"].to_numpy()
    if len(ex) > 1 and len(st) > 1:
        stat, p, _ = ttest_ind(ex, st, usevar="unequal")
        out.append(
            (
                "last change before exit - same-year change of staying firms",
                "退出前最后一期变化 − 同年留存企业的变化",
                float(ex.mean() - st.mean()),
                float(stat),
                float(p),
            )
        )
    return pd.DataFrame(
        out, columns=["test", "test_zh", "difference", "statistic", "p_value"]
    )


def _decide(table: pd.DataFrame, tests: pd.DataFrame, alp: float) -> Attrition:
    def row(prefix):
        hit = tests.loc[tests["test"].str.startswith(prefix)]
        return hit.iloc[0] if len(hit) else None

    shock = row("last change")
    level = row("first observed")
    status = row("exit rate")
    exit_zh = "；".join(
        f"{r['test_zh']} {r['difference']:+.3f}（p = {r['p_value']:.3g}）"
        for _, r in tests.iterrows()
    )
    exit_en = "; ".join(
        f"{r['test']} {r['difference']:+.3f} (p = {r['p_value']:.3g})"
        for _, r in tests.iterrows()
    )
    if shock is not None and shock["p_value"] < alp and shock["difference"] < 0:
        return Attrition(
            balanced=False,
            table=table,
            tests=tests,
            estimator="repeated_cross_section",
            panel_mode="repeated_cross_section",
            reason_zh=(
                "面板不平衡，且企业多在结果变差后退出（" + exit_zh + "）。只用前后两期"
                "都在的企业做企业内差分会按结果变化挑选样本，故报告重复截面估计量"
                "（R did 对不平衡面板的做法），它使用每期所有在册企业。"
            ),
            reason_en=(
                "unbalanced panel with firms leaving after a bad change ("
                + exit_en
                + "); within-firm differences of the firms that stay would select on "
                "the changes compared, so the repeated-cross-section estimator (R "
                "did's treatment of unbalanced panels) is reported."
            ),
            alp=alp,
        )
    selective = [r for r in (status, level) if r is not None and r["p_value"] < alp]
    why_zh = (
        "进入退出与资助状态或处理前结果水平有关，会改变各期样本构成而使重复截面估计有偏；"
        if selective
        else "进入退出与资助状态、处理前结果及结果变化均无显著关系；"
    )
    why_en = (
        "entry and exit relate to funding status or the pre-period outcome level, "
        "which shifts the period composition and biases repeated cross sections; "
        if selective
        else "entry and exit show no relation to funding, the pre-period outcome or "
        "outcome changes; "
    )
    return Attrition(
        balanced=False,
        table=table,
        tests=tests,
        estimator="panel",
        panel_mode="balanced_pairs",
        reason_zh=(
            "面板不平衡（" + exit_zh + "）。" + why_zh + "企业内差分消除企业固定特征，"
            "故报告面板估计量（每个 ATT(g,t) 使用两期均被观测的企业）。"
        ),
        reason_en=(
            "unbalanced panel (" + exit_en + "). " + why_en + "within-firm "
            "differencing removes fixed firm characteristics, so the panel estimator "
            "(firms observed in both periods of each ATT(g, t)) is reported."
        ),
        alp=alp,
    )
