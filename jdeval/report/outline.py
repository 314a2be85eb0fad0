"""Build the report's sections (domain-spec §5 outline) from facts and results.

Each ``_chN`` function returns the sections of one chapter.  Wording comes from the
Jinja2 templates in ``templates/zh`` (and ``templates/en`` for the summary); tables
of aggregates about firms pass through :func:`jdeval.report.disclosure.protect`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from jdeval.report import charts, disclosure, formats
from jdeval.report import facts as factsmod
from jdeval.report.document import Figure, Paragraph, Section, Table
from jdeval.report.narrative import Narrative
from jdeval.report.textenv import paragraphs, text_env

__all__ = ["OUTLINE", "Inputs", "build_sections"]

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
)

_EN_TITLES = {
    "coverage_target_missed": "number of enterprises covered below target",
    "missed_target": "an indicator not fully achieved",
    "late_payment_tail": "a tail of slow subsidy payments",
    "low_town_coverage": "low coverage in some towns",
    "insignificant_effect": "an effect not statistically significant",
    "low_survey_response": "survey sample not representative enough",
    "cap_violations": "awards above the subsidy standard",
    "over_target": "targets set too low (large over-achievement)",
    "low_satisfaction": "satisfaction below target",
}

_DIRECTION_RULE = {
    "positive": "正向指标：得分＝分值×min(1, 实际值/指标值)；超过指标值30%以上标记并说明。",
    "negative": "反向指标：实际值≤指标值得满分，否则得分＝分值×指标值/实际值。",
    "cap": "补贴标准（单位成本）：得分＝分值×核定金额不超过标准的项目占比。",
    "exact": "定额指标：得分＝分值×max(0, 1−|实际−指标|/指标)。",
    "deadline": "时限指标：得分＝分值×按期（或在途未超180天）拨付项目占比。",
    "trend_up": "增长类指标：较上年增长得满分；变化在−5%至0之间得70%；下降超过5%得40%。",
    "qualitative": "定性指标：按证据清单逐项评定（达成1、部分0.5、未达成0），"
    "得分＝分值×加权完成度；≥80%为达成，60%—80%为部分达成。",
}
#: Short category names for wide cross tables.
_SHORT_CATEGORY = {
    "DIAG": "诊断评估",
    "SF_DISTRICT": "区级智能工厂",
    "SF_CITY_DEMO": "市示范智能工厂",
    "PROVIDER": "服务商",
    "LOAN_INTEREST": "贷款贴息",
    "ID_RESOLUTION": "标识解析",
    "IIP_PLATFORM": "互联网平台",
    "SCENE": "场景标杆",
}
_LEVEL1_ORDER = [
    "决策",
    "决策指标",
    "过程",
    "过程指标",
    "预算执行率",
    "成本",
    "成本指标",
    "产出",
    "产出指标",
    "效益",
    "效益指标",
    "满意度",
    "满意度指标",
]
#: 一级指标 names (both schemes' spellings) analysed in each part of chapter 四.
_GROUPS = {
    "decision": {"决策", "决策指标"},
    "process": {"过程", "过程指标", "预算执行率"},
    "output": {"成本", "成本指标", "产出", "产出指标"},
    "benefit": {"效益", "效益指标", "满意度", "满意度指标"},
}


@dataclass
class Inputs:
    """Everything the outline needs (results may be ``None`` when unavailable)."""

    year: int
    audience: str
    facts: dict[str, Any]
    narrative: Narrative
    ds: Any = None
    scorecard: Any = None
    scorecard_frame: pd.DataFrame | None = None
    survey: Any = None
    effects: Any = None
    previous_frame: pd.DataFrame | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    cover: dict[str, str] = field(default_factory=dict)
    unavailable: dict[str, str] = field(default_factory=dict)
    min_firms: int = 3
    dominance: float = 0.85

    def ctx(self, **extra: Any) -> dict[str, Any]:
        m = self.meta
        period = f"{_ym(m.get('period_start', '2023-08'))}至{_ym(m.get('period_end', '2025-12'))}"
        return {
            **self.facts,
            "meta": _Meta(m),
            "cover": self.cover,
            "policy_period": period,
            "policy_period_en": f"{_ym_en(m.get('period_start', '2023-08'))} to "
            f"{_ym_en(m.get('period_end', '2025-12'))}",
            "unavailable": self.unavailable,
            "top": self.narrative.top(3),
            **extra,
        }


def _ym(text: Any) -> str:
    """``2023-08`` → ``2023年8月``."""
    try:
        y, m = str(text).split("-")[:2]
        return f"{int(y)}年{int(m)}月"
    except ValueError:
        return str(text)


def _ym_en(text: Any) -> str:
    """``2023-08`` → ``August 2023``."""
    import calendar

    try:
        y, m = str(text).split("-")[:2]
        return f"{calendar.month_name[int(m)]} {int(y)}"
    except (ValueError, IndexError):
        return str(text)


class _Meta(dict):
    """Declaration meta where a missing key reads as ``""`` in templates."""

    def __getattr__(self, k: str) -> Any:
        return self.get(k) or ""


def _render(name: str, ctx: Mapping[str, Any]) -> list[str]:
    return paragraphs(text_env().get_template(name).render(**ctx))


def _fig(fig, caption: str, key: str, note: str = "") -> Figure:
    return Figure.from_matplotlib(fig, caption, key=key, note=note)


def _protected_table(pt: disclosure.ProtectedTable, caption: str, key: str) -> Table:
    return Table(caption, pt.frame, footnote=pt.footnote, key=key, index=True, data=pt)


# ----------------------------------------------------------------- scorecard views
def _score_display(frame: pd.DataFrame) -> pd.DataFrame:
    """The score table (三 and 附件1): one row per 三级指标 plus the total."""
    cols = {
        "level1": "一级指标",
        "level2": "二级指标",
        "level3": "三级指标",
        "target_raw": "年度指标值",
        "actual_display": "实际完成值",
        "weight": "分值",
        "score": "得分",
        "score_rate": "得分率",
        "tier": "评定",
    }
    f = frame.copy()
    for c in cols:
        if c not in f:
            f[c] = ""
    wcol = _weight_col(f)
    out = pd.DataFrame(
        {
            "一级指标": f["level1"].astype(str),
            "二级指标": f["level2"].astype(str),
            "三级指标": f["level3"].astype(str),
            "年度指标值": f["target_raw"].astype(str),
            "实际完成值": f["actual_display"].map(
                lambda v: "" if formats.is_missing(v) else str(v)
            ),
            "分值": f[wcol].map(formats.score),
            "得分": f["score"].map(formats.score),
            "得分率": f["score_rate"].map(lambda v: formats.percent(v, 1)),
            "评定": f["tier"].map(lambda v: "" if formats.is_missing(v) else str(v)),
        }
    )
    total_w = pd.to_numeric(f[wcol], errors="coerce").sum()
    total_s = pd.to_numeric(f["score"], errors="coerce").sum()
    row = {c: "" for c in out.columns}
    row.update(
        {
            "一级指标": "合计",
            "分值": formats.score(total_w),
            "得分": formats.score(total_s),
            "评定": formats.grade(total_s),
        }
    )
    return pd.concat([out, pd.DataFrame([row])], ignore_index=True)


def _score_table(year: int, frame: pd.DataFrame, key: str) -> Table:
    """The 评分表 of ``frame`` (in 三 and again in 附件1), with the N/A footnote."""
    return Table(
        f"{year}年度绩效评价评分表",
        _score_display(frame),
        key=key,
        data=frame,
        footnote=_NA_NOTE if _redistributed(frame) else "",
    )


def _weight_col(frame: pd.DataFrame) -> str:
    """``weight_effective`` (after N/A redistribution) when the scorecard has it."""
    return "weight_effective" if "weight_effective" in frame else "weight"


def _redistributed(frame: pd.DataFrame) -> bool:
    """Whether N/A weights were redistributed (effective ≠ nominal weights)."""
    if "weight_effective" in frame:
        a, b = frame["weight_effective"], frame["weight"]
    elif "weight_nominal" in frame:
        a, b = frame["weight"], frame["weight_nominal"]
    else:
        return False
    a = pd.to_numeric(a, errors="coerce").fillna(0)
    b = pd.to_numeric(b, errors="coerce").fillna(0)
    return bool(((a - b).abs() > 1e-9).any())


_NA_NOTE = (
    "注：分值为按规则重新分配后的有效分值——本年度不适用的指标，其分值按比例分配至"
    "同一级指标下的其他三级指标，总分仍为100分。"
)


def _level1(frame: pd.DataFrame) -> list[dict[str, Any]]:
    wcol = _weight_col(frame)
    g = (
        frame.assign(weight=frame[wcol])
        .groupby("level1", sort=False)[["weight", "score"]]
        .sum(min_count=1)
    )
    rank = {n: i for i, n in enumerate(_LEVEL1_ORDER)}
    g = g.iloc[sorted(range(len(g)), key=lambda i: rank.get(g.index[i], 99))]
    out = []
    for name, r in g.iterrows():
        w, s = float(r["weight"] or 0), r["score"]
        out.append(
            {
                "name": name,
                "weight": w,
                "score": s,
                "rate": (float(s) / w) if w and not formats.is_missing(s) else None,
            }
        )
    return out


# --------------------------------------------------------------------- chapters
def _summary(inp: Inputs) -> list[Section]:
    s = Section("summary", "摘要", 0, page_break=False)
    for p in _render("zh/summary.txt.j2", inp.ctx()):
        s.add(p)
    en = _render(
        "en/summary.txt.j2",
        inp.ctx(
            department_en="Jiading District Economic Commission", en_titles=_EN_TITLES
        ),
    )
    s.add(Paragraph("English summary", "lead"))
    for p in en:
        s.add(Paragraph(p, "note"))
    return [s]


def _preface(inp: Inputs) -> list[Section]:
    s = Section("preface", "前言", 0, page_break=True)
    text = inp.narrative.sections.get("preface")
    for p in [text] if text else _render("zh/preface.txt.j2", inp.ctx()):
        s.add(p)
    return [s]


def _ch1(inp: Inputs) -> list[Section]:
    f = inp.facts
    ch = Section("ch1", "基本情况", 1, page_break=True)
    s1 = Section("ch1_1", "政策概况", 2)
    for p in _render("zh/ch1_overview.txt.j2", inp.ctx()):
        s1.add(p)
    a = factsmod.approved(factsmod._table(inp.ds, "awards"), inp.year)
    if len(a):
        pt = disclosure.protect(
            a,
            "category",
            "approved_amount",
            firm="beneficiary",
            audience=inp.audience,
            min_firms=inp.min_firms,
            dominance=inp.dominance,
            labels={"category": factsmod.category_labels()},
            firms_label="受益单位数（家）",
            value_label="核定金额（万元）",
        )
        pt.frame.index.name = "支持类别"
        s1.add(
            _protected_table(pt, f"{inp.year}年度各支持类别核定项目情况", "categories")
        )
    s2 = Section("ch1_2", "政策绩效目标", 2)
    inds = f["indicators"]
    reclassified = [
        i["level3"]
        for i in inds
        if i.get("level1_as_printed") and i["level1_as_printed"] != i["level1"]
    ]
    for p in _render("zh/ch1_targets.txt.j2", inp.ctx(reclassified=reclassified)):
        s2.add(p)
    if inds:
        t = pd.DataFrame(
            [
                {
                    "一级指标": i["level1"],
                    "二级指标": i["level2"],
                    "三级指标": i["level3"],
                    "年度指标值": i["target_raw"],
                }
                for i in inds
            ]
        )
        s2.add(
            Table(f"{inp.year}年度绩效指标表（摘自绩效目标申报表）", t, key="targets")
        )
    return [ch, s1, s2]


def _ch2(inp: Inputs) -> list[Section]:
    out = [Section("ch2", "绩效评价工作开展情况", 1, page_break=True)]
    parts = [
        ("ch2_1", "purpose"),
        ("ch2_2", "system"),
        ("ch2_3", "data"),
        ("ch2_4", "process"),
        ("ch2_5", "limits"),
    ]
    for (key, part), (_, heading, level) in zip(parts, OUTLINE[6:11]):
        s = Section(key, heading, level)
        for p in _render("zh/ch2.txt.j2", inp.ctx(part=part)):
            s.add(p)
        if part == "system" and inp.scorecard_frame is not None:
            lv = _level1(inp.scorecard_frame)
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


def _ch3(inp: Inputs) -> list[Section]:
    s = Section("ch3", "综合评价情况及评价结论", 1, page_break=True)
    fr = inp.scorecard_frame
    lv = _level1(fr) if fr is not None else []
    for p in _render("zh/ch3.txt.j2", inp.ctx(level1=lv)):
        s.add(p)
    if fr is not None:
        s.add(_score_table(inp.year, fr, "scores"))
        s.add(
            _fig(
                charts.score_by_level(fr, title=None),
                "各一级指标得分与分值",
                "score_by_level",
            )
        )
    prev = inp.facts.get("previous")
    if prev and prev.get("total") is not None and fr is not None:
        tr = pd.DataFrame(
            {
                "year": [prev["year"], inp.year],
                "score": [prev["total"], inp.facts["total"]],
            }
        )
        s.add(
            _fig(
                charts.trend(
                    tr, y="score", ylabel="综合得分", title=None, highlight=inp.year
                ),
                "综合得分与上年比较",
                "score_trend",
            )
        )
        if inp.previous_frame is not None:
            cur = fr.set_index("id")[["level3", "score"]]
            old = inp.previous_frame.set_index("id")["score"].rename("prev")
            j = cur.join(old, how="left")
            t = pd.DataFrame(
                {
                    "三级指标": j["level3"].astype(str),
                    f"{prev['year']}年得分": j["prev"].map(formats.score),
                    f"{inp.year}年得分": j["score"].map(formats.score),
                    "变化": (j["score"] - j["prev"]).map(
                        lambda v: "—" if formats.is_missing(v) else f"{v:+.2f}"
                    ),
                }
            )
            s.add(Table("各指标得分与上年比较", t, key="score_trend_table"))
    return [s]


def _indicator_paragraphs(inp: Inputs, level1s: set[str]) -> list[str]:
    out = []
    for it in inp.facts["indicators"]:
        if it["level1"] in level1s:
            out += _render("zh/indicator.txt.j2", inp.ctx(it=it))
    return out


def _funds_trend(inp: Inputs) -> Figure | None:
    aw = factsmod._table(inp.ds, "awards")
    if aw.empty or "batch_year" not in aw:
        return None
    years = sorted(
        int(y)
        for y in pd.to_numeric(aw["batch_year"], errors="coerce").dropna().unique()
        if int(y) <= inp.year
    )
    if len(years) < 2:
        return None
    rows = []
    for y in years:
        a = factsmod.approved(aw, y)
        rows.append(
            {
                "year": y,
                "amount": float(
                    pd.to_numeric(a["approved_amount"], errors="coerce").sum()
                ),
                "n": int(len(a)),
            }
        )
    fig = charts.trend(
        pd.DataFrame(rows), y="amount", ylabel="万元", title=None, highlight=inp.year
    )
    return _fig(fig, "各批次年度核定补贴金额（万元）", "funds_trend")


def _ch4(inp: Inputs) -> list[Section]:
    f = inp.facts
    ch = Section("ch4", "绩效评价指标分析", 1, page_break=True)
    s1 = Section("ch4_1", "政策决策情况", 2)
    for p in _render("zh/ch4.txt.j2", inp.ctx(part="decision")):
        s1.add(p)
    for p in _indicator_paragraphs(inp, _GROUPS["decision"]):
        s1.add(p)
    s2 = Section("ch4_2", "政策过程情况", 2)
    for p in _render("zh/ch4.txt.j2", inp.ctx(part="process")):
        s2.add(p)
    for p in _indicator_paragraphs(inp, _GROUPS["process"]):
        s2.add(p)
    ft = _funds_trend(inp)
    if ft is not None:
        s2.add(ft)
    s3 = Section("ch4_3", "政策产出情况", 2)
    for p in _render("zh/ch4.txt.j2", inp.ctx(part="output")):
        s3.add(p)
    for p in _indicator_paragraphs(inp, _GROUPS["output"]):
        s3.add(p)
    towns = f["coverage"]["towns"]
    if towns:
        tf = pd.DataFrame(towns)
        fig = charts.bars(
            tf.assign(rate=tf["rate"] * 100),
            label="town_name",
            value="rate",
            xlabel="获支持规上企业占比（%）",
            target=(f["coverage"]["district_rate"] or 0) * 100,
            target_label="全区平均",
            suppressed=~tf["shown"].to_numpy(),
        )
        s3.add(_fig(fig, f"{inp.year}年度各街镇规上企业政策覆盖率", "town_coverage"))
    s4 = Section("ch4_4", "政策效益情况", 2)
    for p in _render("zh/ch4.txt.j2", inp.ctx(part="benefit")):
        s4.add(p)
    for p in _indicator_paragraphs(inp, _GROUPS["benefit"]):
        s4.add(p)
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
                charts.satisfaction_distribution(wide, title=None),
                "满意度调查各题选项分布",
                "satisfaction",
            )
        )
    kp = _kpi_table(inp)
    if kp is not None:
        s4.add(kp)
    s5 = Section("ch4_5", "政策效应的因果分析", 3)
    _effects_section(inp, s5)
    return [ch, s1, s2, s3, s4, s5]


def _kpi_table(inp: Inputs) -> Table | None:
    """Supplementary KPIs K1–K8 (weight 0, domain-spec §4.3) from the scorecard."""
    k = getattr(inp.scorecard, "kpis", None)
    if not isinstance(k, pd.DataFrame) or k.empty:
        return None
    disp = []
    for rec in k.to_dict("records"):
        text = (
            ""
            if formats.is_missing(rec.get("actual_display"))
            else str(rec["actual_display"])
        )
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
                "编号": str(rec.get("id", "")),
                "指标": str(rec.get("name", "")),
                "目标": ""
                if formats.is_missing(rec.get("target"))
                else str(rec["target"]),
                "实际": text,
                "来源": ""
                if formats.is_missing(rec.get("source"))
                else str(rec["source"]),
            }
        )
    return Table("补充绩效指标（不计分）", pd.DataFrame(disp), key="kpis")


#: Outcomes whose event-study chart is shown (investment and productivity).
EVENT_STUDY_OUTCOMES = (
    "log_tech_reno_inv",
    "digital_inv_share",
    "log_labour_productivity",
    "tfp",
)


def _text_lines(x: Any) -> list[str]:
    if isinstance(x, str):
        return [t.strip() for t in x.splitlines() if t.strip()]
    if isinstance(x, (list, tuple)):
        return [str(t).strip() for t in x if str(t).strip()]
    return []


def _effects_section(inp: Inputs, s5: Section) -> None:
    f, eff = inp.facts, inp.effects
    reading = " ".join(_text_lines(getattr(eff, "reading_zh", "")))
    for p in _render("zh/effects.txt.j2", inp.ctx(reading=reading)):
        s5.add(p)
    if f["effects"]:
        t = pd.DataFrame(
            [
                {
                    "结果变量": e["outcome_zh"],
                    "估计值": formats.number(e["estimate"], 3),
                    "标准误": formats.number(e["se"], 3),
                    "95%置信区间": f"[{formats.number(e['ci_low'], 3)}, "
                    f"{formats.number(e['ci_high'], 3)}]",
                    "p值": formats.number(e["p_value"], 3),
                    "企业数": formats.integer(e.get("n_firms")),
                    "获补企业数": formats.integer(e.get("n_treated")),
                }
                for e in f["effects"]
            ]
        )
        s5.add(Table("政策效应主估计结果（多期双重差分）", t, key="effects"))
    table = getattr(eff, "table", None)
    if (
        isinstance(table, pd.DataFrame)
        and "design" in table
        and table["design"].nunique() > 1
    ):
        t = pd.DataFrame(
            {
                "结果变量": table["outcome_zh"].astype(str),
                "估计方法": table.get("design_zh", table["design"]).astype(str),
                "估计值": table["estimate"].map(lambda v: formats.number(v, 3)),
                "95%置信区间": [
                    f"[{formats.number(a, 3)}, {formats.number(b, 3)}]"
                    for a, b in zip(table["ci_low"], table["ci_high"])
                ],
                "p值": table["p_value"].map(lambda v: formats.number(v, 3)),
            }
        )
        s5.add(Table("不同估计方法的结果比较", t, key="effects_designs"))
    studies = getattr(eff, "event_studies", None) or {}
    for outcome in [o for o in EVENT_STUDY_OUTCOMES if o in studies]:
        try:
            es = studies[outcome].to_frame()
        except Exception:  # noqa: BLE001 - a result without a frame is skipped
            continue
        if not {"event_time", "estimate", "ci_low", "ci_high"} <= set(es.columns):
            continue
        zh = next(
            (e["outcome_zh"] for e in f["effects"] if e.get("outcome") == outcome),
            outcome,
        )
        s5.add(
            _fig(
                charts.event_study(es, title=None, ylabel=zh),
                f"{zh}的事件研究估计（95%置信区间）",
                f"event_{outcome}",
                note="注：横轴为相对首次获补年份的时间，−1期为基期；阴影为95%置信区间。",
            )
        )
    rob = _text_lines(getattr(eff, "robustness_text_zh", ""))
    if rob:
        s5.add(Paragraph("稳健性检验", "lead"))
        for line in rob:
            s5.add(line)
    for n in _text_lines(getattr(eff, "notes", [])):
        s5.add(Paragraph(f"注：{n}", "note"))


def _ch5(inp: Inputs) -> list[Section]:
    n = inp.narrative
    ch = Section("ch5", "主要经验及做法、存在的问题及原因分析", 1, page_break=True)
    s1 = Section("ch5_1", "主要经验及做法", 2)
    for i, e in enumerate(n.experience, 1):
        s1.add(Paragraph(f"{i}. {e}"))
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
        s.add("建议继续保持现有政策实施力度，加强绩效监控和数据积累。")
    for i, p in enumerate(inp.narrative.problems, 1):
        s.add(Paragraph(f"{i}. 针对“{p.title}”", "lead"), Paragraph(p.recommendation))
    return [s]


def _ch7(inp: Inputs) -> list[Section]:
    s = Section("ch7", "其他需要说明的问题", 1, page_break=True)
    for p in _render("zh/ch7.txt.j2", inp.ctx()):
        s.add(p)
    for t in inp.narrative.other_matters:
        s.add(t)
    for v in inp.unavailable.values():
        s.add(Paragraph(v, "note"))
    return [s]


def _annexes(inp: Inputs) -> list[Section]:
    f = inp.facts
    out = []
    a1 = Section("annex1", "附件1 评分表", 0, page_break=True)
    fr = inp.scorecard_frame
    if fr is not None:
        a1.add(_score_table(inp.year, fr, "scorecard_full"))
        a1.add(Paragraph("各指标数据来源及偏差原因", "lead"))
        for it in f["indicators"]:
            parts = [
                f"数据来源：{it['source']}" if it["source"] else "",
                f"偏差原因：{it['deviation_reason']}" if it["deviation_reason"] else "",
            ]
            text = "；".join(p for p in parts if p)
            if text:
                a1.add(Paragraph(f"{it['level3']}（{it['id']}）：{text}", "note"))
    else:
        a1.add(f"评分表不可用：{inp.unavailable.get('scorecard', '')}")
    out.append(a1)

    a2 = Section("annex2", "附件2 指标体系及评分标准", 0, page_break=True)
    if f["indicators"]:
        rows = []
        for it in f["indicators"]:
            d = it.get("direction") or (
                "qualitative" if it.get("kind") == "qualitative" else "positive"
            )
            rows.append(
                {
                    "编号": it["id"],
                    "三级指标": it["level3"],
                    "年度指标值": it["target_raw"],
                    "分值": formats.score(it["weight"]),
                    "评分标准": _DIRECTION_RULE.get(
                        str(d), _DIRECTION_RULE["positive"]
                    ),
                }
            )
        a2.add(Table("三级指标评分标准", pd.DataFrame(rows), key="rubric"))
    a2.add(
        "等级划分：总分90分（含）以上为“优”，80分（含）至90分为“良”，60分（含）至80分为“中”，"
        "60分以下为“差”（财预〔2020〕10号）。"
    )
    out.append(a2)

    a3 = Section("annex3", "附件3 数据清单", 0, page_break=True)
    tables = getattr(inp.ds, "tables", {}) or {}
    files = getattr(inp.ds, "files", {}) or {}
    if tables:
        zh = _table_names()
        rows = [
            {
                "数据表": zh.get(k, k),
                "表名": k,
                "记录数": formats.integer(len(v)),
                "来源文件": getattr(files.get(k), "name", "") or "",
            }
            for k, v in tables.items()
        ]
        a3.add(Table("评价数据清单", pd.DataFrame(rows), key="data_inventory"))
    out.append(a3)

    a4 = Section("annex4", "附件4 问卷及统计结果", 0, page_break=True)
    items = getattr(inp.survey, "items", None)
    if isinstance(items, pd.DataFrame) and not items.empty:
        t = pd.DataFrame(
            {
                "题目": items.get("item_zh", items["item"]).astype(str),
                "有效回答": items["n"].map(formats.integer) if "n" in items else "",
                "满意度指数": items["index"].map(lambda v: formats.number(v, 2)),
                "满意率": items["top2_rate"].map(formats.percent)
                if "top2_rate" in items
                else "",
            }
        )
        a4.add(
            "问卷采用5级量表（非常满意、满意、一般、不满意、非常不满意，分别赋100、80、60、40、20分），"
            "满意度指数为各选项比例与分值的加权和，满意率为“非常满意”与“满意”的比例之和。"
        )
        if inp.audience == "reviewer" and "n" in items:
            small = (
                pd.to_numeric(items["n"], errors="coerce")
                .fillna(0)
                .lt(inp.min_firms)
                .to_numpy()
            )
            for c in ("满意度指数", "满意率"):
                t.loc[small, c] = disclosure.MARK
        a4.add(
            Table(
                "满意度调查各题统计结果",
                t,
                key="survey_items",
                footnote=(
                    f"注：“{disclosure.MARK}”表示有效回答少于{inp.min_firms}份，"
                    "不予显示。"
                )
                if (t == disclosure.MARK).any().any()
                else "",
            )
        )
    else:
        a4.add(f"满意度调查结果不可用。{inp.unavailable.get('survey', '')}")
    out.append(a4)

    a5 = Section("annex5", "附件5 受益企业清单（脱敏）", 0, page_break=True)
    aw = factsmod.approved(factsmod._table(inp.ds, "awards"), inp.year)
    if len(aw) and inp.audience == "internal":
        firms = factsmod._table(inp.ds, "firms")
        if {"firm_id", "name_masked"} <= set(firms.columns):
            aw = aw.merge(firms[["firm_id", "name_masked"]], on="firm_id", how="left")
    if len(aw):
        ann = disclosure.beneficiary_annex(
            aw,
            audience=inp.audience,
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
            "评审版清单以序号代替企业名称，不含统一社会信用代码、所属街镇和行业等可识别信息，"
            "补贴金额以区间表示。"
            if inp.audience == "reviewer"
            else "内部版清单含企业和项目编号，仅供内部使用。"
        )
        a5.add(Table(f"{inp.year}年度受益单位清单", ann, key="beneficiaries"))
    out.append(a5)

    a6 = Section("annex6", "附件6 街镇及行业分布表", 0, page_break=True)
    if len(aw):
        tl = factsmod.town_labels(inp.ds)
        kw = dict(
            firm="beneficiary",
            audience=inp.audience,
            min_firms=inp.min_firms,
            dominance=inp.dominance,
        )
        ent = aw.loc[aw["beneficiary"].notna()]
        pt = disclosure.protect(
            ent,
            "town_code",
            "approved_amount",
            labels={"town_code": tl},
            firms_label="受益单位数（家）",
            value_label="核定金额（万元）",
            **kw,
        )
        pt.frame.index.name = "街镇"
        a6.add(_protected_table(pt, "各街镇受益单位数及核定金额", "by_town"))
        if "industry_div" in ent:
            pi = disclosure.protect(
                ent,
                "industry_div",
                "approved_amount",
                labels={"industry_div": _industry_names()},
                firms_label="受益单位数（家）",
                value_label="核定金额（万元）",
                **kw,
            )
            pi.frame.index.name = "行业大类"
            a6.add(
                _protected_table(pi, "各行业大类受益单位数及核定金额", "by_industry")
            )
        px = disclosure.protect(
            ent,
            ["town_code", "category"],
            "approved_amount",
            labels={"town_code": tl, "category": _SHORT_CATEGORY},
            **kw,
        )
        px.frame.index.name = "街镇"
        a6.add(
            _protected_table(px, "各街镇分支持类别核定金额（万元）", "town_by_category")
        )
        shown = pt.values.drop(index=pt.values.index[-1])
        bf = shown.reset_index()
        bf.columns = ["town", "firms", "amount"]
        a6.add(
            _fig(
                charts.bars(
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
    out.append(a6)
    return out


def _table_names() -> dict[str, str]:
    try:
        from jdeval.data.contract import get_contract

        return {k: t.zh for k, t in get_contract().tables.items()}
    except Exception:  # noqa: BLE001 - names are cosmetic
        return {}


def _industry_names() -> dict[str, str]:
    try:
        import yaml

        from jdeval import resources

        p = resources.__path__[0] + "/district.yaml"
        with open(p, encoding="utf-8") as fh:
            d = yaml.safe_load(fh)
        return {
            str(i["div"]): f"{i['div']} {i['name']}" for i in d.get("industries", [])
        }
    except Exception:  # noqa: BLE001 - names are cosmetic
        return {}


def build_sections(inp: Inputs) -> list[Section]:
    """All sections of the report in outline order."""
    out: list[Section] = []
    for fn in (_summary, _preface, _ch1, _ch2, _ch3, _ch4, _ch5, _ch6, _ch7, _annexes):
        out += fn(inp)
    return out
