"""Every validation rule with a minimal bad file (rules not already covered by the
malformed corpus, plus the findings), and the contract itself."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from jdeval.data import load, validate
from jdeval.data.contract import TABLE_ORDER, get_contract, normalize_header
from jdeval.data.uscc import is_valid_uscc, make_uscc, uscc_check_char

BASE = Path(__file__).parent / "malformed" / "_base"
CORPUS = yaml.safe_load((BASE.parent / "cases.yaml").read_text(encoding="utf-8"))[
    "cases"
]


def _copy(tmp_path) -> Path:
    d = tmp_path / "d"
    shutil.copytree(BASE, d)
    return d


def _edit(d: Path, file: str, old: str, new: str) -> None:
    p = d / file
    text = p.read_text(encoding="utf-8")
    assert old in text
    p.write_text(text.replace(old, new, 1), encoding="utf-8")


AW1 = "2024-10-25,2024-10-31,2024-11-12,2025-01-10,disbursed,AT,36,true,true,true,true,true,true,true,false"

FINDINGS = [
    (
        "over_eligible_cost",
        "awards.csv",
        "F000003,,DIAG,F000003 智能制造诊断评估项目,6,6,5,0,0,5,"
        "2024-08-22,2024-10-16,,,,,rejected,AT,39,true,false,false",
        "F000003,,DIAG,F000003 智能制造诊断评估项目,6,4,5,5,5,5,"
        "2024-08-22,2024-10-16,2024-10-25,2024-10-31,2024-11-12,2025-01-10,disbursed,AT,39,true,true,true",
    ),
    (
        "o2_expert_review_done",
        "awards.csv",
        AW1,
        AW1.replace("36,true,true", "36,false,true"),
    ),
    (
        "o2_publicity_done",
        "awards.csv",
        AW1,
        AW1.replace("36,true,true", "36,true,false"),
    ),
    (
        "o2_docs_complete",
        "awards.csv",
        AW1,
        AW1.replace("true,true,true,false", "false,true,true,false"),
    ),
    (
        "publicity_short",
        "awards.csv",
        "2024-10-25,2024-10-31,2024-11-12,2025-01-10",
        "2024-10-25,2024-10-27,2024-11-12,2025-01-10",
    ),
    (
        "undisbursed_overdue",
        "awards.csv",
        "2024-11-12,2025-01-10,disbursed,AT,36,true,true,true,true,true,true,true,false",
        "2024-11-12,,approved,AT,36,true,true,true,true,true,true,true,false",
    ),
    ("clawback", "awards.csv", AW1, AW1[: -len("false")] + "true"),
    (
        "objection_unresolved",
        "awards.csv",
        AW1,
        AW1.replace("true,true,false", "true,false,false"),
    ),
    ("not_manufacturing", "firms.csv", "3442,34,", "5211,52,"),
]


@pytest.mark.parametrize("code,file,old,new", FINDINGS, ids=[f[0] for f in FINDINGS])
def test_each_finding_is_reported_without_blocking(tmp_path, code, file, old, new):
    d = _copy(tmp_path)
    _edit(d, file, old, new)
    if code == "undisbursed_overdue":  # a later award sets the data's "as of" date
        _edit(d, "awards.csv", "2025-02-20", "2025-08-20")
    ds = load(d)
    assert code in {p.code for p in ds.findings}
    found = [p for p in ds.findings if p.code == code][0]
    assert found.row is not None and found.table in ("awards", "firms")


def test_diag_firm_not_above_scale_is_a_finding(tmp_path):
    d = _copy(tmp_path)
    _edit(d, "awards.csv", ",rejected,", ",disbursed,")
    _edit(
        d,
        "awards.csv",
        "6,6,5,0,0,5,2024-08-22,2024-10-16,,,,,",
        "6,6,5,5,5,5,2024-08-22,2024-10-16,2024-10-25,2024-10-31,2024-11-12,2025-01-10,",
    )
    _edit(d, "firm_year.csv", "F000003,2024,true", "F000003,2024,false")
    ds = load(d)
    assert "diag_not_above_scale" in {p.code for p in ds.findings}


def test_warnings_for_inconsistent_flags(tmp_path):
    d = _copy(tmp_path)
    _edit(
        d,
        "firm_year.csv",
        "F000002,2023,true,8000,7800,90,300,0,0,150,400,260,1900,2600,6000,1,none,true,false,false,0",
        "F000002,2023,true,8000,7800,90,300,0,0,150,400,260,1900,2600,6000,1,none,true,false,false,2023",
    )
    _edit(d, "awards.csv", "1500,1200,50,50,50,50", "1500,1200,60,60,60,50")
    report = validate(d)
    assert report.ok
    codes = {p.code for p in report.warnings}
    assert {"first_award_year", "flag_inconsistent"} <= codes


def test_diagnosis_report_before_diagnosis_is_an_error(tmp_path):
    d = _copy(tmp_path)
    (d / "diagnoses.csv").write_text(
        "diag_id,firm_id,provider_id,year,online_self_assessment_date,online_level,"
        "offline_diag_date,report_date,report_accepted,fee,award_id,assessed_level,n_recommendations\n"
        "DG1,F000001,,2024,2023-03-01,2,2024-05-10,2024-04-01,true,5,,2,6\n",
        encoding="utf-8",
    )
    report = validate(d)
    assert ("date_order", "diagnoses", 2) in {
        (p.code, p.table, p.row) for p in report.errors
    }


def test_unknown_and_unreadable_files(tmp_path):
    d = _copy(tmp_path)
    (d / "notes.docx").write_bytes(b"PK")
    (d / "misc.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    report = validate(d)
    assert report.ok
    assert {p.code for p in report.warnings} >= {"ignored_file"}
    (d / "loans.xlsx").write_bytes(b"this is not a zip file")
    report = validate(d)
    assert "unreadable_file" in {p.code for p in report.errors}
    bad = tmp_path / "notes_only.txt"
    bad.write_text("x", encoding="utf-8")
    assert "unknown_table" in {p.code for p in validate(bad).errors}


def test_every_error_code_has_a_test_case():
    """The corpus plus this file exercise every error rule of the data layer."""
    corpus = {code for c in CORPUS for code in c["codes"]}
    here = {"unreadable_file", "unknown_table", "not_found", "date_order"}
    error_codes = {
        "not_found",
        "unknown_table",
        "duplicate_table_file",
        "unreadable_file",
        "mixed_encoding",
        "encoding",
        "empty_file",
        "empty_sheet",
        "extra_cells",
        "no_header",
        "duplicate_column",
        "missing_table",
        "missing_column",
        "type_number",
        "type_integer",
        "type_date",
        "type_bool",
        "enum",
        "missing_value",
        "negative",
        "range",
        "date_range",
        "uscc",
        "pk_duplicate",
        "fk",
        "date_order",
        "disbursed_gt_approved",
        "non_finite",
        "formula_no_value",
        "excel_error",
        "resource_limit",
        "ambiguous_table",
        "parts_differ",
        "unit_yuan",
    }
    assert error_codes <= corpus | here


# ------------------------------------------------------------------ contract / USCC
def test_contract_is_consistent():
    c = get_contract()
    assert tuple(c.tables) == TABLE_ORDER
    for t in c.tables.values():
        assert set(t.primary_key) <= set(t.columns)
        for col in t.columns.values():
            if col.fk:
                rt, rc = col.fk.split(".")
                assert rc in c[rt].columns
            if col.type == "enum":
                assert col.values
            assert col.zh and col.en
        hmap: dict[str, str] = {}
        for col in t.columns.values():  # no header alias maps to two columns
            for h in col.headers():
                assert hmap.setdefault(h, col.name) == col.name, (t.name, h)
    names = [normalize_header(x) for t in c.tables.values() for x in (t.name, t.zh)]
    assert len(names) == len(set(names))
    assert c.caps()["SF_CITY_DEMO"] == 100 and c.caps()["DIAG"] == 5


def test_uscc_check_digit():
    assert is_valid_uscc("91350100M000100Y43")  # published example
    assert not is_valid_uscc("91350100M000100Y44")
    assert not is_valid_uscc("91350100M000100Y4")
    assert not is_valid_uscc("91350100M000100YI3")  # I is not allowed
    code = make_uscc("31000001")
    assert is_valid_uscc(code) and code.startswith("91310114")
    assert uscc_check_char(code[:17]) == code[17]


def test_gbk_text_that_happens_to_be_valid_utf8_is_not_called_mixed():
    from jdeval.data.reading import decode_bytes
    from jdeval.errors import ProblemList

    problems = ProblemList()
    data = "town_code,town_name\nAT,录\nML,马陆镇\n".encode("gbk")  # "录" is C2 BC
    assert decode_bytes(data, "towns.csv", problems, "towns").endswith("马陆镇\n")
    assert not problems.items


# ------------------------------------------------------------------ issue 12 / 14
def test_unknown_label_lists_allowed_labels_and_the_closest(tmp_path):
    d = _copy(tmp_path)
    aw = (d / "awards.csv").read_text(encoding="utf-8")
    (d / "awards.csv").write_text(
        aw.replace(",SF_DISTRICT,", ",区级智能工场,", 1).replace(
            ",disbursed,", ",已核准通过,", 1
        ),
        encoding="utf-8",
    )
    report = validate(d)
    by_col = {p.column: p for p in report.errors if p.code == "enum"}
    cat = by_col["category"].message_zh
    assert "是否为“区级智能工厂”" in cat
    for label in ("智能制造诊断评估(线下)", "市示范性智能工厂", "工业互联网平台"):
        assert label in cat
    assert "DIAG" not in cat  # Chinese labels, not codes
    assert "已拨付" in by_col["status"].message_zh


def test_every_documented_label_is_accepted():
    from jdeval.data.parsing import parse_column

    c = get_contract()
    for t in c.tables.values():
        for col in t.columns.values():
            if col.type != "enum":
                continue
            spellings = [*col.values, *(a for a in col.value_aliases if a)]
            values, bad, _ = parse_column(pd.Series(spellings, dtype="str"), col)
            assert not bad.any(), (t.name, col.name)
            expected = [
                *col.values,
                *(col.value_aliases[a] for a in spellings[len(col.values) :]),
            ]
            assert values.tolist() == expected
    cats = c["awards"].columns["category"]
    for code, cat in c.categories.items():  # README category table
        assert cats.value_aliases[cat["zh"]] == code


def test_limits_refuse_before_parsing(tmp_path, monkeypatch):
    import dataclasses

    import jdeval.data.discovery as discovery
    import jdeval.data.reading as reading

    c = get_contract()
    small = dataclasses.replace(
        c, limits=dataclasses.replace(c.limits, max_file_mb=0.0001, max_cells=50)
    )
    monkeypatch.setattr(discovery, "get_contract", lambda: small)
    d = _copy(tmp_path)
    report = validate(d)
    refused = [p for p in report.errors if p.code == "resource_limit"]
    assert refused and all(p.file and "MB" in p.message_zh for p in refused)
    monkeypatch.setattr(discovery, "get_contract", lambda: c)
    monkeypatch.setattr(reading, "get_contract", lambda: small)
    report = validate(d)
    cells = [p for p in report.errors if p.code == "resource_limit"]
    assert {p.file for p in cells} >= {"awards.csv", "firm_year.csv"}
    assert all("单元格上限" in p.message_zh for p in cells)
