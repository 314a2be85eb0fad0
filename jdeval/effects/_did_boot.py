"""Multiplier bootstrap on influence functions (R ``did::mboot``).

For a matrix of influence functions ψ (units × parameters) each draw is
``sqrt(n) · mean_i(v_i ψ_i)`` with i.i.d. multipliers ``v`` (Mammen's two-point
weights as R did, or Rademacher ±1). Standard errors are the bootstrap interquartile
range divided by ``qnorm(.75) - qnorm(.25)``; the critical value of the uniform
(simultaneous) band is the ``1 - alp`` quantile of ``max_j |draw_j / se_j|``.
R did, given a cluster variable, averages the influence functions within clusters
and draws one multiplier per cluster; with clusters of unequal size that mean-based
scheme does not estimate the clustered variance ``Σ_c (Σ_{i∈c} ψ_i)² / n²`` (it
weights every cluster equally), so it is not used here.

:func:`wild_cluster_bootstrap` is the few-cluster alternative: a wild cluster
*score* bootstrap (Kline & Santos 2012) on cluster scores ``S_c`` — the influence
functions summed within clusters, or, as :func:`jdeval.effects.did.att_gt` uses it,
the leave-one-cluster-out jackknife deviations scaled so that their CR1 sum of
squares is the CV3 jackknife variance (MacKinnon, Nielsen & Webb 2023). Each
draw is ``X* = Σ_c v_c S_c / n`` and its studentised form ``t* = X* / sqrt(V*)`` with
``V* = G/(G-1) · Σ_c (v_c S_c - X*·n/G)² / n²``, the bootstrap analogue of the
small-G (CR1) clustered variance. Quantiles of ``|t*|`` give pointwise critical
values (bootstrap-t) and of ``max_j |t*_j|`` the uniform band. With normal
multipliers and equal clusters ``t*`` is exactly Student-t with ``G - 1`` degrees of
freedom, so the bootstrap and the analytic t(G-1) inference agree; with unequal
clusters the bootstrap adapts. Webb's six-point weights (Webb 2013) are the default
because Rademacher weights have only ``2^G`` distinct draws (4,096 with 12 街镇),
which makes the bootstrap-t quantiles coarse.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["multiplier_bootstrap", "wild_cluster_bootstrap", "WEIGHTS"]

_SQ5 = np.sqrt(5.0)
_MAMMEN_LO = (1 - _SQ5) / 2
_MAMMEN_HI = (1 + _SQ5) / 2
_MAMMEN_P_LO = (_SQ5 + 1) / (2 * _SQ5)
_CHUNK_CELLS = 4_000_000  # draws × units per chunk, bounds memory (~32 MB)


#: Multiplier distributions (mean 0, variance 1).
WEIGHTS = ("mammen", "rademacher", "webb")
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])


def _weights(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
    if kind == "webb":
        return _WEBB[rng.integers(0, 6, size=shape)]
    u = rng.random(shape)
    if kind == "rademacher":
        return np.where(u < 0.5, -1.0, 1.0)
    return np.where(u < _MAMMEN_P_LO, _MAMMEN_LO, _MAMMEN_HI)


def multiplier_bootstrap(
    inf: np.ndarray,
    *,
    biters: int = 999,
    alp: float = 0.05,
    seed=None,
    cluster: np.ndarray | None = None,
    weights: str = "mammen",
) -> dict:
    """Bootstrap standard errors and the uniform-band critical value.

    Parameters
    ----------
    inf
        ``(n, p)`` influence functions (``(n,)`` is treated as one column).
    biters
        Number of bootstrap draws.
    alp
        Significance level of the uniform band.
    seed
        Seed or :class:`numpy.random.Generator` (same seed → same draws).
    cluster
        ``(n,)`` integer cluster codes, or ``None`` to resample units.
    weights
        ``"mammen"`` (R did's default), ``"rademacher"`` or ``"webb"``.

    Returns
    -------
    dict
        ``se`` (``(p,)``, ``nan`` for degenerate columns), ``crit_val`` (float),
        ``draws`` (``(biters, p)``).
    """
    inf = np.asarray(inf, dtype=float)
    if inf.ndim == 1:
        inf = inf[:, None]
    n, p = inf.shape
    if cluster is not None:  # R did's scheme (cluster means); see module docstring
        codes, inv, counts = np.unique(cluster, return_inverse=True, return_counts=True)
        sums = np.zeros((len(codes), p))
        np.add.at(sums, inv, inf)
        inf = sums / counts[:, None]
        n = len(codes)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    draws = np.empty((biters, p))
    step = max(1, _CHUNK_CELLS // max(n, 1))
    for start in range(0, biters, step):
        stop = min(biters, start + step)
        v = _weights(rng, (stop - start, n), weights)
        draws[start:stop] = v @ inf / np.sqrt(n)
    ok = np.isfinite(draws).all(axis=0) & (
        (draws**2).sum(axis=0) > np.sqrt(np.finfo(float).eps) * 10
    )
    se = np.full(p, np.nan)
    crit = np.nan
    if ok.any():
        b = draws[:, ok]
        q75 = np.quantile(b, 0.75, axis=0, method="inverted_cdf")
        q25 = np.quantile(b, 0.25, axis=0, method="inverted_cdf")
        sig = (q75 - q25) / (special.ndtri(0.75) - special.ndtri(0.25))
        sig = np.where(sig <= np.sqrt(np.finfo(float).eps) * 10, np.nan, sig)
        se[ok] = sig / np.sqrt(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            bt = np.nanmax(np.abs(b / sig), axis=1)
        bt = bt[np.isfinite(bt)]
        if bt.size:
            crit = float(np.quantile(bt, 1 - alp, method="inverted_cdf"))
    return {"se": se, "crit_val": crit, "draws": draws}


def wild_cluster_bootstrap(
    scores: np.ndarray,
    n: int,
    *,
    biters: int = 999,
    alp: float = 0.05,
    seed=None,
    weights: str = "webb",
) -> dict:
    """Wild cluster score bootstrap-t (see module docstring).

    Parameters
    ----------
    scores
        ``(G, p)`` cluster scores: the influence functions summed within clusters,
        or (as :func:`jdeval.effects.did.att_gt` passes them) the jackknife
        deviations ``n (G-1)/G (θ_(-c) - θ̄)``, whose CR1-scaled sum of squares is
        the CV3 jackknife variance.
    n
        Number of units (the scores are divided by it).
    biters, alp, seed
        Draws, level of the intervals, seed or generator.
    weights
        ``"webb"`` (default), ``"rademacher"`` or ``"mammen"``.

    Returns
    -------
    dict
        ``se`` (``(p,)``: ``sqrt(G/(G-1))`` times the root mean square of
        ``X*``), ``crit`` (``(p,)`` pointwise bootstrap-t critical values),
        ``crit_val`` (uniform band), ``tstar`` (``(biters, p)``), ``n_clusters``.
    """
    s = np.asarray(scores, dtype=float)
    if s.ndim == 1:
        s = s[:, None]
    g, p = s.shape
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    v = _weights(rng, (biters, g), weights)
    x = v @ s  # (biters, p): n · X*
    adj = g / (g - 1) if g > 1 else np.nan
    var = adj * ((v**2) @ (s**2) - x**2 / g)
    ok = np.isfinite(s).all(axis=0) & ((s**2).sum(axis=0) > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tstar = np.where(ok, x / np.sqrt(np.maximum(var, 0.0)), np.nan)
    se = np.where(ok, np.sqrt(adj * (x**2).mean(axis=0)) / n, np.nan)
    crit = np.full(p, np.nan)
    band = np.nan
    if ok.any():
        at = np.abs(tstar[:, ok])
        at = np.where(np.isfinite(at), at, np.inf)  # a zero denominator is extreme
        crit[ok] = np.quantile(at, 1 - alp, axis=0, method="inverted_cdf")
        band = float(np.quantile(at.max(axis=1), 1 - alp, method="inverted_cdf"))
    return {
        "se": se,
        "crit": crit,
        "crit_val": band,
        "tstar": tstar,
        "n_clusters": g,
    }
