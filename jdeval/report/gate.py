"""The disclosure gate of an edition: audit everything it publishes, jointly.

:func:`jdeval.report.disclosure.protect` makes each table safe on its own.  An
edition publishes the same firms' data many times — tables, indicator texts, KPIs,
prose counts, charts, notebook pages, annex lists — and a reader may combine them:
a category total printed in a KPI minus the small firms' amounts gives the dominant
firm's; a list with one row per beneficiary recovers counts a table withholds; a
0.00 beside a withheld cell tells a lone firm's category.  The gate attacks the
whole edition as such a reader would:

1. **Catalogue** — every aggregate the data allow to be published about the
   awards (by year, batch, category, town, industry, town × category: amounts and
   firm counts), each with the disclosure rule's verdict
   (:mod:`jdeval.indicators.sdc`, parameters from ``policies.disclosure``).
2. **What is published** — the cells of the edition's protected tables (exact: they
   carry the rows they sum), the catalogued aggregates whose value occurs in any
   output text (amounts as printed, counts beside their label as ``N家``), and
   annex lists (their row counts bound the firm counts from above).
3. **Joint LP audit** — every published figure is a linear relation over the
   *atoms* (sets of rows no published figure separates).  For each confidential
   aggregate two linear programmes give the reader's feasible interval.  An amount
   is disclosed when the interval is narrower than the dominance tolerance
   (``(1/d − 1)`` of the value) or its upper bound lies within that tolerance of
   the largest firm's amount; a count below ``min_firms`` is disclosed when the
   reader can bound it below ``min_firms``.
4. **Attribute disclosure** — a published zero in the row or column of a cross
   table whose label describes fewer than ``min_firms`` firms.

The reader's LP knows which atoms are empty (it works on the real atoms), so it is
a stronger attacker than a real one: the gate errs on the side of reporting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from jdeval.indicators.sdc import Rule, unsafe_groups

__all__ = [
    "Audit",
    "Cell",
    "Leak",
    "Registry",
    "audit",
    "audit_folder",
    "audit_report",
    "catalogue",
    "edition_texts",
    "redact_withheld",
]

FIRMS = "firms"
AMOUNTS = ("approved_amount", "disbursed_amount")


@dataclass
class Cell:
    """One aggregate of award rows: published (``value``) or withheld (None).

    ``measure`` is an amount column or ``"firms"`` (distinct beneficiaries);
    ``bound="le"`` marks a count that is only an upper bound (rows of a list).
    """

    source: str
    rows: np.ndarray
    measure: str
    value: float | None
    bound: str = "eq"
    key: tuple | None = None  # defining ((column, value), …) when known
    origin: tuple | None = None  # (table number, cell label) for a table's cell
    withheld: float | None = None  # the true value of a withheld cell


@dataclass
class Group:
    """A catalogued aggregate with the rule's verdict."""

    label: str
    rows: np.ndarray
    measure: str
    value: float
    n_firms: int
    top: float
    unsafe: bool
    names: tuple[str, ...] = ()  # display names that identify it in text
    dims: tuple[str, ...] = ()  # grouping columns ("batch_year" groups span years)
    key: tuple = ()  # ((column, value), …) that defines it, batch year included


@dataclass
class Leak:
    """A confidential figure the edition lets a reader recover."""

    kind: str  # amount | count | attribute
    label: str
    true_value: float
    low: float
    high: float
    source: str = ""

    def zh(self) -> str:
        if self.kind == "attribute":
            return (
                f"{self.label}（涉及{self.true_value:.0f}家）旁公布的0值"
                "可推知其企业所属类别" + (f"：{self.source}" if self.source else "")
            )
        what = {"amount": "金额", "count": "企业数"}[self.kind]
        return (
            f"{self.label}的{what}可由公布内容推算"
            f"（真实值{self.true_value:,.2f}，可推算区间{self.low:,.2f}—{self.high:,.2f}）"
            + (f"：{self.source}" if self.source else "")
        )


@dataclass
class Audit:
    """Result of :func:`audit`."""

    leaks: list[Leak]
    n_confidential: int
    n_published: int
    notes: list[str] = field(default_factory=list)
    registry: Registry | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.leaks

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([vars(x) for x in self.leaks])

    def render_zh(self) -> str:
        if self.ok:
            return (
                f"披露控制联合审计通过：{self.n_confidential}项保密数值，"
                f"{self.n_published}项公布数值，无一可被推算。"
            )
        return "披露控制联合审计发现可推算的保密数值：\n" + "\n".join(
            f"- {x.zh()}" for x in self.leaks
        )


# ------------------------------------------------------------------ the universe
def universe(ds, statuses: Sequence[str]) -> pd.DataFrame:
    """Approved award rows of every batch with ``beneficiary`` and a row id."""
    a = ds.tables["awards"]
    a = a.loc[a["status"].isin(list(statuses))]
    firm = a["firm_id"].astype("object")
    if "provider_id" in a:
        firm = firm.where(firm.notna(), a["provider_id"].astype("object"))
    a = a.assign(beneficiary=firm, _id=a["award_id"].astype(str))
    return a.loc[a["beneficiary"].notna()].reset_index(drop=True)


def _labels(ds) -> dict[str, dict[str, str]]:
    from jdeval.data.contract import get_contract

    cats = {k: str(v.get("zh", k)) for k, v in get_contract().categories.items()}
    towns = {}
    t = ds.tables.get("towns")
    if t is not None and {"town_code", "town_name"} <= set(t.columns):
        towns = dict(zip(t["town_code"].astype(str), t["town_name"].astype(str)))
    return {"category": cats, "town_code": towns}


def catalogue(
    u: pd.DataFrame, *, year: int, rule: Rule, labels: Mapping | None = None
) -> list[Group]:
    """Every aggregate of the awards the edition could publish, with its verdict."""
    labels = labels or {}
    out: list[Group] = []
    this = u.loc[u["batch_year"] == year]
    dims: list[tuple[pd.DataFrame, list[str], str]] = [
        (this, [], f"{year}年"),
        (this, ["category"], f"{year}年"),
        (this, ["town_code"], f"{year}年"),
        (this, ["town_code", "category"], f"{year}年"),
        (u, ["batch_year"], ""),
        (u, ["batch_year", "category"], ""),
    ]
    if "industry_div" in u:
        dims.append((this, ["industry_div"], f"{year}年"))
    for frame, by, prefix in dims:
        if frame.empty:
            continue
        fixed = (("batch_year", year),) if prefix else ()
        key = by or ["_all"]
        f = frame.assign(_all="全部") if not by else frame
        ids = f.groupby(key, sort=False)["_id"].agg(lambda s: s.to_numpy())
        for measure in (FIRMS, *[m for m in AMOUNTS if m in f]):
            g = unsafe_groups(
                f,
                key,
                firm="beneficiary",
                value=None if measure == FIRMS else measure,
                min_firms=rule.min_firms,
                dominance=rule.dominance,
            )
            for k, r in g.iterrows():
                k = k if isinstance(k, tuple) else (k,)
                names = tuple(
                    str(labels.get(c, {}).get(str(v), v)) for c, v in zip(by, k)
                )
                label = prefix + "".join(
                    f"{n}批次" if c == "batch_year" else n for c, n in zip(by, names)
                )
                out.append(
                    Group(
                        label=label or "全部",
                        rows=ids.loc[k if len(key) > 1 else k[0]],
                        measure=measure,
                        value=float(r["total"]),
                        n_firms=int(r["n_firms"]),
                        top=float(r["top"]),
                        unsafe=bool(r["unsafe"]),
                        names=names,
                        dims=tuple(by),
                        key=(*fixed, *zip(by, k)),
                    )
                )
    seen: set = set()  # "2024年诊断" and "2024批次诊断" are one group
    unique = []
    for g in out:
        k = (g.measure, frozenset(g.key))
        if k not in seen:
            seen.add(k)
            unique.append(g)
    return unique


# -------------------------------------------------------------------- the registry
class Registry:
    """Everything an edition publishes about the awards, as :class:`Cell` items."""

    def __init__(self, year_of: Mapping[str, object] | None = None) -> None:
        self.cells: list[Cell] = []
        self.attribute: list[Leak] = []
        self.year_of = dict(year_of or {})  # row id → batch year

    def add(self, cell: Cell) -> None:
        self.cells.append(cell)

    def add_table(
        self, pt, source: str = "", *, min_firms: int = 3, number: int | None = None
    ) -> None:
        """All cells of a :class:`~jdeval.report.disclosure.ProtectedTable`."""
        if not pt.members:
            return
        one_way = pt.raw.columns.size and next(iter(pt.members))[1] == "__col__"
        every = np.concatenate(list(pt.members.values()))
        years = {self.year_of.get(r) for r in every} - {None}
        fixed = (("batch_year", years.pop()),) if len(years) == 1 else ()
        for key, rows in pt.members.items():
            r = key[0]
            cols = list(pt.raw.columns) if one_way else [key[1]]
            for c in cols:
                sup = bool(pt.suppressed.loc[r, c])
                v = float(pt.raw.loc[r, c])
                measure = FIRMS if (one_way and c == pt.raw.columns[0]) else None
                if measure is None:
                    measure = pt.value_name or FIRMS
                defn = (*fixed, *pt.keys[key]) if key in pt.keys else None
                origin = (number, key) if number is not None else None
                value = None if sup else v
                self.add(
                    Cell(
                        source,
                        rows,
                        measure,
                        value,
                        key=defn,
                        origin=origin,
                        withheld=v if sup else None,
                    )
                )
        if not one_way:
            self._zeros(pt, source, min_firms)

    def _zeros(self, pt, source: str, k: int) -> None:
        """Attribute disclosure: published zeros beside a label with < k firms."""
        firms: dict = {}
        for (r, c), fv in pt.firms.items():
            for axis, lab in ((0, r), (1, c)):
                firms.setdefault((axis, lab), set()).update(fv.index)
        for (axis, lab), fs in firms.items():
            if not 0 < len(fs) < k or lab == "合计":
                continue
            line = pt.raw.loc[lab] if axis == 0 else pt.raw[lab]
            shown = ~(pt.suppressed.loc[lab] if axis == 0 else pt.suppressed[lab])
            if ((line.abs() < 1e-12) & shown).any():
                self.attribute.append(
                    Leak("attribute", str(lab), float(len(fs)), 0, 0, source)
                )

    def add_list(self, frame: pd.DataFrame, column: str, groups: Mapping, source=""):
        """A list with one row per award/beneficiary: rows per label bound counts."""
        n = frame[column].astype(str).value_counts()
        for lab, rows in groups.items():
            if lab in n.index:
                self.add(Cell(source, rows, FIRMS, float(n[lab]), bound="le"))


#: a count of units as printed: "77家" (the number before 家)
_COUNT = re.compile(r"(?<![\d.])(\d+)\s*家")


def _count_in(text: str, names: Sequence[str], n: int, counts: set[int]) -> bool:
    """Whether ``text`` prints ``n`` 家 shortly after ``names`` (in order).

    ``counts``: every count ``text`` prints (:data:`_COUNT`), a quick necessary
    condition checked before the search.
    """
    if n not in counts or not names or not all(names):
        return False
    pat = ".{0,12}?".join(re.escape(x) for x in names)
    return re.search(rf"{pat}[^。；;\n<>]{{0,15}}?(?<![\d.]){n}\s*家", text) is not None


def standards() -> set[float]:
    """Amounts that are rules, not data (per-unit caps of the contract).

    A text printing "200.00万元" states a cap; matching it to an aggregate that
    happens to equal the cap would report leaks that are not there.
    """
    from jdeval.data.contract import get_contract

    caps = (v.get("cap") for v in get_contract().categories.values())
    return {round(float(c), 2) for c in caps if c is not None}


_TABLE = re.compile(r"<table\b.*?</table>|<w:tbl>.*?</w:tbl>", re.S)
_HEAD = re.compile(r"<thead\b.*?</thead>|<tr\b.*?</tr>|<w:tr\b.*?</w:tr>", re.S)
_AMOUNT = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+|\d+)\.(\d{2})(?!\d)")
_NOT_AMOUNT = re.compile(r"\s*[%％分天个项家年月日]")
_DATA_URI = re.compile(r"data:[^\"')\s]+")


def _numbers(text: str, *, prose: bool) -> set[str]:
    out = set()
    for m in _AMOUNT.finditer(text):
        tail = text[m.end() : m.end() + 4]
        if prose and not re.match(r"\s*万元", tail):
            continue
        if not prose and _NOT_AMOUNT.match(tail):
            continue
        out.add(f"{m.group(1).replace(',', '')}.{m.group(2)}")
    return out


def printed_amounts(texts: Iterable[str]) -> set[str]:
    """Every amount (万元, two decimals) an output prints, as ``"1234.56"``.

    In prose an amount is a number followed by 万元; in a table (HTML ``<table>``,
    Word ``<w:tbl>``, or a CSV text) every two-decimal number counts when the
    table's header or caption (the text just before it) names 万元.  Numbers
    followed by %, 分, 家 … are not amounts.
    """
    out: set[str] = set()
    for t in texts:
        t = _DATA_URI.sub("", t)
        if "<" not in t:  # CSV: one table per text
            if "万元" in t:
                out |= _numbers(t, prose=False)
            continue
        last = 0
        for m in _TABLE.finditer(t):
            out |= _numbers(_strip(t[last : m.start()]), prose=True)
            head = _HEAD.search(m.group(0))
            before = _strip(t[max(0, m.start() - 600) : m.start()])[-120:]
            if "万元" in before or (head and "万元" in _strip(head.group(0))):
                out |= _numbers(_strip(m.group(0)), prose=False)
            last = m.end()
        out |= _numbers(_strip(t[last:]), prose=True)
    return out


def _strip(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def _most_general(groups: Iterable[Group]) -> list[Group]:
    """One group per (measure, rows): the one with the fewest dimensions.

    A printed figure equal to several groups with the same rows (a category whose
    firms all sit in one town) is read as the most general of them.
    """
    best: dict = {}
    for g in groups:
        k = (g.measure, frozenset(g.rows))
        if k not in best or len(g.key) < len(best[k].key):
            best[k] = g
    return list(best.values())


#: "5/5项≤50万元；均值49.36万元": a mean printed with its count of awards
_MEAN_OF = re.compile(
    r"(\d+)\s*/\s*(\d+)\s*项[^（）()。]{0,40}?均值\s*([\d,]+\.\d{2})\s*万元"
)
#: "涉及企业77家、服务机构5家": counts of the two kinds of beneficiary
_KINDS = re.compile(r"企业\s*(\d+)\s*家[^。；;\n]{0,6}?服务机构\s*(\d+)\s*家")


def printed_means(blob: str) -> set[tuple[int, str]]:
    """Every (count of awards, mean as ``"49.36"``) an output prints together."""
    return {
        (int(m.group(2)), m.group(3).replace(",", "")) for m in _MEAN_OF.finditer(blob)
    }


def _mean_matches(g: Group, means: set[tuple[int, str]]) -> bool:
    """A printed mean × its count is ``g``'s total (to the mean's rounding)."""
    n = len(g.rows)
    return n > 0 and (n, f"{g.value / n:.2f}") in means


def from_texts(
    groups: Iterable[Group], texts: Iterable[str], *, ignore: set[float] = frozenset()
) -> list[Cell]:
    """Catalogued aggregates whose value a text prints (amounts; counts by label).

    Amounts in ``ignore`` (rule values such as caps) are not matched.
    """
    texts = [_DATA_URI.sub("", t) for t in texts]
    amounts = printed_amounts(texts)
    blob = "\n".join(_strip(t) for t in texts)
    means = printed_means(blob)
    counts = {int(m) for m in _COUNT.findall(blob)}
    out = []
    for g in _most_general(groups):
        if g.measure == FIRMS:
            hit = g.n_firms > 0 and _count_in(blob, g.names, g.n_firms, counts)
        elif _mean_matches(g, means):
            # a mean over n awards printed with n publishes the total
            hit = True
        else:
            # whole amounts (300.00) recur by coincidence — caps, standards,
            # other totals — so only amounts with cents are matched in text;
            # tables are audited from their cells, not their text
            hit = (
                round(g.value, 2) != round(g.value)
                and round(g.value, 2) not in ignore
                and f"{g.value:.2f}" in amounts
            )
        if hit:
            out.append(Cell("text", g.rows, g.measure, g.value, key=g.key))
    return out


# ---------------------------------------------------------------------- the LP
def _atoms(index: pd.Index, sets: list[np.ndarray]) -> np.ndarray:
    """Atom id per row: rows with the same membership over ``sets``."""
    rng = np.random.default_rng(0)
    sig = np.zeros(len(index), dtype=np.uint64)
    w = rng.integers(1, 2**63, size=len(sets), dtype=np.uint64)
    for j, s in enumerate(sets):
        pos = index.get_indexer(s)
        pos = pos[pos >= 0]
        np.add.at(sig, pos, w[j])  # uint64 arithmetic wraps: a hash of the set
    return pd.factorize(sig)[0]


def _interval(
    a_eq, b_eq, a_ub, b_ub, target: np.ndarray, *, low_if=None
) -> tuple[float, float]:
    """The reader's interval [min, max] of ``target · x`` (x ≥ 0, the relations).

    ``low_if(hi)`` may say the minimum cannot matter (it is then not solved and
    reported as 0).
    """
    from scipy.optimize import linprog

    kw = dict(bounds=(0, None), method="highs")
    args = {}
    if a_eq is not None:
        args.update(A_eq=a_eq, b_eq=b_eq)
    if a_ub is not None:
        args.update(A_ub=a_ub, b_ub=b_ub)
    r = linprog(-target, **args, **kw)
    hi = float(-r.fun) if r.status == 0 else np.inf
    if low_if is not None and not low_if(hi):
        return 0.0, hi
    r = linprog(target, **args, **kw)
    return (float(r.fun) if r.status == 0 else 0.0), hi


def _lp_audit(
    u: pd.DataFrame, measure: str, cells: list[Cell], targets: list[Group], rule: Rule
) -> list[Leak]:
    from scipy import sparse

    pub = [c for c in cells if c.measure == measure and c.value is not None]
    if not pub or not targets:
        return []
    unit = "beneficiary" if measure == FIRMS else "_id"
    index = pd.Index(u[unit].astype(str).unique() if measure == FIRMS else u["_id"])
    ids = pd.Index(u["_id"])
    firm_of = u["beneficiary"].astype(str).to_numpy()

    def units(rows: np.ndarray) -> np.ndarray:
        if measure != FIRMS:
            return rows
        pos = ids.get_indexer(rows)
        return np.unique(firm_of[pos[pos >= 0]])

    pub_sets = [units(c.rows) for c in pub]
    tgt_sets = [units(g.rows) for g in targets]
    atom = _atoms(index, pub_sets + tgt_sets)
    n_atoms = int(atom.max()) + 1 if len(atom) else 0

    def row(s: np.ndarray) -> np.ndarray:
        pos = index.get_indexer(s)
        v = np.zeros(n_atoms)
        v[np.unique(atom[pos[pos >= 0]])] = 1.0
        return v

    eq = [(row(s), c.value) for s, c in zip(pub_sets, pub) if c.bound == "eq"]
    ub = [(row(s), c.value) for s, c in zip(pub_sets, pub) if c.bound == "le"]
    # a label listed at all has at least one firm
    ub += [(-row(s), -1.0) for s, c in zip(pub_sets, pub) if c.bound == "le"]
    covered = np.zeros(n_atoms, dtype=bool)
    for v, _ in eq + ub:
        covered |= v > 0
    a_eq = sparse.csr_array(np.array([v for v, _ in eq])) if eq else None
    b_eq = np.array([b for _, b in eq]) if eq else None
    a_ub = sparse.csr_array(np.array([v for v, _ in ub])) if ub else None
    b_ub = np.array([b for _, b in ub]) if ub else None
    d = rule.dominance or 1.0
    tol = 1 / d - 1 if rule.dominance else 0.0
    leaks = []
    for g, s in zip(targets, tgt_sets):
        t = row(s)
        if not (t[~covered] == 0).all():  # an atom no published figure bounds
            continue
        lo, hi = _interval(a_eq, b_eq, a_ub, b_ub, t)
        if measure == FIRMS:  # known exactly, or known to be small and non-empty
            bad = hi - lo < 1 - 1e-9 or (lo >= 1 - 1e-9 and hi < rule.min_firms)
        else:
            bad = hi - lo <= tol * g.value + 1e-6 or hi * d < g.top - 1e-6
        if bad:
            leaks.append(
                Leak(
                    "count" if measure == FIRMS else "amount",
                    g.label,
                    g.n_firms if measure == FIRMS else g.value,
                    lo,
                    hi,
                )
            )
    return leaks


class _Space:
    """The reader's unknowns for amounts: every combination of the published
    dimensions (batch × category × town × industry), empty ones included — a
    reader knows the labels, not which combinations hold no award."""

    DIMS = ("batch_year", "category", "town_code", "industry_div")

    def __init__(self, u: pd.DataFrame) -> None:
        self.dims = [d for d in self.DIMS if d in u]
        codes, self.levels = [], []
        for d in self.dims:
            c, lev = pd.factorize(u[d].astype("object").fillna("—").astype(str))
            codes.append(c)
            self.levels.append({v: i for i, v in enumerate(lev)})
        self.shape = tuple(len(lv) for lv in self.levels)
        self.size = int(np.prod(self.shape)) if self.shape else 1
        flat = np.ravel_multi_index(codes, self.shape) if codes else np.zeros(len(u))
        self.ids = pd.Index(u["_id"])
        self.flat = np.asarray(flat, dtype=np.int64)

    def of_key(self, key: tuple) -> np.ndarray | None:
        idx: list = [slice(None)] * len(self.dims)
        for col, val in key:
            if col not in self.dims:
                return None
            j = self.dims.index(col)
            pos = self.levels[j].get(str(val))
            if pos is None:
                return np.array([], dtype=np.int64)
            idx[j] = pos
        grid = np.zeros(self.shape, dtype=bool)
        grid[tuple(idx)] = True
        return np.flatnonzero(grid)

    def of_rows(self, rows: np.ndarray) -> np.ndarray:
        pos = self.ids.get_indexer(rows)
        return np.unique(self.flat[pos[pos >= 0]])

    def of(self, cell, by_rows: Mapping) -> np.ndarray:
        key = getattr(cell, "key", None) or by_rows.get(frozenset(cell.rows))
        out = self.of_key(key) if key else None
        return self.of_rows(cell.rows) if out is None else out


def _amount_audit(
    u: pd.DataFrame,
    measure: str,
    cells: list[Cell],
    targets: list[Group],
    groups: list[Group],
    rule: Rule,
) -> list[Leak]:
    from scipy import sparse

    pub = [c for c in cells if c.measure == measure and c.value is not None]
    if not pub or not targets:
        return []
    sp = _Space(u)
    by_rows = {
        frozenset(g.rows): g.key for g in _most_general(groups) if g.measure == measure
    }
    sets = [sp.of(c, by_rows) for c in pub]
    tsets = [sp.of(g, by_rows) for g in targets]
    covered = np.zeros(sp.size, dtype=bool)
    for x in sets:
        covered[x] = True
    # combinations no figure tells apart act as one unknown (their sum)
    col = _atoms(pd.RangeIndex(sp.size), sets + tsets)
    col = np.where(covered, col, -1)
    used = np.unique(col[col >= 0])
    col = np.searchsorted(used, col)
    r = np.concatenate([np.full(len(x), i) for i, x in enumerate(sets)])
    c = col[np.concatenate(sets)]
    a = sparse.coo_array((np.ones(len(r)), (r, c)), shape=(len(sets), used.size))
    a_eq = sparse.csr_array((a.tocsr() > 0).astype(float))
    b_eq = np.array([x.value for x in pub])
    d = rule.dominance or 1.0
    tol = 1 / d - 1 if rule.dominance else 0.0
    leaks = []
    for g, t_idx in zip(targets, tsets):
        if t_idx.size == 0 or not covered[t_idx].all():
            continue  # part of it is bounded by nothing published
        t = np.zeros(used.size)
        t[col[t_idx]] = 1.0
        # the true value is feasible, so min ≤ value: when max exceeds
        # value·(1 + tol) the width test passes whatever the minimum
        lo, hi = _interval(
            a_eq, b_eq, None, None, t, low_if=lambda h, v=g.value: h <= v * (1 + tol)
        )
        if hi - lo <= tol * g.value + 1e-6 or hi * d < g.top - 1e-6:
            leaks.append(Leak("amount", g.label, g.value, lo, hi))
    return leaks


def _kind_counts(u: pd.DataFrame, year: int, texts: Sequence[str]) -> list[Cell]:
    """Prose counts of enterprises and service providers (e.g. the 摘要's)."""
    if "provider_id" not in u:
        return []
    this = u.loc[u["batch_year"] == year]
    prov = this["provider_id"].notna() & this["firm_id"].isna()
    kinds = [(this.loc[~prov], 1), (this.loc[prov], 2)]
    out = []
    for m in _KINDS.finditer("\n".join(_strip(_DATA_URI.sub("", t)) for t in texts)):
        for rows, grp in kinds:
            n = int(m.group(grp))
            if n and rows["beneficiary"].nunique() == n:
                out.append(Cell("text", rows["_id"].to_numpy(), FIRMS, float(n)))
    return out


# ----------------------------------------------------------------------- entry
def audit(
    ds,
    *,
    year: int,
    rule: Rule,
    statuses: Sequence[str],
    tables: Iterable = (),
    lists: Iterable[tuple[pd.DataFrame, str]] = (),
    texts: Iterable[str] = (),
    measures: Sequence[str] | None = None,
    memo=None,
) -> Audit:
    """Audit one edition jointly.

    Parameters
    ----------
    ds
        The dataset the edition was built from.
    year, rule, statuses
        Evaluation year, the disclosure rule (``policies.disclosure.rule``) and
        the approved statuses (``policies.approved_statuses``).
    tables
        ``(source, ProtectedTable)`` pairs of the edition.
    lists
        ``(frame, category_column)`` of annex lists with a row per award.
    texts
        Every output's text: report HTML, .docx XML, CSV exports, index and
        notebook pages.
    memo
        Optional ``memo(fn, ds, **kwargs)`` that may return a stored
        ``fn(ds, **kwargs)`` (e.g. :func:`jdeval.build.share.memo_in`), keyed by
        content: the catalogue is built again only when the data or the rule
        changed, the linear programmes only when a published figure did too.
    """
    u = universe(ds, statuses)
    solve = memo or _direct
    groups = solve(_catalogue, ds, year=year, rule=rule, statuses=tuple(statuses))
    reg = Registry(dict(zip(u["_id"], u["batch_year"])))
    for i, (source, pt) in enumerate(tables):
        reg.add_table(pt, source, min_firms=rule.min_firms, number=i)
    by_cat = {
        g.names[0]: g.rows
        for g in groups
        if g.measure == FIRMS and g.dims == ("category",)
    }
    for frame, col in lists:
        reg.add_list(frame, col, by_cat, "list")
    texts = list(texts)
    for c in from_texts(groups, texts, ignore=standards()):
        reg.add(c)
    for c in _kind_counts(u, year, texts):
        reg.add(c)
    if measures is None:
        measures = {FIRMS, *[m for m in AMOUNTS if m in u]}
    leaks = list(reg.attribute) + solve(
        _recoverable,
        ds,
        statuses=tuple(statuses),
        rule=rule,
        groups=groups,
        cells=reg.cells,
        measures=tuple(sorted(measures)),
    )
    n_conf = sum(g.unsafe and g.n_firms > 0 for g in groups)
    n_pub = sum(c.value is not None for c in reg.cells)
    return Audit(leaks, n_conf, n_pub, registry=reg)


def _direct(fn, ds, **kwargs):
    return fn(ds, **kwargs)


def _catalogue(ds, *, year: int, rule: Rule, statuses: tuple[str, ...]) -> list[Group]:
    """:func:`catalogue` of the data (a function of the data and the rule only)."""
    u = universe(ds, statuses)
    return catalogue(u, year=year, rule=rule, labels=_labels(ds))


def _recoverable(
    ds,
    *,
    statuses: tuple[str, ...],
    rule: Rule,
    groups: list[Group],
    cells: list[Cell],
    measures: tuple[str, ...],
) -> list[Leak]:
    """Confidential figures that the published ``cells`` determine (the LPs).

    The expensive part of :func:`audit`, a function of the data, the rule, the
    catalogue and the published cells only — so a build whose edit changed wording
    but no published figure reuses it (``memo``).
    """
    u = universe(ds, statuses)
    conf = [g for g in groups if g.unsafe and g.n_firms > 0]
    leaks: list[Leak] = []
    for m in measures:
        tg = [g for g in conf if g.measure == m]
        if m == FIRMS:
            leaks += _lp_audit(u, m, cells, tg, rule)
        else:
            leaks += _amount_audit(u, m, cells, tg, groups, rule)
    return leaks


# -------------------------------------------------- displays beside the tables
def redact_withheld(report, *, min_firms: int = 3) -> int:
    """Withhold, in a reviewer report's texts, aggregates its tables withhold.

    An indicator display "5/5项≤50万元；均值49.36万元" publishes the total of
    its awards (count × mean), and "涉及企业77家、服务机构5家" the count of
    each kind of beneficiary.  Once :func:`~jdeval.report.disclosure.reconcile`
    has settled which table cells are withheld, a mean whose count × mean is a
    withheld amount loses the mean, and the two kind counts are merged into the
    published number of beneficiaries when a count of that size is withheld.
    Paragraphs, table frames, the scorecard and the 摘要 are changed in place.

    Returns
    -------
    int
        Number of texts changed.
    """
    from jdeval.report import disclosure

    reg = Registry()
    for t in report.tables:
        pt = getattr(t, "data", None)
        if isinstance(pt, disclosure.ProtectedTable) and pt.audience == "reviewer":
            reg.add_table(pt, min_firms=min_firms)
    held = [c for c in reg.cells if c.value is None and c.withheld is not None]
    means = {
        (len(c.rows), f"{c.withheld / len(c.rows):.2f}")
        for c in held
        if c.measure != FIRMS and len(c.rows)
    }
    counts = {int(round(c.withheld)) for c in held if c.measure == FIRMS}

    def fix(text):
        if not isinstance(text, str):
            return text
        out = _MEAN_OF.sub(lambda m: _drop_mean(m, means), text)
        return _KINDS.sub(lambda m: _merge_kinds(m, counts), out)

    return _apply(report, fix)


def redact_means(texts, ds, *, year: int, targets=None):
    """Drop, from indicator displays, means whose total the edition withholds.

    For pages built without the report (notebook 03's score table): the report's
    distribution tables are protected and reconciled as the report does
    (:func:`jdeval.report.distribution.withheld`), and a "n/n项…均值x万元" whose
    n × x is a withheld total loses the mean, as :func:`redact_withheld` does in
    the report.
    """
    from jdeval.report import distribution

    rule, statuses = _targets_rule(targets)
    reg = Registry()
    for pt in distribution.withheld(
        ds,
        year,
        statuses=statuses,
        min_firms=rule.min_firms,
        dominance=rule.dominance,
    ):
        reg.add_table(pt, min_firms=rule.min_firms)
    means = {
        (len(c.rows), f"{c.withheld / len(c.rows):.2f}")
        for c in reg.cells
        if c.value is None and c.withheld is not None and c.measure != FIRMS
        if len(c.rows)
    }
    return texts.map(
        lambda t: (
            _MEAN_OF.sub(lambda m: _drop_mean(m, means), t) if isinstance(t, str) else t
        )
    )


def _drop_mean(m: re.Match, means: set) -> str:
    if (int(m.group(2)), m.group(3).replace(",", "")) not in means:
        return m.group(0)
    return re.sub(r"[，,；;]?\s*均值\s*[\d,]+\.\d{2}\s*万元$", "", m.group(0))


def _merge_kinds(m: re.Match, counts: set) -> str:
    a, b = int(m.group(1)), int(m.group(2))
    if a not in counts and b not in counts:
        return m.group(0)
    return f"受益单位{a + b}家"


def _apply(report, fix) -> int:
    from jdeval.report.document import Paragraph, Section, Table

    changed = 0

    def blocks(items):
        nonlocal changed
        for b in items:
            if isinstance(b, Section):
                blocks(b.blocks)
            elif isinstance(b, Paragraph):
                new = fix(b.text)
                changed += new != b.text
                b.text = new
            elif isinstance(b, Table):
                frame(b.frame)

    def frame(f):
        nonlocal changed
        if f is None:
            return
        for c in f.columns:
            if f[c].dtype == object or pd.api.types.is_string_dtype(f[c]):
                new = f[c].map(fix)
                changed += int((new.astype(str) != f[c].astype(str)).sum())
                f[c] = new

    blocks(report.sections)
    frame(report.scorecard)
    new = [fix(x) for x in report.summary_zh]
    changed += sum(a != b for a, b in zip(new, report.summary_zh))
    report.summary_zh = new
    return changed


# ------------------------------------------------------------ whole editions
def edition_texts(folder) -> list[str]:
    """The text of every published file under ``folder``.

    HTML pages (report, index, notebooks), Word files (their XML parts), CSV and
    plain-text files; images and other binaries carry no text to search.
    """
    import zipfile
    from pathlib import Path

    out = []
    for p in sorted(Path(folder).rglob("*")):
        if not p.is_file():
            continue
        suf = p.suffix.lower()
        if suf in (".html", ".htm", ".csv", ".txt", ".md", ".json"):
            out.append(p.read_text(encoding="utf-8-sig", errors="replace"))
        elif suf in (".docx", ".xlsx"):
            with zipfile.ZipFile(p) as z:
                out += [
                    z.read(n).decode("utf-8", "replace")
                    for n in z.namelist()
                    if n.endswith(".xml")
                ]
    return out


def _targets_rule(targets):
    from jdeval.indicators import load_targets

    t = targets if hasattr(targets, "policies") else load_targets(targets)
    return t.policies.disclosure.rule, list(t.policies.approved_statuses)


def audit_report(report, ds, *, targets=None, texts: Iterable[str] = ()) -> Audit:
    """Audit an assembled reviewer :class:`~jdeval.report.document.Report` jointly.

    Its protected tables enter with their exact cells, its annex lists with their
    row counts, and its HTML, Word XML and CSV exports as text, together with
    ``texts`` (e.g. the edition's notebook pages and index page).
    """
    import tempfile
    from pathlib import Path

    from jdeval.report import disclosure

    rule, statuses = _targets_rule(targets)
    with tempfile.TemporaryDirectory() as tmp:
        report.to_docx(Path(tmp) / "r.docx")
        report.export_tables(Path(tmp) / "csv")
        own = edition_texts(tmp)
    return audit(
        ds,
        year=report.year,
        rule=rule,
        statuses=statuses,
        tables=[
            (t.key, t.data)
            for t in report.tables
            if isinstance(t.data, disclosure.ProtectedTable)
        ],
        lists=[
            (t.frame, "补贴类别")
            for t in report.tables
            if "补贴类别" in t.frame.columns and "序号" in t.frame.columns
        ],
        texts=[report.to_html(), *own, *texts],
    )


def audit_folder(folder, ds, *, year: int, targets=None, memo=None) -> Audit:
    """Audit a published edition from its files alone (e.g. after a build).

    Without the tables' cells the reader's relations are those the text shows
    (amounts with cents, counts beside their label); :func:`audit_report` is
    the stronger check where the report object is at hand.  ``memo`` as for
    :func:`audit`.
    """
    rule, statuses = _targets_rule(targets)
    return audit(
        ds,
        year=year,
        rule=rule,
        statuses=statuses,
        texts=edition_texts(folder),
        memo=memo,
    )
