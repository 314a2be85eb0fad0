"""Scheme B grouping of chapter 四, and evaluator text escaped in HTML / kept in Word."""

from __future__ import annotations

import io

import docx

from jdeval.report import assemble


def test_scheme_b_parts_and_escaped_evaluator_text(tmp_path):
    from jdeval.data import synthesize
    from jdeval.indicators import load_targets

    ds = synthesize(firms=300)
    o = tmp_path / "o.yaml"
    o.write_text(
        "problems:\n"
        "  - {title: 测试问题, problem: '<b>加粗</b>&说明', cause: 原因, recommendation: 建议}\n",
        encoding="utf-8",
    )
    r = assemble(
        ds,
        year=2024,
        scheme="B",
        narrative=o,
        compute_effects=False,
        previous=False,
        report_date="2025-03-31",
    )
    t = load_targets()
    where = {"ch4_1": "决策", "ch4_2": "过程"}
    for key, level1 in where.items():
        text = " ".join(p.text for p in r.section(key).paragraphs)
        for ind in t.for_scheme("B"):
            if ind.level1 == level1:
                assert ind.level3 in text, (key, ind.level3)
    weights = r.section("ch2_2").tables[0].frame
    assert list(weights["一级指标"])[-1] == "合计"
    assert set(weights["一级指标"][:-1]) == {i.level1 for i in t.for_scheme("B")}
    assert r.facts.grade == t.grade_for(r.facts.total)
    html = r.to_html()
    assert "&lt;b&gt;加粗&lt;/b&gt;&amp;说明" in html and "<b>加粗" not in html
    d = docx.Document(io.BytesIO(r.to_docx(tmp_path / "r.docx").read_bytes()))
    assert any("<b>加粗</b>&说明" in p.text for p in d.paragraphs)
