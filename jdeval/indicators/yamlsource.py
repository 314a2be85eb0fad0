"""Read YAML configuration while remembering the line of every key.

Targets and assessments files are edited by hand; errors must name the line the
evaluator has to fix.  :func:`load_yaml` returns the plain data and a
:class:`LineMap` from a key path (``("indicators", 3, "weight")``) to its line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

import yaml

from jdeval.errors import ConfigError, ProblemList


class LineMap(dict):
    """Key path → 1-based line number; :meth:`line` falls back to the parent."""

    def line(self, *path) -> int | None:
        p = tuple(path)
        while p:
            if p in self:
                return self[p]
            p = p[:-1]
        return self.get((), None)


def _walk(node, path: tuple, lines: LineMap) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            lines[(*path, key)] = k.start_mark.line + 1
            _walk(v, (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk(v, (*path, i), lines)


def load_yaml(path, *, what_zh: str, what_en: str) -> tuple[object, LineMap]:
    """Parse a YAML file; syntax errors become a located :class:`ConfigError`."""
    path = Path(path)
    probs = ProblemList()
    if not path.is_file():
        probs.error(
            "file_missing",
            f"找不到{what_zh}文件：{path}。请检查路径。",
            f"{what_en} file not found: {path}. Check the path.",
            file=str(path),
        )
        probs.raise_if_errors(
            ConfigError, f"无法读取{what_zh} cannot read the {what_en}"
        )
    text = path.read_text(encoding="utf-8-sig")
    loader = yaml.SafeLoader(text)
    lines = LineMap()
    data = None
    try:  # one parse: line numbers from the node tree, then the data built from it
        node = loader.get_single_node()
        if node is not None:
            # walk before constructing: construction flattens merge keys in place
            _walk(node, (), lines)
            data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        probs.error(
            "yaml_syntax",
            f"YAML 语法错误：{problem}。请检查缩进、冒号和引号（含“≥”等符号的值请加引号）。",
            f"YAML syntax error: {problem}. Check indentation, colons and quotes "
            "(quote values that contain symbols such as ≥).",
            file=str(path),
            row=None if mark is None else mark.line + 1,
        )
        probs.raise_if_errors(
            ConfigError, f"{what_zh}格式错误 the {what_en} is not valid YAML"
        )
    finally:
        loader.dispose()
    return data, lines


def suggest(word: str, choices: Iterable[str]) -> str:
    """``"（是否应为 X？did you mean X?）"`` for the closest choice, or ``""``."""
    m = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f"（是否应为“{m[0]}”？did you mean {m[0]!r}?）" if m else ""
