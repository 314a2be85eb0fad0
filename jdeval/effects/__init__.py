"""Policy effects: staggered DiD, event studies, matching, outcomes and productivity.

Public API (names are imported lazily, so ``import jdeval.effects`` is cheap)::

    att_gt(...)                  Callaway & Sant'Anna group-time ATTs (R did names)
    twfe(...)                    static two-way fixed effects (pyfixest)
    event_study(...)             dynamic TWFE or Sun-Abraham event study (pyfixest)
    propensity_match(...)        PS matching / IPW, balance, matched-sample DiD
    estimate_tfp(...)            TFP: FE Cobb-Douglas or Ackerberg-Caves-Frazer
    build_panel(ds)              firm x year outcomes, cohorts, pre-period covariates
    heterogeneity(...)           effects by category, industry, town, size class
    robustness(...)              pre-trend, placebo, leave-one-cohort-out, controls
    policy_effects(ds, year=)    everything the report needs in one call
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "att_gt",
    "AttGtResult",
    "PreTest",
    "DidWarning",
    "EffectResult",
    "AggregateResult",
    "twfe",
    "event_study",
    "propensity_match",
    "MatchResult",
    "estimate_tfp",
    "ProductionResult",
    "build_panel",
    "OUTCOMES",
    "COVARIATES",
    "heterogeneity",
    "robustness",
    "policy_effects",
    "PolicyEffects",
]

_WHERE = {
    "att_gt": "did",
    "AttGtResult": "did",
    "PreTest": "did",
    "DidWarning": "did",
    "EffectResult": "results",
    "AggregateResult": "results",
    "twfe": "twfe",
    "event_study": "event_study",
    "propensity_match": "matching",
    "MatchResult": "matching",
    "estimate_tfp": "productivity",
    "ProductionResult": "productivity",
    "build_panel": "outcomes",
    "OUTCOMES": "outcomes",
    "COVARIATES": "outcomes",
    "heterogeneity": "heterogeneity",
    "robustness": "robustness",
    "policy_effects": "policy",
    "PolicyEffects": "policy",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module = importlib.import_module(f"jdeval.effects.{_WHERE[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jdeval.effects' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
