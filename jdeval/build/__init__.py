"""Layer 4: run the notebooks, render offline HTML, write index and manifest.

Public API::

    build(year, *, data, targets=None, out, jobs=2, show_code=False,
          audience="reviewer", assessments=None, scheme="A") -> Path
    verify(report_dir, *, data=None) -> VerifyResult
    publish(**values)      # called by notebooks: headline results for the index
    shared(fn, ds, **kw)   # called by notebooks: fn(ds, **kw) computed once per build

See :mod:`jdeval.build.runner`, :mod:`jdeval.build.verify`,
:mod:`jdeval.build.headline`, :mod:`jdeval.build.share`.  Only :func:`publish` and
:func:`shared` are imported eagerly: notebooks call them, and they must not pull the
build machinery into every kernel.
"""

from __future__ import annotations

import importlib

from jdeval.build.headline import publish
from jdeval.build.share import shared

__all__ = [
    "NOTEBOOKS",
    "Notebook",
    "VerifyResult",
    "build",
    "notebooks_dir",
    "publish",
    "shared",
    "verify",
]

_LAZY = {
    "NOTEBOOKS": "jdeval.build.runner",
    "Notebook": "jdeval.build.runner",
    "build": "jdeval.build.runner",
    "notebooks_dir": "jdeval.build.runner",
    "VerifyResult": "jdeval.build.verify",
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
