"""Who is surveyed and counted: the funded enterprises (立项企业) of a batch year."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def approved_awards(
    awards: pd.DataFrame,
    year: int,
    *,
    statuses: Sequence[str],
    beneficiary_type: str | None = None,
) -> pd.DataFrame:
    """Approved awards of batch year ``year``.

    Parameters
    ----------
    awards
        The ``awards`` table (domain-spec §7.4).
    year
        申报年度 (``batch_year``).
    statuses
        Statuses that count as approved (``policies.approved_statuses``).
    beneficiary_type
        ``"enterprise"`` or ``"provider"`` to keep only one kind; ``None`` keeps all.
    """
    batch = pd.to_numeric(awards["batch_year"], errors="coerce")
    mask = (batch == year) & awards["status"].astype("str").isin(list(statuses))
    if beneficiary_type is not None:
        mask &= awards["beneficiary_type"].astype("str") == beneficiary_type
    return awards.loc[mask.fillna(False).astype(bool)]


def funded_firms(awards: pd.DataFrame, year: int, **kw) -> pd.Index:
    """Distinct ``firm_id`` of enterprises with an approved award in ``year``."""
    a = approved_awards(awards, year, beneficiary_type="enterprise", **kw)
    return pd.Index(a["firm_id"].dropna().astype("str").unique(), name="firm_id")
