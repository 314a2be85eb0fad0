"""The assembled annual report: outline, footing, facts, findings, Chinese-only text.

Built once per module from the synthetic dataset (in memory, 300 firms) with the
real scorecard and survey layers; the causal effects are a small precomputed
object with planted numbers, so these tests stay fast (the effects layer has its
own tests) and the evidence rule can be checked against known answers.
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
from jdeval.report import assemble, consistency, formats
from jdeval.report.outline import OUTLINE


@pytest.fixture(scope="module")
def ds():
    from jdeval.data import synthesize

    return synthesize(firms=300)


def _rob(outcome, rows):
    return [
        {
            "outcome": outcome,
            "check": c,
            "check_zh": zh,
            "estimate": e,
            "se": 0.05,
            "ci_low": e - 0.1 if sig else e - 0.3,
            "ci_high": e + 0.1 if sig else e + 0.3,
            "p_value": 0.001 if sig else 0.4,
        }
        for c, zh, e, sig in rows
    ]


class _Effects:
    """A PolicyEffects-shaped object with planted numbers (ARCHITECTURE.md).

    ``log_tech_reno_inv``: significant, every comparison agrees → strong.
    ``digital_inv_share``: significant, 1 of 5 comparisons agrees → weak.
    ``tfp``: not significant → none (its twfe row is significant, which the
    wording must ignore).
    """

    table = pd.DataFrame(
        {
            "outcome": ["log_tech_reno_inv"] * 3
            + ["digital_inv_share"] * 2
            + ["tfp"] * 2,
            "outcome_zh": ["技术改造投资（对数）"] * 3
            + ["智改数转投资占营业收入比重"] * 2
            + ["全要素生产率（对数）"] * 2,
            "design": [
                "cs_dr",
                "matched_did",
                "naive",
                "cs_dr",
                "matched_did",
                "cs_dr",
                "twfe",
            ],
            "design_zh": [
                "多期双重差分（主估计）",
                "倾向得分匹配后双重差分",
                "简单对比（有偏，仅作说明）",
                "多期双重差分（主估计）",
                "倾向得分匹配后双重差分",
                "多期双重差分（主估计）",
                "双向固定效应（对比）",
            ],
            "estimate": [0.213, 0.2, 5.08, 0.02, 0.001, 0.004, 0.08],
            "se": [0.05, 0.05, 0.3, 0.005, 0.01, 0.02, 0.02],
            "ci_low": [0.115, 0.1, 4.5, 0.01, -0.02, -0.035, 0.04],
            "ci_high": [0.311, 0.3, 5.6, 0.03, 0.02, 0.043, 0.12],
            "p_value": [0.00002, 0.0001, 0.0, 0.0001, 0.9, 0.84, 0.0001],
            "n_firms": [300] * 7,
            "n_treated": [40] * 7,
        }
    )
    main = table.loc[table["design"] == "cs_dr"].reset_index(drop=True)
    robustness = pd.DataFrame(
        _rob(
            "log_tech_reno_inv",
            [
                ("pretest", "处理前趋势检验", 0.0, False),
                ("never_treated", "对照组改为从未受资助企业", 0.2, True),
                ("no_covariates", "不控制协变量", 0.22, True),
                ("leave_out_2023", "剔除 2023 年批次", 0.19, True),
            ],
        )
        + _rob(
            "digital_inv_share",
            [
                ("pretest", "处理前趋势检验", 0.0, False),
                ("never_treated", "对照组改为从未受资助企业", 0.02, True),
                ("no_covariates", "不控制协变量", 0.01, False),
                ("leave_out_2023", "剔除 2023 年批次", -0.01, False),
                ("leave_out_2024", "剔除 2024 年批次", 0.01, False),
            ],
        )
        + _rob("tfp", [("pretest", "处理前趋势检验", 0.0, False)])
    )
    pretests: dict = {}
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
def scorecard(ds):
    from jdeval.indicators import evaluate, load_targets

    return evaluate(ds, load_targets(), year=2024, scheme="A")


@pytest.fixture(scope="module")
def docx_bytes(report, tmp_path_factory):
    p = tmp_path_factory.mktemp("docx") / "report.docx"
    report.to_docx(p)
    return p.read_bytes()


def _docx_text(b: bytes) -> str:
    xml = zipfile.ZipFile(io.BytesIO(b)).read("word/document.xml").decode()
    return "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml))


def _text(report) -> str:
    """Every paragraph and table cell of the report."""
    out = []
    for s in report.sections:
        out.append(s.title)
        for b in s.blocks:
            if hasattr(b, "frame"):
                out.append(b.caption + b.footnote)
                out += [str(c) for c in b.frame.columns]
                out += [str(i) for i in b.frame.index]
                out += b.frame.astype(str).to_numpy().ravel().tolist()
            elif hasattr(b, "png"):
                out.append(b.caption + b.note)
            else:
                out.append(b.text)
    return "\n".join(out)


# ------------------------------------------------------------------ outline
def test_outline_follows_domain_spec_section_5(report):
    titles = report.outline()
    assert [s.key for s in report.sections] == [k for k, _, _ in OUTLINE]
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
    secs = report.sections
    for s, nxt in zip(secs, [*secs[1:], None]):
        if nxt is None or nxt.level <= s.level or s.level == 0:
            assert s.blocks, f"empty section {s.title}"


# ---------------------------------------------------------- score and footing
def test_score_table_foots_and_equals_scorecard(report, scorecard):
    frame = scorecard.to_frame()
    t = next(t for t in report.tables if t.key == "scores").frame
    body = t.loc[~t["一级指标"].str.endswith("小计") & (t["一级指标"] != "合计")]
    assert list(body["三级指标"]) == list(frame["level3"])
    assert list(body["得分"]) == [formats.score(v) for v in frame["score"]]
    total = t.iloc[-1]
    assert total["一级指标"] == "合计" and total["得分"] == formats.score(
        scorecard.total
    )
    assert total["评定"] == scorecard.grade == report.facts.grade
    # each 小计 is the rounded sum of its indicators; the note explains any gap
    note = next(t for t in report.tables if t.key == "scores").footnote
    subs = t.loc[t["一级指标"].str.endswith("小计")]
    gaps = []
    for _, r in subs.iterrows():
        name = r["一级指标"].removesuffix("小计")
        shown = body.loc[body["一级指标"] == name, "得分"].astype(float).sum()
        if abs(shown - float(r["得分"])) > 0.001:
            gaps.append(f"{name}：所列分项之和为{formats.score(shown)}分")
    shown_total = subs["得分"].astype(float).sum()
    if abs(shown_total - float(total["得分"])) > 0.001:
        gaps.append(f"合计：所列分项之和为{formats.score(shown_total)}分")
    assert ("尾差" in note) == bool(gaps)
    for g in gaps:
        assert g in note


def test_score_rows_add_the_standard_rounding_note():
    from jdeval.report.outline import score_rows

    f = pd.DataFrame(
        {
            "level1": ["产出", "产出", "效益"],
            "level2": ["a", "b", "c"],
            "level3": ["x", "y", "z"],
            "target_raw": ["≥1"] * 3,
            "actual_display": ["1"] * 3,
            "weight": [10.0, 10.0, 80.0],
            "score": [3.336, 3.336, 80.0],
            "score_rate": [0.3336, 0.3336, 1.0],
            "tier": [""] * 3,
        }
    )
    disp, note = score_rows(f, 86.67, "差")
    sub = disp.loc[disp["一级指标"] == "产出小计", "得分"].item()
    assert sub == "6.67" and list(disp.loc[:1, "得分"]) == ["3.34", "3.34"]
    assert "尾差" in note and "6.68" in note
    _, none = score_rows(f.assign(score=[3.0, 3.0, 80.0]), 86.0, "差")
    assert none == ""


def test_grade_comes_from_targets_and_change_from_shown_totals(ds, report):
    from jdeval.indicators import load_targets

    f = report.facts
    assert f.grade == load_targets().grade_for(f.total)
    assert f.previous is not None and f.previous.year == 2023
    diff = round(round(f.total, 2) - round(f.previous.total, 2), 2)
    summary = " ".join(report.summary_zh)
    word = "提高" if diff >= 0 else "下降"
    assert f"较上年{word}{formats.score(abs(diff))}分" in summary


def test_previous_year_table_is_on_the_same_basis(report):
    t = next(t for t in report.tables if t.key == "score_trend_table")
    prev = report.facts.previous
    cols = [c for c in t.frame.columns if c.startswith(f"{prev.year}年分值")]
    assert cols and "同一口径" in t.caption
    na = t.frame.loc[t.frame[cols[0]] == "不适用", "三级指标"].tolist()
    assert na == prev.not_applicable
    # an N/A indicator shows 不适用, never a 0.00 score
    for name in na:
        row = t.frame.loc[t.frame["三级指标"] == name].iloc[0]
        assert row[f"{prev.year}年得分"] == "不适用"
    assert "重新计算" in t.footnote


# ---------------------------------------------------------------- facts
def test_counts_name_both_definitions(report):
    a = report.facts.awards
    assert a.n_applications == a.n_rejected + a.n_withdrawn + a.n_ever_approved
    assert a.n_ever_approved == a.n_approved + a.n_clawed_back
    ch1 = " ".join(p.text for p in report.section("ch1_1").paragraphs)
    assert f"受理申报{a.n_applications}项" in ch1
    assert f"核定{a.n_ever_approved}项" in ch1
    if a.n_clawed_back:
        assert (
            f"{a.n_clawed_back}项核定后已追回" in ch1
            and f"有效核定{a.n_approved}项" in ch1
        )


def test_figures_agree_across_html_docx_and_facts(report, docx_bytes):
    outputs = {
        "html": consistency.text_of_html(report.to_html()),
        "docx": _docx_text(docx_bytes),
    }
    bad = consistency.disagreements(outputs)
    assert not bad, [str(d) for d in bad]
    f = report.facts
    got = consistency.figures(outputs["html"])
    assert got["总得分"] == {f.total_shown}
    assert got["评价等级"] == {f.grade}
    assert got["受理申报"] == {str(f.awards.n_applications)}
    assert got["有效核定补贴"] == {formats.number(f.awards.amount_approved)}


def test_consistency_check_can_fail():
    a = "有效核定补贴3,205.00万元；评价等级为“优”"
    b = "有效核定补贴3,255.00万元；评价等级为“优”"
    bad = consistency.disagreements({"a": a, "b": b})
    assert [d.label for d in bad] == ["有效核定补贴"]
    # one quantity at two precisions: an indicator cell vs the KPI row (issue F1)
    row = "97.7%（84/86项按期；平均发放75天，P90 105天）"
    kpi = "平均发放时长（天）—75.3天（中位数58天，第90百分位数105天）"
    bad = consistency.disagreements({"html": row + kpi})
    assert [d.label for d in bad] == ["平均发放时长"]
    # any other label too, without listing it
    bad = consistency.disagreements({"a": "实际完成97.7%", "b": "实际完成97.67%"})
    assert [d.label for d in bad] == ["实际完成（%）"]
    assert not consistency.disagreements({"a": "实际完成97.7%", "b": "实际完成96.2%"})


def test_payment_timing_has_one_display(report, scorecard):
    """KPI K8, 组织实施 and the findings show the same formatted timing."""
    t = report.facts.payment.timing
    k8 = scorecard.kpis.set_index("id").loc["K8", "actual_display"]
    assert t.n_disbursed > 0 and k8 == t.shown
    html = consistency.text_of_html(report.to_html())
    assert f"平均发放时长（自核定至拨付）{t.shown}" in html
    assert consistency.figures(html)["平均发放时长"] == {t.mean_shown[:-1]}
    assert "平均发放" not in scorecard.to_frame()["actual_display"].str.cat()


def test_reference_date_in_preface_cover_and_ch4(report):
    d = formats.date_zh(report.facts.as_of)
    pre = " ".join(p.text for p in report.section("preface").paragraphs)
    assert f"评价基准日为{d}" in pre
    assert report.cover["评价基准日"] == d
    ch4 = " ".join(p.text for p in report.section("ch4_2").paragraphs)
    assert f"截至{d}" in ch4


def test_as_of_argument_sets_the_reference_date(ds, report):
    r = assemble(
        ds,
        year=2024,
        effects=_Effects(),
        previous=False,
        as_of="2025-06-30",
        report_date="2025-07-01",
    )
    assert formats.date_zh(r.facts.as_of) == "2025年6月30日"
    assert r.facts.as_of_basis == "按评价参数指定"
    assert "评价基准日为2025年6月30日" in " ".join(r.summary_zh)


# ---------------------------------------------------------------- findings
def test_findings_are_distinct_ranked_and_in_the_summary(report):
    from jdeval.indicators import load_targets

    probs = report.narrative.problems
    titles = [p.title for p in probs]
    assert len(titles) == len(set(titles))
    order = load_targets().policies.report.severity
    ranks = [
        order.index(p.severity) if p.severity in order else len(order) for p in probs
    ]
    assert ranks == sorted(ranks)
    for p in probs:  # a cause never restates the problem
        assert p.cause and p.cause not in p.problem and p.problem not in p.cause
    summary = " ".join(report.summary_zh)
    for c in report.facts.compliance.checks:
        assert f"{c.problem_zh}{c.n}项" in summary
    assert f"评价等级为“{report.facts.grade}”" in summary


def test_no_achieved_indicator_is_listed_as_missed(report):
    achieved = {i.level3 for i in report.facts.indicators if i.achieved}
    for p in report.narrative.problems:
        if p.rule_id == "missed_target":
            assert not any(f"“{a}”指标" in p.title for a in achieved)
    assert not (achieved & {i.level3 for i in report.facts.missed})


def test_recommendations_are_not_templated_on_the_target_text(report):
    for p in report.narrative.problems:
        assert "确保下一年度达到" not in p.recommendation
        for i in report.facts.indicators:
            assert f"达到{i.target}的要求" not in p.recommendation


def test_indicator_paragraphs_state_the_result_once(report):
    for key in ("ch4_2", "ch4_3", "ch4_4"):
        for p in report.section(key).paragraphs:
            assert p.text.count("得分") <= 2, p.text  # 得分x分（分值y分） once
            assert p.text.count("评定为") <= 1


# ------------------------------------------------------------ causal wording
def test_evidence_strength_and_wording(report):
    by = {e.outcome: e for e in report.facts.effects}
    assert by["log_tech_reno_inv"].strength == "strong"
    assert by["digital_inv_share"].strength == "weak"
    assert by["tfp"].strength == "none"
    text = " ".join(p.text for p in report.section("ch4_5").paragraphs)
    summary = " ".join(report.summary_zh)
    # only the strong result is called 明确; the weak one is hedged
    assert "有明确证据表明补贴提高了受资助企业的技术改造投资" in summary
    paras = {p.text.split("：")[0]: p.text for p in report.section("ch4_5").paragraphs}
    weak = paras["智改数转投资占营业收入比重"]
    assert "证据较弱" in weak and "明确" not in weak
    assert "有明确证据" in paras["技术改造投资（对数）"]
    assert "在统计上不显著，尚不能确认" in paras["全要素生产率（对数）"]
    # log outcome: log points and the derived per cent, the same everywhere
    e = by["log_tech_reno_inv"]
    assert e.shown == "0.213对数点（约+23.7%）"
    assert e.shown in text and e.shown in summary


def test_robustness_table_uses_the_headline_unit(report):
    # issue 10: one quantity, one scale; 表8 printed a ratio outcome as the
    # fraction 0.018 under a headline of "+2.11个百分点"
    tables = [
        b
        for s in report.sections
        for b in s.blocks
        if getattr(b, "key", "") == "effects_checks"
    ]
    assert tables
    rows = tables[0].frame
    by = {e.outcome_zh: e for e in report.facts.effects}
    ratio = [e for e in report.facts.effects if e.scale == "ratio" and e.checks]
    assert ratio  # the fixture has a share outcome
    for e in ratio:
        mine = rows[rows["结果变量"] == f"{e.outcome_zh}（个百分点）"]
        assert len(mine) == len(e.checks)
        assert list(mine["估计值"]) == [f"{100 * c.estimate:+.2f}" for c in e.checks]
    assert set(rows["结果变量"]) <= {n + s for n in by for s in ("", "（个百分点）")}


def test_kpi_table_targets_and_counts_are_formatted(report):
    # issue 11: "100% (2025)", "≥80% (2025); …" and "228/1180家" in 表 补充绩效指标
    kpis = next(
        b for s in report.sections for b in s.blocks if getattr(b, "key", "") == "kpis"
    )
    for cell in kpis.frame["目标"].tolist() + kpis.frame["实际"].tolist():
        assert not re.search(r"[();]|>=|<=|\d{4}家", cell), cell


def test_category_table_says_how_its_unit_total_is_counted(report, ds):
    # anchor 6: rows add to their 合计; 表1's 受益单位数 rows count a unit in each
    # category it was funded in, the 合计 once, so the rows add to more
    from jdeval.indicators import load_targets
    from jdeval.report import facts as factsmod

    t = next(
        b
        for s in report.sections
        for b in s.blocks
        if getattr(b, "key", "") == "categories"
    )
    a = factsmod.approved(ds.awards, 2024, load_targets().policies.approved_statuses)
    per = a.groupby("category")["beneficiary"].nunique().sum()
    assert per >= a["beneficiary"].nunique()
    assert ("合计按不重复单位计" in t.footnote) == (per > a["beneficiary"].nunique())


def test_naive_comparison_and_variable_names_stay_out(report):
    text = _text(report)
    assert "简单对比" not in text
    assert "log_tech_reno_inv" not in text


# ---------------------------------------------------------- Chinese only
@pytest.mark.parametrize(
    "pattern",
    [
        r"\((?:awards|firm_year|budget|complaints_audit|survey_responses)\)",
        r"（(?:awards|firm_year|budget|complaints_audit|survey_responses)",
        r">=|<=",
        r"\[(?:A|R|SEED)\]",
        r"\bNaN\b|\bnan\b|\bNone\b|\bTrue\b|\bFalse\b|\bNaT\b",
        r"\d\.\d+e[-+]\d\d",
        r"English summary",
        r"[A-Za-z]+_[A-Za-z_]+",  # column keys
        r"(?m)(?:^|值)=\d|\d\((?:万元|家|%|个|项|天)\)",  # declared "=50.00(万元)"
        r"p=0\.000|\bmin\(|95%CI|回复率",  # raw p, formulas, two names for 回收率
        r"[\u4e00-\u9fff]\([\u4e00-\u9fff]",  # ASCII brackets: 诊断评估(线下)
        r"[\u4e00-\u9fff] \d+ [\u4e00-\u9fff]|Sun-Abraham",  # 剔除 2023 年批次
    ],
)
def test_no_raw_values_keys_or_english_in_report_text(report, docx_bytes, pattern):
    for name, text in {"report": _text(report), "docx": _docx_text(docx_bytes)}.items():
        m = re.search(pattern, text)
        assert m is None, (
            f"{name}: {m.group(0)!r} in …{text[max(0, m.start() - 40) : m.end() + 40]}…"
        )


def test_no_double_negatives_in_reasons_or_the_selfeval_annex(report, docx_bytes):
    # issue 11: "未完全达成的清单项：无…查实投诉" (there was one) and "未通过的检查：
    # 无重复资助3项" (3 duplicates) read as their opposites; the 自评表 annex
    # printed both.
    text = _text(report) + "\n" + _docx_text(docx_bytes)
    for bad in (
        r"未通过的检查",
        r"(?:未完全达成|未满足)的清单项：无",
        r"无重复资助\d",
        r"金额不超上限\d",
    ):
        m = re.search(bad, text)
        assert m is None, text[max(0, m.start() - 60) : m.end() + 60]
    o2 = next(i for i in report.facts.indicators if i.scoring == "award_checks")
    failed = " ".join(o2.reasons)
    assert "审核发现" in failed  # failures named by the problem, e.g. 重复资助3项


def test_synthetic_notice_in_summary_and_cover(report):
    assert report.facts.synthetic
    assert "模拟数据" in report.summary_zh[0]
    assert "模拟数据" in report.cover["数据说明"]


def test_english_summary_is_separate(report):
    assert report.summary_en and all(s.key != "summary_en" for s in report.sections)
    assert "English" not in _text(report)


# ----------------------------------------------------------- fail loudly
def test_bad_parameters_are_config_errors(ds):
    with pytest.raises(ConfigError) as ei:
        assemble(ds, year=1999, scheme="C", audience="public", compute_effects=False)
    codes = {p.code for p in ei.value.problems}
    assert codes == {"year_range", "scheme", "audience"}


def test_a_dataset_without_the_year_is_an_error():
    with pytest.raises(ConfigError) as ei:
        assemble(None, year=2024, compute_effects=False)
    assert [p.code for p in ei.value.problems] == ["year_range"]


def test_errors_in_a_layer_propagate(ds, report, monkeypatch):
    import jdeval.effects as eff

    def broken(*a, **k):
        raise NotImplementedError("policy_effects")

    monkeypatch.setattr(eff, "policy_effects", broken, raising=False)
    with pytest.raises(NotImplementedError):
        assemble(ds, year=2024, previous=False, report_date="2025-03-31")


def test_only_an_absent_optional_input_is_unavailable_and_recorded(ds):
    tables = dict(ds.tables)
    tables["survey_responses"] = ds.tables["survey_responses"].iloc[0:0]  # not given
    files = {k: v for k, v in (ds.files or {}).items() if k != "survey_responses"}
    no_survey = dataclasses.replace(ds, tables=tables, files=files)
    r = assemble(
        no_survey,
        year=2024,
        effects=_Effects(),
        previous=False,
        report_date="2025-03-31",
    )
    assert set(r.unavailable) == {"survey"}
    assert r.facts.survey is None
    r2 = assemble(ds, year=2024, compute_effects=False, previous=False)
    assert set(r2.unavailable) == {"effects"}


# ------------------------------------------------------------- outputs
def test_docx_headings_tables_and_score_table(docx_bytes, report):
    d = docx.Document(io.BytesIO(docx_bytes))
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert [h for h in heads if h in report.outline()] == report.outline()
    assert len(d.tables) >= len(report.tables)


def test_html_is_self_contained(report):
    h = report.to_html()
    assert h.startswith("<!DOCTYPE html>") and "<style>" in h
    for s in report.sections:
        assert s.title in h
    assert "http://" not in h and "https://" not in h  # works offline


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
        & aw["expert_review_done"].astype(bool)
        & aw["eligibility_ok"].astype(bool)
        & aw["no_duplicate_funding"].astype(bool)
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
    o1 = next(i for i in low.facts.indicators if i.method == "covered_firms")
    assert o1.score_rate < 1  # 300 synthetic firms: fewer than 60 funded
    p = next(p for p in low.narrative.problems if p.rule_id == "coverage_missed")
    assert o1.actual_display in p.title and "受理申报" in p.cause
    ch6 = " ".join(x.text for x in low.section("ch6").paragraphs)
    assert p.recommendation in ch6
    needed = int(o1.target_value) - int(round(o1.actual))
    high = assemble(_with_more_funded(ds, needed + 2), **kw)
    o1h = next(i for i in high.facts.indicators if i.method == "covered_firms")
    assert o1h.score_rate == pytest.approx(1.0)
    assert "coverage_missed" not in high.narrative.rule_ids()
    assert any("覆盖面达到目标" in e for e in high.narrative.experience)


def test_grade_cap_rule_is_stated_and_applies_when_enabled(ds, report):
    from jdeval.indicators import load_targets

    f = report.facts
    assert "未启用" in f.grade_cap_rule and f.grade == f.grade_scored
    t = load_targets()
    cap = t.policies.report.grade_cap.model_copy(
        update={"enabled": True, "max_grade": "中"}
    )
    rep = t.policies.report.model_copy(update={"grade_cap": cap})
    t2 = dataclasses.replace(t, policies=t.policies.model_copy(update={"report": rep}))
    r = assemble(ds, year=2024, targets=t2, effects=_Effects(), previous=False)
    hit = any(v.event_type in cap.event_types for v in r.facts.compliance.violations)
    ranks = [b.grade for b in t.policies.grade_bands]
    if hit and ranks.index(r.facts.grade_scored) < ranks.index("中"):
        assert r.facts.grade == "中" and r.facts.grade_capped
        assert "调整为“中”" in " ".join(p.problem for p in r.narrative.problems)
    else:
        assert r.facts.grade == r.facts.grade_scored
    assert "最高为“中”" in " ".join(r.summary_zh)


def test_headline_for_the_index_page_matches_the_report(report):
    import json

    h = report.facts.headline()
    json.dumps(h, ensure_ascii=False)  # JSON-able
    text = consistency.text_of_html(report.to_html())
    for key in ("total", "amount_approved", "amount_disbursed", "as_of"):
        assert h[key] in text, key
    assert h["grade"] == report.facts.grade


def test_targets_of_another_year_are_stated_in_the_preface(ds, report):
    """Scoring 2023 with the 2024 targets file is allowed and said once in 前言, in
    the words of a report (the tool's warning stays in the build log)."""
    assert report.facts.targets_year == 2024 and report.facts.warnings == []
    pre = "".join(p.text for p in report.section("preface").paragraphs)
    assert "2024年度《财政政策绩效目标申报表》" in pre and "沿用" not in pre
    r = assemble(ds, year=2023, effects=_Effects(), report_date="2025-03-31")
    # 2023 is the policy's first batch: the panel has 2022, but no awards to score
    assert 2022 in ds.years and 2022 not in ds.batch_years
    assert r.facts.previous is None
    assert r.facts.targets_year == 2024 and r.facts.warnings == []
    html = consistency.text_of_html(r.to_html())
    pre = "".join(p.text for p in r.section("preface").paragraphs)
    assert "该政策的2024年度《财政政策绩效目标申报表》" in pre
    assert "2023年度未另行申报绩效目标，本次评价沿用2024年度申报表" in pre
    assert "评价提示" not in html and "指标设置文件为" not in html
    assert "2024年度绩效指标表（摘自绩效目标申报表）" in html


class _EffectsWithDesign(_Effects):
    """_Effects plus E1's typed design fields (an unbalanced panel, one bad cohort)."""

    from jdeval.effects._did_overlap import Overlap
    from jdeval.effects.attrition import Attrition
    from jdeval.effects.did import InferenceInfo

    inference = InferenceInfo(
        cluster_var="firm_id",
        n_clusters=287,
        method="wild_cluster_bootstrap",
        critical="t(G-1)",
        df=286,
        biters=999,
        reason_zh="（不应原样出现）",
    )
    overlap = Overlap(
        pd.DataFrame(
            {
                "cohort": [2023.0, 2024.0],
                "n": [31, 4],
                "n_comparison": [250, 260],
                "ps_min": [0.001, 0.002],
                "ps_max": [0.9, 0.999],
                "ps_max_comparison": [0.8, 0.97],
                "share_near_0": [0.123, 0.3],
                "share_near_1": [0.0, 0.01],
                "n_trimmed": [0, 2],
                "n_treated_above": [0, 1],
                "ess_comparison": [88.4, 12.2],
                "overlap_ok": [True, False],
            }
        ),
        0.995,
        warnings=["2024年批次有获补企业缺少可比对照，该批次的估计依赖外推"],
    )
    attrition = Attrition(
        balanced=False,
        table=pd.DataFrame({"n_entered": [3, 11], "n_exited": [2, 17]}),
        tests=pd.DataFrame(),
        estimator="repeated_cross_section",
        panel_mode="auto",
        reason_zh="（不应原样出现）",
        reason_en="",
    )
    attrition_by_outcome = {
        "log_tech_reno_inv": attrition,
        "tfp": attrition,
    }


def test_method_and_limitations_state_clustering_overlap_and_panel_choice(ds):
    r = assemble(
        ds,
        year=2024,
        effects=_EffectsWithDesign(),
        previous=False,
        report_date="2025-03-31",
    )
    html = consistency.text_of_html(r.to_html())
    method = " ".join(p.text for p in r.section("ch4_5").paragraphs)
    limits = " ".join(p.text for p in r.section("ch2_5").paragraphs)
    # which clustering and why, in the effects method paragraph, from the fields
    assert "标准误按企业聚类（共287个聚类）" in method
    assert "处理在企业层面分配" in method and "野聚类自助法" in method
    assert "抽样999次" in method and "自由度为聚类数减1的t分布临界值" in method
    # overlap per cohort and the warning, in the limitations
    assert "2023年获补批次31家企业均有可比的对照企业" in limits
    assert "12.3%的倾向得分接近0" in limits and "有效对照规模约88家" in limits
    assert "2024年获补批次4家企业中1家的倾向得分达到截断值0.995" in limits
    assert "2家因得分过高被剔除" in limits and "依赖外推" in limits
    # attrition and the estimator chosen
    assert "14家企业进入、19家退出" in limits and "重复截面估计量" in limits
    assert "不应原样出现" not in html
    for t in ("聚类", "倾向得分重叠性", "样本进入与退出"):
        assert t in html


def test_design_paragraphs_follow_the_fields(ds, report):
    """With a balanced panel the report says so; without the fields it is silent."""
    assert report.facts.design is not None and report.facts.design.cluster_var is None
    html = consistency.text_of_html(report.to_html())
    assert "倾向得分重叠性" not in html and "标准误按" not in html


# ------------------------------------------------------------ the edit loop
def _prepare_calls(log) -> list[bool]:
    import json

    rows = [json.loads(x) for x in log.read_text().splitlines()]
    return [r["reused"] for r in rows if r["function"] == "prepare"]


def test_narrative_edit_reuses_the_prepared_basis(ds, tmp_path, monkeypatch):
    """With ``memo=jdeval.build.shared`` a narrative edit re-runs only the cheap
    step, shows the edit and gives the same report as a full assembly."""
    from jdeval.build import shared
    from jdeval.build.paths import default_narrative
    from jdeval.build.share import ENV_CACHE, ENV_SHARED_LOG

    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_SHARED_LOG, str(tmp_path / "calls.jsonl"))
    src = default_narrative(2024).read_text(encoding="utf-8")
    first, edited = tmp_path / "n1.yaml", tmp_path / "n2.yaml"
    first.write_text(src, encoding="utf-8")
    new = re.sub(r"(?m)^(\s*- title:\s*)(.+)$", r"\1\2（已修改）", src, count=1)
    assert new != src
    edited.write_text(new, encoding="utf-8")
    kw = dict(year=2024, effects=_Effects(), report_date="2025-03-31")
    r1 = assemble(ds, narrative=first, memo=shared, **kw)
    r2 = assemble(ds, narrative=edited, memo=shared, **kw)
    assert _prepare_calls(tmp_path / "calls.jsonl") == [False, True]
    assert "（已修改）" not in _text(r1) and "（已修改）" in _text(r2)
    full = assemble(ds, narrative=edited, **kw)  # no cache at all
    assert _text(r2) == _text(full) and r2.cover == full.cover
    assert [f.png for f in r2.figures] == [f.png for f in full.figures]


def test_data_or_targets_change_is_never_served_stale(ds, tmp_path, monkeypatch):
    from jdeval.build import shared
    from jdeval.build.share import ENV_CACHE, ENV_SHARED_LOG
    from jdeval.indicators.targets import default_targets_path

    monkeypatch.setenv(ENV_CACHE, str(tmp_path / "cache"))
    monkeypatch.setenv(ENV_SHARED_LOG, str(tmp_path / "calls.jsonl"))
    tgt = tmp_path / "targets.yaml"
    text = default_targets_path().read_text(encoding="utf-8")
    tgt.write_text(text, encoding="utf-8")
    kw = dict(year=2024, effects=_Effects(), report_date="2025-03-31", memo=shared)
    base = assemble(ds, targets=tgt, **kw)
    # targets wording: same file name, new department
    dept = "上海市嘉定区经济委员会"
    assert dept in text
    tgt.write_text(text.replace(dept, "嘉定区测试委员会"), encoding="utf-8")
    renamed = assemble(ds, targets=tgt, **kw)
    assert "嘉定区测试委员会" in _text(renamed) and "嘉定区测试委员会" not in _text(
        base
    )
    # data: every approved amount doubled
    aw = ds.tables["awards"]
    ds2 = dataclasses.replace(
        ds,
        tables={
            **ds.tables,
            "awards": aw.assign(approved_amount=aw["approved_amount"] * 2),
        },
    )
    doubled = assemble(ds2, targets=tgt, **kw)
    assert doubled.facts["awards"].amount_approved == pytest.approx(
        2 * renamed.facts["awards"].amount_approved
    )
    assert _prepare_calls(tmp_path / "calls.jsonl") == [False, False, False]


def test_action_plan_targets_in_their_final_year_are_missed_not_behind(ds):
    """2025 is the action plan's target year: no "behind schedule" wording, no
    yearly quota for years that do not come, no placeholder."""
    r = assemble(ds, year=2025, compute_effects=False, report_date="2026-03-31")
    plan = [f for f in r.narrative.problems if "行动计划目标" in f.title]
    assert plan and "到期未实现" in plan[0].title
    text = plan[0].problem + plan[0].cause + plan[0].recommendation
    assert "落后于进度" not in text and "每年约" not in text and "—家" not in text
    assert "2026年度绩效目标" not in text and "全周期绩效评价" in text
    # a town whose rate is withheld is still a whole clause ("徐行镇，不到…" was not)
    low = [f for f in r.narrative.problems if "覆盖率偏低" in f.title]
    assert low and "不列示比例" in low[0].problem
    assert not any(
        f"{t}，" in low[0].problem for t in low[0].title.split("政策")[0].split("、")
    )


class _EffectsWithDose(_Effects):
    """_Effects plus a value-for-money estimate (``per_wan`` 万元 per 万元)."""

    def __init__(self, per_wan: float, ci_low: float, ci_high: float) -> None:
        import types

        self.dose = types.SimpleNamespace(
            available=True,
            value_for_money={"per_wan": per_wan, "ci_low": ci_low, "ci_high": ci_high},
        )


@pytest.mark.parametrize("kind", ["plausible", "point_above", "bound_above"])
def test_a_value_for_money_estimate_above_the_leverage_is_not_published(ds, kind):
    """Above the projects' whole investment per 万元 (the gross leverage) the
    estimate is impossible: with even its lower bound above, its figures are not
    printed; with only the point above, they are printed with the caveat."""
    lev = assemble(ds, year=2024, effects=_Effects()).facts.awards.leverage
    per, lo, hi = {
        "plausible": (lev / 4, lev / 8, lev / 2),
        "point_above": (lev * 1.5, lev / 2, lev * 2.5),
        "bound_above": (lev * 4, lev * 2, lev * 6),
    }[kind]
    r = assemble(ds, year=2024, effects=_EffectsWithDose(per, lo, hi))
    html = consistency.text_of_html(r.to_html())
    shown = f"每万元补贴对应受资助企业新增技术改造投资{per:,.2f}万元"
    assert (shown in html) == (kind != "bound_above")
    assert ("与实际不符" in html) == (kind != "plausible")
    if kind == "bound_above":
        assert f"{per:,.2f}" not in html and f"{lo:,.2f}" not in html
        assert "评价组未采用该估计评价资金效益" in html


def test_a_finding_places_awards_only_where_the_tables_may(ds):
    """A compliance finding names a town in the reviewer edition only when at least
    ``min_firms`` of its flagged awards are there (the tables' rule); the internal
    edition names every town.  2025 of the synthetic data: one duplicate-funded
    project in a town whose row the distribution tables withhold."""
    year = 2025
    rev = assemble(ds, year=year, effects=_Effects())
    internal = assemble(ds, year=year, effects=_Effects(), audience="internal")
    k = rev.facts.params["min_firms"]
    checks = rev.facts.compliance.checks
    assert checks, "the synthetic data plant review-check failures"
    rev_text = consistency.text_of_html(rev.to_html())
    int_text = consistency.text_of_html(internal.to_html())
    # the review checks whose findings say where the awards are
    placing = ("no_duplicate_funding", "eligibility_ok", "amount_within_cap")
    placed = [c for c in checks if c.code in placing]
    assert placed
    for c in placed:
        for t in c.towns:
            if t.n < k:
                assert f"分布在{t.name}" not in rev_text, (c.code, t)
        assert f"分布在{c.towns_shown('internal', k)}" in int_text, c.code
    withheld = [t for c in placed for t in c.towns if t.n < k]
    assert withheld, "some flagged town has fewer than min_firms awards"
