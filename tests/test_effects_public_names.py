"""Every name in ``jdeval.effects.__all__`` is the documented object in any import order.

Submodules are bound as attributes of their package when first imported; a submodule
named like a public function would replace it (issue 13 item 9). Each order runs in a
fresh interpreter, because the outcome depends on what was imported before.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import jdeval.effects as fx

_CHECK = r"""
import importlib, inspect, json, sys, types
order = json.loads(sys.argv[1])
pre = json.loads(sys.argv[2])
for mod in pre:
    importlib.import_module(mod)
got = {}
for name in order:
    ns = {}
    exec(f"from jdeval.effects import {name}", ns)
    obj = ns[name]
    got[name] = "module" if isinstance(obj, types.ModuleType) else (
        "class" if inspect.isclass(obj) else
        "function" if callable(obj) else "data")
import jdeval.effects as fx
for name in order:  # and attribute access after everything was imported
    obj = getattr(fx, name)
    if isinstance(obj, types.ModuleType):
        got[name] = "module"
print(json.dumps(got))
"""

_SUBMODULES = [
    "jdeval.effects.did",
    "jdeval.effects.policy",
    "jdeval.effects.robustness",
    "jdeval.effects.heterogeneity",
    "jdeval.effects._twfe",
    "jdeval.effects._event_study",
]


def _kinds(order: list[str], pre: list[str]) -> dict[str, str]:
    out = subprocess.run(
        [sys.executable, "-c", _CHECK, json.dumps(order), json.dumps(pre)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "order, pre",
    [
        (["event_study", "twfe", "robustness", "heterogeneity", *fx.__all__], []),
        (list(reversed(fx.__all__)), []),
        (list(fx.__all__), _SUBMODULES),
    ],
    ids=["es-first", "reversed", "modules-first"],
)
def test_public_names_are_never_modules(order, pre):
    kinds = _kinds(order, pre)
    assert set(kinds) == set(order)
    modules = sorted(n for n, k in kinds.items() if k == "module")
    assert modules == [], modules
    callables = [n for n in order if n not in ("OUTCOMES", "COVARIATES")]
    assert all(kinds[n] in ("function", "class") for n in callables), kinds


def test_functions_are_the_documented_ones():
    # The public callable is the one defined in its implementation module.
    from jdeval.effects import event_study, heterogeneity, robustness, twfe

    assert twfe.__module__ == "jdeval.effects._twfe"
    assert event_study.__module__ == "jdeval.effects._event_study"
    assert robustness.__name__ == "robustness"
    assert heterogeneity.__name__ == "heterogeneity"
    for name in fx.__all__:
        obj = getattr(fx, name)
        if callable(obj):
            assert obj.__name__ == name, name
