"""Replace a report folder only when the new one is complete.

A build writes into a hidden sibling folder (``reports/.2024.building-<pid>-<rand>``)
and, once everything succeeded, swaps it with ``reports/2024`` in one step.  If the
build process is killed (even with SIGKILL) at any moment, ``reports/2024`` still holds
the previous complete report; the next build removes the stale sibling folders.

The swap uses Linux ``renameat2(RENAME_EXCHANGE)``, which exchanges two paths
atomically.  Where it is unavailable (other systems, some file systems) two renames
are used and a ``.old`` folder left by a kill between them is restored by the next
build, so the previous report is never lost.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import fcntl
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from jdeval.errors import BuildError, Problem

__all__ = ["Staging", "exchange", "recover"]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _libc():
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
    except OSError:  # pragma: no cover - no C library to talk to
        return None


def exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two existing paths.

    Parameters
    ----------
    a, b
        Two existing paths on the same file system.

    Returns
    -------
    bool
        ``True`` if the exchange happened, ``False`` if the system cannot exchange
        atomically (the caller then falls back to two renames).
    """
    libc = _libc()
    fn = getattr(libc, "renameat2", None) if libc is not None else None
    if fn is None:
        return False
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EXDEV):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


def _prefix(out: Path) -> str:
    return f".{out.name}."


def recover(out: Path) -> list[Path]:
    """Restore an interrupted swap and delete stale build folders of ``out``.

    Call only while holding the build lock of ``out``.

    Parameters
    ----------
    out
        The report folder.

    Returns
    -------
    list of pathlib.Path
        The stale folders removed.
    """
    parent, prefix = out.parent, _prefix(out)
    if not parent.is_dir():
        return []
    olds = sorted(parent.glob(prefix + "old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not out.exists():
        # killed between the two renames of the fallback swap: put the report back
        os.rename(olds[-1], out)
        olds = olds[:-1]
    removed = []
    stale = [
        *olds,
        *parent.glob(prefix + "building-*"),
        *parent.glob(prefix + "trash-*"),
    ]
    for p in stale:
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


@dataclass
class Staging:
    """A locked staging folder beside the report folder ``out``.

    Use as a context manager: entering takes the lock (a second build into the same
    folder fails at once), restores/cleans what a killed build left, and creates the
    empty staging folder :attr:`path`.  :meth:`commit` swaps it into place.  Leaving
    without commit deletes the staging folder (unless :meth:`keep` moved it away).
    """

    out: Path
    path: Path = field(init=False)
    removed: list[Path] = field(init=False, default_factory=list)
    _lock_fd: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.out = Path(self.out).absolute()

    def __enter__(self) -> Staging:
        parent = self.out.parent
        parent.mkdir(parents=True, exist_ok=True)
        lock = parent / (_prefix(self.out) + "lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise BuildError(
                "另一个构建正在写入该目录 / another build is writing this folder",
                [
                    Problem(
                        "error",
                        "build_locked",
                        f"{self.out} 正在由另一个 jdeval build 生成，请等待其结束。",
                        f"Another jdeval build is writing {self.out}; wait for it.",
                        file=str(self.out),
                    )
                ],
            ) from None
        self._lock_fd = fd
        self.removed = recover(self.out)
        tag = f"{os.getpid()}-{secrets.token_hex(4)}"
        self.path = parent / f"{_prefix(self.out)}building-{tag}"
        self.path.mkdir()
        return self

    def commit(self) -> None:
        """Put the staged folder in place of ``out`` (atomically where possible)."""
        if self.out.exists():
            if exchange(self.path, self.out):
                trash = self.path.with_name(
                    self.path.name.replace(".building-", ".trash-", 1)
                )
                os.rename(self.path, trash)
                shutil.rmtree(trash, ignore_errors=True)
                return
            old = self.path.with_name(self.path.name.replace(".building-", ".old-", 1))
            os.rename(self.out, old)
            os.rename(self.path, self.out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(self.path, self.out)

    def keep(self, where: Path) -> Path:
        """Move the staging folder to ``where`` (replacing it) for inspection."""
        where = Path(where).absolute()
        if where.exists():
            shutil.rmtree(where)
        os.rename(self.path, where)
        return where

    def __exit__(self, *exc) -> None:
        if self.path.exists():
            shutil.rmtree(self.path, ignore_errors=True)
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
