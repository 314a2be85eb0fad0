"""jdeval.effects.did.att_gt against R did on its ``mpdta`` example.

Reference numbers: ``tests/fixtures/did_mpdta_reference.json`` (moderndid 0.2.0, which
matches R did to ~1e-15; regenerate with ``tests/fixtures/make_did_reference.py``) and
R did's published point estimates (peers.md §2).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jdeval.effects.did import att_gt

FIX = Path(__file__).parent / "fixtures"
REF = json.loads((FIX / "did_mpdta_reference.json").read_text(encoding="utf-8"))
TOL = 1e-6


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(FIX / "mpdta.csv")


def _fit(data, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return att_gt(
            data,
            yname="lemp",
            tname="year",
            idname="countyreal",
            gname="first.treat",
            xformla=case["xformla"],
            control_group=case["control_group"],
            est_method=case["est_method"],
            base_period=case["base_period"],
        )


def _ids(case):
    return "-".join(
        [
            case["est_method"],
            case["control_group"],
            "lpop" if case["xformla"] else "nocov",
            case["base_period"],
        ]
    )


def _close(a, b, tol=TOL):
    a = np.asarray([np.nan if v is None else v for v in a], dtype=float)
    b = np.asarray([np.nan if v is None else v for v in b], dtype=float)
    assert a.shape == b.shape
    both_nan = np.isnan(a) & np.isnan(b)
    assert np.all(both_nan | (np.abs(a - b) <= tol)), np.c_[a, b]


def test_published_r_point_estimates(mpdta):
    pub = REF["r_published"]
    res = att_gt(
        mpdta, yname="lemp", tname="year", idname="countyreal", gname="first.treat"
    )
    f = res.to_frame().set_index(["group", "time"])
    for year, val in pub["att_gt_2004"].items():
        assert f.loc[(2004, int(year)), "estimate"] == pytest.approx(val, abs=5e-5)
    dyn = res.aggregate("dynamic")
    de = dyn.to_frame().set_index("event_time")["estimate"]
    for e, val in pub["dynamic_e"].items():
        assert de[int(e)] == pytest.approx(val, abs=5e-5)
    assert dyn.overall_att == pytest.approx(pub["dynamic_overall"], abs=5e-5)
    assert res.aggregate("group").overall_att == pytest.approx(
        pub["group_overall"], abs=5e-5
    )
    # R did prints "P-value for pre-test of parallel trends assumption: 0.16812"
    assert res.pretest().p_value == pytest.approx(0.16812, abs=5e-6)


@pytest.mark.parametrize("case", REF["cases"], ids=_ids)
def test_att_gt_matches_r_did(mpdta, case):
    res = _fit(mpdta, case)
    f = res.to_frame()
    ref = case["att_gt"]
    _close(f["group"], ref["group"], 0)
    _close(f["time"], ref["time"], 0)
    _close(f["estimate"], ref["estimate"])
    _close(f["se"], ref["se"])
    pt = res.pretest()
    if case["pretest"]["W"] is None:
        assert not np.isfinite(pt.statistic)
    else:
        assert pt.statistic == pytest.approx(case["pretest"]["W"], abs=TOL)
        # R did rounds the p-value to 5 decimals
        assert pt.p_value == pytest.approx(case["pretest"]["p_value"], abs=5e-6)


@pytest.mark.parametrize("case", REF["cases"], ids=_ids)
@pytest.mark.parametrize("typ", ["simple", "group", "dynamic", "calendar"])
def test_aggregations_match_r_did(mpdta, case, typ):
    res = _fit(mpdta, case)
    agg = res.aggregate(typ)
    ref = case["aggregate"][typ]
    assert agg.overall_att == pytest.approx(ref["overall_att"], abs=TOL)
    assert agg.overall_se == pytest.approx(ref["overall_se"], abs=TOL)
    if typ != "simple":
        f = agg.to_frame()
        key = {"group": "group", "dynamic": "event_time", "calendar": "time"}[typ]
        _close(f[key], ref["key"], 0)
        _close(f["estimate"], ref["estimate"])
        _close(f["se"], ref["se"])
