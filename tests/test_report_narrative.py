"""Narrative rules: findings, causes and recommendations follow the computed facts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from jdeval.errors import ConfigError
from jdeval.report import narrative
from jdeval.report.compliance import CheckFinding, ComplianceFacts, Share
from jdeval.report.evidence import CheckFact, strength

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ROOT / "data" / "narrative" / "overrides_2024.yaml"


@pytest.fixture(scope="module")
def targets():
    from jdeval.indicators import load_targets

    return load_targets()


@pytest.fixture(scope="module")
def facts(targets):
    from jdeval.data import synthesize
    from jdeval.indicators import evaluate
    from jdeval.report.facts import collect

    ds = synthesize(firms=300)
    sc = evaluate(ds, targets, year=2024)
    return collect(
        ds, year=2024, targets=targets, scorecard=sc, survey=sc.context.survey()
    )


def _check(code, **kw):
    base = dict(
        code=code,
        name_zh="检查",
        problem_zh="问题",
        n=4,
        n_total=80,
        amount=220.0,
        categories=[Share("区级智能工厂", 3), Share("优秀场景/示范标杆", 1)],
        towns=[Share("安亭镇", 2), Share("南翔镇", 2)],
        n_expert_reviewed=4,
        n_reduced=4,
        excess=21.5,
        n_in_ledger=0,
        max_amount=60.0,
        n_small=0,
        small_amount=20.0,
    )
    base.update(kw)
    return CheckFinding(**base)


def _with(facts, *checks, violations=()):
    return dataclasses.replace(
        facts, compliance=ComplianceFacts(list(checks), list(violations))
    )


def _derive(f, targets, **kw):
    return narrative.derive(f, severity=list(targets.policies.report.severity), **kw)


def test_cause_is_drawn_from_the_drill_down(facts, targets):
    cut = _derive(_with(facts, _check("amount_within_cap")), targets)
    p = next(p for p in cut.problems if p.rule_id == "over_standard")
    assert p.title == "4个项目核定金额超过补贴标准"
    assert "21.50万元" in p.problem and "区级智能工厂3项" in p.problem
    assert "按比例核减" in p.cause and "21.50万元" in p.recommendation
    full = _derive(_with(facts, _check("amount_within_cap", n_reduced=1)), targets)
    q = next(p for p in full.problems if p.rule_id == "over_standard")
    assert "3个项目按申请金额原额核定" in q.cause and q.cause != p.cause

    inside = _derive(
        _with(facts, _check("no_duplicate_funding", n_in_ledger=2)), targets
    )
    outside = _derive(_with(facts, _check("no_duplicate_funding")), targets)
    a = next(p for p in inside.problems if p.rule_id == "duplicate_funding")
    b = next(p for p in outside.problems if p.rule_id == "duplicate_funding")
    assert "历年台账" in a.cause and "区外" in b.cause


def test_findings_follow_the_targets_severity_order(facts, targets):
    f = _with(
        facts,
        _check("amount_within_cap"),
        _check("no_duplicate_funding"),
        _check("expert_review_done", n_small=4),
    )
    n = _derive(f, targets)
    ids = [p.rule_id for p in n.problems]
    assert (
        ids.index("duplicate_funding")
        < ids.index("no_expert_review")
        < ids.index("over_standard")
    )
    order = list(targets.policies.report.severity)
    order.remove("amount_within_cap")
    order.insert(0, "amount_within_cap")
    m = narrative.derive(f, severity=order)
    assert m.problems[0].rule_id == "over_standard"


def test_identical_findings_are_merged(facts, targets, tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        "problems:\n"
        "  - {title: 同一问题, problem: 甲。, cause: 因甲。, recommendation: 建议甲。}\n"
        "  - {title: 同一问题, problem: 乙。, cause: 因乙。, recommendation: 建议乙。}\n",
        encoding="utf-8",
    )
    n = _derive(facts, targets, overrides=p)
    same = [x for x in n.problems if x.title == "同一问题"]
    assert len(same) == 1 and same[0].problem == "甲。乙。"


def test_over_target_is_a_soft_target_not_praise(facts, targets):
    i = next(i for i in facts.indicators if i.method == "covered_firms")
    over = dataclasses.replace(
        i, flags=["over_target"], achieved=True, score_rate=1.0, score=i.weight
    )
    f = dataclasses.replace(
        facts, indicators=[over if x is i else x for x in facts.indicators]
    )
    n = _derive(f, targets)
    p = next(p for p in n.problems if p.rule_id == "over_target")
    assert "指标值设定偏低" in p.problem and f"{facts.theta_over:.0%}" in p.title
    assert not any("覆盖面达到目标" in e for e in n.experience)
    plain = dataclasses.replace(over, flags=[])
    g = dataclasses.replace(
        facts, indicators=[plain if x is i else x for x in facts.indicators]
    )
    assert any("覆盖面达到目标" in e for e in _derive(g, targets).experience)


# ------------------------------------------------------------ evidence rule
def _c(est, sig):
    return CheckFact("x", "x", est, None, None, 0.001 if sig else 0.5, est > 0, sig)


def test_evidence_strength_rule_can_fail(targets):
    rule = targets.policies.report.evidence
    agree = [_c(0.2, True)] * 4
    assert strength(True, 0.6, agree, rule) == "strong"
    assert strength(True, 0.6, [*agree[:2], _c(0.2, False), _c(-0.1, True)], rule) == (
        "moderate"
    )
    assert strength(True, 0.6, [agree[0], *[_c(0.1, False)] * 3], rule) == "weak"
    # a rising pre-trend demotes even full agreement
    assert strength(True, rule.pretest_alpha / 2, agree, rule) == "weak"
    assert strength(False, 0.6, agree, rule) == "none"
    # opposite sign, significant: does not count as agreement
    assert strength(True, 0.6, [_c(-0.2, True)] * 4, rule) == "weak"


# ------------------------------------------------------------ overrides file
def test_overrides_file_changes_wording_disables_and_adds(facts, targets):
    late = dataclasses.replace(
        facts.payment, n_approved=80, n_over=8, share_over=0.10, mean_days=95.0
    )
    f = dataclasses.replace(facts, payment=late)
    base = _derive(f, targets)
    over = _derive(f, targets, overrides=OVERRIDES)
    lp = next(p for p in over.problems if p.rule_id == "late_payment")
    assert "限时办结" in lp.recommendation and lp.source == "override"
    assert "low_survey_response" not in over.rule_ids()
    added = next(p for p in over.problems if p.rule_id.startswith("override_"))
    assert (
        added.title == "项目验收后的绩效跟踪不足" and "2025年度" in added.recommendation
    )
    assert any("一网通办" in e for e in over.experience)
    assert over.other_matters and "现场核查" in over.other_matters[0]
    assert base.rule_ids() != over.rule_ids()


def test_new_rule_in_overrides(facts, targets, tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        "rules:\n"
        "  - id: score_below_95\n"
        '    when: "total < 95"\n'
        "    severity: violation\n"
        "    problem: 总分{{ total|score }}分，低于95分的内部目标。\n"
        "    recommendation: 提高到95分。\n",
        encoding="utf-8",
    )
    n = _derive(facts, targets, overrides=p)
    assert n.problems[0].problem == f"总分{facts.total_shown}分，低于95分的内部目标。"


def test_bad_overrides_file_reports_every_problem_located(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        "colour: red\n"
        "rules:\n"
        "  - id: late_paymnet\n"  # typo: becomes a new rule lacking fields
        "    recommendation: x\n"
        "  - id: over_target\n"
        '    problem: "{{ unclosed"\n'
        "    bogus: 1\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as ei:
        narrative.load_overrides(p)
    probs = ei.value.problems
    codes = [q.code for q in probs]
    assert "override_key" in codes and "override_missing" in codes
    assert "narrative_template" in codes
    typo = next(q for q in probs if q.code == "override_missing")
    assert typo.file == str(p) and typo.row == 3
    assert all(q.message_en for q in probs)


def test_rule_referring_to_unknown_fact_is_a_config_error(facts, targets, tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        'rules:\n  - id: r1\n    when: "no_such_fact > 1"\n'
        "    problem: a\n    recommendation: b\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as ei:
        _derive(facts, targets, overrides=p)
    assert ei.value.problems[0].code == "narrative_eval"
    assert ei.value.problems[0].row == 2


def test_sandbox_blocks_unsafe_expressions(facts, targets, tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        'rules:\n  - id: r1\n    when: "true"\n'
        "    problem: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
        "    recommendation: b\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError):
        _derive(facts, targets, overrides=p)


def test_dose_power_and_honest_fields_are_read_from_the_effects_layer(targets):
    import types

    import pandas as pd

    from jdeval.report.evidence import dose_fact, effect_facts

    main = pd.DataFrame(
        {
            "outcome": ["tfp"],
            "outcome_zh": ["全要素生产率（对数）"],
            "design": ["cs_dr"],
            "estimate": [0.01],
            "se": [0.02],
            "ci_low": [-0.03],
            "ci_high": [0.05],
            "p_value": [0.6],
        }
    )
    eff = types.SimpleNamespace(
        main=main,
        table=main,
        robustness=pd.DataFrame(),
        pretests={},
        power=pd.DataFrame({"outcome": ["tfp"], "mde_80": [0.056]}),
        honest={"tfp": types.SimpleNamespace(available=True, breakdown_mbar=0.5)},
        dose=types.SimpleNamespace(
            available=True,
            value_for_money={"per_wan": 2.5, "ci_low": -0.5, "ci_high": 5.5},
        ),
    )
    (e,) = effect_facts(eff, targets.policies.report.evidence)
    assert e.strength == "none" and e.mde == 0.056 and e.honest_breakdown == 0.5
    assert e.mde_shown == "0.056对数点（约+5.8%）"
    d = dose_fact(eff)
    assert d.available and d.per_wan == 2.5 and not d.significant
    # 2023: 247.41万/万 against a gross leverage of 32.57 — not a finding
    assert d.exceeds(2.0) and not d.bound_exceeds(2.0) and not d.exceeds(32.57)
    assert not d.exceeds(None)
    off = dose_fact(
        types.SimpleNamespace(
            dose=types.SimpleNamespace(available=False, reason_zh="无变化")
        )
    )
    assert not off.available and off.reason_zh == "无变化"


def test_gbk_narrative_file_is_read_like_data_files(tmp_path):
    """Evaluators on Windows save GBK: rules and cover read through one loader."""
    from jdeval.report.cover import load_cover

    p = tmp_path / "gbk.yaml"
    p.write_bytes(
        (
            "other_matters:\n  - 现场核查覆盖12家企业。\n"
            "rules:\n  - id: low_survey_response\n    enabled: false\n"
            "cover:\n  evaluator: 嘉定区经济委员会\n  mode: 单位自评\n"
        ).encode("gbk")
    )
    rs = narrative.load_overrides(p)
    assert rs.params["_other"] == ["现场核查覆盖12家企业。"]
    assert load_cover(p).evaluator == "嘉定区经济委员会"


_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_alias_bomb_in_narrative_file_is_refused(tmp_path):
    p = tmp_path / "bomb.yaml"
    p.write_text(_BOMB, encoding="utf-8")
    with pytest.raises(ConfigError) as ei:
        narrative.load_overrides(p)
    (q,) = ei.value.problems
    assert q.code == "resource_limit" and q.file == str(p) and q.row is not None


def test_narrative_errors_exit_2_before_any_estimation(tmp_path, capsys):
    from jdeval.cli import main

    p = tmp_path / "bomb.yaml"
    p.write_text(_BOMB, encoding="utf-8")
    code = main(
        [
            "report",
            "--year",
            "2024",
            "--narrative",
            str(p),
            "--html",
            str(tmp_path / "r.html"),
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "bomb.yaml" in err and "别名" in err
    assert not (tmp_path / "r.html").exists()


def test_rules_are_read_again_when_the_file_changes(tmp_path):
    """The per-process cache is keyed by content; callers get their own copy."""
    from jdeval.report.narrative import DEFAULT_RULES, load_rules

    path = tmp_path / "rules.yaml"
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_rules(path)
    first.rules.clear()  # a caller's change does not reach the next caller
    again = load_rules(path)
    assert again.rules and len(again.rules) == len(load_rules().rules)
    path.write_text("rules: []\nexperience: []\n", encoding="utf-8")
    assert load_rules(path).rules == []
