"""The exact indicator fixed-effects solver against pyfixest, side by side.

Random staggered panels (balanced and unbalanced, with singleton rows, with and
without never-treated firms): the event studies (Sun–Abraham and dynamic TWFE)
and the static TWFE on the exact solver must equal the same models run through
pyfixest. pyfixest demeans unbalanced panels iteratively (tolerance 1e-6 by
default), so the comparison runs it at ``fixef_tol=1e-12``.
"""

import functools
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import jdeval.effects._event_study as es_mod
import jdeval.effects._twfe as twfe_mod
from jdeval.effects._event_study import event_study
from jdeval.effects._fe_regression import indicator_fe_fit, pyfixest_fit
from jdeval.effects._twfe import twfe

TIGHT = functools.partial(pyfixest_fit, fixef_tol=1e-12)


def random_panel(seed, n_firms, n_years, never_share, drop_share):
    """Staggered panel with cohort- and time-varying effects; rows dropped at random."""
    rng = np.random.default_rng(seed)
    years = np.arange(2018, 2018 + n_years)
    cohorts = years[2:]
    g = np.where(
        rng.random(n_firms) < never_share, 0, rng.choice(cohorts, n_firms)
    ).astype("int64")
    a = rng.normal(0, 1, n_firms)
    firm = np.repeat(np.arange(n_firms), n_years)
    year = np.tile(years, n_firms)
    gg = g[firm]
    tau = np.where((gg > 0) & (year >= gg), 0.2 + 0.1 * (year - gg), 0.0)
    y = a[firm] + 0.05 * (year - 2018) + tau + rng.normal(0, 1, firm.size)
    d = pd.DataFrame({"firm": firm, "year": year, "g": gg, "y": y})
    keep = rng.random(len(d)) >= drop_share
    return d.loc[keep].reset_index(drop=True)


def both_paths(monkeypatch, module, call):
    """Run ``call`` on the exact solver, then forced onto pyfixest.

    Both runs use the tight pyfixest (the first only where the solver declines).
    """
    monkeypatch.setattr(module, "pyfixest_fit", TIGHT)
    with warnings.catch_warnings(record=True) as w_fast:
        warnings.simplefilter("always")
        fast = call()
    with monkeypatch.context() as m:
        m.setattr(module, "indicator_fe_fit", lambda *a, **k: None)
        with warnings.catch_warnings(record=True) as w_slow:
            warnings.simplefilter("always")
            slow = call()
    return fast, slow, _messages(w_fast), _messages(w_slow)


def _messages(caught):
    return [
        str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning)
    ]


def assert_same(fast, slow):
    a, b = fast.to_frame(), slow.to_frame()
    assert list(a.columns) == list(b.columns)
    np.testing.assert_array_equal(
        a["event_time" if "event_time" in a else "term"],
        b["event_time" if "event_time" in b else "term"],
    )
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a["se"], b["se"], rtol=1e-8)
    np.testing.assert_allclose(a["p_value"], b["p_value"], rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(fast.overall_att, slow.overall_att, rtol=0, atol=1e-10)
    np.testing.assert_allclose(fast.overall_se, slow.overall_se, rtol=1e-8)
    assert fast.extra["n_obs"] == slow.extra["n_obs"]


panels = st.builds(
    random_panel,
    seed=st.integers(0, 2**31),
    n_firms=st.integers(12, 60),
    n_years=st.integers(4, 7),
    never_share=st.sampled_from([0.0, 0.3, 0.6]),
    drop_share=st.sampled_from([0.0, 0.15, 0.4]),
)
FAST = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
MANY = settings(FAST, max_examples=200)


@FAST
@given(d=panels, estimator=st.sampled_from(["sunab", "twfe"]))
def test_event_study_exact_solver_equals_pyfixest(monkeypatch, d, estimator):
    check_event_study(monkeypatch, d, estimator)


@pytest.mark.slow
@MANY
@given(d=panels, estimator=st.sampled_from(["sunab", "twfe"]))
def test_event_study_exact_solver_equals_pyfixest_many(monkeypatch, d, estimator):
    check_event_study(monkeypatch, d, estimator)


def check_event_study(monkeypatch, d, estimator):
    # a cell resting on one or two firms has a clustered variance of ~0, which both
    # engines return as rounding noise: nothing to compare
    assume(d.groupby("g")["firm"].nunique().min() >= 3)

    def call():
        return event_study(
            d, yname="y", idname="firm", tname="year", gname="g", estimator=estimator
        )

    try:
        fast, slow, w_fast, w_slow = both_paths(monkeypatch, es_mod, call)
    except ValueError as err:  # pyfixest: every regressor collinear
        assert "collinear" in str(err)
        return
    assert_same(fast, slow)
    if fast.extra["engine"] == "indicator":
        # the same singleton warning, so the notes built from it agree
        assert w_fast == w_slow
    if not fast.extra["catt"].empty:
        pd.testing.assert_frame_equal(
            fast.extra["catt"][["group", "event_time", "n"]],
            slow.extra["catt"][["group", "event_time", "n"]],
        )


@FAST
@given(d=panels)
def test_static_twfe_exact_solver_equals_pyfixest(monkeypatch, d):
    check_static_twfe(monkeypatch, d)


@pytest.mark.slow
@MANY
@given(d=panels)
def test_static_twfe_exact_solver_equals_pyfixest_many(monkeypatch, d):
    check_static_twfe(monkeypatch, d)


def check_static_twfe(monkeypatch, d):
    assume(d.groupby("g")["firm"].nunique().min() >= 3)

    def call():
        return twfe(d, yname="y", idname="firm", tname="year", gname="g")

    fast, slow, w_fast, w_slow = both_paths(monkeypatch, twfe_mod, call)
    assert_same(fast, slow)
    assert fast.extra["r2_within"] == pytest.approx(slow.extra["r2_within"], abs=1e-9)
    assert fast.extra["dof"] == slow.extra["dof"]
    assert fast.notes == slow.notes


def test_policy_case_uses_the_exact_solver():
    d = random_panel(4, 80, 7, 0.3, 0.2)
    sa = event_study(
        d, yname="y", idname="firm", tname="year", gname="g", estimator="sunab"
    )
    tw = twfe(d, yname="y", idname="firm", tname="year", gname="g")
    assert sa.extra["engine"] == tw.extra["engine"] == "indicator"
    # covariates and other covariances stay on pyfixest
    d["x"] = np.random.default_rng(0).normal(size=len(d))
    assert (
        twfe(d, yname="y", idname="firm", tname="year", gname="g", xformla="~ x").extra[
            "engine"
        ]
        == "pyfixest"
    )
    assert (
        twfe(d, yname="y", idname="firm", tname="year", gname="g", vcov="iid").extra[
            "engine"
        ]
        == "pyfixest"
    )


def test_singletons_are_dropped_as_pyfixest_does():
    d = random_panel(7, 40, 6, 0.3, 0.0)
    # three firms seen once: singletons in the firm effect
    d = d.loc[~(d["firm"].isin([0, 1, 2]) & (d["year"] > 2018))].reset_index(drop=True)
    code = ((d["g"] > 0) & (d["year"] >= d["g"])).to_numpy().astype("int64")
    with pytest.warns(UserWarning, match="3 singleton"):
        fit = indicator_fe_fit(d["y"], d["firm"], d["year"], code, ["treated"])
    assert fit.n_obs == len(d) - 3
    d["treated"] = code.astype(float)
    ref = TIGHT("y ~ treated | firm + year", d, {"CRV1": "firm"})
    assert ref.n_obs == fit.n_obs
    np.testing.assert_allclose(fit.coef, ref.coef, atol=1e-10)
    np.testing.assert_allclose(fit.vcov, ref.vcov, rtol=1e-8)


def test_collinear_cell_is_left_to_pyfixest():
    d = random_panel(2, 30, 5, 0.5, 0.0)
    # a regressor equal to a year dummy is collinear with the year effects
    code = (d["year"] == 2020).to_numpy().astype("int64")
    assert indicator_fe_fit(d["y"], d["firm"], d["year"], code, ["y2020"]) is None


def test_rows_the_solver_does_not_cover_go_to_pyfixest(monkeypatch):
    d = random_panel(3, 40, 6, 0.3, 0.1)
    d["year"] = d["year"].astype(float)
    d.loc[5, "y"] = np.inf  # pyfixest drops it with a warning
    d.loc[9, "year"] = np.nan  # a row without a period: dropped by pyfixest

    def call():
        return twfe(d, yname="y", idname="firm", tname="year", gname="g")

    fast, slow, w_fast, w_slow = both_paths(monkeypatch, twfe_mod, call)
    assert fast.extra["engine"] == "pyfixest"
    assert_same(fast, slow)
    assert w_fast == w_slow


def test_twfe_intervals_and_p_values_are_pyfixests():
    d = random_panel(5, 80, 6, 0.3, 0.2)
    ours = twfe(d, yname="y", idname="firm", tname="year", gname="g").to_frame()
    d["treated"] = ((d["g"] > 0) & (d["year"] >= d["g"])).astype(float)
    ref = (
        twfe_mod.feols_quiet(
            "y ~ treated | firm + year", d, {"CRV1": "firm"}, fixef_tol=1e-12
        )
        .tidy()
        .loc["treated"]
    )
    got = ours.iloc[0]
    for mine, theirs in [
        ("estimate", "Estimate"),
        ("se", "Std. Error"),
        ("p_value", "Pr(>|t|)"),
        ("ci_low", "2.5%"),
        ("ci_high", "97.5%"),
    ]:
        assert got[mine] == pytest.approx(ref[theirs], rel=1e-8, abs=1e-12), mine
