"""项目支出绩效自评表 (财预〔2020〕10号 附件2) as an Excel workbook and a report annex.

The form (domain-spec §5.1) has four blocks: the header (项目名称, 主管部门, 实施单位),
the budget block (年初预算数 / 全年预算数 / 全年执行数 / 分值 / 执行率 / 得分), the
年度总体目标 (预期目标 / 实际完成情况), and one row per 三级指标 (年度指标值 / 实际完成值 /
分值 / 得分 / 偏差原因分析及改进措施) ending with 总分.  Every number comes from the
:class:`~jdeval.indicators.scorecard.Scorecard` and the ``budget`` table: the budget
block's 分值/得分 are those of the 预算执行率 indicator and its 执行率 is that
indicator's measured value, so the form and the score table cannot disagree.
The prose cells — 预期目标, 实际完成情况 and the 预算执行率 row's 偏差原因分析及改进措施
(the ``budget_execution`` narrative rule's cause and measures; 无偏差 when the target
is met) — are worded by the templates ``templates/zh/selfeval_*.txt.j2`` from the
report's facts (:func:`form_texts`).

:func:`selfeval_form` builds the typed :class:`SelfEvalForm`;
:func:`write_selfeval` writes it as ``.xlsx`` (openpyxl: merged cells, borders, A4
fitted to one page wide, Chinese sheet name); :func:`annex_table` gives it as a
report :class:`~jdeval.report.document.Table`.
"""

from __future__ import annotations

import dataclasses
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from jdeval.report import formats
from jdeval.report.document import Section, Table

__all__ = [
    "BUDGET_INDICATOR",
    "BudgetBlock",
    "IndicatorLine",
    "SelfEvalForm",
    "annex_section",
    "annex_table",
    "budget_table",
    "form_texts",
    "goal_table",
    "report_form",
    "selfeval_form",
    "write_selfeval",
]

#: 三级指标 whose score is the budget block's 得分 (not repeated among the indicators).
BUDGET_INDICATOR = "预算执行率"
SHEET_NAME = "项目支出绩效自评表"
#: the budget block's row for the 预算执行率 偏差原因分析及改进措施 (workbook)
BUDGET_REMARK_LABEL = "执行率偏差原因分析及改进措施"
NOT_APPLICABLE = "/"


@dataclass(frozen=True)
class BudgetBlock:
    """项目资金（万元）: amounts of the evaluation year and the execution score."""

    target: str  # 年度指标值 of the 预算执行率 indicator
    actual: str  # its 实际完成值
    initial: float  # 年初预算数
    full_year: float  # 全年预算数（调整后）
    spent: float  # 全年执行数
    weight: float  # 分值
    rate: float  # 执行率 (fraction), from the 预算执行率 indicator
    score: float  # 得分
    remark: str = NOT_APPLICABLE  # 偏差原因分析及改进措施 of the 预算执行率 row


@dataclass(frozen=True)
class IndicatorLine:
    """One 三级指标 row of the form."""

    level1: str
    level2: str
    level3: str
    target: str
    actual: str
    weight: float
    score: float
    remark: str


@dataclass
class SelfEvalForm:
    """The filled 项目支出绩效自评表 of one year."""

    year: int
    project: str
    department: str
    unit: str
    budget: BudgetBlock
    indicators: list[IndicatorLine]
    total: float  # 总分得分 (= Scorecard.total)
    grade: str = ""  # 评价等级 (= Scorecard.grade)
    goal_expected: str = ""
    goal_actual: str = ""
    level1_points: dict[str, float] = field(default_factory=dict)

    @property
    def total_weight(self) -> float:
        return self.budget.weight + sum(x.weight for x in self.indicators)


def _target_text(raw: Any) -> str:
    """``>=100.00(%)`` → ``≥100.00%``; ``=50.00(万元)`` → ``＝50.00万元`` (no ASCII
    operators, no formula-looking text)."""
    if formats.is_missing(raw) or str(raw).strip() == "":
        return NOT_APPLICABLE
    s = str(raw).strip().replace(">=", "≥").replace("<=", "≤")
    for a, b in (("=", "＝"), (">", "＞"), ("<", "＜")):
        if s.startswith(a):
            s = b + s[len(a) :]
            break
    return re.sub(r"[（(]([^()（）]+)[)）]$", r"\1", s)


def _text(x: Any) -> str:
    return NOT_APPLICABLE if formats.is_missing(x) or str(x).strip() == "" else str(x)


def _remark(reason: Any) -> str:
    """偏差原因: the cause only — the scorecard's sentence restates the target,
    the value and the score, which the form shows in their own columns."""
    text = _text(reason)
    head, sep, cause = text.partition("原因：")
    return cause.strip() if sep and cause.strip() else text


def _frame(scorecard: Any) -> pd.DataFrame:
    return scorecard.to_frame() if hasattr(scorecard, "to_frame") else scorecard


def _budget_row(budget: pd.DataFrame, year: int) -> pd.Series | None:
    rows = budget.loc[budget["year"] == year] if budget is not None else None
    return None if rows is None or rows.empty else rows.iloc[0]


def selfeval_form(
    scorecard: Any,
    budget: pd.DataFrame | None,
    *,
    year: int | None = None,
    project: str = "",
    department: str = "",
    unit: str = "",
    goal_expected: str = "",
    goal_actual: str = "",
    budget_remark: str = "",
    display: pd.DataFrame | None = None,
) -> SelfEvalForm:
    """Fill the form from a scorecard and the ``budget`` table.

    Parameters
    ----------
    scorecard
        :class:`~jdeval.indicators.scorecard.Scorecard` (or its ``to_frame()``).
    budget
        The dataset's ``budget`` table (``year``, ``budget_amount``,
        ``adjusted_budget``, ``funds_spent``; 万元); ``None`` leaves the amounts
        blank (``/``).
    year
        Evaluation year (default: ``scorecard.year``).
    project, department, unit
        项目名称, 主管部门, 实施单位 (from the 绩效目标申报表).
    goal_expected, goal_actual
        年度总体目标: the declared goal and one paragraph on what was achieved.
    budget_remark
        偏差原因分析及改进措施 of the 预算执行率 row (``/`` when empty).
    display
        The scorecard frame whose texts the form shows (e.g. the reviewer
        edition's, with single-firm figures redacted); default
        ``scorecard.to_frame()``.  Scores and the total stay the scorecard's.
    """
    f = display if display is not None else _frame(scorecard)
    year = int(year if year is not None else scorecard.year)
    is_budget = f["level3"] == BUDGET_INDICATOR
    b = f.loc[is_budget]
    brow = _budget_row(budget, year)

    def amount(col: str) -> float:
        return math.nan if brow is None else float(brow[col])

    budget_block = BudgetBlock(
        target=_target_text(b["target_raw"].iloc[0]) if len(b) else NOT_APPLICABLE,
        actual=_text(b["actual_display"].iloc[0]) if len(b) else NOT_APPLICABLE,
        initial=amount("budget_amount"),
        full_year=amount("adjusted_budget"),
        spent=amount("funds_spent"),
        weight=float(b["weight"].sum()) if len(b) else 0.0,
        rate=float(b["actual"].iloc[0]) / 100 if len(b) else math.nan,
        score=float(b["score"].sum(min_count=1)) if len(b) else math.nan,
        remark=_text(budget_remark),
    )
    rest = f.loc[~is_budget & (f["weight"] > 0)]
    lines = [
        IndicatorLine(
            level1=str(r.level1),
            level2=str(r.level2),
            level3=str(r.level3),
            target=_target_text(r.target_raw),
            actual=_text(r.actual_display),
            weight=float(r.weight),
            score=float(r.score) if not formats.is_missing(r.score) else math.nan,
            remark=_remark(r.deviation_reason),
        )
        for r in rest.itertuples(index=False)
    ]
    total = getattr(scorecard, "total", None)
    if total is None:
        total = float(pd.to_numeric(f["score"], errors="coerce").sum())
    points = rest.groupby("level1", sort=False)["weight"].sum().to_dict()
    return SelfEvalForm(
        year=year,
        project=project,
        department=department,
        unit=unit or department,
        budget=budget_block,
        indicators=lines,
        total=float(total),
        grade=str(getattr(scorecard, "grade", "") or ""),
        goal_expected=goal_expected,
        goal_actual=goal_actual,
        level1_points={k: float(v) for k, v in points.items()},
    )


def report_form(report: Any, ds: Any) -> SelfEvalForm:
    """The form of a built :class:`~jdeval.report.document.Report`.

    Shows the report's own score table (the reviewer edition's is redacted) and
    carries the report's total and grade, so the workbook published next to the
    Word file states exactly what the report states.
    """
    f = report.facts
    texts = _annex_texts(report)
    form = selfeval_form(
        report.scorecard,
        getattr(ds, "tables", {}).get("budget"),
        year=report.year,
        project=f.policy,
        department=f.department,
        display=report.scorecard,
        **texts,
    )
    if f.total is None:
        return form
    return dataclasses.replace(form, total=float(f.total), grade=str(f.grade or ""))


def _annex_texts(report: Any) -> dict[str, str]:
    """The 年度总体目标 and the 预算执行率 偏差原因 as the report's annex prints them
    (after the reviewer edition's redaction), for the workbook."""
    tables = {t.key: t.frame for t in report.tables}
    out: dict[str, str] = {}
    goals = tables.get("selfeval_goal")
    if goals is not None and len(goals):
        out["goal_expected"] = str(goals.iloc[0][_GOAL_HEAD[0]])
        out["goal_actual"] = str(goals.iloc[0][_GOAL_HEAD[1]])
    rows = tables.get("selfeval")
    if rows is not None and len(rows):
        out["budget_remark"] = str(rows.iloc[0][_IND_HEAD[-1]])
    return out


def form_texts(ctx: dict[str, Any]) -> dict[str, str]:
    """The form's prose cells, worded by the templates ``zh/selfeval_*.txt.j2``
    from the report's template context (facts, narrative problems, meta)."""
    from jdeval.report.textenv import paragraphs, text_env

    def one(name: str) -> str:
        text = text_env().get_template(f"zh/selfeval_{name}.txt.j2").render(**ctx)
        return "".join(paragraphs(text))

    return {
        "goal_expected": one("goal"),
        "goal_actual": one("achieved"),
        "budget_remark": one("budget"),
    }


# ------------------------------------------------------------------ display
def _points(x: float) -> str:
    """Points without a needless ``.00`` (10, 4, 2.5)."""
    return (
        NOT_APPLICABLE if formats.is_missing(x) else f"{x:.2f}".rstrip("0").rstrip(".")
    )


def _money(x: float) -> str:
    return NOT_APPLICABLE if formats.is_missing(x) else formats.number(x, 2)


def _score(x: float) -> str:
    return NOT_APPLICABLE if formats.is_missing(x) else f"{x:.2f}"


def _level1_label(form: SelfEvalForm, level1: str) -> str:
    pts = form.level1_points.get(level1)
    return level1 if pts is None else f"{level1}（{_points(pts)}分）"


def annex_table(form: SelfEvalForm, *, caption: str | None = None) -> Table:
    """The form as a report table (附件: 项目支出绩效自评表).

    The budget block becomes the first row (一级 ``预算执行率``) so one table carries
    the whole form; the last row is 总分.  Cells are display strings.
    """
    b = form.budget
    rows = [
        {
            "一级指标": f"预算执行率（{_points(b.weight)}分）",
            "二级指标": NOT_APPLICABLE,
            "三级指标": BUDGET_INDICATOR,
            "年度指标值": b.target,
            "实际完成值": b.actual,
            "分值": _points(b.weight),
            "得分": _score(b.score),
            "偏差原因分析及改进措施": b.remark,
        }
    ]
    rows += [
        {
            "一级指标": _level1_label(form, x.level1),
            "二级指标": x.level2,
            "三级指标": x.level3,
            "年度指标值": x.target,
            "实际完成值": x.actual,
            "分值": _points(x.weight),
            "得分": _score(x.score),
            "偏差原因分析及改进措施": x.remark,
        }
        for x in form.indicators
    ]
    rows.append(
        {
            "一级指标": "总分",
            "二级指标": "",
            "三级指标": "",
            "年度指标值": "",
            "实际完成值": "",
            "分值": _points(form.total_weight),
            "得分": _score(form.total),
            "偏差原因分析及改进措施": "",
        }
    )
    return Table(
        caption=caption or f"项目支出绩效自评表（{form.year}年度）",
        frame=pd.DataFrame(rows),
        footnote=(
            f"项目名称：{form.project or NOT_APPLICABLE}；主管部门："
            f"{form.department or NOT_APPLICABLE}；实施单位："
            f"{form.unit or NOT_APPLICABLE}。格式依财预〔2020〕10号附件2；"
            "金额单位为万元；“/”表示不适用或无数据。"
        ),
        key="selfeval",
        data=form,
    )


def budget_table(form: SelfEvalForm) -> Table:
    """The form's budget block (项目资金，万元) as a one-row report table."""
    b = form.budget
    row = {
        "年初预算数": _money(b.initial),
        "全年预算数": _money(b.full_year),
        "全年执行数": _money(b.spent),
        "分值": _points(b.weight),
        # one precision with the 预算执行率 indicator's text ("89.6%")
        "执行率": formats.percent(b.rate, 1) if not formats.is_missing(b.rate) else "/",
        "得分": _score(b.score),
    }
    return Table(
        caption=f"项目资金（{form.year}年度，万元）",
        frame=pd.DataFrame([row]),
        key="selfeval_budget",
        data=form,
    )


def goal_table(form: SelfEvalForm) -> Table:
    """The form's 年度总体目标 block (预期目标 / 实际完成情况) as a report table."""
    row = dict(
        zip(
            _GOAL_HEAD,
            (form.goal_expected or NOT_APPLICABLE, form.goal_actual or NOT_APPLICABLE),
            strict=True,
        )
    )
    return Table(
        caption=f"年度总体目标（{form.year}年度）",
        frame=pd.DataFrame([row]),
        key="selfeval_goal",
        data=form,
    )


def annex_section(inp: Any, key: str = "annex7") -> Section:
    """The 自评表 annex of the report: budget block, then the indicator table.

    ``inp`` is the outline's :class:`~jdeval.report.outline.Inputs` (its
    ``scorecard``, ``scorecard_frame`` — redacted in the reviewer edition —,
    ``ds``, ``year``, ``facts`` and ``targets``).
    """
    meta = inp.targets.meta
    ds_budget = getattr(inp.ds, "tables", {}).get("budget")
    form = selfeval_form(
        inp.scorecard,
        ds_budget,
        year=inp.year,
        project=meta.policy,
        department=meta.department,
        display=inp.scorecard_frame,
        **form_texts(inp.ctx()),
    )
    sec = Section(key, "附件7 项目支出绩效自评表", 0, page_break=True)
    sec.add(budget_table(form))
    sec.add(goal_table(form))
    sec.add(annex_table(form))
    return sec


# ------------------------------------------------------------------ workbook
_COLS = 9  # A 区块, B 一级, C 二级, D 三级, E 指标值, F 完成值, G 分值, H 得分, I 原因
_WIDTHS = [10, 13, 13, 20, 13, 24, 7, 8, 34]  # characters; CJK ≈ 2 units each
_GOAL_HEAD = ["预期目标", "实际完成情况"]
_BUDGET_HEAD = ["年初预算数", "全年预算数", "全年执行数", "分值", "执行率", "得分"]
_IND_HEAD = [
    "一级指标",
    "二级指标",
    "三级指标",
    "年度指标值",
    "实际完成值",
    "分值",
    "得分",
    "偏差原因分析及改进措施",
]


def _units(text: str) -> float:
    """Width of ``text`` in Excel character units (CJK glyphs count two)."""
    return sum(2.0 if ord(ch) > 0x2E7F else 1.0 for ch in text)


class _Sheet:
    """Thin writer: every cell bordered, wrapped, centred unless told otherwise."""

    def __init__(self, ws):
        from openpyxl.styles import Alignment, Border, Font, Side

        self.ws = ws
        thin = Side(style="thin", color="000000")
        self.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        self.Alignment, self.Font = Alignment, Font
        self.lines: dict[int, int] = {}

    def put(
        self,
        row: int,
        col: int,
        value: Any,
        *,
        to_col: int | None = None,
        to_row: int | None = None,
        bold: bool = False,
        align: str = "center",
        fmt: str | None = None,
        border: bool = True,
    ) -> None:
        to_col, to_row = to_col or col, to_row or row
        cell = self.ws.cell(row=row, column=col)
        if isinstance(value, float) and math.isnan(value):
            value = NOT_APPLICABLE
        cell.value = value
        if isinstance(value, str):
            cell.data_type = "s"  # text such as "=…" stays text, never a formula
        if fmt:
            cell.number_format = fmt
        cell.font = self.Font(name="宋体", size=10, bold=bold)
        cell.alignment = self.Alignment(
            horizontal=align, vertical="center", wrap_text=True
        )
        if to_col > col or to_row > row:
            self.ws.merge_cells(
                start_row=row, start_column=col, end_row=to_row, end_column=to_col
            )
        if border:
            for r in range(row, to_row + 1):
                for c in range(col, to_col + 1):
                    self.ws.cell(row=r, column=c).border = self.border
        if isinstance(value, str) and to_row == row:
            width = sum(_WIDTHS[c - 1] for c in range(col, to_col + 1))
            need = math.ceil(_units(value) / max(width - 1, 1))
            self.lines[row] = max(self.lines.get(row, 1), need)

    def fit_heights(self) -> None:
        for r, n in self.lines.items():
            self.ws.row_dimensions[r].height = max(18, 13 * n + 4)


def _runs(values: list[str]) -> list[tuple[int, int]]:
    """(start, end) index ranges of equal consecutive values."""
    out, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            out.append((start, i - 1))
            start = i
    return out


def _write_header(sh: _Sheet, form: SelfEvalForm) -> int:
    sh.put(1, 1, "项目支出绩效自评表", to_col=_COLS, bold=True, border=False)
    sh.ws.cell(row=1, column=1).font = sh.Font(name="黑体", size=16, bold=True)
    sh.ws.row_dimensions[1].height = 28
    sh.put(2, 1, f"（{form.year}年度）", to_col=_COLS, border=False)
    sh.put(3, 1, "项目名称", bold=True)
    sh.put(3, 2, form.project or NOT_APPLICABLE, to_col=_COLS, align="left")
    sh.put(4, 1, "主管部门", bold=True)
    sh.put(4, 2, form.department or NOT_APPLICABLE, to_col=5, align="left")
    sh.put(4, 6, "实施单位", bold=True)
    sh.put(4, 7, form.unit or NOT_APPLICABLE, to_col=_COLS, align="left")
    return 5


def _write_budget(sh: _Sheet, form: SelfEvalForm, r: int) -> int:
    b = form.budget
    sh.put(r, 1, "项目资金（万元）", to_row=r + 5, bold=True)
    sh.put(r, 2, "", to_col=3)
    for j, h in enumerate(_BUDGET_HEAD):
        sh.put(r, 4 + j, h, bold=True)
    money, pts = "#,##0.00", "0.##"
    sh.put(r + 1, 2, "年度资金总额", to_col=3)
    for j, v in enumerate((b.initial, b.full_year, b.spent)):
        sh.put(r + 1, 4 + j, v, fmt=money, align="right")
    sh.put(r + 1, 7, b.weight, fmt=pts, align="right")
    sh.put(r + 1, 8, b.rate, fmt="0.0%", align="right")
    sh.put(r + 1, 9, b.score, fmt="0.00", align="right")
    for k, name in enumerate(("其中：本年财政拨款", "上年结转资金", "其他资金"), 2):
        sh.put(r + k, 2, name, to_col=3, align="left")
        for j in range(6):
            sh.put(r + k, 4 + j, NOT_APPLICABLE)
    sh.put(r + 5, 2, BUDGET_REMARK_LABEL, to_col=3, bold=True)
    sh.put(r + 5, 4, b.remark, to_col=_COLS, align="left")
    return r + 6


def _write_goals(sh: _Sheet, form: SelfEvalForm, r: int) -> int:
    sh.put(r, 1, "年度总体目标", to_row=r + 1, bold=True)
    sh.put(r, 2, "预期目标", to_col=5, bold=True)
    sh.put(r, 6, "实际完成情况", to_col=_COLS, bold=True)
    sh.put(r + 1, 2, form.goal_expected or NOT_APPLICABLE, to_col=5, align="left")
    sh.put(r + 1, 6, form.goal_actual or NOT_APPLICABLE, to_col=_COLS, align="left")
    return r + 2


def _write_indicators(sh: _Sheet, form: SelfEvalForm, r: int) -> int:
    inds = form.indicators
    sh.put(r, 1, "绩效指标", to_row=r + len(inds), bold=True)
    for j, h in enumerate(_IND_HEAD):
        sh.put(r, 2 + j, h, bold=True)
    top = r + 1
    lv1 = [_level1_label(form, x.level1) for x in inds]
    for a, z in _runs(lv1):
        sh.put(top + a, 2, lv1[a], to_row=top + z)
        lv2 = [x.level2 for x in inds[a : z + 1]]
        for a2, z2 in _runs(lv2):
            sh.put(top + a + a2, 3, lv2[a2], to_row=top + a + z2)
    for i, x in enumerate(inds):
        row = top + i
        sh.put(row, 4, x.level3, align="left")
        sh.put(row, 5, x.target)
        sh.put(row, 6, x.actual, align="left")
        sh.put(row, 7, x.weight, fmt="0.##", align="right")
        sh.put(row, 8, x.score, fmt="0.00", align="right")
        sh.put(row, 9, x.remark, align="left")
    return top + len(inds)


def _write_total(sh: _Sheet, form: SelfEvalForm, r: int) -> int:
    sh.put(r, 1, "总分", to_col=6, bold=True)
    sh.put(r, 7, form.total_weight, fmt="0.##", align="right", bold=True)
    sh.put(r, 8, form.total, fmt="0.00", align="right", bold=True)
    grade = f"评价等级：{form.grade}" if form.grade else ""
    sh.put(r, 9, grade, align="left", bold=True)
    sh.put(
        r + 1,
        1,
        "项目负责人：　　　　　　财务负责人：　　　　　　填报人：　　　　　　填报日期：",
        to_col=_COLS,
        align="left",
        border=False,
    )
    sh.ws.row_dimensions[r + 1].height = 30
    return r + 2


def write_selfeval(form: SelfEvalForm, path: str | Path) -> Path:
    """Write the form as an ``.xlsx`` workbook (one sheet 项目支出绩效自评表).

    Printed on A4 landscape, fitted to one page wide, the indicator header row
    repeated on every page.  Written atomically (temporary file, then rename).
    """
    from openpyxl import Workbook

    from jdeval.report.export import _atomic_write

    wb = Workbook()
    ws = wb.active
    ws.title = SHEET_NAME
    for j, w in enumerate(_WIDTHS, 1):
        ws.column_dimensions[chr(64 + j)].width = w
    sh = _Sheet(ws)
    r = _write_header(sh, form)
    r = _write_budget(sh, form, r)
    r = _write_goals(sh, form, r)
    head = r
    r = _write_indicators(sh, form, r)
    _write_total(sh, form, r)
    sh.fit_heights()
    ws.print_title_rows = f"{head}:{head}"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1  # the form is printed on one page (附件2)
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    buf = io.BytesIO()
    wb.save(buf)
    path = Path(path)
    _atomic_write(path, buf.getvalue())
    return path
