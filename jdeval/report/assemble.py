"""``assemble``: compute what is missing, collect the facts once, build the Report.

Two steps, so an evaluator's edit loop is fast:

* :func:`prepare` — everything the narrative and cover cannot change: the scorecard
  (and the previous year's, same scheme and targets), the survey, the facts, the
  scorecard frame and the rendered charts.  This is the slow part; a build passes
  ``memo=jdeval.build.shared`` to :func:`assemble`, which keys the result by the
  content of the data, every argument (files by their content, estimates by their
  own key) and the jdeval code, and reuses it when only the narrative file, the
  cover or the report date changed.
* :func:`finish` — the narrative rules and overrides, the cover, the wording and
  the tables: a second or two.

Failures propagate.  The only sections that may say "not available" are those of a
genuinely absent *optional* input (no survey table; effects not requested), and
each is recorded in :attr:`Report.unavailable` (section key → reason) for the
build log and the index page.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from jdeval.errors import ConfigError, ProblemList
from jdeval.report import charts, disclosure, gate
from jdeval.report import facts as factsmod
from jdeval.report.cover import cover_page
from jdeval.report.document import Figure, Report
from jdeval.report.facts import Facts
from jdeval.report.narrative import RuleSet, derive, load_overrides, load_rules
from jdeval.report.outline import Inputs, build_sections, render

__all__ = ["DEFAULT_COVER", "Basis", "assemble", "finish", "prepare"]

#: Cover fields; override any of them with ``assemble(..., cover={...})``.
#: The cover page itself (organisation, team, number, signature) is
#: ``jdeval.report.cover``'s, read from the narrative file's ``cover:`` section.
DEFAULT_COVER: dict[str, str] = {
    "评价对象": "“{policy}”政策（{year}年度）",
    "项目主管部门": "{department}",
    "评价基准日": "{as_of}",
    "报告日期": "{date}",
    "版本": "{version}",
}
_VERSION = {
    "reviewer": "评审版（已脱敏，可对外提供）",
    "internal": "内部版（含企业信息，仅供内部使用）",
}
SYNTHETIC_NOTICE = (
    "本报告使用模拟数据生成，仅用于演示评价方法和报告格式，不代表真实的政策绩效。"
)


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
    if y and y not in years:
        probs.error(
            "year_range",
            f"数据中没有 {y} 年（可用年份：{years or '无'}）。",
            f"the data has no year {y} (available: {years or 'none'}).",
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


def _targets(targets: Any, as_of: Any):
    from jdeval.indicators import load_targets

    t = (
        targets
        if targets is not None and not isinstance(targets, (str, Path))
        else load_targets(targets)
    )
    if as_of is not None:
        # the reference date given for this build is the one every rule uses
        t = dataclasses.replace(
            t,
            policies=t.policies.model_copy(
                update={"eval_date": pd.Timestamp(as_of).date()}
            ),
        )
    return t


def _evaluate(ds, tgt, year, scheme, assessments):
    from jdeval.indicators import evaluate, load_assessments

    a = assessments
    if isinstance(assessments, (str, Path)):
        a = load_assessments(assessments, targets=tgt)
    return evaluate(ds, tgt, year=year, scheme=scheme, assessments=a)


def _survey_absent(ds: Any) -> bool:
    """True when the optional survey table was not provided at all."""
    tables = getattr(ds, "tables", {}) or {}
    t = tables.get("survey_responses")
    files = getattr(ds, "files", {}) or {}
    return t is None or (t.empty and "survey_responses" not in files)


@dataclasses.dataclass
class Basis:
    """What the report is computed from, before any narrative or cover.

    Made by :func:`prepare`, turned into a :class:`Report` by :func:`finish`.
    ``figures`` holds the rendered charts by key and ``distribution`` the
    protected distribution tables (both filled by the first :func:`finish`, or by
    :func:`prepare` with ``render=True``): neither depends on the narrative.
    """

    year: int
    scheme: str
    audience: str
    targets: Any
    scorecard: Any
    previous: Any
    survey: Any
    effects: Any
    facts: Facts
    frame: pd.DataFrame
    rules: RuleSet
    unavailable: dict[str, str]
    min_firms: int
    dominance: float
    figures: dict[str, Figure] = dataclasses.field(default_factory=dict)
    distribution: dict | None = None


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
    as_of: _dt.date | str | None = None,
    min_firms: int | None = None,
    dominance: float | None = None,
    compute_effects: bool = True,
    memo: Callable[..., Any] | None = None,
) -> Report:
    """Assemble the annual performance-evaluation report.

    Analyses not passed in are computed (scorecard via ``jdeval.indicators``,
    survey from the scorecard's context, effects via
    ``jdeval.effects.policy_effects``); pass precomputed objects so a build does
    not estimate twice.  Any error propagates; only an absent optional input (no
    survey table, ``compute_effects=False``) yields a "not available" section,
    listed in :attr:`Report.unavailable`.  Same as ``finish(ds, prepare(...),
    ...)``.

    Parameters
    ----------
    ds
        The :class:`jdeval.data.Dataset`, already limited to the reference date
        (the build applies ``jdeval.data.as_of``).
    year
        Evaluation (batch) year, e.g. 2024; must be a year of the data.
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
        Scorecard of the previous batch year under the same scheme and targets;
        ``None`` computes it when the data have that year; ``False`` skips it.
    declaration
        The :class:`~jdeval.indicators.declaration.Declaration` (policy texts).
    rules
        Narrative rules (default: the built-in ``rules/narrative.yaml``).
    cover
        Cover fields overriding :data:`DEFAULT_COVER`.
    report_date
        Date printed on the cover (default: today).
    as_of
        评价基准日 (reference date); default ``policies.eval_date`` of the
        targets, else the data's as-of date (see
        :func:`jdeval.report.facts.as_of_date`).
    min_firms, dominance
        Disclosure-control thresholds for the reviewer edition (default: the
        targets' ``policies.disclosure``).
    compute_effects
        Estimate the causal effects when ``effects`` is not given.
    memo
        A cache with the signature of :func:`jdeval.build.shared` (``memo(fn,
        ds, **kwargs)``): the build passes it so :func:`prepare` is reused when
        only the narrative, cover or report date changed.  Default: no cache.

    Returns
    -------
    Report

    Raises
    ------
    ConfigError
        Bad parameters, a year without data, a bad narrative file.
    """
    y = _check_params(ds, year, scheme, audience)
    # the evaluator's files are read first: a bad file fails before the slow steps
    base = rules if isinstance(rules, RuleSet) else load_rules(rules)
    rs = load_overrides(narrative, base) if narrative is not None else base
    kwargs = dict(
        year=y,
        targets=_default_path(targets),
        scheme=scheme,
        assessments=assessments,
        audience=audience,
        effects=effects,
        scorecard=scorecard,
        survey=survey,
        previous=previous,
        as_of=as_of,
        min_firms=min_firms,
        dominance=dominance,
        compute_effects=compute_effects,
    )
    if memo is None:
        basis = prepare(ds, **kwargs)
    else:
        basis = memo(prepare, ds, render=True, **kwargs)
    return finish(
        ds,
        basis,
        narrative=narrative,
        rules=rs,
        declaration=declaration,
        cover=cover,
        report_date=report_date,
    )


def _default_path(targets: Any) -> Any:
    """``None`` → the bundled targets file's path, so a cache key covers its content."""
    if targets is not None:
        return targets
    from jdeval.indicators.targets import default_targets_path

    return default_targets_path()


def prepare(
    ds: Any,
    *,
    year: int,
    targets: Any = None,
    scheme: str = "A",
    assessments: Any = None,
    audience: str = "reviewer",
    effects: Any = None,
    scorecard: Any = None,
    survey: Any = None,
    previous: Any = None,
    as_of: _dt.date | str | None = None,
    min_firms: int | None = None,
    dominance: float | None = None,
    compute_effects: bool = True,
    render: bool = False,
) -> Basis:
    """The narrative-independent part of :func:`assemble` (arguments as there).

    ``render=True`` also draws every chart (an extra pass over the outline with
    the built-in rules), so a cached :class:`Basis` carries them; otherwise the
    first :func:`finish` draws them.

    Returns
    -------
    Basis
    """
    y = _check_params(ds, year, scheme, audience)
    unavailable: dict[str, str] = {}
    tgt = _targets(targets, as_of)
    sdc_rule = tgt.policies.disclosure
    min_firms = sdc_rule.min_firms if min_firms is None else min_firms
    dominance = sdc_rule.dominance if dominance is None else dominance
    if scorecard is None:
        scorecard = _evaluate(ds, tgt, y, scheme, assessments)
    if previous is None and y - 1 in ds.batch_years:  # the first batch has none
        previous = _evaluate(ds, tgt, y - 1, scheme, assessments)
    if survey is None:
        if _survey_absent(ds):
            unavailable["survey"] = (
                "未提供满意度问卷数据（survey_responses），满意度调查分析从略。"
            )
        else:
            survey = scorecard.context.survey()
    if effects is None and compute_effects:
        from jdeval.effects import policy_effects

        effects = policy_effects(ds, year=y)
    elif effects is None:
        unavailable["effects"] = (
            "本次评价按参数未进行因果效应估计（compute_effects=False）。"
        )

    f = factsmod.collect(
        ds,
        year=y,
        targets=tgt,
        scorecard=scorecard,
        survey=survey,
        effects=effects,
        previous=previous,
        audience=audience,
        scheme=scheme,
        as_of=as_of,
        min_firms=min_firms,
        dominance=dominance,
    )
    frame = scorecard.to_frame()
    if audience == "reviewer":
        frame = frame.assign(
            actual_display=frame["actual_display"].map(
                lambda t: disclosure.redact_display(t, min_firms=min_firms)
            )
        )
    basis = Basis(
        year=y,
        scheme=scheme,
        audience=audience,
        targets=tgt,
        scorecard=scorecard,
        previous=previous,
        survey=survey,
        effects=effects,
        facts=f,
        frame=frame,
        rules=load_rules(),
        unavailable=unavailable,
        min_firms=min_firms,
        dominance=dominance,
    )
    if render:
        finish(ds, basis)
    return basis


def finish(
    ds: Any,
    basis: Basis,
    *,
    narrative: str | Path | None = None,
    rules: RuleSet | None = None,
    declaration: Any = None,
    cover: Mapping[str, str] | None = None,
    report_date: _dt.date | str | None = None,
) -> Report:
    """The report from a :class:`Basis`: narrative, cover, wording and tables.

    Parameters
    ----------
    ds
        The dataset ``basis`` was prepared from.
    basis
        From :func:`prepare`.
    narrative, declaration, cover, report_date
        As for :func:`assemble`.
    rules
        The narrative rules with the overrides applied (default: the built-in
        rules, with ``narrative`` applied when given).

    Returns
    -------
    Report
    """
    rs = rules
    if rs is None:
        rs = basis.rules
        if narrative is not None:
            rs = load_overrides(narrative, rs)
    y, f, tgt = basis.year, basis.facts, basis.targets
    unavailable = dict(basis.unavailable)
    nar = derive(f, rules=rs, severity=list(tgt.policies.report.severity))
    date = pd.Timestamp(report_date).date() if report_date else _dt.date.today()
    page = cover_page(
        narrative,
        year=y,
        scheme=basis.scheme,
        schemes=tgt.schemes,
        policy=f.policy,
        department=f.department,
        as_of=f.as_of,
        edition=_VERSION[basis.audience],
        build_date=date,
    )
    fields = dict(page.fields)
    if f.synthetic:
        fields["数据说明"] = SYNTHETIC_NOTICE
    fields.update(cover or {})
    frame = basis.frame.copy()
    inp = Inputs(
        year=y,
        audience=basis.audience,
        facts=f,
        narrative=nar,
        targets=tgt,
        ds=ds,
        scorecard=basis.scorecard,
        scorecard_frame=frame,
        survey=basis.survey,
        effects=basis.effects,
        previous=basis.previous if basis.previous is not False else None,
        meta=declaration,
        cover=fields,
        unavailable=unavailable,
        min_firms=basis.min_firms,
        dominance=basis.dominance,
        dist=basis.distribution,
    )
    with charts.keep_figures(basis.figures):
        sections = build_sections(inp)
    basis.distribution = inp.dist
    report = Report(
        title=f"嘉定区{f.policy}政策{y}年度绩效评价报告",
        year=y,
        audience=basis.audience,
        cover=fields,
        sections=sections,
        facts=f,
        narrative=nar,
        summary_zh=render("zh/summary.txt.j2", inp.ctx()),
        summary_en=render("en/summary.txt.j2", inp.ctx()),
        scorecard=frame,
        unavailable=unavailable,
        date=date,
        team=page.team,
        signatures=page.signatures,
    )
    # tables built from the same rows are one publication: suppress jointly
    disclosure.reconcile(
        report.tables, min_firms=basis.min_firms, dominance=basis.dominance
    )
    if basis.audience == "reviewer":  # means and prose counts of withheld cells
        gate.redact_withheld(report, min_firms=basis.min_firms)
    return report.number()
