"""The assembled annual report: outline, score table, figures, Word and HTML.

Built once per module from the synthetic dataset (in memory, 300 firms) with the
real scorecard and survey layers; the causal effects are passed in as a small
precomputed object so these tests stay fast (the effects layer has its own tests).
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile

import docx
import pandas as pd
import pytest

from jdeval.errors import ConfigError
from jdeval.report import assemble, formats
from jdeval.report.outline import OUTLINE


@pytest.fixture(scope="module")
def ds():
    from jdeval.data import synthesize

    return synthesize(firms=300)


class _Effects:
    """A PolicyEffects-shaped object with planted numbers (ARCHITECTURE.md).

    The table holds a main (cs_dr) and a comparison (twfe) design per outcome;
    the twfe row of tfp is significant while its main estimate is not, so the
    narrative must follow the main design only.
    """

    table = pd.DataFrame(
        {
            "outcome": ["log_tech_reno_inv", "log_tech_reno_inv", "tfp", "tfp"],
            "outcome_zh": ["技术改造投资（对数）"] * 2 + ["全要素生产率"] * 2,
            "design": ["cs_dr", "twfe", "cs_dr", "twfe"],
            "design_zh": ["多期双重差分（主估计）", "双向固定效应（对比）"] * 2,
            "estimate": [0.213, 0.25, 0.004, 0.08],
            "se": [0.05, 0.05, 0.02, 0.02],
            "ci_low": [0.115, 0.15, -0.035, 0.04],
            "ci_high": [0.311, 0.35, 0.043, 0.12],
            "p_value": [0.00002, 0.0001, 0.84, 0.0001],
            "n_firms": [300] * 4,
            "n_treated": [40] * 4,
        }
    )
    main = table.loc[table["design"] == "cs_dr"].reset_index(drop=True)
    reading_zh = "技术改造投资（对数）：受资助企业平均变化 +23.7%，统计上显著。"
    robustness_text_zh = (
        "【技术改造投资】改用从未获补企业作对照后，估计值为0.198，结论不变。"
    )
    notes = ["2024 年后才受资助的企业在 2024 年前作为尚未受资助对照"]

    class _ES:
        def __init__(self, shift):
            self.shift = shift

        def to_frame(self):
            e = [-3, -2, -1, 0, 1]
            est = [0.0, 0.01, 0.0, 0.1 + self.shift, 0.2 + self.shift]
            return pd.DataFrame(
                {
                    "event_time": e,
                    "estimate": est,
                    "ci_low": [v - 0.06 for v in est],
                    "ci_high": [v + 0.06 for v in est],
                }
            )

    event_studies = {"log_tech_reno_inv": _ES(0.0), "tfp": _ES(-0.1)}


@pytest.fixture(scope="module")
def report(ds):
    return assemble(ds, year=2024, effects=_Effects(), report_date="2025-03-31")


@pytest.fixture(scope="module")
def docx_bytes(report, tmp_path_factory):
    p = tmp_path_factory.mktemp("docx") / "report.docx"
    report.to_docx(p)
    return p.read_bytes()


def test_outline_follows_domain_spec_section_5(report):
    titles = report.outline()
    assert [s.key for s in report.sections] == [k for k, _, _ in OUTLINE]
    expected_start = [
        "摘要",
        "前言",
        "一、基本情况",
        "（一）政策概况",
        "（二）政策绩效目标",
        "二、绩效评价工作开展情况",
    ]
    assert titles[:6] == expected_start
    chapters = [t for t in titles if re.match(r"^[一二三四五六七]、", t)]
    assert chapters == [
        "一、基本情况",
        "二、绩效评价工作开展情况",
        "三、综合评价情况及评价结论",
        "四、绩效评价指标分析",
        "五、主要经验及做法、存在的问题及原因分析",
        "六、有关建议",
        "七、其他需要说明的问题",
    ]
    assert titles[-6:] == [
        f"附件{i} {h}"
        for i, h in enumerate(
            [
                "评分表",
                "指标体系及评分标准",
                "数据清单",
                "问卷及统计结果",
                "受益企业清单（脱敏）",
                "街镇及行业分布表",
            ],
            1,
        )
    ]
    secs = report.sections
    for s, nxt in zip(secs, [*secs[1:], None]):
        leaf = nxt is None or nxt.level <= s.level or s.level == 0
        if leaf:
            assert s.blocks, f"empty section {s.title}"


def test_score_table_equals_scorecard(report, ds):
    from jdeval.indicators import evaluate, load_targets

    sc = evaluate(ds, load_targets(), year=2024, scheme="A")
    frame = sc.to_frame()
    t = next(t for t in report.tables if t.key == "scores")
    body = t.frame.iloc[:-1]
    assert list(body["三级指标"]) == list(frame["level3"])
    assert list(body["得分"]) == [formats.score(v) for v in frame["score"]]
    total = t.frame.iloc[-1]
    assert total["一级指标"] == "合计"
    assert total["得分"] == formats.score(sc.total)
    assert total["评定"] == sc.grade == report.facts["grade"]
    w = "weight_effective" if "weight_effective" in frame else "weight"
    assert total["分值"] == "100.00" == formats.score(frame[w].sum())
    # the text states the same total
    ch3 = " ".join(p.text for p in report.section("ch3").paragraphs)
    assert f"{formats.score(sc.total)}分" in ch3 and f"“{sc.grade}”" in ch3


def test_summary_and_english_summary(report):
    zh = " ".join(report.summary_zh)
    en = " ".join(report.summary_en)
    assert f"{formats.score(report.facts['total'])}分" in zh
    assert formats.score(report.facts["total"]) in en and "grade" in en
    top = report.narrative.top(3)
    for p in top:
        assert p.title in zh
    assert not re.search(r"[\u4e00-\u9fff]{6,}", en.replace("智改数转", "")), en


def test_effects_section_has_table_event_study_and_robustness(report):
    s = report.section("ch4_5")
    t = next(t for t in s.tables if t.key == "effects")
    assert list(t.frame["估计值"]) == ["0.213", "0.004"]
    designs = next(t for t in s.tables if t.key == "effects_designs")
    assert len(designs.frame) == 4
    assert len([f for f in s.figures if f.key.startswith("event_")]) == 2
    text = " ".join(p.text for p in s.paragraphs)
    assert "结论不变" in text and "+23.7%" in text and "尚未受资助对照" in text
    # narrative follows the main design: tfp insignificant, investment significant
    ins = [p for p in report.narrative.problems if p.rule_id == "insignificant_effect"]
    assert len(ins) == 1 and "全要素生产率" in ins[0].problem
    assert any("技术改造投资" in e for e in report.narrative.experience)


def test_docx_opens_headings_in_order_and_fonts(docx_bytes, report):
    d = docx.Document(io.BytesIO(docx_bytes))
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert heads == report.outline()
    # East-Asian font names: body 仿宋, headings 黑体
    styles = d.styles.element.xml
    assert 'w:eastAsia="仿宋_GB2312"' in styles and 'w:eastAsia="黑体"' in styles
    # cover page first
    assert d.paragraphs[4].text == report.title


def test_docx_tables_figures_captions_and_page_numbers(docx_bytes, report):
    d = docx.Document(io.BytesIO(docx_bytes))
    assert len(d.tables) == len(report.tables)
    assert len(d.inline_shapes) == len(report.figures) >= 6
    caps = [p.text for p in d.paragraphs if p.style.name == "Caption"]
    for i, f in enumerate(report.figures, 1):
        assert f"图{i} {f.caption}" in caps
    for i, t in enumerate(report.tables, 1):
        assert f"表{i} {t.caption}" in caps
    # header row repeated and bordered
    xml = d.tables[0]._tbl.xml
    assert "w:tblHeader" in xml and 'w:insideH w:val="single"' in xml
    # the score table in Word equals the report's score table
    st = next(i for i, t in enumerate(report.tables) if t.key == "scores")
    wt = d.tables[st]
    got = [[c.text for c in r.cells] for r in wt.rows]
    exp = report.tables[st].frame
    assert got[0] == list(exp.columns)
    assert got[1:] == exp.astype(str).values.tolist()
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as z:
        footers = "".join(z.read(n).decode() for n in z.namelist() if "footer" in n)
    assert "PAGE" in footers


def test_html_is_self_contained(report):
    h = report.to_html()
    assert h.startswith("<!DOCTYPE html>") and "<style>" in h
    assert h.count("data:image/png;base64,") == len(report.figures)
    for s in report.sections:
        assert s.title in h
    assert "http://" not in h and "https://" not in h  # works offline
    frag = report._repr_html_()
    assert "<html" not in frag and report.sections[0].title in frag


def test_trend_against_previous_year(report):
    prev = report.facts["previous"]
    assert prev is not None and prev["year"] == 2023
    keys = [f.key for f in report.figures]
    assert "score_trend" in keys and "funds_trend" in keys


def test_docx_write_is_atomic_and_keeps_previous_on_failure(
    report, tmp_path, monkeypatch
):
    p = tmp_path / "r.docx"
    report.to_docx(p)
    before = p.read_bytes()
    from jdeval.report import word

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(word.Document, "save", boom, raising=False)
    monkeypatch.setattr("docx.document.Document.save", boom)
    with pytest.raises(RuntimeError):
        report.to_docx(p)
    assert p.read_bytes() == before
    assert [x.name for x in tmp_path.iterdir()] == ["r.docx"]


def test_bad_parameters_are_config_errors(ds):
    with pytest.raises(ConfigError) as ei:
        assemble(ds, year=1999, scheme="C", audience="public", compute_effects=False)
    codes = {p.code for p in ei.value.problems}
    assert codes == {"year_range", "scheme", "audience"}


def _with_more_funded(ds, n: int):
    """Plant ``n`` extra approved 2024 DIAG awards for unfunded 规上 firms."""
    aw = ds.awards
    fy = ds.firm_year
    funded = set(aw.loc[aw["batch_year"] == 2024, "firm_id"].dropna())
    pool = fy.loc[
        (fy["year"] == 2024) & fy["is_above_scale"].fillna(False).astype(bool),
        "firm_id",
    ]
    new_firms = [f for f in pool if f not in funded][:n]
    assert len(new_firms) == n
    tmpl = aw.loc[
        (aw["batch_year"] == 2024)
        & (aw["category"] == "DIAG")
        & aw["status"].isin(["approved", "disbursed"])
    ].iloc[[0]]
    firms = ds.firms.set_index("firm_id")
    rows = []
    for i, f in enumerate(new_firms):
        r = tmpl.copy()
        r["award_id"] = f"AP{i:05d}"
        r["firm_id"] = f
        r["town_code"] = firms.loc[f, "town_code"]
        r["industry_div"] = firms.loc[f, "industry_div"]
        rows.append(r)
    tables = dict(ds.tables)
    tables["awards"] = pd.concat([aw, *rows], ignore_index=True)
    return dataclasses.replace(ds, tables=tables)


def test_changing_data_changes_the_narrative(ds):
    kw = dict(
        year=2024, compute_effects=False, previous=False, report_date="2025-03-31"
    )
    low = assemble(ds, **kw)
    o1 = next(i for i in low.facts["indicators"] if i["id"] == "O1")
    assert o1["score_rate"] < 1  # 300 synthetic firms: fewer than 60 funded
    p = next(p for p in low.narrative.problems if p.rule_id == "coverage_target_missed")
    assert "扩大政策覆盖面" in p.recommendation
    ch6 = " ".join(x.text for x in low.section("ch6").paragraphs)
    assert "扩大政策覆盖面" in ch6
    ch5 = " ".join(x.text for x in low.section("ch5_2").paragraphs)
    assert "覆盖企业数量未达到年度指标值" in ch5

    needed = 60 - int(round(o1["actual"]))
    high = assemble(_with_more_funded(ds, needed + 2), **kw)
    o1h = next(i for i in high.facts["indicators"] if i["id"] == "O1")
    assert o1h["score_rate"] == pytest.approx(1.0)
    assert "coverage_target_missed" not in high.narrative.rule_ids()
    assert any("覆盖面较广" in e for e in high.narrative.experience)
    assert high.facts["total"] > low.facts["total"]


@pytest.mark.slow
def test_same_inputs_same_report(ds, report):
    again = assemble(ds, year=2024, effects=_Effects(), report_date="2025-03-31")
    assert again.to_html() == report.to_html()
    assert again.summary_en == report.summary_en


def test_missing_layer_degrades_gracefully(ds, report, monkeypatch):
    import jdeval.effects as eff

    def missing(*a, **k):
        raise NotImplementedError("policy_effects")

    monkeypatch.setattr(eff, "policy_effects", missing, raising=False)
    r = assemble(
        ds,
        year=2024,
        previous=False,
        report_date="2025-03-31",
        scorecard=report.scorecard,
    )
    assert "effects" in r.unavailable
    text = " ".join(p.text for p in r.section("ch4_5").paragraphs)
    assert "暂不可用" in text


def test_docx_bytes_reproducible(report, tmp_path):
    a = report.to_docx(tmp_path / "a.docx").read_bytes()
    b = report.to_docx(tmp_path / "b.docx").read_bytes()
    assert a == b
    d = docx.Document(io.BytesIO(a))
    assert d.core_properties.created.date().isoformat() == "2025-03-31"


def test_display_shows_every_section(report, monkeypatch):
    import IPython.display as ipd

    shown = []
    monkeypatch.setattr(ipd, "display", lambda obj: shown.append(obj.data))
    report.display()
    assert "<style>" in shown[0]
    assert len(shown) == len(report.sections) + 1
    assert all(s.title in h for s, h in zip(report.sections, shown[1:]))
