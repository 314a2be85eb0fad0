"""Scoring formulas of domain-spec §3 (财预〔2020〕10号 and the [A] proposals).

Every function returns a :class:`Rating`: the score rate ``f`` in ``[0, 1]`` (the
score is ``w · f``), the tier and flags.  Functions are pure and take every
assumption ([A] in the spec) as a keyword argument, whose values come from the
targets YAML (``policies``), never from code.

Tiers (财预〔2020〕10号, self-evaluation of 定性指标) are ``达成`` (achieved),
``部分达成`` (partly achieved) and ``未达成`` (not achieved); ``不适用`` (N/A) when an
indicator has nothing to measure.  Qualitative indicators get their tier from ``f``
(``policies.tiers``: achieved / partial, §3.6).  Quantitative indicators are
``达成`` only when the target is met (``a ≥ t``, every award within the standard,
every award on time), otherwise ``部分达成`` if ``f ≥ partial`` and ``未达成`` below.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

ACHIEVED = "达成"
PARTIAL = "部分达成"
NOT_ACHIEVED = "未达成"
NOT_APPLICABLE = "不适用"

TIER_EN = {
    ACHIEVED: "achieved",
    PARTIAL: "partly achieved",
    NOT_ACHIEVED: "not achieved",
    NOT_APPLICABLE: "not applicable",
}


@dataclass(frozen=True)
class Rating:
    """Outcome of one scoring rule.

    Attributes
    ----------
    f
        Score rate in ``[0, 1]``; the score is ``weight · f``.  ``nan`` when N/A.
    tier
        ``达成`` / ``部分达成`` / ``未达成`` / ``不适用``.
    flags
        Machine flags, e.g. ``over_target``, ``target_zero``, ``not_applicable``.
    ratio
        Completion ratio ``a / t`` (or ``t / a`` for reverse indicators) where defined.
    """

    f: float
    tier: str
    flags: tuple[str, ...] = field(default_factory=tuple)
    ratio: float | None = None

    @property
    def applicable(self) -> bool:
        return self.tier != NOT_APPLICABLE


def not_applicable(*flags: str) -> Rating:
    """Rating of an indicator with nothing to measure (e.g. no award in a category)."""
    return Rating(math.nan, NOT_APPLICABLE, ("not_applicable", *flags))


def tier_from_fraction(f: float, *, achieved: float, partial: float) -> str:
    """Tier of a checklist fraction (spec §3.6): ≥achieved 达成, ≥partial 部分达成."""
    if math.isnan(f):
        return NOT_APPLICABLE
    if f >= achieved:
        return ACHIEVED
    if f >= partial:
        return PARTIAL
    return NOT_ACHIEVED


def _quant_tier(met: bool, f: float, partial: float) -> str:
    if met:
        return ACHIEVED
    return PARTIAL if f >= partial else NOT_ACHIEVED


def positive(
    actual: float,
    target: float,
    *,
    theta_over: float,
    over_policy: str,
    penalty_floor: float,
    penalty_slope: float,
    partial: float,
) -> Rating:
    """Positive indicator (``>=``, 正向), spec §3.2.

    ``f = min(1, a/t)``; over target by more than ``theta_over`` sets the flag
    ``over_target`` and, with ``over_policy="penalty"``,
    ``f = max(penalty_floor, 1 − penalty_slope·(r − 1 − theta_over))``.

    A target of 0 is met by any ``a ≥ 0`` (flag ``target_zero``).
    """
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return not_applicable("no_actual")
    if target <= 0:
        met = actual >= target
        return Rating(
            1.0 if met else 0.0,
            ACHIEVED if met else NOT_ACHIEVED,
            ("target_zero",),
            None,
        )
    r = actual / target
    f = min(1.0, max(0.0, r))
    flags: list[str] = []
    if r > 1.0 + theta_over:
        flags.append("over_target")
        if over_policy == "penalty":
            f = max(penalty_floor, 1.0 - penalty_slope * (r - 1.0 - theta_over))
            flags.append("over_penalty")
    return Rating(f, _quant_tier(r >= 1.0, f, partial), tuple(flags), r)


def negative(actual: float, target: float, *, formula: str, partial: float) -> Rating:
    """Reverse indicator (``<=``, 反向), spec §3.3.

    ``f = 1`` if ``a ≤ t``; otherwise ``t/a`` (``formula="ratio"``, default) or
    ``max(0, 2 − a/t)`` (``formula="two_minus"``).  With ``t = 0`` any ``a > 0``
    scores 0 (flag ``target_zero``).
    """
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return not_applicable("no_actual")
    if actual <= target:
        return Rating(1.0, ACHIEVED, ("target_zero",) if target == 0 else (), None)
    if target <= 0:
        return Rating(0.0, NOT_ACHIEVED, ("target_zero",), None)
    if formula == "two_minus":
        f = max(0.0, 2.0 - actual / target)
    elif formula == "ratio":
        f = target / actual
    else:
        raise ValueError(f"unknown reverse formula {formula!r}")
    return Rating(f, _quant_tier(False, f, partial), (), target / actual)


def exact(actual: float, target: float, *, partial: float) -> Rating:
    """Exact amount (``=``, 定额, not a cap), spec §3.4: ``f = max(0, 1 − |a−t|/t)``."""
    if actual is None or (isinstance(actual, float) and math.isnan(actual)):
        return not_applicable("no_actual")
    if target == 0:
        met = actual == 0
        return Rating(
            1.0 if met else 0.0, ACHIEVED if met else NOT_ACHIEVED, ("target_zero",)
        )
    f = max(0.0, 1.0 - abs(actual - target) / abs(target))
    return Rating(f, _quant_tier(f == 1.0, f, partial), (), actual / target)


def cost_cap(amounts: Sequence[float], cap: float, *, partial: float) -> Rating:
    """Per-unit subsidy standard (``direction: cap``), spec §3.4.

    ``f`` = share of awards with ``amount ≤ cap``; N/A when there is no award.
    """
    a = np.asarray(amounts, dtype=float)
    a = a[~np.isnan(a)]
    if a.size == 0:
        return not_applicable("no_awards")
    f = float(np.mean(a <= cap + 1e-9))
    flags = () if f == 1.0 else ("over_cap",)
    return Rating(f, _quant_tier(f == 1.0, f, partial), flags, f)


def on_time(
    approval: Sequence,
    disbursement: Sequence,
    *,
    due,
    eval_date,
    lmax_days: int,
) -> np.ndarray:
    """Per-award on-time indicator of a deadline (spec §3.5).

    An award is on time if disbursed by ``due``; or, if not yet disbursed, when
    ``eval_date ≤ due`` and it is at most ``lmax_days`` old at ``eval_date``.  A
    disbursement after ``eval_date`` is not yet known and counts as undisbursed.
    """
    import pandas as pd

    appr = pd.to_datetime(pd.Series(approval), errors="coerce").to_numpy()
    disb = pd.to_datetime(pd.Series(disbursement), errors="coerce").to_numpy()
    due = np.datetime64(pd.Timestamp(due), "ns")
    ev = np.datetime64(pd.Timestamp(eval_date), "ns")
    disb = np.where(disb > ev, np.datetime64("NaT"), disb)
    disbursed = ~np.isnat(disb)
    ok_disbursed = disbursed & (disb <= due)
    age = (ev - appr) / np.timedelta64(1, "D")
    on_track = ~disbursed & (ev <= due) & ~np.isnat(appr) & (age <= lmax_days)
    return (ok_disbursed | on_track).astype(float)


def deadline(flags_on_time: Sequence[float], *, partial: float) -> Rating:
    """Deadline indicator: ``f = mean(on_time_i)``; N/A when there is no award."""
    a = np.asarray(flags_on_time, dtype=float)
    if a.size == 0:
        return not_applicable("no_awards")
    f = float(a.mean())
    flags = () if f == 1.0 else ("late",)
    return Rating(f, _quant_tier(f >= 1.0, f, partial), flags, f)


def checklist(
    values: Sequence[float | None],
    weights: Sequence[float] | None = None,
    *,
    missing: str,
    achieved: float,
    partial: float,
    cap: float | None = None,
) -> Rating:
    """Evidence checklist of a qualitative indicator (spec §3.6).

    ``f = Σ v_j·x_j / Σ v_j`` with ``x_j ∈ {0, 0.5, 1}``.  ``None`` marks an item whose
    assessment is missing (缺评估): ``missing="zero"`` counts it as 0 (the score is
    then a lower bound), ``missing="exclude"`` drops it from both sums.  Either way
    the flag ``missing_assessment`` is set.  ``cap`` limits ``f`` (e.g. 0.59 after a
    substantiated misuse, spec §3.9).
    """
    x = list(values)
    v = [1.0] * len(x) if weights is None else [float(w) for w in weights]
    if len(v) != len(x):
        raise ValueError("values and weights differ in length")
    flags: list[str] = []
    if any(xi is None for xi in x):
        flags.append("missing_assessment")
        if missing == "exclude":
            pairs = [(xi, vi) for xi, vi in zip(x, v) if xi is not None]
        elif missing == "zero":
            pairs = [(0.0 if xi is None else xi, vi) for xi, vi in zip(x, v)]
        else:
            raise ValueError(f"unknown missing-assessment policy {missing!r}")
    else:
        pairs = list(zip(x, v))
    total_w = sum(vi for _, vi in pairs)
    if not pairs or total_w <= 0:
        return not_applicable(*flags)
    f = sum(float(xi) * vi for xi, vi in pairs) / total_w
    if cap is not None and f > cap:
        f = cap
        flags.append("capped")
    return Rating(
        f, tier_from_fraction(f, achieved=achieved, partial=partial), tuple(flags), f
    )


def trend(
    current: float,
    previous: float,
    *,
    delta: float,
    f_up: float,
    f_flat: float,
    f_down: float,
    achieved: float,
    partial: float,
) -> Rating:
    """Directional qualitative target (增加/提升, ``trend_up``), spec §3.7.

    ``g = (a_t − a_{t−1}) / a_{t−1}``; ``f = f_up`` if ``g > 0``, ``f_flat`` if
    ``−δ < g ≤ 0``, else ``f_down``.  With ``a_{t−1} = 0`` any increase counts as
    ``g > 0`` and no change as flat (flag ``base_zero``).  ``ratio`` holds ``g``.
    """
    if (
        current is None
        or previous is None
        or math.isnan(current)
        or math.isnan(previous)
    ):
        return not_applicable("no_actual")
    flags: tuple[str, ...] = ()
    if previous == 0:
        flags = ("base_zero",)
        g = math.inf if current > 0 else (0.0 if current == 0 else -math.inf)
    else:
        g = (current - previous) / abs(previous)
    if g > 0:
        f = f_up
    elif g > -delta:
        f = f_flat
    else:
        f = f_down
    return Rating(
        f, tier_from_fraction(f, achieved=achieved, partial=partial), flags, g
    )


def redistribute(
    weights: Mapping[str, float],
    applicable: Mapping[str, bool],
    groups: Mapping[str, str],
    *,
    policy: str = "redistribute",
) -> dict[str, float]:
    """Effective weights after N/A indicators (spec §3.4, §4.1).

    ``redistribute`` spreads the weight of an N/A indicator over the applicable
    indicators of the same group (一级指标) pro rata; if no indicator of the group
    is applicable, over all applicable indicators.  ``zero`` keeps N/A indicators
    at their weight with score 0 and ``full`` gives them full marks (both leave the
    weights unchanged; the caller scores N/A as 0 or ``w``).
    """
    eff = {k: float(w) for k, w in weights.items()}
    if policy in ("zero", "full"):
        return eff
    if policy != "redistribute":
        raise ValueError(f"unknown na_policy {policy!r}")
    orphan = 0.0
    for grp in dict.fromkeys(groups.values()):
        members = [k for k in eff if groups[k] == grp]
        na = [k for k in members if not applicable[k]]
        ok = [k for k in members if applicable[k]]
        freed = sum(eff[k] for k in na)
        if not na:
            continue
        base = sum(eff[k] for k in ok)
        if base > 0:
            for k in ok:
                eff[k] += freed * eff[k] / base
        else:
            orphan += freed
        for k in na:
            eff[k] = 0.0
    if orphan:
        ok = [k for k in eff if applicable[k]]
        base = sum(eff[k] for k in ok)
        for k in ok:
            eff[k] += orphan * eff[k] / base if base > 0 else 0.0
    return eff
