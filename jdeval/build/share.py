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
:func:`shared` simply calls the function.

The runner points ``JDEVAL_BUILD_CACHE`` at the persistent build cache
(:mod:`jdeval.build.cache`), so a later build with the same data, arguments and
jdeval code (``JDEVAL_CODE_VERSION`` is part of the key) reuses the estimates; with
``--no-cache`` it is a folder inside the staging folder, deleted before publishing.
Every call is recorded (function, key, reused or computed, seconds) in the file named
by ``JDEVAL_BUILD_SHARED_LOG`` for the manifest, and said in the build log.

Fitted ``pyfixest`` model objects (jdeval's own results no longer keep them, but a
caller's function may return one) cannot be pickled; a result read from the cache
has ``None`` in their place.
Everything else (estimates, tables, panels) is stored exactly.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import logging
import os
import pickle
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "ENV_CACHE",
    "ENV_SHARED_LOG",
    "dataset_fingerprint",
    "load_data",
    "memo_in",
    "shared",
    "validate_data",
]

#: Folder holding the build's shared results (set by the runner).
ENV_CACHE = "JDEVAL_BUILD_CACHE"
#: JSON-lines file where each call is recorded (set by the runner).
ENV_SHARED_LOG = "JDEVAL_BUILD_SHARED_LOG"
#: Same value as :data:`jdeval.build.cache.ENV_CODE_VERSION` (not imported: kernels
#: import this module and must stay light).
_ENV_CODE_VERSION = "JDEVAL_CODE_VERSION"

_log = logging.getLogger("jdeval.build.shared")

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


#: Results returned by :func:`shared` in this process: ``id`` → (object, key), so a
#: result passed on to another shared call enters that call's key by its own key.
_ORIGIN: dict[int, tuple[Any, str]] = {}
_PLAIN = (type(None), bool, int, float, complex, str, bytes, _dt.date, _dt.time)


def _kwarg(value: Any) -> str:
    """A keyword argument as it enters the key: by content, never by identity.

    * a path to an existing file counts by its content too (SHA-256), so an edited
      targets or assessments file passed by name never returns a stale result;
    * a result of another :func:`shared` call counts by that call's key (which
      covers its data, arguments and code);
    * any other object counts by the SHA-256 of its pickle (the repr of a
      DataFrame shows only some rows, so it cannot serve); an object that cannot
      be pickled gets a fresh random token, i.e. it is never reused.
    """
    origin = _ORIGIN.get(id(value))
    if origin is not None and origin[0] is value:
        return f"shared:{origin[1]}"
    if isinstance(value, (_PLAIN, os.PathLike)) or (
        isinstance(value, (tuple, list)) and all(isinstance(v, _PLAIN) for v in value)
    ):
        text = repr(value)
        if isinstance(value, (str, os.PathLike)) and str(value):
            p = Path(value)
            try:
                if p.is_file():
                    text += ":" + hashlib.sha256(p.read_bytes()).hexdigest()
            except OSError:
                pass
        return text
    buf = io.BytesIO()
    try:
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    except Exception:  # not picklable: never reuse
        return "unpicklable:" + secrets.token_hex(16)
    return f"{type(value).__qualname__}:" + hashlib.sha256(buf.getvalue()).hexdigest()


def _remember(value: Any, key: str) -> None:
    if not isinstance(value, _PLAIN):
        _ORIGIN[id(value)] = (value, key)


def _key(
    fn: Callable[..., Any],
    ds: Any,
    kwargs: dict[str, Any],
    code: str | None = None,
    fingerprint: str | None = None,
) -> str:
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    spec = {
        "function": f"{getattr(fn, '__module__', '')}.{qualname}",
        "data": fingerprint or dataset_fingerprint(ds),
        "kwargs": {k: _kwarg(v) for k, v in sorted(kwargs.items())},
        "code": os.environ.get(_ENV_CODE_VERSION, "") if code is None else code,
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
                value = _Unpickler(f).load()
        except Exception:  # damaged entry: compute again
            return False, None
        try:
            os.utime(path)  # recently used: kept by the cache's pruning
        except OSError:
            pass
        return True, value
    return False, None


def _record(name: str, key: str, reused: bool, seconds: float) -> None:
    """Say what happened in the build log and the manifest's record of reuse."""
    if reused:
        _log.info("复用已缓存结果 reused cached result: %s", name)
    else:
        _log.info("已计算并缓存 computed and cached: %s (%.1f s)", name, seconds)
    log = os.environ.get(ENV_SHARED_LOG)
    if not log:
        return
    line = json.dumps(
        {"function": name, "key": key, "reused": reused, "seconds": round(seconds, 3)}
    )
    try:
        with open(log, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    except OSError:
        pass


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
    return _shared_in(Path(folder), fn, ds, kwargs)


def memo_in(folder: str | os.PathLike, *, code: str) -> Callable[..., Any]:
    """:func:`shared` with the cache ``folder`` (for the build process itself).

    The build process does not carry ``JDEVAL_BUILD_CACHE`` (its notebooks do); it
    passes ``memo_in(folder, code=...)`` where an analysis takes a ``memo``.
    ``code`` is the jdeval source version that is part of every key
    (:func:`jdeval.build.cache.code_version`).  One memo serves one piece of work
    on data it does not change (e.g. the disclosure gate), so each dataset's
    fingerprint is computed once per memo (~1.4 s at 200,000 firms).
    """
    return _Memo(Path(folder), code)


@dataclass
class _Memo:
    folder: Path
    code: str
    _fingerprints: dict = field(default_factory=dict)

    def __call__(self, fn: Callable[..., T], ds: Any, **kwargs: Any) -> T:
        held = self._fingerprints.get(id(ds))
        if held is None or held[0] is not ds:
            held = self._fingerprints[id(ds)] = (ds, dataset_fingerprint(ds))
        return _shared_in(
            self.folder, fn, ds, kwargs, code=self.code, fingerprint=held[1]
        )


def _shared_in(
    folder: Path,
    fn: Callable[..., T],
    ds: Any,
    kwargs: dict,
    *,
    code: str | None = None,
    fingerprint: str | None = None,
) -> T:
    """:func:`shared` in the cache ``folder`` (``code``: default from the env;
    ``fingerprint``: of ``ds``, when already known)."""
    name = getattr(fn, "__name__", "result")
    key = _key(fn, ds, kwargs, code, fingerprint)
    path = folder / f"{name}-{key}.pkl"
    found, value = _read(path)
    if found:
        _record(name, key, True, 0.0)
        _remember(value, key)
        return value
    # another notebook may be computing it right now: wait for it
    with _locked(path.with_suffix(".lock")):
        found, value = _read(path)
        if found:
            _record(name, key, True, 0.0)
            _remember(value, key)
            return value
        t0 = time.perf_counter()
        value = fn(ds, **kwargs)
        _record(name, key, False, time.perf_counter() - t0)
        _store(value, path)
    _remember(value, key)
    return value


def _store(value: Any, path: Path) -> None:
    """Write ``value`` to the cache entry ``path`` atomically (or not at all)."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            _Pickler(f, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
        os.replace(tmp, path)
    except Exception:  # not picklable or disk full: the result is still correct
        tmp.unlink(missing_ok=True)


def _folder_digest(folder: Path) -> str:
    """SHA-256 over every non-hidden file below ``folder`` (names and contents)."""
    h = hashlib.sha256()
    paths = [folder] if folder.is_file() else sorted(folder.rglob("*"))
    for p in paths:
        rel = p.name if p == folder else p.relative_to(folder).as_posix()
        if not p.is_file() or any(part.startswith(".") for part in Path(rel).parts):
            continue
        h.update(f"\x00{rel}\x00".encode())
        with open(p, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def validate_data(
    path: str | os.PathLike | None = None, *, cache: str | os.PathLike | None = None
) -> Any:
    """``jdeval.data.validate(path)``, read once per data content and shared.

    Inside ``jdeval build`` the data check of the whole folder (its
    :class:`~jdeval.data.ValidationReport`, with the loaded dataset) is kept in the
    build cache, keyed by the SHA-256 of every file of the folder and the jdeval
    source.  The build checks the data in a process of its own before the notebooks
    start, so the notebooks — and later builds and every build of a batch on the
    same data — read the result instead of parsing the files again (at 200,000 firms
    a parse holds ~1.4 GB and takes ~13 s; reading the result ~0.3 GB and ~0.3 s).
    Outside a build it simply validates.

    Parameters
    ----------
    path
        Data folder or workbook (empty or ``None``: the bundled synthetic data).
    cache
        Cache folder (default: the build's, ``JDEVAL_BUILD_CACHE``; none outside a
        build).

    Returns
    -------
    jdeval.data.ValidationReport
    """
    from jdeval.data import ensure_default_data, validate

    folder = Path(path) if path else Path(ensure_default_data())
    cache = cache or os.environ.get(ENV_CACHE)
    if not cache or not folder.exists():
        return validate(folder)
    # the path too: the check names its source (notebook 01 shows it)
    spec = (
        f"{folder.resolve()}:{_folder_digest(folder)}:"
        f"{os.environ.get(_ENV_CODE_VERSION, '')}"
    )
    key = hashlib.sha256(spec.encode()).hexdigest()[:24]
    entry = Path(cache) / f"validation-{key}.pkl"
    found, value = _read(entry)
    if not found:
        with _locked(entry.with_suffix(".lock")):
            found, value = _read(entry)
            if not found:
                t0 = time.perf_counter()
                value = validate(folder)
                _record("validate", key, False, time.perf_counter() - t0)
                _store(value, entry)
                return value
    _record("validate", key, True, 0.0)
    return value


def load_data(
    path: str | os.PathLike | None = None, *, cache: str | os.PathLike | None = None
) -> Any:
    """``jdeval.data.load(path)``, read once per data content and shared.

    The dataset of :func:`validate_data` (so a build parses its data once, in its
    data check); like :func:`jdeval.data.load` it raises when the data have errors.

    Parameters
    ----------
    path
        Data folder (empty or ``None``: the bundled synthetic data).
    cache
        As for :func:`validate_data`.

    Returns
    -------
    jdeval.data.Dataset

    Raises
    ------
    jdeval.errors.DataError
        Listing every error of the data.
    """
    from jdeval.data import usable_dataset

    return usable_dataset(validate_data(path, cache=cache))
