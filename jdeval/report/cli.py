"""``jdeval report``: write the annual report (Word and/or HTML) from a data folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from jdeval.errors import ConfigError, ProblemList

__all__ = ["register"]


def _check_outputs(args: argparse.Namespace) -> list[tuple[str, Path]]:
    probs = ProblemList()
    outs: list[tuple[str, Path]] = []
    data = Path(args.data).resolve() if args.data else None
    for kind, value, suffix in (
        ("docx", args.out, ".docx"),
        ("html", args.html, ".html"),
    ):
        if not value:
            continue
        p = Path(value)
        if p.suffix.lower() != suffix:
            probs.error(
                "out_suffix",
                f"输出文件须以 {suffix} 结尾：{p}",
                f"the output file must end in {suffix}: {p}",
                column=f"--{kind}",
                value=str(p),
            )
        if data is not None and data.is_dir() and data in p.resolve().parents:
            probs.error(
                "out_in_inputs",
                f"不得把报告写入数据文件夹：{p}",
                f"refusing to write the report into the input folder: {p}",
                column=f"--{kind}",
                value=str(p),
            )
        outs.append((kind, p))
    if not outs:
        probs.error(
            "no_output",
            "请用 --out（.docx）或 --html 指定输出文件。",
            "give --out (.docx) and/or --html.",
            column="--out",
        )
    probs.raise_if_errors(ConfigError, "报告参数有误 / bad report arguments")
    return outs


def _report(args: argparse.Namespace) -> int:
    outs = _check_outputs(args)
    from jdeval.data import default_data_dir, load
    from jdeval.report import assemble
    from jdeval.report.document import Report

    ds = load(args.data or default_data_dir())
    rep: Report = assemble(
        ds,
        year=args.year,
        targets=args.targets,
        scheme=args.scheme,
        assessments=args.assessments,
        narrative=args.narrative,
        audience=args.audience,
        compute_effects=not args.no_effects,
    )
    for kind, p in outs:
        if kind == "docx":
            rep.to_docx(p)
        else:
            from jdeval.report.export import _atomic_write

            _atomic_write(p, rep.to_html().encode("utf-8"))
        print(f"已写出 written: {p}", file=sys.stdout)
    return 0


def register(subparsers) -> None:
    """Add ``report`` to the ``jdeval`` command."""
    p = subparsers.add_parser(
        "report",
        help="生成年度绩效评价报告 write the annual evaluation report (.docx / .html)",
        description="由数据生成《绩效评价报告》（Word 和/或 HTML）。默认为评审版（脱敏）。"
        " Write the annual performance-evaluation report; reviewer version by default.",
    )
    p.add_argument("--year", type=int, required=True, help="评价年度 / evaluation year")
    p.add_argument("--data", help="数据文件夹 / data folder (default: data/synthetic)")
    p.add_argument("--out", help="Word 输出文件 / output .docx")
    p.add_argument("--html", help="HTML 输出文件 / output .html")
    p.add_argument("--targets", help="指标与权重 YAML / targets YAML")
    p.add_argument("--assessments", help="定性评估 YAML / assessments YAML")
    p.add_argument("--narrative", help="叙述覆盖文件 / narrative overrides YAML")
    p.add_argument("--scheme", choices=["A", "B"], default="A")
    p.add_argument("--audience", choices=["reviewer", "internal"], default="reviewer")
    p.add_argument(
        "--no-effects",
        action="store_true",
        help="不做因果效应估计 / skip the causal-effect estimation",
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=_report)
