"""Charts render Chinese text with the bundled font and without missing glyphs."""

from __future__ import annotations

import io
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest

from jdeval.report import charts, fonts


def _render(fig) -> bytes:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    glyph = [
        w
        for w in caught
        if "missing from font" in str(w.message).lower()
        or "glyph" in str(w.message).lower()
    ]
    assert not glyph, [str(w.message) for w in glyph]
    data = buf.getvalue()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return data


def test_font_located_without_importing_zhplot():
    import sys

    sys.modules.pop("zhplot", None)
    p = fonts.font_path()
    assert p.name == "NotoSansSC-Regular.ttf" and p.stat().st_size > 1_000_000
    assert "zhplot" not in sys.modules


def test_setup_registers_font_and_rcparams():
    family = fonts.setup()
    assert family == fonts.FONT_FAMILY
    assert matplotlib.rcParams["font.sans-serif"][0] == family
    assert matplotlib.rcParams["axes.unicode_minus"] is False
    from matplotlib import font_manager

    found = font_manager.findfont(
        font_manager.FontProperties(family=family), fallback_to_default=False
    )
    assert found.endswith("NotoSansSC-Regular.ttf")


def test_chinese_chart_has_no_missing_glyph_and_differs_from_boxes():
    fonts.setup()
    fig = charts.bars(
        pd.DataFrame(
            {"街镇": ["安亭镇", "马陆镇", "嘉定工业区"], "v": [1.5, -2.0, 3.0]}
        ),
        label="街镇",
        value="v",
        title="各街镇补贴金额（万元）−负数",
        xlabel="万元",
    )
    _render(fig)


@pytest.fixture
def scorecard_rows():
    return pd.DataFrame(
        {
            "level1": ["产出指标", "产出指标", "效益指标", "满意度指标"],
            "level3": [
                "覆盖企业数量",
                "补贴发放时间",
                "智改数转项目投资",
                "立项企业满意度",
            ],
            "weight": [15.0, 10.0, 10.0, 10.0],
            "score": [15.0, 8.5, 7.0, np.nan],
        }
    )


def test_all_charts_render(scorecard_rows):
    es = pd.DataFrame(
        {
            "event_time": [-3, -2, -1, 0, 1],
            "estimate": [0.01, -0.02, 0.0, 0.12, 0.2],
            "ci_low": [-0.05, -0.07, -0.04, 0.05, 0.1],
            "ci_high": [0.07, 0.03, 0.04, 0.19, 0.3],
        }
    )
    sat = pd.DataFrame(
        {
            "item": ["Q0 总体满意度"] * 5 + ["Q4 拨付及时性"] * 5,
            "likert": [5, 4, 3, 2, 1] * 2,
            "n": [40, 30, 10, 2, 1, 30, 35, 12, 4, 2],
        }
    )
    tr = pd.DataFrame({"year": [2023, 2024], "score": [84.2, 88.9]})
    figs = [
        charts.score_by_level(scorecard_rows),
        charts.score_by_level(scorecard_rows, level="level3"),
        charts.event_study(es, title="技术改造投资事件研究", truth={0: 0.1, 1: 0.2}),
        charts.satisfaction_distribution(sat),
        charts.trend(tr, y="score", title="综合得分趋势", highlight=2024),
        charts.bars(
            pd.DataFrame({"t": ["南翔镇", "外冈镇"], "v": [3.0, 9.0]}),
            label="t",
            value="v",
            suppressed=[True, False],
            target=5,
        ),
    ]
    sizes = [len(_render(f)) for f in figs]
    assert all(s > 5_000 for s in sizes)


def test_suppressed_bar_value_not_drawn():
    fig = charts.bars(
        pd.DataFrame({"t": ["南翔镇", "外冈镇"], "v": [123.45, 9.0]}),
        label="t",
        value="v",
        suppressed=[True, False],
    )
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert "123.45" not in " ".join(texts)
    assert any(charts.SUPPRESSED_MARK in t for t in texts)


def test_glyph_check_would_catch_a_font_without_chinese():
    # Guard against a vacuous test: the same check flags a Latin-only font.
    fig = charts.bars(pd.DataFrame({"t": ["a"], "v": [1.0]}), label="t", value="v")
    fig.axes[0].set_title("安亭镇", fontfamily="DejaVu Sans")
    with pytest.raises(AssertionError):
        _render(fig)


def test_event_study_names_the_base_only_when_normalised_there():
    from jdeval.report import charts

    def legend(fig):
        return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]

    universal = pd.DataFrame(
        {
            "event_time": [-3, -2, -1, 0, 1],
            "estimate": [0.01, -0.02, 0.0, 0.2, 0.3],
            "ci_low": [-0.05, -0.08, 0.0, 0.1, 0.15],
            "ci_high": [0.07, 0.04, 0.0, 0.3, 0.45],
        }
    )
    fig = charts.event_study(universal)
    assert "基期（−1，=0）" in legend(fig)
    assert "逐期" not in fig.axes[0].get_xlabel()
    varying = universal.assign(estimate=[0.01, -0.02, 0.03, 0.2, 0.3])
    fig = charts.event_study(varying)
    assert not any("基期（" in t for t in legend(fig))
    assert "逐期基期" in fig.axes[0].get_xlabel()


@pytest.mark.parametrize(
    "scale,factor,unit", [("ratio", 100, "个百分点"), ("log", 1, "对数点")]
)
def test_event_study_axis_in_the_units_of_the_text(scale, factor, unit):
    """A ratio outcome is drawn in 个百分点 like the text (+2.11), not as the
    fraction 0.0211; the axis label names the unit."""
    es = pd.DataFrame(
        {
            "event_time": [-2, -1, 0, 1],
            "estimate": [0.001, 0.0, 0.0211, 0.03],
            "ci_low": [-0.004, 0.0, 0.015, 0.02],
            "ci_high": [0.006, 0.0, 0.027, 0.04],
        }
    )
    fig = charts.event_study(es, ylabel="固定资产投资率", scale=scale)
    ax = fig.axes[0]
    line = max(ax.get_lines(), key=lambda ln: len(ln.get_xdata()))
    ys = dict(zip(line.get_xdata(), line.get_ydata()))
    assert ys[0] == pytest.approx(0.0211 * factor)
    assert ax.get_ylabel() == f"固定资产投资率（{unit}）"
    plain = charts.event_study(es, ylabel="金额", scale="level")
    assert plain.axes[0].get_ylabel() == "金额"
