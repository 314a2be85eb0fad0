"""Turning spreadsheet cells into typed columns.

Departments export spreadsheets by hand, so legitimate variants are accepted rather
than rejected: dates like ``2024年3月5日``, ``2024/3/5``, ``20240305`` and Excel serial
numbers; full-width digits (``１２３``); thousands separators (``1,234.5``); ``是/否``
for booleans; Chinese spellings of enum values.  Each parser is vectorised for the
common case and falls back to a per-value parser only for the cells that need it.

Every parser returns ``(values, bad)`` where ``bad`` is a boolean mask of non-empty
cells that could not be parsed; the caller turns them into located problems.

Nothing changes meaning silently: ``inf``/``Infinity``/``NaN`` text (and numbers that
overflow to infinity) in a numeric column, a comma that is not a thousands separator
(``1,5``), and integers beyond 2**53 (where a float drops digits) are bad cells, not
values.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from jdeval.data.contract import Column, normalize_label

__all__ = [
    "parse_column",
    "is_blank",
    "BOOL_TRUE",
    "BOOL_FALSE",
    "parse_date_value",
    "non_finite_mask",
    "MAX_EXACT_INT",
]

#: Largest integer a float64 holds exactly; integer cells beyond it are refused.
MAX_EXACT_INT = 2**53
_NON_FINITE_RE = re.compile(r"^[+-]?(inf|infinity|nan)$", re.IGNORECASE)
_THOUSANDS_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")

#: Cells treated as empty (besides whitespace).
MISSING_TOKENS = frozenset(
    {
        "",
        "nan",
        "none",
        "null",
        "na",
        "n/a",
        "nat",
        "-",
        "—",
        "--",
        "／",
        "/",
        "无数据",
    }
)
BOOL_TRUE = frozenset(
    {"true", "t", "1", "1.0", "yes", "y", "是", "对", "√", "✓", "有", "已"}
)
BOOL_FALSE = frozenset(
    {"false", "f", "0", "0.0", "no", "n", "否", "错", "×", "✗", "无", "未"}
)

_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE_RE = re.compile(r"^(\d{4})\s*[年/.\-]\s*(\d{1,2})\s*[月/.\-]\s*(\d{1,2})\s*日?$")
_DATE8_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SERIAL_RE = re.compile(r"^\d{5}(\.0+)?$")
_ISO_TIME_RE = r"[ T]00:00:00(\.0+)?$"
_INT_FLOAT_RE = re.compile(r"^-?\d+\.0+$")


def _nfkc(x: str) -> str:
    return unicodedata.normalize("NFKC", x).strip()


#: Missing tokens of numeric columns: ``nan`` there is a non-finite number (an error),
#: not a blank.
_NUMERIC_MISSING = MISSING_TOKENS - {"nan"}


def _as_text(s: pd.Series, *, numeric: bool = False) -> pd.Series:
    """Cells as stripped strings, with NA for blanks."""
    t = s.astype("str").str.strip()
    tokens = _NUMERIC_MISSING if numeric else MISSING_TOKENS
    blank = t.isna() | t.str.lower().isin(tokens)
    return t.mask(blank)


def is_blank(s: pd.Series) -> pd.Series:
    """Mask of empty cells (NA, whitespace or a missing token such as ``-``)."""
    if (
        pd.api.types.is_numeric_dtype(s)
        or pd.api.types.is_datetime64_any_dtype(s)
        or pd.api.types.is_bool_dtype(s)
    ):
        return s.isna()
    return _as_text(s).isna()


def _arrow_numeric(s: pd.Series) -> pd.Series | None:
    """All cells plain numbers or empty: cast in Arrow (fast); else ``None``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(s, from_pandas=True)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            return None
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)
        num = pc.cast(arr, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        return None
    if pc.all(pc.is_finite(num)).as_py() not in (True, None):
        return None  # inf/nan text: let the careful path flag those cells
    return pd.Series(num.to_numpy(zero_copy_only=False), index=s.index, dtype="float64")


def _numeric(s: pd.Series, *, percent: bool) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s):
        s = s.astype("float64")
    if pd.api.types.is_numeric_dtype(s):
        v = s.astype("float64")
        inf = pd.Series(np.isinf(v.to_numpy()), index=s.index)
        return v.mask(inf), inf
    fast = _arrow_numeric(s)
    if fast is not None:
        return fast, pd.Series(False, index=s.index)
    t = _as_text(s, numeric=True)
    out = pd.to_numeric(t, errors="coerce").astype("float64")
    out = out.where(np.isfinite(out))  # inf/nan text: to the careful path, then bad
    need = out.isna() & t.notna()
    if need.any():
        fixed = {v: _clean_number(v, percent=percent) for v in pd.unique(t[need])}
        out.loc[need] = t[need].map(fixed).astype("float64")
    bad = out.isna() & t.notna()
    return out, bad


def _clean_number(v: str, *, percent: bool) -> float:
    """Number from a spreadsheet spelling; NaN when it is not one (or not finite)."""
    x = _nfkc(v)
    for ch in (" ", "¥", "￥", "'", "_"):
        x = x.replace(ch, "")
    if "," in x:  # only real thousands separators: 1,234.5 — never 1,5
        if not _THOUSANDS_RE.match(x.removesuffix("万元").removesuffix("%")):
            return np.nan
        x = x.replace(",", "")
    if x.endswith("万元"):
        x = x[:-2]
    if percent and x.endswith("%"):
        x = x[:-1]
    if x.startswith("(") and x.endswith(")"):  # accounting negative
        x = "-" + x[1:-1]
    try:
        out = float(x)
    except ValueError:
        return np.nan
    return out if np.isfinite(out) else np.nan


def non_finite_mask(s: pd.Series) -> pd.Series:
    """Cells spelling a non-finite number (``inf``, ``-Infinity``, ``NaN``, ``1e999``)."""

    def one(v) -> bool:
        if isinstance(v, (float, np.floating)):
            return bool(np.isinf(v))
        x = _nfkc(str(v)).replace(",", "")
        if _NON_FINITE_RE.match(x):
            return True
        try:
            return bool(np.isinf(float(x)))
        except ValueError:
            return False

    return s.map(one).astype(bool)


def parse_date_value(v: str) -> pd.Timestamp | None:
    """Parse one date cell written in any accepted spelling, else ``None``."""
    x = _nfkc(str(v))
    x = re.sub(_ISO_TIME_RE, "", x)
    m = _DATE_RE.match(x) or _DATE8_RE.match(x)
    try:
        if m:
            return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        if _SERIAL_RE.match(x):
            n = int(float(x))
            if 20000 <= n <= 80000:
                return pd.Timestamp(_EXCEL_EPOCH + timedelta(days=n))
    except ValueError:  # e.g. 2024-02-30
        return None
    return None


def _dates(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.astype("datetime64[ns]"), pd.Series(False, index=s.index)
    if pd.api.types.is_numeric_dtype(s):  # Excel serials read as numbers
        s = s.astype("float64").map(lambda v: "" if pd.isna(v) else str(v))
    t = _as_text(s)
    t2 = t.str.replace(_ISO_TIME_RE, "", regex=True)
    out = pd.to_datetime(t2, format="%Y-%m-%d", errors="coerce")
    out = out.astype("datetime64[ns]")
    need = out.isna() & t.notna()
    if need.any():
        fixed = {v: parse_date_value(v) for v in pd.unique(t[need])}
        vals = t[need].map(fixed)
        out.loc[need] = pd.to_datetime(vals, errors="coerce").astype("datetime64[ns]")
    bad = out.isna() & t.notna()
    return out, bad


def _bools(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean"), pd.Series(False, index=s.index)
    t = _as_text(s)
    low = t.str.lower()
    mapped = pd.Series(pd.NA, index=s.index, dtype="boolean")
    mapped[low.isin(BOOL_TRUE).fillna(False).astype(bool)] = True
    mapped[low.isin(BOOL_FALSE).fillna(False).astype(bool)] = False
    need = mapped.isna() & t.notna()
    if need.any():  # full-width or odd spellings
        norm = t[need].map(lambda v: _nfkc(v).lower())
        mapped.loc[need & norm.reindex(s.index).isin(BOOL_TRUE).fillna(False)] = True
        mapped.loc[need & norm.reindex(s.index).isin(BOOL_FALSE).fillna(False)] = False
    bad = mapped.isna() & t.notna()
    return mapped, bad


def _ids(s: pd.Series, *, text: bool = False) -> tuple[pd.Series, pd.Series]:
    """Identifiers (NFKC-normalised, ``36.0`` → ``36``); free ``text`` only stripped."""
    if pd.api.types.is_float_dtype(s):  # e.g. industry_div read as 36.0
        s = s.map(
            lambda v: (
                "" if pd.isna(v) else (str(int(v)) if float(v).is_integer() else str(v))
            )
        )
    t = _as_text(s)
    if text:
        return t.astype("str"), pd.Series(False, index=s.index)
    ascii_ok = t.str.isascii().fillna(True).to_numpy(bool)
    if not ascii_ok.all():
        fixed = t[~ascii_ok].map(lambda v: v if pd.isna(v) else _nfkc(v))
        t = t.where(ascii_ok, fixed.reindex(t.index))
    is_intfloat = t.str.match(_INT_FLOAT_RE).fillna(False).astype(bool)
    if is_intfloat.any():
        t = t.where(~is_intfloat, t.str.replace(r"\.0+$", "", regex=True))
    return t.astype("str"), pd.Series(False, index=s.index)


def _enum_lookup(col: Column) -> dict[str, str]:
    """Normalised spelling (allowed value or alias) → allowed value."""
    lookup = {normalize_label(v): v for v in col.values or ()}
    lookup.update({normalize_label(k): v for k, v in col.value_aliases.items()})
    return lookup


def _enum(s: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    t, _ = _ids(s) if not pd.api.types.is_string_dtype(s) else (_as_text(s), None)
    allowed = set(col.values or ())
    lookup = _enum_lookup(col)
    mapping = {
        v: v if v in allowed else lookup.get(normalize_label(v))
        for v in pd.unique(t.dropna())
    }
    out = t.map(mapping)
    if "" in col.value_aliases:  # blank means a default value (e.g. sf_level none)
        out = out.where(t.notna(), col.value_aliases[""])
    bad = out.isna() & t.notna()
    return out.astype("str"), bad


#: Columns up to this length are parsed cell by cell (pandas' per-call overhead
#: dominates for small tables); longer ones with vectorised pandas operations.
SMALL = 300


def _cell_text(v, numeric: bool = False) -> str | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    x = str(v).strip()
    return None if x.lower() in (_NUMERIC_MISSING if numeric else MISSING_TOKENS) else x


def _cell_number(x: str, percent: bool) -> float:
    try:
        out = float(x)
    except ValueError:
        return _clean_number(x, percent=percent)
    return out if np.isfinite(out) else np.nan


def _cell(x: str, col: Column, lookup: dict[str, str] | None):
    """Parse one non-empty cell; ``None`` if it cannot be parsed."""
    kind = col.type
    if kind in ("money", "float", "int"):
        v = _cell_number(x, col.unit == "%")
        if np.isnan(v):
            return None
        if kind == "int":
            return int(v) if float(v).is_integer() and abs(v) < MAX_EXACT_INT else None
        return v
    if kind == "date":
        return parse_date_value(x)
    if kind == "bool":
        low = x.lower()
        if low in BOOL_TRUE:
            return True
        if low in BOOL_FALSE:
            return False
        low = _nfkc(x).lower()
        return True if low in BOOL_TRUE else (False if low in BOOL_FALSE else None)
    if kind == "str":
        return x
    y = x if x.isascii() else _nfkc(x)
    if _INT_FLOAT_RE.match(y):
        y = y.split(".")[0]
    if kind == "enum":
        if y in (col.values or ()):
            return y
        return (lookup or {}).get(normalize_label(y))
    if kind == "uscc":
        return y.upper()
    return y


def _parse_small(s: pd.Series, col: Column) -> tuple[pd.Series, pd.Series]:
    lookup = _enum_lookup(col) if col.type == "enum" else None
    vals, bad = [], []
    for v in s.tolist():
        if isinstance(v, (pd.Timestamp, datetime)) and col.type == "date":
            vals.append(pd.Timestamp(v))
            bad.append(False)
            continue
        if isinstance(v, (bool, np.bool_)) and col.type == "bool":
            vals.append(bool(v))
            bad.append(False)
            continue
        if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(
            v, bool
        ):
            if isinstance(v, float) and np.isnan(v):
                v = None
            elif not np.isfinite(v):
                vals.append(None)
                bad.append(True)
                continue
            elif col.type in ("money", "float"):
                vals.append(float(v))
                bad.append(False)
                continue
            elif float(v).is_integer() and abs(v) < MAX_EXACT_INT:
                v = str(int(v))
        x = _cell_text(v, numeric=col.type in ("money", "float", "int"))
        if x is None:
            default = col.value_aliases.get("") if col.type == "enum" else None
            vals.append(default)
            bad.append(False)
            continue
        p = _cell(x, col, lookup)
        vals.append(p)
        bad.append(p is None)
    idx = s.index
    if col.type in ("money", "float"):
        out = pd.Series(
            [np.nan if v is None else v for v in vals], index=idx, dtype="float64"
        )
    elif col.type == "int":
        out = pd.Series(pd.array(vals, dtype="Int64"), index=idx)
    elif col.type == "date":
        out = pd.Series(
            pd.to_datetime(pd.Series(vals, index=idx, dtype=object)), index=idx
        ).astype("datetime64[ns]")
    elif col.type == "bool":
        out = pd.Series(pd.array(vals, dtype="boolean"), index=idx)
    else:
        out = pd.Series(vals, index=idx, dtype="str")
    return out, pd.Series(bad, index=idx, dtype=bool)


#: Problem code for the cells of each column type that fail to parse.
_CODES = {
    "money": "type_number",
    "float": "type_number",
    "int": "type_integer",
    "date": "type_date",
    "bool": "type_bool",
    "enum": "enum",
    "uscc": "uscc",
}


def parse_column(s: pd.Series, col: Column) -> tuple[pd.Series, pd.Series, str]:
    """Parse one column to its contract dtype.

    Parameters
    ----------
    s
        Raw cells (strings from CSV/Excel, or typed values from Parquet).
    col
        The contract column.

    Returns
    -------
    values, bad, code
        Typed series; mask of non-empty cells that failed; the rule code for them.
    """
    kind = col.type
    code = _CODES.get(kind, "type_text")
    if len(s) <= SMALL:
        v, bad = _parse_small(s, col)
    elif kind in ("money", "float"):
        v, bad = _numeric(s, percent=col.unit == "%")
    elif kind == "int":
        v, bad = _numeric(s, percent=False)
        frac = v.notna() & ((v != np.floor(v.fillna(0))) | (v.abs() >= MAX_EXACT_INT))
        v = v.mask(frac).round().astype("Int64")
        bad = bad | frac
    elif kind == "date":
        v, bad = _dates(s)
    elif kind == "bool":
        v, bad = _bools(s)
    elif kind == "enum":
        v, bad = _enum(s, col)
    elif kind == "uscc":
        v, bad = _ids(s)
        v = v.str.upper()
    else:
        v, bad = _ids(s, text=kind == "str")
    return v, bad, code
