"""How a declared 指标值 is printed in Chinese text (one home for every layer)."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

__all__ = ["target_zh"]


def target_zh(raw: Any) -> str:
    """A declared 指标值 without ASCII operators or bracketed units.

    ``>=100.00(%)`` → ``≥100.00%``; ``=50.00(万元)`` → ``＝50.00万元``;
    qualitative values (``符合规范``) and dates are unchanged; missing → ``""``.

    Examples
    --------
    >>> target_zh("≥60.00(家)")
    '≥60.00家'
    """
    if raw is None or (not isinstance(raw, str) and pd.isna(raw)):
        return ""
    s = str(raw).strip().replace(">=", "≥").replace("<=", "≤")
    for a, b in (("=", "＝"), (">", "＞"), ("<", "＜")):
        if s.startswith(a):
            s = b + s[len(a) :]
            break
    return re.sub(r"[（(]([^()（）]+)[)）]$", r"\1", s)
