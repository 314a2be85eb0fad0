"""Computed checklist rules for qualitative indicators (domain-spec §3.6, §6).

A rule takes the evaluation context and the item's ``params`` from the targets file
and returns a :class:`Check`: ``x ∈ {0, 0.5, 1}`` with a Chinese evidence sentence
and the rows it looked at, or ``x = None`` when the data needed is not there (the
item then needs an assessment).  The registry :data:`RULES` maps the names used in
the targets YAML to these functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Check:
    """Result of one checklist item."""

    x: float | None
    evidence: str
    rows: pd.DataFrame | None = None


def _types(params) -> list[str]:
    t = params.get("types", [])
    return [t] if isinstance(t, str) else list(t)


def _year_of(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, errors="coerce").dt.year


def _bool(s: pd.Series) -> pd.Series:
    return s.astype("boolean").fillna(False).astype(bool)


def no_events(ctx, *, types, substantiated: bool = False) -> Check:
    """No event of ``types`` dated in the year in ``complaints_audit`` (查实 only if asked)."""
    t = ctx.table("complaints_audit")
    if t is None:
        return Check(None, "未提供投诉与审计台账 complaints_audit not provided")
    kinds = _types({"types": types})
    m = t["type"].astype("str").isin(kinds) & (_year_of(t["date"]) == ctx.year)
    if substantiated:
        m &= _bool(t["substantiated"])
    rows = t.loc[m]
    what = "、".join(kinds) + ("（查实）" if substantiated else "")
    if rows.empty:
        return Check(1.0, f"{ctx.year}年无{what}事项", rows)
    return Check(0.0, f"{ctx.year}年有{len(rows)}件{what}事项", rows)


def no_clawback(ctx) -> Check:
    """No approved award of the batch year was clawed back (status or flag)."""
    a = ctx.batch_awards(statuses=(*ctx.statuses, "clawed_back"))
    m = a["status"].astype("str") == "clawed_back"
    if "clawback" in a.columns:
        m |= _bool(a["clawback"])
    rows = a.loc[m]
    if rows.empty:
        return Check(1.0, f"{ctx.year}年批次无追回资金的项目", rows)
    return Check(0.0, f"{ctx.year}年批次有{len(rows)}个项目被追回资金", rows)


def all_awards_true(ctx, *, column, partial_share: float) -> Check:
    """Every approved award has ``column`` (or all listed columns) true.

    ``x = 1`` if all do, 0.5 if at least ``partial_share`` do [A], else 0.
    """
    cols = [column] if isinstance(column, str) else list(column)
    a = ctx.batch_awards()
    if a.empty:
        return Check(None, "当年无立项项目 no approved awards")
    ok = np.ones(len(a), dtype=bool)
    for c in cols:
        ok &= _bool(a[c]).to_numpy()
    bad = a.loc[~ok]
    if bad.empty:
        return Check(1.0, f"{len(a)}个立项项目全部符合", bad)
    share = 1 - len(bad) / len(a)
    x = 0.5 if share >= partial_share else 0.0
    return Check(x, f"{len(a)}个立项项目中{len(bad)}个不符合（符合率{share:.1%}）", bad)


def offline_diagnoses_at_least(ctx, *, min: int, partial_at: float) -> Check:  # noqa: A002
    """Distinct firms with an offline diagnosis dated in the year ≥ ``min``."""
    d = ctx.table("diagnoses")
    if d is None:
        return Check(None, "未提供诊断台账 diagnoses not provided")
    rows = d.loc[_year_of(d["offline_diag_date"]) == ctx.year]
    n = rows["firm_id"].nunique()
    x = 1.0 if n >= min else (0.5 if n >= partial_at * min else 0.0)
    return Check(x, f"{ctx.year}年线下诊断企业{n}家（目标≥{min}家）", rows)


def recognitions_at_least(ctx, *, min: int, partial_at: float) -> Check:  # noqa: A002
    """Recognitions (smart factories, scenes) in the year ≥ ``min``."""
    r = ctx.table("recognitions")
    if r is None:
        return Check(None, "未提供认定名单 recognitions not provided")
    rows = r.loc[pd.to_numeric(r["year"], errors="coerce") == ctx.year]
    n = len(rows)
    x = 1.0 if n >= min else (0.5 if n >= partial_at * min else 0.0)
    return Check(x, f"{ctx.year}年认定智能工厂/场景{n}个（目标≥{min}个）", rows)


def _share(ctx, column: str, year: int) -> tuple[float, pd.DataFrame]:
    fy = ctx.table("firm_year")
    if fy is None:
        return math.nan, pd.DataFrame()
    rows = fy.loc[
        (pd.to_numeric(fy["year"], errors="coerce") == year)
        & _bool(fy["is_above_scale"])
    ]
    if rows.empty:
        return math.nan, rows
    return float(_bool(rows[column]).mean()), rows


def share_on_path(
    ctx, *, column: str, target: float, target_year: int, base_year: int
) -> Check:
    """Share of 规上 firms with ``column`` true rises and is on the linear path to target.

    Path: ``s_base + (target − s_base)·(Y − base)/(target_year − base)``.
    """
    cur, rows = _share(ctx, column, ctx.year)
    prev, _ = _share(ctx, column, ctx.year - 1)
    base, _ = _share(ctx, column, base_year)
    if math.isnan(cur):
        return Check(None, f"企业面板缺少{ctx.year}年数据 firm panel lacks the year")
    span = max(1, target_year - base_year)
    path = (
        base + (target - base) * (ctx.year - base_year) / span
        if not math.isnan(base)
        else target
    )
    rising = math.isnan(prev) or cur > prev
    on_path = cur >= path - 1e-9
    x = 1.0 if (rising and on_path) else (0.5 if (rising or on_path) else 0.0)
    # the share's name is the KPI's that reports the same column (K5/K6)
    name = next(
        (
            k.zh
            for k in ctx.targets.kpis
            if k.method == "firm_share" and (k.params or {}).get("column") == column
        ),
        "规上企业比例",
    )
    ev = (
        f"{ctx.year}年{name}{cur:.1%}（上年{prev:.1%}），"
        f"按{target_year}年{target:.0%}目标的线性路径应达{path:.1%}"
    )
    return Check(x, ev, rows)


def funded_growth_gap(ctx, *, column: str) -> Check:
    """Growth of ``column`` (Y vs Y−1) of firms funded in Y exceeds that of unfunded firms.

    A descriptive difference in growth rates of the sums, not a causal estimate.
    """
    fy = ctx.table("firm_year")
    if fy is None:
        return Check(None, "未提供企业面板 firm_year not provided")
    first = pd.to_numeric(fy["first_award_year"], errors="coerce").fillna(0)
    yr = pd.to_numeric(fy["year"], errors="coerce")
    treated_ids = set(fy.loc[(first > 0) & (first <= ctx.year), "firm_id"])
    val = pd.to_numeric(fy[column], errors="coerce")
    g = {}
    for label, ids in (("funded", True), ("unfunded", False)):
        m = fy["firm_id"].isin(treated_ids) == ids
        cur = val[m & (yr == ctx.year)].sum()
        prev = val[m & (yr == ctx.year - 1)].sum()
        g[label] = (cur - prev) / prev if prev > 0 else math.nan
    if any(math.isnan(v) for v in g.values()):
        return Check(None, "无法计算投资增速 growth not computable")
    gap = g["funded"] - g["unfunded"]
    x = 1.0 if gap > 0 else 0.0
    ev = (
        f"受资助企业{column}增速{g['funded']:.1%}，未受资助企业{g['unfunded']:.1%}"
        f"（差{gap:+.1%}，描述性比较，非因果估计）"
    )
    return Check(x, ev)


def _docs(ctx):
    return ctx.table("policy_documents")


def document_exists(
    ctx,
    *,
    types,
    valid_through_year: bool = False,
    issued_in_year: bool = False,
    has_doc_no: bool = False,
) -> Check:
    """A policy document of one of ``types`` exists (optionally valid/issued in Y)."""
    d = _docs(ctx)
    if d is None:
        return Check(None, "未提供政策文件清单 policy_documents not provided")
    kinds = _types({"types": types})
    m = d["type"].astype("str").isin(kinds)
    end = pd.Timestamp(ctx.year, 12, 31)
    if valid_through_year:
        vu = pd.to_datetime(d["valid_until"], errors="coerce")
        m &= vu.isna() | (vu >= end)
        m &= pd.to_datetime(d["issue_date"], errors="coerce").fillna(end) <= end
    if issued_in_year:
        m &= _year_of(d["issue_date"]) == ctx.year
    if has_doc_no:
        m &= d["doc_no"].notna() & (d["doc_no"].astype("str").str.strip() != "")
    rows = d.loc[m]
    what = "、".join(kinds)
    if rows.empty:
        return Check(0.0, f"未见{what}类文件", rows)
    titles = "；".join(f"《{t}》" for t in rows["title"].astype("str").head(3))
    return Check(1.0, f"有{what}类文件{len(rows)}件：{titles}", rows)


def documents_all(ctx, *, types) -> Check:
    """Each of ``types`` has at least one document (0.5 if some)."""
    d = _docs(ctx)
    if d is None:
        return Check(None, "未提供政策文件清单 policy_documents not provided")
    kinds = _types({"types": types})
    have = [k for k in kinds if (d["type"].astype("str") == k).any()]
    miss = [k for k in kinds if k not in have]
    x = 1.0 if not miss else (0.5 if have else 0.0)
    ev = "均具备" if not miss else f"缺少：{'、'.join(miss)}"
    return Check(x, f"{'、'.join(kinds)}类文件{ev}", d.loc[d["type"].isin(have)])


def clause_exists(ctx, *, clause: str) -> Check:
    """Some policy document lists ``clause`` in its ``clauses`` (semicolon-separated)."""
    d = _docs(ctx)
    if d is None:
        return Check(None, "未提供政策文件清单 policy_documents not provided")
    cl = d["clauses"].fillna("").astype("str")
    rows = d.loc[
        cl.str.split(r"[;；]").apply(lambda xs: clause in [x.strip() for x in xs])
    ]
    if rows.empty:
        return Check(0.0, f"政策文件中未见“{clause}”条款", rows)
    return Check(1.0, f"{len(rows)}件政策文件含“{clause}”条款", rows)


def disbursed_within_approved(ctx) -> Check:
    """Every award's disbursed amount ≤ approved amount."""
    a = ctx.batch_awards(statuses=(*ctx.statuses, "clawed_back"))
    if a.empty:
        return Check(None, "当年无立项项目 no approved awards")
    bad = a.loc[
        pd.to_numeric(a["disbursed_amount"], errors="coerce").fillna(0)
        > pd.to_numeric(a["approved_amount"], errors="coerce") + 1e-9
    ]
    if bad.empty:
        return Check(1.0, f"{len(a)}个项目拨付金额均未超过核定金额", bad)
    return Check(0.0, f"{len(bad)}个项目拨付金额超过核定金额", bad)


def quantitative_share_at_least(ctx, *, min: float) -> Check:  # noqa: A002
    """Share of target-table indicators that are quantitative ≥ ``min``."""
    inds = [i for i in ctx.targets.indicators if i.id[0] in "COBS"]
    if not inds:
        return Check(None, "无绩效指标")
    share = sum(i.kind == "quantitative" for i in inds) / len(inds)
    x = 1.0 if share >= min else (0.5 if share >= min / 2 else 0.0)
    return Check(
        x, f"申报表{len(inds)}个三级指标中定量指标占{share:.0%}（要求≥{min:.0%}）"
    )


def declared_budget_positive(ctx) -> Check:
    """The declaration's 当年投入资金构成 states a positive budget."""
    lines = ctx.targets.meta.budget_lines
    total = sum(float(b.amount_yuan or 0) for b in lines)
    if total > 0:
        return Check(1.0, f"申报表列明当年预算{total / 1e4:,.2f}万元")
    return Check(0.0, "申报表“当年投入资金构成”预算为0.00元，指标与预算未匹配")


def budget_deviation_within(ctx, *, max: float) -> Check:  # noqa: A002
    """|funds_spent − adjusted_budget| / adjusted_budget ≤ ``max``."""
    b = ctx.budget_row()
    if b is None:
        return Check(None, "未提供当年预算 budget not provided")
    adj = float(b["adjusted_budget"])
    spent = float(b["funds_spent"])
    if not adj > 0:
        return Check(None, "调整后预算为0或缺失")
    dev = abs(spent - adj) / adj
    x = 1.0 if dev <= max else 0.0
    return Check(
        x,
        f"实际支出{spent:,.2f}万元，调整后预算{adj:,.2f}万元，偏差{dev:.1%}"
        f"（允许≤{max:.0%}）",
    )


def top_share_at_most(ctx, *, top: int, max: float) -> Check:  # noqa: A002
    """Share of approved funds going to the ``top`` firms ≤ ``max``."""
    a = ctx.batch_awards()
    if a.empty:
        return Check(None, "当年无立项项目 no approved awards")
    key = a["firm_id"].fillna(a.get("provider_id")).astype("str")
    s = pd.to_numeric(a["approved_amount"], errors="coerce").groupby(key).sum()
    total = s.sum()
    if total <= 0:
        return Check(None, "核定金额合计为0")
    share = float(s.nlargest(top).sum() / total)
    x = 1.0 if share <= max else 0.0
    return Check(x, f"前{top}家受益主体获得资金占{share:.1%}（上限{max:.0%}）")


RULES: dict[str, Callable[..., Check]] = {
    "no_events": no_events,
    "no_clawback": no_clawback,
    "all_awards_true": all_awards_true,
    "offline_diagnoses_at_least": offline_diagnoses_at_least,
    "recognitions_at_least": recognitions_at_least,
    "share_on_path": share_on_path,
    "funded_growth_gap": funded_growth_gap,
    "document_exists": document_exists,
    "documents_all": documents_all,
    "clause_exists": clause_exists,
    "disbursed_within_approved": disbursed_within_approved,
    "quantitative_share_at_least": quantitative_share_at_least,
    "declared_budget_positive": declared_budget_positive,
    "budget_deviation_within": budget_deviation_within,
    "top_share_at_most": top_share_at_most,
}
