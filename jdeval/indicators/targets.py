"""The editable targets file (``data/targets/*.yaml``): indicators, weights, policies.

:func:`load_targets` reads and checks the file and lists every problem at once,
each located by file, line and field, with what to do.  :func:`targets_from_declaration`
turns a parsed 申报表 into the same structure (for ``jdeval targets``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import html
import inspect
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml
from pydantic import ValidationError

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators.schema import (
    SCHEMES,
    Indicator,
    Kpi,
    Meta,
    Policies,
    TargetsDoc,
    problems_from_validation,
)
from jdeval.indicators.yamlsource import LineMap, load_yaml, suggest

__all__ = [
    "SCHEMES",
    "SchemeIndicator",
    "Targets",
    "check_targets",
    "default_targets_path",
    "load_targets",
    "targets_from_declaration",
    "write_targets",
]


def default_targets_path() -> Path:
    """``<repo>/data/targets/zgsz_2024.yaml``."""
    return Path(__file__).resolve().parents[2] / "data" / "targets" / "zgsz_2024.yaml"


@dataclass(frozen=True)
class SchemeIndicator:
    """An indicator as scored under one scheme: level names resolved, points ``w``."""

    ind: Indicator
    w: float
    level1: str
    level2: str
    level3: str

    @property
    def id(self) -> str:
        return self.ind.id


@dataclass
class Targets:
    """A checked targets file.

    Attributes
    ----------
    meta
        Policy facts (:class:`~jdeval.indicators.schema.Meta`).
    policies
        Scoring policies (:class:`~jdeval.indicators.schema.Policies`), e.g.
        ``targets.policies.theta_over``, ``.tiers.achieved``, ``.satisfaction.points``.
    indicators
        :class:`~jdeval.indicators.schema.Indicator` list (ids unique, weights per
        scheme sum to 100).
    kpis
        Supplementary KPIs (weight 0).
    path
        The file read (``None`` when built in memory).
    """

    meta: Meta
    policies: Policies
    indicators: list[Indicator]
    kpis: list[Kpi] = field(default_factory=list)
    schemes: dict = field(default_factory=dict)
    path: Path | None = None
    lines: LineMap = field(default_factory=LineMap, repr=False)

    def indicator(self, ind_id: str) -> Indicator:
        for ind in self.indicators:
            if ind.id == ind_id:
                return ind
        raise KeyError(ind_id)

    def grade_for(self, score: float) -> str:
        """Grade (优/良/中/差 per ``policies.grade_bands``) of a total score.

        The one place scores map to grades; the total is rounded to 2 decimals
        first (spec §3.1).
        """
        return self.policies.band_for(score).grade

    def at(self, as_of) -> Targets:
        """These targets with ``policies.eval_date`` = ``as_of`` (评价基准日 given for
        a build, ``YYYY-MM-DD`` or a date); ``as_of`` empty returns ``self``."""
        if not as_of:
            return self
        d = pd.Timestamp(as_of).date()
        pol = self.policies.model_copy(update={"eval_date": d})
        return dataclasses.replace(self, policies=pol)

    def grade_en_for(self, score: float) -> str:
        """English name of :meth:`grade_for` (the band's ``en``, else the grade)."""
        b = self.policies.band_for(score)
        return b.en or b.grade

    def for_scheme(self, scheme: str) -> list[SchemeIndicator]:
        """Indicators with a positive weight in ``scheme``, levels resolved."""
        out = []
        for ind in self.indicators:
            w = ind.weight_in(scheme)
            if w > 0:
                out.append(SchemeIndicator(ind, w, *ind.levels(scheme)))
        return out

    def checklist_items(self) -> dict[str, tuple[str, object]]:
        """Checklist item id → (indicator id, :class:`ChecklistItem`)."""
        return {it.id: (ind.id, it) for ind in self.indicators for it in ind.checklist}

    def to_doc(self) -> dict:
        """The targets as a plain document (as written to YAML)."""
        return TargetsDoc(
            meta=self.meta,
            policies=self.policies,
            schemes=self.schemes,
            indicators=self.indicators,
            kpis=self.kpis,
        ).model_dump(mode="json", exclude_none=True)

    def to_frame(self, scheme: str | None = None) -> pd.DataFrame:
        rows = [
            {
                "id": i.id,
                "level1": i.level1.zh,
                "level2": i.level2.zh,
                "level3": i.level3.zh,
                "target": i.target_text,
                "direction": i.direction,
                "scoring": i.scoring,
                "weight_A": i.weight_in("A"),
                "weight_B": i.weight_in("B"),
            }
            for i in self.indicators
        ]
        df = pd.DataFrame(rows)
        if scheme:
            df = df.loc[df[f"weight_{scheme}"] > 0]
        return df

    def __repr__(self) -> str:
        src = self.path.name if self.path else "in memory"
        return (
            f"Targets({self.meta.policy!r}, {len(self.indicators)} indicators, {src})"
        )

    def _repr_html_(self) -> str:
        t = html.escape(self.meta.policy)
        return f"<h4>{t}</h4>" + self.to_frame().to_html(index=False)


# --------------------------------------------------------------- checking
_NEEDS_NUMBER = ("ratio_capped", "reverse", "cost_cap", "exact", "satisfaction")


def _signature_problems(fn, params: dict, skip: int) -> tuple[list[str], list[str]]:
    """Unknown and missing keyword names of ``fn`` (first ``skip`` args positional)."""
    sig = inspect.signature(fn)
    names = list(sig.parameters)[skip:]
    unknown = [k for k in params if k not in names]
    missing = [
        n
        for n in names
        if sig.parameters[n].default is inspect.Parameter.empty and n not in params
    ]
    return unknown, missing


def _check_call(err, fn, params, skip, path, what_zh, what_en) -> None:
    unknown, missing = _signature_problems(fn, params, skip)
    allowed = list(inspect.signature(fn).parameters)[skip:]
    for k in unknown:
        err(
            "bad_param",
            f"{what_zh} 的参数“{k}”不存在{suggest(k, allowed)}；"
            f"可用参数：{', '.join(allowed) or '（无）'}。",
            f"{what_en}: unknown parameter {k!r}; allowed: {', '.join(allowed) or 'none'}.",
            (*path, k),
            k,
        )
    for k in missing:
        err(
            "missing_param",
            f"{what_zh} 缺少参数“{k}”，请补上。",
            f"{what_en} lacks the parameter {k!r}; add it.",
            path,
        )


def _target_mismatch(ind: Indicator) -> str | None:
    """Why ``target_raw`` disagrees with operator/value/unit, or ``None``."""
    from jdeval.indicators.declaration import parse_target

    if ind.operator == "text":
        return None
    p = parse_target(ind.target_raw, ind.level1.zh)
    if p["operator"] == "text":
        return f"“{ind.target_raw}”不是可解析的指标值"
    if p["operator"] != ind.operator:
        return f"运算符为“{p['operator']}”而 operator 为“{ind.operator}”"
    if ind.operator == "deadline":
        if str(p["target_value"]) != str(ind.target_value):
            return (
                f"截止日期为 {p['target_value']} 而 target_value 为 {ind.target_value}"
            )
        return None
    if (
        not isinstance(ind.target_value, (int, float))
        or abs(float(p["target_value"]) - float(ind.target_value)) > 1e-9
    ):
        return f"数值为 {p['target_value']:g} 而 target_value 为 {ind.target_value}"
    if (p["unit"] or "") != (ind.unit or ""):
        return f"单位为“{p['unit']}”而 unit 为“{ind.unit}”"
    return None


def check_targets(
    data, lines: LineMap, file: str
) -> tuple[ProblemList, Targets | None]:
    """Check a parsed targets document; returns the problems and the typed targets."""
    p = ProblemList()

    def err(code, zh, en, path, value=None):
        p.error(
            code,
            zh,
            en,
            file=file,
            row=lines.line(*path),
            column=".".join(str(x) for x in path) or None,
            value=value,
        )

    if not isinstance(data, dict):
        err(
            "targets_shape",
            "指标文件应为含 meta、policies、indicators 的映射。",
            "the targets file must be a mapping with meta, policies, indicators.",
            (),
        )
        return p, None
    doc = None
    try:
        doc = TargetsDoc.model_validate(data)
    except ValidationError as exc:
        problems_from_validation(exc, data, lines, file, p)
    inds = _valid_indicators(data)
    _check_indicators(inds, err)
    _check_weight_sums(data, err)
    _check_kpis(data, err)
    if doc is None or p.errors:
        return p, None
    return p, Targets(
        meta=doc.meta,
        policies=doc.policies,
        indicators=doc.indicators,
        kpis=doc.kpis,
        schemes=dict(doc.schemes),
        lines=lines,
    )


def _valid_indicators(data: dict) -> list[tuple[int, Indicator]]:
    """Indicators that validate on their own (their errors are already reported)."""
    out = []
    raw = data.get("indicators")
    for i, r in enumerate(raw if isinstance(raw, list) else []):
        try:
            out.append((i, Indicator.model_validate(r)))
        except ValidationError:
            continue
    return out


def _check_indicators(inds: list[tuple[int, Indicator]], err) -> None:
    from jdeval.indicators.checks import RULES
    from jdeval.indicators.measures import METHODS

    seen: dict[str, int] = {}
    item_seen: dict[str, str] = {}
    for i, ind in inds:
        path = ("indicators", i)
        iid = ind.id
        if iid in seen:
            err(
                "duplicate_id",
                f"指标编号 {iid} 重复（另见第 {seen[iid]} 个指标），编号须唯一。",
                f"indicator id {iid} is duplicated (also indicator {seen[iid]}).",
                (*path, "id"),
                iid,
            )
        seen.setdefault(iid, i + 1)
        if ind.scoring in _NEEDS_NUMBER and not isinstance(
            ind.target_value, (int, float)
        ):
            err(
                "bad_target",
                f"指标 {iid} 需要数值型 target_value（如 60）。",
                f"indicator {iid} needs a numeric target_value (e.g. 60).",
                (*path, "target_value"),
                ind.target_value,
            )
        if ind.scoring == "deadline" and not hasattr(ind.target_value, "year"):
            err(
                "bad_target",
                f"指标 {iid} 的 target_value 应为日期（如 2026-12-31）。",
                f"indicator {iid}: target_value must be a date (e.g. 2026-12-31).",
                (*path, "target_value"),
                ind.target_value,
            )
        else:
            why = _target_mismatch(ind)
            if why:
                err(
                    "target_mismatch",
                    f"指标 {iid} 的 target_raw“{ind.target_raw}”与 operator/target_value/unit "
                    f"不一致：{why}。请同时修改这几个字段（显示的指标值由它们生成，应为"
                    f"“{ind.target_text}”）。",
                    f"indicator {iid}: target_raw {ind.target_raw!r} disagrees with "
                    f"operator/target_value/unit ({ind.target_text}); edit them together.",
                    (*path, "target_raw"),
                    ind.target_raw,
                )
        m = ind.measure.method
        if m not in METHODS:
            err(
                "bad_method",
                f"指标 {iid} 的计算方法“{m}”不存在{suggest(m, METHODS)}；"
                f"可选：{', '.join(METHODS)}。",
                f"indicator {iid}: unknown measure.method {m!r}.",
                (*path, "measure", "method"),
                m,
            )
        else:
            _check_call(
                err,
                METHODS[m],
                ind.measure.params,
                2,
                (*path, "measure"),
                f"指标 {iid} 的计算方法 {m}",
                f"indicator {iid}: method {m}",
            )
            if m == "checklist" and not ind.checklist:
                err(
                    "missing_field",
                    f"指标 {iid} 使用 checklist 方法但没有 checklist 清单。",
                    f"indicator {iid} uses method checklist but has no checklist.",
                    path,
                )
        for j, it in enumerate(ind.checklist):
            ipath = (*path, "checklist", j)
            if it.id in item_seen:
                err(
                    "duplicate_id",
                    f"清单项编号 {it.id} 重复（指标 {item_seen[it.id]}）。",
                    f"checklist item id {it.id} is duplicated.",
                    (*ipath, "id"),
                    it.id,
                )
            item_seen[it.id] = iid
            if it.rule is None:
                continue
            if it.rule not in RULES:
                err(
                    "bad_rule",
                    f"清单项 {it.id} 的规则“{it.rule}”不存在{suggest(it.rule, RULES)}；"
                    "删除 rule 则改由评估文件给出结论。",
                    f"checklist item {it.id}: unknown rule {it.rule!r}; remove rule to "
                    "take the result from the assessments file.",
                    (*ipath, "rule"),
                    it.rule,
                )
            else:
                _check_call(
                    err,
                    RULES[it.rule],
                    it.params,
                    1,
                    (*ipath, "params"),
                    f"清单项 {it.id} 的规则 {it.rule}",
                    f"checklist item {it.id}: rule {it.rule}",
                )


def _check_weight_sums(data: dict, err) -> None:
    """Each scheme's points sum to 100 (over every indicator with numeric weights)."""
    raw = data.get("indicators")
    if not isinstance(raw, list) or not raw:
        return
    sums = dict.fromkeys(SCHEMES, 0.0)
    for r in raw:
        w = r.get("weight") if isinstance(r, dict) else None
        if not isinstance(w, dict):
            continue
        for s in SCHEMES:
            v = w.get(s, 0)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                sums[s] += float(v)
    for s, total in sums.items():
        if abs(total - 100.0) > 1e-6:
            err(
                "weights_sum",
                f"方案 {s} 的分值合计为 {total:g}，应为 100；请调整各指标 weight.{s}。",
                f"weights of scheme {s} sum to {total:g}, not 100; adjust weight.{s}.",
                ("indicators",),
                total,
            )


def _check_kpis(data: dict, err) -> None:
    from jdeval.indicators.kpis import KPI_METHODS

    raw = data.get("kpis")
    for i, r in enumerate(raw if isinstance(raw, list) else []):
        try:
            k = Kpi.model_validate(r)
        except ValidationError:
            continue
        path = ("kpis", i)
        if k.method not in KPI_METHODS:
            err(
                "bad_method",
                f"补充指标 {k.id} 的方法“{k.method}”不存在{suggest(k.method, KPI_METHODS)}；"
                f"可选：{', '.join(KPI_METHODS)}。",
                f"KPI {k.id}: unknown method {k.method!r}.",
                (*path, "method"),
                k.method,
            )
        else:
            _check_call(
                err,
                KPI_METHODS[k.method],
                k.params,
                1,
                (*path, "params"),
                f"补充指标 {k.id} 的方法 {k.method}",
                f"KPI {k.id}: method {k.method}",
            )


def load_targets(path=None) -> Targets:
    """Read and check a targets YAML file.

    Parameters
    ----------
    path
        The file; default ``data/targets/zgsz_2024.yaml`` of the repository.

    Returns
    -------
    Targets

    Raises
    ------
    ConfigError
        Listing every problem (file, line, field, what to do).
    """
    path = Path(path) if path is not None else default_targets_path()
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:  # missing or unreadable: the located error comes from the reader
        return _load_targets(path)
    targets = copy.deepcopy(_checked_targets(str(path.resolve()), digest))
    targets.path = path
    return targets


@lru_cache(maxsize=8)
def _checked_targets(path: str, digest: str) -> Targets:
    """:func:`_load_targets` of ``path`` whose content has SHA-256 ``digest``.

    A report build asks for the targets several times in one process (~0.3 s of
    YAML each); the caller gets a copy.
    """
    return _load_targets(Path(path))


def _load_targets(path: Path) -> Targets:
    data, lines = load_yaml(path, what_zh="指标设置", what_en="targets")
    probs, targets = check_targets(data, lines, str(path))
    probs.raise_if_errors(
        ConfigError, f"指标设置文件有误 the targets file has errors: {path}"
    )
    assert targets is not None  # no errors means a model was built
    targets.path = path
    return targets


def targets_from_declaration(decl, *, template: Targets | None = None) -> dict:
    """Build a targets document from a parsed 申报表.

    Indicators whose 三级指标 name matches one in ``template`` (default: the shipped
    targets) take its weights, measurement and checklist; others get scheme-A weights
    split equally within 成本+产出 (50), 效益 (30), 满意度 (10) and a checklist that
    the evaluator must assess.  Framework indicators (D*, P*) and KPIs of the
    template are kept, and scheme weights are rescaled to sum to 100.
    """
    if template is None:
        template = load_targets()
    tdoc = template.to_doc()
    by_name = {t["level3"]["zh"]: t for t in tdoc["indicators"]}
    meta = dict(tdoc["meta"])
    dm = decl.meta
    meta.update(
        {k: dm[k] for k in ("policy", "department", "fund_use", "year") if k in dm}
    )
    if "period_start" in dm:
        meta["period"] = {"start": dm["period_start"], "end": dm["period_end"]}
    meta["budget_lines"] = dm.get("budget_lines", [])
    meta["overall_goal"] = dm.get("overall_goal", "")
    meta["annual_goal"] = dm.get("annual_goal", "")
    meta["source"] = str(decl.source) if decl.source else None
    shares = _level1_weights(template)
    inds = []
    from_decl = set()
    for r in decl.indicators.to_dict("records"):
        t = by_name.get(r["level3"])
        base = copy.deepcopy(t) if t else {}
        ind = {
            "id": base.get("id", r["id"]),
            "level1": {
                "zh": r["level1"],
                "en": (base.get("level1") or {}).get("en", ""),
            },
            "level2": {
                "zh": r["level2"],
                "en": (base.get("level2") or {}).get("en", ""),
            },
            "level3": {
                "zh": r["level3"],
                "en": (base.get("level3") or {}).get("en", ""),
            },
        }
        if r["level1_as_printed"] != r["level1"]:
            ind["level1_as_printed"] = r["level1_as_printed"]
        if base.get("scheme_levels"):
            ind["scheme_levels"] = base["scheme_levels"]
        ind.update(
            {
                "target_raw": r["target_raw"],
                "operator": r["operator"],
                "target_value": r["target_value"],
                "unit": r["unit"],
                "kind": r["kind"],
                "direction": r["direction"],
            }
        )
        if t:
            for k in ("scoring", "weight", "measure", "source", "checklist"):
                if k in base:
                    ind[k] = base[k]
        else:
            ind.update(_generic_scoring(r, shares))
        if r.get("note"):
            ind["note"] = r["note"]
        inds.append(_drop_none(ind))
        from_decl.add(ind["id"])
    for t in tdoc["indicators"]:
        if t["id"] not in from_decl and t["id"][0] in "DP":
            inds.append(copy.deepcopy(t))
    _rescale(inds)
    return {
        "meta": _drop_none(meta),
        "policies": tdoc["policies"],
        "schemes": tdoc.get("schemes", {}),
        "indicators": inds,
        "kpis": tdoc.get("kpis", []),
    }


def _drop_none(d: dict) -> dict:
    """Without empty values (``None`` and the NaN pandas gives for them)."""
    return {
        k: v
        for k, v in d.items()
        if v is not None and not (isinstance(v, float) and v != v)
    }


def _level1_weights(template: Targets) -> dict[str, dict[str, float]]:
    """Mean points per indicator of each 一级指标 and scheme in ``template``."""
    out: dict[str, dict[str, float]] = {}
    for s in SCHEMES:
        groups: dict[str, list[float]] = {}
        for i in template.indicators:
            groups.setdefault(i.level1.zh, []).append(i.weight_in(s))
        for k, ws in groups.items():
            out.setdefault(k, {})[s] = sum(ws) / len(ws)
    return out


def _generic_scoring(r: dict, shares: dict[str, dict[str, float]]) -> dict:
    """Scoring of an indicator the template lacks: its 一级's mean points, rescaled later."""
    scoring = {
        "positive": "ratio_capped",
        "negative": "reverse",
        "cap": "exact",
        "exact": "exact",
        "deadline": "deadline",
    }.get(r["direction"], "checklist")
    iid = r["id"].lower()
    w = shares.get(r["level1"], {})
    out = {
        "scoring": scoring,
        "weight": {s: round(w.get(s, 0.0), 2) for s in SCHEMES},
        "source": {"zh": "待评价人员指定", "en": "to be specified by the evaluator"},
    }
    if scoring == "checklist":
        out["measure"] = {"method": "checklist"}
        out["checklist"] = [
            {
                "id": f"{iid}_1",
                "zh": f"{r['level3']}：{r['target_raw']}",
                "en": "target met (evaluator assessment)",
            }
        ]
    else:
        out["measure"] = {"method": "assessed_value"}
    return out


def _rescale(inds: list[dict]) -> None:
    """Rescale each scheme's weights to sum to 100 (2 decimals, remainder to the largest)."""
    for s in SCHEMES:
        tot = sum(float(i["weight"].get(s, 0)) for i in inds)
        if tot <= 0 or abs(tot - 100) < 1e-9:
            continue
        for i in inds:
            i["weight"][s] = round(float(i["weight"].get(s, 0)) * 100 / tot, 2)
        diff = round(100 - sum(i["weight"][s] for i in inds), 2)
        big = max(inds, key=lambda i: i["weight"][s])
        big["weight"][s] = round(big["weight"][s] + diff, 2)


def write_targets(doc: dict, path) -> Path:
    """Write a targets document as commented, editable YAML."""
    path = Path(path)
    head = (
        "# 绩效评价指标设置（由 jdeval targets 从绩效目标申报表生成，可编辑）\n"
        "# Targets file generated from a performance-target declaration; edit freely.\n"
        "# weight: 各方案分值 points per scheme (each scheme sums to 100).\n"
        "# 没有 rule 的清单项须在评估文件中给出结论 (items without rule need an assessment).\n"
    )
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=100)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(head + body, encoding="utf-8")
    return path
