"""Office-shaped exports (issue 12): generated from the synthetic data, they load as
delivered — no renaming, no label edits — into exactly the tables of the CSVs they
came from, and score the same."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from office_exports import AWARDS_BOOK, OTHER_BOOK, sorted_by_key, write_office_exports

from jdeval.data import TABLE_ORDER, synthesize, validate


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    ds = synthesize(tmp_path_factory.mktemp("csv"), seed=7, firms=150)
    out = write_office_exports(ds, tmp_path_factory.mktemp("office"))
    report = validate(out)
    return ds, out, report


def test_exports_load_as_delivered_into_the_same_tables(exports):
    ds, _, report = exports
    assert report.ok, report.render()
    got = report.dataset
    for name in TABLE_ORDER:
        assert len(got.tables[name]) == len(ds.tables[name]), name
        pd.testing.assert_frame_equal(
            sorted_by_key(got.tables[name], name),
            sorted_by_key(ds.tables[name], name),
            obj=name,
        )
    assert Counter(p.code for p in got.findings) == Counter(p.code for p in ds.findings)


def test_what_was_recognised_and_skipped_is_noted(exports):
    ds, _, report = exports
    by_code = Counter(p.code for p in report.warnings)
    # awards: one sheet per batch year, stacked with a note naming every part
    years = sorted(int(y) for y in ds.awards["batch_year"].unique())
    (stacked,) = [p for p in report.warnings if p.code == "stacked"]
    assert stacked.table == "awards"
    for y in years:
        assert f"{AWARDS_BOOK}#{y}年批次" in stacked.message_zh
    # 合计 rows: each awards sheet, firms, recognitions; loans' unlabelled sums row
    totals = [p for p in report.warnings if p.code == "total_row"]
    assert Counter(p.table for p in totals) == Counter(
        {"awards": len(years), "firms": 1, "recognitions": 1, "loans": 1}
    )
    assert by_code["note_row"] == len(years) + 2  # the 备注 line under each 合计
    # the instructions sheet is skipped; the leftover sheet is listed with the names
    # and headers that would match
    (ignored,) = [p for p in report.warnings if p.code == "ignored_file"]
    assert ignored.file == f"{OTHER_BOOK}#Sheet3"
    assert "补贴申报与拨付" in ignored.message_zh and "项目编号" in ignored.message_zh
    assert by_code["header_offset"] >= 10
    assert {p.column for p in report.warnings if p.code == "extra_column"} == {"备注"}


def test_exports_score_exactly_like_the_csvs(exports):
    from jdeval.indicators import evaluate

    ds, _, report = exports
    year = max(int(y) for y in ds.awards["batch_year"].unique()) - 1
    a = evaluate(ds, year=year)
    b = evaluate(report.dataset, year=year)
    assert a.total == b.total
    assert a.grade == b.grade
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
