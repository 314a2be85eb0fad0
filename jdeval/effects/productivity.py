"""Total factor productivity (TFP, 全要素生产率) from a value-added Cobb–Douglas.

Two estimators of ``log VA = beta_k * k + beta_l * l + omega + eps`` (``k`` = log net
fixed assets, ``l`` = log employees, ``omega`` = productivity the firm knows,
``eps`` = measurement error / unanticipated shock):

``"fe"``
    Within (firm and year fixed effects) regression of log VA on ``k`` and ``l``;
    TFP = residual + firm effect. Consistent only if inputs do not react to
    productivity shocks within a firm. When firms adjust labour or capital after a
    productivity shock (the "transmission bias" of Marschak & Andrews 1944), or
    when a subsidy raises productivity and investment together, the elasticities
    are biased (typically ``beta_l`` up and ``beta_k`` down because the within
    variation of ``k`` is small and noisy). Reported for comparison only.
``"acf"``
    Ackerberg, Caves & Frazer (2015, Econometrica 83(6)) control function with
    intermediate inputs ``m`` as the proxy (Levinsohn & Petrin 2003):

    1. ``y_it = Phi(k, l, m) + year effects + eps``: a third-degree polynomial
       in ``(k, l, m)`` gives ``phi_it`` = fitted value (purges ``eps``).
    2. For candidate ``(beta_k, beta_l)``: ``omega_it = phi_it - beta_k k - beta_l l``
       and the law of motion ``omega_it = g(omega_i,t-1, D_it) + xi_it`` with
       ``g`` = cubic in lagged ``omega`` plus year effects plus one dummy per
       treated cohort × year cell. Putting treatment status in ``g`` follows
       De Loecker (2013, AEJ: Micro 5(3)): otherwise the planted / real effect of
       the subsidy on productivity leaks into ``xi`` and, because funded firms
       differ in size, biases the elasticities.
    3. GMM on the innovation: ``E[xi_it k_it] = E[xi_it l_i,t-1] = 0`` (capital
       is chosen a period ahead, labour's lag is predetermined). Just identified,
       solved as a root of the two sample moments (Powell's hybrid method, started
       at the FE values; Nelder–Mead on their sum of squares as a fallback).

    Standard errors: firm-level (block) bootstrap of the whole two-step procedure
    (``bootstrap=B``). With ``bootstrap=0`` no SEs are computed (``nan``). No
    analytic formula is used because the first-stage error enters the second
    stage (ACF 2015, sec. 4.3 recommend the bootstrap).

TFP series returned: ``omega_hat = phi - beta_k k - beta_l l`` (ACF; excludes
``eps``) or residual + firm effect (FE; includes ``eps``), in logs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import combinations_with_replacement

import numpy as np
import pandas as pd
from scipy import optimize

from jdeval.errors import DataError, ProblemList

__all__ = ["ProductionResult", "estimate_tfp", "prepare_production_data"]

_METHOD_ZH = {
    "fe": "固定效应柯布-道格拉斯 FE Cobb-Douglas",
    "acf": "ACF 控制函数法 Ackerberg-Caves-Frazer control function",
}


@dataclass
class ProductionResult:
    """Estimated value-added production function and TFP.

    Attributes
    ----------
    method
        ``"fe"`` or ``"acf"``.
    beta_k, beta_l
        Output elasticities of capital and labour.
    se_k, se_l
        Standard errors (bootstrap by firm for ACF; firm-clustered for FE);
        ``nan`` if not computed.
    rho
        Linear persistence of productivity (coefficient of lagged omega in ``g``;
        ACF only).
    tfp
        DataFrame ``idname, tname, tfp`` (log TFP) for the rows used.
    n_obs, n_firms
        Rows and firms used (ACF second stage uses rows with a lag).
    n_boot
        Bootstrap replications that converged.
    notes
        Remarks for the reader (Chinese / English).
    """

    method: str
    beta_k: float
    beta_l: float
    se_k: float = math.nan
    se_l: float = math.nan
    rho: float = math.nan
    tfp: pd.DataFrame = field(default_factory=pd.DataFrame)
    n_obs: int = 0
    n_firms: int = 0
    n_boot: int = 0
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table of the elasticities (``term, estimate, se, ci_low, ci_high``)."""
        rows = []
        for term, est, se in (
            ("beta_k", self.beta_k, self.se_k),
            ("beta_l", self.beta_l, self.se_l),
        ):
            rows.append(
                {
                    "term": term,
                    "estimate": est,
                    "se": se,
                    "ci_low": est - 1.959964 * se,
                    "ci_high": est + 1.959964 * se,
                }
            )
        df = pd.DataFrame(rows)
        df.insert(0, "method", self.method)
        return df

    def summary(self) -> str:
        """Readable summary with Chinese and English labels."""
        lines = [
            f"生产函数 production function: {_METHOD_ZH[self.method]}",
            f"观测 obs: {self.n_obs}, 企业 firms: {self.n_firms}",
            f"资本弹性 beta_k = {self.beta_k:.4f} (SE {self.se_k:.4f})",
            f"劳动弹性 beta_l = {self.beta_l:.4f} (SE {self.se_l:.4f})",
        ]
        if np.isfinite(self.rho):
            lines.append(f"生产率持续性 persistence rho = {self.rho:.3f}")
        lines += [f"注 note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- data
def prepare_production_data(
    data: pd.DataFrame,
    *,
    idname: str = "firm_id",
    tname: str = "year",
    va: str = "value_added",
    capital: str = "fixed_assets_net",
    labour: str = "employees",
    intermediate: str = "intermediate_inputs",
    gname: str | None = "first_award_year",
) -> tuple[pd.DataFrame, list[str]]:
    """Take logs of the production variables and drop rows that cannot be used.

    Returns
    -------
    (DataFrame, list of str)
        Columns ``id, t, y, k, l, m, g`` (``g`` = cohort, 0 if never treated or
        ``gname`` is None) sorted by firm and year, plus notes on dropped rows.

    Raises
    ------
    DataError
        If a required column is missing.
    """
    problems = ProblemList()
    need = [idname, tname, va, capital, labour, intermediate]
    if gname:
        need.append(gname)
    for col in need:
        if col not in data.columns:
            problems.error(
                "missing_column",
                f"生产函数估计缺少列 {col}",
                f"column {col} is needed to estimate the production function",
                table="firm_year",
                column=col,
            )
    problems.raise_if_errors(DataError, "无法估计生产函数 cannot estimate TFP")
    raw = data[need]
    out = pd.DataFrame(
        {
            "id": raw[idname].astype(str).to_numpy(),
            "t": pd.to_numeric(raw[tname]).astype("int64").to_numpy(),
        }
    )
    notes: list[str] = []
    for short, col in (("y", va), ("k", capital), ("l", labour), ("m", intermediate)):
        v = pd.to_numeric(raw[col], errors="coerce").astype("float64").to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out[short] = np.where(v > 0, np.log(np.where(v > 0, v, 1.0)), np.nan)
    g = (
        pd.to_numeric(raw[gname], errors="coerce").fillna(0).astype("int64").to_numpy()
        if gname
        else np.zeros(len(out), "int64")
    )
    out["g"] = g
    bad = out[["y", "k", "l", "m"]].isna().any(axis=1)
    if bad.any():
        notes.append(
            f"{int(bad.sum())} 行因增加值、资产、人数或中间投入缺失或非正而未用 / "
            f"{int(bad.sum())} rows dropped: value added, assets, employees or "
            "intermediate inputs missing or not positive"
        )
    out = out.loc[~bad].sort_values(["id", "t"]).reset_index(drop=True)
    return out, notes


# --------------------------------------------------------------------------- FE
def _within(mat: np.ndarray, ids: np.ndarray, ts: np.ndarray, iters: int = 200):
    """Demean columns by firm and year (alternating projections)."""
    out = mat.copy()
    for _ in range(iters):
        prev = out
        for codes in (ids, ts):
            cnt = np.bincount(codes)
            for j in range(out.shape[1]):
                means = np.bincount(codes, weights=out[:, j]) / cnt
                out[:, j] = out[:, j] - means[codes]
        if np.max(np.abs(out - prev)) < 1e-12:
            break
    return out


def _fe(d: pd.DataFrame) -> tuple[float, float, float, float, np.ndarray]:
    ids = pd.factorize(d["id"])[0]
    ts = pd.factorize(d["t"])[0]
    mat = _within(d[["y", "k", "l"]].to_numpy(), ids, ts)
    y, x = mat[:, 0], mat[:, 1:]
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    # firm-clustered (CRV1) SEs, small-sample factor as R fixest
    xtx_inv = np.linalg.inv(x.T @ x)
    scores = np.zeros((ids.max() + 1, 2))
    np.add.at(scores, ids, x * resid[:, None])
    n_g, n = ids.max() + 1, len(y)
    k_all = 2 + n_g + ts.max()
    adj = n_g / (n_g - 1) * (n - 1) / (n - k_all) if n > k_all else math.nan
    vcov = xtx_inv @ (scores.T @ scores) @ xtx_inv * adj
    # TFP = log VA − beta'x, then remove the year effects (keeps firm effect)
    raw = d["y"].to_numpy() - d[["k", "l"]].to_numpy() @ beta
    year_mean = pd.Series(raw).groupby(ts).transform("mean").to_numpy()
    tfp = raw - year_mean + raw.mean()
    return float(beta[0]), float(beta[1]), *np.sqrt(np.diag(vcov)), tfp


# --------------------------------------------------------------------------- ACF
def _poly(cols: np.ndarray, degree: int) -> np.ndarray:
    """All monomials of the columns up to ``degree`` (with a constant)."""
    n, p = cols.shape
    terms = [np.ones(n)]
    for deg in range(1, degree + 1):
        for combo in combinations_with_replacement(range(p), deg):
            terms.append(np.prod(cols[:, combo], axis=1))
    return np.column_stack(terms)


def _dummies(codes: np.ndarray) -> np.ndarray:
    """Dummy columns for codes 1..max (code 0 is the base)."""
    k = int(codes.max()) if len(codes) else 0
    out = np.zeros((len(codes), k))
    rows = np.nonzero(codes > 0)[0]
    out[rows, codes[rows] - 1] = 1.0
    return out


class _AcfProblem:
    """Pre-computed pieces of the ACF second stage for one (re)sample."""

    def __init__(self, d: pd.DataFrame, degree: int, treatment_in_g: bool):
        t = d["t"].to_numpy()
        year_codes = pd.factorize(t, sort=True)[0]
        z = d[["k", "l", "m"]].to_numpy()
        zs = (z - z.mean(0)) / z.std(0)
        first = np.column_stack([_poly(zs, degree), _dummies(year_codes)])
        coef, *_ = np.linalg.lstsq(first, d["y"].to_numpy(), rcond=None)
        self.phi = first @ coef
        ids = d["id"].to_numpy()
        has_lag = np.zeros(len(d), bool)
        has_lag[1:] = (ids[1:] == ids[:-1]) & (t[1:] == t[:-1] + 1)
        cur = np.nonzero(has_lag)[0]
        lag = cur - 1
        self.cur, self.lag = cur, lag
        self.k = d["k"].to_numpy()
        self.l = d["l"].to_numpy()
        g = d["g"].to_numpy()
        fixed = [_dummies(year_codes[cur])]
        if treatment_in_g:
            treated = (g[cur] > 0) & (t[cur] >= g[cur])
            cell = np.where(treated, g[cur] * 10_000 + t[cur], 0)
            cell_codes = pd.factorize(cell, sort=True)[0]
            # code of "untreated" (cell 0) is 0 because 0 sorts first
            if (cell == 0).any():
                fixed.append(_dummies(cell_codes))
            else:
                fixed.append(_dummies(cell_codes + 1)[:, 1:])
        self.fixed = np.column_stack(fixed)
        self.instruments = np.column_stack([self.k[cur], self.l[lag]])
        self.n_obs = len(cur)
        self.n_firms = len(np.unique(ids[cur]))

    def omega(self, beta: np.ndarray) -> np.ndarray:
        return self.phi - beta[0] * self.k - beta[1] * self.l

    def innovation(self, beta: np.ndarray) -> tuple[np.ndarray, float]:
        om = self.omega(beta)
        w_lag = om[self.lag]
        c = w_lag.mean()
        s = w_lag.std() or 1.0
        u = (w_lag - c) / s
        x = np.column_stack([np.ones_like(u), u, u**2, u**3, self.fixed])
        # normal equations: far cheaper than an SVD on every GMM evaluation
        xtx = x.T @ x
        coef = np.linalg.solve(xtx + 1e-12 * np.eye(len(xtx)), x.T @ om[self.cur])
        xi = om[self.cur] - x @ coef
        return xi, coef[1] / s

    def moments(self, beta: np.ndarray) -> np.ndarray:
        xi, _ = self.innovation(beta)
        return self.instruments.T @ xi / len(xi)

    def criterion(self, beta: np.ndarray) -> float:
        mom = self.moments(beta)
        return float(mom @ mom)


def _acf_fit(
    d: pd.DataFrame, start: np.ndarray, degree: int, treatment_in_g: bool
) -> tuple[np.ndarray, float, _AcfProblem, bool]:
    prob = _AcfProblem(d, degree, treatment_in_g)
    # just identified: solve the two moment equations (Powell hybrid), falling
    # back on minimising their sum of squares from several starts
    best_x, best_f = None, np.inf
    for x0 in (start, np.array([0.3, 0.6])):
        sol = optimize.root(prob.moments, x0, method="hybr", options={"xtol": 1e-10})
        f = prob.criterion(sol.x)
        if f < best_f:
            best_x, best_f = sol.x, f
        if best_f < 1e-14:
            break
    if best_f >= 1e-10:
        for x0 in (start, np.array([0.3, 0.6]), np.array([0.5, 0.5])):
            res = optimize.minimize(
                prob.criterion,
                x0,
                method="Nelder-Mead",
                options={"xatol": 1e-7, "fatol": 1e-14, "maxiter": 2000},
            )
            if res.fun < best_f:
                best_x, best_f = res.x, res.fun
    _, rho = prob.innovation(best_x)
    converged = best_f < 1e-10
    return best_x, float(rho), prob, converged


def estimate_tfp(
    data: pd.DataFrame,
    *,
    method: str = "acf",
    idname: str = "firm_id",
    tname: str = "year",
    va: str = "value_added",
    capital: str = "fixed_assets_net",
    labour: str = "employees",
    intermediate: str = "intermediate_inputs",
    gname: str | None = "first_award_year",
    degree: int = 3,
    treatment_in_g: bool = True,
    bootstrap: int = 0,
    seed: int | None = 0,
) -> ProductionResult:
    """Estimate a value-added Cobb–Douglas and firm-year TFP.

    Parameters
    ----------
    data
        Firm × year panel (e.g. ``ds.firm_year``) with money in levels.
    method
        ``"acf"`` (Ackerberg–Caves–Frazer control function, default) or ``"fe"``
        (within regression). See the module docstring for the assumptions.
    idname, tname, va, capital, labour, intermediate
        Column names of firm id, year, value added, net fixed assets, employees and
        intermediate inputs (the ACF proxy; needed for both methods so that both
        use the same rows).
    gname
        Cohort column (first treated year, 0 = never) used to put treatment status
        into the law of motion of productivity (ACF); ``None`` to ignore.
    degree
        Degree of the first-stage polynomial in ``(k, l, m)``.
    treatment_in_g
        Include treated cohort × year dummies in ``g`` (De Loecker 2013).
    bootstrap
        Number of firm-level bootstrap replications for ACF standard errors
        (0 = none; 199 is a sensible choice for a report, ~0.1 s each on 10,000
        rows).
    seed
        Seed of the bootstrap.

    Returns
    -------
    ProductionResult

    Raises
    ------
    DataError
        If columns are missing or fewer than 30 usable firm-years remain.
    """
    if method not in ("acf", "fe"):
        raise ValueError("method must be 'acf' or 'fe'")
    d, notes = prepare_production_data(
        data,
        idname=idname,
        tname=tname,
        va=va,
        capital=capital,
        labour=labour,
        intermediate=intermediate,
        gname=gname,
    )
    if len(d) < 30:
        problems = ProblemList()
        problems.error(
            "too_few_rows",
            f"可用于估计生产函数的企业-年份只有 {len(d)} 个（至少需要 30 个）",
            f"only {len(d)} usable firm-years for the production function (need 30)",
            table="firm_year",
        )
        problems.raise_if_errors(DataError, "无法估计生产函数 cannot estimate TFP")
    bk_fe, bl_fe, se_k, se_l, tfp_fe = _fe(d)
    if method == "fe":
        notes.append(
            "固定效应法假定投入不随生产率冲击调整；若企业在生产率变化后调整劳动或"
            "资本（或补贴同时提高投资与生产率），弹性有偏，仅作对照。 / FE assumes "
            "inputs do not respond to productivity shocks; otherwise the elasticities "
            "are biased (transmission bias). Shown for comparison."
        )
        tfp = pd.DataFrame({idname: d["id"], tname: d["t"], "tfp": tfp_fe})
        return ProductionResult(
            "fe",
            bk_fe,
            bl_fe,
            se_k,
            se_l,
            tfp=tfp,
            n_obs=len(d),
            n_firms=d["id"].nunique(),
            notes=notes,
        )
    start = np.array([bk_fe, bl_fe])
    beta, rho, prob, ok = _acf_fit(d, start, degree, treatment_in_g)
    if not ok:
        notes.append(
            "ACF 矩条件未能精确求解，弹性估计可能不可靠 / ACF moments were not solved "
            "exactly; the elasticities may be unreliable"
        )
    se = np.array([math.nan, math.nan])
    n_boot = 0
    if bootstrap > 0:
        rng = np.random.default_rng(seed)
        firms = d["id"].unique()
        groups = d.groupby("id", sort=False).indices
        draws = []
        for _ in range(bootstrap):
            pick = rng.choice(firms, size=len(firms), replace=True)
            idx = np.concatenate([groups[f] for f in pick])
            sizes = [len(groups[f]) for f in pick]
            bd = d.iloc[idx].reset_index(drop=True)
            bd["id"] = np.repeat(np.arange(len(pick)), sizes).astype(str)
            b, _, _, conv = _acf_fit(bd, beta, degree, treatment_in_g)
            if conv:
                draws.append(b)
        if len(draws) >= 2:
            se = np.std(np.asarray(draws), axis=0, ddof=1)
            n_boot = len(draws)
    omega = prob.omega(beta)
    tfp = pd.DataFrame({idname: d["id"], tname: d["t"], "tfp": omega})
    notes.append(
        "标准误为按企业整群自助法 / SEs: firm-level block bootstrap"
        if n_boot
        else "未计算标准误（bootstrap=0） / no SEs computed (bootstrap=0)"
    )
    return ProductionResult(
        "acf",
        float(beta[0]),
        float(beta[1]),
        float(se[0]),
        float(se[1]),
        rho=rho,
        tfp=tfp,
        n_obs=prob.n_obs,
        n_firms=prob.n_firms,
        n_boot=n_boot,
        notes=notes,
    )
