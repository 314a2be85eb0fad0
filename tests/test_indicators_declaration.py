"""Reading the 绩效目标申报表 export (seed form, xlsx layout, full-width variants)."""

from pathlib import Path

import pytest

from jdeval.errors import ConfigError
from jdeval.indicators import parse_target, read_declaration

# The real 2024 申报表 export, byte-for-byte as the budget system wrote it.
SEED = Path(__file__).resolve().parents[1] / "data" / "targets" / "declaration_2024.txt"
FIX = Path(__file__).parent / "fixtures" / "targets"

# (id, level1, level2, level3, operator, value, unit, direction) read off the seed by eye
EXPECTED = [
    ("C1", "成本指标", "经济成本指标", "区级智能工厂", "=", 50.0, "万元", "cap"),
    (
        "C2",
        "成本指标",
        "经济成本指标",
        "市智能工厂评估诊断机构与数字化转型服务商",
        "=",
        50.0,
        "万元",
        "cap",
    ),
    ("C3", "成本指标", "经济成本指标", "市示范性智能工厂", "=", 100.0, "万元", "cap"),
    ("C4", "成本指标", "社会成本指标", "社会实施", "text", None, None, "qualitative"),
    ("O1", "产出指标", "数量指标", "覆盖企业数量", ">=", 60.0, "家", "positive"),
    (
        "O2",
        "产出指标",
        "质量指标",
        "补贴审核及发放规范性",
        "text",
        None,
        None,
        "qualitative",
    ),
    (
        "O3",
        "产出指标",
        "时效指标",
        "补贴发放时间",
        "deadline",
        "2026-12-31",
        "日期",
        "deadline",
    ),
    (
        "B1",
        "效益指标",
        "经济效益指标",
        "智改数转项目投资",
        "text",
        None,
        None,
        "trend_up",
    ),
    (
        "B2",
        "效益指标",
        "社会效益指标",
        "全区智改数转发展水平",
        "text",
        None,
        None,
        "qualitative",
    ),
    (
        "B3",
        "效益指标",
        "可持续影响指标",
        "补贴政策健全性",
        "text",
        None,
        None,
        "qualitative",
    ),
    (
        "S1",
        "满意度指标",
        "服务对象满意度指标",
        "立项企业满意度",
        ">=",
        85.0,
        "%",
        "positive",
    ),
]


@pytest.fixture(scope="module")
def seed():
    if not SEED.is_file():
        pytest.skip("seed form not available")
    return read_declaration(SEED)


def _rows(decl):
    df = decl.indicators
    out = []
    for r in df.to_dict("records"):
        unit = r["unit"] if isinstance(r["unit"], str) else None
        out.append(
            (
                r["id"],
                r["level1"],
                r["level2"],
                r["level3"],
                r["operator"],
                r["target_value"],
                unit,
                r["direction"],
            )
        )
    return out


def test_seed_has_exactly_its_11_indicators(seed):
    assert _rows(seed) == EXPECTED


def test_seed_reclassification_note(seed):
    df = seed.indicators.set_index("id")
    assert df.loc["B1", "level1_as_printed"] == "产出指标"
    assert "效益指标" in df.loc["B1", "note"]
    text = df["operator"] == "text"
    # every target kept as text is noted; the numeric ones need no note
    assert (df.loc[~text, "note"] == "").all()
    assert df.loc[text, "note"].str.contains("按定性").all()
    assert df.loc["O1", "target_raw"] == "≥60.00(家)"
    assert df.loc["B1", "line"] == 26  # the line in the export, for error messages


def test_seed_meta(seed):
    m = seed.meta
    assert m["year"] == 2024
    assert m["department"] == "上海市嘉定区经济委员会"
    assert m["policy"] == "推进制造业智能化改造和数字化转型"
    assert m["fund_use"] == "产业发展专项资金"
    assert (m["period_start"], m["period_end"]) == ("2023-08", "2025-12")
    assert m["budget_lines"] == [{"name": "产业扶持类", "amount_yuan": 0.0}]
    assert m["annual_goal"].startswith("推进100家产值亿元以上的企业")
    assert "不少于30家" in m["overall_goal"]
    assert "<p>" not in m["basis"] and m["basis"].count("\n") == 3
    assert "，" in m["overview"]  # Chinese punctuation kept in prose


def test_same_layout_as_xlsx_with_merged_cells(seed, tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    ws = wb.active
    lines = SEED.read_text(encoding="utf-8").split("\n")
    for i, line in enumerate(lines, 1):
        for j, cell in enumerate(line.split("\t"), 1):
            if cell:
                ws.cell(row=i, column=j, value=cell)
    # merge the 一级指标 cells of the cost block as a spreadsheet would
    ws.merge_cells(start_row=19, start_column=1, end_row=22, end_column=1)
    path = tmp_path / "decl.xlsx"
    wb.save(path)
    x = read_declaration(path)
    assert _rows(x) == EXPECTED
    assert x.meta["department"] == seed.meta["department"]


@pytest.mark.parametrize(
    ("raw", "level1", "want"),
    [
        ("≥60.00（家）", "产出指标", (">=", 60.0, "家", "positive")),
        ("＞5(个)", "产出指标", (">", 5.0, "个", "positive")),
        ("≤30.00(天)", "产出指标", ("<=", 30.0, "天", "negative")),
        ("≤5.00(万元)", "成本指标", ("<=", 5.0, "万元", "cap")),
        ("=20(次)", "产出指标", ("=", 20.0, "次", "exact")),
        ("≥ 85.00 ( ％ )", "满意度指标", (">=", 85.0, "%", "positive")),
        ("2025年6月底", "产出指标", ("deadline", "2025-06-30", "日期", "deadline")),
        ("2024年2月前", "产出指标", ("deadline", "2024-02-29", "日期", "deadline")),
        ("降低", "效益指标", ("text", None, None, "trend_down")),
        ("提升", "效益指标", ("text", None, None, "trend_up")),
        ("<p>符合规范</p>", "产出指标", ("text", None, None, "qualitative")),
    ],
)
def test_parse_target_variants(raw, level1, want):
    p = parse_target(raw, level1)
    assert (p["operator"], p["target_value"], p["unit"], p["direction"]) == want


def test_incomplete_row_is_located(tmp_path):
    with pytest.raises(ConfigError) as e:
        read_declaration(FIX / "declaration_missing_value.txt")
    (p,) = e.value.errors
    assert p.row == 6 and p.file.endswith("declaration_missing_value.txt")
    assert "年度指标值" in p.message_zh


def test_missing_file_and_no_table(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        read_declaration(tmp_path / "nope.txt")
    f = tmp_path / "empty.txt"
    f.write_text("政策名称\t某政策\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        read_declaration(f)
    codes = {p.code for p in e.value.errors}
    assert codes == {"declaration_no_table", "declaration_meta_missing"}
    (p,) = [p for p in e.value.errors if p.code == "declaration_meta_missing"]
    assert p.column == "年度" and "年度" in p.message_zh  # names the missing row


def test_gb18030_export(seed, tmp_path):
    f = tmp_path / "gbk.txt"
    f.write_bytes(SEED.read_text(encoding="utf-8").encode("gb18030"))
    assert _rows(read_declaration(f)) == EXPECTED


def test_malformed_quantitative_value_gets_a_note(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text(
        "(2024 年度)\n政策名称\t某政策\n"
        "一级指标\t二级指标\t三级指标\t年度指标值\n"
        "产出指标\t数量指标\t覆盖企业数量\t≥6O.00(家)\n",
        encoding="utf-8",
    )
    d = read_declaration(f)
    row = d.indicators.iloc[0]
    assert row["operator"] == "text" and "未能解析" in row["note"]
    assert d.notes == [row["note"]]
