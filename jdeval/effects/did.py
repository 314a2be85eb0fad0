"""Callaway & Sant'Anna (2021) staggered difference-in-differences.

:func:`att_gt` estimates group-time average treatment effects ATT(g, t) — the effect in
period ``t`` on the cohort first treated in period ``g`` — with the argument names and
semantics of R's ``did::att_gt``, and :meth:`AttGtResult.aggregate` combines them as
``did::aggte`` does (simple, by cohort, by event time, by calendar period).

Standard errors and clustering
------------------------------
Analytic standard errors come from influence functions, as in R did: each ATT(g, t)
has an influence function ψ with one value per firm, and
``se = sqrt(Σ_i ψ_i²) / n``. Because ψ is summed over all periods of a firm, this is
clustered by firm (``idname``), which allows arbitrary serial correlation within a
firm — R did's default, and ours: the subsidy is granted firm by firm (treatment
is assigned per firm), so the firm is the level at which treatment varies and the
natural cluster (Abadie, Athey, Imbens & Wooldridge 2023). Normal critical values;
``bstrap=True`` runs R did's multiplier bootstrap (Mammen weights, IQR-based SEs)
and adds uniform confidence bands over all reported rows.

``clustervars=["town"]`` allows, in addition, shocks common to the firms of a town
(街镇-year shocks). Jiading has only 12 街镇, of very unequal size, and with so few
clusters normal inference from a clustered variance under-covers. So with a cluster
variable of ``G`` groups:

* analytic: the leave-one-cluster-out jackknife variance ("CV3",
  ``(G-1)/G · Σ_c (θ_(-c) - θ̄)²``, every ATT(g, t) re-estimated without cluster
  ``c``, aggregations recomputed with that sample's cohort shares) and Student-t
  critical values and p-values with ``G - 1`` degrees of freedom (MacKinnon,
  Nielsen & Webb 2023). The influence-function ("CR1") variance
  ``G/(G-1) · Σ_c S_c² / n²``, ``S_c = Σ_{i∈c} ψ_i``, was 9–15 % too small with
  Jiading-like cluster sizes (one 街镇 holding a quarter of the firms), because
  it ignores each cluster's leverage; the jackknife does not;
* ``bstrap=True``: a wild cluster bootstrap-t (one multiplier per cluster, Webb
  weights by default, Rademacher or Mammen on request) on the jackknife-transformed
  cluster scores (MacKinnon, Nielsen & Webb 2023's CV3-based variant); see
  :mod:`jdeval.effects._did_boot`. R did's own cluster bootstrap averages ψ within
  clusters, which with unequal cluster sizes does not estimate the clustered
  variance (its SEs were 28–41 % too wide in the Monte Carlo of issue 13), so it
  is not used.

The jackknife costs ``G`` re-estimations (12 with 街镇), only when a cluster
variable is given.

Both keep 95 % coverage with 12 unequal clusters and town-year shocks
(``tests/test_effects_did_clusters.py``). What was used is in
:attr:`AttGtResult.inference` (:class:`InferenceInfo`, with a Chinese sentence for
the report). Aggregations are linear combinations of the ψ (plus the influence
function of the estimated cohort shares), so their standard errors account for the
estimation of the weights (Callaway & Sant'Anna 2021, sec. 4).

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

import dataclasses
import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from jdeval.effects._did_boot import (
    WEIGHTS,
    multiplier_bootstrap,
    wild_cluster_bootstrap,
)
from jdeval.effects._did_overlap import Overlap, overlap_record, summarise_overlap
from jdeval.effects._did_prep import (
    DidPanel,
    DidWarning,
    _fmt,
    parse_xformla,
    prepare_panel,
)
from jdeval.effects._did_rcs import rcs_cell
from jdeval.effects._did_twobytwo import TRIM_LEVEL, CellDesign
from jdeval.effects.results import AggregateResult, EffectResult

__all__ = ["att_gt", "AttGtResult", "PreTest", "DidWarning", "InferenceInfo"]

_EST_NAMES = {
    "dr": "双重稳健 doubly robust",
    "ipw": "逆概率加权 IPW",
    "reg": "结果回归 outcome regression",
}
_TOL0 = math.sqrt(np.finfo(float).eps) * 10
#: How an unbalanced panel is estimated (see :func:`att_gt`).
PANEL_MODES = ("auto", "repeated_cross_section", "balanced_pairs")


@dataclass
class InferenceInfo:
    """How standard errors and intervals were computed, for the report.

    Attributes
    ----------
    cluster_var
        Variable the standard errors are clustered by (the firm id by default).
    n_clusters
        Number of clusters ``G``.
    method
        ``"analytic"`` (influence functions), ``"multiplier_bootstrap"`` (R did) or
        ``"wild_cluster_bootstrap"``.
    critical
        ``"normal"``, ``"t(G-1)"`` or ``"bootstrap-t"``.
    df
        Degrees of freedom ``G - 1`` when a cluster variable is used, else ``None``.
    weights, biters
        Bootstrap multipliers and draws (``None`` without bootstrap).
    reason_zh, reason_en
        Which clustering is used and why, in one sentence.
    """

    cluster_var: str
    n_clusters: int
    method: str
    critical: str
    df: float | None = None
    weights: str | None = None
    biters: int | None = None
    reason_zh: str = ""
    reason_en: str = ""
    available: bool = True

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-able)."""
        return dict(self.__dict__)


def _inference_info(
    idname, cluster_var, n_clusters, bstrap, biters, bw
) -> InferenceInfo:
    firm_reason_zh = (
        "政策资金逐户审批、按企业分配（处理在企业层面分配），同一企业各年观测相关，"
        "故标准误按企业聚类"
    )
    firm_reason_en = (
        "the subsidy is granted firm by firm (treatment is assigned per firm) and a "
        "firm's years are correlated, so standard errors are clustered by firm"
    )
    if cluster_var is None:
        method = "multiplier_bootstrap" if bstrap else "analytic"
        how_zh = (
            f"乘数自助法（{biters} 次，{bw} 权重）"
            if bstrap
            else "影响函数解析标准误（与 R did 一致）"
        )
        return InferenceInfo(
            cluster_var=idname,
            n_clusters=n_clusters,
            method=method,
            critical="normal",
            weights=bw if bstrap else None,
            biters=biters if bstrap else None,
            reason_zh=f"{firm_reason_zh}（{n_clusters} 家企业，{how_zh}，正态临界值）。",
            reason_en=f"{firm_reason_en} ({n_clusters} firms, normal critical values).",
        )
    g = n_clusters
    if bstrap:
        how_zh = (
            f"野聚类自助法（wild cluster bootstrap-t，{bw} 权重，{biters} 次）"
            "给出标准误与临界值"
        )
        how_en = f"wild cluster bootstrap-t ({bw} weights, {biters} draws)"
    else:
        how_zh = f"逐群剔除刀切法（jackknife）方差与 t({g - 1}) 临界值"
        how_en = (
            f"leave-one-cluster-out jackknife variance and t({g - 1}) critical values"
        )
    return InferenceInfo(
        cluster_var=cluster_var,
        n_clusters=g,
        method="wild_cluster_bootstrap" if bstrap else "analytic",
        critical="bootstrap-t" if bstrap else "t(G-1)",
        df=float(g - 1),
        weights=bw if bstrap else None,
        biters=biters if bstrap else None,
        reason_zh=(
            f"标准误按 {cluster_var} 聚类（{g} 个群），以允许同一群内企业受共同冲击"
            f"（如街镇-年份冲击）；群数少，采用{how_zh}。处理仍在企业层面分配，"
            "默认按企业聚类。"
        ),
        reason_en=(
            f"standard errors clustered by {cluster_var} ({g} clusters) to allow "
            f"shocks common to a cluster; with few clusters, {how_en}. Treatment is "
            "still assigned per firm, so clustering by firm is the default."
        ),
    )


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
    inference: InferenceInfo | None = None
    overlap: Overlap | None = None
    unit_weights: np.ndarray | None = None
    jackknife: np.ndarray | None = None  # (G, cells) leave-one-cluster-out ATTs

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
        return PreTest(w, len(pre), float(special.chdtrc(len(pre), w)))

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
    bootstrap_weights: str | None = None,
    trim_level: float = TRIM_LEVEL,
    weightsname: str | None = None,
    panel_mode: str = "auto",
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
        unit id is always a cluster. With it, small-G inference: cluster
        jackknife variance and t(G-1) critical values, or the wild cluster bootstrap-t
        (see the module docstring). Default: clustered by firm only, because the
        subsidy (treatment) is assigned per firm.
    bstrap, biters, bootstrap_weights
        Multiplier bootstrap with ``biters`` draws for standard errors and uniform
        bands. Weights: ``"mammen"`` (default without ``clustervars``, as R did),
        ``"webb"`` (default with ``clustervars``) or ``"rademacher"``.
    alp
        Significance level (0.05 → 95 % intervals).
    seed
        Seed of the bootstrap.
    trim_level
        Comparison firms with a propensity score at or above it get zero weight
        (R DRDID's ``trim.level``, 0.995). A cohort with a *treated* firm at or
        above it has no comparable comparison firm: a :class:`DidWarning` names
        it. Diagnostics per cohort are in :attr:`AttGtResult.overlap`
        (:class:`jdeval.effects._did_overlap.Overlap`).
    allow_unbalanced_panel
        If ``False`` (default) an unbalanced panel is an error listing the units
        with missing periods (R did instead silently drops them). If ``True``,
        the panel is used as it is, with ``panel_mode`` deciding how.
    weightsname
        Column of sampling weights, constant within unit (R did's
        ``weightsname``): weighted propensity scores, regressions and means, and
        weighted cohort shares in the aggregations.
    panel_mode
        How an unbalanced panel (``allow_unbalanced_panel=True``) is estimated:
        ``"auto"`` / ``"repeated_cross_section"`` — R did's meaning: each
        ATT(g, t) uses every row observed in its two periods with the
        repeated-cross-section estimators (DRDID ``drdid_rc`` etc.), influence
        functions summed within unit (clustered by firm); valid when who is
        observed does not depend on outcome *changes* (e.g. exit after a bad
        shock), but composition changes that differ between funded and unfunded
        firms bias it. ``"balanced_pairs"`` — the within-firm panel estimator on
        the units observed in both periods of each cell, influence functions
        rescaled to all units; differencing removes fixed firm characteristics,
        so exit driven by size or level is harmless, but exit after a shock is
        not. :func:`jdeval.effects.attrition.attrition_diagnostic` tells which
        applies. On a balanced panel both equal the panel estimator.

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
    if panel_mode not in PANEL_MODES or not 0 < trim_level <= 1:
        raise ValueError(
            "参数无效 / invalid option: "
            f"panel_mode={panel_mode!r} (应为 / must be {' / '.join(PANEL_MODES)}), "
            f"trim_level={trim_level!r} (应在 (0, 1] / must be in (0, 1])"
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
        weightsname=weightsname,
    )
    rcs = panel.observed is not None and panel_mode != "balanced_pairs"
    if panel.observed is not None:
        panel.notes.append(
            "面板不平衡：按 R did 的做法使用重复截面估计量（每个 ATT(g,t) 使用两期中所有"
            "观测行） / unbalanced panel: repeated-cross-section estimators as R did"
            if rcs
            else "面板不平衡：使用两期均被观测的企业做企业内差分（balanced_pairs） / "
            "unbalanced panel: within-firm estimator on firms observed in both periods "
            "of each cell (balanced_pairs)"
        )
    records: list[dict] = []
    with _single_thread_blas():
        cells, inf = _estimate_cells(
            panel,
            control_group,
            est_method,
            anticipation,
            base_period,
            trim_level=trim_level,
            records=records,
            rcs=rcs,
        )
    overlap = _overlap(panel, est_method, records, trim_level)
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
        weightsname=weightsname,
        panel_mode=(
            "panel"
            if panel.observed is None
            else ("repeated_cross_section" if rcs else "balanced_pairs")
        ),
    )
    cluster = panel.cluster
    if cluster is not None:
        cluster = np.unique(cluster, return_inverse=True)[1].ravel()
        if cluster.max() + 1 == n:  # one unit per cluster: clustering by unit
            cluster = None
    bw = bootstrap_weights or ("mammen" if cluster is None else "webb")
    params["bootstrap_weights"] = bw
    inference = _inference_info(
        idname,
        clustervars[0] if cluster is not None else None,
        int(cluster.max()) + 1 if cluster is not None else n,
        bstrap,
        biters,
        bw,
    )
    jk = None
    if cluster is not None:
        with _single_thread_blas():
            jk = _cluster_jackknife(
                panel,
                cluster,
                control_group,
                est_method,
                anticipation,
                base_period,
                rcs,
                trim_level,
            )
        lost = np.isnan(jk).any(axis=0) & np.isfinite(cells[:, 2])
        if lost.any():
            bad = sorted({_fmt(v) for v in cells[lost, 0]})
            msg = (
                f"批次 {', '.join(bad)} 的企业集中在少数 {clustervars[0]} 群中，剔除其中一群后"
                "无法估计：这些 ATT(g,t) 及含它们的汇总不能按该变量聚类计算标准误（标准误记为缺失）",
                f"cohort(s) {', '.join(bad)} lie in too few {clustervars[0]} clusters to be "
                "estimated without each of them: no cluster-robust SE for their ATT(g,t) "
                "and aggregations that include them (SE left missing)",
            )
            warnings.warn(" / ".join(msg), DidWarning, stacklevel=2)
            panel.notes.append(" / ".join(msg))
    ses = _standard_errors(
        inf, cluster, n, bstrap, biters, alp, seed, bw, cells[:, 2], jk
    )
    frame["se"] = ses.se
    _add_intervals(frame, ses.crit, ses.crit_band)
    frame["post"] = frame["time"] >= frame["group"]
    return AttGtResult(
        frame=frame,
        estimator=f"Callaway-Sant'Anna ATT(g,t), {_EST_NAMES[est_method]}",
        kind="group_time",
        control_group=control_group,
        n_units=n,
        se_type=ses.text,
        alp=alp,
        outcome=yname,
        crit_val=ses.crit_band,
        notes=list(panel.notes),
        influence=inf,
        unit_group=panel.g,
        unit_weights=panel.w,
        cluster=cluster,
        params=params,
        inference=inference,
        overlap=overlap,
        jackknife=jk,
        t_df=ses.df,
    )


def _overlap(panel: DidPanel, est_method, records, trim_level) -> Overlap:
    """Overlap diagnostics per cohort; a :class:`DidWarning` per cohort without."""
    if est_method == "reg":
        return Overlap.unavailable(
            trim_level, "结果回归法（reg）不估计倾向得分，无重叠诊断"
        )
    if not panel.covariates:
        return Overlap.unavailable(
            trim_level, "未使用协变量：倾向得分为常数，不存在重叠问题"
        )
    ov = summarise_overlap(records, trim_level)
    for _, r in ov.table.loc[~ov.table["overlap_ok"]].iterrows():
        g = _fmt(r["cohort"])
        msg = (
            f"批次 {g} 的倾向得分缺乏重叠：{int(r['n'])} 家处理单位中 "
            f"{int(r['n_treated_above'])} 家的倾向得分 ≥ {trim_level:g}，对照组中没有可比"
            f"单位（已按 DRDID 规则剔除 {int(r['n_trimmed'])} 个得分过高的对照单位）；"
            "该批次的 ATT 依赖外推，不可靠",
            f"cohort {g}: poor propensity-score overlap: {int(r['n_treated_above'])} of "
            f"{int(r['n'])} treated units have a score >= {trim_level:g} and no comparable "
            f"comparison unit ({int(r['n_trimmed'])} comparison units trimmed as in "
            "DRDID); its ATT rests on extrapolation and is unreliable",
        )
        text = " / ".join(msg)
        warnings.warn(text, DidWarning, stacklevel=3)
        ov.warnings.append(text)
        panel.notes.append(text)
    return ov


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
            bw is None or bw in WEIGHTS,
            "bootstrap_weights",
            bw,
            " / ".join(f"'{w}'" for w in WEIGHTS),
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
    panel: DidPanel,
    control_group,
    est_method,
    anticipation,
    base_period,
    *,
    trim_level: float = TRIM_LEVEL,
    records: list | None = None,
    rcs: bool = False,
):
    """Loop over (g, t) as R ``did::compute.att_gt``; returns (cells, influence).

    ``rcs=True`` (unbalanced panel, R's meaning of ``allow_unbalanced_panel``):
    each cell uses the repeated-cross-section estimators on the rows observed in
    its two periods (:mod:`jdeval.effects._did_rcs`).

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
    seen: set[float] = set()  # cohorts with an overlap histogram
    for key, cells in todo.items():
        gv, ctrl_cohorts, xper = key[:3]
        cur0, pret0 = cells[0][1], cells[0][2]
        if rcs:  # one cell per key: the rows observed in its two periods
            out = _rcs_cell_units(
                panel, g == gv, ctrl_cohorts, cur0, pret0, est_method, gv, trim_level
            )
            if out is None:
                continue
            att_r, inf_u, diag = out
            inf[cells[0][0]] = inf_u
            rows[cells[0][0]][2] = att_r
            if records is not None and diag is not None:
                records.append(
                    overlap_record(gv, *diag, trim_level, hist=gv not in seen)
                )
                seen.add(gv)
            continue
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
            trim_level,
        )
        if design is None:
            continue
        if records is not None and design.ps is not None:
            records.append(
                overlap_record(
                    gv,
                    design.d,
                    design.ps,
                    design.w_cont,
                    trim_level,
                    hist=gv not in seen,
                )
            )
            seen.add(gv)
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


def _rcs_cell_units(
    panel, treated, ctrl_cohorts, cur, pret, est_method, gv, trim_level
):
    """One repeated-cross-section cell: ATT, influence per unit, overlap inputs.

    Rows are the treated-cohort and comparison units observed in period ``cur``
    (post) and in ``pret`` (pre); the per-row influence function is rescaled by
    ``n / rows`` and summed within unit (R ``did::compute.att_gt``).
    """
    sel = treated | np.isin(panel.g, ctrl_cohorts)
    u1 = np.flatnonzero(sel & panel.observed[cur])
    u0 = np.flatnonzero(sel & panel.observed[pret])
    units = np.concatenate([u1, u0])
    post = np.concatenate([np.ones(len(u1)), np.zeros(len(u0))])
    d = treated[units].astype(float)
    cell = f"ATT({_fmt(gv)},{_fmt(panel.tlist[cur])})"
    if (
        min((d * post).sum(), (d * (1 - post)).sum()) == 0
        or min(((1 - d) * post).sum(), ((1 - d) * (1 - post)).sum()) == 0
    ):
        warnings.warn(
            f"{cell} 无法估计：某一时期缺少处理组或对照组观测 / cannot be estimated: "
            "no treated or no comparison rows in one of its periods",
            DidWarning,
            stacklevel=4,
        )
        return None
    y = np.concatenate([panel.y[cur, u1], panel.y[pret, u0]])
    if panel.x_time_varying:
        x = np.concatenate([panel.x[cur][:, u1], panel.x[pret][:, u0]], axis=1).T
    else:
        x = panel.x[:, units].T
    w = np.ones(len(units)) if panel.w is None else panel.w[units]
    try:
        att, inf_rows, diag = rcs_cell(y, post, d, x, w, est_method, trim_level)
    except np.linalg.LinAlgError as exc:
        warnings.warn(
            f"{cell} 无法估计：{exc} / cannot be estimated: {exc}",
            DidWarning,
            stacklevel=4,
        )
        return None
    n = panel.n
    inf_u = np.bincount(units, weights=inf_rows * (n / len(units)), minlength=n)
    return att, inf_u, (None if diag is None else (d, *diag))


def _design(
    panel,
    treated,
    ctrl_cohorts,
    xper,
    cur,
    pret,
    est_method,
    gv,
    beta0=None,
    trim_level=TRIM_LEVEL,
):
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
        w = None if panel.w is None else panel.w[idx]
        return idx, CellDesign(d, x, est_method, beta0, trim_level, w)
    except np.linalg.LinAlgError as exc:
        warnings.warn(
            f"ATT({_fmt(gv)},{_fmt(panel.tlist[cur])}) 无法估计：{exc} / cannot be estimated: {exc}",
            DidWarning,
            stacklevel=4,
        )
        return idx, None


@dataclass
class _SE:
    """Standard errors and critical values of the columns of an influence matrix."""

    se: np.ndarray
    crit: float | np.ndarray  # pointwise critical value(s)
    crit_band: float | None  # uniform band (bootstrap only)
    df: float | None  # t degrees of freedom (cluster variable)
    p: np.ndarray | None  # bootstrap p-values (wild cluster bootstrap)
    text: str


def _standard_errors(
    inf, cluster, n, bstrap, biters, alp, seed, bw, est, reps=None
) -> _SE:
    """Analytic or bootstrap SEs and critical values (see the module docstring)."""
    if inf.ndim == 1:
        inf = inf[:, None]
    z = float(special.ndtri(1 - alp / 2))
    if cluster is not None:
        return _cluster_standard_errors(n, bstrap, biters, alp, seed, bw, est, reps)
    if bstrap:
        b = multiplier_bootstrap(
            inf, biters=biters, alp=alp, seed=seed, cluster=None, weights=bw
        )
        analytic = _analytic_se(inf, n)
        se = np.where(analytic <= _TOL0, np.nan, b["se"])
        crit = b["crit_val"]
        text = (
            f"乘数自助法（{biters} 次，{bw} 权重），按企业聚类，含一致置信带 / multiplier "
            f"bootstrap ({biters} draws, {bw} weights), clustered by firm, uniform bands"
        )
        return _SE(
            se, z, None if not np.isfinite(crit) else float(crit), None, None, text
        )
    se = _analytic_se(inf, n)
    text = "影响函数解析标准误，按单位（企业）聚类 / analytic influence-function SE, clustered by firm"
    return _SE(np.where(se <= _TOL0, np.nan, se), z, None, None, None, text)


def _cluster_standard_errors(n, bstrap, biters, alp, seed, bw, est, reps) -> _SE:
    """Few-cluster inference from the ``(G, p)`` leave-one-cluster-out estimates.

    CV3 jackknife variance with t(G-1), or the wild cluster bootstrap-t on the
    jackknife-transformed scores ``n (G-1)/G (θ_(-c) - θ̄)`` (same variance).
    """
    reps = np.asarray(reps, dtype=float)
    if reps.ndim == 1:
        reps = reps[:, None]
    g = reps.shape[0]
    df = float(g - 1)
    dev = reps - reps.mean(axis=0)
    se_a = np.sqrt((g - 1) / g * (dev**2).sum(axis=0))
    se_a = np.where(np.isfinite(se_a) & (se_a > _TOL0), se_a, np.nan)
    if not bstrap:
        text = (
            f"按聚类变量聚类：逐群剔除刀切法方差（{g} 个群），t({g - 1}) 临界值 / "
            f"clustered by the cluster variable: leave-one-cluster-out jackknife "
            f"variance ({g} clusters), t({g - 1}) critical values"
        )
        return _SE(se_a, float(special.stdtrit(df, 1 - alp / 2)), None, df, None, text)
    scores = np.where(np.isfinite(dev), dev, 0.0) * (n * (g - 1) / g)
    b = wild_cluster_bootstrap(scores, n, biters=biters, alp=alp, seed=seed, weights=bw)
    with np.errstate(invalid="ignore", divide="ignore"):
        t_obs = np.abs(np.asarray(est, dtype=float) / se_a)
        # (k + 1) / (B + 1): a bootstrap p-value is never exactly 0
        exceed = (np.abs(b["tstar"]) >= t_obs[None, :]).sum(axis=0)
        p = (exceed + 1) / (b["tstar"].shape[0] + 1)
    ok = np.isfinite(se_a)
    band = b["crit_val"]
    text = (
        f"野聚类自助法 bootstrap-t（刀切法变换得分，{biters} 次，{bw} 权重，{g} 个群），"
        f"含一致置信带 / wild cluster bootstrap-t on jackknife-transformed scores "
        f"({biters} draws, {bw} weights, {g} clusters), uniform bands"
    )
    return _SE(
        np.where(ok, b["se"], np.nan),
        np.where(ok, b["crit"], np.nan),
        None if not np.isfinite(band) else float(band),
        df,
        np.where(ok, p, np.nan),
        text,
    )


def _cluster_jackknife(
    panel: DidPanel,
    cluster,
    control_group,
    est_method,
    anticipation,
    base_period,
    rcs=False,
    trim_level=TRIM_LEVEL,
) -> np.ndarray:
    """``(G, cells)`` ATT(g, t) re-estimated without each cluster in turn."""
    out = []
    for c in range(int(cluster.max()) + 1):
        keep = cluster != c
        sub = dataclasses.replace(
            panel,
            y=panel.y[:, keep],
            x=panel.x[..., keep],
            observed=None if panel.observed is None else panel.observed[:, keep],
            g=panel.g[keep],
            ids=panel.ids[keep],
            cluster=None,
            w=None if panel.w is None else panel.w[keep],
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cells, _ = _estimate_cells(
                sub,
                control_group,
                est_method,
                anticipation,
                base_period,
                trim_level=trim_level,
                rcs=rcs,
            )
        out.append(cells[:, 2])
    return np.vstack(out)


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
    jk = res.jackknife
    if np.isnan(att).any():
        keep_cells = ~np.isnan(att)
        if jk is not None:
            jk = jk[:, keep_cells]
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
    wunit = res.unit_weights
    if wunit is None:
        pgg = np.array([(gunit == gv).mean() for gv in glist])
    else:  # weighted cohort shares (R aggte: mean(w * 1{G = g}))
        pgg = np.array([(wunit * (gunit == gv)).mean() for gv in glist])
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
        if wunit is None:
            return per_cohort[gcode]
        # weighted: w_i (a_i / s - c_i pa / s²); equal to the above when w = 1
        return (a_sum / s - cnt * pa / s**2)[gcode] * wunit

    row_cells: list[np.ndarray] = []  # cells of each row (for the jackknife)

    def combo(keepers, weights, with_wif):
        row_cells.append(keepers)
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
            if wunit is None:
                wif = ((a_ext - wsum) / s - (in_ext - s) * wsum / s**2)[gcode]
            else:
                wif = (a_ext / s - in_ext * wsum / s**2)[gcode] * wunit
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
    crit = None
    row_reps = overall_reps = None
    if jk is not None:
        row_reps, overall_reps = _jackknife_aggregate(
            kind, jk, row_cells, group, glist, gunit, cluster, rows, key, wunit
        )
    if psis:
        psi_mat = np.column_stack(psis)
        ses = _standard_errors(
            psi_mat,
            cluster,
            n,
            bstrap,
            biters,
            alp,
            seed,
            bw,
            frame["estimate"],
            row_reps,
        )
        crit = ses.crit_band
        frame["se"] = ses.se
        _add_intervals(frame, ses.crit, crit)
        if key in frame:
            frame[key] = _int_if_whole(frame[key].to_numpy(dtype=float))
    else:
        psi_mat = np.zeros((n, 0))
        frame = pd.DataFrame(columns=["estimate", "se", "ci_low", "ci_high"])
    o = _standard_errors(
        overall_psi[:, None],
        cluster,
        n,
        bstrap,
        biters,
        alp,
        seed,
        bw,
        [overall],
        overall_reps,
    )
    se_type = o.text
    o_se = o.se
    o_crit = float(np.ravel(o.crit)[0])
    if kind == "simple":
        frame = pd.DataFrame(
            {"term": ["ATT"], "estimate": [overall], "se": [float(o_se[0])]}
        )
        _add_intervals(frame, o_crit, None)
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
        t_df=o.df,
        overall_crit=o_crit if o.p is not None else None,
        overall_p=float(o.p[0]) if o.p is not None else None,
    )


def _jackknife_aggregate(
    kind, jk, row_cells, group, glist, gunit, cluster, rows, key, wunit=None
):
    """Leave-one-cluster-out values of an aggregation's rows and overall effect.

    Each replicate combines its own ATT(g, t) with the cohort shares of the units
    it keeps, by the same rules as the full-sample aggregation: rows weight their
    cells by cohort share; the overall effect is the simple aggregation's cells
    (``simple``), the cohort-share weighted mean of cohorts (``group``), or the mean
    of post-treatment event times (``dynamic``) or of periods (``calendar``).
    """
    n_cl = jk.shape[0]
    wu = np.ones(len(gunit)) if wunit is None else wunit
    pgg = np.vstack(
        [
            [(wu[cluster != c] * (gunit[cluster != c] == gv)).mean() for gv in glist]
            for c in range(n_cl)
        ]
    )
    pg = pgg[:, np.searchsorted(glist, group)]  # (G, cells)
    est = np.column_stack(
        [(jk[:, c] * pg[:, c]).sum(axis=1) / pg[:, c].sum(axis=1) for c in row_cells]
    )  # (G, combos)
    if kind == "simple":
        return None, est[:, 0]
    if kind == "group":
        g_rows = np.searchsorted(glist, [r[key] for r in rows])
        if len(g_rows) < len(glist):
            return est, np.full(n_cl, np.nan)
        w = pgg[:, g_rows]
        return est, (est * w).sum(axis=1) / w.sum(axis=1)
    if kind == "dynamic":
        epos = np.array([r[key] >= 0 for r in rows], bool)
        overall = est[:, epos].mean(axis=1) if epos.any() else np.full(n_cl, np.nan)
        return est, overall
    return est, est.mean(axis=1)


def _add_intervals(frame: pd.DataFrame, z, crit: float | None) -> None:
    """Add pointwise CIs (critical value(s) ``z``) and, with ``crit``, the uniform band."""
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
