"""Survey analysis on a hand-built dataset with hand-computed results."""

import math
from types import SimpleNamespace

import pandas as pd
import pytest

from jdeval.survey import analyse


def _ds(responses, n_funded=4):
    awards = pd.DataFrame(
        {
            "award_id": [f"A{i}" for i in range(n_funded)] + ["R1", "P1"],
            "batch_year": [2024] * n_funded + [2024, 2024],
            "beneficiary_type": ["enterprise"] * (n_funded + 1) + ["provider"],
            "firm_id": [f"F{i}" for i in range(n_funded)] + ["F9", None],
            "status": ["approved"] * n_funded + ["rejected", "approved"],
        }
    )
    rows = []
    for firm, answers in responses.items():
        for item, v in answers.items():
            rows.append(
                {
                    "response_id": f"S{firm}",
                    "firm_id": firm,
                    "award_id": "A" + firm[1:],
                    "survey_date": "2025-02-01",
                    "item_code": item,
                    "likert": v,
                }
            )
    return SimpleNamespace(
        tables={"awards": awards, "survey_responses": pd.DataFrame(rows)}
    )


def test_hand_computed_survey():
    ds = _ds(
        {
            "F0": {"Q0": 5, "Q1": 5, "Q2": 4},
            "F1": {"Q0": 4, "Q1": 4, "Q2": 4},
            "F2": {"Q0": 2, "Q1": 3, "Q2": 2},
            "F9": {
                "Q0": 1,
                "Q1": 1,
                "Q2": 1,
            },  # rejected applicant: not in the population
        }
    )
    s = analyse(ds, year=2024, min_n=30, min_share=0.8)
    assert s.n_population == 4 and s.n_respondents == 3
    assert s.response_rate == pytest.approx(0.75)
    assert s.n_valid == 3 and s.basis == "Q0"
    assert s.index == pytest.approx((100 + 80 + 40) / 3)
    assert s.top2_rate == pytest.approx(2 / 3)
    # validity: n_valid 3 < min(30, ceil(0.8 · 4) = 4)
    assert s.low_sample and s.min_valid == 4
    items = s.items.set_index("item")
    assert items.loc["Q1", "index"] == pytest.approx((100 + 80 + 60) / 3)
    assert items.loc["Q2", "share_4"] == pytest.approx(2 / 3)
    # alpha of Q1, Q2: var(Q1)=1, var(Q2)=4/3, var(sum)=13/3 → 2·(1 − (7/3)/(13/3))
    assert s.alpha == pytest.approx(2 * (1 - 7 / 13))
    assert "回收率75.0%" in s.summary_zh() and "谨慎" in s.summary_zh()


def test_without_overall_item_uses_mean_of_items():
    ds = _ds({"F0": {"Q1": 5, "Q2": 3}, "F1": {"Q1": 4, "Q2": 4}}, n_funded=2)
    s = analyse(ds, year=2024)
    assert s.basis == "mean_of_items"
    assert s.index == pytest.approx(((100 + 80) / 2 + (60 + 80) / 2) / 2)


def test_no_responses():
    ds = _ds({}, n_funded=3)
    ds.tables["survey_responses"] = pd.DataFrame(
        columns=[
            "response_id",
            "firm_id",
            "award_id",
            "survey_date",
            "item_code",
            "likert",
        ]
    )
    s = analyse(ds, year=2024)
    assert s.n_valid == 0 and math.isnan(s.index) and s.low_sample
    assert s.response_rate == 0
    assert "SurveyResult" in repr(s)
