"""Score every indicator, aggregate, grade: :func:`evaluate` → :class:`Scorecard`.

Aggregation (domain-spec §3.10): the score of an indicator is ``w_eff · f`` where
``w_eff`` is its points after the N/A policy (§3.4); level scores are sums; the
grade comes from the total rounded to 2 decimals (§3.1).
"""

from __future__ import annotations

import html
import json
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators import formulas as F
from jdeval.indicators.checks import _bool
from jdeval.indicators.kpis import compute_kpis
from jdeval.indicators.measures import Context, Measurement, measure
from jdeval.indicators.targets import SCHEMES, Targets, load_targets

COLUMNS = [
    "id",
    "level1",
    "level2",
    "level3",
    "target_raw",
    "actual",
    "actual_display",
    "unit",
    "weight",
    "weight_nominal",
    "score",
    "score_rate",
    "tier",
    "flags",
    "source",
    "rule",
    "deviation_reason",
    "level3_en",
    "kind",
    "direction",
]

FLAG_ZH = {
    "over_target": "超额30%以上",
    "over_penalty": "超额扣分",
    "not_applicable": "不适用",
    "missing_assessment": "缺评估",
    "low_sample": "样本不足",
    "over_cap": "超标准",
    "late": "逾期",
    "capped": "封顶",
    "override": "人工调整",
    "target_zero": "指标值为0",
    "base_zero": "上年为0",
    "no_awards": "无项目",
    "no_budget": "无预算数据",
    "no_previous_year": "无上年数据",
}


@dataclass
class Scorecard:
    """Scores of one evaluation.

    Attributes
    ----------
    total
        Total score (0–100), unrounded; display with 2 decimals.
    grade
        优 / 良 / 中 / 差 from the total rounded to 2 decimals.
    year, scheme
        Evaluation year and weighting scheme.
    kpis
        Supplementary KPIs K1–K8 (DataFrame).
    measurements
        Indicator id → :class:`~jdeval.indicators.measures.Measurement` (evidence).
    """

    year: int
    scheme: str
    total: float
    grade: str
    frame: pd.DataFrame = field(repr=False)
    measurements: dict[str, Measurement] = field(repr=False)
    kpis: pd.DataFrame = field(repr=False)
    context: Context = field(repr=False)
    total_if_complete: float = math.nan

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """One row per 三级指标 (see :data:`COLUMNS`).

        ``weight`` is the indicator's points (分值) after the N/A policy, so that the
        column sums to 100; ``weight_nominal`` is the points in the targets file.
        ``score = weight · score_rate``; ``flags`` is a comma-separated list of
        machine flags (see :data:`FLAG_ZH` for their Chinese names).
        """
        return self.frame.copy()

    def to_frame_zh(self) -> pd.DataFrame:
        """The score table with Chinese headers, rounded for display (报告评分表)."""
        f = self.frame
        rate = f["score_rate"].map(lambda x: "—" if pd.isna(x) else f"{100 * x:.1f}%")
        flags = f["flags"].map(
            lambda s: "、".join(FLAG_ZH.get(x, x) for x in s.split(",") if x)
        )
        return pd.DataFrame(
            {
                "编号": f["id"],
                "一级指标": f["level1"],
                "二级指标": f["level2"],
                "三级指标": f["level3"],
                "指标值": f["target_raw"],
                "实际完成值": f["actual_display"],
                "分值": f["weight"].round(2),
                "得分": f["score"].round(2),
                "得分率": rate,
                "档次": f["tier"],
                "标记": flags,
                "数据来源": f["source"],
                "偏差原因": f["deviation_reason"],
            }
        )

    @property
    def complete(self) -> bool:
        """False when some checklist item lacks an assessment (缺评估)."""
        return not self.frame["flags"].str.contains("missing_assessment").any()

    @property
    def missing_items(self) -> pd.DataFrame:
        """Checklist items without data or assessment."""
        out = []
        for iid, m in self.measurements.items():
            if m.items is not None and "origin" in m.items.columns:
                miss = m.items.loc[m.items["origin"] == "missing"]
                out.append(miss.assign(indicator=iid))
        if not out:
            return pd.DataFrame(columns=["indicator", "item", "zh"])
        return pd.concat(out, ignore_index=True)[["indicator", "item", "zh", "en"]]

    @property
    def grade_en(self) -> str:
        return F.GRADE_EN.get(self.grade, self.grade)

    def by_level(self, level: int = 1) -> pd.DataFrame:
        """Score table by 一级 (1), 二级 (2) or 三级 (3) indicator."""
        keys = ["level1", "level2", "level3"][:level]
        df = self.frame
        g = (
            df.groupby(keys, sort=False)
            .agg(weight=("weight", "sum"), score=("score", "sum"))
            .reset_index()
        )
        g["score_rate"] = np.where(
            g["weight"] > 0, g["score"] / g["weight"].where(g["weight"] > 0, 1), np.nan
        )
        total = pd.DataFrame(
            [
                {
                    **dict.fromkeys(keys, ""),
                    keys[0]: "合计 total",
                    "weight": g["weight"].sum(),
                    "score": g["score"].sum(),
                }
            ]
        )
        total["score_rate"] = total["score"] / total["weight"]
        return pd.concat([g, total], ignore_index=True)

    def drilldown(self, ind_id: str) -> pd.DataFrame:
        """The rows an indicator counted (awards, responses, documents …)."""
        return self.measurements[ind_id].rows.copy()

    def evidence(self, ind_id: str) -> dict:
        """Data source, rule, details, checklist items and drill-down of an indicator."""
        m = self.measurements[ind_id]
        row = self.frame.set_index("id").loc[ind_id]
        return {
            "id": ind_id,
            "source": row["source"],
            "rule": m.rule,
            "details": m.details,
            "items": m.items,
            "rows": m.rows,
            "deviation_reason": row["deviation_reason"],
        }

    def checklist(self, ind_id: str) -> pd.DataFrame | None:
        return self.measurements[ind_id].items

    # -------------------------------------------------------------- breakdowns
    def _breakdown(self, col: str) -> pd.DataFrame:
        ctx = self.context
        firms = ctx.table("firms")
        fy = ctx.table("firm_year")
        if firms is None:
            return pd.DataFrame()
        key = firms.set_index("firm_id")[col] if col in firms.columns else None
        if key is None:
            return pd.DataFrame()
        out = pd.DataFrame(
            index=pd.Index(sorted(key.dropna().astype("str").unique()), name=col)
        )
        if fy is not None:
            above = fy.loc[
                (pd.to_numeric(fy["year"], errors="coerce") == ctx.year)
                & _bool(fy["is_above_scale"]),
                "firm_id",
            ]
            out["n_above_scale"] = above.map(key).value_counts()
        if "O1" in self.measurements:
            a = self.measurements["O1"].rows
            g = a.assign(_k=a["firm_id"].map(key))
            out["n_funded_firms"] = g.groupby("_k")["firm_id"].nunique()
            out["approved_amount"] = g.groupby("_k")["approved_amount"].sum()
            if "n_above_scale" in out:
                out["coverage"] = out["n_funded_firms"] / out["n_above_scale"]
        if "O3" in self.measurements:
            a = self.measurements["O3"].rows
            firm_or_na = a["firm_id"].map(key)
            g = a.assign(_k=firm_or_na)
            out["n_awards"] = g.groupby("_k").size()
            out["on_time_rate"] = g.groupby("_k")["on_time"].mean()
            out["mean_days_to_disburse"] = g.groupby("_k")["days_to_disburse"].mean()
        if "S1" in self.measurements:
            r = self.measurements["S1"].rows
            q = r.loc[r["item_code"] == ctx.policies["satisfaction"].get("item", "Q0")]
            if q.empty:
                q = r
            pts = dict(zip((5, 4, 3, 2, 1), ctx.policies["satisfaction"]["points"]))
            g = q.assign(
                _k=q["firm_id"].map(key),
                _p=q["likert"].astype(int).map(pts).astype(float),
                _t=(q["likert"] >= 4).astype(float),
            )
            out["n_survey"] = g.groupby("_k").size()
            out["satisfaction_index"] = g.groupby("_k")["_p"].mean()
            out["top2_rate"] = g.groupby("_k")["_t"].mean().astype(float)
        out = out.reset_index()
        for c in ("n_above_scale", "n_funded_firms", "n_awards", "n_survey"):
            if c in out:
                out[c] = out[c].fillna(0).astype(int)
        return out

    def by_town(self) -> pd.DataFrame:
        """Coverage, timeliness and satisfaction by 街镇 (town)."""
        out = self._breakdown("town_code")
        towns = self.context.table("towns")
        if towns is not None and not out.empty:
            names = towns.set_index("town_code")["town_name"]
            out.insert(1, "town_name", out["town_code"].map(names))
        return out

    def by_industry(self, col: str | None = None) -> pd.DataFrame:
        """The same by key industry (default ``policies.key_industry_col``)."""
        return self._breakdown(
            col or self.context.policies.get("key_industry_col", "key_industry")
        )

    # ------------------------------------------------------------------ output
    def to_dict(self) -> dict:
        def clean(v):
            if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
                return None
            if isinstance(v, (np.floating, np.integer)):
                return clean(v.item())
            return v

        inds = []
        for r in self.frame.to_dict("records"):
            inds.append(
                {
                    "id": r["id"],
                    "name": r["level3"],
                    "name_en": r["level3_en"],
                    "level1": r["level1"],
                    "level2": r["level2"],
                    "target": r["target_raw"],
                    "actual": clean(r["actual"]),
                    "actual_display": r["actual_display"],
                    "unit": r["unit"],
                    "weight": clean(r["weight"]),
                    "weight_nominal": clean(r["weight_nominal"]),
                    "score": clean(round(r["score"], 2)),
                    "score_rate": clean(r["score_rate"]),
                    "tier": r["tier"],
                    "flags": [f for f in r["flags"].split(",") if f],
                    "source": r["source"],
                    "rule": r["rule"],
                    "deviation_reason": r["deviation_reason"],
                }
            )
        return {
            "year": self.year,
            "scheme": self.scheme,
            "total": round(self.total, 2),
            "grade": self.grade,
            "grade_en": self.grade_en,
            "complete": self.complete,
            "total_if_complete": clean(round(self.total_if_complete, 2)),
            "indicators": inds,
            "kpis": [
                {k: clean(v) for k, v in r.items()}
                for r in self.kpis.to_dict("records")
            ],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def summary_zh(self) -> str:
        s = (
            f"{self.year}年度绩效评价（方案{self.scheme}）总分{self.total:.2f}分，"
            f"等级“{self.grade}”。"
        )
        a = self.context.assessments
        if a is not None and a.is_example:
            s += "注意：使用的是示例评估文件，定性结论仅供演示。"
        if not self.complete:
            n = len(self.missing_items)
            s += (
                f"尚有{n}个清单项缺评估，得分未完整；若全部达成，总分可达"
                f"{self.total_if_complete:.2f}分。"
            )
        return s

    def to_text(self) -> str:
        lines = [self.summary_zh(), ""]
        hdr = f"{'id':<4} {'三级指标':<22} {'指标值':<12} {'分值':>6} {'得分':>6}  tier  flags"
        lines.append(hdr)
        for r in self.frame.to_dict("records"):
            lines.append(
                f"{r['id']:<4} {r['level3'][:20]:<22} {str(r['target_raw'])[:12]:<12} "
                f"{r['weight']:>6.2f} {r['score']:>6.2f}  {r['tier']}  "
                + "、".join(FLAG_ZH.get(x, x) for x in r["flags"].split(",") if x)
            )
            lines.append(f"     实际完成值 actual: {r['actual_display']}")
            if r["deviation_reason"]:
                lines.append(f"     偏差原因: {r['deviation_reason']}")
        lines.append(
            f"{'':<4} {'合计 total':<22} {'':<12} "
            f"{self.frame['weight'].sum():>6.2f} {self.total:>6.2f}  "
            f"{self.grade}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        inc = "" if self.complete else ", incomplete"
        return (
            f"Scorecard(year={self.year}, scheme={self.scheme!r}, "
            f"total={self.total:.2f}, grade={self.grade!r}{inc}, "
            f"{len(self.frame)} indicators)"
        )

    def _repr_html_(self) -> str:
        table = self.to_frame_zh().drop(columns=["数据来源"])
        body = table.to_html(
            index=False, escape=True, na_rep="—", classes="jd-scorecard", border=0
        )
        # Beats JupyterLab's right-aligned cells (0,2,1); keeps short labels on one line.
        style = (
            "<style>table.jd-scorecard.jd-scorecard :is(td,th){text-align:left;"
            "vertical-align:top}table.jd-scorecard td:nth-child(-n+3),"
            "table.jd-scorecard :is(td,th):nth-child(n+7):nth-child(-n+11){"
            "white-space:nowrap}table.jd-scorecard td:nth-child(4){min-width:8em}"
            "table.jd-scorecard td:last-child{min-width:16em}</style>"
        )
        return f"<p><b>{html.escape(self.summary_zh())}</b></p>{style}{body}"


def _deviation(
    ind: dict,
    m: Measurement,
    f: float,
    score: float,
    w: float,
    na_policy: str = "redistribute",
) -> str:
    tier, flags = m.rating.tier, m.rating.flags
    notable = {
        "over_target",
        "low_sample",
        "missing_assessment",
        "not_applicable",
        "override",
        "capped",
        "over_penalty",
    }
    if not (math.isnan(f) or f < 1 - 1e-12 or notable & set(flags)):
        return ""
    name = ind["level3_zh"]
    if tier == F.NOT_APPLICABLE:
        head = f"{name}不适用"
    else:
        head = (
            f"{name}{tier}：指标值{ind['target_raw']}，实际完成{m.display}，"
            f"得{score:.2f}分（满分{w:.2f}分，得分率{f:.1%}）"
        )
    reasons = list(m.reasons)
    if tier == F.NOT_APPLICABLE:
        reasons.append(
            {
                "redistribute": "其分值按比例分配给同一一级指标下的其他指标（该一级指标下无其他指标时分配给全部指标）",
                "full": "按政策记满分",
                "zero": "按政策记0分",
            }.get(na_policy, na_policy)
        )
    if "over_target" in flags and not any("30%" in r for r in reasons):
        reasons.append("实际完成值超过指标值30%以上，需说明指标值设定依据")
    return head + ("。原因：" + "；".join(reasons) if reasons else "") + "。"


def evaluate(
    ds,
    targets: Targets | str | None = None,
    *,
    year: int,
    scheme: str = "A",
    assessments=None,
) -> Scorecard:
    """Measure, score and grade every indicator of ``targets`` for ``year``.

    Parameters
    ----------
    ds
        A :class:`jdeval.data.Dataset`.
    targets
        A :class:`Targets`, a path to a targets YAML, or ``None`` (shipped default).
    year
        Evaluation year (batch year of the awards).
    scheme
        ``"A"`` (单位自评 50/30/10/10) or ``"B"`` (部门/财政/第三方评价).
    assessments
        :class:`~jdeval.indicators.assessments.Assessments`, a path, or ``None``.
        Checklist items that neither data nor assessments decide are flagged
        ``missing_assessment`` (缺评估) and scored per ``policies.missing_assessment``.

    Returns
    -------
    Scorecard

    Raises
    ------
    ConfigError
        Unknown scheme, or an assessments file naming items the targets lack.
    """
    from jdeval.indicators.assessments import Assessments, load_assessments

    if not isinstance(targets, Targets):
        targets = load_targets(targets)
    if scheme not in SCHEMES:
        p = ProblemList()
        p.error(
            "bad_scheme",
            f"权重方案“{scheme}”无效，只能是 A 或 B。",
            f"scheme {scheme!r} is not valid; use A or B.",
            column="scheme",
            value=scheme,
        )
        p.raise_if_errors(ConfigError, "参数有误 bad parameter")
    if assessments is not None and not isinstance(assessments, Assessments):
        assessments = load_assessments(assessments, targets=targets)
    elif assessments is not None:
        assessments.check_against(targets)
    ctx = Context(ds, targets, year=year, scheme=scheme, assessments=assessments)
    inds = targets.for_scheme(scheme)
    meas = {ind["id"]: measure(ctx, ind) for ind in inds}
    pol = targets.policies
    na_policy = pol.get("na_policy", "redistribute")
    weights = {i["id"]: i["w"] for i in inds}
    applicable = {k: m.rating.applicable for k, m in meas.items()}
    groups = {i["id"]: i["level1_zh"] for i in inds}
    eff = F.redistribute(weights, applicable, groups, policy=na_policy)
    rows = []
    upper_gain = 0.0
    for ind in inds:
        m = meas[ind["id"]]
        r = m.rating
        w = eff[ind["id"]]
        if r.applicable:
            f = r.f
            score = w * f
        else:
            f = math.nan
            score = w if na_policy == "full" else 0.0
        up = m.details.get("f_if_missing_pass")
        if up is not None and r.applicable and "override" not in r.flags:
            upper_gain += w * (up - f)
        rows.append(
            {
                "id": ind["id"],
                "level1": ind["level1_zh"],
                "level2": ind["level2_zh"],
                "level3": ind["level3_zh"],
                "target_raw": str(ind.get("target_raw", "")),
                "actual": m.actual,
                "actual_display": m.display,
                "unit": m.unit or ind.get("unit"),
                "weight": w,
                "weight_nominal": ind["w"],
                "score": score,
                "score_rate": f,
                "tier": r.tier,
                "flags": ",".join(r.flags),
                "source": (ind.get("source") or {}).get("zh", "")
                if isinstance(ind.get("source"), dict)
                else str(ind.get("source") or ""),
                "rule": m.rule,
                "deviation_reason": _deviation(ind, m, f, score, w, na_policy),
                "level3_en": ind["level3_en"],
                "kind": ind.get("kind"),
                "direction": ind.get("direction"),
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["actual"] = pd.to_numeric(frame["actual"], errors="coerce")
    total = float(frame["score"].sum())
    bands = [(float(b["min"]), str(b["grade"])) for b in pol["grade_bands"]]
    return Scorecard(
        year=int(year),
        scheme=scheme,
        total=total,
        grade=F.grade(total, bands),
        frame=frame,
        measurements=meas,
        kpis=compute_kpis(ctx),
        context=ctx,
        total_if_complete=total + upper_gain,
    )
