"""The evaluation reference date (评价基准日): the data as they stood on that day.

:func:`as_of` returns a new :class:`~jdeval.data.Dataset` in which nothing dated after
the reference date ``D`` is used.  The rule per table:

``awards``
    An application dated after ``D`` (or, without a date, of a batch year after
    ``D``'s year) is dropped.  Of the rest, every process date after ``D`` becomes
    empty, and what happened on those dates has not happened yet:

    - approval after ``D``: the status goes back to the stage reached by ``D``
      (公示 if publicity had started, else 评审 if reviewed, else 受理) and the
      approved and disbursed amounts are 0, as for an award not (yet) approved;
    - rejection or withdrawal decided after ``D`` (its latest process date): the
      same stage rule;
    - disbursement after ``D``: status ``approved`` (not yet disbursed), disbursed 0;
    - clawback whose 追回 event in ``complaints_audit`` is after ``D``: status
      ``disbursed``, ``clawback`` false;
    - ``expert_review_done`` / ``publicity_done`` are false when the review /
      publicity started after ``D``.
``firm_year``, ``budget``
    A year's figures are known when the year is over: rows of years ending after
    ``D`` are dropped.  ``first_award_year`` is recomputed where the awards at ``D``
    change it (a firm whose first approval comes after ``D`` has 0).
``recognitions``
    Recognitions of a year after ``D``'s year are dropped (the table has no day).
``diagnoses``
    Rows whose first date (online self-assessment, else offline diagnosis) is after
    ``D`` are dropped; a report dated after ``D`` is not yet there (report date,
    acceptance and assessed level empty).
``loans``, ``survey_responses``, ``policy_documents``, ``complaints_audit``
    Rows dated after ``D`` (start date, survey date, issue date, event date) are
    dropped (a document's ``valid_until`` is known when it is issued and stays).
``towns``, ``firms``, ``providers``
    Reference attributes: unchanged.

A reference (``award_id``) to an application dropped by the cut becomes empty in the
tables that remain (e.g. a diagnosis made before ``D`` whose subsidy was applied for
after it).

Findings are recomputed on the cut tables, with ``D`` as the date against which
"still undisbursed" is measured; row numbers stay those of the input files.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from jdeval.data.dataset import Dataset
from jdeval.data.rules import AWARD_DATE_ORDER

__all__ = ["as_of"]

_APPROVED = ("approved", "disbursed", "clawed_back")
_DECIDED = ("rejected", "withdrawn")


def as_of(ds: Dataset, date: dt.date | str | pd.Timestamp) -> Dataset:
    """The dataset as it stood on the evaluation reference date ``date``.

    Parameters
    ----------
    ds
        A loaded dataset.
    date
        评价基准日 (``datetime.date``, ``Timestamp`` or ``YYYY-MM-DD``).

    Returns
    -------
    Dataset
        A new dataset (``ds`` is not modified) following the rules of this module.
    """
    from jdeval.data.loading import recheck

    d = pd.Timestamp(date).normalize()
    t = {k: v.copy() for k, v in ds.tables.items()}
    keep: dict[str, np.ndarray] = {}

    def cut(name: str, mask) -> None:
        m = np.asarray(pd.Series(mask).fillna(True), dtype=bool)  # undated rows stay
        keep[name] = m
        t[name] = t[name].loc[m].reset_index(drop=True)

    aw = t["awards"]
    after = (aw["application_date"] > d) | (
        aw["application_date"].isna() & (aw["batch_year"] > d.year)
    )
    cut("awards", ~after)
    t["awards"] = _awards_at(t["awards"], t["complaints_audit"], d)
    year_over = d.year if (d.month, d.day) == (12, 31) else d.year - 1
    cut("firm_year", ~(t["firm_year"]["year"] > year_over))
    cut("budget", ~(t["budget"]["year"] > year_over))
    cut("recognitions", ~(t["recognitions"]["year"] > d.year))
    dg = t["diagnoses"]
    first = dg["online_self_assessment_date"].fillna(dg["offline_diag_date"])
    cut("diagnoses", ~(first > d))
    dg = t["diagnoses"]
    late = (dg["report_date"] > d).to_numpy()
    if late.any():
        dg.loc[late, "report_date"] = pd.NaT
        dg.loc[late, "report_accepted"] = pd.NA
        dg.loc[late, "assessed_level"] = pd.NA
        dg.loc[dg["offline_diag_date"] > d, "offline_diag_date"] = pd.NaT
    for name, col in (
        ("loans", "start_date"),
        ("survey_responses", "survey_date"),
        ("policy_documents", "issue_date"),
        ("complaints_audit", "date"),
    ):
        cut(name, ~(t[name][col] > d))
    known = set(t["awards"]["award_id"])
    for name in ("diagnoses", "loans", "survey_responses", "complaints_audit"):
        ref = t[name]["award_id"]
        t[name].loc[ref.notna() & ~ref.isin(known), "award_id"] = pd.NA
    t["firm_year"] = _first_award_year(ds, t, d)
    rows = {
        k: (np.asarray(v)[keep[k]] if k in keep else np.asarray(v))
        for k, v in ds.rows.items()
    }
    return recheck(ds, t, rows, as_of=d)


def _stage(a: pd.DataFrame, d: pd.Timestamp) -> pd.Series:
    """Status reached by ``d`` before any decision."""
    stage = pd.Series("受理", index=a.index, dtype=object)
    stage[(a["review_date"] <= d).fillna(False)] = "评审"
    stage[(a["publicity_start"] <= d).fillna(False)] = "公示"
    return stage


def _awards_at(a: pd.DataFrame, events: pd.DataFrame, d: pd.Timestamp) -> pd.DataFrame:
    stage = _stage(a, d)
    status = a["status"].astype(object).copy()
    last = pd.concat([a[c] for c in AWARD_DATE_ORDER], axis=1).max(axis=1)
    not_approved = status.isin(_APPROVED) & (a["approval_date"] > d).fillna(False)
    undecided = status.isin(_DECIDED) & (last > d).fillna(False)
    back = not_approved | undecided
    status[back] = stage[back]
    a.loc[not_approved, ["approved_amount", "disbursed_amount"]] = 0.0
    not_paid = status.isin(("disbursed", "clawed_back")) & (
        a["disbursement_date"] > d
    ).fillna(False)
    status[not_paid] = "approved"
    a.loc[not_paid, "disbursed_amount"] = 0.0
    claws = events[(events["type"] == "追回") & events["award_id"].notna()]
    claw_date = claws.groupby("award_id")["date"].min()
    when = pd.to_datetime(a["award_id"].astype(object).map(claw_date.to_dict()))
    unclawed = (status == "clawed_back") & (when > d).fillna(False)
    status[unclawed] = "disbursed"
    a.loc[unclawed | (when > d).fillna(False), "clawback"] = False
    a.loc[(a["review_date"] > d).fillna(False), "expert_review_done"] = False
    a.loc[(a["publicity_start"] > d).fillna(False), "publicity_done"] = False
    for c in AWARD_DATE_ORDER:
        a.loc[(a[c] > d).fillna(False), c] = pd.NaT
    a["status"] = status.astype(a["status"].dtype)
    return a


def _first_year(awards: pd.DataFrame) -> pd.Series:
    ent = awards[
        (awards["beneficiary_type"] == "enterprise").fillna(False)
        & awards["status"].isin(["approved", "disbursed"]).fillna(False)
    ]
    return ent.groupby("firm_id")["batch_year"].min()


def _first_award_year(ds: Dataset, t: dict, d: pd.Timestamp) -> pd.DataFrame:
    """Recompute ``first_award_year`` where the awards at ``d`` change it."""
    fy = t["firm_year"]
    before, after = _first_year(ds.awards), _first_year(t["awards"])
    firms = before.index.union(after.index)
    before, after = before.reindex(firms).fillna(0), after.reindex(firms).fillna(0)
    changed = firms[before.ne(after).to_numpy()]
    if len(changed) == 0:
        return fy
    rows = fy["firm_id"].isin(changed).to_numpy()
    stated = fy["first_award_year"].fillna(0).astype("int64")
    was = fy["firm_id"].map(before).fillna(0).astype("int64")
    fix = rows & (stated == was).to_numpy()  # only values that agreed with the awards
    fy.loc[fix, "first_award_year"] = (
        fy.loc[fix, "firm_id"].map(after).fillna(0).astype("int64").to_numpy()
    )
    return fy
