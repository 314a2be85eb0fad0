"""The edition's distribution tables of approved awards, protected (表1, 附件6).

One home for which rows and dimensions an edition publishes amounts by: the report
renders these tables (:mod:`jdeval.report.outline`), and a page built without the
report (notebook 03's indicator displays) redacts by the same suppression, after
the same edition-wide reconciliation (:func:`withheld`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from jdeval.report import disclosure
from jdeval.report import facts as factsmod

__all__ = ["Protected", "tables", "withheld"]

FIRMS_LABEL = "受益单位数（家）"
VALUE_LABEL = "核定金额（万元）"


@dataclass
class Protected:
    """A protected table with the attributes :func:`disclosure.reconcile` reads."""

    key: str
    data: disclosure.ProtectedTable
    footnote: str = ""

    @property
    def frame(self) -> pd.DataFrame:
        return self.data.frame


def tables(
    ds: Any,
    year: int,
    *,
    statuses,
    audience: str,
    min_firms: int,
    dominance: float | None,
) -> dict[str, disclosure.ProtectedTable]:
    """表1 (by category) and 附件6 (by town, industry, town × category).

    Keys ``categories``, ``by_town``, ``by_industry`` (when the data have
    ``industry_div``) and ``town_by_category``; empty when the year has no
    approved award.  Each table is protected alone; the edition reconciles them.
    """
    a = factsmod.approved(factsmod.table(ds, "awards"), year, statuses)
    if not len(a):
        return {}
    kw = dict(
        firm="beneficiary", audience=audience, min_firms=min_firms, dominance=dominance
    )
    cats = {"category": factsmod.category_labels()}
    towns = factsmod.town_labels(ds)
    out = {
        "categories": _protect(a, "category", cats, "支持类别", **kw),
    }
    ent = a.loc[a["beneficiary"].notna()]
    out["by_town"] = _protect(ent, "town_code", {"town_code": towns}, "街镇", **kw)
    if "industry_div" in ent:
        labels = {"industry_div": factsmod.industry_names()}
        out["by_industry"] = _protect(ent, "industry_div", labels, "行业大类", **kw)
    both = {"town_code": towns, **cats}
    out["town_by_category"] = disclosure.protect(
        ent, ["town_code", "category"], "approved_amount", labels=both, **kw
    )
    out["town_by_category"].frame.index.name = "街镇"
    return out


def _protect(rows, by, labels, index_name, **kw) -> disclosure.ProtectedTable:
    pt = disclosure.protect(
        rows,
        by,
        "approved_amount",
        labels=labels,
        firms_label=FIRMS_LABEL,
        value_label=VALUE_LABEL,
        **kw,
    )
    pt.frame.index.name = index_name
    return pt


def withheld(
    ds: Any, year: int, *, statuses, min_firms: int, dominance: float | None
) -> list[disclosure.ProtectedTable]:
    """The reviewer edition's distribution tables after reconciliation.

    What :func:`jdeval.report.assemble` publishes, for pages that show the same
    aggregates in another form and must withhold the same cells.
    """
    pts = tables(
        ds,
        year,
        statuses=statuses,
        audience="reviewer",
        min_firms=min_firms,
        dominance=dominance,
    )
    tabs = [Protected(k, pt) for k, pt in pts.items()]
    disclosure.reconcile(tabs, min_firms=min_firms, dominance=dominance)
    return [t.data for t in tabs]
