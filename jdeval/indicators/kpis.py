"""Supplementary KPIs K1–K8 (weight 0, reported; domain-spec §4.3, §8)."""

from __future__ import annotations

import math
from collections.abc import Callable

import pandas as pd

from jdeval.indicators.checks import _bool


def offline_diagnoses(ctx, *, min_output: float = 10000) -> tuple[float, str]:
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


def loan_interest(ctx, *, category: str = "LOAN_INTEREST") -> tuple[float, str]:
    a = ctx.batch_awards(category=category)
    n = int(a["firm_id"].nunique())
    amt = float(pd.to_numeric(a["approved_amount"], errors="coerce").sum())
    if n < 3:  # an amount over fewer than 3 firms would disclose them
        return float(n), f"{n}家（贴息金额涉及企业少于3家，不列示）"
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
        f"{100 * share:.1f}%（{int(_bool(rows[column]).sum())}/{len(rows)}家）",
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


def disbursement_days(ctx) -> tuple[float, str]:
    a = ctx.batch_awards()
    appr = pd.to_datetime(a["approval_date"], errors="coerce")
    disb = pd.to_datetime(a["disbursement_date"], errors="coerce")
    disb = disb.where(disb <= ctx.eval_date)
    d = (disb - appr).dt.days.dropna()
    if d.empty:
        return math.nan, "—"
    return float(d.mean()), (
        f"{d.mean():.1f}天（中位数{d.median():.0f}天，P90 {d.quantile(0.9):.0f}天）"
    )


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
        val, disp = KPI_METHODS[k["method"]](ctx, **(k.get("params") or {}))
        rows.append(
            {
                "id": k["id"],
                "name": k.get("zh", ""),
                "name_en": k.get("en", ""),
                "target": k.get("target"),
                "unit": k.get("unit"),
                "actual": val,
                "actual_display": disp,
                "source": k.get("source"),
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
