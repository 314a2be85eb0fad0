"""Outcome variables and the firm × year analysis panel for the effect estimates.

:func:`build_panel` turns a :class:`jdeval.data.Dataset` into one DataFrame, a row per
firm and year, with

* the outcomes (names as in ``truth.json``; see :data:`OUTCOMES` for Chinese labels):
  ``log_tech_reno_inv`` = log(1 + 技术改造投资), ``digital_inv_share`` = 智改数转投资 /
  营业收入, ``investment_rate`` = 固定资产投资 / 上年末固定资产净值,
  ``log_labour_productivity`` = log(增加值 / 从业人员), ``tfp`` = log 全要素生产率
  (ACF control function, :mod:`jdeval.effects.productivity`);
* the cohort ``first_award_year`` (0 = never funded) and ``treated`` (funded by then);
* **pre-period, time-invariant covariates** measured in the base year (the year
  before the policy started, 2022 by default, or the firm's earliest year if it
  entered later): ``log_employees_base``, ``log_revenue_base``,
  ``maturity_base``, ``log_assets_base``. Callaway–Sant'Anna with covariates
  measured in each base period is biased when covariate *levels* differ between
  funded and unfunded firms (peers.md §4), so only fixed pre-period values are used;
* firm attributes for heterogeneity: ``town_code``, ``key_industry``,
  ``industry_div``, ``size_class`` (国家统计局《统计上大中小微型企业划分办法
  (2017)》 industrial thresholds on base-year employees and revenue).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from jdeval.errors import DataError, ProblemList

__all__ = [
    "OUTCOMES",
    "COVARIATES",
    "POLICY_START_YEAR",
    "build_panel",
    "size_class",
    "outcome_label",
]

#: First calendar year of the policy (推进智改数转 2023-08 → 2025-12).
POLICY_START_YEAR = 2023

#: Outcome variables with Chinese / English labels and units.
OUTCOMES = pd.DataFrame(
    [
        (
            "log_tech_reno_inv",
            "技术改造投资（对数）",
            "technical renovation investment (log 1+x)",
            "log(万元)",
        ),
        (
            "digital_inv_share",
            "智改数转投资占营业收入比重",
            "digital transformation investment / revenue",
            "比率 ratio",
        ),
        (
            "investment_rate",
            "固定资产投资率",
            "fixed-asset investment / lagged net fixed assets",
            "比率 ratio",
        ),
        (
            "log_labour_productivity",
            "劳动生产率（对数）",
            "labour productivity (log value added per worker)",
            "log(万元/人)",
        ),
        ("tfp", "全要素生产率（对数）", "total factor productivity (log)", "log"),
    ],
    columns=["name", "zh", "en", "unit"],
)

#: Pre-period covariates used by the main design (doubly robust CS).
COVARIATES = ["log_employees_base", "log_revenue_base", "maturity_base"]

_FIRM_YEAR_NEEDED = [
    "firm_id",
    "year",
    "revenue",
    "employees",
    "fixed_asset_inv",
    "tech_reno_inv",
    "digital_inv",
    "value_added",
    "fixed_assets_net",
    "first_award_year",
]
_FIRMS_NEEDED = ["firm_id", "town_code", "key_industry", "industry_div"]


def outcome_label(name: str, lang: str = "zh") -> str:
    """Label of an outcome (``lang`` = ``"zh"`` or ``"en"``); the name if unknown."""
    row = OUTCOMES.loc[OUTCOMES["name"] == name]
    return str(row[lang].iloc[0]) if len(row) else name


def size_class(employees, revenue) -> np.ndarray:
    """Enterprise size class from employees and revenue (万元), industry rules.

    国家统计局《统计上大中小微型企业划分办法（2017）》, 工业: 大型 employees ≥ 1000
    and revenue ≥ 40000; 中型 ≥ 300 and ≥ 2000; 小型 ≥ 20 and ≥ 300; otherwise 微型.
    Missing inputs give ``"未知"``.
    """
    emp = np.asarray(pd.to_numeric(pd.Series(employees), errors="coerce"), float)
    rev = np.asarray(pd.to_numeric(pd.Series(revenue), errors="coerce"), float)
    out = np.select(
        [
            np.isnan(emp) | np.isnan(rev),
            (emp >= 1000) & (rev >= 40000),
            (emp >= 300) & (rev >= 2000),
            (emp >= 20) & (rev >= 300),
        ],
        ["未知", "大型", "中型", "小型"],
        default="微型",
    )
    return out.astype(object)


def _check(ds) -> None:
    problems = ProblemList()
    tables = getattr(ds, "tables", {})
    for tname, cols in (("firm_year", _FIRM_YEAR_NEEDED), ("firms", _FIRMS_NEEDED)):
        if tname not in tables:
            problems.error(
                "missing_table",
                f"缺少表 {tname}，无法估计政策效应",
                f"table {tname} is needed to estimate policy effects",
                table=tname,
            )
            continue
        for col in cols:
            if col not in tables[tname].columns:
                problems.error(
                    "missing_column",
                    f"表 {tname} 缺少列 {col}",
                    f"table {tname} lacks column {col}",
                    table=tname,
                    column=col,
                )
    problems.raise_if_errors(DataError, "无法构建效应分析面板 cannot build the panel")


def _num(s: pd.Series) -> np.ndarray:
    return pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()


def build_panel(
    ds,
    *,
    base_year: int = POLICY_START_YEAR - 1,
    max_year: int | None = None,
    tfp: str | None = "acf",
    return_production: bool = False,
):
    """Build the firm × year panel of outcomes, cohorts and pre-period covariates.

    Parameters
    ----------
    ds
        A :class:`jdeval.data.Dataset` (needs tables ``firm_year`` and ``firms``).
    base_year
        Year whose values are the pre-period covariates (default 2022, the year
        before the policy). Firms first observed later use their first year.
    max_year
        Drop years after this one (the evaluation year) before anything is
        computed, TFP included.
    tfp
        ``"acf"`` (default) or ``"fe"`` to add a ``tfp`` column estimated by
        :func:`jdeval.effects.productivity.estimate_tfp`; ``None`` to skip.
    return_production
        Also return the :class:`~jdeval.effects.productivity.ProductionResult`.

    Returns
    -------
    DataFrame, or (DataFrame, ProductionResult | None)
        Sorted by ``firm_id, year``; ``first_award_year`` is ``int64`` with 0 for
        never-funded firms.

    Raises
    ------
    DataError
        If a table or column the panel needs is missing (all listed at once).
    """
    _check(ds)
    fy = ds.tables["firm_year"]
    firms = ds.tables["firms"]
    p = pd.DataFrame(
        {
            "firm_id": fy["firm_id"].astype(str).to_numpy(),
            "year": pd.to_numeric(fy["year"]).astype("int64").to_numpy(),
        }
    )
    for col in _FIRM_YEAR_NEEDED[2:-1] + ["intermediate_inputs", "maturity_level"]:
        if col in fy.columns:
            p[col] = _num(fy[col])
    p["first_award_year"] = (
        pd.to_numeric(fy["first_award_year"], errors="coerce")
        .fillna(0)
        .astype("int64")
        .to_numpy()
    )
    if max_year is not None:
        p = p.loc[p["year"].to_numpy() <= max_year]
    p = p.sort_values(["firm_id", "year"]).reset_index(drop=True)
    g = p["first_award_year"].to_numpy()
    p["treated"] = ((g > 0) & (p["year"].to_numpy() >= g)).astype("int64")
    p["ever_treated"] = (g > 0).astype("int64")

    with np.errstate(divide="ignore", invalid="ignore"):
        tri = p["tech_reno_inv"].to_numpy()
        p["log_tech_reno_inv"] = np.where(tri >= 0, np.log1p(np.abs(tri)), np.nan)
        rev = p["revenue"].to_numpy()
        p["digital_inv_share"] = np.where(rev > 0, p["digital_inv"] / rev, np.nan)
        va = p["value_added"].to_numpy()
        emp = p["employees"].to_numpy()
        ok = (va > 0) & (emp > 0)
        p["log_labour_productivity"] = np.where(
            ok, np.log(np.where(ok, va, 1) / np.where(ok, emp, 1)), np.nan
        )
        ids = p["firm_id"].to_numpy()
        yrs = p["year"].to_numpy()
        lag_k = np.full(len(p), np.nan)
        has_lag = np.zeros(len(p), bool)
        has_lag[1:] = (ids[1:] == ids[:-1]) & (yrs[1:] == yrs[:-1] + 1)
        lag_k[1:] = np.where(has_lag[1:], p["fixed_assets_net"].to_numpy()[:-1], np.nan)
        p["investment_rate"] = np.where(
            lag_k > 0, p["fixed_asset_inv"].to_numpy() / lag_k, np.nan
        )

    # pre-period covariates: value in base_year, else the firm's first year
    order = np.where(yrs == base_year, -1, np.where(yrs < base_year, 10**6, yrs))
    base = (
        p.assign(_o=order)
        .sort_values(["firm_id", "_o"])
        .drop_duplicates("firm_id")
        .set_index("firm_id")
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        cov = pd.DataFrame(
            {
                "log_employees_base": np.log(
                    base["employees"].where(base["employees"] > 0)
                ),
                "log_revenue_base": np.log(base["revenue"].where(base["revenue"] > 0)),
                "log_assets_base": np.log(
                    base["fixed_assets_net"].where(base["fixed_assets_net"] > 0)
                ),
                "maturity_base": base["maturity_level"]
                if "maturity_level" in base
                else np.nan,
                "size_class": size_class(base["employees"], base["revenue"]),
                "base_year": base["year"],
            },
            index=base.index,
        )
    p = p.join(cov, on="firm_id")
    fcols = [
        c
        for c in (
            "town_code",
            "key_industry",
            "industry_div",
            "is_zjtx",
            "is_high_tech",
        )
        if c in firms.columns
    ]
    f = firms[["firm_id", *fcols]].copy()
    f["firm_id"] = f["firm_id"].astype(str)
    p = p.merge(f.drop_duplicates("firm_id"), on="firm_id", how="left")

    prod = None
    if tfp is not None:
        from jdeval.effects.productivity import estimate_tfp

        prod = estimate_tfp(p, method=tfp)
        # rows of prod.tfp are rows of p (positions kept): no merge on the keys
        col = np.full(len(p), np.nan)
        col[prod.rows] = prod.tfp["tfp"].to_numpy()
        p["tfp"] = col
    else:
        p["tfp"] = np.nan
    if return_production:
        return p, prod
    return p
