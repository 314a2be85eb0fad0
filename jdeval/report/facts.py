"""Facts: the computed numbers that the report's wording and rules refer to.

:func:`collect` gathers, from the dataset and the analysis results, one plain
``dict`` with a fixed set of keys (missing analyses give ``None`` or empty lists,
so rules can test ``survey is not none``).  The keys:

``year, policy, department, scheme, audience, synthetic``
    Context.
``total, grade, grade_en``
    Overall score and grade (``None`` without a scorecard).
``indicators``
    One dict per 三级指标 (Scorecard columns: id, level1, level2, level3,
    target_raw, actual, actual_display, unit, weight, score, score_rate, tier,
    flags (list of str), source, deviation_reason).
``missed``, ``over``
    The indicators not fully achieved / flagged ``over_target``.
``payment``
    n_approved, n_disbursed, mean_days, median_days, p90_days, n_over,
    share_over (lag > ``late_payment_days``; undisbursed awards count with
    their age at ``eval_date``), eval_date.
``coverage``
    district_rate (funded 规上 firms / 规上 firms), towns (list: town_code,
    town_name, n_firms, n_funded, rate, shown), low_towns (towns below
    ``low_coverage_ratio`` × district rate).
``caps``
    n_violations (approved amount above the category cap).
``funds``
    n_awards, n_firms, n_providers, approved, disbursed, investment, leverage.
``budget``
    budget_amount, adjusted_budget, funds_received, funds_spent, execution_rate.
``survey``
    index, top2_rate, top2_ci, response_rate, n_valid, n_population,
    low_sample, alpha, weakest (item dict) — or ``None``.
``effects``
    One dict per outcome of ``PolicyEffects.table`` plus ``significant``.
``findings``
    n (compliance findings of the data layer), by_code.
``previous``
    The previous batch year's total and grade when computed, else ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from jdeval.report import formats
from jdeval.survey.population import APPROVED_STATUSES

__all__ = [
    "APPROVED",
    "approved",
    "category_labels",
    "collect",
    "coverage_facts",
    "effects_facts",
    "main_effects",
    "indicator_facts",
    "payment_facts",
    "survey_facts",
    "town_labels",
]

APPROVED: tuple[str, ...] = APPROVED_STATUSES


def _num(x: Any) -> float | None:
    if formats.is_missing(x):
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _table(ds: Any, name: str) -> pd.DataFrame:
    if ds is None:
        return pd.DataFrame()
    tables = getattr(ds, "tables", None)
    if isinstance(tables, Mapping) and name in tables:
        return tables[name]
    return pd.DataFrame()


def category_labels() -> dict[str, str]:
    """Category code → Chinese name (from the data contract; codes if unavailable)."""
    try:
        from jdeval.data.contract import get_contract

        return {k: str(v.get("zh", k)) for k, v in get_contract().categories.items()}
    except Exception:  # noqa: BLE001 - degrade to codes if the data layer is absent
        return {}


def town_labels(ds: Any) -> dict[str, str]:
    """Town code → town name from ``ds.towns``."""
    t = _table(ds, "towns")
    if t.empty or "town_code" not in t or "town_name" not in t:
        return {}
    return dict(zip(t["town_code"].astype(str), t["town_name"].astype(str)))


def approved(awards: pd.DataFrame, year: int) -> pd.DataFrame:
    """Approved/disbursed awards of batch year ``year``, with a ``beneficiary`` id.

    ``beneficiary`` is ``firm_id`` for enterprises and ``provider_id`` for
    providers: the unit whose confidentiality disclosure control protects.
    """
    if awards.empty or "batch_year" not in awards:
        return awards.assign(beneficiary=pd.Series(dtype="str"))
    batch = pd.to_numeric(awards["batch_year"], errors="coerce")
    st = awards["status"].astype("str") if "status" in awards else "approved"
    a = awards.loc[
        ((batch == year) & pd.Series(st, index=awards.index).isin(APPROVED))
        .fillna(False)
        .astype(bool)
    ]
    firm = a["firm_id"] if "firm_id" in a else pd.Series(pd.NA, index=a.index)
    prov = a["provider_id"] if "provider_id" in a else pd.Series(pd.NA, index=a.index)
    return a.assign(
        beneficiary=firm.astype("object").where(firm.notna(), prov.astype("object"))
    )


def payment_facts(
    awards: pd.DataFrame,
    year: int,
    *,
    late_days: int = 180,
    eval_date: pd.Timestamp | None = None,
) -> dict[str, Any]:
    """Disbursement timing of the year's approved awards (§3.5, §8 平均发放时长).

    ``eval_date`` defaults to the data cut-off: the latest date recorded in the
    awards table.
    """
    a = approved(awards, year)
    out: dict[str, Any] = {
        "n_approved": int(len(a)),
        "n_disbursed": 0,
        "mean_days": None,
        "median_days": None,
        "p90_days": None,
        "n_over": 0,
        "share_over": 0.0,
        "eval_date": None,
        "late_days": late_days,
    }
    if a.empty or "approval_date" not in a:
        return out
    if eval_date is None:
        dates = [
            pd.to_datetime(awards[c], errors="coerce").max()
            for c in ("disbursement_date", "approval_date")
            if c in awards
        ]
        dates = [d for d in dates if not pd.isna(d)]
        eval_date = max(dates) if dates else pd.Timestamp(f"{year}-12-31")
    appr = pd.to_datetime(a["approval_date"], errors="coerce")
    disb = pd.to_datetime(a.get("disbursement_date"), errors="coerce")
    lag = (disb - appr).dt.days
    age = (eval_date - appr).dt.days
    done = lag.dropna()
    over = (lag > late_days) | (lag.isna() & (age > late_days))
    out.update(
        n_disbursed=int(done.size),
        mean_days=_num(done.mean()) if done.size else None,
        median_days=_num(done.median()) if done.size else None,
        p90_days=_num(done.quantile(0.9)) if done.size else None,
        n_over=int(over.sum()),
        share_over=float(over.mean()),
        eval_date=eval_date,
    )
    return out


def coverage_facts(
    ds: Any,
    year: int,
    *,
    low_ratio: float = 0.5,
    min_firms: int = 3,
    audience: str = "reviewer",
) -> dict[str, Any]:
    """Coverage of 规上 firms by town: funded firms / 规上 firms (§8 覆盖率).

    For reviewers a town's rate is ``shown`` only when it describes at least
    ``min_firms`` funded firms (or none); low-coverage towns are named either way,
    without their rate.
    """
    fy, firms = _table(ds, "firm_year"), _table(ds, "firms")
    a = approved(_table(ds, "awards"), year)
    out: dict[str, Any] = {
        "district_rate": None,
        "n_firms": 0,
        "n_funded": 0,
        "towns": [],
        "low_towns": [],
    }
    if fy.empty or firms.empty or "is_above_scale" not in fy:
        return out
    yr = pd.to_numeric(fy["year"], errors="coerce") == year
    scale = fy.loc[yr & fy["is_above_scale"].fillna(False).astype(bool), "firm_id"]
    base = firms.loc[firms["firm_id"].isin(scale), ["firm_id", "town_code"]]
    funded = (
        set(
            a.loc[a.get("beneficiary_type", "enterprise") == "enterprise", "firm_id"]
            .dropna()
            .astype(str)
        )
        if "firm_id" in a
        else set()
    )
    base = base.assign(funded=base["firm_id"].astype(str).isin(funded))
    if base.empty:
        return out
    names = town_labels(ds)
    district = float(base["funded"].mean())
    out.update(
        district_rate=district,
        n_firms=int(len(base)),
        n_funded=int(base["funded"].sum()),
    )
    g = base.groupby("town_code", sort=True)["funded"].agg(["size", "sum"])
    for code, row in g.iterrows():
        n_f, n_fd = int(row["size"]), int(row["sum"])
        rate = n_fd / n_f if n_f else None
        shown = audience == "internal" or n_fd == 0 or n_fd >= min_firms
        rec = {
            "town_code": str(code),
            "town_name": names.get(str(code), str(code)),
            "n_firms": n_f,
            "n_funded": n_fd,
            "rate": rate,
            "shown": shown,
        }
        out["towns"].append(rec)
        if rate is not None and district > 0 and rate < low_ratio * district:
            out["low_towns"].append(rec)
    return out


def indicator_facts(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Scorecard rows as dicts with normalised ``flags`` (list of str)."""
    if frame is None or len(frame) == 0:
        return []
    out = []
    for rec in frame.to_dict("records"):
        flags = rec.get("flags")
        if isinstance(flags, str):
            flags = [f for f in flags.replace(";", ",").split(",") if f.strip()]
        elif flags is None or (
            not isinstance(flags, (list, tuple, set)) and formats.is_missing(flags)
        ):
            flags = []
        rec["flags"] = [str(f).strip() for f in flags]
        for k in ("actual", "weight", "score", "score_rate"):
            if k in rec:
                rec[k] = _num(rec[k])
        for k in (
            "id",
            "level1",
            "level2",
            "level3",
            "target_raw",
            "actual_display",
            "unit",
            "tier",
            "source",
            "deviation_reason",
        ):
            v = rec.get(k)
            rec[k] = "" if formats.is_missing(v) else str(v)
        if not rec["actual_display"]:
            rec["actual_display"] = formats.number(rec.get("actual"))
        out.append(rec)
    return out


def survey_facts(survey: Any) -> dict[str, Any] | None:
    """Key numbers of a :class:`jdeval.survey.SurveyResult` (``None`` if absent)."""
    if survey is None:
        return None
    items = getattr(survey, "items", None)
    weakest = None
    if isinstance(items, pd.DataFrame) and not items.empty and "index" in items:
        w = items.sort_values("index").iloc[0].to_dict()
        weakest = {
            "item": w.get("item"),
            "item_zh": w.get("item_zh", w.get("item")),
            "index": _num(w.get("index")),
        }
    ci = getattr(survey, "top2_ci", (None, None)) or (None, None)
    return {
        "index": _num(getattr(survey, "index", None)),
        "top2_rate": _num(getattr(survey, "top2_rate", None)),
        "top2_ci": (_num(ci[0]), _num(ci[1])),
        "response_rate": _num(getattr(survey, "response_rate", None)),
        "n_valid": int(getattr(survey, "n_valid", 0) or 0),
        "n_population": int(getattr(survey, "n_population", 0) or 0),
        "low_sample": bool(getattr(survey, "low_sample", False)),
        "alpha": _num(getattr(survey, "alpha", None)),
        "weakest": weakest,
    }


MAIN_DESIGN = "cs_dr"


def main_effects(effects: Any) -> pd.DataFrame | None:
    """The headline estimate per outcome.

    ``PolicyEffects.main`` when present; else the rows of ``.table`` whose design
    is :data:`MAIN_DESIGN`; else the first row of each outcome.
    """
    main = getattr(effects, "main", None)
    if isinstance(main, pd.DataFrame) and not main.empty:
        return main
    table = getattr(effects, "table", effects)
    if not isinstance(table, pd.DataFrame) or table.empty:
        return None
    if "design" in table and (table["design"] == MAIN_DESIGN).any():
        return table.loc[table["design"] == MAIN_DESIGN]
    return table.drop_duplicates("outcome") if "outcome" in table else table


def effects_facts(effects: Any, *, alpha: float = 0.05) -> list[dict[str, Any]]:
    """Headline estimates (:func:`main_effects`) as dicts, plus ``significant``.

    ``design`` is the Chinese design label (``design_zh``) when available.
    """
    table = main_effects(effects)
    if table is None or table.empty:
        return []
    out = []
    for rec in table.to_dict("records"):
        for k in ("estimate", "se", "ci_low", "ci_high", "p_value"):
            rec[k] = _num(rec.get(k))
        rec["outcome"] = str(rec.get("outcome") or "")
        rec["outcome_zh"] = str(rec.get("outcome_zh") or rec.get("outcome"))
        rec["design_code"] = str(rec.get("design") or "")
        rec["design"] = str(rec.get("design_zh") or rec.get("design") or "")
        p = rec["p_value"]
        if p is None and rec["ci_low"] is not None and rec["ci_high"] is not None:
            rec["significant"] = rec["ci_low"] > 0 or rec["ci_high"] < 0
        else:
            rec["significant"] = p is not None and p < alpha
        out.append(rec)
    return out


def _budget(ds: Any, year: int) -> dict[str, Any] | None:
    b = _table(ds, "budget")
    if b.empty or "year" not in b:
        return None
    row = b.loc[pd.to_numeric(b["year"], errors="coerce") == year]
    if row.empty:
        return None
    r = row.iloc[0]
    out = {
        k: _num(r.get(k))
        for k in ("budget_amount", "adjusted_budget", "funds_received", "funds_spent")
    }
    denom = out["adjusted_budget"] or out["budget_amount"]
    out["execution_rate"] = (
        out["funds_spent"] / denom if out["funds_spent"] is not None and denom else None
    )
    out["receipt_rate"] = (
        out["funds_received"] / out["budget_amount"]
        if out["funds_received"] is not None and out["budget_amount"]
        else None
    )
    return out


def _funds(awards: pd.DataFrame, year: int) -> dict[str, Any]:
    a = approved(awards, year)
    amt = pd.to_numeric(a.get("approved_amount"), errors="coerce")
    inv = pd.to_numeric(a.get("project_total_investment"), errors="coerce")
    disb = pd.to_numeric(a.get("disbursed_amount"), errors="coerce")
    ent = a.get("beneficiary_type", pd.Series(dtype=str)) == "enterprise"
    approved_sum = float(amt.sum()) if len(a) else 0.0
    return {
        "n_awards": int(len(a)),
        "n_applications": int(
            (pd.to_numeric(awards.get("batch_year"), errors="coerce") == year).sum()
        )
        if len(awards)
        else 0,
        "n_firms": int(a.loc[ent, "firm_id"].nunique()) if len(a) else 0,
        "n_providers": int(a["provider_id"].nunique()) if "provider_id" in a else 0,
        "approved": approved_sum,
        "disbursed": float(disb.sum()) if len(a) else 0.0,
        "investment": float(inv.sum()) if len(a) else 0.0,
        "leverage": float(inv.sum() / approved_sum) if approved_sum > 0 else None,
    }


def _caps(awards: pd.DataFrame, year: int) -> dict[str, Any]:
    a = approved(awards, year)
    if a.empty or "cap_amount" not in a:
        return {"n_violations": 0}
    over = (
        pd.to_numeric(a["approved_amount"], errors="coerce")
        > pd.to_numeric(a["cap_amount"], errors="coerce") + 1e-9
    )
    return {"n_violations": int(over.fillna(False).sum())}


def collect(
    ds: Any,
    *,
    year: int,
    scorecard: Any = None,
    survey: Any = None,
    effects: Any = None,
    previous: Mapping[str, Any] | None = None,
    audience: str = "reviewer",
    scheme: str = "A",
    params: Mapping[str, Any] | None = None,
    meta: Mapping[str, Any] | None = None,
    min_firms: int = 3,
    total: float | None = None,
) -> dict[str, Any]:
    """Collect every fact the report's templates and narrative rules use.

    Parameters
    ----------
    ds
        The :class:`jdeval.data.Dataset` (or None for tests driven by results only).
    year
        Evaluation (batch) year.
    scorecard
        A Scorecard (``.to_frame()``, ``.total``, ``.grade``) or a DataFrame with
        its columns.
    survey, effects
        ``SurveyResult`` and ``PolicyEffects`` (or None if unavailable).
    previous
        ``{"year", "total", "grade"}`` of the previous batch year, if computed.
    params
        Narrative thresholds (``low_coverage_ratio``, ``late_payment_days``,
        ``alpha``).
    meta
        Declaration meta (policy name, department …).
    total
        Overall score, when ``scorecard`` is a bare frame (default: its ``.total``
        or the sum of scores).

    Returns
    -------
    dict
        See the module docstring for the keys.
    """
    params = dict(params or {})
    meta = dict(meta or {})
    frame = scorecard.to_frame() if hasattr(scorecard, "to_frame") else scorecard
    inds = indicator_facts(frame)
    if total is None and scorecard is not None:
        total = _num(getattr(scorecard, "total", None))
    if total is None and inds:
        total = float(np.nansum([i.get("score") or 0.0 for i in inds]))
    awards = _table(ds, "awards")
    findings = list(getattr(ds, "findings", []) or [])
    by_code: dict[str, int] = {}
    for f in findings:
        by_code[f.code] = by_code.get(f.code, 0) + 1
    return {
        "year": int(year),
        "policy": meta.get("policy", "推进制造业智能化改造和数字化转型"),
        "department": meta.get("department", "上海市嘉定区经济委员会"),
        "scheme": scheme,
        "audience": audience,
        "synthetic": bool(getattr(ds, "truth", None)),
        "total": total,
        "grade": formats.grade(total) if total is not None else None,
        "grade_en": formats.grade_en(total) if total is not None else None,
        "indicators": inds,
        "missed": [
            i
            for i in inds
            if i.get("score_rate") is not None
            and i["score_rate"] < 0.9999
            and (i.get("weight") or 0) > 0
        ],
        "over": [i for i in inds if "over_target" in i["flags"]],
        "payment": payment_facts(
            awards, year, late_days=int(params.get("late_payment_days", 180))
        ),
        "coverage": coverage_facts(
            ds,
            year,
            low_ratio=float(params.get("low_coverage_ratio", 0.5)),
            min_firms=min_firms,
            audience=audience,
        ),
        "caps": _caps(awards, year),
        "funds": _funds(awards, year),
        "budget": _budget(ds, year),
        "survey": survey_facts(survey),
        "effects": effects_facts(effects, alpha=float(params.get("alpha", 0.05))),
        "findings": {"n": len(findings), "by_code": by_code},
        "previous": dict(previous) if previous else None,
    }
