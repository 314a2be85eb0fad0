"""The malformed-input corpus (tests/malformed/cases.yaml): every case either parses
(legitimate spreadsheet variants) or gives a clear DataError — never a traceback."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from jdeval.cli import main
from jdeval.data import load
from jdeval.data.contract import get_contract
from jdeval.errors import DataError

HERE = Path(__file__).parent / "malformed"
CASES = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))["cases"]


def _base_frame(name: str) -> pd.DataFrame:
    return pd.read_csv(HERE / "_base" / f"{name}.csv", dtype=str, keep_default_na=False)


def _build_xlsx(spec: dict, d: Path) -> None:
    contract = get_contract()
    if "split" in spec:  # one sheet per batch year, file named after no table
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        df = _base_frame(spec["split"])
        for i, part in enumerate((df.iloc[:2], df.iloc[2:])):
            ws = wb.create_sheet(f"{2023 + i}年")
            ws.append(list(df.columns))
            for row in part.itertuples(index=False):
                ws.append(list(row))
        wb.save(d / spec["workbook_name"])
        return
    if "many_sheets" in spec:
        wb = openpyxl.Workbook()
        for i in range(spec["many_sheets"] - 1):
            wb.create_sheet(f"S{i}")
        wb.save(d / "extra.xlsx")
        return
    if "workbook" in spec:
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for f in sorted((HERE / "_base").glob("*.csv")):
            name = f.stem
            title = contract[name].zh if spec.get("sheet_names") == "zh" else name
            ws = wb.create_sheet(title)
            df = _base_frame(name)
            if spec.get("title_row") == name:
                ws.append([f"{contract[name].zh}（2023–2024年）"])
                ws.merge_cells(
                    start_row=1, start_column=1, end_row=1, end_column=df.shape[1]
                )
            ws.append(list(df.columns))
            for row in df.itertuples(index=False):
                ws.append(list(row))
            (d / f.name).unlink()
        wb.save(d / spec["workbook"])
        return
    for name in spec["tables"]:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = name
        if not spec.get("empty"):
            df = _base_frame(name)
            ws.append(list(df.columns))
            for row in df.itertuples(index=False):
                ws.append(
                    [
                        _typed(name, c, v) if spec.get("typed") else v
                        for c, v in zip(df.columns, row)
                    ]
                )
            if spec.get("formula"):  # as scripts write them: no cached value
                j = list(df.columns).index(spec["formula"]) + 1
                letter = openpyxl.utils.get_column_letter(j)
                for r in range(2, len(df) + 2):
                    ws.cell(row=r, column=j, value=f"={letter}{r}*1")
        wb.save(d / f"{name}.xlsx")


def _generate(spec: dict, d: Path) -> None:
    """Inputs too large to commit: a million-column header, a very wide row."""
    f = d / spec["file"]
    if "wide_header" in spec:
        f.write_text(
            ",".join(f"c{i}" for i in range(spec["wide_header"])) + "\n1\n",
            encoding="utf-8",
        )
    if "wide_row" in spec:
        text = (HERE / "_base" / spec["file"]).read_text(encoding="utf-8")
        pad = "\n" * 12  # below the rows searched for the header
        f.write_text(
            text + pad + "XX" + "," * spec["wide_row"] + "\n", encoding="utf-8"
        )


def _typed(table, column, v):
    col = get_contract()[table].columns[column]
    if v == "":
        return None
    if col.type == "date":
        return pd.Timestamp(v).to_pydatetime()
    if col.type in ("money", "float"):
        return float(v)
    if col.type == "int":
        return int(v)
    if col.type == "bool":
        return v == "true"
    return v


def _materialise(case: dict, tmp: Path) -> Path:
    d = tmp / case["name"]
    shutil.copytree(HERE / "_base", d)
    for f in case.get("remove", []):
        (d / f).unlink()
    for f in (HERE / case["name"]).iterdir():
        if f.name != ".keep":
            shutil.copy(f, d / f.name)
    if "xlsx" in case:
        _build_xlsx(case["xlsx"], d)
    if "generate" in case:
        _generate(case["generate"], d)
    if "workbook" in case.get("xlsx", {}):
        return d / case["xlsx"]["workbook"]
    return d


def test_corpus_listing_is_explicit_and_large():
    names = [c["name"] for c in CASES]
    dirs = sorted(p.name for p in HERE.iterdir() if p.is_dir() and p.name[:2].isdigit())
    assert names == dirs
    assert len(CASES) >= 30
    assert sum(c["expect"] == "error" for c in CASES) >= 20


def _digest(path: Path) -> str:
    files = sorted(path.rglob("*")) if path.is_dir() else [path]
    h = hashlib.sha256()
    for f in files:
        if f.is_file():
            h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case_via_cli_and_load(case, tmp_path, capsys):
    path = _materialise(case, tmp_path)
    before = _digest(path)
    rc = main(["validate", str(path), "--format", "json"])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert "内部错误" not in err, err
    if case["expect"] == "ok":
        assert rc == 0, err
        report = json.loads(out)
        assert report["ok"] is True
        problems = report["problems"]
    else:
        assert rc == 2, out
        report = json.loads(err)
        problems = report["problems"]
        assert any(p["severity"] == "error" for p in problems)
        for p in problems:  # every error says what and where, in both languages
            assert p["message_zh"] and p["message_en"]
            if p["severity"] == "error":
                assert p["file"] or p["table"]
    codes = {p["code"] for p in problems}
    assert set(case["codes"]) <= codes, codes
    finding_codes = {p["code"] for p in problems if p["severity"] == "finding"}
    assert set(case["findings"]) <= finding_codes
    # the same through the Python API
    if case["expect"] == "ok":
        ds = load(path)
        assert len(ds.firms) == 3 or case["name"] == "06_chinese_file_name"
    else:
        with pytest.raises(DataError) as exc:
            load(path)
        assert exc.value.errors
    assert _digest(path) == before  # inputs are never modified


def test_variants_parse_to_the_base_values(tmp_path):
    """Legitimate variants give exactly the values of the clean base data."""
    base = load(HERE / "_base")
    by_name = {c["name"]: c for c in CASES}
    checks = {
        "02_gbk": "firms",
        "04_utf16_tab": "firm_year",
        "05_chinese_headers": "awards",
        "10_semicolon_delimiter": "firms",
        "13_bool_spellings": "firms",
        "14_enum_aliases": "awards",
        "17_crlf_line_ends": "awards",
        "22_xlsx_typed_cells": "awards",
        "21_xlsx_workbook_chinese_sheets": "firm_year",
    }
    for name, table in checks.items():
        ds = load(_materialise(by_name[name], tmp_path))
        pd.testing.assert_frame_equal(ds.tables[table], base.tables[table], obj=name)
    ds = load(_materialise(by_name["07_date_variants"], tmp_path))
    pd.testing.assert_frame_equal(ds.awards, base.awards)
    ds = load(_materialise(by_name["08_fullwidth_digits"], tmp_path))
    pd.testing.assert_frame_equal(ds.firm_year, base.firm_year)
    ds = load(_materialise(by_name["09_thousands_separators"], tmp_path))
    pd.testing.assert_frame_equal(ds.firm_year, base.firm_year)
    for name, table in {
        "23_office_labels": "awards",
        "24_serial_total_and_notes_rows": "awards",
        "25_xlsx_awards_split_by_year": "awards",
        "26_recognised_by_header": "firm_year",
        "27_row_of_sums": "awards",
    }.items():
        ds = load(_materialise(by_name[name], tmp_path))
        pd.testing.assert_frame_equal(ds.tables[table], base.tables[table], obj=name)


def test_rows_are_located_as_the_user_sees_them(tmp_path):
    by_name = {c["name"]: c for c in CASES}
    with pytest.raises(DataError) as exc:
        load(_materialise(by_name["59_several_problems_at_once"], tmp_path))
    where = {(p.code, p.table, p.row, p.column) for p in exc.value.errors}
    assert ("fk", "awards", 3, "firm_id") in where
    assert ("type_date", "awards", 3, "application_date") in where
    assert ("uscc", "firms", 3, "uscc") in where
    with pytest.raises(DataError) as exc:
        load(_materialise(by_name["30_mixed_encoding"], tmp_path))
    assert exc.value.errors[0].row == 3
