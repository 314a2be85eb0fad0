"""Benchmark: the whole build at several sizes, step by step, in one run.

    .venv/bin/python benchmarks/bench_scale.py                    # 20,000 and 200,000 firms
    .venv/bin/python benchmarks/bench_scale.py --sizes 2000 20000 --no-steps

For each size the synthetic data are generated once (``jdeval synth --firms N --seed 7``,
kept under ``--data-root`` and reused; not timed), then measured:

1. **The build** — ``jdeval build --year 2024`` with a fresh, empty build cache, in a
   subprocess, exactly as a user runs it. Wall time; peak memory of the whole process tree (build, notebook
   workers and kernels, summed, sampled every 0.2 s with psutil) and of its largest
   process; per notebook the execute and render times from the manifest; the phases
   before the first notebook (input hashing, data check) and after the last one
   (index, Word file, manifest) from the time the build log lines appear; and the
   sub-steps of the effect estimation (panel and TFP, each design, robustness,
   heterogeneity — summed over outcomes) from the progress events the kernel writes
   to ``JDEVAL_PROGRESS_FILE`` (:mod:`jdeval.effects.progress`).
2. **The edit loop** — the same command again after a one-sentence edit of the
   narrative file, with the cache the first build filled: its wall time, what was
   reused, and that the edit shows in the report page and the Word file.
3. **The analyses in one process** (``--steps``, default on) — load, validate, policy
   effects (by sub-step), scorecard, survey, assembled report, Word file, each run
   once in a fresh subprocess per size: where the time goes without notebooks.

Goals (issue 15): the largest build within ~12x the smallest at 10x the firms, under
4 GB peak; the edit loop at most 0.3 of the full build. The machine is shared, so only ratios measured in one run count; the
load average is printed at the start and end.  Results are also written as JSON to
``benchmarks/results/bench_scale.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
JDEVAL = [sys.executable, "-m", "jdeval.cli"]


# --------------------------------------------------------------------------- data
def ensure_data(root: Path, firms: int, seed: int) -> Path:
    """Synthetic dataset of ``firms`` firms (generated once, then reused)."""
    out = root / f"firms{firms}_seed{seed}"
    if not (out / "truth.json").is_file():
        t0 = time.perf_counter()
        subprocess.run(
            [
                *JDEVAL,
                "synth",
                "--firms",
                str(firms),
                "--seed",
                str(seed),
                "--out",
                str(out),
            ],
            check=True,
            cwd=ROOT,
        )
        print(
            f"  generated {firms:,} firms in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    return out


# --------------------------------------------------------------------------- memory
class TreeMemory(threading.Thread):
    """Samples the summed RSS of a process and its descendants."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        import psutil

        self.root = psutil.Process(pid)
        self.every = every
        self.peak_total = 0
        self.peak_single = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psutil

        while not self.stop.is_set():
            try:
                procs = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for p in procs:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                total += rss
                self.peak_single = max(self.peak_single, rss)
            self.peak_total = max(self.peak_total, total)
            self.stop.wait(self.every)


# --------------------------------------------------------------------------- build
def _build_cmd(data: Path, year: int, jobs: int, work: Path) -> list[str]:
    """``jdeval build`` into ``work/report`` with its own (initially empty) cache."""
    return [
        *JDEVAL, "build", "--year", str(year), "--data", str(data),
        "--out", str(work / "report"), "--jobs", str(jobs),
        "--narrative", str(_narrative(work, year)), "--cache-dir", str(work / "cache"),
    ]  # fmt: skip


def _narrative(work: Path, year: int) -> Path:
    """A copy of the bundled narrative file, which the edit loop then edits."""
    path = work / "narrative.yaml"
    if not path.is_file():
        src = ROOT / "data" / "narrative" / f"overrides_{year}.yaml"
        path.write_text(src.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def run_edit(data: Path, year: int, jobs: int, work: Path) -> dict:
    """Rebuild after a one-sentence narrative edit, with the first build's cache.

    Item 3 of issue 15: everything but the annual report is reused, and the edit
    shows in the report page and the Word file.
    """
    import re
    import zipfile

    narr = _narrative(work, year)
    mark = "（修订）"
    text = narr.read_text(encoding="utf-8")
    narr.write_text(
        re.sub(r"(?m)^(\s*- title:\s*)(.+)$", rf"\1\2{mark}", text, count=1),
        encoding="utf-8",
    )
    t0 = time.perf_counter()
    proc = subprocess.run(
        _build_cmd(data, year, jobs, work), cwd=ROOT, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    out = work / "report"
    result = {"returncode": proc.returncode, "wall_s": wall}
    if proc.returncode != 0:
        result["log_tail"] = proc.stderr.strip().splitlines()[-15:]
        return result
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    result["reused"] = sorted(n for n, r in man["reuse"]["notebooks"].items() if r)
    page = (out / "05_annual_report.html").read_text(encoding="utf-8")
    with zipfile.ZipFile(out / f"annual_report_{year}.docx") as z:
        word = z.read("word/document.xml").decode("utf-8")
    result["edit_visible"] = mark in page and mark in word
    return result


def run_build(data: Path, year: int, jobs: int, work: Path) -> dict:
    """One full build (empty cache) with timings per step and peak memory."""
    out = work / "report"
    progress = work / "progress.jsonl"
    env = dict(os.environ, JDEVAL_PROGRESS_FILE=str(progress))
    cmd = _build_cmd(data, year, jobs, work)
    lines: list[tuple[float, str]] = []
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=ROOT, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
        text=True, encoding="utf-8", errors="replace",
    )  # fmt: skip
    mem = TreeMemory(proc.pid)
    mem.start()
    for line in proc.stderr:
        lines.append((time.perf_counter() - t0, line.rstrip()))
    rc = proc.wait()
    wall = time.perf_counter() - t0
    mem.stop.set()
    mem.join()
    result = {
        "returncode": rc,
        "wall_s": wall,
        "peak_tree_mb": mem.peak_total / 2**20,
        "peak_process_mb": mem.peak_single / 2**20,
    }
    if rc != 0:
        result["log_tail"] = [t for _, t in lines[-15:]]
        return result
    starts = [t for t, s in lines if "▶" in s]
    ends = [t for t, s in lines if "✓" in s]
    steps = {"before notebooks (inputs, data check)": starts[0] if starts else 0.0}
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    for name, tm in manifest.get("timings", {}).items():
        if isinstance(tm, dict):
            steps[f"notebook {name}: execute"] = tm.get("execute_s", 0.0)
            steps[f"notebook {name}: render"] = tm.get("render_s", 0.0)
    steps["after notebooks (index, Word, manifest)"] = wall - (
        ends[-1] if ends else wall
    )
    result["steps"] = steps
    result["effects"] = _effect_steps(progress)
    return result


def _effect_steps(path: Path) -> dict[str, float]:
    """Seconds per effect sub-step (summed over outcomes) from the progress file."""
    out: dict[str, float] = defaultdict(float)
    if not path.is_file():
        return {}
    for line in path.read_text(encoding="utf-8").splitlines():
        ev = json.loads(line)
        if ev["task"] == "policy_effects":
            out[ev["step"]] += ev["seconds"]
    return dict(out)


# --------------------------------------------------------------------------- in-process
_CHILD = r"""
import json, resource, sys, tempfile, time, warnings
from collections import defaultdict
from pathlib import Path
warnings.simplefilter("ignore")
import jdeval.data, jdeval.effects, jdeval.indicators, jdeval.report, jdeval.survey
from jdeval.effects.progress import reporting
data, year = sys.argv[1], int(sys.argv[2])
t = {}
def timed(name, fn, *a, **k):
    t0 = time.perf_counter(); out = fn(*a, **k); t[name] = time.perf_counter() - t0; return out
ds = timed("load", jdeval.data.load, data)
timed("validate", jdeval.data.validate, data)
sub = defaultdict(float)
with reporting(lambda ev: sub.__setitem__(ev.step, sub[ev.step] + ev.seconds)
               if ev.task == "policy_effects" else None):
    eff = timed("effects (total)", jdeval.effects.policy_effects, ds, year=year)
for k, v in sub.items():
    t["effects: " + k] = v
card = timed("scorecard", jdeval.indicators.evaluate, ds, jdeval.indicators.load_targets(), year=year)
sv = timed("survey", jdeval.survey.analyse, ds, year=year)
rep = timed("assemble", jdeval.report.assemble, ds, year=year, effects=eff, scorecard=card, survey=sv)
with tempfile.TemporaryDirectory() as tmp:
    timed("docx", rep.to_docx, Path(tmp) / "r.docx")
t["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(t))
"""


def run_steps(data: Path, year: int) -> dict[str, float]:
    """The analyses of a build, each once, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(data), str(year)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode != 0:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed"
        }
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- table
def _table(
    title: str, sizes: list[int], rows: dict[str, dict[int, float]], unit: str
) -> str:
    width = max([len(title), *(len(k) for k in rows)])
    head = f"{title:<{width}}" + "".join(f"{n:>12,}" for n in sizes)
    if len(sizes) > 1:
        head += f"{'ratio':>9}"
    lines = [head, "-" * len(head)]
    for name, by in rows.items():
        cells = "".join(
            f"{by[n]:>12.1f}" if isinstance(by.get(n), (int, float)) else f"{'-':>12}"
            for n in sizes
        )
        a, b = by.get(sizes[0]), by.get(sizes[-1])
        if len(sizes) > 1:
            ok = (
                isinstance(a, (int, float)) and isinstance(b, (int, float)) and a > 0.05
            )
            cells += f"{b / a:>8.1f}x" if ok else f"{'':>9}"
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines) + f"\n(values in {unit})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[20_000, 200_000])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument(
        "--data-root", default=str(Path(tempfile.gettempdir()) / "jdeval-bench")
    )
    ap.add_argument("--steps", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument(
        "--out", default=str(ROOT / "benchmarks" / "results" / "bench_scale.json")
    )
    args = ap.parse_args(argv)

    sizes = sorted(args.sizes)
    root = Path(args.data_root)
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    data = {n: ensure_data(root, n, args.seed) for n in sizes}
    load_start = os.getloadavg()
    print(f"load average at start: {load_start}", flush=True)
    builds, edits, steps = {}, {}, {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            builds[n] = run_build(data[n], args.year, args.jobs, Path(tmp))
            if builds[n]["returncode"] == 0:
                edits[n] = run_edit(data[n], args.year, args.jobs, Path(tmp))
        b = builds[n]
        print(
            f"  build {n:,} firms: {b['wall_s']:.1f} s, peak {b['peak_tree_mb']:.0f} MB "
            f"(tree) / {b['peak_process_mb']:.0f} MB (largest process), exit {b['returncode']}",
            flush=True,
        )
        if n in edits:
            e = edits[n]
            print(
                f"  edit loop {n:,} firms: {e['wall_s']:.1f} s "
                f"({e['wall_s'] / b['wall_s']:.2f} of the build), reused "
                f"{', '.join(e.get('reused', [])) or 'nothing'}; edit shown in page "
                f"and Word: {e.get('edit_visible')}, exit {e['returncode']}",
                flush=True,
            )
        if args.steps:
            steps[n] = run_steps(data[n], args.year)
    load_end = os.getloadavg()

    rows: dict[str, dict[int, float]] = defaultdict(dict)
    for n, b in builds.items():
        rows["BUILD wall"][n] = b["wall_s"]
        if n in edits:
            rows["EDIT LOOP wall (narrative edit)"][n] = edits[n]["wall_s"]
        for k, v in b.get("steps", {}).items():
            rows[k][n] = v
        for k, v in b.get("effects", {}).items():
            rows[f"  effects: {k}"][n] = v
    mem = {
        "peak memory, process tree": {n: b["peak_tree_mb"] for n, b in builds.items()},
        "peak memory, largest process": {
            n: b["peak_process_mb"] for n, b in builds.items()
        },
    }
    print()
    print(_table("build step (seconds)", sizes, rows, "seconds, wall"))
    print()
    print(_table("build memory", sizes, mem, "MB"))
    if steps:
        srows: dict[str, dict[int, float]] = defaultdict(dict)
        for n, st in steps.items():
            for k, v in st.items():
                if k != "peak_mb" and isinstance(v, (int, float)):
                    srows[k][n] = v
            srows["peak memory (MB)"][n] = st.get("peak_mb", float("nan"))
        print()
        print(
            _table("analyses in one process", sizes, srows, "seconds, wall; memory MB")
        )
    print(f"\nload average at end: {load_end}")
    if len(sizes) > 1:
        a, b = builds[sizes[0]], builds[sizes[-1]]
        print(
            f"goal: build {sizes[-1]:,} / {sizes[0]:,} firms = "
            f"{b['wall_s'] / a['wall_s']:.1f}x (goal <= 12x); peak {b['peak_tree_mb'] / 1024:.2f} GB "
            "(goal < 4 GB)"
        )
    for n, e in edits.items():
        print(
            f"goal: edit loop / build at {n:,} firms = "
            f"{e['wall_s'] / builds[n]['wall_s']:.2f} (goal <= 0.3)"
        )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "load_start": load_start,
                "load_end": load_end,
                "builds": builds,
                "edits": edits,
                "steps": steps,
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n",
        encoding="utf-8",
    )
    return 0 if all(b["returncode"] == 0 for b in builds.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
