"""Ackerberg–Caves–Frazer second stage on sufficient statistics (private).

The GMM criterion of ACF needs, for every candidate ``beta = (beta_k, beta_l)``, the
residual ``xi`` of a regression of ``omega_t = phi_t - beta_k k_t - beta_l l_t`` on a
cubic in ``omega_{t-1}`` plus fixed dummies (years, treated cohort × year cells).
Rebuilding that regression on every row at every evaluation costs ``O(n)`` per
evaluation (1.4 M rows at 200,000 firms).  Here it costs ``O(1)`` in ``n``:

* ``omega_{t-1}`` is linear in ``beta`` and in the standardised lagged variables
  ``z = (phi, k, l)_{t-1}``, so every power ``u^j`` of the standardised lag is a
  polynomial of degree ``j`` in ``z`` whose coefficients depend on ``beta`` only.
  Every column the regression, its derivative and the instruments ever need is
  therefore a fixed linear combination of the columns of one matrix ``W`` = [all
  monomials of ``z`` up to degree 3, the dummies, ``phi_t, k_t, l_t``].
* With the thin QR ``W = Q R`` (computed once, chunk by chunk: tall-skinny QR, so no
  ``n × q`` copy is held), inner products of such combinations equal inner products
  of ``R c``.  A regression on ``W C`` is the same least-squares problem as one on
  the ``q × ncol`` matrix ``R C``: same coefficients, same residual inner products.
  Each evaluation is an SVD of a ~35 × 16 matrix — well conditioned (no normal
  equations) and exact for rank-deficient designs (minimum-norm solution, the
  fitted values are unique).

The moments have an analytic Jacobian (derivative of a least-squares residual with
the projection's derivative), so the root solve needs no finite differences.
Hand-written because no library offers a GMM on sufficient statistics; statsmodels'
GMM classes work on the full data at every evaluation.
"""

from __future__ import annotations

import functools
from itertools import combinations_with_replacement

import numpy as np

#: Rows per block of the chunked QR: small enough for the block to stay in cache
#: (Householder QR is memory bound; 8,192 rows was fastest of 1k–128k here).
CHUNK = 8_192

#: Relative cut-off for singular values in the inner regression (rank decision).
RCOND = 1e-10


def exponents(nvars: int, degree: int) -> list[tuple[int, ...]]:
    """Exponent tuples of all monomials in ``nvars`` variables up to ``degree``."""
    out = [(0,) * nvars]
    for deg in range(1, degree + 1):
        for combo in combinations_with_replacement(range(nvars), deg):
            e = [0] * nvars
            for v in combo:
                e[v] += 1
            out.append(tuple(e))
    return out


def monomials(
    z: np.ndarray, exps: list[tuple[int, ...]], out: np.ndarray | None = None
) -> np.ndarray:
    """Columns ``prod_v z_v ** e_v`` for every exponent tuple (first is 1)."""
    n, nv = z.shape
    out = np.empty((n, len(exps))) if out is None else out
    top = max(max(e) for e in exps)
    powers = [[None] + [np.ascontiguousarray(z[:, v])] for v in range(nv)]
    for v in range(nv):
        for _ in range(2, top + 1):
            powers[v].append(powers[v][-1] * powers[v][1])
    for j, e in enumerate(exps):
        used = [(v, p) for v, p in enumerate(e) if p]
        if not used:
            out[:, j] = 1.0
            continue
        col = out[:, j]
        col[:] = powers[used[0][0]][used[0][1]]
        for v, p in used[1:]:
            col *= powers[v][p]
    return out


def dummies(codes: np.ndarray, k: int) -> np.ndarray:
    """Dummy columns for codes ``1..k`` (code 0 is the base, no column)."""
    out = np.zeros((len(codes), k))
    rows = np.nonzero(codes > 0)[0]
    out[rows, codes[rows] - 1] = 1.0
    return out


def tsqr(n: int, q: int, fill) -> np.ndarray:
    """R factor of the ``n × q`` matrix whose rows ``a:b`` ``fill(a, b, out)`` writes.

    Tall-skinny QR: the R of each chunk is stacked on the next chunk, so memory is
    one chunk, whatever ``n``.  ``R' R`` equals the Gram matrix of the columns.
    BLAS runs on one thread (the blocks are small; extra threads only contend).
    """
    buf = np.empty((CHUNK + q, q))
    r = np.zeros((0, q))
    with single_thread_blas():
        for a in range(0, n, CHUNK):
            b = min(a + CHUNK, n)
            k = len(r)
            buf[:k] = r
            fill(a, b, buf[k : k + b - a])
            r = np.linalg.qr(buf[: k + b - a], mode="r")
    return r


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def single_thread_blas():
    """Context manager limiting BLAS to one thread."""
    return _blas_controller().limit(limits=1, user_api="blas")


def first_stage(
    z: np.ndarray, y: np.ndarray, year_codes: np.ndarray, degree: int
) -> np.ndarray:
    """Fitted values of ``y`` on a polynomial in ``z`` plus year dummies (QR)."""
    exps = exponents(z.shape[1], degree)
    n_years = int(year_codes.max()) if len(year_codes) else 0
    p = len(exps) + n_years

    def fill(a, b, out):
        monomials(z[a:b], exps, out[:, : len(exps)])
        out[:, len(exps) : p] = dummies(year_codes[a:b], n_years)
        if out.shape[1] > p:
            out[:, p] = y[a:b]

    r = tsqr(len(y), p + 1, fill)
    coef, *_ = np.linalg.lstsq(r[:p, :p], r[:p, p], rcond=RCOND)
    phi = np.empty(len(y))
    buf = np.empty((CHUNK, p))
    with single_thread_blas():
        for a in range(0, len(y), CHUNK):
            b = min(a + CHUNK, len(y))
            fill(a, b, buf[: b - a])
            phi[a:b] = buf[: b - a] @ coef
    return phi


class _Poly:
    """Coefficient vectors over the monomials of 3 variables up to degree 3."""

    def __init__(self) -> None:
        self.exps = exponents(3, 3)
        index = {e: i for i, e in enumerate(self.exps)}
        # times[i, v] = index of monomial i multiplied by z_v (-1 if degree > 3)
        self.times = np.full((len(self.exps), 3), -1)
        for i, e in enumerate(self.exps):
            for v in range(3):
                up = list(e)
                up[v] += 1
                self.times[i, v] = index.get(tuple(up), -1)

    def const(self) -> np.ndarray:
        p = np.zeros(len(self.exps))
        p[0] = 1.0
        return p

    def times_linear(self, p: np.ndarray, c0: float, b: np.ndarray) -> np.ndarray:
        """``p * (c0 + b · z)``; raises if the degree would exceed 3."""
        out = c0 * p
        for v in range(3):
            if b[v] == 0:
                continue
            src = np.nonzero(p)[0]
            dst = self.times[src, v]
            if (dst < 0).any():
                raise ValueError("polynomial degree above 3")
            np.add.at(out, dst, b[v] * p[src])
        return out


class AcfMoments:
    """Moments ``E[xi k_t] = E[xi l_{t-1}] = 0`` of ACF on sufficient statistics.

    Parameters
    ----------
    phi, k, l
        First-stage fitted values and log inputs, one per row of the panel.
    cur, lag
        Row indices of the observations with a lag and of their lags.
    fixed
        Dummy columns of the law of motion for the rows ``cur`` (n_cur × D).
    """

    def __init__(self, phi, k, l, cur, lag, fixed: np.ndarray):  # noqa: E741
        self.n = len(cur)
        self.poly = _Poly()
        lagvars = np.column_stack([phi[lag], k[lag], l[lag]])
        self.mu = lagvars.mean(0)
        sd = lagvars.std(0)
        self.sd = np.where(sd > 0, sd, 1.0)
        n_p, n_d = len(self.poly.exps), fixed.shape[1]
        self.n_fixed, self.n_poly = n_d, n_p
        # column layout of W: monomials | dummies | phi_t, k_t, l_t
        self.q = n_p + n_d + 3
        self.i_phi, self.i_k, self.i_l = n_p + n_d, n_p + n_d + 1, n_p + n_d + 2
        cur_vars = np.column_stack([phi[cur], k[cur], l[cur]])

        def fill(a, b, out):
            zt = (lagvars[a:b] - self.mu) / self.sd
            monomials(zt, self.poly.exps, out[:, :n_p])
            out[:, n_p : n_p + n_d] = fixed[a:b]
            out[:, n_p + n_d :] = cur_vars[a:b]

        self.r = tsqr(self.n, self.q, fill)
        lin = np.eye(self.q)[:, 1:4]  # coordinates of z_1..z_3 (degree-1 monomials)
        rl = self.r @ lin
        self.corr = rl.T @ rl / self.n  # correlation matrix of the standardised lags
        e = np.eye(self.q)
        self.e = e
        # instruments: k_t and l_{t-1} = mu_l + sd_l z_3
        z_l = self.mu[2] * e[:, 0] + self.sd[2] * e[:, 3]
        self.rz = self.r @ np.column_stack([e[:, self.i_k], z_l])

    # ------------------------------------------------------------------ pieces
    def _embed(self, p: np.ndarray) -> np.ndarray:
        out = np.zeros(self.q)
        out[: len(p)] = p
        return out

    def _powers(self, beta):
        """Coordinates of ``u^0..u^3`` (u = standardised lagged omega) and ``s``."""
        v = np.array([self.sd[0], -beta[0] * self.sd[1], -beta[1] * self.sd[2]])
        s = float(np.sqrt(max(v @ self.corr @ v, 0.0))) or 1.0
        b = v / s
        pw = [self.poly.const()]
        for _ in range(3):
            pw.append(self.poly.times_linear(pw[-1], 0.0, b))
        return pw, s

    def _columns(self, pw) -> np.ndarray:
        cols = [self._embed(p) for p in pw]
        cols += [self.e[:, self.n_poly + j] for j in range(self.n_fixed)]
        return np.column_stack(cols)

    def _y(self, beta) -> np.ndarray:
        e = self.e
        return e[:, self.i_phi] - beta[0] * e[:, self.i_k] - beta[1] * e[:, self.i_l]

    # ------------------------------------------------------------------ public
    def evaluate(self, beta, jacobian: bool = False) -> dict:
        """Moments (and Jacobian) at ``beta``.

        Returns
        -------
        dict
            ``moments`` (2,), ``scaled`` (2,: ``sqrt(n)`` × the correlation of each
            instrument with the innovation, i.e. the moment over a rough standard
            error), ``rho`` (slope of ``g`` at the mean lagged omega), ``sigma_xi``
            and, if asked, ``jacobian`` (2 × 2, d moments / d beta).
        """
        beta = np.asarray(beta, float)
        pw, s = self._powers(beta)
        xr = self.r @ self._columns(pw)
        yr = self.r @ self._y(beta)
        u, sv, vt = np.linalg.svd(xr, full_matrices=False)
        keep = sv > RCOND * (sv[0] if len(sv) and sv[0] > 0 else 1.0)
        u, sv, vt = u[:, keep], sv[keep], vt[keep]
        coef = vt.T @ ((u.T @ yr) / sv)
        xi = yr - xr @ coef
        mom = self.rz.T @ xi / self.n
        norm_xi = float(np.sqrt(xi @ xi))
        norm_z = np.sqrt((self.rz**2).sum(0))
        with np.errstate(divide="ignore", invalid="ignore"):
            scaled = np.sqrt(self.n) * (self.rz.T @ xi) / (norm_z * norm_xi)
        out = {
            "moments": mom,
            "scaled": np.where(np.isfinite(scaled), scaled, 0.0),
            "rho": float(coef[1] / s),
            "sigma_xi": norm_xi / np.sqrt(self.n),
        }
        if jacobian:
            out["jacobian"] = self._jacobian(beta, pw, s, xr, coef, xi, u, sv, vt)
        return out

    def _jacobian(self, beta, pw, s, xr, coef, xi, u, sv, vt) -> np.ndarray:
        # The span of the regressors does not depend on the centring c and scale s
        # of the lag, so they are held fixed: du/dbeta_k = -k_{t-1}/s,
        # du/dbeta_l = -l_{t-1}/s.  With e = M y (M = I - X X^+):
        #   de = M dy - M dX coef - (X^+)' dX' e.
        jac = np.empty((2, 2))
        for i, var in enumerate((1, 2)):  # k, l among (phi, k, l)
            c0 = -self.mu[var] / s
            b = np.zeros(3)
            b[var] = -self.sd[var] / s
            dcols = [np.zeros(self.q)]
            for j in range(1, 4):
                dcols.append(j * self._embed(self.poly.times_linear(pw[j - 1], c0, b)))
            dcols += [np.zeros(self.q)] * self.n_fixed
            dxr = self.r @ np.column_stack(dcols)
            dyr = -(self.r @ self.e[:, self.i_k if var == 1 else self.i_l])
            v = dyr - dxr @ coef
            de = v - u @ (u.T @ v) - u @ ((vt @ (dxr.T @ xi)) / sv)
            jac[:, i] = self.rz.T @ de / self.n
        return jac
