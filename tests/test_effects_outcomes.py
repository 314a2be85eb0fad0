"""The analysis panel: outcome definitions, cohorts and pre-period covariates."""

import types

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.outcomes import COVARIATES, OUTCOMES, build_panel, size_class
from jdeval.errors import DataError


@pytest.fixture(scope="module")
def panel(ds):
    return build_panel(ds, tfp=None)


def test_outcome_columns_and_labels(panel, ds):
    for name in OUTCOMES["name"]:
        assert name in panel.columns
    for name in ds.truth["effects"]:
        assert name in set(OUTCOMES["name"])
    assert OUTCOMES["zh"].str.len().gt(0).all()


def test_outcome_definitions(panel, ds):
    fy = ds.firm_year.sort_values(["firm_id", "year"]).reset_index(drop=True)
    tri = fy["tech_reno_inv"].to_numpy(float)
    np.testing.assert_allclose(panel["log_tech_reno_inv"], np.log1p(tri))
    np.testing.assert_allclose(
        panel["digital_inv_share"], fy["digital_inv"] / fy["revenue"]
    )
    np.testing.assert_allclose(
        panel["log_labour_productivity"],
        np.log(fy["value_added"].to_numpy(float) / fy["employees"].to_numpy(float)),
    )
    # investment rate uses last year's net fixed assets of the same firm
    row = panel.loc[(panel["firm_id"] == panel["firm_id"].iloc[0])].iloc[1:3]
    prev = panel.loc[
        (panel["firm_id"] == row["firm_id"].iloc[0])
        & (panel["year"] == row["year"].iloc[0] - 1),
        "fixed_assets_net",
    ]
    assert row["investment_rate"].iloc[0] == pytest.approx(
        row["fixed_asset_inv"].iloc[0] / prev.iloc[0]
    )
    assert (
        panel.loc[panel["year"] == panel["year"].min(), "investment_rate"].isna().all()
    )


def test_cohorts_match_truth(panel, ds):
    firms = panel.drop_duplicates("firm_id")
    counts = firms["first_award_year"].value_counts()
    for g, n in ds.truth["cohorts"].items():
        assert counts.get(int(g), 0) == n


def test_covariates_are_pre_period_and_time_invariant(panel, ds):
    for c in COVARIATES + ["size_class", "town_code", "key_industry"]:
        assert panel.groupby("firm_id")[c].nunique(dropna=False).max() == 1, c
    fy = ds.firm_year
    emp22 = fy.loc[fy["year"] == 2022].set_index("firm_id")["employees"].astype(float)
    got = panel.drop_duplicates("firm_id").set_index("firm_id")["log_employees_base"]
    np.testing.assert_allclose(got.loc[emp22.index], np.log(emp22))
    # the covariates named in truth.json are the ones we use
    names = {
        "log_employees_2022": "log_employees_base",
        "maturity_level_2022": "maturity_base",
        "log_revenue_2022": "log_revenue_base",
    }
    assert {names[c] for c in ds.truth["selection"]["covariates"]} == set(COVARIATES)


def test_size_class_thresholds():
    got = size_class(
        [1000, 999, 300, 20, 19, 5000, np.nan], [40000, 40000, 2000, 300, 300, 100, 1]
    )
    assert list(got) == ["大型", "中型", "中型", "小型", "微型", "微型", "未知"]


def test_missing_table_and_columns_reported_at_once(ds):
    bad = types.SimpleNamespace(
        tables={
            "firm_year": ds.firm_year.drop(columns=["value_added", "revenue"]),
        }
    )
    with pytest.raises(DataError) as err:
        build_panel(bad)
    probs = err.value.problems
    assert {p.column for p in probs if p.table == "firm_year"} == {
        "value_added",
        "revenue",
    }
    assert any(p.table == "firms" and p.code == "missing_table" for p in probs)
    assert all(p.message_zh and p.message_en for p in probs)


def test_panel_with_tfp(ds):
    p, prod = build_panel(ds, return_production=True)
    assert p["tfp"].notna().all()
    assert prod.method == "acf"
    assert isinstance(p, pd.DataFrame)


def test_max_year_drops_later_years(ds):
    p = build_panel(ds, max_year=2023, tfp="fe")
    assert p["year"].max() == 2023
    assert p["tfp"].notna().all()
