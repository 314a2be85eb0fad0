"""Callaway & Sant'Anna (2021) staggered difference-in-differences.

:func:`att_gt` estimates group-time average treatment effects ATT(g, t) — the effect in
period ``t`` on the cohort first treated in period ``g`` — with the argument names and
semantics of R's ``did::att_gt``, and :meth:`AttGtResult.aggregate` combines them as
``did::aggte`` does (simple, by cohort, by event time, by calendar period).

Standard errors
---------------
Analytic standard errors come from influence functions, as in R did: each ATT(g, t)
has an influence function ψ with one value per firm, and
``se = sqrt(Σ_i ψ_i²) / n``. Because ψ is summed over all periods of a firm, this is
clustered by firm (``idname``), which allows arbitrary serial correlation within a
firm — R did's default. With ``clustervars=["town"]`` the influence functions are
summed within clusters first (``se = sqrt(Σ_c (Σ_{i∈c} ψ_i)²) / n``); R did only
clusters in the bootstrap, which we follow when ``bstrap=True``. Aggregations are
linear combinations of the ψ (plus the influence function of the estimated cohort
shares), so their standard errors account for the estimation of the weights
(Callaway & Sant'Anna 2021, sec. 4). ``bstrap=True`` runs the multiplier bootstrap
(Mammen weights) and adds uniform confidence bands over all reported rows.

Speed
-----
The long frame is reshaped once into a periods × firms matrix. Each ATT(g, t) is a
two-period comparison on the outcome change ``Y_t - Y_base``; the logit propensity
score, Gram matrices and influence-function directions depend only on which firms are
compared (and covariates), so they are computed once per distinct comparison and
reused across periods. All influence functions are vectors over firms; there is no
per-cell pandas filtering.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from jdeval.effects._did_boot import multiplier_bootstrap
from jdeval.effects._did_prep import (
    DidPanel,
    DidWarning,
    _fmt,
    parse_xformla,
    prepare_panel,
)
from jdeval.effects._did_twobytwo import CellDesign
from jdeval.effects.results import AggregateResult, EffectResult

__all__ = ["att_gt", "AttGtResult", "PreTest", "DidWarning"]

_EST_NAMES = {
    "dr": "双重稳健 doubly robust",
    "ipw": "逆概率加权 IPW",
    "reg": "结果回归 outcome regression",
}
_TOL0 = math.sqrt(np.finfo(float).eps) * 10


@dataclass
class PreTest:
    """Wald test that all pre-treatment ATT(g, t) are zero (R ``did`` summary).

    Attributes
    ----------
    statistic
        ``W = n · θ' V⁻¹ θ`` with θ the pre-treatment ATT(g, t) and V their
        influence-function covariance.
    df
        Number of restrictions (pre-treatment cells with positive variance).
    p_value
        ``1 - χ²_df(W)``; ``nan`` if there is nothing to test.
    """

    statistic: float
    df: int
    p_value: float
    message: str = ""

    def summary(self) -> str:
        """One-paragraph text, Chinese then English."""
        if not np.isfinite(self.p_value):
            return (
                self.message
                or "无可检验的处理前时期 / no pre-treatment periods to test"
            )
        verdict_zh = (
            "不能拒绝处理前效应为零（平行趋势假设未被数据否定）"
            if self.p_value >= 0.05
            else "拒绝处理前效应为零：平行趋势假设可疑"
        )
        verdict_en = (
            "cannot reject zero pre-treatment effects (parallel trends not contradicted)"
            if self.p_value >= 0.05
            else "pre-treatment effects are not zero: parallel trends are doubtful"
        )
        return (
            f"处理前趋势检验 pre-trend Wald test: W = {self.statistic:.3f}, "
            f"df = {self.df}, p = {self.p_value:.4f}。{verdict_zh} / {verdict_en}"
        )

    def __str__(self) -> str:
        return self.summary()


@dataclass
class AttGtResult(EffectResult):
    """Group-time ATTs from :func:`att_gt`.

    ``to_frame()`` has columns ``group``, ``time``, ``estimate``, ``se``, ``ci_low``,
    ``ci_high`` (plus ``cband_low``, ``cband_high`` with the bootstrap) and ``post``
    (``time >= group``). ``influence`` is the ``n × cells`` influence-function matrix.
    """

    influence: np.ndarray | None = None
    unit_group: np.ndarray | None = None
    cluster: np.ndarray | None = None
    params: dict[str, Any] = field(default_factory=dict)

    # ----------------------------------------------------------------- pre-test
    def pretest(self) -> PreTest:
        """Wald pre-test of parallel trends: all pre-treatment ATT(g, t) = 0.

        As R did: uses the analytic influence-function covariance, drops cells with
        zero variance (e.g. the reference period of a universal base period) and
        returns no statistic if the covariance matrix is singular.
        """
        f = self.frame
        inf = self.influence
        n = inf.shape[0]
        se = f["se"].to_numpy(dtype=float)
        analytic_se = _analytic_se(inf, n)
        pre = np.flatnonzero(
            (f["group"].to_numpy() > f["time"].to_numpy())
            & np.isfinite(se)
            & (analytic_se > _TOL0)
        )
        if pre.size == 0:
            return PreTest(
                math.nan,
                0,
                math.nan,
                "无处理前时期可检验 / no pre-treatment periods to test",
            )
        theta = f["estimate"].to_numpy(dtype=float)[pre]
        psi = inf[:, pre]
        v = psi.T @ psi / n
        if 1.0 / np.linalg.cond(v, 1) <= np.finfo(float).eps:
            return PreTest(
                math.nan,
                len(pre),
                math.nan,
                "协方差矩阵奇异，不报告检验统计量 / singular covariance matrix: no statistic",
            )
        w = float(n * theta @ np.linalg.solve(v, theta))
        return PreTest(w, len(pre), float(stats.chi2.sf(w, len(pre))))

    # --------------------------------------------------------------- aggregate
    def aggregate(
        self,
        type: str = "simple",  # noqa: A002 - R did's argument name
        *,
        balance_e: int | None = None,
        min_e: float = -np.inf,
        max_e: float = np.inf,
        bstrap: bool | None = None,
        biters: int | None = None,
        alp: float | None = None,
        seed=None,
    ) -> AggregateResult:
        """Aggregate ATT(g, t) as R ``did::aggte``.

        Parameters
        ----------
        type
            ``"simple"`` (post-treatment cells weighted by cohort size),
            ``"group"`` (average per cohort; overall = cohort-size weighted),
            ``"dynamic"`` (event study by ``e = t - g``; overall = mean over
            ``e >= 0``), ``"calendar"`` (per period; overall = mean over periods).
        balance_e
            Dynamic only: keep only cohorts observed for at least ``balance_e``
            periods after treatment, and event times up to ``balance_e``.
        min_e, max_e
            Event-time window (dynamic), and longest post-treatment horizon
            included in every type (``t <= g + max_e``).
        bstrap, biters, alp, seed
            Default to the values given to :func:`att_gt`.

        Returns
        -------
        AggregateResult
        """
        if type not in ("simple", "group", "dynamic", "calendar"):
            raise ValueError(
                "type 应为 simple / group / dynamic / calendar / type must be one of "
                f"'simple', 'group', 'dynamic', 'calendar', got {type!r}"
            )
        p = self.params
        bstrap = p["bstrap"] if bstrap is None else bstrap
        biters = p["biters"] if biters is None else biters
        alp = p["alp"] if alp is None else alp
        seed = p["seed"] if seed is None else seed
        with _single_thread_blas():
            return _aggregate(
                self, type, balance_e, min_e, max_e, bstrap, biters, alp, seed
            )


# =============================================================================
def att_gt(
    data: pd.DataFrame,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    xformla=None,
    control_group: str = "nevertreated",
    est_method: str = "dr",
    anticipation: int = 0,
    base_period: str = "varying",
    clustervars=None,
    bstrap: bool = False,
    biters: int = 999,
    alp: float = 0.05,
    seed=None,
    allow_unbalanced_panel: bool = False,
    bootstrap_weights: str = "mammen",
) -> AttGtResult:
    """Group-time average treatment effects (Callaway & Sant'Anna 2021).

    Parameters
    ----------
    data
        Long panel: one row per unit and period.
    yname, tname, idname, gname
        Outcome, period (numeric, e.g. year; dates are converted to years), unit id,
        and cohort = first treated period (``0`` or missing = never treated; dates
        are converted to years; a cohort after the last period counts as never
        treated).
    xformla
        Covariates: ``"~ x1 + x2"``, ``"~ 1"``, a list of column names or ``None``.
        Time-varying covariates enter with their value in the earlier period of
        each comparison (as R did); time-invariant or pre-period covariates are
        preferable.
    control_group
        ``"nevertreated"`` or ``"notyettreated"`` (never treated plus cohorts not
        yet treated by ``max(t, base) + anticipation``).
    est_method
        ``"dr"`` doubly robust (DRDID ``drdid_panel``), ``"ipw"`` normalised IPW,
        ``"reg"`` outcome regression.
    anticipation
        Number of periods before ``g`` in which units may already react.
    base_period
        ``"varying"`` (pre-treatment cells compare consecutive periods) or
        ``"universal"`` (every cell compares with ``g - anticipation - 1``).
    clustervars
        Extra cluster variable (constant within unit), e.g. ``["town"]``; the
        unit id is always a cluster.
    bstrap, biters, bootstrap_weights
        Multiplier bootstrap with ``biters`` draws (``"mammen"`` or
        ``"rademacher"`` weights) for standard errors and uniform bands.
    alp
        Significance level (0.05 → 95 % intervals).
    seed
        Seed of the bootstrap.
    allow_unbalanced_panel
        If ``False`` (default) an unbalanced panel is an error listing the units
        with missing periods (R did instead silently drops them). If ``True``, each
        ATT(g, t) uses the panel estimator on the units observed in both of its
        periods, and influence functions are rescaled to all units, so SEs stay
        clustered by firm. This differs from R did, which then switches to its
        repeated-cross-section estimators; both are valid when periods are missing
        at random, and on a balanced panel this option changes nothing.

    Returns
    -------
    AttGtResult

    Raises
    ------
    jdeval.errors.DataError
        Missing columns, non-numeric outcome / period / covariates, cohort varying
        within a unit, duplicate unit-periods, unbalanced panel (unless allowed),
        no usable control group.
    ValueError
        An option value that is not allowed.

    Notes
    -----
    Estimates and analytic standard errors equal R ``did`` 2.x (and its ports csdid
    and moderndid) to ~1e-15 on balanced panels, for every estimator, control group,
    base period, with and without (time-varying) covariates, every aggregation and
    the pre-test; see ``tests/test_effects_did_mpdta.py`` and
    ``tests/test_effects_did_peers.py``.

    Examples
    --------
    >>> res = att_gt(df, yname="log_tech_reno_inv", tname="year", idname="firm_id",
    ...              gname="first_award_year", xformla="~ log_employees",
    ...              control_group="notyettreated")  # doctest: +SKIP
    >>> res.aggregate("dynamic").plot()  # doctest: +SKIP
    >>> print(res.pretest())  # doctest: +SKIP
    """
    _check_options(
        control_group,
        est_method,
        base_period,
        anticipation,
        alp,
        biters,
        bootstrap_weights,
    )
    covariates = parse_xformla(xformla)
    if clustervars is None:
        clustervars = []
    elif isinstance(clustervars, str):
        clustervars = [clustervars]
    clustervars = [c for c in clustervars if c != idname]
    if len(clustervars) > 1:
        raise ValueError(
            "最多只能再指定一个聚类变量 / at most one cluster variable besides the unit id"
        )
    panel = prepare_panel(
        data,
        yname=yname,
        tname=tname,
        idname=idname,
        gname=gname,
        covariates=covariates,
        control_group=control_group,
        anticipation=anticipation,
        clustervars=clustervars,
        allow_unbalanced_panel=allow_unbalanced_panel,
    )
    with _single_thread_blas():
        cells, inf = _estimate_cells(
            panel, control_group, est_method, anticipation, base_period
        )
    n = panel.n
    frame = pd.DataFrame(
        {
            "group": _int_if_whole(cells[:, 0]),
            "time": _int_if_whole(cells[:, 1]),
            "estimate": cells[:, 2],
        }
    )
    params = dict(
        yname=yname,
        control_group=control_group,
        est_method=est_method,
        anticipation=anticipation,
        base_period=base_period,
        bstrap=bstrap,
        biters=biters,
        alp=alp,
        seed=seed,
        bootstrap_weights=bootstrap_weights,
        clustervars=clustervars,
        tlist=panel.tlist,
        glist=panel.glist,
    )
    se, crit, se_type = _standard_errors(
        inf, panel.cluster, n, bstrap, biters, alp, seed, bootstrap_weights
    )
    z = stats.norm.ppf(1 - alp / 2)
    frame["se"] = se
    _add_intervals(frame, z, crit)
    frame["post"] = frame["time"] >= frame["group"]
    return AttGtResult(
        frame=frame,
        estimator=f"Callaway-Sant'Anna ATT(g,t), {_EST_NAMES[est_method]}",
        kind="group_time",
        control_group=control_group,
        n_units=n,
        se_type=se_type,
        alp=alp,
        outcome=yname,
        crit_val=crit,
        notes=list(panel.notes),
        influence=inf,
        unit_group=panel.g,
        cluster=panel.cluster,
        params=params,
    )


def _check_options(
    control_group, est_method, base_period, anticipation, alp, biters, bw
):
    checks = [
        (
            control_group in ("nevertreated", "notyettreated"),
            "control_group",
            control_group,
            "'nevertreated' / 'notyettreated'",
        ),
        (
            est_method in ("dr", "ipw", "reg"),
            "est_method",
            est_method,
            "'dr' / 'ipw' / 'reg'",
        ),
        (
            base_period in ("varying", "universal"),
            "base_period",
            base_period,
            "'varying' / 'universal'",
        ),
        (
            isinstance(anticipation, (int, np.integer)) and anticipation >= 0,
            "anticipation",
            anticipation,
            "a non-negative integer",
        ),
        (0 < alp < 1, "alp", alp, "a number in (0, 1)"),
        (
            isinstance(biters, (int, np.integer)) and biters >= 10,
            "biters",
            biters,
            "an integer >= 10",
        ),
        (
            bw in ("mammen", "rademacher"),
            "bootstrap_weights",
            bw,
            "'mammen' / 'rademacher'",
        ),
    ]
    bad = [
        f"{name}={val!r} (应为 / must be {allowed})"
        for ok, name, val, allowed in checks
        if not ok
    ]
    if bad:
        raise ValueError("参数无效 / invalid option: " + "; ".join(bad))


@functools.cache
def _blas_controller():
    # Scanning the loaded libraries costs ~5 ms; do it once per process, not per call.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def _single_thread_blas():
    """Limit BLAS to one thread while estimating.

    Every product here is tall and skinny (k ≤ a handful of rows × n units): memory
    bound, so extra BLAS threads only add synchronisation, which on a shared, busy
    machine made the logit fits 3–4× slower.
    """
    return _blas_controller().limit(limits=1, user_api="blas")


def _estimate_cells(
    panel: DidPanel, control_group, est_method, anticipation, base_period
):
    """Loop over (g, t) as R ``did::compute.att_gt``; returns (cells, influence).

    First lists the cells and which comparison (treated cohort, comparison cohorts,
    covariate period) each needs; then estimates all cells that share a comparison
    together, as rows of one matrix.
    """
    tlist, glist, g = panel.tlist, panel.glist, panel.g
    T, n = len(tlist), panel.n
    tfac = 0 if base_period == "universal" else 1
    nt = T - tfac
    cohorts = np.unique(g).tolist()
    rows: list[list] = []  # [group, time, att]
    todo: dict[tuple, list[tuple[int, int, int]]] = {}  # key -> [(row, cur, pret)]
    for gv in glist:
        pre_idx = np.flatnonzero(tlist + anticipation < gv)
        g_base = int(pre_idx[-1]) if pre_idx.size else None
        for ti in range(nt):
            cur = ti + tfac
            pret = g_base if base_period == "universal" else ti
            if pret is None:
                break
            if gv <= tlist[cur] and base_period == "varying":
                if g_base is None:
                    warnings.warn(
                        f"批次 {gv} 没有处理前时期，已删除 / no pre-treatment period for "
                        f"cohort {gv}; dropped",
                        DidWarning,
                        stacklevel=3,
                    )
                    break
                pret = g_base
            if base_period == "universal" and pret == cur:
                rows.append([gv, tlist[cur], 0.0])
                continue
            if control_group == "nevertreated":
                ctrl_cohorts: tuple = (0.0,)
            else:
                thr = tlist[max(cur, pret)] + anticipation
                ctrl_cohorts = tuple(
                    c for c in cohorts if c == 0 or (c > thr and c != gv)
                )
            xper = min(pret, cur) if panel.x_time_varying else -1
            key: tuple = (gv, ctrl_cohorts, xper)
            if panel.observed is not None:
                key = (*key, cur, pret)
            todo.setdefault(key, []).append((len(rows), cur, pret))
            rows.append([gv, tlist[cur], np.nan])
    # Influence functions, one row per cell.
    inf = np.zeros((len(rows), n))
    y = np.ascontiguousarray(panel.y)  # (T, n): contiguous rows for fast gathers
    warm: dict[float, np.ndarray] = {}  # last logit fit per cohort (warm start)
    for key, cells in todo.items():
        gv, ctrl_cohorts, xper = key[:3]
        cur0, pret0 = cells[0][1], cells[0][2]
        idx, design = _design(
            panel,
            g == gv,
            ctrl_cohorts,
            xper,
            cur0,
            pret0,
            est_method,
            gv,
            warm.get(gv),
        )
        if design is None:
            continue
        if getattr(design, "beta", None) is not None:
            warm[gv] = design.beta
        r_idx = [c[0] for c in cells]
        curs = [c[1] for c in cells]
        prets = [c[2] for c in cells]
        dy = y[curs][:, idx] - y[prets][:, idx]
        att, psi = design.estimate(dy)
        psi *= n / len(idx)
        inf[np.ix_(r_idx, idx)] = psi
        for r, a in zip(r_idx, att):
            rows[r][2] = float(a)
    return np.array(rows, dtype=float).reshape(-1, 3), inf.T


def _design(panel, treated, ctrl_cohorts, xper, cur, pret, est_method, gv, beta0=None):
    """Subsample (treated cohort + comparison units) and its shared design."""
    sel = treated | np.isin(panel.g, ctrl_cohorts)
    if panel.observed is not None:
        sel &= panel.observed[cur] & panel.observed[pret]
    idx = np.flatnonzero(sel)
    d = treated[idx].astype(float)
    x = panel.x[xper][:, idx] if panel.x_time_varying else panel.x[:, idx]
    if d.sum() == 0 or d.sum() == len(d):
        warnings.warn(
            f"ATT({_fmt(gv)},{_fmt(panel.tlist[cur])}) 无法估计：缺少处理组或对照组单位 / cannot be "
            "estimated: no treated or no comparison units",
            DidWarning,
            stacklevel=4,
        )
        return idx, None
    try:
        return idx, CellDesign(d, x, est_method, beta0)
    except np.linalg.LinAlgError as exc:
        warnings.warn(
            f"ATT({_fmt(gv)},{_fmt(panel.tlist[cur])}) 无法估计：{exc} / cannot be estimated: {exc}",
            DidWarning,
            stacklevel=4,
        )
        return idx, None


def _standard_errors(inf, cluster, n, bstrap, biters, alp, seed, bw):
    """Analytic (influence-function) or bootstrap SEs; returns (se, crit, text)."""
    if inf.ndim == 1:
        inf = inf[:, None]
    if bstrap:
        b = multiplier_bootstrap(
            inf, biters=biters, alp=alp, seed=seed, cluster=cluster, weights=bw
        )
        se = b["se"]
        crit = b["crit_val"]
        analytic = _analytic_se(inf, n)
        se = np.where(analytic <= _TOL0, np.nan, se)
        zh, en = (
            ("聚类变量", "the cluster variable")
            if cluster is not None
            else ("企业", "firm")
        )
        text = (
            f"乘数自助法（{biters} 次，{bw} 权重），按{zh}聚类，含一致置信带 / multiplier "
            f"bootstrap ({biters} draws, {bw} weights), clustered by {en}, uniform bands"
        )
        return se, (None if not np.isfinite(crit) else float(crit)), text
    if cluster is None:
        se = _analytic_se(inf, n)
        text = "影响函数解析标准误，按单位（企业）聚类 / analytic influence-function SE, clustered by firm"
    else:
        nc = int(cluster.max()) + 1
        sums = np.column_stack(
            [np.bincount(cluster, weights=c, minlength=nc) for c in inf.T]
        )
        se = np.sqrt((sums**2).sum(axis=0)) / n
        text = "影响函数解析标准误，按聚类变量聚类 / analytic influence-function SE, clustered by the cluster variable"
    se = np.where(se <= _TOL0, np.nan, se)
    return se, None, text


# =============================================================================
def _aggregate(
    res: AttGtResult, kind, balance_e, min_e, max_e, bstrap, biters, alp, seed
):
    f = res.frame
    att = f["estimate"].to_numpy(dtype=float)
    group = f["group"].to_numpy(dtype=float)
    t = f["time"].to_numpy(dtype=float)
    inf = res.influence
    n = inf.shape[0]
    gunit = res.unit_group
    glist = np.asarray(res.params["glist"], dtype=float)
    tlist = np.asarray(res.params["tlist"], dtype=float)
    notes = list(res.notes)
    if np.isnan(att).any():
        keep_cells = ~np.isnan(att)
        att, group, t, inf = (
            att[keep_cells],
            group[keep_cells],
            t[keep_cells],
            inf[:, keep_cells],
        )
        notes.append(
            "部分 ATT(g,t) 无法估计，已从汇总中剔除 / some ATT(g,t) could not be "
            "estimated and are left out"
        )
    # R aggte recodes periods and cohorts to 1..K on their union.
    union = np.unique(np.concatenate([tlist, glist]))
    rg = np.searchsorted(union, group) + 1.0
    rt = np.searchsorted(union, t) + 1.0
    # Cohort shares P(G = g) over all units.
    pgg = np.array([(gunit == gv).mean() for gv in glist])
    pg = pgg[np.searchsorted(glist, group)]
    ncoh = len(glist)
    # Cohort code of each unit; units outside glist (never treated) get code ncoh.
    gcode = np.searchsorted(glist, gunit)
    gcode = np.where(np.isin(gunit, glist), gcode, ncoh)
    inf_rows = inf.T  # (cells, n), C-contiguous: cheap row gathers

    def wif_att(keepers, attk):
        """Influence of estimated weights, times ATTs (R ``wif(...) %*% att``).

        ``Σ_k [(1{G=g_k} - p_k) / S - (Σ_j 1{G=g_j} - S) p_k / S²] att_k`` with
        ``S = Σ_k p_k``, evaluated through per-cohort sums (no n × k matrix).
        """
        pk = pg[keepers]
        s = pk.sum()
        kc = np.searchsorted(glist, group[keepers])
        a_sum = np.zeros(ncoh + 1)
        a_sum[:ncoh] = np.bincount(kc, weights=attk, minlength=ncoh)
        cnt = np.zeros(ncoh + 1)
        cnt[:ncoh] = np.bincount(kc, minlength=ncoh)
        pa = (pk * attk).sum()
        # term1 - term2 = (a_i - pa)/s - (c_i - s) pa / s², per cohort first.
        per_cohort = (a_sum - pa) / s - (cnt - s) * pa / s**2
        return per_cohort[gcode]

    def combo(keepers, weights, with_wif):
        psi = weights @ inf_rows[keepers]
        if with_wif:
            psi = psi + wif_att(keepers, att[keepers])
        return psi

    rows: list[dict] = []
    psis: list[np.ndarray] = []
    key = None
    if kind == "simple":
        keepers = np.flatnonzero((rg <= rt) & (rt <= rg + max_e))
        w = pg[keepers] / pg[keepers].sum()
        overall = float(att[keepers] @ w)
        overall_psi = combo(keepers, w, True)
    elif kind == "group":
        key = "group"
        atts_g = np.full(ncoh, np.nan)
        for j, gv in enumerate(glist):
            rgv = np.searchsorted(union, gv) + 1.0
            which = np.flatnonzero((group == gv) & (rgv <= rt) & (rt <= rg + max_e))
            if which.size == 0:  # no post-treatment cell: NA as in R (row left out)
                continue
            atts_g[j] = att[which].mean()
            # Weights within a cohort are equal; no estimated-weight term (R aggte).
            psis.append(combo(which, pg[which] / pg[which].sum(), False))
            rows.append({"group": gv, "estimate": float(atts_g[j])})
        if np.isfinite(atts_g).all():
            s = pgg.sum()
            overall = float(atts_g @ pgg / s)
            # Estimated cohort shares: wif over all cohorts, each unit's own cohort.
            a_ext = np.append(atts_g, 0.0)
            in_ext = np.append(np.ones(ncoh), 0.0)
            wsum = float(pgg @ atts_g)
            wif = ((a_ext - wsum) / s - (in_ext - s) * wsum / s**2)[gcode]
            overall_psi = (pgg / s) @ np.vstack(psis) + wif
        else:
            overall = float("nan")
            overall_psi = np.full(n, np.nan)
    elif kind == "dynamic":
        key = "event_time"
        e_all = t - group
        include = np.ones(len(att), bool)
        eseq = np.unique(e_all)
        if balance_e is not None:
            tmax = tlist[-1]
            include = (tmax - group) >= balance_e
            eseq = np.unique(e_all[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax + tlist[0])]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        for e in eseq:
            which = np.flatnonzero((e_all == e) & include)
            w = pg[which] / pg[which].sum()
            rows.append({"event_time": e, "estimate": float(att[which] @ w)})
            psis.append(combo(which, w, True))
        epos = np.flatnonzero(eseq >= 0)
        est_e = np.array([r["estimate"] for r in rows])
        overall = float(est_e[epos].mean()) if epos.size else float("nan")
        overall_psi = (
            np.column_stack([psis[j] for j in epos]).mean(axis=1)
            if epos.size
            else np.full(n, np.nan)
        )
    else:  # calendar
        key = "time"
        min_g = group.min()
        tl = tlist[tlist >= min_g]
        for tv in tl:
            which = np.flatnonzero((t == tv) & (rg <= rt) & (rt <= rg + max_e))
            if which.size == 0:
                continue
            w = pg[which] / pg[which].sum()
            rows.append({"time": tv, "estimate": float(att[which] @ w)})
            psis.append(combo(which, w, True))
        est_t = np.array([r["estimate"] for r in rows])
        overall = float(est_t.mean())
        overall_psi = np.column_stack(psis).mean(axis=1)

    frame = pd.DataFrame(rows)
    cluster = res.cluster
    bw = res.params["bootstrap_weights"]
    z = stats.norm.ppf(1 - alp / 2)
    crit = None
    if psis:
        psi_mat = np.column_stack(psis)
        se, crit, se_type = _standard_errors(
            psi_mat, cluster, n, bstrap, biters, alp, seed, bw
        )
        frame["se"] = se
        _add_intervals(frame, z, crit)
        if key in frame:
            frame[key] = _int_if_whole(frame[key].to_numpy(dtype=float))
    else:
        psi_mat = np.zeros((n, 0))
        frame = pd.DataFrame(columns=["estimate", "se", "ci_low", "ci_high"])
    o_se, _, se_type = _standard_errors(
        overall_psi[:, None], cluster, n, bstrap, biters, alp, seed, bw
    )
    if kind == "simple":
        frame = pd.DataFrame(
            {"term": ["ATT"], "estimate": [overall], "se": [float(o_se[0])]}
        )
        _add_intervals(frame, z, None)
    p = res.params
    return AggregateResult(
        frame=frame,
        overall_att=overall,
        overall_se=float(o_se[0]),
        estimator=f"Callaway-Sant'Anna, {_EST_NAMES[p['est_method']]}",
        kind=kind,
        control_group=p["control_group"],
        n_units=n,
        se_type=se_type,
        alp=alp,
        outcome=p["yname"],
        crit_val=crit,
        notes=notes,
        extra={"influence": psi_mat, "overall_influence": overall_psi},
    )


def _add_intervals(frame: pd.DataFrame, z: float, crit: float | None) -> None:
    """Add pointwise CIs (``z``) and, with a bootstrap ``crit``, the uniform band."""
    frame["ci_low"] = frame["estimate"] - z * frame["se"]
    frame["ci_high"] = frame["estimate"] + z * frame["se"]
    if crit is not None:
        frame["cband_low"] = frame["estimate"] - crit * frame["se"]
        frame["cband_high"] = frame["estimate"] + crit * frame["se"]


def _analytic_se(inf: np.ndarray, n: int) -> np.ndarray:
    """Influence-function SE of each column of the ``n × k`` matrix ``inf``."""
    return np.sqrt((inf**2).sum(axis=0)) / n


def _int_if_whole(v: np.ndarray):
    """Integer array if every value is whole (periods, cohorts), else ``v``."""
    if np.all(np.mod(v, 1) == 0):
        return v.astype(np.int64)
    return v
