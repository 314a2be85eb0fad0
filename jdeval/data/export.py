"""Safe table export: CSV or Excel, neutralising spreadsheet formula injection.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
would be executed as a formula when a reviewer opens the file in Excel or WPS
(CWE-1236).  :func:`write_table` prefixes such cells with ``'`` so they are shown as
text.  Numbers (including negative numbers) are left untouched.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["write_table", "neutralise", "write_workbook", "FORMULA_PREFIXES"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _cell(v):
    if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
        return "'" + v
    return v


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells cannot be read as formulas.

    Only text (``str``/``object``) columns and column names are touched.
    """
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_string_dtype(s) or s.dtype == object:
            out[c] = s.map(_cell, na_action="ignore")
    out.columns = [_cell(c) if isinstance(c, str) else c for c in out.columns]
    return out


def write_table(
    df: pd.DataFrame,
    path: str | Path,
    *,
    sheet_name: str = "Sheet1",
    index: bool = False,
) -> Path:
    """Write ``df`` to ``.csv`` (UTF-8 with BOM and CRLF, as Excel expects) or ``.xlsx``.

    Parameters
    ----------
    df
        Table to write.
    path
        Target file; the suffix chooses the format (``.csv`` or ``.xlsx``).
    sheet_name
        Sheet name for ``.xlsx``.
    index
        Whether to write the index.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        For an unsupported suffix.
    """
    path = Path(path)
    safe = neutralise(df)
    if index:
        safe.index = safe.index.map(_cell)
    suffix = path.suffix.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        safe.to_csv(path, index=index, encoding="utf-8-sig", lineterminator="\r\n")
    elif suffix == ".xlsx":
        _to_excel({sheet_name: safe}, path, index=index)
    else:
        raise ValueError(f"unsupported table format {suffix!r}: use .csv or .xlsx")
    return path


def write_workbook(tables: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """Write several tables into one ``.xlsx`` workbook (one sheet each), safely."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _to_excel({k: neutralise(v) for k, v in tables.items()}, path, index=False)
    return path


def _to_excel(sheets: dict[str, pd.DataFrame], path: Path, *, index: bool) -> None:
    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            df = df.copy()
            for c in df.columns:  # Excel cannot store timezone-aware datetimes
                if isinstance(df[c].dtype, pd.DatetimeTZDtype):
                    df[c] = df[c].dt.tz_localize(None)
            df.to_excel(xw, sheet_name=str(name)[:31], index=index)
        # openpyxl would still treat a leading '=' in a str cell as a formula; our
        # cells start with "'" so they are plain strings.
