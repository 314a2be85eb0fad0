"""Benchmark jdeval's Callaway–Sant'Anna estimator against the Python peers.

Every tool runs on the same synthetic panels (``--sizes``, default 2,000, 20,000 and
200,000 firms × 10 years; cohorts 2023/2024/2025 plus never-treated, 3 time-invariant
covariates that drive selection, firm effects, heterogeneous trends) with the same
configuration: doubly robust, not-yet-treated controls, 3 covariates, analytic
standard errors, and all four aggregations (simple, group, dynamic, calendar; diff-diff
has no calendar aggregation). pyfixest's TWFE and event study are timed on the same
panels for scale (different estimators, so their numbers are not compared).

Each (tool, size) runs in its own subprocess, so ``peak MB`` is that process's maximum
resident set size (``resource.getrusage`` of the child: Python, imports, the data and
the estimation); ``time`` covers estimation and aggregation only (not reading the
data or importing the package), after an untimed warm-up run on 300 firms (numba /
JIT compilation, lazy imports), i.e. warm timings. ``max|diff|`` is the largest absolute difference from
jdeval over the overall ATTs and SEs both tools report (for diff-diff: the simple ATT
and SE and the event-study ATTs and SEs by event time).

Usage::

    .venv/bin/python benchmarks/bench_effects.py                 # all sizes, all tools
    .venv/bin/python benchmarks/bench_effects.py --sizes 2000 --tools jdeval diff-diff
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

TOOLS = [
    "jdeval",
    "diff-diff",
    "csdid",
    "moderndid",
    "differences",
    "pyfixest-twfe",
    "pyfixest-es",
]
AGGS = ["simple", "group", "dynamic", "calendar"]
COVS = ["x1", "x2", "x3"]


def make_panel(n_firms: int, *, n_years: int = 10, seed: int = 12345) -> pd.DataFrame:
    """Synthetic staggered panel with selection on covariates and a known effect.

    Firms are funded with a probability rising in ``x1`` and ``x3`` (logit), in
    2023, 2024 or 2025; the effect is ``0.1 + 0.05 · (years since funding)``;
    outcomes have firm effects correlated with ``x1`` and trends depending on
    ``x2`` (so covariates matter for parallel trends).
    """
    rng = np.random.default_rng(seed)
    years = np.arange(2016, 2016 + n_years)
    x1 = rng.normal(size=n_firms)
    x2 = rng.normal(size=n_firms)
    x3 = (rng.random(n_firms) < 0.4).astype(float)
    p = 1 / (1 + np.exp(-(0.5 * x1 - 0.3 * x2 + 0.4 * x3 - 0.5)))
    treated = rng.random(n_firms) < p
    g = np.where(treated, rng.choice([2023, 2024, 2025], n_firms), 0)
    alpha = rng.normal(size=n_firms) + 0.5 * x1
    T = len(years)
    yr = np.tile(years, n_firms)
    gg = np.repeat(g, T)
    trend = 0.05 * (yr - years[0]) * (1 + 0.2 * np.repeat(x2, T))
    effect = np.where((gg > 0) & (yr >= gg), 0.1 + 0.05 * (yr - gg), 0.0)
    y = np.repeat(alpha, T) + trend + effect + rng.normal(scale=0.5, size=n_firms * T)
    return pd.DataFrame(
        {
            "firm": np.repeat(np.arange(1, n_firms + 1), T),
            "year": yr,
            "g": gg,
            "y": y,
            "x1": np.repeat(x1, T),
            "x2": np.repeat(x2, T),
            "x3": np.repeat(x3, T),
        }
    )


# ----------------------------------------------------------------- workers
def run_jdeval(df):
    from jdeval.effects.did import att_gt

    r = att_gt(
        df,
        yname="y",
        tname="year",
        idname="firm",
        gname="g",
        xformla="~ x1 + x2 + x3",
        control_group="notyettreated",
        est_method="dr",
    )
    out = {}
    for a in AGGS:
        agg = r.aggregate(a)
        out[a] = [agg.overall_att, agg.overall_se]
        if a == "dynamic":
            f = agg.to_frame()
            out["dynamic_e"] = [*f["estimate"], *f["se"]]
    return out


def run_diff_diff(df):
    from diff_diff import CallawaySantAnna

    est = CallawaySantAnna(control_group="not_yet_treated", estimation_method="dr")
    res = est.fit(
        df, outcome="y", unit="firm", time="year", first_treat="g", covariates=COVS
    )
    # diff-diff reports the simple overall ATT on the fit and per-event-time effects
    # (no overall dynamic / group / calendar numbers in the same form).
    es = res.aggregate("event_study")
    return {
        "simple": [float(res.overall_att), float(res.overall_se)],
        "dynamic_e": [*map(float, es.att), *map(float, es.se)],
    }


def run_csdid(df):
    from csdid.att_gt import ATTgt

    m = ATTgt(
        yname="y",
        tname="year",
        idname="firm",
        gname="g",
        data=df,
        control_group="notyettreated",
        xformla="y ~ x1 + x2 + x3",
    )
    m.fit(est_method="dr", bstrap=False)
    out = {}
    for a in AGGS:
        m.aggte(typec=a, bstrap=False)
        res = m.atte
        out[a] = [float(res["overall_att"]), float(res["overall_se"])]
    return out


def run_moderndid(df):
    import moderndid

    r = moderndid.att_gt(
        df,
        yname="y",
        tname="year",
        idname="firm",
        gname="g",
        xformla="~ x1 + x2 + x3",
        control_group="notyettreated",
        est_method="dr",
        boot=False,
        cband=False,
    )
    out = {}
    for a in AGGS:
        agg = moderndid.aggte(r, type=a, boot=False, cband=False)
        out[a] = [float(agg.overall_att), float(agg.overall_se)]
    return out


def run_differences(df):
    from differences import ATTgt

    d = df.set_index(["firm", "year"])
    d["cohort"] = d["g"].where(d["g"] > 0)
    att = ATTgt(data=d, cohort_column="cohort")
    att.fit(
        formula="y ~ x1 + x2 + x3",
        est_method="dr",
        control_group="not_yet_treated",
        progress_bar=False,
    )
    out = {}
    for a in ["simple", "cohort", "event", "time"]:
        r = att.aggregate(a, overall=True)
        key = {"cohort": "group", "event": "dynamic", "time": "calendar"}.get(a, a)
        row = r.iloc[0]
        out[key] = [float(row.iloc[0]), float(row.iloc[1])]
    return out


def run_pyfixest_twfe(df):
    import pyfixest as pf

    d = df.assign(treat=((df["g"] > 0) & (df["year"] >= df["g"])).astype(float))
    fit = pf.feols("y ~ treat | firm + year", data=d, vcov={"CRV1": "firm"})
    return {"twfe": [float(fit.coef()["treat"]), float(fit.se()["treat"])]}


def run_pyfixest_es(df):
    import pyfixest as pf

    fit = pf.event_study(
        data=df, yname="y", idname="firm", tname="year", gname="g", estimator="twfe"
    )
    coefs = fit.coef()
    return {"event_study_terms": [float(len(coefs))]}


WORKERS = {
    "jdeval": run_jdeval,
    "diff-diff": run_diff_diff,
    "csdid": run_csdid,
    "moderndid": run_moderndid,
    "differences": run_differences,
    "pyfixest-twfe": run_pyfixest_twfe,
    "pyfixest-es": run_pyfixest_es,
}

IMPORTS = {
    "jdeval": "jdeval.effects.did",
    "diff-diff": "diff_diff",
    "csdid": "csdid.att_gt",
    "moderndid": "moderndid",
    "differences": "differences",
    "pyfixest-twfe": "pyfixest",
    "pyfixest-es": "pyfixest",
}


def worker(tool: str, data_path: str, out_path: str) -> None:
    """Run one tool on one panel (in a child process) and write a JSON record."""
    import importlib

    importlib.import_module(IMPORTS[tool])
    df = pd.read_parquet(data_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Warm-up on a small slice (JIT compilation, lazy imports), not timed.
        WORKERS[tool](df[df["firm"] <= 300].reset_index(drop=True))
        t0 = time.perf_counter()
        est = WORKERS[tool](df)
        elapsed = time.perf_counter() - t0
    peak = (
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )  # KiB -> MiB (Linux)
    Path(out_path).write_text(
        json.dumps({"time": elapsed, "peak_mb": peak, "est": est})
    )


# ------------------------------------------------------------------- driver
def run_one(tool: str, data_path: Path, timeout: float) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = fh.name
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        tool,
        "--data",
        str(data_path),
        "--out",
        out,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"timeout > {timeout:.0f} s"}
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        return {"status": f"failed: {last[:80]}"}
    rec = json.loads(Path(out).read_text())
    os.unlink(out)
    rec["status"] = "ok"
    return rec


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[2_000, 20_000, 200_000])
    ap.add_argument("--tools", nargs="+", default=TOOLS, choices=TOOLS)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--worker")
    ap.add_argument("--data")
    ap.add_argument("--out")
    args = ap.parse_args(argv)
    if args.worker:
        worker(args.worker, args.data, args.out)
        return

    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print(f"load average at start: {os.getloadavg()}")
    header = (
        f"{'tool':<14}{'n_firms':>9}{'time s':>9}{'peak MB':>9}  "
        + "".join(f"{a:>10}" for a in AGGS)
        + f"{'max|diff|':>11}  status"
    )
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = Path(tmp) / f"panel_{n}.parquet"
            make_panel(n).to_parquet(path)
            ref = None
            for tool in args.tools:
                rec = run_one(tool, path, args.timeout)
                est = rec.get("est", {})
                if tool == "jdeval" and rec["status"] == "ok":
                    ref = est
                diff = float("nan")
                if (
                    ref is not None
                    and tool != "jdeval"
                    and not tool.startswith("pyfixest")
                ):
                    diffs = [
                        abs(a - b)
                        for k, v in est.items()
                        if k in ref and len(v) == len(ref[k])
                        for a, b in zip(v, ref[k])
                        if np.isfinite(a) and np.isfinite(b)
                    ]
                    diff = max(diffs) if diffs else float("nan")
                atts = "".join(
                    f"{est[a][0]:>10.5f}" if a in est else f"{'-':>10}" for a in AGGS
                )
                if tool == "pyfixest-twfe" and "twfe" in est:
                    atts = f"{est['twfe'][0]:>10.5f}" + f"{'(TWFE)':>10}" + " " * 20
                t = f"{rec['time']:>9.2f}" if "time" in rec else f"{'-':>9}"
                m = f"{rec['peak_mb']:>9.0f}" if "peak_mb" in rec else f"{'-':>9}"
                line = f"{tool:<14}{n:>9}{t}{m}  {atts}{diff:>11.1e}  {rec['status']}"
                print(line, flush=True)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
