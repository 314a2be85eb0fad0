"""Policy effects: staggered DiD, event studies, matching, outcomes and productivity.

Public API (names are imported lazily, so ``import jdeval.effects`` is cheap)::

    att_gt(...)                  Callaway & Sant'Anna group-time ATTs (R did names)
    twfe(...)                    static two-way fixed effects (exact solver/pyfixest)
    event_study(...)             dynamic TWFE or Sun-Abraham event study (same)
    propensity_match(...)        PS matching / IPW, balance, matched-sample DiD
    estimate_tfp(...)            TFP: FE Cobb-Douglas or Ackerberg-Caves-Frazer
    build_panel(ds)              firm x year outcomes, cohorts, pre-period covariates
    heterogeneity(...)           effects by category, industry, town, size class
    robustness(...)              pre-trend, placebo, leave-one-cohort-out, controls
    policy_effects(ds, year=)    everything the report needs in one call
    honest_did(betahat, sigma, ...)  Rambachan-Roth sensitivity (R HonestDiD names)
    bacon_decomposition(...)     Goodman-Bacon decomposition of TWFE
    dose_response(...)           effects by subsidy intensity, value for money
    mde(se)                      minimum detectable effect (80 % power)
    attrition_diagnostic(...)    entry/exit by funding and outcome; which estimator

Inference and clustering
------------------------
Standard errors are clustered by firm by default: the subsidy is granted firm by
firm, so treatment is assigned per firm and the firm is the level at which it
varies (and a firm's years are correlated). ``att_gt(..., clustervars="town")``
additionally allows shocks common to a 街镇; with Jiading's 12 街镇 of very unequal
size it uses few-cluster inference (leave-one-cluster-out jackknife variance with
t(G−1) critical values, or a wild cluster bootstrap-t with Webb/Rademacher
weights), which keeps 95 % coverage where normal inference does not. What was used
travels with every result (``AttGtResult.inference``, ``PolicyEffects.inference``
with a Chinese sentence for the report). Propensity-score overlap per cohort is in
``AttGtResult.overlap``; unbalanced panels follow R did (repeated cross sections)
unless ``panel_mode="balanced_pairs"``, and :func:`attrition_diagnostic` says which
one the data allow.

Submodules that define a public function of the same name are private
(``_twfe``, ``_event_study``), so ``from jdeval.effects import twfe`` is always
the function, whatever was imported before.
"""

from __future__ import annotations

import importlib
import sys
import types
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
    "honest_did",
    "bacon_decomposition",
    "dose_response",
    "mde",
    "attrition_diagnostic",
    "Attrition",
    "InferenceInfo",
]

_WHERE = {
    "att_gt": "did",
    "AttGtResult": "did",
    "PreTest": "did",
    "DidWarning": "did",
    "EffectResult": "results",
    "AggregateResult": "results",
    "twfe": "_twfe",
    "event_study": "_event_study",
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
    "honest_did": "honest",
    "bacon_decomposition": "bacon",
    "dose_response": "dose",
    "mde": "power",
    "attrition_diagnostic": "attrition",
    "Attrition": "attrition",
    "InferenceInfo": "did",
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


class _EffectsPackage(types.ModuleType):
    """The package module, which never lets a submodule hide a public name.

    Importing a submodule binds it as an attribute of its package. Where a
    submodule has the name of a public function (``robustness.robustness``,
    ``heterogeneity.heterogeneity``), that binding would replace the function, so
    ``from jdeval.effects import robustness`` would give a function or a module
    depending on what was imported before. Submodules that define public
    callables are kept private (``_twfe``, ``_event_study``); this guard keeps the
    remaining ones from shadowing: the public name always resolves to the
    documented callable (the submodule stays importable by its dotted path).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name in _WHERE
            and isinstance(value, types.ModuleType)
            and value.__name__ == f"{__name__}.{name}"
        ):
            self.__dict__.pop(name, None)  # resolved lazily by __getattr__
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _EffectsPackage
