"""The evaluator's assessments file: results of judgment items the data cannot decide.

YAML layout (see ``data/assessments/example_2024.yaml``)::

    meta: {evaluator: …, date: 2025-03-31, example: false}
    items:
      - item: d1_1                 # checklist item id from the targets file
        result: 1                  # 1 / 0.5 / 0, or 是/部分/否, 达成/部分达成/未达成
        evidence: 《…》第三条 …      # what was seen
        source: 区经委提供的 … 文件  # where it comes from
    overrides:                     # optional: replace f of a qualitative indicator
      - indicator: B2
        f: 0.75
        reason: …

An item that no assessment covers is reported as missing (缺评估), never scored
silently (see ``policies.missing_assessment``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators.yamlsource import LineMap, load_yaml, suggest

RESULT_WORDS = {
    "是": 1.0,
    "符合": 1.0,
    "达成": 1.0,
    "yes": 1.0,
    "true": 1.0,
    "pass": 1.0,
    "部分": 0.5,
    "部分符合": 0.5,
    "部分达成": 0.5,
    "partly": 0.5,
    "partial": 0.5,
    "否": 0.0,
    "不符合": 0.0,
    "未达成": 0.0,
    "no": 0.0,
    "false": 0.0,
    "fail": 0.0,
}
_ITEM_KEYS = ("item", "result", "evidence", "source", "assessor", "date", "note")
_OVERRIDE_KEYS = ("indicator", "f", "reason")
_TOP_KEYS = ("meta", "items", "overrides")


@dataclass
class Assessment:
    """One assessed item."""

    item: str
    result: float
    evidence: str
    source: str
    line: int | None = None
    raw: object = None


@dataclass
class Assessments:
    """Checked assessments: ``items`` (id → :class:`Assessment`) and ``overrides``."""

    items: dict[str, Assessment]
    overrides: dict[str, dict] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    path: Path | None = None
    lines: LineMap = field(default_factory=LineMap, repr=False)

    @property
    def is_example(self) -> bool:
        return bool(self.meta.get("example"))

    def get(self, item: str) -> Assessment | None:
        return self.items.get(item)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "item": a.item,
                    "result": a.result,
                    "evidence": a.evidence,
                    "source": a.source,
                    "line": a.line,
                }
                for a in self.items.values()
            ],
            columns=["item", "result", "evidence", "source", "line"],
        )

    def check_against(self, targets) -> None:
        """Raise :class:`ConfigError` for items unknown to ``targets``."""
        known = set(targets.checklist_items()) | {i.id for i in targets.indicators}
        p = ProblemList()
        f = str(self.path) if self.path else None
        for a in self.items.values():
            if a.item not in known:
                p.error(
                    "unknown_item",
                    f"评估项“{a.item}”不在指标设置中{suggest(a.item, known)}；"
                    "请使用指标设置文件中的清单项编号。",
                    f"assessment item {a.item!r} is not in the targets file; use a "
                    "checklist item id from it.",
                    file=f,
                    row=a.line,
                    column="item",
                    value=a.item,
                )
        ids = {i.id for i in targets.indicators}
        for ind, o in self.overrides.items():
            if ind not in ids:
                p.error(
                    "unknown_indicator",
                    f"调整项中的指标“{ind}”不存在{suggest(ind, ids)}。",
                    f"override names unknown indicator {ind!r}.",
                    file=f,
                    row=o.get("line"),
                    column="indicator",
                    value=ind,
                )
        p.raise_if_errors(
            ConfigError, f"评估文件有误 the assessments file has errors: {f}"
        )

    def __repr__(self) -> str:
        tag = "示例 example, " if self.is_example else ""
        return f"Assessments({tag}{len(self.items)} items, {len(self.overrides)} overrides)"

    def _repr_html_(self) -> str:
        head = (
            "<p><b>示例评估文件（仅供演示）example only</b></p>"
            if self.is_example
            else ""
        )
        return head + self.to_frame().to_html(index=False, escape=True)


def parse_result(value) -> float | None:
    """1/0.5/0 or a word (是/部分/否 …) → 1.0/0.5/0.0; ``None`` if not understood."""
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float)):
        v = float(value)
        return v if not math.isnan(v) and 0.0 <= v <= 1.0 else None
    if isinstance(value, str):
        s = value.strip().lower()
        if s in RESULT_WORDS:
            return RESULT_WORDS[s]
        try:
            return parse_result(float(s.rstrip("%")) / (100 if s.endswith("%") else 1))
        except ValueError:
            return None
    return None


def load_assessments(path, *, targets=None) -> Assessments:
    """Read and check an assessments file: YAML, or the Excel judgments workbook.

    Parameters
    ----------
    path
        The file: ``.yaml``/``.yml``, or ``.xlsx`` as written by ``jdeval
        template`` (sheet 评估表; rows without a 评估结论 are not assessed).
    targets
        A :class:`~jdeval.indicators.targets.Targets` to check item ids against.
        Without it the ids are checked when the assessments are used in
        :func:`~jdeval.indicators.evaluate`.

    Raises
    ------
    ConfigError
        Listing every problem (line or spreadsheet row, field, what to do).
    """
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from jdeval.indicators.judgments import column_name, read_judgments

        data, lines = read_judgments(path)
        return _check(data, lines, path, targets, column_name)
    data, lines = load_yaml(path, what_zh="评估", what_en="assessments")
    return _check(data, lines, path, targets)


def _check(data, lines: LineMap, path: Path, targets, colname=None) -> Assessments:
    """Check a parsed document; ``colname`` names a key path as the user sees it."""
    if colname is None:

        def colname(pth):
            return ".".join(str(x) for x in pth) or None

    """Check a parsed assessments document (YAML or workbook) and build it."""
    p = ProblemList()
    f = str(path)

    def err(code, zh, en, pth, value=None):
        p.error(
            code,
            zh,
            en,
            file=f,
            row=lines.line(*pth),
            column=colname(pth),
            value=value,
        )

    items: dict[str, Assessment] = {}
    overrides: dict[str, dict] = {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        err(
            "assessments_shape",
            "评估文件应为含 items 列表的映射。",
            "the assessments file must be a mapping with an items list.",
            (),
        )
        data = {}
    for k in data:
        if k not in _TOP_KEYS:
            err(
                "unknown_key",
                f"未知的顶层字段“{k}”{suggest(k, _TOP_KEYS)}。",
                f"unknown top-level field {k!r}.",
                (k,),
                k,
            )
    raw_items = data.get("items") or []
    if not isinstance(raw_items, list):
        err(
            "items_shape",
            "items 应为列表（每项以“- item:”开头）。",
            "items must be a list (each entry starts with '- item:').",
            ("items",),
        )
        raw_items = []
    for i, it in enumerate(raw_items):
        pth = ("items", i)
        if not isinstance(it, dict):
            err(
                "item_shape",
                "每个评估项应为映射（item、result、evidence、source）。",
                "each assessment must be a mapping (item, result, evidence, source).",
                pth,
            )
            continue
        for k in it:
            if k not in _ITEM_KEYS:
                err(
                    "unknown_key",
                    f"评估项有未知字段“{k}”{suggest(k, _ITEM_KEYS)}。",
                    f"assessment has an unknown field {k!r}.",
                    (*pth, k),
                    k,
                )
        iid = it.get("item")
        if not iid:
            err(
                "missing_field",
                "评估项缺少 item（清单项编号，如 d1_1）。",
                "assessment lacks item (a checklist item id such as d1_1).",
                pth,
            )
            continue
        iid = str(iid)
        res = parse_result(it.get("result"))
        if res is None:
            err(
                "bad_result",
                f"评估项 {iid} 的评估结论 result 无效：应为 达成/部分达成/未达成、是/部分/否 或 1、0.5、0。",
                f"assessment {iid}: result must be 1, 0.5, 0 or 是/部分/否.",
                (*pth, "result"),
                it.get("result"),
            )
        for k in ("evidence", "source"):
            if not str(it.get(k) or "").strip():
                err(
                    "missing_field",
                    f"评估项 {iid} 缺少 {k}（请写明依据与出处）。",
                    f"assessment {iid} lacks {k} (state the evidence and its source).",
                    pth,
                    None,
                )
        if iid in items:
            err(
                "duplicate_item",
                f"评估项 {iid} 重复（另见第 {items[iid].line} 行）。",
                f"assessment {iid} is given twice.",
                (*pth, "item"),
                iid,
            )
        items[iid] = Assessment(
            iid,
            res if res is not None else math.nan,
            str(it.get("evidence") or ""),
            str(it.get("source") or ""),
            lines.line(*pth, "item"),
            it.get("result"),
        )
    for i, o in enumerate(data.get("overrides") or []):
        pth = ("overrides", i)
        if not isinstance(o, dict) or not o.get("indicator"):
            err(
                "override_shape",
                "调整项须有 indicator、f、reason。",
                "an override needs indicator, f and reason.",
                pth,
            )
            continue
        for k in o:
            if k not in _OVERRIDE_KEYS:
                err(
                    "unknown_key",
                    f"调整项有未知字段“{k}”{suggest(k, _OVERRIDE_KEYS)}。",
                    f"override has an unknown field {k!r}.",
                    (*pth, k),
                    k,
                )
        fv = o.get("f")
        if not isinstance(fv, (int, float)) or isinstance(fv, bool) or not 0 <= fv <= 1:
            err(
                "bad_value",
                "调整项 f 应为 0 到 1 之间的数。",
                "override f must be a number between 0 and 1.",
                (*pth, "f"),
                fv,
            )
        if not str(o.get("reason") or "").strip():
            err(
                "missing_field",
                "调整项须写明理由 reason。",
                "an override needs a reason.",
                pth,
            )
        overrides[str(o["indicator"])] = {
            "f": fv,
            "reason": str(o.get("reason") or ""),
            "line": lines.line(*pth, "indicator"),
        }
    p.raise_if_errors(ConfigError, f"评估文件有误 the assessments file has errors: {f}")
    out = Assessments(items, overrides, dict(data.get("meta") or {}), path, lines)
    if targets is not None:
        out.check_against(targets)
    return out
