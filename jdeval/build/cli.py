"""Commands ``jdeval build`` and ``jdeval verify``."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]


def _default_data() -> str:
    try:
        from jdeval.data import default_data_dir

        return str(default_data_dir())
    except ImportError:  # data layer not installed in this tree
        return "data/synthetic"


def _build(args: argparse.Namespace) -> int:
    from jdeval.build.runner import build

    build(
        args.year,
        data=Path(args.data or _default_data()),
        targets=Path(args.targets) if args.targets else None,
        assessments=Path(args.assessments) if args.assessments else None,
        out=Path(args.out or f"reports/{args.year}"),
        jobs=args.jobs,
        show_code=args.show_code,
        audience=args.audience,
        scheme=args.scheme,
    )
    return 0


def _verify(args: argparse.Namespace) -> int:
    from jdeval.build.verify import verify

    result = verify(Path(args.report_dir), data=Path(args.data) if args.data else None)
    print(result.render())
    return 0 if result.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build`` and ``verify`` to the ``jdeval`` command."""
    p = subparsers.add_parser(
        "build",
        help="生成年度报告（运行全部笔记本）/ build a year's report from the notebooks",
        description=(
            "运行全部笔记本，生成离线 HTML、索引页、Word 报告和清单；全部成功后才替换输出目录。"
            " Run every notebook, render offline HTML, an index page, the Word report "
            "and a manifest; the output folder is replaced only when all succeeded."
        ),
    )
    p.add_argument("--year", type=int, required=True, help="评价年度 evaluation year")
    p.add_argument(
        "--data", help="数据目录 data folder (default: bundled synthetic data)"
    )
    p.add_argument("--targets", help="绩效目标 YAML targets file (default: bundled)")
    p.add_argument("--assessments", help="专家评价文件 expert assessments file")
    p.add_argument("--out", help="输出目录 output folder (default: reports/YEAR)")
    p.add_argument(
        "--jobs", type=int, default=2, help="并行笔记本数 notebooks run at once"
    )
    p.add_argument(
        "--show-code", action="store_true", help="在 HTML 中显示代码 show code cells"
    )
    p.add_argument(
        "--audience",
        choices=("reviewer", "internal"),
        default="reviewer",
        help="读者 audience: reviewer（脱敏，默认 anonymised, default）| internal",
    )
    p.add_argument(
        "--scheme",
        choices=("A", "B"),
        default="A",
        help="权重方案 weight scheme: A 单位自评 | B 部门/财政评价",
    )
    p.set_defaults(handler=_build)

    v = subparsers.add_parser(
        "verify",
        help="核对报告的输入文件是否未变 / check a report's inputs are unchanged",
        description=(
            "按报告 manifest.json 重新计算输入文件的 SHA-256；一致退出 0，不一致退出 1。"
            " Recompute the SHA-256 of the inputs listed in the report's manifest; "
            "exit 0 when all match, 1 otherwise."
        ),
    )
    v.add_argument("report_dir", help="报告目录 report folder, e.g. reports/2024")
    v.add_argument("--data", help="数据已移动时的新目录 data folder if it moved")
    v.set_defaults(handler=_verify)
