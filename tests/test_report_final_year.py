"""The policy's final year: whole-period summary and post-policy recommendations.

The final year is the year of ``meta.period.end`` in the targets file (2025 for
the bundled 智改数转 targets).  The report built for that year states it, sums the
period's batches (in 摘要 and 第三部分) and points its recommendations at the
policy's successor, not at a year after the period; earlier years keep their
``year + 1`` wording.  Reports are assembled from the bundled synthetic data
without the causal estimates (their rules do not involve the period).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
import yaml

from jdeval.indicators import load_targets
from jdeval.report import assemble
from jdeval.report.facts import collect
from jdeval.report.outline import render

TARGETS = Path(__file__).resolve().parents[1] / "data" / "targets" / "zgsz_2024.yaml"


def _docx_text(report, path) -> str:
    report.to_docx(path)
    xml = zipfile.ZipFile(io.BytesIO(path.read_bytes())).read("word/document.xml")
    paras = re.findall(r"<w:p[ >].*?</w:p>", xml.decode(), flags=re.S)
    return "\n".join("".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", p)) for p in paras)


def _section(report, *keys: str) -> str:
    return "\n".join(
        b.text
        for s in report.sections
        if s.key in keys
        for b in s.blocks
        if hasattr(b, "text")
    )


def _recommendations(report) -> str:
    return "\n".join(p.recommendation for p in report.narrative.problems)


def _batches(ds, targets):
    """Valid approvals per batch year of the period, computed from the awards table."""
    p = targets.meta.period
    a = ds.tables["awards"]
    a = a.loc[a["status"].isin(list(targets.policies.approved_statuses))]
    a = a.loc[a["batch_year"].between(int(p.start[:4]), int(p.end[:4]))]
    unit = a["firm_id"].astype("object")
    unit = unit.where(unit.notna(), a["provider_id"].astype("object"))
    a = a.assign(unit=unit)
    per = a.groupby("batch_year").agg(
        n=("award_id", "size"),
        units=("unit", "nunique"),
        amount=("approved_amount", "sum"),
    )
    return per, int(a["unit"].nunique())


@pytest.fixture(scope="module")
def targets():
    return load_targets(TARGETS)


@pytest.fixture(scope="module")
def report_2025(ds):
    return assemble(ds, year=2025, compute_effects=False)


@pytest.fixture(scope="module")
def report_2024(ds):
    return assemble(ds, year=2024, compute_effects=False)


def test_final_year_report_states_the_whole_period(report_2025, ds, targets, tmp_path):
    assert targets.meta.period.end.startswith("2025")  # the bundled targets
    text = _docx_text(report_2025, tmp_path / "r2025.docx")
    lead = "2025年是政策执行期最后一年（执行期为2023年8月至2025年12月），政策于2025年12月到期"
    # once in 摘要, once in 三、综合评价情况及评价结论
    assert text.count(lead) == 2
    assert lead in _section(report_2025, "summary")
    assert lead in _section(report_2025, "ch3")

    per, n_units = _batches(ds, targets)
    assert list(per.index) == [2023, 2024, 2025]
    assert f"执行期内共组织{len(per)}个年度批次的申报" in text
    for r in per.itertuples():
        assert (
            f"{r.Index}年度批次有效核定项目{r.n}项、受益单位{r.units}家，"
            f"核定补贴{r.amount:,.2f}万元"
        ) in text
    total = (
        f"全周期合计有效核定项目{per['n'].sum()}项、"
        f"核定补贴{per['amount'].sum():,.2f}万元，受益单位{n_units}家"
    )
    assert total in text


def test_final_year_recommendations_look_past_the_policy(report_2025):
    summary = _section(report_2025, "summary").splitlines()
    recs = "\n".join(
        [_recommendations(report_2025), _section(report_2025, "ch6")]
        + [p for p in summary if p.startswith("主要问题与建议")]
    )
    assert report_2025.narrative.problems
    assert not re.search(r"202[6-9]年", recs), "a year after the period"
    # the rules that named year + 1 now name the successor policy
    assert "政策到期后" in recs


def test_earlier_year_keeps_its_next_year_wording(report_2024, tmp_path):
    text = _docx_text(report_2024, tmp_path / "r2024.docx")
    assert "政策实施期为2023年8月至2025年12月" in text  # 政策概况, as before
    assert "最后一年" not in text and "全周期情况" not in text
    recs = _recommendations(report_2024)
    assert "纳入2025年度绩效目标" in recs  # plan_off_track, year + 1
    # the year + 1 rules keep their wording (only a rule naming a year after the
    # period, such as weak_effect's year + 2, speaks of the policy's expiry)
    assert "如出台后续政策" not in recs and "纳入政策到期后" not in recs


def test_moving_the_period_end_moves_the_wording(ds, tmp_path):
    doc = yaml.safe_load(open(TARGETS, encoding="utf-8"))
    doc["meta"]["period"]["end"] = "2024-12"
    moved = tmp_path / "targets_2024end.yaml"
    moved.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    r = assemble(ds, year=2024, targets=moved, compute_effects=False)
    summary = _section(r, "summary")
    assert "2024年是政策执行期最后一年（执行期为2023年8月至2024年12月）" in summary
    assert "执行期内共组织2个年度批次的申报" in summary
    recs = _recommendations(r)
    assert "纳入政策到期后后续政策的绩效目标" in recs
    assert not re.search(r"202[5-9]年", recs)


def test_withheld_batches_hide_the_total_too(ds, targets):
    """A batch under the disclosure threshold is withheld; the total with it."""
    per, _ = _batches(ds, targets)
    smallest = per["units"].min()
    f = collect(ds, year=2025, targets=targets, min_firms=int(smallest) + 1)
    ctx = {
        **f.context(),
        "policy_period": "2023年8月至2025年12月",
        "policy_end": "2025年12月",
    }
    (text,) = render("zh/period.txt.j2", ctx)
    hidden = [b.year for b in f.period.batches if not b.shown]
    assert hidden == [int(per["units"].idxmin())]
    assert f"{hidden[0]}年度批次的核定情况按统计披露控制规则不列示" in text
    assert "全周期合计数按统计披露控制规则不列示" in text
    assert f"{per['amount'].sum():,.2f}" not in text
    internal = collect(
        ds, year=2025, targets=targets, min_firms=int(smallest) + 1, audience="internal"
    )
    assert all(b.shown for b in internal.period.batches) and internal.period.shown


def test_malformed_period_is_a_located_error(tmp_path):
    from jdeval.errors import ConfigError

    doc = yaml.safe_load(open(TARGETS, encoding="utf-8"))
    doc["meta"]["period"]["end"] = "2025年底"
    bad = tmp_path / "targets_bad_period.yaml"
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_targets(bad)
    (p,) = e.value.problems
    assert "应为年月" in p.message_zh and "period.end" in (p.column or "")
