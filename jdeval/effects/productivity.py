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
       solved as a root of the two sample moments (Powell's hybrid method with an
       analytic Jacobian, started at the FE values, then fixed starts;
       Nelder–Mead on the scaled moments as a fallback). Every evaluation works on
       sufficient statistics (the R factor of one QR of the data, see
       :mod:`jdeval.effects._acf`), so its cost does not grow with the sample.

    Convergence: each moment within :data:`GMM_TOL` of its rough standard error
    (``sqrt(n)`` × correlation of instrument and innovation), a criterion that
    means the same on 100 and on 1.4 M rows. **Fallback:** if no start reaches it,
    a :class:`ProductionWarning` names the step and the criterion value and the
    fixed-effects production function is returned instead (``method="fe"``,
    ``converged=False``), so a report is still built and says so.

    Standard errors: firm-level (block) bootstrap of the whole two-step procedure
    (``bootstrap=B``). With ``bootstrap=0`` no SEs are computed (``nan``). No
    analytic formula is used because the first-stage error enters the second
    stage (ACF 2015, sec. 4.3 recommend the bootstrap).

TFP series returned: ``omega_hat = phi - beta_k k - beta_l l`` (ACF; excludes
``eps``) or residual + firm effect (FE; includes ``eps``), in logs.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from jdeval.effects import _acf
from jdeval.errors import DataError, ProblemList

__all__ = [
    "GMM_TOL",
    "ProductionResult",
    "ProductionWarning",
    "estimate_tfp",
    "prepare_production_data",
]

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
    converged
        False if ACF was asked for but did not converge, so that this is the
        fixed-effects fallback.
    criterion
        Largest scaled ACF moment at the estimate (``sqrt(n)`` × correlation of an
        instrument with the innovation; :data:`GMM_TOL` is the convergence bound).
    rows
        Position in the input data of each row of ``tfp``.
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
    converged: bool = True
    criterion: float = math.nan
    rows: np.ndarray | None = field(default=None, repr=False)

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
        Columns ``id`` (integer code of the firm), ``t, y, k, l, m, g`` (``g`` =
        cohort, 0 if never treated or ``gname`` is None) and ``row`` (position in
        ``data``), the rows of a firm together and in year order, plus notes on
        dropped rows.

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
            "id": pd.factorize(raw[idname])[0],
            "t": pd.to_numeric(raw[tname]).astype("int64").to_numpy(),
            "row": np.arange(len(raw)),
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
    out = out.loc[~bad.to_numpy()]
    ids, t = out["id"].to_numpy(), out["t"].to_numpy()
    grouped = (np.diff(ids) > 0) | ((np.diff(ids) == 0) & (np.diff(t) > 0))
    if not grouped.all():  # rows of a firm together, in time order
        out = out.iloc[np.lexsort((t, ids))]
    return out.reset_index(drop=True), notes


# --------------------------------------------------------------------------- FE
def _within_firm(v: np.ndarray, ids: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return v - (np.bincount(ids, weights=v, minlength=len(counts)) / counts)[ids]


def _fe(d: pd.DataFrame) -> tuple[float, float, float, float, np.ndarray]:
    """Within regression with firm and year effects, exact in one pass.

    Firm effects are removed by demeaning within firm; year effects by partialling
    the firm-demeaned year dummies out (Frisch–Waugh–Lovell), which gives the
    two-way within estimator exactly on unbalanced panels too, at ``O(n T)``.
    """
    ids = pd.factorize(d["id"])[0]
    ts = pd.factorize(d["t"], sort=True)[0]
    counts = np.bincount(ids)
    mat = np.column_stack(
        [_within_firm(d[c].to_numpy(), ids, counts) for c in ("y", "k", "l")]
    )
    n_t = int(ts.max()) + 1
    if n_t > 1:
        years = np.column_stack(
            [_within_firm((ts == j).astype(float), ids, counts) for j in range(1, n_t)]
        )
        gamma, *_ = np.linalg.lstsq(years, mat, rcond=None)
        mat -= years @ gamma
        del years
    y, x = mat[:, 0], mat[:, 1:]
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    resid = y - x @ beta
    # firm-clustered (CRV1) SEs, small-sample factor as R fixest
    xtx_inv = np.linalg.pinv(x.T @ x)
    n_g, n = len(counts), len(y)
    scores = np.column_stack(
        [np.bincount(ids, weights=x[:, j] * resid, minlength=n_g) for j in range(2)]
    )
    k_all = 2 + n_g + n_t - 1
    adj = n_g / (n_g - 1) * (n - 1) / (n - k_all) if n > k_all and n_g > 1 else math.nan
    vcov = xtx_inv @ (scores.T @ scores) @ xtx_inv * adj
    # TFP = log VA − beta'x, then remove the year effects (keeps firm effect)
    raw = d["y"].to_numpy() - d[["k", "l"]].to_numpy() @ beta
    year_mean = np.bincount(ts, weights=raw) / np.bincount(ts)
    tfp = raw - year_mean[ts] + raw.mean()
    return float(beta[0]), float(beta[1]), *np.sqrt(np.diag(vcov)), tfp


# --------------------------------------------------------------------------- ACF
class ProductionWarning(UserWarning):
    """The ACF estimator did not converge and TFP fell back to fixed effects."""


#: Convergence criterion of the ACF moment equations: each moment within this many
#: (rough) standard errors of zero, i.e. sqrt(n) × |corr(instrument, innovation)|.
#: Scales with the sample: the same relative precision on 100 or 1.4 M rows.
GMM_TOL = 1e-6

_STARTS = (np.array([0.3, 0.6]), np.array([0.5, 0.5]))


class _AcfProblem:
    """First stage, lag structure and the second-stage moments of one (re)sample."""

    def __init__(self, d: pd.DataFrame, degree: int, treatment_in_g: bool):
        t = d["t"].to_numpy()
        z = d[["k", "l", "m"]].to_numpy()
        sd = z.std(0)
        zs = (z - z.mean(0)) / np.where(sd > 0, sd, 1.0)
        year_codes = pd.factorize(t, sort=True)[0]
        self.phi = _acf.first_stage(zs, d["y"].to_numpy(), year_codes, degree)
        ids = d["id"].to_numpy()
        has_lag = np.zeros(len(d), bool)
        has_lag[1:] = (ids[1:] == ids[:-1]) & (t[1:] == t[:-1] + 1)
        cur = np.nonzero(has_lag)[0]
        lag = cur - 1
        self.k = d["k"].to_numpy()
        self.l = d["l"].to_numpy()
        self.n_obs = len(cur)
        self.n_firms = int(pd.unique(ids[cur]).size)
        self.moments = None
        if self.n_obs < 10:
            return
        # year dummies of the law of motion (base = first year with a lag)
        cur_years = pd.factorize(t[cur], sort=True)[0]
        fixed = [_acf.dummies(cur_years, int(cur_years.max()))]
        if treatment_in_g:
            g = d["g"].to_numpy()[cur]
            treated = (g > 0) & (t[cur] >= g)
            cell = np.where(treated, g * 10_000 + t[cur], 0)
            codes = pd.factorize(cell, sort=True)[0]
            # cell 0 ("untreated") sorts first and is the base
            if not (cell == 0).any():
                codes = codes + 1
            fixed.append(_acf.dummies(codes, int(codes.max())))
        self.moments = _acf.AcfMoments(
            self.phi, self.k, self.l, cur, lag, np.hstack(fixed)
        )

    def omega(self, beta: np.ndarray) -> np.ndarray:
        return self.phi - beta[0] * self.k - beta[1] * self.l

    def criterion(self, beta: np.ndarray) -> float:
        """Largest scaled moment (see :data:`GMM_TOL`)."""
        if not np.all(np.isfinite(beta)):
            return math.inf
        return float(np.max(np.abs(self.moments.evaluate(beta)["scaled"])))


def _acf_fit(
    d: pd.DataFrame,
    start: np.ndarray,
    degree: int,
    treatment_in_g: bool,
    tol: float = GMM_TOL,
) -> tuple[np.ndarray, float, _AcfProblem, bool, float]:
    """Solve the ACF moment equations; returns beta, rho, problem, ok, criterion."""
    prob = _AcfProblem(d, degree, treatment_in_g)
    if prob.moments is None:
        return np.full(2, math.nan), math.nan, prob, False, math.inf

    def fun(beta):
        ev = prob.moments.evaluate(beta, jacobian=True)
        return ev["moments"], ev["jacobian"]

    # just identified: a root of the two moment equations (Powell hybrid with the
    # analytic Jacobian), from the FE values and then fixed starts
    best_x, best_f = np.asarray(start, float), prob.criterion(start)
    for x0 in (start, *_STARTS):
        if best_f < tol:
            break
        sol = optimize.root(fun, x0, jac=True, method="hybr", options={"xtol": 1e-12})
        f = prob.criterion(sol.x)
        if f < best_f:
            best_x, best_f = sol.x, f
    # fallback: minimise the scaled criterion (cheap: O(1) in n), then polish
    if best_f >= tol:
        for x0 in (start, *_STARTS):
            res = optimize.minimize(
                lambda b: prob.criterion(b) ** 2,
                x0,
                method="Nelder-Mead",
                options={"xatol": 1e-10, "fatol": 0.0, "maxiter": 4000},
            )
            sol = optimize.root(fun, res.x, jac=True, method="hybr")
            for x in (res.x, sol.x):
                f = prob.criterion(x)
                if f < best_f:
                    best_x, best_f = x, f
            if best_f < tol:
                break
    rho = prob.moments.evaluate(best_x)["rho"] if np.isfinite(best_f) else math.nan
    return best_x, float(rho), prob, bool(best_f < tol), float(best_f)


def _not_converged_warning(crit, tol, beta, n_obs) -> tuple[str, str]:
    zh = (
        "ACF 第二步（GMM 矩条件 E[ξ·k_t] = E[ξ·l_t-1] = 0）未收敛：最优处标准化矩 "
        f"max|t| = {crit:.3g}（收敛阈值 {tol:.0e}），β_k = {beta[0]:.4f}，"
        f"β_l = {beta[1]:.4f}，观测 {n_obs}；TFP 改用固定效应生产函数（FE）。"
    )
    en = (
        "ACF step 2 (GMM moments E[xi k_t] = E[xi l_t-1] = 0) did not converge: "
        f"best scaled moment max|t| = {crit:.3g} (tolerance {tol:.0e}) at "
        f"beta_k = {beta[0]:.4f}, beta_l = {beta[1]:.4f}, {n_obs} obs; TFP falls "
        "back to the fixed-effects production function."
    )
    return zh, en


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
    tol: float = GMM_TOL,
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
    tol
        Convergence criterion of the ACF moment equations (:data:`GMM_TOL`).

    Returns
    -------
    ProductionResult
        With ``method="fe"`` and ``converged=False`` if the ACF moments could not
        be solved (then a :class:`ProductionWarning` says where and why).

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
    rows = d["row"].to_numpy()
    keys = pd.DataFrame(
        {
            idname: data[idname].iloc[rows].astype(str).to_numpy(),
            tname: d["t"].to_numpy(),
        }
    )
    with _acf.single_thread_blas():
        res = _estimate(
            d, notes, method, keys, degree, treatment_in_g, bootstrap, seed, tol
        )
    res.rows = rows
    return res


def _estimate(
    d, notes, method, keys, degree, treatment_in_g, bootstrap, seed, tol
) -> ProductionResult:
    bk_fe, bl_fe, se_k, se_l, tfp_fe = _fe(d)

    def fe_result(extra_notes: list[str], converged: bool = True, crit=math.nan):
        return ProductionResult(
            "fe",
            bk_fe,
            bl_fe,
            se_k,
            se_l,
            tfp=keys.assign(tfp=tfp_fe),
            n_obs=len(d),
            n_firms=d["id"].nunique(),
            notes=notes + extra_notes,
            converged=converged,
            criterion=crit,
        )

    fe_note = (
        "固定效应法假定投入不随生产率冲击调整；若企业在生产率变化后调整劳动或"
        "资本（或补贴同时提高投资与生产率），弹性有偏，仅作对照。 / FE assumes "
        "inputs do not respond to productivity shocks; otherwise the elasticities "
        "are biased (transmission bias). Shown for comparison."
    )
    if method == "fe":
        return fe_result([fe_note])
    start = np.array([bk_fe, bl_fe])
    beta, rho, prob, ok, crit = _acf_fit(d, start, degree, treatment_in_g, tol)
    if not ok:
        zh, en = _not_converged_warning(crit, tol, beta, prob.n_obs)
        warnings.warn(f"{zh} / {en}", ProductionWarning, stacklevel=2)
        return fe_result([f"{zh} / {en}", fe_note], converged=False, crit=crit)
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
            bd["id"] = np.repeat(np.arange(len(pick)), sizes)
            b, _, _, conv, _ = _acf_fit(bd, beta, degree, treatment_in_g, tol)
            if conv:
                draws.append(b)
        if len(draws) >= 2:
            se = np.std(np.asarray(draws), axis=0, ddof=1)
            n_boot = len(draws)
    omega = prob.omega(beta)
    tfp = keys.assign(tfp=omega)
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
        criterion=crit,
    )
