"""A kernel started before its notebook is known, with the common imports done.

A build worker starts one while it waits for its first task (the runner is still
looking the notebooks up in the build cache) and, when the runner says more tasks
will follow, while it finishes a notebook.  The kernel imports the modules every
notebook of the suite imports (``JDEVAL_WARM_IMPORTS``, set by the runner).  The
notebook then runs in it as in a kernel papermill would have started: a new process
for every notebook, no state but imported modules, the task's working folder and
environment set before the first cell, execution counts from 1.  Starting a kernel
and importing pandas, matplotlib and jdeval is ~2–3 s of every notebook; in the edit
loop (one notebook re-run) that was a quarter of the rebuild.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from jupyter_client import AsyncKernelManager, BlockingKernelClient
from jupyter_core.utils import run_sync

__all__ = ["Ahead", "WarmKernel"]

_STARTUP_TIMEOUT = 120


class _Manager(AsyncKernelManager):
    """Remembers the clients it made (papermill's), so their channels can be closed."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.made: list[Any] = []

    def client(self, **kwargs: Any):
        kc = super().client(**kwargs)
        self.made.append(kc)
        return kc


class WarmKernel:
    """One kernel started for the next notebook, its imports under way.

    Nothing here waits for the kernel: the imports are sent at once (the shell
    socket queues them until the kernel listens) and :meth:`take` waits for them.
    """

    def __init__(self, imports: Sequence[str], kernel_name: str = "python3") -> None:
        self.kernel_name = kernel_name
        self.km = _Manager(kernel_name=kernel_name)
        run_sync(self.km.start_kernel)()
        self.kc = BlockingKernelClient(connection_file=self.km.connection_file)
        self.kc.load_connection_file()
        self.kc.start_channels(iopub=False, stdin=False, hb=False)
        code = "".join(f"import {m}\n" for m in imports) or "pass"
        self._warming = self._send(code)

    def _send(self, code: str) -> str:
        return self.kc.execute(code, silent=True, store_history=False)

    def _wait(self, msg_id: str, what: str) -> None:
        """Wait for the reply to ``msg_id``; raise if the code failed."""
        while True:
            reply = self.kc.get_shell_msg(timeout=_STARTUP_TIMEOUT)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        content = reply["content"]
        if content["status"] != "ok":
            raise RuntimeError(
                f"{what}: {content.get('ename')}: {content.get('evalue')}"
            )

    def take(self, task: dict[str, Any]):
        """The kernel manager, set up for ``task`` (folder and environment)."""
        self._wait(self._warming, "warm-up imports")
        env = dict(task.get("env") or {})
        setup = f"import os\nos.chdir({task['cwd']!r})\nos.environ.update({env!r})"
        self._wait(self._send(setup), "task setup")
        self.kc.stop_channels()
        return self.km

    def shutdown(self) -> None:
        """Stop the kernel and close the channels of every client made for it."""
        for kc in (self.kc, *self.km.made):
            kc.stop_channels()
        try:
            run_sync(self.km.shutdown_kernel)(now=True)
        except Exception as exc:  # already gone: nothing is left to stop
            print(f"warm kernel shutdown: {exc}", file=sys.stderr)


class Ahead:
    """A worker's next kernel: started ahead, taken by a task, stopped after it.

    Starting ahead is an optimisation only: when it fails, the task starts its
    kernel as papermill does (and a kernel that cannot start fails the notebook
    there, with papermill's message).
    """

    def __init__(self, imports: Sequence[str] = ()) -> None:
        self.imports = tuple(imports)
        self.next: WarmKernel | None = None
        self.used: WarmKernel | None = None

    def start(self) -> None:
        try:
            self.next = WarmKernel(self.imports)
        except Exception as exc:
            print(f"kernel not started ahead: {exc}", file=sys.stderr)
            self.next = None

    def take(self, task: dict[str, Any]):
        """The started kernel's manager set up for ``task``, or ``None``."""
        warm, self.next = self.next, None
        if warm is None:
            return None
        try:
            if warm.kernel_name != task.get("kernel_name", "python3"):
                raise RuntimeError(f"kernel {warm.kernel_name} is not the task's")
            km = warm.take(task)
        except Exception as exc:
            print(f"kernel started ahead not used: {exc}", file=sys.stderr)
            warm.shutdown()
            return None
        self.used = warm
        return km

    def finished(self, *, start_next: bool) -> None:
        """The task's notebook has run: stop its kernel, start the next one."""
        if self.used is not None:
            self.used.shutdown()
            self.used = None
        if start_next:
            self.start()

    def close(self) -> None:
        self.finished(start_next=False)
        if self.next is not None:
            self.next.shutdown()
            self.next = None
