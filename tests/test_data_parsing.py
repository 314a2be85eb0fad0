"""Cell parsing: the cell-by-cell path (small tables) and the vectorised path (large
tables) must agree on every accepted spelling and on what they reject."""

from __future__ import annotations

import pandas as pd
import pytest

from jdeval.data import parsing
from jdeval.data.contract import Column

CASES = {
    "money": [
        "1,234.5",
        "５２０００.５",
        " 12 ",
        "",
        "-",
        "3万元",
        "约五万",
        "501002000元",
        "1e3",
        "N/A",
    ],
    "int": ["12", "12.0", "１２", "12.5", "", "x", "-3"],
    "date": [
        "2024-03-05",
        "2024/3/5",
        "2024年3月5日",
        "20240305",
        "45356",
        "2024-03-05 00:00:00",
        "2024-02-30",
        "昨天",
        "",
        "2024.3.5",
    ],
    "bool": [
        "true",
        "FALSE",
        "是",
        "否",
        "1",
        "0",
        "Y",
        "n",
        "√",
        "可能",
        "",
        "ｙｅｓ",
    ],
    "enum": ["disbursed", "已拨付", "Disbursed", "追回", "nonsense", ""],
    "id": ["F000001", "Ｆ０００００１", " F2 ", "36.0", ""],
    "str": ["安亭镇 ", "Ｆ１", "", "=1+1"],
}


def _column(kind):
    if kind == "enum":
        return Column(
            "status",
            "enum",
            "状态",
            "status",
            values=("approved", "disbursed", "clawed_back"),
            value_aliases={"已拨付": "disbursed", "追回": "clawed_back"},
        )
    return Column("c", kind, "列", "column")


@pytest.mark.parametrize("kind", list(CASES))
def test_small_and_vectorised_paths_agree(kind, monkeypatch):
    col = _column(kind)
    s = pd.Series(CASES[kind] * 40, dtype="str")  # 40 copies: above and below SMALL
    monkeypatch.setattr(parsing, "SMALL", 10_000)
    v1, b1, c1 = parsing.parse_column(s, col)
    monkeypatch.setattr(parsing, "SMALL", 0)
    v2, b2, c2 = parsing.parse_column(s, col)
    pd.testing.assert_series_equal(v1, v2)
    pd.testing.assert_series_equal(b1, b2)
    assert c1 == c2


def test_values():
    num, bad, _ = parsing.parse_column(
        pd.Series(CASES["money"], dtype="str"), _column("money")
    )
    assert num.tolist()[:3] == [1234.5, 52000.5, 12.0]
    assert num.iloc[5] == 3.0 and num.iloc[8] == 1000.0
    assert bad.tolist() == [False] * 6 + [True, True, False, False]
    d, bad, _ = parsing.parse_column(
        pd.Series(CASES["date"], dtype="str"), _column("date")
    )
    assert (d.iloc[:6] == pd.Timestamp("2024-03-05")).all()
    assert bad.tolist() == [False] * 6 + [True, True, False, False]
    assert d.iloc[9] == pd.Timestamp("2024-03-05")
    b, bad, _ = parsing.parse_column(
        pd.Series(CASES["bool"], dtype="str"), _column("bool")
    )
    assert b.tolist()[:9] == [True, False, True, False, True, False, True, False, True]
    assert bad.tolist()[9:] == [True, False, False] and b.iloc[11]
    e, bad, _ = parsing.parse_column(
        pd.Series(CASES["enum"], dtype="str"), _column("enum")
    )
    assert e.tolist()[:4] == ["disbursed", "disbursed", "disbursed", "clawed_back"]
    assert bad.tolist() == [False, False, False, False, True, False]
    i, _, _ = parsing.parse_column(pd.Series(CASES["id"], dtype="str"), _column("id"))
    assert i.tolist()[:4] == ["F000001", "F000001", "F2", "36"]


def test_typed_input_from_parquet():
    col = _column("date")
    s = pd.Series(pd.to_datetime(["2024-01-02", None]))
    v, bad, _ = parsing.parse_column(s, col)
    assert str(v.dtype) == "datetime64[ns]" and not bad.any()
    v, bad, _ = parsing.parse_column(pd.Series([1.0, None, 2.5]), _column("int"))
    assert bad.tolist() == [False, False, True]
