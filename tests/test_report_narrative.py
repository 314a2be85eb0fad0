"""Narrative rules: problems and recommendations follow the computed facts."""

from __future__ import annotations

from pathlib import Path

import pytest

from jdeval.errors import ConfigError
from jdeval.report import narrative
from jdeval.report.facts import effects_facts

ROOT = Path(__file__).resolve().parents[1]
OVERRIDES = ROOT / "data" / "narrative" / "overrides_2024.yaml"


def _ind(id_, level3, target_raw, actual_display, weight, score, flags=()):
    return {
        "id": id_,
        "level1": "产出指标",
        "level2": "数量指标",
        "level3": level3,
        "target_raw": target_raw,
        "actual_display": actual_display,
        "weight": weight,
        "score": score,
        "score_rate": score / weight,
        "flags": list(flags),
        "deviation_reason": "",
        "tier": "",
        "source": "",
    }


def facts(**over):
    base = {
        "year": 2024,
        "policy": "推进制造业智能化改造和数字化转型",
        "total": 92.0,
        "grade": "优",
        "indicators": [_ind("O1", "覆盖企业数量", "≥60.00(家)", "72家", 15.0, 15.0)],
        "payment": {
            "n_approved": 80,
            "n_over": 1,
            "share_over": 0.0125,
            "mean_days": 60.0,
            "p90_days": 110.0,
        },
        "coverage": {"district_rate": 0.07, "low_towns": []},
        "caps": {"n_violations": 0},
        "survey": {
            "index": 87.0,
            "top2_rate": 0.9,
            "response_rate": 0.9,
            "n_valid": 70,
            "low_sample": False,
            "weakest": None,
        },
        "effects": [],
    }
    base.update(over)
    return base


def test_good_results_give_no_problem_and_list_good_practice():
    n = narrative.derive(facts())
    assert n.problems == []
    assert any("覆盖面较广" in e and "72家" in e for e in n.experience)
    assert any("92.00分" in e for e in n.experience)


def test_missed_coverage_produces_problem_and_matching_recommendation():
    f = facts(
        indicators=[_ind("O1", "覆盖企业数量", "≥60.00(家)", "41家", 15.0, 10.25)]
    )
    n = narrative.derive(f)
    p = next(p for p in n.problems if p.rule_id == "coverage_target_missed")
    assert "41家" in p.problem and "≥60.00(家)" in p.problem
    assert "扩大政策覆盖面" in p.recommendation
    assert n.top(1)[0].rule_id == "coverage_target_missed"
    assert not any("覆盖面较广" in e for e in n.experience)


def test_late_payment_tail_uses_threshold_params():
    pay = {
        "n_approved": 80,
        "n_over": 8,
        "share_over": 0.10,
        "mean_days": 95.0,
        "p90_days": 200.0,
    }
    n = narrative.derive(facts(payment=pay))
    p = next(p for p in n.problems if p.rule_id == "late_payment_tail")
    assert "8个" in p.problem and "10.00%" in p.problem and "180天" in p.problem


def test_low_town_coverage_names_towns():
    cov = {
        "district_rate": 0.08,
        "low_towns": [{"town_name": "华亭镇"}, {"town_name": "外冈镇"}],
    }
    n = narrative.derive(facts(coverage=cov))
    p = next(p for p in n.problems if p.rule_id == "low_town_coverage")
    assert "华亭镇、外冈镇" in p.problem and "华亭镇、外冈镇" in p.recommendation


def test_insignificant_effect_and_significant_effect():
    import pandas as pd

    table = pd.DataFrame(
        {
            "outcome": ["log_tech_reno_inv", "tfp"],
            "outcome_zh": ["技术改造投资（对数）", "全要素生产率"],
            "design": ["CS-DiD", "CS-DiD"],
            "estimate": [0.21, 0.01],
            "se": [0.05, 0.02],
            "ci_low": [0.11, -0.03],
            "ci_high": [0.31, 0.05],
            "p_value": [0.0001, 0.62],
        }
    )
    n = narrative.derive(facts(effects=effects_facts(table)))
    ids = n.rule_ids()
    assert ids.count("insignificant_effect") == 1
    p = next(p for p in n.problems if p.rule_id == "insignificant_effect")
    assert "全要素生产率" in p.problem and "p=0.620" in p.problem
    assert any("技术改造投资" in e for e in n.experience)


def test_low_survey_response_cap_violations_over_target():
    s = {
        "index": 86.0,
        "top2_rate": 0.9,
        "response_rate": 0.55,
        "n_valid": 20,
        "low_sample": True,
        "weakest": None,
    }
    inds = [
        _ind("O1", "覆盖企业数量", "≥60.00(家)", "95家", 15.0, 15.0, ["over_target"])
    ]
    n = narrative.derive(facts(survey=s, caps={"n_violations": 2}, indicators=inds))
    ids = set(n.rule_ids())
    assert {"low_survey_response", "cap_violations", "over_target"} <= ids


def test_overrides_file_changes_wording_disables_and_adds(tmp_path):
    pay = {
        "n_approved": 80,
        "n_over": 8,
        "share_over": 0.10,
        "mean_days": 95.0,
        "p90_days": 200.0,
    }
    inds = [
        _ind("O1", "覆盖企业数量", "≥60.00(家)", "95家", 15.0, 15.0, ["over_target"])
    ]
    f = facts(payment=pay, indicators=inds)
    base = narrative.derive(f)
    over = narrative.derive(f, overrides=OVERRIDES)
    assert "over_target" in base.rule_ids() and "over_target" not in over.rule_ids()
    late = next(p for p in over.problems if p.rule_id == "late_payment_tail")
    assert "限时办结" in late.recommendation
    added = next(p for p in over.problems if p.rule_id.startswith("override_"))
    assert late.source == "override" and added.source == "override"
    assert (
        added.title == "项目验收后的绩效跟踪不足" and "2025年度" in added.recommendation
    )
    assert any("一网通办" in e for e in over.experience)
    assert over.other_matters and "现场核查" in over.other_matters[0]


def test_new_rule_in_overrides(tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        "rules:\n"
        "  - id: score_below_95\n"
        '    when: "total < 95"\n'
        "    problem: 总分{{ total|score }}分，低于95分的内部目标。\n"
        "    recommendation: 提高到95分。\n",
        encoding="utf-8",
    )
    n = narrative.derive(facts(), overrides=p)
    assert n.problems[0].problem == "总分92.00分，低于95分的内部目标。"


def test_bad_overrides_file_reports_every_problem_located(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text(
        "colour: red\n"
        "rules:\n"
        "  - id: late_paymnet_tail\n"  # typo: becomes a new rule lacking fields
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
    assert typo.file == str(p) and typo.row == 3 and "id" in typo.message_zh + "id"
    assert all(q.message_en for q in probs)


def test_rule_referring_to_unknown_fact_is_a_config_error(tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        'rules:\n  - id: r1\n    when: "no_such_fact > 1"\n'
        "    problem: a\n    recommendation: b\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as ei:
        narrative.derive(facts(), overrides=p)
    assert ei.value.problems[0].code == "narrative_eval"
    assert ei.value.problems[0].row == 2


def test_sandbox_blocks_unsafe_expressions(tmp_path):
    p = tmp_path / "o.yaml"
    p.write_text(
        'rules:\n  - id: r1\n    when: "true"\n'
        "    problem: \"{{ ''.__class__.__mro__[1].__subclasses__() }}\"\n"
        "    recommendation: b\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError):
        narrative.derive(facts(), overrides=p)
