"""A mean printed with its count publishes a total (issue 14 item 1, issue 11 item 7).

In the default 2024 build 表1 withholds the 工业互联网平台 category (2 units) and,
to protect it, the 服务商 category; the cost-standard indicator of the 服务商 printed
"5/5项≤50万元；均值…万元" and the 摘要 "服务机构5家", so count × mean gave the
withheld total and 表1's margin pinned 工业互联网平台.  The reviewer edition must
now withhold those displays, the gate must flag the old wording, and the internal
edition still shows the figure.
"""

from __future__ import annotations

import re

import pytest

from jdeval.indicators import load_targets
from jdeval.report import assemble, gate

YEAR = 2024
LABEL = f"{YEAR}年工业互联网平台"


@pytest.fixture(scope="module")
def editions(ds):
    kw = dict(year=YEAR, compute_effects=False, report_date="2025-03-31")
    return {a: assemble(ds, audience=a, **kw) for a in ("reviewer", "internal")}


def _platform(ds) -> float:
    tg = load_targets()
    a = ds.tables["awards"]
    a = a.loc[
        (a["batch_year"] == YEAR)
        & a["status"].isin(list(tg.policies.approved_statuses))
        & (a["category"] == "IIP_PLATFORM")
    ]
    return round(float(a["approved_amount"].sum()), 2)


def _leaks(audit, label=LABEL):
    return [x for x in audit.leaks if x.kind == "amount" and x.label == label]


def _mean_displays(report) -> list[str]:
    f = report.scorecard
    return [t for t in f["actual_display"].astype(str) if "均值" in t]


def test_platform_is_confidential_and_internal_shows_it(ds, editions):
    rev = gate.audit_report(editions["reviewer"], ds)
    assert rev.ok, rev.render_zh()
    # positive control: the internal edition publishes the withheld total
    internal = gate.audit_report(editions["internal"], ds)
    hits = _leaks(internal)
    assert hits and abs(hits[0].true_value - _platform(ds)) < 0.005


def test_gate_flags_the_old_mean_display(ds, editions):
    # the internal displays are the reviewer edition's old wording: fed to the
    # gate beside the reviewer tables they pin 工业互联网平台
    old = _mean_displays(editions["internal"])
    assert any(re.search(r"\d+/\d+项", t) for t in old)
    audit = gate.audit_report(editions["reviewer"], ds, texts=old)
    hits = _leaks(audit)
    assert hits, audit.render_zh()
    assert hits[0].high - hits[0].low < 0.01
    assert abs(hits[0].true_value - _platform(ds)) < 0.005


def test_reviewer_withholds_means_of_withheld_totals(editions):
    rev, internal = editions["reviewer"], editions["internal"]
    kept, old = set(_mean_displays(rev)), _mean_displays(internal)
    assert len(kept) < len(old)  # at least one mean withheld …
    assert kept <= set(old)  # … and the others unchanged
    html = rev.to_html()
    assert not any(t in html for t in set(old) - kept)


def test_prose_kind_counts_merged_when_withheld(editions):
    rev, internal = editions["reviewer"], editions["internal"]
    m = re.search(r"企业(\d+)家、服务机构(\d+)家", " ".join(internal.summary_zh))
    assert m, internal.summary_zh
    text = " ".join(rev.summary_zh)
    assert "服务机构" not in text
    assert f"受益单位{int(m.group(1)) + int(m.group(2))}家" in text


def test_notebook_score_page_withholds_the_same_means(ds, editions):
    from jdeval.indicators import evaluate
    from jdeval.report import pages

    card = evaluate(ds, load_targets(), year=YEAR)
    html = pages.score_view(card, audience="reviewer", ds=ds)._repr_html_()
    old = set(_mean_displays(editions["internal"]))
    withheld = old - set(_mean_displays(editions["reviewer"]))
    assert withheld and not any(t in html for t in withheld)
    assert any(t in html for t in old - withheld)


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_score_page_and_report_pass_the_gate_together(ds, year):
    """Notebook 03 withholds the means of cells the report's reconciled tables
    withhold — in 2025 表1 withholds 服务商 only after reconciling with 附件6, and
    the page's "5/5项≤50万元；均值50.00万元" then pinned a town's 贴息 cell."""
    from jdeval.indicators import evaluate
    from jdeval.report import pages

    tg = load_targets()
    rev = assemble(ds, year=year, compute_effects=False, report_date="2026-03-31")
    card = evaluate(ds, tg, year=year)
    page = pages.score_view(card, audience="reviewer", ds=ds)._repr_html_()
    audit = gate.audit_report(rev, ds, texts=[page])
    assert audit.ok, audit.render_zh()
