"""TWFE on pyfixest against the Wooldridge JTRAIN textbook regression.

Published values (Wooldridge, Introductory Econometrics, Example 14.1 / peers.md §2):
FE regression of log(scrap) on d88, d89, grant, grant_1 for the 54 firms with scrap
in all three years: −.080, −.247, −.252, −.422, conventional SEs (.109) (.133)
(.151) (.210), within R² .201. Data: tests/fixtures/jtrain.csv (see jtrain.md).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdeval.effects._twfe import treatment_dummy, twfe
from jdeval.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "jtrain.csv"

PUBLISHED = {
    "d88": (-0.080, 0.109),
    "d89": (-0.247, 0.133),
    "grant": (-0.252, 0.151),
    "grant_1": (-0.422, 0.210),
}


@pytest.fixture(scope="module")
def jtrain():
    d = pd.read_csv(FIXTURE)
    complete = d.groupby("fcode")["lscrap"].transform(lambda s: s.notna().all())
    return d.loc[complete].reset_index(drop=True)


def test_jtrain_sample_is_the_textbook_one(jtrain):
    assert jtrain["fcode"].nunique() == 54
    assert len(jtrain) == 162


def test_jtrain_fe_regression_matches_wooldridge(jtrain):
    res = twfe(
        jtrain,
        yname="lscrap",
        idname="fcode",
        tname="year",
        treat=["grant", "grant_1"],
        xformla="~ d88 + d89",
        time_fe=False,
        vcov="iid",
    )
    f = res.to_frame().set_index("term")
    for term, (b, se) in PUBLISHED.items():
        assert f.loc[term, "estimate"] == pytest.approx(b, abs=5e-4)
        assert f.loc[term, "se"] == pytest.approx(se, abs=5e-4)
    assert res.extra["r2_within"] == pytest.approx(0.201, abs=5e-4)
    assert res.extra["n_obs"] == 162
    assert res.overall_att == pytest.approx(-0.252, abs=5e-4)


def test_year_fixed_effects_equal_year_dummies(jtrain):
    a = (
        twfe(
            jtrain,
            yname="lscrap",
            idname="fcode",
            tname="year",
            treat=["grant", "grant_1"],
            vcov="iid",
        )
        .to_frame()
        .set_index("term")
    )
    for term in ("grant", "grant_1"):
        assert a.loc[term, "estimate"] == pytest.approx(PUBLISHED[term][0], abs=5e-4)
        assert a.loc[term, "se"] == pytest.approx(PUBLISHED[term][1], abs=5e-4)


def test_clustered_se_uses_fixest_small_sample_correction(jtrain):
    """CRV1 = (X'X)^-1 (sum_g s_g s_g') (X'X)^-1 · G/(G-1) · (n-1)/(n-K).

    K = 4 regressors + 1: firm effects nested in the firm clusters count as one
    parameter (R fixest ``ssc(fixef.K = "nested")``, pyfixest's default).
    """
    res = twfe(
        jtrain,
        yname="lscrap",
        idname="fcode",
        tname="year",
        treat=["grant", "grant_1"],
        xformla="~ d88 + d89",
        time_fe=False,
    )
    cols = ["grant", "grant_1", "d88", "d89"]
    d = jtrain.copy()
    for c in ["lscrap", *cols]:
        d[c] = d[c] - d.groupby("fcode")[c].transform("mean")
    x = d[cols].to_numpy(float)
    y = d["lscrap"].to_numpy(float)
    beta = np.linalg.solve(x.T @ x, x.T @ y)
    u = y - x @ beta
    s = pd.DataFrame(x * u[:, None]).groupby(d["fcode"].to_numpy()).sum().to_numpy()
    bread = np.linalg.inv(x.T @ x)
    n, k, g = len(y), 5, d["fcode"].nunique()
    v = bread @ s.T @ s @ bread * g / (g - 1) * (n - 1) / (n - k)
    f = res.to_frame().set_index("term")
    np.testing.assert_allclose(f.loc[cols, "se"], np.sqrt(np.diag(v)), rtol=1e-8)
    assert "CRV1" in res.se_type


def test_cohort_coding_zero_or_missing_is_never_treated():
    d = pd.DataFrame({"t": [1, 2, 3, 1, 2, 3], "g": [2, 2, 2, np.nan, np.nan, np.nan]})
    np.testing.assert_array_equal(
        treatment_dummy(d, tname="t", gname="g"), [0, 1, 1, 0, 0, 0]
    )
    d["g"] = d["g"].fillna(0)
    np.testing.assert_array_equal(
        treatment_dummy(d, tname="t", gname="g"), [0, 1, 1, 0, 0, 0]
    )


def test_missing_columns_are_listed_together(jtrain):
    with pytest.raises(DataError) as err:
        twfe(jtrain, yname="nope", idname="fcode", tname="yr", treat="grant")
    cols = {p.column for p in err.value.problems}
    assert cols == {"nope", "yr"}
