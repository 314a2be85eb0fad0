"""Sampling weights in att_gt (``weightsname``, R did's meaning), without peers.

Integer weights give the point estimates of the data with each firm repeated that
many times (as distinct firms): weighted logit, regressions, means and cohort
shares are the frequency-weighted ones. Standard errors differ on purpose: sampling
weights are not extra firms. csdid comparisons are in test_effects_did_peers.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.did import att_gt
from jdeval.errors import DataError

FIX = Path(__file__).parent / "fixtures"
KW = dict(yname="lemp", tname="year", idname="countyreal", gname="first.treat")


@pytest.fixture(scope="module")
def weighted() -> pd.DataFrame:
    d = pd.read_csv(FIX / "mpdta.csv")
    rng = np.random.default_rng(5)
    w = rng.integers(1, 4, d["countyreal"].nunique())
    return d.assign(w=np.repeat(w, 5))


def _duplicated(d: pd.DataFrame) -> pd.DataFrame:
    firms = d.drop_duplicates("countyreal")[["countyreal", "w"]]
    copies = firms.loc[firms.index.repeat(firms["w"])].copy()
    copies["copy"] = copies.groupby("countyreal").cumcount()
    out = d.merge(copies[["countyreal", "copy"]], on="countyreal")
    out["countyreal"] = out["countyreal"] * 10 + out["copy"]
    return out.drop(columns="copy").sort_values(["countyreal", "year"])


@pytest.mark.parametrize("est", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("cg", ["nevertreated", "notyettreated"])
def test_integer_weights_equal_duplicated_firms(weighted, est, cg):
    kw = dict(**KW, xformla="~ lpop", control_group=cg, est_method=est)
    res_w = att_gt(weighted, **kw, weightsname="w")
    res_d = att_gt(_duplicated(weighted), **kw)
    np.testing.assert_allclose(
        res_w.to_frame()["estimate"], res_d.to_frame()["estimate"], atol=1e-9
    )
    for typ in ["simple", "group", "dynamic", "calendar"]:
        assert res_w.aggregate(typ).overall_att == pytest.approx(
            res_d.aggregate(typ).overall_att, abs=1e-9
        )
    unweighted = att_gt(weighted, **kw)
    assert not np.allclose(
        unweighted.to_frame()["estimate"], res_w.to_frame()["estimate"]
    )


def test_unit_weights_equal_no_weights(weighted):
    d = weighted.assign(w=2.5)
    a = att_gt(d, **KW, xformla="~ lpop", weightsname="w")
    b = att_gt(d, **KW, xformla="~ lpop")
    np.testing.assert_allclose(a.to_frame()["estimate"], b.to_frame()["estimate"])
    np.testing.assert_allclose(a.to_frame()["se"], b.to_frame()["se"], rtol=1e-9)
    assert a.aggregate("dynamic").overall_se == pytest.approx(
        b.aggregate("dynamic").overall_se, rel=1e-9
    )


def test_bad_weights_are_located(weighted):
    d = weighted.copy()
    d.loc[3, "w"] = -1.0
    d.loc[d["countyreal"] == d.loc[20, "countyreal"], "w"] = [1, 2, 1, 1, 1]
    with pytest.raises(DataError) as err:
        att_gt(d, **KW, weightsname="w")
    codes = {p.code for p in err.value.problems}
    assert codes == {"did_weight_invalid", "did_weight_varies"}
    bad = [p for p in err.value.problems if p.code == "did_weight_invalid"]
    assert bad[0].row == 5 and bad[0].column == "w"
