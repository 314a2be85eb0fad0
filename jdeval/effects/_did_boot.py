"""Multiplier bootstrap on influence functions (R ``did::mboot``).

For a matrix of influence functions ψ (units × parameters) each draw is
``sqrt(n) · mean_i(v_i ψ_i)`` with i.i.d. multipliers ``v`` (Mammen's two-point
weights as R did, or Rademacher ±1). Standard errors are the bootstrap interquartile
range divided by ``qnorm(.75) - qnorm(.25)``; the critical value of the uniform
(simultaneous) band is the ``1 - alp`` quantile of ``max_j |draw_j / se_j|``.
With a cluster variable the influence functions are first averaged within clusters
and clusters are resampled, as R did does.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["multiplier_bootstrap"]

_SQ5 = np.sqrt(5.0)
_MAMMEN_LO = (1 - _SQ5) / 2
_MAMMEN_HI = (1 + _SQ5) / 2
_MAMMEN_P_LO = (_SQ5 + 1) / (2 * _SQ5)
_CHUNK_CELLS = 4_000_000  # draws × units per chunk, bounds memory (~32 MB)


def _weights(rng: np.random.Generator, shape: tuple[int, int], kind: str) -> np.ndarray:
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
        ``"mammen"`` (R did's default) or ``"rademacher"``.

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
    if cluster is not None:
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
        sig = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
        sig = np.where(sig <= np.sqrt(np.finfo(float).eps) * 10, np.nan, sig)
        se[ok] = sig / np.sqrt(n)
        with np.errstate(invalid="ignore", divide="ignore"):
            bt = np.nanmax(np.abs(b / sig), axis=1)
        bt = bt[np.isfinite(bt)]
        if bt.size:
            crit = float(np.quantile(bt, 1 - alp, method="inverted_cdf"))
    return {"se": se, "crit_val": crit, "draws": draws}
