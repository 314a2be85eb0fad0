"""The report's charts, as matplotlib figures with Chinese labels.

Each function takes a small tidy DataFrame (so it can be tested with hand-made
inputs), returns a :class:`matplotlib.figure.Figure` and never calls ``plt.show``.
:func:`jdeval.report.fonts.setup` is called first so Chinese text renders.
Suppressed cells (disclosure control, :mod:`jdeval.report.disclosure`) arrive as
NaN values and are drawn as an empty slot labelled ``—*``.

Figures are drawn at their printed size: :data:`WIDTH_IN` is the text width of
the Word page (A4 with 公文 margins), so Word inserts them unscaled and no text is
smaller than :data:`MIN_FONT_PT` (9 pt) on paper.  Level charts start at zero.

Figures are created with :class:`matplotlib.figure.Figure` directly, not through
``pyplot``: importing this module never changes the matplotlib backend (notebooks
keep ``%matplotlib inline``) and figures are not kept alive by pyplot's registry.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from jdeval.report import evidence, fonts
from jdeval.report.document import Figure as ReportFigure

__all__ = [
    "PALETTE",
    "bars",
    "keep_figures",
    "rendered",
    "event_study",
    "forest",
    "normalised_at",
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
#: Printed width of a chart (inches): the Word text width, so it is never scaled.
WIDTH_IN = 5.8
#: Smallest font size (pt) of any chart text at print size.
MIN_FONT_PT = 9.0
_SMALL = MIN_FONT_PT  # ticks, legends, value labels
_TITLE = 10.5
_LIKERT = {
    5: "非常满意",
    4: "满意",
    3: "一般",
    2: "不满意",
    1: "非常不满意",
}
_LIKERT_COLOURS = {5: "#2F5D8A", 4: "#7FA6CC", 3: "#D9D9D9", 2: "#F0B27A", 1: "#B03A2E"}


#: Rendered report figures by key, while :func:`keep_figures` is active.
_KEPT: ContextVar[MutableMapping[str, Any] | None] = ContextVar(
    "jdeval_report_figures", default=None
)


@contextmanager
def keep_figures(store: MutableMapping[str, Any]) -> Iterator[None]:
    """Within the block, :func:`rendered` keeps each figure in ``store`` by key.

    A key already in ``store`` is not drawn again: its PNG is reused with the
    caption and note given now.  Rendering (constrained layout and rasterising) is
    most of a report's assembly time, and :func:`jdeval.report.assemble` keeps
    the store in its narrative-independent :class:`~jdeval.report.assemble.Basis`:
    a store is only ever reused with the same data, targets and estimates (the
    inputs every chart is drawn from), so an image never goes stale.
    """
    token = _KEPT.set(store)
    try:
        yield
    finally:
        _KEPT.reset(token)


def rendered(
    draw: Callable[[], Figure], caption: str, *, key: str, note: str = ""
) -> ReportFigure:
    """The figure ``draw()`` makes, as a report :class:`~jdeval.report.document.Figure`
    (PNG).

    Under :func:`keep_figures`, a figure with a key already kept is taken from the
    store instead: ``draw`` is not called.
    """
    store = _KEPT.get()
    if store is not None and key and key in store:
        return dataclasses.replace(store[key], caption=caption, note=note)
    out = ReportFigure.from_matplotlib(draw(), caption, key=key, note=note)
    if store is not None and key:
        store[key] = out
    return out


def _figure(height: float = 3.0) -> tuple[Figure, object]:
    fonts.setup()
    fig = Figure(figsize=(WIDTH_IN, height), dpi=150, layout="constrained")
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=_SMALL)
    ax.xaxis.label.set_size(_SMALL + 0.5)
    ax.yaxis.label.set_size(_SMALL + 0.5)
    return fig, ax


def _title(ax, title: str | None) -> None:
    if title:
        ax.set_title(title, fontsize=_TITLE, loc="left")


def _from_zero(ax) -> None:
    """Level axis includes zero: a 5-point change is not drawn as a cliff."""
    lo, hi = ax.get_ylim()
    ax.set_ylim(min(lo, 0.0), max(hi, 0.0))


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
    fig, ax = _figure(max(2.3, 0.42 * len(g) + 1.1))
    y = np.arange(len(g))
    ax.barh(y, g["weight"], color=PALETTE["light"], label="分值")
    ax.barh(y, g["score"].fillna(0), height=0.5, color=PALETTE["main"], label="得分")
    for yi, (s, w) in enumerate(zip(g["score"], g["weight"])):
        txt = "—" if pd.isna(s) else f"{s:.2f} / {w:.0f}"
        ax.text(w, yi, f" {txt}", va="center", fontsize=_SMALL)
    ax.set_yticks(y, [str(i) for i in g.index])
    ax.invert_yaxis()
    ax.set_xlabel("分")
    ax.set_xlim(0, float(g["weight"].max()) * 1.3)
    ax.legend(frameon=False, fontsize=_SMALL, loc="lower right")
    _title(ax, title)
    return fig


def normalised_at(frame: pd.DataFrame, base: int) -> bool:
    """True when the event study is normalised at ``base``: its estimate there is
    exactly zero, or the period is absent (the reference period omitted)."""
    row = frame.loc[frame["event_time"] == base, "estimate"]
    return row.empty or bool((row.astype(float) == 0.0).all())


def _signed(v: float) -> str:
    """An event time with a typographic minus (−1, not -1)."""
    return str(int(v)).replace("-", "\u2212")


def event_study(
    frame: pd.DataFrame,
    *,
    title: str | None = None,
    ylabel: str = "效应估计值",
    truth: dict | None = None,
    base: int | None = -1,
    scale: str = "level",
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
    base
        Reference period the chart names.  If the estimates are normalised there
        (:func:`normalised_at`; an omitted period is drawn as an exact 0 with no
        interval) it is marked "基期（=0）".  Otherwise the chart says that the
        pre-period points compare consecutive years (a varying base) and names no
        base — it never claims a normalisation the estimates do not have.
    scale
        The outcome's scale (``EffectFacts.scale``: ``log`` / ``ratio`` /
        ``level``).  A ratio is drawn in 个百分点 (×100) and a log outcome in
        对数点, the units the text uses, with the unit in the axis label.
    """
    f = frame.sort_values("event_time").reset_index(drop=True)
    factor = 100.0 if scale == "ratio" else 1.0
    unit = evidence.compact_unit(scale)
    if factor != 1.0:
        f = f.assign(**{c: f[c] * factor for c in ("estimate", "ci_low", "ci_high")})
        if truth:
            truth = {k: v * factor for k, v in truth.items()}
    if unit:
        ylabel = f"{ylabel}（{unit}）"
    named = base is not None and normalised_at(f, base)
    if named and not (f["event_time"] == base).any():
        ref = pd.DataFrame(
            {"event_time": [base], "estimate": [0.0], "ci_low": [0.0], "ci_high": [0.0]}
        )
        f = pd.concat([f, ref], ignore_index=True).sort_values("event_time")
    e = f["event_time"].to_numpy(dtype=float)
    est = f["estimate"].to_numpy(dtype=float)
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
    if named:
        pre &= e != base
    ax.plot(e, est, color=PALETTE["main"], lw=1.2)
    ax.scatter(e[pre], est[pre], color=PALETTE["grey"], zorder=3, s=18, label="政策前")
    post = e >= 0
    ax.scatter(
        e[post], est[post], color=PALETTE["main"], zorder=3, s=18, label="政策后"
    )
    if named:
        ax.scatter(
            [base],
            [0.0],
            marker="D",
            facecolor="white",
            edgecolor="black",
            zorder=4,
            s=26,
            label=f"基期（{_signed(base)}，=0）",
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
    xlabel = "相对首次获补年份(年)"
    if base is not None and not named:
        xlabel += (
            "\n注：获补前各点为相邻年份之间的比较（逐期基期），未统一以某一年为基期"
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_xticks(e, [_signed(v) for v in e])
    ax.legend(frameon=False, fontsize=_SMALL)
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
    fig, ax = _figure(max(2.3, 0.36 * len(f) + 1.1))
    y = np.arange(len(f))
    ax.barh(y, vals.fillna(0), color=PALETTE["main"])
    vmax = float(np.nanmax(vals.to_numpy())) if vals.notna().any() else 1.0
    for yi, v in enumerate(vals):
        txt = SUPPRESSED_MARK if pd.isna(v) else fmt.format(v)
        ax.text(0 if pd.isna(v) else v, yi, f" {txt}", va="center", fontsize=_SMALL)
    if target is not None:
        ax.axvline(target, color=PALETTE["accent"], lw=1.2, ls="--", label=target_label)
        ax.legend(frameon=False, fontsize=_SMALL, loc="lower right")
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
            fontsize=_SMALL,
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
    fig, ax = _figure(max(2.5, 0.42 * len(share) + 1.6))
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
                    fontsize=_SMALL,
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
        fontsize=_SMALL,
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
    fig, ax = _figure(2.6)
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
                    fontsize=_SMALL,
                )
    if highlight is not None:
        ax.axvline(highlight, color=PALETTE["grey"], lw=0.8, ls=":")
    ax.set_xticks(list(f[x]), [f"{v}年" for v in f[x]])
    ax.set_ylabel(ylabel)
    ax.margins(x=0.08, y=0.2)  # end labels clear of the axes
    _from_zero(ax)
    if len(cols) > 1 or labels:
        ax.legend(frameon=False, fontsize=_SMALL)
    _title(ax, title)
    return fig


def forest(
    frame: pd.DataFrame,
    *,
    label: str,
    estimate: str = "estimate",
    ci_low: str = "ci_low",
    ci_high: str = "ci_high",
    title: str | None = None,
    xlabel: str = "效应估计值",
    muted: Sequence[bool] | None = None,
) -> Figure:
    """Estimates with confidence intervals, one row per group (forest plot).

    Parameters
    ----------
    frame
        One row per group.
    label
        Column with the row labels.
    muted
        Optional boolean per row: drawn grey (e.g. groups too small to interpret).
    """
    f = frame.reset_index(drop=True)
    mute = (
        np.asarray(muted, dtype=bool) if muted is not None else np.zeros(len(f), bool)
    )
    fig, ax = _figure(max(2.3, 0.34 * len(f) + 1.0))
    y = np.arange(len(f))
    est = f[estimate].to_numpy(dtype=float)
    lo = f[ci_low].to_numpy(dtype=float)
    hi = f[ci_high].to_numpy(dtype=float)
    for yi in y:
        colour = PALETTE["grey"] if mute[yi] else PALETTE["main"]
        ax.plot([lo[yi], hi[yi]], [yi, yi], color=colour, lw=1.6)
        ax.scatter([est[yi]], [yi], color=colour, s=22, zorder=3)
    ax.axvline(0, color="black", lw=0.7)
    ax.set_yticks(y, [str(s) for s in f[label]])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    _title(ax, title)
    return fig
