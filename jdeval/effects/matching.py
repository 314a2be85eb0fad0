"""Propensity-score matching and IPW (倾向得分匹配 / 逆概率加权) on pre-period covariates.

Steps (Rosenbaum & Rubin 1983; Austin 2011, Stat. Med. 30):

1. One row per firm: ``treated`` = ever funded (cohort > 0), controls = never funded.
   Covariates are *pre-period* and time-invariant (see
   :mod:`jdeval.effects.outcomes`); categorical covariates enter as dummies.
2. Propensity score ``p(x)`` by logit maximum likelihood (:class:`statsmodels
   .discrete.discrete_model.Logit`), with its fit diagnostics (coefficients and
   SEs, McFadden pseudo R², likelihood-ratio test, AIC) in
   :attr:`MatchResult.ps_model` / :attr:`MatchResult.ps_fit`. Perfect separation
   (a covariate splits funded from unfunded firms) is a located error: matching
   then has no comparable controls.
3. Nearest-neighbour matching on the logit of the score, ``k`` controls per treated
   firm, with replacement, within a caliper of ``caliper × SD(logit p)`` (0.2 by
   default, Austin 2011). Treated firms without a control inside the caliper are
   trimmed (reported as ``share_trimmed``).
4. IPW weights for the ATT: treated 1, controls ``p / (1 - p)`` (normalised to sum to
   the number of treated).
5. Balance: standardised mean differences (SMD; difference in means divided by
   ``sqrt((s_t^2 + s_c^2) / 2)`` of the *unmatched* sample, so before and after are
   comparable) and variance ratios, before matching, after matching and after IPW.
   |SMD| < 0.1 is the usual threshold for good balance.
6. DiD on the matched sample: the matched treated firms and their (distinct) matched
   controls form a firm-year panel; Callaway–Sant'Anna with never-funded controls and
   no covariates is run on it (:func:`jdeval.effects.att_gt`). Its estimand is the
   ATT of the *matched* treated firms.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdeval.errors import DataError, ProblemList

__all__ = ["MatchResult", "propensity_match", "propensity_model", "balance_table"]


def propensity_model(x: pd.DataFrame, treated: np.ndarray):
    """Logit of ``treated`` on ``x`` (a constant is added) by statsmodels.

    Returns the fitted :class:`statsmodels` results. One logit serves matching
    here; Callaway–Sant'Anna keeps its own Newton solver
    (:func:`jdeval.effects._did_twobytwo.logit_fit`) because it is 3–4× faster
    on 200,000 firms (see the comment there).

    Raises
    ------
    DataError
        If the covariates separate funded from unfunded firms perfectly.
    """
    import warnings

    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        PerfectSeparationError,
        PerfectSeparationWarning,
    )

    design = sm.add_constant(x.astype("float64"), has_constant="add")
    t = np.asarray(treated, bool)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PerfectSeparationWarning)
            warnings.simplefilter("ignore", ConvergenceWarning)
            res = sm.Logit(t.astype(float), design).fit(
                disp=0, maxiter=100, method="newton"
            )
        ps = res.predict()
        # statsmodels only warns about non-convergence under separation
        separated = not res.mle_retvals.get("converged", True) or (
            ps[t].min() > ps[~t].max()
        )
    except (PerfectSeparationError, PerfectSeparationWarning, np.linalg.LinAlgError):
        separated = True
    if separated:
        problems = ProblemList()
        problems.error(
            "ps_separation",
            "协变量完全区分受资助与未受资助企业（或共线），倾向得分模型无法估计："
            "没有可比的对照企业",
            "the covariates separate funded from unfunded firms perfectly (or are "
            "collinear): the propensity model cannot be fitted, there are no "
            "comparable controls",
            column=", ".join(map(str, x.columns)),
        )
        problems.raise_if_errors(DataError, "无法匹配 cannot match")
    return res


def _ps_tables(res) -> tuple[pd.DataFrame, dict]:
    """Coefficient table and fit statistics of the propensity model."""
    ci = res.conf_int()
    coef = pd.DataFrame(
        {
            "term": [str(t) for t in res.params.index],
            "coef": res.params.to_numpy(),
            "se": res.bse.to_numpy(),
            "z": res.tvalues.to_numpy(),
            "p_value": res.pvalues.to_numpy(),
            "ci_low": ci.iloc[:, 0].to_numpy(),
            "ci_high": ci.iloc[:, 1].to_numpy(),
        }
    )
    fit = {
        "n": int(res.nobs),
        "pseudo_r2": float(res.prsquared),
        "llr": float(res.llr),
        "llr_p_value": float(res.llr_pvalue),
        "aic": float(res.aic),
        "converged": bool(res.mle_retvals.get("converged", True)),
    }
    return coef, fit


def _design(firms: pd.DataFrame, covariates: list[str], categorical: list[str]):
    parts = [firms[covariates].astype("float64")]
    for c in categorical:
        dm = pd.get_dummies(
            firms[c].astype(str), prefix=c, drop_first=True, dtype=float
        )
        parts.append(dm)
    x = pd.concat(parts, axis=1)
    return x


def balance_table(
    x: pd.DataFrame,
    treated: np.ndarray,
    *,
    weights: dict[str, np.ndarray],
) -> pd.DataFrame:
    """Weighted means, SMDs and variance ratios of covariates by group.

    Parameters
    ----------
    x
        Covariate matrix (one row per firm).
    treated
        Boolean array.
    weights
        Named weight vectors (e.g. ``{"before": ones, "matched": w_m, "ipw": w_ipw}``);
        the SMD denominator is always the unweighted pooled SD.

    Returns
    -------
    DataFrame
        One row per covariate: ``covariate``, ``mean_treated``, then for each
        weighting ``mean_control_<name>``, ``smd_<name>``, ``var_ratio_<name>``.
    """
    from statsmodels.stats.weightstats import DescrStatsW

    t = np.asarray(treated, bool)
    rows = []
    for col in x.columns:
        v = x[col].to_numpy(float)
        sd = math.sqrt(
            (DescrStatsW(v[t], ddof=1).var + DescrStatsW(v[~t], ddof=1).var) / 2
        )
        row = {"covariate": col}
        for name, w in weights.items():
            wt, wc = w[t], w[~t]
            st = DescrStatsW(v[t], weights=wt)
            mt, vt = st.mean, st.var
            if wc.sum() > 0:
                sc = DescrStatsW(v[~t], weights=wc)
                mc, vc = sc.mean, sc.var
            else:
                mc = vc = math.nan
            if name == next(iter(weights)):
                row["mean_treated"] = mt
            else:
                row[f"mean_treated_{name}"] = mt
            row[f"mean_control_{name}"] = mc
            row[f"smd_{name}"] = (mt - mc) / sd if sd > 0 else math.nan
            row[f"var_ratio_{name}"] = vt / vc if vc and vc > 0 else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


@dataclass
class MatchResult:
    """Result of :func:`propensity_match`.

    Attributes
    ----------
    firms
        One row per firm: ``idname``, ``treated``, ``pscore``, ``matched`` (treated
        firm kept / control used), ``match_weight`` (times used / k for controls,
        1 for kept treated), ``ipw_weight``, covariates.
    pairs
        ``treated_id, control_id, distance`` (logit-score distance).
    balance
        :func:`balance_table` output (before / matched / ipw).
    overlap
        One row per group: n, score min / quartiles / max.
    share_trimmed
        Share of treated firms dropped for lack of a control within the caliper.
    caliper
        Caliper on the logit score actually used.
    did
        DiD on the matched sample (Callaway–Sant'Anna simple aggregation), or None.
    did_dynamic
        Its event study (dynamic aggregation), or None.
    ps_model
        Propensity logit coefficients: ``term, coef, se, z, p_value, ci_low,
        ci_high`` (statsmodels).
    ps_fit
        ``n, pseudo_r2`` (McFadden), ``llr, llr_p_value`` (likelihood-ratio test
        against the constant-only model), ``aic``, ``converged``.
    notes
        Chinese / English remarks.
    """

    firms: pd.DataFrame
    pairs: pd.DataFrame
    balance: pd.DataFrame
    overlap: pd.DataFrame
    share_trimmed: float
    caliper: float
    did: object | None = None
    did_dynamic: object | None = None
    notes: list[str] = field(default_factory=list)
    ps_model: pd.DataFrame = field(default_factory=pd.DataFrame)
    ps_fit: dict = field(default_factory=dict)

    @property
    def max_abs_smd_before(self) -> float:
        """Largest |SMD| before matching."""
        return float(self.balance["smd_before"].abs().max())

    @property
    def max_abs_smd_after(self) -> float:
        """Largest |SMD| after matching."""
        return float(self.balance["smd_matched"].abs().max())

    def to_frame(self) -> pd.DataFrame:
        """The balance table."""
        return self.balance.copy()

    def summary(self) -> str:
        """Readable summary (Chinese / English)."""
        n_t = int(self.firms["treated"].sum())
        n_m = int((self.firms["treated"] & self.firms["matched"]).sum())
        lines = [
            "倾向得分匹配 propensity-score matching (NN, caliper "
            f"{self.caliper:.3f} on logit score)",
            f"受资助企业 treated firms: {n_t}; 匹配成功 matched: {n_m}; "
            f"剔除比例 share trimmed: {self.share_trimmed:.1%}",
            f"最大标准化均值差 max |SMD|: 匹配前 before {self.max_abs_smd_before:.3f}, "
            f"匹配后 after {self.max_abs_smd_after:.3f}",
            "",
            self.balance.to_string(index=False, float_format="{:.3f}".format),
        ]
        if self.did is not None:
            lines += ["", self.did.summary()]
        lines += [f"注 note: {n}" for n in self.notes]
        return "\n".join(lines)

    def plot(self, ax=None, *, lang: str = "zh"):
        """Histogram of propensity scores by group (overlap diagnostic)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.5))
        f = self.firms
        lab = {
            "zh": ("受资助", "未受资助", "倾向得分", "企业数"),
            "en": ("funded", "not funded", "propensity score", "firms"),
        }[lang if lang in ("zh", "en") else "en"]
        bins = np.linspace(0, 1, 26)
        ax.hist(f.loc[f["treated"], "pscore"], bins=bins, alpha=0.6, label=lab[0])
        ax.hist(f.loc[~f["treated"], "pscore"], bins=bins, alpha=0.6, label=lab[1])
        ax.set_xlabel(lab[2])
        ax.set_ylabel(lab[3])
        ax.legend()
        return ax


def propensity_match(
    panel: pd.DataFrame,
    *,
    covariates: list[str],
    categorical: list[str] | None = None,
    idname: str = "firm_id",
    tname: str = "year",
    gname: str = "first_award_year",
    k: int = 1,
    caliper: float = 0.2,
    yname: str | None = None,
    alp: float = 0.05,
) -> MatchResult:
    """Propensity-score matching, IPW weights, balance and matched-sample DiD.

    Parameters
    ----------
    panel
        Firm × year panel (e.g. from :func:`jdeval.effects.outcomes.build_panel`);
        the covariates must be constant within firm (pre-period values).
    covariates
        Numeric pre-period covariates for the logit.
    categorical
        Categorical covariates (dummies, first level dropped), e.g.
        ``["key_industry"]``.
    idname, tname, gname
        Firm, year and cohort (0 = never funded) columns.
    k
        Controls per treated firm (with replacement).
    caliper
        Caliper in SDs of the logit propensity score.
    yname
        Outcome for the DiD on the matched sample (``None``: no DiD).
    alp
        Significance level for the DiD.

    Returns
    -------
    MatchResult

    Raises
    ------
    DataError
        If columns are missing, or there are no treated or no control firms.
    """
    categorical = list(categorical or [])
    problems = ProblemList()
    for c in [idname, tname, gname, *covariates, *categorical] + (
        [yname] if yname else []
    ):
        if c not in panel.columns:
            problems.error(
                "missing_column",
                f"匹配所需列 {c} 缺失",
                f"column {c} is needed for matching",
                column=c,
            )
    problems.raise_if_errors(DataError, "无法匹配 cannot match")
    firms = (
        panel.sort_values([idname, tname])
        .drop_duplicates(idname)[[idname, gname, *covariates, *categorical]]
        .reset_index(drop=True)
    )
    g = pd.to_numeric(firms[gname], errors="coerce").fillna(0).to_numpy()
    firms["treated"] = g > 0
    n_missing = int(firms[covariates].isna().any(axis=1).sum())
    firms = firms.dropna(subset=covariates).reset_index(drop=True)
    t = firms["treated"].to_numpy()
    if t.sum() == 0 or (~t).sum() == 0:
        problems = ProblemList()
        problems.error(
            "no_contrast",
            f"受资助企业 {int(t.sum())} 家、未受资助企业 {int((~t).sum())} 家：匹配两组都需要",
            f"{int(t.sum())} funded and {int((~t).sum())} unfunded firms: matching needs both",
            column=gname,
        )
        problems.raise_if_errors(DataError, "无法匹配 cannot match")
    x = _design(firms, covariates, categorical)
    fit = propensity_model(x, t)
    ps_model, ps_fit = _ps_tables(fit)
    ps = np.clip(np.asarray(fit.predict(), float), 1e-12, 1 - 1e-12)
    eta = np.log(ps / (1 - ps))
    firms["pscore"] = ps
    cal = caliper * float(np.std(eta, ddof=1))

    # nearest neighbours on the logit score, with replacement
    ctrl_idx = np.nonzero(~t)[0]
    order = np.argsort(eta[ctrl_idx])
    ce = eta[ctrl_idx][order]
    pairs = []
    for i in np.nonzero(t)[0]:
        pos = np.searchsorted(ce, eta[i])
        lo, hi = max(pos - k, 0), min(pos + k, len(ce))
        cand = np.arange(lo, hi)
        dist = np.abs(ce[cand] - eta[i])
        best = cand[np.argsort(dist, kind="stable")[:k]]
        for b in best:
            d = abs(ce[b] - eta[i])
            if d <= cal:
                pairs.append((i, ctrl_idx[order[b]], d))
    pairs_df = pd.DataFrame(pairs, columns=["t_row", "c_row", "distance"])
    mw = np.zeros(len(firms))
    kept_t = np.unique(pairs_df["t_row"].to_numpy()) if len(pairs_df) else np.array([])
    mw[kept_t.astype(int)] = 1.0
    if len(pairs_df):
        per_t = pairs_df.groupby("t_row")["c_row"].transform("size").to_numpy()
        np.add.at(mw, pairs_df["c_row"].to_numpy(), 1.0 / per_t)
    firms["matched"] = mw > 0
    firms["match_weight"] = mw
    ipw = np.where(t, 1.0, ps / (1 - ps))
    ipw[~t] *= t.sum() / ipw[~t].sum()
    firms["ipw_weight"] = ipw
    share_trimmed = 1 - len(kept_t) / t.sum()

    bal = balance_table(
        x, t, weights={"before": np.ones(len(x)), "matched": mw, "ipw": ipw}
    )
    overlap = (
        firms.groupby("treated")["pscore"]
        .describe()[["count", "min", "25%", "50%", "75%", "max"]]
        .rename(index={True: "受资助 funded", False: "未受资助 not funded"})
        .reset_index(names="group")
    )
    notes = []
    if n_missing:
        notes.append(
            f"{n_missing} 家企业因基期协变量缺失未参与匹配 / {n_missing} firms without "
            "base-period covariates were left out"
        )
    if share_trimmed > 0.1:
        notes.append(
            f"{share_trimmed:.0%} 的受资助企业在卡尺内找不到对照，匹配结果只代表其余企业 / "
            f"{share_trimmed:.0%} of funded firms had no control within the caliper; "
            "the matched estimate speaks only for the rest"
        )
    ids = firms[idname].to_numpy()
    pairs_out = pd.DataFrame(
        {
            "treated_id": ids[pairs_df["t_row"].to_numpy(int)] if len(pairs_df) else [],
            "control_id": ids[pairs_df["c_row"].to_numpy(int)] if len(pairs_df) else [],
            "distance": pairs_df["distance"].to_numpy() if len(pairs_df) else [],
        }
    )
    res = MatchResult(
        firms=firms,
        pairs=pairs_out,
        balance=bal,
        overlap=overlap,
        share_trimmed=float(share_trimmed),
        caliper=cal,
        notes=notes,
        ps_model=ps_model,
        ps_fit=ps_fit,
    )
    if yname is not None and len(kept_t):
        res.did, res.did_dynamic = _matched_did(
            panel, firms, idname=idname, tname=tname, gname=gname, yname=yname, alp=alp
        )
    return res


def _matched_did(panel, firms, *, idname, tname, gname, yname, alp):
    """Callaway–Sant'Anna (never-treated controls) on the matched firms."""
    from jdeval.effects.did import att_gt

    keep = set(firms.loc[firms["matched"], idname])
    sub = panel.loc[panel[idname].isin(keep), [idname, tname, gname, yname]]
    sub = sub.dropna(subset=[yname])
    res = att_gt(
        sub,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        control_group="nevertreated",
        est_method="reg",
        alp=alp,
        allow_unbalanced_panel=True,
    )
    simple = res.aggregate(type="simple")
    dynamic = res.aggregate(type="dynamic")
    simple.notes.append(
        "匹配样本上的双重差分：估计的是匹配成功的受资助企业的平均效应 / DiD on the "
        "matched sample: the ATT of the matched funded firms"
    )
    return simple, dynamic
