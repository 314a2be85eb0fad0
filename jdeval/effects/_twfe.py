"""Static two-way fixed-effects (TWFE, 双向固定效应) regressions.

``y_it = alpha_i + gamma_t + beta' D_it + x_it' theta + u_it`` with firm and year
fixed effects. The policy case (the treatment dummy built from ``gname``, no
covariates, firm-clustered SEs) goes to the exact O(rows) solver of
:mod:`jdeval.effects._fe_regression`; everything else to :func:`pyfixest.feols`.
Both give the same numbers (``tests/test_effects_fe_regression.py``).

Standard errors: by default clustered by firm (``CRV1``) with pyfixest's default
small-sample correction, which equals R fixest's default
(``ssc(adj = TRUE, cluster.adj = TRUE, fixef.K = "nested")``: factor
``G/(G-1) · (n-1)/(n-K)`` where the firm fixed effects, nested in the firm clusters,
count as one parameter, ``K`` = regressors + 1, plus ``T − 1`` with year effects;
checked in ``tests/test_effects_twfe.py`` and ``tests/test_effects_fe_regression.py``).
linearmodels' clustered SEs are slightly smaller (no ``(n-1)/(n-k)`` factor).
``vcov="iid"`` gives the conventional (textbook) SEs.

Under staggered adoption with effects that differ by cohort or over time, the TWFE
coefficient is a weighted average of cell effects with weights that can be
negative (Goodman-Bacon 2021; de Chaisemartin & D'Haultfœuille 2020): it estimates
something other than the ATT. Use it as a comparison with Callaway–Sant'Anna, not as
the headline. Singleton fixed-effect rows are dropped, as pyfixest does by default
(``fixef_rm="singleton"``); the number of rows used is in ``extra["n_obs"]``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jdeval.effects._fe_regression import (
    FeFit,
    feols_quiet,
    indicator_fe_fit,
    pyfixest_fit,
)
from jdeval.effects.results import EffectResult
from jdeval.errors import DataError, ProblemList

__all__ = ["twfe", "treatment_dummy", "check_columns", "vcov_spec", "feols_quiet"]


def check_columns(data: pd.DataFrame, columns: list[str], what: str) -> None:
    """Raise :class:`DataError` listing every missing column at once."""
    problems = ProblemList()
    for col in columns:
        if col not in data.columns:
            problems.error(
                "missing_column",
                f"{what}缺少列 {col}",
                f"column {col} is required for {what}",
                column=col,
            )
    problems.raise_if_errors(DataError, f"无法估计 cannot estimate: {what}")


def treatment_dummy(data: pd.DataFrame, *, tname: str, gname: str) -> np.ndarray:
    """``1{g > 0 and t >= g}`` — treated from the first treated period on.

    Never treated may be coded 0 or missing.
    """
    g = pd.to_numeric(data[gname], errors="coerce").fillna(0).to_numpy(float)
    t = pd.to_numeric(data[tname]).to_numpy(float)
    return ((g > 0) & (t >= g)).astype("float64")


def vcov_spec(vcov: str, idname: str):
    """Translate ``"CRV1"``/``"iid"``/``"hetero"`` into pyfixest's argument."""
    if vcov == "CRV1":
        return {"CRV1": idname}
    if vcov in ("iid", "hetero"):
        return vcov
    raise ValueError("vcov must be 'CRV1' (firm-clustered), 'iid' or 'hetero'")


def _se_text(vcov: str) -> str:
    return {
        "CRV1": "按企业聚类 (CRV1, 小样本校正同 R fixest) / clustered by firm (CRV1, "
        "small-sample correction as R fixest)",
        "iid": "常规标准误 / conventional (iid)",
        "hetero": "异方差稳健 (HC1) / heteroskedasticity-robust (HC1)",
    }[vcov]


def twfe(
    data: pd.DataFrame,
    *,
    yname: str,
    idname: str,
    tname: str,
    gname: str | None = None,
    treat: str | list[str] | None = None,
    xformla: str | None = None,
    time_fe: bool = True,
    vcov: str = "CRV1",
    alp: float = 0.05,
) -> EffectResult:
    """Static TWFE regression of an outcome on treatment with firm and year FE.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    yname, idname, tname
        Outcome, unit id and period columns.
    gname
        Cohort column (first treated period; 0 or missing = never treated). If
        given, the regressor ``treated = 1{g > 0, t >= g}`` is built.
    treat
        Alternatively, name(s) of existing treatment regressor column(s), e.g.
        ``["grant", "grant_1"]``. The first one is the reported ``overall_att``.
    xformla
        Extra regressors as a formula right-hand side, e.g. ``"~ d88 + d89"``.
        Time-invariant covariates are absorbed by the firm effects and dropped.
    time_fe
        Include period fixed effects (default). Set ``False`` when period dummies
        are passed in ``xformla`` (as in the textbook JTRAIN regression).
    vcov
        ``"CRV1"`` (firm-clustered, default), ``"iid"`` or ``"hetero"``.
    alp
        Significance level of the confidence intervals.

    Returns
    -------
    EffectResult
        ``kind="twfe"``; ``to_frame()`` has one row per regressor (``term``);
        ``extra`` holds ``n_obs``, ``r2_within`` and ``dof`` (no fitted model:
        pyfixest models hold ~1 GB at 200,000 firms).

    Raises
    ------
    DataError
        If a column is missing or no row is usable.
    """
    if (gname is None) == (treat is None):
        raise ValueError("give exactly one of gname= or treat=")
    needed = [yname, idname, tname] + ([gname] if gname else [])
    treat_cols = [treat] if isinstance(treat, str) else list(treat or [])
    xcols = _formula_vars(xformla)
    check_columns(data, needed + treat_cols + xcols, "双向固定效应回归 TWFE")
    df = data[list(dict.fromkeys(needed + treat_cols + xcols))].copy()
    if gname:
        df["treated"] = treatment_dummy(df, tname=tname, gname=gname)
        treat_cols = ["treated"]
    df = df.dropna(subset=[yname, *treat_cols, *xcols])
    if df.empty:
        problems = ProblemList()
        problems.error(
            "no_rows",
            "结果变量或处理变量全部缺失，没有可用观测",
            "no usable rows: outcome or treatment missing everywhere",
            column=yname,
        )
        problems.raise_if_errors(DataError, "无法估计 TWFE / cannot estimate TWFE")
    fit = _fit(df, yname, idname, tname, treat_cols, xcols, time_fe, vcov, bool(gname))
    frame = _coef_frame(fit, alp)
    main = frame.loc[frame["term"] == treat_cols[0]]
    att = float(main["estimate"].iloc[0]) if len(main) else math.nan
    se = float(main["se"].iloc[0]) if len(main) else math.nan
    notes = [
        "交错处理且效应异质时，TWFE 系数是各组别-时间效应的加权平均（权重可能为负），"
        "不等于平均处理效应 ATT，仅作对比。 / With staggered timing and heterogeneous "
        "effects the TWFE coefficient is a weighted average of cell effects (weights "
        "may be negative), not the ATT; shown for comparison."
    ]
    n_drop = len(df) - fit.n_obs
    if n_drop:
        notes.append(
            f"删除了 {n_drop} 个单例固定效应观测 / dropped "
            f"{n_drop} singleton fixed-effect rows"
        )
    return EffectResult(
        frame=frame,
        overall_att=att,
        overall_se=se,
        estimator="TWFE (firm and year fixed effects)",
        kind="twfe",
        n_units=int(df.loc[:, idname].nunique()),
        se_type=_se_text(vcov),
        alp=alp,
        outcome=yname,
        notes=notes,
        extra={
            "n_obs": fit.n_obs,
            "r2_within": fit.r2_within,
            "dof": fit.dof_t,
            "engine": fit.engine,
        },
    )


def _fit(
    df, yname, idname, tname, treat_cols, xcols, time_fe, vcov, built_dummy
) -> FeFit:
    """The exact indicator solver when it covers the model, else pyfixest.

    The solver covers the 0/1 dummy built from ``gname`` with year effects, no
    covariates and firm-clustered SEs (the policy comparison).
    """
    if built_dummy and not xcols and time_fe and vcov == "CRV1":
        fit = indicator_fe_fit(
            df[yname].to_numpy(float),
            df[idname],
            df[tname].to_numpy(),
            df["treated"].to_numpy().astype("int64"),
            ["treated"],
        )
        if fit is not None:
            return fit
    rhs = " + ".join(treat_cols + xcols)
    fe = f"{idname} + {tname}" if time_fe else idname
    return pyfixest_fit(f"{yname} ~ {rhs} | {fe}", df, vcov_spec(vcov, idname))


def _coef_frame(fit: FeFit, alp: float) -> pd.DataFrame:
    """One row per regressor with t-based intervals and p-values, as fixest."""
    from scipy import special  # scipy.stats (same functions) is slow to import

    est = fit.coef
    se = np.sqrt(np.diag(fit.vcov))
    dof = fit.dof_t
    if dof and dof > 0:
        crit = special.stdtrit(dof, 1 - alp / 2)
        p = 2 * (1 - special.stdtr(dof, np.abs(est / se)))
    else:
        crit = special.ndtri(1 - alp / 2)
        p = 2 * (1 - special.ndtr(np.abs(est / se)))
    frame = pd.DataFrame({"term": fit.names, "estimate": est, "se": se})
    frame["ci_low"] = est - crit * se
    frame["ci_high"] = est + crit * se
    frame["p_value"] = p
    frame["n"] = fit.n_obs
    return frame


def _formula_vars(xformla: str | None) -> list[str]:
    """Variable names on the right of a simple ``"~ a + b"`` formula."""
    if not xformla:
        return []
    rhs = xformla.split("~", 1)[-1]
    names = [v.strip() for v in rhs.split("+")]
    return [v for v in names if v and v != "1"]
