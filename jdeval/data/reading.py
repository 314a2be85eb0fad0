"""Reading one input file or sheet into a grid of text cells, and a grid into a table.

CSV files may be UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030; the
delimiter may be ``,``, tab or ``;``.  The header row is found among the first rows
(title rows such as a merged title or a "填报单位…单位：万元" line are skipped), and
Chinese headers are mapped to contract names.  Totals and notes rows (合计/小计/总计/
备注… in one of the first columns, or a row holding the column sums) are skipped with
a note.  Row numbers are kept as the user sees them: the line of a text file, or the
spreadsheet row.  Inputs are only ever read.

Resource limits (``limits`` in the contract) are checked before a file is parsed:
file size, the columns of the header and of any row, rows × columns, the number of
sheets and a workbook's unpacked size.  Excel formula cells without a cached value and
Excel error values (``#N/A`` …) are errors, never blanks.  Which file or sheet is which
table is decided in :mod:`jdeval.data.discovery`.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from jdeval.data.contract import Table, get_contract, normalize_header
from jdeval.errors import ProblemList

__all__ = [
    "RawTable",
    "PartRow",
    "Grid",
    "read_csv_grid",
    "read_workbook",
    "read_parquet",
    "frame_from_grid",
    "decode_bytes",
    "find_header",
    "HEADER_SCAN_ROWS",
]

HEADER_SCAN_ROWS = 10
#: First cells that mark a totals row, and a notes/signature row (checked in the
#: first few columns of each row, after normalisation).
_TOTAL_RE = re.compile(
    r"^(合计|总计|小计|共计|累计|total|sum|subtotal)[:：()（）万元]*$"
)
_NOTE_RE = re.compile(
    r"^(备注|说明|注|填表说明|填报说明|填报人|填表人|联系人|联系电话|审核人|制表人|制表|"
    r"负责人|单位负责人|经办人)([:：].*)?$"
)
_TOTAL_SCAN_COLS = 3
_LEAD_RE = re.compile(
    r"^\s*(?:合|总|小|共|累|备|说|注|填|联|审|制|负|经|total|sum|subtotal)",
    re.IGNORECASE,
)
#: Headers of row-number columns, dropped without a warning.
_ROW_NUMBER_HEADERS = frozenset({"序号", "行号", "no.", "no", "#", "序"})
_EXCEL_ERROR_RE = re.compile(
    r"^#(N/A|DIV/0!|VALUE!|REF!|NAME\?|NUM!|NULL!|SPILL!|CALC!|GETTING_DATA)$",
    re.IGNORECASE,
)


class PartRow(int):
    """A row number that also names its part (file or sheet) in a stacked table."""

    where: str

    def __new__(cls, row: int, where: str) -> PartRow:
        obj = super().__new__(cls, row)
        obj.where = where
        return obj


@dataclass
class RawTable:
    """One table as read: string (or Parquet-typed) cells, contract column names.

    ``rows`` holds the user-visible row number of each frame row; for a table stacked
    from several parts they are :class:`PartRow` objects naming their part.
    """

    name: str
    file: Path
    sheet: str | None
    frame: pd.DataFrame
    rows: np.ndarray
    unknown_columns: list[str] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        if self.parts:
            return " + ".join(self.parts)
        return _where(self.file, self.sheet)


@dataclass
class Grid:
    """One file or sheet as read: text cells (or a typed Parquet frame)."""

    file: Path
    sheet: str | None
    cells: pd.DataFrame | None = None  # text grid, no header applied
    typed: pd.DataFrame | None = None  # Parquet: typed columns, header = columns
    has_hash: bool = True  # whether any cell may start with "#"
    formula_cells: dict[tuple[int, int], str] = field(default_factory=dict)
    only_sheet: bool = False  # the workbook's single sheet: problems name the file
    _head: list[list[str]] | None = field(default=None, repr=False)

    @property
    def head(self) -> list[list[str]]:
        """Normalised cells of the first rows, where the header is looked for."""
        if self._head is None:
            if self.typed is not None:
                self._head = [[normalize_header(c) for c in self.typed.columns]]
            elif self.cells is None:
                self._head = []
            else:
                rows = self.cells.iloc[:HEADER_SCAN_ROWS].to_numpy(dtype=object)
                self._head = [[normalize_header(v) for v in r] for r in rows.tolist()]
        return self._head

    @property
    def where(self) -> str:
        return _where(self.file, None if self.only_sheet else self.sheet)


def _where(file: Path, sheet: str | None) -> str:
    """How a problem names its input: ``file.csv`` or ``book.xlsx#sheet``."""
    return f"{file.name}#{sheet}" if sheet else file.name


def _limit_error(problems: ProblemList, where: str, zh: str, en: str, **kw) -> None:
    problems.error("resource_limit", zh, en, file=where, **kw)


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


def _empty_file(problems: ProblemList, where: str, table: str | None) -> None:
    problems.error(
        "empty_file", "文件为空", "The file is empty", file=where, table=table
    )


def _sniff_delimiter(text: str) -> str:
    first = text[:20000].split("\n", 5)[:5]
    best, count = ",", -1
    for d in (",", "\t", ";"):
        c = min((ln.count(d) for ln in first if ln.strip()), default=0)
        if c > count:
            best, count = d, c
    return best


def _csv_within_limits(
    text: str, sep: str, where: str, problems: ProblemList, table: str | None
) -> bool:
    """Header width and rows × columns of a CSV text, before it is parsed."""
    lim = get_contract().limits
    head = text.split("\n", HEADER_SCAN_ROWS)[:HEADER_SCAN_ROWS]
    widths = [ln.count(sep) + 1 for ln in head]
    width = max(widths, default=0)
    if width > lim.max_columns:
        i = widths.index(width)
        _limit_error(
            problems,
            where,
            f"第 {i + 1} 行（表头区域）有 {width} 列，超过上限 {lim.max_columns} 列；文件未读取",
            f"Row {i + 1} (where the header is looked for) has {width} columns, more "
            f"than the limit of {lim.max_columns}; the file was not read",
            table=table,
            row=i + 1,
        )
        return False
    n_rows = text.count("\n") + 1
    if n_rows * width > lim.max_cells:
        _limit_error(
            problems,
            where,
            f"约 {n_rows} 行 × {width} 列，超过单元格上限 {lim.max_cells}；文件未读取",
            f"About {n_rows} rows × {width} columns, more than the limit of "
            f"{lim.max_cells} cells; the file was not read",
            table=table,
        )
        return False
    return True


def read_csv_grid(path: Path, problems: ProblemList, table: str | None) -> Grid | None:
    """Read a CSV/TXT file into a text grid; ``None`` (with problems) if unreadable."""
    data = path.read_bytes()
    if not data.strip():
        _empty_file(problems, path.name, table)
        return None
    text = decode_bytes(data, path.name, problems, table)
    if text is None:
        return None
    if text.startswith("\ufeff"):
        text = text[1:]
    sep = _sniff_delimiter(text)
    if not _csv_within_limits(text, sep, path.name, problems, table):
        return None
    grid = None
    if len(data) > _ARROW_MIN_BYTES:
        grid = _read_with_arrow(text, sep)
    if grid is None:
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
            grid = _read_ragged(text, sep, path.name, problems, table)
        except pd.errors.EmptyDataError:
            _empty_file(problems, path.name, table)
            return None
    if grid is None:
        return None
    return Grid(path, None, cells=grid, has_hash="#" in text)


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


def _read_ragged(
    text: str, sep: str, where: str, problems: ProblemList, table: str | None
) -> pd.DataFrame | None:
    """Rows of unequal length (title rows, unquoted commas): read all, pad to the widest.

    Cells beyond the header are reported by :func:`frame_from_grid`; a row wider than
    the column limit is refused before anything is padded.
    """
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    width = max((len(r) for r in rows), default=0)
    lim = get_contract().limits
    if width > lim.max_columns:
        i = next(i for i, r in enumerate(rows) if len(r) == width)
        _limit_error(
            problems,
            where,
            f"第 {i + 1} 行有 {width} 个单元格，超过上限 {lim.max_columns}；文件未读取",
            f"Row {i + 1} has {width} cells, more than the limit of "
            f"{lim.max_columns}; the file was not read",
            table=table,
            row=i + 1,
        )
        return None
    rows = [r + [""] * (width - len(r)) for r in rows]
    return pd.DataFrame(rows, dtype="str")


# --------------------------------------------------------------------- Excel
def _xlsx_within_limits(path: Path, problems: ProblemList) -> bool:
    """Sheet count and unpacked size of a workbook, read from the zip directory."""
    lim = get_contract().limits
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        problems.error(
            "unreadable_file",
            f"无法打开 Excel 工作簿（不是有效的 .xlsx 文件）：{exc}",
            f"Cannot open the Excel workbook (not a valid .xlsx file): {exc}",
            file=path.name,
        )
        return False
    sheets = [i for i in infos if i.filename.startswith("xl/worksheets/sheet")]
    unpacked = sum(i.file_size for i in infos) / 2**20
    if len(sheets) > lim.max_sheets:
        _limit_error(
            problems,
            path.name,
            f"工作簿有 {len(sheets)} 个工作表，超过上限 {lim.max_sheets}；未读取",
            f"The workbook has {len(sheets)} sheets, more than the limit of "
            f"{lim.max_sheets}; not read",
        )
        return False
    if unpacked > lim.max_xlsx_unpacked_mb:
        _limit_error(
            problems,
            path.name,
            f"工作簿解压后约 {unpacked:.0f} MB，超过上限 {lim.max_xlsx_unpacked_mb} MB；未读取",
            f"The workbook unpacks to about {unpacked:.0f} MB, more than the limit of "
            f"{lim.max_xlsx_unpacked_mb} MB; not read",
        )
        return False
    return True


def _has_formulas(path: Path) -> bool:
    """Whether any sheet of the workbook holds a formula (``<f>`` element)."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.startswith("xl/worksheets/"):
                continue
            tail = b""
            with zf.open(info) as fh:
                while chunk := fh.read(1 << 20):
                    buf = tail + chunk
                    if b"<f>" in buf or b"<f " in buf or b"<x:f" in buf:
                        return True
                    tail = buf[-8:]
    return False


def _formula_cells(path: Path) -> dict[str, dict[tuple[int, int], str]]:
    """Sheet → {(row index, column index): formula} of every formula cell."""
    import openpyxl

    out: dict[str, dict[tuple[int, int], str]] = {}
    wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    try:
        for ws in wb.worksheets:
            cells = {}
            for i, row in enumerate(ws.iter_rows(values_only=True)):
                for j, v in enumerate(row):
                    text = getattr(v, "text", v)  # ArrayFormula has .text
                    if isinstance(text, str) and text.startswith("="):
                        cells[(i, j)] = text
            out[ws.title] = cells
    finally:
        wb.close()
    return out


def read_workbook(path: Path, problems: ProblemList) -> list[Grid]:
    """Every sheet of an ``.xlsx`` workbook as a text grid (empty sheets: no cells)."""
    if not _xlsx_within_limits(path, problems):
        return []
    import openpyxl

    lim = get_contract().limits
    try:
        formulas = _formula_cells(path) if _has_formulas(path) else {}
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # corrupt or not really an xlsx
        problems.error(
            "unreadable_file",
            f"无法打开 Excel 工作簿：{exc}",
            f"Cannot open the Excel workbook: {exc}",
            file=path.name,
        )
        return []
    grids: list[Grid] = []
    try:
        for ws in wb.worksheets:
            where = _where(path, ws.title if len(wb.worksheets) > 1 else None)
            values: list[list[str]] = []
            too_wide = False
            for i, r in enumerate(ws.iter_rows(values_only=True)):
                if len(r) > lim.max_columns and any(
                    c not in (None, "") for c in r[lim.max_columns :]
                ):
                    _limit_error(
                        problems,
                        where,
                        f"第 {i + 1} 行有 {len(r)} 列，超过上限 {lim.max_columns}；未读取",
                        f"Row {i + 1} has {len(r)} columns, more than the limit of "
                        f"{lim.max_columns}; not read",
                        row=i + 1,
                    )
                    too_wide = True
                    break
                values.append([_excel_cell(c) for c in r[: lim.max_columns]])
                if len(values) * lim.max_columns > lim.max_cells and (
                    len(values) * max(len(x) for x in values[-1:]) > lim.max_cells
                ):
                    _limit_error(
                        problems,
                        where,
                        f"工作表超过单元格上限 {lim.max_cells}；未读取",
                        f"The sheet has more than {lim.max_cells} cells; not read",
                    )
                    too_wide = True
                    break
            if too_wide:
                continue
            cells = None
            if values and any(any(c != "" for c in r) for r in values):
                width = max(len(r) for r in values)
                cells = pd.DataFrame(
                    [r + [""] * (width - len(r)) for r in values], dtype="str"
                )
            grids.append(
                Grid(
                    path,
                    ws.title,
                    cells=cells,
                    has_hash=any(c.startswith("#") for r in values for c in r),
                    formula_cells=formulas.get(ws.title, {}),
                    only_sheet=len(wb.worksheets) == 1,
                )
            )
    finally:
        wb.close()
    return grids


def _excel_cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer():
            return str(int(v))
        return repr(v)  # shortest text that round-trips to the same float
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v)


def read_parquet(path: Path, problems: ProblemList, table: str | None) -> Grid | None:
    """A Parquet file: typed columns, its column names are the header."""
    try:
        df = pd.read_parquet(path)
    except Exception as exc:
        problems.error(
            "unreadable_file",
            f"无法读取 Parquet 文件：{exc}",
            f"Cannot read the Parquet file: {exc}",
            file=path.name,
            table=table,
        )
        return None
    return Grid(path, None, typed=df)


# --------------------------------------------------------------------- headers
def find_header(head: list[list[str]], hmap: dict[str, str]) -> tuple[int, int]:
    """Row among the first ones with the most known headers, and that number.

    ``head`` holds the normalised cells of the first rows (:attr:`Grid.head`).
    """
    best, best_n = 0, -1
    for i, keys in enumerate(head):
        n = len({hmap[k] for k in keys if k in hmap})
        if n > best_n:
            best, best_n = i, n
    return best, best_n


def frame_from_grid(grid: Grid, t: Table, problems: ProblemList) -> RawTable | None:
    """Apply ``t``'s header to a grid: contract column names, user row numbers."""
    if grid.typed is not None:
        return _frame_from_typed(grid, t)
    cells = grid.cells
    where = grid.where
    if cells is None or cells.empty:
        code, zh, en = (
            (
                "empty_sheet",
                f"工作表「{grid.sheet}」为空",
                f"The sheet {grid.sheet} is empty",
            )
            if grid.sheet
            else ("empty_file", "文件为空", "The file is empty")
        )
        problems.error(code, zh, en, file=where, table=t.name)
        return None
    hmap = t.header_map()
    h, n_match = find_header(grid.head, hmap)
    if n_match <= 0:
        problems.error(
            "no_header",
            f"在前 {HEADER_SCAN_ROWS} 行找不到表头；应包含例如："
            f"{'、'.join(c.zh for c in list(t.columns.values())[:4])}",
            f"No header row found in the first {HEADER_SCAN_ROWS} rows; expected columns "
            f"such as {', '.join(list(t.columns)[:4])}",
            file=where,
            table=t.name,
            row=1,
        )
        return None
    _unit_line(grid.head[:h], where, t, problems)
    if h > 0:
        problems.warning(
            "header_offset",
            f"表头在第 {h + 1} 行；已跳过上方的标题行",
            f"Header found on row {h + 1}; title rows above it were skipped",
            file=where,
            table=t.name,
            row=h + 1,
        )
    header = list(cells.iloc[h])
    named = [j for j, raw in enumerate(header) if normalize_header(raw)]
    width = named[-1] + 1 if named else 0
    _extra_cells(cells, h, width, where, t, problems)
    keep, unknown = _map_header(cells, header[:width], h, hmap, where, t, problems)
    body = cells.iloc[h + 1 :]
    rows = np.arange(h + 2, h + 2 + len(body))
    skip = _skipped_rows(body, keep, t, where, rows, problems)
    frame = body.iloc[:, list(keep)].copy()
    frame.columns = list(keep.values())
    frame = frame.reset_index(drop=True).loc[~skip].reset_index(drop=True)
    rows = rows[~skip]
    _check_cells(grid, frame, rows, h, keep, where, t, problems)
    return RawTable(t.name, grid.file, grid.sheet, frame, rows, unknown, [where])


_YUAN_RE = re.compile(r"单位[:(]?(人民币)?元(?![/万])")


def _unit_line(above: list[list[str]], where: str, t: Table, problems) -> None:
    """A "单位：元" line above the header: amounts would be read 10,000 times too large."""
    if not any(c.type == "money" for c in t.columns.values()):
        return
    for i, keys in enumerate(above):
        if any(_YUAN_RE.search(k) and "万元" not in k for k in keys):
            problems.error(
                "unit_yuan",
                "表头上方注明“单位：元”，但本表金额须以万元填写；请换算为万元（或确认后把说明改为“单位：万元”）",
                "A line above the header says the unit is 元 (yuan), but amounts must be "
                "in 万元; convert them (or correct the line to 单位：万元)",
                file=where,
                table=t.name,
                row=i + 1,
            )
            return


def _frame_from_typed(grid: Grid, t: Table) -> RawTable:
    df = grid.typed
    hmap = t.header_map()
    rename, unknown = {}, []
    for c in df.columns:
        col = hmap.get(normalize_header(c))
        if col is None or col in rename.values():
            unknown.append(str(c))
        else:
            rename[c] = col
    df = df[list(rename)].rename(columns=rename).reset_index(drop=True)
    return RawTable(
        t.name, grid.file, None, df, np.arange(2, len(df) + 2), unknown, [grid.where]
    )


def _extra_cells(cells, h, width, where, t, problems) -> None:
    if cells.shape[1] <= width:
        return
    beyond = cells.iloc[h + 1 :, width:].apply(
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


def _map_header(cells, header, h, hmap, where, t, problems):
    keep: dict[int, str] = {}
    unknown: list[str] = []
    for j, raw in enumerate(header):
        key = normalize_header(raw)
        if not key:
            if (cells.iloc[h + 1 :, j].astype(str).str.strip() != "").any():
                unknown.append(f"(第{j + 1}列 column {j + 1})")
            continue
        col = hmap.get(key)
        if col is None:
            if key not in _ROW_NUMBER_HEADERS:
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
    return keep, unknown


def _skipped_rows(body, keep, t, where, rows, problems) -> np.ndarray:
    """Mask of blank, totals and notes rows of ``body`` (each non-blank one noted)."""
    n = len(body)
    if n == 0 or not keep:
        return np.ones(n, bool)
    first = body.iloc[:, :_TOTAL_SCAN_COLS]
    blank = _blank_rows(body)
    total = np.zeros(n, bool)
    note = np.zeros(n, bool)
    # cheap vectorised pre-selection, then the exact rule on the few candidates
    cand = np.zeros(n, bool)
    for j in range(first.shape[1]):
        c = first.iloc[:, j].astype(str)
        cand |= c.str.contains(_LEAD_RE, regex=True).fillna(False).to_numpy(bool)
    for i in np.flatnonzero(cand & ~blank):
        vals = [v for v in (normalize_header(x) for x in first.iloc[i]) if v]
        if any(_TOTAL_RE.match(v) for v in vals):
            total[i] = True
        elif vals and _NOTE_RE.match(vals[0]):
            note[i] = True
    sums = _sum_rows(body, keep, t, blank | total | note)
    for i in np.flatnonzero(total | sums):
        problems.warning(
            "total_row",
            "合计行已忽略" if total[i] else "该行为上方各行之和（合计行），已忽略",
            "Totals row ignored"
            if total[i]
            else "Row of column sums (a totals row) ignored",
            file=where,
            table=t.name,
            row=int(rows[i]),
        )
    for i in np.flatnonzero(note):
        problems.warning(
            "note_row",
            "备注/说明行已忽略",
            "Notes row ignored",
            file=where,
            table=t.name,
            row=int(rows[i]),
        )
    return blank | total | note | sums


def _blank_rows(body: pd.DataFrame) -> np.ndarray:
    """Mask of rows whose cells are all blank."""
    n = len(body)
    if body.size <= 200_000:  # cell by cell is faster than pandas for small tables
        rows = body.to_numpy(dtype=object).tolist()
        return np.array([all(not str(c).strip() for c in r) for r in rows], dtype=bool)
    # a blank row has a blank first cell: check the other cells of those rows only
    head = body.iloc[:, 0].astype(str).str.strip()
    cand = (head == "").to_numpy()
    blank = np.zeros(n, bool)
    if cand.any():
        sub = (
            body.loc[body.index[cand]].astype(str).apply(lambda c: c.str.strip() == "")
        )
        blank[np.flatnonzero(cand)] = sub.all(axis=1).to_numpy()
    return blank


def _sum_rows(body, keep, t, skipped) -> np.ndarray:
    """The last data row, when its key is blank and its amounts sum the rows above."""
    from jdeval.data.parsing import parse_column

    out = np.zeros(len(body), bool)
    live = np.flatnonzero(~skipped)
    if len(live) < 3:
        return out
    last = live[-1]
    keys = [j for j, c in keep.items() if c in t.primary_key]
    if not keys or any(str(body.iat[last, j]).strip() for j in keys):
        return out
    hits = 0
    for j, name in keep.items():
        col = t.columns[name]
        if col.type not in ("money", "float", "int") or name in t.primary_key:
            continue
        vals, bad, _ = parse_column(body.iloc[live, j].reset_index(drop=True), col)
        total, above = vals.iloc[-1], vals.iloc[:-1].sum()
        if bad.any() or pd.isna(total) or total == 0:
            continue
        if abs(float(total) - float(above)) > 0.005 + 1e-9 * abs(float(above)):
            return out  # an amount that is not a sum: not a totals row
        hits += 1
    out[last] = hits > 0
    return out


def _check_cells(grid, frame, rows, h, keep, where, t, problems) -> None:
    """Formula cells without a cached value, and Excel error values: errors."""
    body_row = {int(r): i for i, r in enumerate(rows)}
    for (i, j), formula in grid.formula_cells.items():
        if j not in keep or (i + 1) not in body_row:
            continue
        if str(frame.iat[body_row[i + 1], list(keep).index(j)]).strip():
            continue
        col = keep[j]
        from openpyxl.utils import get_column_letter  # only read workbooks get here

        problems.error(
            "formula_no_value",
            f"单元格 {get_column_letter(j + 1)}{i + 1} 是公式（{formula[:40]}），但没有计算结果；"
            "请在 Excel/WPS 中打开并保存，或复制后“粘贴为数值”",
            f"Cell {get_column_letter(j + 1)}{i + 1} holds a formula ({formula[:40]}) "
            "without a computed value; open and save the file in Excel/WPS, or paste "
            "as values",
            file=where,
            table=t.name,
            row=i + 1,
            column=col,
        )
    if not grid.has_hash:
        return
    for col in frame.columns:
        s = frame[col].astype(str).str.strip()
        bad = s.str.match(_EXCEL_ERROR_RE).fillna(False).to_numpy(bool)
        for k in np.flatnonzero(bad)[:50]:
            problems.error(
                "excel_error",
                f"单元格为 Excel 错误值 {s.iloc[k]}（公式出错），不能当作空白",
                f"The cell holds the Excel error value {s.iloc[k]} (a failed formula); "
                "it is not a blank",
                file=where,
                table=t.name,
                row=int(rows[k]),
                column=col,
                value=s.iloc[k],
            )
