"""The machine-readable input contract (``jdeval/resources/contract.yaml``).

The contract lists every table an evaluation reads, and for each column its type,
unit, Chinese name (accepted as an alias header on input), range, allowed values and
foreign key.  Loading, validation, the synthetic generator and ``data/README.md`` are
all driven by it, so a column is described in exactly one place.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml

__all__ = [
    "Column",
    "Table",
    "Contract",
    "get_contract",
    "TABLE_ORDER",
    "MONEY_MIN",
    "normalize_header",
    "normalize_label",
    "Limits",
]

TABLE_ORDER = (
    "towns",
    "firms",
    "firm_year",
    "awards",
    "diagnoses",
    "providers",
    "recognitions",
    "loans",
    "survey_responses",
    "budget",
    "policy_documents",
    "complaints_audit",
)

MONEY_MIN = 0.0

#: pandas dtype of each contract type after loading (ARCHITECTURE.md).
DTYPES = {
    "id": "str",
    "str": "str",
    "enum": "str",
    "uscc": "str",
    "int": "Int64",
    "money": "float64",
    "float": "float64",
    "date": "datetime64[ns]",
    "bool": "boolean",
}

_TYPE_ZH = {
    "id": "编号(文本)",
    "str": "文本",
    "enum": "枚举",
    "uscc": "统一社会信用代码",
    "int": "整数",
    "money": "金额(万元)",
    "float": "数值",
    "date": "日期",
    "bool": "是/否",
}


def normalize_header(text: Any) -> str:
    """Normalise a header cell for matching: NFKC, trimmed, lower-case, no spaces.

    Full-width letters and brackets become half-width, so ``企业编号``,
    ``Firm_ID`` and ``firm_id`` (full-width) match the same column.
    """
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    for ch in (" ", "\u3000", "\t", "\n", "\r", "*"):
        s = s.replace(ch, "")
    return s


def normalize_label(text: Any) -> str:
    """Normalise a label (enum cell) for matching: NFKC, lower-case, no spaces."""
    s = unicodedata.normalize("NFKC", str(text)).strip().lower()
    for ch in (" ", "\u3000", "\t"):
        s = s.replace(ch, "")
    return s


@dataclass(frozen=True)
class Limits:
    """Resource limits checked before an input file is parsed (``limits`` in the contract)."""

    max_file_mb: float
    max_columns: int
    max_cells: int
    max_sheets: int
    max_xlsx_unpacked_mb: float


@dataclass(frozen=True)
class Column:
    """One column of a contract table."""

    name: str
    type: str
    zh: str
    en: str
    unit: str | None = None
    nullable: bool = True
    optional: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    value_aliases: dict[str, str] = field(default_factory=dict)
    fk: str | None = None
    aliases: tuple[str, ...] = ()
    rule: str | None = None

    @property
    def dtype(self) -> str:
        """pandas dtype after loading."""
        return DTYPES[self.type]

    @property
    def type_zh(self) -> str:
        """Chinese name of the type."""
        return _TYPE_ZH[self.type]

    def headers(self) -> tuple[str, ...]:
        """Every header accepted for this column (normalised)."""
        names = (self.name, self.zh, *self.aliases)
        if self.unit:
            names += (f"{self.zh}({self.unit})", f"{self.zh}（{self.unit}）")
        return tuple(dict.fromkeys(normalize_header(n) for n in names))

    def label_zh(self, value: str) -> str:
        """How ``value`` is shown to evaluators: its first Chinese spelling, else itself."""
        if any("\u4e00" <= ch <= "\u9fff" for ch in value):
            return value
        for alias, target in self.value_aliases.items():
            if target == value and any("\u4e00" <= ch <= "\u9fff" for ch in alias):
                return alias
        return value

    def rule_text(self) -> str:
        """Human-readable rule (Chinese / English) for documentation."""
        parts: list[str] = []
        if not self.nullable:
            parts.append("必填 / required")
        if self.type == "enum" and self.values:
            parts.append("取值 / one of: " + ", ".join(self.values))
        if self.min is not None and self.max is not None:
            parts.append(f"{_fmt(self.min)}–{_fmt(self.max)}")
        elif self.min is not None:
            parts.append(f"≥ {_fmt(self.min)}")
        if self.fk:
            parts.append(f"外键 / FK → {self.fk}")
        if self.rule:
            parts.append(self.rule)
        if self.optional:
            parts.append("可缺列 / optional column")
        return "; ".join(parts)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


@dataclass(frozen=True)
class Table:
    """One table of the contract."""

    name: str
    zh: str
    en: str
    required: bool
    primary_key: tuple[str, ...]
    columns: dict[str, Column]
    aliases: tuple[str, ...] = ()

    def names(self) -> tuple[str, ...]:
        """File/sheet names of this table (normalised): English, Chinese, aliases."""
        return tuple(
            dict.fromkeys(
                normalize_header(n) for n in (self.name, self.zh, *self.aliases)
            )
        )

    def header_map(self) -> dict[str, str]:
        """Normalised accepted header → column name."""
        return _header_map(self.name)

    def empty_frame(self):
        """An empty DataFrame with this table's columns and dtypes."""
        return _empty_frame(self.name).copy()


@dataclass(frozen=True)
class Contract:
    """The whole contract: tables plus the category caps and date bounds."""

    tables: dict[str, Table]
    categories: dict[str, dict[str, Any]]
    date_min: str
    date_max: str
    year_min: int
    year_max: int
    late_payment_days: int
    min_publicity_days: int
    limits: Limits
    labels: dict[str, dict[str, tuple[str, ...]]]

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def caps(self) -> dict[str, float]:
        """Category → cap in 万元."""
        return {k: float(v["cap"]) for k, v in self.categories.items()}

    def table_for_name(self, name: str) -> str | None:
        """The one table a file stem or sheet name names, else ``None``."""
        found = self.tables_named(name)
        return found[0] if len(found) == 1 else None

    def tables_named(self, name: str) -> list[str]:
        """Tables whose name, Chinese name or alias is (in) ``name``; longest match wins.

        ``2024年智改数转项目补贴汇总表`` contains the awards alias ``补贴汇总``; when two
        tables' names are found, only those with the longest matching name are kept
        (``企业年度面板`` beats ``企业``). Several results mean the name is ambiguous.
        """
        key = normalize_header(name)
        best, out = 0, []
        for t in self.tables.values():
            n = max((len(a) for a in t.names() if a and a in key), default=0)
            if n > best:
                best, out = n, [t.name]
            elif n == best and n > 0:
                out.append(t.name)
        return out


@cache
def _header_map(name: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for col in get_contract()[name].columns.values():
        for h in col.headers():
            out.setdefault(h, col.name)
    return out


@cache
def _empty_frame(name: str):
    import pandas as pd

    table = get_contract()[name]
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=c.dtype) for c in table.columns.values()}
    )


def _year_like(name: str) -> bool:
    return name == "year" or name.endswith("_year") and name != "first_award_year"


def _labels(raw: dict[str, Any]) -> dict[str, dict[str, tuple[str, ...]]]:
    """The label alias table, with each category's Chinese name added to its codes."""
    labels = {
        key: {str(v): tuple(str(a) for a in (al or ())) for v, al in vals.items()}
        for key, vals in (raw.get("labels") or {}).items()
    }
    cats = labels.setdefault("awards.category", {})
    for code, cat in raw["categories"].items():
        cats[code] = (str(cat["zh"]), *cats.get(code, ()))
    return labels


def _value_aliases(
    key: str, values: tuple[str, ...] | None, labels: dict
) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, spellings in labels.get(key, {}).items():
        if values is None or value not in values:
            raise ValueError(f"contract labels: {key} has no value {value!r}")
        for sp in spellings:
            if sp in out and out[sp] != value:
                raise ValueError(f"contract labels: {key}: {sp!r} is ambiguous")
            out[sp] = value
    return out


def _build(raw: dict[str, Any]) -> Contract:
    tables: dict[str, Table] = {}
    ymin, ymax = int(raw["year_min"]), int(raw["year_max"])
    labels = _labels(raw)
    for tname in TABLE_ORDER:
        t = raw["tables"][tname]
        pk = tuple(t["primary_key"])
        cols: dict[str, Column] = {}
        for cname, c in t["columns"].items():
            ctype = c["type"]
            cmin, cmax = c.get("min"), c.get("max")
            if ctype == "money" and cmin is None:
                cmin = MONEY_MIN
            if ctype == "int" and _year_like(cname) and cmin is None:
                cmin, cmax = ymin, ymax
            if cname == "first_award_year":
                cmax = ymax
            values = tuple(str(v) for v in c["values"]) if "values" in c else None
            aliases = _value_aliases(f"{tname}.{cname}", values, labels)
            cols[cname] = Column(
                name=cname,
                type=ctype,
                zh=c["zh"],
                en=c["en"],
                unit=c.get("unit"),
                nullable=bool(c.get("nullable", True)) and cname not in pk,
                optional=bool(c.get("optional", False)),
                min=cmin,
                max=cmax,
                values=values,
                value_aliases=aliases,
                fk=c.get("fk"),
                aliases=tuple(c.get("aliases", ())),
                rule=c.get("rule"),
            )
        tables[tname] = Table(
            tname,
            t["zh"],
            t["en"],
            bool(t["required"]),
            pk,
            cols,
            tuple(str(a) for a in t.get("aliases", ())),
        )
    return Contract(
        tables=tables,
        categories=dict(raw["categories"]),
        date_min=str(raw["date_min"]),
        date_max=str(raw["date_max"]),
        year_min=ymin,
        year_max=ymax,
        late_payment_days=int(raw["late_payment_days"]),
        min_publicity_days=int(raw["min_publicity_days"]),
        limits=Limits(**raw["limits"]),
        labels=labels,
    )


@lru_cache(maxsize=1)
def get_contract() -> Contract:
    """The contract shipped with jdeval (cached).

    Returns
    -------
    Contract
    """
    text = (
        resources.files("jdeval.resources")
        .joinpath("contract.yaml")
        .read_text(encoding="utf-8")
    )
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return _build(yaml.load(text, Loader=loader))  # noqa: S506 (safe loader)
