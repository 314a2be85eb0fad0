"""Result objects shared by every effect estimator of :mod:`jdeval.effects`.

Every estimator (Callaway–Sant'Anna aggregations, TWFE, event studies, matching) returns
an :class:`EffectResult` (or its subclass :class:`AggregateResult`): a tidy table of
estimates plus an overall effect, with the same methods everywhere:

``to_frame()``
    Tidy :class:`pandas.DataFrame`. The first column(s) say what a row is —
    ``event_time`` (event studies / dynamic aggregation), ``group`` (cohort),
    ``time`` (calendar period), ``group`` + ``time`` (group-time ATTs) or ``term``
    (regression coefficients) — then always ``estimate``, ``se``, ``ci_low``,
    ``ci_high``; when a multiplier bootstrap was run also ``cband_low`` and
    ``cband_high`` (simultaneous / uniform band); optionally ``p_value``, ``n``.
``overall_att``, ``overall_se``, ``overall_ci``
    The one-number summary (``nan`` when an estimator has none).
``summary()``
    Readable text with Chinese and English labels.
``plot(ax=None)``
    Matplotlib chart: the row key on the x axis, a reference line at 0, CI bars and
    (if present) the uniform band. Fonts are *not* set here; call
    ``jdeval.report.fonts.setup()`` first when labels are Chinese.
``_repr_html_()``
    Rendering in JupyterLab.

Metadata (``estimator``, ``control_group``, ``n_units``, ``se_type``, ``outcome``,
``alp``, ``notes``) travels with the numbers so a report can say how they were made.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["EffectResult", "AggregateResult", "KEY_COLUMNS", "VALUE_COLUMNS"]

#: Columns that identify a row, in the order they are looked for.
KEY_COLUMNS: tuple[str, ...] = ("group", "time", "event_time", "term")
#: Columns that carry numbers, in display order (only those present are shown).
VALUE_COLUMNS: tuple[str, ...] = (
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "cband_low",
    "cband_high",
    "p_value",
    "n",
)

_KEY_LABELS = {
    "zh": {
        "event_time": "相对处理时间",
        "group": "处理批次（首次受资助年份）",
        "time": "年份",
        "term": "变量",
        "estimate": "估计值",
        "se": "标准误",
    },
    "en": {
        "event_time": "event time (periods since first treatment)",
        "group": "cohort (first treated period)",
        "time": "period",
        "term": "term",
        "estimate": "estimate",
        "se": "standard error",
    },
}

_KIND_ZH = {
    "simple": "简单加权平均 simple",
    "dynamic": "事件研究 dynamic / event study",
    "group": "按批次 by cohort",
    "calendar": "按年份 by calendar period",
    "group_time": "组别-时间 ATT(g,t)",
    "twfe": "双向固定效应 TWFE",
    "event_study": "事件研究 event study",
    "matching": "匹配 matching",
}


def normal_p_value(est: float, se: float) -> float:
    """Two-sided normal p-value of ``est / se`` (``nan`` without a positive SE)."""
    if not np.isfinite(se) or se <= 0:
        return math.nan
    return float(2 * special.ndtr(-abs(est / se)))


def normal_inference(est: float, se: float, alp: float) -> dict[str, float]:
    """``estimate, se, ci_low, ci_high, p_value`` of one normal estimate."""
    z = special.ndtri(1 - alp / 2)
    return {
        "estimate": est,
        "se": se,
        "ci_low": est - z * se,
        "ci_high": est + z * se,
        "p_value": normal_p_value(est, se),
    }


@dataclass
class EffectResult:
    """Estimates of a policy effect in a tidy table, with an overall effect.

    Parameters
    ----------
    frame
        Tidy table: key column(s) (see :data:`KEY_COLUMNS`), then ``estimate``,
        ``se``, ``ci_low``, ``ci_high`` and optionally ``cband_low``,
        ``cband_high``, ``p_value``, ``n``.
    overall_att, overall_se
        Overall effect and its standard error (``nan`` if not defined).
    estimator
        Human-readable estimator name, e.g. ``"Callaway-Sant'Anna (dr)"``.
    kind
        What the rows are: ``"simple"``, ``"dynamic"``, ``"group"``,
        ``"calendar"``, ``"group_time"``, ``"twfe"``, ``"event_study"``,
        ``"matching"``.
    control_group
        ``"nevertreated"``, ``"notyettreated"`` or ``None``.
    n_units
        Number of cross-sectional units (firms) used.
    se_type
        How standard errors were computed, in words (e.g. "influence function,
        clustered by firm").
    alp
        Significance level of the confidence intervals (0.05 → 95 % CIs).
    outcome
        Name of the outcome variable.
    crit_val
        Critical value used for the uniform band (bootstrap), if any.
    t_df
        Degrees of freedom of Student-t critical values and p-values of the
        overall effect (``G - 1`` when clustering by a level with few groups);
        ``None`` for normal ones.
    overall_crit, overall_p
        Critical value of the pointwise interval and p-value of the overall effect
        when they come from elsewhere (a wild cluster bootstrap-t); ``None`` uses
        the normal or ``t_df`` distribution.
    notes
        Warnings / remarks to show to the reader (Chinese first).
    extra
        Anything estimator-specific (kept out of the table).
    """

    frame: pd.DataFrame
    overall_att: float = math.nan
    overall_se: float = math.nan
    estimator: str = ""
    kind: str = ""
    control_group: str | None = None
    n_units: int | None = None
    se_type: str = ""
    alp: float = 0.05
    outcome: str | None = None
    crit_val: float | None = None
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    t_df: float | None = None
    overall_crit: float | None = None
    overall_p: float | None = None

    # ------------------------------------------------------------------ numbers
    @property
    def key_columns(self) -> list[str]:
        """Columns of :meth:`to_frame` that identify a row."""
        return [c for c in KEY_COLUMNS if c in self.frame.columns]

    @property
    def overall_ci(self) -> tuple[float, float]:
        """Pointwise ``1 - alp`` confidence interval of the overall effect.

        Normal unless :attr:`overall_crit` (bootstrap-t) or :attr:`t_df` is set.
        """
        if self.overall_crit is not None:
            z = self.overall_crit
        elif self.t_df is not None:
            z = special.stdtrit(self.t_df, 1 - self.alp / 2)
        else:
            z = special.ndtri(1 - self.alp / 2)
        return (
            self.overall_att - z * self.overall_se,
            self.overall_att + z * self.overall_se,
        )

    @property
    def overall_p_value(self) -> float:
        """Two-sided p-value of the overall effect (``nan`` without SE).

        Normal, Student-t with :attr:`t_df` degrees of freedom, or
        :attr:`overall_p` when set (bootstrap).
        """
        if self.overall_p is not None:
            return self.overall_p
        if self.t_df is not None:
            se = self.overall_se
            if not np.isfinite(se) or se <= 0:
                return math.nan
            return float(2 * special.stdtr(self.t_df, -abs(self.overall_att / se)))
        return normal_p_value(self.overall_att, self.overall_se)

    def to_frame(self) -> pd.DataFrame:
        """Return a copy of the tidy table of estimates."""
        return self.frame.copy()

    # ------------------------------------------------------------------ text
    def _header_lines(self) -> list[str]:
        level = round(100 * (1 - self.alp))
        lines = [f"{self.estimator}  [{_KIND_ZH.get(self.kind, self.kind)}]"]
        if self.outcome:
            lines.append(f"结果变量 outcome: {self.outcome}")
        if self.control_group:
            cg = {
                "nevertreated": "从未受资助 never treated",
                "notyettreated": "尚未受资助 not yet treated",
            }.get(self.control_group, self.control_group)
            lines.append(f"对照组 control group: {cg}")
        if self.n_units is not None:
            lines.append(f"单位数 units: {self.n_units}")
        if self.se_type:
            lines.append(f"标准误 standard errors: {self.se_type}")
        if np.isfinite(self.overall_att):
            lo, hi = self.overall_ci
            lines.append(
                f"总体效应 overall ATT: {self.overall_att:.4f} "
                f"(SE {self.overall_se:.4f}; {level}% CI [{lo:.4f}, {hi:.4f}]; "
                f"p = {self.overall_p_value:.3g})"
            )
        return lines

    def summary(self) -> str:
        """Readable text summary with Chinese and English labels."""
        lines = self._header_lines()
        if len(self.frame):
            cols = self.key_columns + [c for c in VALUE_COLUMNS if c in self.frame]
            lines.append("")
            lines.append(
                self.frame[cols].to_string(index=False, float_format="{:.4f}".format)
            )
        if self.crit_val is not None:
            lines.append(
                f"一致置信带临界值 uniform-band critical value: {self.crit_val:.3f}"
            )
        lines += [f"注 note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head = "<br>".join(html.escape(x) for x in self._header_lines())
        cols = self.key_columns + [c for c in VALUE_COLUMNS if c in self.frame]
        table = (
            self.frame[cols].to_html(
                index=False, float_format="{:.4f}".format, border=0
            )
            if len(self.frame)
            else ""
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        notes = f"<ul>{notes}</ul>" if notes else ""
        return f'<div class="jdeval-effect"><p>{head}</p>{table}{notes}</div>'

    # ------------------------------------------------------------------ plot
    def plot(
        self, ax=None, *, lang: str = "zh", color: str = "C0", title: str | None = None
    ):
        """Plot the estimates with confidence intervals.

        Parameters
        ----------
        ax
            Matplotlib axes to draw on; a new figure is made if ``None``.
        lang
            ``"zh"`` (default) or ``"en"`` axis labels. Chinese labels need a CJK
            font registered first (``jdeval.report.fonts.setup()``).
        color
            Colour of post-treatment points (pre-treatment points are grey).
        title
            Optional axes title.

        Returns
        -------
        matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        labels = _KEY_LABELS.get(lang, _KEY_LABELS["en"])
        df = self.frame
        keys = self.key_columns
        if "event_time" in keys:
            xcol = "event_time"
        elif keys == ["group", "time"]:
            xcol = None
        elif keys:
            xcol = keys[0]
        else:
            xcol = None
        if xcol is None and {"group", "time"} <= set(df.columns):
            x = np.arange(len(df))
            ticklabels = [f"{g}-{t}" for g, t in zip(df["group"], df["time"])]
            post = (df["time"] >= df["group"]).to_numpy()
            xlabel = f"{labels['group']} - {labels['time']}"
        elif xcol is not None and pd.api.types.is_numeric_dtype(df[xcol]):
            x = df[xcol].to_numpy(dtype=float)
            ticklabels = None
            post = x >= 0 if xcol == "event_time" else np.ones(len(df), bool)
            xlabel = labels[xcol]
        else:
            x = np.arange(len(df))
            ticklabels = [str(v) for v in (df[xcol] if xcol else df.index)]
            post = np.ones(len(df), bool)
            xlabel = labels.get(xcol or "term", "")
        est = df["estimate"].to_numpy(dtype=float)
        if "cband_low" in df and df["cband_low"].notna().any():
            ax.fill_between(
                x,
                df["cband_low"].to_numpy(dtype=float),
                df["cband_high"].to_numpy(dtype=float),
                color=color,
                alpha=0.15,
                step=None,
                linewidth=0,
            )
        for mask, c in ((~post, "0.45"), (post, color)):
            if mask.any():
                lo = df["ci_low"].to_numpy(dtype=float)[mask]
                hi = df["ci_high"].to_numpy(dtype=float)[mask]
                ax.errorbar(
                    x[mask],
                    est[mask],
                    yerr=np.vstack([est[mask] - lo, hi - est[mask]]),
                    fmt="o",
                    color=c,
                    capsize=3,
                )
        ax.axhline(0.0, color="black", linewidth=0.8)
        if xcol == "event_time":
            ax.axvline(-0.5, color="0.6", linewidth=0.8, linestyle="--")
        if ticklabels is not None:
            ax.set_xticks(x)
            ax.set_xticklabels(ticklabels, rotation=45 if len(x) > 6 else 0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(labels["estimate"])
        if title:
            ax.set_title(title)
        return ax


@dataclass
class AggregateResult(EffectResult):
    """An aggregation of group-time ATTs (Callaway & Sant'Anna 2021, sec. 3).

    Same interface as :class:`EffectResult`; ``kind`` is one of ``"simple"``,
    ``"group"``, ``"dynamic"``, ``"calendar"``. Event studies from other estimators
    may use this class too, so a report can treat all event studies alike.
    ``extra`` may hold ``"influence"``: the ``n_units × len(frame)`` influence
    function matrix of the rows (for further linear combinations).
    """

    type: str = ""

    def __post_init__(self) -> None:
        if not self.type:
            self.type = self.kind
        if not self.kind:
            self.kind = self.type

    def honest_did(self, e: int = 0, type: str = "relative_magnitude", **kw):  # noqa: A002
        """Rambachan–Roth sensitivity of the effect at event time ``e``.

        See :func:`jdeval.effects.honest.honest_from_event_study` (needs a dynamic
        aggregation with ``base_period="universal"``).
        """
        from jdeval.effects.honest import honest_from_event_study

        return honest_from_event_study(self, e=e, type=type, **kw)
