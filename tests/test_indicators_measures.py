"""Measurements and checklist rules on a tiny hand-built dataset."""

import copy
from types import SimpleNamespace

import pandas as pd
import pytest

from jdeval.indicators import load_targets
from jdeval.indicators.checks import RULES
from jdeval.indicators.measures import Context, measure

T = True
F_ = False


def _awards():
    cols = [
        "award_id",
        "batch_year",
        "beneficiary_type",
        "firm_id",
        "provider_id",
        "category",
        "project_total_investment",
        "approved_amount",
        "disbursed_amount",
        "approval_date",
        "disbursement_date",
        "status",
        "expert_review_done",
        "publicity_done",
        "eligibility_ok",
        "amount_within_cap",
        "docs_complete",
        "no_duplicate_funding",
        "publicity_objection_resolved",
        "clawback",
    ]
    rows = [
        [
            "A1",
            2024,
            "enterprise",
            "F1",
            None,
            "SF_DISTRICT",
            500,
            50,
            50,
            "2024-11-01",
            "2025-01-01",
            "disbursed",
            T,
            T,
            T,
            T,
            T,
            T,
            T,
            F_,
        ],
        [
            "A2",
            2024,
            "enterprise",
            "F2",
            None,
            "SF_DISTRICT",
            600,
            60,
            60,
            "2024-11-01",
            "2025-02-01",
            "disbursed",
            T,
            T,
            T,
            F_,
            T,
            T,
            T,
            F_,
        ],
        [
            "A3",
            2024,
            "enterprise",
            "F1",
            None,
            "DIAG",
            10,
            5,
            0,
            "2024-11-01",
            None,
            "approved",
            T,
            T,
            T,
            T,
            T,
            T,
            T,
            F_,
        ],
        [
            "A4",
            2024,
            "provider",
            None,
            "P1",
            "PROVIDER",
            100,
            50,
            50,
            "2024-12-01",
            "2025-01-15",
            "disbursed",
            T,
            T,
            T,
            T,
            T,
            T,
            T,
            F_,
        ],
        [
            "A5",
            2024,
            "enterprise",
            "F3",
            None,
            "SF_DISTRICT",
            300,
            0,
            0,
            None,
            None,
            "rejected",
            F_,
            F_,
            F_,
            T,
            T,
            T,
            T,
            F_,
        ],
        [
            "A6",
            2024,
            "enterprise",
            "F4",
            None,
            "SF_CITY_DEMO",
            900,
            100,
            100,
            "2024-11-15",
            "2025-01-10",
            "clawed_back",
            T,
            T,
            T,
            T,
            F_,
            T,
            T,
            T,
        ],
        [
            "B1",
            2023,
            "enterprise",
            "F5",
            None,
            "SF_DISTRICT",
            1000,
            40,
            40,
            "2023-11-01",
            "2024-01-01",
            "disbursed",
            T,
            T,
            T,
            T,
            T,
            T,
            T,
            F_,
        ],
    ]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("approval_date", "disbursement_date"):
        df[c] = pd.to_datetime(df[c])
    return df


def _ds(**extra):
    tables = {"awards": _awards(), **extra}
    return SimpleNamespace(tables=tables, files={})


@pytest.fixture(scope="module")
def targets():
    t = copy.deepcopy(load_targets())
    t.policies.eval_date = "2025-12-31"
    return t


def _ctx(targets, **extra):
    return Context(_ds(**extra), targets, year=2024, scheme="A")


def test_cost_cap_counts_only_approved(targets):
    m = measure(_ctx(targets), targets.indicator("C1"))
    assert m.details["n"] == 2 and m.details["n_within"] == 1  # 50 ok, 60 over
    assert m.rating.f == 0.5 and m.actual == 50.0
    assert m.details["max"] == 60.0
    # one firm's amount never appears in the display or the reason (reviewers see both)
    assert "60.00" not in m.display and "60.00" not in m.reasons[0].zh()
    assert "1个项目核定金额超过标准50万元" in m.reasons[0].zh()
    c3 = measure(_ctx(targets), targets.indicator("C3"))  # only a clawed-back award
    assert not c3.rating.applicable


def test_covered_firms(targets):
    m = measure(_ctx(targets), targets.indicator("O1"))
    assert m.actual == 2  # F1 (twice) and F2; provider, rejected, clawed back excluded
    assert m.rating.f == pytest.approx(2 / 60)
    assert "少58家" in m.reasons[0].zh()


def test_award_compliance_and_misuse_cap(targets):
    m = measure(_ctx(targets), targets.indicator("O2"))
    # A1, A3, A4 pass; A2 over cap; A6 (clawed back, counted) lacks documents
    assert m.details["n"] == 5 and m.details["n_pass"] == 3
    assert m.rating.f == pytest.approx(0.6) and m.rating.tier == "部分达成"
    ev = pd.DataFrame(
        {
            "event_id": ["E1"],
            "date": pd.to_datetime(["2024-06-01"]),
            "type": ["追回"],
            "award_id": ["A6"],
            "substantiated": [True],
            "resolved": [True],
        }
    )
    capped = measure(_ctx(targets, complaints_audit=ev), targets.indicator("O2"))
    assert capped.rating.f == pytest.approx(0.59) and capped.rating.tier == "未达成"


def test_deadline(targets):
    m = measure(_ctx(targets), targets.indicator("O3"))
    # A3 undisbursed 425 days after approval at 2025-12-31 → not on time; others paid
    assert m.details["n"] == 5 and m.rating.f == pytest.approx(0.8)
    assert m.details["n_undisbursed"] == 1
    # A1 61, A2 92, A4 45, A6 56 days → median 58.5, mean 63.5
    assert m.details["median_days"] == pytest.approx(58.5)
    assert m.details["mean_days"] == pytest.approx(63.5)


def test_investment_trend(targets):
    m = measure(_ctx(targets), targets.indicator("B1"))
    assert m.details["current"] == 1210 and m.details["previous"] == 1000
    assert m.rating.ratio == pytest.approx(0.21) and m.rating.f == 1.0
    assert "（上年1,000.00万元，+21.0%）" in m.display
    # the first batch has nothing to compare with: not "上年0.00万元"
    first = measure(
        Context(_ds(), targets, year=2023, scheme="A"), targets.indicator("B1")
    )
    assert not first.rating.applicable and "首个批次" in first.display
    assert "上年1" not in first.display and "上年0" not in first.display
    assert not first.reasons  # not applicable, so no "did not grow" reason


def test_budget_ratio_by_scheme(targets):
    b = pd.DataFrame(
        {
            "year": [2024],
            "budget_amount": [100.0],
            "adjusted_budget": [80.0],
            "funds_received": [90.0],
            "funds_spent": [72.0],
            "source": ["x"],
        }
    )
    ctx = _ctx(targets, budget=b)
    a = measure(ctx, targets.indicator("P2"))
    assert a.actual == pytest.approx(90.0)  # 72 / 80 (scheme A: 执行数/全年预算数)
    ctx.scheme = "B"
    assert measure(ctx, targets.indicator("P2")).actual == pytest.approx(80.0)  # 72/90
    assert measure(ctx, targets.indicator("P1")).actual == pytest.approx(90.0)


def _docs():
    return pd.DataFrame(
        {
            "doc_id": ["D1", "D2", "D3"],
            "title": ["若干政策", "2024申报指南", "评审细则"],
            "doc_no": ["嘉经规〔2023〕1号", None, ""],
            "type": ["政策", "申报指南", "评审细则"],
            "issue_date": pd.to_datetime(["2023-08-01", "2024-08-09", "2023-09-01"]),
            "valid_until": pd.to_datetime(["2025-12-31", None, None]),
            "clauses": ["追回;公示", "", None],
        }
    )


def test_document_rules(targets):
    ctx = _ctx(targets, policy_documents=_docs())
    r = RULES["document_exists"]
    assert r(ctx, types=["政策"], valid_through_year=True).x == 1.0
    assert r(ctx, types=["申报指南"], issued_in_year=True).x == 1.0
    assert r(ctx, types=["评审细则"], has_doc_no=True).x == 0.0
    assert r(ctx, types=["修订计划"]).x == 0.0
    assert RULES["documents_all"](ctx, types=["政策", "绩效自评"]).x == 0.5
    assert RULES["clause_exists"](ctx, clause="追回").x == 1.0
    assert RULES["clause_exists"](ctx, clause="绩效").x == 0.0
    ctx2025 = Context(_ds(policy_documents=_docs()), targets, year=2026)
    assert r(ctx2025, types=["政策"], valid_through_year=True).x == 0.0
    # absent table: the item needs an assessment
    assert r(_ctx(targets), types=["政策"]).x is None


def test_event_and_award_rules(targets):
    ev = pd.DataFrame(
        {
            "event_id": ["E1", "E2"],
            "date": pd.to_datetime(["2024-03-01", "2023-03-01"]),
            "type": ["投诉", "信访"],
            "award_id": [None, None],
            "substantiated": [False, True],
            "resolved": [True, True],
        }
    )
    ctx = _ctx(targets, complaints_audit=ev)
    assert RULES["no_events"](ctx, types=["投诉", "信访"]).x == 0.0
    assert RULES["no_events"](ctx, types=["投诉", "信访"], substantiated=True).x == 1.0
    assert RULES["no_clawback"](ctx).x == 0.0  # A6
    r = RULES["all_awards_true"](ctx, column="amount_within_cap", partial_share=0.95)
    assert r.x == 0.0 and len(r.rows) == 1  # 2 of 3 approved awards: below 95%
    assert RULES["disbursed_within_approved"](ctx).x == 1.0
    top = RULES["top_share_at_most"](ctx, top=1, max=0.5)
    # approved (approved/disbursed): F1 55, F2 60, P1 50 → top-1 share 60/165
    assert top.x == 1.0 and "36.4%" in top.evidence


def test_panel_rules(targets):
    fy = pd.DataFrame(
        {
            "firm_id": ["F1", "F2", "F1", "F2", "F1", "F2"],
            "year": [2023, 2023, 2024, 2024, 2022, 2022],
            "is_above_scale": [True] * 6,
            "transformed": [False, True, True, True, False, False],
            "first_award_year": [2024, 0, 2024, 0, 2024, 0],
            "digital_inv": [10.0, 10.0, 20.0, 11.0, 5.0, 5.0],
        }
    )
    ctx = _ctx(targets, firm_year=fy)
    # share 0.5 (2023, base) → 1.0 (2024); path to 0.8 in 2025: 0.5 + 0.3/2 = 0.65
    r = RULES["share_on_path"](
        ctx, column="transformed", target=0.8, target_year=2025, base_year=2023
    )
    assert r.x == 1.0 and "65.0%" in r.evidence
    g = RULES["funded_growth_gap"](ctx, column="digital_inv")
    assert g.x == 1.0 and "100.0%" in g.evidence and "10.0%" in g.evidence
