"""Propensity-score overlap diagnostics for :func:`jdeval.effects.did.att_gt`.

The doubly robust and IPW estimators weight comparison firms by ``p / (1 - p)``,
``p`` the propensity score of belonging to the treated cohort. Where treated firms
have scores near 1 there are no comparable comparison firms, the weights rest on a
handful of firms and the outcome regression extrapolates: the ATT can be wild
(issue 13: ATT −57.65 for a planted 1.5 in a 3-firm cohort separated by a
covariate).

Trimming follows R DRDID (``trim.level = 0.995``): comparison firms whose score is
at or above the threshold get zero weight; treated firms are never dropped (the
estimand stays the ATT of the whole cohort). A cohort in which any *treated* firm
has a score at or above the threshold has no comparison firm like it: att_gt then
raises a :class:`~jdeval.effects.DidWarning` naming the cohort, and the cohort is
flagged in :attr:`Overlap.table` (``overlap_ok`` False).

Scores are summarised per comparison design (a treated cohort against one
comparison group, as used by one or more ATT(g, t)) and reported per cohort as the
worst case over its designs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Overlap", "overlap_record", "summarise_overlap", "HIST_BINS"]

#: Histogram bins of the scores kept for :meth:`Overlap.plot` (cheap to store).
HIST_BINS = np.linspace(0.0, 1.0, 41)

_COLUMNS = [
    "cohort",
    "n",
    "n_comparison",
    "ps_min",
    "ps_max",
    "ps_max_comparison",
    "share_near_0",
    "share_near_1",
    "n_trimmed",
    "n_treated_above",
    "ess_comparison",
    "overlap_ok",
]


def overlap_record(
    cohort: float,
    d: np.ndarray,
    ps: np.ndarray,
    w_cont: np.ndarray,
    threshold: float,
    *,
    hist: bool = True,
) -> dict:
    """Diagnostics of one design: treated indicator ``d``, scores ``ps``, weights.

    ``share_near_0`` / ``share_near_1`` are the shares of all firms of the design
    with a score below ``1 - threshold`` / at or above ``threshold``;
    ``ess_comparison`` is Kish's effective number of comparison firms
    ``(Σw)² / Σw²`` under the IPW weights.
    """
    # Counts and sums instead of boolean indexing or BLAS dots: this runs once per
    # design on up to 200,000 firms, where those cost ~30 ms a call here.
    m = len(d)
    n_t = int(round(float(d.sum())))
    hi = ps >= threshold
    n_hi = int(np.count_nonzero(hi))
    n_t_hi = int(np.count_nonzero(hi & (d > 0)))
    wsum = float(w_cont.sum())
    ess = wsum**2 / float((w_cont * w_cont).sum()) if wsum > 0 else 0.0
    if hist:
        nb = len(HIST_BINS) - 1
        b = np.minimum((ps * nb).astype(np.int64), nb - 1)
        h_t = np.bincount(b, weights=d, minlength=nb).round().astype(np.int64)
        h_c = np.bincount(b, minlength=nb) - h_t
    return {
        "cohort": float(cohort),
        "n": n_t,
        "n_comparison": m - n_t,
        "ps_min": float(ps.min()),
        "ps_max": float(ps.max()),
        "ps_max_comparison": float((ps * (1 - d)).max()) if m > n_t else np.nan,
        "share_near_0": np.count_nonzero(ps < 1 - threshold) / m,
        "share_near_1": n_hi / m,
        "n_trimmed": n_hi - n_t_hi,
        "n_treated_above": n_t_hi,
        "ess_comparison": ess,
        "hist_treated": h_t if hist else None,
        "hist_comparison": h_c if hist else None,
    }


@dataclass
class Overlap:
    """Propensity-score overlap per cohort (see the module docstring).

    Attributes
    ----------
    table
        One row per treated cohort: ``cohort, n`` (treated firms), ``n_comparison``,
        ``ps_min, ps_max`` (all firms of its designs), ``ps_max_comparison``,
        ``share_near_0, share_near_1``, ``n_trimmed`` (comparison firms given
        zero weight), ``n_treated_above`` (treated firms at or above the
        threshold), ``ess_comparison`` (smallest effective number of comparison
        firms), ``overlap_ok``.
    threshold
        Trimming threshold (R DRDID's ``trim.level``).
    warnings
        The warnings raised, one per cohort without overlap.
    available, reason_zh
        False with the reason when there is no propensity score (outcome
        regression, or no covariates).
    """

    table: pd.DataFrame
    threshold: float
    warnings: list[str] = field(default_factory=list)
    available: bool = True
    reason_zh: str = ""
    hist: dict[float, tuple[np.ndarray, np.ndarray]] = field(
        default_factory=dict, repr=False
    )

    @classmethod
    def unavailable(cls, threshold: float, reason_zh: str) -> Overlap:
        """No propensity score was estimated."""
        return cls(
            pd.DataFrame(columns=_COLUMNS),
            threshold,
            available=False,
            reason_zh=reason_zh,
        )

    @property
    def poor(self) -> list[float]:
        """Cohorts without overlap."""
        return self.table.loc[~self.table["overlap_ok"], "cohort"].tolist()

    def plot(self, ax=None, *, lang: str = "zh"):
        """Score histograms per cohort (treated above the axis, comparison below).

        Call ``jdeval.report.fonts.setup()`` first for Chinese labels.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 1.6 + 1.4 * max(len(self.hist), 1)))
        lab = {
            "zh": ("处理批次", "对照", "倾向得分", "阈值"),
            "en": ("cohort", "comparison", "propensity score", "threshold"),
        }[lang if lang in ("zh", "en") else "en"]
        centers = (HIST_BINS[:-1] + HIST_BINS[1:]) / 2
        width = HIST_BINS[1] - HIST_BINS[0]
        ticks, names = [], []
        for k, (cohort, (ht, hc)) in enumerate(sorted(self.hist.items())):
            base = -2.2 * k
            st = ht / max(ht.max(), 1) * 0.9
            sc = hc / max(hc.max(), 1) * 0.9
            ax.bar(centers, st, width, bottom=base, color="C1", alpha=0.8)
            ax.bar(centers, -sc, width, bottom=base, color="C0", alpha=0.6)
            ax.axhline(base, color="0.3", linewidth=0.6)
            ticks += [base + 0.45, base - 0.45]
            g = int(cohort) if float(cohort).is_integer() else cohort
            names += [f"{lab[0]} {g}", lab[1]]
        ax.axvline(self.threshold, color="C3", linestyle="--", linewidth=0.8)
        ax.text(self.threshold, 1.0, lab[3], color="C3", ha="right", va="bottom")
        ax.set_yticks(ticks)
        ax.set_yticklabels(names)
        ax.set_xlim(0, 1)
        ax.set_xlabel(lab[2])
        return ax


def summarise_overlap(records: list[dict], threshold: float) -> Overlap:
    """Worst case per cohort over its designs; histograms of its first design."""
    if not records:
        return Overlap(pd.DataFrame(columns=_COLUMNS), threshold)
    df = pd.DataFrame([{k: v for k, v in r.items() if k in _COLUMNS} for r in records])
    table = (
        df.groupby("cohort", sort=True)
        .agg(
            n=("n", "max"),
            n_comparison=("n_comparison", "max"),
            ps_min=("ps_min", "min"),
            ps_max=("ps_max", "max"),
            ps_max_comparison=("ps_max_comparison", "max"),
            share_near_0=("share_near_0", "max"),
            share_near_1=("share_near_1", "max"),
            n_trimmed=("n_trimmed", "max"),
            n_treated_above=("n_treated_above", "max"),
            ess_comparison=("ess_comparison", "min"),
        )
        .reset_index()
    )
    table["overlap_ok"] = table["n_treated_above"] == 0
    hist: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    for r in records:
        if r["hist_treated"] is not None:
            hist.setdefault(r["cohort"], (r["hist_treated"], r["hist_comparison"]))
    return Overlap(table[_COLUMNS], threshold, hist=hist)
