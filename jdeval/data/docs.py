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

jdeval 读取的评价数据：每张表一个文件（`<表名>.csv` / `.xlsx` / `.parquet`，文件名可用英文或中文表名），
或一个 Excel 工作簿、每张表一个工作表。列名可用英文名或中文名（下表“中文名”列）。
金额一律以 **万元** 为单位。检查数据：`jdeval validate <文件夹或工作簿>`（可用返回 0，不可用返回 2 并列出全部问题）。

The evaluation data: one file per table (`<table>.csv` / `.xlsx` / `.parquet`, named by the
English or Chinese table name), or one Excel workbook with a sheet per table. Headers may be
the English column names or the Chinese names below. Money is always in **万元** (10,000 CNY).
Check data with `jdeval validate <folder or workbook>` (exit 0 usable, 2 not, listing every problem).

## 读取规则 Reading rules

- 编码 Encodings: UTF-8（含 BOM）、GBK/GB18030、UTF-16；分隔符 `,`、制表符、`;`。
- 表头可在前 10 行内（上方的标题行、合并单元格会被跳过）/ the header may sit below title rows.
- 日期 Dates: `2024-03-05`、`2024/3/5`、`2024年3月5日`、`20240305`、Excel 日期或序列号。
- 数字 Numbers: 全角数字、千分位 `1,234.5`、`万元` 后缀可接受；写“元”的金额视为错误。
- 是/否 Booleans: `true/false`、`1/0`、`是/否`、`Y/N`。
- 空单元格 Blank: 空白、`-`、`NA`、`N/A`。完全空白的行与“合计”行被忽略。
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
    parts.append("\n## 数据表 Tables\n\n")
    for name in TABLE_ORDER:
        t = c[name]
        req = "必需 required" if t.required else "可选 optional"
        parts.append(f"- [`{name}`](#{name}) {t.zh} — {t.en} ({req})\n")
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
