"""Rebuild the malformed-input corpus from ``_base`` (run by hand, output committed).

    .venv/bin/python tests/malformed/make_corpus.py

Each case is a folder holding only the files that differ from ``_base`` (``remove``
in ``cases.yaml`` deletes base files).  Cases whose input is an Excel workbook are
described in ``cases.yaml`` (``xlsx:``) and built by the test itself, so no binary
spreadsheet is committed.  ``cases.yaml`` is the explicit listing of the corpus.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

HERE = Path(__file__).parent
BASE = HERE / "_base"


def base(name: str) -> str:
    return (BASE / name).read_text(encoding="utf-8")


def sub(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


def line_replace(text: str, lineno: int, func) -> str:
    lines = text.split("\n")
    lines[lineno - 1] = func(lines[lineno - 1])
    return "\n".join(lines)


def set_cell(text: str, row: int, column: str, value: str) -> str:
    """Replace one cell of a simple CSV (no quoted commas in the row)."""
    lines = text.split("\n")
    header = lines[0].split(",")
    j = header.index(column)
    cells = lines[row - 1].split(",")
    cells[j] = value
    lines[row - 1] = ",".join(cells)
    return "\n".join(lines)


CASES: list[dict] = []


def case(
    name,
    expect,
    desc,
    files=None,
    codes=(),
    remove=(),
    xlsx=None,
    findings=(),
    generate=None,
):
    CASES.append(
        {
            "name": name,
            "expect": expect,
            "description": desc,
            "codes": list(codes),
            "findings": list(findings),
            "remove": list(remove),
            **({"xlsx": xlsx} if xlsx else {}),
            **({"generate": generate} if generate else {}),
            "_files": files or {},
        }
    )


aw, fy, fi, tw = (
    base("awards.csv"),
    base("firm_year.csv"),
    base("firms.csv"),
    base("towns.csv"),
)

# ---------------------------------------------------------------- legitimate variants
case(
    "01_utf8_bom",
    "ok",
    "UTF-8 带 BOM / UTF-8 with BOM",
    {"awards.csv": b"\xef\xbb\xbf" + aw.encode("utf-8")},
)
case("02_gbk", "ok", "GBK 编码 / GBK-encoded CSV", {"firms.csv": fi.encode("gbk")})
case(
    "03_gb18030_rare_char",
    "ok",
    "GB18030 四字节字符 / GB18030 with a 4-byte character",
    {"towns.csv": sub(tw, "马陆镇", "马陆镇㐀").encode("gb18030")},
)
case(
    "04_utf16_tab",
    "ok",
    "Excel“Unicode 文本”：UTF-16 制表符分隔 / UTF-16 tab-separated",
    {"firm_year.csv": fy.replace(",", "\t").encode("utf-16")},
)
case(
    "05_chinese_headers",
    "ok",
    "中文列名 / Chinese headers",
    {
        "awards.csv": sub(
            aw,
            aw.split("\n")[0],
            "项目编号,申报年度,受益主体类型,企业编号,服务商编号,支持类别,项目名称,项目总投资,"
            "核定费用,申请金额,核定补贴金额,已拨付金额,补贴上限,申报日期,评审日期,公示开始日期,"
            "公示结束日期,批准日期,拨付日期,状态,所属街镇,行业大类,专家评审,已公示,资格符合,"
            "金额未超标准,材料齐全,无重复资助,公示异议已处理,是否追回",
        )
    },
)
case(
    "06_chinese_file_name",
    "ok",
    "中文文件名 企业.csv / Chinese file name",
    {"企业.csv": fi},
    remove=["firms.csv"],
)
case(
    "07_date_variants",
    "ok",
    "日期写法：2024年8月20日、2024/8/20、20240820、Excel 序列号 / date spellings",
    {
        "awards.csv": sub(
            sub(
                sub(sub(aw, "2024-08-20", "2024年8月20日"), "2024-10-15", "2024/10/15"),
                "2024-10-25",
                "20241025",
            ),
            "2025-01-10",
            "45667",
        )
    },
)
case(
    "08_fullwidth_digits",
    "ok",
    "全角数字 / full-width digits",
    {
        "firm_year.csv": sub(
            sub(fy, "52000.5", "５２０００.５"),
            "F000001,2024,",
            "Ｆ０００００１,２０２４,",
        )
    },
)
case(
    "09_thousands_separators",
    "ok",
    "千分位 / thousands separators",
    {"firm_year.csv": sub(fy, "52000.5,50100.2", '"52,000.50","50,100.20"')},
)
case(
    "10_semicolon_delimiter",
    "ok",
    "分号分隔 / semicolon-delimited",
    {"firms.csv": fi.replace(",", ";")},
)
case(
    "11_title_row_above_header",
    "ok",
    "表头上方有标题行 / title row above the header",
    {"firm_year.csv": "企业年度面板（2023-2024年）,,,\n" + fy},
    codes=["header_offset"],
)
case(
    "12_blank_and_total_rows",
    "ok",
    "空行与合计行 / blank lines and a total row",
    {
        "awards.csv": aw.rstrip("\n")
        + "\n,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n\n合计,,,,,,,,,,102.5,102.5\n"
    },
    codes=["total_row"],
)
case(
    "13_bool_spellings",
    "ok",
    "布尔值写法 是/否、Y/N、1/0 / boolean spellings",
    {
        "firms.csv": sub(
            sub(sub(fi, "false,true,false", "否,是,否"), "true,false,true", "Y,N,Y"),
            "false,true,false",
            "0,1,0",
        )
    },
)
case(
    "14_enum_aliases",
    "ok",
    "中文枚举值 已拨付、企业 / Chinese enum spellings",
    {"awards.csv": sub(sub(aw, ",disbursed,", ",已拨付,"), ",enterprise,", ",企业,")},
)
case(
    "15_extra_column",
    "ok",
    "多余列“备注” / an extra column",
    {
        "towns.csv": "town_code,town_name,town_name_en,town_type,subarea,备注\n"
        "AT,安亭镇,Anting Town,镇,,汽车城\nML,马陆镇,Malu Town,镇,嘉定新城,\n"
    },
    codes=["extra_column"],
)
case(
    "16_missing_optional_columns",
    "ok",
    "缺少可选列 profit_total、tax_paid / optional columns absent",
    {
        "firm_year.csv": "\n".join(
            ",".join(c for j, c in enumerate(ln.split(",")) if j not in (10, 11))
            for ln in fy.split("\n")
        )
    },
)
case(
    "17_crlf_line_ends",
    "ok",
    "Windows 换行 CRLF / CRLF line ends",
    {"awards.csv": aw.replace("\n", "\r\n").encode("utf-8")},
)
case(
    "18_header_only_table",
    "ok",
    "只有表头的表 / a table with a header and no rows",
    {"awards.csv": aw.split("\n")[0] + "\n"},
    codes=["empty_table"],
)
case(
    "19_over_cap_is_finding",
    "ok",
    "超上限是发现而非错误 / over the cap is a finding, not an error",
    {"awards.csv": sub(aw, "1500,1200,50,50,50,50", "1500,1200,60,60,60,50")},
    findings=["over_cap"],
)
case(
    "20_late_payment_is_finding",
    "ok",
    "拨付超过180天是发现 / late payment is a finding",
    {"awards.csv": sub(aw, "2025-01-10", "2025-07-30")},
    findings=["late_payment"],
)
case(
    "21_xlsx_workbook_chinese_sheets",
    "ok",
    "单个工作簿、中文工作表名、合并标题行 / one workbook, Chinese sheet names, merged title row",
    xlsx={"workbook": "data.xlsx", "sheet_names": "zh", "title_row": "firm_year"},
    codes=["header_offset"],
)
case(
    "22_xlsx_typed_cells",
    "ok",
    "Excel 单元格为真日期与数字 / real Excel dates and numbers",
    xlsx={"tables": ["awards"], "typed": True},
    remove=["awards.csv"],
)

_aw_lines = aw.rstrip("\n").split("\n")
case(
    "23_office_labels",
    "ok",
    "办公室写法的中文标签 已核定、已撤回、区级智能工厂、智能制造诊断评估(线下)、企业 / office labels",
    {
        "awards.csv": sub(
            sub(
                sub(aw, ",SF_DISTRICT,", ",区级智能工厂,"),
                ",DIAG,",
                ",智能制造诊断评估（线下）,",
            ).replace(",disbursed,", ",已拨付,"),
            ",enterprise,",
            ",企业,",
        )
    },
)
case(
    "24_serial_total_and_notes_rows",
    "ok",
    "序号列、底部合计行（序号列写“合计”）、备注行、填报单位行 / 序号, 合计 and 备注 rows",
    {
        "awards.csv": "填报单位：嘉定区经委,,,单位：万元\n"
        + "序号,"
        + _aw_lines[0]
        + "\n"
        + "\n".join(f"{i},{ln}" for i, ln in enumerate(_aw_lines[1:], 1))
        + "\n合计,,,,,,,,,,,,102.5,102.5\n备注：金额单位为万元。\n"
    },
    codes=["header_offset", "total_row", "note_row"],
)
case(
    "25_xlsx_awards_split_by_year",
    "ok",
    "补贴表按申报年度分成两个工作表（文件名不是表名）/ awards split into one sheet per year",
    xlsx={"split": "awards", "workbook_name": "2024年智改数转项目补贴汇总表.xlsx"},
    remove=["awards.csv"],
    codes=["stacked"],
)
case(
    "26_recognised_by_header",
    "ok",
    "文件名不对应任何表，按表头识别 / a file named after no table, recognised by its header",
    {"工业统计报表2023-2024.csv": fy},
    remove=["firm_year.csv"],
)
case(
    "27_row_of_sums",
    "ok",
    "最后一行是各列之和（无“合计”字样）/ an unlabelled row of column sums",
    {"awards.csv": aw.rstrip("\n") + "\n,,,,,,,4506,1311,107.5,102.5,102.5,155\n"},
    codes=["total_row"],
)

# ---------------------------------------------------------------- errors
_fl = fi.split("\n")
case(
    "30_mixed_encoding",
    "error",
    "同一文件混用 UTF-8 与 GBK / UTF-8 and GBK mixed in one file",
    {
        "firms.csv": "\n".join(_fl[:2]).encode("utf-8")
        + b"\n"
        + _fl[2].encode("gbk")
        + b"\n"
        + "\n".join(_fl[3:]).encode("utf-8")
    },
    codes=["mixed_encoding"],
)
case(
    "31_binary_garbage",
    "error",
    "二进制乱码 / binary garbage",
    {"awards.csv": bytes(range(128, 256)) * 4},
    codes=["encoding"],
)
case(
    "32_empty_file",
    "error",
    "空文件 / empty file",
    {"awards.csv": b""},
    codes=["empty_file"],
)
case(
    "33_xlsx_empty_sheet",
    "error",
    "Excel 空工作表 / empty sheet",
    xlsx={"tables": ["awards"], "empty": True},
    remove=["awards.csv"],
    codes=["empty_sheet"],
)
case(
    "34_missing_required_column",
    "error",
    "缺少必需列 uscc / required column missing",
    {
        "firms.csv": "\n".join(
            ",".join(c for j, c in enumerate(ln.split(",")) if j != 1)
            for ln in fi.split("\n")
        )
    },
    codes=["missing_column"],
)
case(
    "35_missing_required_table",
    "error",
    "缺少必需表 firm_year / required table missing",
    remove=["firm_year.csv"],
    codes=["missing_table"],
)
case(
    "36_text_in_numeric",
    "error",
    "数值列中有文字 / text in a numeric column",
    {"firm_year.csv": sub(fy, "52000.5", "约五万")},
    codes=["type_number"],
)
case(
    "37_amount_in_yuan",
    "error",
    "金额带“元”单位（应为万元）/ amount written in yuan",
    {"firm_year.csv": sub(fy, "50100.2", "501002000元")},
    codes=["type_number"],
)
case(
    "38_duplicate_panel_key",
    "error",
    "同一企业同一年份两行 / duplicate firm-year",
    {"firm_year.csv": fy.rstrip("\n") + "\n" + fy.split("\n")[1] + "\n"},
    codes=["pk_duplicate"],
)
case(
    "39_duplicate_award_id",
    "error",
    "项目编号重复 / duplicate award id",
    {"awards.csv": sub(aw, "A202400003", "A202400001")},
    codes=["pk_duplicate"],
)
case(
    "40_orphan_firm",
    "error",
    "补贴表中的企业不存在 / award for an unknown firm",
    {"awards.csv": sub(aw, ",F000003,", ",F999999,")},
    codes=["fk"],
)
case(
    "41_orphan_town",
    "error",
    "企业所属街镇不存在 / firm in an unknown town",
    {"firms.csv": sub(fi, ",ML,", ",XX,")},
    codes=["fk"],
)
case(
    "42_negative_amount",
    "error",
    "负数金额 / negative amount",
    {"awards.csv": sub(aw, "3000,105,52.5,52.5,52.5", "3000,105,52.5,-52.5,-52.5")},
    codes=["negative"],
)
case(
    "43_absurd_level",
    "error",
    "成熟度等级 9（应为 0–5）/ maturity level out of range",
    {
        "firm_year.csv": sub(
            fy, ",2,none,true,false,true,2024", ",9,none,true,false,true,2024"
        )
    },
    codes=["range"],
)
case(
    "44_date_out_of_range",
    "error",
    "日期超出范围 2099 年 / date out of range",
    {"awards.csv": sub(aw, "2025-02-20", "2099-02-20")},
    codes=["date_range"],
)
case(
    "45_impossible_date",
    "error",
    "不存在的日期 2024-02-30 / impossible date",
    {"awards.csv": sub(aw, "2024-08-22", "2024-02-30")},
    codes=["type_date"],
)
case(
    "46_date_order",
    "error",
    "批准早于申报 / approval before application",
    {"awards.csv": sub(aw, "2024-11-12,2025-01-10", "2024-07-12,2025-01-10")},
    codes=["date_order"],
)
case(
    "47_disbursed_over_approved",
    "error",
    "拨付大于核定 / disbursed more than approved",
    {"awards.csv": sub(aw, "52.5,52.5,100", "52.5,60,100")},
    codes=["disbursed_gt_approved"],
)
case(
    "48_bad_uscc",
    "error",
    "统一社会信用代码校验位错误 / wrong USCC check digit",
    {"firms.csv": sub(fi, "91310114310000022N", "91310114310000022M")},
    codes=["uscc"],
)
case(
    "49_bad_enum",
    "error",
    "未知支持类别 / unknown category",
    {"awards.csv": sub(aw, ",SF_DISTRICT,", ",SMART_FACTORY,")},
    codes=["enum"],
)
case(
    "50_bad_bool",
    "error",
    "布尔列写了“可能” / non-boolean value",
    {"firms.csv": sub(fi, "2010,true,", "2010,可能,")},
    codes=["type_bool"],
)
case(
    "51_ragged_row",
    "error",
    "一行的单元格多于表头（未加引号的逗号）/ more cells than headers",
    {
        "towns.csv": sub(
            tw, "ML,马陆镇,Malu Town,镇,嘉定新城", "ML,马陆镇,Malu, Town,镇,嘉定新城"
        )
    },
    codes=["extra_cells"],
)
case(
    "52_duplicate_column",
    "error",
    "同一列出现两次（英文与中文）/ a column twice",
    {
        "towns.csv": "town_code,town_name,town_name_en,town_type,subarea,街镇代码\n"
        "AT,安亭镇,Anting Town,镇,,AT\nML,马陆镇,Malu Town,镇,嘉定新城,ML\n"
    },
    codes=["duplicate_column"],
)
case(
    "53_no_header",
    "error",
    "没有表头 / no header row",
    {"firms.csv": "\n".join(fi.split("\n")[1:])},
    codes=["no_header"],
)
case(
    "54_two_files_one_table",
    "error",
    "同一张表两个文件 / two files for one table",
    {"补贴申报与拨付.csv": aw},
    codes=["duplicate_table_file"],
)
case(
    "55_fraction_in_integer",
    "error",
    "从业人员 420.5 / fraction in an integer column",
    {"firm_year.csv": sub(fy, ",420,", ",420.5,")},
    codes=["type_integer"],
)
case(
    "56_missing_required_value",
    "error",
    "企业所属街镇为空 / required value empty",
    {"firms.csv": sub(fi, ",ML,", ",,")},
    codes=["missing_value"],
)
case(
    "57_enterprise_award_without_firm",
    "error",
    "企业类补贴缺少企业编号 / enterprise award without firm",
    {"awards.csv": sub(aw, ",F000003,", ",,")},
    codes=["missing_value"],
)
case(
    "58_likert_out_of_range",
    "error",
    "满意度评分 6 / Likert 6",
    {
        "survey_responses.csv": "response_id,year,firm_id,award_id,survey_date,channel,item_code,likert,comment\n"
        "S1,2024,F000001,A202400001,2025-02-10,online,Q0,6,\n"
        "S1,2024,F000001,A202400001,2025-02-10,online,Q1,4,\n"
    },
    codes=["range"],
)
case(
    "59_several_problems_at_once",
    "error",
    "多处错误一次列出 / several problems listed at once",
    {
        "awards.csv": sub(
            sub(aw, ",F000003,", ",F999999,"), "2024-08-22", "2024-02-30"
        ),
        "firms.csv": sub(fi, "91310114310000022N", "91310114310000022M"),
    },
    codes=["fk", "type_date", "uscc"],
)

case(
    "60_inf_in_money",
    "error",
    "金额列写 inf / Infinity（非有限数值）/ inf in a money column",
    {
        "awards.csv": sub(
            sub(aw, "1500,1200,50", "inf,1200,50"), "3000,105", "Infinity,105"
        )
    },
    codes=["non_finite"],
)
case(
    "61_nan_text_in_money",
    "error",
    "金额列写 NaN 文本 / NaN text in a money column",
    {"firm_year.csv": sub(fy, "52000.5", "NaN")},
    codes=["non_finite"],
)
case(
    "62_decimal_comma",
    "error",
    "小数逗号 1,5 会被误读为 15 / a decimal comma that would change the value",
    {"firm_year.csv": sub(fy, "52000.5,50100.2", '"52000,5",50100.2')},
    codes=["type_number"],
)
case(
    "63_xlsx_formula_without_value",
    "error",
    "Excel 公式单元格没有计算结果（脚本写出）/ formula cells without cached values",
    xlsx={"tables": ["awards"], "formula": "disbursed_amount"},
    remove=["awards.csv"],
    codes=["formula_no_value"],
)
case(
    "64_excel_error_value",
    "error",
    "Excel 错误值 #N/A、#DIV/0! / Excel error values",
    {"firm_year.csv": sub(sub(fy, "52000.5", "#N/A"), "50100.2", "#DIV/0!")},
    codes=["excel_error"],
)
case(
    "65_million_column_header",
    "error",
    "表头 1,000,000 列 / a CSV header of a million columns",
    generate={"file": "firm_year.csv", "wide_header": 1000000},
    codes=["resource_limit"],
)
case(
    "66_wide_data_row",
    "error",
    "一行 200,000 个单元格 / a data row of 200,000 cells",
    generate={"file": "towns.csv", "wide_row": 200000},
    codes=["resource_limit"],
)
case(
    "67_too_many_sheets",
    "error",
    "工作簿 150 个工作表 / a workbook of 150 sheets",
    xlsx={"many_sheets": 150},
    codes=["resource_limit"],
)
case(
    "68_integer_beyond_float",
    "error",
    "整数超过 2^53（会丢失位数）/ an integer a float cannot hold",
    {"firm_year.csv": sub(fy, ",420,", ",99999999999999999999,")},
    codes=["type_integer"],
)
case(
    "69_ambiguous_table",
    "error",
    "表头同时符合两张表 / a header fitting two tables",
    {
        "export.csv": "town_code,town_name,town_type,firm_id,uscc,name_masked,"
        "industry_code,industry_div,key_industry,ownership\n"
        "AT,安亭镇,镇,F9,91310114310000022N,x,3600,36,其他,内资\n"
    },
    codes=["ambiguous_table"],
)
case(
    "70_parts_with_different_columns",
    "error",
    "同一张表的两个部分列不同 / two parts of a table with different columns",
    {
        "补贴汇总2025.csv": "\n".join(
            ",".join(c for j, c in enumerate(ln.split(",")) if j != 6)
            for ln in aw.replace("A2024", "A2025").split("\n")
        )
    },
    codes=["parts_differ"],
)
case(
    "71_unknown_label",
    "error",
    "错别字标签 区级智能工场 / a misspelt label",
    {"awards.csv": sub(aw, ",SF_DISTRICT,", ",区级智能工场,")},
    codes=["enum"],
)

case(
    "72_unit_yuan_line",
    "error",
    "表头上方注明“单位：元”（金额应为万元）/ a 单位：元 line above the header",
    {"awards.csv": "填报单位：嘉定区经委,,,单位：元\n" + aw},
    codes=["unit_yuan"],
)


def main() -> None:
    for d in HERE.iterdir():
        if d.is_dir() and d.name[:2].isdigit():
            shutil.rmtree(d)
    index = []
    for c in CASES:
        d = HERE / c["name"]
        d.mkdir()
        for fname, content in c.pop("_files").items():
            data = content.encode("utf-8") if isinstance(content, str) else content
            (d / fname).write_bytes(data)
        if not any(d.iterdir()):
            (d / ".keep").write_text("")
        index.append(c)
    text = yaml.safe_dump(
        {"cases": index}, allow_unicode=True, sort_keys=False, width=100
    )
    (HERE / "cases.yaml").write_text(
        "# The malformed-input corpus (issues 7, 12, 14). Built by make_corpus.py; one folder\n"
        "# per case. expect: ok (a legitimate variant that must parse) | error (a clear\n"
        "# DataError). codes: problem codes that must be reported; findings: finding codes.\n"
        "# xlsx: / generate: inputs built by the test (no binary or huge file committed).\n"
        + text,
        encoding="utf-8",
    )
    print(f"{len(index)} cases")


if __name__ == "__main__":
    main()
