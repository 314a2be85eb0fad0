"""Progress of long effect steps, and the prepared panel they reuse."""

import json

import numpy as np
import pandas as pd
import pytest

from jdeval.effects import progress
from jdeval.effects.heterogeneity import heterogeneity
from jdeval.effects.outcomes import COVARIATES, build_panel
from jdeval.effects.robustness import _cs, compact_panel, robustness


@pytest.fixture(scope="module")
def panel(ds):
    p = build_panel(ds, tfp=None, max_year=2024)
    g = p["first_award_year"].to_numpy()
    p["first_award_year"] = np.where(g > 2024, 0, g)
    return p.dropna(subset=COVARIATES)


def test_progress_events_name_outcome_step_and_count(panel, tmp_path, monkeypatch):
    path = tmp_path / "progress.jsonl"
    monkeypatch.setenv(progress.ENV_PROGRESS_FILE, str(path))
    seen = []
    with progress.reporting(seen.append):
        table = robustness(panel, yname="digital_inv_share", covariates=COVARIATES)
    assert [e.done for e in seen] == list(range(1, len(seen) + 1))
    assert {e.total for e in seen} == {len(seen)}
    assert all(
        e.task == "robustness" and e.outcome == "digital_inv_share" for e in seen
    )
    # every check of the table is announced (main and pretest together)
    steps = {e.step for e in seen}
    assert set(table["check"]) - {"main", "pretest"} <= steps
    assert "安慰剂检验" in {e.step_zh for e in seen}
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert [x["step"] for x in lines] == [e.step for e in seen]
    assert lines[-1]["text_zh"].startswith(f"[robustness {len(seen)}/{len(seen)}]")


def test_compact_panel_keeps_rows_and_gives_sorted_integer_ids(panel):
    shuffled = panel.sample(frac=1.0, random_state=1)
    shuffled.loc[shuffled.index[:50], "tfp"] = np.nan
    d, rows = compact_panel(shuffled, "log_tech_reno_inv", COVARIATES, return_rows=True)
    assert len(d) == shuffled["log_tech_reno_inv"].notna().sum()
    ids = d["firm_id"].to_numpy()
    assert ids.dtype.kind == "i" and (np.diff(ids) >= 0).all()
    back = shuffled.iloc[rows]
    # one code per firm, years in order within a firm
    assert (pd.Series(ids).groupby(back["firm_id"].to_numpy()).nunique() == 1).all()
    assert ((np.diff(d["year"]) > 0) | (np.diff(ids) > 0)).all()
    np.testing.assert_array_equal(
        d["log_tech_reno_inv"].to_numpy(), back["log_tech_reno_inv"].to_numpy()
    )


def test_compact_panel_gives_the_same_estimate(panel):
    o = "digital_inv_share"
    kw = dict(covariates=COVARIATES, control_group="notyettreated", alp=0.05)
    a = _cs(panel, o, **kw).aggregate(type="simple")
    b = _cs(compact_panel(panel, o, COVARIATES), o, **kw).aggregate(type="simple")
    assert a.overall_att == pytest.approx(b.overall_att, abs=1e-12)
    assert a.overall_se == pytest.approx(b.overall_se, abs=1e-12)


def test_heterogeneity_group_equals_separate_estimate(panel, ds):
    """A group's row equals CS on (that group's funded firms + all never-funded)."""
    o = "digital_inv_share"
    h = heterogeneity(panel, yname=o, by=["size_class"], covariates=COVARIATES)
    row = h.sort_values("n_treated").iloc[-1]
    g = panel["first_award_year"]
    sub = panel.loc[(g == 0) | (panel["size_class"] == row["group"])]
    direct = _cs(
        sub, o, covariates=COVARIATES, control_group="nevertreated", alp=0.05
    ).aggregate(type="simple")
    assert row["covariates_used"]
    assert row["estimate"] == pytest.approx(direct.overall_att, abs=1e-12)
    assert row["se"] == pytest.approx(direct.overall_se, abs=1e-12)
    assert row["n_treated"] == sub.loc[sub["first_award_year"] > 0, "firm_id"].nunique()


def test_first_year_has_no_leave_one_batch_out(ds):
    """With one funded batch (the policy's first year) leaving it out leaves no
    treated firm: the check is not shown (it once printed 0.000 and counted as a
    check that disagreed), and the progress count matches the rows."""
    p = build_panel(ds, tfp=None, max_year=2023)
    g = p["first_award_year"].to_numpy()
    p["first_award_year"] = np.where(g > 2023, 0, g)
    p = p.dropna(subset=COVARIATES)
    seen = []
    with progress.reporting(seen.append):
        table = robustness(p, yname="digital_inv_share", covariates=COVARIATES)
    assert not any(c.startswith("leave_out_") for c in table["check"])
    assert {"placebo", "never_treated", "no_covariates"} <= set(table["check"])
    assert {e.total for e in seen} == {len(seen)}
