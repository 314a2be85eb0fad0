"""Heterogeneous effects (异质性分析) by subsidy category, key industry, 街镇, size class.

For each value ``v`` of a grouping variable the funded firms of group ``v`` are
compared with **all never-funded firms** by Callaway–Sant'Anna (never-treated
controls, doubly robust with the pre-period covariates when the group is large
enough, else outcome regression without covariates), and the ``simple`` aggregation
is reported. Using the never-funded firms of every group as controls keeps the
comparison group large; the covariates adjust for differences in size and maturity.
Groups are *descriptive* splits: a difference between groups is not by itself
evidence that the policy works better in one of them (the groups differ in many
ways), and with many groups some differences arise by chance.

Small groups are flagged: with fewer than ``min_treated`` funded firms (10 by
default) the estimate is reported but marked ``too_small`` and should not be
interpreted ("样本过少，不宜解读").

The subsidy category of a firm is the category of its *first* approved or
disbursed enterprise award (the largest approved amount if several in that year).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from jdeval.effects.progress import Progress
from jdeval.effects.results import normal_inference
from jdeval.effects.robustness import _cs, compact_panel
from jdeval.errors import DataError, ProblemList

__all__ = ["heterogeneity", "first_award_category", "DIMENSIONS", "CATEGORY_ZH"]

#: Grouping dimensions: column → (Chinese, English).
DIMENSIONS = {
    "category": ("补贴类别", "subsidy category"),
    "key_industry": ("重点产业", "key industry"),
    "town_code": ("街镇", "town"),
    "size_class": ("企业规模", "size class"),
}

CATEGORY_ZH = {
    "DIAG": "智能制造诊断评估",
    "SF_DISTRICT": "区级智能工厂",
    "SF_CITY_DEMO": "市示范性智能工厂",
    "PROVIDER": "服务商引育",
    "LOAN_INTEREST": "专项贷款贴息",
    "ID_RESOLUTION": "工业互联网标识解析",
    "IIP_PLATFORM": "工业互联网平台",
    "SCENE": "优秀场景",
}

_FUNDED = ("approved", "disbursed")


def first_award_category(awards: pd.DataFrame) -> pd.Series:
    """Category of each firm's first funded enterprise award (index = firm_id)."""
    need = {"firm_id", "batch_year", "category", "status"}
    if awards is None or not need <= set(awards.columns):
        return pd.Series(dtype="str", name="category")
    a = awards.loc[awards["status"].astype(str).isin(_FUNDED)].copy()
    if "beneficiary_type" in a.columns:
        a = a.loc[a["beneficiary_type"].astype(str) == "enterprise"]
    a = a.dropna(subset=["firm_id"])
    if a.empty:
        return pd.Series(dtype="str", name="category")
    amt = (
        pd.to_numeric(a["approved_amount"], errors="coerce").fillna(0)
        if "approved_amount" in a.columns
        else 0.0
    )
    a = a.assign(_amt=amt, firm_id=a["firm_id"].astype(str))
    a = a.sort_values(["firm_id", "batch_year", "_amt"], ascending=[True, True, False])
    first = a.drop_duplicates("firm_id").set_index("firm_id")["category"].astype(str)
    first.name = "category"
    return first


def _one_group(sub, n_t, *, yname, covariates, min_treated, alp):
    use_x = bool(covariates) and n_t >= max(min_treated, 3 * (len(covariates) + 5))
    try:
        agg = _cs(
            sub,
            yname,
            covariates=covariates if use_x else [],
            control_group="nevertreated",
            alp=alp,
        ).aggregate(type="simple")
    except (DataError, ValueError, np.linalg.LinAlgError) as exc:
        # a group too small or without variation is a flagged row, not a failure
        return math.nan, math.nan, use_x, str(exc).splitlines()[0][:200]
    return agg.overall_att, agg.overall_se, use_x, ""


def heterogeneity(
    panel: pd.DataFrame,
    *,
    yname: str,
    awards: pd.DataFrame | None = None,
    by: list[str] | None = None,
    covariates: list[str] | None = None,
    min_treated: int = 10,
    alp: float = 0.05,
) -> pd.DataFrame:
    """Effect of funding on ``yname`` by group, with group sizes and small-group flags.

    Parameters
    ----------
    panel
        Panel from :func:`jdeval.effects.outcomes.build_panel`.
    yname
        Outcome column.
    awards
        The ``awards`` table (for the subsidy category); without it the category
        split is skipped.
    by
        Dimensions to split by (keys of :data:`DIMENSIONS`; default all).
    covariates
        Pre-period covariates for the doubly robust estimator.
    min_treated
        Groups with fewer funded firms are flagged ``too_small``.
    alp
        Significance level.

    Returns
    -------
    DataFrame
        ``dimension, dimension_zh, group, group_zh, n_treated, n_control,
        estimate, se, ci_low, ci_high, p_value, too_small, covariates_used,
        flag_zh, flag_en``.
    """
    by = list(by or DIMENSIONS)
    for b in by:
        if b not in DIMENSIONS:
            raise ValueError(f"unknown dimension {b!r}; choose from {list(DIMENSIONS)}")
    covariates = list(covariates or [])
    p = panel
    if "category" in by:
        cat = first_award_category(awards) if awards is not None else pd.Series()
        p = panel.assign(category=panel["firm_id"].astype(str).map(cat))
        if awards is None:
            by.remove("category")
    missing = [b for b in by if b not in p.columns]
    if missing:
        problems = ProblemList()
        for c in missing:
            problems.error(
                "missing_column",
                f"异质性分析缺少列 {c}",
                f"heterogeneity needs column {c}",
                column=c,
            )
        problems.raise_if_errors(DataError, "无法做异质性分析 cannot split effects")
    # prepared once: integer ids, outcome present; groups are row masks of it
    d, kept = compact_panel(p, yname, covariates, return_rows=True)
    g = d["first_award_year"].to_numpy()
    firm = d["firm_id"].to_numpy()
    is_control = g == 0
    n_control = int(np.unique(firm[is_control]).size)
    groups = []
    for dim in by:
        codes, values = pd.factorize(p[dim].to_numpy()[kept])
        present = np.unique(codes[~is_control & (codes >= 0)])
        for k in sorted(present, key=lambda k: str(values[k])):
            groups.append((dim, values[k], codes == k))
    bar = Progress("heterogeneity", total=len(groups))
    rows = []
    for dim, val, in_group in groups:
        sub = d.loc[is_control | in_group]
        n_t = int(np.unique(firm[in_group & ~is_control]).size)
        est, se, used_x, err = _one_group(
            sub,
            n_t,
            yname=yname,
            covariates=covariates,
            min_treated=min_treated,
            alp=alp,
        )
        bar.mark(f"{dim}={val}", f"{DIMENSIONS[dim][0]}：{val}", outcome=yname)
        small = n_t < min_treated
        if small:
            fzh = f"受资助企业仅 {n_t} 家（少于 {min_treated} 家），样本过少，不宜解读"
            fen = f"only {n_t} funded firms (< {min_treated}): too few to interpret"
        elif err:
            fzh, fen = "无法估计：" + err, "could not estimate: " + err
        else:
            fzh, fen = "", ""
        label = CATEGORY_ZH.get(str(val), str(val)) if dim == "category" else val
        rows.append(
            {
                "dimension": dim,
                "dimension_zh": DIMENSIONS[dim][0],
                "group": str(val),
                "group_zh": str(label),
                "n_treated": n_t,
                "n_control": n_control,
                **normal_inference(est, se, alp),
                "too_small": small,
                "covariates_used": used_x,
                "flag_zh": fzh,
                "flag_en": fen,
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        out.insert(0, "outcome", yname)
    return out
