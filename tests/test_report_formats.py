"""Chinese number, date, score and grade formats (domain-spec §3, §3.1)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from jdeval.report import formats as F


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3012.5, "3,012.50万元"),
        (0, "0.00万元"),
        (1234567.891, "1,234,567.89万元"),
        (-12.345, "-12.35万元"),  # round half to even is not used for .345 (float)
    ],
)
def test_wan(value, expected):
    assert F.wan(value) == expected


def test_wan_without_unit_and_from_yuan():
    assert F.wan(50, unit=False) == "50.00"
    assert F.yuan_to_wan(30_000_000) == "3,000.00万元"


@pytest.mark.parametrize("missing", [None, math.nan, np.nan, pd.NA, pd.NaT])
def test_missing_values_never_print_nan(missing):
    for fn in (F.wan, F.percent, F.score, F.date_zh, F.integer, F.ratio):
        assert fn(missing) == F.MISSING


def test_percent():
    assert F.percent(0.8534) == "85.34%"
    assert F.percent(85.3, 1, fraction=False) == "85.3%"
    assert F.percent(1) == "100.00%"


def test_dates_chinese_style_without_zero_padding():
    assert F.date_zh(dt.date(2024, 12, 31)) == "2024年12月31日"
    assert F.date_zh(pd.Timestamp("2024-08-09")) == "2024年8月9日"
    assert F.date_zh("2025-01-02") == "2025年1月2日"
    assert F.date_zh(dt.datetime(2024, 3, 5, 14, 0)) == "2024年3月5日"


def test_scores_two_decimals():
    assert F.score(88.004) == "88.00"
    assert F.score(7) == "7.00"


def test_grades_are_not_formatted_here():
    # one place maps scores to grades: Targets.grade_for (the targets file's bands)
    assert not hasattr(F, "grade") and not hasattr(F, "GRADES")


def test_zh_text_replaces_keys_operators_and_tags():
    from jdeval.report.facts import zh_text

    assert zh_text("项目台账（awards）") == "项目台账（补贴申报与拨付）"
    assert zh_text("立项项目总投资（awards.project_total_investment）") == (
        "立项项目总投资（项目总投资）"
    )
    assert zh_text(">=80% (2025)") == "≥80% (2025)"
    assert zh_text("[A]") == "" and zh_text(None) == ""


def test_ratio_and_integer():
    assert F.ratio(22.254) == "1 : 22.25"
    assert F.integer(1234, "家") == "1,234家"


def test_p_values_never_print_as_zero():
    from jdeval.report import formats as fm

    assert fm.pvalue(0.00002) == "<0.001" and fm.p_text(0.00002) == "p<0.001"
    assert fm.pvalue(0.0351) == "0.035" and fm.p_text(0.0351) == "p=0.035"
    assert fm.pvalue(None) == "—"


def test_declared_targets_print_without_ascii_operators():
    from jdeval.report import formats as fm

    assert fm.target_text("=50.00(万元)") == "＝50.00万元"
    assert fm.target_text(">=100.00(%)") == "≥100.00%"
    assert fm.target_text("≥60.00(家)") == "≥60.00家"
    assert fm.target_text("2026年12月前") == "2026年12月前"
    assert fm.target_text(None) == ""


def test_kpi_target_text_has_no_ascii_operators_or_brackets():
    # issue 11: 表6 printed ">=80% (2025); 重点区域/产业 >=90%" style targets
    assert (
        F.kpi_target_text(">=80% (2025); 重点区域/产业 >=90%")
        == "2025年≥80%；重点区域/产业≥90%"
    )
    assert F.kpi_target_text("100% (2025)") == "2025年100%"
    assert F.kpi_target_text(">=30") == "≥30"
