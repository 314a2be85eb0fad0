"""Chinese number, date and score formatting for report text and tables.

All formatters accept missing values (``None``, ``NaN``, ``pd.NA``, ``NaT``) and
return :data:`MISSING` for them, so tables never show ``nan``.  Grades are not
formatted here: ``Targets.grade_for`` is the one place a score becomes a grade.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import Any

import pandas as pd

__all__ = [
    "MISSING",
    "date_zh",
    "integer",
    "is_missing",
    "number",
    "percent",
    "ratio",
    "score",
    "wan",
    "p_text",
    "pvalue",
    "target_text",
    "kpi_target_text",
    "yuan_to_wan",
]

MISSING = "—"


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
    >>> number(-0.001)  # no "-0.00": a value that rounds to zero has no sign
    '0.00'
    """
    if is_missing(x):
        return MISSING
    out = f"{float(x):,.{decimals}f}"
    return out[1:] if out.startswith("-") and not out.strip("-0.,") else out


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


def target_text(raw: Any) -> str:
    """A declared 指标值 as the report prints it (``≥60.00家``, ``＝50.00万元``).

    The rule lives in :func:`jdeval.indicators.display.target_zh` (the scorecard's
    deviation text uses it too).
    """
    from jdeval.indicators.display import target_zh

    return target_zh(raw)


def kpi_target_text(raw: Any) -> str:
    """A supplementary KPI's target as printed: ``>=80% (2025); 重点区域 >=90%`` →
    ``2025年≥80%；重点区域≥90%`` (no ASCII operators, brackets or semicolons)."""
    if isinstance(raw, str):
        raw = re.sub(r"^(.*?)\s*\((\d{4})\)", r"\2年\1", raw.strip())
        raw = raw.replace("; ", "；").replace(";", "；")
        raw = re.sub(r"\s*>=\s*", "≥", raw)
        raw = re.sub(r"\s*<=\s*", "≤", raw)
    return target_text(raw)


def pvalue(p: Any) -> str:
    """A p-value with three decimals; below 0.001 as ``<0.001`` (never ``0.000``)."""
    if is_missing(p):
        return MISSING
    return "<0.001" if float(p) < 0.0005 else f"{float(p):.3f}"


def p_text(p: Any) -> str:
    """``p=0.035`` or ``p<0.001`` for running text."""
    v = pvalue(p)
    return f"p{v}" if v.startswith("<") else f"p={v}"
