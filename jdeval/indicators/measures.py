"""Measure each indicator from a :class:`~jdeval.data.Dataset` (domain-spec §6).

A method takes the evaluation :class:`Context` and one indicator of the targets
file and returns a :class:`Measurement`: the actual value, its display text, the
:class:`~jdeval.indicators.formulas.Rating`, the rule applied (in Chinese), extra
statistics and the rows counted (the drill-down).  :data:`METHODS` maps the
``measure.method`` names of the targets YAML to these functions.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from jdeval.indicators import formulas as F
from jdeval.indicators.checks import RULES, Check, _bool, _year_of
from jdeval.survey import analyse
from jdeval.survey.likert import DEFAULT_POINTS
from jdeval.survey.population import APPROVED_STATUSES, approved_awards


@dataclass
class Measurement:
    """What one indicator measured."""

    actual: float | None
    display: str
    rating: F.Rating
    rule: str
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    details: dict = field(default_factory=dict)
    items: pd.DataFrame | None = None
    reasons: list[str] = field(default_factory=list)
    unit: str | None = None  # unit of ``actual`` when it differs from the target's


class Context:
    """Everything a measurement needs: data, year, policies, assessments."""

    def __init__(self, ds, targets, *, year: int, scheme: str = "A", assessments=None):
        self.ds = ds
        self.targets = targets
        self.year = int(year)
        self.scheme = scheme
        self.assessments = assessments
        self.policies = targets.policies
        self.statuses = tuple(
            self.policies.get("approved_statuses") or APPROVED_STATUSES
        )
        self._survey = None
        ed = self.policies.get("eval_date")
        if ed:
            self.eval_date = pd.Timestamp(str(ed))
        else:
            self.eval_date = self._data_as_of()

    def _data_as_of(self) -> pd.Timestamp:
        """Latest award date in the data (the data's as-of date), at least Y-12-31."""
        a = self.tables.get("awards")
        end = pd.Timestamp(self.year, 12, 31)
        if a is None or a.empty:
            return end
        dates = [
            pd.to_datetime(a[c], errors="coerce").max()
            for c in ("approval_date", "disbursement_date")
            if c in a.columns
        ]
        dates = [d for d in dates if pd.notna(d)]
        return max([end, *dates])

    @property
    def tables(self) -> dict:
        return getattr(self.ds, "tables", {})

    def table(self, name: str) -> pd.DataFrame | None:
        """The table, or ``None`` when it was not provided (absent or empty and unlisted)."""
        t = self.tables.get(name)
        if t is None:
            return None
        files = getattr(self.ds, "files", None) or {}
        if t.empty and files and name not in files:
            return None
        return t

    def batch_awards(
        self, *, statuses=None, beneficiary_type=None, category=None, year=None
    ) -> pd.DataFrame:
        a = self.tables["awards"]
        out = approved_awards(
            a,
            self.year if year is None else year,
            statuses=statuses or self.statuses,
            beneficiary_type=beneficiary_type,
        )
        if category is not None:
            cats = [category] if isinstance(category, str) else list(category)
            out = out.loc[out["category"].astype("str").isin(cats)]
        return out

    def budget_row(self):
        b = self.table("budget")
        if b is None or b.empty:
            return None
        r = b.loc[pd.to_numeric(b["year"], errors="coerce") == self.year]
        return None if r.empty else r.iloc[0]

    def survey(self):
        if self._survey is None:
            s = self.policies.get("satisfaction") or {}
            self._survey = analyse(
                self.ds,
                year=self.year,
                points=s.get("points", DEFAULT_POINTS),
                overall_item=s.get("item", "Q0"),
                min_n=s.get("min_n", 30),
                min_share=s.get("min_share", 0.8),
                statuses=self.statuses,
            )
        return self._survey

    @property
    def tiers(self) -> dict:
        return self.policies.get("tiers") or {"achieved": 0.8, "partial": 0.6}


_BUDGET_ZH = {
    "budget_amount": "年初预算数",
    "adjusted_budget": "调整后预算数",
    "funds_received": "到位资金",
    "funds_spent": "实际支出",
}


def _category_zh(category) -> str:
    from jdeval.data import get_contract

    cats = [category] if isinstance(category, str) else list(category)
    known = get_contract().categories
    return "、".join(str(known.get(c, {}).get("zh", c)) for c in cats)


def _pct(x: float, digits: int = 1) -> str:
    return (
        "—"
        if x is None or (isinstance(x, float) and math.isnan(x))
        else f"{100 * x:.{digits}f}%"
    )


def _money(x: float) -> str:
    return "—" if x is None or math.isnan(x) else f"{x:,.2f}万元"


def _positive(ctx, actual, target) -> F.Rating:
    p = ctx.policies
    pen = p.get("penalty") or {}
    return F.positive(
        actual,
        target,
        theta_over=p["theta_over"],
        over_policy=p["over_policy"],
        penalty_floor=pen.get("floor", 0.8),
        penalty_slope=pen.get("slope", 0.5),
        partial=ctx.tiers["partial"],
    )


def award_cap(ctx: Context, ind: dict, *, category, statuses=None) -> Measurement:
    """Share of approved awards of ``category`` within the per-unit standard (§3.4)."""
    t = float(ind["target_value"])
    a = ctx.batch_awards(category=category, statuses=statuses)
    amt = pd.to_numeric(a["approved_amount"], errors="coerce")
    rating = F.cost_cap(amt.to_numpy(), t, partial=ctx.tiers["partial"])
    rows = a.assign(within_standard=amt <= t + 1e-9)
    n = len(a)
    rule = (
        f"{ctx.year}年批次已立项的“{_category_zh(category)}”类项目中，核定金额不超过标准{t:g}万元的项目占比"
        "（单位成本标准执行率）"
    )
    if n == 0:
        return Measurement(
            None,
            "当年无此类项目（不适用）",
            rating,
            rule,
            rows,
            {"n": 0},
            reasons=["当年无此类立项项目，按不适用处理"],
            unit="%",
        )
    n_ok = int((amt <= t + 1e-9).sum())
    mean, mx = float(amt.mean()), float(amt.max())
    # A maximum is one firm's award and a mean over < 3 awards discloses them, so
    # the display (shown to reviewers) keeps only aggregates; `details` has both.
    mean_text = f"；均值{mean:.2f}万元" if n >= 3 else ""
    disp = f"{_pct(n_ok / n)}（{n_ok}/{n}项≤{t:g}万元{mean_text}）"
    reasons = []
    if n_ok < n:
        reasons.append(f"{n - n_ok}个项目核定金额超过标准{t:g}万元")
    return Measurement(
        100 * n_ok / n,
        disp,
        rating,
        rule,
        rows,
        {
            "n": n,
            "n_within": n_ok,
            "mean": mean,
            "max": mx,
            "utilisation": mean / t if t else math.nan,
        },
        reasons=reasons,
        unit="%",
    )


def covered_firms(ctx: Context, ind: dict) -> Measurement:
    """Distinct enterprises with an approved award of the batch year (§6 O1)."""
    t = float(ind["target_value"])
    a = ctx.batch_awards(beneficiary_type="enterprise")
    n = int(a["firm_id"].dropna().nunique())
    rating = _positive(ctx, n, t)
    fy = ctx.table("firm_year")
    details = {
        "n_awards": len(a),
        "by_category": a.groupby("category")["firm_id"].nunique().to_dict(),
    }
    if fy is not None:
        above = fy.loc[
            (pd.to_numeric(fy["year"], errors="coerce") == ctx.year)
            & _bool(fy["is_above_scale"])
        ]
        funded_above = a["firm_id"].isin(set(above["firm_id"]))
        details["n_above_scale"] = len(above)
        details["coverage_above_scale"] = (
            a.loc[funded_above, "firm_id"].nunique() / len(above)
            if len(above)
            else math.nan
        )
    rule = (
        f"{ctx.year}年批次已立项（{'、'.join(ctx.statuses)}）企业类项目的不重复企业数"
    )
    reasons = []
    if n < t:
        reasons.append(f"立项企业{n}家，比指标值少{t - n:g}家")
    if "over_target" in rating.flags:
        reasons.append("实际完成值超过指标值30%以上，指标值可能设定偏低")
    return Measurement(
        float(n), f"{n}家", rating, rule, a, details, reasons=reasons, unit="家"
    )


def _misuse_events(ctx: Context, misuse_types) -> pd.DataFrame:
    """Substantiated ``complaints_audit`` events of ``misuse_types`` in the year."""
    ev = ctx.table("complaints_audit")
    if not misuse_types or ev is None:
        return pd.DataFrame()
    m = (
        ev["type"].astype("str").isin(list(misuse_types))
        & _bool(ev["substantiated"])
        & (_year_of(ev["date"]) == ctx.year)
    )
    return ev.loc[m]


def award_compliance(
    ctx: Context, ind: dict, *, checks, misuse_types=(), statuses=None
) -> Measurement:
    """Share of approved awards passing every review check (§6 O2, §3.9 cap)."""
    a = ctx.batch_awards(statuses=statuses)
    cols = [c["column"] if isinstance(c, dict) else c for c in checks]
    names = {
        (c["column"] if isinstance(c, dict) else c): (
            c.get("zh", c["column"]) if isinstance(c, dict) else c
        )
        for c in checks
    }
    ok = pd.DataFrame(
        {c: _bool(a[c]) for c in cols},
        index=a.index,
    )
    passed = ok.all(axis=1)
    rows = a.assign(passed_all=passed)
    n = len(a)
    if n == 0:
        return Measurement(
            None,
            "当年无立项项目（不适用）",
            F.not_applicable("no_awards"),
            "—",
            rows,
            unit="%",
        )
    share = float(passed.mean())
    cap = None
    reasons = []
    misuse = _misuse_events(ctx, misuse_types)
    if not misuse.empty:
        cap = float(ctx.policies.get("misuse_cap", 0.59))
    rating = F.checklist(
        [share], cap=cap, achieved=ctx.tiers["achieved"], partial=ctx.tiers["partial"]
    )
    fails = {names[c]: int((~ok[c]).sum()) for c in cols if (~ok[c]).any()}
    if fails:
        reasons.append(
            "未通过的检查：" + "，".join(f"{k}{v}项" for k, v in fails.items())
        )
    if cap is not None:
        reasons.append(
            f"当年查实{'、'.join(misuse_types)}事项{len(misuse)}件，得分率上限{cap:.0%}"
        )
    rule = (
        f"{ctx.year}年批次立项项目中，{'、'.join(names.values())}全部通过的项目占比；"
        f"查实{'/'.join(misuse_types) or '—'}事项时得分率不超过"
        f"{ctx.policies.get('misuse_cap', 0.59):.0%}"
    )
    disp = f"{_pct(share)}（{int(passed.sum())}/{n}项全部合规）"
    return Measurement(
        100 * share,
        disp,
        rating,
        rule,
        rows,
        {
            "n": n,
            "n_pass": int(passed.sum()),
            "fail_by_check": fails,
            "n_misuse": len(misuse),
        },
        reasons=reasons,
        unit="%",
    )


def disbursement_deadline(ctx: Context, ind: dict, *, statuses=None) -> Measurement:
    """Share of approved awards paid (or on track) by the deadline (§3.5)."""
    due = pd.Timestamp(str(ind["target_value"]))
    lmax = int(ctx.policies["deadline_lmax_days"])
    a = ctx.batch_awards(statuses=statuses)
    appr = pd.to_datetime(a["approval_date"], errors="coerce")
    disb = pd.to_datetime(a["disbursement_date"], errors="coerce")
    disb = disb.where(disb <= ctx.eval_date)
    flags = F.on_time(appr, disb, due=due, eval_date=ctx.eval_date, lmax_days=lmax)
    rating = F.deadline(flags, partial=ctx.tiers["partial"])
    days = (disb - appr).dt.days
    rows = a.assign(days_to_disburse=days, on_time=flags.astype(bool))
    d = days.dropna()
    details = {
        "n": len(a),
        "n_disbursed": int(disb.notna().sum()),
        "n_undisbursed": int(disb.isna().sum()),
        "mean_days": float(d.mean()) if len(d) else math.nan,
        "median_days": float(d.median()) if len(d) else math.nan,
        "p90_days": float(d.quantile(0.9)) if len(d) else math.nan,
        "n_over_lmax": int((d > lmax).sum()),
        "eval_date": ctx.eval_date.date().isoformat(),
    }
    rule = (
        f"截至{ctx.eval_date.date()}，{ctx.year}年批次立项项目中于{due.date()}前拨付、"
        f"或尚未拨付但批准不满{lmax}天的项目占比"
    )
    reasons = []
    late = len(a) - int(flags.sum())
    if late:
        reasons.append(f"{late}个项目超过{lmax}天仍未拨付或逾期拨付")
    if details["n_over_lmax"]:
        reasons.append(f"{details['n_over_lmax']}个已拨付项目发放时长超过{lmax}天")
    if not len(a):
        return Measurement(
            None, "当年无立项项目（不适用）", rating, rule, rows, details, unit="%"
        )
    share = float(flags.mean())
    disp = (
        f"{_pct(share)}（{int(flags.sum())}/{len(a)}项按期；平均发放"
        f"{details['mean_days']:.0f}天，P90 {details['p90_days']:.0f}天）"
    )
    return Measurement(
        100 * share, disp, rating, rule, rows, details, reasons=reasons, unit="%"
    )


def investment_trend(ctx: Context, ind: dict) -> Measurement:
    """Total investment of approved projects, Y vs Y−1 (§3.7 trend rule)."""
    cur_a = ctx.batch_awards()
    prev_a = ctx.batch_awards(year=ctx.year - 1)
    cur = float(pd.to_numeric(cur_a["project_total_investment"], errors="coerce").sum())
    prev = float(
        pd.to_numeric(prev_a["project_total_investment"], errors="coerce").sum()
    )
    tr = ctx.policies.get("trend") or {}
    t = ctx.tiers
    if prev_a.empty:
        rating = F.not_applicable("no_previous_year")
    else:
        rating = F.trend(
            cur,
            prev,
            delta=tr.get("delta", 0.05),
            f_up=tr.get("f_up", 1.0),
            f_flat=tr.get("f_flat", 0.7),
            f_down=tr.get("f_down", 0.4),
            achieved=t["achieved"],
            partial=t["partial"],
        )
    appr = float(pd.to_numeric(cur_a["approved_amount"], errors="coerce").sum())
    details = {
        "current": cur,
        "previous": prev,
        "growth": rating.ratio,
        "leverage": cur / appr if appr else math.nan,
    }
    fy = ctx.table("firm_year")
    if fy is not None and "digital_inv" in fy.columns:
        ids = set(cur_a["firm_id"].dropna())
        yr = pd.to_numeric(fy["year"], errors="coerce")
        v = pd.to_numeric(fy["digital_inv"], errors="coerce")
        m = fy["firm_id"].isin(ids)
        details["funded_digital_inv"] = float(v[m & (yr == ctx.year)].sum())
        details["funded_digital_inv_prev"] = float(v[m & (yr == ctx.year - 1)].sum())
    g = rating.ratio
    gtxt = (
        "—"
        if g is None or (isinstance(g, float) and (math.isnan(g) or math.isinf(g)))
        else f"{g:+.1%}"
    )
    disp = f"{_money(cur)}（上年{_money(prev)}，{gtxt}）"
    rule = (
        f"{ctx.year}年批次立项项目总投资合计与{ctx.year - 1}年批次比较："
        f"增长记{tr.get('f_up', 1.0):.0%}，下降不超过{tr.get('delta', 0.05):.0%}记"
        f"{tr.get('f_flat', 0.7):.0%}，否则{tr.get('f_down', 0.4):.0%}"
    )
    reasons = [] if (g is not None and g > 0) else [f"立项项目总投资较上年{gtxt}"]
    return Measurement(
        cur, disp, rating, rule, cur_a, details, reasons=reasons, unit="万元"
    )


def satisfaction(ctx: Context, ind: dict) -> Measurement:
    """Weighted satisfaction index of funded firms, scored positively (§3.8)."""
    s = ctx.survey()
    t = float(ind["target_value"])
    rating = _positive(ctx, s.index, t)
    if s.low_sample:
        rating = F.Rating(
            rating.f, rating.tier, (*rating.flags, "low_sample"), rating.ratio
        )
    lo, hi = s.top2_ci
    disp = (
        f"{s.index:.2f}分（满意率{_pct(s.top2_rate)}，95%CI {_pct(lo)}–{_pct(hi)}；"
        f"有效{s.n_valid}份，回复率{_pct(s.response_rate)}）"
    )
    pts = "/".join(f"{p:g}" for p in s.points)
    basis = "总体满意度题（Q0）" if s.basis != "mean_of_items" else "各题平均"
    rule = f"立项企业问卷{basis}按{pts}赋分的综合满意度指数，与指标值比较（§3.8）"
    reasons = []
    if not math.isnan(s.index) and s.index < t:
        reasons.append(f"综合满意度{s.index:.2f}分低于{t:g}分")
    if s.n_valid == 0:
        reasons.append("无有效满意度问卷（未提供调查数据或无立项企业回复）")
    elif s.low_sample:
        reasons.append(f"有效样本{s.n_valid}份少于{s.min_valid}份，结果仅供参考")
    return Measurement(
        s.index,
        disp,
        rating,
        rule,
        s.responses,
        s.to_dict(),
        items=s.items,
        reasons=reasons,
        unit="分",
    )


def budget_ratio(
    ctx: Context, ind: dict, *, numerator: str, denominator
) -> Measurement:
    """Budget ratio from the ``budget`` table (资金到位率 / 预算执行率, §3.9)."""
    den_col = (
        denominator.get(ctx.scheme) if isinstance(denominator, dict) else denominator
    )
    b = ctx.budget_row()
    nz, dz = _BUDGET_ZH.get(numerator, numerator), _BUDGET_ZH.get(den_col, den_col)
    rule = f"{nz} / {dz} × 100%（budget.{numerator} / budget.{den_col}，{ctx.year}年）"
    if b is None or not (pd.notna(b[den_col]) and float(b[den_col]) > 0):
        return Measurement(
            None,
            "无当年预算数据（不适用）",
            F.not_applicable("no_budget"),
            rule,
            reasons=["未提供当年预算数据，按不适用处理"],
            unit="%",
        )
    num, den = float(b[numerator]), float(b[den_col])
    ratio = num / den
    rating = _positive(ctx, 100 * ratio, float(ind["target_value"]))
    disp = f"{_pct(ratio)}（{_money(num)} / {_money(den)}）"
    reasons = [] if ratio >= 1 else [f"{nz}为{dz}的{_pct(ratio)}"]
    return Measurement(
        100 * ratio,
        disp,
        rating,
        rule,
        b.to_frame().T,
        {"numerator": num, "denominator": den},
        reasons=reasons,
        unit="%",
    )


def checklist(ctx: Context, ind: dict, *, misuse_types=(), misuse_f=0.0) -> Measurement:
    """Evidence checklist: computed rules first, then the assessments file (§3.6)."""
    rows = []
    values: list[float | None] = []
    weights = []
    frames = []
    for it in ind.get("checklist") or []:
        res: Check | None = None
        origin = "missing"
        if it.get("rule"):
            res = RULES[it["rule"]](ctx, **(it.get("params") or {}))
            if res.x is not None:
                origin = "data"
        x = res.x if res is not None else None
        evidence = res.evidence if res is not None else ""
        src = "数据计算 computed"
        if x is None and ctx.assessments is not None:
            a = ctx.assessments.get(it["id"])
            if a is not None:
                x, origin = a.result, "assessment"
                evidence = a.evidence
                src = a.source
        if x is None:
            evidence = (
                evidence + "；" if evidence else ""
            ) + "缺评估 missing assessment"
            src = "—"
        if res is not None and res.rows is not None and len(res.rows):
            frames.append(res.rows.assign(checklist_item=it["id"]))
        values.append(x)
        weights.append(float(it.get("weight", 1)))
        rows.append(
            {
                "item": it["id"],
                "zh": it.get("zh", ""),
                "en": it.get("en", ""),
                "x": x,
                "origin": origin,
                "evidence": evidence,
                "source": src,
                "weight": weights[-1],
            }
        )
    items = pd.DataFrame(rows)
    cap = None
    reasons = []
    misuse = _misuse_events(ctx, misuse_types)
    if not misuse.empty:
        cap = float(misuse_f)
        reasons.append(
            f"当年查实{'、'.join(misuse_types)}事项{len(misuse)}件，得分率按{cap:.0%}计"
        )
    policy = ctx.policies.get("missing_assessment", "zero")
    t = ctx.tiers
    rating = F.checklist(
        values,
        weights,
        missing=policy,
        achieved=t["achieved"],
        partial=t["partial"],
        cap=cap,
    )
    ov = (
        ctx.assessments.overrides.get(ind["id"])
        if ctx.assessments is not None
        else None
    )
    details = {"missing_policy": policy}
    if any(v is None for v in values):
        upper = F.checklist(
            [1.0 if v is None else v for v in values], weights, cap=cap
        ).f
        details["f_if_missing_pass"] = upper
        miss = [r["item"] for r in rows if r["x"] is None]
        reasons.append(
            f"缺评估{len(miss)}项（{'、'.join(miss)}），"
            + ("按0分计" if policy == "zero" else "未计入")
            + f"；若全部达成，得分率可达{upper:.0%}"
        )
    if ov is not None:
        rating = F.Rating(
            float(ov["f"]),
            F.tier_from_fraction(float(ov["f"]), **t),
            (*rating.flags, "override"),
            rating.ratio,
        )
        reasons.append(f"评价人员调整得分率为{float(ov['f']):.0%}：{ov['reason']}")
    failed = [r["zh"] for r in rows if r["x"] is not None and r["x"] < 1]
    if failed:
        reasons.insert(0, "未完全达成的清单项：" + "；".join(failed))
    n_ok = sum(1 for v in values if v is not None and v >= 1)
    n_known = sum(1 for v in values if v is not None)
    disp = f"{rating.tier}（{n_ok}/{len(values)}项达成"
    disp += f"，{len(values) - n_known}项缺评估）" if n_known < len(values) else "）"
    rule = (
        "证据清单 Σv·x/Σv（x∈{0,0.5,1}）；≥80%达成，60%–80%部分达成，<60%未达成（§3.6）"
    )
    drill = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    actual = None if math.isnan(rating.f) else 100 * rating.f
    return Measurement(
        actual,
        disp,
        rating,
        rule,
        drill,
        details,
        items=items,
        reasons=reasons,
        unit="%",
    )


def assessed_value(ctx: Context, ind: dict) -> Measurement:
    """An actual value taken from the assessments file (item = indicator id)."""
    a = ctx.assessments.get(ind["id"]) if ctx.assessments is not None else None
    rule = "评价人员在评估文件中给出的实际完成值"
    if a is None:
        r = F.Rating(0.0, F.NOT_ACHIEVED, ("missing_assessment",))
        return Measurement(
            None, "缺评估", r, rule, reasons=["评估文件未给出实际完成值"]
        )
    v = float(a.result)
    t = float(ind.get("target_value") or 0)
    sc = ind.get("scoring")
    if sc == "reverse":
        r = F.negative(v, t, formula=ctx.policies.get("neg_formula", "ratio"))
    elif sc == "exact":
        r = F.exact(v, t)
    else:
        r = _positive(ctx, v, t)
    return Measurement(
        v,
        f"{v:g}{ind.get('unit') or ''}",
        r,
        rule,
        details={"evidence": a.evidence, "source": a.source},
    )


METHODS: dict[str, Callable[..., Measurement]] = {
    "award_cap": award_cap,
    "covered_firms": covered_firms,
    "award_compliance": award_compliance,
    "disbursement_deadline": disbursement_deadline,
    "investment_trend": investment_trend,
    "satisfaction": satisfaction,
    "budget_ratio": budget_ratio,
    "checklist": checklist,
    "assessed_value": assessed_value,
}


def measure(ctx: Context, ind: dict) -> Measurement:
    """Run the indicator's ``measure.method`` with its parameters."""
    params = dict(ind.get("measure") or {})
    method = params.pop("method")
    return METHODS[method](ctx, ind, **params)
