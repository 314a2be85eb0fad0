"""The editable targets file (``data/targets/*.yaml``): indicators, weights, policies.

:func:`load_targets` reads and checks the file and lists every problem at once,
each located by file, line and field, with what to do.  :func:`targets_from_declaration`
turns a parsed 申报表 into the same structure (for ``jdeval targets``).
"""

from __future__ import annotations

import copy
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators.yamlsource import LineMap, load_yaml, suggest

SCHEMES = ("A", "B")
OPERATORS = (">=", "<=", "=", ">", "<", "deadline", "text")
DIRECTIONS = (
    "positive",
    "negative",
    "cap",
    "exact",
    "deadline",
    "trend_up",
    "trend_down",
    "qualitative",
)
SCORINGS = (
    "ratio_capped",
    "reverse",
    "cost_cap",
    "exact",
    "deadline",
    "checklist",
    "award_checks",
    "trend",
    "satisfaction",
)
KINDS = ("quantitative", "qualitative")

_TOP_KEYS = ("meta", "policies", "schemes", "indicators", "kpis")
_IND_KEYS = (
    "id",
    "level1",
    "level2",
    "level3",
    "level1_as_printed",
    "scheme_levels",
    "target_raw",
    "operator",
    "target_value",
    "unit",
    "kind",
    "direction",
    "scoring",
    "weight",
    "measure",
    "source",
    "checklist",
    "note",
)
_IND_REQUIRED = (
    "id",
    "level1",
    "level2",
    "level3",
    "target_raw",
    "operator",
    "kind",
    "direction",
    "scoring",
    "weight",
    "measure",
)
_ITEM_KEYS = ("id", "zh", "en", "rule", "params", "weight")
_KPI_KEYS = ("id", "zh", "en", "target", "unit", "method", "params", "source")

DEFAULT_POLICIES: dict = {
    "grade_bands": [
        {"min": 90, "grade": "优"},
        {"min": 80, "grade": "良"},
        {"min": 60, "grade": "中"},
        {"min": 0, "grade": "差"},
    ],
    "na_policy": "redistribute",
    "over_policy": "cap",
    "theta_over": 0.30,
    "penalty": {"floor": 0.8, "slope": 0.5},
    "neg_formula": "ratio",
    "tiers": {"achieved": 0.8, "partial": 0.6},
    "trend": {"delta": 0.05, "f_up": 1.0, "f_flat": 0.7, "f_down": 0.4},
    "deadline_lmax_days": 180,
    "eval_date": None,
    "approved_statuses": ["approved", "disbursed"],
    "missing_assessment": "zero",
    "misuse_cap": 0.59,
    "satisfaction": {
        "points": [100, 80, 60, 40, 20],
        "item": "Q0",
        "min_n": 30,
        "min_share": 0.8,
    },
    "key_industry_col": "key_industry",
}
_POLICY_CHOICES = {
    "na_policy": ("redistribute", "full", "zero"),
    "over_policy": ("cap", "penalty"),
    "neg_formula": ("ratio", "two_minus"),
    "missing_assessment": ("zero", "exclude"),
}


def default_targets_path() -> Path:
    """``<repo>/data/targets/zgsz_2024.yaml``."""
    return Path(__file__).resolve().parents[2] / "data" / "targets" / "zgsz_2024.yaml"


def _zh(x) -> str:
    return x.get("zh", "") if isinstance(x, dict) else ("" if x is None else str(x))


def _en(x) -> str:
    return x.get("en", "") if isinstance(x, dict) else ""


@dataclass
class Targets:
    """A checked targets file.

    Attributes
    ----------
    meta, policies
        Policy facts and scoring policies (defaults filled in).
    indicators
        Indicator dicts as in the file (ids unique, weights per scheme sum to 100).
    kpis
        Supplementary KPIs (weight 0).
    path
        The file read (``None`` when built in memory).
    """

    meta: dict
    policies: dict
    indicators: list[dict]
    kpis: list[dict] = field(default_factory=list)
    schemes: dict = field(default_factory=dict)
    path: Path | None = None
    lines: LineMap = field(default_factory=LineMap, repr=False)

    def indicator(self, ind_id: str) -> dict:
        for ind in self.indicators:
            if ind["id"] == ind_id:
                return ind
        raise KeyError(ind_id)

    def for_scheme(self, scheme: str) -> list[dict]:
        """Indicators with a positive weight in ``scheme``, levels resolved."""
        out = []
        for ind in self.indicators:
            w = float((ind.get("weight") or {}).get(scheme, 0) or 0)
            if w <= 0:
                continue
            d = dict(ind)
            over = (ind.get("scheme_levels") or {}).get(scheme, {})
            d["level1_zh"] = over.get("level1", _zh(ind["level1"]))
            d["level2_zh"] = over.get("level2", _zh(ind["level2"]))
            d["level3_zh"] = _zh(ind["level3"])
            d["level1_en"] = _en(ind["level1"]) if "level1" not in over else ""
            d["level2_en"] = _en(ind["level2"]) if "level2" not in over else ""
            d["level3_en"] = _en(ind["level3"])
            d["w"] = w
            out.append(d)
        return out

    def checklist_items(self) -> dict[str, tuple[str, dict]]:
        """Checklist item id → (indicator id, item)."""
        return {
            it["id"]: (ind["id"], it)
            for ind in self.indicators
            for it in ind.get("checklist") or []
        }

    def to_frame(self, scheme: str | None = None) -> pd.DataFrame:
        rows = []
        for ind in self.indicators:
            rows.append(
                {
                    "id": ind["id"],
                    "level1": _zh(ind["level1"]),
                    "level2": _zh(ind["level2"]),
                    "level3": _zh(ind["level3"]),
                    "target_raw": ind.get("target_raw"),
                    "direction": ind.get("direction"),
                    "scoring": ind.get("scoring"),
                    "weight_A": (ind.get("weight") or {}).get("A", 0),
                    "weight_B": (ind.get("weight") or {}).get("B", 0),
                }
            )
        df = pd.DataFrame(rows)
        if scheme:
            df = df.loc[df[f"weight_{scheme}"] > 0]
        return df

    def __repr__(self) -> str:
        src = self.path.name if self.path else "in memory"
        return f"Targets({self.meta.get('policy')!r}, {len(self.indicators)} indicators, {src})"

    def _repr_html_(self) -> str:
        t = html.escape(str(self.meta.get("policy", "")))
        return f"<h4>{t}</h4>" + self.to_frame().to_html(index=False)


def _merge_defaults(policies: dict) -> dict:
    out = copy.deepcopy(DEFAULT_POLICIES)
    for k, v in (policies or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = {**out[k], **v}
        else:
            out[k] = v
    return out


def check_targets(data, lines: LineMap, file: str) -> tuple[ProblemList, dict]:
    """Check a parsed targets document; returns the problems and the merged policies."""
    from jdeval.indicators.checks import RULES
    from jdeval.indicators.kpis import KPI_METHODS
    from jdeval.indicators.measures import METHODS

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
        return p, {}
    for k in data:
        if k not in _TOP_KEYS:
            err(
                "unknown_key",
                f"未知的顶层字段“{k}”{suggest(k, _TOP_KEYS)}，请更正或删除。",
                f"unknown top-level field {k!r}; correct or remove it.",
                (k,),
                k,
            )
    pol = data.get("policies") or {}
    if not isinstance(pol, dict):
        err(
            "policies_shape",
            "policies 应为映射。",
            "policies must be a mapping.",
            ("policies",),
        )
        pol = {}
    for k, v in pol.items():
        if k not in DEFAULT_POLICIES:
            err(
                "unknown_key",
                f"未知的评分政策“{k}”{suggest(k, DEFAULT_POLICIES)}。",
                f"unknown policy {k!r}.",
                ("policies", k),
                k,
            )
        elif k in _POLICY_CHOICES and v not in _POLICY_CHOICES[k]:
            ch = " | ".join(_POLICY_CHOICES[k])
            err(
                "bad_value",
                f"policies.{k} 的取值应为 {ch}{suggest(v, _POLICY_CHOICES[k])}。",
                f"policies.{k} must be one of {ch}.",
                ("policies", k),
                v,
            )
    policies = _merge_defaults(pol)
    for k in ("theta_over", "misuse_cap", "deadline_lmax_days"):
        v = policies.get(k)
        if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
            err(
                "bad_value",
                f"policies.{k} 应为非负数。",
                f"policies.{k} must be a non-negative number.",
                ("policies", k),
                v,
            )
    bands = policies.get("grade_bands")
    if not isinstance(bands, list) or not all(
        isinstance(b, dict)
        and isinstance(b.get("min"), (int, float))
        and b.get("grade")
        for b in bands
    ):
        err(
            "bad_value",
            "grade_bands 应为 {min, grade} 的列表。",
            "grade_bands must be a list of {min, grade}.",
            ("policies", "grade_bands"),
        )

    inds = data.get("indicators")
    if not isinstance(inds, list) or not inds:
        err(
            "no_indicators",
            "indicators 应为非空列表。",
            "indicators must be a non-empty list.",
            ("indicators",),
        )
        return p, policies
    seen: dict[str, int] = {}
    item_seen: dict[str, str] = {}
    sums = dict.fromkeys(SCHEMES, 0.0)
    for i, ind in enumerate(inds):
        path = ("indicators", i)
        if not isinstance(ind, dict):
            err(
                "indicator_shape",
                "每个指标应为映射（字段: 值）。",
                "each indicator must be a mapping.",
                path,
            )
            continue
        iid = str(ind.get("id", f"#{i + 1}"))
        for k in ind:
            if k not in _IND_KEYS:
                err(
                    "unknown_key",
                    f"指标 {iid} 有未知字段“{k}”{suggest(k, _IND_KEYS)}，请更正。",
                    f"indicator {iid} has an unknown field {k!r}; correct it.",
                    (*path, k),
                    k,
                )
        for k in _IND_REQUIRED:
            if k not in ind or ind[k] is None or ind[k] == "":
                err(
                    "missing_field",
                    f"指标 {iid} 缺少字段“{k}”，请补上。",
                    f"indicator {iid} lacks the field {k!r}; add it.",
                    path,
                    None,
                )
        if iid in seen:
            err(
                "duplicate_id",
                f"指标编号 {iid} 重复（另见第 {seen[iid]} 行），编号须唯一。",
                f"indicator id {iid} is duplicated (also line {seen[iid]}).",
                (*path, "id"),
                iid,
            )
        seen.setdefault(iid, lines.line(*path, "id") or 0)
        for k, allowed in (
            ("operator", OPERATORS),
            ("direction", DIRECTIONS),
            ("scoring", SCORINGS),
            ("kind", KINDS),
        ):
            v = ind.get(k)
            if v is not None and v not in allowed:
                err(
                    "bad_value",
                    f"指标 {iid} 的 {k}=“{v}” 无效{suggest(v, allowed)}；"
                    f"可选：{' | '.join(allowed)}。",
                    f"indicator {iid}: {k}={v!r} is not valid; use one of {', '.join(allowed)}.",
                    (*path, k),
                    v,
                )
        scoring = ind.get("scoring")
        tv = ind.get("target_value")
        if scoring in ("ratio_capped", "reverse", "cost_cap", "exact", "satisfaction"):
            if (
                not isinstance(tv, (int, float))
                or isinstance(tv, bool)
                or math.isnan(tv)
            ):
                err(
                    "bad_target",
                    f"指标 {iid} 需要数值型 target_value（如 60）。",
                    f"indicator {iid} needs a numeric target_value (e.g. 60).",
                    (*path, "target_value"),
                    tv,
                )
        if scoring == "deadline":
            try:
                pd.Timestamp(str(tv))
            except (ValueError, TypeError):
                err(
                    "bad_target",
                    f"指标 {iid} 的 target_value 应为日期（如 2026-12-31）。",
                    f"indicator {iid}: target_value must be a date (e.g. 2026-12-31).",
                    (*path, "target_value"),
                    tv,
                )
        w = ind.get("weight")
        if isinstance(w, dict):
            for s, v in w.items():
                if s not in SCHEMES:
                    err(
                        "bad_value",
                        f"指标 {iid} 的权重方案“{s}”无效，只能是 A 或 B。",
                        f"indicator {iid}: weight scheme {s!r} must be A or B.",
                        (*path, "weight", s),
                        s,
                    )
                elif not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                    err(
                        "bad_weight",
                        f"指标 {iid} 的方案 {s} 分值应为非负数。",
                        f"indicator {iid}: weight {s} must be a non-negative number.",
                        (*path, "weight", s),
                        v,
                    )
                else:
                    sums[s] += float(v)
        elif w is not None:
            err(
                "bad_weight",
                f"指标 {iid} 的 weight 应写成 {{A: 分值, B: 分值}}。",
                f"indicator {iid}: weight must be {{A: points, B: points}}.",
                (*path, "weight"),
                w,
            )
        meas = ind.get("measure")
        if isinstance(meas, dict):
            m = meas.get("method")
            if m not in METHODS:
                err(
                    "bad_method",
                    f"指标 {iid} 的计算方法“{m}”不存在{suggest(m, METHODS)}；"
                    f"可选：{', '.join(METHODS)}。",
                    f"indicator {iid}: unknown measure.method {m!r}.",
                    (*path, "measure", "method"),
                    m,
                )
            elif m == "checklist" and not ind.get("checklist"):
                err(
                    "missing_field",
                    f"指标 {iid} 使用 checklist 方法但没有 checklist 清单。",
                    f"indicator {iid} uses method checklist but has no checklist.",
                    path,
                )
        elif meas is not None:
            err(
                "bad_method",
                f"指标 {iid} 的 measure 应为映射（method: …）。",
                f"indicator {iid}: measure must be a mapping with method.",
                (*path, "measure"),
            )
        for j, it in enumerate(ind.get("checklist") or []):
            ipath = (*path, "checklist", j)
            if not isinstance(it, dict) or not it.get("id"):
                err(
                    "checklist_item",
                    f"指标 {iid} 的清单第 {j + 1} 项须有 id。",
                    f"indicator {iid}: checklist item {j + 1} needs an id.",
                    ipath,
                )
                continue
            for k in it:
                if k not in _ITEM_KEYS:
                    err(
                        "unknown_key",
                        f"清单项 {it['id']} 有未知字段“{k}”{suggest(k, _ITEM_KEYS)}。",
                        f"checklist item {it['id']} has an unknown field {k!r}.",
                        (*ipath, k),
                        k,
                    )
            if it["id"] in item_seen:
                err(
                    "duplicate_id",
                    f"清单项编号 {it['id']} 重复（指标 {item_seen[it['id']]}）。",
                    f"checklist item id {it['id']} is duplicated.",
                    (*ipath, "id"),
                    it["id"],
                )
            item_seen[it["id"]] = iid
            r = it.get("rule")
            if r is not None and r not in RULES:
                err(
                    "bad_rule",
                    f"清单项 {it['id']} 的规则“{r}”不存在{suggest(r, RULES)}；"
                    "删除 rule 则改由评估文件给出结论。",
                    f"checklist item {it['id']}: unknown rule {r!r}; remove rule to take "
                    "the result from the assessments file.",
                    (*ipath, "rule"),
                    r,
                )
    for s, total in sums.items():
        if abs(total - 100.0) > 1e-6:
            err(
                "weights_sum",
                f"方案 {s} 的分值合计为 {total:g}，应为 100；请调整各指标 weight.{s}。",
                f"weights of scheme {s} sum to {total:g}, not 100; adjust weight.{s}.",
                ("indicators",),
                total,
            )
    for i, k in enumerate(data.get("kpis") or []):
        path = ("kpis", i)
        if not isinstance(k, dict):
            err(
                "kpi_shape",
                "每个补充指标应为映射。",
                "each KPI must be a mapping.",
                path,
            )
            continue
        for key in k:
            if key not in _KPI_KEYS:
                err(
                    "unknown_key",
                    f"补充指标 {k.get('id')} 有未知字段“{key}”{suggest(key, _KPI_KEYS)}。",
                    f"KPI {k.get('id')} has an unknown field {key!r}.",
                    (*path, key),
                    key,
                )
        if k.get("method") not in KPI_METHODS:
            m = k.get("method")
            err(
                "bad_method",
                f"补充指标 {k.get('id')} 的方法“{m}”不存在{suggest(m, KPI_METHODS)}。",
                f"KPI {k.get('id')}: unknown method {m!r}.",
                (*path, "method"),
                m,
            )
    return p, policies


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
    data, lines = load_yaml(path, what_zh="指标设置", what_en="targets")
    probs, policies = check_targets(data, lines, str(path))
    probs.raise_if_errors(
        ConfigError, f"指标设置文件有误 the targets file has errors: {path}"
    )
    return Targets(
        meta=dict(data.get("meta") or {}),
        policies=policies,
        indicators=list(data["indicators"]),
        kpis=list(data.get("kpis") or []),
        schemes=dict(data.get("schemes") or {}),
        path=path,
        lines=lines,
    )


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
    by_name = {_zh(t["level3"]): t for t in template.indicators}
    meta = dict(template.meta)
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
    inds = []
    from_decl = set()
    for r in decl.indicators.to_dict("records"):
        t = by_name.get(r["level3"])
        base = copy.deepcopy(t) if t else {}
        ind = {
            "id": base.get("id", r["id"]),
            "level1": {"zh": r["level1"], "en": _en(base.get("level1")) or ""},
            "level2": {"zh": r["level2"], "en": _en(base.get("level2")) or ""},
            "level3": {"zh": r["level3"], "en": _en(base.get("level3")) or ""},
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
            ind.update(_generic_scoring(r))
        if r.get("note"):
            ind["note"] = r["note"]
        inds.append(ind)
        from_decl.add(ind["id"])
    for t in template.indicators:
        if t["id"] not in from_decl and t["id"][0] in "DP":
            inds.append(copy.deepcopy(t))
    _rescale(inds)
    return {
        "meta": meta,
        "policies": template.policies,
        "schemes": template.schemes,
        "indicators": inds,
        "kpis": template.kpis,
    }


def _generic_scoring(r: dict) -> dict:
    scoring = {
        "positive": "ratio_capped",
        "negative": "reverse",
        "cap": "exact",
        "exact": "exact",
        "deadline": "deadline",
    }.get(r["direction"], "checklist")
    iid = r["id"].lower()
    out = {
        "scoring": scoring,
        "weight": {
            "A": _SHARE_A.get(r["level1"], 0.0),
            "B": _SHARE_A.get(r["level1"], 0.0),
        },
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


_SHARE_A = {"成本指标": 50.0, "产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0}


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
