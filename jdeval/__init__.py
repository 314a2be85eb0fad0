"""jdeval — evidence-based performance evaluation (绩效评价) of fiscal policies.

Layers, one direction only::

    jdeval.data  ←  jdeval.effects / jdeval.indicators / jdeval.survey  ←  jdeval.report
                 ←  jdeval.build  ←  the ``jdeval`` command

Sub-packages are imported lazily, so ``import jdeval`` is fast::

    import jdeval
    ds = jdeval.data.load("data/synthetic")
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version

from jdeval.errors import BuildError, ConfigError, DataError, JdevalError, Problem

try:
    __version__ = version("jdeval")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

_SUBPACKAGES = ("data", "effects", "indicators", "survey", "report", "build")

__all__ = [
    "__version__",
    "BuildError",
    "ConfigError",
    "DataError",
    "JdevalError",
    "Problem",
    *_SUBPACKAGES,
]


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"jdeval.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'jdeval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
