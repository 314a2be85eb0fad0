"""Supplementary KPIs K1–K8 (weight 0, reported; domain-spec §4.3, §8)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from jdeval.indicators.checks import _bool


def offline_diagnoses(ctx, *, min_output: float) -> tuple[float, str]:
    """Firms with an offline diagnosis in Y whose gross output ≥ ``min_output`` 万元."""
    d = ctx.table("diagnoses")
    fy = ctx.table("firm_year")
    if d is None:
        return math.nan, "未提供诊断台账"
    yr = pd.to_datetime(d["offline_diag_date"], errors="coerce").dt.year
    firms = set(d.loc[yr == ctx.year, "firm_id"].dropna())
    n_all = len(firms)
    if fy is None:
        return float(n_all), f"{n_all}家（未核对产值）"
    big = fy.loc[
        (pd.to_numeric(fy["year"], errors="coerce") == ctx.year)
        & (pd.to_numeric(fy["gross_output"], errors="coerce") >= min_output),
        "firm_id",
    ]
    n = len(firms & set(big))
    return float(n), f"{n}家（全部线下诊断{n_all}家）"


def providers_cumulative(ctx) -> tuple[float, str]:
    p = ctx.table("providers")
    if p is None:
        return math.nan, "未提供服务商名单"
    n = int((pd.to_numeric(p["introduced_year"], errors="coerce") <= ctx.year).sum())
    return float(n), f"{n}家"


def recognitions(ctx) -> tuple[float, str]:
    r = ctx.table("recognitions")
    if r is None:
        return math.nan, "未提供认定名单"
    n = int((pd.to_numeric(r["year"], errors="coerce") == ctx.year).sum())
    return float(n), f"{n}个"


def loan_interest(ctx, *, category: str) -> tuple[float, str]:
    a = ctx.batch_awards(category=category)
    n = int(a["firm_id"].nunique())
    amt = float(pd.to_numeric(a["approved_amount"], errors="coerce").sum())
    rule = ctx.policies.disclosure.rule
    if rule.unsafe_rows(a, value="approved_amount"):
        # the amount (and, under the threshold rule, the count) would disclose a firm
        if n < rule.min_firms:
            return float(n), "涉及企业数量较少，按统计披露控制规则不予列示"
        return float(n), f"{n}家（单一企业占比过高，贴息金额不予列示）"
    return float(n), f"{n}家，核定贴息{amt:,.2f}万元"


def firm_share(ctx, *, column: str) -> tuple[float, str]:
    fy = ctx.table("firm_year")
    if fy is None:
        return math.nan, "未提供企业面板"
    rows = fy.loc[
        (pd.to_numeric(fy["year"], errors="coerce") == ctx.year)
        & _bool(fy["is_above_scale"])
    ]
    if rows.empty:
        return math.nan, "无当年规上企业"
    share = float(_bool(rows[column]).mean())
    return (
        100 * share,
        f"{100 * share:.1f}%（{int(_bool(rows[column]).sum()):,}/{len(rows):,}家）",
    )


def leverage(ctx) -> tuple[float, str]:
    a = ctx.batch_awards()
    inv = float(pd.to_numeric(a["project_total_investment"], errors="coerce").sum())
    appr = float(pd.to_numeric(a["approved_amount"], errors="coerce").sum())
    if appr <= 0:
        return math.nan, "—"
    return (
        inv / appr,
        f"1 : {inv / appr:.2f}（总投资{inv:,.2f}万元 / 核定{appr:,.2f}万元）",
    )


@dataclass(frozen=True)
class DisbursementTiming:
    """Days from approval to disbursement of paid awards (domain-spec §3.5, §8).

    Computed and formatted here once: the KPI table (K8), the report's 组织实施
    text and its findings all show :attr:`mean_shown` / :attr:`shown`, so the
    same quantity never appears with two precisions.
    """

    n_disbursed: int
    mean_days: float
    median_days: float
    p90_days: float

    @property
    def mean_shown(self) -> str:
        """``"75.3天"`` (one decimal), or ``"—"`` without a paid award."""
        return "—" if math.isnan(self.mean_days) else f"{self.mean_days:.1f}天"

    @property
    def shown(self) -> str:
        """Mean with its median and 90th percentile (whole days)."""
        if math.isnan(self.mean_days):
            return "—"
        return (
            f"{self.mean_shown}（中位数{self.median_days:.0f}天，"
            f"第90百分位数{self.p90_days:.0f}天）"
        )


def disbursement_timing(awards: pd.DataFrame, eval_date) -> DisbursementTiming:
    """Timing of ``awards`` disbursed on or before ``eval_date`` (评价基准日)."""
    appr = pd.to_datetime(awards["approval_date"], errors="coerce")
    disb = pd.to_datetime(awards["disbursement_date"], errors="coerce")
    disb = disb.where(disb <= pd.Timestamp(eval_date))
    d = (disb - appr).dt.days.dropna()
    if d.empty:
        return DisbursementTiming(0, math.nan, math.nan, math.nan)
    return DisbursementTiming(
        int(d.size), float(d.mean()), float(d.median()), float(d.quantile(0.9))
    )


def disbursement_days(ctx) -> tuple[float, str]:
    """K8 平均发放时长 of the valid approvals of year Y."""
    t = disbursement_timing(ctx.batch_awards(), ctx.eval_date)
    return t.mean_days, t.shown


KPI_METHODS: dict[str, Callable[..., tuple[float, str]]] = {
    "offline_diagnoses": offline_diagnoses,
    "providers_cumulative": providers_cumulative,
    "recognitions": recognitions,
    "loan_interest": loan_interest,
    "firm_share": firm_share,
    "leverage": leverage,
    "disbursement_days": disbursement_days,
}


def compute_kpis(ctx) -> pd.DataFrame:
    """One row per KPI of the targets file: id, name, name_en, target, actual, display."""
    rows = []
    for k in ctx.targets.kpis:
        val, disp = KPI_METHODS[k.method](ctx, **k.params)
        rows.append(
            {
                "id": k.id,
                "name": k.zh,
                "name_en": k.en,
                "target": k.target,
                "unit": k.unit,
                "actual": val,
                "actual_display": disp,
                "source": k.source,
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "id",
            "name",
            "name_en",
            "target",
            "unit",
            "actual",
            "actual_display",
            "source",
        ],
    )
