"""Robustness battery (稳健性检验) for the staggered DiD estimate of one outcome.

Checks, each a row with an estimate, a verdict and a plain-language sentence in
Chinese and English:

``main``
    The main design: Callaway–Sant'Anna, doubly robust, not-yet-funded controls,
    pre-period covariates, ``simple`` aggregation.
``pretest``
    Wald test that every pre-treatment ATT(g, t) is zero (R did's pre-test).
    Passing does not prove parallel trends; it only fails to contradict them
    (Roth 2022 on the low power of pre-tests).
``placebo``
    Fake treatment ``shift`` years before the real one, using only the years
    before each funded firm's real first award: the estimate should be near 0.
``never_treated``
    Alternative control group: never-funded firms only.
``no_covariates``
    Unconditional parallel trends (no covariates).
``leave_out_<g>``
    The main design without cohort ``g``: no single cohort should drive the result
    (only with two cohorts or more; with one there is nothing left to estimate).
``twfe``
    Static two-way fixed effects. A different estimand under heterogeneous effects
    (Goodman-Bacon 2021): a gap to CS is expected, not a failure.

Verdict ``passed``: for the placebo and pre-test "no significant effect at 5 %";
for the alternatives "95 % CI overlaps the main estimate's CI" — a lenient,
descriptive rule, stated as such in the text.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from jdeval.effects.progress import Progress
from jdeval.effects.results import normal_inference
from jdeval.errors import DataError

__all__ = ["compact_panel", "robustness", "robustness_text"]


def compact_panel(
    panel: pd.DataFrame,
    yname: str,
    columns: list[str] | None = None,
    *,
    return_rows: bool = False,
):
    """The columns the CS estimator needs, firm ids as sorted integer codes.

    Prepared once per outcome and reused by every check (and every heterogeneity
    group): rows with a missing outcome are dropped once; the frame is numeric and
    narrow (no string columns to copy when subsetting); the integer ids are
    non-decreasing, so each estimate skips factorising string ids (its most
    expensive preparation step) and every row subset keeps that order.

    Parameters
    ----------
    panel
        Panel with ``firm_id, year, first_award_year`` and ``yname``.
    yname
        Outcome; rows where it is missing are dropped.
    columns
        Further numeric columns to keep (covariates).
    return_rows
        Also return the positions in ``panel`` of the rows kept, in output order.

    Returns
    -------
    DataFrame, or (DataFrame, ndarray)
    """
    cols = ["year", "first_award_year", yname, *(columns or [])]
    cols = list(dict.fromkeys(c for c in cols if c != "firm_id"))
    rows = np.flatnonzero(panel[yname].notna().to_numpy())
    codes = pd.factorize(panel["firm_id"])[0][rows]
    years = panel["year"].to_numpy()[rows]
    if len(rows) > 1 and not (
        (np.diff(codes) >= 0).all()
        and ((np.diff(years) > 0) | (np.diff(codes) > 0)).all()
    ):
        order = np.lexsort((years, codes))
        rows, codes = rows[order], codes[order]
    # first-appearance codes in this order are non-decreasing: renumber by order
    change = np.r_[True, codes[1:] != codes[:-1]] if len(codes) else codes
    out = pd.DataFrame({"firm_id": np.cumsum(change) - 1})
    for c in cols:
        out[c] = panel[c].to_numpy()[rows]
    return (out, rows) if return_rows else out


def _cs(panel, yname, *, covariates, control_group, alp):
    """CS ATT(g,t) quietly: doubly robust with ``covariates``, else regression."""
    from jdeval.effects.did import att_gt

    kwargs = dict(
        yname=yname,
        tname="year",
        idname="firm_id",
        gname="first_award_year",
        control_group=control_group,
        alp=alp,
        allow_unbalanced_panel=True,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if covariates:
            return att_gt(
                panel,
                xformla="~ " + " + ".join(covariates),
                est_method="dr",
                **kwargs,
            )
        return att_gt(panel, est_method="reg", **kwargs)


def _simple(d, yname, *, covariates, control_group, alp) -> tuple[float, float]:
    """Simple-aggregated CS estimate and SE; ``nan`` if it cannot be estimated.

    A check that cannot be estimated on its subsample (too few pre-periods, no
    control left) is a result of the battery ("could not be estimated"), not a
    failure of the build.
    """
    try:
        a = _cs(
            d, yname, covariates=covariates, control_group=control_group, alp=alp
        ).aggregate(type="simple")
    except (DataError, ValueError, np.linalg.LinAlgError):
        return math.nan, math.nan
    return a.overall_att, a.overall_se


def _row(check, zh, en, est, se, alp):
    return {
        "check": check,
        "check_zh": zh,
        "check_en": en,
        **normal_inference(est, se, alp),
    }


def _fmt(x: float) -> str:
    return "—" if not np.isfinite(x) else f"{x:.4f}"


def robustness(
    panel: pd.DataFrame,
    *,
    yname: str,
    covariates: list[str] | None = None,
    placebo_shift: int = 2,
    alp: float = 0.05,
    main_result=None,
    twfe_result=None,
) -> pd.DataFrame:
    """Run the robustness battery for one outcome.

    Parameters
    ----------
    panel
        Panel from :func:`jdeval.effects.outcomes.build_panel` (columns ``firm_id,
        year, first_award_year`` and ``yname``).
    yname
        Outcome.
    covariates
        Pre-period covariates of the main design.
    placebo_shift
        Years by which cohorts are moved back for the placebo.
    alp
        Significance level.
    main_result, twfe_result
        Already computed main :class:`~jdeval.effects.did.AttGtResult` and
        :func:`~jdeval.effects._twfe.twfe` result on the same data (saves time).

    Returns
    -------
    DataFrame
        ``check, check_zh, check_en, estimate, se, ci_low, ci_high, p_value,
        passed, text_zh, text_en`` (plus ``statistic, df`` for the pre-test).
    """
    from jdeval.effects._twfe import twfe

    covariates = list(covariates or [])
    d = compact_panel(panel, yname, covariates)
    g = d["first_award_year"].to_numpy()
    cohorts = sorted(set(g[g > 0].tolist()))
    bar = Progress("robustness", total=5 + len(cohorts) * (len(cohorts) > 1))
    rows = []
    main_res = main_result or _cs(
        d, yname, covariates=covariates, control_group="notyettreated", alp=alp
    )
    main = main_res.aggregate(type="simple")
    m_est, m_se = main.overall_att, main.overall_se
    r = _row(
        "main",
        "主估计（CS 双重稳健，尚未受资助对照）",
        "main estimate (CS doubly robust, not-yet-funded controls)",
        m_est,
        m_se,
        alp,
    )
    r["passed"] = True
    r["text_zh"] = (
        f"主估计：受资助企业的平均效应为 {_fmt(m_est)}（标准误 {_fmt(m_se)}，"
        f"95% 置信区间 [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}]）。"
    )
    r["text_en"] = (
        f"Main estimate: average effect on funded firms {_fmt(m_est)} "
        f"(SE {_fmt(m_se)}, "
        f"95% CI [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}])."
    )
    rows.append(r)
    lo_m, hi_m = r["ci_low"], r["ci_high"]

    # pre-trend test
    pt = main_res.pretest()
    r = _row("pretest", "处理前趋势检验", "pre-trend test", math.nan, math.nan, alp)
    r.update(statistic=pt.statistic, df=pt.df, p_value=pt.p_value)
    ok = bool(np.isfinite(pt.p_value) and pt.p_value >= 0.05)
    r["passed"] = ok if np.isfinite(pt.p_value) else None
    if not np.isfinite(pt.p_value):
        r["text_zh"] = "处理前趋势检验无法计算（处理前时期不足或协方差奇异）。"
        r["text_en"] = "The pre-trend test could not be computed."
    elif ok:
        r["text_zh"] = (
            f"受资助前，受资助与对照企业的变化趋势没有显著差异（p = {pt.p_value:.3f}），"
            "数据未否定平行趋势假设；但该检验功效有限，不能证明假设成立。"
        )
        r["text_en"] = (
            f"Before funding, funded and comparison firms moved alike (p = "
            f"{pt.p_value:.3f}): the data do not contradict parallel trends, though "
            "the test has limited power and cannot prove them."
        )
    else:
        r["text_zh"] = (
            f"受资助前两组企业的变化趋势已有显著差异（p = {pt.p_value:.3f}），"
            "平行趋势假设存疑，效应估计需谨慎解读。"
        )
        r["text_en"] = (
            f"Funded and comparison firms already diverged before funding (p = "
            f"{pt.p_value:.3f}): parallel trends are doubtful; read the effect with "
            "caution."
        )
    rows.append(r)

    bar.mark("main_pretest", "主估计与处理前趋势检验", outcome=yname)

    # placebo: fake cohorts shifted back, real post-treatment years removed
    pre_only = d.loc[(g == 0) | (d["year"].to_numpy() < g)].copy()
    fake = np.where(
        pre_only["first_award_year"] > 0,
        pre_only["first_award_year"] - placebo_shift,
        0,
    )
    pre_only["first_award_year"] = fake
    p_est, p_se = _simple(
        pre_only, yname, covariates=covariates, control_group="nevertreated", alp=alp
    )
    bar.mark("placebo", "安慰剂检验", outcome=yname)
    r = _row(
        "placebo",
        f"安慰剂检验（资助年份提前 {placebo_shift} 年）",
        f"placebo (award years moved {placebo_shift} years earlier)",
        p_est,
        p_se,
        alp,
    )
    r["passed"] = (
        bool(np.isfinite(r["p_value"]) and r["p_value"] >= 0.05)
        if np.isfinite(p_se)
        else None
    )
    if r["passed"]:
        r["text_zh"] = (
            f"假设资助提前 {placebo_shift} 年发生（只用真实资助前的数据），"
            f"估计“效应”为 {_fmt(p_est)}，与零无显著差异，说明主估计不是由既有差异造成的。"
        )
        r["text_en"] = (
            f"Pretending funding came {placebo_shift} years earlier (pre-funding data "
            f"only) gives a 'effect' of {_fmt(p_est)}, not different from zero: the "
            "main estimate is not an artefact of pre-existing differences."
        )
    elif r["passed"] is None:
        r["text_zh"] = "安慰剂检验无法计算（资助前年份不足）。"
        r["text_en"] = "The placebo test could not be computed (too few pre-years)."
    else:
        r["text_zh"] = (
            f"安慰剂检验得到显著的虚假“效应” {_fmt(p_est)}（p = {r['p_value']:.3f}），"
            "提示受资助企业在资助前已有不同趋势，主估计可能高估或低估。"
        )
        r["text_en"] = (
            f"The placebo finds a significant spurious 'effect' of {_fmt(p_est)} (p = "
            f"{r['p_value']:.3f}): funded firms trended differently before funding."
        )
    rows.append(r)

    def overlap_row(check, zh, en, est, se):
        r = _row(check, zh, en, est, se, alp)
        ok = bool(np.isfinite(se) and r["ci_low"] <= hi_m and r["ci_high"] >= lo_m)
        r["passed"] = ok if np.isfinite(se) else None
        if r["passed"] is None:
            r["text_zh"] = f"{zh}：无法估计。"
            r["text_en"] = f"{en}: could not be estimated."
        else:
            r["text_zh"] = f"{zh}：估计为 {_fmt(est)}，" + (
                "置信区间与主估计重叠，结论一致。"
                if ok
                else "置信区间与主估计不重叠，结论对该设定敏感。"
            )
            r["text_en"] = f"{en}: {_fmt(est)}; " + (
                "its CI overlaps the main one: consistent."
                if ok
                else "its CI does not overlap the main one: sensitive to this choice."
            )
        return r

    for check, zh, en, cg, cov in (
        (
            "never_treated",
            "对照组改为从未受资助企业",
            "never-funded firms as controls",
            "nevertreated",
            covariates,
        ),
        ("no_covariates", "不控制协变量", "no covariates", "notyettreated", []),
    ):
        est, se = _simple(d, yname, covariates=cov, control_group=cg, alp=alp)
        rows.append(overlap_row(check, zh, en, est, se))
        bar.mark(check, zh, outcome=yname)

    # leaving one batch out needs another treated batch: in the policy's first
    # year (one batch) there is nothing to compare, and no row is shown
    for cohort in cohorts if len(cohorts) > 1 else []:
        sub = d.loc[d["first_award_year"].to_numpy() != cohort]
        est, se = _simple(
            sub, yname, covariates=covariates, control_group="notyettreated", alp=alp
        )
        zh = f"剔除 {cohort} 年批次"
        en = f"leave out the {cohort} cohort"
        rows.append(overlap_row(f"leave_out_{cohort}", zh, en, est, se))
        bar.mark(f"leave_out_{cohort}", zh, outcome=yname)

    tw = twfe_result or twfe(
        d,
        yname=yname,
        idname="firm_id",
        tname="year",
        gname="first_award_year",
        alp=alp,
    )
    r = _row(
        "twfe",
        "双向固定效应（TWFE）对比",
        "two-way fixed effects (TWFE) comparison",
        tw.overall_att,
        tw.overall_se,
        alp,
    )
    bar.mark("twfe", "双向固定效应对比", outcome=yname)
    r["passed"] = None
    r["text_zh"] = (
        f"传统双向固定效应估计为 {_fmt(tw.overall_att)}，与主估计相差 "
        f"{_fmt(tw.overall_att - m_est)}。效应随批次和时间变化时两者估计的对象不同"
        "（TWFE 的权重可能为负），差异本身不说明主估计有误。"
    )
    r["text_en"] = (
        f"The conventional TWFE estimate is {_fmt(tw.overall_att)}, "
        f"{_fmt(tw.overall_att - m_est)} from the main estimate. With effects varying "
        "by cohort and time the two target different quantities (TWFE weights can be "
        "negative); the gap alone does not mean the main estimate is wrong."
    )
    rows.append(r)
    out = pd.DataFrame(rows)
    out.insert(0, "outcome", yname)
    return out


def robustness_text(table: pd.DataFrame, lang: str = "zh") -> str:
    """Join the plain-language sentences of a robustness table into a paragraph."""
    col = "text_zh" if lang == "zh" else "text_en"
    return ("" if lang == "zh" else " ").join(table[col].astype(str).tolist())
