"""The disclosure rule (统计披露控制规则): when an aggregate may be published.

One home for the rule every layer applies — the indicators' display texts, the
report's tables and the edition-wide audit (:mod:`jdeval.report.gate`).  Its two
parameters come from the targets file (``policies.disclosure``):

* **threshold** — an aggregate over fewer than ``min_firms`` *firms* (not awards)
  is confidential;
* **dominance** — an aggregate in which one firm holds more than ``dominance`` of
  the amount is confidential (the other contributors, subtracting their own
  amounts, would learn the dominant firm's figure).

A count of firms is confidential under the threshold rule only; an amount under
both.  The functions are pure and vectorised (a group-by over the firm-level rows),
so a 200,000-firm build checks every cell at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["Rule", "unsafe", "unsafe_groups"]


@dataclass(frozen=True)
class Rule:
    """The two parameters of the rule (read from ``policies.disclosure``)."""

    min_firms: int = 3
    dominance: float | None = 0.85

    def unsafe(self, firm_values: pd.Series | np.ndarray) -> bool:
        """Whether an aggregate of these per-firm values is confidential."""
        return unsafe(firm_values, min_firms=self.min_firms, dominance=self.dominance)

    def unsafe_rows(
        self, rows: pd.DataFrame, *, firm: str = "firm_id", value: str | None = None
    ) -> bool:
        """Whether the aggregate of firm-level ``rows`` (awards …) is confidential.

        Rows are first summed per firm: three awards of two firms are two firms.
        """
        if rows.empty:
            return False
        if value is None:
            return 0 < rows[firm].nunique() < self.min_firms
        v = pd.to_numeric(rows[value], errors="coerce").fillna(0.0)
        return self.unsafe(v.groupby(rows[firm].to_numpy(), sort=False).sum())


def unsafe(
    firm_values: pd.Series | np.ndarray,
    *,
    min_firms: int = 3,
    dominance: float | None = 0.85,
) -> bool:
    """Whether an aggregate of per-firm values (one entry per firm) is confidential.

    An empty aggregate describes no firm and is not confidential.  For firm counts
    pass ones (the dominance rule then never fires: no firm holds more than
    ``1/n`` ≤ ``1/min_firms`` of a count).
    """
    v = np.asarray(firm_values, dtype=float)
    n = v.size
    if n == 0:
        return False
    if n < min_firms:
        return True
    if dominance is None:
        return False
    tot = float(np.clip(v, 0, None).sum())
    return bool(tot > 0 and float(v.max()) / tot > dominance)


def unsafe_groups(
    rows: pd.DataFrame,
    by: str | Sequence[str],
    *,
    firm: str = "firm_id",
    value: str | None = None,
    min_firms: int = 3,
    dominance: float | None = 0.85,
) -> pd.DataFrame:
    """Rule outcome of every group of ``rows`` at once (vectorised).

    Returns
    -------
    DataFrame
        Indexed by ``by``: ``n_firms``, ``total`` (sum of ``value``, or the firm
        count), ``top`` (largest per-firm value), ``unsafe`` (bool).
    """
    by = [by] if isinstance(by, str) else list(by)
    r = rows.loc[rows[firm].notna()]
    v = (
        pd.Series(1.0, index=r.index)
        if value is None
        else pd.to_numeric(r[value], errors="coerce").fillna(0.0)
    )
    f = r[by + [firm]].assign(_v=v.to_numpy())
    per_firm = f.groupby(by + [firm], sort=False, dropna=False)["_v"].sum()
    if value is None:
        per_firm = per_firm.clip(upper=1.0)
    g = per_firm.groupby(level=list(range(len(by))), sort=False)
    out = pd.DataFrame(
        {
            "n_firms": g.size(),
            "total": g.sum(),
            "top": g.max(),
            "pos": per_firm.clip(lower=0)
            .groupby(level=list(range(len(by))), sort=False)
            .sum(),
        }
    )
    dom = (
        (out["pos"] > 0) & (out["top"] / out["pos"].where(out["pos"] > 0) > dominance)
        if dominance is not None and value is not None
        else False
    )
    out["unsafe"] = (out["n_firms"] < min_firms) | dom
    return out.drop(columns="pos")
