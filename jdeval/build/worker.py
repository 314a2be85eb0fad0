"""Run notebooks of a build outside the build process: execute, then render to HTML.

The runner starts one long-lived ``python -m jdeval.build.worker --serve TASKS_DIR``
per job slot and writes the path of a task file (one notebook) to its standard input;
the worker runs the tasks one after another, so papermill and nbconvert are imported
once per slot instead of once per notebook.  Every notebook still gets a fresh kernel.
All paths in a task are absolute (papermill's ``cwd`` changes the working directory
of the whole process while a notebook runs, and restores it afterwards); ``env`` of
a task is applied to the worker's environment, which the kernel inherits.
``python -m jdeval.build.worker TASK.json`` runs a single task.  For every task the
worker writes ``TASK.result.json`` atomically (status, timings and, on failure, the
cell that failed and why); the partly executed notebook is kept where papermill
saved it.

On Linux the worker asks to be killed when the runner dies (``PR_SET_PDEATHSIG``) and
the kernel it starts exits when its parent disappears (ipykernel's parent poller), so a
killed build leaves no process writing into its staging folder.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import signal
import sys
import time
import traceback
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jdeval.build.warmkernel import Ahead

__all__ = [
    "ENV_PARENT",
    "ENV_WARM_IMPORTS",
    "die_with_parent",
    "present_parameters",
    "run_task",
    "serve",
]

#: Process id of the build that started the worker.
ENV_PARENT = "JDEVAL_BUILD_PID"
#: Modules a kernel started ahead imports (space-separated; the suite's common ones).
ENV_WARM_IMPORTS = "JDEVAL_WARM_IMPORTS"


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent exits (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover
        pass


def _deterministic(nb) -> None:
    """Remove what varies between identical runs before rendering.

    papermill gives its injected-parameters cell a random id, so cells are numbered
    instead; a cell's printed text may arrive in a varying number of stream chunks,
    so consecutive chunks of the same stream are joined.
    """
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"
        merged = []
        for out in cell.get("outputs", []):
            prev = merged[-1] if merged else None
            if (
                out.get("output_type") == "stream"
                and prev is not None
                and prev.get("output_type") == "stream"
                and prev.get("name") == out.get("name")
            ):
                prev["text"] += out["text"]
            else:
                merged.append(out)
        if "outputs" in cell:
            cell["outputs"] = merged


def _literal(value: Any) -> str:
    return repr(value)


def present_parameters(nb, shown: dict[str, Any], *, input_path: str, output_path: str):
    """Show the parameters as the pages do: paths relative to the project.

    The kernel needs absolute paths; the kept notebook and its page must not name
    folders of the build machine.  The cell papermill injected and papermill's
    metadata are rewritten with the shown values (``shown``).
    """
    for cell in nb.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            lines = [
                "# 构建参数（路径相对于项目目录）build parameters (paths shown "
                "relative to the project)"
            ]
            lines += [f"{k} = {_literal(v)}" for k, v in shown.items()]
            cell["source"] = "\n".join(lines)
    pm_meta = nb.metadata.get("papermill")
    if pm_meta is not None:
        pm_meta["parameters"] = dict(shown)
        pm_meta["input_path"] = input_path
        pm_meta["output_path"] = output_path
        pm_meta.pop("environment_variables", None)
    return nb


def _first_line(source: str) -> str:
    for line in (source or "").splitlines():
        if line.strip():
            return line.strip()[:120]
    return ""


#: How a kernel that never became ready fails (jupyter_client's wait_for_ready).
_KERNEL_START_FAILURES = ("Kernel died before replying", "Kernel didn't respond")


def _execute(
    task: dict[str, Any], km: Any = None, *, retry: bool = True
) -> dict[str, Any] | None:
    """Run the notebook with papermill; ``None``, or the error of a failed run.

    ``km``: a kernel started ahead for this task (:mod:`jdeval.build.warmkernel`);
    without one papermill starts the kernel.  A kernel that dies before it is ready
    (e.g. two kernels started at the same moment picked the same free port) is
    started once more: no cell has run yet.
    """
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            task["input"],
            task["output"],
            parameters=task["parameters"],
            cwd=task["cwd"],
            kernel_name=task.get("kernel_name", "python3"),
            progress_bar=False,
            log_output=False,
            execution_timeout=task.get("timeout"),
            coalesce_streams=True,
            **({"km": km} if km is not None else {}),
        )
    except PapermillExecutionError as exc:
        return {
            "cell_index": exc.cell_index,
            "exec_count": exc.exec_count,
            "ename": exc.ename,
            "evalue": exc.evalue,
            "source": _first_line(exc.source),
        }
    except Exception as exc:  # kernel died, notebook unreadable, timeout...
        if retry and str(exc).startswith(_KERNEL_START_FAILURES):
            return _execute(task, retry=False)
        return {
            "cell_index": None,
            "exec_count": None,
            "ename": type(exc).__name__,
            "evalue": str(exc)[:2000],
            "source": "",
        }
    return None


def run_task(task: dict[str, Any], ahead: Ahead | None = None) -> dict[str, Any]:
    """Execute and render one notebook as described by ``task``.

    Parameters
    ----------
    task
        Keys: ``input``, ``output`` (executed .ipynb), ``html``, ``cwd``,
        ``parameters``, ``kernel_name``, ``page`` (:class:`PageInfo` fields),
        ``show_code``, ``timeout`` and optionally ``env`` (variables set for the
        kernel, e.g. the notebook's name for :func:`jdeval.build.publish`),
        ``execute`` (``False``: ``output`` already holds the executed notebook, taken
        from the build cache; only render it), ``shown_parameters``,
        ``shown_input``, ``shown_output`` (see :func:`present_parameters`),
        ``warm_next`` (more tasks follow: start the next kernel while this one's
        page is rendered).
    ahead
        The worker's kernel started ahead (used if it suits the task).

    Returns
    -------
    dict
        ``status`` (``"ok"`` | ``"failed"``), ``execute_s``, ``render_s`` and on
        failure ``error`` with ``cell_index``, ``exec_count``, ``ename``, ``evalue``,
        ``source``.
    """
    t0 = time.perf_counter()
    os.environ.update(task.get("env") or {})
    import nbformat

    from jdeval.build.htmlexport import BUILD_FACTS, PageInfo, fill_page, render_html

    result: dict[str, Any] = {"status": "ok", "import_s": time.perf_counter() - t0}
    t1 = time.perf_counter()
    error = None
    if task.get("execute", True):
        error = _execute(task, ahead.take(task) if ahead else None)
    if ahead is not None:
        ahead.finished(start_next=bool(task.get("warm_next")))
    result["execute_s"] = time.perf_counter() - t1
    if error is not None:
        result.update(status="failed", error=error)
        return result
    t2 = time.perf_counter()
    try:
        nb = nbformat.read(task["output"], as_version=4)
        _deterministic(nb)
        if "shown_parameters" in task:
            present_parameters(
                nb,
                task["shown_parameters"],
                input_path=task.get("shown_input", ""),
                output_path=task.get("shown_output", ""),
            )
            nbformat.write(nb, task["output"])
        page = task["page"]
        info = PageInfo(
            title_zh=page["title_zh"],
            title_en=page["title_en"],
            parameters=tuple(tuple(p) for p in page["parameters"]),
            fingerprint=page["fingerprint"],
            build_time=page["build_time"],
            version=page["version"],
            report_title=page.get("report_title", ""),
            manifest_digest=page.get("manifest_digest", ""),
        )
        # rendered once with placeholders for the build's facts: the build cache
        # keeps this template, and a later build fills it without nbconvert
        template = Path(task.get("page_template") or task["html"] + ".tmpl")
        render_html(
            nb,
            template,
            replace(info, **BUILD_FACTS),
            show_code=task.get("show_code", False),
        )
        Path(task["html"]).write_text(
            fill_page(template.read_text(encoding="utf-8"), info), encoding="utf-8"
        )
        if not task.get("page_template"):
            template.unlink()
    except Exception as exc:
        result.update(
            status="failed",
            error={
                "cell_index": None,
                "exec_count": None,
                "ename": f"HTML: {type(exc).__name__}",
                "evalue": str(exc)[:2000],
                "source": "",
                "traceback": traceback.format_exc()[-4000:],
            },
        )
    result["render_s"] = time.perf_counter() - t2
    return result


def _run_file(task_path: Path, ahead: Ahead | None = None) -> dict[str, Any]:
    """Run the task in ``task_path`` and write ``<stem>.result.json`` atomically."""
    task = json.loads(task_path.read_text(encoding="utf-8"))
    try:
        result = run_task(task, ahead)
    except Exception as exc:  # a bug here must not take the other tasks down
        result = {
            "status": "failed",
            "error": {
                "cell_index": None,
                "exec_count": None,
                "ename": f"worker: {type(exc).__name__}",
                "evalue": str(exc)[:2000],
                "source": "",
                "traceback": traceback.format_exc()[-4000:],
            },
        }
    out = task_path.with_name(task_path.stem + ".result.json")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    os.replace(tmp, out)
    return result


def serve(stream=None) -> int:
    """Run the task files named one per line on ``stream`` (stdin) until it closes."""
    stream = stream or sys.stdin
    from jdeval.build.warmkernel import Ahead

    # the first kernel starts, then papermill and nbconvert are imported and the
    # page templates compiled while it boots: the build starts a worker while it
    # still looks its notebooks up in the cache, and in the edit loop that kernel is
    # the one the rebuilt notebook needs
    ahead = Ahead(os.environ.get(ENV_WARM_IMPORTS, "").split())
    ahead.start()
    import papermill  # noqa: F401

    from jdeval.build import htmlexport

    htmlexport.warm()
    try:
        while line := stream.readline():
            if line.strip():
                _run_file(Path(line.strip()), ahead)
    finally:
        ahead.close()
    return 0


def _skip_slow_optional_imports() -> None:
    """Keep an optional grammar package out of the worker (a measured speed-up).

    papermill imports nbformat, which imports jsonschema, which imports the
    optional ``rfc3987_syntax`` when it is installed (JupyterLab pulls it in) and
    builds its IRI grammar on import: 4–7 s of a 6–10 s worker start on a busy
    machine.  Its IRI formats are not used by the notebook schema, and jsonschema
    treats the package as absent when the import fails.
    """
    sys.modules.setdefault("rfc3987_syntax", None)


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m jdeval.build.worker (TASK.json | --serve TASKS_DIR)``.

    With ``--serve`` the worker reads task paths from stdin; ``TASKS_DIR`` (the
    build's task folder) is only named so that the process can be told apart.
    """
    die_with_parent()
    _skip_slow_optional_imports()
    parent = os.environ.get(ENV_PARENT)
    if parent and os.getppid() != int(parent):  # the build died while we started
        return 1
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--serve":
        return serve()
    return 0 if _run_file(Path(argv[0]))["status"] == "ok" else 1


if __name__ == "__main__":
    raise SystemExit(main())
