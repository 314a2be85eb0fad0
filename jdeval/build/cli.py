"""Commands ``jdeval build`` and ``jdeval verify``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

__all__ = ["register"]


def _default_data() -> Path:
    from jdeval.data.location import default_data_dir

    return Path(default_data_dir())


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _common(args: argparse.Namespace) -> dict:
    def path(value):
        return Path(value) if value else None

    return {
        "targets": path(args.targets),
        "assessments": path(args.assessments),
        "narrative": path(args.narrative),
        "as_of": args.as_of,
        "scheme": args.scheme,
        "audience": args.audience,
    }


def _options(args: argparse.Namespace) -> dict:
    return {
        "jobs": args.jobs,
        "show_code": args.show_code,
        "cache": not args.no_cache,
        "cache_dir": Path(args.cache_dir) if args.cache_dir else None,
    }


def _build(args: argparse.Namespace) -> int:
    from jdeval.build.paths import default_report_dir

    data = Path(args.data) if args.data else _default_data()
    years = args.year or []
    if args.portfolio or len(years) > 1:
        return _batch(args, data, years)
    if not years:
        raise _usage("--year 或 --portfolio 必须给出一个 / give --year or --portfolio")
    from jdeval.build.runner import build

    build(
        years[0],
        data=data,
        out=Path(args.out) if args.out else default_report_dir(years[0], data),
        **_common(args),
        **_options(args),
    )
    return 0


def _usage(text: str):
    from jdeval.errors import ConfigError, Problem

    zh, _, en = text.partition(" / ")
    return ConfigError(text, [Problem("error", "usage", zh, en or zh)])


def _batch(args: argparse.Namespace, data: Path, years: list[int]) -> int:
    from jdeval.build.batch import BuildSpec, load_portfolio, run_batch
    from jdeval.build.paths import default_report_dir

    out_root = Path(args.out) if args.out else default_report_dir(0, data).parent
    options = _options(args)
    if args.portfolio:
        specs = load_portfolio(Path(args.portfolio), out_root=out_root, data=data)
        common = {}
    else:
        common = _common(args)
        specs = [
            BuildSpec(year=y, out=out_root / str(y), data=data, name=str(y), **common)
            for y in years
        ]
    specs = [_with_options(s, options) for s in specs]
    parallel = args.parallel or max(1, (os.cpu_count() or 1) // max(1, args.jobs))
    outcomes = run_batch(
        specs, out_root=out_root, parallel=parallel, scheduler=args.scheduler, say=_say
    )
    failed = [o for o in outcomes if not o.ok]
    _say(
        f"批量构建完成 batch finished: {len(outcomes) - len(failed)} 成功 built, "
        f"{len(failed)} 失败 failed；汇总页 index: {out_root / 'index.html'}"
    )
    for o in failed:
        _say(f"--- {o.name} ---\n{o.message}")
    return 1 if failed else 0


def _with_options(spec, options: dict):
    from dataclasses import replace

    return replace(spec, options={**options, **dict(spec.options)})


def _verify(args: argparse.Namespace) -> int:
    from jdeval.build.verify import verify

    result = verify(
        Path(args.report_dir),
        data=Path(args.data) if args.data else None,
        sums=Path(args.sums) if args.sums else None,
    )
    print(result.render())
    return 0 if result.ok else 1


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``build`` and ``verify`` to the ``jdeval`` command."""
    p = subparsers.add_parser(
        "build",
        help="生成年度报告（运行全部笔记本）/ build a year's report from the notebooks",
        description=(
            "运行全部笔记本，生成离线 HTML、索引页、Word 报告和清单；全部成功后才替换输出目录。"
            "未改动的部分（数据检查、估计结果、未受影响的笔记本）从构建缓存复用。"
            " Run every notebook, render offline HTML, an index page, the Word report "
            "and a manifest; the output folder is replaced only when all succeeded. "
            "What an edit cannot change (data checks, estimates, unaffected notebooks) "
            "is reused from the build cache."
        ),
    )
    p.add_argument(
        "--year",
        type=int,
        nargs="+",
        help="评价年度（可多个，并行批量构建）evaluation year(s); several = batch",
    )
    p.add_argument(
        "--data",
        help="数据目录（只读，不写入）data folder, read only (default: bundled "
        "synthetic data)",
    )
    p.add_argument("--targets", help="绩效目标 YAML targets file (default: bundled)")
    p.add_argument(
        "--assessments",
        help="专家评估文件 expert assessments (default: data/assessments/"
        "assessments_YEAR.yaml if present; the example file for the bundled data)",
    )
    p.add_argument(
        "--narrative",
        help="叙述与封面文件 narrative + cover file (default: data/narrative/"
        "overrides_YEAR.yaml if present)",
    )
    p.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="评价基准日：不使用此日之后的数据 reference date: no data after it "
        "(default: the targets file's policies.eval_date)",
    )
    p.add_argument(
        "--out",
        help="输出目录 output folder (default: reports/YEAR for the bundled data, "
        "reports/DATAFOLDER/YEAR otherwise; for a batch, the batch folder)",
    )
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
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="不复用缓存，全部重新计算 run everything, reuse nothing",
    )
    p.add_argument(
        "--cache-dir",
        help="构建缓存目录 build cache folder (default: $JDEVAL_CACHE or "
        "~/.cache/jdeval/build)",
    )
    p.add_argument(
        "--portfolio",
        help="组合构建清单 YAML：年度×数据×目标×方案×读者 portfolio file of builds",
    )
    p.add_argument(
        "--parallel",
        type=int,
        help="批量构建时同时进行的报告数 reports built at once in a batch "
        "(default: cores / jobs)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="提交到 Dask 集群 submit the batch to a Dask distributed scheduler "
        "(extra 'dask')",
    )
    p.set_defaults(handler=_build)

    v = subparsers.add_parser(
        "verify",
        help="核对报告是否完整、输入是否未变 / check a report is intact and its inputs "
        "unchanged",
        description=(
            "核对报告目录中每个发布文件、清单本身（页面显示的清单摘要）和 SHA256SUMS，"
            "并按清单重新计算输入文件的 SHA-256；一致退出 0，不一致退出 1。"
            " Check every published file, the manifest itself (the digest the pages "
            "show) and SHA256SUMS, and re-hash the inputs; exit 0 when all match, 1 "
            "otherwise."
        ),
    )
    v.add_argument("report_dir", help="报告目录 report folder, e.g. reports/2024")
    v.add_argument("--data", help="数据已移动时的新目录 data folder if it moved")
    v.add_argument(
        "--sums",
        help="另行保存的 SHA256SUMS 副本 a detached copy of SHA256SUMS kept elsewhere",
    )
    v.set_defaults(handler=_verify)
