"""Sensitivity of event-study conclusions to violations of parallel trends.

Rambachan & Roth (2023, *Review of Economic Studies* 90(5)) replace the assumption
that parallel trends hold exactly by a set Δ of allowed violations δ and report
confidence sets that are valid for every δ in Δ:

``type="relative_magnitude"`` (Δ^RM(M̄))
    Each post-treatment change of the violation, |δ_{t+1} − δ_t|, is at most M̄ times
    the largest pre-treatment change. Inference: the conditional least-favourable
    hybrid test of Andrews, Roth & Pakes (ARP), inverted over a grid ("C-LF").
``type="smoothness"`` (Δ^SD(M))
    The slope of the violation changes by at most M between consecutive periods
    (M = 0: a linear trend). Inference: the optimal fixed-length CI ("FLCI").

:func:`honest_did` has the arguments and defaults of R HonestDiD's
``createSensitivityResults_relativeMagnitudes`` / ``createSensitivityResults`` and
returns their table (``lb, ub, method, Delta, Mbar|M``). Written here rather than
taken from a Python port: of the ports available (diff-diff 3.13, moderndid 0.2,
honestdid 0.1), diff-diff has no C-LF for Δ^RM, moderndid's C-LF differs from R's
published numbers by a grid step and takes minutes, and honestdid needs torch.
Two implementation choices make this fast:

* the ARP linear programme ``min_δ max_j (y_j − X_j δ)/σ_j`` is solved through the
  vertices of its dual polytope ``{γ ≥ 0, γ'σ = 1, γ'X = 0}``, enumerated once; the
  statistic, the optimal vertex and the truncation points (v_lo, v_up) of the
  conditional test then follow for the whole θ grid in a few matrix products
  (R solves two LPs per grid point and bisects for v_lo, v_up);
* the least-favourable critical value uses R's random numbers (``set.seed(seed)``,
  Mersenne-Twister, inversion, ``mvtnorm::rmvnorm`` eigen factor), i.e. R's draws.

Agreement with R (tests/test_effects_honest.py): on the README's Medicaid example
every C-LF bound is within one grid step (40·sd/999 ≈ 0.00037) of R's printed value
— not digit for digit: the README's inputs are not published and we rebuild them
from the data — and 9 of 12 FLCI bounds equal R's printed digits, the others differ
by one unit in the last digit. The FLCI is the exact optimum with the exact
folded-normal quantile; R's uses a simulated quantile (1.9622 for 1.9600 at μ = 0)
and an inexact conic solver, so on the package's stored LW vignette results R's
bounds differ from ours by less than 0.6 % of the interval length.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, special
from threadpoolctl import threadpool_limits

__all__ = [
    "honest_did",
    "original_ci",
    "breakdown_value",
    "HonestSensitivity",
    "honest_from_event_study",
]

_TOL = 1e-10
#: Largest number of candidate vertex bases enumerated (C(rows, post periods)).
_MAX_BASES = 300_000


# ----------------------------------------------------------------- R's normal draws
def r_rnorm(n: int, seed: int = 0) -> np.ndarray:
    """``n`` standard normal draws equal to R's ``set.seed(seed); rnorm(n)``.

    R's defaults: Mersenne-Twister seeded through R's linear-congruential
    scrambling, normals by inversion from two uniforms (``BIG = 2^27``).
    """
    s = seed & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    key = np.empty(625, dtype=np.uint64)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        key[j] = s
    bg = np.random.MT19937()
    bg.state = {
        "bit_generator": "MT19937",
        "state": {"key": key[1:].astype(np.uint32), "pos": 624},
    }
    u = bg.random_raw(2 * n).astype(np.float64) * 2.3283064365386963e-10
    u = np.where(u <= 0.0, 0.5 * 2.328306437080797e-10, u)
    u = np.where(1.0 - u <= 0.0, 1.0 - 0.5 * 2.328306437080797e-10, u)
    big = 134217728.0
    v = np.floor(big * u[0::2]) + u[1::2]
    return special.ndtri(v / big)


@functools.lru_cache(maxsize=8)
def _r_rnorm_cached(n: int, seed: int) -> np.ndarray:
    z = r_rnorm(n, seed)
    z.flags.writeable = False
    return z


def _r_rmvnorm(n: int, sigma: np.ndarray, seed: int) -> np.ndarray:
    """``mvtnorm::rmvnorm(n, sigma = sigma)`` after ``set.seed(seed)`` (eigen)."""
    p = sigma.shape[0]
    lam, vec = np.linalg.eigh((sigma + sigma.T) / 2)
    root = (vec * np.sqrt(np.clip(lam, 0, None))) @ vec.T
    z = _r_rnorm_cached(n * p, seed).reshape(n, p)  # byrow = TRUE
    return z @ root


# ----------------------------------------------------------------- Δ^RM constraints
def _a_rm(npre: int, npost: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """Rows A with ``A δ ≤ 0`` ⇔ δ ∈ Δ^RM_{s,±}(M̄) (period 0 dropped, R's order)."""
    k = npre + npost
    tilde = np.zeros((k, k + 1))
    for r in range(k):
        tilde[r, r : r + 2] = (-1.0, 1.0)
    vmax = np.zeros(k + 1)
    vmax[npre + s - 1 : npre + s + 1] = (-1.0, 1.0)
    if not positive:
        vmax = -vmax
    ub = np.vstack([np.tile(vmax, (npre, 1)), np.tile(mbar * vmax, (npost, 1))])
    a = np.vstack([tilde - ub, -tilde - ub])
    a = a[(a * a).sum(axis=1) > 1e-10]
    return np.delete(a, npre, axis=1)


def _gamma(l_vec: np.ndarray) -> np.ndarray:
    """Invertible matrix with first row l' (pivot columns of [l, I], as R)."""
    cols = [l_vec]
    for j in range(len(l_vec)):
        e = np.zeros(len(l_vec))
        e[j] = 1.0
        cand = np.column_stack([*cols, e])
        if np.linalg.matrix_rank(cand) == cand.shape[1]:
            cols.append(e)
        if len(cols) == len(l_vec):
            break
    return np.array(cols)


def _dual_vertices(sd: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Vertices of ``{γ ≥ 0 : γ'sd = 1, γ'X = 0}`` (rows of the result).

    ``max_γ γ'y`` over this polytope equals ``min_δ max_j (y_j − X_j δ)/sd_j``.
    """
    m, k = x.shape
    w = np.column_stack([sd, x])  # m × (k+1)
    size = k + 1
    if math.comb(m, size) > _MAX_BASES:
        raise ValueError(
            f"事件研究期数过多，无法枚举（{m} 个矩条件、{k} 个冗余参数）/ too many "
            f"moments ({m}) and nuisance parameters ({k}) to enumerate; shorten the window"
        )
    rhs = np.zeros(size)
    rhs[0] = 1.0
    out = []
    for idx in itertools.combinations(range(m), size):
        sub = w[list(idx)].T
        if abs(np.linalg.det(sub)) < 1e-12 * max(1.0, np.abs(sub).max() ** size):
            continue
        g = np.linalg.solve(sub, rhs)
        if (g >= -1e-9).all():
            v = np.zeros(m)
            v[list(idx)] = np.clip(g, 0, None)
            out.append(v)
    if not out:
        return np.zeros((0, m))
    return np.unique(np.round(np.array(out), 12), axis=0)


def _truncnorm_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quantile ``p`` of N(0, 1) truncated to [lo, hi] (vectorised)."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    out = np.empty(lo.shape)
    # inversion on the side of 0 that keeps precision (upper tail via survival)
    up = lo >= 0
    sa, sb = special.ndtr(-lo[up]), special.ndtr(-hi[up])
    out[up] = -special.ndtri(sa - p * (sa - sb))
    ca, cb = special.ndtr(lo[~up]), special.ndtr(hi[~up])
    out[~up] = special.ndtri(ca + p * (cb - ca))
    bad = ~np.isfinite(out) | (out < lo) | (out > hi) | (lo > 35)
    if bad.any():  # far tails: scipy's careful implementation
        from scipy import stats  # imported when needed: ~0.6 s

        out[bad] = stats.truncnorm.ppf(p, lo[bad], hi[bad])
    return out


def _arp_accept(
    y0: np.ndarray,
    a: np.ndarray,
    x: np.ndarray,
    sigma_y: np.ndarray,
    grid: np.ndarray,
    alpha: float,
    kappa: float,
    seed: int,
) -> np.ndarray:
    """Acceptance of the conditional LF-hybrid ARP test at each θ of ``grid``.

    Moments ``E[y0 − a θ − X δ] ≤ 0`` with nuisance δ (``X`` may have 0 columns).
    """
    sd = np.sqrt(np.diag(sigma_y))
    verts = _dual_vertices(sd, x)
    if len(verts) == 0:  # the LP is unbounded below: R does not reject
        return np.ones(len(grid), bool)
    # least-favourable critical value: 1 − κ quantile of the statistic at μ = 0
    xi = _r_rmvnorm(1000, sigma_y, seed)
    lf_cv = float(np.quantile((xi @ verts.T).max(axis=1), 1 - kappa))
    mod_size = (alpha - kappa) / (1 - kappa)
    y = y0[:, None] - a[:, None] * grid[None, :]  # m × G
    vals = verts @ y  # V × G
    best = vals.argmax(axis=0)
    eta = vals[best, np.arange(len(grid))]
    gam = verts[best]  # G × m
    sg = gam @ sigma_y  # G × m
    s2 = np.einsum("gm,gm->g", sg, gam)
    s2 = np.where(s2 > 0, s2, np.nan)
    b = sg / s2[:, None]  # G × m
    gy = np.einsum("gm,mg->g", gam, y)
    s = y.T - b * gy[:, None]
    vb = verts @ b.T  # V × G
    vs = verts @ s.T
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = vs / (1 - vb)
    vlo = np.where(vb < 1 - 1e-9, ratio, -np.inf).max(axis=0)
    vup = np.where(vb > 1 + 1e-9, ratio, np.inf).min(axis=0)
    sig = np.sqrt(s2)
    zlo = vlo / sig
    zup = np.minimum(vup, lf_cv) / sig
    stat = eta / sig
    accept = np.ones(len(grid), bool)
    first = eta > lf_cv
    accept[first] = False
    inside = ~first & (zlo <= stat) & (stat <= zup) & np.isfinite(sig)
    if inside.any():
        cval = np.maximum(
            0.0, _truncnorm_quantile(1 - mod_size, zlo[inside], zup[inside])
        )
        accept[inside] = ~(stat[inside] > cval)
    zero_var = ~np.isfinite(sig) & ~first
    accept[zero_var] = ~(eta[zero_var] > 0)
    return accept


def _rm_ci(betahat, sigma, npre, npost, l_vec, mbar, alpha, grid, seed):
    """C-LF confidence interval under Δ^RM(M̄) (union over s and sign)."""
    kappa = alpha / 10
    inv_gamma = np.linalg.inv(_gamma(l_vec))
    accept = np.zeros(len(grid), bool)
    for s in range(-(npre - 1), 1):
        for positive in (True, False):
            a_full = _a_rm(npre, npost, mbar, s, positive)
            post = a_full[:, npre:]
            rows = np.flatnonzero((post != 0).any(axis=1))
            a_mat = a_full[rows]
            ag = a_mat[:, npre:] @ inv_gamma
            y0 = a_mat @ betahat
            sigma_y = a_mat @ sigma @ a_mat.T
            accept |= _arp_accept(
                y0, ag[:, 0], ag[:, 1:], sigma_y, grid, alpha, kappa, seed
            )
    if not accept.any():
        return math.nan, math.nan
    return float(grid[accept].min()), float(grid[accept].max())


# ----------------------------------------------------------------- Δ^SD: FLCI
def _folded_quantile(p: float, mu: float) -> float:
    """Quantile ``p`` of |N(μ, 1)| (exact; R simulates 10⁶ draws)."""
    mu = abs(mu)

    def f(c):
        return special.ndtr(c - mu) - special.ndtr(-c - mu) - p

    hi = mu + 10.0
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14))


def _flci_direct(q, lin, s_post, const, target, m, alpha, w0):
    """Minimise ``h(w) · q_{1−α}(|N(M b(w)/h(w), 1)|)`` over ``(w, u)``.

    ``b(w) = c + Σ u`` with ``|Σ_{j≤i} w_j| ≤ u_i`` and ``Σ w = target``; smooth in
    ``(w, u)``, solved by SLSQP with analytic gradients (R bisects in h and solves
    a conic programme per h; the optimum is the same).
    """
    k = len(w0)
    low = np.tril(np.ones((k, k)))
    p = 1 - alpha

    memo = {}

    def parts(z):
        key = z.tobytes()
        if key not in memo:
            memo.clear()
            memo[key] = _parts(z)
        return memo[key]

    def _parts(z):
        w, u = z[:k], z[k:]
        v = float(w @ q @ w + lin @ w + s_post)
        h = math.sqrt(max(v, 1e-300))
        b = const + u.sum()
        mu = m * b / h
        c = _folded_quantile(p, mu)
        fa, fb = math.exp(-0.5 * (c - mu) ** 2), math.exp(-0.5 * (c + mu) ** 2)
        dq = (fa - fb) / (fa + fb)
        return w, h, mu, c, dq

    def fun(z):
        _, h, _, c, _ = parts(z)
        return h * c

    def jac(z):
        w, h, mu, c, dq = parts(z)
        dh = (2 * q @ w + lin) / (2 * h)
        return np.concatenate([(c - dq * mu) * dh, np.full(k, dq * m)])

    eye_u = np.eye(k)
    cons = [
        {
            "type": "eq",
            "fun": lambda z: np.array([z[:k].sum() - target]),
            "jac": lambda z: np.concatenate([np.ones(k), np.zeros(k)])[None, :],
        },
        {
            "type": "ineq",
            "fun": lambda z: np.concatenate([z[k:] - low @ z[:k], z[k:] + low @ z[:k]]),
            "jac": lambda z: np.block([[-low, eye_u], [low, eye_u]]),
        },
    ]
    z0 = np.concatenate([w0, np.abs(low @ w0) + 1e-12])
    res = optimize.minimize(
        fun,
        z0,
        jac=jac,
        constraints=cons,
        method="SLSQP",
        options={"ftol": 1e-13, "maxiter": 1000},
    )
    return res.x[:k]


def _flci(betahat, sigma, npre, npost, l_vec, m, alpha, seed=0):
    """Optimal fixed-length CI under Δ^SD(M) (Rambachan & Roth 2023, sec. 4.1).

    The estimator is ``l'β_post + l_pre'β_pre`` with ``l_pre = D w`` (D first
    differences) and ``Σ w = Σ_t t l_t``; its worst-case bias is
    ``M (c + Σ_i |Σ_{j≤i} w_j|)``. We minimise the half-length
    ``h · q_{1−α}(|N(bias/h, 1)|)`` over h, the bias being minimised for each h
    subject to ``sd ≤ h`` (as R, which bisects in h with CVXR).
    """
    t = np.arange(1, npost + 1)
    target = float(t @ l_vec)
    const = sum(abs(np.arange(1, s + 1) @ l_vec[npost - s :]) for s in t) - target
    dmat = np.eye(npre) - np.eye(npre, k=-1)
    s_pre = sigma[:npre, :npre]
    s_pp = sigma[:npre, npre:] @ l_vec
    s_post = float(l_vec @ sigma[npre:, npre:] @ l_vec)
    q = dmat.T @ s_pre @ dmat
    lin = 2 * dmat.T @ s_pp

    def var(w):
        return float(w @ q @ w + lin @ w + s_post)

    def bias(w):
        return const + float(np.abs(np.cumsum(w)).sum())

    # minimum variance: min w'Qw + lin'w s.t. 1'w = target (KKT system)
    kkt = np.block(
        [[2 * q, np.ones((npre, 1))], [np.ones((1, npre)), np.zeros((1, 1))]]
    )
    sol = np.linalg.lstsq(kkt, np.concatenate([-lin, [target]]), rcond=None)[0]
    w_min = sol[:npre]
    w_bias = np.zeros(npre)
    w_bias[-1] = target

    def half_length(w):
        sd = math.sqrt(var(w))
        return sd * _folded_quantile(1 - alpha, m * bias(w) / sd)

    if m == 0:
        best = w_min
    else:
        best = min(
            (
                _flci_direct(q, lin, s_post, const, target, m, alpha, w0)
                for w0 in (w_min, w_bias)
            ),
            key=half_length,
        )
        best = min((best, w_min, w_bias), key=half_length)
    l_pre = dmat @ best
    center = float(l_pre @ betahat[:npre] + l_vec @ betahat[npre:])
    hl = half_length(best)
    return center - hl, center + hl


# ----------------------------------------------------------------- public API
def _check(betahat, sigma, npre, npost, l_vec):
    betahat = np.asarray(betahat, dtype=float).ravel()
    sigma = np.asarray(sigma, dtype=float)
    if npre < 1 or npost < 1:
        raise ValueError(
            "需要至少 1 个处理前和 1 个处理后时期 / need ≥1 pre and ≥1 post period"
        )
    if betahat.shape != (npre + npost,) or sigma.shape != (npre + npost,) * 2:
        raise ValueError(
            f"betahat 长度与 sigma 维数应为 {npre + npost} / betahat and sigma must have "
            f"{npre + npost} = num_pre_periods + num_post_periods entries"
        )
    if l_vec is None:
        l_vec = np.zeros(npost)
        l_vec[0] = 1.0
    l_vec = np.asarray(l_vec, dtype=float).ravel()
    if l_vec.shape != (npost,):
        raise ValueError(
            "l_vec 长度应等于处理后时期数 / l_vec must have num_post_periods entries"
        )
    return betahat, sigma, l_vec


def original_ci(
    betahat,
    sigma,
    *,
    num_pre_periods: int,
    num_post_periods: int,
    l_vec=None,
    alpha=0.05,
) -> tuple[float, float]:
    """CI of ``l'τ_post`` under exact parallel trends (R ``constructOriginalCS``)."""
    b, s, lv = _check(betahat, sigma, num_pre_periods, num_post_periods, l_vec)
    npre = num_pre_periods
    est = float(lv @ b[npre:])
    se = math.sqrt(float(lv @ s[npre:, npre:] @ lv))
    z = special.ndtri(1 - alpha / 2)
    return est - z * se, est + z * se


def honest_did(
    betahat,
    sigma,
    *,
    num_pre_periods: int,
    num_post_periods: int,
    type: str = "relative_magnitude",  # noqa: A002 - R's argument name
    Mbarvec=None,  # noqa: N803 - R's argument name
    Mvec=None,  # noqa: N803 - R's argument name
    l_vec=None,
    alpha: float = 0.05,
    grid_points: int = 1000,
    grid_lb: float | None = None,
    grid_ub: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Robust confidence intervals under bounded violations of parallel trends.

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients (pre periods first, the reference period left out)
        and their covariance matrix.
    num_pre_periods, num_post_periods
        Numbers of pre- and post-treatment coefficients.
    type
        ``"relative_magnitude"`` (Δ^RM, C-LF) or ``"smoothness"`` (Δ^SD, FLCI).
    Mbarvec
        M̄ values for Δ^RM (default as R: 10 values from 0 to 2).
    Mvec
        M values for Δ^SD. Default with one pre period as R (10 values from 0 to
        its standard error); with more pre periods R uses an upper bound on M
        estimated from the pre-trends, not implemented here: give ``Mvec``.
    l_vec
        Weights of the parameter ``θ = l'τ_post`` (default: the first post period).
    alpha
        1 − confidence level.
    grid_points, grid_lb, grid_ub, seed
        Test-inversion grid of C-LF (R: 1000 points on ±20 sd(θ̂) around 0) and the
        seed of the least-favourable critical value's simulation (R: 0).

    Returns
    -------
    pandas.DataFrame
        ``lb, ub, method, Delta`` and ``Mbar`` (relative magnitudes) or ``M``
        (smoothness), one row per value, as R HonestDiD.
    """
    # small matrices: multi-threaded BLAS only adds overhead (20× slower under load)
    with threadpool_limits(1):
        return _honest_did(
            betahat,
            sigma,
            num_pre_periods,
            num_post_periods,
            type,
            Mbarvec,
            Mvec,
            l_vec,
            alpha,
            grid_points,
            grid_lb,
            grid_ub,
            seed,
        )


def _honest_did(
    betahat,
    sigma,
    npre,
    npost,
    type,
    Mbarvec,
    Mvec,
    l_vec,
    alpha,
    grid_points,  # noqa: A002
    grid_lb,
    grid_ub,
    seed,
):
    b, s, lv = _check(betahat, sigma, npre, npost, l_vec)
    if type == "relative_magnitude":
        mbars = np.linspace(0, 2, 10) if Mbarvec is None else np.atleast_1d(Mbarvec)
        sd_theta = math.sqrt(float(lv @ s[npre:, npre:] @ lv))
        lo = -20 * sd_theta if grid_lb is None else grid_lb
        hi = 20 * sd_theta if grid_ub is None else grid_ub
        grid = np.linspace(lo, hi, grid_points)
        rows = []
        for mb in mbars:
            lb, ub = _rm_ci(b, s, npre, npost, lv, float(mb), alpha, grid, seed)
            rows.append((lb, ub, "C-LF", "DeltaRM", float(mb)))
        return pd.DataFrame(rows, columns=["lb", "ub", "method", "Delta", "Mbar"])
    if type == "smoothness":
        if Mvec is None:
            if npre == 1:
                Mvec = np.linspace(0, math.sqrt(s[0, 0]), 10)
            else:
                raise ValueError(
                    "平滑性分析需给出 Mvec / give Mvec for type='smoothness'"
                )
        rows = []
        for m in np.atleast_1d(Mvec):
            lb, ub = _flci(b, s, npre, npost, lv, float(m), alpha, seed)
            rows.append((lb, ub, "FLCI", "DeltaSD", float(m)))
        return pd.DataFrame(rows, columns=["lb", "ub", "method", "Delta", "M"])
    raise ValueError(
        "type 应为 relative_magnitude 或 smoothness / type must be 'relative_magnitude' "
        f"or 'smoothness', got {type!r}"
    )


def breakdown_value(
    betahat,
    sigma,
    *,
    num_pre_periods: int,
    num_post_periods: int,
    l_vec=None,
    alpha: float = 0.05,
    upper: float = 5.0,
    tol: float = 0.01,
    bracket: tuple[float, float] | None = None,
    **kw,
) -> float:
    """Largest M̄ (Δ^RM) at which the robust CI still excludes 0.

    Bisection on ``[0, upper]`` to ``tol``. ``nan`` when the CI contains 0 already
    at M̄ = 0; ``upper`` when it excludes 0 at ``upper`` too. ``bracket=(lo, hi)``:
    the caller already knows the CI excludes 0 at ``lo`` and not at ``hi``.
    """

    def excludes(mb):
        f = honest_did(
            betahat,
            sigma,
            num_pre_periods=num_pre_periods,
            num_post_periods=num_post_periods,
            Mbarvec=[mb],
            l_vec=l_vec,
            alpha=alpha,
            **kw,
        )
        lb, ub = f["lb"].iloc[0], f["ub"].iloc[0]
        return bool(np.isfinite(lb) and (lb > 0 or ub < 0))

    if bracket is not None:
        lo, hi = bracket
    else:
        if not excludes(0.0):
            return math.nan
        if excludes(upper):
            return upper
        lo, hi = 0.0, upper
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes(mid) else (lo, mid)
    return lo


@dataclass
class HonestSensitivity:
    """Rambachan–Roth sensitivity of one outcome's event study.

    Attributes
    ----------
    outcome
        Outcome name.
    available
        False when the event study cannot support the analysis (then ``reason_zh``).
    frame
        :func:`honest_did` table (Δ^RM, C-LF) for ``Mbarvec``.
    smoothness
        Δ^SD (FLCI) table for ``Mvec``.
    original
        CI of the target under exact parallel trends.
    breakdown_mbar
        Largest M̄ at which the robust CI excludes 0 (``nan``: not significant
        even at M̄ = 0).
    event_time
        Target event time (0 = year of first funding).
    num_pre_periods, num_post_periods
        Coefficients used (universal base period, e = −1 left out).
    """

    outcome: str
    available: bool = True
    reason_zh: str = ""
    frame: pd.DataFrame = field(default_factory=pd.DataFrame)
    smoothness: pd.DataFrame = field(default_factory=pd.DataFrame)
    original: tuple[float, float] = (math.nan, math.nan)
    breakdown_mbar: float = math.nan
    event_time: int = 0
    num_pre_periods: int = 0
    num_post_periods: int = 0

    @property
    def reading_zh(self) -> str:
        """Short label for a table cell (numbers only, no prose)."""
        if not self.available:
            return self.reason_zh
        if not np.isfinite(self.breakdown_mbar):
            return "M̄=0 时稳健区间已含 0"
        return f"临界 M̄ = {self.breakdown_mbar:.2f}"


def honest_from_event_study(
    es,
    *,
    e: int = 0,
    type: str = "relative_magnitude",  # noqa: A002
    alpha: float | None = None,
    **kw,
) -> pd.DataFrame:
    """:func:`honest_did` on an event-study :class:`AggregateResult` (R ``honest_did``).

    Needs a dynamic aggregation with a universal base period (e = −1 normalised to
    0, as R requires), consecutive event times and the influence functions in
    ``es.extra["influence"]``; the covariance is ``ψ'ψ / n²``.
    """
    betahat, sigma, npre, npost = event_study_inputs(es)
    if not 0 <= e < npost:
        raise ValueError(f"e 应在 0..{npost - 1} / e must be in 0..{npost - 1}")
    l_vec = np.zeros(npost)
    l_vec[e] = 1.0
    return honest_did(
        betahat,
        sigma,
        num_pre_periods=npre,
        num_post_periods=npost,
        type=type,
        l_vec=l_vec,
        alpha=es.alp if alpha is None else alpha,
        **kw,
    )


def event_study_inputs(es) -> tuple[np.ndarray, np.ndarray, int, int]:
    """``betahat, sigma, num_pre, num_post`` of a dynamic aggregation (ref. e = −1)."""
    if es.kind != "dynamic" and "event_time" not in es.frame:
        raise ValueError("需要事件研究（dynamic）结果 / need an event study (dynamic)")
    inf = es.extra.get("influence")
    if inf is None:
        raise ValueError(
            "事件研究缺少影响函数 / the event study has no influence functions"
        )
    et = es.frame["event_time"].to_numpy(dtype=float)
    beta = es.frame["estimate"].to_numpy(dtype=float)
    n = inf.shape[0]
    v = inf.T @ inf / n / n
    if (np.diff(et[et <= -1]) != 1).any() or (np.diff(et[et >= -1]) != 1).any():
        raise ValueError("事件时间须连续 / honest_did expects consecutive event times")
    keep = et != -1
    if (~keep).any() and abs(beta[~keep][0]) > 1e-12:
        raise ValueError(
            "e = −1 未归一化为 0：请用 base_period='universal' / e = -1 is not "
            "normalised to 0: estimate with base_period='universal'"
        )
    npre = int((et < -1).sum())
    npost = int((et >= 0).sum())
    if npre < 1 or npost < 1:
        raise ValueError("处理前或处理后时期不足 / not enough pre or post periods")
    return beta[keep], v[np.ix_(keep, keep)], npre, npost
