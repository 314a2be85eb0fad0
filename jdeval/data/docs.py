"""``data/README.md``: the input contract documented for evaluators, generated.

Regenerate after changing ``jdeval/resources/contract.yaml``::

    .venv/bin/python -m jdeval.data.docs > data/README.md

``tests/test_data_readme.py`` fails when the README is out of sync.
"""

from __future__ import annotations

from jdeval.data.contract import TABLE_ORDER, get_contract

__all__ = ["render_readme"]

_INTRO = """\
# 数据说明 Data contract

<!-- 本文件由 `python -m jdeval.data.docs > data/README.md` 生成，请勿手工编辑。
     Generated from jdeval/resources/contract.yaml; do not edit by hand. -->

jdeval 读取的评价数据：一个文件夹（其中任意组合的 `.csv` / `.xlsx` / `.parquet` 文件与工作簿）或一个 Excel 工作簿。
列名可用英文名或中文名（下表“中文名”列）。金额一律以 **万元** 为单位。
检查数据：`jdeval validate <文件夹或工作簿>`（可用返回 0，不可用返回 2 并列出全部问题）。
填报模板：`jdeval template --out 文件夹` 写出带中文表头、单位、必填标记与下拉选项的 Excel 模板。

The evaluation data: a folder (any mix of `.csv` / `.xlsx` / `.parquet` files and workbooks)
or one Excel workbook. Headers may be the English column names or the Chinese names below.
Money is always in **万元** (10,000 CNY). Check data with `jdeval validate <folder or workbook>`
(exit 0 usable, 2 not, listing every problem); `jdeval template --out DIR` writes the Excel
templates (Chinese headers, units, required columns, drop-down lists).

## 表的识别 How files and sheets are recognised

1. 文件名或工作表名含表的英文名、中文名或别名（下表“别名”）即为该表，如
   `2024年智改数转项目补贴汇总表.xlsx` 含“补贴汇总” → `awards`；同时含多个表名时取最长者。
   A file or sheet whose name contains a table's name or alias is that table (longest name wins).
2. 否则按表头识别：表头含该表的主键列及一半以上必需列 / otherwise the header decides: it must hold
   the table's key columns and at least half of its required columns.
3. 同一张表分在多个工作表或文件（如每个申报年度一个工作表）且表头相同 → 合并，并提示各部分行数。
   A table split over sheets or files with the same header is stacked (with a note).
4. 同时符合两张表 → 错误（不猜）；不符合任何表 → 提示，并列出可识别的名称与表头。
   Fitting two tables is an error, never a guess; parts fitting none are listed with what would match.

## 读取规则 Reading rules

- 编码 Encodings: UTF-8（含 BOM）、GBK/GB18030、UTF-16；分隔符 `,`、制表符、`;`。
- 表头可在前 10 行内（上方的标题行、合并单元格会被跳过）/ the header may sit below title rows.
- 日期 Dates: `2024-03-05`、`2024/3/5`、`2024年3月5日`、`20240305`、Excel 日期或序列号。
- 数字 Numbers: 全角数字、千分位 `1,234.5`、`万元` 后缀可接受；写“元”的金额视为错误。
- 是/否 Booleans: `true/false`、`1/0`、`是/否`、`Y/N`。
- 空单元格 Blank: 空白、`-`、`NA`、`N/A`。完全空白的行被忽略。
- 合计与备注行 Totals and notes rows: 前 3 列中出现“合计/小计/总计”的行、最后一行为上方各行之和（主键为空）的行，
  以及“备注/说明/填报人…”开头的行，均被忽略并提示 / skipped with a note.
- 序号列 A `序号` column is ignored.
- 不会悄悄改变含义 Nothing changes meaning silently: `inf`、`Infinity`、`NaN`、`1,5`（逗号不是千分位）、超过 2^53 的整数、
  没有计算结果的 Excel 公式单元格、Excel 错误值（`#N/A`、`#DIV/0!` …）都是错误 / are errors.
- 输入文件只读，不会被修改 / input files are never modified.

## 错误与发现 Errors and findings

- **错误 error**：数据无法使用（类型、取值、范围、主键重复、外键不存在、日期顺序、拨付大于核定、
  统一社会信用代码校验位 GB 32100-2015）。Errors make the data unusable.
- **发现 finding**：数据有效但反映合规问题（超补贴上限、未公示、未经专家评审、拨付超过 {late} 天、
  公示少于 {pub} 个工作日、追回等），供指标评分使用，不阻止读取。Findings never block loading.
- **提示 warning**：多余的列、缺少的可选表等。

## 合成数据 Synthetic data

`jdeval synth --seed 2024 --firms 1200 --out data/synthetic` 生成默认的嘉定合成数据（不提交到仓库），
并写出 `truth.json`：植入的政策效应（ATT 总体、分批次、分事件时间）、生产函数弹性、选择机制与注入的
合规问题比例。数据生成过程见 `jdeval/data/synth.py` 的模块说明。
`jdeval synth` writes the default synthetic district (git-ignored) and `truth.json` with the planted
effects, production elasticities, selection and injected compliance rates; the DGP is documented in
the docstring of `jdeval/data/synth.py`. Same seed, byte-identical files.

## 补贴类别与上限 Subsidy categories and caps

| 类别 category | 中文 | 上限/标准 cap (万元) |
|---|---|---|
"""


def _limits(c) -> str:
    lim = c.limits
    return (
        "\n## 资源上限 Resource limits\n\n"
        "读取前检查，超出即报错（退出码 2），不会耗尽内存 / checked before parsing; a refusal is "
        "an error (exit 2), never a crash.\n\n"
        "| 项目 limit | 上限 |\n|---|---|\n"
        f"| 单个文件 file size | {lim.max_file_mb} MB |\n"
        f"| 表头列数 header columns | {lim.max_columns} |\n"
        f"| 单元格数 cells (rows × columns) | {lim.max_cells:,} |\n"
        f"| 工作表数 sheets per workbook | {lim.max_sheets} |\n"
        f"| 工作簿解压后 unpacked workbook | {lim.max_xlsx_unpacked_mb} MB |\n"
    )


def _labels(c) -> str:
    out = [
        "\n## 取值别名 Label aliases\n\n"
        "编码列可填下列任一写法（不区分大小写、全角半角与空格）；未知写法的错误信息会列出可填取值并给出最接近的写法。\n"
        "Coded columns accept any spelling below (case, width and spaces ignored); an unknown "
        "label's error lists the allowed labels and the closest match.\n\n"
        "| 表.列 table.column | 取值 value | 可接受的写法 accepted spellings |\n|---|---|---|\n"
    ]
    for name in TABLE_ORDER:
        for col in c[name].columns.values():
            if col.type != "enum":
                continue
            for v in col.values or ():
                sp = [a for a, t in col.value_aliases.items() if t == v]
                shown = "、".join(f"`{a}`" if a else "（空白 blank）" for a in sp)
                out.append(f"| `{name}.{col.name}` | `{v}` | {shown} |\n")
    return "".join(out)


def render_readme() -> str:
    """The full text of ``data/README.md``."""
    c = get_contract()
    parts = [_INTRO.format(late=c.late_payment_days, pub=c.min_publicity_days)]
    for code, cat in c.categories.items():
        extra = (
            "；且不超过实际费用 / and ≤ the fee paid"
            if cat.get("also_cap_eligible_cost")
            else ""
        )
        parts.append(f"| `{code}` | {cat['zh']} | {cat['cap']}{extra} |\n")
    parts.append(_labels(c))
    parts.append(_limits(c))
    parts.append(
        "\n## 数据表 Tables\n\n| 表 table | 中文名 | 别名 aliases (文件/工作表名) | |\n|---|---|---|---|\n"
    )
    for name in TABLE_ORDER:
        t = c[name]
        req = "必需 required" if t.required else "可选 optional"
        parts.append(
            f"| [`{name}`](#{name}) | {t.zh} | {'、'.join(t.aliases)} | {req} |\n"
        )
    for name in TABLE_ORDER:
        t = c[name]
        req = "必需 required" if t.required else "可选（缺失时按空表处理）optional"
        parts.append(f"\n### {name}\n\n**{t.zh}** — {t.en}. {req}. ")
        parts.append(
            f"主键 primary key: `{' + '.join(t.primary_key)}`（唯一 unique）.\n\n"
        )
        parts.append(
            "| 列 column | 中文名 | English | 类型 type | 单位 unit | 规则 rule |\n"
        )
        parts.append("|---|---|---|---|---|---|\n")
        for col in t.columns.values():
            rule = col.rule_text().replace("|", "\\|")
            parts.append(
                f"| `{col.name}` | {col.zh} | {col.en} | {col.type_zh} `{col.type}` | "
                f"{col.unit or ''} | {rule} |\n"
            )
    return "".join(parts)


if __name__ == "__main__":  # pragma: no cover
    import sys

    sys.stdout.write(render_readme())
