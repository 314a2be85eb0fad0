"""Everything the report needs about the policy's effects, in one call.

:func:`policy_effects` builds the analysis panel (:mod:`jdeval.effects.outcomes`),
estimates TFP (ACF, :mod:`jdeval.effects.productivity`) and, for each outcome:

* the **main design**: Callaway & Sant'Anna (2021) doubly robust DiD with
  not-yet-funded firms as controls and pre-period (2022) covariates
  (:data:`jdeval.effects.outcomes.COVARIATES`); ``simple`` aggregation for the
  headline, ``dynamic`` aggregation for the event study;
* comparisons: static TWFE, Sun–Abraham event study, DiD on a propensity-score
  matched sample, and the naive funded-vs-unfunded difference in the evaluation
  year (shown to explain why a simple comparison misleads: funded firms were larger
  and more digital before the policy);
* the robustness battery (:mod:`jdeval.effects.robustness`) and heterogeneity
  (:mod:`jdeval.effects.heterogeneity`).

Only years up to the evaluation ``year`` are used, so the 2024 report does not use
2025 data; cohorts funded after ``year`` serve as not-yet-funded controls.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special
from threadpoolctl import threadpool_limits

from jdeval.effects.outcomes import COVARIATES, OUTCOMES, build_panel, outcome_label
from jdeval.effects.results import AggregateResult, EffectResult
from jdeval.errors import DataError, ProblemList

__all__ = [
    "PolicyEffects",
    "policy_effects",
    "naive_difference",
    "DESIGNS",
    "HETEROGENEITY_OUTCOMES",
]

#: Designs in :attr:`PolicyEffects.table`: code → (Chinese, English).
DESIGNS = {
    "cs_dr": (
        "多期双重差分（CS 双重稳健，主估计）",
        "staggered DiD (CS doubly robust, main)",
    ),
    "sun_abraham": ("Sun-Abraham 事件研究", "Sun-Abraham event study"),
    "twfe": ("双向固定效应（对比）", "two-way fixed effects (comparison)"),
    "matched_did": ("倾向得分匹配后双重差分", "DiD on the matched sample"),
    "naive": (
        "简单对比（有偏，仅作说明）",
        "naive comparison (biased, for illustration)",
    ),
}

#: Outcomes split by group by default (the policy's direct target and productivity);
#: each adds ~3 s, so the rest are opt-in through ``heterogeneity_outcomes``.
HETEROGENEITY_OUTCOMES = ("digital_inv_share", "tfp")

_LOG_OUTCOMES = {"log_tech_reno_inv", "log_labour_productivity", "tfp"}


def naive_difference(
    panel: pd.DataFrame, *, yname: str, year: int, alp: float = 0.05
) -> EffectResult:
    """Funded minus never-funded mean of ``yname`` in ``year`` (Welch SE).

    This is what a simple before-after-free comparison shows; it mixes the
    policy's effect with pre-existing differences between the firms (selection).
    """
    d = panel.loc[(panel["year"] == year)].dropna(subset=[yname])
    g = d["first_award_year"].to_numpy()
    a = d.loc[(g > 0) & (g <= year), yname].to_numpy(float)
    b = d.loc[g == 0, yname].to_numpy(float)
    est = float(a.mean() - b.mean()) if len(a) and len(b) else math.nan
    se = (
        float(math.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
        if len(a) > 1 and len(b) > 1
        else math.nan
    )
    z = special.ndtri(1 - alp / 2)
    frame = pd.DataFrame(
        {
            "term": ["funded - not funded"],
            "estimate": [est],
            "se": [se],
            "ci_low": [est - z * se],
            "ci_high": [est + z * se],
            "n": [len(a) + len(b)],
        }
    )
    return EffectResult(
        frame=frame,
        overall_att=est,
        overall_se=se,
        estimator="naive difference in means",
        kind="naive",
        n_units=len(a) + len(b),
        se_type="Welch",
        alp=alp,
        outcome=yname,
        notes=[
            "简单对比混合了政策效应与受资助企业原有的差异（规模更大、数字化程度更高），"
            "不能作为政策效应。 / The naive comparison mixes the policy effect with "
            "pre-existing differences of funded firms; it is not the policy effect."
        ],
    )


@dataclass
class PolicyEffects:
    """Result of :func:`policy_effects` (see the module docstring).

    Attributes
    ----------
    year
        Evaluation year.
    table
        ``outcome, outcome_zh, design, design_zh, estimate, se, ci_low, ci_high,
        p_value, n_firms, n_treated`` (one row per outcome × design).
    event_studies
        Outcome → CS dynamic aggregation (:class:`AggregateResult`).
    sun_abraham
        Outcome → Sun–Abraham event study.
    pretests
        Outcome → CS pre-trend Wald test.
    robustness
        Robustness battery for every outcome
        (:func:`jdeval.effects.robustness.robustness`).
    heterogeneity
        Effects by group with sizes and small-group flags.
    matching
        Balance table of the propensity-score matching.
    match_result
        The full :class:`jdeval.effects.matching.MatchResult`.
    tfp
        Production-function elasticities (ACF and FE) as a tidy table.
    production
        The ACF :class:`~jdeval.effects.productivity.ProductionResult`.
    panel
        The analysis panel used.
    notes
        Remarks for the reader, including every sample adjustment the estimators
        warned about (units dropped, small cohorts), per outcome.
    inference
        How the main design's SEs are clustered and why
        (:class:`jdeval.effects.did.InferenceInfo`, ``.reason_zh``).
    overlap
        Propensity-score overlap per cohort of the main design, first outcome
        (``.table``, ``.threshold``, ``.warnings``, ``.plot()``; other outcomes'
        overlap warnings are in ``notes``).
    attrition, attrition_by_outcome
        Entry/exit diagnostic (:class:`jdeval.effects.attrition.Attrition`) of
        the first outcome's sample / of each outcome; its ``panel_mode`` is the
        estimator used by the CS designs, ``.reason_zh`` says why.
    honest
        Outcome → :class:`jdeval.effects.honest.HonestSensitivity`: Rambachan–Roth
        robust CIs of the first-year effect (``.frame`` Δ^RM C-LF by M̄,
        ``.smoothness`` Δ^SD FLCI by M, ``.original``, ``.breakdown_mbar``).
    power
        One row per outcome: ``mde_80`` (= 2.80 · SE), ``slope_80_wald`` /
        ``slope_80_individual`` (linear pre-trend slope the pre-test detects with
        80 % power, Roth 2022), ``pretest_power_at_mde_trend``.
    dose
        :class:`jdeval.effects.dose.DoseResult`: effects by subsidy tercile, linear
        dose slope, additional technology investment (万元) per 万元 of subsidy.
    bacon
        Outcome → :class:`jdeval.effects.bacon.BaconResult` (Goodman-Bacon
        decomposition of the TWFE estimate, ``.forbidden_weight``).
    """

    year: int
    table: pd.DataFrame
    event_studies: dict[str, AggregateResult]
    sun_abraham: dict[str, AggregateResult]
    robustness: pd.DataFrame
    heterogeneity: pd.DataFrame
    matching: pd.DataFrame
    match_result: Any
    tfp: pd.DataFrame
    production: Any
    panel: pd.DataFrame
    pretests: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    honest: dict[str, Any] = field(default_factory=dict)
    power: pd.DataFrame = field(default_factory=pd.DataFrame)
    dose: Any = None
    bacon: dict[str, Any] = field(default_factory=dict)
    inference: Any = None
    overlap: Any = None
    attrition: Any = None
    attrition_by_outcome: dict[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------------- text
    @property
    def main(self) -> pd.DataFrame:
        """Rows of the main design only."""
        return self.table.loc[self.table["design"] == "cs_dr"].reset_index(drop=True)

    def table_zh(self) -> pd.DataFrame:
        """All designs with Chinese headers, rounded for reading (效应估计汇总表)."""
        t = self.table
        return pd.DataFrame(
            {
                "结果变量": t["outcome_zh"],
                "估计方法": t["design_zh"],
                "估计值": t["estimate"].round(4),
                "标准误": t["se"].round(4),
                "95%置信区间": [
                    f"[{lo:.4f}, {hi:.4f}]" for lo, hi in zip(t["ci_low"], t["ci_high"])
                ],
                "p值": t["p_value"].round(4),
                "企业数": t["n_firms"],
                "受资助企业数": t["n_treated"],
            }
        ).set_index(["结果变量", "估计方法"])

    def _sentence(self, row, lang: str) -> str:
        name = row["outcome"]
        est, lo, hi, p = row["estimate"], row["ci_low"], row["ci_high"], row["p_value"]
        sig = np.isfinite(p) and p < 0.05
        if name in _LOG_OUTCOMES:
            pct, plo, phi = (100 * (math.exp(v) - 1) for v in (est, lo, hi))
            num_zh = f"{pct:+.1f}%（95% 置信区间 {plo:+.1f}% 至 {phi:+.1f}%）"
            num_en = f"{pct:+.1f}% (95% CI {plo:+.1f}% to {phi:+.1f}%)"
        elif name in ("digital_inv_share", "investment_rate"):
            e, a, b = 100 * est, 100 * lo, 100 * hi
            num_zh = f"{e:+.2f} 个百分点（95% 置信区间 {a:+.2f} 至 {b:+.2f}）"
            num_en = f"{e:+.2f} percentage points (95% CI {a:+.2f} to {b:+.2f})"
        else:
            num_zh = f"{est:+.4f}（95% 置信区间 {lo:+.4f} 至 {hi:+.4f}）"
            num_en = f"{est:+.4f} (95% CI {lo:+.4f} to {hi:+.4f})"
        if lang == "zh":
            verdict = "统计上显著" if sig else "统计上不显著，不能排除没有效应"
            return f"{row['outcome_zh']}：受资助企业平均变化 {num_zh}，{verdict}。"
        verdict = (
            "statistically significant"
            if sig
            else "not statistically significant; no effect cannot be ruled out"
        )
        return (
            f"{outcome_label(name, 'en')}: funded firms changed by {num_en}, {verdict}."
        )

    @property
    def reading_zh(self) -> str:
        """Plain-language reading of the main estimates (Chinese)."""
        head = (
            f"以尚未受资助企业为对照、控制 2022 年规模与成熟度的多期双重差分估计"
            f"（截至 {self.year} 年）："
        )
        body = "".join(self._sentence(r, "zh") for _, r in self.main.iterrows())
        return head + body

    @property
    def reading_en(self) -> str:
        """Plain-language reading of the main estimates (English)."""
        head = (
            "Staggered DiD with not-yet-funded firms as controls, adjusting for 2022 "
            f"size and maturity (data up to {self.year}): "
        )
        return head + " ".join(self._sentence(r, "en") for _, r in self.main.iterrows())

    @property
    def robustness_text_zh(self) -> str:
        """Plain-language robustness paragraph per outcome (Chinese)."""
        parts = []
        for o, grp in self.robustness.groupby("outcome", sort=False):
            parts.append(
                f"【{outcome_label(o)}】" + "".join(grp["text_zh"].astype(str))
            )
        return "\n".join(parts)

    @property
    def robustness_text_en(self) -> str:
        """Plain-language robustness paragraph per outcome (English)."""
        parts = []
        for o, grp in self.robustness.groupby("outcome", sort=False):
            parts.append(
                f"[{outcome_label(o, 'en')}] " + " ".join(grp["text_en"].astype(str))
            )
        return "\n".join(parts)

    def headline(self) -> dict[str, Any]:
        """JSON-able summary for the index page."""

        def num(x):
            return None if x is None or not np.isfinite(x) else round(float(x), 6)

        est = {}
        for _, r in self.main.iterrows():
            pt = self.pretests.get(r["outcome"])
            est[r["outcome"]] = {
                "label_zh": r["outcome_zh"],
                "estimate": num(r["estimate"]),
                "se": num(r["se"]),
                "ci_low": num(r["ci_low"]),
                "ci_high": num(r["ci_high"]),
                "p_value": num(r["p_value"]),
                "significant": bool(np.isfinite(r["p_value"]) and r["p_value"] < 0.05),
                "pretest_p_value": num(pt.p_value) if pt is not None else None,
                "n_firms": int(r["n_firms"]),
                "n_treated": int(r["n_treated"]),
            }
        return {
            "year": int(self.year),
            "design": DESIGNS["cs_dr"][1],
            "design_zh": DESIGNS["cs_dr"][0],
            "covariates": list(COVARIATES),
            "estimates": est,
            "tfp_elasticities": {
                r["method"] + "_" + r["term"]: num(r["estimate"])
                for _, r in self.tfp.iterrows()
            },
            "reading_zh": self.reading_zh,
            "reading_en": self.reading_en,
        }

    def summary(self) -> str:
        """Readable text (Chinese / English)."""
        cols = ["outcome", "design", "estimate", "se", "ci_low", "ci_high", "p_value"]
        return "\n\n".join(
            [
                self.reading_zh,
                self.reading_en,
                self.table[cols].to_string(index=False, float_format="{:.4f}".format),
            ]
        )


def _row(outcome, design, res, n_firms, n_treated, alp):
    lo, hi = res.overall_ci if np.isfinite(res.overall_se) else (math.nan, math.nan)
    return {
        "outcome": outcome,
        "outcome_zh": outcome_label(outcome),
        "design": design,
        "design_zh": DESIGNS[design][0],
        "estimate": res.overall_att,
        "se": res.overall_se,
        "ci_low": lo,
        "ci_high": hi,
        "p_value": res.overall_p_value,
        "n_firms": n_firms,
        "n_treated": n_treated,
    }


def _outcome_rows(
    panel: pd.DataFrame, outcome: str, covariates: list[str]
) -> pd.DataFrame:
    """The rows with ``outcome`` and the covariates, and only the columns the designs
    read (ids, cohort, covariates, heterogeneity groups): a row subset of the whole
    panel would cost ~0.2 GB per outcome at 200,000 firms."""
    from jdeval.effects.heterogeneity import DIMENSIONS

    used = ["firm_id", "year", "first_award_year", *covariates, *DIMENSIONS, outcome]
    used = [c for c in dict.fromkeys(used) if c in panel.columns]
    return panel[used].dropna(subset=[outcome, *covariates])


def policy_effects(
    ds,
    *,
    year: int,
    outcomes: list[str] | None = None,
    covariates: list[str] | None = None,
    robustness_checks: bool = True,
    heterogeneity_outcomes: list[str] | None = None,
    tfp_bootstrap: int = 0,
    alp: float = 0.05,
) -> PolicyEffects:
    """Estimate the policy's effects for the report of ``year``.

    Parameters
    ----------
    ds
        :class:`jdeval.data.Dataset`.
    year
        Evaluation year; data after it are not used.
    outcomes
        Outcome names (default: all of :data:`jdeval.effects.outcomes.OUTCOMES`).
    covariates
        Pre-period covariates (default :data:`jdeval.effects.outcomes.COVARIATES`).
    robustness_checks
        Run the robustness battery (default True).
    heterogeneity_outcomes
        Outcomes for the heterogeneity table (default
        :data:`HETEROGENEITY_OUTCOMES` among ``outcomes``).
    tfp_bootstrap
        Firm-bootstrap replications for the ACF elasticities' SEs (0 = none;
        each costs ~0.35 s on the default data, so 199 adds about a minute).
    alp
        Significance level.

    Returns
    -------
    PolicyEffects

    Raises
    ------
    DataError
        Missing tables/columns, an unknown outcome, or no funded firm by ``year``.
    """
    from jdeval.effects._event_study import event_study
    from jdeval.effects._twfe import twfe
    from jdeval.effects.attrition import attrition_diagnostic
    from jdeval.effects.did import att_gt
    from jdeval.effects.heterogeneity import heterogeneity
    from jdeval.effects.matching import propensity_match
    from jdeval.effects.productivity import estimate_tfp
    from jdeval.effects.progress import Progress
    from jdeval.effects.robustness import robustness

    outcomes = list(outcomes or OUTCOMES["name"])
    het_outcomes = [
        o for o in outcomes if o in (heterogeneity_outcomes or HETEROGENEITY_OUTCOMES)
    ]
    covariates = list(covariates or COVARIATES)
    problems = ProblemList()
    for o in outcomes:
        if o not in set(OUTCOMES["name"]):
            problems.error(
                "unknown_outcome",
                f"未知的结果变量 {o}，可选：{', '.join(OUTCOMES['name'])}",
                f"unknown outcome {o}; choose from {', '.join(OUTCOMES['name'])}",
                value=o,
            )
    problems.raise_if_errors(DataError, "参数错误 bad arguments")
    bar = Progress("policy_effects", total=2 + 5 * len(outcomes) + len(het_outcomes))
    panel, prod = build_panel(ds, max_year=year, return_production=True)
    bar.mark("panel_tfp", "分析面板与全要素生产率（ACF）")
    if tfp_bootstrap:
        prod = estimate_tfp(panel, method="acf", bootstrap=tfp_bootstrap, seed=0)
    g = panel["first_award_year"].to_numpy()
    if not ((g > 0) & (g <= year)).any():
        problems = ProblemList()
        problems.error(
            "no_treated",
            f"截至 {year} 年没有受资助企业（firm_year.first_award_year），无法估计政策效应",
            f"no firm was funded by {year} (firm_year.first_award_year): no effect to estimate",
            table="firm_year",
            column="first_award_year",
        )
        problems.raise_if_errors(
            DataError, "无法估计政策效应 cannot estimate policy effects"
        )
    notes = []
    if (g > year).any():
        # as of the evaluation year these firms are unfunded: recode so that every
        # design (matching included) treats them alike, as R did does for cohorts
        # after the last period
        panel["first_award_year"] = np.where(g > year, 0, g)
        notes.append(
            f"{year} 年后才受资助的企业在本次评价中视为未受资助（对照） / firms first "
            f"funded after {year} count as unfunded (controls) in this evaluation"
        )
    fe = estimate_tfp(panel, method="fe")
    tfp_table = pd.concat([prod.to_frame(), fe.to_frame()], ignore_index=True)

    # numeric pre-period covariates only: industry dummies do not predict funding
    # here and make the nearest-neighbour match on the score noisier
    match = propensity_match(panel, covariates=covariates)
    matched_ids = set(match.firms.loc[match.firms["matched"], "firm_id"])
    bar.mark("matching", "倾向得分匹配")

    rows, dyn, sa, pretests, rob, het = [], {}, {}, {}, [], []
    # E1: how SEs are clustered, PS overlap and entry/exit (first outcome = main)
    attrition_by, main_fit = {}, {}
    xformla = "~ " + " + ".join(covariates)
    for o in outcomes:
        d = _outcome_rows(panel, o, covariates)
        n_firms = int(d["firm_id"].nunique())
        gd = d["first_award_year"].to_numpy()
        n_treated = int(d.loc[(gd > 0) & (gd <= year), "firm_id"].nunique())
        attrition_by[o] = attrition_diagnostic(
            d, yname=o, tname="year", idname="firm_id", gname="first_award_year"
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = att_gt(
                d,
                yname=o,
                tname="year",
                idname="firm_id",
                gname="first_award_year",
                xformla=xformla,
                control_group="notyettreated",
                est_method="dr",
                alp=alp,
                allow_unbalanced_panel=True,
                panel_mode=attrition_by[o].panel_mode,
            )
            main_fit.setdefault("res", res)
            simple = res.aggregate(type="simple")
            dyn[o] = res.aggregate(type="dynamic")
            pretests[o] = res.pretest()
            rows.append(_row(o, "cs_dr", simple, n_firms, n_treated, alp))
            bar.mark("cs_dr", "多期双重差分主估计", outcome=o)
            sa[o] = event_study(
                d,
                yname=o,
                idname="firm_id",
                tname="year",
                gname="first_award_year",
                estimator="sunab",
                alp=alp,
            )
            rows.append(_row(o, "sun_abraham", sa[o], n_firms, n_treated, alp))
            bar.mark("sun_abraham", "Sun-Abraham 事件研究", outcome=o)
            tw = twfe(
                d,
                yname=o,
                idname="firm_id",
                tname="year",
                gname="first_award_year",
                alp=alp,
            )
            rows.append(_row(o, "twfe", tw, n_firms, n_treated, alp))
            bar.mark("twfe", "双向固定效应", outcome=o)
            dm = d.loc[d["firm_id"].isin(matched_ids)]
            mres = att_gt(
                dm,
                yname=o,
                tname="year",
                idname="firm_id",
                gname="first_award_year",
                control_group="nevertreated",
                est_method="reg",
                alp=alp,
                allow_unbalanced_panel=True,
                panel_mode=attrition_by[o].panel_mode,
            ).aggregate(type="simple")
            n_mt = int(
                dm.loc[dm["first_award_year"].between(1, year), "firm_id"].nunique()
            )
            rows.append(
                _row(o, "matched_did", mres, int(dm["firm_id"].nunique()), n_mt, alp)
            )
            nv = naive_difference(d, yname=o, year=year, alp=alp)
            rows.append(_row(o, "naive", nv, nv.n_units, n_treated, alp))
            bar.mark("matched_did", "匹配样本双重差分与简单对比", outcome=o)
            if robustness_checks:
                rob.append(
                    robustness(
                        d,
                        yname=o,
                        covariates=covariates,
                        alp=alp,
                        main_result=res,
                        twfe_result=tw,
                    )
                )
            bar.mark("robustness", "稳健性检验", outcome=o)
        # sample adjustments of the estimators (not library noise) go to the notes
        for w in caught:
            if issubclass(w.category, DeprecationWarning):
                continue
            text = f"[{outcome_label(o)}] {w.message}"
            if text not in notes:
                notes.append(text)
        if o in het_outcomes:
            h = heterogeneity(
                d,
                yname=o,
                awards=ds.tables.get("awards"),
                covariates=covariates,
                alp=alp,
            )
            het.append(h)
            bar.mark("heterogeneity", "异质性分析", outcome=o)
    het_df = pd.concat(het, ignore_index=True) if het else pd.DataFrame()
    towns = ds.tables.get("towns")
    if len(het_df) and towns is not None and {"town_code", "town_name"} <= set(towns):
        names = dict(
            zip(towns["town_code"].astype(str), towns["town_name"].astype(str))
        )
        is_town = het_df["dimension"] == "town_code"
        het_df.loc[is_town, "group_zh"] = (
            het_df.loc[is_town, "group"].map(names).fillna(het_df.loc[is_town, "group"])
        )
    ev = evidence(
        panel,
        ds,
        year=year,
        outcomes=outcomes,
        covariates=covariates,
        table=rows,
        alp=alp,
    )
    return PolicyEffects(
        year=year,
        table=pd.DataFrame(rows),
        event_studies=dyn,
        sun_abraham=sa,
        robustness=pd.concat(rob, ignore_index=True) if rob else pd.DataFrame(),
        heterogeneity=het_df,
        matching=match.balance,
        match_result=match,
        tfp=tfp_table,
        production=prod,
        panel=panel,
        pretests=pretests,
        notes=notes,
        honest=ev["honest"],
        power=ev["power"],
        dose=ev["dose"],
        bacon=ev["bacon"],
        inference=main_fit["res"].inference if main_fit else None,
        overlap=main_fit["res"].overlap if main_fit else None,
        attrition=attrition_by.get(outcomes[0]),
        attrition_by_outcome=attrition_by,
    )


def evidence(
    panel: pd.DataFrame,
    ds,
    *,
    year: int,
    outcomes: list[str],
    covariates: list[str],
    table: list[dict],
    alp: float = 0.05,
) -> dict[str, Any]:
    """Sensitivity, power, dose and Bacon decomposition for :class:`PolicyEffects`.

    * ``honest``: outcome → :class:`jdeval.effects.honest.HonestSensitivity` of the
      first-year effect (e = 0) from the CS event study with a universal base
      period (R HonestDiD's requirement), Δ^RM C-LF for M̄ = 0, 0.5, 1, 1.5, 2,
      Δ^SD FLCI for M from 0 to the first pre-coefficient's SE, and the breakdown
      M̄ (to 0.05);
    * ``power``: one row per outcome — MDE at 80 % power from the main estimate's
      SE and the pre-trend tests' power against a linear violation (Roth 2022);
    * ``dose``: :class:`jdeval.effects.dose.DoseResult`;
    * ``bacon``: outcome → :class:`jdeval.effects.bacon.BaconResult`.
    """
    with threadpool_limits(1):  # small problems: BLAS threads only add overhead
        return _evidence(panel, ds, year, outcomes, covariates, table, alp)


def _evidence(panel, ds, year, outcomes, covariates, table, alp):
    from jdeval.effects.bacon import bacon_decomposition
    from jdeval.effects.did import att_gt
    from jdeval.effects.dose import DoseResult, dose_response, firm_dose

    main = {r["outcome"]: r for r in table if r["design"] == "cs_dr"}
    xformla = "~ " + " + ".join(covariates)
    honest, power_rows, bacon = {}, [], {}
    for o in outcomes:
        d = _outcome_rows(panel, o, covariates)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sample notes are reported by the main run
            es = att_gt(
                d,
                yname=o,
                tname="year",
                idname="firm_id",
                gname="first_award_year",
                xformla=xformla,
                control_group="notyettreated",
                est_method="dr",
                alp=alp,
                allow_unbalanced_panel=True,
                base_period="universal",
            ).aggregate(type="dynamic", min_e=-5, max_e=3)  # R HonestDiD's CS window
        honest[o] = _honest_one(o, es, alp)
        power_rows.append(_power_row(o, es, main.get(o), alp))
        bacon[o] = bacon_decomposition(
            d, yname=o, idname="firm_id", tname="year", gname="first_award_year"
        )
    awards = ds.tables.get("awards")
    if awards is None or not {"firm_id", "batch_year", "approved_amount"} <= set(
        awards
    ):
        dose = DoseResult(
            available=False, reason_zh="缺少资助明细（awards 表），无法按补贴强度估计"
        )
    else:
        g = panel.drop_duplicates("firm_id").set_index("firm_id")["first_award_year"]
        dose = dose_response(
            panel,
            firm_dose(awards, g),
            outcomes=[o for o in outcomes if o in main],
            year=year,
            alp=alp,
        )
    return {
        "honest": honest,
        "power": pd.DataFrame(power_rows),
        "dose": dose,
        "bacon": bacon,
    }


def _honest_one(outcome: str, es, alp: float):
    from jdeval.effects.honest import (
        HonestSensitivity,
        event_study_inputs,
        honest_did,
        original_ci,
    )

    try:
        b, s, npre, npost = event_study_inputs(es)
    except ValueError as exc:  # the event study cannot support the analysis
        return HonestSensitivity(
            outcome, available=False, reason_zh=str(exc).split(" / ")[0]
        )
    kw = dict(num_pre_periods=npre, num_post_periods=npost, alpha=alp)
    frame = honest_did(b, s, Mbarvec=[0, 0.5, 1, 1.5, 2], **kw)
    return HonestSensitivity(
        outcome,
        frame=frame,
        smoothness=honest_did(
            b, s, type="smoothness", Mvec=np.linspace(0, math.sqrt(s[0, 0]), 5), **kw
        ),
        original=original_ci(b, s, **kw),
        breakdown_mbar=_breakdown(b, s, frame, kw),
        event_time=0,
        num_pre_periods=npre,
        num_post_periods=npost,
    )


def _breakdown(b, s, frame, kw) -> float:
    """Breakdown M̄ to 0.05, bracketed by the M̄ grid already computed."""
    from jdeval.effects.honest import breakdown_value

    excl = ((frame["lb"] > 0) | (frame["ub"] < 0)).to_numpy()
    mb = frame["Mbar"].to_numpy()
    if not excl[0]:
        return math.nan
    if excl.all():
        return breakdown_value(b, s, tol=0.05, **kw)
    j = int(np.argmin(excl))  # first M̄ whose CI contains 0
    return breakdown_value(b, s, tol=0.05, bracket=(mb[j - 1], mb[j]), **kw)


def _power_row(outcome: str, es, main_row, alp: float) -> dict[str, Any]:
    from jdeval.effects.honest import event_study_inputs
    from jdeval.effects.power import mde, pretest_power, slope_for_power

    se = main_row["se"] if main_row else math.nan
    row = {
        "outcome": outcome,
        "outcome_zh": outcome_label(outcome),
        "estimate": main_row["estimate"] if main_row else math.nan,
        "se": se,
        "mde_80": mde(se, alpha=alp, power=0.8),
        "available": True,
        "reason_zh": "",
    }
    try:
        b, s, npre, _ = event_study_inputs(es)
    except ValueError as exc:
        row.update(available=False, reason_zh=str(exc).split(" / ")[0])
        return row
    et = es.frame["event_time"].to_numpy()
    t_pre = et[et < -1].astype(float)
    sp = s[:npre, :npre]
    # joint Wald test (this project's pre-test) and Roth's (2022) "any pre-period
    # coefficient individually significant"
    for test in ("wald", "individual"):
        row[f"slope_80_{test}"] = slope_for_power(
            sp, t_pre, power=0.8, alpha=alp, test=test
        )
    # could the pre-test see a linear trend big enough to fake an effect of MDE size
    # in the first year (bias at e = 0 is slope × 1)?
    row["pretest_power_at_mde_trend"] = pretest_power(
        sp, t_pre, row["mde_80"], alpha=alp
    )
    row["num_pre_periods"] = npre
    return row
