"""Views for the notebook pages: formatted Chinese tables and one-line readings.

Each function turns an analysis result into what a finance reviewer reads on a
report page: a :class:`pandas.io.formats.style.Styler` with Chinese headers,
rounded numbers, no index and wrapping text that fits the page, or a chart, plus a
plain-language reading.  Wide tables are summarised; the full table is offered as
an embedded CSV download (:func:`download`), so the page stays self-contained.
Notebook cells only call these functions.
"""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.io.formats.style import Styler

from jdeval.report import charts, formats

__all__ = [
    "View",
    "attrition_view",
    "bacon_view",
    "balance_view",
    "check_view",
    "coverage_view",
    "dataset_view",
    "dose_view",
    "download",
    "effects_view",
    "funds_chart",
    "heterogeneity_view",
    "honest_view",
    "inference_view",
    "kpi_view",
    "level_view",
    "overlap_chart",
    "overlap_view",
    "power_view",
    "robustness_matrix",
    "score_view",
    "styled",
    "survey_view",
    "text",
    "tfp_view",
]

#: Page-fitting table style: full width, wrapped cells, tabular digits.
_TABLE_CSS = [
    {
        "selector": "",
        # auto layout (the page template's tables are fixed): numeric columns
        # shrink to their content, text columns take the rest
        "props": "border-collapse: collapse; width: 100%; max-width: 100%; "
        "table-layout: auto; "
        "font-size: 13px; font-variant-numeric: tabular-nums;",
    },
    {
        "selector": "caption",
        "props": "caption-side: top; text-align: left; font-weight: bold; "
        "padding: 4px 0;",
    },
    {
        "selector": "th",
        "props": "background: #E8EEF4; padding: 4px 6px; border: 1px solid #C8D3DE; "
        "white-space: normal; text-align: center; min-width: 6em;",
    },
    {
        "selector": "td",
        # wrapping is set per column below: a rule here ("#T td") would outrank it
        "props": "padding: 4px 6px; border: 1px solid #DDE3EA; vertical-align: top;",
    },
]

Formatter = str | Callable[[object], str]


def _fmt(f: Formatter) -> Callable[[object], str]:
    if callable(f):
        return lambda v: formats.MISSING if formats.is_missing(v) else f(v)
    return lambda v: formats.MISSING if formats.is_missing(v) else f.format(v)


def styled(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    *,
    fmt: Mapping[str, Formatter] | None = None,
    caption: str | None = None,
    numeric: tuple[str, ...] = (),
) -> Styler:
    """A page-ready table: ``columns`` (key → 中文表头) selects and orders the
    columns; ``fmt`` (key → format string or function) formats cells, missing
    values print as ``—``; ``numeric`` keys are right-aligned."""
    f = frame[list(columns)].rename(columns=dict(columns)).reset_index(drop=True)
    fmts = {columns[k]: _fmt(v) for k, v in (fmt or {}).items() if k in columns}
    for c in f.columns:
        fmts.setdefault(c, _fmt("{}"))
    st = f.style.format(fmts).hide(axis="index").set_table_styles(_TABLE_CSS)
    # pandas draws a random id per table; a content-derived one keeps identical
    # inputs giving identical pages (the rebuild-identical check)
    key = f"{caption}\n{f.to_csv(index=False)}".encode()
    st = st.set_uuid(hashlib.sha256(key).hexdigest()[:10])
    right = [columns[k] for k in numeric]
    left = [c for c in f.columns if c not in right]
    if left:
        st = st.set_properties(
            subset=left, **{"text-align": "left", "overflow-wrap": "anywhere"}
        )
    if right:
        st = st.set_properties(
            subset=right,
            **{"text-align": "right", "white-space": "nowrap", "width": "1%"},
        )
    if caption:
        st = st.set_caption(caption)
    return st


@dataclass
class View:
    """A reading (one plain-language line) above a table or chart."""

    reading: str
    body: object  # Styler, matplotlib Figure or HTML string
    extra: str = ""  # e.g. a download link

    def _repr_html_(self) -> str:
        if hasattr(self.body, "to_html"):
            inner = self.body.to_html()
        elif hasattr(self.body, "savefig"):
            import io

            buf = io.BytesIO()
            self.body.savefig(buf, format="png", dpi=110)
            data = base64.b64encode(buf.getvalue()).decode("ascii")
            inner = f'<img src="data:image/png;base64,{data}" style="max-width:100%">'
        else:
            inner = str(self.body)
        return (
            f'<p class="jd-reading"><strong>解读：</strong>{html.escape(self.reading)}</p>'
            f"{inner}{self.extra}"
        )


def download(frame: pd.DataFrame, filename: str, label: str) -> str:
    """An HTML link that downloads ``frame`` as CSV (UTF-8 with BOM, embedded)."""
    from jdeval.report.export import neutralise_frame

    safe = neutralise_frame(frame)
    data = base64.b64encode(
        ("\ufeff" + safe.to_csv(index=False)).encode("utf-8")
    ).decode("ascii")
    return (
        f'<p class="jd-download"><a download="{html.escape(filename)}" '
        f'href="data:text/csv;charset=utf-8;base64,{data}">'
        f"{html.escape(label)}</a></p>"
    )


# ------------------------------------------------------------------ effects
def _p(v: object) -> str:
    return "<0.001" if float(v) < 0.001 else f"{float(v):.3f}"


def _strength_zh() -> dict[str, str]:
    from jdeval.report.narrative import load_rules

    return dict(load_rules().params.get("strength_zh", {}))


def effects_view(effects, rule) -> View:
    """Headline effect per outcome with its strength of evidence.

    ``rule`` is the targets file's ``policies.report.evidence``.
    """
    from jdeval.report.evidence import effect_facts

    facts = effect_facts(effects, rule)
    labels = _strength_zh()
    rows = pd.DataFrame(
        {
            "outcome": [e.outcome_zh for e in facts],
            "shown": [e.shown for e in facts],
            "ci": [e.shown_ci for e in facts],
            "p": [e.p_value for e in facts],
            "agree": [
                f"{sum(c.agrees for c in e.checks)}/{len(e.checks)}" for e in facts
            ],
            "pre": [e.pretest_p for e in facts],
            "strength": [labels.get(e.strength, e.strength) for e in facts],
            "n": [e.n_treated for e in facts],
        }
    )
    strong = [e.outcome_zh for e in facts if e.strength == "strong"]
    reading = (
        f"{len(facts)}个结果变量中，证据明确的有{len(strong)}个"
        + (f"（{'、'.join(strong)}）" if strong else "")
        + "；其余结果或未通过对比设定检验，或效应尚不显著，不宜作为政策成效引用。"
    )
    table = styled(
        rows,
        {
            "outcome": "结果变量",
            "shown": "平均效应",
            "ci": "95%置信区间",
            "p": "p值",
            "agree": "同号且显著的对比设定",
            "pre": "处理前趋势检验p值",
            "strength": "证据强度",
            "n": "受资助企业数",
        },
        fmt={"p": _p, "pre": _p, "n": "{:,}"},
        numeric=("p", "pre", "n"),
    )
    return View(reading, table)


def robustness_matrix(effects, rule) -> View:
    """Which comparison specification agrees with the main estimate, per outcome
    (rows: specifications; columns: outcomes) — the criterion of the strength of
    evidence, which can fail: same sign *and* significant."""
    from jdeval.report.evidence import effect_facts

    facts = effect_facts(effects, rule)
    names: dict[str, str] = {}
    cells: dict[str, dict[str, str]] = {}
    for e in facts:
        for c in e.checks:
            names.setdefault(c.code, c.name_zh)
            mark = (
                "同号且显著"
                if c.agrees
                else "同号、不显著"
                if c.same_sign
                else "方向相反"
                if c.estimate is not None
                else "无结果"
            )
            cells.setdefault(c.code, {})[e.outcome_zh] = mark
    outcomes = [e.outcome_zh for e in facts]
    frame = pd.DataFrame(
        [{"check": names[k], **cells[k]} for k in names], columns=["check", *outcomes]
    )
    n_all = sum(len(e.checks) for e in facts)
    n_ok = sum(c.agrees for e in facts for c in e.checks)
    reading = (
        f"在{len(facts)}个结果变量、共{n_all}个对比设定中，{n_ok}个与主估计同号且显著；"
        "“同号、不显著”表示换一种做法后效应不再显著，相应结论须谨慎。"
    )
    table = styled(frame, {"check": "对比设定", **{o: o for o in outcomes}})
    table = table.map(
        lambda v: (
            "color: #B03A2E;"
            if v in ("方向相反", "同号、不显著")
            else "color: #3B8B5A;"
            if v == "同号且显著"
            else ""
        ),
        subset=outcomes,
    )
    full = pd.DataFrame(
        [
            {
                "结果变量": e.outcome_zh,
                "对比设定": c.name_zh,
                "估计值": c.estimate,
                "置信区间下限": c.ci_low,
                "置信区间上限": c.ci_high,
                "p值": c.p_value,
                "与主估计同号且显著": "是" if c.agrees else "否",
            }
            for e in facts
            for c in e.checks
        ]
    )
    link = download(full, "稳健性检验明细.csv", "下载稳健性检验明细（CSV）")
    return View(reading, table, link)


def heterogeneity_view(effects, outcome: str, dimension: str) -> View:
    """Effects by group (forest chart) for one outcome and one grouping, with the
    groups too small to interpret marked; the full table as a download."""
    h = effects.heterogeneity
    f = h[(h["outcome"] == outcome) & (h["dimension"] == dimension)].copy()
    if f.empty:
        raise KeyError(f"no heterogeneity rows for {outcome}/{dimension}")
    dim_zh = str(f["dimension_zh"].iloc[0])
    f["label"] = [
        f"{g}（{n}家）" + ("*" if small else "")
        for g, n, small in zip(f["group_zh"], f["n_treated"], f["too_small"])
    ]
    fig = charts.forest(
        f,
        label="label",
        title=None,
        xlabel="效应估计值（95%置信区间）",
        muted=f["too_small"].to_numpy(dtype=bool),
    )
    ok = f[~f["too_small"].astype(bool)]
    sig = ok[(ok["ci_low"] > 0) | (ok["ci_high"] < 0)]
    from jdeval.effects.outcomes import outcome_label

    n_small = int(f["too_small"].sum())
    reading = (
        f"{outcome_label(outcome)}，按{dim_zh}分组：可解读的{len(ok)}组中"
        f"{len(sig)}组的置信区间不含零"
        + (f"；标*的{n_small}组受资助企业过少，不作结论" if n_small else "")
        + "。各组区间多有重叠时，不能认为组间效应存在差异。"
    )
    full = f[["group_zh", "n_treated", "n_control", "estimate", "ci_low", "ci_high"]]
    full = full.rename(
        columns={
            "group_zh": dim_zh,
            "n_treated": "受资助企业数",
            "n_control": "对照企业数",
            "estimate": "估计值",
            "ci_low": "置信区间下限",
            "ci_high": "置信区间上限",
        }
    )
    link = download(full, f"异质性_{dim_zh}.csv", f"下载按{dim_zh}分组的估计（CSV）")
    return View(reading, fig, link)


_COVARIATE_ZH = {
    "log_employees_base": "基期从业人数（对数）",
    "log_revenue_base": "基期营业收入（对数）",
    "maturity_base": "基期智能制造成熟度",
}


def balance_view(effects) -> View:
    """Covariate balance before and after matching (standardised differences)."""
    m = effects.matching.copy()
    m["name"] = [_COVARIATE_ZH.get(c, c) for c in m["covariate"]]
    before = formats.number(np.abs(m["smd_before"]).max())
    after = formats.number(np.abs(m["smd_matched"]).max())
    weighted = (
        f"，倾向得分加权后最大为{formats.number(np.abs(m['smd_ipw']).max())}"
        if "smd_ipw" in m and m["smd_ipw"].notna().any()
        else ""
    )
    reading = (
        f"匹配前受资助与对照企业差异明显（标准化差异最大{before}），"
        f"匹配后最大为{after}{weighted}；差异越接近0，两组越可比。"
    )
    table = styled(
        m,
        {
            "name": "协变量",
            "mean_treated": "受资助企业均值",
            "mean_control_before": "对照企业均值（匹配前）",
            "smd_before": "标准化差异（匹配前）",
            "mean_control_matched": "对照企业均值（匹配后）",
            "smd_matched": "标准化差异（匹配后）",
            "smd_ipw": "标准化差异（加权后）",
        },
        fmt={
            k: formats.number
            for k in (
                "mean_treated",
                "mean_control_before",
                "smd_before",
                "mean_control_matched",
                "smd_matched",
                "smd_ipw",
            )
        },
        numeric=(
            "mean_treated",
            "mean_control_before",
            "smd_before",
            "mean_control_matched",
            "smd_matched",
            "smd_ipw",
        ),
    )
    return View(reading, table)


_METHOD_ZH = {"acf": "ACF 生产函数估计", "fe": "固定效应估计（对照）"}
_TERM_ZH = {"beta_k": "资本产出弹性", "beta_l": "劳动产出弹性"}


def tfp_view(effects) -> View:
    """Production-function elasticities (ACF and fixed effects)."""
    t = effects.tfp.copy()
    t["method_zh"] = t["method"].map(lambda m: _METHOD_ZH.get(m, m))
    t["term_zh"] = t["term"].map(lambda m: _TERM_ZH.get(m, m))
    t["ci"] = [
        formats.MISSING if formats.is_missing(lo) else f"[{lo:.3f}, {hi:.3f}]"
        for lo, hi in zip(t["ci_low"], t["ci_high"])
    ]
    acf = t[t["method"] == "acf"].set_index("term")["estimate"]
    reading = (
        f"ACF 估计的资本弹性{acf.get('beta_k', float('nan')):.2f}、劳动弹性"
        f"{acf.get('beta_l', float('nan')):.2f}；全要素生产率为产出中二者不能解释的部分。"
    )
    table = styled(
        t,
        {
            "method_zh": "估计方法",
            "term_zh": "系数",
            "estimate": "估计值",
            "ci": "95%置信区间",
        },
        fmt={"estimate": "{:.3f}"},
        numeric=("estimate",),
    )
    return View(reading, table)


def text(paragraph: str) -> View:
    """A plain reading with no table (replaces ``print`` of a summary sentence)."""
    return View(paragraph, "")


# ------------------------------------------------------------------ 01 data quality
_SEVERITY_ZH = {"error": "错误", "finding": "合规性发现", "warning": "提示"}


def dataset_view(ds, source_name: str = "") -> View:
    """The tables of a dataset: Chinese name, rows, columns."""
    s = ds.summary().reset_index()
    s.columns = ["key", "name", "rows", "cols"]
    reading = (
        f"共{len(s)}张数据表；企业面板覆盖{ds.years[0]}–{ds.years[-1]}年"
        + (f"（数据目录：{source_name}）" if source_name else "")
        + "。"
    )
    table = styled(
        s,
        {"name": "数据表", "rows": "行数", "cols": "列数"},
        fmt={"rows": "{:,}", "cols": "{:,}"},
        numeric=("rows", "cols"),
    )
    return View(reading, table)


def check_view(check, *, audience: str = "reviewer") -> View:
    """Validation result: counts per rule; row-level detail (internal only) as a
    download."""
    probs = pd.DataFrame([p.to_dict() for p in check.problems])
    reading = (
        f"错误{len(check.errors)}条、合规性发现{len(check.findings)}条、"
        f"提示{len(check.warnings)}条。"
        + (
            "错误为零，数据可用于评价。"
            if not check.errors
            else "存在错误，须先修正数据。"
        )
    )
    if probs.empty:
        return View(reading + "未发现问题。", "")
    g = (
        probs.groupby(["severity", "table", "message_zh"], sort=False)
        .size()
        .rename("n")
        .reset_index()
    )
    g["severity"] = g["severity"].map(lambda s: _SEVERITY_ZH.get(s, s))
    names = check.dataset.summary()["名称"] if check.dataset is not None else {}
    g["table"] = g["table"].map(lambda t: names.get(t, t))
    table = styled(
        g,
        {"severity": "类别", "table": "数据表", "message_zh": "规则说明", "n": "条数"},
        fmt={"n": "{:,}"},
        numeric=("n",),
    )
    extra = ""
    if audience == "internal":
        detail = probs[["severity", "table", "row", "column", "value", "message_zh"]]
        extra = download(detail, "校验明细.csv", "下载逐条校验明细（CSV，内部版）")
    return View(reading, table, extra)


def _withheld_batches(awards: pd.DataFrame, audience: str, rule) -> set:
    """Batches whose totals disclosure control withholds (reviewer edition)."""
    from jdeval.report import disclosure

    if audience != "reviewer" or awards.empty:
        return set()
    if rule is None:
        from jdeval.indicators import load_targets

        rule = load_targets().policies.disclosure.rule
    firm = awards["firm_id"].astype("object")
    if "provider_id" in awards:
        firm = firm.where(firm.notna(), awards["provider_id"].astype("object"))
    pt = disclosure.protect(
        awards.assign(_b=firm, _y=awards["batch_year"].astype(str)),
        "_y",
        "approved_amount",
        firm="_b",
        min_firms=rule.min_firms,
        dominance=rule.dominance,
    )
    hidden = pt.suppressed.iloc[:, 0]
    return {int(y) for y in hidden.index[hidden.to_numpy()] if y != disclosure.TOTAL}


def coverage_view(ds, *, audience: str = "reviewer", rule=None) -> View:
    """Panel firms per year with approved projects and amounts per batch.

    For reviewers a batch whose figures would disclose a firm (the disclosure
    rule of the targets file, ``rule`` overriding it) shows ``—*``.
    """
    from jdeval.report.disclosure import MARK

    fy = ds.firm_year
    firms = fy.groupby("year")["firm_id"].nunique().rename("firms")
    above = (
        fy.loc[fy["is_above_scale"].fillna(False).astype(bool)]
        .groupby("year")["firm_id"]
        .nunique()
        .rename("above")
    )
    awards = _effective_awards(ds)
    batches = awards.groupby("batch_year").agg(
        n=("award_id", "count"), amount=("approved_amount", "sum")
    )
    t = firms.to_frame().join(above).join(batches, how="left").reset_index()
    t["above"] = t["above"].fillna(0).astype(int)
    hidden = t["year"].isin(_withheld_batches(awards, audience, rule))
    for c in ("n", "amount"):
        t[c] = t[c].astype(object).where(~hidden, MARK)
    # the report's definitions: the panel is not all 规上 (1,200 firms, 1,180 规上
    # in 2024); 有效核定 = approved statuses of the targets, without clawed-back
    # awards (issue 10: this page showed all 112 applications as 核定)
    reading = (
        f"企业面板每年{_range(firms)}家，其中规上工业企业{_range(t['above'])}家；"
        f"共{len(batches)}个申报批次，有效核定项目{int(batches['n'].sum()):,}个"
        "（不含未通过、撤回和核定后已追回的项目）。"
    )
    if hidden.any():
        reading += f"“{MARK}”为按统计披露控制规则不予显示的数值。"

    def num(pattern: str):
        return lambda v: v if isinstance(v, str) else pattern.format(v)

    table = styled(
        t,
        {
            "year": "年份",
            "firms": "面板企业数",
            "above": "其中规上企业数",
            "n": "有效核定项目数",
            "amount": "有效核定金额（万元）",
        },
        fmt={
            "year": "{}",
            "firms": "{:,}",
            "above": "{:,}",
            "n": num("{:,.0f}"),
            "amount": num("{:,.2f}"),
        },
        numeric=("firms", "above", "n", "amount"),
    )
    return View(reading, table)


def _range(v) -> str:
    lo, hi = int(min(v)), int(max(v))
    return f"{lo:,}" if lo == hi else f"{lo:,}–{hi:,}"


def _effective_awards(ds) -> pd.DataFrame:
    """有效核定 awards: status in the targets' ``approved_statuses``."""
    from jdeval.indicators import load_targets

    ok = load_targets().policies.approved_statuses
    a = ds.awards
    return a.loc[a["status"].astype(str).isin(ok)].dropna(subset=["approved_amount"])


def funds_chart(ds, *, audience: str = "reviewer", rule=None):
    """有效核定 amounts per award batch (万元), from zero."""
    awards = _effective_awards(ds)
    b = awards.groupby("batch_year")["approved_amount"].sum().reset_index()
    b = b.loc[~b["batch_year"].isin(_withheld_batches(awards, audience, rule))]
    return charts.trend(b, x="batch_year", y="approved_amount", ylabel="万元")


# ------------------------------------------------------------------ 03 indicators
def score_view(card, *, audience: str = "reviewer", ds=None) -> View:
    """The score table (三级指标), compact; full table with reasons as a download.

    The reviewer edition drops single-firm figures from the 实际完成值 text
    (:func:`jdeval.report.disclosure.redact_display`), as the annual report does.
    """
    from jdeval.report.disclosure import redact_display

    f = card.to_frame_zh()
    f["指标值"] = f["指标值"].map(_target_zh)
    if audience == "reviewer":
        f["实际完成值"] = f["实际完成值"].map(redact_display)
        if ds is not None:  # means whose total 表1 withholds (report.gate)
            from jdeval.report.gate import redact_means

            f["实际完成值"] = redact_means(f["实际完成值"], ds, year=card.year)
    compact = styled(
        f,
        {
            "一级指标": "一级指标",
            "三级指标": "三级指标",
            "指标值": "年度指标值",
            "实际完成值": "实际完成值",
            "分值": "分值",
            "得分": "得分",
            "得分率": "得分率",
        },
        fmt={"分值": "{:.2f}", "得分": "{:.2f}"},
        numeric=("分值", "得分", "得分率"),
    )
    sc = card.to_frame()
    sc = sc[sc["weight"] > 0]
    rate = sc["score"] / sc["weight"]
    low = sc.loc[rate.idxmin()]
    reading = (
        f"{len(sc)}项计分指标中{int((rate >= 1 - 1e-9).sum())}项得满分；得分率最低的是"
        f"“{low['level3']}”（{low['score']:.2f}/{low['weight']:.2f}分，"
        f"{rate.min():.1%}），原因见下载的完整评分表。"
    )
    return View(
        reading, compact, download(f, "评分表.csv", "下载完整评分表（含偏差原因，CSV）")
    )


def level_view(card) -> View:
    """Scores by 一级指标 with the total."""
    g = card.by_level(1)
    g["level1"] = g["level1"].str.replace(" total", "", regex=False)
    low = g.iloc[:-1].sort_values("score_rate").iloc[0]
    reading = (
        f"得分率最低的一级指标是{low['level1']}"
        f"（{low['score']:.2f}/{low['weight']:.2f}分，{low['score_rate']:.1%}）。"
    )
    table = styled(
        g,
        {
            "level1": "一级指标",
            "weight": "分值",
            "score": "得分",
            "score_rate": "得分率",
        },
        fmt={"weight": "{:.2f}", "score": "{:.2f}", "score_rate": "{:.1%}"},
        numeric=("weight", "score", "score_rate"),
    )
    return View(reading, table)


def _target_zh(raw) -> str:
    from jdeval.report.selfeval import _target_text

    return _target_text(raw)


def _kpi_target(raw) -> str:
    """``>=80% (2025); 重点区域 >=90%`` → ``2025年≥80%；重点区域≥90%``."""
    return formats.kpi_target_text(raw)  # one rule for the page and the report


def kpi_view(card) -> View:
    """Supplementary KPIs (不计分)."""
    k = card.kpis.copy()
    k["target_zh"] = [_kpi_target(t) for t in k["target"]]
    # "[A]": a figure this evaluation adds, without a declared target
    k["source"] = k["source"].replace({"[A]": "本评价补充（无申报目标）"})
    table = styled(
        k,
        {
            "name": "补充指标",
            "target_zh": "目标",
            "actual_display": "实际",
            "source": "目标来源",
        },
    )
    return View(f"{len(k)}项补充指标不计分，用于说明政策覆盖面和进展。", table)


# ------------------------------------------------------------------ 04 survey
def survey_view(survey) -> View:
    """Satisfaction by item, compact (index, rate, interval, n)."""
    z = survey.items_zh().reset_index()
    worst = z.sort_values("满意度指数").iloc[0]
    reading = (
        f"各题满意度指数中最低的是“{worst['题目']}”（{worst['满意度指数']:.2f}分）。"
    )
    table = styled(
        z,
        {
            "题目": "题目",
            "有效回答": "有效回答",
            "满意度指数": "满意度指数",
            "满意率": "满意率",
            "95%置信区间": "95%置信区间",
        },
        fmt={"满意度指数": "{:.2f}", "有效回答": "{:,}"},
        numeric=("有效回答", "满意度指数", "满意率"),
    )
    return View(
        reading, table, download(z, "满意度各题结果.csv", "下载各题选项分布（CSV）")
    )


# ------------------------------------------------------------------ 02 diagnostics
_CLUSTER_ZH = {"firm_id": "企业", "town_code": "街镇", "town": "街镇"}
_SE_METHOD_ZH = {
    "analytic": "解析标准误（影响函数）",
    "multiplier_bootstrap": "乘数自助法",
    "wild_cluster_bootstrap": "野聚类自助法",
}


def _critical_zh(info) -> str:
    if info.critical == "t(G-1)":
        return f"t分布（自由度{int(info.df)}）"
    return {"normal": "正态分布", "bootstrap-t": "自助法t分布"}.get(
        info.critical, info.critical
    )


def _unavailable(obj, what: str) -> View | None:
    """A reading-only view when a diagnostic is absent or could not be computed."""
    empty = isinstance(obj, (dict, pd.DataFrame)) and len(obj) == 0
    if obj is None or empty:
        return View(f"本次估计未包含{what}。", "")
    if getattr(obj, "available", True) is False:
        return View(f"{what}无法计算：{obj.reason_zh}。".replace("。。", "。"), "")
    return None


def inference_view(effects) -> View:
    """How the standard errors are clustered and why (``effects.inference``)."""
    info = effects.inference
    if (v := _unavailable(info, "标准误的聚类说明")) is not None:
        return v
    row = pd.DataFrame(
        [
            {
                "cluster": _CLUSTER_ZH.get(info.cluster_var, info.cluster_var),
                "n": info.n_clusters,
                "method": _SE_METHOD_ZH.get(info.method, info.method),
                "critical": _critical_zh(info),
                "draws": info.biters,
            }
        ]
    )
    cols = {
        "cluster": "聚类层级",
        "n": "聚类数",
        "method": "标准误计算方法",
        "critical": "临界值",
    }
    if info.biters:
        cols["draws"] = "自助抽样次数"
    num = ("n", "draws") if info.biters else ("n",)
    table = styled(row, cols, fmt={"n": "{:,}", "draws": "{:,}"}, numeric=num)
    return View(info.reason_zh, table)


def overlap_view(effects) -> View:
    """Propensity-score overlap per cohort (``effects.overlap``)."""
    ov = effects.overlap
    if (v := _unavailable(ov, "倾向得分重叠诊断")) is not None:
        return v
    t = ov.table.copy()
    t["ok"] = t["overlap_ok"].map({True: "充分", False: "不足"})
    poor = [str(int(c)) for c in ov.poor]
    reading = (
        f"各获补批次受资助企业的倾向得分均低于截断阈值{ov.threshold:g}，"
        "均有可比的对照企业"
        if not poor
        else f"{'、'.join(poor)}年批次有受资助企业的倾向得分不低于阈值"
        f"{ov.threshold:g}，缺少可比对照企业，该批次的估计须谨慎"
    )
    reading += (
        f"；对照企业的有效样本量最少为{t['ess_comparison'].min():,.0f}家"
        f"，得分不低于阈值而被置零权重的对照企业共{int(t['n_trimmed'].sum())}家。"
    )
    table = styled(
        t,
        {
            "cohort": "获补批次",
            "n": "受资助企业数",
            "n_comparison": "对照企业数",
            "ps_min": "倾向得分最小值",
            "ps_max": "倾向得分最大值",
            "share_near_1": "得分接近1的比例",
            "n_trimmed": "置零权重的对照企业数",
            "ess_comparison": "对照有效样本量",
            "ok": "重叠",
        },
        fmt={
            "cohort": "{:.0f}年",
            "n": "{:,}",
            "n_comparison": "{:,}",
            "ps_min": "{:.3f}",
            "ps_max": "{:.3f}",
            "share_near_1": "{:.1%}",
            "n_trimmed": "{:,}",
            "ess_comparison": "{:,.0f}",
        },
        numeric=(
            "n",
            "n_comparison",
            "ps_min",
            "ps_max",
            "share_near_1",
            "n_trimmed",
            "ess_comparison",
        ),
    )
    return View(reading, table)


def overlap_chart(effects):
    """Propensity-score histograms per cohort (``Overlap.plot``) at page width."""
    from matplotlib.figure import Figure

    from jdeval.report import fonts

    fonts.setup()
    ov = effects.overlap
    fig = Figure(
        figsize=(charts.WIDTH_IN, 1.2 + 1.1 * max(len(ov.hist), 1)),
        dpi=150,
        layout="constrained",
    )
    ax = fig.add_subplot()
    ov.plot(ax=ax)
    ax.tick_params(labelsize=charts.MIN_FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def attrition_view(effects) -> View:
    """Entry and exit by funding status and the estimator chosen (``.attrition``)."""
    a = effects.attrition
    if (v := _unavailable(a, "样本进入与退出诊断")) is not None:
        return v
    if a.balanced:  # no entry or exit: a table of zeros says nothing more
        return View(a.reason_zh, "")
    t = a.table.copy()
    # the diagnostic labels groups "受资助 funded": the page shows the Chinese part
    t["group"] = t["group"].astype(str).str.split(" ").str[0]
    reading = a.reason_zh
    table = styled(
        t,
        {
            "group": "企业类别",
            "n_firms": "企业数",
            "n_entered": "中途进入",
            "entry_rate": "进入比例",
            "n_exited": "中途退出",
            "exit_rate": "退出比例",
        },
        fmt={
            "n_firms": "{:,}",
            "n_entered": "{:,}",
            "entry_rate": "{:.1%}",
            "n_exited": "{:,}",
            "exit_rate": "{:.1%}",
        },
        numeric=("n_firms", "n_entered", "entry_rate", "n_exited", "exit_rate"),
    )
    if not a.tests.empty:
        tests = "；".join(
            f"{r.test_zh}p={_p(r.p_value)}" for r in a.tests.itertuples(index=False)
        )
        reading += f"（检验：{tests}）"
    return View(reading, table)


def _interval(lo: float, hi: float, digits: int = 3) -> str:
    if formats.is_missing(lo) or formats.is_missing(hi):
        return formats.MISSING
    return f"[{lo:.{digits}f}, {hi:.{digits}f}]"


def _digits(x: float) -> int:
    """Decimals that show 3 significant figures of a typical value ``x``."""
    x = abs(float(x)) if np.isfinite(x) else 1.0
    return 3 if x >= 0.05 else 4


def honest_view(effects) -> View:
    """Rambachan–Roth sensitivity of the first-year effect (``effects.honest``)."""
    from jdeval.effects.outcomes import outcome_label

    hs = effects.honest
    if (v := _unavailable(hs, "平行趋势敏感性分析")) is not None:
        return v
    rows, holds = [], []
    for outcome, h in hs.items():
        name = outcome_label(outcome)
        if not h.available:
            rows.append({"outcome": name, "orig": f"无法分析：{h.reason_zh}"})
            continue
        d = _digits(max(abs(h.original[0]), abs(h.original[1])))
        f = h.frame.set_index("Mbar")
        row = {"outcome": name, "orig": _interval(*h.original, d)}
        for m in (0.5, 1.0, 2.0):
            row[f"m{m:g}"] = (
                _interval(f.at[m, "lb"], f.at[m, "ub"], d) if m in f.index else "—"
            )
        b = h.breakdown_mbar
        row["bd"] = "M̄=0时已不显著" if not np.isfinite(b) else f"{b:.2f}"
        if np.isfinite(b):
            holds.append(f"{name}（M̄={b:.2f}）")
        rows.append(row)
    frame = pd.DataFrame(rows)
    for c in ("m0.5", "m1", "m2", "bd"):
        if c not in frame:
            frame[c] = formats.MISSING
    fails = [r["outcome"] for r in rows if r.get("bd") == "M̄=0时已不显著"]
    reading = (
        "允许平行趋势被违背（违背程度不超过获补前最大偏离的M̄倍）时，获补当年效应是否"
        "仍显著："
        + (
            "、".join(holds) + "的结论在违背程度不超过括号中的临界M̄倍时仍成立"
            if holds
            else "没有结果在违背平行趋势时仍显著"
        )
        + (f"；{'、'.join(fails)}的获补当年效应本身即不显著" if fails else "")
        + "。临界M̄越大，结论越稳健。"
    )
    table = styled(
        frame.fillna(formats.MISSING),
        {
            "outcome": "结果变量",
            "orig": "获补当年效应95%区间（平行趋势成立）",
            "m0.5": "稳健区间（M̄=0.5）",
            "m1": "稳健区间（M̄=1）",
            "m2": "稳健区间（M̄=2）",
            "bd": "临界M̄",
        },
    )
    return View(reading, table)


def power_view(effects) -> View:
    """Minimum detectable effect and pre-trend test power (``effects.power``)."""
    p = effects.power
    if (v := _unavailable(p, "统计检验力分析")) is not None:
        return v
    p = p.copy()
    ci = effects.main.set_index("outcome")[["ci_low", "ci_high"]]
    sig = [
        bool(o in ci.index and (ci.at[o, "ci_low"] > 0 or ci.at[o, "ci_high"] < 0))
        for o in p["outcome"]
    ]
    # "显著" is reserved for 证据明确 (the evidence rule of the annual report): here
    # only whether the headline interval excludes zero
    p["sig"] = ["不含零" if s else "含零" for s in sig]
    p["d"] = [_digits(m) for m in p["mde_80"]]
    for c in ("estimate", "mde_80", "slope_80_wald"):
        p[c + "_s"] = [
            formats.MISSING if formats.is_missing(v) else f"{v:.{d}f}"
            for v, d in zip(p[c], p["d"])
        ]
    nulls = [n for n, s in zip(p["outcome_zh"], sig) if not s]
    reading = "最小可检测效应是按现有受资助样本、以80%把握度能检测出的最小效应；" + (
        f"{'、'.join(nulls)}的估计不显著，但真实效应小于最小可检测效应时本样本"
        "也难以发现，“不显著”不等于“没有效果”。"
        if nulls
        else "各结果主估计的95%置信区间均不含零（证据强度见上文主要估计结果）。"
    )
    table = styled(
        p,
        {
            "outcome_zh": "结果变量",
            "estimate_s": "效应估计值",
            "sig": "主估计95%置信区间",
            "mde_80_s": "最小可检测效应（80%把握度）",
            "slope_80_wald_s": "趋势检验可发现的年趋势（80%把握度）",
            "pretest_power_at_mde_trend": "趋势检验发现同等大小趋势的把握度",
        },
        fmt={"pretest_power_at_mde_trend": "{:.0%}"},
        numeric=(
            "estimate_s",
            "mde_80_s",
            "slope_80_wald_s",
            "pretest_power_at_mde_trend",
        ),
    )
    return View(reading, table)


def dose_view(effects) -> View:
    """Effects by subsidy intensity and investment per 万元 (``effects.dose``)."""
    from jdeval.effects.outcomes import outcome_label

    dose = effects.dose
    if (v := _unavailable(dose, "按补贴强度的效应估计")) is not None:
        return v
    b = dose.by_bin.copy()
    b["label"] = [
        f"{lo:,.2f}–{hi:,.2f}万元（{n}家）"
        for lo, hi, n in zip(b["dose_min"], b["dose_max"], b["n_firms"])
    ]
    # one number of decimals per outcome, from its largest estimate
    b["d"] = b.groupby("outcome")["estimate"].transform(lambda x: x.abs().max())
    b["cell"] = [
        f"{e:.{_digits(m)}f} {_interval(lo, hi, _digits(m))}"
        for e, lo, hi, m in zip(b["estimate"], b["ci_low"], b["ci_high"], b["d"])
    ]
    wide = b.pivot_table(
        index="outcome", columns="bin", values="cell", aggfunc="first", sort=False
    )
    labels = b.drop_duplicates("bin").set_index("bin")["label"]
    names = {k: f"补贴{labels[k]}" for k in wide.columns}
    wide = wide.rename(columns=names).reset_index()
    wide["outcome"] = wide["outcome"].map(outcome_label)
    vm = dose.value_for_money
    reading = (
        (
            "按技改投资水平值的平均效应折算，每万元补贴对应新增技改投资"
            f"{vm['per_wan']:,.2f}万元（95%置信区间{vm['ci_low']:,.2f}至"
            f"{vm['ci_high']:,.2f}万元）。"
            if vm
            else ""
        )
        + "下表为各补贴档位的效应（估计值与95%置信区间）：档位越高、效应越大，"
        "才说明补贴强度起作用。"
    )
    table = styled(wide, {"outcome": "结果变量", **{v: v for v in names.values()}})
    return View(reading, table)


def bacon_view(effects) -> View:
    """Goodman-Bacon decomposition of the TWFE estimate (``effects.bacon``)."""
    from jdeval.effects.bacon import COMPARISON_ZH
    from jdeval.effects.outcomes import outcome_label

    bs = effects.bacon
    if (v := _unavailable(bs, "双向固定效应估计的分解")) is not None:
        return v
    rows = []
    for outcome, r in bs.items():
        row = {"outcome": outcome_label(outcome), "twfe": r.twfe}
        if r.available:
            for t in r.by_type.itertuples(index=False):
                row[t.type] = t.weight
        rows.append(row)
    frame = pd.DataFrame(rows)
    types = [t for t in COMPARISON_ZH if t in frame]
    worst = max(
        (r.forbidden_weight for r in bs.values() if r.available), default=np.nan
    )
    reading = (
        "双向固定效应估计是各组“二对二”比较的加权平均；其中以已受资助企业作对照的"
        f"比较（效应随时间变化时有偏）权重最高为{worst:.1%}"
        + (
            "，对估计影响很小。"
            if worst < 0.1
            else "，双向固定效应估计可能有偏，以多期双重差分估计为准。"
        )
    )
    table = styled(
        frame,
        {
            "outcome": "结果变量",
            "twfe": "双向固定效应估计值",
            **{t: f"权重：{COMPARISON_ZH[t]}" for t in types},
        },
        fmt={"twfe": "{:.4f}", **{t: "{:.1%}" for t in types}},
        numeric=("twfe", *types),
    )
    return View(reading, table)
