"""Input checks and reshaping for :func:`jdeval.effects.did.att_gt`.

Turns a long firm × period frame into wide ``period × unit`` numpy arrays, applying the
sample rules of R's ``did::pre_process_did`` (Callaway & Sant'Anna 2021):

* missing cohort (``NaN``/``NaT``) or ``0`` means never treated; a cohort after the last
  period is also never treated;
* units already treated in the first period are dropped (warning);
* without never-treated units and ``control_group="notyettreated"``, periods from the
  last cohort's first treated period on are dropped and that cohort becomes the
  control group (warning); with ``"nevertreated"`` this is an error;
* cohorts smaller than ``number of covariates + 5`` units are warned about.

Every bad-input problem is collected and raised at once as a
:class:`jdeval.errors.DataError`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from jdeval.errors import DataError, ProblemList

__all__ = ["DidPanel", "parse_xformla", "prepare_panel", "DidWarning"]

_MAX_LISTED = 5


class DidWarning(UserWarning):
    """Sample adjustment made by the staggered DiD estimator (units or periods dropped)."""


def _warn(zh: str, en: str) -> None:
    warnings.warn(f"{zh} / {en}", DidWarning, stacklevel=4)


@dataclass
class DidPanel:
    """Wide arrays for the group-time estimator.

    Attributes
    ----------
    y
        ``(T, n)`` outcomes (``nan`` where a unit is not observed).
    x
        ``(k, n)`` covariates with an intercept row first (time-invariant case), or
        ``(T, k, n)`` when a covariate varies over time (transposed for speed).
    x_time_varying
        Whether ``x`` is three-dimensional.
    observed
        ``(T, n)`` bool, ``None`` for a balanced panel.
    g
        ``(n,)`` cohort (first treated period, original units), 0 = never treated.
    tlist, glist
        Sorted periods and treated cohorts (original units).
    ids
        ``(n,)`` unit identifiers.
    cluster
        ``(n,)`` cluster codes or ``None``.
    w
        ``(n,)`` sampling weights (``weightsname``, constant within unit) or
        ``None``.
    notes
        Sample adjustments, bilingual, for the result's notes.
    """

    y: np.ndarray
    x: np.ndarray
    x_time_varying: bool
    observed: np.ndarray | None
    g: np.ndarray
    tlist: np.ndarray
    glist: np.ndarray
    ids: np.ndarray
    cluster: np.ndarray | None
    covariates: list[str]
    notes: list[str]
    time_is_datetime: bool = False
    w: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of units."""
        return self.g.shape[0]


def parse_xformla(xformla) -> list[str]:
    """Return covariate names from ``"~ x1 + x2"``, ``"~ 1"``, a list, or ``None``.

    Raises
    ------
    ValueError
        If the formula contains anything but ``+``-separated column names.
    """
    if xformla is None:
        return []
    if isinstance(xformla, (list, tuple)):
        return [str(c) for c in xformla]
    if not isinstance(xformla, str):
        raise ValueError(
            f"xformla 应为 '~ x1 + x2' 形式的字符串或列名列表 / xformla must be a string "
            f"like '~ x1 + x2' or a list of column names, got {type(xformla).__name__}"
        )
    rhs = xformla.strip()
    if "~" in rhs:
        lhs, rhs = rhs.split("~", 1)
        if lhs.strip():
            raise ValueError(
                "xformla 不应有左侧变量 / xformla must be one-sided, e.g. '~ x1 + x2'"
            )
    terms = [t.strip() for t in rhs.split("+")]
    out = []
    for term in terms:
        if term in ("1", ""):
            continue
        if not re.fullmatch(r"[A-Za-z_\u4e00-\u9fff][\w.\u4e00-\u9fff]*", term):
            raise ValueError(
                f"xformla 仅支持以 + 连接的列名，不支持 {term!r}；请先在数据中生成该列 / "
                f"xformla supports only column names joined by '+'; create a column for "
                f"{term!r} first"
            )
        out.append(term)
    return out


def _to_period_numbers(
    t: pd.Series, g: pd.Series, probs: ProblemList, tname: str, gname: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Numeric period and cohort arrays (cohort 0 = never treated)."""
    is_dt = pd.api.types.is_datetime64_any_dtype
    t_dt = is_dt(t)
    if t_dt:
        years = t.dt.year
        if years.groupby(years).size().size != t.dt.normalize().nunique():
            probs.error(
                "did_time_datetime",
                f"时间列 {tname} 为日期型，但每年有多个日期；请使用年份等数值型周期",
                f"time column {tname} holds dates with more than one date per year; "
                "use numeric periods such as the year",
                table="data",
                column=tname,
            )
        tnum = years.to_numpy(dtype=float)
    elif pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t):
        tnum = t.to_numpy(dtype=float, na_value=np.nan)
    else:
        bad = t.iloc[0] if len(t) else None
        probs.error(
            "did_time_type",
            f"时间列 {tname} 必须为数值（如年份）或日期",
            f"time column {tname} must be numeric (e.g. the year) or a date",
            table="data",
            column=tname,
            value=bad,
        )
        tnum = np.zeros(len(t))
    if is_dt(g):
        gnum = g.dt.year.to_numpy(dtype=float, na_value=np.nan)
    elif pd.api.types.is_numeric_dtype(g) and not pd.api.types.is_bool_dtype(g):
        gnum = g.to_numpy(dtype=float, na_value=np.nan)
    else:
        probs.error(
            "did_group_type",
            f"处理批次列 {gname} 必须为数值（首次受资助年份，0 或空 = 从未受资助）或日期",
            f"cohort column {gname} must be numeric (first treated period; 0 or missing "
            "= never treated) or a date",
            table="data",
            column=gname,
            value=g.iloc[0] if len(g) else None,
        )
        gnum = np.zeros(len(g))
    bad_t = np.flatnonzero(~np.isfinite(tnum))
    for i in bad_t[:_MAX_LISTED]:
        probs.error(
            "did_time_missing",
            f"时间列 {tname} 有缺失值",
            f"time column {tname} is missing",
            table="data",
            row=int(i) + 2,
            column=tname,
        )
    gnum = np.where(np.isnan(gnum), 0.0, gnum)
    return tnum, gnum, t_dt


def prepare_panel(
    data: pd.DataFrame,
    *,
    yname: str,
    tname: str,
    idname: str,
    gname: str,
    covariates: list[str],
    control_group: str,
    anticipation: float,
    clustervars: list[str],
    allow_unbalanced_panel: bool,
    weightsname: str | None = None,
) -> DidPanel:
    """Check ``data`` and build the wide arrays (see module docstring)."""
    probs = ProblemList()
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            "数据必须是 pandas DataFrame / data must be a pandas DataFrame",
        )
    needed = [yname, tname, idname, gname, *covariates, *clustervars]
    if weightsname is not None:
        needed.append(weightsname)
    missing = [c for c in dict.fromkeys(needed) if c not in data.columns]
    for c in missing:
        probs.error(
            "did_missing_column",
            f"数据缺少列 {c}",
            f"column {c} is missing from the data",
            table="data",
            column=c,
            value=", ".join(map(str, list(data.columns)[:20])),
        )
    probs.raise_if_errors(
        DataError, "交错 DiD 输入数据有误 / bad input for staggered DiD"
    )
    for c in [yname, *covariates, *([weightsname] if weightsname else [])]:
        s = data[c]
        if not pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            probs.error(
                "did_not_numeric",
                f"列 {c} 必须为数值",
                f"column {c} must be numeric",
                table="data",
                column=c,
                value=str(s.dtype),
            )
    tnum, gnum, t_dt = _to_period_numbers(data[tname], data[gname], probs, tname, gname)
    probs.raise_if_errors(
        DataError, "交错 DiD 输入数据有误 / bad input for staggered DiD"
    )

    notes: list[str] = []
    yv = data[yname].to_numpy(dtype=float, na_value=np.nan)
    xcols = [data[c].to_numpy(dtype=float, na_value=np.nan) for c in covariates]
    keep = np.isfinite(yv)
    for xc in xcols:
        keep &= np.isfinite(xc)
    n_dropped_na = int((~keep).sum())
    if n_dropped_na:
        msg = (
            f"结果变量或协变量缺失，删除 {n_dropped_na} 行",
            f"dropped {n_dropped_na} rows with a missing outcome or covariate",
        )
        _warn(*msg)
        notes.append(" / ".join(msg))

    # Units and periods -> integer codes.
    ucode_all, uniques, starts = _unit_codes(data[idname])
    if (ucode_all < 0).any():
        i = int(np.flatnonzero(ucode_all < 0)[0])
        probs.error(
            "did_id_missing",
            f"单位标识列 {idname} 有缺失值",
            f"unit id column {idname} is missing",
            table="data",
            row=i + 2,
            column=idname,
        )
        probs.raise_if_errors(
            DataError, "交错 DiD 输入数据有误 / bad input for staggered DiD"
        )
    n_all = len(uniques)

    # Cohort must be constant within unit (check on all rows, before dropping).
    gmin = np.full(n_all, np.inf)
    gmax = np.full(n_all, -np.inf)
    if starts is not None:  # rows sorted by unit: segment reductions
        gmin = np.minimum.reduceat(gnum, starts)
        gmax = np.maximum.reduceat(gnum, starts)
    else:
        np.minimum.at(gmin, ucode_all, gnum)
        np.maximum.at(gmax, ucode_all, gnum)
    varying = np.flatnonzero(gmin != gmax)
    for u in varying[:_MAX_LISTED]:
        rows = np.flatnonzero(ucode_all == u)
        vals = sorted(set(gnum[rows].tolist()))
        probs.error(
            "did_group_varies",
            f"单位 {uniques[u]} 的处理批次 {gname} 随时间变化（{vals}）；每个单位只能有一个"
            "首次处理期（从未处理为 0 或空）",
            f"cohort {gname} varies within unit {uniques[u]} ({vals}); each unit needs "
            "one first treated period (0 or missing = never treated)",
            table="data",
            row=int(rows[0]) + 2,
            column=gname,
            value=uniques[u],
        )
    if len(varying) > _MAX_LISTED:
        probs.error(
            "did_group_varies",
            f"另有 {len(varying) - _MAX_LISTED} 个单位的处理批次随时间变化",
            f"{len(varying) - _MAX_LISTED} more units have a time-varying cohort",
            table="data",
            column=gname,
        )
    w_unit = None
    if weightsname is not None and not probs.errors:
        w_unit = _unit_weights(data[weightsname], ucode_all, n_all, uniques, probs)
    cl_codes = None
    if clustervars:
        cvals = data[clustervars[0]]
        ccode, _ = pd.factorize(cvals, sort=True)
        cmin = np.full(n_all, np.iinfo(np.int64).max)
        cmax = np.full(n_all, -1)
        np.minimum.at(cmin, ucode_all, ccode)
        np.maximum.at(cmax, ucode_all, ccode)
        bad = np.flatnonzero(cmin != cmax)
        for u in bad[:_MAX_LISTED]:
            probs.error(
                "did_cluster_varies",
                f"聚类变量 {clustervars[0]} 在单位 {uniques[u]} 内随时间变化",
                f"cluster variable {clustervars[0]} varies within unit {uniques[u]}",
                table="data",
                column=clustervars[0],
                value=uniques[u],
            )
        cl_codes = cmin
    probs.raise_if_errors(
        DataError, "交错 DiD 输入数据有误 / bad input for staggered DiD"
    )

    all_kept = bool(keep.all())
    ucode = ucode_all if all_kept else ucode_all[keep]
    tkeep = tnum if all_kept else tnum[keep]
    tlist = _unique_periods(tkeep)
    g_unit = gmin.copy()
    g_unit[~np.isfinite(g_unit)] = 0.0  # units with no rows at all

    # Cohorts after the last period are never treated (R did).
    g_unit[g_unit > tlist[-1]] = 0.0
    # Units already treated in the first period: dropped.
    first = tlist[0]
    first_treated = (g_unit > 0) & (g_unit <= first)
    drop_unit = first_treated.copy()
    if first_treated.any():
        k = int(first_treated.sum())
        cohorts = sorted(set(g_unit[first_treated].tolist()))
        msg = (
            f"删除 {k} 个在第一期（{_fmt(first)}）或之前已受处理的单位（批次 {cohorts}）："
            "它们没有处理前时期，无法估计",
            f"dropped {k} units already treated in the first period {_fmt(first)} "
            f"(cohorts {cohorts}): they have no pre-treatment period",
        )
        _warn(*msg)
        notes.append(" / ".join(msg))
    glist = np.unique(g_unit[(g_unit > 0) & ~drop_unit])
    glist = glist[glist > first + anticipation]

    # No never-treated units.
    has_never = bool(((g_unit == 0) & ~drop_unit).any())
    if not has_never:
        if control_group == "nevertreated":
            raise DataError(
                "没有从未受处理的单位，无法使用 control_group='nevertreated'；请改用 "
                "control_group='notyettreated' / there are no never-treated units; use "
                "control_group='notyettreated'",
                [
                    _problem(
                        "did_no_never_treated",
                        "数据中没有从未受处理（批次为 0 或空）的单位",
                        "no unit has cohort 0 / missing (never treated)",
                        gname,
                    )
                ],
            )
        if len(glist) < 2:
            raise DataError(
                "没有从未受处理的单位且只有一个处理批次，没有可用的对照组 / no never-treated "
                "units and only one cohort: there is no control group",
                [
                    _problem(
                        "did_no_control",
                        "至少需要两个处理批次或一些从未受处理的单位",
                        "need at least two cohorts or some never-treated units",
                        gname,
                    )
                ],
            )
        gmax_c = glist[-1]
        msg = (
            f"没有从未受处理的单位：以最后一批（{_fmt(gmax_c)}）作对照，删除 "
            f"{_fmt(gmax_c - anticipation)} 及以后的时期",
            f"no never-treated units: the last cohort ({_fmt(gmax_c)}) serves as control "
            f"and periods from {_fmt(gmax_c - anticipation)} on are dropped",
        )
        _warn(*msg)
        notes.append(" / ".join(msg))
        keep_t = tkeep < gmax_c - anticipation
        ucode, tkeep = ucode[keep_t], tkeep[keep_t]
        keep = np.flatnonzero(keep)[keep_t]
        keep_mask = np.zeros(len(tnum), bool)
        keep_mask[keep] = True
        keep = keep_mask
        all_kept = False
        g_unit[g_unit == gmax_c] = 0.0
        tlist = _unique_periods(tkeep)
        glist = glist[glist < gmax_c]
        glist = glist[glist > tlist[0] + anticipation]

    # Units kept: never treated or in glist (others were treated in the first period).
    unit_ok = ~drop_unit & ((g_unit == 0) | np.isin(g_unit, glist))
    if not unit_ok.all():
        others = ~unit_ok & ~drop_unit
        if others.any():
            # Treated within anticipation of the first period: kept as data only by R
            # when no first-period units exist; we keep them as R does in that case.
            unit_ok |= others & ~first_treated.any()
    if unit_ok.all():
        # Nothing to drop: ``row_idx`` selects every row without a copy.
        row_idx = slice(None) if all_kept else np.flatnonzero(keep)
    else:
        rows_ok = unit_ok[ucode]
        ucode = ucode[rows_ok]
        tkeep = tkeep[rows_ok]
        row_idx = np.flatnonzero(keep)[rows_ok]
        new_code = np.cumsum(unit_ok) - 1
        ucode = new_code[ucode]
    n = int(unit_ok.sum())
    g_unit = g_unit[unit_ok]
    ids = np.asarray(uniques)[unit_ok]
    if cl_codes is not None:
        cl_codes = cl_codes[unit_ok]
    if w_unit is not None:
        w_unit = w_unit[unit_ok]
    T = len(tlist)
    tcode = _period_codes(tkeep, tlist)

    # Duplicates and balance.
    flat = ucode.astype(np.int64) * T + tcode
    counts = np.bincount(flat, minlength=n * T)
    if (counts > 1).any():
        dup = np.flatnonzero(counts > 1)
        for f in dup[:_MAX_LISTED]:
            u, tt = divmod(int(f), T)
            r = int(np.arange(len(yv))[row_idx][np.flatnonzero(flat == f)[1]])
            probs.error(
                "did_duplicate",
                f"单位 {ids[u]} 在时期 {_fmt(tlist[tt])} 有重复行",
                f"unit {ids[u]} has more than one row for period {_fmt(tlist[tt])}",
                table="data",
                row=r + 2,
                column=idname,
                value=ids[u],
            )
        probs.raise_if_errors(
            DataError, "交错 DiD 输入数据有误 / bad input for staggered DiD"
        )
    balanced = bool((counts == 1).all())
    if not balanced and not allow_unbalanced_panel:
        per_unit = counts.reshape(n, T).sum(axis=1)
        short = np.flatnonzero(per_unit < T)
        for u in short[:_MAX_LISTED]:
            miss = tlist[counts.reshape(n, T)[u] == 0]
            probs.error(
                "did_unbalanced",
                f"单位 {ids[u]} 缺少时期 {[_fmt(v) for v in miss]}；面板不平衡。可设置 "
                "allow_unbalanced_panel=True，或删除这些单位",
                f"unit {ids[u]} lacks periods {[_fmt(v) for v in miss]}: the panel is "
                "unbalanced. Set allow_unbalanced_panel=True or drop these units",
                table="data",
                column=idname,
                value=ids[u],
            )
        if len(short) > _MAX_LISTED:
            probs.error(
                "did_unbalanced",
                f"另有 {len(short) - _MAX_LISTED} 个单位缺少时期",
                f"{len(short) - _MAX_LISTED} more units lack periods",
                table="data",
                column=idname,
            )
        probs.raise_if_errors(
            DataError, "面板不平衡 / unbalanced panel (allow_unbalanced_panel=False)"
        )

    # Sorted by unit then period and balanced: a reshape, no scatter.
    fast = (
        balanced and flat.size > 0 and flat[0] == 0 and bool((np.diff(flat) == 1).all())
    )

    def wide(values: np.ndarray) -> np.ndarray:
        if fast:
            return values[row_idx].reshape(n, T).T  # a view: no transposing copy
        out = np.full((T, n), np.nan)
        out[tcode, ucode] = values[row_idx]
        return out

    y = wide(yv)
    observed = None if balanced else (counts.reshape(n, T).T == 1)

    k = len(covariates)
    time_varying = False
    xws = [wide(xc) for xc in xcols]
    if not balanced:
        # Fill unobserved periods with the unit's observed value when constant.
        filled = []
        for xw in xws:
            ref = np.nanmax(xw, axis=0)
            if ((xw != ref) & ~np.isnan(xw)).any():
                time_varying = True
            filled.append(np.where(np.isnan(xw), ref[None], xw))
        if not time_varying:
            xws = filled
    else:
        time_varying = any(bool((xw != xw[0:1]).any()) for xw in xws)
    if time_varying:
        # (T, k + 1, n): covariates in each period, intercept row first.
        x = np.stack([np.ones((T, n)), *xws], axis=1)
        note = (
            "协变量随时间变化：按 R did 的做法取基期（较早一期）的取值；若处理组与对照组"
            "的协变量水平不同，此估计量可能有偏，宜使用不随时间变化或处理前的协变量",
            "covariates vary over time: their value in the earlier period of each "
            "comparison is used (as R did); prefer time-invariant or pre-period "
            "covariates",
        )
        notes.append(" / ".join(note))
    else:
        x = np.vstack([np.ones((1, n)), *[xw[0:1] for xw in xws]])

    # Small cohorts (R did: fewer than number of covariates + 5 units).
    req = k + 5
    sizes = {0.0: int((g_unit == 0).sum())}
    for gv in glist:
        sizes[float(gv)] = int((g_unit == gv).sum())
    small = [gv for gv, s in sizes.items() if s < req]
    if small:
        if 0.0 in small and control_group == "nevertreated":
            raise DataError(
                "从未受处理的单位过少，请改用 control_group='notyettreated' / the "
                "never-treated group is too small; use control_group='notyettreated'",
                [
                    _problem(
                        "did_small_control",
                        f"从未受处理的单位只有 {sizes[0.0]} 个（至少需 {req} 个）",
                        f"only {sizes[0.0]} never-treated units (need {req})",
                        gname,
                    )
                ],
            )
        listed = ", ".join(f"{_fmt(gv)} (n={sizes[gv]})" for gv in small)
        msg = (
            f"以下处理批次样本很小（少于 {req} 个单位），其估计不可靠：{listed}",
            f"some cohorts are very small (fewer than {req} units); their estimates are "
            f"unreliable: {listed}",
        )
        _warn(*msg)
        notes.append(" / ".join(msg))

    return DidPanel(
        y=y,
        x=x,
        x_time_varying=time_varying,
        observed=observed,
        g=g_unit,
        tlist=tlist,
        glist=glist,
        ids=ids,
        cluster=cl_codes,
        covariates=list(covariates),
        notes=notes,
        time_is_datetime=t_dt,
        w=w_unit,
    )


def _unit_weights(
    w: pd.Series, ucode: np.ndarray, n_all: int, uniques, probs: ProblemList
) -> np.ndarray:
    """Per-unit sampling weight: finite, non-negative, constant within unit."""
    name = str(w.name)
    wv = w.to_numpy(dtype=float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(wv) | (wv < 0))
    for i in bad[:_MAX_LISTED]:
        probs.error(
            "did_weight_invalid",
            f"权重列 {name} 必须为非负有限数",
            f"weights column {name} must be finite and non-negative",
            table="data",
            row=int(i) + 2,
            column=name,
            value=wv[i],
        )
    wmin = np.full(n_all, np.inf)
    wmax = np.full(n_all, -np.inf)
    np.minimum.at(wmin, ucode, wv)
    np.maximum.at(wmax, ucode, wv)
    varying = np.flatnonzero(wmin != wmax)
    for u in varying[:_MAX_LISTED]:
        probs.error(
            "did_weight_varies",
            f"权重 {name} 在单位 {uniques[u]} 内随时间变化；抽样权重须对每个单位不变",
            f"weight {name} varies within unit {uniques[u]}; sampling weights must be "
            "constant within unit",
            table="data",
            column=name,
            value=uniques[u],
        )
    if np.isfinite(wv).all() and wv.sum() <= 0:
        probs.error(
            "did_weight_invalid",
            f"权重列 {name} 之和为 0",
            f"weights column {name} sums to zero",
            table="data",
            column=name,
        )
    return wmin


def _unit_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Integer codes of unit ids (sorted) and, if rows are sorted by id, the row
    where each unit starts (``None`` otherwise); fast for sorted numeric ids."""
    if pd.api.types.is_numeric_dtype(ids) and not ids.isna().any() and len(ids) > 1:
        arr = ids.to_numpy()
        diff = np.diff(arr)
        if (diff >= 0).all():
            change = np.concatenate([[True], diff != 0])
            codes = np.cumsum(change) - 1
            return codes, arr[change], np.flatnonzero(change)
    codes, uniques = pd.factorize(ids, sort=True)
    return codes, np.asarray(uniques), None


def _unique_periods(t: np.ndarray) -> np.ndarray:
    """Sorted unique periods; a bincount when periods are small integers (years)."""
    lo, hi = t.min(), t.max()
    if hi - lo < 10_000 and np.all(t == np.floor(t)):
        present = np.bincount((t - lo).astype(np.int64)) > 0
        return lo + np.flatnonzero(present).astype(float)
    return np.unique(t)


def _period_codes(t: np.ndarray, tlist: np.ndarray) -> np.ndarray:
    """Position of each period in ``tlist`` (a lookup table for integer periods)."""
    lo, hi = tlist[0], tlist[-1]
    if hi - lo < 10_000 and np.all(tlist == np.floor(tlist)):
        lut = np.full(int(hi - lo) + 1, -1, dtype=np.int64)
        lut[(tlist - lo).astype(np.int64)] = np.arange(len(tlist))
        return lut[(t - lo).astype(np.int64)]
    return np.searchsorted(tlist, t)


def _problem(code: str, zh: str, en: str, column: str):
    from jdeval.errors import Problem

    return Problem("error", code, zh, en, table="data", column=column)


def _fmt(v: float) -> str:
    v = float(v)
    return str(int(v)) if v.is_integer() else f"{v:g}"
