"""Layer 4: run the notebooks, render offline HTML, write index and manifest.

Public API::

    build(year, *, data, targets=None, out, jobs=2, show_code=False,
          audience="reviewer", assessments=None, scheme="A", narrative=None,
          as_of=None, cache=True, cache_dir=None) -> Path
    verify(report_dir, *, data=None, sums=None) -> VerifyResult
    run_batch(specs, *, out_root, parallel=1, scheduler=None) -> list[BuildOutcome]
    load_portfolio(path, *, out_root, data) -> list[BuildSpec]
    publish(**values)      # called by notebooks: headline results for the index
    shared(fn, ds, **kw)   # called by notebooks: fn(ds, **kw) computed once, cached
    load_data(path)        # called by notebooks: the dataset, loaded once, cached
    validate_data(path)    # called by notebooks: the data check, run once, cached

See :mod:`jdeval.build.runner`, :mod:`jdeval.build.cache` (the edit loop),
:mod:`jdeval.build.manifest` and :mod:`jdeval.build.verify` (a report that proves
itself), :mod:`jdeval.build.batch`, :mod:`jdeval.build.headline`,
:mod:`jdeval.build.share`, :mod:`jdeval.build.paths`.  Only :func:`publish` and
:func:`shared` are imported eagerly: notebooks call them, and they must not pull the
build machinery into every kernel.
"""

from __future__ import annotations

import importlib

from jdeval.build.headline import publish
from jdeval.build.share import load_data, shared, validate_data

__all__ = [
    "NOTEBOOKS",
    "BuildOutcome",
    "BuildSpec",
    "Notebook",
    "VerifyResult",
    "build",
    "load_data",
    "load_portfolio",
    "run_batch",
    "notebooks_dir",
    "publish",
    "shared",
    "validate_data",
    "verify",
]

_LAZY = {
    "NOTEBOOKS": "jdeval.build.runner",
    "Notebook": "jdeval.build.runner",
    "build": "jdeval.build.runner",
    "notebooks_dir": "jdeval.build.runner",
    "VerifyResult": "jdeval.build.verify",
    "BuildOutcome": "jdeval.build.batch",
    "BuildSpec": "jdeval.build.batch",
    "load_portfolio": "jdeval.build.batch",
    "run_batch": "jdeval.build.batch",
    "verify": "jdeval.build.verify",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'jdeval.build' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
