"""The shared result interface (jdeval.effects.results) used by every effect estimator."""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from jdeval.effects.results import AggregateResult, EffectResult

matplotlib.use("Agg")


def _frame(key, values):
    est = np.linspace(-0.1, 0.3, len(values))
    se = np.full(len(values), 0.05)
    z = stats.norm.ppf(0.975)
    return pd.DataFrame(
        {
            key: values,
            "estimate": est,
            "se": se,
            "ci_low": est - z * se,
            "ci_high": est + z * se,
        }
    )


def test_overall_ci_and_p_value():
    r = EffectResult(frame=_frame("term", ["grant"]), overall_att=0.2, overall_se=0.1)
    lo, hi = r.overall_ci
    assert (lo, hi) == pytest.approx(
        (0.2 - 1.959964 * 0.1, 0.2 + 1.959964 * 0.1), abs=1e-6
    )
    assert r.overall_p_value == pytest.approx(2 * stats.norm.sf(2.0))
    assert math.isnan(EffectResult(frame=_frame("term", ["a"])).overall_p_value)


def test_to_frame_is_a_copy():
    r = EffectResult(frame=_frame("event_time", [-1, 0, 1]))
    f = r.to_frame()
    f.loc[0, "estimate"] = 99.0
    assert r.frame.loc[0, "estimate"] != 99.0
    assert r.key_columns == ["event_time"]


def test_summary_and_html_bilingual():
    r = AggregateResult(
        frame=_frame("event_time", [-2, -1, 0, 1]),
        overall_att=0.25,
        overall_se=0.05,
        estimator="TWFE event study",
        kind="dynamic",
        control_group="notyettreated",
        n_units=120,
        se_type="clustered by firm",
        notes=["小样本 small sample"],
    )
    text = r.summary()
    for label in (
        "总体效应 overall ATT",
        "对照组 control group",
        "尚未受资助",
        "单位数 units: 120",
    ):
        assert label in text
    assert "注 note: 小样本 small sample" in text
    html = r._repr_html_()
    assert "<table" in html and "event_time" in html
    assert r.type == "dynamic"


@pytest.mark.parametrize(
    "key,values",
    [
        ("event_time", [-3, -2, -1, 0, 1, 2]),
        ("group", [2023, 2024]),
        ("term", ["a", "b"]),
    ],
)
def test_plot_any_key(key, values):
    import matplotlib.pyplot as plt

    f = _frame(key, values)
    f["cband_low"] = f["estimate"] - 0.15
    f["cband_high"] = f["estimate"] + 0.15
    ax = EffectResult(frame=f, kind="x").plot(lang="en", title="t")
    ax.figure.canvas.draw()
    # A horizontal reference line at zero effect is drawn.
    assert any(
        np.allclose(line.get_ydata(), 0)
        for line in ax.get_lines()
        if len(line.get_ydata())
    )
    plt.close(ax.figure)
