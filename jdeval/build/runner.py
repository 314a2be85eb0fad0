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
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from jdeval import ENV_PROGRESS_LOG
from jdeval.build import atomic, headline, index, manifest, paths, share
from jdeval.build import cache as bcache
from jdeval.build.datacheck import check_data
from jdeval.build.htmlexport import PageInfo, fill_page
from jdeval.build.paths import display_path
from jdeval.build.worker import ENV_PARENT, ENV_WARM_IMPORTS, die_with_parent
from jdeval.errors import BuildError, ConfigError, Problem, ProblemList

__all__ = ["NOTEBOOKS", "Notebook", "build", "notebooks_dir", "parameter_names"]

#: Where the bundled notebooks live (the repository's ``notebooks/`` folder).
_REPO = paths.PROJECT


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
# starts last: it waits for 02's estimates, so the other notebooks use the slot
# first and 05 holds its data for less of 02's run (wall time the same within
# noise on the default data, measured back to back).
_LONGEST_FIRST = (
    "02_policy_effects",
    "03_indicators",
    "01_data_quality",
    "04_survey",
    "05_annual_report",
)

AUDIENCES = ("reviewer", "internal")
SCHEMES = ("A", "B")


def notebooks_dir() -> Path:
    """The folder holding the bundled notebooks."""
    return _REPO / "notebooks"


def read_notebook(path: Path) -> dict[str, Any]:
    """A notebook file as plain JSON (nbformat and its schema validator are slow to
    import, and the build process only needs the cells' sources and metadata)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def imported_modules(nb: Mapping[str, Any]) -> set[str]:
    """Modules the code cells of ``nb`` import (``import a.b``, ``from a.b import c``)."""
    out: set[str] = set()
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        lines = source.splitlines()
        code = "\n".join(x for x in lines if not x.lstrip().startswith(("%", "!")))
        try:
            tree = ast.parse(code)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                out.add(node.module)
    return out


def _warm_imports(suite: list[tuple[Notebook, Path]]) -> str:
    """What every notebook of the suite imports: imported by a kernel started ahead."""
    common = set.intersection(*(imported_modules(read_notebook(p)) for _, p in suite))
    return " ".join(sorted(common))


def parameter_names(nb: Mapping[str, Any]) -> list[str]:
    """Names assigned in the cell tagged ``parameters`` (empty if none).

    ``nb`` is a notebook as read by :func:`read_notebook` or ``nbformat.read``.
    """
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get(
            "metadata", {}
        ).get("tags", []):
            source = cell.get("source", "")
            if isinstance(source, list):
                source = "".join(source)
            try:
                tree = ast.parse(source)
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
        meta = read_notebook(p).get("metadata", {}).get("jdeval", {})
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
    files: dict[str, Path | None],
    scheme: str,
    audience: str,
    jobs: int,
    as_of: str | None,
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
            f"数据目录不存在：{display_path(data)}",
            f"Data folder does not exist: {display_path(data)}",
            file=display_path(data),
            column="data",
        )
    for label, p in files.items():
        if p is not None and not p.is_file():
            problems.error(
                "path_missing",
                f"{label} 文件不存在：{display_path(p)}",
                f"{label} file does not exist: {display_path(p)}",
                file=display_path(p),
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
    if as_of:
        try:
            date.fromisoformat(as_of)
            ok = len(as_of) == 10
        except ValueError:
            ok = False
        if not ok:
            problems.error(
                "as_of",
                f"评价基准日应写作 YYYY-MM-DD（如 2025-06-30），得到 {as_of!r}。",
                f"The reference date must be YYYY-MM-DD (e.g. 2025-06-30), got "
                f"{as_of!r}.",
                column="as_of",
                value=as_of,
            )
    problems.raise_if_errors(ConfigError, "构建参数有误 / invalid build parameters")


def _check_out(out: Path, inputs: list[Path]) -> None:
    """Refuse an output folder whose replacement would destroy something else.

    ``out`` is replaced as a whole, so it must be new, empty or a previous jdeval
    report (it has ``manifest.json``), and must not hold or sit inside an input.
    Its parent must be writable (a read-only folder or file system is a located
    message, not a traceback).
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
                f"输出目录 {out} 与输入 {display_path(p)} 重叠；输入文件只读不写。",
                f"The output folder {out} overlaps the input {display_path(p)}; "
                "inputs are never written to.",
                file=str(out),
                column="out",
            )
    problems.raise_if_errors(ConfigError, "输出目录不可用 / unusable output folder")
    _check_writable(out)


#: Free space a build needs beside its output folder (a default report is ~10 MB).
MIN_FREE_BYTES = 100 * 1024 * 1024


def _check_writable(out: Path) -> None:
    """The folder that will hold ``out`` exists (or can be made) and is writable."""
    parent = out.absolute().parent
    existing = parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    reason = None
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = parent / f".{out.name}.probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
    if reason is None:
        free = shutil.disk_usage(parent).free
        if free < MIN_FREE_BYTES:
            reason = f"剩余空间 free space {free // (1024 * 1024)} MB < 100 MB"
    if reason is not None:
        raise ConfigError(
            "输出目录不可写 / output folder not writable",
            [
                _problem(
                    "out_not_writable",
                    f"无法写入输出目录 {out}（{reason}）。请用 --out 指定一个可写、空间"
                    "充足的目录。",
                    f"Cannot write the output folder {out} ({reason}). Give a "
                    "writable folder with free space with --out.",
                    file=str(out),
                    column="out",
                )
            ],
        )


def _check_data_cached(
    year: int,
    data: Path,
    inputs: list[dict[str, Any]],
    cache_root: Path | None,
    shared_dir: Path,
) -> bool:
    """:func:`jdeval.build.datacheck.check_data`, skipped when these very files
    passed it before.

    The key is the data files' SHA-256, the year and the jdeval source.  Returns
    ``True`` when the earlier check was reused.
    """
    if cache_root is None:
        check_data(year, data, shared_dir, bcache.code_version())
        return False
    spec = json.dumps(
        {
            "data": sorted(
                (i["name"], i["sha256"]) for i in inputs if i["role"] == "data"
            ),
            "year": year,
            "code": bcache.code_version(),
        },
        sort_keys=True,
    )
    marker = cache_root / "checks" / hashlib.sha256(spec.encode()).hexdigest()
    if marker.is_file():
        os.utime(marker)
        return True
    check_data(year, data, shared_dir, bcache.code_version())
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("ok\n", encoding="utf-8")
    except OSError:
        pass
    return False


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


@dataclass(frozen=True)
class _Inputs:
    """The evaluator's inputs of one build, resolved to absolute paths."""

    data: Path
    targets: Path | None
    assessments: Path | None
    narrative: Path | None
    as_of: str

    def files(self) -> dict[str, Path | None]:
        return {
            "targets": self.targets,
            "assessments": self.assessments,
            "narrative": self.narrative,
        }


def _resolve_inputs(
    year: int,
    data: Path,
    targets: Path | None,
    assessments: Path | None,
    narrative: Path | None,
    as_of: Any,
    bundled_suite: bool,
) -> _Inputs:
    """Absolute paths; documented defaults for the bundled suite.

    Defaults (bundled suite only): targets ``data/targets/zgsz_2024.yaml``; narrative
    ``data/narrative/overrides_<year>.yaml``; assessments
    ``data/assessments/assessments_<year>.yaml`` or, for the bundled synthetic data
    only, the demonstration file ``example_<year>.yaml``
    (:mod:`jdeval.build.paths`).  ``as_of`` empty: the targets file's
    ``policies.eval_date`` rule decides in every notebook.
    """
    data = Path(data).absolute()

    def absolute(p):
        return Path(p).absolute() if p else None

    targets, assessments, narrative = map(absolute, (targets, assessments, narrative))
    if bundled_suite:
        targets = targets or paths.default_targets()
        narrative = narrative or paths.default_narrative(year)
        assessments = assessments or paths.default_assessments(year, data)
    as_of = as_of.isoformat() if isinstance(as_of, date) else (as_of or "")
    return _Inputs(data, targets, assessments, narrative, str(as_of))


def _targets_as_of(targets: Path | None, cache_root: Path | None) -> str:
    """The targets file's ``policies.eval_date`` (``""`` when null or no file).

    Passed to every notebook, so that notebooks which do not read the targets file
    (data quality, effects, survey) use the same reference date as the scoring.
    When it is null the date follows the targets file's documented data cut-off
    rule, applied by the layers themselves.  Remembered in the build cache by the
    file's SHA-256 and the jdeval source (reading it imports the indicator layer).
    """
    if targets is None or not targets.is_file():
        return ""
    marker = None
    if cache_root is not None:
        spec = f"{manifest.sha256_file(targets)}:{bcache.code_version()}"
        name = "as_of-" + hashlib.sha256(spec.encode()).hexdigest()
        marker = cache_root / "checks" / name
        if marker.is_file():
            return marker.read_text(encoding="utf-8").strip()
    from jdeval.indicators import load_targets

    value = load_targets(targets).policies.eval_date
    text = value.isoformat() if value else ""
    if marker is not None:
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(text + "\n", encoding="utf-8")
        except OSError:
            pass
    return text


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
    narrative: Path | None = None,
    as_of: str | date | None = None,
    notebooks: Path | None = None,
    check_data: bool = True,
    timeout: int | None = 1800,
    progress: Callable[[str], None] | None = None,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> Path:
    """Run the notebooks and write the year's report folder.

    Parameters
    ----------
    year
        Evaluation year (must be in the data).
    data
        Data folder (see :func:`jdeval.data.load`); read, never written.
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
        Expert assessments file for qualitative indicators (default, bundled suite:
        ``data/assessments/assessments_<year>.yaml`` if present; the demonstration
        ``example_<year>.yaml`` for the bundled synthetic data only).
    scheme
        Weight scheme ``"A"`` (单位自评) or ``"B"`` (部门/财政评价).
    narrative
        Evaluator's narrative and cover file (default, bundled suite:
        ``data/narrative/overrides_<year>.yaml`` if present).
    as_of
        评价基准日 ``YYYY-MM-DD``: no figure uses data dated after it.  Default: the
        targets file's ``policies.eval_date`` (its documented rule when null).
    notebooks
        Folder of notebooks to run instead of the bundled suite (tests, custom suites).
    check_data
        Load and validate the data before starting (fails fast with every data
        problem listed).  The notebooks load the data themselves either way.  Only
        checked data are read by the disclosure gate that audits a reviewer
        edition before it is published.
    timeout
        Seconds a single cell may run.
    progress
        Called with each line of the build log (default: print to stderr).
    cache
        Reuse unchanged notebooks, estimates and data checks from the build cache
        (:mod:`jdeval.build.cache`); ``False`` (``--no-cache``) runs everything.
    cache_dir
        Cache folder (default :func:`jdeval.build.bcache.default_cache_dir`).

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
    out = Path(out).absolute()
    inp = _resolve_inputs(
        year, data, targets, assessments, narrative, as_of, notebooks is None
    )
    _check_parameters(
        year, inp.data, inp.files(), scheme, audience, jobs, inp.as_of or None
    )
    nb_folder = Path(notebooks).absolute() if notebooks else notebooks_dir()
    _check_out(out, [inp.data, *(p for p in inp.files().values() if p), nb_folder])
    cache_root = Path(cache_dir or bcache.default_cache_dir()) if cache else None
    if not inp.as_of and notebooks is None:
        inp = replace(inp, as_of=_targets_as_of(inp.targets, cache_root))
    suite = _suite(notebooks)
    _check_suite(suite)
    inputs = manifest.input_files(
        inp.data, inp.targets, inp.assessments, inp.narrative, report_dir=out
    )
    parameters, shown = _parameters(year, inp, scheme, audience)
    _say_inputs(say, shown)
    build_time = _now()
    man = manifest.make_manifest(
        parameters=shown,
        inputs=inputs,
        notebooks={nb.name: src for nb, src in suite},
        build_time=build_time,
        code_version=bcache.code_version(),
        report_dir=out,
    )
    digest = manifest.core_digest(man)
    with atomic.Staging(out) as stage:
        shared_dir = cache_root / "shared" if cache_root else stage.path / "_shared"
        reused_check = False
        if check_data:
            reused_check = _check_data_cached(
                year, inp.data, inputs, cache_root, shared_dir
            )
            if reused_check:
                say(
                    "数据检查：输入未变，复用上次结果 data check reused (inputs unchanged)"
                )
        ctx = _Context(
            year=year,
            parameters=parameters,
            shown=shown,
            inputs=inputs,
            man=man,
            digest=digest,
            show_code=show_code,
            timeout=timeout,
            cache_root=cache_root,
            shared_dir=shared_dir,
            build_date=build_time[:10],
            synthetic=_is_synthetic(inp.data),
            data_checked=check_data,
        )
        _run_staged(stage, suite, jobs, ctx, reused_check, t_start, say)
        stage.commit()
    shutil.rmtree(_failed_dir(out), ignore_errors=True)  # an earlier failure's
    if cache_root is not None:
        bcache.prune(cache_root)
    say(
        f"报告已生成 report written: {out / 'index.html'}  "
        f"({time.perf_counter() - t_start:.1f} s)"
    )
    return out


def _run_staged(
    stage: atomic.Staging,
    suite: list[tuple[Notebook, Path]],
    jobs: int,
    ctx: _Context,
    reused_check: bool,
    t_start: float,
    say: Callable[[str], None],
) -> None:
    """Run the suite in the staged folder and finish it; keep it when it fails."""
    out = stage.out
    failed_dir = _failed_dir(out)
    with ThreadPoolExecutor(1) as early:
        if _gated(ctx):
            early.submit(_import_gate, ctx.parameters.get("targets") or None)
        results = _run_in(stage.path, suite, jobs, ctx, say)
        failures = {n: r for n, r in results.items() if r["status"] != "ok"}
        if failures:
            _drop_shared(ctx, stage.path)
            kept = stage.keep(failed_dir)
            raise BuildError(
                f"构建失败，原报告未改动 / build failed, the previous report at "
                f"{out} is untouched. 失败的笔记本保存在 failed notebooks kept in "
                f"{kept}",
                [_failure_problem(n, r, kept) for n, r in sorted(failures.items())],
            )
        try:
            _finish(stage.path, suite, results, ctx, reused_check, t_start, say)
        except BuildError as e:  # the gate refused it: keep it to look at
            _drop_shared(ctx, stage.path)
            kept = stage.keep(failed_dir)
            raise BuildError(
                f"{e.message}。未发布的版本保存在 the unpublished edition is kept "
                f"in {kept}",
                e.problems,
            ) from None


def _failed_dir(out: Path) -> Path:
    """Where a failed build's staged folder is kept for the user to look at."""
    return out.with_name(out.name + "_failed")


def _parameters(
    year: int, inp: _Inputs, scheme: str, audience: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The notebooks' parameters, and as the pages and manifest show them."""
    parameters = {
        "year": year,
        "data_dir": str(inp.data),
        "as_of": inp.as_of,
        "targets": str(inp.targets) if inp.targets else "",
        "assessments": str(inp.assessments) if inp.assessments else "",
        "narrative": str(inp.narrative) if inp.narrative else "",
        "scheme": scheme,
        "audience": audience,
        "out_dir": ".",
    }
    shown = {
        k: (display_path(v) if k in _PATH_PARAMS else v) for k, v in parameters.items()
    }
    shown.pop("out_dir")
    return parameters, shown


_PATH_PARAMS = ("data_dir", "targets", "assessments", "narrative")


def _on_page(shown: Mapping[str, Any]) -> dict[str, str]:
    """Parameters as the page header states them (an empty date says whose rule)."""
    out = {k: str(v) for k, v in shown.items()}
    if not out.get("as_of"):
        out["as_of"] = "按绩效目标文件规则"
    return out


def _is_synthetic(data: Path) -> bool:
    """Synthetic data carry ``truth.json`` (written only by ``jdeval synth``)."""
    return (Path(data) / "truth.json").is_file()


def _say_inputs(say: Callable[[str], None], shown: Mapping[str, Any]) -> None:
    """Name the evaluator's inputs in the build log."""
    none = "（无 none）"
    say(
        f"输入 inputs: 数据 data={shown['data_dir']}  目标 targets="
        f"{shown['targets'] or none}  评估 assessments={shown['assessments'] or none}"
        f"  叙述 narrative={shown['narrative'] or none}  评价基准日 as_of="
        f"{shown['as_of'] or '按目标文件 per targets file'}"
    )


def _check_suite(suite: list[tuple[Notebook, Path]]) -> None:
    missing = [p for _, p in suite if not p.is_file()]
    if missing or not suite:
        raise BuildError(
            "找不到笔记本 / notebooks not found",
            [
                _problem(
                    "notebook_missing",
                    f"缺少笔记本 {display_path(p)}",
                    f"Notebook missing: {display_path(p)}",
                    file=display_path(p),
                )
                for p in missing
            ],
        )


@dataclass
class _Context:
    """What every notebook task of one build shares."""

    year: int
    parameters: dict[str, Any]
    shown: dict[str, Any]
    inputs: list[dict[str, Any]]
    man: dict[str, Any]
    digest: str
    show_code: bool
    timeout: int | None
    cache_root: Path | None
    #: results shared by the notebooks (:mod:`jdeval.build.share`)
    shared_dir: Path
    build_date: str
    synthetic: bool
    #: the data passed the data check, so the disclosure gate can read them
    data_checked: bool = True

    def input_hashes(self, declared: set[str]) -> dict[str, str]:
        """SHA-256 of the content behind each declared path parameter."""
        roles = {"data_dir": "data", "targets": "targets"}
        roles |= {"assessments": "assessments", "narrative": "narrative"}
        out = {}
        for param, role in roles.items():
            if param in declared:
                rows = sorted(
                    f"{i['name']}:{i['sha256']}"
                    for i in self.inputs
                    if i["role"] == role
                )
                out[param] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return out


def _run_in(
    root: Path,
    suite: list[tuple[Notebook, Path]],
    jobs: int,
    ctx: _Context,
    say: Callable[[str], None],
) -> dict[str, dict[str, Any]]:
    """Run (or take from the cache) every notebook of the suite inside ``root``."""
    tasks_dir, results_dir, nb_dir = (
        root / "_tasks",
        root / "results",
        root / "notebooks",
    )
    for d in (tasks_dir, results_dir, nb_dir, tasks_dir / "work"):
        d.mkdir()
    env = {
        **_bytecode_env(dict(os.environ)),
        **_thread_env(jobs),
        "PYTHONHASHSEED": "0",
        "SOURCE_DATE_EPOCH": "0",
        headline.ENV_DIR: str(results_dir),
        share.ENV_CACHE: str(ctx.shared_dir),
        bcache.ENV_CODE_VERSION: bcache.code_version(),
        ENV_PARENT: str(os.getpid()),
        ENV_WARM_IMPORTS: _warm_imports(suite),
    }
    nb_cache = bcache.NotebookCache(ctx.cache_root) if ctx.cache_root else None
    packages = manifest.package_versions()

    def make_task(nb: Notebook, src: Path) -> dict[str, Any]:
        declared = set(parameter_names(read_notebook(src)))
        params = {k: v for k, v in ctx.parameters.items() if k in declared}
        work = tasks_dir / "work" / nb.name
        work.mkdir(exist_ok=True)
        task: dict[str, Any] = {
            "input": str(src),
            "output": str(nb_dir / f"{nb.name}.ipynb"),
            "html": str(root / f"{nb.name}.html"),
            "cwd": str(work),
            "env": {
                headline.ENV_NOTEBOOK: nb.name,
                ENV_PROGRESS_LOG: str(tasks_dir / f"{nb.name}.progress.log"),
                share.ENV_SHARED_LOG: str(tasks_dir / f"{nb.name}.shared.jsonl"),
            },
            "parameters": params,
            "shown_parameters": {k: v for k, v in ctx.shown.items() if k in declared},
            "shown_input": display_path(src),
            "shown_output": f"notebooks/{nb.name}.ipynb",
            "page_template": str(tasks_dir / f"{nb.name}.page.html"),
            "kernel_name": "python3",
            "timeout": ctx.timeout,
            "show_code": ctx.show_code,
            "page": {
                "title_zh": nb.title_zh,
                "title_en": nb.title_en,
                "parameters": [
                    [k, v] for k, v in _on_page(ctx.shown).items() if k in declared
                ],
                "fingerprint": ctx.man["fingerprint"],
                "build_time": ctx.man["build_time"],
                "version": ctx.man["jdeval_version"],
                "report_title": f"{ctx.year} 年度绩效评价报告",
                "manifest_digest": ctx.digest,
            },
        }
        if nb_cache is not None:
            shown_page = {k: v for k, v in task["page"].items() if k in _PAGE_KEYED}
            key = bcache.notebook_key(
                manifest.sha256_file(src),
                {**params, "show_code": ctx.show_code, "page": repr(shown_page)},
                input_hashes=ctx.input_hashes(declared),
                packages=packages,
                build_date=ctx.build_date,
            )
            task["cache_key"] = key
            entry = nb_cache.get(key)
            if entry is not None:
                t0 = time.perf_counter()
                _restore(entry, task, results_dir / f"{nb.name}.json", work)
                task["result"] = {
                    "status": "ok",
                    "reused": True,
                    "wall_s": time.perf_counter() - t0,
                }
        return task

    def stored(nb: Notebook, task: dict[str, Any], res: dict[str, Any]) -> None:
        """After a notebook finished: publish its files, keep a fresh run."""
        work = Path(task["cwd"])
        if nb_cache is not None and res["status"] == "ok" and not task.get("reused"):
            nb_cache.put(
                task["cache_key"],
                notebook=Path(task["output"]),
                page=Path(task["page_template"]),
                headline=results_dir / f"{nb.name}.json",
                files=sorted(p for p in work.iterdir() if p.is_file()),
                result={k: v for k, v in res.items() if k.endswith("_s")},
            )
        for p in sorted(work.iterdir()):
            shutil.move(str(p), str(root / p.name))

    return _run_suite(suite, jobs, tasks_dir, root, env, make_task, say, stored)


#: Page facts that are part of a notebook's cache key (the others are filled in).
_PAGE_KEYED = ("title_zh", "title_en", "parameters", "version", "report_title")


def _restore(
    entry: Path, task: dict[str, Any], headline_path: Path, work: Path
) -> None:
    """Fill a task's outputs from a cache entry: no worker, no kernel, no nbconvert.

    The page is the cached page template with this build's facts filled in.
    """
    page = task["page"]
    info = PageInfo(
        title_zh=page["title_zh"],
        title_en=page["title_en"],
        parameters=tuple(tuple(p) for p in page["parameters"]),
        fingerprint=page["fingerprint"],
        build_time=page["build_time"],
        version=page["version"],
        report_title=page["report_title"],
        manifest_digest=page["manifest_digest"],
    )
    template = (entry / "page.html").read_text(encoding="utf-8")
    Path(task["html"]).write_text(fill_page(template, info), encoding="utf-8")
    shutil.copy2(entry / "notebook.ipynb", task["output"])
    if (entry / "headline.json").is_file():
        shutil.copy2(entry / "headline.json", headline_path)
    files = entry / "files"
    if files.is_dir():
        for f in sorted(files.iterdir()):
            shutil.copy2(f, work / f.name)
    task["reused"] = True


def _finish(
    root: Path,
    suite: list[tuple[Notebook, Path]],
    results: dict[str, dict[str, Any]],
    ctx: _Context,
    reused_check: bool,
    t_start: float,
    say: Callable[[str], None],
) -> None:
    """Index page, manifest and SHA256SUMS of a successful build."""
    tasks_dir = root / "_tasks"
    shared_calls = _shared_calls(tasks_dir, [nb.name for nb, _ in suite])
    index.write_index(
        root,
        year=ctx.year,
        suite=[nb for nb, _ in suite],
        parameters=_on_page(ctx.shown),
        fingerprint=ctx.man["fingerprint"],
        build_time=ctx.man["build_time"],
        version=ctx.man["jdeval_version"],
        manifest_digest=ctx.digest,
        synthetic=ctx.synthetic,
    )
    published = {nb.name: headline.load(root / "results", nb.name) for nb, _ in suite}
    for name, reason in index.unavailable_sections(published):
        say(f"未提供的可选输入 not available: {name} — {reason}")
    shutil.rmtree(tasks_dir)
    _disclosure_gate(root, ctx, say)
    _drop_shared(ctx, root)
    man = dict(ctx.man)
    man["digest"] = ctx.digest
    man["outputs"] = {
        p.relative_to(root).as_posix(): manifest.sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }
    man["timings"] = {
        n: {k: round(v, 3) for k, v in r.items() if k.endswith("_s")}
        for n, r in sorted(results.items())
    }
    man["timings"]["total_s"] = round(time.perf_counter() - t_start, 3)
    man["reuse"] = {
        "cache": ctx.cache_root is not None,
        "data_check": reused_check,
        "notebooks": {n: bool(r.get("reused")) for n, r in sorted(results.items())},
        "shared": shared_calls,
    }
    (root / manifest.MANIFEST_NAME).write_text(
        json.dumps(man, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    manifest.write_sums(root)
    _publishable(root)


def _drop_shared(ctx: _Context, root: Path) -> None:
    """Delete the shared results when they live in the staged folder (no build
    cache): firm-level data and estimates, never part of a report or a kept
    failed build."""
    if ctx.shared_dir.parent == root:
        shutil.rmtree(ctx.shared_dir, ignore_errors=True)


def _gated(ctx: _Context) -> bool:
    """Whether the edition passes the disclosure gate (checked data, reviewers)."""
    return ctx.data_checked and ctx.parameters.get("audience") != "internal"


def _import_gate(targets: str | None) -> None:
    """Import the audit and read the targets (~1 s) while the notebooks run.

    The data are read only when the gate runs: held during the build they would
    add ~0.3 GB to its peak at 200,000 firms.
    """
    from jdeval.indicators import load_targets
    from jdeval.report import gate  # noqa: F401

    load_targets(targets)  # kept for the gate (read once per process)


def _disclosure_gate(root: Path, ctx: _Context, say: Callable[[str], None]) -> None:
    """Audit every published file of a reviewer edition jointly; fail on a leak.

    The same rule as the tables (``policies.disclosure`` of the targets file) is
    checked over all pages, the Word file, the workbooks and the CSVs together
    (:func:`jdeval.report.gate.audit_folder`), so a figure suppressed in one table
    cannot be recovered from another output of the edition.
    """
    if not _gated(ctx):
        return
    from jdeval.report import gate

    ds = share.load_data(ctx.parameters["data_dir"], cache=ctx.shared_dir)
    if "awards" not in ds.tables:
        return
    result = gate.audit_folder(
        root,
        ds,
        year=ctx.year,
        targets=ctx.parameters.get("targets") or None,
        memo=share.memo_in(ctx.shared_dir, code=bcache.code_version()),
    )
    if result.ok:
        say(f"披露控制 disclosure: {result.render_zh()}")
        return
    raise BuildError(
        "披露控制联合审计未通过，报告未发布 / the joint disclosure audit failed; "
        "nothing was published",
        [
            Problem(
                severity="error",
                code="disclosure_leak",
                message_zh=leak.zh(),
                message_en=f"a confidential figure can be recovered: {leak.label}",
            )
            for leak in result.leaks
        ],
    )


def _shared_calls(tasks_dir: Path, names: list[str]) -> list[dict[str, Any]]:
    calls = []
    for name in names:
        log = tasks_dir / f"{name}.shared.jsonl"
        if log.is_file():
            for line in log.read_text(encoding="utf-8").splitlines():
                try:
                    calls.append({"notebook": name, **json.loads(line)})
                except ValueError:
                    continue
    return calls


class _Slot:
    """One job slot: a long-lived worker process running notebooks one by one."""

    def __init__(self, number: int, tasks_dir: Path, root: Path, env: dict) -> None:
        self.number, self.tasks_dir, self.root, self.env = number, tasks_dir, root, env
        self.log_path = tasks_dir / f"worker{number}.log"
        self.proc: subprocess.Popen | None = None
        self.task: tuple[Notebook, float, Path, int] | None = None
        self.used = False

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

    def start(self) -> None:
        """Start the worker now, before it has a task."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = self._start()

    def run(self, nb: Notebook, task_path: Path) -> None:
        """Hand ``task_path`` to the worker (started or restarted as needed)."""
        self.used = True
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
        if not self.used:  # started ahead, never needed: nothing to finish
            self.proc.kill()
            self.proc.wait()
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
    finished: Callable[[Notebook, dict[str, Any], dict[str, Any]], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run every notebook on at most ``jobs`` reused workers; results by name.

    ``finished(notebook, task, result)`` is called as each notebook ends.  While a
    notebook runs, the progress messages of its kernel (``JDEVAL_PROGRESS_LOG``) are
    passed on to ``say``.
    """
    results: dict[str, dict[str, Any]] = {}
    tasks: dict[str, dict[str, Any]] = {}
    tails: dict[str, _Tail] = {}
    total = len(suite)
    pending = []
    # one worker starts (and imports papermill) while the cache is looked up: an
    # edit rebuilds one notebook, and waits for nothing else
    first = _Slot(0, tasks_dir, root, env)
    first.start()
    slots = [first]
    try:
        for nb, src in _start_order(suite):
            task = tasks[nb.name] = make_task(nb, src)
            if "result" not in task:
                pending.append((nb, src))
                continue
            results[nb.name] = task["result"]
            if finished is not None:
                finished(nb, task, task["result"])
            say(
                f"{time.strftime('%H:%M:%S')} ♻ 复用 reused  {nb.name}  {nb.title_zh}  "
                f"[{len(results)}/{total}]"
            )
        n_slots = max(1, min(jobs, len(pending)))  # no more than notebooks to run
        slots = [first, *(_Slot(i, tasks_dir, root, env) for i in range(1, n_slots))]
        while pending or any(s.task for s in slots):
            for slot in slots:
                if slot.task or not pending:
                    continue
                running = {s.task[0].name: s for s in slots if s.task}
                nxt = _next_ready(pending, running)
                if nxt is None:
                    break
                nb, src = pending.pop(nxt)
                task = tasks[nb.name]
                task["warm_next"] = bool(pending)  # start the next kernel ahead
                task_path = tasks_dir / f"{nb.name}.json"
                task_path.write_text(
                    json.dumps(task, ensure_ascii=False), encoding="utf-8"
                )
                slot.run(nb, task_path)
                log = (task.get("env") or {}).get(ENV_PROGRESS_LOG)
                if log:
                    tails[nb.name] = _Tail(Path(log))
                say(
                    f"{time.strftime('%H:%M:%S')} ▶ 开始 start  {nb.name}  {nb.title_zh}"
                )
            time.sleep(0.1)
            for name, tail in tails.items():
                for line in tail.read():
                    say(f"           · {name}  {line}")
            for slot in slots:
                if not slot.task:
                    continue
                nb = slot.task[0]
                res = slot.poll()
                if res is None:
                    continue
                res["reused"] = bool(tasks[nb.name].get("reused"))
                results[nb.name] = res
                if finished is not None:
                    finished(nb, tasks[nb.name], res)
                mark = "✓ 完成 done " if res["status"] == "ok" else "✗ 失败 FAILED"
                say(
                    f"{time.strftime('%H:%M:%S')} {mark} {nb.name}  "
                    f"{res['wall_s']:.1f} s  [{len(results)}/{total}]"
                )
    except BaseException:
        for slot in slots:
            slot.kill()
        raise
    for slot in slots:
        slot.close()
    for name, tail in tails.items():
        for line in tail.read():
            say(f"           · {name}  {line}")
    return results


class _Tail:
    """New complete lines of a growing text file."""

    def __init__(self, path: Path) -> None:
        self.path, self.offset = path, 0

    def read(self) -> list[str]:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        text = chunk[:end].decode("utf-8", errors="replace")
        return [line for line in text.splitlines() if line.strip()]


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
