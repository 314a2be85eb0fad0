"""Build the report's sections (domain-spec §5 outline) from the facts and results.

Each ``_chN`` function returns the sections of one chapter.  Wording comes from the
Jinja2 templates in ``templates/zh``; numbers come from the typed
:class:`~jdeval.report.facts.Facts`; tables of aggregates about firms pass through
:func:`jdeval.report.disclosure.protect`.  The reviewer edition is Chinese only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pandas as pd

from jdeval.report import (
    charts,
    disclosure,
    distribution,
    evidence,
    formats,
    selfeval,
)
from jdeval.report import facts as factsmod
from jdeval.report.document import Figure, Paragraph, Section, Table
from jdeval.report.facts import Facts
from jdeval.report.narrative import Narrative
from jdeval.report.textenv import paragraphs, text_env

__all__ = ["OUTLINE", "Inputs", "build_sections", "render", "score_rows"]

#: (key, heading, level) of every section, in order (domain-spec §5).
OUTLINE: tuple[tuple[str, str, int], ...] = (
    ("summary", "摘要", 0),
    ("preface", "前言", 0),
    ("ch1", "基本情况", 1),
    ("ch1_1", "政策概况", 2),
    ("ch1_2", "政策绩效目标", 2),
    ("ch2", "绩效评价工作开展情况", 1),
    ("ch2_1", "绩效评价目的、对象和范围", 2),
    ("ch2_2", "绩效评价原则、评价指标体系、评价方法、评价标准", 2),
    ("ch2_3", "数据采集方法及过程", 2),
    ("ch2_4", "绩效评价工作过程", 2),
    ("ch2_5", "评价的局限性", 2),
    ("ch3", "综合评价情况及评价结论", 1),
    ("ch4", "绩效评价指标分析", 1),
    ("ch4_1", "政策决策情况", 2),
    ("ch4_2", "政策过程情况", 2),
    ("ch4_3", "政策产出情况", 2),
    ("ch4_4", "政策效益情况", 2),
    ("ch4_5", "政策效应的因果分析", 3),
    ("ch5", "主要经验及做法、存在的问题及原因分析", 1),
    ("ch5_1", "主要经验及做法", 2),
    ("ch5_2", "存在的问题及原因分析", 2),
    ("ch6", "有关建议", 1),
    ("ch7", "其他需要说明的问题", 1),
    ("annex1", "附件1 评分表", 0),
    ("annex2", "附件2 指标体系及评分标准", 0),
    ("annex3", "附件3 数据清单", 0),
    ("annex4", "附件4 问卷及统计结果", 0),
    ("annex5", "附件5 受益企业清单（脱敏）", 0),
    ("annex6", "附件6 街镇及行业分布表", 0),
    ("annex7", "附件7 项目支出绩效自评表", 0),
)

#: Chapter 四 part of each 二级/一级 group: the scheme's level-1 names are matched
#: by the group the targets file gives the indicator (measure families).
_PARTS = ("decision", "process", "output", "benefit")


@dataclass
class Inputs:
    """Everything the outline needs."""

    year: int
    audience: str
    facts: Facts
    narrative: Narrative
    targets: Any
    ds: Any = None
    scorecard: Any = None
    scorecard_frame: pd.DataFrame | None = None
    survey: Any = None
    effects: Any = None
    previous: Any = None
    meta: Any = None
    cover: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    min_firms: int = 3
    dominance: float = 0.85
    #: the protected distribution tables, once computed (kept by a cached Basis)
    dist: dict | None = field(default=None, repr=False)

    def distribution(self) -> dict[str, Any]:
        """The year's protected distribution tables (:mod:`distribution`), once."""
        if self.dist is None:
            self.dist = distribution.tables(
                self.ds,
                self.year,
                statuses=self.targets.policies.approved_statuses,
                audience=self.audience,
                min_firms=self.min_firms,
                dominance=self.dominance,
            )
        return self.dist

    def ctx(self, **extra: Any) -> dict[str, Any]:
        m = self.targets.meta
        period = m.period
        return {
            **self.facts.context(),
            "meta": m,
            "declaration": self.meta,
            "policies": self.targets.policies,
            "scheme_zh": _scheme_zh(self.targets, self.facts.scheme),
            "cover": self.cover,
            "policy_period": f"{_ym(period.start)}至{_ym(period.end)}"
            if period
            else "",
            "policy_end": _ym(period.end) if period else "",
            "unavailable": self.unavailable,
            "top": self.narrative.top(3),
            "min_firms": self.min_firms,
            "problems": self.narrative.problems,
            "level1": level1_rows(self.scorecard_frame),
            **extra,
        }


def _scheme_zh(targets: Any, scheme: str) -> str:
    s = (getattr(targets, "schemes", {}) or {}).get(scheme)
    return (
        getattr(s, "zh", None) or (s.get("zh") if isinstance(s, Mapping) else "") or ""
    )


def _ym(text: Any) -> str:
    """``2023-08`` → ``2023年8月``."""
    try:
        y, m = str(text).split("-")[:2]
        return f"{int(y)}年{int(m)}月"
    except ValueError:
        return str(text)


def render(name: str, ctx: Mapping[str, Any]) -> list[str]:
    """Render a wording template to tidy paragraphs."""
    return paragraphs(text_env().get_template(name).render(**ctx))


def _fig(draw, caption: str, key: str, note: str = "") -> Figure:
    # drawn once per Basis: see charts.keep_figures (jdeval.report.assemble)
    return charts.rendered(draw, caption, key=key, note=note)


def _protected_table(pt: disclosure.ProtectedTable, caption: str, key: str) -> Table:
    return Table(caption, pt.frame, footnote=pt.footnote, key=key, index=True, data=pt)


def _unique_total_note(a: pd.DataFrame, by: str, footnote: str) -> str:
    """Say why 受益单位数 rows add to more than their 合计 (a unit in two rows).

    The row sum itself is not printed: with suppressed rows it would reveal them.
    """
    b = a["beneficiary"]
    if a.groupby(by)["beneficiary"].nunique().sum() <= b.nunique():
        return footnote
    note = (
        "受益单位数的合计按不重复单位计：同一单位获多个类别支持的，"
        "在各类别分别计数、在合计中只计一次，故各行之和大于合计。"
    )
    return f"{footnote}{note}" if footnote else f"注：{note}"


def _text(v: Any) -> str:
    return "" if formats.is_missing(v) else factsmod.zh_text(v)


# ----------------------------------------------------------------- scorecard views
def level1_rows(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """一级指标 subtotals in the frame's order: points, score, rate.

    Scores are summed unrounded and rounded once for display (the 尾差 note of
    :func:`score_rows` explains a difference to the sum of shown components).
    """
    if frame is None or frame.empty:
        return []
    out = []
    for name, g in frame.groupby("level1", sort=False):
        w = float(pd.to_numeric(g["weight"], errors="coerce").sum())
        s = float(pd.to_numeric(g["score"], errors="coerce").sum())
        out.append(
            {"name": name, "weight": w, "score": s, "rate": s / w if w else None}
        )
    return out


def score_rows(
    frame: pd.DataFrame, total: float, grade: str
) -> tuple[pd.DataFrame, str]:
    """The score table (三 and 附件1): 三级 rows, 一级 小计 rows and 合计.

    Returns the display frame and the footing note: when the shown components do
    not add up to a shown subtotal or total (rounding), the standard 尾差 note
    with the differences, computed from the shown numbers.
    """
    rows, gaps = [], []
    for lv in level1_rows(frame):
        g = frame.loc[frame["level1"] == lv["name"]]
        shown = [round(float(s), 2) for s in g["score"]]
        for r, s in zip(g.to_dict("records"), shown):
            rows.append(
                {
                    "一级指标": str(r["level1"]),
                    "二级指标": str(r["level2"]),
                    "三级指标": str(r["level3"]),
                    "年度指标值": formats.target_text(_text(r["target_raw"])),
                    "实际完成值": _text(r["actual_display"]),
                    "分值": formats.score(r["weight"]),
                    "得分": formats.score(s),
                    "得分率": formats.percent(r["score_rate"], 1),
                    "评定": _text(r["tier"]),
                }
            )
        sub = round(lv["score"], 2)
        if abs(sum(shown) - sub) > 0.001:
            gaps.append((lv["name"], sum(shown), sub))
        rows.append(
            {
                "一级指标": f"{lv['name']}小计",
                "二级指标": "",
                "三级指标": "",
                "年度指标值": "",
                "实际完成值": "",
                "分值": formats.score(lv["weight"]),
                "得分": formats.score(sub),
                "得分率": formats.percent(lv["rate"], 1),
                "评定": "",
            }
        )
    subs = [round(lv["score"], 2) for lv in level1_rows(frame)]
    tot = round(float(total), 2)
    if abs(sum(subs) - tot) > 0.001:
        gaps.append(("合计", sum(subs), tot))
    rows.append(
        {
            "一级指标": "合计",
            "二级指标": "",
            "三级指标": "",
            "年度指标值": "",
            "实际完成值": "",
            "分值": formats.score(
                pd.to_numeric(frame["weight"], errors="coerce").sum()
            ),
            "得分": formats.score(tot),
            "得分率": "",
            "评定": grade,
        }
    )
    note = ""
    if gaps:
        parts = "；".join(
            f"{name}：所列分项之和为{formats.score(shown)}分，"
            f"按未经舍入的得分计算为{formats.score(sub)}分"
            for name, shown, sub in gaps
        )
        note = (
            "注：表中得分均四舍五入保留两位小数，小计和合计按未经舍入的得分计算后再舍入，"
            f"与所列分项之和的差异系尾差所致（{parts}）。评价等级按合计得分确定。"
        )
    return pd.DataFrame(rows), note


def _score_table(inp: Inputs, key: str) -> Table:
    fr = inp.scorecard_frame
    f = inp.facts
    disp, note = score_rows(fr, f.total, f.grade_scored)
    na = _redistributed(fr)
    notes = [n for n in (note, _NA_NOTE if na else "") if n]
    return Table(
        f"{inp.year}年度绩效评价评分表",
        disp,
        key=key,
        data=fr,
        footnote="\n".join(notes),
    )


def _redistributed(frame: pd.DataFrame) -> bool:
    """Whether N/A weights were redistributed (effective ≠ nominal weights)."""
    if "weight_nominal" not in frame:
        return False
    a = pd.to_numeric(frame["weight"], errors="coerce").fillna(0)
    b = pd.to_numeric(frame["weight_nominal"], errors="coerce").fillna(0)
    return bool(((a - b).abs() > 1e-9).any())


_NA_NOTE = (
    "注：分值为按规则重新分配后的有效分值——本年度不适用的指标，其分值按指标设置文件的"
    "不适用处理规则分配至其他指标，总分仍为100分。"
)


# --------------------------------------------------------------------- chapters
def _summary(inp: Inputs) -> list[Section]:
    s = Section("summary", "摘要", 0, page_break=False)
    for p in render("zh/summary.txt.j2", inp.ctx()):
        s.add(p)
    return [s]


def _preface(inp: Inputs) -> list[Section]:
    s = Section("preface", "前言", 0, page_break=True)
    text = inp.narrative.sections.get("preface")
    for p in [text] if text else render("zh/preface.txt.j2", inp.ctx()):
        s.add(p)
    # the scorecard's warnings stay visible even when the preface is rewritten
    for w in inp.facts.warnings:
        s.add(Paragraph(f"评价提示：{w}", "lead"))
    return [s]


def _ch1(inp: Inputs) -> list[Section]:
    f = inp.facts
    ch = Section("ch1", "基本情况", 1, page_break=True)
    s1 = Section("ch1_1", "政策概况", 2)
    for p in render("zh/ch1_overview.txt.j2", inp.ctx()):
        s1.add(p)
    statuses = inp.targets.policies.approved_statuses
    a = factsmod.approved(factsmod.table(inp.ds, "awards"), inp.year, statuses)
    if len(a):
        pt = inp.distribution()["categories"]
        table = _protected_table(
            pt, f"{inp.year}年度各支持类别核定项目情况", "categories"
        )
        table.footnote = _unique_total_note(a, "category", table.footnote)
        s1.add(table)
    s2 = Section("ch1_2", "政策绩效目标", 2)
    reclassified = [
        i.level3
        for i in f.indicators
        if i.level1_as_printed and i.level1_as_printed != i.level1
    ]
    for p in render("zh/ch1_targets.txt.j2", inp.ctx(reclassified=reclassified)):
        s2.add(p)
    if f.indicators:
        t = pd.DataFrame(
            [
                {
                    "一级指标": i.level1,
                    "二级指标": i.level2,
                    "三级指标": i.level3,
                    "年度指标值": i.target,
                }
                for i in f.indicators
            ]
        )
        s2.add(
            Table(
                f"{inp.facts.targets_year or inp.year}年度绩效指标表（摘自绩效目标申报表）",
                t,
                key="targets",
            )
        )
    return [ch, s1, s2]


def _ch2(inp: Inputs) -> list[Section]:
    out = [Section("ch2", "绩效评价工作开展情况", 1, page_break=True)]
    parts = ["purpose", "system", "data", "process", "limits"]
    for part, (key, heading, level) in zip(parts, OUTLINE[6:11]):
        s = Section(key, heading, level)
        for p in render("zh/ch2.txt.j2", inp.ctx(part=part)):
            s.add(p)
        if part == "system" and inp.scorecard_frame is not None:
            lv = level1_rows(inp.scorecard_frame)
            t = pd.DataFrame(
                {
                    "一级指标": [x["name"] for x in lv],
                    "分值": [formats.score(x["weight"]) for x in lv],
                }
            )
            t.loc[len(t)] = ["合计", formats.score(sum(x["weight"] for x in lv))]
            s.add(Table("评价指标体系及分值", t, key="weights"))
        out.append(s)
    return out


def _previous_table(inp: Inputs) -> Table:
    """Both years on the same scheme and targets; points, scores and rates."""
    from jdeval.indicators import formulas as F

    cur = inp.scorecard_frame.set_index("id")
    old = inp.previous.to_frame().set_index("id")
    py = inp.facts.previous.year
    rows = []
    for i, r in cur.iterrows():
        o = old.loc[i] if i in old.index else None
        o_na = o is None or o["tier"] == F.NOT_APPLICABLE
        c_na = r["tier"] == F.NOT_APPLICABLE
        rate_o = None if o_na else o["score_rate"]
        rate_c = None if c_na else r["score_rate"]
        diff = (
            "—"
            if rate_o is None or rate_c is None
            else f"{round(100 * rate_c, 1) - round(100 * rate_o, 1):+.1f}"
        )
        rows.append(
            {
                "三级指标": str(r["level3"]),
                f"{py}年分值": "不适用" if o_na else formats.score(o["weight"]),
                f"{py}年得分": "不适用" if o_na else formats.score(o["score"]),
                f"{py}年得分率": "不适用" if o_na else formats.percent(rate_o, 1),
                f"{inp.year}年分值": "不适用" if c_na else formats.score(r["weight"]),
                f"{inp.year}年得分": "不适用" if c_na else formats.score(r["score"]),
                f"{inp.year}年得分率": "不适用" if c_na else formats.percent(rate_c, 1),
                "得分率变化（百分点）": diff,
            }
        )
    na = inp.facts.previous.not_applicable
    note = (
        f"注：{py}年得分按{inp.year}年度的指标体系、权重方案和评分规则重新计算，两年口径一致。"
        + (
            f"{py}年“{'”“'.join(na)}”不适用，其分值按规则分配给其他指标，故两年部分指标的分值不同，"
            "逐项比较以得分率为准。"
            if na
            else ""
        )
    )
    return Table(
        "各指标得分与上年比较（同一口径）",
        pd.DataFrame(rows),
        key="score_trend_table",
        footnote=note,
    )


def _ch3(inp: Inputs) -> list[Section]:
    s = Section("ch3", "综合评价情况及评价结论", 1, page_break=True)
    f = inp.facts
    for p in render("zh/ch3.txt.j2", inp.ctx()):
        s.add(p)
    s.add(_score_table(inp, "scores"))
    s.add(
        _fig(
            partial(charts.score_by_level, inp.scorecard_frame, title=None),
            "各一级指标得分与分值",
            "score_by_level",
        )
    )
    if f.previous is not None:
        tr = pd.DataFrame(
            {
                "year": [f.previous.year, inp.year],
                "score": [round(f.previous.total, 2), round(f.total, 2)],
            }
        )
        s.add(
            _fig(
                partial(
                    charts.trend,
                    tr,
                    y="score",
                    ylabel="综合得分（分）",
                    title=None,
                    highlight=inp.year,
                ),
                f"综合得分与上年比较（{f.previous.year}年按{inp.year}年度指标体系和评分规则重新计算）",
                "score_trend",
            )
        )
        s.add(_previous_table(inp))
    return [s]


def _part_of(level1: str, inp: Inputs) -> str:
    """Which part of chapter 四 an indicator's 一级指标 belongs to (by the template)."""
    return render("zh/parts.txt.j2", {"level1": level1})[0]


def _indicator_paragraphs(inp: Inputs, part: str) -> list[str]:
    out = []
    for it in inp.facts.indicators:
        if _part_of(it.level1, inp) == part:
            out += render("zh/indicator.txt.j2", inp.ctx(it=it))
    return out


def _funds_trend(inp: Inputs) -> Figure | None:
    aw = factsmod.table(inp.ds, "awards")
    if aw.empty or "batch_year" not in aw:
        return None
    years = [y for y in inp.ds.batch_years if y <= inp.year]
    if len(years) < 2:
        return None
    statuses = inp.targets.policies.approved_statuses
    rows = [
        {
            "year": y,
            "amount": float(
                pd.to_numeric(
                    factsmod.approved(aw, y, statuses)["approved_amount"],
                    errors="coerce",
                ).sum()
            ),
        }
        for y in years
    ]
    draw = partial(
        charts.trend,
        pd.DataFrame(rows),
        y="amount",
        ylabel="万元",
        title=None,
        highlight=inp.year,
    )
    return _fig(
        draw,
        "各批次年度核定补贴金额（万元，按各批次有效核定项目计，不含已追回项目）",
        "funds_trend",
    )


def _ch4(inp: Inputs) -> list[Section]:
    f = inp.facts
    ch = Section("ch4", "绩效评价指标分析", 1, page_break=True)
    secs = {}
    for part, (key, heading) in zip(
        _PARTS,
        (
            ("ch4_1", "政策决策情况"),
            ("ch4_2", "政策过程情况"),
            ("ch4_3", "政策产出情况"),
            ("ch4_4", "政策效益情况"),
        ),
    ):
        s = Section(key, heading, 2)
        for p in render("zh/ch4.txt.j2", inp.ctx(part=part)):
            s.add(p)
        for p in _indicator_paragraphs(inp, part):
            s.add(p)
        secs[part] = s
    ft = _funds_trend(inp)
    if ft is not None:
        secs["process"].add(ft)
    towns = f.population.towns
    if towns:
        tf = pd.DataFrame([t.__dict__ for t in towns])
        draw = partial(
            charts.bars,
            tf.assign(rate=tf["rate"] * 100),
            label="town_name",
            value="rate",
            xlabel="获支持规上企业占比（%）",
            target=(f.population.district_rate or 0) * 100,
            target_label="全区平均",
            suppressed=~tf["shown"].to_numpy(),
        )
        secs["output"].add(
            _fig(draw, f"{inp.year}年度各街镇规上企业政策覆盖率", "town_coverage")
        )
    s4 = secs["benefit"]
    items = getattr(inp.survey, "items", None)
    if isinstance(items, pd.DataFrame) and "n" in items and inp.audience == "reviewer":
        items = items.loc[
            pd.to_numeric(items["n"], errors="coerce").fillna(0) >= inp.min_firms
        ]
    if isinstance(items, pd.DataFrame) and not items.empty and "share_5" in items:
        wide = items.set_index(items.get("item_zh", items["item"]))[
            [f"share_{k}" for k in (5, 4, 3, 2, 1)]
        ]
        wide.columns = [5, 4, 3, 2, 1]
        s4.add(
            _fig(
                partial(charts.satisfaction_distribution, wide, title=None),
                "满意度调查各题选项分布",
                "satisfaction",
            )
        )
    kp = _kpi_table(inp)
    if kp is not None:
        s4.add(kp)
    s5 = Section("ch4_5", "政策效应的因果分析", 3)
    _effects_section(inp, s5)
    return [ch, secs["decision"], secs["process"], secs["output"], s4, s5]


def _kpi_table(inp: Inputs) -> Table | None:
    """Supplementary KPIs (weight 0, domain-spec §4.3) from the scorecard."""
    k = getattr(inp.scorecard, "kpis", None)
    if not isinstance(k, pd.DataFrame) or k.empty:
        return None
    disp = []
    for rec in k.to_dict("records"):
        text = _text(rec.get("actual_display"))
        if inp.audience == "reviewer":
            text = str(disclosure.redact_display(text, min_firms=inp.min_firms))
            n = rec.get("actual")
            # a count of funded firms below the threshold: the amount beside it is
            # one or two firms' figure
            if (
                rec.get("unit") == "家/万元"
                and not formats.is_missing(n)
                and 0 < float(n) < inp.min_firms
            ):
                text = f"{disclosure.MARK}（不足{inp.min_firms}家，不予显示）"
        disp.append(
            {
                "指标": _text(rec.get("name")),
                "目标": formats.kpi_target_text(_text(rec.get("target"))) or "—",
                "实际": text,
                "来源": _text(rec.get("source")) or "本次评价测算",
            }
        )
    off = [p.kpi_name or p.name_zh for p in inp.facts.plan_targets]
    note = (
        f"注：{'、'.join(off)}落后于行动计划目标的进度，见第五部分（二）。"
        if off
        else ""
    )
    return Table(
        "补充绩效指标（不计分）", pd.DataFrame(disp), key="kpis", footnote=note
    )


def _rules_params() -> dict[str, Any]:
    from jdeval.report.narrative import load_rules

    return load_rules().params


def _effects_table(inp: Inputs) -> Table:
    labels = _rules_params().get("strength_zh", {})
    rows = []
    for e in inp.facts.effects:
        rows.append(
            {
                "结果变量": e.outcome_zh,
                "估计值": e.shown,
                "95%置信区间": e.shown_ci,
                "p值": formats.pvalue(e.p_value),
                "处理前趋势检验p值": formats.pvalue(e.pretest_p),
                "同号且显著的对比设定": f"{e.n_agree}/{e.n_checks}",
                "证据强度": labels.get(e.strength, e.strength),
                "受资助企业数": formats.integer(e.n_treated),
            }
        )
    rule = inp.targets.policies.report.evidence
    note = render("zh/evidence_rule.txt.j2", {"rule": rule, "labels": labels})
    return Table(
        "政策效应主估计结果及证据强度（多期双重差分）",
        pd.DataFrame(rows),
        key="effects",
        footnote="".join(note),
    )


def _checks_table(inp: Inputs) -> Table | None:
    rows = []
    for e in inp.facts.effects:
        unit = evidence.compact_unit(e.scale) if e.scale == "ratio" else ""
        for c in e.checks:
            rows.append(
                {
                    # the headline's unit (个百分点, 对数点), as in the table above
                    "结果变量": e.outcome_zh + (f"（{unit}）" if unit else ""),
                    "对比设定": c.name_zh,
                    "估计值": evidence.compact(c.estimate, e.scale),
                    "95%置信区间": f"{evidence.compact(c.ci_low, e.scale)}至"
                    f"{evidence.compact(c.ci_high, e.scale)}",
                    "p值": formats.pvalue(c.p_value),
                    "与主估计同号且显著": "是" if c.agrees else "否",
                }
            )
    if not rows:
        return None
    return Table(
        "稳健性检验：各对比设定的估计", pd.DataFrame(rows), key="effects_checks"
    )


def _effects_section(inp: Inputs, s5: Section) -> None:
    f, eff = inp.facts, inp.effects
    for p in render("zh/effects.txt.j2", inp.ctx()):
        s5.add(p)
    if not f.effects:
        return
    s5.add(_effects_table(inp))
    ct = _checks_table(inp)
    if ct is not None:
        s5.add(ct)
    studies = getattr(eff, "event_studies", None) or {}
    missing = []
    for e in f.effects:
        res = studies.get(e.outcome)
        if res is None:
            missing.append(e.outcome_zh)
            continue
        es = res.to_frame()
        pre = (
            ""
            if e.pretest_p is None
            else f"处理前趋势检验{formats.p_text(e.pretest_p)}"
        )
        # the base period (or its absence) is stated on the chart itself
        note = "注：横轴为相对首次获补年份的时间；阴影为95%置信区间。"
        if pre:
            note += pre + (
                "。"
                if e.pretest_ok is not False
                else "，获补前已有差异，平行趋势假设存疑。"
            )
        s5.add(
            _fig(
                partial(
                    charts.event_study,
                    es,
                    title=None,
                    ylabel=e.outcome_zh,
                    scale=e.scale,
                ),
                f"{e.outcome_zh}的事件研究估计（95%置信区间）",
                f"event_{e.outcome}",
                note=note,
            )
        )
    if missing:
        s5.add(
            Paragraph(
                f"注：{'、'.join(missing)}未能估计事件研究（处理前后时期不足），不作图。",
                "note",
            )
        )


def _ch5(inp: Inputs) -> list[Section]:
    n = inp.narrative
    ch = Section("ch5", "主要经验及做法、存在的问题及原因分析", 1, page_break=True)
    s1 = Section("ch5_1", "主要经验及做法", 2)
    for i, e in enumerate(n.experience, 1):
        s1.add(Paragraph(f"{i}. {e}"))
    if not n.experience:
        s1.add("本年度数据未显示可总结推广的突出做法。")
    s2 = Section("ch5_2", "存在的问题及原因分析", 2)
    if not n.problems:
        s2.add("评价未发现需要重点关注的问题。")
    for i, p in enumerate(n.problems, 1):
        s2.add(Paragraph(f"{i}. {p.title}", "lead"), Paragraph(p.problem))
        if p.cause:
            s2.add(Paragraph(f"原因分析：{p.cause}"))
    return [ch, s1, s2]


def _ch6(inp: Inputs) -> list[Section]:
    s = Section("ch6", "有关建议", 1, page_break=True)
    if not inp.narrative.problems:
        s.add("评价未发现需要整改的问题，建议按现行办法继续实施并做好绩效监控。")
    for i, p in enumerate(inp.narrative.problems, 1):
        s.add(
            Paragraph(f"{i}. 针对问题{i}（{p.title}）", "lead"),
            Paragraph(p.recommendation),
        )
    return [s]


def _ch7(inp: Inputs) -> list[Section]:
    s = Section("ch7", "其他需要说明的问题", 1, page_break=True)
    for p in render("zh/ch7.txt.j2", inp.ctx()):
        s.add(p)
    for t in inp.narrative.other_matters:
        s.add(t)
    for v in inp.unavailable.values():
        s.add(Paragraph(v, "note"))
    return [s]


def _annex1(inp: Inputs) -> Section:
    a1 = Section("annex1", "附件1 评分表", 0, page_break=True)
    a1.add(_score_table(inp, "scorecard_full"))
    a1.add(Paragraph("各指标数据来源", "lead"))
    for it in inp.facts.indicators:
        if it.source:
            a1.add(Paragraph(f"{it.level3}：{it.source}", "note"))
    return a1


def _annex2(inp: Inputs) -> Section:
    a2 = Section("annex2", "附件2 指标体系及评分标准", 0, page_break=True)
    pol = inp.targets.policies
    rows = []
    for it in inp.facts.indicators:
        rule = render("zh/rubric.txt.j2", {"scoring": it.scoring, "p": pol})
        rows.append(
            {
                "三级指标": it.level3,
                "年度指标值": it.target,
                "分值": formats.score(it.weight),
                "评分标准": rule[0] if rule else "",
            }
        )
    a2.add(Table("三级指标评分标准", pd.DataFrame(rows), key="rubric"))
    for p in render(
        "zh/rubric.txt.j2",
        {"scoring": "_grades", "p": pol, "cap_rule": inp.facts.grade_cap_rule},
    ):
        a2.add(p)
    return a2


def _annex3(inp: Inputs) -> Section:
    a3 = Section("annex3", "附件3 数据清单", 0, page_break=True)
    tables = getattr(inp.ds, "tables", {}) or {}
    files = getattr(inp.ds, "files", {}) or {}
    c = factsmod._contract()
    rows = [
        {
            "数据表": c.tables[k].zh if k in c.tables else k,
            "记录数": formats.integer(len(v)),
            "是否提供": "是" if k in files else "否（未提供）",
        }
        for k, v in tables.items()
    ]
    if rows:
        a3.add(Table("评价数据清单", pd.DataFrame(rows), key="data_inventory"))
    return a3


def _annex4(inp: Inputs) -> Section:
    a4 = Section("annex4", "附件4 问卷及统计结果", 0, page_break=True)
    items = getattr(inp.survey, "items", None)
    if not isinstance(items, pd.DataFrame) or items.empty:
        a4.add(inp.unavailable.get("survey", "满意度调查无有效回答。"))
        return a4
    t = pd.DataFrame(
        {
            "题目": items.get("item_zh", items["item"]).astype(str),
            "有效回答": items["n"].map(formats.integer) if "n" in items else "",
            "满意度指数": items["index"].map(lambda v: formats.number(v, 2)),
            "满意率": items["top2_rate"].map(lambda v: formats.percent(v, 1))
            if "top2_rate" in items
            else "",
        }
    )
    for p in render(
        "zh/rubric.txt.j2", {"scoring": "_survey", "p": inp.targets.policies}
    ):
        a4.add(p)
    if inp.audience == "reviewer" and "n" in items:
        small = (
            pd.to_numeric(items["n"], errors="coerce")
            .fillna(0)
            .lt(inp.min_firms)
            .to_numpy()
        )
        for col in ("满意度指数", "满意率"):
            t.loc[small, col] = disclosure.MARK
    a4.add(
        Table(
            "满意度调查各题统计结果",
            t,
            key="survey_items",
            footnote=f"注：“{disclosure.MARK}”表示有效回答少于{inp.min_firms}份，不予显示。"
            if (t == disclosure.MARK).any().any()
            else "",
        )
    )
    return a4


def _annex5(inp: Inputs, aw: pd.DataFrame) -> Section:
    a5 = Section("annex5", "附件5 受益企业清单（脱敏）", 0, page_break=True)
    if inp.audience == "internal":
        firms = factsmod.table(inp.ds, "firms")
        if {"firm_id", "name_masked"} <= set(firms.columns):
            aw = aw.merge(firms[["firm_id", "name_masked"]], on="firm_id", how="left")
    if len(aw):
        ann = disclosure.beneficiary_annex(
            aw,
            audience=inp.audience,
            min_firms=inp.min_firms,
            dominance=inp.dominance,
            labels={
                "category": factsmod.category_labels(),
                "town_code": factsmod.town_labels(inp.ds),
            },
        )
        for c in ann.columns:
            if "万元" in c:
                ann[c] = ann[c].map(lambda v: formats.wan(v, unit=False))
        ann = ann.astype(object).where(ann.notna(), "").astype(str)
        a5.add(
            "评审版清单以序号代替企业名称，不含统一社会信用代码、所属街镇和行业等可识别信息，补贴金额以区间表示。"
            if inp.audience == "reviewer"
            else "内部版清单含企业和项目编号，仅供内部使用。"
        )
        caption = f"{inp.year}年度受益企业清单（按核定项目逐项列示）"
        a5.add(Table(caption, ann, key="beneficiaries"))
    return a5


def _annex6(inp: Inputs, aw: pd.DataFrame) -> Section:
    a6 = Section("annex6", "附件6 街镇及行业分布表", 0, page_break=True)
    if not len(aw):
        return a6
    dist = inp.distribution()
    pt = dist["by_town"]
    a6.add(_protected_table(pt, "各街镇受益单位数及核定金额", "by_town"))
    if "by_industry" in dist:
        caption = "各行业大类受益单位数及核定金额"
        a6.add(_protected_table(dist["by_industry"], caption, "by_industry"))
    caption = "各街镇分支持类别核定金额（万元）"
    a6.add(_protected_table(dist["town_by_category"], caption, "town_by_category"))
    shown = pt.values.drop(index=pt.values.index[-1])
    bf = shown.reset_index()
    bf.columns = ["town", "firms", "amount"]
    a6.add(
        _fig(
            partial(
                charts.bars,
                bf,
                label="town",
                value="amount",
                xlabel="万元",
                suppressed=bf["amount"].isna().to_numpy(),
            ),
            "各街镇核定补贴金额（万元）",
            "town_amounts",
        )
    )
    return a6


def _annexes(inp: Inputs) -> list[Section]:
    aw = factsmod.approved(
        factsmod.table(inp.ds, "awards"),
        inp.year,
        inp.targets.policies.approved_statuses,
    )
    return [
        _annex1(inp),
        _annex2(inp),
        _annex3(inp),
        _annex4(inp),
        _annex5(inp, aw),
        _annex6(inp, aw),
        selfeval.annex_section(inp, "annex7"),  # 财预〔2020〕10号附件2
    ]


def build_sections(inp: Inputs) -> list[Section]:
    """All sections of the report in outline order."""
    out: list[Section] = []
    for fn in (_summary, _preface, _ch1, _ch2, _ch3, _ch4, _ch5, _ch6, _ch7, _annexes):
        out += fn(inp)
    return out
