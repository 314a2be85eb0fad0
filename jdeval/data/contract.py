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

    def header_map(self) -> dict[str, str]:
        """Normalised accepted header → column name."""
        out: dict[str, str] = {}
        for col in self.columns.values():
            for h in col.headers():
                out.setdefault(h, col.name)
        return out

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

    def __getitem__(self, name: str) -> Table:
        return self.tables[name]

    def caps(self) -> dict[str, float]:
        """Category → cap in 万元."""
        return {k: float(v["cap"]) for k, v in self.categories.items()}

    def table_for_name(self, name: str) -> str | None:
        """Table name for a file stem or sheet name (English or Chinese)."""
        key = normalize_header(name)
        for t in self.tables.values():
            if key in (normalize_header(t.name), normalize_header(t.zh)):
                return t.name
        return None


@cache
def _empty_frame(name: str):
    import pandas as pd

    table = get_contract()[name]
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=c.dtype) for c in table.columns.values()}
    )


def _year_like(name: str) -> bool:
    return name == "year" or name.endswith("_year") and name != "first_award_year"


def _build(raw: dict[str, Any]) -> Contract:
    tables: dict[str, Table] = {}
    ymin, ymax = int(raw["year_min"]), int(raw["year_max"])
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
            aliases = {
                str(k): str(v) for k, v in (c.get("value_aliases") or {}).items()
            }
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
                values=tuple(str(v) for v in c["values"]) if "values" in c else None,
                value_aliases=aliases,
                fk=c.get("fk"),
                aliases=tuple(c.get("aliases", ())),
                rule=c.get("rule"),
            )
        tables[tname] = Table(tname, t["zh"], t["en"], bool(t["required"]), pk, cols)
    return Contract(
        tables=tables,
        categories=dict(raw["categories"]),
        date_min=str(raw["date_min"]),
        date_max=str(raw["date_max"]),
        year_min=ymin,
        year_max=ymax,
        late_payment_days=int(raw["late_payment_days"]),
        min_publicity_days=int(raw["min_publicity_days"]),
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
