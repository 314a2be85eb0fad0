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
from pathlib import Path

import numpy as np
import pandas as pd

from jdeval.errors import ConfigError, DataError, Problem, ProblemList
from jdeval.indicators import formulas as F
from jdeval.indicators.checks import _bool
from jdeval.indicators.columns import check_columns
from jdeval.indicators.display import target_zh
from jdeval.indicators.kpis import compute_kpis
from jdeval.indicators.measures import Context, Measurement, measure
from jdeval.indicators.reasons import Reason, flag_zh
from jdeval.indicators.targets import SCHEMES, SchemeIndicator, Targets, load_targets

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
    warnings: list[Problem] = field(default_factory=list)

    # ------------------------------------------------------------------ tables
    def to_frame(self) -> pd.DataFrame:
        """One row per 三级指标 (see :data:`COLUMNS`).

        ``weight`` is the indicator's points (分值) after the N/A policy, so that the
        column sums to 100; ``weight_nominal`` is the points in the targets file.
        ``score = weight · score_rate``; ``flags`` is a comma-separated list of
        machine flags (see :meth:`flags_zh` for their Chinese names).
        """
        return self.frame.copy()

    def to_frame_zh(self) -> pd.DataFrame:
        """The score table with Chinese headers, rounded for display (报告评分表)."""
        f = self.frame
        rate = f["score_rate"].map(lambda x: "—" if pd.isna(x) else f"{100 * x:.1f}%")
        flags = f["flags"].map(self.flags_zh)
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
    def targets(self) -> Targets:
        """The targets (rules) this scorecard was scored with."""
        return self.context.targets

    @property
    def policies(self):
        """``targets.policies`` (grade bands, θ_over, L_max, tiers …)."""
        return self.context.policies

    @property
    def grade_en(self) -> str:
        return self.context.targets.grade_en_for(self.total)

    def flags_zh(self, flags: str) -> str:
        """Chinese names of a comma-separated flag list (worded with the policies)."""
        theta = self.context.policies.theta_over
        return "、".join(flag_zh(x, theta=theta) for x in flags.split(",") if x)

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
            rules = ctx.policies.satisfaction
            q = r.loc[r["item_code"] == rules.item]
            if q.empty:
                q = r
            pts = dict(zip((5, 4, 3, 2, 1), rules.points))
            g = q.assign(
                _k=q["firm_id"].map(key),
                _p=q["likert"].astype(int).map(pts).astype(float),
                _t=(q["likert"] >= rules.satisfied_min).astype(float),
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
        return self._breakdown(col or self.context.policies.key_industry_col)

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
            "warnings": [w.to_dict() for w in self.warnings],
            "indicators": inds,
            "kpis": [
                {k: clean(v) for k, v in r.items()}
                for r in self.kpis.to_dict("records")
            ],
        }

    def to_excel(self, path) -> Path:
        """Write the report-ready workbook: 说明, 评分表, 一级指标汇总, 补充指标.

        Chinese headers and sheet names, scores rounded to 2 decimals, text kept as
        text (no formula can run and no escape character shows).
        """
        from openpyxl import Workbook

        from jdeval.indicators import workbook as W

        wb = Workbook()
        info = [
            ("评价年度", self.year),
            ("权重方案", self.scheme),
            ("总分", round(self.total, 2)),
            ("等级", self.grade),
            ("评分完整", "是" if self.complete else "否（有清单项缺评估）"),
        ]
        info += [("提示", w.message_zh) for w in self.warnings]
        W.add_sheet(wb, "说明", pd.DataFrame(info, columns=["项目", "内容"]))
        W.add_sheet(wb, "评分表", self.to_frame_zh(), wrap=("实际完成值", "偏差原因"))
        lv = self.by_level(1)
        W.add_sheet(
            wb,
            "一级指标汇总",
            pd.DataFrame(
                {
                    "一级指标": lv["level1"].str.replace(" total", "", regex=False),
                    "分值": lv["weight"].round(2),
                    "得分": lv["score"].round(2),
                    "得分率": lv["score_rate"].map(
                        lambda x: "—" if pd.isna(x) else f"{100 * x:.1f}%"
                    ),
                }
            ),
        )
        k = self.kpis
        W.add_sheet(
            wb,
            "补充指标",
            pd.DataFrame(
                {
                    "编号": k["id"],
                    "指标": k["name"],
                    "目标": k["target"],
                    "单位": k["unit"],
                    "实际值": pd.to_numeric(k["actual"], errors="coerce").round(2),
                    "实际完成情况": k["actual_display"],
                    "来源": k["source"],
                }
            ),
        )
        return W.save(wb, Path(path))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2, default=str)

    def summary_zh(self) -> str:
        s = (
            f"{self.year}年度绩效评价（方案{self.scheme}）总分{self.total:.2f}分，"
            f"等级“{self.grade}”。"
        )
        for w in self.warnings:
            s += f"注意：{w.message_zh}"
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
                + self.flags_zh(r["flags"])
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
    si: SchemeIndicator,
    m: Measurement,
    f: float,
    score: float,
    w: float,
    theta_over: float,
    na_policy: str,
) -> str:
    """偏差原因: what was missed and why, worded from the reason codes."""
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
    if tier == F.NOT_APPLICABLE:
        head = f"{si.level3}不适用"
    else:
        head = (
            f"{si.level3}{tier}：指标值{target_zh(si.ind.target_text)}，实际完成{m.display}，"
            f"得{score:.2f}分（满分{w:.2f}分，得分率{f:.1%}）"
        )
    reasons = list(m.reasons)
    if tier == F.NOT_APPLICABLE:
        reasons.append(Reason(f"na_{na_policy}"))
    over = {"over_target", "over_penalty"}
    if "over_target" in flags and not any(r.code in over for r in reasons):
        reasons.append(Reason("over_target", theta=theta_over))
    text = "；".join(r.zh() for r in reasons)
    return head + ("。原因：" + text if text else "") + "。"


def check_year(ds, targets: Targets, year: int) -> list[Problem]:
    """Refuse a year without data; warn when the targets are for another year.

    A year in which the ``awards`` table has no application at all has nothing to
    score: :class:`~jdeval.errors.DataError` (exit 2), never a silent score.  Scoring
    a year other than the targets file's ``meta.year`` is allowed (the previous year
    is re-scored under this year's targets for comparison) but returns a warning
    that the command line prints and the report shows.
    """
    have = ds.batch_years
    if year not in have:
        p = ProblemList()
        p.error(
            "no_data_for_year",
            f"数据中没有{year}年度（申报批次）的项目，无法评价；数据包含的年度："
            f"{'、'.join(map(str, have)) or '无'}。请检查 --year 或数据目录。",
            f"the data have no awards of batch year {year}; years present: "
            f"{', '.join(map(str, have)) or 'none'}. Check --year or the data folder.",
            table="awards",
            column="batch_year",
            value=year,
        )
        p.raise_if_errors(DataError, f"没有{year}年度的数据 no data for {year}")
    out = []
    ty = targets.meta.year
    if ty != year:
        out.append(
            Problem(
                "warning",
                "targets_year",
                f"指标设置文件为{ty}年度，现评价{year}年度：指标值与权重按"
                f"{ty}年度的设置计算，请确认是否应使用{year}年度的指标设置文件。",
                f"the targets file is for {ty} (meta.year) but {year} is scored with "
                f"it; check that this is the right targets file.",
                file=str(targets.path) if targets.path else None,
                row=targets.lines.line("meta", "year"),
                column="meta.year",
                value=ty,
            )
        )
    return out


def check_inputs(
    ds, *, year: int, targets=None, scheme: str = "A", assessments=None
) -> list[Problem]:
    """Check the evaluator's inputs against the data without scoring.

    For a build to run before any notebook: loads and checks the targets and
    assessments, refuses a year without data and columns the data lack (raising
    :class:`~jdeval.errors.ConfigError` / :class:`~jdeval.errors.DataError`, exit 2)
    and returns the warnings (e.g. targets for another year).
    """
    from jdeval.indicators.assessments import load_assessments

    if not isinstance(targets, Targets):
        targets = load_targets(targets)
    if assessments is not None and not hasattr(assessments, "items"):
        assessments = load_assessments(assessments, targets=targets)
    warnings = check_year(ds, targets, int(year))
    check_columns(
        Context(ds, targets, year=year, scheme=scheme, assessments=assessments)
    )
    return warnings


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
    warnings = check_year(ds, targets, int(year))
    ctx = Context(ds, targets, year=year, scheme=scheme, assessments=assessments)
    check_columns(ctx)
    inds = targets.for_scheme(scheme)
    meas = {si.id: measure(ctx, si.ind) for si in inds}
    pol = targets.policies
    na_policy = pol.na_policy
    weights = {si.id: si.w for si in inds}
    applicable = {k: m.rating.applicable for k, m in meas.items()}
    groups = {si.id: si.level1 for si in inds}
    eff = F.redistribute(weights, applicable, groups, policy=na_policy)
    rows = []
    upper_gain = 0.0
    for si in inds:
        ind = si.ind
        m = meas[si.id]
        r = m.rating
        w = eff[si.id]
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
                "id": si.id,
                "level1": si.level1,
                "level2": si.level2,
                "level3": si.level3,
                "target_raw": ind.target_text,
                "actual": m.actual,
                "actual_display": m.display,
                "unit": m.unit or ind.unit,
                "weight": w,
                "weight_nominal": si.w,
                "score": score,
                "score_rate": f,
                "tier": r.tier,
                "flags": ",".join(r.flags),
                "source": ind.source_zh,
                "rule": m.rule,
                "deviation_reason": _deviation(
                    si, m, f, score, w, pol.theta_over, na_policy
                ),
                "level3_en": ind.level3.en,
                "kind": ind.kind,
                "direction": ind.direction,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["actual"] = pd.to_numeric(frame["actual"], errors="coerce")
    total = float(frame["score"].sum())
    return Scorecard(
        year=int(year),
        scheme=scheme,
        total=total,
        grade=targets.grade_for(total),
        frame=frame,
        measurements=meas,
        kpis=compute_kpis(ctx),
        context=ctx,
        total_if_complete=total + upper_gain,
        warnings=warnings,
    )
