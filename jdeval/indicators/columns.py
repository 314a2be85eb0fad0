"""Check that every column the targets file names exists in the data.

A KPI, checklist rule or measure may name a data column in its parameters
(``firm_share: {column: transformed}``).  A misspelt or missing column must be a
located message (targets file line + table + the columns that exist), exit 2 —
never a ``KeyError`` deep inside a computation.
"""

from __future__ import annotations

from jdeval.errors import ConfigError, ProblemList
from jdeval.indicators.yamlsource import suggest

#: (function, parameter) → the table whose column the parameter names.
COLUMN_PARAMS: dict[tuple[str, str], str] = {
    ("firm_share", "column"): "firm_year",
    ("share_on_path", "column"): "firm_year",
    ("funded_growth_gap", "column"): "firm_year",
    ("all_awards_true", "column"): "awards",
    ("award_compliance", "checks"): "awards",
    ("budget_ratio", "numerator"): "budget",
    ("budget_ratio", "denominator"): "budget",
}


def _names(value) -> list[str]:
    """Column names in a parameter value (str, list, {column: …}, {A: …, B: …})."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        if "column" in value:
            return _names(value["column"])
        return [n for v in value.values() for n in _names(v)]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _names(v)]
    return []


def _uses(targets):
    """(where_zh, where_en, key path, function, params) of every parametrised call."""
    for i, ind in enumerate(targets.indicators):
        path = ("indicators", i)
        yield (
            f"指标 {ind.id}",
            f"indicator {ind.id}",
            (*path, "measure"),
            ind.measure.method,
            ind.measure.params,
        )
        for j, it in enumerate(ind.checklist):
            if it.rule:
                yield (
                    f"清单项 {it.id}",
                    f"checklist item {it.id}",
                    (*path, "checklist", j, "params"),
                    it.rule,
                    it.params,
                )
    for i, k in enumerate(targets.kpis):
        yield (
            f"补充指标 {k.id}",
            f"KPI {k.id}",
            ("kpis", i, "params"),
            k.method,
            k.params,
        )


def check_columns(ctx) -> None:
    """Raise :class:`ConfigError` for every named column the data lack.

    Tables that were not provided are skipped: their indicators are reported as
    not available by the measurement itself.
    """
    targets = ctx.targets
    file = str(targets.path) if targets.path else None
    p = ProblemList()
    for zh, en, path, fn, params in _uses(targets):
        for (name, param), table in COLUMN_PARAMS.items():
            if name != fn or param not in params:
                continue
            t = ctx.table(table)
            if t is None:
                continue
            have = [str(c) for c in t.columns]
            for col in _names(params[param]):
                if col in have:
                    continue
                p.error(
                    "unknown_column",
                    f"{zh} 的参数 {param} 指向数据表 {table} 中不存在的列“{col}”"
                    f"{suggest(col, have)}；可用列：{'、'.join(have)}。",
                    f"{en}: parameter {param} names column {col!r}, which table "
                    f"{table} does not have.",
                    file=file,
                    row=targets.lines.line(*path, param),
                    column=".".join(str(x) for x in (*path, param)),
                    value=col,
                )
    p.raise_if_errors(
        ConfigError,
        "指标设置引用了数据中不存在的列 the targets name columns the data lack",
    )
