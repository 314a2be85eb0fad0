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


#: Largest YAML file read (bytes); targets files are ~40 KB.
MAX_BYTES = 5_000_000
#: Most aliases (``*name``) a file may use; hand-written files use a few at most.
MAX_ALIASES = 500
#: Most nodes the document may expand to (aliases counted each time they are used).
MAX_NODES = 100_000


class _Refused(Exception):
    """The document exceeds a limit (alias bomb, huge expansion)."""

    def __init__(self, zh: str, en: str, line: int | None):
        super().__init__(en)
        self.zh, self.en, self.line = zh, en, line


class _LimitedLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing (refuses alias bombs)."""

    def __init__(self, stream):
        super().__init__(stream)
        self.n_aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.n_aliases += 1
            if self.n_aliases > MAX_ALIASES:
                mark = self.peek_event().start_mark
                raise _Refused(
                    f"YAML 别名（*引用）超过 {MAX_ALIASES} 个，疑为“别名炸弹”，拒绝读取。",
                    f"more than {MAX_ALIASES} YAML aliases (*references): refused as a "
                    "possible alias bomb.",
                    mark.line + 1,
                )
        return super().compose_node(parent, index)


def _walk(node, path: tuple, lines: LineMap, budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise _Refused(
            f"YAML 文档展开后超过 {MAX_NODES:,} 个节点（别名反复引用），拒绝读取。",
            f"the YAML document expands to more than {MAX_NODES:,} nodes (aliases "
            "used over and over): refused.",
            node.start_mark.line + 1,
        )
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            lines[(*path, key)] = k.start_mark.line + 1
            _walk(v, (*path, key), lines, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk(v, (*path, i), lines, budget)


def read_text(path: Path, *, what_zh: str, what_en: str, max_bytes: int) -> str:
    """Bytes of a hand-edited file, size-checked and decoded like data files.

    UTF-8 (with or without BOM), UTF-16 with BOM and GBK/GB18030 are accepted
    (:func:`jdeval.data.reading.decode_bytes`); anything else is a located error.
    """
    from jdeval.data.reading import decode_bytes

    probs = ProblemList()
    size = path.stat().st_size
    if size > max_bytes:
        probs.error(
            "resource_limit",
            f"{what_zh}文件过大（{size:,} 字节，上限 {max_bytes:,}），拒绝读取。",
            f"the {what_en} file is too large ({size:,} bytes, limit {max_bytes:,}).",
            file=str(path),
            value=size,
        )
        probs.raise_if_errors(
            ConfigError, f"无法读取{what_zh} cannot read the {what_en}"
        )
    text = decode_bytes(path.read_bytes(), str(path), probs, "")
    probs.raise_if_errors(ConfigError, f"无法读取{what_zh} cannot read the {what_en}")
    return text


def load_yaml(
    path, *, what_zh: str, what_en: str, max_bytes: int = MAX_BYTES
) -> tuple[object, LineMap]:
    """Parse a YAML file safely; every failure is a located :class:`ConfigError`.

    Limits: file size (``max_bytes``), number of aliases (:data:`MAX_ALIASES`) and
    expanded size (:data:`MAX_NODES`), so an alias bomb is refused in well under a
    second instead of exhausting memory.
    """
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
    text = read_text(path, what_zh=what_zh, what_en=what_en, max_bytes=max_bytes)
    loader = _LimitedLoader(text)
    lines = LineMap()
    data = None
    try:  # one parse: line numbers from the node tree, then the data built from it
        node = loader.get_single_node()
        if node is not None:
            # walk before constructing: construction flattens merge keys in place
            _walk(node, (), lines, [MAX_NODES])
            data = loader.construct_document(node)
    except _Refused as exc:
        probs.error("resource_limit", exc.zh, exc.en, file=str(path), row=exc.line)
        probs.raise_if_errors(
            ConfigError, f"{what_zh}文件超出读取限制 the {what_en} exceeds a limit"
        )
    except RecursionError:
        probs.error(
            "resource_limit",
            "YAML 嵌套层数过深，拒绝读取。",
            "the YAML document is nested too deeply: refused.",
            file=str(path),
        )
        probs.raise_if_errors(
            ConfigError, f"{what_zh}文件超出读取限制 the {what_en} exceeds a limit"
        )
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
