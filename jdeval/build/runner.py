"""Build a year's report folder from the notebooks: ``jdeval build``.

Every notebook runs with papermill in a fresh kernel (at most ``jobs`` at a time, on
one long-lived worker process per job slot, :mod:`jdeval.build.worker`), is rendered
to an offline HTML page, and publishes a few headline results; the runner then writes
``index.html`` and ``manifest.json``.  Notebooks start longest first; a notebook that
reuses another's results (:attr:`Notebook.after`, :func:`jdeval.build.shared`) starts
after it.  Everything is written into a hidden staging folder beside ``out`` which
replaces ``out`` only when the whole build succeeded (see :mod:`jdeval.build.atomic`).
On failure the partly executed notebooks are kept in ``<out>_failed/`` and
:class:`~jdeval.errors.BuildError` names the notebook, the cell and the error.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nbformat

from jdeval.build import atomic, headline, index, manifest, share
from jdeval.build.worker import ENV_PARENT, die_with_parent
from jdeval.errors import BuildError, ConfigError, Problem, ProblemList

__all__ = ["NOTEBOOKS", "Notebook", "build", "notebooks_dir", "parameter_names"]

#: Where the bundled notebooks live (the repository's ``notebooks/`` folder).
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Notebook:
    """A notebook of the report suite.

    Parameters
    ----------
    name
        File stem, e.g. ``"01_data_quality"``; also the HTML page name.
    title_zh, title_en
        Page title.
    after
        Notebooks of the suite that must have started before this one, because it
        reuses their results (:func:`jdeval.build.shared` waits for a result another
        notebook is computing); the notebook still runs correctly without them,
        only slower.
    """

    name: str
    title_zh: str
    title_en: str
    after: tuple[str, ...] = ()


#: The report suite, in reading order.
NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook("01_data_quality", "数据质量", "Data quality"),
    Notebook(
        "02_policy_effects",
        "政策效果：投资与生产率",
        "Policy effects: investment and productivity",
    ),
    Notebook("03_indicators", "绩效指标评分", "Indicator scoring"),
    Notebook("04_survey", "满意度调查", "Satisfaction survey"),
    Notebook(
        "05_annual_report",
        "年度绩效评价报告",
        "Annual performance-evaluation report",
        after=("02_policy_effects",),
    ),
)

# Start order, longest first (measured), so that no long notebook runs last on its
# own; a notebook whose ``after`` have not started is skipped until they have.  05
# comes after 03 so that it does not start with 02 and wait long for its estimate.
_LONGEST_FIRST = (
    "02_policy_effects",
    "03_indicators",
    "05_annual_report",
    "01_data_quality",
    "04_survey",
)

AUDIENCES = ("reviewer", "internal")
SCHEMES = ("A", "B")


def notebooks_dir() -> Path:
    """The folder holding the bundled notebooks."""
    return _REPO / "notebooks"


def parameter_names(nb: nbformat.NotebookNode) -> list[str]:
    """Names assigned in the cell tagged ``parameters`` (empty if none)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get(
            "tags", []
        ):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                return []
            names = []
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else []
                if isinstance(node, ast.AnnAssign):
                    targets = [node.target]
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []


def _suite(folder: Path | None) -> list[tuple[Notebook, Path]]:
    if folder is None:
        folder = notebooks_dir()
        return [(nb, folder / f"{nb.name}.ipynb") for nb in NOTEBOOKS]
    known = {nb.name: nb for nb in NOTEBOOKS}
    out = []
    for p in sorted(Path(folder).glob("*.ipynb")):
        meta = nbformat.read(str(p), as_version=4).metadata.get("jdeval", {})
        nb = known.get(p.stem) or Notebook(
            p.stem, meta.get("title_zh", p.stem), meta.get("title_en", p.stem)
        )
        out.append((nb, p))
    return out


def _problem(code: str, zh: str, en: str, **where: Any) -> Problem:
    return Problem("error", code, zh, en, **where)


def _check_parameters(
    year: int,
    data: Path,
    targets: Path | None,
    assessments: Path | None,
    scheme: str,
    audience: str,
    jobs: int,
) -> None:
    """Validate build parameters; raise one ConfigError listing every problem."""
    problems = ProblemList()
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        problems.error(
            "year",
            f"评价年度应为四位整数年份，得到 {year!r}。",
            f"The evaluation year must be a four-digit year, got {year!r}.",
            column="year",
            value=year,
        )
    if not data.exists():
        problems.error(
            "path_missing",
            f"数据目录不存在：{data}",
            f"Data folder does not exist: {data}",
            file=str(data),
            column="data",
        )
    for label, p in (("targets", targets), ("assessments", assessments)):
        if p is not None and not p.is_file():
            problems.error(
                "path_missing",
                f"{label} 文件不存在：{p}",
                f"{label} file does not exist: {p}",
                file=str(p),
                column=label,
            )
    if scheme not in SCHEMES:
        problems.error(
            "scheme",
            f"评分方案应为 A 或 B，得到 {scheme!r}。",
            f"The scoring scheme must be A or B, got {scheme!r}.",
            column="scheme",
            value=scheme,
        )
    if audience not in AUDIENCES:
        problems.error(
            "audience",
            f"读者应为 reviewer（评审，默认）或 internal（内部），得到 {audience!r}。",
            f"The audience must be reviewer (default) or internal, got {audience!r}.",
            column="audience",
            value=audience,
        )
    if not isinstance(jobs, int) or jobs < 1:
        problems.error(
            "jobs",
            f"并行数应为正整数，得到 {jobs!r}。",
            f"jobs must be a positive integer, got {jobs!r}.",
            column="jobs",
            value=jobs,
        )
    problems.raise_if_errors(ConfigError, "构建参数有误 / invalid build parameters")


def _check_out(out: Path, inputs: list[Path]) -> None:
    """Refuse an output folder whose replacement would destroy something else.

    ``out`` is replaced as a whole, so it must be new, empty or a previous jdeval
    report (it has ``manifest.json``), and must not hold or sit inside an input.
    """
    problems = ProblemList()
    resolved = out.resolve()
    if resolved.exists() and not resolved.is_dir():
        problems.error(
            "out_not_folder",
            f"输出路径 {out} 已存在且不是目录。",
            f"The output path {out} exists and is not a folder.",
            file=str(out),
            column="out",
        )
    elif (
        resolved.is_dir()
        and any(resolved.iterdir())
        and not (resolved / manifest.MANIFEST_NAME).is_file()
    ):
        problems.error(
            "out_not_report",
            f"输出目录 {out} 非空且不是 jdeval 报告目录（无 manifest.json）；构建会整体替换"
            "该目录，为避免误删请指定新目录或空目录。",
            f"The output folder {out} is not empty and is not a jdeval report (no "
            "manifest.json). A build replaces the whole folder: give a new or empty one.",
            file=str(out),
            column="out",
        )
    for p in inputs:
        p = p.resolve()
        if p == resolved or resolved in p.parents or p in resolved.parents:
            problems.error(
                "out_overlaps_input",
                f"输出目录 {out} 与输入 {p} 重叠；输入文件只读不写。",
                f"The output folder {out} overlaps the input {p}; inputs are never "
                "written to.",
                file=str(out),
                column="out",
            )
    problems.raise_if_errors(ConfigError, "输出目录不可用 / unusable output folder")


def _check_data(year: int, data: Path) -> None:
    """Load the data once (all data errors at once) and check the year is in it."""
    import pandas as pd

    from jdeval.data import load

    ds = load(data)  # raises DataError listing every problem
    # the evaluation year is an award batch year (the panel also has earlier years)
    awards = ds.tables.get("awards")
    batches = (
        [] if awards is None or "batch_year" not in awards else awards["batch_year"]
    )
    years = sorted({int(y) for y in pd.Series(batches).dropna()})
    years = years or sorted(int(y) for y in ds.years)
    if years and year not in years:
        listed = "、".join(str(y) for y in years)
        raise ConfigError(
            "评价年度不在数据范围内 / year outside the data",
            [
                _problem(
                    "year_range",
                    f"数据中的申报批次年度为 {listed}，没有 {year} 年。",
                    f"The award batch years in the data are {', '.join(map(str, years))};"
                    f" {year} is not among them.",
                    file=str(data),
                    column="year",
                    value=year,
                )
            ],
        )


def _default_targets() -> Path | None:
    p = _REPO / "data" / "targets" / "zgsz_2024.yaml"
    return p if p.is_file() else None


def _now() -> str:
    return datetime.now(UTC).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _say(msg: str, stream=None) -> None:
    print(msg, file=stream or sys.stderr, flush=True)


def _thread_env(jobs: int) -> dict[str, str]:
    per = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    return {
        k: per
        for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
        if k not in os.environ
    }


def _bytecode_env(env: dict[str, str]) -> dict[str, str]:
    """Let the notebook processes cache compiled bytecode when the system forbids it.

    With ``PYTHONDONTWRITEBYTECODE`` set and no compiled files installed, every worker
    and kernel recompiles pandas, matplotlib … from source (seconds per process).
    The build then keeps bytecode in a user cache (``$XDG_CACHE_HOME/jdeval/pycache``,
    default ``~/.cache``), outside the project and the inputs.
    """
    if not env.get("PYTHONDONTWRITEBYTECODE") or env.get("PYTHONPYCACHEPREFIX"):
        return env
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(Path(base) / "jdeval" / "pycache")
    return env


def build(
    year: int,
    *,
    data: Path,
    targets: Path | None = None,
    out: Path,
    jobs: int = 2,
    show_code: bool = False,
    audience: str = "reviewer",
    assessments: Path | None = None,
    scheme: str = "A",
    notebooks: Path | None = None,
    check_data: bool = True,
    timeout: int | None = 1800,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Run the notebooks and write the year's report folder.

    Parameters
    ----------
    year
        Evaluation year (must be in the data).
    data
        Data folder (see :func:`jdeval.data.load`).
    targets
        Targets YAML (default: the bundled ``data/targets/zgsz_2024.yaml``).
    out
        Report folder, e.g. ``reports/2024``.  Replaced only when the whole build
        succeeded; never touched on failure.
    jobs
        Notebooks run at the same time (each in its own process).
    show_code
        Show code cells in the HTML pages (hidden by default for reviewers).
    audience
        ``"reviewer"`` (anonymised, disclosure-controlled; default) or ``"internal"``.
    assessments
        Expert assessments file for qualitative indicators (optional).
    scheme
        Weight scheme ``"A"`` (单位自评) or ``"B"`` (部门/财政评价).
    notebooks
        Folder of notebooks to run instead of the bundled suite (tests, custom suites).
    check_data
        Load and validate the data before starting (fails fast with every data
        problem listed).  The notebooks load the data themselves either way.
    timeout
        Seconds a single cell may run.
    progress
        Called with one line per notebook start / finish (default: print to stderr).

    Returns
    -------
    pathlib.Path
        The report folder ``out``.

    Raises
    ------
    ConfigError, DataError
        Bad parameters or data (nothing is run, ``out`` untouched).
    BuildError
        A notebook or a page failed; partial results are kept in ``<out>_failed``.
    """
    say = progress or _say
    t_start = time.perf_counter()
    data = Path(data).absolute()
    out = Path(out).absolute()
    targets = Path(targets).absolute() if targets else None
    assessments = Path(assessments).absolute() if assessments else None
    _check_parameters(year, data, targets, assessments, scheme, audience, jobs)
    if targets is None and notebooks is None:
        targets = _default_targets()
    _check_out(
        out,
        [
            data,
            *(p for p in (targets, assessments) if p),
            Path(notebooks).absolute() if notebooks else notebooks_dir(),
        ],
    )
    if check_data:
        _check_data(year, data)
    suite = _suite(notebooks)
    missing = [p for _, p in suite if not p.is_file()]
    if missing or not suite:
        raise BuildError(
            "找不到笔记本 / notebooks not found",
            [
                _problem(
                    "notebook_missing",
                    f"缺少笔记本 {p}",
                    f"Notebook missing: {p}",
                    file=str(p),
                )
                for p in missing
            ],
        )
    parameters = {
        "year": year,
        "data_dir": str(data),
        "targets": str(targets) if targets else "",
        "assessments": str(assessments) if assessments else "",
        "scheme": scheme,
        "audience": audience,
        "out_dir": ".",
    }
    build_time = _now()
    inputs = manifest.input_files(data, targets, assessments)
    fp = manifest.fingerprint(inputs)
    version = manifest.package_versions(["jdeval"]).get("jdeval") or "0.0.0+unknown"
    failed_dir = out.with_name(out.name + "_failed")

    with atomic.Staging(out) as stage:
        root = stage.path
        tasks_dir, results_dir, nb_dir = (
            root / "_tasks",
            root / "results",
            root / "notebooks",
        )
        for d in (tasks_dir, results_dir, nb_dir):
            d.mkdir()
        env = {
            **_bytecode_env(dict(os.environ)),
            **_thread_env(jobs),
            "PYTHONHASHSEED": "0",
            "SOURCE_DATE_EPOCH": "0",
            headline.ENV_DIR: str(results_dir),
            share.ENV_CACHE: str(tasks_dir / "shared"),
            ENV_PARENT: str(os.getpid()),
        }

        def make_task(nb: Notebook, src: Path) -> dict[str, Any]:
            declared = set(parameter_names(nbformat.read(str(src), as_version=4)))
            return {
                "input": str(src),
                "output": str(nb_dir / f"{nb.name}.ipynb"),
                "html": str(root / f"{nb.name}.html"),
                "cwd": str(root),
                "env": {headline.ENV_NOTEBOOK: nb.name},
                "parameters": {k: v for k, v in parameters.items() if k in declared},
                "kernel_name": "python3",
                "timeout": timeout,
                "show_code": show_code,
                "page": {
                    "title_zh": nb.title_zh,
                    "title_en": nb.title_en,
                    "parameters": [
                        [k, str(v)]
                        for k, v in parameters.items()
                        if k in declared and k != "out_dir"
                    ],
                    "fingerprint": fp,
                    "build_time": build_time,
                    "version": version,
                    "report_title": f"{year} 年度绩效评价报告",
                },
            }

        results = _run_suite(suite, jobs, tasks_dir, root, env, make_task, say)

        failures = {n: r for n, r in results.items() if r["status"] != "ok"}
        if failures:
            kept = stage.keep(failed_dir)
            raise BuildError(
                f"构建失败，原报告未改动 / build failed, the previous report at {out} "
                f"is untouched. 失败的笔记本保存在 failed notebooks kept in {kept}",
                [_failure_problem(n, r, kept) for n, r in sorted(failures.items())],
            )

        index.write_index(
            root,
            year=year,
            suite=[nb for nb, _ in suite],
            parameters={k: v for k, v in parameters.items() if k != "out_dir"},
            fingerprint=fp,
            build_time=build_time,
            version=version,
        )
        shutil.rmtree(tasks_dir)
        outputs = {
            p.relative_to(root).as_posix(): manifest.sha256_file(p)
            for p in sorted(root.rglob("*"))
            if p.is_file() and p.suffix in (".html", ".docx", ".json")
        }
        man = manifest.make_manifest(
            parameters={k: v for k, v in parameters.items() if k != "out_dir"},
            inputs=inputs,
            notebooks={nb.name: src for nb, src in suite},
            build_time=build_time,
            outputs=outputs,
        )
        man["timings"] = {
            n: {k: round(v, 3) for k, v in r.items() if k.endswith("_s")}
            for n, r in sorted(results.items())
        }
        man["timings"]["total_s"] = round(time.perf_counter() - t_start, 3)
        (root / manifest.MANIFEST_NAME).write_text(
            json.dumps(man, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        _publishable(root)
        stage.commit()
    if failed_dir.exists():
        shutil.rmtree(failed_dir, ignore_errors=True)
    say(
        f"报告已生成 report written: {out / 'index.html'}  ({time.perf_counter() - t_start:.1f} s)"
    )
    return out


class _Slot:
    """One job slot: a long-lived worker process running notebooks one by one."""

    def __init__(self, number: int, tasks_dir: Path, root: Path, env: dict) -> None:
        self.number, self.tasks_dir, self.root, self.env = number, tasks_dir, root, env
        self.log_path = tasks_dir / f"worker{number}.log"
        self.proc: subprocess.Popen | None = None
        self.task: tuple[Notebook, float, Path, int] | None = None

    def _start(self) -> subprocess.Popen:
        with open(self.log_path, "ab") as log:
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jdeval.build.worker",
                    "--serve",
                    str(self.tasks_dir),
                ],
                cwd=str(self.root),
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=log,
                # killed with the build, even before its own code runs
                preexec_fn=die_with_parent if os.name == "posix" else None,
            )

    def run(self, nb: Notebook, task_path: Path) -> None:
        """Hand ``task_path`` to the worker (started or restarted as needed)."""
        for attempt in (1, 2):
            if self.proc is None or self.proc.poll() is not None:
                self.proc = self._start()
            offset = self.log_path.stat().st_size
            try:
                self.proc.stdin.write(f"{task_path}\n".encode())
                self.proc.stdin.flush()
                break
            except (BrokenPipeError, OSError):  # died between tasks: start anew
                self.proc = None
                if attempt == 2:
                    raise
        self.task = (nb, time.perf_counter(), task_path, offset)

    def poll(self) -> dict[str, Any] | None:
        """The running task's result once it is finished (``None`` while running)."""
        nb, t0, task_path, offset = self.task
        res_path = task_path.with_name(task_path.stem + ".result.json")
        if res_path.is_file():
            res = json.loads(res_path.read_text(encoding="utf-8"))
        elif self.proc.poll() is not None:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                log = f.read().decode(errors="replace")
            res = {
                "status": "failed",
                "error": {
                    "cell_index": None,
                    "exec_count": None,
                    "ename": f"worker exit {self.proc.returncode}",
                    "evalue": log.strip()[-1500:],
                    "source": "",
                },
            }
            self.proc = None
        else:
            return None
        res["wall_s"] = time.perf_counter() - t0
        self.task = None
        return res

    def kill(self) -> None:
        """Stop the worker now (its kernel exits when it notices)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        """Let the worker finish (end of its input) or, if it hangs, kill it."""
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _run_suite(
    suite: list[tuple[Notebook, Path]],
    jobs: int,
    tasks_dir: Path,
    root: Path,
    env: dict[str, str],
    make_task: Callable[[Notebook, Path], dict[str, Any]],
    say: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Run every notebook on at most ``jobs`` reused workers; results by name."""
    pending = _start_order(suite)
    slots = [_Slot(i, tasks_dir, root, env) for i in range(min(jobs, len(suite)))]
    results: dict[str, dict[str, Any]] = {}
    total = len(suite)
    try:
        while pending or any(s.task for s in slots):
            for slot in slots:
                if slot.task or not pending:
                    continue
                running = {s.task[0].name: s for s in slots if s.task}
                nxt = _next_ready(pending, running)
                if nxt is None:
                    break
                nb, src = pending.pop(nxt)
                task_path = tasks_dir / f"{nb.name}.json"
                task_path.write_text(
                    json.dumps(make_task(nb, src), ensure_ascii=False),
                    encoding="utf-8",
                )
                slot.run(nb, task_path)
                say(
                    f"{time.strftime('%H:%M:%S')} ▶ 开始 start  {nb.name}  {nb.title_zh}"
                )
            time.sleep(0.1)
            for slot in slots:
                if not slot.task:
                    continue
                name = slot.task[0].name
                res = slot.poll()
                if res is None:
                    continue
                results[name] = res
                mark = "✓ 完成 done " if res["status"] == "ok" else "✗ 失败 FAILED"
                say(
                    f"{time.strftime('%H:%M:%S')} {mark} {name}  "
                    f"{res['wall_s']:.1f} s  [{len(results)}/{total}]"
                )
    except BaseException:
        for slot in slots:
            slot.kill()
        raise
    for slot in slots:
        slot.close()
    return results


def _start_order(suite: list[tuple[Notebook, Path]]) -> list[tuple[Notebook, Path]]:
    """Known notebooks longest first, then the others in suite order."""
    known = [s for s in suite if s[0].name in _LONGEST_FIRST]
    known.sort(key=lambda s: _LONGEST_FIRST.index(s[0].name))
    return known + [s for s in suite if s[0].name not in _LONGEST_FIRST]


def _next_ready(pending: list[tuple[Notebook, Path]], running: dict) -> int | None:
    """Index of the first pending notebook whose ``after`` have started.

    Prerequisites not in this build are ignored.  When nothing is running and no
    notebook is ready (cannot happen with the bundled suite), the first one starts
    anyway: a notebook computes what it does not find.
    """
    waiting = {nb.name for nb, _ in pending}
    for i, (nb, _) in enumerate(pending):
        if not any(a in waiting for a in nb.after):
            return i
    return 0 if not running else None


def _failure_problem(name: str, res: dict[str, Any], kept: Path) -> Problem:
    err = res.get("error") or {}
    cell = err.get("exec_count")
    where = f"单元格 cell In[{cell}]" if cell is not None else "笔记本 notebook"
    src = err.get("source") or ""
    src_txt = f" «{src}»" if src else ""
    return Problem(
        "error",
        "notebook_failed",
        f"{name} 在{where}{src_txt} 出错：{err.get('ename')}: {err.get('evalue')}。"
        f"已执行部分见 {kept / 'notebooks' / (name + '.ipynb')}",
        f"{name} failed at {where}{src_txt}: {err.get('ename')}: {err.get('evalue')}. "
        f"Partly executed notebook: {kept / 'notebooks' / (name + '.ipynb')}",
        file=f"{name}.ipynb",
        column=None if cell is None else f"In[{cell}]",
        value=err.get("ename"),
    )


def _publishable(root: Path) -> None:
    """Make staged files readable as the umask allows and flush them to disk.

    Some writers create files with mode 0600 (temporary-file renames); a report on a
    file share must be readable by its reviewers.  Flushing before the swap means a
    power cut cannot leave an empty file in the published report.
    """
    umask = os.umask(0)
    os.umask(umask)
    for p in root.rglob("*"):
        if p.is_file():
            os.chmod(p, 0o666 & ~umask)
            fd = os.open(p, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
