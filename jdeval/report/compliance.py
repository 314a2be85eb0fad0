"""Compliance findings, substantiated violations and off-track plan targets as facts.

What an evaluator lists first in 存在的问题: per failed review check of the
award-compliance indicator (its checks are read from the targets file), how many
awards, how much money, in which categories and towns, and the drill-down facts
from which the narrative rules draw a cause (did the awards pass expert review,
was the approved amount cut below the request, is the duplicate inside the
district's own ledger …).  Then substantiated events of the complaints/audit log
linked to the year's awards or dated in the year (up to the reference date), and
the action-plan targets whose linear path the district is off.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "CheckFinding",
    "PlanTarget",
    "Violation",
    "check_findings",
    "plan_targets",
    "violations",
]


@dataclass
class Share:
    """A label and its count (a category or town among the flagged awards)."""

    name: str
    n: int


@dataclass
class CheckFinding:
    """Awards of the year failing one review check of the compliance indicator."""

    code: str  # the check's column, e.g. ``amount_within_cap``
    name_zh: str
    problem_zh: str  # the standard charge when the check fails (targets ``problem``)
    n: int
    n_total: int
    amount: float  # approved amount of the flagged awards (万元)
    categories: list[Share]
    towns: list[Share]
    n_expert_reviewed: int  # of the flagged awards, how many passed expert review
    n_reduced: int  # approved amount below the requested amount
    excess: float  # Σ max(0, approved − cap) (万元)
    n_in_ledger: int  # duplicates: the firm has another award in the ledger
    max_amount: float
    n_small: int  # awards of at most ``small_amount``
    small_amount: float
    indicator: str = ""

    @property
    def category_names(self) -> str:
        return "、".join(s.name for s in self.categories)

    def towns_shown(self, audience: str, min_firms: int) -> str:
        """The towns of the flagged awards a reader may see: in the reviewer edition
        only those with at least ``min_firms`` of them (the tables' disclosure rule),
        so a finding does not place a single project the tables withhold."""
        return "、".join(
            s.name for s in self.towns if audience == "internal" or s.n >= min_firms
        )

    @property
    def top_category(self) -> Share | None:
        return self.categories[0] if self.categories else None


@dataclass
class Violation:
    """A substantiated event of the complaints/audit log."""

    event_type: str
    date: pd.Timestamp
    amount: float | None  # amount recovered (万元), when recorded
    award_batch: int | None
    category: str
    in_year: bool  # dated in the evaluation year
    of_batch: bool  # concerns an award of the evaluation year's batch


@dataclass
class PlanTarget:
    """An action-plan target (a checklist item on a linear path) not on track."""

    item: str
    name_zh: str
    evidence: str
    indicator: str
    indicator_zh: str = ""
    kpi_name: str = ""
    kpi_actual: str = ""
    target: float | None = None
    target_year: int | None = None
    share: float | None = None  # share of 规上 firms in the year
    prev_share: float | None = None  # … in the previous year
    n_firms: int = 0  # 规上 firms of the year
    path: float | None = None  # the linear path's value for the year

    @property
    def gain(self) -> float | None:
        """Change of the share over the year (fraction)."""
        if self.share is None or self.prev_share is None:
            return None
        return self.share - self.prev_share

    def needed_per_year(self, year: int) -> float | None:
        """Yearly gain needed from ``year`` to reach the target by ``target_year``."""
        if self.share is None or self.target is None or not self.target_year:
            return None
        left = self.target_year - year
        return (self.target - self.share) / left if left > 0 else None

    def projected(self, year: int) -> float | None:
        """Share reached by ``target_year`` at this year's pace."""
        if self.gain is None or not self.target_year:
            return None
        return min(1.0, self.share + self.gain * (self.target_year - year))

    def firms_per_year(self, year: int) -> int | None:
        """Firms per year to add for the target (at this year's 规上 count)."""
        n = self.needed_per_year(year)
        return None if n is None else int(round(n * self.n_firms))

    def ended(self, year: int) -> bool:
        """``year`` is the target year or later: the target is missed, not behind."""
        return self.target_year is not None and year >= self.target_year

    @property
    def firms_short(self) -> int | None:
        """规上 firms missing to the target this year (at this year's count)."""
        if self.share is None or self.target is None:
            return None
        return int(round(max(0.0, self.target - self.share) * self.n_firms))


def _bool(s: pd.Series) -> pd.Series:
    # vectorised (a per-value lambda took ~1 s per 100,000 firm-years)
    if s.dtype == bool:
        return s
    if isinstance(s.dtype, pd.BooleanDtype):
        return s.fillna(False).astype(bool)
    text = s.astype("string").str.strip().str.lower()
    return text.isin(["true", "1", "yes", "是"]).fillna(False).astype(bool)


def _shares(values: pd.Series, labels: dict[str, str]) -> list[Share]:
    c = Counter(str(v) for v in values.dropna())
    return [Share(labels.get(k, k), n) for k, n in c.most_common()]


def check_findings(
    rows: pd.DataFrame,
    checks: list[dict],
    awards: pd.DataFrame,
    *,
    indicator: str,
    category_labels: dict[str, str],
    town_labels: dict[str, str],
) -> list[CheckFinding]:
    """One :class:`CheckFinding` per check that some of ``rows`` fail.

    Parameters
    ----------
    rows
        The compliance indicator's drill-down (``Scorecard.drilldown(id)``): the
        awards it counted with the check columns.
    checks
        ``[{column, zh}]`` from the indicator's ``measure.checks`` in the targets.
    awards
        The whole award ledger (to tell duplicates inside it from outside ones).
    """
    out = []
    n_total = len(rows)
    amt = pd.to_numeric(rows.get("approved_amount"), errors="coerce")
    req = pd.to_numeric(rows.get("requested_amount"), errors="coerce")
    cap = pd.to_numeric(rows.get("cap_amount"), errors="coerce")
    # "small" = within the smallest category standard among the flagged awards'
    # own caps: a data-driven notion of a 小额 project, no threshold of ours.
    for chk in checks:
        col = chk["column"]
        if col not in rows:
            continue
        bad = ~_bool(rows[col])
        if not bad.any():
            continue
        b = rows.loc[bad]
        bamt = amt[bad].fillna(0.0)
        bcap = cap[bad]
        small_at = float(bcap.min()) if bcap.notna().any() else float("nan")
        firms = b["firm_id"].dropna().astype(str) if "firm_id" in b else pd.Series()
        ledger = (
            awards.loc[~awards["award_id"].isin(b["award_id"])]
            if "award_id" in awards
            else awards
        )
        in_ledger = int(firms.isin(set(ledger["firm_id"].dropna().astype(str))).sum())
        out.append(
            CheckFinding(
                code=col,
                name_zh=str(chk.get("zh", col)),
                problem_zh=str(chk.get("problem") or f"{chk.get('zh', col)}检查未通过"),
                n=int(bad.sum()),
                n_total=n_total,
                amount=float(bamt.sum()),
                categories=_shares(b.get("category", pd.Series()), category_labels),
                towns=_shares(b.get("town_code", pd.Series()), town_labels),
                n_expert_reviewed=int(_bool(b["expert_review_done"]).sum())
                if "expert_review_done" in b
                else 0,
                n_reduced=int((amt[bad] < req[bad] - 1e-9).sum()),
                excess=float((amt[bad] - cap[bad]).clip(lower=0).fillna(0).sum()),
                n_in_ledger=in_ledger,
                max_amount=float(bamt.max()),
                n_small=int((bamt <= small_at + 1e-9).sum())
                if small_at == small_at
                else 0,
                small_amount=small_at,
                indicator=indicator,
            )
        )
    return out


def violations(
    events: pd.DataFrame | None,
    awards: pd.DataFrame,
    *,
    year: int,
    as_of: pd.Timestamp,
    category_labels: dict[str, str],
) -> list[Violation]:
    """Substantiated events up to ``as_of`` dated in ``year`` or about its batch."""
    if events is None or events.empty or "substantiated" not in events:
        return []
    ev = events.loc[_bool(events["substantiated"])].copy()
    ev["date"] = pd.to_datetime(ev["date"], errors="coerce")
    ev = ev.loc[ev["date"] <= as_of]
    batch = (
        awards.set_index("award_id")["batch_year"]
        if {"award_id", "batch_year"} <= set(awards.columns)
        else pd.Series(dtype=float)
    )
    cat = (
        awards.set_index("award_id")["category"]
        if {"award_id", "category"} <= set(awards.columns)
        else pd.Series(dtype=str)
    )
    out = []
    for r in ev.to_dict("records"):
        aid = r.get("award_id")
        b = batch.get(aid) if aid is not None else None
        b = None if b is None or pd.isna(b) else int(b)
        in_year = r["date"].year == year
        of_batch = b == year
        if not (in_year or of_batch):
            continue
        amount = pd.to_numeric(pd.Series([r.get("amount")]), errors="coerce").iloc[0]
        c = cat.get(aid) if aid is not None else None
        out.append(
            Violation(
                event_type=str(r.get("type", "")),
                date=r["date"],
                amount=None if pd.isna(amount) else float(amount),
                award_batch=b,
                category=category_labels.get(str(c), str(c)) if c is not None else "",
                in_year=in_year,
                of_batch=of_batch,
            )
        )
    return out


@dataclass
class _Kpi:
    name: str
    actual: str
    column: str | None


def _share(fy: pd.DataFrame, column: str, year: int) -> tuple[float | None, int]:
    """Share of the year's 规上 firms with ``column`` true, and their number."""
    if fy.empty or column not in fy or "is_above_scale" not in fy:
        return None, 0
    yr = pd.to_numeric(fy["year"], errors="coerce") == year
    d = fy.loc[yr & _bool(fy["is_above_scale"])]
    if d.empty:
        return None, 0
    return float(_bool(d[column]).mean()), int(len(d))


def plan_targets(
    scorecard: Any, targets: Any, firm_year: pd.DataFrame
) -> list[PlanTarget]:
    """Checklist items on a linear path to an action-plan target that are not met.

    The items are those of the targets file whose rule is ``share_on_path``; the
    matching supplementary KPI (same ``column``) gives the level shown beside it.
    """
    if scorecard is None or targets is None:
        return []
    kpis = getattr(scorecard, "kpis", None)
    kpi_by_col: dict[str, _Kpi] = {}
    for k in getattr(targets, "kpis", []) or []:
        col = (k.params or {}).get("column")
        actual = ""
        if isinstance(kpis, pd.DataFrame) and "id" in kpis:
            r = kpis.loc[kpis["id"] == k.id]
            if len(r) and "actual_display" in r:
                actual = str(r["actual_display"].iloc[0])
        if col:
            kpi_by_col[col] = _Kpi(k.zh, actual, col)
    out = []
    measured = set(getattr(scorecard, "measurements", {}) or {})
    for ind in targets.indicators:
        if ind.id not in measured:
            continue
        items = scorecard.checklist(ind.id)
        if items is None or items.empty:
            continue
        for it in ind.checklist:
            if it.rule != "share_on_path":
                continue
            row = items.loc[items["item"] == it.id]
            if row.empty:
                continue
            x = row["x"].iloc[0]
            if x is None or pd.isna(x) or float(x) >= 1:
                continue
            col = it.params.get("column")
            k = kpi_by_col.get(col)
            year = int(scorecard.year)
            cur, n = _share(firm_year, col, year)
            prev, _ = _share(firm_year, col, year - 1)
            base_year = it.params.get("base_year")
            base, _ = _share(firm_year, col, base_year) if base_year else (None, 0)
            tgt_year, tgt = it.params.get("target_year"), it.params.get("target")
            path = (
                base + (tgt - base) * (year - base_year) / max(1, tgt_year - base_year)
                if base is not None and tgt is not None and tgt_year
                else None
            )
            out.append(
                PlanTarget(
                    item=it.id,
                    name_zh=it.zh,
                    evidence=str(row["evidence"].iloc[0]),
                    indicator=ind.id,
                    indicator_zh=ind.level3.zh,
                    kpi_name=k.name if k else "",
                    kpi_actual=k.actual if k else "",
                    target=it.params.get("target"),
                    target_year=it.params.get("target_year"),
                    share=cur,
                    prev_share=prev,
                    n_firms=n,
                    path=path,
                )
            )
    return out


@dataclass
class ComplianceFacts:
    """All compliance facts of the year (see the module docstring)."""

    checks: list[CheckFinding] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def n_flagged(self) -> int:
        return sum(c.n for c in self.checks)

    @property
    def clawed_back(self) -> float:
        """Amount recovered in the events listed (any batch)."""
        return sum(v.amount or 0.0 for v in self.violations)

    @property
    def clawed_back_batch(self) -> float:
        """… of which for awards of the evaluation year's batch."""
        return sum(v.amount or 0.0 for v in self.violations if v.of_batch)

    @property
    def types_zh(self) -> str:
        """``追回2件、投诉1件`` — the events by type, most frequent first."""
        c = Counter(v.event_type for v in self.violations)
        return "、".join(f"{k}{n}件" for k, n in c.most_common())

    @property
    def material(self) -> bool:
        return bool(self.checks or self.violations)
