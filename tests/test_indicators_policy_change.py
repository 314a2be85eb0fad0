"""Every rule lives in the targets file: change each policy in a copy, and both the
scorecard and the built report text follow (issue 10 item 1).

One changed copy carries all the changes at once (one report build); each check
compares against the bundled file so that a hard-coded copy of a rule fails.
"""

import re

import pandas as pd
import pytest

import jdeval
from jdeval.indicators import evaluate, load_targets
from jdeval.indicators.targets import default_targets_path
from jdeval.survey import analyse

# (old text in the bundled YAML, new text) — one per policy under test
CHANGES = {
    "bands": (
        "    - {min: 90, grade: 优, en: Excellent}\n"
        "    - {min: 80, grade: 良, en: Good}\n",
        "    - {min: 95, grade: 优, en: Excellent}\n"
        "    - {min: 90, grade: 良, en: Good}\n",
    ),
    "theta_over": ("  theta_over: 0.30 ", "  theta_over: 0.05 "),
    "lmax": ("  deadline_lmax_days: 180 ", "  deadline_lmax_days: 90 "),
    "tiers": (
        "  tiers: {achieved: 0.8, partial: 0.6}",
        "  tiers: {achieved: 0.85, partial: 0.55}",
    ),
    "points": (
        "    points: [100, 80, 60, 40, 20] ",
        "    points: [100, 75, 50, 25, 0] ",
    ),
    "statuses": (
        "  approved_statuses: [approved, disbursed] ",
        "  approved_statuses: [disbursed] ",
    ),
}
YEAR = 2024


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.fixture(scope="module")
def changed(tmp_path_factory):
    src = default_targets_path().read_text(encoding="utf-8")
    for old, new in CHANGES.values():
        assert src.count(old) == 1, old  # the bundled file still has this rule
        src = src.replace(old, new)
    path = tmp_path_factory.mktemp("targets") / "changed.yaml"
    path.write_text(src, encoding="utf-8")
    return load_targets(path)


@pytest.fixture(scope="module")
def built(changed):
    from jdeval.report import assemble
    from jdeval.report.html import report_html

    ds = jdeval.data.load(jdeval.data.ensure_default_data())
    base = evaluate(ds, load_targets(), year=YEAR)
    card = evaluate(ds, changed, year=YEAR)
    report = assemble(
        ds,
        year=YEAR,
        targets=changed,
        scorecard=card,
        compute_effects=False,
        previous=False,
    )
    return {
        "ds": ds,
        "base": base,
        "card": card,
        "text": _text(report_html(report)),
    }


def test_changed_file_reads_as_typed_policies(changed):
    p = changed.policies
    assert [b.min for b in p.grade_bands][:2] == [95, 90]
    assert p.theta_over == 0.05 and p.deadline_lmax_days == 90
    assert (p.tiers.achieved, p.tiers.partial) == (0.85, 0.55)
    assert p.satisfaction.points == [100, 75, 50, 25, 0]
    assert p.approved_statuses == ["disbursed"]


def test_grade_bands_follow(built, changed):
    card, text = built["card"], built["text"]
    assert card.grade == changed.grade_for(card.total)
    assert changed.grade_for(94.99) == "良" and changed.grade_for(95) == "优"
    assert f"评价等级为“{card.grade}”" in text
    assert "95分（含）以上" in text and "90分（含）以上为“优”" not in text


def test_theta_over_follows(built):
    f = built["card"].to_frame().set_index("id")
    over = f.loc[f["flags"].str.contains("over_target")]
    base = built["base"].to_frame().set_index("id")
    # with θ = 5 % more indicators are flagged than with the bundled 30 %
    assert len(over) > base["flags"].str.contains("over_target").sum()
    for _, r in over.iterrows():
        assert "5%以上" in r["deviation_reason"]
        assert "30%" not in r["deviation_reason"]
    text = built["text"]
    assert "超过指标值5%以上" in text and "30%以上" not in text


def test_lmax_follows(built):
    m = built["card"].measurements["O3"]
    assert "90天" in m.rule and "180" not in m.rule
    appr = pd.to_datetime(m.rows["approval_date"])
    disb = pd.to_datetime(m.rows["disbursement_date"])
    assert m.details["n_over_lmax"] == int(((disb - appr).dt.days > 90).sum())
    assert "180天" not in built["text"]


def test_tiers_follow(built):
    f = built["card"].to_frame().set_index("id")
    rule = built["card"].measurements["B3"].rule
    assert "≥85%达成" in rule and "55%–85%部分达成" in rule
    for iid in ("B2", "B3", "C4"):
        rate = f.loc[iid, "score_rate"]
        want = "达成" if rate >= 0.85 else ("部分达成" if rate >= 0.55 else "未达成")
        assert f.loc[iid, "tier"] == want
    text = built["text"]
    assert "不低于85%为达成" in text and "不低于80%为达成" not in text


def test_likert_points_follow(built, changed):
    s = analyse(built["ds"], year=YEAR, targets=changed)
    assert s.points == (100, 75, 50, 25, 0)
    card = built["card"]
    assert card.measurements["S1"].actual == pytest.approx(s.index)
    assert s.index != pytest.approx(built["base"].measurements["S1"].actual)
    text = built["text"]
    assert "100、75、50、25、0" in text and "100、80、60、40、20" not in text
    assert f"{s.index:.2f}" in built["text"]


def test_approved_statuses_follow(built):
    aw = built["ds"].tables["awards"]
    mine = aw.loc[
        (aw["batch_year"] == YEAR)
        & (aw["status"] == "disbursed")
        & (aw["beneficiary_type"] == "enterprise")
    ]
    n = mine["firm_id"].nunique()
    o1 = built["card"].measurements["O1"]
    assert o1.actual == n < built["base"].measurements["O1"].actual
    assert f"{n}家" in built["text"]
