"""The synthetic Jiading dataset: determinism, magnitudes, planted effects, truth.json.

Truth here is what the generator planted (its own potential outcomes and injected
rates); the tests check that the written data carries it.
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from jdeval.data import load, synthesize
from jdeval.data.contract import TABLE_ORDER
from jdeval.data.synth import COHORTS, OUTCOMES, SynthParams, generate_tables


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    return synthesize(out)


def _digests(folder):
    return {
        f.name: hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(folder.iterdir())
    }


def test_same_seed_gives_byte_identical_files(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    synthesize(a, seed=7, firms=150)
    synthesize(b, seed=7, firms=150)
    synthesize(c, seed=8, firms=150)
    da = _digests(a)
    assert set(da) == {f"{t}.csv" for t in TABLE_ORDER} | {"truth.json"}
    assert da == _digests(b)
    assert da["firm_year.csv"] != _digests(c)["firm_year.csv"]


def test_truth_layout(default):
    truth = default.truth
    assert truth["seed"] == 2024 and truth["n_firms"] == 1200
    assert truth["years"] == list(range(2019, 2026)) and truth["eval_year"] == 2024
    for o in OUTCOMES:
        e = truth["effects"][o]
        assert set(e["by_cohort"]) == {"2023", "2024", "2025"}
        assert set(e["by_event_time"]) == {"0", "1", "2"}
        assert "2023-2025" in e["by_cell"] and "2025-2024" not in e["by_cell"]
    assert set(truth["production"]) >= {"beta_k", "beta_l", "rho"}
    assert truth["selection"]["covariates"]
    for y in ("2023", "2024", "2025"):
        ind = truth["indicators"][y]
        for key in (
            "n_funded_enterprises",
            "cap_violation_rate",
            "o2_fail_rate",
            "late_tail_rate",
            "undisbursed_rate",
            "likert_probs",
            "response_rate",
            "n_offline_diagnoses",
            "n_recognitions",
        ):
            assert key in ind, (y, key)
        assert abs(sum(ind["likert_probs"]) - 1) < 1e-9
    json.dumps(truth)  # serialisable


def test_district_magnitudes(default):
    assert len(default.towns) == 12 and len(default.firms) == 1200
    assert default.years == list(range(2019, 2026))
    fy = default.firm_year
    y = fy[fy["year"] == 2024]
    assert len(y) == 1200
    go = y["gross_output"]
    assert 8_000 < go.median() < 16_000  # 0.8–1.6亿元
    assert go.mean() > 2.5 * go.median()  # heavy tail
    assert 0.5 < (go > 10_000).mean() < 0.65  # 55–60 % above 1亿元
    assert 4.0e7 < go.sum() < 5.5e7  # ≈ 4,500–5,200亿元
    emp = y["employees"].astype(float)
    assert 80 < emp.median() < 160 and emp.max() > 2000
    assert 0.25 < (y["tech_reno_inv"] > 0).mean() < 0.45
    assert (y["digital_inv"] <= y["tech_reno_inv"] + 1e-9).all()
    assert y["is_above_scale"].mean() > 0.9
    share36 = (default.firms["industry_div"] == "36").mean()
    assert 0.24 < share36 < 0.32
    assert default.firms["town_code"].nunique() == 12


def test_cohorts_and_selection(default):
    fy = default.firm_year
    g = fy.groupby("firm_id")["first_award_year"].first()
    counts = g.value_counts()
    assert set(counts.index) == {0, 2023, 2024, 2025}
    assert counts[0] / len(g) > 0.7  # decent never-funded share
    # first_award_year is the first approved/disbursed enterprise award
    a = default.awards
    ent = a[
        (a["beneficiary_type"] == "enterprise")
        & a["status"].isin(["approved", "disbursed"])
    ]
    first = ent.groupby("firm_id")["batch_year"].min()
    pd.testing.assert_series_equal(
        g[g > 0].sort_index(), first.astype("Int64").sort_index(), check_names=False
    )
    # selection on observables: funded firms are larger and more digital in 2022
    pre = fy[fy["year"] == 2022].set_index("firm_id")
    funded = g.reindex(pre.index) > 0
    assert (
        pre.loc[funded, "employees"].median()
        > 1.5 * pre.loc[~funded, "employees"].median()
    )
    assert (
        pre.loc[funded, "maturity_level"].mean()
        > pre.loc[~funded, "maturity_level"].mean()
    )


def _twfe(df, y):
    """Two-way FE estimate on a balanced panel with firm-clustered SE (by hand)."""
    wide_y = df.pivot(index="firm_id", columns="year", values=y).to_numpy(float)
    wide_d = df.pivot(index="firm_id", columns="year", values="d").to_numpy(float)

    def demean(m):
        return m - m.mean(1, keepdims=True) - m.mean(0, keepdims=True) + m.mean()

    yt, dt = demean(wide_y), demean(wide_d)
    b = (yt * dt).sum() / (dt**2).sum()
    u = yt - b * dt
    n, t = yt.shape
    score = (dt * u).sum(1)
    se = (
        np.sqrt((score**2).sum())
        / (dt**2).sum()
        * np.sqrt(n / (n - 1) * (n * t - 1) / (n * t - 2 - (n - 1) - (t - 1)))
    )
    return b, se


def _outcome_frame(ds):
    fy = ds.firm_year
    df = pd.DataFrame(
        {
            "firm_id": fy["firm_id"],
            "year": fy["year"].astype(int),
            "g": fy["first_award_year"].astype(int),
            "log_tech_reno_inv": np.log1p(fy["tech_reno_inv"]),
            "digital_inv_share": fy["digital_inv"] / fy["revenue"],
            "log_labour_productivity": np.log(
                fy["value_added"] / fy["employees"].astype(float)
            ),
        }
    )
    df["d"] = ((df["g"] > 0) & (df["year"] >= df["g"])).astype(float)
    return df


def test_planted_effects_recovered_and_naive_biased(default):
    df = _outcome_frame(default)
    truth = default.truth["effects"]
    for o in ("log_tech_reno_inv", "digital_inv_share", "log_labour_productivity"):
        att = truth[o]["att"]
        b, se = _twfe(df, o)
        assert att > 0
        assert abs(b - att) < 3 * se, (o, b, se, att)
        last = df[df["year"] == 2025]
        naive = last.loc[last["g"] > 0, o].mean() - last.loc[last["g"] == 0, o].mean()
        assert abs(naive - att) > 3 * se, (o, naive, att)  # selection bias
        if o != "log_labour_productivity":
            assert b - 1.96 * se > 0, o  # CI excludes 0 for investment outcomes
    assert 0.2 <= truth["log_tech_reno_inv"]["att"] <= 0.5
    assert 0.02 <= truth["tfp"]["att"] <= 0.05
    et = truth["tfp"]["by_event_time"]
    assert et["0"] < et["1"] < et["2"]  # ramps up with event time
    bc = truth["tfp"]["by_cohort"]
    assert bc["2023"] > bc["2024"] > bc["2025"]


def test_tfp_cells_follow_the_effect_design(default):
    t = default.truth
    p = SynthParams()
    mult = dict(p.cohort_mult)
    for g in COHORTS:
        for year in range(g, 2026):
            e = min(year - g, 2)
            expected = p.delta_tfp * p.ramp[e] * mult[g]
            assert t["effects"]["tfp"]["by_cell"][f"{g}-{year}"] == pytest.approx(
                expected
            )
    # att is the firm-weighted mean of the cells (CS "simple" aggregation)
    cells = t["effects"]["tfp"]["by_cell"]
    n = t["cohorts"]
    num = sum(cells[k] * n[k.split("-")[0]] for k in cells)
    den = sum(n[k.split("-")[0]] for k in cells)
    assert t["effects"]["tfp"]["att"] == pytest.approx(num / den)


def test_production_identity_and_proxy(default):
    """log VA = βk k + βl l + ω + ε, with ω recoverable from intermediate inputs."""
    pr = default.truth["production"]
    fy = default.firm_year
    k = np.log(fy["fixed_assets_net"].to_numpy(float))
    lab = np.log(fy["employees"].to_numpy(float))
    m = np.log(fy["intermediate_inputs"].to_numpy(float))
    va = np.log(fy["value_added"].to_numpy(float))
    m0 = np.log(3.2) + (1 - pr["a_omega"]) * pr["omega_bar"]
    omega = (m - m0 - pr["beta_k"] * k - pr["beta_l"] * lab) / pr["a_omega"]
    eps = va - pr["beta_k"] * k - pr["beta_l"] * lab - omega
    assert abs(eps.mean()) < 0.01
    assert eps.std() == pytest.approx(pr["sd_eps"], rel=0.1)
    # ω is an AR(1) with the stated persistence (treated firms excluded)
    w = pd.DataFrame(
        {"firm": fy["firm_id"], "year": fy["year"].astype(int), "w": omega}
    )
    never = fy.groupby("firm_id")["first_award_year"].transform("max") == 0
    w = w[never.to_numpy()].pivot(index="firm", columns="year", values="w").to_numpy()
    x, y = w[:, :-1].ravel(), w[:, 1:].ravel()
    rho = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    assert rho == pytest.approx(pr["rho"], abs=0.05)
    # OLS with the true ω recovers the elasticities
    X = np.column_stack([np.ones_like(k), k, lab])
    beta = np.linalg.lstsq(X, va - omega, rcond=None)[0]
    assert beta[1] == pytest.approx(pr["beta_k"], abs=0.01)
    assert beta[2] == pytest.approx(pr["beta_l"], abs=0.01)


def test_indicators_2024_realistic_and_match_the_data(default):
    ind = default.truth["indicators"]["2024"]
    a = default.awards
    a24 = a[a["batch_year"] == 2024]
    ok = a24["status"].isin(["approved", "disbursed", "clawed_back"])
    ent = a24[
        (a24["beneficiary_type"] == "enterprise")
        & a24["status"].isin(["approved", "disbursed"])
    ]
    assert ind["n_funded_enterprises"] == ent["firm_id"].nunique() >= 60
    over = (a24.loc[ok, "approved_amount"] > a24.loc[ok, "cap_amount"]).sum()
    assert over == ind["n_cap_violations"] and 1 <= over <= 10
    checks = [
        "expert_review_done",
        "publicity_done",
        "eligibility_ok",
        "amount_within_cap",
        "docs_complete",
        "no_duplicate_funding",
    ]
    fail = (~a24.loc[ok, checks].astype(bool).all(axis=1)).mean()
    assert fail == pytest.approx(ind["o2_fail_share"], abs=1e-6)
    lag = (a24["disbursement_date"] - a24["approval_date"]).dt.days
    disb = ok & a24["disbursement_date"].notna()
    assert (lag[disb] > 180).mean() == pytest.approx(ind["late_tail_share"], abs=1e-6)
    assert 0.03 <= ind["late_tail_share"] <= 0.15
    sv = default.survey_responses
    q0 = sv[(sv["year"] == 2024) & (sv["item_code"] == "Q0")]["likert"].astype(int)
    index = q0.map({5: 100, 4: 80, 3: 60, 2: 40, 1: 20}).mean()
    assert 80 <= index <= 92
    assert q0.size == ind["n_respondents"]
    assert ind["sat_index_expected"] == pytest.approx(86.2)
    b = default.budget.set_index("year")
    assert b.loc[2024, "budget_amount"] == 3000
    assert (b["funds_spent"] <= b["funds_received"]).all()
    assert (b["funds_received"] <= b["adjusted_budget"]).all()
    assert ind["budget"]["funds_spent"] == pytest.approx(ind["total_disbursed"])
    assert 2000 <= ind["total_approved"] <= 4000
    assert ind["n_offline_diagnoses"] >= 100 and ind["n_recognitions"] >= 30
    docs = default.policy_documents
    assert {
        "政策",
        "申报指南",
        "资金管理办法",
        "评审细则",
        "绩效目标",
        "绩效自评",
    } <= set(docs["type"])
    assert docs["clauses"].str.contains("追回").any()
    cats = set(a["category"])
    assert cats == {
        "DIAG",
        "SF_DISTRICT",
        "SF_CITY_DEMO",
        "PROVIDER",
        "LOAN_INTEREST",
        "ID_RESOLUTION",
        "IIP_PLATFORM",
        "SCENE",
    }


def test_findings_match_injections(default):
    codes = pd.Series([p.code for p in default.findings])
    ind = default.truth["indicators"]
    assert (codes == "over_cap").sum() == sum(ind[y]["n_cap_violations"] for y in ind)
    assert (codes == "late_payment").sum() == sum(
        ind[y]["n_late_over_180d"] for y in ind
    )
    assert (codes == "clawback").sum() == sum(ind[y]["n_clawbacks"] for y in ind)
    assert not [p for p in default.findings if p.severity != "finding"]


def test_in_memory_equals_written(tmp_path):
    mem = synthesize(None, seed=3, firms=120)
    disk = synthesize(tmp_path, seed=3, firms=120)
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(mem.tables[name], disk.tables[name], obj=name)
    assert mem.truth == disk.truth
    assert load(tmp_path).truth == disk.truth


def test_generate_tables_rejects_tiny_panels():
    with pytest.raises(ValueError):
        generate_tables(firms=10)
