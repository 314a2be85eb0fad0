"""Loading: formats, encodings, aliases, round trips and the Dataset contract."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdeval.data import (
    Dataset,
    default_data_dir,
    ensure_default_data,
    load,
    synthesize,
    validate,
)
from jdeval.data.contract import TABLE_ORDER, get_contract
from jdeval.data.export import write_workbook
from jdeval.errors import DataError


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("small")
    ds = synthesize(out, seed=11, firms=100)
    return out, ds


def _assert_same(a: Dataset, b: Dataset):
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name], obj=name)
    assert [p.code for p in a.findings] == [p.code for p in b.findings]


def test_dtypes_follow_architecture(small):
    _, ds = small
    c = get_contract()
    expected = {
        "id": "str",
        "str": "str",
        "enum": "str",
        "uscc": "str",
        "int": "Int64",
        "money": "float64",
        "float": "float64",
        "date": "datetime64[ns]",
        "bool": "boolean",
    }
    for name in TABLE_ORDER:
        df = ds.tables[name]
        assert list(df.columns) == list(c[name].columns)
        for col in c[name].columns.values():
            assert str(df[col.name].dtype) == expected[col.type], (name, col.name)
    assert ds.awards is ds.tables["awards"]
    assert ds.years == list(range(2019, 2026))
    assert set(ds.files) == set(TABLE_ORDER)
    assert ds.truth["n_firms"] == 100
    with pytest.raises(AttributeError):
        ds.not_a_table  # noqa: B018


def test_round_trip_csv_xlsx_parquet(small, tmp_path):
    folder, ds = small
    wb = write_workbook(ds.tables, tmp_path / "all.xlsx")
    _assert_same(ds, load(wb))
    pq = tmp_path / "pq"
    pq.mkdir()
    for name, df in ds.tables.items():
        df.to_parquet(pq / f"{name}.parquet")
    _assert_same(ds, load(pq))
    mixed = tmp_path / "mixed"  # one folder, three formats
    shutil.copytree(folder, mixed)
    (mixed / "firms.csv").unlink()
    ds.firms.to_parquet(mixed / "firms.parquet")
    (mixed / "towns.csv").unlink()
    write_workbook({"towns": ds.towns}, mixed / "towns.xlsx")
    _assert_same(ds, load(mixed))


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_encodings(small, tmp_path, encoding):
    folder, ds = small
    out = tmp_path / encoding
    shutil.copytree(folder, out)
    for name in ("firms", "awards", "towns", "policy_documents"):
        text = (folder / f"{name}.csv").read_text(encoding="utf-8")
        (out / f"{name}.csv").write_bytes(text.encode(encoding))
    _assert_same(ds, load(out))


def test_chinese_file_names_sheet_names_and_headers(small, tmp_path):
    folder, ds = small
    c = get_contract()
    out = tmp_path / "zh"
    out.mkdir()
    for name in TABLE_ORDER:
        df = pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False)
        df.columns = [c[name].columns[col].zh for col in df.columns]
        df.to_csv(out / f"{c[name].zh}.csv", index=False, encoding="gbk")
    _assert_same(ds, load(out))
    zh_tables = {
        c[n].zh: ds.tables[n] for n in ("towns", "firms", "firm_year", "awards")
    }
    wb = write_workbook(zh_tables, tmp_path / "工作簿.xlsx")
    got = load(wb)
    for n in ("towns", "firms", "firm_year", "awards"):
        pd.testing.assert_frame_equal(got.tables[n], ds.tables[n])


def test_spreadsheet_variants_parse(small, tmp_path):
    folder, ds = small
    out = tmp_path / "variants"
    shutil.copytree(folder, out)
    aw = pd.read_csv(folder / "awards.csv", dtype=str, keep_default_na=False)
    d = pd.to_datetime(aw["application_date"])
    styles = np.arange(len(aw)) % 4
    aw["application_date"] = [
        f"{x.year}年{x.month}月{x.day}日"
        if s == 0
        else f"{x.year}/{x.month}/{x.day}"
        if s == 1
        else str((x - pd.Timestamp("1899-12-30")).days)
        if s == 2
        else x.strftime("%Y%m%d")
        for x, s in zip(d, styles)
    ]
    full = str.maketrans("0123456789.", "０１２３４５６７８９．")
    aw["approved_amount"] = [
        v.translate(full) if i % 2 else v for i, v in enumerate(aw["approved_amount"])
    ]
    aw["project_total_investment"] = [
        f"{float(v):,.2f}" for v in aw["project_total_investment"]
    ]
    aw["status"] = aw["status"].replace({"disbursed": "已拨付", "rejected": "未通过"})
    aw["expert_review_done"] = aw["expert_review_done"].map(
        {"true": "是", "false": "否"}
    )
    aw.to_csv(out / "awards.csv", index=False)
    pd.testing.assert_frame_equal(load(out).awards, ds.awards)


def test_inputs_never_modified(small, tmp_path):
    folder, _ = small
    out = tmp_path / "ro"
    shutil.copytree(folder, out)
    before = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in out.iterdir()}
    load(out)
    validate(out)
    after = {f.name: (f.read_bytes(), f.stat().st_mtime_ns) for f in out.iterdir()}
    assert before == after


def test_findings_do_not_block_loading(small):
    folder, ds = small
    assert ds.findings and all(p.severity == "finding" for p in ds.findings)
    report = validate(folder)
    assert report.ok and report.dataset is not None
    assert report.to_dict()["n_findings"] == len(ds.findings)


def test_all_errors_listed_at_once(small, tmp_path):
    folder, _ = small
    out = tmp_path / "bad"
    shutil.copytree(folder, out)
    fy = pd.read_csv(folder / "firm_year.csv", dtype=str, keep_default_na=False)
    fy.loc[4, "revenue"] = "很多"
    fy.loc[9, "maturity_level"] = "7"
    fy.to_csv(out / "firm_year.csv", index=False)
    fi = pd.read_csv(folder / "firms.csv", dtype=str, keep_default_na=False)
    fi.loc[0, "town_code"] = "NOWHERE"
    fi.to_csv(out / "firms.csv", index=False)
    with pytest.raises(DataError) as exc:
        load(out)
    got = {(p.table, p.row, p.column, p.code) for p in exc.value.errors}
    assert ("firm_year", 6, "revenue", "type_number") in got
    assert ("firm_year", 11, "maturity_level", "range") in got
    assert ("firms", 2, "town_code", "fk") in got
    text = exc.value.render("text")
    assert "firm_year.csv" in text and "行 row=6" in text


def test_problem_lists_are_capped_with_a_summary(small, tmp_path):
    folder, _ = small
    out = tmp_path / "many"
    shutil.copytree(folder, out)
    fy = pd.read_csv(folder / "firm_year.csv", dtype=str, keep_default_na=False)
    fy["revenue"] = "未知"
    fy.to_csv(out / "firm_year.csv", index=False)
    report = validate(out)
    rev = [p for p in report.errors if p.column == "revenue"]
    assert len(rev) == 51  # 50 located + 1 summary
    assert "700" in rev[-1].message_en


def test_default_data_dir_and_ensure(monkeypatch, tmp_path):
    monkeypatch.delenv("JDEVAL_DATA", raising=False)
    assert default_data_dir().parts[-2:] == ("data", "synthetic")
    target = tmp_path / "dflt"
    monkeypatch.setenv("JDEVAL_DATA", str(target))
    assert default_data_dir() == target
    assert ensure_default_data() == target
    assert (target / "truth.json").is_file()
    stamp = (target / "firm_year.csv").stat().st_mtime_ns
    ensure_default_data()  # idempotent
    assert (target / "firm_year.csv").stat().st_mtime_ns == stamp


def test_missing_path_is_a_data_error(tmp_path):
    with pytest.raises(DataError) as exc:
        load(tmp_path / "nope")
    assert exc.value.errors[0].code == "not_found"
    assert len(exc.value.errors) == 1


def test_excel_rows_are_spreadsheet_rows(tmp_path):
    import openpyxl

    base = Path(__file__).parent / "malformed" / "_base"
    d = tmp_path / "x"
    shutil.copytree(base, d)
    df = pd.read_csv(d / "firms.csv", dtype=str, keep_default_na=False)
    (d / "firms.csv").unlink()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C3"] = "企业名录"  # title on row 3, rows 1–2 empty, header on row 4
    for i, col in enumerate(df.columns, 1):
        ws.cell(row=4, column=i, value=col)
    for r, row in enumerate(df.itertuples(index=False), 5):
        for i, v in enumerate(row, 1):
            ws.cell(row=r, column=i, value=v)
    ws.cell(row=6, column=2, value="91310114310000022M")  # bad check digit, F000002
    wb.save(d / "firms.xlsx")
    report = validate(d)
    bad = [p for p in report.errors if p.code == "uscc"]
    assert [(p.file, p.row, p.column) for p in bad] == [("firms.xlsx", 6, "uscc")]
