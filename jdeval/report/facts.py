"""Evaluation facts, computed once: every count and amount with its definition.

:func:`collect` turns the dataset and the analysis results into one typed
:class:`Facts` object.  The report (HTML and Word), the index page and the
notebooks render from it, so a quantity has one value everywhere.  Where two
definitions of a quantity are both needed, both are fields with their own names
(``awards.n_applications`` 受理申报, ``awards.n_approved`` 核定（有效）,
``awards.n_ever_approved`` 曾核定（含已追回）), and the text names both.

Rules (statuses counted as approved, L_max, grade bands, evidence thresholds,
the grade cap …) are read from the targets file (:mod:`jdeval.indicators.schema`);
none is written here.

``Facts`` also reads like a mapping (``facts["total"]``) for existing callers.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import pandas as pd

from jdeval.indicators.kpis import DisbursementTiming, disbursement_timing
from jdeval.indicators.sdc import Rule
from jdeval.report import formats
from jdeval.report.compliance import (
    ComplianceFacts,
    PlanTarget,
    check_findings,
    plan_targets,
    violations,
)
from jdeval.report.evidence import (
    DesignFact,
    DoseFact,
    EffectFact,
    design_fact,
    dose_fact,
    effect_facts,
)

__all__ = [
    "AwardFacts",
    "BatchFact",
    "BudgetFacts",
    "Facts",
    "IndicatorFact",
    "PaymentFacts",
    "PeriodFacts",
    "PopulationFacts",
    "PreviousFacts",
    "SurveyFacts",
    "approved",
    "category_labels",
    "collect",
    "table",
    "town_labels",
    "zh_text",
]


class _Readable:
    """Mapping-style read access (``obj["name"]``, ``obj.get``) for templates/users."""

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)

    def __contains__(self, key: str) -> bool:
        return hasattr(self, key)


def _num(x: Any) -> float | None:
    if formats.is_missing(x):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def table(ds: Any, name: str) -> pd.DataFrame:
    """``ds.tables[name]`` or an empty frame when the table was not provided."""
    tables = getattr(ds, "tables", None) if ds is not None else None
    if isinstance(tables, Mapping) and name in tables:
        return tables[name]
    return pd.DataFrame()


def _contract():
    from jdeval.data.contract import get_contract

    return get_contract()


def category_labels() -> dict[str, str]:
    """Category code → Chinese name (data contract), with full-width brackets
    (the contract's ``智能制造诊断评估(线下)`` prints as ``…（线下）``)."""
    return {
        k: str(v.get("zh", k)).replace("(", "（").replace(")", "）")
        for k, v in _contract().categories.items()
    }


def industry_names() -> dict[str, str]:
    """Industry division code → "code name" (the district resource file)."""
    from jdeval import resources
    from jdeval.indicators.yamlsource import load_yaml

    p = resources.__path__[0] + "/district.yaml"
    d, _ = load_yaml(p, what_zh="区情资料", what_en="district resource")
    return {str(i["div"]): f"{i['div']} {i['name']}" for i in d.get("industries", [])}


def town_labels(ds: Any) -> dict[str, str]:
    """Town code → town name from ``ds.towns``."""
    t = table(ds, "towns")
    if t.empty or "town_code" not in t or "town_name" not in t:
        return {}
    return dict(zip(t["town_code"].astype(str), t["town_name"].astype(str)))


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
_TAG = re.compile(r"\s*\[(?:A|R|S\d*|SEED)\]\s*")


def zh_text(text: Any) -> str:
    """User-facing Chinese text from a rules/data string.

    Table and column keys (``awards``, ``awards.project_total_investment``) become
    their Chinese names from the data contract, ASCII operators become ``≥ ≤``,
    provenance tags (``[A]``) are dropped, and a parenthesis left empty goes.
    """
    if formats.is_missing(text):
        return ""
    s = str(text).replace(">=", "≥").replace("<=", "≤")
    s = _TAG.sub("", s)
    c = _contract()
    cols = {
        f"{t}.{k}": col.zh
        for t, tb in c.tables.items()
        for k, col in tb.columns.items()
    }

    def sub(m: re.Match) -> str:
        w = m.group(0)
        if w in cols:
            return cols[w]
        if w in c.tables:
            return c.tables[w].zh
        return w

    s = _IDENT.sub(sub, s)
    s = re.sub(r"[（(]\s*[，,、]?\s*[）)]", "", s)
    return s.strip()


def approved(awards: pd.DataFrame, year: int, statuses) -> pd.DataFrame:
    """Awards of batch ``year`` with a status in ``statuses``, plus ``beneficiary``.

    ``beneficiary`` is ``firm_id`` for enterprises and ``provider_id`` for
    providers: the unit whose confidentiality disclosure control protects.
    """
    from jdeval.survey.population import approved_awards

    if awards.empty or "batch_year" not in awards:
        return awards.assign(beneficiary=pd.Series(dtype="str"))
    a = approved_awards(awards, year, statuses=list(statuses))
    firm = a["firm_id"] if "firm_id" in a else pd.Series(pd.NA, index=a.index)
    prov = a["provider_id"] if "provider_id" in a else pd.Series(pd.NA, index=a.index)
    return a.assign(
        beneficiary=firm.astype("object").where(firm.notna(), prov.astype("object"))
    )


# ------------------------------------------------------------------ dataclasses
@dataclass
class IndicatorFact(_Readable):
    """One 三级指标 of the scorecard, with its display values."""

    id: str
    level1: str
    level2: str
    level3: str
    target: str
    actual: float | None
    actual_display: str
    unit: str
    weight: float
    weight_nominal: float
    score: float
    score_rate: float | None
    tier: str
    flags: list[str]
    source: str
    kind: str
    direction: str
    applicable: bool
    achieved: bool
    reasons: list[str] = field(default_factory=list)
    failed_items: list[dict] = field(default_factory=list)
    level1_as_printed: str = ""
    method: str = ""  # measure.method of the targets file
    scoring: str = ""
    target_value: float | None = None  # the scored target, when numeric

    @property
    def failed_rules(self) -> list[str]:
        """Checklist rules of the items not met (``""`` for assessed items)."""
        return [f.get("rule") or "" for f in self.failed_items]

    @property
    def target_raw(self) -> str:  # the name the narrative files use
        return self.target

    @property
    def full_marks(self) -> bool:
        return self.score_rate is not None and self.score_rate >= 1 - 1e-9

    @property
    def score_shown(self) -> str:
        return formats.score(self.score)

    @property
    def weight_shown(self) -> str:
        return formats.score(self.weight)


@dataclass
class AwardFacts(_Readable):
    """Applications and awards of the batch year, each count with its definition.

    ``n_applications`` 受理申报 = every application of the batch;
    ``n_rejected`` 未通过, ``n_withdrawn`` 撤回;
    ``n_ever_approved`` 曾核定 = approved at some point (incl. clawed back);
    ``n_clawed_back`` 已追回;
    ``n_approved`` 核定（有效）= status in ``policies.approved_statuses``;
    ``n_disbursed`` 已拨付 among the valid approvals (up to the reference date).
    Amounts in 万元 on the same definitions.
    """

    n_applications: int = 0
    n_rejected: int = 0
    n_withdrawn: int = 0
    n_ever_approved: int = 0
    n_clawed_back: int = 0
    n_approved: int = 0
    n_disbursed: int = 0
    amount_ever_approved: float = 0.0
    amount_clawed_back: float = 0.0
    amount_approved: float = 0.0
    amount_disbursed: float = 0.0
    investment: float = 0.0
    n_firms: int = 0
    n_providers: int = 0

    @property
    def leverage(self) -> float | None:
        """Gross 撬动比: project investment / approved subsidy (descriptive)."""
        return self.investment / self.amount_approved if self.amount_approved else None

    @property
    def n_beneficiaries(self) -> int:
        return self.n_firms + self.n_providers


@dataclass
class BatchFact(_Readable):
    """One batch year of the policy period: its :class:`AwardFacts` and whether
    they may be published (``shown``: the disclosure rule over its beneficiaries,
    counts and approved amounts; always in the internal edition)."""

    year: int
    awards: AwardFacts
    shown: bool


@dataclass
class PeriodFacts(_Readable):
    """The policy period's batches (the period itself: ``meta.period`` of the
    targets file, its one home; ``end_year`` is read from it).

    ``batches`` are the batch years from the period's start up to the evaluation
    year that have applications; ``n_approved`` and ``amount_approved`` are their
    sums (有效核定, :class:`AwardFacts` definitions); ``n_beneficiaries`` counts
    each unit (enterprise or service provider) once over all these batches.
    ``shown``: the totals may be published — the withheld batches taken together
    are not confidential (else a total less the shown batches would reveal them).
    """

    end_year: int | None = None
    year: int = 0
    batches: list[BatchFact] = field(default_factory=list)
    n_approved: int = 0
    amount_approved: float = 0.0
    n_beneficiaries: int = 0
    shown: bool = True

    @property
    def final(self) -> bool:
        """The evaluation year is the period's last (政策执行期最后一年)."""
        return self.end_year is not None and self.year == self.end_year

    def beyond(self, year: int) -> bool:
        """Year ``year`` lies after the period (the policy has expired by then)."""
        return self.end_year is not None and int(year) > self.end_year


@dataclass
class TownFact(_Readable):
    town_code: str
    town_name: str
    n_firms: int
    n_funded: int
    rate: float | None
    shown: bool
    n_applied: int = 0  # 规上 firms that applied in the batch (any outcome)

    @property
    def apply_rate(self) -> float | None:
        return self.n_applied / self.n_firms if self.n_firms else None

    @property
    def success_rate(self) -> float | None:
        return self.n_funded / self.n_applied if self.n_applied else None


@dataclass
class PopulationFacts(_Readable):
    """Firm populations: the panel (all firms) and the year's 规上 firms."""

    n_firms_panel: int = 0
    n_above_scale: int = 0
    n_funded_above_scale: int = 0
    district_rate: float | None = None
    district_apply_rate: float | None = None
    district_success_rate: float | None = None
    towns: list[TownFact] = field(default_factory=list)
    low_towns: list[TownFact] = field(default_factory=list)


@dataclass
class BudgetFacts(_Readable):
    """The year's budget with the base of each ratio named."""

    original: float | None
    adjusted: float | None
    received: float | None
    spent: float | None
    receipt_rate: float | None
    receipt_base: str
    execution_rate: float | None
    execution_base: str
    spent_minus_disbursed: float | None = None
    explained_by_clawback: bool = False


@dataclass
class PaymentFacts(_Readable):
    """Disbursement timing of the valid approvals (§3.5, §8 平均发放时长)."""

    n_approved: int = 0
    n_disbursed: int = 0
    mean_days: float | None = None
    median_days: float | None = None
    p90_days: float | None = None
    n_over: int = 0
    share_over: float = 0.0
    lmax_days: int = 0
    over_towns: list = field(default_factory=list)
    over_categories: list = field(default_factory=list)

    @property
    def timing(self) -> DisbursementTiming:
        """The days as KPI K8 formats them (``.mean_shown``, ``.shown``)."""
        nan = float("nan")
        return DisbursementTiming(
            self.n_disbursed,
            *(
                nan if v is None else v
                for v in (self.mean_days, self.median_days, self.p90_days)
            ),
        )


@dataclass
class SurveyFacts(_Readable):
    index: float | None
    top2_rate: float | None
    top2_ci: tuple[float | None, float | None]
    response_rate: float | None
    n_valid: int
    n_population: int
    low_sample: bool
    alpha: float | None
    weakest: dict | None


@dataclass
class PreviousFacts(_Readable):
    """The previous batch year re-scored under this year's scheme and targets."""

    year: int
    total: float
    grade: str
    not_applicable: list[str] = field(default_factory=list)  # level3 names


@dataclass
class Facts(_Readable):
    """Everything the report's text, tables and rules refer to (computed once)."""

    year: int
    policy: str
    department: str
    scheme: str
    audience: str
    synthetic: bool
    as_of: _dt.date
    as_of_basis: str
    total: float | None
    grade_scored: str | None
    grade: str | None
    grade_cap_rule: str
    grade_capped: bool
    indicators: list[IndicatorFact]
    awards: AwardFacts
    population: PopulationFacts
    budget: BudgetFacts | None
    payment: PaymentFacts
    survey: SurveyFacts | None
    effects: list[EffectFact]
    dose: DoseFact | None
    compliance: ComplianceFacts
    plan_targets: list[PlanTarget]
    n_data_findings: int
    previous: PreviousFacts | None
    theta_over: float
    params: dict[str, Any] = field(default_factory=dict)
    #: the year of the 绩效目标申报表 (targets file) the indicators are scored with
    targets_year: int | None = None
    #: the scorecard's other warnings, in Chinese (a targets file for another year
    #: is stated by ``targets_year``, in the 前言, not as a warning)
    warnings: list[str] = field(default_factory=list)
    #: clustering, overlap and panel choice of the effect estimates
    design: DesignFact | None = None
    #: the policy period and its batches up to this year
    period: PeriodFacts = field(default_factory=PeriodFacts)

    # ---- derived views used by templates and rules
    @property
    def total_shown(self) -> str:
        return formats.score(self.total)

    @property
    def missed(self) -> list[IndicatorFact]:
        """Scored, applicable indicators not rated 达成 (the tier decides)."""
        return [
            i
            for i in self.indicators
            if i.applicable and i.weight > 0 and not i.achieved
        ]

    @property
    def not_full(self) -> list[IndicatorFact]:
        """Scored indicators below full marks (any tier)."""
        return [
            i
            for i in self.indicators
            if i.applicable and i.weight > 0 and not i.full_marks
        ]

    @property
    def over(self) -> list[IndicatorFact]:
        return [i for i in self.indicators if "over_target" in i.flags]

    @property
    def change_shown(self) -> float | None:
        """Change of the total vs the previous year, from the *shown* totals."""
        if self.previous is None or self.total is None:
            return None
        return round(round(self.total, 2) - round(self.previous.total, 2), 2)

    def headline(self) -> dict[str, Any]:
        """Key figures as display strings (JSON-able) for the index page.

        The strings are formatted here, once, so the index shows exactly what the
        report shows (:mod:`jdeval.report.consistency` checks it).
        """
        a = self.awards
        return {
            "year": self.year,
            "as_of": formats.date_zh(self.as_of),
            "synthetic": self.synthetic,
            "total": self.total_shown,
            "grade": self.grade,
            "grade_scored": self.grade_scored,
            "grade_cap_rule": self.grade_cap_rule,
            "n_applications": a.n_applications,
            "n_ever_approved": a.n_ever_approved,
            "n_clawed_back": a.n_clawed_back,
            "n_approved": a.n_approved,
            "amount_approved": formats.wan(a.amount_approved),
            "amount_disbursed": formats.wan(a.amount_disbursed),
            "n_above_scale": self.population.n_above_scale,
            "compliance": [
                {"problem": c.problem_zh, "n": c.n, "amount": formats.wan(c.amount)}
                for c in self.compliance.checks
            ],
            "violations": self.compliance.types_zh,
            "clawed_back": formats.wan(self.compliance.clawed_back),
            "effects": [
                {"outcome": e.outcome_zh, "shown": e.shown, "strength": e.strength}
                for e in self.effects
            ],
        }

    def indicator(self, ind_id: str) -> IndicatorFact:
        for i in self.indicators:
            if i.id == ind_id:
                return i
        raise KeyError(ind_id)

    def context(self) -> dict[str, Any]:
        """Top-level fields and views as a dict (template context)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        for k in ("missed", "not_full", "over", "total_shown", "change_shown"):
            out[k] = getattr(self, k)
        return out


# ------------------------------------------------------------------ computing
def _indicators(scorecard: Any, targets: Any) -> list[IndicatorFact]:
    if scorecard is None:
        return []
    frame = scorecard.to_frame() if hasattr(scorecard, "to_frame") else scorecard
    from jdeval.indicators import formulas as F

    meas = getattr(scorecard, "measurements", {}) or {}
    out = []
    for r in frame.to_dict("records"):
        flags = [f for f in str(r.get("flags") or "").split(",") if f]
        m = meas.get(r["id"])
        reasons = [zh_text(x) for x in (getattr(m, "reasons", None) or [])]
        rules = {it.id: it.rule or "" for it in targets.indicator(r["id"]).checklist}
        failed = []
        items = getattr(m, "items", None)
        if isinstance(items, pd.DataFrame) and not items.empty:
            for it in items.to_dict("records"):
                x = it.get("x")
                if x is not None and not pd.isna(x) and float(x) < 1:
                    failed.append(
                        {
                            "rule": rules.get(it["item"], ""),
                            "item": it["item"],
                            "zh": zh_text(it.get("zh")),
                            "evidence": zh_text(it.get("evidence")),
                            "x": float(x),
                        }
                    )
        tier = "" if formats.is_missing(r.get("tier")) else str(r["tier"])
        ind = targets.indicator(r["id"])
        out.append(
            IndicatorFact(
                id=str(r["id"]),
                level1=str(r["level1"]),
                level2=str(r["level2"]),
                level3=str(r["level3"]),
                target=formats.target_text(zh_text(r.get("target_raw"))),
                actual=_num(r.get("actual")),
                actual_display=zh_text(r.get("actual_display")),
                unit="" if formats.is_missing(r.get("unit")) else str(r["unit"]),
                weight=_num(r.get("weight")) or 0.0,
                weight_nominal=_num(r.get("weight_nominal")) or 0.0,
                score=_num(r.get("score")) or 0.0,
                score_rate=_num(r.get("score_rate")),
                tier=tier,
                flags=flags,
                source=zh_text(r.get("source")),
                kind=str(r.get("kind") or ""),
                direction=str(r.get("direction") or ""),
                applicable=tier != F.NOT_APPLICABLE,
                achieved=tier == F.ACHIEVED,
                reasons=reasons,
                failed_items=failed,
                level1_as_printed=ind.level1_as_printed or "",
                method=ind.measure.method,
                scoring=ind.scoring,
                target_value=ind.target_value
                if isinstance(ind.target_value, (int, float))
                else None,
            )
        )
    return out


def _awards(awards: pd.DataFrame, year: int, statuses, ever_statuses) -> AwardFacts:
    if awards.empty or "batch_year" not in awards:
        return AwardFacts()
    batch = awards.loc[pd.to_numeric(awards["batch_year"], errors="coerce") == year]
    st = batch["status"].astype(str)
    amt = pd.to_numeric(batch.get("approved_amount"), errors="coerce").fillna(0.0)
    disb = pd.to_numeric(batch.get("disbursed_amount"), errors="coerce").fillna(0.0)
    inv = pd.to_numeric(batch.get("project_total_investment"), errors="coerce")
    valid = st.isin(list(statuses))
    ever = st.isin(list(ever_statuses))
    claw = ever & ~valid
    paid = (
        valid & pd.to_datetime(batch.get("disbursement_date"), errors="coerce").notna()
    )
    ent = batch.get("beneficiary_type", pd.Series("enterprise", index=batch.index))
    return AwardFacts(
        n_applications=int(len(batch)),
        n_rejected=int((st == "rejected").sum()),
        n_withdrawn=int((st == "withdrawn").sum()),
        n_ever_approved=int(ever.sum()),
        n_clawed_back=int(claw.sum()),
        n_approved=int(valid.sum()),
        n_disbursed=int(paid.sum()),
        amount_ever_approved=float(amt[ever].sum()),
        amount_clawed_back=float(amt[claw].sum()),
        amount_approved=float(amt[valid].sum()),
        amount_disbursed=float(disb[valid].sum()),
        investment=float(inv[valid].sum()),
        n_firms=int(batch.loc[valid & (ent == "enterprise"), "firm_id"].nunique())
        if "firm_id" in batch
        else 0,
        n_providers=int(batch.loc[valid, "provider_id"].nunique())
        if "provider_id" in batch
        else 0,
    )


def _period(ds, year, targets, statuses, ever, *, rule: Rule, audience) -> PeriodFacts:
    """The period's batches up to ``year`` (at most its end), each as :func:`_awards`."""
    p = targets.meta.period
    if p is None:
        return PeriodFacts(year=int(year))
    aw = table(ds, "awards")
    batch = pd.to_numeric(aw.get("batch_year", pd.Series(dtype=float)), errors="coerce")
    last = min(int(year), p.end_year)
    years = sorted(
        {int(y) for y in batch.dropna()} & set(range(p.start_year, last + 1))
    )
    batches, withheld, units = [], [], []
    for y in years:
        rows = approved(aw, y, statuses)
        units.append(rows)
        unsafe = audience != "internal" and rule.unsafe_rows(
            rows, firm="beneficiary", value="approved_amount"
        )
        if unsafe:
            withheld.append(rows)
        batches.append(BatchFact(y, _awards(aw, y, statuses, ever), not unsafe))
    held = pd.concat(withheld) if withheld else None
    every = pd.concat(units) if units else None
    return PeriodFacts(
        end_year=p.end_year,
        year=int(year),
        batches=batches,
        n_approved=sum(b.awards.n_approved for b in batches),
        amount_approved=sum(b.awards.amount_approved for b in batches),
        n_beneficiaries=0 if every is None else int(every["beneficiary"].nunique()),
        shown=held is None
        or not rule.unsafe_rows(held, firm="beneficiary", value="approved_amount"),
    )


def _population(
    ds, year, statuses, *, low_ratio, min_firms, audience
) -> PopulationFacts:
    fy, firms = table(ds, "firm_year"), table(ds, "firms")
    out = PopulationFacts(
        n_firms_panel=int(firms["firm_id"].nunique()) if "firm_id" in firms else 0
    )
    if fy.empty or firms.empty or "is_above_scale" not in fy:
        return out
    a = approved(table(ds, "awards"), year, statuses)
    yr = pd.to_numeric(fy["year"], errors="coerce") == year
    scale = fy.loc[yr & fy["is_above_scale"].fillna(False).astype(bool), "firm_id"]
    base = firms.loc[firms["firm_id"].isin(scale), ["firm_id", "town_code"]]
    ent = (
        a.get("beneficiary_type", pd.Series("enterprise", index=a.index))
        == "enterprise"
    )
    funded = (
        set(a.loc[ent, "firm_id"].dropna().astype(str)) if "firm_id" in a else set()
    )
    aw = table(ds, "awards")
    batch = (
        aw.loc[pd.to_numeric(aw.get("batch_year"), errors="coerce") == year]
        if "batch_year" in aw
        else aw
    )
    applied = (
        set(batch["firm_id"].dropna().astype(str)) if "firm_id" in batch else set()
    )
    base = base.assign(
        funded=base["firm_id"].astype(str).isin(funded),
        applied=base["firm_id"].astype(str).isin(applied),
    )
    if base.empty:
        return out
    out.district_apply_rate = float(base["applied"].mean())
    out.district_success_rate = (
        float(base["funded"].sum() / base["applied"].sum())
        if base["applied"].any()
        else None
    )
    names = town_labels(ds)
    district = float(base["funded"].mean())
    out.n_above_scale = int(len(base))
    out.n_funded_above_scale = int(base["funded"].sum())
    out.district_rate = district
    g = base.groupby("town_code", sort=True).agg(
        size=("funded", "size"), funded=("funded", "sum"), applied=("applied", "sum")
    )
    for code, row in g.iterrows():
        n_f, n_fd = int(row["size"]), int(row["funded"])
        rate = n_fd / n_f if n_f else None
        shown = audience == "internal" or n_fd == 0 or n_fd >= min_firms
        t = TownFact(
            str(code),
            names.get(str(code), str(code)),
            n_f,
            n_fd,
            rate,
            shown,
            int(row["applied"]),
        )
        out.towns.append(t)
        if rate is not None and district > 0 and rate < low_ratio * district:
            out.low_towns.append(t)
    return out


def _payment(ds, year, statuses, *, lmax, as_of) -> PaymentFacts:
    a = approved(table(ds, "awards"), year, statuses)
    out = PaymentFacts(n_approved=int(len(a)), lmax_days=int(lmax))
    if a.empty or "approval_date" not in a:
        return out
    end = pd.Timestamp(as_of)
    appr = pd.to_datetime(a["approval_date"], errors="coerce")
    disb = pd.to_datetime(a.get("disbursement_date"), errors="coerce")
    disb = disb.where(disb <= end)
    lag = (disb - appr).dt.days
    age = (end - appr).dt.days
    over = (lag > lmax) | (lag.isna() & (age > lmax))
    t = disbursement_timing(a, end)  # the same computation as KPI K8
    out.n_disbursed = t.n_disbursed
    if t.n_disbursed:
        out.mean_days = t.mean_days
        out.median_days = t.median_days
        out.p90_days = t.p90_days
    out.n_over = int(over.sum())
    out.share_over = float(over.mean())
    tl, cl = town_labels(ds), category_labels()
    o = a.loc[over]
    if "town_code" in o:
        out.over_towns = [
            tl.get(str(k), str(k)) for k in o["town_code"].value_counts().index
        ]
    if "category" in o:
        out.over_categories = [
            cl.get(str(k), str(k)) for k in o["category"].value_counts().index
        ]
    return out


def _budget(
    ds, year, targets, scheme, scorecard, awards: AwardFacts
) -> BudgetFacts | None:
    b = table(ds, "budget")
    if b.empty or "year" not in b:
        return None
    row = b.loc[pd.to_numeric(b["year"], errors="coerce") == year]
    if row.empty:
        return None
    r = row.iloc[0]
    cols = _contract()["budget"].columns
    vals = {
        k: _num(r.get(k))
        for k in ("budget_amount", "adjusted_budget", "funds_received", "funds_spent")
    }

    def ratio(ind_id: str, fallback: tuple[str, str]) -> tuple[float | None, str]:
        """Ratio and its base as the targets file defines the indicator."""
        try:
            p = targets.indicator(ind_id).measure.params
        except (KeyError, AttributeError):
            p = {}
        num = p.get("numerator", fallback[0])
        den = p.get("denominator", fallback[1])
        if isinstance(den, Mapping):
            den = den.get(scheme, next(iter(den.values())))
        n, d = vals.get(num), vals.get(den)
        return (n / d if n is not None and d else None), cols[
            den
        ].zh if den in cols else den

    rec, rec_base = ratio("P1", ("funds_received", "budget_amount"))
    exe, exe_base = ratio("P2", ("funds_spent", "adjusted_budget"))
    diff = (
        vals["funds_spent"] - awards.amount_disbursed
        if vals["funds_spent"] is not None
        else None
    )
    return BudgetFacts(
        original=vals["budget_amount"],
        adjusted=vals["adjusted_budget"],
        received=vals["funds_received"],
        spent=vals["funds_spent"],
        receipt_rate=rec,
        receipt_base=rec_base,
        execution_rate=exe,
        execution_base=exe_base,
        spent_minus_disbursed=diff,
        explained_by_clawback=diff is not None
        and awards.amount_clawed_back > 0
        and abs(diff - awards.amount_clawed_back) < 0.005,
    )


def _survey(survey: Any) -> SurveyFacts | None:
    if survey is None:
        return None
    items = getattr(survey, "items", None)
    weakest = None
    if isinstance(items, pd.DataFrame) and not items.empty and "index" in items:
        w = items.sort_values("index").iloc[0].to_dict()
        weakest = {
            "item_zh": str(w.get("item_zh", w.get("item"))),
            "index": _num(w.get("index")),
        }
    ci = getattr(survey, "top2_ci", (None, None)) or (None, None)
    return SurveyFacts(
        index=_num(getattr(survey, "index", None)),
        top2_rate=_num(getattr(survey, "top2_rate", None)),
        top2_ci=(_num(ci[0]), _num(ci[1])),
        response_rate=_num(getattr(survey, "response_rate", None)),
        n_valid=int(getattr(survey, "n_valid", 0) or 0),
        n_population=int(getattr(survey, "n_population", 0) or 0),
        low_sample=bool(getattr(survey, "low_sample", False)),
        alpha=_num(getattr(survey, "alpha", None)),
        weakest=weakest,
    )


def _compliance(ds, year, targets, scorecard, as_of) -> ComplianceFacts:
    """Failed review checks of the award-compliance indicator + violations."""
    out = ComplianceFacts()
    cl, tl = category_labels(), town_labels(ds)
    aw = table(ds, "awards")
    meas = getattr(scorecard, "measurements", {}) or {}
    for ind in getattr(targets, "indicators", []):
        if ind.measure.method != "award_compliance" or ind.id not in meas:
            continue
        checks = [
            c if isinstance(c, dict) else {"column": c}
            for c in ind.measure.params.get("checks", [])
        ]
        out.checks += check_findings(
            scorecard.drilldown(ind.id),
            checks,
            aw,
            indicator=ind.id,
            category_labels=cl,
            town_labels=tl,
        )
    out.violations = violations(
        table(ds, "complaints_audit")
        if "complaints_audit" in (getattr(ds, "tables", {}) or {})
        else None,
        aw,
        year=year,
        as_of=pd.Timestamp(as_of),
        category_labels=cl,
    )
    order = {c: i for i, c in enumerate(targets.policies.report.severity)}
    out.checks.sort(key=lambda c: (order.get(c.code, len(order)), -c.n))
    return out


def _previous(previous: Any, targets: Any) -> PreviousFacts | None:
    if previous is None or previous is False:
        return None
    total = _num(getattr(previous, "total", None))
    if total is None:
        return None
    from jdeval.indicators import formulas as F

    fr = previous.to_frame()
    na = fr.loc[fr["tier"] == F.NOT_APPLICABLE, "level3"].astype(str).tolist()
    return PreviousFacts(
        year=int(previous.year),
        total=total,
        grade=targets.grade_for(total),
        not_applicable=na,
    )


def as_of_date(
    scorecard: Any, targets: Any, as_of: Any, year: int
) -> tuple[_dt.date, str]:
    """The reference date (评价基准日) and how it was set.

    Precedence: the ``as_of`` argument (``--as-of``), then ``policies.eval_date``
    of the targets, then the scorecard's evaluation date (the data's as-of rule of
    the targets file).
    """
    if as_of is not None:
        return pd.Timestamp(as_of).date(), "按评价参数指定"
    ed = getattr(getattr(targets, "policies", None), "eval_date", None)
    if ed is not None:
        return pd.Timestamp(ed).date(), "按指标设置文件指定"
    ctx = getattr(scorecard, "context", None)
    if ctx is not None and getattr(ctx, "eval_date", None) is not None:
        return pd.Timestamp(
            ctx.eval_date
        ).date(), "取数据截止日，即台账中最晚的核定或拨付日期"
    return _dt.date(year, 12, 31), "取评价年度末"


def _grade(
    total, targets, compliance: ComplianceFacts
) -> tuple[str | None, str | None, bool, str]:
    """(scored grade, final grade, capped?, the cap rule in words)."""
    if total is None:
        return None, None, False, ""
    scored = targets.grade_for(total)
    cap = targets.policies.report.grade_cap
    types = "、".join(cap.event_types)
    if not cap.enabled:
        return (
            scored,
            scored,
            False,
            f"本次评价未启用“查实{types}事项时等级封顶”规则，等级按得分确定。",
        )
    rule = f"按评价规则，当年查实{types}事项时，评价等级最高为“{cap.max_grade}”。"
    ranks = [b.grade for b in targets.policies.grade_bands]  # best first
    hit = any(v.event_type in cap.event_types for v in compliance.violations)
    if (
        hit
        and cap.max_grade in ranks
        and ranks.index(scored) < ranks.index(cap.max_grade)
    ):
        return scored, cap.max_grade, True, rule
    return scored, scored, False, rule


def collect(
    ds: Any,
    *,
    year: int,
    targets: Any,
    scorecard: Any = None,
    survey: Any = None,
    effects: Any = None,
    previous: Any = None,
    audience: str = "reviewer",
    scheme: str = "A",
    as_of: Any = None,
    min_firms: int = 3,
    dominance: float | None = None,
) -> Facts:
    """Compute every fact of the report once.

    Parameters
    ----------
    ds
        The :class:`jdeval.data.Dataset`.
    year
        Evaluation (batch) year.
    targets
        The loaded :class:`jdeval.indicators.Targets` (the rules).
    scorecard, survey, effects
        ``Scorecard``, ``SurveyResult``, ``PolicyEffects`` (``None`` when absent).
    previous
        The previous year's ``Scorecard`` under the same scheme and targets.
    as_of
        The reference date (评价基准日); default per :func:`as_of_date`.
    min_firms, dominance
        The disclosure rule; ``dominance`` defaults to the targets file's.
    """
    pol = targets.policies
    rep = pol.report
    ref, basis = as_of_date(scorecard, targets, as_of, year)
    statuses = list(pol.approved_statuses)
    ever = statuses
    for ind in targets.indicators:
        st = (
            ind.measure.params.get("statuses")
            if ind.measure.method == "award_compliance"
            else None
        )
        if st:
            ever = list(dict.fromkeys([*statuses, *st]))
    aw = _awards(table(ds, "awards"), year, statuses, ever)
    inds = _indicators(scorecard, targets)
    total = _num(getattr(scorecard, "total", None)) if scorecard is not None else None
    comp = (
        _compliance(ds, year, targets, scorecard, ref)
        if scorecard is not None
        else ComplianceFacts()
    )
    scored, final, capped, cap_rule = _grade(total, targets, comp)
    meta = targets.meta
    return Facts(
        year=int(year),
        policy=meta.policy,
        department=meta.department,
        scheme=scheme,
        audience=audience,
        synthetic=bool(getattr(ds, "truth", None)),
        as_of=ref,
        as_of_basis=basis,
        total=total,
        grade_scored=scored,
        grade=final,
        grade_cap_rule=cap_rule,
        grade_capped=capped,
        indicators=inds,
        awards=aw,
        population=_population(
            ds,
            year,
            statuses,
            low_ratio=rep.low_coverage_ratio,
            min_firms=min_firms,
            audience=audience,
        ),
        budget=_budget(ds, year, targets, scheme, scorecard, aw),
        payment=_payment(ds, year, statuses, lmax=pol.deadline_lmax_days, as_of=ref),
        survey=_survey(survey),
        effects=effect_facts(effects, rep.evidence),
        dose=dose_fact(effects),
        design=design_fact(effects),
        period=_period(
            ds,
            year,
            targets,
            statuses,
            ever,
            rule=Rule(
                min_firms,
                pol.disclosure.dominance if dominance is None else dominance,
            ),
            audience=audience,
        ),
        compliance=comp,
        plan_targets=plan_targets(scorecard, targets, table(ds, "firm_year")),
        n_data_findings=len(getattr(ds, "findings", []) or []),
        previous=_previous(previous, targets),
        theta_over=float(pol.theta_over),
        params={
            "low_coverage_ratio": rep.low_coverage_ratio,
            "late_payment_share": rep.late_payment_share,
            "min_response_rate": rep.min_response_rate,
            "lmax_days": pol.deadline_lmax_days,
            "alpha": rep.evidence.alpha,
            "min_firms": min_firms,  # the disclosure rule's threshold
        },
        targets_year=targets.meta.year,
        warnings=[
            zh_text(w.message_zh)
            for w in getattr(scorecard, "warnings", [])
            if w.code != "targets_year"
        ],
    )


def numbers_in(text: str) -> list[str]:
    """Every number written in ``text`` (for consistency checks)."""
    return re.findall(r"\d[\d,]*\.?\d*", text)
