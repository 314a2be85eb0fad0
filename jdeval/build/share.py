"""Results shared between the notebooks of one build (a build-scoped cache).

Notebook 02 estimates the policy effects and notebook 05 needs the same estimate for
the annual report.  Both call :func:`shared`::

    effects = jdeval.build.shared(jdeval.effects.policy_effects, ds, year=year)

Inside ``jdeval build`` the first call computes the result and stores it in the
build's staging folder (``JDEVAL_BUILD_CACHE``); a later call with the same function,
the same data and the same arguments reads it back instead of estimating again.  The
key is the function's name, a fingerprint of the dataset's tables (names, columns,
dtypes and every value) and the keyword arguments, so different data, year or options
never share a result.  While one notebook computes a result it holds a lock on its
entry, so a notebook of the same build that needs the same result waits for it instead
of computing it a second time (and computes it itself if the first notebook died).
Outside a build (JupyterLab, nbval) nothing is stored and
:func:`shared` simply calls the function.  The cache lives inside the staging folder
and is deleted before the report is published.

Fitted ``pyfixest`` model objects (e.g. ``extra["model"]`` of a Sun–Abraham event
study) cannot be pickled; a result read from the cache has ``None`` in their place.
Everything else (estimates, tables, panels) is stored exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["ENV_CACHE", "dataset_fingerprint", "shared"]

#: Folder holding the build's shared results (set by the runner).
ENV_CACHE = "JDEVAL_BUILD_CACHE"

_DROPPED_MODULES = ("pyfixest.",)

T = TypeVar("T")


def dataset_fingerprint(ds: Any) -> str:
    """SHA-256 over a dataset's tables: names, columns, dtypes and values.

    Parameters
    ----------
    ds
        A :class:`jdeval.data.Dataset` (anything with a ``tables`` mapping of
        DataFrames).

    Returns
    -------
    str
        Hex digest.
    """
    import pandas as pd

    h = hashlib.sha256()
    tables = getattr(ds, "tables", None) or {}
    for name in sorted(tables):
        df = tables[name]
        h.update(f"\x00table {name}\x00".encode())
        h.update(repr([str(c) for c in df.columns]).encode())
        h.update(repr([str(t) for t in df.dtypes]).encode())
        h.update(pd.util.hash_pandas_object(df, index=True).to_numpy().tobytes())
    return h.hexdigest()


class _Pickler(pickle.Pickler):
    """Pickle that leaves out unpicklable fitted-model objects."""

    def persistent_id(self, obj: Any) -> Any:
        mod = type(obj).__module__ or ""
        if mod.startswith(_DROPPED_MODULES):
            return "dropped"
        return None


class _Unpickler(pickle.Unpickler):
    def persistent_load(self, pid: Any) -> Any:
        return None


def _key(fn: Callable[..., Any], ds: Any, kwargs: dict[str, Any]) -> str:
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    spec = {
        "function": f"{getattr(fn, '__module__', '')}.{qualname}",
        "data": dataset_fingerprint(ds),
        "kwargs": {k: repr(v) for k, v in sorted(kwargs.items())},
    }
    blob = json.dumps(spec, sort_keys=True, ensure_ascii=True).encode()
    return hashlib.sha256(blob).hexdigest()[:24]


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (released by the OS if the holder dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no waiting, maybe twice
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _read(path: Path) -> tuple[bool, Any]:
    if path.is_file():
        try:
            with open(path, "rb") as f:
                return True, _Unpickler(f).load()
        except Exception:  # damaged entry: compute again
            pass
    return False, None


def shared(fn: Callable[..., T], ds: Any, **kwargs: Any) -> T:
    """Return ``fn(ds, **kwargs)``, computed once per build and data.

    Parameters
    ----------
    fn
        The analysis, e.g. :func:`jdeval.effects.policy_effects`.
    ds
        The dataset passed as first argument.
    **kwargs
        Keyword arguments of ``fn`` (part of the key).

    Returns
    -------
    object
        The result (read from the build's cache when another notebook of the same
        build already computed it).

    Notes
    -----
    A damaged or unreadable cache entry is ignored and the result recomputed.  When
    another process of the build is computing the same result, the call waits for
    it.
    """
    folder = os.environ.get(ENV_CACHE)
    if not folder:
        return fn(ds, **kwargs)
    name = getattr(fn, "__name__", "result")
    path = Path(folder) / f"{name}-{_key(fn, ds, kwargs)}.pkl"
    found, value = _read(path)
    if found:
        return value
    # another notebook may be computing it right now: wait for it
    with _locked(path.with_suffix(".lock")):
        found, value = _read(path)
        if found:
            return value
        value = fn(ds, **kwargs)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as f:
                _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
            os.replace(tmp, path)
        except Exception:  # not picklable or disk full: the result is still correct
            tmp.unlink(missing_ok=True)
    return value
