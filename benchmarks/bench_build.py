"""Benchmark: the whole default report build against its floor.

The floor is what any notebook-based build must spend, measured separately in this
process:

* kernel starts — one Python kernel per notebook (start until ready, then stop);
* HTML conversions — rendering each executed notebook with the offline template;
* estimation — the analyses the notebooks run, each once: load and validate the
  data, causal effects, indicator scores, survey, the assembled report and its Word
  file.

The build runs ``jobs`` notebooks at a time, so it can beat a single-core floor; the
goal is a build within 2x the floor.  Usage::

    python benchmarks/bench_build.py [--year 2024] [--data DIR] [--jobs 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def kernel_starts(n: int) -> float:
    """Seconds to start (until ready) and stop ``n`` kernels one after another."""
    from jupyter_client.manager import start_new_kernel

    total = 0.0
    for _ in range(n):
        t0 = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        total += time.perf_counter() - t0
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return total


def conversions(report: Path) -> float:
    """Seconds to render every executed notebook of a built report to HTML."""
    from jdeval.build.htmlexport import PageInfo, render_html

    info = PageInfo("t", "t", (("year", "2024"),), "0" * 16, "now", "0")
    total = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for nb in sorted((report / "notebooks").glob("*.ipynb")):
            _, dt = _timed(render_html, nb, Path(tmp) / f"{nb.stem}.html", info)
            total += dt
    return total


def estimation(data: Path, year: int) -> dict[str, float]:
    """Seconds of each analysis, each run once in this process."""
    import jdeval.data
    import jdeval.effects
    import jdeval.indicators
    import jdeval.report
    import jdeval.survey

    t: dict[str, float] = {}
    ds, t["load"] = _timed(jdeval.data.load, data)
    _, t["validate"] = _timed(jdeval.data.validate, data)
    eff, t["effects"] = _timed(jdeval.effects.policy_effects, ds, year=year)
    card, t["scorecard"] = _timed(
        jdeval.indicators.evaluate, ds, jdeval.indicators.load_targets(), year=year
    )
    sv, t["survey"] = _timed(jdeval.survey.analyse, ds, year=year)
    rep, t["assemble"] = _timed(
        jdeval.report.assemble, ds, year=year, effects=eff, scorecard=card, survey=sv
    )
    with tempfile.TemporaryDirectory() as tmp:
        _, t["docx"] = _timed(rep.to_docx, Path(tmp) / "r.docx")
    return t


def edit_loop(data: Path, year: int, out: Path, cache: Path, jobs: int) -> float:
    """Seconds of a rebuild after a one-sentence narrative edit (issue 15, item 3).

    The previous build filled ``cache``; the edit changes the first problem title of
    the bundled narrative file (a copy), so only the annual report must run again.
    """
    import re

    from jdeval.build import build
    from jdeval.build.paths import default_narrative

    src = default_narrative(year)
    edited = out.parent / "narrative_edit.yaml"
    text = src.read_text(encoding="utf-8") if src else f"year: {year}\n"
    edited.write_text(
        re.sub(r"(?m)^(\s*- title:\s*)(.+)$", r"\1\2（修改 edited）", text, count=1),
        encoding="utf-8",
    )
    _, seconds = _timed(
        build,
        year,
        data=data,
        out=out,
        jobs=jobs,
        narrative=edited,
        cache_dir=cache,
        progress=lambda s: None,
    )
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--data", default=None)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=None, help="keep the built report here")
    args = ap.parse_args()

    from jdeval.build import NOTEBOOKS, build
    from jdeval.build.runner import _bytecode_env
    from jdeval.data import ensure_default_data

    # kernels measured for the floor get the same environment as the build's
    env = _bytecode_env(dict(os.environ))
    os.environ.clear()
    os.environ.update(env)

    data = Path(args.data) if args.data else ensure_default_data()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / str(args.year)
        cache = Path(tmp) / "build-cache"  # empty: the first build runs everything
        _, t_build = _timed(
            build,
            args.year,
            data=data,
            out=out,
            jobs=args.jobs,
            cache_dir=cache,
            progress=lambda s: None,
        )
        t_conv = conversions(out)
        t_edit = edit_loop(data, args.year, out, cache, args.jobs)
    t_kernels = kernel_starts(len(NOTEBOOKS))
    est = estimation(data, args.year)
    floor = t_kernels + t_conv + sum(est.values())

    rows = [(f"kernel starts ({len(NOTEBOOKS)})", t_kernels)]
    rows.append((f"HTML conversions ({len(NOTEBOOKS)})", t_conv))
    rows += [(f"estimation: {k}", v) for k, v in est.items()]
    rows.append(("FLOOR (sum, one core)", floor))
    rows.append((f"BUILD (jobs={args.jobs}, wall)", t_build))
    width = max(len(r[0]) for r in rows)
    print(f"{'component':<{width}}  seconds")
    for name, sec in rows:
        print(f"{name:<{width}}  {sec:8.1f}")
    print(f"{'ratio build / floor':<{width}}  {t_build / floor:8.2f}   (goal <= 2.0)")
    print(f"{'EDIT LOOP (narrative edit, wall)':<{width}}  {t_edit:8.1f}")
    print(
        f"{'ratio edit loop / full build':<{width}}  {t_edit / t_build:8.2f}   "
        "(goal <= 0.3)"
    )


if __name__ == "__main__":
    main()
