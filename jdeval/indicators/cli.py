"""Commands ``jdeval score`` and ``jdeval targets``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers) -> None:
    """Add ``score`` and ``targets`` to the ``jdeval`` command."""
    p = subparsers.add_parser(
        "score",
        help="按指标计分评级 score and grade the indicators",
        description="计算各绩效指标的实际完成值、得分与等级。"
        " Measure, score and grade every indicator for one year.",
    )
    p.add_argument(
        "--data",
        required=False,
        default=None,
        help="数据目录或工作簿 data folder or workbook (default: synthetic data)",
    )
    p.add_argument(
        "--targets",
        default=None,
        help="指标设置 YAML targets file (default data/targets/zgsz_2024.yaml)",
    )
    p.add_argument(
        "--year",
        type=int,
        required=True,
        help="评价年度 evaluation year（数据中无该年度项目时报错退出码 2；与指标设置的 "
        "meta.year 不同时给出提示 / no data for the year: exit 2; a year other than "
        "the targets' meta.year: warning）",
    )
    p.add_argument(
        "--scheme",
        choices=["A", "B"],
        default="A",
        help="权重方案 weighting scheme: A 单位自评, B 部门/财政/第三方评价",
    )
    p.add_argument(
        "--assessments",
        default=None,
        help="评估文件 YAML assessments file for judgment items",
    )
    p.add_argument(
        "--format",
        choices=["text", "json", "csv", "xlsx"],
        default="text",
        help="输出格式 output format",
    )
    p.add_argument("--out", default=None, help="输出文件 output file (default: stdout)")
    p.set_defaults(handler=_score)

    t = subparsers.add_parser(
        "targets",
        help="由绩效目标申报表生成指标设置 YAML build a targets YAML from a declaration",
        description="读取预算系统导出的绩效目标申报表（.txt/.xlsx），生成可编辑的指标设置文件。"
        " Read a declaration export and write an editable targets file.",
    )
    t.add_argument(
        "--declaration", required=True, help="申报表导出文件 declaration export"
    )
    t.add_argument("--out", required=True, help="输出 YAML output file")
    t.set_defaults(handler=_targets)

    m = subparsers.add_parser(
        "template",
        help="写出 Excel 填报模板与专家评估表 write the Excel data templates and the "
        "judgments workbook",
        description="写出各数据表的 Excel 填报模板，以及列出指标设置中全部清单项的专家评估表"
        "（填写后可用 --assessments 直接传入）。 Write the Excel data templates and a "
        "judgments workbook listing every checklist item (usable as --assessments).",
    )
    m.add_argument("--out", required=True, help="输出文件夹 output folder")
    m.add_argument(
        "--targets",
        default=None,
        help="指标设置 YAML targets file (default data/targets/zgsz_2024.yaml)",
    )
    m.set_defaults(handler=_template)


def _export(df, path: Path) -> None:
    from jdeval.data.export import write_table  # formula-injection safe

    write_table(df, path)


def _score(args: argparse.Namespace) -> int:
    from jdeval.data import default_data_dir, ensure_default_data, load
    from jdeval.indicators import evaluate, load_assessments, load_targets

    targets = load_targets(args.targets)
    assessments = (
        load_assessments(args.assessments, targets=targets)
        if args.assessments
        else None
    )
    if args.data is None:
        ensure_default_data()
        data = default_data_dir()
    else:
        data = args.data
    fmt = args.format
    out = Path(args.out) if args.out else None
    if fmt == "xlsx" and out is None:
        print("xlsx 格式需要 --out 文件 / xlsx needs --out", file=sys.stderr)
        return 2
    ds = load(data)
    sc = evaluate(
        ds, targets, year=args.year, scheme=args.scheme, assessments=assessments
    )
    for w in sc.warnings:
        print(w, file=sys.stderr)
    if fmt == "xlsx":
        sc.to_excel(out)
    elif fmt == "csv":
        if out is None:
            sc.to_frame().to_csv(sys.stdout, index=False)
            return 0
        _export(sc.to_frame(), out)
    else:
        text = sc.to_json() if fmt == "json" else sc.to_text()
        if out is None:
            print(text)
            return 0
        out.write_text(text + "\n", encoding="utf-8")
    print(
        f"已写出 written: {out}  总分 total {sc.total:.2f} 等级 grade {sc.grade}",
        file=sys.stderr,
    )
    return 0


def _targets(args: argparse.Namespace) -> int:
    from jdeval.indicators import (
        read_declaration,
        targets_from_declaration,
        write_targets,
    )
    from jdeval.indicators.targets import check_targets
    from jdeval.indicators.yamlsource import load_yaml

    decl = read_declaration(args.declaration)
    doc = targets_from_declaration(decl)
    path = write_targets(doc, args.out)
    data, lines = load_yaml(path, what_zh="指标设置", what_en="targets")
    probs, _ = check_targets(data, lines, str(path))
    n = len(decl.indicators)
    print(
        f"已从申报表读取 {n} 个三级指标，写出 {path}。 Read {n} indicators, wrote {path}.",
        file=sys.stderr,
    )
    for note in decl.notes:
        print(f"  注意 note: {note}", file=sys.stderr)
    for p in probs.items:
        print(f"  {p}", file=sys.stderr)
    return 0 if not probs.errors else 2


def judgments_file_name(targets) -> str:
    """File name of the judgments workbook: ``专家评估表_<year>.xlsx``."""
    return f"专家评估表_{targets.meta.year}.xlsx"


def _template(args: argparse.Namespace) -> int:
    from jdeval.data import template as data_template
    from jdeval.indicators import load_targets
    from jdeval.indicators.judgments import write_judgments_template

    targets = load_targets(args.targets)
    out = Path(args.out)
    written = list(data_template.write_data_templates(out) or [])
    j = write_judgments_template(targets, out / judgments_file_name(targets))
    n = len(targets.checklist_items())
    print(f"已写出 written: {j}（{n} 个清单项 checklist items）", file=sys.stderr)
    for w in written:
        print(f"已写出 written: {w}", file=sys.stderr)
    return 0
