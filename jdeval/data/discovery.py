"""Which file or sheet is which table: names, headers, stacking.

Offices deliver their tables as they come out of their systems, so a part (a CSV file,
a Parquet file or one sheet of a workbook) is assigned to a table by, in this order:

1. its sheet name, then its file name, when it contains a table's English or Chinese
   name or one of the table's ``aliases`` in the contract (the longest name found
   wins: ``企业年度面板`` before ``企业``).  A file name decides for the sheets of a
   multi-sheet workbook only when the sheet's header has a column of that table;
2. otherwise its header: the part is the table whose primary-key columns and at least
   half of whose required columns (English or Chinese names, aliases) are in the
   header row.

Two tables fitting equally is an error (``ambiguous_table``), never a guess.  Parts
that fit no table are listed with the names and headers that would match.  A table
delivered in several parts with the same columns (awards split into one sheet per
batch year, one file per year …) is stacked, with a note naming the parts.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from jdeval.data.contract import Contract, Table, get_contract, normalize_header
from jdeval.data.reading import (
    Grid,
    PartRow,
    RawTable,
    find_header,
    frame_from_grid,
    read_csv_grid,
    read_parquet,
    read_workbook,
)
from jdeval.errors import ProblemList

__all__ = ["read_inputs", "SUFFIXES"]

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
_IGNORED = {"truth.json", "readme.md", "readme.txt", ".ds_store", "thumbs.db"}
#: Sheets of instructions (the templates' 填表说明): skipped without a remark.
_INSTRUCTION_SHEETS = frozenset(
    {"填表说明", "填报说明", "说明", "使用说明", "readme", "instructions"}
)


def read_inputs(
    path: Path, contract: Contract, problems: ProblemList
) -> tuple[dict[str, RawTable | None], dict[str, Path]]:
    """Read every table found at ``path`` (folder, workbook or single file).

    Returns
    -------
    raw, files
        Table → its rows as read (``None``: present but unreadable); table → the
        (first) file it came from.
    """
    raw: dict[str, RawTable | None] = {}
    files: dict[str, Path] = {}
    if not path.exists():
        problems.error(
            "not_found",
            f"找不到数据路径：{path}",
            f"Data path not found: {path}",
            file=str(path),
        )
        return raw, files
    parts: dict[str, list[Grid]] = {}
    for f in _input_files(path, contract, problems):
        grids, unreadable_as = _read_file(f, contract, problems)
        if unreadable_as:
            raw[unreadable_as] = None
            files[unreadable_as] = f
        for g in grids:
            name = _classify(g, len(grids), contract, problems)
            if name is None:
                continue
            parts.setdefault(name, []).append(g)
            files.setdefault(name, f)
    for name, grids in parts.items():
        raw[name] = _stack(contract[name], grids, problems)
    if path.is_file() and not raw and not problems.errors:
        problems.error(
            "unknown_table",
            f"{path.name} 不对应任何数据表。{_how_to_match(contract)[0]}",
            f"{path.name} does not match any table. {_how_to_match(contract)[1]}",
            file=path.name,
        )
    return raw, files


# --------------------------------------------------------------------- files
def _input_files(path: Path, contract: Contract, problems: ProblemList) -> list[Path]:
    if path.is_file():
        return [path] if _within_size(path, problems) else []
    out = []
    for f in sorted(path.iterdir()):
        if f.is_dir() or f.name.lower() in _IGNORED or f.name.startswith((".", "~$")):
            continue
        suffix = f.suffix.lower()
        if suffix == ".xls":
            problems.error(
                "old_excel",
                f"不支持旧版 Excel 文件 {f.name}；请在 Excel 中另存为 .xlsx",
                f"Old Excel format {f.name} is not supported; save it as .xlsx",
                file=f.name,
                table=contract.table_for_name(f.stem),
            )
            continue
        if suffix not in SUFFIXES:
            problems.warning(
                "ignored_file",
                f"忽略无法识别的文件 {f.name}（可读取 csv/xlsx/parquet）",
                f"Ignored file {f.name} (not csv/xlsx/parquet)",
                file=f.name,
            )
            continue
        if _within_size(f, problems):
            out.append(f)
    return out


def _within_size(f: Path, problems: ProblemList) -> bool:
    lim = get_contract().limits
    mb = f.stat().st_size / 2**20
    if mb <= lim.max_file_mb:
        return True
    problems.error(
        "resource_limit",
        f"文件约 {mb:.0f} MB，超过上限 {lim.max_file_mb} MB；未读取",
        f"The file is about {mb:.0f} MB, more than the limit of {lim.max_file_mb} MB; "
        "not read",
        file=f.name,
    )
    return False


def _read_file(
    f: Path, contract: Contract, problems: ProblemList
) -> tuple[list[Grid], str | None]:
    """The parts of one file, and the table it names when it cannot be read."""
    named = contract.table_for_name(f.stem)
    before = len(problems.errors)
    suffix = f.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            grids = read_workbook(f, problems)
        else:
            reader = read_parquet if suffix == ".parquet" else read_csv_grid
            grid = reader(f, problems, named)
            grids = [grid] if grid is not None else []
    except (OSError, ValueError) as exc:
        problems.error(
            "unreadable_file",
            f"无法读取文件：{exc}",
            f"Cannot read the file: {exc}",
            file=f.name,
            table=named,
        )
        grids = []
    failed = len(problems.errors) > before and not grids
    return grids, named if failed else None


# --------------------------------------------------------------------- matching
def _header_scores(g: Grid, contract: Contract) -> dict[str, tuple[int, bool]]:
    """Table → (columns of it in the header, whether the header fits it)."""
    out = {}
    for t in contract.tables.values():
        hmap = t.header_map()
        found: set[str] = set()
        if g.head:
            h, _ = find_header(g.head, hmap)
            found = {hmap[k] for k in g.head[h] if k in hmap}
        out[t.name] = (len(found), _fits(t, found))
    return out


def _fits(t: Table, found: set[str]) -> bool:
    required = [c for c in t.columns.values() if not c.optional]
    need = max(2, math.ceil(len(required) / 2))
    return set(t.primary_key) <= found and len(found) >= need


def _classify(
    g: Grid, n_parts: int, contract: Contract, problems: ProblemList
) -> str | None:
    scores = _header_scores(g, contract)
    fitting = [t for t, (_, fit) in scores.items() if fit]
    sources = [(g.sheet, True)] if g.sheet else []
    sources.append((g.file.stem, n_parts == 1))
    for name, decides in sources:
        tables = contract.tables_named(name)
        if len(tables) == 1:
            t = tables[0]
            if scores[t][0] > 0 or (decides and not fitting):
                return t
        elif len(tables) > 1:
            among = [t for t in tables if t in fitting]
            if len(among) == 1:
                return among[0]
            _ambiguous(g, tables, problems, by_name=True)
            return None
    if len(fitting) == 1:
        return fitting[0]
    if len(fitting) > 1:
        _ambiguous(g, fitting, problems, by_name=False)
        return None
    if g.sheet and (
        (g.cells is None and g.typed is None)  # a blank sheet beside the tables
        or normalize_header(g.sheet) in _INSTRUCTION_SHEETS
    ):
        return None
    zh, en = _how_to_match(contract)
    problems.warning(
        "ignored_file",
        f"{_part_zh(g)} 不对应任何数据表，已忽略。{zh}",
        f"{_part_en(g)} does not match any table; ignored. {en}",
        file=g.where,
    )
    return None


def _part_zh(g: Grid) -> str:
    return (
        f"文件 {g.file.name} 的工作表「{g.sheet}」"
        if g.sheet
        else f"文件 {g.file.name}"
    )


def _part_en(g: Grid) -> str:
    return f"Sheet '{g.sheet}' of {g.file.name}" if g.sheet else f"File {g.file.name}"


def _ambiguous(g: Grid, tables: list[str], problems: ProblemList, *, by_name: bool):
    how_zh, how_en = ("名称", "name") if by_name else ("表头", "header")
    problems.error(
        "ambiguous_table",
        f"{_part_zh(g)} 的{how_zh}同时符合数据表 {'、'.join(tables)}，无法确定是哪一张；"
        "请把文件或工作表改名为其中一张表的名称",
        f"The {how_en} of {_part_en(g)} fits the tables {', '.join(tables)} equally; "
        "rename the file or sheet after one of them",
        file=g.where,
    )


def _how_to_match(contract: Contract) -> tuple[str, str]:
    """What names and headers would be recognised, for the 'ignored' message."""
    zh = "；".join(
        f"{t.zh}（{t.name}，表头含 {'、'.join(t.columns[k].zh for k in t.primary_key)}）"
        for t in contract.tables.values()
    )
    en = "; ".join(
        f"{t.name} ({', '.join(t.primary_key)})" for t in contract.tables.values()
    )
    return (
        "文件名或工作表名含表名或别名（见 data/README.md）即可识别；否则按表头识别，"
        f"需含该表主键列及一半以上必需列：{zh}",
        "A file or sheet is recognised when its name contains a table name or alias "
        "(data/README.md), or when its header has the table's key columns and at least "
        f"half of its required columns: {en}",
    )


# --------------------------------------------------------------------- stacking
def _stack(t: Table, grids: list[Grid], problems: ProblemList) -> RawTable | None:
    tables = [frame_from_grid(g, t, problems) for g in grids]
    if any(rt is None for rt in tables):
        return None
    if len(tables) == 1:
        return tables[0]
    first = tables[0]
    for rt in tables[1:]:
        if set(rt.frame.columns) != set(first.frame.columns):
            extra = sorted(set(rt.frame.columns) ^ set(first.frame.columns))
            problems.error(
                "parts_differ",
                f"数据表 {t.name}（{t.zh}）分在多个部分，但列不同（{'、'.join(extra)}）："
                f"{first.where}、{rt.where}；请使用相同的表头",
                f"Table {t.name} comes in several parts with different columns "
                f"({', '.join(extra)}): {first.where}, {rt.where}; use the same header",
                file=rt.where,
                table=t.name,
            )
            return None
        if rt.frame.reset_index(drop=True).equals(first.frame.reset_index(drop=True)):
            problems.error(
                "duplicate_table_file",
                f"数据表 {t.name} 重复提供：{first.where} 与 {rt.where} 内容相同；请只保留一个",
                f"Table {t.name} is given twice: {first.where} and {rt.where} are "
                "identical; keep one",
                file=rt.where,
                table=t.name,
            )
            return None
    cols = list(first.frame.columns)
    frame = pd.concat([rt.frame[cols] for rt in tables], ignore_index=True)
    rows = np.array(
        [PartRow(int(r), rt.where) for rt in tables for r in rt.rows], dtype=object
    )
    unknown = list(dict.fromkeys(u for rt in tables for u in rt.unknown_columns))
    where = [rt.where for rt in tables]
    counts = "、".join(f"{rt.where}（{len(rt.frame)} 行）" for rt in tables)
    problems.warning(
        "stacked",
        f"数据表 {t.name}（{t.zh}）由 {len(tables)} 个部分合并：{counts}",
        f"Table {t.name} stacked from {len(tables)} parts: "
        + ", ".join(f"{rt.where} ({len(rt.frame)} rows)" for rt in tables),
        file=" + ".join(where),
        table=t.name,
    )
    return RawTable(t.name, first.file, first.sheet, frame, rows, unknown, where)
