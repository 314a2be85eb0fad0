"""Chinese number, date, score and grade formatting for report text and tables.

All formatters accept missing values (``None``, ``NaN``, ``pd.NA``, ``NaT``) and
return :data:`MISSING` for them, so tables never show ``nan``.
"""

from __future__ import annotations

import datetime as _dt
import math
from typing import Any

import pandas as pd

__all__ = [
    "GRADES",
    "MISSING",
    "date_zh",
    "grade",
    "grade_en",
    "integer",
    "is_missing",
    "number",
    "percent",
    "ratio",
    "score",
    "wan",
    "yuan_to_wan",
]

MISSING = "—"

#: Grade bands of 财预〔2020〕10号: lower bounds inclusive (domain spec §3.1).
GRADES: tuple[tuple[float, str, str], ...] = (
    (90.0, "优", "Excellent"),
    (80.0, "良", "Good"),
    (60.0, "中", "Fair"),
    (-math.inf, "差", "Poor"),
)


def is_missing(x: Any) -> bool:
    """Return True for None, NaN, ``pd.NA`` and ``NaT``."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


def number(x: Any, decimals: int = 2) -> str:
    """Format a number with thousands separators and fixed decimals.

    Examples
    --------
    >>> number(1234567.891)
    '1,234,567.89'
    """
    if is_missing(x):
        return MISSING
    return f"{float(x):,.{decimals}f}"


def integer(x: Any, unit: str = "") -> str:
    """Format a count with thousands separators, e.g. ``integer(1234, "家")`` → ``1,234家``."""
    if is_missing(x):
        return MISSING
    return f"{int(round(float(x))):,}{unit}"


def wan(x: Any, *, unit: bool = True) -> str:
    """Format an amount already in 万元 with two decimals and thousands separators.

    Examples
    --------
    >>> wan(3012.5)
    '3,012.50万元'
    >>> wan(3012.5, unit=False)
    '3,012.50'
    """
    if is_missing(x):
        return MISSING
    s = number(x, 2)
    return f"{s}万元" if unit else s


def yuan_to_wan(x: Any, *, unit: bool = True) -> str:
    """Format an amount given in 元 as 万元 (divides by 10,000)."""
    if is_missing(x):
        return MISSING
    return wan(float(x) / 10_000, unit=unit)


def percent(x: Any, decimals: int = 2, *, fraction: bool = True) -> str:
    """Format a percentage.

    Parameters
    ----------
    x
        The value; a fraction (0.853) when ``fraction`` is True, else already in
        percent (85.3).
    decimals
        Decimal places.
    fraction
        Whether ``x`` is a fraction of 1.

    Examples
    --------
    >>> percent(0.8534)
    '85.34%'
    >>> percent(85.3, 1, fraction=False)
    '85.3%'
    """
    if is_missing(x):
        return MISSING
    v = float(x) * (100.0 if fraction else 1.0)
    return f"{v:,.{decimals}f}%"


def ratio(x: Any, decimals: int = 2) -> str:
    """Format a leverage ratio the Chinese way, e.g. ``1 : 5.32`` (撬动比)."""
    if is_missing(x):
        return MISSING
    return f"1 : {float(x):,.{decimals}f}"


def score(x: Any) -> str:
    """Format a score with two decimals (displayed scores are rounded, §3)."""
    if is_missing(x):
        return MISSING
    return f"{float(x):.2f}"


def date_zh(x: Any) -> str:
    """Format a date as ``2024年12月31日`` (no zero padding).

    Accepts ``datetime.date``, ``datetime.datetime``, ``pd.Timestamp`` and ISO strings.
    """
    if is_missing(x):
        return MISSING
    if isinstance(x, str):
        x = pd.Timestamp(x)
    if isinstance(x, pd.Timestamp):
        x = x.to_pydatetime()
    if isinstance(x, _dt.datetime):
        x = x.date()
    return f"{x.year}年{x.month}月{x.day}日"


def _band(total: Any) -> tuple[str, str] | None:
    if is_missing(total):
        return None
    t = round(float(total), 2)
    for lower, zh, en in GRADES:
        if t >= lower:
            return zh, en
    return None  # pragma: no cover - the last band is -inf


def grade(total: Any) -> str:
    """Grade 优/良/中/差 from a total score (rounded to 2 decimals first).

    Examples
    --------
    >>> grade(89.996), grade(89.994), grade(60), grade(59.99)
    ('优', '良', '中', '差')
    """
    b = _band(total)
    return MISSING if b is None else b[0]


def grade_en(total: Any) -> str:
    """English grade name (Excellent/Good/Fair/Poor) of a total score."""
    b = _band(total)
    return MISSING if b is None else b[1]
