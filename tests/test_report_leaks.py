"""Nothing confidential leaks into reviewer outputs (HTML, Word, exported CSV).

A crafted dataset plants the cases disclosure control exists for — a 街镇 with
exactly two funded firms and a 街镇 dominated by one firm — with distinctive
amounts, then searches the produced bytes for those amounts and for every firm
and award identifier.  The internal version of the same report must contain them
(positive control: the search would find a leak).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import zipfile

import pandas as pd
import pytest

from jdeval.report import assemble, disclosure

TWO_FIRM_TOWN = "HT"  # 华亭镇
DOMINATED_TOWN = "WG"  # 外冈镇
PLANTED = {
    "two_firm_a": 4.37,
    "two_firm_b": 17.29,
    "two_firm_sum": 21.66,
    "dominant": 187.43,
    "dominated_total": 196.76,
}
SCRIPT = "<script>alert('x')</script>"


def _award(tmpl: pd.DataFrame, **kw) -> pd.DataFrame:
    r = tmpl.copy()
    for k, v in kw.items():
        r[k] = v
    return r


@pytest.fixture(scope="module")
def crafted():
    from jdeval.data import synthesize

    ds = synthesize(firms=300)
    aw, firms = ds.awards, ds.firms
    y24 = (aw["batch_year"] == 2024) & aw["status"].isin(["approved", "disbursed"])
    ent = aw["beneficiary_type"] == "enterprise"
    # the two crafted towns get only the planted awards
    aw = aw.loc[~(y24 & ent & aw["town_code"].isin([TWO_FIRM_TOWN, DOMINATED_TOWN]))]
    tmpl = aw.loc[y24 & ent].iloc[[0]]
    used = set(aw.loc[aw["batch_year"] == 2024, "firm_id"].dropna())

    def pick(town, n):
        pool = [
            f for f in firms.loc[firms.town_code == town, "firm_id"] if f not in used
        ]
        assert len(pool) >= n
        return pool[:n]

    rows = []
    a, b = pick(TWO_FIRM_TOWN, 2)
    rows.append(
        _award(
            tmpl,
            award_id="AX00001",
            firm_id=a,
            town_code=TWO_FIRM_TOWN,
            category="DIAG",
            approved_amount=4.37,
            disbursed_amount=4.37,
            cap_amount=5.0,
            eligible_cost=6.0,
            project_total_investment=6.0,
        )
    )
    rows.append(
        _award(
            tmpl,
            award_id="AX00002",
            firm_id=b,
            town_code=TWO_FIRM_TOWN,
            category="SCENE",
            approved_amount=17.29,
            disbursed_amount=17.29,
            cap_amount=20.0,
            project_total_investment=80.0,
        )
    )
    d, *others = pick(DOMINATED_TOWN, 4)
    rows.append(
        _award(
            tmpl,
            award_id="AX00003",
            firm_id=d,
            town_code=DOMINATED_TOWN,
            category="IIP_PLATFORM",
            approved_amount=187.43,
            disbursed_amount=187.43,
            cap_amount=200.0,
            project_total_investment=900.0,
        )
    )
    for i, f in enumerate(others):
        rows.append(
            _award(
                tmpl,
                award_id=f"AX0001{i}",
                firm_id=f,
                town_code=DOMINATED_TOWN,
                category="DIAG",
                approved_amount=3.11,
                disbursed_amount=3.11,
                cap_amount=5.0,
                eligible_cost=4.0,
                project_total_investment=4.0,
            )
        )
    aw = pd.concat([aw, *rows], ignore_index=True)
    ind = firms.set_index("firm_id")["industry_div"]
    aw["industry_div"] = aw["firm_id"].map(ind).fillna(aw["industry_div"])
    firms = firms.copy()
    firms.loc[firms.firm_id == d, "name_masked"] = SCRIPT  # hostile firm name
    towns = ds.towns.copy()
    towns.loc[towns.town_code == "JQ", "town_name"] = '=HYPERLINK("http://x")江桥镇'
    tables = {**ds.tables, "awards": aw, "firms": firms, "towns": towns}
    return dataclasses.replace(ds, tables=tables)


def _outputs(report, tmp) -> dict[str, str]:
    html = report.to_html()
    p = report.to_docx(tmp / f"{report.audience}.docx")
    with zipfile.ZipFile(p) as z:
        word = "\n".join(
            z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")
        )
    csvs = report.export_tables(tmp / f"csv_{report.audience}")
    csv = "\n".join(c.read_text(encoding="utf-8-sig") for c in csvs)
    return {"html": html, "word": word, "csv": csv}


@pytest.fixture(scope="module")
def outputs(crafted, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("leaks")
    kw = dict(
        year=2024, compute_effects=False, previous=False, report_date="2025-03-31"
    )
    rev = assemble(crafted, audience="reviewer", **kw)
    internal = assemble(crafted, audience="internal", **kw)
    return rev, _outputs(rev, tmp), internal, _outputs(internal, tmp)


def _has_number(text: str, v: float, fmt: str = "html") -> bool:
    """Whether the 2-decimal rendering of ``v`` occurs as a number in ``text``.

    CSV is split into cells first (a comma there separates fields, not thousands).
    """
    s = f"{v:,.2f}"
    pat = re.compile(rf"(?<![\d.,]){re.escape(s)}(?![\d])")
    if fmt != "csv":
        return pat.search(text) is not None
    cells = (c for row in csv.reader(io.StringIO(text)) for c in row)
    return any(pat.search(c) for c in cells)


def test_crafted_cells_are_suppressed_in_reviewer_tables(outputs):
    rev = outputs[0]
    by_town = next(t for t in rev.tables if t.key == "by_town")
    pt = by_town.data
    assert pt.primary.loc["华亭镇"].all()  # 2 firms
    assert pt.primary.loc["外冈镇"].all()  # one firm > 85 %
    assert not pt.audit()["disclosed"].any()
    cross = next(t for t in rev.tables if t.key == "town_by_category").data
    assert not cross.audit()["disclosed"].any()
    assert by_town.footnote and disclosure.MARK in by_town.frame.to_string()


@pytest.mark.parametrize("fmt", ["html", "word", "csv"])
def test_planted_amounts_never_reach_reviewer_outputs(outputs, fmt):
    rev_out, int_out = outputs[1][fmt], outputs[3][fmt]
    for name, v in PLANTED.items():
        assert not _has_number(rev_out, v, fmt), (
            f"{name}={v} leaked into reviewer {fmt}"
        )
    # positive control: the internal version does show the planted amounts
    assert _has_number(int_out, PLANTED["dominant"], fmt)
    assert _has_number(int_out, PLANTED["two_firm_a"], fmt)


@pytest.mark.parametrize("fmt", ["html", "word", "csv"])
def test_no_identifier_in_reviewer_outputs(crafted, outputs, fmt):
    frames = [crafted.firms, crafted.awards, crafted.providers, crafted.loans]
    leaked = disclosure.find_identifiers(outputs[1][fmt], frames)
    assert leaked == [], leaked[:10]
    # positive control: internal outputs name firms and awards
    assert disclosure.find_identifiers(outputs[3][fmt], frames)


def test_firm_name_with_markup_stays_text_in_html(outputs):
    internal_html = outputs[3]["html"]
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in internal_html
    assert SCRIPT not in internal_html
    assert "<script" not in outputs[1]["html"] and "<script" not in internal_html
    # Word stores it as escaped XML text, not markup
    assert "&lt;script&gt;" in outputs[3]["word"]


def test_exported_csv_neutralises_formula_injection(outputs):
    csv = outputs[1]["csv"]
    assert "'=HYPERLINK" in csv
    assert not re.search(r'(^|,)"?=HYPERLINK', csv, flags=re.M)


def test_reviewer_beneficiary_annex_is_anonymised(outputs):
    rev = outputs[0]
    t = next(t for t in rev.tables if t.key == "beneficiaries")
    assert list(t.frame.columns) == ["序号", "补贴类别", "核定金额区间"]
    assert t.frame["序号"].str.match(r"^受益单位\d{3}$").all()
    internal = next(t for t in outputs[2].tables if t.key == "beneficiaries")
    assert {"企业编号", "项目编号", "企业名称"} <= set(internal.frame.columns)


def test_town_coverage_chart_hides_small_towns(outputs):
    rev = outputs[0]
    towns = {t.town_code: t for t in rev.facts.population.towns}
    assert towns[TWO_FIRM_TOWN].n_funded == 2 and not towns[TWO_FIRM_TOWN].shown
    assert all(t.shown for t in outputs[2].facts.population.towns)


def test_export_neutralise_unit():
    from jdeval.report.export import neutralise, neutralise_frame

    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("@SUM(A1)") == "'@SUM(A1)"
    assert neutralise("+86 21") == "'+86 21"
    assert neutralise("-5.00") == "-5.00" and neutralise("-12%") == "-12%"
    assert neutralise("安亭镇") == "安亭镇" and neutralise(3) == 3
    f = neutralise_frame(pd.DataFrame({"=a": ["-x", "ok"], "n": [-1.0, 2.0]}))
    assert list(f.columns) == ["'=a", "n"] and f.iloc[0, 0] == "'-x"
    assert f["n"].tolist() == [-1.0, 2.0]


@pytest.mark.parametrize("fmt", ["html", "word", "csv"])
def test_small_category_amounts_from_other_layers_are_redacted(crafted, outputs, fmt):
    # The scorecard's KPI K4 describes the loan-interest subsidy as "1家，核定贴息X万元";
    # with fewer than 3 firms that X is one firm's figure and must not be shown.
    aw = crafted.awards
    li = aw.loc[
        (aw["batch_year"] == 2024)
        & (aw["category"] == "LOAN_INTEREST")
        & aw["status"].isin(["approved", "disbursed"])
    ]
    if li.empty or li["firm_id"].nunique() >= 3:
        pytest.skip("synthetic data has no small loan-interest cell")
    amount = float(li["approved_amount"].sum())
    assert not _has_number(outputs[1][fmt], amount, fmt)
    assert _has_number(outputs[3][fmt], amount, fmt)


def test_redact_display_unit():
    r = disclosure.redact_display
    assert (
        r("100.0%（7/7项≤50万元；均值50.00万元，最高50.00万元）")
        == "100.0%（7/7项≤50万元；均值50.00万元）"
    )
    assert (
        r("100.0%（2/2项≤50万元；均值48.62万元，最高50.00万元）")
        == "100.0%（2/2项≤50万元）"
    )
    assert r(None) is None and r("达成（5/5项达成）") == "达成（5/5项达成）"
