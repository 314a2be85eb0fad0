"""Finding and reading the input files: folders, workbooks, encodings, headers.

Accepted inputs
---------------
- a folder with one file per table, ``<table>.csv`` / ``.xlsx`` / ``.parquet``; the
  file may also be named by the table's Chinese name (``补贴申报与拨付.xlsx``);
- a single ``.xlsx`` workbook with one sheet per table (English or Chinese names).

CSV files may be UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030; the
delimiter may be ``,``, tab or ``;``.  The header row is found among the first rows
(title rows and merged group headers above it are skipped), and Chinese headers are
mapped to contract names.  Row numbers are kept as the user sees them: the line of a
text file, or the spreadsheet row.  Inputs are only ever read.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from jdeval.data.contract import Contract, Table, normalize_header
from jdeval.errors import ProblemList

__all__ = ["RawTable", "discover", "read_table_file", "decode_bytes"]

SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm", ".parquet")
_IGNORED = {"truth.json", "readme.md", "readme.txt", ".ds_store", "thumbs.db"}
_HEADER_SCAN_ROWS = 10
_TOTAL_WORDS = {"合计", "总计", "小计", "total", "sum"}


@dataclass
class RawTable:
    """One table as read: string (or Parquet-typed) cells, contract column names."""

    name: str
    file: Path
    sheet: str | None
    frame: pd.DataFrame
    rows: np.ndarray  # user-visible row number of each frame row
    unknown_columns: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return _where(self.file, self.sheet)


def _where(file: Path, sheet: str | None) -> str:
    """How a problem names its input: ``file.csv`` or ``book.xlsx#sheet``."""
    return f"{file.name}#{sheet}" if sheet else file.name


# --------------------------------------------------------------------- discovery
def discover(path: Path, contract: Contract, problems: ProblemList) -> list[tuple]:
    """List ``(table, file, sheet)`` to read from ``path``; record problems."""
    found: list[tuple[str, Path, str | None]] = []
    if not path.exists():
        problems.error(
            "not_found",
            f"找不到数据路径：{path}",
            f"Data path not found: {path}",
            file=str(path),
        )
        return found
    if path.is_file():
        if path.suffix.lower() in (".xlsx", ".xlsm"):
            return _workbook_sheets(path, contract, problems)
        name = contract.table_for_name(path.stem)
        if name is None:
            problems.error(
                "unknown_table",
                f"文件名 {path.name} 不对应任何数据表；请使用文件夹或每表一个工作表的 Excel 工作簿",
                f"File {path.name} does not name a table; pass a folder or a workbook "
                "with one sheet per table",
                file=str(path),
            )
            return found
        return [(name, path, None)]
    by_table: dict[str, list[Path]] = {}
    for f in sorted(path.iterdir()):
        if f.is_dir() or f.name.lower() in _IGNORED or f.name.startswith((".", "~$")):
            continue
        if f.suffix.lower() == ".xls" and contract.table_for_name(f.stem):
            problems.error(
                "old_excel",
                f"不支持旧版 Excel 文件 {f.name}；请在 Excel 中另存为 .xlsx",
                f"Old Excel format {f.name} is not supported; save it as .xlsx",
                file=f.name,
                table=contract.table_for_name(f.stem),
            )
            continue
        if f.suffix.lower() not in SUFFIXES:
            problems.warning(
                "ignored_file",
                f"忽略无法识别的文件 {f.name}",
                f"Ignored file {f.name} (not csv/xlsx/parquet)",
                file=f.name,
            )
            continue
        name = contract.table_for_name(f.stem)
        if name is None:
            problems.warning(
                "ignored_file",
                f"文件 {f.name} 不对应任何数据表，已忽略",
                f"File {f.name} does not match a table name; ignored",
                file=f.name,
            )
            continue
        by_table.setdefault(name, []).append(f)
    for name, files in by_table.items():
        if len(files) > 1:
            problems.error(
                "duplicate_table_file",
                f"数据表 {name} 有多个文件：{', '.join(x.name for x in files)}；请只保留一个",
                f"Table {name} has several files: {', '.join(x.name for x in files)}; "
                "keep one",
                file=files[1].name,
                table=name,
            )
        found.append((name, files[0], None))
    return found


def _workbook_sheets(
    path: Path, contract: Contract, problems: ProblemList
) -> list[tuple]:
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        sheets = list(wb.sheetnames)
        wb.close()
    except Exception as exc:  # corrupt or not really an xlsx
        problems.error(
            "unreadable_file",
            f"无法打开 Excel 工作簿：{exc}",
            f"Cannot open the Excel workbook: {exc}",
            file=path.name,
        )
        return []
    found = []
    seen: dict[str, str] = {}
    for sh in sheets:
        name = contract.table_for_name(sh)
        if name is None:
            problems.warning(
                "ignored_sheet",
                f"工作表 {sh} 不对应任何数据表，已忽略",
                f"Sheet {sh} does not match a table name; ignored",
                file=path.name,
            )
            continue
        if name in seen:
            problems.error(
                "duplicate_table_file",
                f"数据表 {name} 对应多个工作表：{seen[name]}、{sh}",
                f"Table {name} matches several sheets: {seen[name]}, {sh}",
                file=path.name,
                table=name,
            )
            continue
        seen[name] = sh
        found.append((name, path, sh))
    return found


# --------------------------------------------------------------------- decoding
def decode_bytes(
    data: bytes, file: str, problems: ProblemList, table: str
) -> str | None:
    """Decode CSV bytes: BOM, UTF-8, else GB18030; detect mixed encodings."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        enc = "utf-8"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            enc = "utf-16"
    else:
        enc = None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    lines = data.split(b"\n")
    utf8_cjk, bad_lines = 0, []
    for i, ln in enumerate(lines, 1):
        try:
            txt = ln.decode("utf-8")
            if any("\u4e00" <= c <= "\u9fff" for c in txt):  # CJK: real UTF-8 evidence
                utf8_cjk += 1
        except UnicodeDecodeError:
            bad_lines.append(i)
    if enc == "utf-8" or utf8_cjk:
        shown = ", ".join(str(i) for i in bad_lines[:10])
        problems.error(
            "mixed_encoding",
            f"文件混用了多种编码（UTF-8 与其他编码）；无法按 UTF-8 解码的行：{shown}。"
            "请在 Excel 中另存为“CSV UTF-8”",
            f"The file mixes encodings (UTF-8 and another); lines not valid UTF-8: "
            f"{shown}. Re-save it as 'CSV UTF-8'",
            file=file,
            table=table,
            row=bad_lines[0],
        )
        return None
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        problems.error(
            "encoding",
            "无法识别文件编码（支持 UTF-8、UTF-8 BOM、GBK/GB18030、UTF-16）",
            f"Unknown text encoding (supported: UTF-8, UTF-8 with BOM, GBK/GB18030, "
            f"UTF-16): {exc.reason} at byte {exc.start}",
            file=file,
            table=table,
        )
        return None


def _empty_file(problems: ProblemList, file: Path, table: str) -> None:
    problems.error(
        "empty_file", "文件为空", "The file is empty", file=file.name, table=table
    )


def _sniff_delimiter(text: str) -> str:
    first = text[:20000].split("\n", 5)[:5]
    best, count = ",", -1
    for d in (",", "\t", ";"):
        c = min((ln.count(d) for ln in first if ln.strip()), default=0)
        if c > count:
            best, count = d, c
    return best


def _read_csv_grid(
    path: Path, problems: ProblemList, table: str
) -> pd.DataFrame | None:
    data = path.read_bytes()
    if not data.strip():
        _empty_file(problems, path, table)
        return None
    text = decode_bytes(data, path.name, problems, table)
    if text is None:
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    sep = _sniff_delimiter(text)
    if len(data) > _ARROW_MIN_BYTES:
        grid = _read_with_arrow(text, sep)
        if grid is not None:
            return grid
    try:
        grid = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    except pd.errors.ParserError:
        grid = _read_ragged(text, sep)
    except pd.errors.EmptyDataError:
        _empty_file(problems, path, table)
        return None
    return grid


_ARROW_MIN_BYTES = 4_000_000


def _read_with_arrow(text: str, sep: str) -> pd.DataFrame | None:
    """Fast reader for large, regular files; ``None`` to fall back to pandas."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    data = text.encode("utf-8")
    first = data[: data.find(b"\n")].decode("utf-8", errors="replace")
    names = [f"c{i}" for i in range(len(next(csv.reader([first], delimiter=sep))))]
    try:
        tbl = pcsv.read_csv(
            io.BytesIO(data),
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(delimiter=sep, ignore_empty_lines=False),
            convert_options=pcsv.ConvertOptions(
                column_types={c: pa.string() for c in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, ValueError):  # ragged rows, blank lines …
        return None
    dtype = pd.StringDtype("pyarrow", na_value=np.nan)
    df = tbl.to_pandas(types_mapper=lambda t: dtype if t == pa.string() else None)
    df.columns = range(len(names))
    return df


def _read_ragged(text: str, sep: str) -> pd.DataFrame:
    """Rows of unequal length (title rows, unquoted commas): read all, pad to the widest.

    Cells beyond the header are reported by :func:`_frame_from_grid`.
    """
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(rows, dtype="str")


def _read_excel_grid(path: Path, sheet: str | None, problems: ProblemList, table: str):
    try:
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
        ws = wb[sheet] if sheet else wb.worksheets[0]
        values = [list(r) for r in ws.iter_rows(min_row=1, min_col=1, values_only=True)]
        wb.close()
    except Exception as exc:
        problems.error(
            "unreadable_file",
            f"无法读取 Excel 文件：{exc}",
            f"Cannot read the Excel file: {exc}",
            file=path.name,
            table=table,
        )
        return None
    if not values or not any(any(c not in (None, "") for c in r) for r in values):
        problems.error(
            "empty_sheet",
            f"工作表{('「' + sheet + '」') if sheet else ''}为空",
            f"The sheet{(' ' + sheet) if sheet else ''} is empty",
            file=path.name,
            table=table,
        )
        return None
    width = max(len(r) for r in values)
    cells = [[_excel_cell(c) for c in r] + [""] * (width - len(r)) for r in values]
    return pd.DataFrame(cells, dtype="str")


def _excel_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v)


# --------------------------------------------------------------------- headers
def _find_header(grid: pd.DataFrame, hmap: dict[str, str]) -> tuple[int, int]:
    """Row among the first ones with the most known headers, and that number."""
    best, best_n = 0, -1
    for i in range(min(_HEADER_SCAN_ROWS, len(grid))):
        n = sum(1 for v in grid.iloc[i] if normalize_header(v) in hmap)
        if n > best_n:
            best, best_n = i, n
    return best, best_n


def _frame_from_grid(
    grid: pd.DataFrame, t: Table, file: Path, sheet: str | None, problems: ProblemList
) -> RawTable | None:
    where = _where(file, sheet)
    hmap = t.header_map()
    h, n_match = _find_header(grid, hmap)
    if n_match <= 0:
        problems.error(
            "no_header",
            f"在前 {_HEADER_SCAN_ROWS} 行找不到表头；应包含例如：{', '.join(list(t.columns)[:4])}",
            f"No header row found in the first {_HEADER_SCAN_ROWS} rows; expected columns "
            f"such as {', '.join(list(t.columns)[:4])}",
            file=where,
            table=t.name,
            row=1,
        )
        return None
    if h > 0:
        problems.warning(
            "header_offset",
            f"表头在第 {h + 1} 行；已跳过上方的标题行",
            f"Header found on row {h + 1}; title rows above it were skipped",
            file=where,
            table=t.name,
            row=h + 1,
        )
    header = list(grid.iloc[h])
    named = [j for j, raw in enumerate(header) if normalize_header(raw)]
    width = named[-1] + 1 if named else 0
    keep: dict[int, str] = {}
    unknown: list[str] = []
    if grid.shape[1] > width:
        beyond = grid.iloc[h + 1 :, width:].apply(
            lambda c: c.astype(str).str.strip() != ""
        )
        for i in np.flatnonzero(beyond.any(axis=1).to_numpy()):
            n_cells = width + int(np.flatnonzero(beyond.iloc[i].to_numpy())[-1]) + 1
            problems.error(
                "extra_cells",
                f"该行有 {n_cells} 个单元格，多于表头的 {width} 列（可能含未加引号的逗号）",
                f"The row has {n_cells} cells, more than the {width} header columns "
                "(an unquoted comma?)",
                file=where,
                table=t.name,
                row=h + 2 + int(i),
            )
    for j, raw in enumerate(header[:width]):
        key = normalize_header(raw)
        if not key:
            if (grid.iloc[h + 1 :, j].astype(str).str.strip() != "").any():
                unknown.append(f"(第{j + 1}列 column {j + 1})")
            continue
        col = hmap.get(key)
        if col is None:
            unknown.append(str(raw))
        elif col in keep.values():
            problems.error(
                "duplicate_column",
                f"列 {col} 出现多次（表头“{raw}”）",
                f"Column {col} appears more than once (header '{raw}')",
                file=where,
                table=t.name,
                row=h + 1,
                column=col,
            )
        else:
            keep[j] = col
    body = grid.iloc[h + 1 :]
    rows = np.arange(h + 2, h + 2 + len(body))
    frame = body.iloc[:, list(keep)].copy()
    frame.columns = list(keep.values())
    frame = frame.reset_index(drop=True)
    # drop fully blank rows and trailing 合计 rows
    blank, first = _blank_and_total_rows(frame)
    for i in np.flatnonzero(first & ~blank):
        problems.warning(
            "total_row",
            "合计行已忽略",
            "Total row ignored",
            file=where,
            table=t.name,
            row=int(rows[i]),
        )
    mask = ~(blank | first)
    frame = frame.loc[mask].reset_index(drop=True)
    return RawTable(t.name, file, sheet, frame, rows[mask], unknown)


def _blank_and_total_rows(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Masks of rows whose cells are all blank, and of 合计/total rows."""
    n = len(frame)
    if not len(frame.columns):
        return np.ones(n, bool), np.zeros(n, bool)
    if frame.size <= 200_000:  # cell by cell is faster than pandas for small tables
        rows = frame.to_numpy(dtype=object).tolist()
        blank = np.array([all(not str(c).strip() for c in r) for r in rows], dtype=bool)
        first = np.array(
            [str(r[0]).strip().lower() in _TOTAL_WORDS for r in rows], dtype=bool
        )
        return blank, first
    # a blank row has a blank first cell: check the other cells of those rows only
    head = frame.iloc[:, 0].astype(str).str.strip()
    cand = (head == "").to_numpy()
    blank = np.zeros(n, bool)
    if cand.any():
        sub = frame.loc[cand].astype(str).apply(lambda c: c.str.strip() == "")
        blank[np.flatnonzero(cand)] = sub.all(axis=1).to_numpy()
    first = head.str.lower().isin(_TOTAL_WORDS).to_numpy()
    return blank, first


def read_table_file(
    name: str, file: Path, sheet: str | None, contract: Contract, problems: ProblemList
) -> RawTable | None:
    """Read one table from a CSV, Excel sheet or Parquet file."""
    t = contract[name]
    suffix = file.suffix.lower()
    if suffix == ".parquet":
        try:
            df = pd.read_parquet(file)
        except Exception as exc:
            problems.error(
                "unreadable_file",
                f"无法读取 Parquet 文件：{exc}",
                f"Cannot read the Parquet file: {exc}",
                file=file.name,
                table=name,
            )
            return None
        hmap = t.header_map()
        rename, unknown = {}, []
        for c in df.columns:
            col = hmap.get(normalize_header(c))
            if col is None or col in rename.values():
                unknown.append(str(c))
            else:
                rename[c] = col
        df = df[list(rename)].rename(columns=rename).reset_index(drop=True)
        return RawTable(name, file, None, df, np.arange(2, len(df) + 2), unknown)
    if suffix in (".xlsx", ".xlsm"):
        grid = _read_excel_grid(file, sheet, problems, name)
    else:
        grid = _read_csv_grid(file, problems, name)
    if grid is None:
        return None
    if grid.empty:
        _empty_file(problems, file, name)
        return None
    return _frame_from_grid(grid, t, file, sheet, problems)
