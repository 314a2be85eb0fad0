"""Errors and problems shared by every layer of jdeval.

A :class:`Problem` is one thing wrong with an input, located the way the user sees
it (file, table, spreadsheet row, column).  Functions that check inputs collect
*all* problems and raise one :class:`JdevalError` subclass carrying the list, so the
user sees everything at once and never a Python traceback.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["error", "finding", "warning"]

_SEVERITY_ZH = {"error": "错误", "finding": "发现", "warning": "提示"}


@dataclass(frozen=True)
class Problem:
    """One located problem in an input.

    Parameters
    ----------
    severity
        ``"error"`` (the input cannot be used), ``"finding"`` (valid data that shows a
        compliance problem, e.g. an award over its cap) or ``"warning"``.
    code
        Stable machine code of the rule, e.g. ``"fk"``, ``"date_order"``.
    message_zh, message_en
        What is wrong and what to do, in Chinese and English.
    file, table, row, column, value
        Where: ``row`` is the row number as shown in the spreadsheet (header = 1,
        first data row = 2) or the line number of a text file.
    """

    severity: Severity
    code: str
    message_zh: str
    message_en: str
    file: str | None = None
    table: str | None = None
    row: int | None = None
    column: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["value"] is not None and not isinstance(
            d["value"], (int, float, bool, str)
        ):
            d["value"] = str(d["value"])
        return d

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.table:
            parts.append(f"表 table={self.table}")
        if self.row is not None:
            parts.append(f"行 row={self.row}")
        if self.column:
            parts.append(f"列 column={self.column}")
        return ", ".join(parts)

    def __str__(self) -> str:
        loc = self.location()
        val = "" if self.value is None else f" [值 value={self.value!r}]"
        head = f"{_SEVERITY_ZH[self.severity]} {self.severity}"
        where = f" ({loc})" if loc else ""
        return f"{head}{where}{val}: {self.message_zh} / {self.message_en}"


class JdevalError(Exception):
    """Base of every error jdeval raises on purpose (bad input, bad config, failed build).

    The command line prints these without a traceback.
    """

    exit_code = 2

    def __init__(self, message: str, problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.problems: list[Problem] = list(problems or [])

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def render(self, fmt: Literal["text", "json"] = "text") -> str:
        if fmt == "json":
            return json.dumps(
                {
                    "error": self.message,
                    "problems": [p.to_dict() for p in self.problems],
                },
                ensure_ascii=False,
                indent=2,
            )
        lines = [self.message]
        lines += [f"  {i}. {p}" for i, p in enumerate(self.problems, 1)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render("text")


class DataError(JdevalError):
    """The input data cannot be used; ``problems`` lists every error found."""


class ConfigError(JdevalError):
    """A targets, assessments, narrative or parameter file is wrong."""


class BuildError(JdevalError):
    """A report build failed (a notebook raised, a render failed)."""

    exit_code = 1


@dataclass
class ProblemList:
    """Collects problems while checking, so that all are reported at once."""

    items: list[Problem] = field(default_factory=list)

    def add(
        self, severity: Severity, code: str, zh: str, en: str, **where: Any
    ) -> None:
        self.items.append(Problem(severity, code, zh, en, **where))

    def error(self, code: str, zh: str, en: str, **where: Any) -> None:
        self.add("error", code, zh, en, **where)

    def finding(self, code: str, zh: str, en: str, **where: Any) -> None:
        self.add("finding", code, zh, en, **where)

    def warning(self, code: str, zh: str, en: str, **where: Any) -> None:
        self.add("warning", code, zh, en, **where)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    def raise_if_errors(self, cls: type[JdevalError], message: str) -> None:
        if self.errors:
            raise cls(message, self.items)
