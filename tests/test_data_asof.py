"""``jdeval.data.as_of``: the data as they stood on the evaluation reference date."""

from __future__ import annotations

import pandas as pd
import pytest

from jdeval.data import TABLE_ORDER, as_of, synthesize
from jdeval.data.contract import get_contract
from jdeval.data.rules import APPROVED_STATUSES, AWARD_DATE_ORDER


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("asof"), seed=5, firms=150)


def _latest(ds) -> pd.Timestamp:
    c = get_contract()
    return max(
        ds.tables[n][col.name].max()
        for n in TABLE_ORDER
        for col in c[n].columns.values()
        if col.type == "date" and col.name != "valid_until" and len(ds.tables[n])
    )


def test_the_latest_date_of_the_data_changes_nothing(ds):
    latest = _latest(ds)
    cut = as_of(ds, latest)
    for name in TABLE_ORDER:
        pd.testing.assert_frame_equal(cut.tables[name], ds.tables[name], obj=name)

    def key(ps):
        return [(p.code, p.row) for p in ps if p.code != "undisbursed_overdue"]

    assert key(cut.findings) == key(ds.findings)
    assert ds.as_of is None and cut.as_of == latest
    later = as_of(ds, "2030-12-31")  # undisbursed awards are then long overdue
    n = sum(p.code == "undisbursed_overdue" for p in later.findings)
    assert n == (ds.awards["status"] == "approved").sum()


def test_nothing_dated_after_the_reference_date_is_used(ds):
    d = pd.Timestamp("2024-11-30")
    cut = as_of(ds, d)
    c = get_contract()
    for name in TABLE_ORDER:
        for col in c[name].columns.values():
            if col.type == "date" and col.name != "valid_until":  # known when issued
                assert not (cut.tables[name][col.name] > d).any(), (name, col.name)
    assert cut.years and max(cut.years) == 2023  # 2024 is not over on 2024-11-30
    a, orig = cut.awards, ds.awards.set_index("award_id")
    assert set(a["award_id"]) == set(
        orig.index[~(orig["application_date"] > d).fillna(False)]
    )
    # what happened after D has not happened yet
    paid = a["status"].isin(["disbursed", "clawed_back"])
    assert a.loc[paid, "disbursement_date"].notna().all()
    approved = a["status"].isin(APPROVED_STATUSES)
    assert a.loc[approved, "approval_date"].notna().all()
    assert (a.loc[~approved, "approved_amount"].fillna(0) == 0).all()
    assert (
        a.loc[a["disbursement_date"].isna(), "disbursed_amount"].fillna(0) == 0
    ).all()
    rolled = a[
        orig.loc[a["award_id"], "status"].isin(APPROVED_STATUSES).to_numpy()
        & ~approved.to_numpy()
    ]
    assert len(rolled) > 0
    assert set(rolled["status"]) <= {"受理", "评审", "公示"}
    # references to applications made after D are empty
    for name in ("diagnoses", "loans", "survey_responses", "complaints_audit"):
        ids = cut.tables[name]["award_id"].dropna()
        assert ids.isin(a["award_id"]).all(), name
    assert not cut.warnings or {w.code for w in cut.warnings} <= {
        w.code for w in ds.warnings
    }


def test_undisbursed_is_measured_at_the_reference_date(ds):
    d = pd.Timestamp("2024-12-31")
    cut = as_of(ds, d)
    a = cut.awards
    rows = cut.rows["awards"]
    waiting = (d - a["approval_date"]).dt.days
    expected = (
        a["status"].isin(APPROVED_STATUSES)
        & a["disbursement_date"].isna()
        & (waiting > get_contract().late_payment_days)
    ).to_numpy()
    got = sorted(p.row for p in cut.findings if p.code == "undisbursed_overdue")
    assert got == sorted(int(r) for r in rows[expected])
    # row numbers are still those of the input file
    orig_rows = dict(zip(ds.awards["award_id"], ds.rows["awards"]))
    assert all(orig_rows[i] == r for i, r in zip(a["award_id"], rows))


def test_process_dates_after_the_reference_date_are_blank(ds):
    d = pd.Timestamp("2023-11-15")
    cut = as_of(ds, d)
    for c in AWARD_DATE_ORDER:
        assert not (cut.awards[c] > d).any()
    assert (
        not cut.awards["status"].isin(["disbursed", "clawed_back"]).any()
        or (
            cut.awards.loc[cut.awards["status"] == "disbursed", "disbursement_date"]
            <= d
        ).all()
    )
