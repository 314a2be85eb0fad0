"""Reasons for deviations and flags: codes with parameters, worded from a rules file.

Computing code records *why* an indicator deviates as ``Reason("over_target",
theta=0.3)``; the Chinese words come from ``rules/wording_zh.yaml`` so that text
never restates a rule the targets file holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

_WORDING = Path(__file__).with_name("rules") / "wording_zh.yaml"


@cache
def wording() -> dict:
    """The wording table (reasons, flags, missing_policy)."""
    return yaml.safe_load(_WORDING.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Reason:
    """A reason code and its parameters; :meth:`zh` words it."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def __init__(self, code: str, /, **params: Any):
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "params", params)

    def zh(self) -> str:
        """Chinese sentence of this reason (``KeyError`` for an unknown code)."""
        return wording()["reasons"][self.code].format(**self.params)

    def __str__(self) -> str:
        return self.zh()


def flag_zh(flag: str, **params: Any) -> str:
    """Chinese name of a rating flag (unknown flags are shown as they are)."""
    text = wording()["flags"].get(flag)
    if text is None:
        return flag
    try:
        return text.format(**params)
    except KeyError:
        return text.split("{", 1)[0] or flag


def missing_policy_zh(policy: str) -> str:
    return wording()["missing_policy"][policy]
