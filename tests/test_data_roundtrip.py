"""No silent wrong input (issue 14 item 2): a property-based test over the contract's
column types.  Generated values are written the ways spreadsheets write them (CSV text
spellings, typed Excel cells); every file the loader accepts must read back to exactly
the values written, and every value that is not one (inf, NaN) must be refused with a
located error.

Documented reading rules are part of the contract, so generated text avoids what the
README defines as something else: blank tokens (``-``, ``NA`` …), surrounding spaces
(stripped) and totals/notes markers (合计, 备注：… in the first columns).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import shutil
import unicodedata
from pathlib import Path

import openpyxl
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jdeval.data import validate
from jdeval.data.contract import get_contract, normalize_header
from jdeval.data.parsing import MISSING_TOKENS
from jdeval.data.reading import _NOTE_RE, _TOTAL_RE

BASE = Path(__file__).parent / "malformed" / "_base"
C = get_contract()
FIRMS = ["F000001", "F000002", "F000003"]
_FULL = str.maketrans("0123456789.", "０１２３４５６７８９．")


def _plain_text(s: str) -> bool:
    key = normalize_header(s)
    return (
        s == s.strip()
        and s.lower() not in MISSING_TOKENS
        and not _TOTAL_RE.match(key)
        and not _NOTE_RE.match(key)
        and not s.startswith("#")
    )


text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")),
    min_size=1,
    max_size=12,
).filter(_plain_text)


@st.composite
def money(draw, lo=0.0, hi=1e9):
    """(value written, expected value or None when it must be refused)."""
    if draw(st.integers(0, 9)) == 0:
        bad = draw(st.sampled_from(["inf", "-inf", "Infinity", "NaN", "nan", "1e999"]))
        return bad, None
    v = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    style = draw(st.sampled_from(["repr", "thousands", "fullwidth", "number"]))
    if style == "number":  # a typed cell: Excel/openpyxl keep 16 significant digits
        v = float(f"{v:.16g}")
        return v, v
    r = repr(v)
    if style == "thousands" and "e" not in r:
        return f"{v:,}", v
    if style == "fullwidth":
        return r.translate(_FULL), v
    return r, v


@st.composite
def integer(draw, lo, hi):
    i = draw(st.integers(lo, hi))
    style = draw(st.sampled_from(["plain", "float", "fullwidth", "number"]))
    written = {
        "plain": str(i),
        "float": f"{i}.0",
        "fullwidth": str(i).translate(_FULL),
        "number": i,
    }[style]
    return written, i


@st.composite
def date(draw):
    d = draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31)))
    style = draw(st.sampled_from(["iso", "zh", "slash", "compact", "cell"]))
    written = {
        "iso": d.isoformat(),
        "zh": f"{d.year}年{d.month}月{d.day}日",
        "slash": f"{d.year}/{d.month}/{d.day}",
        "compact": d.strftime("%Y%m%d"),
        "cell": dt.datetime(d.year, d.month, d.day),
    }[style]
    return written, pd.Timestamp(d)


@st.composite
def boolean(draw):
    b = draw(st.booleans())
    spellings = (
        ["true", "是", "Y", "1", "√", True]
        if b
        else ["false", "否", "N", "0", "×", False]
    )
    return draw(st.sampled_from(spellings)), b


@st.composite
def label(draw, table: str, column: str):
    col = C[table].columns[column]
    value = draw(st.sampled_from(col.values))
    spellings = [value, *(a for a, v in col.value_aliases.items() if v == value and a)]
    return draw(st.sampled_from(spellings)), value


@st.composite
def loans_rows(draw):
    n = draw(st.integers(1, 4))
    ids = draw(
        st.lists(
            st.from_regex(r"L[0-9]{1,6}", fullmatch=True),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    rows = []
    for i in ids:
        rows.append(
            {
                "loan_id": (i, i),
                "firm_id": (f := draw(st.sampled_from(FIRMS)), f),
                "bank": (b := draw(text), b),
                "principal": draw(money()),
                "rate": draw(money(0.0, 30.0)),
                "start_date": draw(date()),
                "term_months": draw(integer(1, 360)),
                "interest_paid_year": draw(money()),
                "subsidy_rate": draw(money(0.0, 1.0)),
                "subsidy_amount": draw(money()),
                "award_id": ("", None),
            }
        )
    return rows


@st.composite
def events_rows(draw):
    n = draw(st.integers(1, 4))
    ids = draw(
        st.lists(
            st.from_regex(r"E[0-9]{1,6}", fullmatch=True),
            min_size=n,
            max_size=n,
            unique=True,
        )
    )
    return [
        {
            "event_id": (i, i),
            "date": draw(date()),
            "type": draw(label("complaints_audit", "type")),
            "substantiated": draw(boolean()),
            "resolved": draw(boolean()),
            "amount": draw(money()),
            "description": (d := draw(text), d),
            "award_id": ("", None),
        }
        for i in ids
    ]


def _write(d: Path, name: str, rows: list[dict], fmt: str) -> None:
    cols = list(rows[0])
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow(
                [
                    v.date().isoformat() if isinstance(v, dt.datetime) else v
                    for v, _ in r.values()
                ]
            )
        (d / f"{name}.csv").write_text(buf.getvalue(), encoding="utf-8")
    else:
        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = name
        ws.append(cols)
        for r in rows:
            ws.append([v for v, _ in r.values()])
        for row in ws.iter_rows(min_row=2):
            for cell in row:  # text such as "=x" is text here, not a formula
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
        wb.save(d / f"{name}.xlsx")


def _check(rows, got: pd.DataFrame, table: str) -> None:
    assert len(got) == len(rows)
    for i, r in enumerate(rows):
        for col, (_, expected) in r.items():
            v = got[col].iloc[i]
            if expected is None:  # written blank
                assert pd.isna(v), (table, col, v)
            else:
                assert v == expected, (table, col, v, expected)


def _refused(rows) -> set[tuple[int, str]]:
    return {
        (i + 2, col)
        for i, r in enumerate(rows)
        for col, (written, exp) in r.items()
        if exp is None and written != ""
    }


def _run(tmp: Path, loans, events, fmt: str) -> None:
    d = tmp / "data"
    shutil.rmtree(d, ignore_errors=True)
    shutil.copytree(BASE, d)
    _write(d, "loans", loans, fmt)
    _write(d, "complaints_audit", events, fmt)
    report = validate(d)
    refused = {("loans", *x) for x in _refused(loans)} | {
        ("complaints_audit", *x) for x in _refused(events)
    }
    got = {(p.table, p.row, p.column) for p in report.errors}
    if not refused:
        assert report.ok, [str(p) for p in report.errors]
        _check(loans, report.dataset.loans, "loans")
        _check(events, report.dataset.complaints_audit, "complaints_audit")
    else:  # every non-finite value is refused where it was written
        assert not report.ok
        assert refused <= got, (refused, got)
        assert {p.code for p in report.errors} <= {"non_finite", "type_number"}


_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@_SETTINGS
@given(loans=loans_rows(), events=events_rows())
def test_csv_round_trip(tmp_path, loans, events):
    _run(tmp_path, loans, events, "csv")


@_SETTINGS
@given(loans=loans_rows(), events=events_rows())
def test_xlsx_round_trip(tmp_path, loans, events):
    _run(tmp_path, loans, events, "xlsx")


def test_the_strategies_cover_every_column_type():
    covered = {
        C["loans"].columns[c].type for c in C["loans"].columns if c != "award_id"
    } | {C["complaints_audit"].columns[c].type for c in ("type", "resolved")}
    assert covered >= {"id", "str", "money", "float", "int", "date", "bool", "enum"}
    assert math.isinf(float("1e999"))  # the overflow spelling is really non-finite
    assert unicodedata.normalize("NFKC", "１２．５") == "12.5"
