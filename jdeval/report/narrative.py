"""Problems, causes, recommendations and good practices derived by editable rules.

The rules live in YAML (``jdeval/report/rules/narrative.yaml``): each rule has a
condition on the computed facts (a Jinja2 expression, evaluated in a sandbox) and
Jinja2 templates for the problem, its cause and the recommendation.  An evaluator
adds or overrides wording in a yearly file (e.g. ``data/narrative/overrides_2024.yaml``)
without touching code:

.. code-block:: yaml

    params: {late_payment_days: 120}      # change a threshold
    rules:
      - id: late_payment_tail             # override fields of a built-in rule
        recommendation: 建议……
      - id: over_target                   # switch a rule off
        enabled: false
      - id: my_rule                       # a new rule
        when: "total < 85"
        problem: ……
        recommendation: ……
    problems:                             # fixed additions (always included)
      - {title: ……, problem: ……, cause: ……, recommendation: ……}
    experience: [……]                      # 主要经验及做法
    other_matters: [……]                   # 七、其他需要说明的问题

Every problem in the files is reported at once as a :class:`~jdeval.errors.ConfigError`
located by file, rule id and line.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators.yamlsource import LineMap, load_yaml
from jdeval.report.textenv import rule_condition, rule_template, tidy

__all__ = [
    "DEFAULT_RULES",
    "Finding",
    "Narrative",
    "derive",
    "load_overrides",
    "load_rules",
]

DEFAULT_RULES = Path(__file__).parent / "rules" / "narrative.yaml"

_RULE_KEYS = {
    "id",
    "title",
    "foreach",
    "when",
    "severity",
    "priority",
    "problem",
    "cause",
    "recommendation",
    "enabled",
}
_EXP_KEYS = {"id", "foreach", "when", "text", "enabled"}
_OVERRIDE_KEYS = {
    "year",
    "params",
    "rules",
    "problems",
    "experience",
    "other_matters",
    "sections",
    "cover",  # read by jdeval.report.cover
}
_TEXT_FIELDS = ("title", "problem", "cause", "recommendation", "text")


@dataclass
class Finding:
    """One problem with its cause and recommendation (五（二） and 六).

    ``severity`` is the finding's class in ``policies.report.severity`` of the
    targets file; findings are ordered by that list (most severe first).
    """

    rule_id: str
    title: str
    problem: str
    cause: str
    recommendation: str
    priority: float = 0.0
    source: str = "rule"  # rule | override
    severity: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Narrative:
    """The derived narrative: problems (ordered by priority), experience, others."""

    problems: list[Finding] = field(default_factory=list)
    experience: list[str] = field(default_factory=list)
    other_matters: list[str] = field(default_factory=list)
    sections: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def top(self, n: int = 3) -> list[Finding]:
        """The ``n`` highest-priority problems (for the 摘要)."""
        return self.problems[:n]

    def rule_ids(self) -> list[str]:
        return [p.rule_id for p in self.problems]


@dataclass
class RuleSet:
    params: dict[str, Any]
    rules: list[dict[str, Any]]
    experience: list[dict[str, Any]]
    file: str
    lines: dict[tuple[str, str], int] = field(default_factory=dict)


def _line_map(data: Mapping, lines: LineMap) -> dict[tuple[str, str], int]:
    """Line of each item with an ``id`` inside the ``rules`` / ``experience`` lists."""
    out: dict[tuple[str, str], int] = {}
    for kind, seq in data.items():
        if not isinstance(seq, list):
            continue
        for i, item in enumerate(seq):
            if isinstance(item, dict) and "id" in item:
                line = lines.line(kind, i)
                if line is not None:
                    out[(str(kind), str(item["id"]))] = line
    return out


def _read_yaml(path: Path, what_zh: str, what_en: str) -> tuple[dict, dict]:
    """The file's top-level mapping and the line of every rule id.

    Read by :func:`jdeval.indicators.yamlsource.load_yaml` (size and alias
    limits, UTF-8/UTF-16/GBK decoding); any failure raises a located
    :class:`~jdeval.errors.ConfigError`.
    """
    data, lines = load_yaml(path, what_zh=what_zh, what_en=what_en)
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        probs = ProblemList()
        probs.error(
            "narrative_shape",
            "文件顶层须为键值映射。",
            "the top level must be a mapping.",
            file=str(path),
        )
        probs.raise_if_errors(
            ConfigError, f"{what_zh}格式有误 / the {what_en} is malformed"
        )
    return data, _line_map(data, lines)


def _check_templates(
    item: Mapping, kind: str, path: str, line: int | None, probs: ProblemList
) -> None:
    rid = item.get("id")
    if "when" in item:
        try:
            rule_condition(str(item["when"]))
        except jinja2.TemplateSyntaxError as e:
            probs.error(
                "narrative_when",
                f"规则 {rid} 的条件语法错误：{e.message}",
                f"rule {rid}: bad condition: {e.message}",
                file=path,
                row=line,
                column="when",
                value=item["when"],
            )
    for f in _TEXT_FIELDS:
        if f in item and item[f] is not None:
            try:
                rule_template(str(item[f]))
            except jinja2.TemplateSyntaxError as e:
                probs.error(
                    "narrative_template",
                    f"规则 {rid} 的 {f} 模板语法错误：{e.message}",
                    f"rule {rid}: bad {f} template: {e.message}",
                    file=path,
                    row=line,
                    column=f,
                    value=item[f],
                )


def load_rules(path: str | Path | None = None) -> RuleSet:
    """Read and check a narrative rules file (default: the built-in one).

    A file already read in this process with the same content is not parsed and
    checked again (a report build asks for the rules several times); the caller
    gets its own copy.

    Raises
    ------
    ConfigError
        Listing every problem (unknown keys, missing fields, template syntax).
    """
    path = Path(path) if path else DEFAULT_RULES
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:  # missing or unreadable: the located error comes from the reader
        return _load_rules(path)
    return copy.deepcopy(_checked_rules(str(path.resolve()), digest))


@lru_cache(maxsize=16)
def _checked_rules(path: str, digest: str) -> RuleSet:
    """:func:`_load_rules` of ``path`` whose content has SHA-256 ``digest``."""
    return _load_rules(Path(path))


def _load_rules(path: Path) -> RuleSet:
    probs = ProblemList()
    data, lines = _read_yaml(path, "叙述规则", "narrative rules")
    rules = data.get("rules") or []
    exp = data.get("experience") or []
    for kind, items, keys, required in (
        ("rules", rules, _RULE_KEYS, ("id", "when", "problem", "recommendation")),
        ("experience", exp, _EXP_KEYS, ("id", "when", "text")),
    ):
        for i, item in enumerate(items):
            line = (
                lines.get((kind, str(item.get("id"))))
                if isinstance(item, dict)
                else None
            )
            if not isinstance(item, dict):
                probs.error(
                    "narrative_item",
                    f"{kind} 第{i + 1}项须为映射。",
                    f"{kind} item {i + 1} must be a mapping.",
                    file=str(path),
                )
                continue
            for k in set(item) - keys:
                probs.error(
                    "narrative_key",
                    f"规则 {item.get('id')} 含未知字段 {k}。",
                    f"rule {item.get('id')}: unknown key {k}.",
                    file=str(path),
                    row=line,
                    column=k,
                )
            for k in required:
                if k not in item:
                    probs.error(
                        "narrative_missing",
                        f"{kind} 第{i + 1}项缺少字段 {k}。",
                        f"{kind} item {i + 1} lacks {k}.",
                        file=str(path),
                        row=line,
                        column=k,
                    )
            _check_templates(item, kind, str(path), line, probs)
    probs.raise_if_errors(
        ConfigError, "叙述规则文件有误 / the narrative rules file has errors"
    )
    return RuleSet(
        dict(data.get("params") or {}),
        [dict(r) for r in rules],
        [dict(e) for e in exp],
        str(path),
        lines,
    )


def load_overrides(path: str | Path, base: RuleSet | None = None) -> RuleSet:
    """Apply an evaluator's overrides file on top of ``base`` (default rules).

    Returns
    -------
    RuleSet
        The merged rules, with the fixed additions kept in ``params['_fixed']``.

    Raises
    ------
    ConfigError
        Unknown keys, a new rule lacking ``when``/``problem``/``recommendation``,
        template syntax errors — all at once, located by file, rule id and line.
    """
    base = base or load_rules()
    path = Path(path)
    probs = ProblemList()
    data, lines = _read_yaml(path, "叙述覆盖", "narrative overrides")
    for k in set(data) - _OVERRIDE_KEYS:
        probs.error(
            "override_key",
            f"覆盖文件含未知字段 {k}（可用：{sorted(_OVERRIDE_KEYS)}）。",
            f"unknown key {k} (allowed: {sorted(_OVERRIDE_KEYS)}).",
            file=str(path),
            column=k,
        )
    params = {**base.params, **(data.get("params") or {})}
    rules = [dict(r) for r in base.rules]
    by_id = {r["id"]: r for r in rules}
    exp = [dict(e) for e in base.experience]
    for item in data.get("rules") or []:
        rid = item.get("id") if isinstance(item, dict) else None
        line = lines.get(("rules", str(rid)))
        if not isinstance(item, dict) or not rid:
            probs.error(
                "override_rule",
                "rules 中每项须为含 id 的映射。",
                "each rules item must be a mapping with an id.",
                file=str(path),
                row=line,
                value=item,
            )
            continue
        for k in set(item) - _RULE_KEYS:
            probs.error(
                "override_key",
                f"规则 {rid} 含未知字段 {k}。",
                f"rule {rid}: unknown key {k}.",
                file=str(path),
                row=line,
                column=k,
            )
        _check_templates(item, "rules", str(path), line, probs)
        if rid in by_id:
            by_id[rid].update(item)
            by_id[rid]["_source"] = "override"
        else:
            for k in ("when", "problem", "recommendation"):
                if k not in item:
                    probs.error(
                        "override_missing",
                        f"新规则 {rid} 缺少字段 {k}（若要覆盖内置规则，请检查 id 拼写）。",
                        f"new rule {rid} lacks {k} (to override a built-in rule, "
                        "check the id spelling).",
                        file=str(path),
                        row=line,
                        column=k,
                    )
            new = {
                "priority": 55,
                "title": rid,
                "cause": "",
                **item,
                "_source": "override",
            }
            rules.append(new)
            by_id[rid] = new
    fixed = []
    for i, p in enumerate(data.get("problems") or []):
        if not isinstance(p, dict) or "problem" not in p or "recommendation" not in p:
            probs.error(
                "override_problem",
                f"problems 第{i + 1}项须含 problem 和 recommendation。",
                f"problems item {i + 1} needs problem and recommendation.",
                file=str(path),
                value=p,
            )
            continue
        _check_templates(
            {"id": f"problems[{i + 1}]", **p}, "problems", str(path), None, probs
        )
        fixed.append(p)
    for key in ("experience", "other_matters"):
        v = data.get(key) or []
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            probs.error(
                "override_list",
                f"{key} 须为文字列表。",
                f"{key} must be a list of text.",
                file=str(path),
                column=key,
            )
    sections = data.get("sections") or {}
    if not isinstance(sections, dict):
        probs.error(
            "override_sections",
            "sections 须为 {章节键: 文字} 映射。",
            "sections must map section keys to text.",
            file=str(path),
        )
        sections = {}
    probs.raise_if_errors(
        ConfigError, "叙述覆盖文件有误 / the narrative overrides file has errors"
    )
    params["_fixed"] = fixed
    params["_experience"] = list(data.get("experience") or [])
    params["_other"] = list(data.get("other_matters") or [])
    params["_sections"] = {str(k): str(v) for k, v in sections.items()}
    params["_override_file"] = str(path)
    params["_override_lines"] = lines
    return RuleSet(params, rules, exp, base.file, base.lines)


def _items(ctx: Mapping, rule: Mapping) -> list[Any]:
    """The list a ``foreach`` names (a dotted path into the facts)."""
    if "foreach" not in rule:
        return [None]
    head, *rest = str(rule["foreach"]).split(".")
    seq = ctx.get(head)
    for part in rest:
        seq = None if seq is None else getattr(seq, part, None)
    if seq is None:
        return []
    return list(seq)


def _merge(found: list[Finding]) -> list[Finding]:
    """Merge findings with identical titles (one problem, one heading)."""
    out: dict[str, Finding] = {}
    for f in found:
        key = f.title.strip()
        if key in out:
            m = out[key]
            if f.problem and f.problem not in m.problem:
                m.problem += f.problem
            if f.cause and f.cause not in m.cause:
                m.cause += f.cause
            if f.recommendation and f.recommendation not in m.recommendation:
                m.recommendation += f.recommendation
        else:
            out[key] = f
    return list(out.values())


def _render(src: Any, ctx: Mapping) -> str:
    if src is None or src == "":
        return ""
    return tidy(rule_template(str(src)).render(ctx))


def derive(
    facts: Any,
    *,
    rules: RuleSet | str | Path | None = None,
    overrides: str | Path | None = None,
    severity: list[str] | None = None,
) -> Narrative:
    """Apply the narrative rules to computed facts.

    Parameters
    ----------
    facts
        :class:`jdeval.report.facts.Facts` (or a mapping with the same keys).
    rules
        A :class:`RuleSet`, a rules file, or None for the built-in rules.
    overrides
        Optional evaluator overrides file applied on top of ``rules``.
    severity
        Order of the severity classes (``policies.report.severity`` of the
        targets); default: ``facts``' targets order is not known, rule order.

    Returns
    -------
    Narrative

    Raises
    ------
    ConfigError
        A rule's condition or template refers to an unknown fact or fails,
        located by rules file, rule id and line.
    """
    rs = rules if isinstance(rules, RuleSet) else load_rules(rules)
    if overrides is not None:
        rs = load_overrides(overrides, rs)
    # thresholds from the targets file (Facts.params), then the rules' own params
    params = {
        **dict(getattr(facts, "params", None) or {}),
        **{k: v for k, v in rs.params.items() if not k.startswith("_")},
    }
    fctx = facts.context() if hasattr(facts, "context") else dict(facts)
    base_ctx = {**fctx, "params": params}
    probs = ProblemList()
    out = Narrative(params=params)

    def run(rule: Mapping, kind: str, fields: tuple[str, ...]) -> list[dict[str, str]]:
        if rule.get("enabled", True) is False:
            return []
        res = []
        file = (
            rs.params.get("_override_file")
            if rule.get("_source") == "override"
            else rs.file
        )
        lines = rs.lines if file == rs.file else rs.params.get("_override_lines", {})
        line = lines.get((kind, str(rule.get("id"))))
        try:
            cond = rule_condition(str(rule["when"]))
            for it in _items(base_ctx, rule):
                ctx = {**base_ctx, "it": it}
                if cond(**ctx):
                    res.append({f: _render(rule.get(f), ctx) for f in fields})
        except (
            jinja2.TemplateError,
            TypeError,
            ValueError,
            KeyError,
            AttributeError,
        ) as e:
            probs.error(
                "narrative_eval",
                f"规则 {rule.get('id')} 无法计算：{e}",
                f"rule {rule.get('id')} failed: {e}",
                file=file,
                row=line,
                value=rule.get("when"),
            )
        return res

    found: list[Finding] = []
    for r in rs.rules:
        for txt in run(r, "rules", ("title", "problem", "cause", "recommendation")):
            found.append(
                Finding(
                    str(r["id"]),
                    txt["title"] or str(r["id"]),
                    txt["problem"],
                    txt["cause"],
                    txt["recommendation"],
                    float(r.get("priority", 0)),
                    r.get("_source", "rule"),
                    str(r.get("severity", "")),
                )
            )
    for i, p in enumerate(rs.params.get("_fixed", [])):
        found.append(
            Finding(
                f"override_{i + 1}",
                _render(p.get("title", ""), base_ctx),
                _render(p["problem"], base_ctx),
                _render(p.get("cause", ""), base_ctx),
                _render(p["recommendation"], base_ctx),
                float(p.get("priority", 55)),
                "override",
                str(p.get("severity", "")),
            )
        )
    order = {c: i for i, c in enumerate(severity or [])}
    # stable: severity class (targets order), then priority desc, then rule order
    out.problems = _merge(
        [
            f
            for _, f in sorted(
                enumerate(found),
                key=lambda t: (
                    order.get(t[1].severity, len(order)),
                    -t[1].priority,
                    t[0],
                ),
            )
        ]
    )
    for e in rs.experience:
        out.experience += [t["text"] for t in run(e, "experience", ("text",))]
    out.experience += [_render(t, base_ctx) for t in rs.params.get("_experience", [])]
    out.other_matters = [_render(t, base_ctx) for t in rs.params.get("_other", [])]
    out.sections = dict(rs.params.get("_sections", {}))
    probs.raise_if_errors(ConfigError, "叙述规则计算失败 / narrative rules failed")
    return out
