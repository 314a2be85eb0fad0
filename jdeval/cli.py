"""The ``jdeval`` command.

Each sub-package that offers commands has a ``cli`` module with
``register(subparsers)``; handlers return an exit code.  Errors that jdeval raises on
purpose (:class:`jdeval.errors.JdevalError`) are printed without a traceback.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
import traceback

from jdeval import __version__
from jdeval.errors import JdevalError

# (module, what it adds) — the order is the order of ``jdeval --help``.
_COMMAND_MODULES = (
    "jdeval.data.cli",  # validate, synth
    "jdeval.indicators.cli",  # targets, score, template
    "jdeval.report.cli",  # report
    "jdeval.build.cli",  # build, verify
)
#: Which module adds a command, so that ``jdeval build`` does not import the
#: estimation and report layers just to build its parser (seconds on a busy
#: machine).  A command missing here still works: then every module is imported.
_COMMAND_HOME = {
    "validate": "jdeval.data.cli",
    "synth": "jdeval.data.cli",
    "score": "jdeval.indicators.cli",
    "targets": "jdeval.indicators.cli",
    "template": "jdeval.indicators.cli",
    "report": "jdeval.report.cli",
    "build": "jdeval.build.cli",
    "verify": "jdeval.build.cli",
}


def _modules_for(argv: list[str]) -> tuple[str, ...]:
    words = [a for a in argv if a[:1] != "-"]
    home = _COMMAND_HOME.get(words[0]) if words else None
    return (home,) if home else _COMMAND_MODULES


def make_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``jdeval`` parser; with ``argv``, only the command it names is loaded."""
    parser = argparse.ArgumentParser(
        prog="jdeval",
        description="财政政策绩效评价工具 jdeval — performance evaluation of fiscal policies.",
    )
    parser.add_argument("--version", action="version", version=f"jdeval {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = _COMMAND_MODULES if argv is None else _modules_for(argv)
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a layer not built yet
            if exc.name != name:
                raise
            continue
        module.register(sub)
    return parser


#: OS errors a user can cause and fix (folder permissions, full disk): errno → exit
#: code and the bilingual explanation.  Anything else from the OS is a bug.
_OS_ERRORS = {
    errno.EACCES: (2, "没有写入或读取权限", "permission denied"),
    errno.EPERM: (2, "操作不被允许", "operation not permitted"),
    errno.EROFS: (2, "文件系统只读", "read-only file system"),
    errno.ENOSPC: (1, "磁盘空间不足", "no space left on the device"),
    errno.EDQUOT: (1, "磁盘配额已满", "disk quota exceeded"),
    errno.ENAMETOOLONG: (2, "路径过长", "path too long"),
}


def _closed_pipe() -> int:
    """The reader of our output went away (``jdeval score … | head``).

    Standard output is pointed at /dev/null so that the interpreter's final flush
    does not raise again; a one-line note goes to standard error.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):  # stdout is not a real file (tests): nothing to do
        pass
    try:
        print(
            "输出管道已关闭（如 | head），其余输出未显示。"
            "Output pipe closed (e.g. | head); the rest was not shown.",
            file=sys.stderr,
        )
    except OSError:
        pass
    return 1


def _os_error(exc: OSError) -> int | None:
    """Print a located message for an OS error the user can fix; its exit code."""
    known = _OS_ERRORS.get(exc.errno)
    if known is None:
        return None
    code, zh, en = known
    where = exc.filename or ""
    if exc.filename2:
        where = f"{where} → {exc.filename2}"
    print(
        f"无法写入或读取 {where}：{zh}。请换一个可写、空间充足的目录（如 --out）。\n"
        f"Cannot access {where}: {en}. Choose a writable folder with free space "
        "(e.g. --out).",
        file=sys.stderr,
    )
    return code


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = make_parser(argv)
    try:
        args = parser.parse_args(argv)
        if not getattr(args, "handler", None):
            parser.print_help()
            return 0
    except BrokenPipeError:  # jdeval --help | head
        return _closed_pipe()
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here at the latest
        return code
    except BrokenPipeError:
        return _closed_pipe()
    except JdevalError as exc:
        fmt = getattr(args, "format", "text")
        print(exc.render("json" if fmt == "json" else "text"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("已中断 interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        code = _os_error(exc)
        if code is not None:
            return code
        return _internal(exc)
    except Exception as exc:  # a bug, not bad input: say so plainly
        return _internal(exc)


def _internal(exc: BaseException) -> int:
    if os.environ.get("JDEVAL_DEBUG"):
        traceback.print_exception(exc)
    print(
        f"内部错误 internal error: {type(exc).__name__}: {exc}\n"
        "这是 jdeval 的缺陷，请附上命令报告。This is a bug in jdeval; set "
        "JDEVAL_DEBUG=1 for the traceback and report it.",
        file=sys.stderr,
    )
    return 3


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
