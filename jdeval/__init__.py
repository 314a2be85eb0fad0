"""jdeval — evidence-based performance evaluation (绩效评价) of fiscal policies.

Layers, one direction only::

    jdeval.data  ←  jdeval.effects / jdeval.indicators / jdeval.survey  ←  jdeval.report
                 ←  jdeval.build  ←  the ``jdeval`` command

Sub-packages are imported lazily, so ``import jdeval`` is fast.  One-liners for
exploring in a notebook, from any working directory::

    import jdeval
    ds = jdeval.load_default()            # the bundled synthetic data (Dataset)
    card = jdeval.scorecard(ds)           # indicator scores, total and grade
    fx = jdeval.policy_effects(ds)        # causal effect estimates (PolicyEffects)
"""

from __future__ import annotations

import importlib
import logging
import os
from importlib.metadata import PackageNotFoundError, version

from jdeval.errors import BuildError, ConfigError, DataError, JdevalError, Problem

try:
    __version__ = version("jdeval")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

_SUBPACKAGES = ("data", "effects", "indicators", "survey", "report", "build")

__all__ = [
    "__version__",
    "load_default",
    "policy_effects",
    "scorecard",
    "BuildError",
    "ConfigError",
    "DataError",
    "JdevalError",
    "Problem",
    *_SUBPACKAGES,
]


#: Set by ``jdeval build`` for each notebook's kernel: a file receiving jdeval's
#: progress messages (INFO records of every ``jdeval.*`` logger), which the build
#: shows in its log while the notebook runs.
ENV_PROGRESS_LOG = "JDEVAL_PROGRESS_LOG"


def _progress_to_build_log() -> None:
    path = os.environ.get(ENV_PROGRESS_LOG)
    if not path:
        return
    logger = logging.getLogger("jdeval")
    if any(getattr(h, "_jdeval_build", False) for h in logger.handlers):
        return
    try:
        handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    except OSError:  # pragma: no cover - progress is optional
        return
    handler._jdeval_build = True
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger.addHandler(handler)
    # inside a build, progress belongs in the build log only: not in the notebook's
    # stderr (a root handler set up by a library would print it onto the page)
    logger.propagate = False
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


_progress_to_build_log()


#: Evaluation year of the bundled data and targets (the one-liners' default).
DEFAULT_YEAR = 2024


def load_default():
    """The bundled synthetic dataset (generated on first use), from any directory.

    Returns
    -------
    jdeval.data.Dataset

    Examples
    --------
    >>> ds = jdeval.load_default()  # doctest: +SKIP
    """
    from jdeval.data import ensure_default_data, load

    return load(ensure_default_data())


def scorecard(ds=None, *, year: int = DEFAULT_YEAR, **kwargs):
    """Score the indicators: ``jdeval.indicators.evaluate`` with the bundled targets.

    Parameters
    ----------
    ds
        A :class:`jdeval.data.Dataset` (default: :func:`load_default`).
    year
        Evaluation (batch) year.
    **kwargs
        ``targets`` (path or Targets; default the bundled file), ``scheme``,
        ``assessments`` — as for :func:`jdeval.indicators.evaluate`.

    Returns
    -------
    jdeval.indicators.Scorecard
        ``.total``, ``.grade``, ``.to_frame_zh()`` …
    """
    from jdeval.indicators import evaluate, load_targets

    targets = kwargs.pop("targets", None)
    if targets is None or isinstance(targets, (str, os.PathLike)):
        targets = load_targets(targets)
    return evaluate(
        ds if ds is not None else load_default(), targets, year=year, **kwargs
    )


def policy_effects(ds=None, *, year: int = DEFAULT_YEAR, **kwargs):
    """Estimate the policy's effects: ``jdeval.effects.policy_effects``.

    Parameters
    ----------
    ds
        A :class:`jdeval.data.Dataset` (default: :func:`load_default`).
    year
        Evaluation (batch) year.
    **kwargs
        Passed on (e.g. ``outcomes``).

    Returns
    -------
    jdeval.effects.PolicyEffects
        ``.table``, ``.event_studies``, ``.headline()`` …
    """
    from jdeval.effects import policy_effects as estimate

    return estimate(ds if ds is not None else load_default(), year=year, **kwargs)


def __getattr__(name: str):
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"jdeval.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'jdeval' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
