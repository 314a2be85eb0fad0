"""Exported tables (CSV / XLSX) that are safe to open in a spreadsheet.

Text cells beginning with ``=``, ``+``, ``-``, ``@`` (or tab / carriage return) are
prefixed with an apostrophe so spreadsheet programs show them as text instead of
evaluating a formula (CSV/formula injection).  Numbers stay numbers: a cell that
parses as a number (``-5.00``, ``-12%``) is left alone.  Files are written
atomically.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["neutralise", "neutralise_frame", "write_csv", "write_tables"]

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+\-]?[\d,]*\.?\d+(e[+\-]?\d+)?%?$", re.IGNORECASE)


def neutralise(value: Any) -> Any:
    """Return ``value`` made inert for spreadsheets (strings only).

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("-12.50")
    '-12.50'
    """
    if isinstance(value, str) and value.startswith(_TRIGGERS):
        if _NUMBER.match(value.replace(",", "")):
            return value
        return "'" + value
    return value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Neutralise every text cell, the column names and the index labels."""
    out = frame.copy()
    for c in out.columns:
        if not pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    if not isinstance(out.index, pd.RangeIndex):
        out.index = pd.Index(
            [neutralise(str(i)) for i in out.index], name=out.index.name
        )
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it, rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(frame: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """Write a neutralised CSV in UTF-8 with BOM (so Excel detects the encoding)."""
    path = Path(path)
    text = neutralise_frame(frame).to_csv(index=index, lineterminator="\n")
    _atomic_write(path, ("\ufeff" + text).encode("utf-8"))
    return path


def write_tables(report: Any, folder: str | Path) -> list[Path]:
    """Write every table of a report as ``表N_<key>.csv`` (display values)."""
    folder = Path(folder)
    out = []
    for t in report.tables:
        name = f"表{t.number}_{t.key or 'table'}.csv"
        frame = t.frame
        out.append(write_csv(frame, folder / name, index=t.index))
    return out
