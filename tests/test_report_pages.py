"""Notebook page views: Chinese headers, formatted numbers, no raw reprs, and no
English prose or bare prints in the notebooks' cells."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import numpy as np
import pandas as pd
import pytest

from jdeval.report import pages

NB_DIR = Path(__file__).parents[1] / "notebooks"
ASCII_HEADER = re.compile(r"<th[^>]*>[^<]*[A-Za-z_]{3,}[^<]*</th>")


def _html(view) -> str:
    return view._repr_html_()


def _assert_page_ready(html: str) -> None:
    assert "<th" in html
    assert not ASCII_HEADER.search(html), ASCII_HEADER.search(html).group(0)
    for raw in ("NaN", "nan<", "True", "False", "e-0", "None"):
        assert raw not in html, raw
    assert 'class="blank level0"' not in html  # no index column


def test_styled_formats_missing_and_hides_index():
    f = pd.DataFrame({"a": ["x", "y"], "b": [1234.5, np.nan]})
    html = pages.styled(f, {"a": "名称", "b": "金额"}, fmt={"b": "{:,.2f}"}).to_html()
    assert "1,234.50" in html and "—" in html
    _assert_page_ready(html)


def _effects_stub() -> SimpleNamespace:
    het = pd.DataFrame(
        {
            "outcome": ["y"] * 3,
            "dimension": ["category"] * 3,
            "dimension_zh": ["补贴类别"] * 3,
            "group_zh": ["诊断评估", "工业互联网平台", "智能工厂"],
            "n_treated": [54, 3, 20],
            "n_control": [1000] * 3,
            "estimate": [0.01, 0.03, -0.002],
            "ci_low": [0.005, -0.01, -0.01],
            "ci_high": [0.02, 0.07, 0.006],
            "too_small": [False, True, False],
        }
    )
    matching = pd.DataFrame(
        {
            "covariate": ["log_employees_base", "maturity_base"],
            "mean_treated": [6.1, 2.2],
            "mean_control_before": [4.6, 1.2],
            "smd_before": [1.44, 0.98],
            "mean_control_matched": [5.9, 1.9],
            "smd_matched": [-0.09, 0.23],
            "smd_ipw": [0.22, 0.11],
        }
    )
    tfp = pd.DataFrame(
        {
            "method": ["acf", "acf", "fe"],
            "term": ["beta_k", "beta_l", "beta_k"],
            "estimate": [0.31, 0.62, 0.30],
            "ci_low": [np.nan, np.nan, 0.19],
            "ci_high": [np.nan, np.nan, 0.42],
        }
    )
    return SimpleNamespace(heterogeneity=het, matching=matching, tfp=tfp)


def test_heterogeneity_reading_counts_groups_and_marks_small_ones():
    v = pages.heterogeneity_view(_effects_stub(), "y", "category")
    assert "可解读的2组中1组" in v.reading  # 智能工厂 covers zero
    assert "标*的1组" in v.reading
    labels = [t.get_text() for t in v.body.axes[0].get_yticklabels()]
    assert "工业互联网平台（3家）*" in labels
    assert "data:text/csv" in v.extra


def test_balance_and_tfp_views_are_chinese():
    e = _effects_stub()
    b = _html(pages.balance_view(e))
    assert "基期从业人数（对数）" in b and "1.44" in b
    _assert_page_ready(b)
    t = _html(pages.tfp_view(e))
    assert "资本产出弹性" in t and "[0.190, 0.420]" in t
    _assert_page_ready(t)


def test_check_coverage_score_and_survey_views(ds):
    import jdeval

    card = jdeval.indicators.evaluate(ds, jdeval.indicators.load_targets(), year=2024)
    survey = jdeval.survey.analyse(ds, year=2024)
    for view in (
        pages.dataset_view(ds),
        pages.coverage_view(ds),
        pages.score_view(card),
        pages.level_view(card),
        pages.kpi_view(card),
        pages.survey_view(survey),
    ):
        html = _html(view)
        assert view.reading and "解读" in html
        _assert_page_ready(html)
    f = card.to_frame()
    f = f[f["weight"] > 0]
    worst = f.loc[(f["score"] / f["weight"]).idxmin(), "level3"]
    assert f"得分率最低的是“{worst}”" in pages.score_view(card).reading
    kpi = _html(pages.kpi_view(card))
    assert ">=" not in kpi and "[A]" not in kpi and "(20" not in kpi


def test_download_link_neutralises_formulas():
    import base64

    link = pages.download(pd.DataFrame({"a": ["=1+1"]}), "x.csv", "下载")
    data = re.search(r"base64,([^\"]+)", link).group(1)
    text = base64.b64decode(data).decode("utf-8")
    assert "\n=1+1" not in text


# ------------------------------------------------------------------ notebooks
def _cells(path: Path):
    return nbformat.read(str(path), as_version=4).cells


@pytest.mark.parametrize("path", sorted(NB_DIR.glob("*.ipynb")), ids=lambda p: p.stem)
def test_notebook_cells_are_short_chinese_and_print_nothing_shown(path):
    for c in _cells(path):
        tags = c.metadata.get("tags", [])
        if "parameters" in tags:
            continue
        if c.cell_type == "markdown":
            # Chinese only: no italic English paragraph, no English heading gloss
            assert not re.search(r"^\*[A-Z][a-z]", c.source, re.M), c.source[:80]
            for line in c.source.splitlines():
                if line.startswith("#"):
                    assert not re.search(r"[A-Za-z]{3,}[ :][A-Za-z]{3,}", line), line
        else:
            assert len(c.source.splitlines()) <= 15, c.source[:80]
            if "print(" in c.source:
                assert "jd-hide" in tags, c.source[:80]  # check output, not shown


def test_hidden_cells_are_not_rendered(tmp_path):
    from jdeval.build.htmlexport import PageInfo, render_html

    nb = nbformat.v4.new_notebook()
    shown = nbformat.v4.new_code_cell("x")
    shown.outputs = [nbformat.v4.new_output("stream", text="SHOWN-TEXT")]
    hidden = nbformat.v4.new_code_cell("y")
    hidden.metadata["tags"] = ["jd-hide"]
    hidden.outputs = [nbformat.v4.new_output("stream", text="HIDDEN-TEXT")]
    nb.cells = [shown, hidden]
    fields = {f: "" for f in PageInfo.__dataclass_fields__}
    fields["parameters"] = ()
    page = render_html(nb, tmp_path / "p.html", PageInfo(**fields)).read_text()
    assert "SHOWN-TEXT" in page and "HIDDEN-TEXT" not in page


# ------------------------------------------------------------------ 02 diagnostics
def _diagnostics_stub(*, poor: bool = False) -> SimpleNamespace:
    from jdeval.effects._did_overlap import Overlap
    from jdeval.effects.attrition import Attrition
    from jdeval.effects.bacon import BaconResult
    from jdeval.effects.did import InferenceInfo
    from jdeval.effects.dose import DoseResult
    from jdeval.effects.honest import HonestSensitivity

    inference = InferenceInfo(
        cluster_var="town_code",
        n_clusters=12,
        method="wild_cluster_bootstrap",
        critical="bootstrap-t",
        df=11.0,
        weights="webb",
        biters=999,
        reason_zh="标准误按街镇聚类（12个群）。",
    )
    overlap = Overlap(
        pd.DataFrame(
            {
                "cohort": [2023.0, 2024.0],
                "n": [75, 3],
                "n_comparison": [1125, 1197],
                "ps_min": [0.0006, 0.001],
                "ps_max": [0.93, 0.999],
                "ps_max_comparison": [0.83, 0.6],
                "share_near_0": [0.2, 0.1],
                "share_near_1": [0.0, 0.002],
                "n_trimmed": [0, 2],
                "n_treated_above": [0, 1 if poor else 0],
                "ess_comparison": [104.2, 12.6],
                "overlap_ok": [True, not poor],
            }
        ),
        0.995,
        hist={
            2023.0: (np.arange(40) % 3, np.arange(40) % 5),
            2024.0: (np.arange(40) % 2, np.arange(40) % 7),
        },
    )
    attrition = Attrition(
        balanced=False,
        table=pd.DataFrame(
            {
                "group": ["受资助 funded", "未受资助 not funded"],
                "n_firms": [137, 1063],
                "n_entered": [4, 80],
                "entry_rate": [0.029, 0.075],
                "n_exited": [2, 90],
                "exit_rate": [0.015, 0.085],
            }
        ),
        tests=pd.DataFrame(
            {
                "test": ["exit_by_funding"],
                "test_zh": ["退出比例（受资助与未受资助）"],
                "difference": [-0.07],
                "statistic": [-3.1],
                "p_value": [0.002],
            }
        ),
        estimator="panel",
        panel_mode="balanced_pairs",
        reason_zh="退出与结果变化无关，使用面板估计量。",
        reason_en="",
    )
    honest_frame = pd.DataFrame(
        {
            "lb": [0.0097, 0.0085, 0.0067, 0.0041, 0.0013],
            "ub": [0.0195, 0.0210, 0.0229, 0.0252, 0.0279],
            "method": ["C-LF"] * 5,
            "Delta": ["DeltaRM"] * 5,
            "Mbar": [0.0, 0.5, 1.0, 1.5, 2.0],
        }
    )
    honest = {
        "digital_inv_share": HonestSensitivity(
            "digital_inv_share",
            frame=honest_frame,
            original=(0.0096, 0.0196),
            breakdown_mbar=2.19,
        ),
        "tfp": HonestSensitivity(
            "tfp",
            frame=honest_frame.assign(
                lb=honest_frame["lb"] - 0.02, ub=honest_frame["ub"] - 0.02
            ),
            original=(-0.01, 0.04),
        ),
        "log_labour_productivity": HonestSensitivity(
            "log_labour_productivity", available=False, reason_zh="处理前时期不足"
        ),
    }
    power = pd.DataFrame(
        {
            "outcome": ["digital_inv_share", "tfp"],
            "outcome_zh": ["智改数转投资占营业收入比重", "全要素生产率（对数）"],
            "estimate": [0.021, 0.019],
            "se": [0.003, 0.018],
            "mde_80": [0.0085, 0.0502],
            "slope_80_wald": [0.0017, 0.0181],
            "pretest_power_at_mde_trend": [1.0, 0.62],
        }
    )
    main = pd.DataFrame(
        {
            "outcome": ["digital_inv_share", "tfp"],
            "ci_low": [0.015, -0.016],
            "ci_high": [0.027, 0.054],
        }
    )
    dose = DoseResult(
        by_bin=pd.DataFrame(
            {
                "outcome": ["tfp"] * 3,
                "bin": [1, 2, 3],
                "dose_min": [2.56, 5.0, 50.0],
                "dose_max": [5.0, 50.0, 200.0],
                "dose_mean": [4.3, 23.2, 73.9],
                "n_firms": [46, 45, 46],
                "estimate": [0.013, 0.020, 0.013],
                "se": [0.017, 0.016, 0.016],
                "ci_low": [-0.021, -0.011, -0.017],
                "ci_high": [0.047, 0.051, 0.044],
            }
        ),
        value_for_money={"per_wan": 2.5, "ci_low": 0.8, "ci_high": 4.2},
    )
    bacon_table = pd.DataFrame(
        {
            "type": ["treated_vs_never", "earlier_vs_later", "later_vs_earlier"],
            "type_zh": ["a", "b", "c"],
            "treated": [2023, 2023, 2024],
            "control": [0, 2024, 2023],
            "estimate": [0.02, 0.01, -0.01],
            "weight": [0.70, 0.12, 0.18],
        }
    )
    bacon = {"tfp": BaconResult(table=bacon_table, twfe=0.0146, forbidden_weight=0.18)}
    return SimpleNamespace(
        inference=inference,
        overlap=overlap,
        attrition=attrition,
        honest=honest,
        power=power,
        main=main,
        dose=dose,
        bacon=bacon,
    )


_DIAGNOSTICS = (
    "inference_view",
    "overlap_view",
    "attrition_view",
    "honest_view",
    "power_view",
    "dose_view",
    "bacon_view",
)


@pytest.mark.parametrize("name", _DIAGNOSTICS)
def test_diagnostic_views_are_page_ready(name):
    view = getattr(pages, name)(_diagnostics_stub())
    html = _html(view)
    assert view.reading and "解读" in html
    _assert_page_ready(html)
    assert "funded" not in html and "DeltaRM" not in html


def test_diagnostic_readings_follow_the_numbers():
    e = _diagnostics_stub()
    inf = _html(pages.inference_view(e))
    assert "街镇" in inf and "野聚类自助法" in inf and "999" in inf
    assert "截断阈值0.995" in pages.overlap_view(e).reading
    poor = pages.overlap_view(_diagnostics_stub(poor=True)).reading
    assert "2024年批次" in poor and "缺少可比对照企业" in poor
    att = pages.attrition_view(e)
    assert "p=0.002" in att.reading and "未受资助" in _html(att)
    h = pages.honest_view(e)
    # digital share survives up to its breakdown value, tfp is not significant at 0
    assert "智改数转投资占营业收入比重（M̄=2.19）" in h.reading
    assert "全要素生产率（对数）的获补当年效应本身即不显著" in h.reading
    assert "处理前时期不足" in _html(h)
    p = pages.power_view(e)
    assert "全要素生产率（对数）的估计不显著" in p.reading
    assert "智改数转" not in p.reading  # significant: no null-result caveat
    assert "62%" in _html(p)
    # "显著" is reserved for 证据明确 (issue 11): the column only says whether
    # the interval excludes zero
    assert ">显著<" not in _html(p) and "不含零" in _html(p)
    d = pages.dose_view(e)
    assert "2.50万元（95%置信区间0.80至4.20万元）" in d.reading
    assert "0.0200 [-0.0110, 0.0510]" in _html(d)
    b = pages.bacon_view(e)
    assert "权重最高为18.0%" in b.reading and "可能有偏" in b.reading
    assert "18.0%" in _html(b)


def test_diagnostic_views_say_when_not_available():
    from jdeval.effects.dose import DoseResult

    e = _diagnostics_stub()
    e.dose = DoseResult(available=False, reason_zh="补贴金额没有足够差异")
    e.bacon = {}
    e.inference = None
    assert "补贴金额没有足够差异" in pages.dose_view(e).reading
    assert pages.bacon_view(e).reading.startswith("本次估计未包含")
    assert pages.inference_view(e).reading.startswith("本次估计未包含")
    e.attrition.balanced = True  # no entry or exit: the reason, no table of zeros
    v = pages.attrition_view(e)
    assert v.reading == e.attrition.reason_zh and "<table" not in _html(v)


def test_overlap_chart_is_page_width_with_chinese_labels():
    fig = pages.overlap_chart(_diagnostics_stub())
    from jdeval.report import charts

    assert fig.get_size_inches()[0] == pytest.approx(charts.WIDTH_IN)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any("2024" in t for t in labels) and "对照" in labels


@pytest.mark.parametrize(
    "stem", ["02_policy_effects", "03_indicators", "04_survey", "05_annual_report"]
)
def test_notebooks_use_the_reference_date(stem):
    """Every analysis page cuts the data at 评价基准日 (``as_of``) as 05 does, and
    scoring uses it as ``eval_date``."""
    code = "\n".join(
        c.source for c in _cells(NB_DIR / f"{stem}.ipynb") if c.cell_type == "code"
    )
    assert "ds = jdeval.data.as_of(ds, as_of)" in code
    if stem == "03_indicators":
        assert "tgt.at(as_of)" in code
    if stem == "05_annual_report":
        assert "as_of=as_of" in code


def test_targets_at_sets_the_reference_date_without_changing_the_original():
    import datetime as dt

    import jdeval

    t = jdeval.indicators.load_targets()
    moved = t.at("2025-03-31")
    assert moved.policies.eval_date == dt.date(2025, 3, 31)
    assert t.policies.eval_date != dt.date(2025, 3, 31)
    assert t.at("") is t


def test_coverage_view_uses_the_reports_definitions(ds):
    # issue 10: this page counted all applications as 核定 (112 / 3,255.00) and
    # called the whole panel 规上 (1,200 vs the report's 1,180)
    import jdeval

    ok = jdeval.indicators.load_targets().policies.approved_statuses
    a = ds.awards
    eff = a.loc[a["status"].astype(str).isin(ok)]
    v = pages.coverage_view(ds, audience="internal")
    t = v.body.data.set_index("年份")  # the Styler's frame
    for y, n in eff.groupby("batch_year")["award_id"].count().items():
        assert t.loc[y, "有效核定项目数"] == n
        assert t.loc[y, "有效核定金额（万元）"] == pytest.approx(
            eff.loc[eff["batch_year"] == y, "approved_amount"].sum()
        )
    fy = ds.firm_year
    above = fy.loc[fy["is_above_scale"].astype(bool)].groupby("year")["firm_id"]
    assert (t["其中规上企业数"] == above.nunique().reindex(t.index).fillna(0)).all()
    assert "有效核定" in v.reading and "规上工业企业" in v.reading
