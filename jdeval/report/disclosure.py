"""Disclosure control for reviewer outputs: who may see what.

Two audiences:

``internal``
    Evaluators.  Tables show every cell; firm identifiers may appear.
``reviewer`` (default)
    Finance bureau, auditors, the public.  No firm names or identifiers; the
    beneficiary annex is anonymised; every table of aggregates passes statistical
    disclosure control (SDC):

    * **threshold rule** — a cell describing fewer than ``min_firms`` (3) firms is
      suppressed;
    * **dominance rule** — a cell in which one firm holds more than ``dominance``
      (85 %) of the amount is suppressed;
    * **complementary suppression** — every published total (row/column margin,
      grand total) is a linear relation ``Σ cells = total``; a relation may not have
      exactly one unknown, and where the total is published the suppressed cells of
      the relation together must themselves pass both rules (otherwise their sum,
      total minus the published cells, would disclose them).  Further cells (the
      smallest first) are suppressed until every relation is safe.

Suppressed cells show :data:`MARK` and the table carries a footnote.  Tables are
built from firm-level rows so each cell's firm count and top-firm share are known::

    t = protect(awards, by=["town_name"], value="approved_amount")
    t.frame        # display strings with "—*"
    t.values       # numbers, NaN where suppressed
    t.suppressed   # boolean mask
    t.footnote     # Chinese / English note

:meth:`ProtectedTable.audit` checks the result as an attacker would: for each
suppressed cell it solves two linear programmes (min and max of the cell subject to
the published margins and non-negativity) and reports the feasible interval.

The rule itself (``min_firms``, ``dominance``) lives in the targets file
(``policies.disclosure``) and is applied by :mod:`jdeval.indicators.sdc`;
:func:`reconcile` makes the protected tables of one edition agree and
:mod:`jdeval.report.gate` audits everything an edition publishes jointly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from jdeval.errors import ConfigError, Problem
from jdeval.indicators import sdc
from jdeval.report import formats

__all__ = [
    "AUDIENCES",
    "IDENTIFIER_COLUMNS",
    "MARK",
    "ProtectedTable",
    "AMOUNT_BANDS",
    "amount_band",
    "anonymise",
    "beneficiary_annex",
    "check_audience",
    "find_identifiers",
    "protect",
    "reconcile",
    "redact_display",
]

Audience = Literal["internal", "reviewer"]
AUDIENCES: tuple[str, ...] = ("reviewer", "internal")
MARK = "—*"
TOTAL = "合计"

#: Columns that identify a firm, an award or a person; never shown to reviewers.
IDENTIFIER_COLUMNS: frozenset[str] = frozenset(
    {
        "firm_id",
        "uscc",
        "name",
        "name_masked",
        "firm_name",
        "award_id",
        "loan_id",
        "provider_id",
        "diag_id",
        "rec_id",
        "response_id",
        "event_id",
        "project_name",
        "comment",
        "bank",
        "scene_name",
        "contact",
        "phone",
        "address",
    }
)

FOOTNOTE_ZH = (
    "注：“{mark}”表示按统计披露控制规则不予显示的数值：涉及企业少于{k}家，"
    "或单一企业金额占比超过{d}；为防止由合计倒推，部分单元格同时隐去。"
)
FOOTNOTE_EN = (
    "Note: “{mark}” marks values withheld by statistical disclosure control: fewer "
    "than {k} firms, or one firm holding more than {d} of the amount; some further "
    "cells are withheld so that totals cannot reveal them."
)


def check_audience(audience: str) -> str:
    """Validate an audience name.

    Raises
    ------
    ConfigError
        If ``audience`` is not ``"reviewer"`` or ``"internal"``.
    """
    if audience not in AUDIENCES:
        raise ConfigError(
            "受众参数无效 / invalid audience",
            [
                Problem(
                    "error",
                    "audience",
                    f"受众只能是 reviewer（评审，默认）或 internal（内部），而不是 {audience!r}。",
                    f"audience must be 'reviewer' (default) or 'internal', not {audience!r}.",
                    column="audience",
                    value=audience,
                )
            ],
        )
    return audience


# --------------------------------------------------------------------------- cells
@dataclass
class _Cell:
    firm_values: pd.Series  # value per firm (index = firm id)
    rows: np.ndarray | None = None  # identifiers of the rows summed (for the gate)

    @property
    def n_firms(self) -> int:
        return int(self.firm_values.size)

    @property
    def total(self) -> float:
        return float(self.firm_values.sum())


def _unsafe(firm_values: pd.Series, min_firms: int, dominance: float | None) -> bool:
    return sdc.unsafe(firm_values, min_firms=min_firms, dominance=dominance)


def _firm_values(rows: pd.DataFrame, firm: str, value: str | None) -> pd.Series:
    if rows.empty:
        return pd.Series(dtype=float)
    if value is None:
        return rows.groupby(firm, sort=False).size().astype(float)
    v = pd.to_numeric(rows[value], errors="coerce").fillna(0.0).astype(float)
    return v.groupby(rows[firm].to_numpy(), sort=False).sum()


def _row_ids(rows: pd.DataFrame) -> np.ndarray:
    """What identifies a row summed into a cell (award id, else the row label)."""
    for c in ("award_id", "loan_id", "response_id"):
        if c in rows.columns:
            return rows[c].astype(str).to_numpy()
    return rows.index.astype(str).to_numpy()


def _cell(rows: pd.DataFrame, firm: str, value: str | None) -> _Cell:
    return _Cell(_firm_values(rows, firm, value), _row_ids(rows))


# ------------------------------------------------------------------ result object
@dataclass
class ProtectedTable:
    """A table of aggregates after disclosure control.

    Attributes
    ----------
    values : DataFrame
        Numbers (NaN where suppressed).  Index: categories then ``合计``.
    raw : DataFrame
        Numbers before suppression (keep internal; never render for reviewers).
    suppressed : DataFrame
        Boolean mask, same shape as ``values``; True where withheld.
    primary : DataFrame
        Mask of cells withheld by the threshold/dominance rules themselves.
    n_firms : DataFrame
        Distinct firms per cell (before suppression).
    frame : DataFrame
        Display strings (Chinese number formats, ``—*`` for suppressed cells).
    footnote, footnote_en : str
        The note to print under the table ("" when nothing is suppressed).
    relations : list
        The published linear relations (members, total) used for complementary
        suppression and :meth:`audit`.
    """

    values: pd.DataFrame
    raw: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    n_firms: pd.DataFrame
    frame: pd.DataFrame
    footnote: str
    footnote_en: str
    audience: str
    additive: tuple[str, ...] = ()
    relations: list[tuple[list[tuple[object, object]], tuple[object, object]]] = field(
        default_factory=list
    )
    title: str = ""
    members: dict[tuple[object, object], np.ndarray] = field(default_factory=dict)
    value_name: str | None = None
    firms: dict[tuple[object, object], pd.Series] = field(default_factory=dict)
    keys: dict[tuple[object, object], tuple] = field(default_factory=dict)

    def to_html(self, *, classes: str = "jd-table", escape: bool = True) -> str:
        """HTML of :attr:`frame` plus the footnote (text is escaped)."""
        from markupsafe import escape as esc

        html = self.frame.to_html(classes=classes, escape=escape, border=0)
        if self.footnote:
            html += f'<p class="jd-note">{esc(self.footnote)}</p>'
        return html

    def audit(self, column: str | None = None) -> pd.DataFrame:
        """Attacker's feasible interval of every suppressed additive cell.

        Solves ``min x_c`` and ``max x_c`` subject to the published relations
        (``Σ members = total``), published values and ``x ≥ 0``.  A cell is
        *disclosed* when its interval collapses to a point.

        Parameters
        ----------
        column
            For one-way tables, which additive statistic column to audit (default
            the last additive one).

        Returns
        -------
        DataFrame
            ``row, col, true_value, low, high, disclosed``.
        """
        from scipy.optimize import linprog

        rel = self.relations
        raw, sup = self.raw, self.suppressed
        if rel and rel[0][1][1] == "__col__":  # one-way table: audit one column
            col = column or self.additive[-1]
            cells = [(r, col) for r in raw.index if sup.loc[r, col]]
            rel = [([(r, col) for r, _ in m], (t[0], col)) for m, t in rel]
        else:
            cells = [(r, c) for r in raw.index for c in raw.columns if sup.loc[r, c]]
        idx = {c: i for i, c in enumerate(cells)}
        a_eq, b_eq = [], []
        for members, total in rel:
            coef = np.zeros(len(cells))
            rhs = 0.0
            for m in members:
                if m in idx:
                    coef[idx[m]] += 1
                else:
                    rhs -= float(raw.loc[m])
            if total in idx:
                coef[idx[total]] -= 1
            else:
                rhs += float(raw.loc[total])
            if np.any(coef):
                a_eq.append(coef)
                b_eq.append(rhs)
        out = []
        for c in cells:
            lo = hi = np.nan
            if a_eq:
                obj = np.zeros(len(cells))
                obj[idx[c]] = 1
                r1 = linprog(
                    obj,
                    A_eq=np.array(a_eq),
                    b_eq=np.array(b_eq),
                    bounds=(0, None),
                    method="highs",
                )
                r2 = linprog(
                    -obj,
                    A_eq=np.array(a_eq),
                    b_eq=np.array(b_eq),
                    bounds=(0, None),
                    method="highs",
                )
                lo = r1.fun if r1.status == 0 else np.nan
                hi = -r2.fun if r2.status == 0 else np.inf
            tv = float(raw.loc[c])
            disclosed = bool(np.isfinite(hi) and abs(hi - lo) <= 1e-6 * max(1, abs(tv)))
            out.append(
                {
                    "row": c[0],
                    "col": c[1],
                    "true_value": tv,
                    "low": lo,
                    "high": hi,
                    "disclosed": disclosed,
                }
            )
        return pd.DataFrame(
            out, columns=["row", "col", "true_value", "low", "high", "disclosed"]
        )


# ------------------------------------------------------------------ the algorithm
def _complementary(
    sup: dict, cells: dict, relations: list, min_firms: int, dominance: float | None
) -> None:
    """Add suppressions until no published relation discloses a suppressed cell."""
    changed = True
    while changed:
        changed = False
        for members, total in relations:
            hidden = [m for m in members if sup[m]]
            unknowns = len(hidden) + int(sup[total])
            if unknowns == 0:
                continue
            need = unknowns == 1
            if not need and not sup[total]:
                union = pd.concat([cells[m].firm_values for m in hidden])
                union = union.groupby(level=0).sum()
                # hidden cells that are all empty would add up to a published 0
                need = union.empty or _unsafe(union, min_firms, dominance)
            if not need:
                continue
            cand = [m for m in members if not sup[m] and cells[m].n_firms > 0]
            cand.sort(key=lambda m: (cells[m].n_firms, cells[m].total))
            if cand:
                sup[cand[0]] = True
                changed = True
            elif not sup[total]:
                sup[total] = True
                changed = True


def _attribute_zeros(
    primary: dict, cells: dict, rows: pd.DataFrame, by: list, firm: str, k: int
) -> None:
    """Withhold the empty cells of a row or column describing fewer than k firms.

    A published 0 in the other categories of a town with one beneficiary tells the
    reader that firm's category (attribute disclosure), even with its amount hidden.
    """
    for axis, col in enumerate(by):
        n = rows.groupby(col, sort=False)[firm].nunique()
        small = set(n.index[(n > 0) & (n < k)])
        for key, c in cells.items():
            if key[axis] in small and c.n_firms == 0:
                primary[key] = True


def _fmt(v: float, kind: str) -> str:
    if kind == "firms" or kind == "count":
        return formats.integer(v)
    return formats.number(v, 2)


def protect(
    rows: pd.DataFrame,
    by: str | Sequence[str],
    value: str | None = None,
    *,
    firm: str = "firm_id",
    min_firms: int = 3,
    dominance: float | None = 0.85,
    margins: bool = True,
    audience: str = "reviewer",
    labels: Mapping[str, Mapping[object, str]] | None = None,
    order: Mapping[str, Sequence[object]] | None = None,
    value_label: str = "金额（万元）",
    firms_label: str = "企业数（家）",
    total_label: str = TOTAL,
    title: str = "",
) -> ProtectedTable:
    """Aggregate firm-level rows into a table and apply disclosure control.

    Parameters
    ----------
    rows
        Firm-level records (one per award, firm, response …) with column ``firm``.
    by
        One column (a one-way table with columns firm count and, with ``value``,
        the amount) or two columns (a cross table of ``value`` sums, or firm
        counts without ``value``; rows = first, columns = second).
    value
        Amount column to sum (万元).  Without it the statistic is the firm count.
    firm
        Firm identifier column (used for counts and top-firm shares; never shown).
    min_firms
        Threshold rule: cells with fewer firms are suppressed (default 3).
    dominance
        Dominance rule: suppress when one firm holds more than this share of the
        cell amount (default 0.85); ``None`` disables it.
    margins
        Add the ``合计`` row (and column for cross tables).
    audience
        ``"reviewer"`` applies the rules; ``"internal"`` shows every cell.
    labels
        ``{column: {code: display name}}`` for category labels.
    order
        ``{column: [codes in display order]}``; categories not listed follow.
    value_label, firms_label, total_label, title
        Display labels.

    Returns
    -------
    ProtectedTable

    Raises
    ------
    ConfigError
        Bad audience, thresholds or missing columns.
    """
    check_audience(audience)
    by = [by] if isinstance(by, str) else list(by)
    problems = []
    if not 1 <= len(by) <= 2:
        problems.append(
            Problem(
                "error",
                "sdc_by",
                "分组维度须为1或2个。",
                "by must name one or two columns.",
                value=by,
            )
        )
    missing = [
        c for c in [*by, firm, *([value] if value else [])] if c not in rows.columns
    ]
    if missing:
        problems.append(
            Problem(
                "error",
                "sdc_columns",
                f"缺少列：{missing}",
                f"missing columns: {missing}",
                value=missing,
            )
        )
    if min_firms < 1 or (dominance is not None and not 0 < dominance <= 1):
        problems.append(
            Problem(
                "error",
                "sdc_threshold",
                "阈值无效：min_firms≥1，0<dominance≤1。",
                "invalid thresholds: min_firms>=1, 0<dominance<=1.",
                value=(min_firms, dominance),
            )
        )
    if problems:
        raise ConfigError(
            "披露控制参数错误 / bad disclosure-control arguments", problems
        )

    rows = rows.loc[rows[firm].notna()]
    labels = labels or {}
    order = order or {}

    def cats(col: str) -> list:
        present = list(pd.unique(rows[col].dropna()))
        first = [c for c in order.get(col, []) if c in present or col in order]
        rest = sorted((c for c in present if c not in first), key=str)
        return first + rest

    def lab(col: str, code: object) -> str:
        return str(labels.get(col, {}).get(code, code))

    reviewer = audience == "reviewer"
    cells: dict = {}
    relations: list = []

    if len(by) == 1:
        col = by[0]
        keys = cats(col)
        groups = {k: g for k, g in rows.groupby(col, sort=False)}
        for k in keys:
            cells[(k, "__col__")] = _cell(groups.get(k, rows.iloc[:0]), firm, value)
        if margins:
            cells[(TOTAL, "__col__")] = _cell(rows, firm, value)
            relations.append(([(k, "__col__") for k in keys], (TOTAL, "__col__")))
        row_keys = keys + ([TOTAL] if margins else [])
        col_keys = ["__col__"]
    else:
        rcol, ccol = by
        rkeys, ckeys = cats(rcol), cats(ccol)
        groups = {k: g for k, g in rows.groupby([rcol, ccol], sort=False)}
        rgroups = {k: g for k, g in rows.groupby(rcol, sort=False)}
        cgroups = {k: g for k, g in rows.groupby(ccol, sort=False)}
        empty = rows.iloc[:0]
        for r in rkeys:
            for c in ckeys:
                cells[(r, c)] = _cell(groups.get((r, c), empty), firm, value)
        if margins:
            for r in rkeys:
                cells[(r, TOTAL)] = _cell(rgroups.get(r, empty), firm, value)
            for c in ckeys:
                cells[(TOTAL, c)] = _cell(cgroups.get(c, empty), firm, value)
            cells[(TOTAL, TOTAL)] = _cell(rows, firm, value)
            for r in [*rkeys, TOTAL]:
                relations.append(([(r, c) for c in ckeys], (r, TOTAL)))
            for c in [*ckeys, TOTAL]:
                relations.append(([(r, c) for r in rkeys], (TOTAL, c)))
        row_keys = rkeys + ([TOTAL] if margins else [])
        col_keys = ckeys + ([TOTAL] if margins else [])

    primary = {
        k: reviewer and _unsafe(c.firm_values, min_firms, dominance)
        for k, c in cells.items()
    }
    if reviewer and len(by) == 2:
        _attribute_zeros(primary, cells, rows, by, firm, min_firms)
    sup = dict(primary)
    if reviewer:
        _complementary(sup, cells, relations, min_firms, dominance)

    # ---- assemble frames
    if len(by) == 1:
        stat_cols = [firms_label] + ([value_label] if value else [])
        kinds = ["firms"] + (["sum"] if value else [])
        idx = pd.Index(
            [lab(by[0], k) if k != TOTAL else total_label for k in row_keys],
            name=labels.get("__index_name__", {}).get(by[0], by[0])
            if isinstance(labels.get("__index_name__"), Mapping)
            else by[0],
        )
        raw = pd.DataFrame(index=idx, columns=stat_cols, dtype=float)
        mask = pd.DataFrame(False, index=idx, columns=stat_cols)
        prim = mask.copy()
        nf = pd.DataFrame(0, index=idx, columns=stat_cols)
        for label_, k in zip(idx, row_keys):
            c = cells[(k, "__col__")]
            raw.loc[label_, firms_label] = c.n_firms
            if value:
                raw.loc[label_, value_label] = c.total
            mask.loc[label_, :] = sup[(k, "__col__")]
            prim.loc[label_, :] = primary[(k, "__col__")]
            nf.loc[label_, :] = c.n_firms
        additive = tuple(stat_cols)
        key_to_label = dict(zip(row_keys, idx))
        rel_out = [
            (
                [(key_to_label[m[0]], "__col__") for m in ms],
                (key_to_label[t[0]], "__col__"),
            )
            for ms, t in relations
        ]
    else:
        kinds = ["sum" if value else "firms"]
        rl = [lab(by[0], k) if k != TOTAL else total_label for k in row_keys]
        cl = [lab(by[1], k) if k != TOTAL else total_label for k in col_keys]
        idx = pd.Index(rl, name=by[0])
        cols = pd.Index(cl, name=by[1])
        raw = pd.DataFrame(index=idx, columns=cols, dtype=float)
        mask = pd.DataFrame(False, index=idx, columns=cols)
        prim = mask.copy()
        nf = pd.DataFrame(0, index=idx, columns=cols)
        rmap, cmap = dict(zip(row_keys, rl)), dict(zip(col_keys, cl))
        for (r, c), cell in cells.items():
            raw.loc[rmap[r], cmap[c]] = cell.total if value else cell.n_firms
            mask.loc[rmap[r], cmap[c]] = sup[(r, c)]
            prim.loc[rmap[r], cmap[c]] = primary[(r, c)]
            nf.loc[rmap[r], cmap[c]] = cell.n_firms
        additive = ("sum",) if value else ()
        rel_out = [
            ([(rmap[a], cmap[b]) for a, b in ms], (rmap[t[0]], cmap[t[1]]))
            for ms, t in relations
        ]

    if len(by) == 1:
        lab_of = {k: (key_to_label[k], "__col__") for k in row_keys}
        label_key = {(r, c): lab_of[r] for r, c in cells}
    else:
        label_key = {(r, c): (rmap[r], cmap[c]) for r, c in cells}
    members = {label_key[k]: c.rows for k, c in cells.items()}
    # what defines each cell: ((column, code), …), margins leaving a column free
    keys = {
        label_key[k]: tuple(
            (col, code) for col, code in zip(by, k) if code not in (TOTAL, "__col__")
        )
        for k in cells
    }
    firm_vals = {label_key[k]: c.firm_values for k, c in cells.items()}
    values = raw.mask(mask)
    disp = pd.DataFrame("", index=raw.index, columns=raw.columns, dtype=object)
    for j, colname in enumerate(raw.columns):
        kind = kinds[j] if len(by) == 1 else kinds[0]
        for i in raw.index:
            disp.loc[i, colname] = (
                MARK if mask.loc[i, colname] else _fmt(raw.loc[i, colname], kind)
            )
    any_sup = bool(mask.to_numpy().any())
    dtxt = formats.percent(dominance, 0) if dominance is not None else "—"
    return ProtectedTable(
        values=values,
        raw=raw,
        suppressed=mask,
        primary=prim,
        n_firms=nf,
        frame=disp,
        footnote=FOOTNOTE_ZH.format(mark=MARK, k=min_firms, d=dtxt) if any_sup else "",
        footnote_en=FOOTNOTE_EN.format(mark=MARK, k=min_firms, d=dtxt)
        if any_sup
        else "",
        audience=audience,
        additive=additive if len(by) == 1 or value else (),
        relations=rel_out,
        title=title,
        members=members,
        value_name=value,
        firms=firm_vals,
        keys=keys,
    )


# --------------------------------------------------------- one edition, jointly
def _cell_mask(pt: ProtectedTable, lab: tuple) -> pd.Series | bool:
    if lab[1] == "__col__":
        return bool(pt.suppressed.loc[lab[0]].any())
    return bool(pt.suppressed.loc[lab])


def withhold(pt: ProtectedTable, lab: tuple) -> None:
    """Withhold one cell (a whole row of a one-way table) in place."""
    where = (lab[0], slice(None)) if lab[1] == "__col__" else lab
    pt.suppressed.loc[where] = True
    pt.values.loc[where] = np.nan
    pt.frame.loc[where] = MARK


def reconcile(
    tables: Sequence, *, min_firms: int = 3, dominance: float | None = 0.85
) -> int:
    """Complementary suppression over all protected tables of an edition at once.

    Tables built from the same rows share cells (a town's row in the town table is
    the row margin of the town × category table; a category's row in 表1 is its
    column margin): a cell is the same figure wherever it is published, so it is
    withheld everywhere once withheld anywhere, and every table's relations are
    checked together (each table alone being safe does not make them safe
    together).  Masks, values and display frames are updated in place.

    Parameters
    ----------
    tables
        Objects with ``data`` (a :class:`ProtectedTable`), ``frame`` and
        ``footnote`` (the report's ``Table``); other tables are ignored.

    Returns
    -------
    int
        Number of cells newly withheld.
    """
    tabs = [t for t in tables if isinstance(getattr(t, "data", None), ProtectedTable)]
    tabs = [t for t in tabs if t.data.audience == "reviewer" and t.data.members]
    gid: dict = {}
    cells: dict = {}
    sup: dict = {}
    for ti, t in enumerate(tabs):
        pt = t.data
        for lab, rows in pt.members.items():
            key = (pt.value_name, frozenset(rows)) if len(rows) else (ti, lab)
            gid[(ti, lab)] = key
            cells[key] = _Cell(pt.firms[lab], rows)
            sup[key] = sup.get(key, False) or _cell_mask(pt, lab)
    relations = [
        ([gid[(ti, m)] for m in ms], gid[(ti, tot)])
        for ti, t in enumerate(tabs)
        for ms, tot in t.data.relations
    ]
    _complementary(sup, cells, relations, min_firms, dominance)
    added = 0
    for ti, t in enumerate(tabs):
        pt = t.data
        for lab in pt.members:
            if sup[gid[(ti, lab)]] and not _cell_mask(pt, lab):
                withhold(pt, lab)
                added += 1
        if pt.suppressed.to_numpy().any() and not pt.footnote:
            dtxt = formats.percent(dominance, 0) if dominance is not None else "—"
            pt.footnote = FOOTNOTE_ZH.format(mark=MARK, k=min_firms, d=dtxt)
            pt.footnote_en = FOOTNOTE_EN.format(mark=MARK, k=min_firms, d=dtxt)
        if pt.footnote and not t.footnote:
            t.footnote = pt.footnote
    return added


# ----------------------------------------------------------------- anonymisation
def anonymise(frame: pd.DataFrame, audience: str = "reviewer") -> pd.DataFrame:
    """Drop identifier columns (:data:`IDENTIFIER_COLUMNS`) for reviewers.

    ``internal`` returns the frame unchanged.
    """
    check_audience(audience)
    if audience == "internal":
        return frame
    return frame.drop(columns=[c for c in frame.columns if c in IDENTIFIER_COLUMNS])


#: Amount bands (万元) of the reviewer beneficiary annex: (upper bound, label).
AMOUNT_BANDS: tuple[tuple[float, str], ...] = (
    (5.0, "5万元及以下"),
    (20.0, "5万—20万元"),
    (50.0, "20万—50万元"),
    (100.0, "50万—100万元"),
    (200.0, "100万—200万元"),
    (float("inf"), "200万元以上"),
)


def amount_band(x: object) -> str:
    """The band label of an amount in 万元 (``—`` when missing)."""
    if formats.is_missing(x):
        return formats.MISSING
    v = float(x)  # type: ignore[arg-type]
    for upper, label in AMOUNT_BANDS:
        if v <= upper + 1e-9:
            return label
    return AMOUNT_BANDS[-1][1]  # pragma: no cover


def _hidden_categories(
    awards: pd.DataFrame, min_firms: int | None, dominance: float | None
) -> set:
    """Categories whose totals the reviewer edition withholds (as in 表1)."""
    if "category" not in awards or awards.empty:
        return set()
    if min_firms is None:
        from jdeval.indicators import load_targets

        rule = load_targets().policies.disclosure
        min_firms, dominance = rule.min_firms, rule.dominance
    firm = awards["firm_id"].astype("object") if "firm_id" in awards else None
    if firm is None:
        return set()
    if "provider_id" in awards:
        firm = firm.where(firm.notna(), awards["provider_id"].astype("object"))
    value = "approved_amount" if "approved_amount" in awards else None
    pt = protect(
        awards.assign(_unit=firm),
        "category",
        value,
        firm="_unit",
        min_firms=min_firms,
        dominance=dominance,
    )
    hidden = pt.suppressed.iloc[:, 0]  # rows are labelled str(code)
    return {c for c in hidden.index[hidden.to_numpy()] if c != TOTAL}


def beneficiary_annex(
    awards: pd.DataFrame,
    *,
    audience: str = "reviewer",
    labels: Mapping[str, Mapping[object, str]] | None = None,
    min_firms: int | None = None,
    dominance: float | None = None,
) -> pd.DataFrame:
    """The list of beneficiaries (受益企业清单), anonymised for reviewers.

    Reviewers get a pseudonymous sequence number (``受益单位001`` …, assigned after
    sorting by category and amount, so it carries nothing of the firm identifier),
    the category and the approved amount as a band (:data:`AMOUNT_BANDS`).  A
    category whose totals disclosure control withholds shows :data:`MARK` (its
    rows would otherwise count its firms); ``min_firms``/``dominance`` default to
    the targets file's ``policies.disclosure``.  Town,
    industry and exact amounts are left out: combined they would single out firms
    that the disclosure-controlled town/industry tables protect.  Internal readers
    get exact amounts, town, industry and the firm/award identifiers.

    Parameters
    ----------
    awards
        Approved/disbursed award rows.
    audience
        ``reviewer`` or ``internal``.
    labels
        ``{column: {code: name}}`` for ``category``, ``town_code``,
        ``industry_div``.
    """
    check_audience(audience)
    labels = labels or {}
    reviewer = audience == "reviewer"
    if reviewer:
        cols = [c for c in ["category", "approved_amount"] if c in awards.columns]
    else:
        cols = [
            c
            for c in [
                "category",
                "town_code",
                "industry_div",
                "approved_amount",
                "disbursed_amount",
                "name_masked",
                "firm_id",
                "provider_id",
                "award_id",
            ]
            if c in awards.columns
        ]
    f = awards[cols].copy()
    if reviewer and "category" in f:
        # the rows of a list count its categories: a category 表1 withholds is
        # not named here either (hidden categories together pass the rule)
        hide = _hidden_categories(awards, min_firms, dominance)
        f["category"] = (
            f["category"]
            .astype(object)
            .where(~f["category"].astype(str).isin(hide), MARK)
        )
    sort = [c for c in ["category", "approved_amount"] if c in f.columns]
    f = f.sort_values(sort, kind="mergesort", ascending=[True, False][: len(sort)])
    f = f.reset_index(drop=True)
    for c, m in labels.items():
        if c in f.columns:
            f[c] = f[c].map(lambda v, m=m: m.get(v, v))
    if reviewer and "approved_amount" in f:
        f["approved_amount"] = f["approved_amount"].map(amount_band)
    f.insert(0, "序号", [f"受益单位{i:03d}" for i in range(1, len(f) + 1)])
    names = {
        "category": "补贴类别",
        "town_code": "街镇",
        "industry_div": "行业大类",
        "approved_amount": "核定金额区间" if reviewer else "核定金额（万元）",
        "disbursed_amount": "已拨付（万元）",
        "name_masked": "企业名称",
        "firm_id": "企业编号",
        "provider_id": "服务商编号",
        "award_id": "项目编号",
    }
    return f.rename(columns=names)


_MAX = re.compile(r"[，,；;]?\s*最高\s*[\d,]+(?:\.\d+)?\s*万元")
_MEAN = re.compile(r"[，,；;]?\s*均值\s*[\d,]+(?:\.\d+)?\s*万元")
_COUNT = re.compile(r"(\d+)\s*/\s*(\d+)\s*项")


def redact_display(text: object, *, min_firms: int = 3) -> object:
    """Remove single-firm figures from an indicator's display text (reviewers).

    The scorecard describes cost-standard indicators as e.g.
    ``100.0%（7/7项≤50万元；均值50.00万元，最高50.00万元）``.  A maximum is one
    firm's amount, so it is always removed; a mean over fewer than ``min_firms``
    awards discloses them too, so it is removed in that case.
    """
    if not isinstance(text, str):
        return text
    out = _MAX.sub("", text)
    m = _COUNT.search(out)
    if m and int(m.group(2)) < min_firms:
        out = _MEAN.sub("", out)
    return out.replace("；）", "）").replace("（）", "")


def find_identifiers(
    blob: str | bytes, frames: Iterable[pd.DataFrame], *, min_length: int = 6
) -> list[str]:
    """Identifiers from ``frames`` that occur in an output (a leak check).

    Parameters
    ----------
    blob
        Rendered output (HTML text, a .docx's XML, CSV bytes …).
    frames
        Frames whose identifier columns (:data:`IDENTIFIER_COLUMNS`) are searched
        for.
    min_length
        Ignore shorter identifiers (too likely to occur by chance).

    Returns
    -------
    list of str
        The identifiers found (empty when nothing leaked).
    """
    text = blob.decode("utf-8", "replace") if isinstance(blob, bytes) else blob
    hits: set[str] = set()
    for f in frames:
        for c in f.columns:
            if c not in IDENTIFIER_COLUMNS or c in {"comment", "bank"}:
                continue
            for v in pd.unique(f[c].dropna().astype(str)):
                if len(v) >= min_length and v in text:
                    hits.add(v)
    return sorted(hits)
