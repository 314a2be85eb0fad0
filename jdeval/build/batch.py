"""Many reports in one command: ``jdeval build --year 2023 2024 2025`` or ``--portfolio``.

Each report is one :func:`jdeval.build.build` in its own process
(:class:`concurrent.futures.ProcessPoolExecutor`, or a Dask distributed cluster with
``--scheduler ADDRESS``).  Builds share what they have in common through the build
cache (:mod:`jdeval.build.cache`): the data check, unchanged notebooks and the
estimates of :func:`jdeval.build.shared` — a year's effects are estimated once for
the reviewer and the internal edition.  A failed build is reported and the others go
on; ``index.html`` in the batch folder links every report with its headline result.

Portfolio file (YAML)::

    defaults:            # optional, applies to every build
      data: data/synthetic
      targets: data/targets/zgsz_2024.yaml
    builds:
      - {year: 2023}
      - {year: 2024, scheme: B, audience: internal, name: 2024-B-internal}
      - {year: 2025, data: data/real_2025, narrative: data/narrative/overrides_2025.yaml}

Keys of a build: ``year`` (required), ``data``, ``targets``, ``scheme``,
``audience``, ``assessments``, ``narrative``, ``as_of``, ``name`` (sub-folder of the
batch folder; default from year, scheme and audience) and ``out`` (explicit folder).
Relative paths are relative to the portfolio file.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from pydantic import BaseModel, ConfigDict, ValidationError

from jdeval.build import headline
from jdeval.build.htmlexport import TEMPLATE_DIR
from jdeval.build.paths import display_path
from jdeval.errors import ConfigError, JdevalError, Problem

__all__ = ["BuildSpec", "BuildOutcome", "load_portfolio", "run_batch"]


@dataclass(frozen=True)
class BuildSpec:
    """One report of a batch (the arguments of :func:`jdeval.build.build`)."""

    year: int
    out: Path
    data: Path
    name: str
    targets: Path | None = None
    scheme: str = "A"
    audience: str = "reviewer"
    assessments: Path | None = None
    narrative: Path | None = None
    as_of: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class BuildOutcome:
    """What happened to one build of a batch."""

    name: str
    year: int
    out: str
    ok: bool
    seconds: float
    message: str = ""
    headline: dict[str, Any] = field(default_factory=dict)
    codes: list[str] = field(default_factory=list)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int | None = None
    data: str | None = None
    targets: str | None = None
    scheme: str | None = None
    audience: str | None = None
    assessments: str | None = None
    narrative: str | None = None
    as_of: date | str | None = None
    name: str | None = None
    out: str | None = None


class _Portfolio(BaseModel):
    model_config = ConfigDict(extra="forbid")
    defaults: _Entry = _Entry()
    builds: list[_Entry]


def _name(year: int, scheme: str, audience: str, multi: bool) -> str:
    if not multi:
        return str(year)
    return f"{year}-{scheme}-{audience}"


def load_portfolio(path: Path, *, out_root: Path, data: Path) -> list[BuildSpec]:
    """Read a portfolio file into build specs (all problems at once, located).

    Parameters
    ----------
    path
        Portfolio YAML.
    out_root
        Batch folder; each build writes ``<out_root>/<name>`` unless it gives ``out``.
    data
        Data folder of builds that name none (and no default).
    """
    from jdeval.indicators.yamlsource import load_yaml

    path = Path(path)
    raw, lines = load_yaml(path, what_zh="组合构建清单", what_en="portfolio")
    try:
        model = _Portfolio.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            where = ".".join(str(x) for x in loc)
            problems.append(
                Problem(
                    "error",
                    "portfolio",
                    f"组合构建清单 {where}：{err['msg']}",
                    f"portfolio {where}: {err['msg']}",
                    file=display_path(path),
                    row=lines.line(*loc),
                    column=where,
                )
            )
        raise ConfigError(
            "组合构建清单有误 / the portfolio file has errors", problems
        ) from None
    base = path.parent.absolute()

    def rel(p: str | None) -> Path | None:
        return None if not p else (base / p if not Path(p).is_absolute() else Path(p))

    entries = []
    problems = []
    for i, e in enumerate(model.builds):
        merged = {
            k: getattr(e, k)
            if getattr(e, k) is not None
            else getattr(model.defaults, k)
            for k in _Entry.model_fields
        }
        if merged["year"] is None:
            problems.append(
                Problem(
                    "error",
                    "portfolio_year",
                    f"第 {i + 1} 项构建缺少 year。",
                    f"build {i + 1} has no year.",
                    file=display_path(path),
                    row=lines.line("builds", i),
                    column=f"builds.{i}.year",
                )
            )
            continue
        entries.append(merged)
    if problems:
        raise ConfigError("组合构建清单有误 / the portfolio file has errors", problems)
    combos = {(m["year"], m["scheme"], m["audience"]) for m in entries}
    multi = len(combos) < len(entries) or any(
        m["scheme"] not in (None, "A") or m["audience"] not in (None, "reviewer")
        for m in entries
    )
    specs = []
    for m in entries:
        scheme, audience = m["scheme"] or "A", m["audience"] or "reviewer"
        name = m["name"] or _name(m["year"], scheme, audience, multi)
        as_of = m["as_of"]
        specs.append(
            BuildSpec(
                year=int(m["year"]),
                out=rel(m["out"]) or Path(out_root) / name,
                data=rel(m["data"]) or Path(data),
                name=name,
                targets=rel(m["targets"]),
                scheme=scheme,
                audience=audience,
                assessments=rel(m["assessments"]),
                narrative=rel(m["narrative"]),
                as_of=as_of.isoformat() if isinstance(as_of, date) else as_of,
            )
        )
    _check_unique([s.out for s in specs], path)
    return specs


def _check_unique(outs: Sequence[Path], path: Path) -> None:
    seen: dict[Path, int] = {}
    problems = []
    for i, o in enumerate(outs):
        key = Path(o).absolute()
        if key in seen:
            problems.append(
                Problem(
                    "error",
                    "portfolio_out",
                    f"第 {seen[key] + 1} 项与第 {i + 1} 项写入同一目录 {o}；请设置 name 或 out。",
                    f"builds {seen[key] + 1} and {i + 1} write the same folder {o}; "
                    "set name or out.",
                    file=display_path(path),
                )
            )
        seen[key] = i
    if problems:
        raise ConfigError("组合构建清单有误 / the portfolio file has errors", problems)


def _run_one(spec: BuildSpec) -> BuildOutcome:
    """Build one report (in a worker process); never raises for a failed build."""
    from jdeval.build.runner import build

    t0 = time.perf_counter()
    log: list[str] = []
    try:
        build(
            spec.year,
            data=spec.data,
            out=spec.out,
            targets=spec.targets,
            scheme=spec.scheme,
            audience=spec.audience,
            assessments=spec.assessments,
            narrative=spec.narrative,
            as_of=spec.as_of,
            progress=log.append,
            **dict(spec.options),
        )
    except JdevalError as exc:
        return BuildOutcome(
            spec.name,
            spec.year,
            str(spec.out),
            False,
            time.perf_counter() - t0,
            message=exc.render("text"),
            codes=sorted({p.code for p in exc.problems}) or [type(exc).__name__],
        )
    except Exception as exc:  # a bug in one build must not stop the others
        return BuildOutcome(
            spec.name,
            spec.year,
            str(spec.out),
            False,
            time.perf_counter() - t0,
            message=f"内部错误 internal error: {type(exc).__name__}: {exc}",
            codes=[type(exc).__name__],
        )
    return BuildOutcome(
        spec.name,
        spec.year,
        str(spec.out),
        True,
        time.perf_counter() - t0,
        headline=_headline(Path(spec.out)),
    )


def _headline(out: Path) -> dict[str, Any]:
    """Total, grade and title a built report published (for the batch index)."""
    found: dict[str, Any] = {}
    for p in sorted((out / "results").glob("*.json")):
        h = headline.load(p.parent, p.stem)
        for key in ("total", "grade", "scheme", "title"):
            if key not in found and h.get(key) is not None:
                found[key] = h[key]
    return found


def run_batch(
    specs: Sequence[BuildSpec],
    *,
    out_root: Path,
    parallel: int = 1,
    scheduler: str | None = None,
    say: Callable[[str], None] | None = None,
) -> list[BuildOutcome]:
    """Run every build, in parallel processes or on a Dask cluster.

    Parameters
    ----------
    specs
        The builds.
    out_root
        Batch folder receiving ``index.html`` (and, by default, the reports).
    parallel
        Builds run at the same time (local processes).
    scheduler
        Address of a Dask distributed scheduler (``tcp://host:8786``); needs the
        ``dask`` extra.
    say
        Log line callback (default: stderr).

    Returns
    -------
    list of BuildOutcome
        In the order of ``specs``.
    """
    say = say or (lambda s: print(s, file=__import__("sys").stderr, flush=True))
    say(
        f"批量构建 batch: {len(specs)} 份报告 reports"
        + (
            f"，提交到 on Dask {scheduler}"
            if scheduler
            else f"，并行 parallel {parallel}"
        )
    )
    if scheduler:
        outcomes = _on_dask(specs, scheduler, say)
    else:
        outcomes = _on_processes(specs, parallel, say)
    write_batch_index(Path(out_root), outcomes)
    return outcomes


def _report(say: Callable[[str], None], o: BuildOutcome) -> None:
    if o.ok:
        h = o.headline
        score = f"  {h['total']:.2f}分 {h.get('grade', '')}" if "total" in h else ""
        say(f"✓ 完成 done   {o.name}  {o.seconds:.1f} s{score}")
    else:
        first = o.message.splitlines()[0] if o.message else ""
        say(f"✗ 失败 FAILED {o.name}  {first}")


def _on_processes(
    specs: Sequence[BuildSpec], parallel: int, say: Callable[[str], None]
) -> list[BuildOutcome]:
    results: dict[int, BuildOutcome] = {}
    workers = max(1, min(parallel, len(specs)))
    # spawned, not forked: the caller may have threads (a Jupyter kernel, the
    # build's own), and a forked child can inherit a lock some thread held
    spawn = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=spawn) as pool:
        futures = {pool.submit(_run_one, s): i for i, s in enumerate(specs)}
        for fut in cf.as_completed(futures):
            i = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker process died
                outcome = _lost(specs[i], exc)
            results[i] = outcome
            _report(say, outcome)
    return [results[i] for i in range(len(specs))]


def _lost(spec: BuildSpec, exc: BaseException) -> BuildOutcome:
    """The outcome of a build whose process or task was lost (not a build error)."""
    return BuildOutcome(
        spec.name, spec.year, str(spec.out), False, 0.0, f"{type(exc).__name__}: {exc}"
    )


def _on_dask(
    specs: Sequence[BuildSpec], scheduler: str, say: Callable[[str], None]
) -> list[BuildOutcome]:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise ConfigError(
            "未安装 Dask / Dask is not installed",
            [
                Problem(
                    "error",
                    "dask_missing",
                    "--scheduler 需要可选依赖 dask：pip install 'jdeval[dask]'。",
                    "--scheduler needs the optional extra: pip install 'jdeval[dask]'.",
                    column="scheduler",
                )
            ],
        ) from None
    try:
        client = Client(scheduler, timeout="20s")
    except OSError as exc:
        raise ConfigError(
            "无法连接 Dask 调度器 / cannot reach the Dask scheduler",
            [
                Problem(
                    "error",
                    "dask_unreachable",
                    f"无法连接 {scheduler}：{exc}",
                    f"Cannot reach {scheduler}: {exc}",
                    column="scheduler",
                    value=scheduler,
                )
            ],
        ) from None
    results: dict[int, BuildOutcome] = {}
    try:
        futures = [client.submit(_run_one, s, pure=False) for s in specs]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker or the cluster lost the task
                outcome = _lost(specs[i], exc)
            results[i] = outcome
            _report(say, outcome)
    finally:
        client.close()
    return [results[i] for i in range(len(specs))]


def write_batch_index(out_root: Path, outcomes: Sequence[BuildOutcome]) -> Path:
    """``index.html`` of the batch folder: every report with its headline result."""
    out_root = Path(out_root)
    out_root.mkdir(parents=True, exist_ok=True)
    rows = []
    for o in outcomes:
        target = Path(o.out) / "index.html"
        href = os.path.relpath(target, out_root.absolute()) if o.ok else ""
        h = o.headline
        rows.append(
            {
                "name": o.name,
                "year": o.year,
                "href": Path(href).as_posix() if href else "",
                "ok": o.ok,
                "title": h.get("title") or f"{o.year} 年度绩效评价报告",
                "total": f"{h['total']:.2f}"
                if isinstance(h.get("total"), float | int)
                else "—",
                "grade": h.get("grade") or "—",
                "scheme": h.get("scheme") or "",
                "error": ", ".join(o.codes) if not o.ok else "",
            }
        )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)), autoescape=True
    )
    text = env.get_template("batch_index.html.j2").render(
        rows=rows,
        css=(TEMPLATE_DIR / "report_index.css").read_text(encoding="utf-8"),
        n_failed=sum(not o.ok for o in outcomes),
    )
    path = out_root / "index.html"
    path.write_text(text, encoding="utf-8")
    summary = []
    for o in outcomes:
        d = asdict(o)
        d.pop("message")
        d["out"] = Path(
            os.path.relpath(Path(o.out).absolute(), out_root.absolute())
        ).as_posix()
        summary.append(d)
    (out_root / "batch.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2, default=str),
        encoding="utf-8",
    )
    return path
