"""Statistical disclosure control on crafted firm-level data.

The crafted rows plant exactly the situations the rules exist for: a 街镇 with two
funded firms (threshold rule), a 街镇 where one firm holds > 85 % of the amount
(dominance rule), and margins that would give a lone suppressed cell away
(complementary suppression).  :meth:`ProtectedTable.audit` then attacks each
table with linear programming, as an outsider holding the published cells would.
"""

from __future__ import annotations

import pandas as pd
import pytest

from jdeval.errors import ConfigError
from jdeval.report import disclosure
from jdeval.report.disclosure import MARK, protect


def crafted() -> pd.DataFrame:
    rows = []
    # AT, ML, NX: 6 firms each, moderate amounts, two categories
    k = 0
    for town in ["AT", "ML", "NX"]:
        for i in range(6):
            k += 1
            rows.append(
                {
                    "firm_id": f"F{k:06d}",
                    "town": town,
                    "cat": "DIAG" if i % 2 else "SF",
                    "amount": 10.0 + i,
                }
            )
    # WG: only two funded firms (threshold rule)
    rows += [
        {"firm_id": "F900001", "town": "WG", "cat": "DIAG", "amount": 4.37},
        {"firm_id": "F900002", "town": "WG", "cat": "SF", "amount": 17.29},
    ]
    # HT: one dominant firm (187.43 of 196.76 = 95 %)
    rows += [{"firm_id": "F800001", "town": "HT", "cat": "SF", "amount": 187.43}]
    rows += [
        {"firm_id": f"F80000{i}", "town": "HT", "cat": "DIAG", "amount": 3.11}
        for i in (2, 3, 4)
    ]
    return pd.DataFrame(rows)


def test_threshold_and_dominance_are_primary_suppressions():
    t = protect(crafted(), "town", "amount")
    assert t.primary.loc["WG"].all()  # 2 firms < 3
    assert t.primary.loc["HT"].all()  # one firm holds 95 %
    assert not t.primary.loc["AT"].any()
    assert t.frame.loc["WG", "金额（万元）"] == MARK
    assert t.frame.loc["HT", "金额（万元）"] == MARK
    assert t.footnote.startswith("注：") and MARK in t.footnote
    assert "3家" in t.footnote and "85%" in t.footnote
    assert t.values.loc["WG"].isna().all()


def test_one_way_total_cannot_reveal_a_lone_suppressed_cell():
    rows = crafted()
    rows = rows[rows.town != "HT"]  # only WG is primary
    t = protect(rows, "town", "amount")
    assert t.suppressed.loc["WG"].all()
    # a complementary cell must be hidden too, or 合计 − others = WG
    assert t.suppressed.drop(index=["WG", "合计"])["金额（万元）"].sum() >= 1
    audit = t.audit()
    assert not audit["disclosed"].any(), audit


def test_union_of_suppressed_cells_must_itself_be_safe():
    # WG (2 firms) + HT (dominated): their sum is revealed by the total unless more
    # cells are hidden; the union is dominated by F800001, so further cells go.
    t = protect(crafted(), "town", "amount")
    hidden = t.suppressed["金额（万元）"].drop(index="合计")
    firms = crafted().groupby("town")["amount"]
    union = firms.sum()[hidden[hidden].index]
    assert 187.43 / union.sum() <= 0.85
    assert not t.audit()["disclosed"].any()


def test_two_way_table_with_margins_is_protected():
    t = protect(crafted(), ["town", "cat"], "amount")
    assert t.primary.loc["WG", "DIAG"] and t.primary.loc["WG", "SF"]
    assert t.primary.loc["HT", "SF"]  # one firm
    # every row and column relation has 0 or >= 2 unknowns
    for members, total in t.relations:
        n = sum(bool(t.suppressed.loc[m]) for m in members) + bool(
            t.suppressed.loc[total]
        )
        assert n != 1, (members, total)
    audit = t.audit()
    assert len(audit) >= 4
    assert not audit["disclosed"].any(), audit
    # the published display never shows the planted values
    text = t.frame.to_csv()
    for v in ["4.37", "17.29", "21.66", "187.43"]:
        assert v not in text


def test_audit_detects_disclosure_when_complements_are_missing():
    # Guard against a vacuous audit: remove the complementary suppressions and
    # the LP must find the lone cell exactly.
    rows = crafted()
    rows = rows[rows.town != "HT"]
    t = protect(rows, "town", "amount")
    t.suppressed.loc[:, :] = t.primary
    a = t.audit()
    assert a.loc[a.row == "WG", "disclosed"].all()
    assert a.loc[a.row == "WG", "low"].iloc[0] == pytest.approx(4.37 + 17.29)


def test_thresholds_configurable_and_internal_shows_all():
    rows = crafted()
    loose = protect(rows, "town", "amount", min_firms=2, dominance=None)
    assert not loose.primary.loc["WG"].any() and not loose.primary.loc["HT"].any()
    strict = protect(rows, "town", "amount", min_firms=7)
    assert strict.primary.loc["AT"].all()
    internal = protect(rows, "town", "amount", audience="internal")
    assert not internal.suppressed.to_numpy().any()
    assert internal.frame.loc["WG", "金额（万元）"] == "21.66"
    assert internal.footnote == ""


def test_firm_count_table_without_value():
    t = protect(crafted(), "town")
    assert list(t.frame.columns) == ["企业数（家）"]
    assert t.frame.loc["WG", "企业数（家）"] == MARK
    assert t.frame.loc["合计", "企业数（家）"] == "24"


def test_bad_arguments_are_config_errors_listing_all_problems():
    with pytest.raises(ConfigError) as ei:
        protect(crafted(), ["town", "cat", "firm_id"], "nope", min_firms=0)
    codes = {p.code for p in ei.value.problems}
    assert {"sdc_by", "sdc_columns", "sdc_threshold"} <= codes
    with pytest.raises(ConfigError):
        protect(crafted(), "town", audience="public")


def test_anonymise_drops_identifiers_for_reviewers():
    f = pd.DataFrame(
        {
            "firm_id": ["F1"],
            "uscc": ["91310114MA1GXXXX0X"],
            "name_masked": ["上海某某"],
            "award_id": ["A1"],
            "amount": [1.0],
        }
    )
    assert list(disclosure.anonymise(f).columns) == ["amount"]
    assert list(disclosure.anonymise(f, "internal").columns) == list(f.columns)


def test_beneficiary_annex_reviewer_has_bands_not_ids():
    aw = pd.DataFrame(
        {
            "award_id": ["A000123", "A000124"],
            "firm_id": ["F000001", "F000002"],
            "category": ["DIAG", "SF_DISTRICT"],
            "town_code": ["WG", "AT"],
            "industry_div": ["36", "34"],
            "approved_amount": [4.37, 50.0],
        }
    )
    rev = disclosure.beneficiary_annex(aw, labels={"category": {"DIAG": "诊断"}})
    text = rev.to_csv()
    for s in ["A000123", "F000001", "4.37", "WG", "36"]:
        assert s not in text
    assert list(rev.columns) == ["序号", "补贴类别", "核定金额区间"]
    assert set(rev["核定金额区间"]) == {"5万元及以下", "20万—50万元"}
    internal = disclosure.beneficiary_annex(aw, audience="internal")
    assert "F000001" in internal.to_csv() and "4.37" in internal.to_csv()


def test_find_identifiers():
    firms = pd.DataFrame(
        {"firm_id": ["F000001", "F000002"], "uscc": ["91310114MA1G000001", None]}
    )
    assert disclosure.find_identifiers("<td>F000002</td>", [firms]) == ["F000002"]
    assert disclosure.find_identifiers(b"nothing here", [firms]) == []


def test_reviewer_annex_does_not_count_a_withheld_category():
    # one row per award would count the firms of a category 表1 withholds
    aw = pd.DataFrame(
        {
            "award_id": [f"A{i}" for i in range(9)],
            "firm_id": ["F1", "F2", "F3", "F4", "F5", "F6", "F7", "F7", "F8"],
            "category": ["DIAG"] * 5 + ["IIP_PLATFORM"] + ["LOAN_INTEREST"] * 3,
            "approved_amount": [4.0, 4.5, 5.0, 3.5, 4.2, 20.0, 12.34, 13.57, 11.0],
        }
    )
    table1 = protect(aw, "category", "approved_amount")
    assert list(table1.suppressed.index[table1.suppressed.iloc[:, 0]]) == [
        "IIP_PLATFORM",
        "LOAN_INTEREST",
    ]
    rev = disclosure.beneficiary_annex(aw, min_firms=3, dominance=0.85)
    counts = rev["补贴类别"].value_counts()
    # the lone IIP firm and the 3 awards of 2 LOAN firms are one group of 4 rows
    assert counts.to_dict() == {"DIAG": 5, MARK: 4}
    internal = disclosure.beneficiary_annex(aw, audience="internal")
    assert internal["补贴类别"].value_counts()["IIP_PLATFORM"] == 1
