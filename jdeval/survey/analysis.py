"""Satisfaction survey of funded enterprises (立项企业满意度, domain-spec §3.8, §7.9)."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdeval.survey.likert import (
    LIKERT_ZH,
    cronbach_alpha,
    satisfaction_index,
    top2_rate,
    wilson_ci,
)
from jdeval.survey.population import approved_awards, funded_firms

ITEMS_ZH = {
    "Q0": "总体满意度",
    "Q1": "政策知晓与宣传",
    "Q2": "申报便利性",
    "Q3": "评审公正透明",
    "Q4": "拨付及时性",
    "Q5": "服务商服务质量",
    "Q6": "政策效果",
}
ITEMS_EN = {
    "Q0": "Overall satisfaction",
    "Q1": "Awareness and publicity",
    "Q2": "Ease of application",
    "Q3": "Fair and transparent review",
    "Q4": "Timely payment",
    "Q5": "Service-provider quality",
    "Q6": "Policy effect",
}


@dataclass
class SurveyResult:
    """Result of :func:`analyse`.

    Attributes
    ----------
    index
        综合满意度 (0–100) on the overall item (Q0) if present, else the mean of the
        item indices.
    top2_rate, top2_ci
        满意率 on the same basis and its Wilson 95% interval.
    response_rate
        Responding funded firms / funded firms.
    n_valid
        Valid answers behind ``index`` (one per respondent).
    n_population
        Funded enterprises (立项企业) of the year.
    items
        One row per item: item, item_zh, item_en, n, index, top2_rate, ci_low,
        ci_high, share_5 … share_1.
    alpha
        Cronbach's alpha of Q1–Q6 (nan if not computable).
    low_sample
        ``n_valid < min(min_n, ⌈min_share · N_funded⌉)`` (spec §3.8 validity rule).
    basis
        ``"Q0"`` or ``"mean_of_items"``.
    responses
        The responses counted (the drill-down).
    """

    year: int
    index: float
    top2_rate: float
    top2_ci: tuple[float, float]
    response_rate: float
    n_valid: int
    n_population: int
    n_respondents: int
    items: pd.DataFrame
    alpha: float
    low_sample: bool
    min_valid: int
    basis: str
    points: tuple[float, ...]
    responses: pd.DataFrame = field(repr=False)

    def summary_zh(self) -> str:
        """One Chinese sentence summarising the survey."""
        lo, hi = self.top2_ci
        s = (
            f"{self.year}年向{self.n_population}家立项企业开展满意度调查，回收有效问卷"
            f"{self.n_valid}份（回收率{_pct(self.response_rate)}），综合满意度"
            f"{_num(self.index)}分，满意率{_pct(self.top2_rate)}"
            f"（95%置信区间{_pct(lo)}–{_pct(hi)}）"
        )
        if not math.isnan(self.alpha):
            s += f"，量表信度Cronbach's α={self.alpha:.2f}"
        if self.low_sample:
            s += f"；有效样本少于{self.min_valid}份，结论须谨慎"
        return s + "。"

    def to_dict(self) -> dict:
        return {
            "year": self.year,
            "index": _f(self.index),
            "top2_rate": _f(self.top2_rate),
            "top2_ci": [_f(x) for x in self.top2_ci],
            "response_rate": _f(self.response_rate),
            "n_valid": self.n_valid,
            "n_population": self.n_population,
            "alpha": _f(self.alpha),
            "low_sample": self.low_sample,
            "basis": self.basis,
        }

    def __repr__(self) -> str:
        return (
            f"SurveyResult(year={self.year}, index={_num(self.index)}, "
            f"top2_rate={_pct(self.top2_rate)}, n_valid={self.n_valid}/"
            f"{self.n_population}, alpha={_num(self.alpha)}, "
            f"low_sample={self.low_sample})"
        )

    def items_zh(self) -> pd.DataFrame:
        """Per-item results with Chinese headers, rounded for reading (分题结果)."""
        t = self.items.set_index("item")
        out = pd.DataFrame(
            {
                "题目": t["item_zh"],
                "有效回答": t["n"],
                "满意度指数": t["index"].round(2),
                "满意率": t["top2_rate"].map(_pct),
                "95%置信区间": [
                    f"{_pct(lo)}–{_pct(hi)}"
                    for lo, hi in zip(t["ci_low"], t["ci_high"])
                ],
            },
        )
        out.index.name = "编号"
        for k, zh in LIKERT_ZH.items():
            out[zh] = t[f"share_{k}"].map(_pct)
        return out

    def _repr_html_(self) -> str:
        head = f"<p>{html.escape(self.summary_zh())}</p>"
        return head + self.items_zh().to_html(escape=True)


def _rules(targets):
    """``policies`` of ``targets`` (a Targets, a path, or ``None`` = bundled file)."""
    if targets is not None and hasattr(targets, "policies"):
        return targets.policies
    from jdeval.indicators.targets import load_targets  # same layer; lazy: no cycle

    return load_targets(targets).policies


def _f(x: float) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _num(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:.2f}"


def _pct(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{100 * x:.1f}%"


def survey_frame(ds, *, year: int, statuses: Sequence[str]):
    """Responses of funded enterprises of ``year`` with valid Likert answers.

    A response belongs to the year when its ``award_id`` is an approved award of
    batch ``year``; responses without ``award_id`` count when their firm is funded
    that year.  Returns ``(responses, funded_firm_ids)``.
    """
    awards = ds.tables["awards"]
    resp = ds.tables["survey_responses"]
    funded = funded_firms(awards, year, statuses=statuses)
    appr = approved_awards(
        awards, year, statuses=statuses, beneficiary_type="enterprise"
    )
    award_ids = set(appr["award_id"].astype("str"))
    aid = resp["award_id"].astype("str")
    has_award = resp["award_id"].notna()
    firm_in = resp["firm_id"].astype("str").isin(set(funded))
    keep = (has_award & aid.isin(award_ids)) | (~has_award & firm_in)
    r = resp.loc[keep.fillna(False).astype(bool)].copy()
    r["likert"] = pd.to_numeric(r["likert"], errors="coerce")
    r = r.loc[r["likert"].isin([1, 2, 3, 4, 5])]
    return r, funded


def analyse(
    ds,
    *,
    year: int,
    targets=None,
    points: Sequence[float] | None = None,
    overall_item: str | None = None,
    min_n: int | None = None,
    min_share: float | None = None,
    statuses: Sequence[str] | None = None,
    satisfied_min: int | None = None,
) -> SurveyResult:
    """Analyse the satisfaction survey of the funded enterprises of ``year``.

    Every rule comes from the targets file (``policies.satisfaction`` and
    ``policies.approved_statuses``); an explicit argument overrides it.

    Parameters
    ----------
    ds
        A :class:`jdeval.data.Dataset` (uses ``awards`` and ``survey_responses``).
    year
        Batch year of the awards whose beneficiaries were surveyed.
    targets
        A :class:`~jdeval.indicators.Targets` or a path; ``None`` reads the bundled
        targets file.
    points
        Points of answers 5..1.
    overall_item
        Item used for the headline index; the mean over items if absent.
    min_n, min_share
        Validity rule: low sample if ``n_valid < min(min_n, ⌈min_share·N⌉)``.
    statuses
        Award statuses counted as approved.
    satisfied_min
        Lowest answer counted as satisfied (满意率).
    """
    rules = _rules(targets)
    s = rules.satisfaction
    points = s.points if points is None else points
    overall_item = s.item if overall_item is None else overall_item
    min_n = s.min_n if min_n is None else min_n
    min_share = s.min_share if min_share is None else min_share
    statuses = rules.approved_statuses if statuses is None else statuses
    sat = s.satisfied_min if satisfied_min is None else satisfied_min
    points = tuple(float(p) for p in points)
    r, funded = survey_frame(ds, year=year, statuses=statuses)
    # one answer per respondent and item (the last one if repeated)
    r = r.sort_values(["firm_id", "item_code", "survey_date"]) if len(r) else r
    r = r.drop_duplicates(["firm_id", "item_code"], keep="last")
    rows = []
    for code, g in r.groupby("item_code", sort=True):
        v = g["likert"].to_numpy(dtype=float)
        n = int(v.size)
        k = int((v >= sat).sum())
        lo, hi = wilson_ci(k, n)
        row = {
            "item": code,
            "item_zh": ITEMS_ZH.get(code, code),
            "item_en": ITEMS_EN.get(code, code),
            "n": n,
            "index": satisfaction_index(v, points),
            "top2_rate": top2_rate(v, sat),
            "ci_low": lo,
            "ci_high": hi,
        }
        for lv in (5, 4, 3, 2, 1):
            row[f"share_{lv}"] = float(np.mean(v == lv)) if n else math.nan
        rows.append(row)
    items = pd.DataFrame(
        rows,
        columns=[
            "item",
            "item_zh",
            "item_en",
            "n",
            "index",
            "top2_rate",
            "ci_low",
            "ci_high",
            "share_5",
            "share_4",
            "share_3",
            "share_2",
            "share_1",
        ],
    )
    n_pop = len(funded)
    respondents = r["firm_id"].astype("str").unique()
    n_resp = int(len(set(respondents) & set(funded))) if n_pop else 0
    if overall_item in set(items["item"]):
        q = r.loc[r["item_code"] == overall_item, "likert"].to_numpy(dtype=float)
        basis = overall_item
        index = satisfaction_index(q, points)
        n_valid = int(q.size)
        k = int((q >= sat).sum())
        t2 = top2_rate(q, sat)
    else:
        basis = "mean_of_items"
        index = float(items["index"].mean()) if len(items) else math.nan
        t2 = float(items["top2_rate"].mean()) if len(items) else math.nan
        n_valid = len(respondents)
        k = round(t2 * n_valid) if n_valid else 0
    ci = wilson_ci(k, n_valid)
    wide = (
        r.loc[r["item_code"] != overall_item].pivot_table(
            index="firm_id", columns="item_code", values="likert", aggfunc="last"
        )
        if len(r)
        else pd.DataFrame()
    )
    alpha = cronbach_alpha(wide)
    min_valid = min(int(min_n), math.ceil(min_share * n_pop)) if n_pop else int(min_n)
    return SurveyResult(
        year=year,
        index=index,
        top2_rate=t2,
        top2_ci=ci,
        response_rate=n_resp / n_pop if n_pop else math.nan,
        n_valid=n_valid,
        n_population=n_pop,
        n_respondents=n_resp,
        items=items,
        alpha=alpha,
        low_sample=n_valid < min_valid,
        min_valid=min_valid,
        basis=basis,
        points=points,
        responses=r.reset_index(drop=True),
    )
