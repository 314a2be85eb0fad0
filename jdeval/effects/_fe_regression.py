"""Firm and year fixed-effects regressions: one typed fit from two engines.

:class:`FeFit` is what :mod:`jdeval.effects._twfe` and
:mod:`jdeval.effects._event_study` need from a fixed-effects regression (names,
coefficients, covariance, rows used, degrees of freedom, within R²). It comes from

:func:`indicator_fe_fit`
    an exact solver for ``y_it = alpha_i + gamma_t + sum_k beta_k 1{c_it = k} + u_it``
    when every regressor is the indicator of one categorical code per row (the
    treatment dummy, a cohort × event-time cell), clustered by unit. Hand-written
    because it is O(rows) and needs no design matrix: the regressors are the K
    cell indicators and T−1 year indicators, the unit effects go by exact
    within-unit demeaning, so the normal equations need only counts and sums by
    (cell, year) and by unit (``np.bincount``), the residual is a gather, and the
    firm-clustered CRV1 meat is the cross product of a unit × regressor score
    matrix, again built by ``bincount``. By Frisch–Waugh–Lovell the cell block of
    this regression (coefficients and sandwich) is exactly pyfixest's two-way
    demeaned one. At 200,000 firms × 7 years pyfixest's design matrices and their
    copies take ~1 GB per fit; this takes tens of MB.
:func:`pyfixest_fit`
    :func:`pyfixest.feols` for everything else (covariates, other covariances),
    releasing the fitted model at once.

Both follow pyfixest's defaults: singleton fixed-effect rows are dropped
(``fixef_rm="singleton"``, found by pyfixest's own ``detect_singletons``, with its
warning), and CRV1 uses the small-sample factor ``G/(G-1) · (N-1)/(N-K)`` where the
unit effects, nested in the unit clusters, count as one parameter and the year
effects as ``T−1``: ``K = regressors + T`` (pyfixest ``ssc(k_fixef="nonnested")``,
R fixest ``fixef.K="nested"``). pyfixest demeans unbalanced panels by alternating
projections to a tolerance of 1e-6; the solver here is exact, so on unbalanced
panels the two agree to that tolerance (to 1e-10 when pyfixest is run with
``fixef_tol=1e-12``; see ``tests/test_effects_fe_regression.py``).
"""

from __future__ import annotations

import gc
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["FeFit", "indicator_fe_fit", "pyfixest_fit", "feols_quiet"]

#: pyfixest's default tolerance of its collinearity check (``feols(collin_tol=)``)
_COLLIN_TOL = 1e-9


@dataclass(frozen=True)
class FeFit:
    """Coefficients and covariance of a fixed-effects regression.

    Attributes
    ----------
    names
        Regressor names, in the order of ``coef`` and ``vcov``.
    coef, vcov
        Estimates and their covariance (small-sample corrected).
    n_obs
        Rows used (after dropping missing values and singletons).
    dof_t
        Degrees of freedom of the t-based p-values (``G − 1`` for CRV1).
    r2_within
        R² of the regression on the two-way demeaned outcome.
    engine
        ``"indicator"`` (exact O(rows) solver) or ``"pyfixest"``.
    """

    names: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    n_obs: int
    dof_t: int | None
    r2_within: float
    engine: str

    @property
    def coef_series(self) -> pd.Series:
        """Estimates indexed by regressor name."""
        return pd.Series(self.coef, index=self.names)

    @property
    def vcov_frame(self) -> pd.DataFrame:
        """Covariance indexed by regressor name on both axes."""
        return pd.DataFrame(self.vcov, index=self.names, columns=self.names)


def feols_quiet(fml: str, data: pd.DataFrame, vcov, **kwargs):
    """:func:`pyfixest.feols` without its pandas-3 deprecation noise.

    pyfixest 0.60 calls ``inplace=`` pandas methods that pandas 3.1 deprecates; the
    warnings say nothing about the user's data and would clutter notebooks.
    """
    import pyfixest as pf

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        return pf.feols(fml, data=data, vcov=vcov, **kwargs)


def pyfixest_fit(fml: str, data: pd.DataFrame, vcov, **kwargs) -> FeFit:
    """Fit with :func:`pyfixest.feols`, keep the numbers and release the model.

    A fitted pyfixest model holds its design matrices and copies of the data in
    reference cycles, so they outlive ``del`` until a full garbage collection (about
    1 GB per model at 200,000 firms); the explicit collection frees them now.
    """
    model = feols_quiet(fml, data, vcov, **kwargs)
    try:
        dof = int(model._df_t)
    except (AttributeError, TypeError, ValueError):
        dof = None
    fit = FeFit(
        names=[str(n) for n in model._coefnames],
        coef=np.asarray(model._beta_hat, float).copy(),
        vcov=np.asarray(model._vcov, float).copy(),
        n_obs=int(model._N),
        dof_t=dof,
        r2_within=float(model._r2_within),
        engine="pyfixest",
    )
    del model
    gc.collect()
    return fit


def indicator_fe_fit(
    y: np.ndarray,
    unit: np.ndarray,
    time: np.ndarray,
    code: np.ndarray,
    names: list[str],
) -> FeFit | None:
    """Exact unit + time fixed-effects regression on indicator regressors.

    Parameters
    ----------
    y
        Outcome (finite), one value per row.
    unit, time
        Unit (cluster) and period labels of each row (any sortable values). Pass
        a string column as a Series: ``to_numpy()`` on it would build one Python
        object per row (~0.13 GB at 1.2 M rows).
    code
        Integer regressor code of each row: ``k`` in ``1..K`` sets regressor
        ``names[k-1]`` to one, ``0`` sets all to zero.
    names
        The ``K`` regressor names.

    Returns
    -------
    FeFit or None
        ``None`` when this solver does not cover the case (a missing unit or
        period, a non-finite outcome, a regressor collinear with the fixed effects
        or empty after dropping singletons, fewer than two clusters or periods),
        for the caller to use :func:`pyfixest_fit`, which drops such rows or
        regressors with its warnings.
    """
    y = np.asarray(y, float)
    code = np.asarray(code, np.int64)
    f = pd.factorize(unit)[0]
    t = pd.factorize(time, sort=True)[0]
    if not np.isfinite(y).all() or (f < 0).any() or (t < 0).any():
        return None  # pyfixest drops such rows with its own warning
    keep = _drop_singletons(f, t)
    if keep is not None:
        y, code = y[keep], code[keep]
        f = pd.factorize(f[keep])[0]
        t = pd.factorize(t[keep], sort=True)[0]
    n_units, n_periods = int(f.max()) + 1, int(t.max()) + 1
    k = len(names)
    if n_units < 2 or n_periods < 2 or k == 0:
        return None
    cols = _Columns(f, t, code, k, n_periods, n_units)
    n_f = np.bincount(f, minlength=n_units).astype(float)
    xtx = cols.gram() - cols.unit_cross(1.0 / n_f)
    ybar_f = np.bincount(f, weights=y, minlength=n_units) / n_f
    xty = cols.sum_by_column(y) - cols.by_unit.T @ ybar_f
    if not _full_rank(xtx, k):
        return None
    bread = np.linalg.inv(xtx)
    beta = bread @ xty
    v = y - cols.gather(beta)
    u = v - (np.bincount(f, weights=v, minlength=n_units) / n_f)[f]
    n, g = len(y), n_units
    vcov = _crv1(cols.score_matrix(u), bread, n, g, k + n_periods)
    yy = y - ybar_f[f]
    ssy_within = float(yy @ yy) - _year_explained(xtx, xty, k)
    return FeFit(
        names=list(names),
        coef=beta[:k].copy(),
        vcov=vcov[:k, :k].copy(),
        n_obs=n,
        dof_t=g - 1,
        r2_within=1.0 - float(u @ u) / ssy_within,
        engine="indicator",
    )


def _crv1(scores: np.ndarray, bread: np.ndarray, n: int, g: int, df_k: int):
    """Firm-clustered CRV1 covariance with pyfixest's small-sample factor.

    ``scores`` are the unit sums of ``x_i u_i``: the unit-mean part of the demeaned
    ``x`` drops out because the residuals sum to zero within each unit.
    bread·meat·bread is formed as ``A'A`` with ``A = scores · bread``, so variances
    are sums of squares (never negative by rounding when a cell rests on one
    cluster). ``df_k`` = regressors + periods (see the module docstring).
    """
    half = scores @ bread
    return g / (g - 1) * (n - 1) / (n - df_k) * (half.T @ half)


def _drop_singletons(f: np.ndarray, t: np.ndarray) -> np.ndarray | None:
    """Rows to keep after pyfixest's singleton rule, or ``None`` if all are kept.

    Uses pyfixest's own detector (iterated over both fixed effects until no
    singleton is left) and raises its warning, so notes match the pyfixest path.
    """
    from pyfixest.core.detect_singletons import detect_singletons

    single = detect_singletons(np.column_stack([f, t]))
    if not single.any():
        return None
    warnings.warn(
        f"{int(single.sum())} singleton fixed effect(s) dropped from the model.",
        stacklevel=3,
    )
    return ~single


def _full_rank(xtx: np.ndarray, k: int) -> bool:
    """pyfixest's collinearity check on the regressors' two-way demeaned Gram.

    The Schur complement of the year block is the Gram matrix of the regressors
    after partialling out unit and year effects, the matrix pyfixest checks.
    """
    from pyfixest.core.collinear import find_collinear_variables

    a, b, d = xtx[:k, :k], xtx[:k, k:], xtx[k:, k:]
    try:
        schur = a - b @ np.linalg.solve(d, b.T)
    except np.linalg.LinAlgError:
        return False
    _, n_excl, all_removed = find_collinear_variables(
        np.ascontiguousarray(schur), _COLLIN_TOL
    )
    return not all_removed and n_excl == 0


def _year_explained(xtx: np.ndarray, xty: np.ndarray, k: int) -> float:
    """Sum of squares of the unit-demeaned outcome explained by year effects.

    Subtracted from the unit-demeaned total it gives the sum of squares of the
    two-way demeaned outcome, the denominator of pyfixest's within R².
    """
    d, c = xtx[k:, k:], xty[k:]
    return float(c @ np.linalg.solve(d, c))


class _Columns:
    """Regressor columns as codes: ``K`` indicators then ``T−1`` year dummies.

    Each row has at most one indicator column (``code − 1``) and at most one year
    column (``K + t − 1``, none in the first period), so every product with the
    design matrix is a ``bincount`` over these column numbers.
    """

    def __init__(self, f, t, code, k, n_periods, n_units):
        self.p = k + n_periods - 1
        self.n_units = n_units
        self.n_rows = len(f)
        has_c = code > 0
        has_t = t > 0
        self.rows_c, self.col_c = np.flatnonzero(has_c), code[has_c] - 1
        self.rows_t, self.col_t = np.flatnonzero(has_t), k + t[has_t] - 1
        self.f_c, self.f_t = f[has_c], f[has_t]
        self.by_unit = self._by_unit(None)

    def _by_unit(self, w: np.ndarray | None) -> np.ndarray:
        """Unit × column sums of ``w`` (counts if ``None``) over the 1-entries."""
        size = self.n_units * self.p
        out = np.zeros(size)
        for rows, col, f in (
            (self.rows_c, self.col_c, self.f_c),
            (self.rows_t, self.col_t, self.f_t),
        ):
            out += np.bincount(
                f * self.p + col, weights=None if w is None else w[rows], minlength=size
            )
        return out.reshape(self.n_units, self.p)

    def gram(self) -> np.ndarray:
        """Raw ``X'X``: column counts on the diagonal, cell × year counts off it."""
        p = self.p
        xtx = np.zeros((p, p))
        counts = np.bincount(self.col_c, minlength=p) + np.bincount(
            self.col_t, minlength=p
        )
        xtx[np.diag_indices(p)] = counts
        both = np.intersect1d(self.rows_c, self.rows_t, assume_unique=True)
        if both.size:
            cc = self.col_c[np.searchsorted(self.rows_c, both)]
            ct = self.col_t[np.searchsorted(self.rows_t, both)]
            cross = np.bincount(cc * p + ct, minlength=p * p).reshape(p, p)
            xtx += cross + cross.T
        return xtx

    def unit_cross(self, inv_n: np.ndarray) -> np.ndarray:
        """``sum_f n_fk n_fl / n_f``: what within-unit demeaning removes from X'X."""
        return self.by_unit.T @ (self.by_unit * inv_n[:, None])

    def sum_by_column(self, w: np.ndarray) -> np.ndarray:
        """Raw ``X'w``."""
        p = self.p
        return np.bincount(
            self.col_c, weights=w[self.rows_c], minlength=p
        ) + np.bincount(self.col_t, weights=w[self.rows_t], minlength=p)

    def gather(self, beta: np.ndarray) -> np.ndarray:
        """``X beta`` row by row."""
        out = np.zeros(self.n_rows)
        out[self.rows_c] += beta[self.col_c]
        out[self.rows_t] += beta[self.col_t]
        return out

    def score_matrix(self, u: np.ndarray) -> np.ndarray:
        """Unit × column sums of ``x_i u_i`` (the CRV1 scores)."""
        return self._by_unit(u)
