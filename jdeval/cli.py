"""The ``jdeval`` command.

Each sub-package that offers commands has a ``cli`` module with
``register(subparsers)``; handlers return an exit code.  Errors that jdeval raises on
purpose (:class:`jdeval.errors.JdevalError`) are printed without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from jdeval import __version__
from jdeval.errors import JdevalError

# (module, what it adds) — the order is the order of ``jdeval --help``.
_COMMAND_MODULES = (
    "jdeval.data.cli",  # validate, synth
    "jdeval.indicators.cli",  # targets, score
    "jdeval.report.cli",  # report
    "jdeval.build.cli",  # build, verify
)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jdeval",
        description="财政政策绩效评价工具 jdeval — performance evaluation of fiscal policies.",
    )
    parser.add_argument("--version", action="version", version=f"jdeval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a layer not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    try:
        return int(args.handler(args) or 0)
    except JdevalError as exc:
        fmt = getattr(args, "format", "text")
        print(exc.render("json" if fmt == "json" else "text"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("已中断 interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input: say so plainly
        if os.environ.get("JDEVAL_DEBUG"):
            traceback.print_exc()
        print(
            f"内部错误 internal error: {type(exc).__name__}: {exc}\n"
            "这是 jdeval 的缺陷，请附上命令报告。This is a bug in jdeval; set "
            "JDEVAL_DEBUG=1 for the traceback and report it.",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
