"""``assemble``: compute what is missing, derive the narrative, build the Report."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from jdeval.errors import ConfigError, JdevalError, ProblemList
from jdeval.report import disclosure, formats
from jdeval.report import facts as factsmod
from jdeval.report.document import Report
from jdeval.report.narrative import RuleSet, derive, load_rules
from jdeval.report.outline import _EN_TITLES, Inputs, _render, build_sections

__all__ = ["DEFAULT_COVER", "assemble"]

#: Cover fields; override any of them with ``assemble(..., cover={...})``.
DEFAULT_COVER: dict[str, str] = {
    "评价对象": "“推进制造业智能化改造和数字化转型”政策（{year}年度）",
    "项目主管部门": "{department}",
    "委托单位": "上海市嘉定区财政局",
    "评价机构": "第三方绩效评价机构",
    "报告日期": "{date}",
    "版本": "{version}",
}
_VERSION = {
    "reviewer": "评审版（已脱敏，可对外提供）",
    "internal": "内部版（含企业信息，仅供内部使用）",
}

#: Errors meaning "that layer's API is not there (yet)"; anything else propagates.
_MISSING_API = (ImportError, AttributeError, NotImplementedError)


def _check_params(ds: Any, year: Any, scheme: str, audience: str) -> int:
    probs = ProblemList()
    try:
        y = int(year)
        if isinstance(year, bool) or y != year:
            raise ValueError
    except (TypeError, ValueError):
        probs.error(
            "year",
            f"年度须为整数，而不是 {year!r}。",
            f"year must be an integer, not {year!r}.",
            column="year",
            value=year,
        )
        y = 0
    years = list(getattr(ds, "years", []) or []) if ds is not None else []
    if y and years and y not in years:
        probs.error(
            "year_range",
            f"数据中没有 {y} 年（可用年份：{years}）。",
            f"the data has no year {y} (available: {years}).",
            column="year",
            value=y,
        )
    if scheme not in ("A", "B"):
        probs.error(
            "scheme",
            f"权重方案须为 A 或 B，而不是 {scheme!r}。",
            f"scheme must be 'A' or 'B', not {scheme!r}.",
            column="scheme",
            value=scheme,
        )
    if audience not in disclosure.AUDIENCES:
        probs.error(
            "audience",
            f"受众须为 reviewer 或 internal，而不是 {audience!r}。",
            f"audience must be 'reviewer' or 'internal', not {audience!r}.",
            column="audience",
            value=audience,
        )
    probs.raise_if_errors(ConfigError, "报告参数有误 / bad report parameters")
    return y


def _frame(scorecard: Any) -> pd.DataFrame | None:
    if scorecard is None:
        return None
    if isinstance(scorecard, pd.DataFrame):
        return scorecard
    return scorecard.to_frame()


def _evaluate(ds, targets, year, scheme, assessments):
    from jdeval.indicators import evaluate, load_targets

    t = (
        targets
        if targets is not None and not isinstance(targets, (str, Path))
        else load_targets(targets)
    )
    a = assessments
    if isinstance(assessments, (str, Path)):
        from jdeval.indicators import load_assessments

        a = load_assessments(assessments, targets=t)
    return evaluate(ds, t, year=year, scheme=scheme, assessments=a), t


def _num_total(scorecard: Any) -> float | None:
    t = getattr(scorecard, "total", None)
    return None if formats.is_missing(t) else float(t)


def _meta(targets: Any, declaration: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for src in (targets, declaration):
        m = getattr(src, "meta", None)
        if isinstance(m, Mapping):
            for k, v in m.items():
                meta.setdefault(k, v)
    period = meta.get("period")
    if isinstance(period, Mapping):
        meta.setdefault("period_start", str(period.get("start", "2023-08")))
        meta.setdefault("period_end", str(period.get("end", "2025-12")))
    return meta


def assemble(
    ds: Any,
    *,
    year: int,
    targets: Any = None,
    scheme: str = "A",
    assessments: Any = None,
    narrative: str | Path | None = None,
    audience: str = "reviewer",
    effects: Any = None,
    scorecard: Any = None,
    survey: Any = None,
    previous: Any = None,
    declaration: Any = None,
    rules: RuleSet | str | Path | None = None,
    cover: Mapping[str, str] | None = None,
    report_date: _dt.date | str | None = None,
    min_firms: int = 3,
    dominance: float = 0.85,
    compute_effects: bool = True,
) -> Report:
    """Assemble the annual performance-evaluation report.

    Analyses not passed in are computed (scorecard via ``jdeval.indicators``,
    survey via ``jdeval.survey``, effects via ``jdeval.effects.policy_effects``);
    pass precomputed objects so a build does not estimate twice.  An analysis
    whose layer is unavailable is reported as unavailable in the text (and in
    :attr:`Report.unavailable`) instead of failing.

    Parameters
    ----------
    ds
        The :class:`jdeval.data.Dataset`.
    year
        Evaluation (batch) year, e.g. 2024.
    targets, scheme, assessments
        As for :func:`jdeval.indicators.evaluate` (targets and assessments may be
        paths or loaded objects).
    narrative
        Evaluator's overrides file for the narrative (e.g.
        ``data/narrative/overrides_2024.yaml``).
    audience
        ``"reviewer"`` (default: no identifiers, disclosure control) or
        ``"internal"``.
    effects, scorecard, survey
        Precomputed ``PolicyEffects``, ``Scorecard``, ``SurveyResult``.
    previous
        Scorecard of the previous batch year (for the trend); ``None`` computes it
        when the data have that year and ``targets`` can be evaluated; ``False``
        skips it.
    declaration
        The :class:`~jdeval.indicators.declaration.Declaration` (policy texts).
    rules
        Narrative rules (default: the built-in ``rules/narrative.yaml``).
    cover
        Cover fields overriding :data:`DEFAULT_COVER`.
    report_date
        Date printed on the cover (default: today).  The only build-time value in
        the report.
    min_firms, dominance
        Disclosure-control thresholds for reviewer tables.
    compute_effects
        Estimate the causal effects when ``effects`` is not given.

    Returns
    -------
    Report

    Raises
    ------
    ConfigError
        Bad parameters or a bad narrative file (all problems at once).
    """
    y = _check_params(ds, year, scheme, audience)
    unavailable: dict[str, str] = {}

    # ---- scorecard (and the previous year's, for the trend)
    tgt = targets
    if scorecard is None:
        try:
            scorecard, tgt = _evaluate(ds, targets, y, scheme, assessments)
        except _MISSING_API as e:
            unavailable["scorecard"] = (
                f"指标评分结果不可用（jdeval.indicators 未提供 evaluate："
                f"{type(e).__name__}）。"
            )
    frame = _frame(scorecard)
    if frame is not None and audience == "reviewer" and "actual_display" in frame:
        frame = frame.assign(
            actual_display=frame["actual_display"].map(
                lambda t: disclosure.redact_display(t, min_firms=min_firms)
            )
        )
    prev_frame = None
    prev_facts = None
    if (
        previous is None
        and scorecard is not None
        and y - 1 in (getattr(ds, "years", []) or [])
    ):
        try:
            previous, _ = _evaluate(ds, tgt, y - 1, scheme, assessments)
        except (*_MISSING_API, JdevalError, KeyError, ValueError):
            previous = None
    if previous is not None and previous is not False:
        prev_frame = _frame(previous)
        ptotal = getattr(previous, "total", None)
        if ptotal is None and prev_frame is not None:
            ptotal = float(pd.to_numeric(prev_frame["score"], errors="coerce").sum())
        if ptotal is not None and not formats.is_missing(ptotal):
            prev_facts = {
                "year": y - 1,
                "total": float(ptotal),
                "grade": formats.grade(ptotal),
            }

    # ---- survey
    if survey is None:
        try:
            from jdeval.survey import analyse

            survey = analyse(ds, year=y)
        except _MISSING_API as e:
            unavailable["survey"] = f"满意度调查分析不可用（{type(e).__name__}）。"

    # ---- effects
    if effects is None and compute_effects:
        try:
            from jdeval.effects import policy_effects

            effects = policy_effects(ds, year=y)
        except _MISSING_API as e:
            unavailable["effects"] = (
                f"因果效应估计不可用（jdeval.effects 未提供 policy_effects："
                f"{type(e).__name__}）。"
            )
    elif effects is None:
        unavailable["effects"] = "本次未进行因果效应估计。"

    # ---- facts and narrative
    rs = rules if isinstance(rules, RuleSet) else load_rules(rules)
    meta = _meta(tgt, declaration)
    f = factsmod.collect(
        ds,
        year=y,
        scorecard=frame if frame is not None else scorecard,
        survey=survey,
        effects=effects,
        previous=prev_facts,
        audience=audience,
        scheme=scheme,
        params=rs.params,
        meta=meta,
        min_firms=min_firms,
        total=_num_total(scorecard),
    )
    if frame is not None and "level1_as_printed" in frame:
        for rec, printed in zip(f["indicators"], frame["level1_as_printed"]):
            rec["level1_as_printed"] = (
                "" if formats.is_missing(printed) else str(printed)
            )
    nar = derive(f, rules=rs, overrides=narrative)

    date = pd.Timestamp(report_date).date() if report_date else _dt.date.today()
    fields = {
        k: v.format(
            year=y,
            department=f["department"],
            date=formats.date_zh(date),
            version=_VERSION[audience],
        )
        for k, v in DEFAULT_COVER.items()
    }
    fields.update(cover or {})
    title = f"嘉定区{f['policy']}政策{y}年度绩效评价报告"
    inp = Inputs(
        year=y,
        audience=audience,
        facts=f,
        narrative=nar,
        ds=ds,
        scorecard=scorecard,
        scorecard_frame=frame,
        survey=survey,
        effects=effects,
        previous_frame=prev_frame,
        meta=meta,
        cover=fields,
        unavailable=unavailable,
        min_firms=min_firms,
        dominance=dominance,
    )
    report = Report(
        title=title,
        year=y,
        audience=audience,
        cover=fields,
        sections=build_sections(inp),
        facts=f,
        narrative=nar,
        summary_zh=_render("zh/summary.txt.j2", inp.ctx()),
        summary_en=_render(
            "en/summary.txt.j2",
            inp.ctx(
                department_en="Jiading District Economic Commission",
                en_titles=_EN_TITLES,
            ),
        ),
        scorecard=frame,
        unavailable=unavailable,
        date=date,
    )
    return report.number()
