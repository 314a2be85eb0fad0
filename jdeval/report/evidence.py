"""Causal estimates as report facts, each with its strength of evidence (证据强度).

One canonical number per effect: the estimate on the outcome's own scale (log
points for log outcomes, a ratio for shares) *and* the derived display (per cent
for log points, percentage points for ratios), built here once and used by every
page.

The strength of evidence follows :class:`jdeval.indicators.schema.EvidenceRule`
(``targets.policies.report.evidence``), a rule that can fail:

``strong``
    the main estimate is significant at ``alpha``, the pre-trend test does not
    reject (p ≥ ``pretest_alpha``), and at least ``strong_share`` of the
    comparison specifications (``checks``: matched DiD, Sun–Abraham, never-funded
    controls, no covariates, each leave-one-cohort-out) have the same sign *and*
    are significant;
``moderate``
    as strong, with ``moderate_share`` instead of ``strong_share``;
``weak``
    the main estimate is significant but the rest fails;
``none``
    the main estimate is not significant.

Only ``strong`` evidence is worded 显著/明确 by the templates.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = [
    "CheckFact",
    "CohortOverlap",
    "DesignFact",
    "DoseFact",
    "EffectFact",
    "design_fact",
    "dose_fact",
    "effect_facts",
    "index_rows",
    "strength",
    "strength_zh",
]

STRENGTHS = ("strong", "moderate", "weak", "none")


@dataclass
class CheckFact:
    """One comparison specification of an outcome's estimate."""

    code: str
    name_zh: str
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    same_sign: bool
    significant: bool

    @property
    def agrees(self) -> bool:
        """Same sign as the main estimate *and* significant."""
        return self.same_sign and self.significant


@dataclass
class EffectFact:
    """The headline estimate of one outcome, its display and its evidence."""

    outcome: str
    outcome_zh: str
    design_zh: str
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_firms: int | None
    n_treated: int | None
    scale: str  # "log" | "ratio" | "level"
    significant: bool
    strength: str = "none"
    pretest_p: float | None = None
    pretest_ok: bool | None = None
    checks: list[CheckFact] = field(default_factory=list)
    mde: float | None = None
    honest_breakdown: float | None = None
    shown: str = ""
    shown_ci: str = ""

    @property
    def n_checks(self) -> int:
        return len(self.checks)

    @property
    def n_agree(self) -> int:
        return sum(c.agrees for c in self.checks)

    @property
    def disagreeing(self) -> list[CheckFact]:
        return [c for c in self.checks if not c.agrees]

    @property
    def positive(self) -> bool:
        return self.estimate is not None and self.estimate > 0

    @property
    def mde_shown(self) -> str:
        return "" if self.mde is None else _display(self.mde, self.scale)[0]


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def _int(x: Any) -> int | None:
    v = _num(x)
    return None if v is None else int(round(v))


def _scale(outcome: str) -> str:
    """``log`` / ``ratio`` / ``level`` from the outcome's unit in the effects layer."""
    from jdeval.effects.outcomes import OUTCOMES

    row = OUTCOMES.loc[OUTCOMES["name"] == outcome]
    unit = str(row["unit"].iloc[0]) if len(row) else ""
    if unit.startswith("log"):
        return "log"
    if unit.startswith("比率"):
        return "ratio"
    return "level"


def _pct(v: float) -> str:
    return f"{100 * (math.exp(v) - 1):+.1f}%"


def _display(est: float | None, scale: str) -> tuple[str, str]:
    """(number, unit-word) pieces of a value on ``scale``."""
    if est is None:
        return "—", ""
    if scale == "log":
        return f"{est:.3f}对数点（约{_pct(est)}）", ""
    if scale == "ratio":
        return f"{100 * est:+.2f}个百分点", ""
    return f"{est:.3f}", ""


def _display_ci(lo: float | None, hi: float | None, scale: str) -> str:
    if lo is None or hi is None:
        return "—"
    if scale == "log":
        return f"{lo:.3f}至{hi:.3f}对数点（约{_pct(lo)}至{_pct(hi)}）"
    if scale == "ratio":
        return f"{100 * lo:+.2f}至{100 * hi:+.2f}个百分点"
    return f"{lo:.3f}至{hi:.3f}"


def _spec_name(name: str) -> str:
    """A specification's name as the text spells it: ``Sun–Abraham事件研究``,
    ``剔除2023年批次`` (no spaces around digits inside Chinese, one dash)."""
    name = name.replace("Sun-Abraham", "Sun–Abraham")
    cjk = "[\u4e00-\u9fff]"
    return re.sub(rf"(?<={cjk})\s+(?=\d)|(?<=[\dA-Za-z])\s+(?={cjk})", "", name)


def compact(est: float | None, scale: str) -> str:
    """A value on ``scale`` in the headline's unit, without the per-cent gloss.

    For tables listing many estimates of one outcome (robustness checks): a
    ratio outcome in 个百分点 like its headline (not the raw fraction 0.018).
    """
    if est is None:
        return "—"
    if scale == "ratio":
        return f"{100 * est:+.2f}"
    return f"{est:.3f}"


def compact_unit(scale: str) -> str:
    """The unit word of :func:`compact` values (表 column note)."""
    return {"log": "对数点", "ratio": "个百分点"}.get(scale, "")


def _significant(p: float | None, lo: float | None, hi: float | None, alpha) -> bool:
    if p is not None:
        return p < alpha
    return lo is not None and hi is not None and (lo > 0 or hi < 0)


def _check_rows(effects: Any, outcome: str, codes: list[str]) -> list[dict]:
    """Rows of the comparison specifications named in the rule, in rule order."""
    rows: list[dict] = []
    table = getattr(effects, "table", None)
    rob = getattr(effects, "robustness", None)
    for code in codes:
        found = []
        if isinstance(table, pd.DataFrame) and "design" in table:
            t = table.loc[(table["outcome"] == outcome) & (table["design"] == code)]
            found += [
                {**r, "code": code, "name_zh": r.get("design_zh", code)}
                for r in t.to_dict("records")
            ]
        if not found and isinstance(rob, pd.DataFrame) and "check" in rob:
            r = rob.loc[rob["outcome"] == outcome]
            hit = r.loc[
                (r["check"] == code) | r["check"].astype(str).str.startswith(code + "_")
            ]
            found += [
                {**x, "code": x["check"], "name_zh": x.get("check_zh", x["check"])}
                for x in hit.to_dict("records")
            ]
        rows += found
    return rows


def _pretest(effects: Any, outcome: str) -> float | None:
    rob = getattr(effects, "robustness", None)
    if isinstance(rob, pd.DataFrame) and "check" in rob:
        r = rob.loc[(rob["outcome"] == outcome) & (rob["check"] == "pretest")]
        if len(r) and "p_value" in r:
            return _num(r["p_value"].iloc[0])
    pt = (getattr(effects, "pretests", None) or {}).get(outcome)
    return _num(getattr(pt, "p_value", None)) if pt is not None else None


def _frame_value(obj: Any, outcome: str, column: str) -> float | None:
    """``obj`` (a frame or an object with ``.table``) at ``outcome`` × ``column``."""
    if obj is None or getattr(obj, "available", True) is False:
        return None
    frame = obj if isinstance(obj, pd.DataFrame) else getattr(obj, "table", None)
    if not isinstance(frame, pd.DataFrame) or column not in frame:
        return None
    if "outcome" in frame:
        frame = frame.loc[frame["outcome"] == outcome]
    return _num(frame[column].iloc[0]) if len(frame) else None


def _breakdown(effects: Any, outcome: str) -> float | None:
    """HonestDiD breakdown M̄ of ``outcome`` (``None`` when not available)."""
    h = (getattr(effects, "honest", None) or {}).get(outcome)
    if h is None or not getattr(h, "available", False):
        return None
    return _num(getattr(h, "breakdown_mbar", None))


@dataclass
class DoseFact:
    """Additional investment (万元) per 万元 of subsidy, from the dose analysis."""

    available: bool
    reason_zh: str = ""
    per_wan: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None

    @property
    def significant(self) -> bool:
        return (
            self.ci_low is not None
            and self.ci_high is not None
            and (self.ci_low > 0 or self.ci_high < 0)
        )

    def exceeds(self, leverage: float | None) -> bool:
        """More new investment per 万元 than the projects' whole investment per
        万元 of subsidy (the gross leverage): impossible, so not a finding."""
        return None not in (leverage, self.per_wan) and self.per_wan > leverage

    def bound_exceeds(self, leverage: float | None) -> bool:
        """Even the CI's lower bound is above the gross leverage."""
        return None not in (leverage, self.ci_low) and self.ci_low > leverage


def dose_fact(effects: Any) -> DoseFact | None:
    """The value-for-money estimate of ``effects.dose`` (``None`` without one)."""
    d = getattr(effects, "dose", None) if effects is not None else None
    if d is None:
        return None
    if not getattr(d, "available", False) or not getattr(d, "value_for_money", None):
        return DoseFact(False, str(getattr(d, "reason_zh", "") or ""))
    v = d.value_for_money
    return DoseFact(
        True,
        per_wan=_num(v.get("per_wan")),
        ci_low=_num(v.get("ci_low")),
        ci_high=_num(v.get("ci_high")),
    )


@dataclass
class CohortOverlap:
    """Propensity-score overlap of one treated cohort (``effects.overlap.table``)."""

    cohort: int
    n_treated: int
    n_comparison: int
    share_near_0: float
    n_trimmed: int
    n_treated_above: int
    ess_comparison: float | None
    ok: bool


@dataclass
class DesignFact:
    """How the main estimate was computed: clustering, overlap, panel choice.

    Read from the typed fields of :class:`jdeval.effects.PolicyEffects`
    (``.inference``, ``.overlap``, ``.attrition``, ``.attrition_by_outcome``);
    the report's method and limitation paragraphs render from it.
    """

    cluster_var: str | None = None
    n_clusters: int | None = None
    method: str = ""
    critical: str = ""
    biters: int | None = None
    inference_reason_zh: str = ""
    overlap_available: bool = False
    overlap_reason_zh: str = ""
    threshold: float | None = None
    cohorts: list[CohortOverlap] = field(default_factory=list)
    overlap_warnings: list[str] = field(default_factory=list)
    attrition_available: bool = False
    balanced: bool | None = None
    attrition_reason_zh: str = ""
    n_entered: int | None = None
    n_exited: int | None = None
    #: outcome (Chinese) → "panel" | "repeated_cross_section"
    estimators: dict[str, str] = field(default_factory=dict)

    @property
    def one_estimator(self) -> str | None:
        """The estimator when every outcome uses the same one."""
        kinds = set(self.estimators.values())
        return kinds.pop() if len(kinds) == 1 else None


def _cohorts(table: Any) -> list[CohortOverlap]:
    if not isinstance(table, pd.DataFrame) or table.empty:
        return []
    return [
        CohortOverlap(
            cohort=int(r["cohort"]),
            n_treated=int(r["n"]),
            n_comparison=int(r["n_comparison"]),
            share_near_0=float(r["share_near_0"]),
            n_trimmed=int(r["n_trimmed"]),
            n_treated_above=int(r["n_treated_above"]),
            ess_comparison=_num(r.get("ess_comparison")),
            ok=bool(r["overlap_ok"]),
        )
        for r in table.to_dict("records")
    ]


def design_fact(effects: Any) -> DesignFact | None:
    """The estimation design of ``effects`` (``None`` without effects)."""
    if effects is None:
        return None
    out = DesignFact()
    inf = getattr(effects, "inference", None)
    if inf is not None and getattr(inf, "available", True):
        out.cluster_var = inf.cluster_var
        out.n_clusters = _int(inf.n_clusters)
        out.method, out.critical = str(inf.method), str(inf.critical)
        out.biters = _int(inf.biters)
        out.inference_reason_zh = str(inf.reason_zh or "")
    ov = getattr(effects, "overlap", None)
    if ov is not None:
        out.overlap_available = bool(getattr(ov, "available", True))
        out.overlap_reason_zh = str(getattr(ov, "reason_zh", "") or "")
        out.threshold = _num(getattr(ov, "threshold", None))
        out.cohorts = _cohorts(getattr(ov, "table", None))
        out.overlap_warnings = [str(w) for w in getattr(ov, "warnings", []) or []]
    att = getattr(effects, "attrition", None)
    if att is not None:
        out.attrition_available = bool(getattr(att, "available", True))
        out.balanced = getattr(att, "balanced", None)
        out.attrition_reason_zh = str(getattr(att, "reason_zh", "") or "")
        t = getattr(att, "table", None)
        if isinstance(t, pd.DataFrame) and {"n_entered", "n_exited"} <= set(t):
            out.n_entered = int(t["n_entered"].sum())
            out.n_exited = int(t["n_exited"].sum())
    names = _outcome_names(effects)
    for o, a in (getattr(effects, "attrition_by_outcome", None) or {}).items():
        if getattr(a, "available", True) and getattr(a, "estimator", None):
            out.estimators[names.get(o, o)] = str(a.estimator)
    return out


def _outcome_names(effects: Any) -> dict[str, str]:
    t = getattr(effects, "main", None)
    if not isinstance(t, pd.DataFrame) or "outcome_zh" not in t:
        return {}
    return dict(
        zip(t["outcome"].astype(str), t["outcome_zh"].astype(str), strict=False)
    )


def strength(
    significant: bool, pretest_p: float | None, checks: list[CheckFact], rule: Any
) -> str:
    """Strength of evidence under ``rule`` (see the module docstring)."""
    if not significant:
        return "none"
    pre_ok = pretest_p is None or pretest_p >= rule.pretest_alpha
    share = sum(c.agrees for c in checks) / len(checks) if checks else 0.0
    if pre_ok and checks and share >= rule.strong_share - 1e-12:
        return "strong"
    if pre_ok and checks and share >= rule.moderate_share - 1e-12:
        return "moderate"
    return "weak"


def strength_zh(code: str) -> str:
    """The Chinese label of a strength of evidence (``strength_zh`` in the rules)."""
    from jdeval.report.narrative import load_rules

    return str(load_rules().params.get("strength_zh", {}).get(code, code))


def index_rows(effects: list[EffectFact]) -> list[dict[str, str]]:
    """The index page's effects table: the report's own display strings.

    The index shows these as they are, so its figures, units and strength of
    evidence are the report's (never re-formatted from raw estimates).
    """
    from jdeval.report import formats

    return [
        {
            "outcome_zh": e.outcome_zh,
            "shown": e.shown,
            "shown_ci": e.shown_ci,
            "p_value_shown": formats.pvalue(e.p_value),
            "strength_zh": strength_zh(e.strength),
            "n_treated_shown": formats.integer(e.n_treated),
        }
        for e in effects
    ]


def effect_facts(effects: Any, rule: Any) -> list[EffectFact]:
    """One :class:`EffectFact` per outcome of ``effects.main`` (the main design).

    Parameters
    ----------
    effects
        :class:`jdeval.effects.PolicyEffects` (``.main``, ``.table``,
        ``.robustness``, ``.pretests``; ``.power`` and ``.honest`` when present).
    rule
        :class:`jdeval.indicators.schema.EvidenceRule`.
    """
    if effects is None:
        return []
    main = getattr(effects, "main", None)
    if not isinstance(main, pd.DataFrame) or main.empty:
        return []
    out = []
    for r in main.to_dict("records"):
        o = str(r["outcome"])
        est, lo, hi = (
            _num(r.get("estimate")),
            _num(r.get("ci_low")),
            _num(r.get("ci_high")),
        )
        p = _num(r.get("p_value"))
        sig = _significant(p, lo, hi, rule.alpha)
        checks = []
        for c in _check_rows(effects, o, list(rule.checks)):
            ce, cl, ch, cp = (
                _num(c.get("estimate")),
                _num(c.get("ci_low")),
                _num(c.get("ci_high")),
                _num(c.get("p_value")),
            )
            checks.append(
                CheckFact(
                    code=str(c["code"]),
                    name_zh=_spec_name(str(c["name_zh"])),
                    estimate=ce,
                    ci_low=cl,
                    ci_high=ch,
                    p_value=cp,
                    same_sign=ce is not None and est is not None and ce * est > 0,
                    significant=_significant(cp, cl, ch, rule.alpha),
                )
            )
        pre = _pretest(effects, o)
        scale = _scale(o)
        e = EffectFact(
            outcome=o,
            outcome_zh=str(r.get("outcome_zh") or o),
            design_zh=str(r.get("design_zh") or r.get("design") or ""),
            estimate=est,
            se=_num(r.get("se")),
            ci_low=lo,
            ci_high=hi,
            p_value=p,
            n_firms=_int(r.get("n_firms")),
            n_treated=_int(r.get("n_treated")),
            scale=scale,
            significant=sig,
            strength=strength(sig, pre, checks, rule),
            pretest_p=pre,
            pretest_ok=None if pre is None else pre >= rule.pretest_alpha,
            checks=checks,
            mde=_frame_value(getattr(effects, "power", None), o, "mde_80"),
            honest_breakdown=_breakdown(effects, o),
            shown=_display(est, scale)[0],
            shown_ci=_display_ci(lo, hi, scale),
        )
        out.append(e)
    return out
