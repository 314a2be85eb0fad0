"""The report from hand-made results only (no dataset): scheme B grouping, escaping."""

from __future__ import annotations

import io

import docx
import pandas as pd

from jdeval.report import assemble


def _frame():
    rows = []
    spec = [
        ("D1", "决策", "立项依据充分性", 15, 12.0),
        ("P2", "过程", "预算执行率", 20, 18.5),
        ("O1", "产出", "覆盖企业数量", 35, 35.0),
        ("B1", "效益", "智改数转项目投资", 30, 21.0),
    ]
    for id_, l1, l3, w, sc in spec:
        rows.append(
            dict(
                id=id_,
                level1=l1,
                level2="二级",
                level3=l3,
                target_raw="≥1",
                actual=1.0,
                actual_display="1",
                unit="",
                weight=w,
                score=sc,
                score_rate=sc / w,
                tier="",
                flags="",
                source="",
                deviation_reason="<b>加粗</b>&说明" if id_ == "B1" else "",
            )
        )
    return pd.DataFrame(rows)


def test_scheme_b_indicators_land_in_their_parts_of_chapter_4():
    r = assemble(
        None,
        year=2024,
        scheme="B",
        scorecard=_frame(),
        compute_effects=False,
        report_date="2025-03-31",
    )
    assert r.facts["total"] == 86.5 and r.facts["grade"] == "良"
    where = {
        "ch4_1": "立项依据充分性",
        "ch4_2": "预算执行率",
        "ch4_3": "覆盖企业数量",
        "ch4_4": "智改数转项目投资",
    }
    for key, name in where.items():
        text = " ".join(p.text for p in r.section(key).paragraphs)
        assert name in text, key
    weights = r.section("ch2_2").tables[0].frame
    assert list(weights["一级指标"]) == ["决策", "过程", "产出", "效益", "合计"]
    # analyses without data are reported as unavailable, not crashed on
    assert "survey" in r.unavailable
    html = r.to_html()
    assert "&lt;b&gt;加粗&lt;/b&gt;&amp;说明" in html and "<b>加粗" not in html
    d = docx.Document(
        io.BytesIO(
            r.to_docx(
                __import__("pathlib").Path(__import__("tempfile").mkdtemp()) / "r.docx"
            ).read_bytes()
        )
    )
    assert any("<b>加粗</b>&说明" in p.text for p in d.paragraphs)
