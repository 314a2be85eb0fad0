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
    for fn in (F.wan, F.percent, F.score, F.date_zh, F.grade, F.integer, F.ratio):
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


@pytest.mark.parametrize(
    ("total", "grade", "en"),
    [
        (100, "优", "Excellent"),
        (90, "优", "Excellent"),  # lower bounds inclusive (财预〔2020〕10号)
        (89.996, "优", "Excellent"),  # graded on the total rounded to 2 decimals
        (89.994, "良", "Good"),
        (80, "良", "Good"),
        (79.99, "中", "Fair"),
        (60, "中", "Fair"),
        (59.99, "差", "Poor"),
        (0, "差", "Poor"),
    ],
)
def test_grade_bands(total, grade, en):
    assert F.grade(total) == grade
    assert F.grade_en(total) == en


def test_ratio_and_integer():
    assert F.ratio(22.254) == "1 : 22.25"
    assert F.integer(1234, "家") == "1,234家"
