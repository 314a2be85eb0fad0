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

_NUM = r"(?P<val>\d+(?:,\d{3})*(?:\.\d+)?)"
_UNIT = r"(?:\((?P<unit>[^)]+)\)|(?P<bare>%|[^\d()含及以上下内]{1,4}?))?"
# operator words people write around a number (spec §2.4, issue 14 item 6)
_OP_WORDS = {
    "≥": ">=",
    ">=": ">=",
    "不低于": ">=",
    "不少于": ">=",
    "不小于": ">=",
    "大于等于": ">=",
    "大于或等于": ">=",
    "至少": ">=",
    "达到": ">=",
    "≤": "<=",
    "<=": "<=",
    "不超过": "<=",
    "不高于": "<=",
    "不多于": "<=",
    "不大于": "<=",
    "小于等于": "<=",
    "小于或等于": "<=",
    "至多": "<=",
    "=": "=",
    ">": ">",
    "超过": ">",
    "高于": ">",
    "大于": ">",
    "<": "<",
    "低于": "<",
    "少于": "<",
    "小于": "<",
}
_OP_RE = "|".join(sorted(map(re.escape, _OP_WORDS), key=len, reverse=True))
# trailing qualifiers: (含) 以上 及以上 以内 以下 …
_SUFFIX = {
    "(含)": None,
    "以上": ">=",
    "及以上": ">=",
    "以上(含)": ">=",
    "以下": "<=",
    "及以下": "<=",
    "以内": "<=",
    "以下(含)": "<=",
}
_SUF_RE = "|".join(sorted(map(re.escape, _SUFFIX), key=len, reverse=True))
_QUANT = re.compile(rf"^(?P<op>{_OP_RE})?{_NUM}{_UNIT}(?P<suf>(?:{_SUF_RE})*)$")
_DEADLINE = re.compile(
    r"^(?P<y>\d{4})(?:年|-|/|\.)"
    r"(?:(?P<m>\d{1,2})(?:月|-|/|\.)?(?:(?P<d>\d{1,2})日?)?)?"
    r"(?P<tail>(?:年?底|年?末|月底|月末)?(?:之前|以前|前后|前)?)$"
)
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
_YEAR_IN = re.compile(r"(\d{4})\s*年度")
_YEAR_ROW = re.compile(r"^\(?(\d{4})\s*年度?\)?$")
#: Largest declaration file read (bytes); real exports are ~20 KB.
MAX_BYTES = 5_000_000


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


def _quantitative(s: str) -> tuple[str, float, str | None] | None:
    """``(operator, value, unit)`` of a numeric target, or ``None``."""
    m = _QUANT.match(s)
    if not m:
        return None
    op = _OP_WORDS.get(m["op"]) if m["op"] else None
    for suf in re.findall(_SUF_RE, m["suf"] or ""):
        op = op or _SUFFIX[suf]
    if op is None:  # a bare number: no comparison written, keep as text
        return None
    unit = m["unit"] or m["bare"] or None
    return op, float(m["val"].replace(",", "")), unit


def _deadline(s: str) -> tuple[pd.Timestamp, str] | None:
    """Due date (inclusive) of a deadline target and a note, or ``None``."""
    m = _DEADLINE.match(s)
    if not m or not (m["m"] or m["tail"]):
        return None
    y = int(m["y"])
    month = int(m["m"]) if m["m"] else 12
    if not 1 <= month <= 12:
        return None
    if m["d"]:
        try:
            due = pd.Timestamp(y, month, int(m["d"]))
        except ValueError:
            return None
    else:
        due = pd.Timestamp(y, month, 1) + pd.offsets.MonthEnd(0)
    note = ""
    if "前后" in (m["tail"] or ""):
        note = (
            f"“前后”按截止日期 {due.date()} 处理，请核对。 / 'around' read as the "
            f"deadline {due.date()}; please check."
        )
    return due, note


def parse_target(raw: str, level1: str) -> dict:
    """Parse one 年度指标值 (spec §2.4 grammar, with the forms people write).

    Understands ``≥60.00(家)``, ``≥ 60 家（含）``, ``不低于85%``, ``不少于100家``,
    ``不超过50万元``, ``50万元以内``, ``60家以上``, ``2026年12月底前``, ``2026年底``,
    ``2026年12月31日前``, full-width and spaced operators.  Returns operator,
    target_value, unit, kind, direction and ``note`` (why a target was kept as
    text, or how an approximate one was read).  ``level1`` decides whether
    ``=``/``<=`` is a per-unit cost standard (``cap``).
    """
    s = re.sub(r"\s+", "", normalise(raw))
    q = _quantitative(s)
    if q:
        op, val, unit = q
        cost = level1 == "成本指标"
        if op in (">=", ">"):
            direction = "positive"
        elif op in ("<=", "<"):
            direction = "cap" if cost else "negative"
        else:
            direction = "cap" if cost else "exact"
        return {
            "operator": op,
            "target_value": val,
            "unit": unit,
            "kind": "quantitative",
            "direction": direction,
            "note": "",
        }
    d = _deadline(s)
    if d:
        due, note = d
        return {
            "operator": "deadline",
            "target_value": due.date().isoformat(),
            "unit": "日期",
            "kind": "quantitative",
            "direction": "deadline",
            "note": note,
        }
    direction = "qualitative"
    if s in _TREND_UP:
        direction = "trend_up"
    elif s in _TREND_DOWN:
        direction = "trend_down"
    looks_numeric = bool(re.search(r"\d", s))
    note = (
        f"指标值“{raw}”含数字但未能解析为定量或时限指标，已按定性（文字）处理，请核对。"
        f" / target {raw!r} has digits but was not read as a number or deadline; "
        "kept as text, please check."
        if looks_numeric
        else f"指标值“{raw}”按定性（文字）指标处理。 / target {raw!r} kept as text "
        "(qualitative)."
    )
    return {
        "operator": "text",
        "target_value": None,
        "unit": None,
        "kind": "qualitative",
        "direction": direction,
        "note": note,
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
    from jdeval.indicators.yamlsource import read_text

    # UTF-8 (BOM or not), UTF-16 with BOM, GBK/GB18030: as for data files
    text = read_text(path, what_zh="申报表", what_en="declaration", max_bytes=MAX_BYTES)
    return [line.rstrip("\r").split("\t") for line in text.split("\n")]


def _require_meta(meta: dict, probs: ProblemList, path: Path) -> None:
    """A form without its policy name or year is refused, naming the rows."""
    missing = []
    if not meta.get("policy"):
        missing.append(("政策名称", "policy name", "“政策名称”（或“项目名称”）行"))
    if not meta.get("year"):
        missing.append(("年度", "year", "“(2024 年度)”这样的年度行或标题"))
    for zh, en, row in missing:
        probs.error(
            "declaration_meta_missing",
            f"申报表缺少{zh}：未找到{row}。请在申报表中补上，不能沿用自带政策的{zh}。",
            f"the declaration has no {en} row; add it to the form (the bundled "
            f"policy's {en} is never assumed).",
            file=str(path),
            column=zh,
        )


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
            m = _YEAR_IN.search(first)
            if m:
                meta.setdefault("year", int(m[1]))
            continue
        m = None if in_table else _YEAR_ROW.match(first)
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
    _require_meta(meta, probs, path)
    if not ind_rows and not any(p.code == "declaration_row" for p in probs.errors):
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
        if parsed["note"]:
            note = (note + " " if note else "") + f"{r['level3']}：{parsed['note']}"
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
                **{k: v for k, v in parsed.items() if k != "note"},
                "note": note,
            }
        )
    df = pd.DataFrame(out)
    notes = [x for x in df["note"] if x]
    return Declaration(meta=meta, indicators=df, source=path, notes=notes)
