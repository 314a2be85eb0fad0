"""Crafted-data disclosure corpus: synthetic data with planted confidential figures.

:func:`make` starts from :func:`jdeval.data.synthesize` (a small firm count, for
speed) and plants, in the 2024 batch unless said otherwise:

``loan_interest``
    the 专项贷款贴息 category of exactly 3 firms, 96.43 + 1.11 + 1.22 万元
    (the category total 98.76 is dominated by one firm);
``lone_batch``
    a batch (2022) with one award of 18.76 万元;
``lone_town``
    a town (华亭镇) with a single beneficiary (场景, 23.47 万元);
``two_firms_three_awards``
    the 标识解析 category with 3 awards of 2 firms (12.34 + 13.57, 14.68);
``platform_by_mean``
    the 工业互联网平台 category of 2 firms (150.37 + 180.29 万元) beside a
    服务商 category of 5 small awards (4.11 … 4.68 万元), the smallest category
    and so the complementary cell: the 服务商 cost-standard indicator prints
    "5/5项≤50万元；均值…" and the 摘要 "服务机构5家", a count × mean that
    would give the withheld total and, with 表1's margin, the platforms';
and keeps the reviewer annex list (one row per award) that could recover counts.

:data:`CASES` lists every confidential amount, count and category planted; the
tests check each against the whole reviewer edition and against the internal one
(positive control).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pandas as pd

YEAR = 2024
LONE_TOWN = "HT"
LONE_TOWN_ZH = "华亭镇"


@dataclass(frozen=True)
class Case:
    """One planted confidential figure."""

    plant: str
    kind: str  # amount | count | category
    value: float | str
    label: str  # catalogue label in jdeval.report.gate ("" = found by value)


CASES: tuple[Case, ...] = (
    Case("loan_interest", "amount", 96.43, ""),  # the dominant firm's award
    Case("loan_interest", "amount", 98.76, ""),  # the dominated category total
    Case("lone_batch", "amount", 18.76, ""),
    Case("lone_batch", "count", 1, "2022批次"),
    Case("lone_town", "amount", 23.47, ""),
    Case("lone_town", "count", 1, f"{YEAR}年{LONE_TOWN_ZH}"),
    Case("lone_town", "category", "SCENE", LONE_TOWN_ZH),
    Case("two_firms_three_awards", "amount", 40.59, ""),
    Case("two_firms_three_awards", "amount", 12.34, ""),  # one of its awards
    Case("two_firms_three_awards", "amount", 14.68, ""),
    Case("two_firms_three_awards", "count", 2, f"{YEAR}年工业互联网标识解析"),
    Case("platform_by_mean", "amount", 330.66, ""),
    Case("platform_by_mean", "amount", 21.93, ""),  # the 服务商 total
    Case("platform_by_mean", "count", 2, f"{YEAR}年工业互联网平台"),
)
PROVIDER_AMOUNTS = (4.11, 4.27, 4.35, 4.52, 4.68)


def _rows(tmpl: pd.DataFrame, specs: list[dict]) -> pd.DataFrame:
    out = []
    for spec in specs:
        r = tmpl.copy()
        for k, v in spec.items():
            r[k] = v
        out.append(r)
    return pd.concat(out, ignore_index=True)


def make(tmp, firms: int = 300):
    """The crafted :class:`~jdeval.data.Dataset` (data written under ``tmp``)."""
    from jdeval.data import synthesize

    ds = synthesize(tmp, firms=firms)
    aw, fm = ds.awards, ds.firms
    labels = _category_names()
    y = (aw["batch_year"] == YEAR) & aw["status"].isin(["approved", "disbursed"])
    drop = y & (
        aw["category"].isin(["LOAN_INTEREST", "ID_RESOLUTION", "IIP_PLATFORM"])
        | (aw["town_code"] == LONE_TOWN)
    )
    aw = aw.loc[~drop & (aw["batch_year"] != 2022)]
    tmpl = aw.loc[y & (aw["beneficiary_type"] == "enterprise")].iloc[[0]]
    used = set(aw["firm_id"].dropna())
    pool = [f for f in fm["firm_id"] if f not in used]
    town_of = fm.set_index("firm_id")["town_code"]
    lone = next(f for f in pool if town_of[f] == LONE_TOWN)
    others = [f for f in pool if town_of[f] != LONE_TOWN and f != lone]
    li, idr, batch, iip = others[:3], others[3:5], others[5], others[6:8]
    n = iter(range(1, 100))

    def spec(firm, cat, amt, **kw):
        return {
            "award_id": f"AZ{next(n):05d}",
            "firm_id": firm,
            "town_code": town_of[firm],
            "category": cat,
            "approved_amount": amt,
            "disbursed_amount": amt,
            "requested_amount": amt,
            "cap_amount": 100.0,
            "eligible_cost": amt * 2,
            "project_total_investment": amt * 4,
            "amount_within_cap": True,
            "project_name": f"{labels.get(cat, cat)}项目",
            **kw,
        }

    specs = [
        spec(li[0], "LOAN_INTEREST", 96.43),
        spec(li[1], "LOAN_INTEREST", 1.11),
        spec(li[2], "LOAN_INTEREST", 1.22),
        spec(lone, "SCENE", 23.47),
        spec(idr[0], "ID_RESOLUTION", 12.34),
        spec(idr[0], "ID_RESOLUTION", 13.57),
        spec(idr[1], "ID_RESOLUTION", 14.68),
        spec(iip[0], "IIP_PLATFORM", 150.37, cap_amount=200.0),
        spec(iip[1], "IIP_PLATFORM", 180.29, cap_amount=200.0),
    ]
    prov = aw.index[y.reindex(aw.index) & (aw["category"] == "PROVIDER")]
    assert len(prov) == len(PROVIDER_AMOUNTS), "the synthetic batch changed"
    aw = aw.copy()
    for c in ("approved_amount", "disbursed_amount", "requested_amount"):
        aw.loc[prov, c] = PROVIDER_AMOUNTS
    b22 = spec(batch, "DIAG", 18.76, batch_year=2022)
    for c in (
        "application_date",
        "review_date",
        "publicity_start",
        "publicity_end",
        "approval_date",
        "disbursement_date",
    ):
        if pd.notna(tmpl[c].iloc[0]):
            b22[c] = tmpl[c].iloc[0] - pd.DateOffset(years=2)
    aw = pd.concat([aw, _rows(tmpl, specs), _rows(tmpl, [b22])], ignore_index=True)
    ind = fm.set_index("firm_id")["industry_div"]
    aw["industry_div"] = aw["firm_id"].map(ind).fillna(aw["industry_div"])
    return dataclasses.replace(ds, tables={**ds.tables, "awards": aw})


def _category_names() -> dict[str, str]:
    from jdeval.data.contract import get_contract

    return {k: str(v.get("zh", k)) for k, v in get_contract().categories.items()}
