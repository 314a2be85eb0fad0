"""The disclosure rule (jdeval.indicators.sdc) and the edition-wide gate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from jdeval.indicators import load_targets, sdc
from jdeval.report import disclosure, gate


def test_rule_counts_firms_not_awards_and_comes_from_targets():
    rule = load_targets().policies.disclosure.rule
    assert (rule.min_firms, rule.dominance) == (3, 0.85)
    rows = pd.DataFrame(
        {"firm_id": ["A", "A", "B"], "amt": [12.34, 13.57, 14.68]}  # 3 awards, 2 firms
    )
    assert rule.unsafe_rows(rows, value="amt") and rule.unsafe_rows(rows)
    assert sdc.unsafe([96.43, 1.11, 1.22])  # dominance
    assert not sdc.unsafe([10.0, 11.0, 12.0])
    g = sdc.unsafe_groups(
        pd.DataFrame({"firm_id": list("AABCDE"), "k": list("xxxyyy"), "v": [1.0] * 6}),
        "k",
        value="v",
    )
    assert g.loc["x", "unsafe"] and g.loc["x", "n_firms"] == 2
    assert not g.loc["y", "unsafe"]


def test_zeros_beside_a_lone_firm_are_withheld():
    rows = pd.DataFrame(
        {
            "firm_id": [f"F{i}" for i in range(10)],
            "town": ["HT"] + ["AT"] * 9,
            "cat": ["SCENE"] + ["DIAG", "SCENE", "LOAN"] * 3,
            "amount": [23.47] + [5.0 + i for i in range(9)],
        }
    )
    t = disclosure.protect(rows, ["town", "cat"], "amount")
    assert t.suppressed.loc["HT"].all()  # the 0.00s would tell HT's category
    assert "0.00" not in t.frame.loc["HT"].tolist()
    reg = gate.Registry()
    reg.add_table(t, "t")
    assert reg.attribute == []
    t.suppressed.loc["HT", ["DIAG", "LOAN"]] = False  # publish the zeros again
    reg.add_table(t, "t")
    assert [x.label for x in reg.attribute] == ["HT"]


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    from jdeval.data import synthesize

    ds = synthesize(tmp_path_factory.mktemp("g"), firms=150)
    a = ds.awards
    y = (a["batch_year"] == 2024) & a["status"].isin(["approved", "disbursed"])
    a = a.loc[~(y & (a["category"] == "LOAN_INTEREST"))]
    tmpl = a.loc[y & (a["beneficiary_type"] == "enterprise")].iloc[[0]]
    firms = [f for f in ds.firms["firm_id"] if f not in set(a["firm_id"])][:3]
    new = pd.concat(
        [
            tmpl.assign(
                award_id=f"AQ{i}",
                firm_id=f,
                category="LOAN_INTEREST",
                approved_amount=v,
                disbursed_amount=v,
            )
            for i, (f, v) in enumerate(zip(firms, [96.43, 1.11, 1.22]))
        ]
    )
    return dataclasses.replace(
        ds, tables={**ds.tables, "awards": pd.concat([a, new], ignore_index=True)}
    )


def _audit(ds, texts, tables=(), memo=None):
    tg = load_targets()
    return gate.audit(
        ds,
        year=2024,
        rule=tg.policies.disclosure.rule,
        statuses=tg.policies.approved_statuses,
        tables=tables,
        texts=texts,
        memo=memo,
    )


def test_gate_finds_a_kpi_that_prints_a_dominated_total(small):
    # "3家，核定贴息98.76万元": one firm holds 96.43 of it
    hit = _audit(small, ["K4 补充指标：3家，核定贴息98.76万元"])
    labels = {(x.kind, x.label) for x in hit.leaks}
    assert ("amount", "2024年智改数转专项贷款贴息") in labels
    clean = _audit(small, ["K4 补充指标：3家（单一企业占比过高，贴息金额不予列示）"])
    assert not any(x.label == "2024年智改数转专项贷款贴息" for x in clean.leaks)
    assert clean.n_confidential > 0


def test_gate_finds_a_lone_cell_through_a_table_total(small):
    # a protected table is safe alone; the same total printed in prose plus the
    # published cells pins nothing more — but printing the hidden cell's
    # complement does
    aw = gate.universe(small, ["approved", "disbursed"])
    aw = aw.loc[aw["batch_year"] == 2024]
    t = disclosure.protect(aw, "category", "approved_amount", firm="beneficiary")
    assert t.suppressed.loc[t.raw.index[t.raw.index.str.contains("LOAN")]].all().all()
    ok = _audit(small, [], tables=[("by_cat", t)])
    assert not any("贷款贴息" in x.label and x.kind == "amount" for x in ok.leaks)
    # publishing the complementary cells (as another output might) pins it
    for r in t.raw.index:
        if "LOAN" not in r:
            t.suppressed.loc[r] = False
    bad = _audit(small, [], tables=[("by_cat", t)])
    assert any("贷款贴息" in x.label and x.kind == "amount" for x in bad.leaks)


def test_gate_reuses_its_linear_programmes_only_for_the_same_figures(
    small, tmp_path, monkeypatch
):
    """A wording edit reuses the audit; a new printed figure is audited afresh."""
    import json

    from jdeval.build.share import ENV_SHARED_LOG, memo_in

    monkeypatch.setenv(ENV_SHARED_LOG, str(tmp_path / "calls.jsonl"))

    def run(texts, code="v1"):
        return _audit(small, texts, memo=memo_in(tmp_path / "cache", code=code))

    leak = "K4 补充指标：3家，核定贴息98.76万元"
    first = run([leak, "一、项目概况"])
    again = run([leak, "一、项目概况（修改后的措辞）"])  # same figures
    other = run(["K4 补充指标：3家（贴息金额不予列示）"])  # the figure removed
    newer = run([leak, "一、项目概况"], code="v2")  # jdeval was edited
    assert [x.label for x in again.leaks] == [x.label for x in first.leaks]
    assert any(x.label == "2024年智改数转专项贷款贴息" for x in first.leaks)
    assert not any(x.label == "2024年智改数转专项贷款贴息" for x in other.leaks)
    assert [x.label for x in newer.leaks] == [x.label for x in first.leaks]
    calls = [json.loads(x) for x in (tmp_path / "calls.jsonl").read_text().splitlines()]
    assert [(c["function"], c["reused"]) for c in calls] == [
        ("_catalogue", False),
        ("_recoverable", False),
        ("_catalogue", True),  # same data and rule
        ("_recoverable", True),  # same published figures
        ("_catalogue", True),
        ("_recoverable", False),  # a figure fewer
        ("_catalogue", False),  # new code: nothing reused
        ("_recoverable", False),
    ]


class _Tab:
    def __init__(self, pt):
        self.data, self.frame, self.footnote = pt, pt.frame, pt.footnote


def _random_rows(seed: int = 8, n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "firm_id": [f"F{i}" for i in range(n)],
            "award_id": [f"A{i}" for i in range(n)],
            "town": rng.choice(list("ABCDE"), n, p=[0.4, 0.3, 0.2, 0.07, 0.03]),
            "cat": rng.choice(list("xyz"), n, p=[0.6, 0.3, 0.1]),
            "amount": np.round(rng.lognormal(2, 1, n), 2),
        }
    )


def reconcile_again(tabs) -> int:
    return disclosure.reconcile(tabs)


def test_reconcile_makes_tables_of_one_edition_agree():
    rows = _random_rows()
    by_town = disclosure.protect(rows, "town", "amount")
    cross = disclosure.protect(rows, ["town", "cat"], "amount")
    by_cat = disclosure.protect(rows, "cat", "amount")

    def disagreements():
        a = by_town.suppressed.iloc[:, 1] != cross.suppressed["合计"]
        b = by_cat.suppressed.iloc[:, 1] != cross.suppressed.loc["合计"]
        return int(a.sum() + b.sum())

    before = [t.suppressed.to_numpy().copy() for t in (by_town, cross, by_cat)]
    tabs = [_Tab(by_town), _Tab(cross), _Tab(by_cat)]
    added = disclosure.reconcile(tabs)
    # pooled relations withhold more (here 表 by category's y and z rows, which
    # the cross table's column relations bind), and shared cells agree
    after = [t.suppressed.to_numpy() for t in (by_town, cross, by_cat)]
    newly = sum(int((a & ~b).sum()) for a, b in zip(after, before))
    assert added > 0 and newly >= added  # a one-way row is 2 shown cells
    assert all((a | ~b).all() for a, b in zip(after, before))  # none revealed
    assert disagreements() == 0
    assert reconcile_again(tabs) == 0
    for pt in (by_town, by_cat):
        assert not pt.audit()["disclosed"].any()
    assert not cross.audit()["disclosed"].any()
    for t in tabs:  # the display follows the mask, with its footnote
        shown = t.frame.to_numpy()[t.data.suppressed.to_numpy()]
        assert (shown == disclosure.MARK).all() and t.footnote
