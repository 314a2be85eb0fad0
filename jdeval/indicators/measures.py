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
from jdeval.indicators.reasons import Reason, missing_policy_zh
from jdeval.indicators.schema import Indicator
from jdeval.survey import analyse
from jdeval.survey.population import approved_awards


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
    reasons: list[Reason] = field(default_factory=list)
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
        self.statuses = tuple(self.policies.approved_statuses)
        self._survey = None
        ed = self.policies.eval_date
        self.eval_date = pd.Timestamp(ed) if ed else self._data_as_of()

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
            s = self.policies.satisfaction
            self._survey = analyse(
                self.ds,
                year=self.year,
                points=s.points,
                overall_item=s.item,
                min_n=s.min_n,
                min_share=s.min_share,
                statuses=self.statuses,
                satisfied_min=s.satisfied_min,
            )
        return self._survey

    @property
    def tiers(self):
        """``policies.tiers`` (``.achieved``, ``.partial``)."""
        return self.policies.tiers


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
    return F.positive(
        actual,
        target,
        theta_over=p.theta_over,
        over_policy=p.over_policy,
        penalty_floor=p.penalty.floor,
        penalty_slope=p.penalty.slope,
        partial=p.tiers.partial,
    )


def _over_reasons(ctx: Context, rating: F.Rating) -> list[Reason]:
    """The over-target reason when the rating carries the flag."""
    theta = ctx.policies.theta_over
    if "over_penalty" in rating.flags:
        return [Reason("over_penalty", theta=theta)]
    if "over_target" in rating.flags:
        return [Reason("over_target", theta=theta)]
    return []


def award_cap(ctx: Context, ind: Indicator, *, category, statuses=None) -> Measurement:
    """Share of approved awards of ``category`` within the per-unit standard (§3.4)."""
    t = ind.target_number
    unit = ind.unit or ""
    a = ctx.batch_awards(category=category, statuses=statuses)
    amt = pd.to_numeric(a["approved_amount"], errors="coerce")
    rating = F.cost_cap(amt.to_numpy(), t, partial=ctx.tiers.partial)
    rows = a.assign(within_standard=amt <= t + 1e-9)
    n = len(a)
    rule = (
        f"{ctx.year}年批次已立项的“{_category_zh(category)}”类项目中，"
        f"核定金额不超过标准{t:g}{unit}的项目占比"
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
            reasons=[Reason("no_category_awards")],
            unit="%",
        )
    n_ok = int((amt <= t + 1e-9).sum())
    mean, mx = float(amt.mean()), float(amt.max())
    # A maximum is one firm's award and a mean is a total over the category's
    # firms, so the display (shown to reviewers) keeps the mean only where the
    # disclosure rule allows the total; `details` has both.
    safe = not ctx.policies.disclosure.rule.unsafe_rows(a, value="approved_amount")
    mean_text = f"；均值{mean:.2f}{unit}" if safe else ""
    disp = f"{_pct(n_ok / n)}（{n_ok}/{n}项≤{t:g}{unit}{mean_text}）"
    reasons = []
    if n_ok < n:
        reasons.append(Reason("over_standard", n=n - n_ok, standard=t, unit=unit))
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


def covered_firms(ctx: Context, ind: Indicator) -> Measurement:
    """Distinct enterprises with an approved award of the batch year (§6 O1)."""
    t = ind.target_number
    unit = ind.unit or ""
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
        reasons.append(Reason("below_target_count", actual=n, gap=t - n, unit=unit))
    reasons += _over_reasons(ctx, rating)
    return Measurement(
        float(n), f"{n}{unit}", rating, rule, a, details, reasons=reasons, unit=unit
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
    ctx: Context, ind: Indicator, *, checks, misuse_types=(), statuses=None
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
        cap = ctx.policies.misuse_cap
    rating = F.checklist(
        [share],
        missing=ctx.policies.missing_assessment,
        cap=cap,
        achieved=ctx.tiers.achieved,
        partial=ctx.tiers.partial,
    )
    # Name failures by the problem (重复资助), not the check (无重复资助): "未通过
    # 无重复资助" is a double negative a reader inverts.
    problems = {
        c["column"]: c.get("problem") or names[c["column"]]
        for c in checks
        if isinstance(c, dict)
    }
    fails = {
        problems.get(c, names[c]): int((~ok[c]).sum()) for c in cols if (~ok[c]).any()
    }
    if fails:
        detail = "，".join(f"{k}{v}项" for k, v in fails.items())
        reasons.append(Reason("checks_failed", detail=detail))
    if cap is not None:
        reasons.append(
            Reason(
                "misuse_capped", types="、".join(misuse_types), n=len(misuse), cap=cap
            )
        )
    rule = (
        f"{ctx.year}年批次立项项目中，{'、'.join(names.values())}全部通过的项目占比；"
        f"查实{'/'.join(misuse_types) or '—'}事项时得分率不超过"
        f"{ctx.policies.misuse_cap:.0%}"
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


def disbursement_deadline(
    ctx: Context, ind: Indicator, *, statuses=None
) -> Measurement:
    """Share of approved awards paid (or on track) by the deadline (§3.5)."""
    due = pd.Timestamp(ind.due_date)
    lmax = ctx.policies.deadline_lmax_days
    a = ctx.batch_awards(statuses=statuses)
    appr = pd.to_datetime(a["approval_date"], errors="coerce")
    disb = pd.to_datetime(a["disbursement_date"], errors="coerce")
    disb = disb.where(disb <= ctx.eval_date)
    flags = F.on_time(appr, disb, due=due, eval_date=ctx.eval_date, lmax_days=lmax)
    rating = F.deadline(flags, partial=ctx.tiers.partial)
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
        reasons.append(Reason("late_or_unpaid", n=late, lmax=lmax))
    if details["n_over_lmax"]:
        reasons.append(Reason("over_lmax", n=details["n_over_lmax"], lmax=lmax))
    if not len(a):
        return Measurement(
            None, "当年无立项项目（不适用）", rating, rule, rows, details, unit="%"
        )
    share = float(flags.mean())
    # the timing (mean/median/P90) has one display: KPI K8 (kpis.DisbursementTiming)
    disp = f"{_pct(share)}（{int(flags.sum())}/{len(a)}项按期）"
    return Measurement(
        100 * share, disp, rating, rule, rows, details, reasons=reasons, unit="%"
    )


def investment_trend(ctx: Context, ind: Indicator) -> Measurement:
    """Total investment of approved projects, Y vs Y−1 (§3.7 trend rule)."""
    cur_a = ctx.batch_awards()
    prev_a = ctx.batch_awards(year=ctx.year - 1)
    cur = float(pd.to_numeric(cur_a["project_total_investment"], errors="coerce").sum())
    prev = float(
        pd.to_numeric(prev_a["project_total_investment"], errors="coerce").sum()
    )
    tr = ctx.policies.trend
    t = ctx.tiers
    if prev_a.empty:
        rating = F.not_applicable("no_previous_year")
    else:
        rating = F.trend(
            cur,
            prev,
            delta=tr.delta,
            f_up=tr.f_up,
            f_flat=tr.f_flat,
            f_down=tr.f_down,
            achieved=t.achieved,
            partial=t.partial,
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
    disp = (  # the first batch has no previous one: no "上年0.00万元"
        f"{_money(cur)}（首个批次，无上年可比）"
        if prev_a.empty
        else f"{_money(cur)}（上年{_money(prev)}，{gtxt}）"
    )
    rule = (
        f"{ctx.year}年批次立项项目总投资合计与{ctx.year - 1}年批次比较："
        f"增长记{tr.f_up:.0%}，下降不超过{tr.delta:.0%}记"
        f"{tr.f_flat:.0%}，否则{tr.f_down:.0%}"
    )
    up = prev_a.empty or (g is not None and g > 0)  # a first batch is not "down"
    reasons = [] if up else [Reason("trend_not_up", growth=gtxt)]
    return Measurement(
        cur, disp, rating, rule, cur_a, details, reasons=reasons, unit="万元"
    )


def satisfaction(ctx: Context, ind: Indicator) -> Measurement:
    """Weighted satisfaction index of funded firms, scored positively (§3.8)."""
    s = ctx.survey()
    t = ind.target_number
    rating = _positive(ctx, s.index, t)
    if s.low_sample:
        rating = F.Rating(
            rating.f, rating.tier, (*rating.flags, "low_sample"), rating.ratio
        )
    lo, hi = s.top2_ci
    disp = (
        f"综合满意度{s.index:.2f}%（满意率{_pct(s.top2_rate)}，95%置信区间{_pct(lo)}至{_pct(hi)}；"
        f"有效问卷{s.n_valid}份，回收率{_pct(s.response_rate)}）"
    )
    pts = "/".join(f"{p:g}" for p in s.points)
    item = ctx.policies.satisfaction.item
    basis = f"总体满意度题（{item}）" if s.basis != "mean_of_items" else "各题平均"
    rule = f"立项企业问卷{basis}按{pts}赋分的综合满意度指数，与指标值比较（§3.8）"
    reasons = _over_reasons(ctx, rating)
    if not math.isnan(s.index) and s.index < t:
        reasons.append(Reason("satisfaction_below", index=s.index, target=t))
    if s.n_valid == 0:
        reasons.append(Reason("no_survey"))
    elif s.low_sample:
        reasons.append(Reason("low_sample", n=s.n_valid, min_valid=s.min_valid))
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
    ctx: Context, ind: Indicator, *, numerator: str, denominator
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
            reasons=[Reason("no_budget")],
            unit="%",
        )
    num, den = float(b[numerator]), float(b[den_col])
    ratio = num / den
    target = ind.target_number
    rating = _positive(ctx, 100 * ratio, target)
    disp = f"{_pct(ratio)}（{_money(num)}÷{_money(den)}）"
    reasons = _over_reasons(ctx, rating)
    if 100 * ratio < target:
        reasons.append(Reason("budget_ratio", num=nz, den=dz, ratio=ratio))
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


def checklist(
    ctx: Context, ind: Indicator, *, misuse_types=(), misuse_f=0.0
) -> Measurement:
    """Evidence checklist: computed rules first, then the assessments file (§3.6)."""
    rows = []
    values: list[float | None] = []
    weights = []
    frames = []
    for it in ind.checklist:
        res: Check | None = None
        origin = "missing"
        if it.rule:
            res = RULES[it.rule](ctx, **it.params)
            if res.x is not None:
                origin = "data"
        x = res.x if res is not None else None
        evidence = res.evidence if res is not None else ""
        src = "数据计算 computed"
        if x is None and ctx.assessments is not None:
            a = ctx.assessments.get(it.id)
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
            frames.append(res.rows.assign(checklist_item=it.id))
        values.append(x)
        weights.append(it.weight)
        rows.append(
            {
                "item": it.id,
                "zh": it.zh,
                "en": it.en,
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
            Reason(
                "misuse_fixed", types="、".join(misuse_types), n=len(misuse), cap=cap
            )
        )
    policy = ctx.policies.missing_assessment
    t = ctx.tiers
    rating = F.checklist(
        values,
        weights,
        missing=policy,
        achieved=t.achieved,
        partial=t.partial,
        cap=cap,
    )
    ov = ctx.assessments.overrides.get(ind.id) if ctx.assessments is not None else None
    details = {"missing_policy": policy}
    if any(v is None for v in values):
        upper = F.checklist(
            [1.0 if v is None else v for v in values],
            weights,
            missing=policy,
            achieved=t.achieved,
            partial=t.partial,
            cap=cap,
        ).f
        details["f_if_missing_pass"] = upper
        miss = [r["item"] for r in rows if r["x"] is None]
        reasons.append(
            Reason(
                "missing_items",
                n=len(miss),
                items="、".join(miss),
                policy_text=missing_policy_zh(policy),
                upper=upper,
            )
        )
    if ov is not None:
        rating = F.Rating(
            float(ov["f"]),
            F.tier_from_fraction(
                float(ov["f"]), achieved=t.achieved, partial=t.partial
            ),
            (*rating.flags, "override"),
            rating.ratio,
        )
        reasons.append(Reason("override", f=float(ov["f"]), reason=ov["reason"]))
    # The finding (evidence: "2024年有1件查实投诉"), not the criterion's label
    # ("无查实投诉"), which reads as met after "未完全达成的清单项：".
    failed = [
        r["evidence"] or r["zh"] for r in rows if r["x"] is not None and r["x"] < 1
    ]
    if failed:
        reasons.insert(0, Reason("items_not_met", items="；".join(failed)))
    n_ok = sum(1 for v in values if v is not None and v >= 1)
    n_known = sum(1 for v in values if v is not None)
    disp = f"{rating.tier}（{n_ok}/{len(values)}项达成"
    disp += f"，{len(values) - n_known}项缺评估）" if n_known < len(values) else "）"
    rule = (
        f"证据清单 Σv·x/Σv（x∈{{0,0.5,1}}）；≥{t.achieved:.0%}达成，"
        f"{t.partial:.0%}–{t.achieved:.0%}部分达成，<{t.partial:.0%}未达成（§3.6）"
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


def assessed_value(ctx: Context, ind: Indicator) -> Measurement:
    """An actual value taken from the assessments file (item = indicator id)."""
    a = ctx.assessments.get(ind.id) if ctx.assessments is not None else None
    rule = "评价人员在评估文件中给出的实际完成值"
    if a is None:
        r = F.Rating(0.0, F.NOT_ACHIEVED, ("missing_assessment",))
        return Measurement(
            None, "缺评估", r, rule, reasons=[Reason("no_assessment_value")]
        )
    v = float(a.result)
    t = ind.target_number
    sc = ind.scoring
    if sc == "reverse":
        r = F.negative(
            v, t, formula=ctx.policies.neg_formula, partial=ctx.tiers.partial
        )
    elif sc == "exact":
        r = F.exact(v, t, partial=ctx.tiers.partial)
    else:
        r = _positive(ctx, v, t)
    return Measurement(
        v,
        f"{v:g}{ind.unit or ''}",
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


def measure(ctx: Context, ind: Indicator) -> Measurement:
    """Run the indicator's ``measure.method`` with its parameters."""
    return METHODS[ind.measure.method](ctx, ind, **ind.measure.params)
