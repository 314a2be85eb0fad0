"""What an evaluator sees in JupyterLab: Chinese-first tables, escaped text."""

from __future__ import annotations

import jdeval


def test_dataset_summary_names_tables_in_chinese(ds):
    s = ds.summary()
    assert s.loc["awards", "名称"] == "补贴申报与拨付"
    assert s.loc["firms", "行数 rows"] == len(ds.firms)


def test_survey_items_zh_matches_items(ds):
    survey = jdeval.survey.analyse(ds, year=2024)
    zh = survey.items_zh()
    assert list(zh.index) == list(survey.items["item"])
    q0 = survey.items.set_index("item").loc["Q0"]
    assert zh.loc["Q0", "满意度指数"] == round(q0["index"], 2)
    assert zh.loc["Q0", "有效回答"] == q0["n"]
    assert not zh.isna().any().any()


def test_scorecard_html_is_chinese_first(ds):
    card = jdeval.indicators.evaluate(ds, jdeval.indicators.load_targets(), year=2024)
    html = card._repr_html_()
    for header in ("三级指标", "实际完成值", "得分", "偏差原因"):
        assert f"<th>{header}</th>" in html
    assert "deviation_reason" not in html
