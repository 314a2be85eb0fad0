"""The report's charts, as matplotlib figures with Chinese labels.

Each function takes a small tidy DataFrame (so it can be tested with hand-made
inputs), returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show``.
:func:`jdeval.report.fonts.setup` is called first so Chinese text renders.
Suppressed cells (disclosure control, :mod:`jdeval.report.disclosure`) arrive as
NaN values and are drawn as an empty slot labelled ``—*``.

Figures are created with :class:`matplotlib.figure.Figure` directly, not through
``pyplot``: importing this module never changes the matplotlib backend (notebooks
keep ``%matplotlib inline``) and figures are not kept alive by pyplot's registry.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jdeval.report import fonts

__all__ = [
    "PALETTE",
    "bars",
    "event_study",
    "satisfaction_distribution",
    "score_by_level",
    "trend",
]

#: House colours: a muted blue, an orange for targets/highlights, greys for context.
PALETTE = {
    "main": "#2F5D8A",
    "accent": "#D9822B",
    "light": "#A9C1D9",
    "grey": "#8C8C8C",
    "band": "#2F5D8A",
    "good": "#3B8B5A",
    "bad": "#B03A2E",
}
SUPPRESSED_MARK = "—*"
_LIKERT = {
    5: "非常满意",
    4: "满意",
    3: "一般",
    2: "不满意",
    1: "非常不满意",
}
_LIKERT_COLOURS = {5: "#2F5D8A", 4: "#7FA6CC", 3: "#D9D9D9", 2: "#F0B27A", 1: "#B03A2E"}


def _figure(width: float = 7.0, height: float = 4.0) -> tuple[Figure, object]:
    fonts.setup()
    fig = Figure(figsize=(width, height), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=9)
    return fig, ax


def _title(ax, title: str | None) -> None:
    if title:
        ax.set_title(title, fontsize=11, loc="left")


def score_by_level(
    frame: pd.DataFrame,
    *,
    level: str = "level1",
    title: str | None = "各一级指标得分与分值",
) -> Figure:
    """Bar chart of score against weight (分值) per indicator level.

    Parameters
    ----------
    frame
        Scorecard rows with columns ``level`` (e.g. ``level1``), ``weight`` and
        ``score`` (as :meth:`Scorecard.to_frame`).
    level
        Column to group by (``level1``, ``level2`` or ``level3``).
    title
        Chart title.
    """
    g = frame.groupby(level, sort=False)[["weight", "score"]].sum(min_count=1)
    fig, ax = _figure(7.0, max(2.5, 0.45 * len(g) + 1.2))
    y = np.arange(len(g))
    ax.barh(y, g["weight"], color=PALETTE["light"], label="分值")
    ax.barh(y, g["score"].fillna(0), height=0.5, color=PALETTE["main"], label="得分")
    for yi, (s, w) in enumerate(zip(g["score"], g["weight"])):
        txt = "—" if pd.isna(s) else f"{s:.2f} / {w:.0f}"
        ax.text(w, yi, f" {txt}", va="center", fontsize=8)
    ax.set_yticks(y, [str(i) for i in g.index])
    ax.invert_yaxis()
    ax.set_xlabel("分")
    ax.set_xlim(0, float(g["weight"].max()) * 1.3)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    _title(ax, title)
    return fig


def event_study(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    ylabel: str = "效应估计值",
    truth: dict | None = None,
) -> Figure:
    """Event-study plot: estimates by event time with a confidence band.

    Parameters
    ----------
    frame
        Columns ``event_time``, ``estimate``, ``ci_low``, ``ci_high`` (the tidy
        ``to_frame()`` of an event-study result).
    title, ylabel
        Labels.
    truth
        Optional ``{event_time: value}`` drawn as reference points (synthetic
        data only).
    """
    f = frame.sort_values("event_time")
    e = f["event_time"].to_numpy(dtype=float)
    fig, ax = _figure()
    ax.fill_between(
        e,
        f["ci_low"].to_numpy(dtype=float),
        f["ci_high"].to_numpy(dtype=float),
        color=PALETTE["band"],
        alpha=0.18,
        linewidth=0,
        label="95%置信区间",
    )
    pre = e < 0
    ax.plot(e, f["estimate"], color=PALETTE["main"], lw=1.2)
    ax.scatter(
        e[pre],
        f["estimate"].to_numpy()[pre],
        color=PALETTE["grey"],
        zorder=3,
        s=18,
        label="政策前",
    )
    ax.scatter(
        e[~pre],
        f["estimate"].to_numpy()[~pre],
        color=PALETTE["main"],
        zorder=3,
        s=18,
        label="政策后",
    )
    if truth:
        te = sorted(float(k) for k in truth)
        ax.scatter(
            te,
            [truth[k] for k in sorted(truth, key=float)],
            marker="x",
            color=PALETTE["accent"],
            zorder=4,
            s=22,
            label="真实值(模拟)",
        )
    ax.axhline(0, color="black", lw=0.7)
    ax.axvline(-0.5, color=PALETTE["grey"], lw=0.8, ls="--")
    ax.set_xlabel("相对首次获补年份(年)")
    ax.set_ylabel(ylabel)
    ax.set_xticks(e, [f"{int(v)}" for v in e])
    ax.legend(frameon=False, fontsize=8)
    _title(ax, title)
    return fig


def bars(
    frame: pd.DataFrame,
    *,
    label: str,
    value: str,
    title: str | None = None,
    xlabel: str = "",
    target: float | None = None,
    target_label: str = "目标",
    fmt: str = "{:,.2f}",
    suppressed: Sequence[bool] | None = None,
) -> Figure:
    """Horizontal bars (e.g. funds or coverage by 街镇 or industry).

    Parameters
    ----------
    frame
        One row per bar.
    label, value
        Columns with the bar labels and values.  NaN values (suppressed cells)
        are drawn as ``—*``.
    title, xlabel
        Labels.
    target
        Optional reference line (e.g. a coverage target).
    fmt
        Format of the value annotations.
    suppressed
        Optional boolean per row; True draws ``—*`` regardless of the value.
    """
    f = frame.reset_index(drop=True)
    vals = pd.to_numeric(f[value], errors="coerce").astype(float)
    sup = (
        np.asarray(suppressed, dtype=bool)
        if suppressed is not None
        else np.zeros(len(f), dtype=bool)
    )
    vals = vals.mask(sup)
    fig, ax = _figure(7.0, max(2.5, 0.38 * len(f) + 1.2))
    y = np.arange(len(f))
    ax.barh(y, vals.fillna(0), color=PALETTE["main"])
    vmax = float(np.nanmax(vals.to_numpy())) if vals.notna().any() else 1.0
    for yi, v in enumerate(vals):
        txt = SUPPRESSED_MARK if pd.isna(v) else fmt.format(v)
        ax.text(0 if pd.isna(v) else v, yi, f" {txt}", va="center", fontsize=8)
    if target is not None:
        ax.axvline(target, color=PALETTE["accent"], lw=1.2, ls="--", label=target_label)
        ax.legend(frameon=False, fontsize=8, loc="lower right")
        vmax = max(vmax, target)
    ax.set_yticks(y, [str(s) for s in f[label]])
    ax.invert_yaxis()
    ax.set_xlim(0, vmax * 1.25 if vmax > 0 else 1)
    ax.set_xlabel(xlabel)
    if sup.any() or vals.isna().any():
        fig.text(
            0.01,
            0.0,
            f"注：{SUPPRESSED_MARK} 表示按统计披露控制规则隐去的数值。",
            fontsize=7,
            color=PALETTE["grey"],
            va="bottom",
        )
    _title(ax, title)
    return fig


def satisfaction_distribution(
    frame: pd.DataFrame,
    *,
    title: str | None = "满意度调查各题选项分布",
) -> Figure:
    """Stacked horizontal bars of the Likert answer shares per survey item.

    Parameters
    ----------
    frame
        Long format with columns ``item`` (label), ``likert`` (1–5) and ``n``
        (count); or wide with columns 1..5 indexed by item.
    """
    if {"item", "likert", "n"} <= set(frame.columns):
        wide = frame.pivot_table(
            index="item",
            columns="likert",
            values="n",
            aggfunc="sum",
            sort=False,
            fill_value=0,
        )
    else:
        wide = frame
    wide = wide.reindex(columns=[5, 4, 3, 2, 1], fill_value=0).astype(float)
    share = wide.div(wide.sum(axis=1).replace(0, np.nan), axis=0).fillna(0) * 100
    fig, ax = _figure(7.5, max(2.5, 0.42 * len(share) + 1.6))
    y = np.arange(len(share))
    left = np.zeros(len(share))
    for k in [5, 4, 3, 2, 1]:
        v = share[k].to_numpy()
        ax.barh(y, v, left=left, color=_LIKERT_COLOURS[k], label=_LIKERT[k])
        for yi, (lv, vv) in enumerate(zip(left, v)):
            if vv >= 6:
                ax.text(
                    lv + vv / 2,
                    yi,
                    f"{vv:.0f}",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if k in (5, 1) else "black",
                )
        left += v
    ax.set_yticks(y, [str(i) for i in share.index])
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("占有效回答比例(%)")
    fig.legend(
        *ax.get_legend_handles_labels(),
        frameon=False,
        fontsize=8,
        ncols=5,
        loc="outside lower center",
    )
    _title(ax, title)
    return fig


def trend(
    frame: pd.DataFrame,
    *,
    x: str = "year",
    y: str | Sequence[str] = "value",
    labels: dict[str, str] | None = None,
    title: str | None = None,
    ylabel: str = "",
    highlight: object | None = None,
    fmt: str = "{:,.2f}",
) -> Figure:
    """Line chart of one or more series over years (e.g. score by batch year).

    Parameters
    ----------
    frame
        One row per year.
    x
        Year column.
    y
        Series column(s).
    labels
        Legend label per series column.
    highlight
        Year to emphasise (the evaluation year).
    """
    cols = [y] if isinstance(y, str) else list(y)
    f = frame.sort_values(x)
    fig, ax = _figure(7.0, 3.6)
    colours = [PALETTE["main"], PALETTE["accent"], PALETTE["good"], PALETTE["grey"]]
    for i, c in enumerate(cols):
        vals = pd.to_numeric(f[c], errors="coerce").astype(float)
        ax.plot(
            f[x],
            vals,
            marker="o",
            color=colours[i % len(colours)],
            label=(labels or {}).get(c, c),
        )
        for xv, v in zip(f[x], vals):
            if not pd.isna(v):
                ax.annotate(
                    fmt.format(v),
                    (xv, v),
                    textcoords="offset points",
                    xytext=(0, 6),
                    ha="center",
                    fontsize=8,
                )
    if highlight is not None:
        ax.axvline(highlight, color=PALETTE["grey"], lw=0.8, ls=":")
    ax.set_xticks(list(f[x]), [f"{v}年" for v in f[x]])
    ax.set_ylabel(ylabel)
    ax.margins(y=0.2)
    if len(cols) > 1 or labels:
        ax.legend(frameon=False, fontsize=8)
    _title(ax, title)
    return fig
