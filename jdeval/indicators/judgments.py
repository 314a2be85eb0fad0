"""The judgments workbook (专家评估表): every checklist item, to fill in Excel.

:func:`write_judgments_template` lists every checklist item of the targets file
(id, indicator, question, how it is decided, allowed results, evidence and source
columns) with a drop-down for the result; :func:`read_judgments` reads a filled
copy into the same structure as the YAML assessments file, so that
``--assessments`` accepts either and both are checked by the same rules.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators import workbook as W
from jdeval.indicators.yamlsource import LineMap

SHEET = "评估表"
OVERRIDE_SHEET = "得分率调整"
#: Results offered in the drop-down (all understood by ``parse_result``).
RESULTS = ("达成", "部分达成", "未达成")
#: Workbook header → assessments field.
ITEM_HEADERS = {
    "清单项编号": "item",
    "评估结论": "result",
    "依据": "evidence",
    "来源": "source",
    "评估人": "assessor",
    "评估日期": "date",
    "备注": "note",
}
#: Columns the template fills in for reading only (ignored when read back).
INFO_HEADERS = ("指标编号", "三级指标", "检查内容", "判定方式")
OVERRIDE_HEADERS = {"指标编号": "indicator", "得分率": "f", "理由": "reason"}
MAX_BYTES = 20_000_000

_INSTRUCTIONS = [
    (
        "用途",
        "评价人员对数据无法判定的清单项给出评估结论；用 --assessments 传入本文件。",
    ),
    ("评估结论", "从下拉列表选择：达成（记1）、部分达成（记0.5）、未达成（记0）。"),
    (
        "依据、来源",
        "每个已评估的清单项都须写明依据（看到了什么）和来源（哪份文件/资料）。",
    ),
    (
        "未填写的行",
        "评估结论为空的行视为“缺评估”，按指标设置 policies.missing_assessment 处理。",
    ),
    (
        "判定方式",
        "“数据自动计算”的项目由数据判定；仅在数据不足时才采用此处的评估结论。",
    ),
    (
        "得分率调整",
        "如需整体调整某定性指标的得分率（0–1），在“得分率调整”表填写并写明理由。",
    ),
    ("编号", "请勿修改清单项编号和表头；可增加备注列以外的说明请写在“备注”。"),
]


def column_name(path: tuple) -> str | None:
    """The workbook's name of a key path: ``("items", 3, "result")`` → ``评估表!评估结论``."""
    if not path:
        return None
    if path[0] == "items":
        sheet, heads = SHEET, ITEM_HEADERS
    else:
        sheet, heads = OVERRIDE_SHEET, OVERRIDE_HEADERS
    field = path[2] if len(path) > 2 else None
    header = {v: k for k, v in heads.items()}.get(field)
    return f"{sheet}!{header}" if header else sheet


def write_judgments_template(targets, path) -> Path:
    """Write the judgments workbook for ``targets`` to ``path`` (``.xlsx``)."""
    import pandas as pd

    rows = []
    for ind in targets.indicators:
        for it in ind.checklist:
            rows.append(
                {
                    "清单项编号": it.id,
                    "指标编号": ind.id,
                    "三级指标": ind.level3.zh,
                    "检查内容": it.zh,
                    "判定方式": "数据自动计算" if it.rule else "须评价人员评估",
                    "评估结论": None,
                    "依据": None,
                    "来源": None,
                    "评估人": None,
                    "评估日期": None,
                    "备注": None,
                }
            )
    items = pd.DataFrame(rows)
    wb = Workbook()
    W.add_sheet(wb, "填写说明", pd.DataFrame(_INSTRUCTIONS, columns=["事项", "说明"]))
    W.add_sheet(wb, SHEET, items, wrap=("检查内容", "依据"))
    ws = wb[SHEET]
    col = list(items.columns).index("评估结论") + 1
    W.add_list(ws, col, list(RESULTS), len(items), prompt="达成 / 部分达成 / 未达成")
    W.add_sheet(wb, OVERRIDE_SHEET, pd.DataFrame(columns=list(OVERRIDE_HEADERS)))
    return W.save(wb, path)


def _cell(v):
    if isinstance(v, str):
        v = v.strip()
        return v or None
    return v


def _sheet_rows(ws) -> tuple[list[str], list[tuple[int, list]]]:
    """Header and (spreadsheet row number, values) of the non-empty rows."""
    it = ws.iter_rows(values_only=True)
    header = [str(_cell(h) or "") for h in next(it, ())]
    rows = []
    for n, r in enumerate(it, 2):
        vals = [_cell(v) for v in r]
        if any(v is not None for v in vals):
            rows.append((n, vals))
    return header, rows


def read_judgments(path) -> tuple[dict, LineMap]:
    """Read a judgments workbook into an assessments document and its row map.

    Rows whose 评估结论 is empty are not assessments (the item stays missing);
    the informational columns of the template are ignored.
    """
    path = Path(path)
    probs = ProblemList()
    if not path.is_file():
        probs.error(
            "file_missing",
            f"找不到评估文件：{path}。请检查路径。",
            f"assessments file not found: {path}. Check the path.",
            file=str(path),
        )
        probs.raise_if_errors(ConfigError, "无法读取评估 cannot read the assessments")
    if path.stat().st_size > MAX_BYTES:
        probs.error(
            "resource_limit",
            f"评估工作簿过大（上限 {MAX_BYTES:,} 字节）。",
            f"the assessments workbook is too large (limit {MAX_BYTES:,} bytes).",
            file=str(path),
        )
        probs.raise_if_errors(ConfigError, "无法读取评估 cannot read the assessments")
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable workbook is a user error
        probs.error(
            "bad_workbook",
            f"无法打开评估工作簿（{type(exc).__name__}）；请用 Excel 另存为 .xlsx。",
            f"cannot open the assessments workbook ({type(exc).__name__}); re-save "
            "it as .xlsx.",
            file=str(path),
        )
        probs.raise_if_errors(ConfigError, "无法读取评估 cannot read the assessments")
    try:
        if SHEET not in wb.sheetnames:
            probs.error(
                "missing_sheet",
                f"评估工作簿缺少“{SHEET}”工作表；请使用 jdeval template 生成的模板。",
                f"the workbook has no sheet {SHEET!r}; use the template that "
                "jdeval template writes.",
                file=str(path),
            )
            probs.raise_if_errors(
                ConfigError, "评估文件有误 the assessments file has errors"
            )
        lines = LineMap()
        items = _records(
            wb[SHEET],
            ITEM_HEADERS,
            "items",
            lines,
            probs,
            path,
            keep=lambda r: r.get("result") is not None,
        )
        overrides = (
            _records(
                wb[OVERRIDE_SHEET], OVERRIDE_HEADERS, "overrides", lines, probs, path
            )
            if OVERRIDE_SHEET in wb.sheetnames
            else []
        )
    finally:
        wb.close()
    probs.raise_if_errors(ConfigError, "评估文件有误 the assessments file has errors")
    return {"items": items, "overrides": overrides}, lines


def _records(
    ws, headers: dict, key: str, lines: LineMap, probs, path, keep=None
) -> list[dict]:
    """Rows of ``ws`` as dicts keyed by field; ``lines`` gets their row numbers."""
    head, rows = _sheet_rows(ws)
    known = set(headers) | set(INFO_HEADERS)
    for h in head:
        if h and h not in known:
            probs.error(
                "unknown_key",
                f"“{ws.title}”表有未知列“{h}”；可用列：{'、'.join(headers)}。",
                f"sheet {ws.title!r} has an unknown column {h!r}.",
                file=f"{path.name}#{ws.title}",
                row=1,
                column=h,
            )
    first = next(iter(headers))
    if rows and first not in head:
        probs.error(
            "missing_field",
            f"“{ws.title}”表缺少“{first}”列。",
            f"sheet {ws.title!r} lacks the column {first!r}.",
            file=f"{path.name}#{ws.title}",
            row=1,
        )
        return []
    out = []
    for n, vals in rows:
        rec = {
            headers[h]: v for h, v in zip(head, vals) if h in headers and v is not None
        }
        if keep is not None and not keep(rec):
            continue
        i = len(out)
        lines[(key, i)] = n
        for field in rec:
            lines[(key, i, field)] = n
        out.append(rec)
    return out
