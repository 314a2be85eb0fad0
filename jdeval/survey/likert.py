"""Statistics of 5-point Likert answers (domain-spec §3.8).

- 综合满意度 (weighted index): ``Σ_k p_k · v_k`` with points ``v`` for the answers
  5..1, taken from ``policies.satisfaction.points`` of the targets file (spec
  [S9][S10]).
- 满意率 (top-2-box): share answering at least ``satisfied_min`` (满意 and above).
- Wilson score interval of a proportion (Wilson 1927).
- Cronbach's alpha of a set of items (Cronbach 1951).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import pandas as pd

LIKERT_ZH = {5: "非常满意", 4: "满意", 3: "一般", 2: "不满意", 1: "非常不满意"}


def _valid(values) -> np.ndarray:
    a = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").to_numpy(
        dtype=float
    )
    return a[np.isin(a, [1, 2, 3, 4, 5])]


def satisfaction_index(values, points: Sequence[float]) -> float:
    """Weighted satisfaction index on 0–100.

    Parameters
    ----------
    values
        Likert answers 1..5; anything else (missing, out of range) is ignored.
    points
        Points of the answers 5, 4, 3, 2, 1 (in that order).

    Returns
    -------
    float
        ``Σ_k p_k · v_k``; ``nan`` without valid answers.
    """
    a = _valid(values)
    if a.size == 0:
        return math.nan
    lookup = dict(zip((5, 4, 3, 2, 1), points))
    return float(np.mean([lookup[int(x)] for x in a]))


def top2_rate(values, satisfied_min: int) -> float:
    """Share of valid answers ``≥ satisfied_min`` (满意率); ``nan`` without answers."""
    a = _valid(values)
    return float(np.mean(a >= satisfied_min)) if a.size else math.nan


def wilson_ci(k: int, n: int, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ``k`` successes out of ``n``.

    Returns ``(nan, nan)`` when ``n == 0``.
    """
    if n <= 0:
        return (math.nan, math.nan)
    z = NormalDist().inv_cdf(0.5 + level / 2)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Cronbach's alpha of the columns of ``items`` (respondents × items).

    Rows with a missing answer are dropped (listwise).  ``nan`` with fewer than two
    items, fewer than two complete rows, or zero total variance.

    ``α = k/(k−1) · (1 − Σ var(item) / var(total))`` with sample variances.
    """
    x = items.apply(pd.to_numeric, errors="coerce").dropna().to_numpy(dtype=float)
    if x.ndim != 2 or x.shape[1] < 2 or x.shape[0] < 2:
        return math.nan
    k = x.shape[1]
    total_var = x.sum(axis=1).var(ddof=1)
    if total_var == 0:
        return math.nan
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total_var))
