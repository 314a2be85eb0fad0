"""Synthetic Jiading district with planted policy effects (the default dataset).

``synthesize(out, seed=2024, firms=1200)`` writes one CSV per contract table and a
``truth.json`` holding the exact estimands.  Everything below is what an
econometrician needs to trust tests that compare estimates with ``truth.json``.

Data-generating process
-----------------------
Firms (``firms``) are drawn with the town shares and industry mix of domain-spec
§7.1–§7.2 (``jdeval/resources/district.yaml``).  Each firm has three time-invariant
latent traits: scale ``s_i = 0.9·t_5`` (Student t, 5 d.f.; truncated below at -1.2 so
the firm is 规上, capped at 3.6, shifted by -0.1), digital propensity ``d_i``
(correlation 0.45 with scale) and investment propensity
``pi_i = -0.55 + 0.5 s_i + 0.5 d_i + N(0, 1)``.  Log target capital is
``kbar_i = c_k + 1.5 s_i + 0.15 d_i``.  The panel is balanced,
2019–2025, simulated from 2009 so that 2019 starts from the stationary distribution.

Production (all logs; truth["production"])::

    omega*_it = (1 - rho)·omega_bar + rho·omega*_i,t-1 + xi_it     xi ~ N(0, sd_xi)
    omega_it  = omega*_it + delta_it                                planted TFP effect
    l_it      = c_l + 1.15·s_i + phi·(omega_it - xi_it/2 - omega_bar) + eta_it
                                            (partial knowledge of omega: half of this
                                             year's innovation is unknown; eta is
                                             optimisation noise)
    K_it      = (1 - dep)·K_i,t-1 + I_i,t-1                        predetermined capital
    log VA_it = beta_k·k_it + beta_l·l_it + omega_it + eps_it       eps i.i.d. measurement
    log M_it  = m0 + beta_k·k_it + beta_l·l_it + a_omega·omega_it   deterministic and
                                                                   strictly increasing
                                                                   in omega: a valid
                                                                   ACF/LP proxy

``omega`` has no firm fixed effect, so the Markov assumption of Ackerberg–Caves–Frazer
holds exactly for untreated firms (for treated firms the innovation also contains
``delta_t - rho·delta_t-1``; control for treatment in the law of motion).
``l`` uses integer employees, ``K`` is ``fixed_assets_net`` and VA is ``value_added``,
so the identity holds in the written data up to rounding to 0.01 万元.

Investment: ``fixed_asset_inv = base_it + tech_reno_inv_it`` with
``base = dep·exp(kbar_i)·exp(0.3(omega - omega_bar) + nu)``.  ``tech_reno_inv`` is
positive iff ``pi_i + e_it > 0`` (``e ~ N(0, 0.2)``, persistent participation) and
then equals ``exp(kbar_i + c_tr + u_it)`` (``u ~ N(0, 0.3)``); ``digital_inv = share_it · tech_reno_inv``
with ``share = expit(a + 0.5·d_i + v_it)`` (≈ 30–60 %).  Revenue = (VA + M) with
small noise; 规上 = revenue ≥ 2000万元.

Selection into funding (truth["selection"]).  For cohort g = 2023, 2024, 2025 the
new beneficiaries are drawn without replacement among not-yet-funded firms with
probability ∝ exp(1.0·s_i + 0.8·d_i + 0.3·pi_i): larger, more digital, more
investing firms are funded.  These traits are time-invariant and every untreated
outcome is stationary given the firm, so parallel trends hold unconditionally
(and conditionally on the named pre-period covariates); the naive funded-vs-unfunded
comparison is biased by the level differences.  ``firm_year.first_award_year`` is the
batch year of the first approved/disbursed enterprise award (0 = never).  Later
repeat awards and rejected/withdrawn/clawed-back applications do not change cohorts
(rejected, withdrawn and clawed-back applicants are drawn from never-funded firms and
their outcomes are untreated).

Planted effects.  With event time ``e = t - g ≥ 0`` the intensity is
``r(g, e) = ramp[min(e, 2)] · mult[g]`` with ``ramp = (0.5, 0.85, 1.0)`` and
``mult = {2023: 1.2, 2024: 1.0, 2025: 0.85}``.  Treatment shifts the participation
index of tech_reno_inv by ``0.05·r``, its log amount by ``0.45·r``, the logit of the
digital share by ``0.5·r`` and TFP by ``delta = 0.035·r``; capital then follows the
higher investment.  Y(0) and Y(1) of every firm-year are built from the SAME shocks;
truth["effects"][outcome] gives the sample ATT over treated firm-years with
``t ≥ g`` (``att``, what Callaway–Sant'Anna "simple" aggregation targets with cells
weighted by their number of firms), and ``by_cohort``, ``by_event_time`` and
``by_cell`` ("g-t").  Outcomes are computed from the rounded, written values:
``log_tech_reno_inv = log(1 + tech_reno_inv)``, ``digital_inv_share =
digital_inv / revenue``, ``log_labour_productivity = log(value_added / employees)``
and ``tfp = omega``.

Compliance findings injected per batch year (truth["indicators"][year]).
 - ``cap_violation_rate[cat]``: probability that an approved award of category
   ``cat`` is set to 1.05–1.30 × its cap; ``amount_within_cap`` is then False.
 - ``o2_procedural_fail_rate`` q: each approved award independently fails, with
   probability q, exactly one of the five procedural checks expert_review_done,
   publicity_done (publicity dates then empty), eligibility_ok, docs_complete,
   no_duplicate_funding (chosen uniformly).  ``o2_fail_rate`` = expected probability
   that an approved award of that batch fails at least one of the six checks,
   ``1 - (1 - q)(1 - p_cap(cat))`` averaged over its awards; ``o2_fail_share`` is
   the realised share.
 - ``late_tail_rate``: probability a disbursement comes 181–300 days after
   approval (otherwise 30 + Gamma(2, 17) days, median ≈ 60).
 - ``undisbursed_rate``: probability an approved award is never disbursed;
   disbursements after ``as_of`` are also absent from the data.
 - survey: each funded enterprise of the batch responds with ``response_rate``;
   answers to Q0–Q6 come from a one-factor ordinal model whose marginal
   probabilities are exactly ``likert_probs`` (for 5, 4, 3, 2, 1).
 - counts: offline diagnoses, recognitions, providers, complaints, clawbacks.

truth.json
----------
``seed, n_firms, years, eval_year, as_of`` (the data's snapshot date), ``cohorts``
(firms per first-award year, "0" = never), ``effects`` (per outcome: ``att``,
``by_cohort``, ``by_event_time``, ``by_cell``, ``n_treated_firms``,
``n_treated_firm_years``), ``naive_diff_last_year`` (funded minus never-funded mean
in 2025: the biased comparison), ``production`` (``beta_k, beta_l, rho, sd_xi,
omega_bar, sd_eps, a_omega, phi_labour, depreciation``), ``selection``
(``description, covariates, covariate_definitions, parallel_trends``),
``effect_design`` and ``indicators[<batch year>]``: ``n_applications, n_approved``
(approved, disbursed or clawed back), ``n_enterprise_awards_approved,
n_funded_enterprises, n_new_funded_enterprises, cap_violation_rate,
n_cap_violations, cap_violations_by_category, o2_procedural_fail_rate,
o2_fail_rate, o2_fail_share, late_tail_rate, late_tail_share, n_late_over_180d,
undisbursed_rate, undisbursed_share, objection_unresolved_rate, n_clawbacks,
total_approved, total_disbursed, likert_probs, sat_index_expected, response_rate,
n_survey_population, n_respondents, n_offline_diagnoses, n_recognitions,
n_providers_cumulative, complaints{type: {n, n_substantiated}},
n_above_scale_firms, budget``.  Rates are the injection probabilities; ``*_share``
and ``n_*`` are what the written data realises.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd
import yaml

from jdeval.data.contract import TABLE_ORDER, get_contract
from jdeval.data.rules import APPROVED_STATUSES
from jdeval.data.uscc import make_uscc

__all__ = ["synthesize", "generate_tables", "SynthParams"]

YEARS = tuple(range(2019, 2026))
COHORTS = (2023, 2024, 2025)
EVAL_YEAR = 2024
AS_OF = date(2026, 6, 30)
BURN_IN_START = 2009

OUTCOMES = ("log_tech_reno_inv", "digital_inv_share", "log_labour_productivity", "tfp")
O2_CHECKS = (
    "expert_review_done",
    "publicity_done",
    "eligibility_ok",
    "amount_within_cap",
    "docs_complete",
    "no_duplicate_funding",
)
_PROCEDURAL = tuple(c for c in O2_CHECKS if c != "amount_within_cap")
_CATEGORY_MIX = {  # enterprise awards: share of funded firms' categories
    "DIAG": 0.40,
    "SF_DISTRICT": 0.24,
    "SF_CITY_DEMO": 0.05,
    "LOAN_INTEREST": 0.13,
    "ID_RESOLUTION": 0.07,
    "IIP_PLATFORM": 0.03,
    "SCENE": 0.08,
}
_SF_RANK = {
    "none": 0,
    "区级智能工厂": 1,
    "市智能工厂": 2,
    "市示范性智能工厂": 3,
    "市标杆性智能工厂": 4,
    "国家级示范": 5,
}


@dataclass(frozen=True)
class SynthParams:
    """Parameters of the DGP (defaults are the default dataset's)."""

    beta_k: float = 0.30
    beta_l: float = 0.65
    rho: float = 0.75
    sd_xi: float = 0.10
    omega_bar: float = 2.40
    sd_eps: float = 0.08
    phi: float = 0.6
    sd_eta: float = 0.12
    a_omega: float = 1.3
    dep: float = 0.10
    c_k: float = 8.0
    c_l: float = 4.55
    c_tr: float = -1.9
    sd_part: float = 0.2
    sd_amount: float = 0.3
    tau_z: float = 0.05
    tau_x: float = 0.45
    tau_share: float = 0.5
    delta_tfp: float = 0.035
    ramp: tuple[float, float, float] = (0.5, 0.85, 1.0)
    cohort_mult: tuple[tuple[int, float], ...] = (
        (2023, 1.2),
        (2024, 1.0),
        (2025, 0.85),
    )
    # per-1,200-firm counts (scaled with the number of firms)
    new_funded: tuple[tuple[int, int], ...] = ((2023, 75), (2024, 62), (2025, 58))
    repeat_funded: tuple[tuple[int, int], ...] = ((2023, 0), (2024, 15), (2025, 20))
    rejected: tuple[tuple[int, int], ...] = ((2023, 22), (2024, 26), (2025, 28))
    clawed_back: tuple[tuple[int, int], ...] = ((2023, 1), (2024, 1), (2025, 0))
    offline_diagnoses: tuple[tuple[int, int], ...] = (
        (2023, 108),
        (2024, 126),
        (2025, 138),
    )
    recognitions: tuple[tuple[int, int], ...] = (
        (2021, 8),
        (2022, 14),
        (2023, 32),
        (2024, 36),
        (2025, 38),
    )


# Injected compliance rates per batch year.
_RATES: dict[int, dict[str, Any]] = {
    2023: {
        "cap_violation_rate": {
            "DIAG": 0.03,
            "SF_DISTRICT": 0.08,
            "SF_CITY_DEMO": 0.0,
            "PROVIDER": 0.0,
            "LOAN_INTEREST": 0.0,
            "ID_RESOLUTION": 0.05,
            "IIP_PLATFORM": 0.0,
            "SCENE": 0.05,
        },
        "o2_procedural_fail_rate": 0.08,
        "late_tail_rate": 0.10,
        "undisbursed_rate": 0.02,
        "objection_unresolved_rate": 0.02,
        "likert_probs": [0.44, 0.40, 0.12, 0.03, 0.01],
        "response_rate": 0.86,
    },
    2024: {
        "cap_violation_rate": {
            "DIAG": 0.03,
            "SF_DISTRICT": 0.06,
            "SF_CITY_DEMO": 0.0,
            "PROVIDER": 0.0,
            "LOAN_INTEREST": 0.0,
            "ID_RESOLUTION": 0.05,
            "IIP_PLATFORM": 0.0,
            "SCENE": 0.05,
        },
        "o2_procedural_fail_rate": 0.05,
        "late_tail_rate": 0.07,
        "undisbursed_rate": 0.02,
        "objection_unresolved_rate": 0.0,
        "likert_probs": [0.48, 0.39, 0.10, 0.02, 0.01],
        "response_rate": 0.89,
    },
    2025: {
        "cap_violation_rate": {
            "DIAG": 0.02,
            "SF_DISTRICT": 0.04,
            "SF_CITY_DEMO": 0.0,
            "PROVIDER": 0.0,
            "LOAN_INTEREST": 0.0,
            "ID_RESOLUTION": 0.03,
            "IIP_PLATFORM": 0.0,
            "SCENE": 0.03,
        },
        "o2_procedural_fail_rate": 0.04,
        "late_tail_rate": 0.06,
        "undisbursed_rate": 0.02,
        "objection_unresolved_rate": 0.0,
        "likert_probs": [0.50, 0.38, 0.09, 0.02, 0.01],
        "response_rate": 0.90,
    },
}

_COMPLAINTS = {  # (type, substantiated, resolved) per year; 追回 added per clawback
    2023: [("投诉", False, True), ("信访", False, True)],
    2024: [("投诉", True, True), ("投诉", False, True), ("审计问题", True, True)],
    2025: [("投诉", False, True), ("舆情", False, False)],
}

_DOCUMENTS = [
    (
        "D01",
        "嘉定区推进制造业智能化改造和数字化转型行动计划(2023-2025年)",
        "",
        "行动计划",
        "2023-05-30",
        "2025-12-31",
        "五大行动;目标任务",
    ),
    (
        "D02",
        "嘉定区关于推进制造业智能化改造和数字化转型的若干政策",
        "嘉经规〔2023〕1号",
        "政策",
        "2023-08-01",
        "2025-12-31",
        "支持方向;补贴标准;申报条件;专家评审;公示;追回;绩效评价",
    ),
    (
        "D03",
        "嘉定区产业发展专项资金管理办法",
        "嘉经规〔2022〕2号",
        "资金管理办法",
        "2022-06-15",
        "2026-06-30",
        "资金拨付;监督检查;追回;绩效管理",
    ),
    (
        "D04",
        "嘉定区智改数转项目专家评审细则",
        "",
        "评审细则",
        "2023-08-20",
        "2025-12-31",
        "专家评审;回避;评分标准",
    ),
    (
        "D05",
        "2023年度嘉定区智改数转若干政策申报指南",
        "",
        "申报指南",
        "2023-08-25",
        "2023-12-31",
        "申报条件;申报材料;公示",
    ),
    (
        "D06",
        "2024年度嘉定区制造业企业智能化改造和数字化转型若干政策申报指南",
        "",
        "申报指南",
        "2024-08-09",
        "2024-12-31",
        "申报条件;申报材料;公示",
    ),
    (
        "D07",
        "2025年度嘉定区智改数转若干政策申报指南",
        "",
        "申报指南",
        "2025-08-08",
        "2025-12-31",
        "申报条件;申报材料;公示",
    ),
    (
        "D08",
        "2024年度财政政策绩效目标申报表(推进制造业智能化改造和数字化转型)",
        "",
        "绩效目标",
        "2024-01-20",
        "2024-12-31",
        "绩效目标;绩效指标",
    ),
    (
        "D09",
        "2023年度智改数转政策绩效自评报告",
        "",
        "绩效自评",
        "2024-03-28",
        "",
        "绩效自评",
    ),
    (
        "D10",
        "2025年度财政政策绩效目标申报表(推进制造业智能化改造和数字化转型)",
        "",
        "绩效目标",
        "2025-01-18",
        "2025-12-31",
        "绩效目标;绩效指标",
    ),
    (
        "D11",
        "2024年度智改数转政策绩效自评报告",
        "",
        "绩效自评",
        "2025-03-26",
        "",
        "绩效自评",
    ),
    (
        "D12",
        "智改数转若干政策实施情况评估及修订工作方案",
        "",
        "政策评估",
        "2025-09-15",
        "",
        "政策评估;延续修订",
    ),
]


def _scaled(pairs: tuple[tuple[int, int], ...], n_firms: int) -> dict[int, int]:
    return {y: int(round(v * n_firms / 1200)) for y, v in pairs}


def _district() -> dict[str, Any]:
    text = (
        resources.files("jdeval.resources")
        .joinpath("district.yaml")
        .read_text(encoding="utf-8")
    )
    return yaml.safe_load(text)


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _weighted_sample(rng, pool: np.ndarray, logw: np.ndarray, k: int) -> np.ndarray:
    """k items of ``pool`` without replacement, probability ∝ exp(logw) (Gumbel top-k)."""
    k = min(k, len(pool))
    if k <= 0:
        return pool[:0]
    key = logw + rng.gumbel(size=len(pool))
    return pool[np.sort(np.argpartition(-key, k - 1)[:k])]


# --------------------------------------------------------------------------- panel
def _simulate_panel(rng, p: SynthParams, lat: dict[str, np.ndarray], tau: np.ndarray):
    """Simulate 2009–2025 for all firms under treatment intensity ``tau`` (n × T).

    ``tau`` is zero before treatment; the caller passes the same ``rng`` state for
    both worlds so that the shocks are identical.
    """
    n = lat["s"].shape[0]
    years = np.arange(BURN_IN_START, YEARS[-1] + 1)
    T = len(years)
    s, d, pi, kbar = lat["s"], lat["d"], lat["pi"], lat["kbar"]
    sd_stat = p.sd_xi / np.sqrt(1 - p.rho**2)
    xi = rng.normal(0, p.sd_xi, size=(n, T))
    w0 = p.omega_bar + rng.normal(0, sd_stat, size=n)
    eta = rng.normal(0, p.sd_eta, size=(n, T))
    eps = rng.normal(0, p.sd_eps, size=(n, T))
    nu = rng.normal(0, 0.25, size=(n, T))
    e_part = rng.normal(0, p.sd_part, size=(n, T))
    u_amt = rng.normal(0, p.sd_amount, size=(n, T))
    v_share = rng.normal(0, 0.3, size=(n, T))
    k0 = kbar + rng.normal(0, 0.15, size=n)
    tau = np.concatenate([np.zeros((n, T - tau.shape[1])), tau], axis=1)

    omega_star = np.empty((n, T))
    omega_star[:, 0] = w0
    for t in range(1, T):
        omega_star[:, t] = (
            (1 - p.rho) * p.omega_bar + p.rho * omega_star[:, t - 1] + xi[:, t]
        )
    omega = omega_star + p.delta_tfp * tau
    # labour is chosen knowing omega except half of this year's innovation
    known = omega - 0.5 * xi
    emp = np.maximum(
        1,
        np.round(
            np.exp(p.c_l + 1.15 * s[:, None] + p.phi * (known - p.omega_bar) + eta)
        ),
    )
    part = (pi[:, None] + e_part + p.tau_z * tau) > 0
    tr = np.where(part, np.exp(kbar[:, None] + p.c_tr + u_amt + p.tau_x * tau), 0.0)
    tr = np.round(tr, 2)
    share = _expit(-0.7 + 0.5 * d[:, None] + v_share + p.tau_share * tau)
    dig = np.round(share * tr, 2)
    base = (
        p.dep * np.exp(kbar[:, None]) * np.exp(0.3 * (omega - p.omega_bar) + nu - 0.03)
    )
    inv = np.round(base, 2) + tr
    cap = np.empty((n, T))
    cap[:, 0] = np.exp(k0)
    for t in range(1, T):
        cap[:, t] = (1 - p.dep) * cap[:, t - 1] + inv[:, t - 1]
    cap = np.round(cap, 2)
    k, lab = np.log(cap), np.log(emp)
    va = np.round(np.exp(p.beta_k * k + p.beta_l * lab + omega + eps), 2)
    m0 = np.log(3.2) + (1 - p.a_omega) * p.omega_bar
    mid = np.round(np.exp(m0 + p.beta_k * k + p.beta_l * lab + p.a_omega * omega), 2)
    keep = slice(T - len(YEARS), T)
    return {
        "omega": omega[:, keep],
        "employees": emp[:, keep],
        "tech_reno_inv": tr[:, keep],
        "digital_inv": dig[:, keep],
        "fixed_asset_inv": inv[:, keep],
        "fixed_assets_net": cap[:, keep],
        "value_added": va[:, keep],
        "intermediate_inputs": mid[:, keep],
    }


def _outcomes(w: dict[str, np.ndarray], revenue: np.ndarray) -> dict[str, np.ndarray]:
    return {
        "log_tech_reno_inv": np.log1p(w["tech_reno_inv"]),
        "digital_inv_share": w["digital_inv"] / revenue,
        "log_labour_productivity": np.log(w["value_added"] / w["employees"]),
        "tfp": w["omega"],
    }


def _revenue(w: dict[str, np.ndarray], shocks: np.ndarray) -> tuple[np.ndarray, ...]:
    gross = np.round(
        (w["value_added"] + w["intermediate_inputs"]) * np.exp(shocks[0]), 2
    )
    revenue = np.round(gross * np.exp(shocks[1]), 2)
    return gross, revenue


# --------------------------------------------------------------------------- main
def generate_tables(
    *, seed: int = 2024, firms: int = 1200, params: SynthParams | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Generate all contract tables and the truth dictionary (nothing written).

    Parameters
    ----------
    seed
        Seed of :func:`numpy.random.default_rng`; same seed → same tables.
    firms
        Number of 规上 firms.
    params
        DGP parameters; defaults to :class:`SynthParams`.

    Returns
    -------
    tables, truth
    """
    p = params or SynthParams()
    n = int(firms)
    if n < 100:
        raise ValueError("firms must be at least 100")
    ss = np.random.SeedSequence(seed)
    r_firm, r_panel, r_sel, r_award, r_side = (
        np.random.default_rng(c) for c in ss.spawn(5)
    )
    dist = _district()
    contract = get_contract()
    caps = contract.caps()

    # ---- firms -----------------------------------------------------------
    s = 0.9 * r_firm.standard_t(5, size=4 * n)
    s = s[s > -1.2][:n]
    while len(s) < n:  # practically never
        extra = 0.9 * r_firm.standard_t(5, size=n)
        s = np.concatenate([s, extra[extra > -1.2]])[:n]
    s = np.minimum(s, 3.6) - 0.1
    d = 0.45 * s / s.std() + np.sqrt(1 - 0.45**2) * r_firm.normal(size=n)
    pi = -0.55 + 0.5 * s + 0.5 * d + r_firm.normal(0, 1.0, size=n)
    kbar = p.c_k + 1.5 * s + 0.15 * d
    lat = {"s": s, "d": d, "pi": pi, "kbar": kbar}

    towns = pd.DataFrame(dist["towns"])
    tshare = towns["share"].to_numpy(float)
    town_idx = r_firm.choice(len(towns), size=n, p=tshare / tshare.sum())
    inds = dist["industries"]
    ishare = np.array([i["share"] for i in inds], float)
    ind_idx = r_firm.choice(len(inds), size=n, p=ishare / ishare.sum())
    industry_div = np.array([inds[i]["div"] for i in ind_idx])
    industry_code = np.array(
        [inds[i]["classes"][r_firm.integers(len(inds[i]["classes"]))] for i in ind_idx]
    )
    key_industry = np.array([inds[i]["key"] for i in ind_idx])
    foreign_p = np.where(industry_div == "36", 0.30, 0.15)
    u = r_firm.random(n)
    ownership = np.where(
        u < foreign_p, "外资", np.where(u < foreign_p + 0.08, "港澳台", "内资")
    )
    founded = np.clip(
        np.round(2004 - 4 * s + r_firm.normal(0, 7, n)), 1980, 2018
    ).astype(int)
    is_zjtx = r_firm.random(n) < _expit(-2.0 + 0.8 * d - 0.3 * np.abs(s))
    is_high_tech = r_firm.random(n) < _expit(-0.8 + 0.6 * d + 0.3 * s)
    town_codes = towns["town_code"].to_numpy()[town_idx]
    new_city = np.isin(town_codes, ["ML", "JY", "XCL"]) & (r_firm.random(n) < 0.6)
    firm_ids = np.array([f"F{i + 1:06d}" for i in range(n)])
    org = r_firm.integers(10_000_000, 99_999_999, size=n)
    firms_df = pd.DataFrame(
        {
            "firm_id": firm_ids,
            "uscc": [make_uscc(str(o)) for o in org],
            "name_masked": [f"企业{i + 1:06d}(脱敏)" for i in range(n)],
            "town_code": town_codes,
            "industry_code": industry_code,
            "industry_div": industry_div,
            "key_industry": key_industry,
            "ownership": ownership,
            "founded_year": founded,
            "is_zjtx": is_zjtx,
            "is_high_tech": is_high_tech,
            "in_new_city_key_area": new_city,
        }
    )

    # ---- selection into funding (before outcomes: traits are time-invariant) --
    n_new = _scaled(p.new_funded, n)
    n_rep = _scaled(p.repeat_funded, n)
    first_year = np.zeros(n, dtype=int)
    logw = 1.0 * s + 0.8 * d + 0.3 * pi
    funded_by_year: dict[int, np.ndarray] = {}
    for g in COHORTS:
        pool = np.flatnonzero(first_year == 0)
        new = _weighted_sample(r_sel, pool, logw[pool], n_new[g])
        first_year[new] = g
        prev = np.flatnonzero((first_year > 0) & (first_year < g))
        rep = _weighted_sample(r_sel, prev, logw[prev], n_rep[g])
        funded_by_year[g] = np.sort(np.concatenate([new, rep]))

    # ---- potential outcomes ----------------------------------------------
    mult = dict(p.cohort_mult)
    yrs = np.array(YEARS)
    ev = yrs[None, :] - first_year[:, None]
    treated = first_year > 0
    ramp = np.array(p.ramp)
    tau = np.where(
        treated[:, None] & (ev >= 0),
        ramp[np.clip(ev, 0, 2)]
        * np.vectorize(lambda g: mult.get(g, 0.0))(first_year)[:, None],
        0.0,
    )
    state = r_panel.bit_generator.state
    w0 = _simulate_panel(r_panel, p, lat, np.zeros_like(tau))
    r_panel.bit_generator.state = state
    w1 = _simulate_panel(r_panel, p, lat, tau)
    rev_shocks = np.stack(
        [
            r_panel.normal(0, 0.02, size=tau.shape),
            r_panel.normal(-0.02, 0.03, size=tau.shape),
        ]
    )
    _, revenue0 = _revenue(w0, rev_shocks)
    gross1, revenue1 = _revenue(w1, rev_shocks)
    y0 = _outcomes(w0, revenue0)
    y1 = _outcomes(w1, revenue1)

    # ---- firm_year -------------------------------------------------------
    nT = len(YEARS)
    fid = np.repeat(firm_ids, nT)
    year_col = np.tile(yrs, n)
    flat = {k: v.reshape(-1) for k, v in w1.items()}
    revenue = revenue1.reshape(-1)
    rd_int = np.where(
        r_panel.random(n * nT) < 0.2,
        r_panel.uniform(0, 0.003, n * nT),
        np.exp(r_panel.normal(np.log(0.025), 0.5, n * nT)),
    )
    margin = r_panel.normal(0.05, 0.05, n * nT)
    profit = np.round(revenue * margin, 2)
    tax = np.round(np.maximum(0, revenue * 0.03 + 0.25 * np.maximum(profit, 0)), 2)

    # maturity: latent digital level drifting up, plus a treatment bump
    mat_fixed = r_panel.normal(0, 0.5, n)
    latent = (0.85 * d + mat_fixed)[:, None] + 0.15 * (yrs[None, :] - 2023) + 0.4 * tau
    latent = np.maximum.accumulate(latent, axis=1)
    cuts = np.array([NormalDist().inv_cdf(q) for q in (0.30, 0.60, 0.85, 0.97, 0.995)])
    maturity = np.searchsorted(cuts, latent)

    firm_year = pd.DataFrame(
        {
            "firm_id": fid,
            "year": year_col,
            "is_above_scale": revenue >= 2000,
            "gross_output": gross1.reshape(-1),
            "revenue": revenue,
            "employees": flat["employees"].astype(np.int64),
            "fixed_asset_inv": np.round(flat["fixed_asset_inv"], 2),
            "tech_reno_inv": flat["tech_reno_inv"],
            "digital_inv": flat["digital_inv"],
            "rd_expense": np.round(revenue * rd_int, 2),
            "profit_total": profit,
            "tax_paid": tax,
            "value_added": flat["value_added"],
            "fixed_assets_net": flat["fixed_assets_net"],
            "intermediate_inputs": flat["intermediate_inputs"],
            "maturity_level": maturity.reshape(-1).astype(np.int64),
        }
    )

    # ---- providers -------------------------------------------------------
    n_prov = 45
    intro = np.concatenate(
        [
            r_side.integers(2019, 2023, 18),
            np.full(8, 2023),
            np.full(9, 2024),
            np.full(10, 2025),
        ]
    )
    ptype = r_side.choice(
        ["市智能工厂评估诊断机构", "数字化转型服务商", "系统集成商", "工业互联网平台"],
        size=n_prov,
        p=[0.35, 0.35, 0.2, 0.1],
    )
    ptype[:12] = "市智能工厂评估诊断机构"
    providers = pd.DataFrame(
        {
            "provider_id": [f"P{i + 1:03d}" for i in range(n_prov)],
            "name_masked": [f"服务商{i + 1:03d}(脱敏)" for i in range(n_prov)],
            "type": ptype,
            "on_city_list": (ptype == "市智能工厂评估诊断机构")
            | (r_side.random(n_prov) < 0.4),
            "registered_in_jiading": r_side.random(n_prov) < 0.7,
            "introduced_year": intro,
        }
    )
    diag_providers = providers.loc[
        providers["type"] == "市智能工厂评估诊断机构", "provider_id"
    ].to_numpy()

    # ---- awards ----------------------------------------------------------
    awards, loans, award_truth = _make_awards(
        r_award, p, n, funded_by_year, first_year, firms_df, firm_year, providers, caps
    )

    # ---- diagnoses -------------------------------------------------------
    diagnoses = _make_diagnoses(
        r_side, p, n, awards, firm_year, firm_ids, diag_providers, maturity, yrs
    )
    providers["n_jiading_firms_served"] = diagnoses.groupby("provider_id")[
        "firm_id"
    ].nunique().reindex(providers["provider_id"]).fillna(0).to_numpy().astype(
        np.int64
    ) + r_side.integers(0, 25, n_prov)

    # ---- recognitions, sf_level, flags -----------------------------------
    recognitions = _make_recognitions(r_side, p, n, awards, firm_ids, maturity, yrs)
    rank_names = {v: k for k, v in _SF_RANK.items()}
    rec_rank = (
        recognitions["level"]
        .map(
            {
                "区级智能工厂": 1,
                "市智能工厂": 2,
                "市示范性智能工厂": 3,
                "市标杆性智能工厂": 4,
                "国家智能制造示范工厂": 5,
            }
        )
        .fillna(0)
        .astype(int)
    )
    best = np.zeros((n, nT), dtype=int)
    fidx = pd.Series(np.arange(n), index=firm_ids)
    rows = fidx.loc[recognitions["firm_id"]].to_numpy()
    cols = recognitions["year"].to_numpy() - YEARS[0]
    np.maximum.at(best, (rows, cols), rec_rank.to_numpy())
    best = np.maximum.accumulate(best, axis=1)
    firm_year["sf_level"] = [rank_names[v] for v in best.reshape(-1)]

    online_year = np.where(
        r_side.random(n) < 0.15, 2021, np.where(r_side.random(n) < 0.45, 2022, 2023)
    )
    firm_year["diag_online"] = year_col >= np.repeat(online_year, nT)
    first_diag = diagnoses.groupby("firm_id")["year"].min()
    fd = first_diag.reindex(firm_ids).fillna(9999).to_numpy().astype(int)
    firm_year["diag_offline"] = year_col >= np.repeat(fd, nT)
    project_done = (np.repeat(first_year, nT) > 0) & (
        year_col >= np.repeat(first_year, nT)
    )
    firm_year["transformed"] = (
        (firm_year["maturity_level"].to_numpy() >= 2)
        | (best.reshape(-1) > 0)
        | project_done
    )
    firm_year["first_award_year"] = np.repeat(first_year, nT).astype(np.int64)

    # ---- survey, budget, documents, complaints ------------------------------
    survey, survey_truth = _make_survey(r_side, awards)
    budget = _make_budget(awards, n)
    complaints = _make_complaints(r_side, awards)
    documents = pd.DataFrame(
        _DOCUMENTS,
        columns=[
            "doc_id",
            "title",
            "doc_no",
            "type",
            "issue_date",
            "valid_until",
            "clauses",
        ],
    )
    towns_df = towns.drop(columns=["share"])
    if "subarea" not in towns_df:
        towns_df["subarea"] = ""

    tables = {
        "towns": towns_df,
        "firms": firms_df,
        "firm_year": firm_year,
        "awards": awards,
        "diagnoses": diagnoses,
        "providers": providers,
        "recognitions": recognitions,
        "loans": loans,
        "survey_responses": survey,
        "budget": budget,
        "policy_documents": documents,
        "complaints_audit": complaints,
    }
    for name in TABLE_ORDER:  # contract column order
        cols = [c for c in contract[name].columns if c in tables[name].columns]
        tables[name] = tables[name][cols]

    truth = _truth(
        seed, n, p, first_year, y0, y1, yrs, tables, award_truth, survey_truth, lat
    )
    return tables, truth


def _make_awards(
    rng, p, n, funded_by_year, first_year, firms_df, firm_year, providers, caps
):
    rows: list[dict[str, Any]] = []
    award_truth: dict[int, dict[str, Any]] = {}
    fy_above = firm_year.set_index(["firm_id", "year"])["is_above_scale"]
    firm_ids = firms_df["firm_id"].to_numpy()
    town = firms_df["town_code"].to_numpy()
    div = firms_df["industry_div"].to_numpy()
    cats = list(_CATEGORY_MIX)
    cat_p = np.array(list(_CATEGORY_MIX.values()))
    cat_p = cat_p / cat_p.sum()
    n_rej = _scaled(p.rejected, n)
    n_claw = _scaled(p.clawed_back, n)
    never = np.flatnonzero(first_year == 0)
    used_never: set[int] = set()
    prov_ids = providers["provider_id"].to_numpy()
    prov_intro = providers["introduced_year"].to_numpy()
    banks = [
        "工商银行",
        "建设银行",
        "农业银行",
        "中国银行",
        "交通银行",
        "上海银行",
        "浦发银行",
        "农商银行",
    ]
    loans: list[dict[str, Any]] = []
    for y in COHORTS:
        rates = _RATES[y]
        entries: list[
            tuple[str, int | None, str | None, str]
        ] = []  # (type, firm, prov, status)
        for f in funded_by_year[y]:
            k = rng.choice(len(cats), p=cat_p)
            cat = cats[k]
            if cat == "DIAG" and not bool(fy_above.get((firm_ids[f], y), True)):
                cat = "SCENE"
            entries.append(("enterprise", int(f), None, cat))
            if rng.random() < 0.15:
                cat2 = cats[rng.choice(len(cats), p=cat_p)]
                if cat2 != cat and cat2 != "DIAG":
                    entries.append(("enterprise", int(f), None, cat2))
        n_p = {2023: 4, 2024: 5, 2025: 5}[y]
        cand = np.flatnonzero(prov_intro <= y)
        for j in rng.choice(cand, size=min(n_p, len(cand)), replace=False):
            entries.append(("provider", None, str(prov_ids[j]), "PROVIDER"))
        statuses = ["ok"] * len(entries)
        avail = np.array([i for i in never if i not in used_never])
        extra = rng.choice(avail, size=n_rej[y] + n_claw[y], replace=False)
        used_never.update(int(i) for i in extra)
        for j, f in enumerate(extra):
            cat = cats[rng.choice(len(cats), p=cat_p)]
            entries.append(("enterprise", int(f), None, cat))
            if j < n_claw[y]:
                statuses.append("clawed_back")
            else:
                statuses.append("rejected" if rng.random() < 0.8 else "withdrawn")

        guide = {
            2023: date(2023, 8, 25),
            2024: date(2024, 8, 9),
            2025: date(2025, 8, 8),
        }[y]
        year_rows = []
        for (btype, f, prov, cat), st in zip(entries, statuses):
            cap = caps[cat]
            fee = np.nan
            if cat == "DIAG":
                fee = round(float(rng.uniform(3, 8)), 2)
                approved = (
                    min(cap, fee)
                    if rng.random() < 0.7
                    else round(min(cap, 0.8 * fee), 2)
                )
                pti = fee
                elig = fee
            elif cat == "LOAN_INTEREST":
                principal = round(
                    float(np.exp(rng.uniform(np.log(500), np.log(10000)))), 2
                )
                rate = round(float(rng.uniform(2.8, 4.0)), 2)
                interest = round(principal * rate / 100, 2)
                approved = round(min(cap, 0.5 * interest), 2)
                pti, elig = principal, interest
            else:
                med = {
                    "SF_DISTRICT": 1500,
                    "SF_CITY_DEMO": 5000,
                    "ID_RESOLUTION": 500,
                    "IIP_PLATFORM": 2500,
                    "SCENE": 800,
                    "PROVIDER": 300,
                }[cat]
                pti = round(float(med * np.exp(rng.normal(0, 0.5))), 2)
                elig = round(pti * 0.8, 2)
                if cat in ("SF_DISTRICT", "SF_CITY_DEMO", "PROVIDER", "SCENE"):
                    approved = (
                        cap
                        if rng.random() < 0.85
                        else round(float(rng.uniform(0.6, 1) * cap), 2)
                    )
                else:
                    approved = round(min(cap, 0.3 * pti), 2)
            over = st == "ok" and rng.random() < rates["cap_violation_rate"].get(
                cat, 0.0
            )
            if over:
                approved = round(cap * float(rng.uniform(1.05, 1.3)), 2)
                if cat == "DIAG":
                    fee = max(fee, approved)
                    elig = pti = fee
            requested = round(max(approved, approved * float(rng.uniform(1.0, 1.3))), 2)
            app = guide + timedelta(days=int(rng.integers(3, 52)))
            review = max(app + timedelta(days=10), date(y, 10, 8)) + timedelta(
                days=int(rng.integers(0, 35))
            )
            pub_start = review + timedelta(days=int(rng.integers(5, 15)))
            pub_end = pub_start + timedelta(days=6)
            approval = pub_end + timedelta(days=int(rng.integers(3, 20)))
            late = rng.random() < rates["late_tail_rate"]
            lag = (
                int(rng.integers(181, 301)) if late else int(30 + rng.gamma(2.0, 17.0))
            )
            undisb = rng.random() < rates["undisbursed_rate"]
            disb = approval + timedelta(days=lag)
            flags = dict.fromkeys(_PROCEDURAL, True)
            proc_fail = None
            if (
                st in ("ok", "clawed_back")
                and rng.random() < rates["o2_procedural_fail_rate"]
            ):
                proc_fail = _PROCEDURAL[int(rng.integers(len(_PROCEDURAL)))]
                flags[proc_fail] = False
            row = {
                "batch_year": y,
                "beneficiary_type": btype,
                "firm_id": firm_ids[f] if f is not None else None,
                "provider_id": prov,
                "category": cat,
                "project_total_investment": pti,
                "eligible_cost": elig,
                "requested_amount": requested,
                "approved_amount": approved,
                "cap_amount": float(cap),
                "application_date": app,
                "review_date": review,
                "publicity_start": pub_start,
                "publicity_end": pub_end,
                "approval_date": approval,
                "disbursement_date": disb,
                "town_code": town[f] if f is not None else "JDIZ",
                "industry_div": div[f] if f is not None else None,
                **flags,
                "publicity_objection_resolved": rng.random()
                >= rates["objection_unresolved_rate"],
                "clawback": st == "clawed_back",
                "_late": late,
                "_over": over,
                "_proc_fail": proc_fail is not None,
                "_loan": (principal, rate, interest)
                if cat == "LOAN_INTEREST"
                else None,
            }
            if st in ("rejected", "withdrawn"):
                row.update(
                    approved_amount=0.0,
                    disbursed_amount=0.0,
                    publicity_start=None,
                    publicity_end=None,
                    approval_date=None,
                    disbursement_date=None,
                    publicity_done=False,
                    status=st,
                    _late=False,
                    _over=False,
                    _proc_fail=False,
                )
                if st == "withdrawn":
                    row.update(review_date=None, expert_review_done=False)
                else:
                    row.update(eligibility_ok=False)
            else:
                if not row["publicity_done"]:
                    row.update(publicity_start=None, publicity_end=None)
                if st == "clawed_back":
                    row.update(status="clawed_back", disbursed_amount=approved)
                    row["disbursement_date"] = approval + timedelta(
                        days=int(30 + rng.gamma(2.0, 17.0))
                    )
                    row["_late"] = False
                elif undisb or disb > AS_OF:
                    row.update(
                        status="approved", disbursed_amount=0.0, disbursement_date=None
                    )
                else:
                    row.update(status="disbursed", disbursed_amount=approved)
            row["amount_within_cap"] = st not in ("ok", "clawed_back") or (
                approved <= cap and (cat != "DIAG" or approved <= fee)
            )
            row["_undisb_injected"] = bool(undisb) and st == "ok"
            year_rows.append(row)
        year_rows.sort(key=lambda r: (r["application_date"], r["category"]))
        for i, r in enumerate(year_rows):
            r["award_id"] = f"A{y}{i + 1:05d}"
            nm = r["firm_id"] or r["provider_id"]
            r["project_name"] = (
                f"{nm} {get_contract().categories[r['category']]['zh']}项目"
            )
            if r["_loan"] is not None and r["status"] in APPROVED_STATUSES:
                principal, rate, interest = r["_loan"]
                loans.append(
                    {
                        "loan_id": f"L{y}{len(loans) + 1:05d}",
                        "firm_id": r["firm_id"],
                        "bank": banks[int(rng.integers(len(banks)))],
                        "principal": principal,
                        "rate": rate,
                        "start_date": date(y - 1, 1, 1)
                        + timedelta(days=int(rng.integers(0, 540))),
                        "term_months": int(rng.choice([12, 24, 36, 60])),
                        "interest_paid_year": interest,
                        "subsidy_rate": 0.5,
                        "subsidy_amount": r["approved_amount"],
                        "award_id": r["award_id"],
                    }
                )
        approved_rows = [r for r in year_rows if r["status"] in APPROVED_STATUSES]
        capr = rates["cap_violation_rate"]
        exp_fail = float(
            np.mean(
                [
                    1
                    - (1 - rates["o2_procedural_fail_rate"])
                    * (1 - capr.get(r["category"], 0.0))
                    for r in approved_rows
                ]
            )
        )
        real_fail = float(
            np.mean([not all(r[c] for c in O2_CHECKS) for r in approved_rows])
        )
        disbursed_rows = [
            r for r in approved_rows if r["disbursement_date"] is not None
        ]
        ent = [
            r
            for r in year_rows
            if r["beneficiary_type"] == "enterprise"
            and r["status"] in ("approved", "disbursed")
        ]
        award_truth[y] = {
            "n_applications": len(year_rows),
            "n_approved": len(approved_rows),
            "n_enterprise_awards_approved": len(ent),
            "n_funded_enterprises": len({r["firm_id"] for r in ent}),
            "n_new_funded_enterprises": int((first_year == y).sum()),
            "cap_violation_rate": dict(capr),
            "n_cap_violations": int(sum(r["_over"] for r in year_rows)),
            "cap_violations_by_category": {
                c: int(sum(r["_over"] for r in year_rows if r["category"] == c))
                for c in caps
            },
            "o2_procedural_fail_rate": rates["o2_procedural_fail_rate"],
            "o2_fail_rate": round(exp_fail, 6),
            "o2_fail_share": round(real_fail, 6),
            "late_tail_rate": rates["late_tail_rate"],
            "late_tail_share": round(
                float(np.mean([r["_late"] for r in disbursed_rows])), 6
            )
            if disbursed_rows
            else None,
            "n_late_over_180d": int(sum(r["_late"] for r in disbursed_rows)),
            "undisbursed_rate": rates["undisbursed_rate"],
            "undisbursed_share": round(
                float(np.mean([r["disbursement_date"] is None for r in approved_rows])),
                6,
            ),
            "objection_unresolved_rate": rates["objection_unresolved_rate"],
            "n_clawbacks": int(sum(r["status"] == "clawed_back" for r in year_rows)),
            "total_approved": round(
                float(sum(r["approved_amount"] for r in approved_rows)), 2
            ),
            "total_disbursed": round(
                float(sum(r["disbursed_amount"] for r in approved_rows)), 2
            ),
        }
        rows.extend(year_rows)
    df = pd.DataFrame(rows)
    df = df.drop(columns=[c for c in df.columns if c.startswith("_")])
    loans_df = pd.DataFrame(loans)
    return df, loans_df, award_truth


def _make_diagnoses(
    rng, p, n, awards, firm_year, firm_ids, diag_providers, maturity, yrs
):
    n_diag = _scaled(p.offline_diagnoses, n)
    go = firm_year.pivot(index="firm_id", columns="year", values="gross_output")
    go = go.reindex(firm_ids)
    above = firm_year.pivot(index="firm_id", columns="year", values="is_above_scale")
    above = above.reindex(firm_ids)
    fidx = pd.Series(np.arange(len(firm_ids)), index=firm_ids)
    diagnosed = np.zeros(len(firm_ids), bool)
    rows = []
    for y in COHORTS:
        diag_aw = awards[(awards["batch_year"] == y) & (awards["category"] == "DIAG")]
        linked = diag_aw[["firm_id", "award_id", "eligible_cost", "application_date"]]
        chosen = [
            (fidx[f], a, fee, app) for f, a, fee, app in linked.itertuples(index=False)
        ]
        taken = {c[0] for c in chosen}
        pool = np.flatnonzero(~diagnosed & above[y].to_numpy(bool))
        pool = np.array([i for i in pool if i not in taken], dtype=int)
        w = np.log(np.where(go[y].to_numpy()[pool] >= 10000, 4.0, 1.0))
        k = max(0, n_diag[y] - len(chosen))
        extra = _weighted_sample(rng, pool, w, k)
        chosen += [(int(i), None, None, None) for i in extra]
        for i, aid, fee, app in chosen:
            diagnosed[i] = True
            if app is not None:
                offline = app - timedelta(days=int(rng.integers(20, 150)))
            else:
                offline = date(y, 1, 5) + timedelta(days=int(rng.integers(0, 330)))
            report = offline + timedelta(days=int(rng.integers(15, 45)))
            mat = int(maturity[i, y - yrs[0]])
            rows.append(
                {
                    "firm_id": firm_ids[i],
                    "provider_id": diag_providers[
                        int(rng.integers(len(diag_providers)))
                    ],
                    "year": offline.year,
                    "online_self_assessment_date": date(2023, 1, 10)
                    + timedelta(days=int(rng.integers(0, 170))),
                    "online_level": int(np.clip(mat + rng.integers(-1, 2), 0, 5)),
                    "offline_diag_date": offline,
                    "report_date": report,
                    "report_accepted": bool(rng.random() < 0.96),
                    "fee": fee
                    if fee is not None
                    else round(float(rng.uniform(3, 8)), 2),
                    "award_id": aid,
                    "assessed_level": int(np.clip(mat, 1, 5)),
                    "n_recommendations": int(rng.integers(3, 16)),
                }
            )
    df = pd.DataFrame(rows).sort_values(["offline_diag_date", "firm_id"], kind="stable")
    df.insert(0, "diag_id", [f"DG{i + 1:06d}" for i in range(len(df))])
    return df.reset_index(drop=True)


def _make_recognitions(rng, p, n, awards, firm_ids, maturity, yrs):
    n_rec = _scaled(p.recognitions, n)
    ok = awards["status"].isin(["approved", "disbursed"])
    rows = []
    issuers = {
        "区级智能工厂": "嘉定区经济委员会",
        "市智能工厂": "上海市经济和信息化委员会",
        "市示范性智能工厂": "上海市经济和信息化委员会",
        "优秀场景": "嘉定区经济委员会",
        "国家优秀场景": "工业和信息化部",
        "先进级": "上海市经济和信息化委员会",
    }
    for y, total in n_rec.items():
        sel = awards[ok & (awards["batch_year"] == y)]
        base = [
            (f, "区级智能工厂")
            for f in sel.loc[sel["category"] == "SF_DISTRICT", "firm_id"]
        ]
        base += [
            (f, "市示范性智能工厂")
            for f in sel.loc[sel["category"] == "SF_CITY_DEMO", "firm_id"]
        ]
        k = max(0, total - len(base))
        mat = maturity[:, min(max(y - yrs[0], 0), len(yrs) - 1)]
        others = _weighted_sample(
            rng, np.arange(len(firm_ids)), 0.8 * mat.astype(float), k
        )
        levels = rng.choice(
            ["区级智能工厂", "市智能工厂", "优秀场景", "国家优秀场景", "先进级"],
            size=len(others),
            p=[0.35, 0.2, 0.35, 0.03, 0.07],
        )
        base += [(firm_ids[i], lv) for i, lv in zip(others, levels)]
        for f, lv in base:
            rows.append(
                {
                    "firm_id": f,
                    "year": y,
                    "level": lv,
                    "scene_name": f"{lv}-{f}"
                    if lv not in ("优秀场景", "国家优秀场景")
                    else f"{f} 智能制造优秀场景",
                    "issuer": issuers[lv],
                }
            )
    df = pd.DataFrame(rows)
    df.insert(0, "rec_id", [f"R{i + 1:05d}" for i in range(len(df))])
    return df


def _make_survey(rng, awards):
    rows = []
    truth: dict[int, dict[str, Any]] = {}
    items = ["Q0", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6"]
    comments = [
        "希望简化申报材料",
        "拨付速度可以更快",
        "服务商水平参差不齐",
        "政策宣传到位",
        "",
    ]
    lam = 0.7
    for y in COHORTS:
        rates = _RATES[y]
        ent = awards[
            (awards["batch_year"] == y)
            & (awards["beneficiary_type"] == "enterprise")
            & awards["status"].isin(["approved", "disbursed"])
        ]
        pop = ent.groupby("firm_id", sort=True)["award_id"].first()
        respond = rng.random(len(pop)) < rates["response_rate"]
        probs = np.array(rates["likert_probs"])  # for 5, 4, 3, 2, 1
        # thresholds on a standard-normal latent: P(score = 1) = probs[-1], …
        cum = np.cumsum(probs[::-1])[:-1]
        cuts = np.array([NormalDist().inv_cdf(float(q)) for q in cum])
        for j, (firm, aid) in enumerate(pop[respond].items()):
            theta = rng.normal()
            rid = f"S{y}{j + 1:04d}"
            sdate = date(y + 1, 2, 1) + timedelta(days=int(rng.integers(0, 55)))
            channel = rng.choice(["online", "phone", "onsite"], p=[0.6, 0.3, 0.1])
            comment = (
                comments[int(rng.integers(len(comments)))] if rng.random() < 0.2 else ""
            )
            for it in items:
                latent = lam * theta + np.sqrt(1 - lam**2) * rng.normal()
                score = int(np.searchsorted(cuts, latent)) + 1
                rows.append(
                    {
                        "response_id": rid,
                        "year": y,
                        "firm_id": firm,
                        "award_id": aid,
                        "survey_date": sdate,
                        "channel": channel,
                        "item_code": it,
                        "likert": score,
                        "comment": comment if it == "Q0" else "",
                    }
                )
        v = np.array([100, 80, 60, 40, 20])
        truth[y] = {
            "likert_probs": list(rates["likert_probs"]),
            "sat_index_expected": round(float(probs @ v), 4),
            "response_rate": rates["response_rate"],
            "n_survey_population": int(len(pop)),
            "n_respondents": int(respond.sum()),
        }
    return pd.DataFrame(rows), truth


def _make_budget(awards, n_firms):
    """Budget per batch year: 3,000万元 (scaled with the number of firms), adjusted
    upwards when the approved total needs it; spending = disbursed amounts."""
    ok = awards["status"].isin(APPROVED_STATUSES)
    base = round(3000.0 * n_firms / 1200, -2)
    rows = []
    for y, recv in ((2023, 1.0), (2024, 0.98), (2025, 0.97)):
        sel = ok & (awards["batch_year"] == y)
        approved = float(awards.loc[sel, "approved_amount"].sum())
        spent = round(float(awards.loc[sel, "disbursed_amount"].sum()), 2)
        adj = max(base, 100.0 * np.ceil((approved + 150) / 100))
        rows.append(
            {
                "year": y,
                "budget_amount": base,
                "adjusted_budget": adj,
                "funds_received": max(round(adj * recv, 2), spent),
                "funds_spent": spent,
                "source": "区级产业发展专项资金",
            }
        )
    return pd.DataFrame(rows)


def _make_complaints(rng, awards):
    rows = []
    for y, events in _COMPLAINTS.items():
        yr = awards[awards["batch_year"] == y]
        for typ, subst, resolved in events:
            aid = yr["award_id"].iloc[int(rng.integers(len(yr)))]
            rows.append(
                {
                    "date": date(y, 11, 1) + timedelta(days=int(rng.integers(0, 150))),
                    "type": typ,
                    "award_id": aid,
                    "substantiated": subst,
                    "resolved": resolved,
                    "amount": None,
                    "description": f"{typ}事项",
                }
            )
        for r in yr[yr["status"] == "clawed_back"].itertuples():
            rows.append(
                {
                    "date": r.disbursement_date + timedelta(days=120),
                    "type": "追回",
                    "award_id": r.award_id,
                    "substantiated": True,
                    "resolved": True,
                    "amount": r.approved_amount,
                    "description": "弄虚作假，追回补贴资金",
                }
            )
    df = pd.DataFrame(rows).sort_values("date", kind="stable").reset_index(drop=True)
    df.insert(0, "event_id", [f"E{i + 1:04d}" for i in range(len(df))])
    return df


def _agg_effects(
    diff: np.ndarray, first_year: np.ndarray, yrs: np.ndarray
) -> dict[str, Any]:
    tr = np.flatnonzero(first_year > 0)
    g = first_year[tr][:, None].repeat(len(yrs), axis=1)
    t = np.broadcast_to(yrs, g.shape)
    dd = diff[tr]
    post = t >= g
    out: dict[str, Any] = {"att": float(dd[post].mean())}
    out["by_cohort"] = {str(c): float(dd[post & (g == c)].mean()) for c in COHORTS}
    e = t - g
    out["by_event_time"] = {
        str(k): float(dd[post & (e == k)].mean()) for k in sorted(set(e[post].ravel()))
    }
    out["by_cell"] = {
        f"{c}-{yy}": float(dd[(g == c) & (t == yy)].mean())
        for c in COHORTS
        for yy in yrs
        if yy >= c
    }
    out["n_treated_firms"] = int(len(tr))
    out["n_treated_firm_years"] = int(post.sum())
    return out


def _round_floats(obj: Any, nd: int = 10) -> Any:
    if isinstance(obj, float):
        return round(obj, nd)
    if isinstance(obj, dict):
        return {k: _round_floats(v, nd) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v, nd) for v in obj]
    return obj


def _truth(seed, n, p, first_year, y0, y1, yrs, tables, award_truth, survey_truth, lat):
    effects = {}
    naive = {}
    last = len(yrs) - 1
    for o in OUTCOMES:
        diff = y1[o] - y0[o]
        effects[o] = _agg_effects(diff, first_year, yrs)
        obs = y1[o][:, last]
        naive[o] = float(obs[first_year > 0].mean() - obs[first_year == 0].mean())
    fy = tables["firm_year"]
    indicators: dict[str, Any] = {}
    diag = tables["diagnoses"]
    rec = tables["recognitions"]
    comp = tables["complaints_audit"]
    prov = tables["providers"]
    for y in COHORTS:
        d = dict(award_truth[y])
        d.update(survey_truth[y])
        d["n_offline_diagnoses"] = int(
            diag.loc[
                pd.to_datetime(diag["offline_diag_date"]).dt.year == y, "firm_id"
            ].nunique()
        )
        d["n_recognitions"] = int((rec["year"] == y).sum())
        d["n_providers_cumulative"] = int((prov["introduced_year"] <= y).sum())
        cy = comp[pd.to_datetime(comp["date"]).dt.year == y]
        d["complaints"] = {
            t: {
                "n": int((cy["type"] == t).sum()),
                "n_substantiated": int(((cy["type"] == t) & cy["substantiated"]).sum()),
            }
            for t in ["投诉", "信访", "舆情", "事故", "审计问题", "违规", "追回"]
        }
        d["n_above_scale_firms"] = int(fy.loc[fy["year"] == y, "is_above_scale"].sum())
        brow = tables["budget"].set_index("year").loc[y]
        d["budget"] = {
            k: float(brow[k])
            for k in (
                "budget_amount",
                "adjusted_budget",
                "funds_received",
                "funds_spent",
            )
        }
        indicators[str(y)] = d
    cohorts = {str(g): int((first_year == g).sum()) for g in COHORTS}
    cohorts["0"] = int((first_year == 0).sum())
    truth = {
        "seed": int(seed),
        "n_firms": int(n),
        "years": [int(y) for y in yrs],
        "eval_year": EVAL_YEAR,
        "as_of": AS_OF.isoformat(),
        "cohorts": cohorts,
        "effects": effects,
        "naive_diff_last_year": naive,
        "production": {
            "beta_k": p.beta_k,
            "beta_l": p.beta_l,
            "rho": p.rho,
            "sd_xi": p.sd_xi,
            "omega_bar": p.omega_bar,
            "sd_eps": p.sd_eps,
            "a_omega": p.a_omega,
            "phi_labour": p.phi,
            "depreciation": p.dep,
            "description": "log VA = beta_k log K + beta_l log L + omega + eps; omega = omega* "
            "+ delta with omega* AR(1) around omega_bar; K predetermined; log M = m0 + beta_k "
            "k + beta_l l + a_omega omega (deterministic proxy).",
        },
        "selection": {
            "description": "P(funded in cohort g | not yet funded) ∝ exp(1.0 s + 0.8 d + 0.3 pi) "
            "with time-invariant latent scale s, digital propensity d and investment "
            "propensity pi; untreated outcomes are stationary given the firm, so parallel "
            "trends hold unconditionally and conditional on these pre-period covariates.",
            "covariates": [
                "log_employees_2022",
                "maturity_level_2022",
                "log_revenue_2022",
            ],
            "covariate_definitions": {
                "log_employees_2022": "log(firm_year.employees) in 2022",
                "maturity_level_2022": "firm_year.maturity_level in 2022",
                "log_revenue_2022": "log(firm_year.revenue) in 2022",
            },
            "parallel_trends": "unconditional",
            "latent_corr_with_treatment": {
                k: float(np.corrcoef(v, (first_year > 0).astype(float))[0, 1])
                for k, v in lat.items()
                if k in ("s", "d", "pi")
            },
        },
        "effect_design": {
            "ramp_by_event_time": list(p.ramp),
            "cohort_multiplier": {str(g): m for g, m in p.cohort_mult},
            "tau_participation": p.tau_z,
            "tau_log_amount": p.tau_x,
            "tau_digital_share_logit": p.tau_share,
            "delta_tfp": p.delta_tfp,
        },
        "indicators": indicators,
        "documents": {
            "eval_year_valid_policy": "D02",
            "guide_2024": "D06",
            "continuation_plan": "D12 (issued 2025-09-15)",
        },
    }
    return _round_floats(truth)


# --------------------------------------------------------------------------- I/O
def _to_csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        s = df[c]
        if len(s) and isinstance(s.dropna().iloc[0] if s.notna().any() else None, date):
            out[c] = s.map(lambda v: v.isoformat() if isinstance(v, date) else "")
        elif s.dtype == bool:
            out[c] = s.map({True: "true", False: "false"})
        elif (
            s.dtype == object
            and s.dropna().map(type).eq(bool).all()
            and s.notna().any()
        ):
            out[c] = s.map({True: "true", False: "false"}).fillna("")
        else:
            out[c] = s
    return pd.DataFrame(out)


def write_dataset(
    tables: dict[str, pd.DataFrame], truth: dict[str, Any], out: Path
) -> None:
    """Write one CSV per table (UTF-8, ``\\n`` line ends) and ``truth.json``."""
    out.mkdir(parents=True, exist_ok=True)
    for name in TABLE_ORDER:
        _to_csv_frame(tables[name]).to_csv(
            out / f"{name}.csv", index=False, lineterminator="\n", encoding="utf-8"
        )
    (out / "truth.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )


def synthesize(out: str | Path | None = None, *, seed: int = 2024, firms: int = 1200):
    """Generate the synthetic Jiading dataset (see the module docstring for the DGP).

    Parameters
    ----------
    out
        Folder to write ``<table>.csv`` files and ``truth.json`` into; ``None``
        keeps everything in memory.
    seed
        Random seed; the same seed gives byte-identical files.
    firms
        Number of 规上 firms (default 1,200 as in domain-spec §7.3).

    Returns
    -------
    Dataset
        Loaded and validated as :func:`jdeval.data.load` would (with ``truth``).
    """
    from jdeval.data.loading import dataset_from_frames, load

    tables, truth = generate_tables(seed=seed, firms=firms)
    if out is None:
        return dataset_from_frames(
            {k: _to_csv_frame(v) for k, v in tables.items()}, source=None, truth=truth
        )
    out = Path(out)
    write_dataset(tables, truth, out)
    return load(out)
