"""Progress of long effect estimations: which outcome, which design, how far.

The effect functions report each finished step as a :class:`ProgressEvent` (task,
step counter ``done / total``, outcome, design, seconds so far).  Nothing is shown
unless someone listens, in any of three ways:

* the ``logging`` logger ``jdeval.effects.progress`` (INFO), e.g. in a notebook
  ``jdeval.effects.progress.to_stderr()``;
* a callback, for the duration of a ``with reporting(fn):`` block (``fn`` receives
  each event);
* the file named by the environment variable ``JDEVAL_PROGRESS_FILE``: one JSON
  object per line (the fields of :class:`ProgressEvent` plus ``text_zh`` /
  ``text_en``), appended as the steps finish — how a build process follows a
  notebook kernel's estimation (the kernel inherits the build's environment).

Usage inside an estimator::

    bar = Progress("policy_effects", total=len(outcomes) * 3)
    with bar.step("robustness", "稳健性检验", outcome=o):
        ...
    bar.mark("twfe", "双向固定效应", outcome=o)   # finished now, timed since last
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

__all__ = [
    "ENV_PROGRESS_FILE",
    "Progress",
    "ProgressEvent",
    "reporting",
    "to_stderr",
]

#: Environment variable naming a JSON-lines file that receives every event.
ENV_PROGRESS_FILE = "JDEVAL_PROGRESS_FILE"

_log = logging.getLogger("jdeval.effects.progress")
_callbacks: list[Callable[[ProgressEvent], None]] = []


@dataclass(frozen=True)
class ProgressEvent:
    """One finished step of a long estimation.

    Attributes
    ----------
    task
        The estimation, e.g. ``"policy_effects"``, ``"robustness"``.
    step
        What just finished, e.g. ``"main"``, ``"leave_out_2024"``.
    step_zh
        The same in Chinese.
    done, total
        Steps finished so far and in all (``total`` may be 0 if unknown).
    outcome
        Outcome variable, if the step belongs to one.
    seconds
        Seconds of this step.
    elapsed
        Seconds since the task started.
    """

    task: str
    step: str
    step_zh: str
    done: int
    total: int
    outcome: str | None
    seconds: float
    elapsed: float

    @property
    def text_zh(self) -> str:
        of = f"{self.done}/{self.total}" if self.total else str(self.done)
        who = f"{self.outcome} · " if self.outcome else ""
        return f"[{self.task} {of}] {who}{self.step_zh} 用时 {self.seconds:.1f} 秒"

    @property
    def text_en(self) -> str:
        of = f"{self.done}/{self.total}" if self.total else str(self.done)
        who = f"{self.outcome} · " if self.outcome else ""
        return f"[{self.task} {of}] {who}{self.step} {self.seconds:.1f} s"

    def to_dict(self) -> dict:
        return {**asdict(self), "text_zh": self.text_zh, "text_en": self.text_en}


@contextmanager
def reporting(callback: Callable[[ProgressEvent], None]) -> Iterator[None]:
    """Send every event to ``callback`` while the block runs."""
    _callbacks.append(callback)
    try:
        yield
    finally:
        _callbacks.remove(callback)


def to_stderr(level: int = logging.INFO) -> logging.Handler:
    """Show progress lines on standard error (e.g. in a notebook); returns the handler."""
    for h in _log.handlers:
        if getattr(h, "_jdeval_progress", False):
            return h
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._jdeval_progress = True  # type: ignore[attr-defined]
    _log.addHandler(handler)
    _log.setLevel(level)
    return handler


def _emit(event: ProgressEvent) -> None:
    _log.info(event.text_zh)
    for cb in list(_callbacks):
        cb(event)
    path = os.environ.get(ENV_PROGRESS_FILE)
    if path:
        line = json.dumps(event.to_dict(), ensure_ascii=False)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class Progress:
    """Counter of the steps of one task; each finished step is reported.

    Parameters
    ----------
    task
        Name of the task (shown in brackets).
    total
        Number of steps expected (0 = unknown).
    """

    def __init__(self, task: str, total: int = 0):
        self.task = task
        self.total = total
        self.done = 0
        self.t0 = self.last = time.perf_counter()

    def mark(
        self, step: str, step_zh: str | None = None, *, outcome: str | None = None
    ) -> None:
        """Report ``step`` as finished now; it took the time since the last report."""
        self.done += 1
        now = time.perf_counter()
        _emit(
            ProgressEvent(
                task=self.task,
                step=step,
                step_zh=step_zh or step,
                done=self.done,
                total=max(self.total, self.done),
                outcome=outcome,
                seconds=now - self.last,
                elapsed=now - self.t0,
            )
        )
        self.last = now

    @contextmanager
    def step(
        self, step: str, step_zh: str | None = None, *, outcome: str | None = None
    ) -> Iterator[None]:
        """Time the block and report it as one finished step (if it finishes)."""
        self.last = time.perf_counter()
        yield
        self.mark(step, step_zh, outcome=outcome)
