"""The build cache: what an unchanged input does not need to compute again.

An evaluator's day is many small edits (a sentence of narrative, an assessment, a
weight, the cover).  Each rebuild reuses what those inputs cannot change:

* **Executed notebooks.**  A notebook whose key is unchanged is not run again: its
  executed copy, published headline and written files are taken from the cache and
  only its page is rendered anew (the page header names this build).  The key
  (:func:`notebook_key`) is the SHA-256 of the notebook file, every parameter value
  it declares (an input file or folder by the SHA-256 of its content *and* the way
  pages show its path), the jdeval source (:func:`code_version`), the versions of
  the packages that shape numbers and pages, and the build date (a page may print
  today's date) — so a change to anything the notebook can read gives a new key.
  Notebooks read their inputs only through their parameters; the build passes every
  one explicitly.
* **Shared results** (:func:`jdeval.build.shared`, e.g. the policy-effect
  estimates): kept under ``shared/`` keyed by function, data content, arguments and
  code version, so a notebook that must run again still reuses the estimates.
* **The data check** before a build (loading and validating every table).

Entries are plain folders named by key, written to a temporary name and renamed
into place, so builds running at the same time never see half an entry.  Why not
``joblib.Memory``: it hashes a function's own source only (not the package it
calls), stores nothing when a result holds an unpicklable fitted model, and has no
cross-process "wait while another build computes this" — all three are needed here;
what remains is a folder per SHA-256 key, which needs no library.

Location: ``$JDEVAL_CACHE`` or ``$XDG_CACHE_HOME/jdeval/build`` (default
``~/.cache/jdeval/build``) — outside the project and the inputs.  ``--no-cache``
bypasses it.  Entries not used for :data:`MAX_AGE_DAYS` days are deleted.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ENV_CODE_VERSION",
    "MAX_AGE_DAYS",
    "NotebookCache",
    "code_version",
    "default_cache_dir",
    "notebook_key",
    "prune",
]

#: Environment variable carrying :func:`code_version` into the kernels.
ENV_CODE_VERSION = "JDEVAL_CODE_VERSION"
#: Entries unused for this many days are removed at the end of a build.
MAX_AGE_DAYS = 30

_PACKAGE = Path(__file__).resolve().parents[1]
_SKIP_DIRS = {"__pycache__"}
_SKIP_SUFFIXES = {".pyc", ".pyo"}


def default_cache_dir() -> Path:
    """``$JDEVAL_CACHE``, else ``$XDG_CACHE_HOME/jdeval/build`` (``~/.cache``)."""
    env = os.environ.get("JDEVAL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "jdeval" / "build"


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """SHA-256 over every file of the jdeval package (paths and contents).

    Any edit to jdeval's code, rules, templates or resources changes it, so nothing
    computed by an older version is reused.  Computed once per process.
    """
    h = hashlib.sha256()
    for p in sorted(_PACKAGE.rglob("*")):
        rel = p.relative_to(_PACKAGE)
        if (
            not p.is_file()
            or _SKIP_DIRS.intersection(rel.parts)
            or p.suffix in _SKIP_SUFFIXES
        ):
            continue
        h.update(f"\x00{rel.as_posix()}\x00".encode())
        with open(p, "rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


def notebook_key(
    notebook_sha256: str,
    parameters: Mapping[str, Any],
    *,
    input_hashes: Mapping[str, str],
    packages: Mapping[str, Any],
    build_date: str,
) -> str:
    """Cache key of one executed notebook.

    Parameters
    ----------
    notebook_sha256
        SHA-256 of the notebook file.
    parameters
        The parameter values the notebook declares (as passed to it).
    input_hashes
        For parameters naming an input file or folder: SHA-256 of its content.
    packages
        Installed versions (:func:`jdeval.build.manifest.package_versions`).
    build_date
        ``YYYY-MM-DD`` of the build.

    Returns
    -------
    str
        Hex digest.
    """
    spec = {
        "notebook": notebook_sha256,
        "parameters": {k: str(v) for k, v in sorted(parameters.items())},
        "inputs": dict(sorted(input_hashes.items())),
        "code": code_version(),
        "packages": {k: str(v) for k, v in sorted(packages.items())},
        "date": build_date,
    }
    blob = json.dumps(spec, sort_keys=True, ensure_ascii=True).encode()
    return hashlib.sha256(blob).hexdigest()


def _touch(p: Path) -> None:
    try:
        os.utime(p)
    except OSError:
        pass


class NotebookCache:
    """Executed notebooks by key: ``<root>/notebooks/<key>/``.

    An entry holds ``notebook.ipynb`` (the executed notebook), ``page.html`` (its
    page with placeholders for the build's facts, see
    :func:`jdeval.build.htmlexport.fill_page`), ``headline.json`` (what it
    published, may be absent), ``files/`` (what it wrote into the report folder)
    and ``result.json`` (timings of the run that made it).
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.folder = self.root / "notebooks"

    def get(self, key: str) -> Path | None:
        """The entry folder for ``key``, or ``None``."""
        entry = self.folder / key
        if all(
            (entry / f).is_file()
            for f in ("notebook.ipynb", "page.html", "result.json")
        ):
            _touch(entry)
            return entry
        return None

    def put(
        self,
        key: str,
        *,
        notebook: Path,
        page: Path,
        headline: Path | None,
        files: Iterable[Path],
        result: Mapping[str, Any],
    ) -> None:
        """Store a successful run (no-op if another build stored it first).

        Errors writing the cache (disk full, permissions) are ignored: the cache is
        an optimisation and the build's own output is already complete.
        """
        tmp = self.folder / f".{key}.{os.getpid()}.tmp"
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(tmp, ignore_errors=True)
            (tmp / "files").mkdir(parents=True)
            shutil.copy2(notebook, tmp / "notebook.ipynb")
            shutil.copy2(page, tmp / "page.html")
            if headline is not None and headline.is_file():
                shutil.copy2(headline, tmp / "headline.json")
            for f in files:
                shutil.copy2(f, tmp / "files" / f.name)
            (tmp / "result.json").write_text(
                json.dumps(dict(result), ensure_ascii=False), encoding="utf-8"
            )
            os.rename(tmp, self.folder / key)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)


def prune(root: Path, *, max_age_days: float = MAX_AGE_DAYS) -> int:
    """Delete cache entries not used for ``max_age_days``; the number removed."""
    cutoff = time.time() - max_age_days * 86400
    removed = 0
    for sub in ("notebooks", "shared", "checks"):
        folder = Path(root) / sub
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            try:
                if entry.stat().st_mtime >= cutoff:
                    continue
                if entry.is_dir():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink()
                removed += 1
            except OSError:
                continue
    return removed
