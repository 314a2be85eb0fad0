"""Cover page settings: the evaluation mode follows the weighting scheme."""

from __future__ import annotations

import datetime as dt

import pytest

from jdeval.errors import ConfigError
from jdeval.report import cover

SCHEMES = {
    "A": {"zh": "单位自评（产出50%、效益30%、满意度10%、预算执行率10%）"},
    "B": {"zh": "部门评价/财政评价/第三方政策评价（决策15、过程20、产出35、效益30）"},
}


def _fields(c: cover.Cover, scheme: str) -> dict[str, str]:
    return cover.cover_fields(
        c,
        year=2024,
        scheme=scheme,
        schemes=SCHEMES,
        department="上海市嘉定区经济委员会",
        as_of=dt.date(2025, 6, 30),
        edition="评审版",
        build_date=dt.date(2025, 3, 31),
    )


def test_modes_come_from_the_scheme_names():
    assert cover.evaluation_modes("A", SCHEMES) == ["单位自评"]
    assert cover.evaluation_modes("B", SCHEMES) == [
        "部门评价",
        "财政评价",
        "第三方政策评价",
    ]


def test_scheme_a_is_a_self_evaluation():
    f = _fields(cover.Cover(evaluator="区经委"), "A")
    assert f["评价方式"] == "单位自评"
    assert f["自评单位"] == "区经委" and "评价机构" not in f
    assert f["评价基准日"] == "2025年6月30日"
    assert f["报告日期"] == "2025年3月31日"


def test_third_party_under_scheme_a_is_refused():
    with pytest.raises(ConfigError) as e:
        _fields(cover.Cover(evaluator="某评估公司", mode="第三方政策评价"), "A")
    assert e.value.problems[0].code == "cover_mode"


def test_scheme_b_third_party():
    c = cover.Cover(
        evaluator="某评估公司",
        mode="第三方政策评价",
        commissioning="上海市嘉定区财政局",
        report_number="第1号",
        fieldwork=(dt.date(2025, 7, 7), dt.date(2025, 8, 29)),
    )
    f = _fields(c, "B")
    assert f["评价机构"] == "某评估公司" and f["委托单位"] == "上海市嘉定区财政局"
    assert f["现场工作期间"] == "2025年7月7日至2025年8月29日"
    assert f["报告编号"] == "第1号"


def test_fieldwork_before_the_reference_date_is_refused():
    # issue 11: the cover said 现场工作期间 2025年1–2月 with 评价基准日 2026年6月30日
    c = cover.Cover(fieldwork=(dt.date(2025, 1, 6), dt.date(2025, 2, 28)))
    with pytest.raises(ConfigError) as e:
        _fields(c, "A")  # as_of 2025-06-30
    assert e.value.problems[0].code == "cover_fieldwork"


def test_bad_cover_section_is_located(tmp_path):
    p = tmp_path / "n.yaml"
    p.write_text("cover:\n  evaluator: x\n  organisation: y\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        cover.load_cover(p)
    assert any("organisation" in (pr.column or "") for pr in e.value.problems)


def test_no_cover_section_is_empty(tmp_path):
    p = tmp_path / "n.yaml"
    p.write_text("year: 2024\n", encoding="utf-8")
    assert cover.load_cover(p) == cover.Cover()
    assert cover.load_cover(None) == cover.Cover()
