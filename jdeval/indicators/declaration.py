"""Read a 绩效目标申报表 (performance-target declaration) as the budget system exports it.

The export is a tab-separated text file (or the same layout saved as ``.xlsx``):
merged cells are left empty and must be carried forward, long texts are HTML
paragraphs, and symbols may be full-width (``≥``, ``（家）``, ``％``).  See
domain-spec §2.1 (taxonomy) and §2.4 (指标值 grammar).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from jdeval.errors import ConfigError, ProblemList

#: Official taxonomy: 二级指标 → 一级指标 (财预〔2021〕101号 / Shanghai 指引; spec §2.1).
LEVEL2_TO_LEVEL1 = {
    "经济成本指标": "成本指标",
    "社会成本指标": "成本指标",
    "生态环境成本指标": "成本指标",
    "数量指标": "产出指标",
    "质量指标": "产出指标",
    "时效指标": "产出指标",
    "经济效益指标": "效益指标",
    "社会效益指标": "效益指标",
    "生态效益指标": "效益指标",
    "可持续影响指标": "效益指标",
    "服务对象满意度指标": "满意度指标",
}
LEVEL1_EN = {
    "成本指标": "Cost",
    "产出指标": "Output",
    "效益指标": "Outcome",
    "满意度指标": "Satisfaction",
}
LEVEL2_EN = {
    "经济成本指标": "Economic cost",
    "社会成本指标": "Social cost",
    "生态环境成本指标": "Eco-environmental cost",
    "数量指标": "Quantity",
    "质量指标": "Quality",
    "时效指标": "Timeliness",
    "成本指标": "Cost",
    "经济效益指标": "Economic benefit",
    "社会效益指标": "Social benefit",
    "生态效益指标": "Ecological benefit",
    "可持续影响指标": "Sustainable impact",
    "服务对象满意度指标": "Beneficiary satisfaction",
}
#: Indicator id prefix per 一级指标 (spec §6).
ID_PREFIX = {"成本指标": "C", "产出指标": "O", "效益指标": "B", "满意度指标": "S"}

_QUANT = re.compile(
    r"^(?P<op>=|≥|≤|>|<|>=|<=)(?P<val>\d+(?:\.\d+)?)\((?P<unit>[^)]+)\)$"
)
_DEADLINE = re.compile(r"^(?P<y>\d{4})年(?P<m>\d{1,2})月(?:底|前)?$")
_TREND_UP = {"增加", "提升", "提高", "上升", "增长"}
_TREND_DOWN = {"减少", "下降", "降低"}
_OPS = {"≥": ">=", "≤": "<=", ">=": ">=", "<=": "<=", "=": "=", ">": ">", "<": "<"}

_META_LABELS = {
    "政策名称": "policy",
    "项目名称": "policy",
    "资金用途": "fund_use",
    "政策日期": "period",
    "项目期": "period",
    "政策概况": "overview",
    "立项依据": "basis",
    "政策设立的必要性": "necessity",
    "保证政策实施的制度、措施": "measures",
}
_HEADER = ("一级指标", "二级指标", "三级指标")


@dataclass
class Declaration:
    """A parsed 绩效目标申报表.

    Attributes
    ----------
    meta
        Form title, year, department, policy, fund use, period (start, end),
        overview, basis, necessity, measures, overall and annual goals and the
        budget lines (list of ``{name, amount_yuan}``).
    indicators
        One row per 三级指标: id, line, level1, level2, level3, level1_as_printed,
        target_raw, operator, target_value, unit, kind, direction, note.
    source
        The file read.
    """

    meta: dict
    indicators: pd.DataFrame
    source: Path | None = None
    notes: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return (
            f"Declaration({self.meta.get('policy')!r}, year={self.meta.get('year')}, "
            f"{len(self.indicators)} indicators)"
        )

    def _repr_html_(self) -> str:
        title = html.escape(
            f"{self.meta.get('policy', '')}（{self.meta.get('year')}年度）"
        )
        cols = [
            "id",
            "level1",
            "level2",
            "level3",
            "target_raw",
            "operator",
            "target_value",
            "unit",
            "direction",
            "note",
        ]
        return f"<h4>{title}</h4>" + self.indicators[cols].to_html(index=False)


def clean(text: object) -> str:
    """Strip HTML paragraphs, entities and surrounding whitespace from a cell."""
    if text is None or (isinstance(text, float) and pd.isna(text)):
        return ""
    s = str(text)
    s = re.sub(r"</p>\s*<p>", "\n", s)
    s = re.sub(r"<br\s*/?>", "\n", s)
    s = re.sub(r"<[^>]+>", "", s)
    s = html.unescape(s)
    lines = [ln.strip() for ln in s.split("\n")]
    return "\n".join(ln for ln in lines if ln)


def normalise(text: object) -> str:
    """:func:`clean` plus NFKC (full-width → ASCII: ``（家）`` → ``(家)``, ``％`` → ``%``)."""
    return unicodedata.normalize("NFKC", clean(text))


def parse_target(raw: str, level1: str) -> dict:
    """Parse one 年度指标值 (spec §2.4 grammar).

    Returns operator, target_value, unit, kind and direction.  ``level1`` decides
    whether ``=``/``<=`` is a per-unit cost standard (``cap``).
    """
    s = re.sub(r"\s+", "", normalise(raw))
    m = _QUANT.match(s)
    if m:
        op = _OPS[m["op"]]
        cost = level1 == "成本指标"
        if op in (">=", ">"):
            direction = "positive"
        elif op in ("<=", "<"):
            direction = "cap" if cost else "negative"
        else:
            direction = "cap" if cost else "exact"
        return {
            "operator": op,
            "target_value": float(m["val"]),
            "unit": m["unit"],
            "kind": "quantitative",
            "direction": direction,
        }
    m = _DEADLINE.match(s)
    if m:
        due = pd.Timestamp(int(m["y"]), int(m["m"]), 1) + pd.offsets.MonthEnd(0)
        return {
            "operator": "deadline",
            "target_value": due.date().isoformat(),
            "unit": "日期",
            "kind": "quantitative",
            "direction": "deadline",
        }
    direction = "qualitative"
    if s in _TREND_UP:
        direction = "trend_up"
    elif s in _TREND_DOWN:
        direction = "trend_down"
    return {
        "operator": "text",
        "target_value": None,
        "unit": None,
        "kind": "qualitative",
        "direction": direction,
    }


def _read_rows(path: Path) -> list[list[str]]:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl

        # A target such as "=50.00(万元)" looks like a formula to Excel: use the
        # cached value of real formulas, else the cell text itself.
        ws_val = openpyxl.load_workbook(path, data_only=True).worksheets[0]
        ws_txt = openpyxl.load_workbook(path, data_only=False).worksheets[0]
        rows = []
        for rv, rt in zip(
            ws_val.iter_rows(values_only=True), ws_txt.iter_rows(values_only=True)
        ):
            cells = [
                ""
                if (v if v is not None else t) is None
                else str(v if v is not None else t)
                for v, t in zip(rv, rt)
            ]
            while cells and cells[-1] == "":
                cells.pop()
            rows.append(cells)
        return rows
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        text = raw.decode("utf-8", errors="replace")
    return [line.rstrip("\r").split("\t") for line in text.split("\n")]


def read_declaration(path) -> Declaration:
    """Read a 绩效目标申报表 export (``.txt`` tab-separated, or ``.xlsx``).

    Parameters
    ----------
    path
        The exported file.

    Returns
    -------
    Declaration
        Meta and one row per 三级指标.  Indicator ids follow spec §6 (C/O/B/S by
        一级指标 of the official taxonomy, numbered in order of appearance).

    Raises
    ------
    ConfigError
        If the file is missing, has no indicator table, or an indicator row is
        incomplete (located by line).
    """
    path = Path(path)
    probs = ProblemList()
    if not path.is_file():
        probs.error(
            "file_missing",
            f"找不到申报表文件：{path}",
            f"declaration file not found: {path}",
            file=str(path),
        )
        probs.raise_if_errors(
            ConfigError, "无法读取绩效目标申报表 cannot read the declaration"
        )
    rows = _read_rows(path)
    meta: dict = {"budget_lines": [], "overall_goal": "", "annual_goal": ""}
    ind_rows: list[dict] = []
    in_table = False
    in_budget = False
    goal_block = False
    l1 = l2 = ""
    for lineno, cells in enumerate(rows, 1):
        raw_c = [clean(x) for x in cells]
        c = [unicodedata.normalize("NFKC", x) for x in raw_c]
        if not any(c):
            continue
        first = c[0]
        if not in_table and first and "申报表" in first and "form_title" not in meta:
            meta["form_title"] = first
            continue
        m = re.match(r"^\((\d{4})\s*年度\)$", first)
        if m and "year" not in meta:
            meta["year"] = int(m[1])
            continue
        if first.startswith("预算主管部门"):
            dep = re.split(r"[:：]", raw_c[0], maxsplit=1)[-1].strip()
            meta["department"] = re.sub(r"[(（](汇总|本级)[)）]$", "", dep)
            continue
        if tuple(c[:3]) == _HEADER:
            in_table, in_budget = True, False
            continue
        if in_table:
            cells4 = (raw_c + ["", "", "", ""])[:4]
            a, b, name, raw = cells4
            l1 = a or l1
            l2 = b or l2
            if not name and not raw:
                continue
            if not name or not raw:
                probs.error(
                    "declaration_row",
                    "指标行缺少三级指标名称或年度指标值，请在申报表中补全。",
                    "indicator row lacks the level-3 name or the annual target; "
                    "complete it in the form.",
                    file=str(path),
                    row=lineno,
                    value="\t".join(cells),
                )
                continue
            ind_rows.append(
                {
                    "line": lineno,
                    "printed_l1": l1,
                    "level2": l2,
                    "level3": name,
                    "target_raw": raw,
                }
            )
            continue
        if first in _META_LABELS:
            goal_block = in_budget = False
            meta[_META_LABELS[first]] = next((x for x in raw_c[1:] if x), "")
            continue
        if first == "政策目标" or (goal_block and not first):
            goal_block = True
            label = (c + ["", ""])[1]
            text = next((x for x in raw_c[2:] if x), "")
            if label == "总目标":
                meta["overall_goal"] = text
            elif label == "年度目标":
                meta["annual_goal"] = text
            continue
        if first.startswith("当年投入资金构成"):
            in_budget, goal_block = True, False
            continue
        if in_budget and not first:
            vals = [x for x in c[1:] if x]
            if vals and vals[0] != "子项目名称":
                amount = pd.to_numeric(vals[-1].replace(",", ""), errors="coerce")
                meta["budget_lines"].append(
                    {
                        "name": vals[0],
                        "amount_yuan": None if pd.isna(amount) else float(amount),
                    }
                )
            continue
    if "period" in meta:
        m = re.match(r"^(\d{4}-\d{2})\s*至\s*(\d{4}-\d{2})$", meta["period"])
        if m:
            meta["period_start"], meta["period_end"] = m[1], m[2]
    if not ind_rows and not probs.errors:
        probs.error(
            "declaration_no_table",
            "未找到指标表（表头应为“一级指标 二级指标 三级指标 年度指标值”）。",
            "no indicator table found (header 一级指标 二级指标 三级指标 年度指标值).",
            file=str(path),
        )
    probs.raise_if_errors(ConfigError, "绩效目标申报表有误 the declaration has errors")

    out = []
    counters: dict[str, int] = {}
    for r in ind_rows:
        printed = r["printed_l1"]
        official = LEVEL2_TO_LEVEL1.get(r["level2"], printed)
        note = ""
        if official != printed:
            note = (
                f"申报表将“{r['level2']}”排在“{printed}”下；按官方分类归入“{official}”。"
                f" / printed under {printed}; classified as {official} by the "
                "official taxonomy."
            )
        parsed = parse_target(r["target_raw"], official)
        raw_n = re.sub(r"\s+", "", normalise(r["target_raw"]))
        if parsed["operator"] == "text" and raw_n[:1] in "=≥≤><" and raw_n:
            note = (note + " " if note else "") + (
                f"指标值“{r['target_raw']}”形似定量但不符合“≥60.00(家)”格式，"
                "已按定性处理，请核对。 / looks quantitative but does not match the "
                "format; read as qualitative, please check."
            )
        prefix = ID_PREFIX.get(official, "X")
        counters[prefix] = counters.get(prefix, 0) + 1
        out.append(
            {
                "id": f"{prefix}{counters[prefix]}",
                "line": r["line"],
                "level1": official,
                "level2": r["level2"],
                "level3": r["level3"],
                "level1_as_printed": printed,
                "target_raw": r["target_raw"],
                **parsed,
                "note": note,
            }
        )
    df = pd.DataFrame(out)
    notes = [x for x in df["note"] if x]
    return Declaration(meta=meta, indicators=df, source=path, notes=notes)
