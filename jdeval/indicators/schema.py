"""Typed model of the targets file (pydantic v2, ``extra="forbid"``).

The targets file is the only source of scoring rules: grade bands, θ_over, L_max,
tiers, Likert points, approved statuses, weights, targets and units are read from
these models and nowhere else.  :func:`validate_doc` turns pydantic's
``ValidationError`` into located, bilingual :class:`~jdeval.errors.Problem` items
(file + YAML line via :class:`~jdeval.indicators.yamlsource.LineMap`).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from jdeval.errors import ProblemList
from jdeval.indicators.yamlsource import LineMap, suggest

SCHEMES = ("A", "B")
OPERATORS = (">=", "<=", "=", ">", "<", "deadline", "text")
DIRECTIONS = (
    "positive",
    "negative",
    "cap",
    "exact",
    "deadline",
    "trend_up",
    "trend_down",
    "qualitative",
)
SCORINGS = (
    "ratio_capped",
    "reverse",
    "cost_cap",
    "exact",
    "deadline",
    "checklist",
    "award_checks",
    "trend",
    "satisfaction",
)
KINDS = ("quantitative", "qualitative")
NUMERIC_OPERATORS = (">=", "<=", "=", ">", "<")
OPERATOR_SYMBOL = {">=": "≥", "<=": "≤", "=": "=", ">": ">", "<": "<"}


def _no_bool(v: Any) -> Any:
    if isinstance(v, bool):
        raise PydanticCustomError(
            "bool_not_number", "a number is needed, not {v}", {"v": v}
        )
    if isinstance(v, float) and not math.isfinite(v):
        raise PydanticCustomError("finite_number", "a finite number is needed", {})
    return v


Num = Annotated[float, BeforeValidator(_no_bool)]
NonNeg = Annotated[float, BeforeValidator(_no_bool), Field(ge=0)]
Fraction = Annotated[float, BeforeValidator(_no_bool), Field(ge=0, le=1)]
Scheme = Literal[SCHEMES]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Bilingual(_Model):
    """A name in Chinese and English."""

    zh: str
    en: str = ""


# ---------------------------------------------------------------- policies
class GradeBand(_Model):
    """A grade band: totals ``≥ min`` (rounded to 2 decimals) get ``grade``."""

    min: Num
    grade: str
    en: str = ""


class Penalty(_Model):
    floor: Fraction
    slope: NonNeg


class Tiers(_Model):
    """Score-rate thresholds of the tiers 达成 (≥ achieved) and 部分达成 (≥ partial)."""

    achieved: Fraction
    partial: Fraction

    @model_validator(mode="after")
    def _order(self):
        if self.partial > self.achieved:
            raise PydanticCustomError(
                "tiers_order",
                "partial ({partial}) must not exceed achieved ({achieved})",
                {"partial": self.partial, "achieved": self.achieved},
            )
        return self


class Trend(_Model):
    delta: NonNeg
    f_up: Fraction
    f_flat: Fraction
    f_down: Fraction


class Satisfaction(_Model):
    """Questionnaire rules (spec §3.8)."""

    points: list[Num] = Field(min_length=5, max_length=5)
    item: str
    min_n: int = Field(ge=0)
    min_share: Fraction
    satisfied_min: int = Field(4, ge=1, le=5)


class EvidenceRule(_Model):
    """Strength of evidence of a causal estimate (证据强度), worded by the report.

    ``strong`` needs a significant main estimate, a pre-trend test that does not
    reject (p ≥ ``pretest_alpha``) and at least ``strong_share`` of the comparison
    specifications with the same sign *and* significant at ``alpha``; ``moderate``
    the same with ``moderate_share``; a significant main estimate failing both is
    ``weak``; otherwise ``none``.  Only ``strong`` evidence is called 显著/明确.
    """

    alpha: Fraction = 0.05
    pretest_alpha: Fraction = 0.10
    checks: list[str] = Field(
        default_factory=lambda: [
            "matched_did",
            "sun_abraham",
            "never_treated",
            "no_covariates",
            "leave_out",
        ]
    )
    strong_share: Fraction = 1.0
    moderate_share: Fraction = 0.5


class GradeCap(_Model):
    """Cap the grade when a violation is substantiated (off by default)."""

    enabled: bool = False
    max_grade: str = "良"
    event_types: list[str] = Field(default_factory=lambda: ["违规", "追回"])


class ReportRules(_Model):
    """Rules the report's findings and wording apply (``policies.report``)."""

    evidence: EvidenceRule = Field(default_factory=EvidenceRule)
    grade_cap: GradeCap = Field(default_factory=GradeCap)
    severity: list[str] = Field(
        default_factory=lambda: [
            "violation",
            "no_duplicate_funding",
            "eligibility_ok",
            "expert_review_done",
            "amount_within_cap",
            "publicity_done",
            "docs_complete",
            "missed_target",
            "plan_off_track",
            "late_payment",
            "low_town_coverage",
            "survey",
            "over_target",
            "effect",
        ]
    )
    low_coverage_ratio: Fraction = 0.5
    late_payment_share: Fraction = 0.05
    min_response_rate: Fraction = 0.8


class Disclosure(_Model):
    """Disclosure rule of the reviewer edition (``policies.disclosure``).

    Applied by :mod:`jdeval.indicators.sdc` everywhere a figure derived from
    firm-level data is published.
    """

    min_firms: int = Field(3, ge=1)
    dominance: Fraction | None = 0.85

    @property
    def rule(self):
        """The :class:`jdeval.indicators.sdc.Rule` of these parameters."""
        from jdeval.indicators.sdc import Rule

        return Rule(self.min_firms, self.dominance)


class Policies(_Model):
    """Scoring policies (``policies:`` of the targets file)."""

    grade_bands: list[GradeBand] = Field(min_length=1)
    na_policy: Literal["redistribute", "full", "zero"]
    over_policy: Literal["cap", "penalty"]
    theta_over: NonNeg
    penalty: Penalty
    neg_formula: Literal["ratio", "two_minus"]
    tiers: Tiers
    trend: Trend
    deadline_lmax_days: int = Field(ge=0)
    eval_date: dt.date | None = None
    approved_statuses: list[str] = Field(min_length=1)
    missing_assessment: Literal["zero", "exclude"]
    misuse_cap: Fraction
    satisfaction: Satisfaction
    key_industry_col: str = "key_industry"
    report: ReportRules = Field(default_factory=ReportRules)
    disclosure: Disclosure = Field(default_factory=Disclosure)

    @field_validator("grade_bands")
    @classmethod
    def _bands(cls, v: list[GradeBand]) -> list[GradeBand]:
        mins = [b.min for b in v]
        if len(set(mins)) != len(mins):
            raise PydanticCustomError(
                "bands_duplicate", "two bands share a lower bound", {}
            )
        return sorted(v, key=lambda b: -b.min)

    def band_for(self, score: float) -> GradeBand:
        """The band of ``score`` (rounded to 2 decimals first, spec §3.1)."""
        t = round(float(score), 2)
        for b in self.grade_bands:  # sorted by descending lower bound
            if t >= b.min:
                return b
        return self.grade_bands[-1]


# -------------------------------------------------------------- indicators
class SchemeLevels(_Model):
    level1: str | None = None
    level2: str | None = None


class ChecklistItem(_Model):
    id: str
    zh: str = ""
    en: str = ""
    rule: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    weight: NonNeg = 1.0


class Measure(BaseModel):
    """``measure:`` — a method name and its keyword parameters (checked by name)."""

    model_config = ConfigDict(extra="allow")
    method: str

    @property
    def params(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Indicator(_Model):
    """One 三级指标 of the targets file."""

    id: str
    level1: Bilingual
    level2: Bilingual
    level3: Bilingual
    level1_as_printed: str | None = None
    scheme_levels: dict[Scheme, SchemeLevels] = Field(default_factory=dict)
    target_raw: str
    operator: Literal[OPERATORS]
    target_value: float | dt.date | None = None
    unit: str | None = None
    kind: Literal[KINDS]
    direction: Literal[DIRECTIONS]
    scoring: Literal[SCORINGS]
    weight: dict[Scheme, NonNeg]
    measure: Measure
    source: Bilingual | None = None
    checklist: list[ChecklistItem] = Field(default_factory=list)
    note: str | None = None

    @field_validator("target_value", mode="before")
    @classmethod
    def _target(cls, v: Any) -> Any:
        """A number, a date (``2026-12-31``) or empty; anything else is an error."""
        if v is None or v == "":
            return None
        if isinstance(v, (dt.date, int, float)) and not isinstance(v, bool):
            _no_bool(v)
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v.strip())
            except ValueError:
                pass
        raise PydanticCustomError(
            "target_value", "target_value must be a number or a date, not {v}", {"v": v}
        )

    @property
    def target_number(self) -> float:
        """The numeric target (``float``); raises for a non-numeric target."""
        if not isinstance(self.target_value, (int, float)):
            raise TypeError(f"indicator {self.id} has no numeric target")
        return float(self.target_value)

    @property
    def due_date(self) -> dt.date:
        """Deadline of a ``deadline`` indicator."""
        if not isinstance(self.target_value, dt.date):
            raise TypeError(f"indicator {self.id} has no deadline")
        return self.target_value

    @property
    def target_text(self) -> str:
        """The target as shown, derived from operator/value/unit (spec §2.4)."""
        if self.operator in NUMERIC_OPERATORS and isinstance(
            self.target_value, (int, float)
        ):
            unit = f"({self.unit})" if self.unit else ""
            return f"{OPERATOR_SYMBOL[self.operator]}{self.target_value:.2f}{unit}"
        if self.operator == "deadline" and isinstance(self.target_value, dt.date):
            return f"{self.target_value.year}年{self.target_value.month}月前"
        return self.target_raw

    @field_validator("source", mode="before")
    @classmethod
    def _source(cls, v: Any) -> Any:
        return {"zh": v} if isinstance(v, str) else v

    @property
    def source_zh(self) -> str:
        return self.source.zh if self.source else ""

    def levels(self, scheme: str) -> tuple[str, str, str]:
        """一/二/三级 names under ``scheme`` (``scheme_levels`` overrides)."""
        over = self.scheme_levels.get(scheme) or SchemeLevels()
        return (
            over.level1 or self.level1.zh,
            over.level2 or self.level2.zh,
            self.level3.zh,
        )

    def weight_in(self, scheme: str) -> float:
        return float(self.weight.get(scheme, 0.0))


class Kpi(_Model):
    """A supplementary KPI (weight 0, reported only)."""

    id: str
    zh: str
    en: str = ""
    target: str | None = None
    unit: str | None = None
    method: str
    params: dict[str, Any] = Field(default_factory=dict)
    source: str | None = None


# -------------------------------------------------------------------- meta
class Period(_Model):
    """The policy period (``meta.period``): months ``YYYY-MM``, start not after end.

    The report derives the policy's final year from ``end`` (final-year wording).
    """

    start: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    end: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")

    @model_validator(mode="after")
    def _order(self) -> Period:
        if self.start > self.end:
            raise PydanticCustomError(
                "period_order", "the period starts after it ends", {}
            )
        return self

    @property
    def start_year(self) -> int:
        return int(self.start[:4])

    @property
    def end_year(self) -> int:
        return int(self.end[:4])


class BudgetLine(_Model):
    name: str
    amount_yuan: Num | None = None


class Meta(_Model):
    """Policy facts of the targets file (``meta:``)."""

    policy: str
    policy_en: str = ""
    department: str = ""
    fund_use: str = ""
    period: Period | None = None
    year: int
    source: str | None = None
    budget_lines: list[BudgetLine] = Field(default_factory=list)
    overall_goal: str = ""
    annual_goal: str = ""

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style read for templates (``meta.get("policy")``)."""
        v = getattr(self, key, None)
        return default if v is None else v


class TargetsDoc(_Model):
    """The whole targets file."""

    meta: Meta
    policies: Policies
    schemes: dict[Scheme, Bilingual] = Field(default_factory=dict)
    indicators: list[Indicator] = Field(min_length=1)
    kpis: list[Kpi] = Field(default_factory=list)


# ------------------------------------------------------ errors → Problems
_TYPE_ZH = {
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "bool_not_number": "应为数字",
    "finite_number": "应为有限数字",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "string_type": "应为文字",
    "list_type": "应为列表（- 项）",
    "dict_type": "应为映射（字段: 值）",
    "model_type": "应为映射（字段: 值）",
    "model_attributes_type": "应为映射（字段: 值）",
    "date_parsing": "应为日期（如 2026-12-31）",
    "date_from_datetime_parsing": "应为日期（如 2026-12-31）",
    "date_type": "应为日期（如 2026-12-31）",
    "too_short": "项数不足",
    "too_long": "项数过多",
    "tiers_order": "partial 不应大于 achieved",
    "bands_duplicate": "有两个等级的下限相同",
    "target_value": "应为数字（如 60）或日期（如 2026-12-31）",
    "string_pattern_mismatch": "应为年月（如 2025-12）",
    "period_order": "起始年月不应晚于结束年月",
}


def _where(loc: tuple, data: Any) -> str:
    """Chinese description of a location: 指标 C1 / 补充指标 K2 / policies."""
    if len(loc) >= 2 and loc[0] in ("indicators", "kpis") and isinstance(loc[1], int):
        try:
            iid = data[loc[0]][loc[1]].get("id", f"#{loc[1] + 1}")
        except (KeyError, IndexError, TypeError, AttributeError):
            iid = f"#{loc[1] + 1}"
        return ("指标 " if loc[0] == "indicators" else "补充指标 ") + str(iid)
    return ".".join(str(x) for x in loc[:1]) or "文件"


def _choices(err: dict) -> list[str]:
    exp = (err.get("ctx") or {}).get("expected", "")
    return [
        x.strip().strip("'") for x in exp.replace(" or ", ",").split(",") if x.strip()
    ]


def problems_from_validation(
    exc: ValidationError, data: Any, lines: LineMap, file: str, probs: ProblemList
) -> None:
    """Add one located zh/en :class:`Problem` per pydantic error."""
    seen = set()
    for e in exc.errors(include_url=False):
        loc = tuple(x for x in e["loc"] if x != "[key]")
        if loc in seen:
            continue
        seen.add(loc)
        where = _where(loc, data)
        field = str(loc[-1]) if loc else ""
        path = ".".join(str(x) for x in loc) or None
        row = lines.line(*loc)
        t = e["type"]
        val = e.get("input")
        if t == "extra_forbidden":
            parent = _allowed_keys(loc)
            probs.error(
                "unknown_key",
                f"{where} 有未知字段“{field}”{suggest(field, parent)}，请更正或删除。",
                f"{where}: unknown field {field!r}; correct or remove it.",
                file=file,
                row=row,
                column=path,
                value=field,
            )
        elif t == "missing":
            probs.error(
                "missing_field",
                f"{where} 缺少字段“{field}”，请补上。",
                f"{where} lacks the field {field!r}; add it.",
                file=file,
                row=lines.line(*loc[:-1]),
                column=path,
            )
        elif t in ("literal_error", "enum"):
            ch = _choices(e)
            probs.error(
                "bad_value",
                f"{where} 的 {field}=“{val}” 无效{suggest(val, ch)}；可选：{' | '.join(ch)}。",
                f"{where}: {field}={val!r} is not valid; use one of {', '.join(ch)}.",
                file=file,
                row=row,
                column=path,
                value=_short(val),
            )
        else:
            ctx = e.get("ctx") or {}
            if "ge" in ctx or "gt" in ctx:
                zh = f"应不小于{ctx.get('ge', ctx.get('gt'))}"
            elif "le" in ctx or "lt" in ctx:
                zh = f"应不大于{ctx.get('le', ctx.get('lt'))}"
            else:
                zh = _TYPE_ZH.get(t, "取值无效")
            probs.error(
                "bad_value",
                f"{where} 的 {path}：{zh}（现为“{_short(val)}”）。",
                f"{where}: {path}: {e['msg']}.",
                file=file,
                row=row,
                column=path,
                value=_short(val),
            )


def _short(v: Any) -> Any:
    if isinstance(v, (dict, list)):
        s = str(v)
        return s if len(s) <= 60 else s[:57] + "…"
    return v


_MODELS_AT = {
    (): TargetsDoc,
    ("meta",): Meta,
    ("policies",): Policies,
    ("indicators",): Indicator,
    ("kpis",): Kpi,
}


def _allowed_keys(loc: tuple) -> list[str]:
    """Field names of the model at the parent of ``loc`` (for did-you-mean)."""
    parent = tuple(x for x in loc[:-1] if not isinstance(x, int))
    model = _MODELS_AT.get(parent)
    if model is None and parent[:1] == ("policies",) and len(parent) == 2:
        ann = Policies.model_fields.get(parent[1])
        model = getattr(ann, "annotation", None)
    if model is None and parent[:1] == ("indicators",) and parent[-1] == "checklist":
        model = ChecklistItem
    fields = getattr(model, "model_fields", None)
    return list(fields) if fields else []
