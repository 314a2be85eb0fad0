"""``jdeval validate`` and ``jdeval synth``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]


def _validate(args: argparse.Namespace) -> int:
    from jdeval.data.loading import validate
    from jdeval.errors import DataError

    report = validate(args.path)
    if not report.ok:
        n = len(report.errors)
        raise DataError(
            f"数据不可用：{n} 处错误（{args.path}）/ Data not usable: {n} error(s) in "
            f"{args.path}",
            report.errors + report.warnings,
        )
    print(report.render(args.format))
    return 0


def _synth(args: argparse.Namespace) -> int:
    from pathlib import Path

    from jdeval.data.location import default_data_dir
    from jdeval.data.synth import generate_tables, write_dataset

    out = Path(args.out) if args.out else default_data_dir()
    tables, truth = generate_tables(seed=args.seed, firms=args.firms)
    write_dataset(tables, truth, out)
    rows = ", ".join(f"{k}={len(v)}" for k, v in tables.items())
    print(f"已生成合成数据 synthetic data written: {out}\n  {rows}", file=sys.stdout)
    return 0


def register(subparsers) -> None:
    """Add ``validate`` and ``synth`` to the ``jdeval`` command."""
    p = subparsers.add_parser(
        "validate",
        help="检查数据 check a data folder or workbook (exit 0 usable, 2 not)",
        description="检查数据文件夹或 Excel 工作簿，列出全部错误、发现与提示。"
        " Check a data folder or workbook; list every error, finding and warning.",
    )
    p.add_argument(
        "path", help="数据文件夹或 .xlsx 工作簿 / data folder or .xlsx workbook"
    )
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.set_defaults(handler=_validate)

    s = subparsers.add_parser(
        "synth",
        help="生成合成数据 generate the synthetic Jiading dataset",
        description="生成带有已知政策效应的嘉定合成数据（每表一个 CSV 及 truth.json）。"
        " Generate the synthetic Jiading dataset with planted effects.",
    )
    s.add_argument("--seed", type=int, default=2024)
    s.add_argument("--firms", type=int, default=1200)
    s.add_argument(
        "--out",
        default=None,
        help="输出文件夹 / output folder (default: $JDEVAL_DATA or data/synthetic)",
    )
    s.set_defaults(handler=_synth)
