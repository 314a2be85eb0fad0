"""The report as data: ordered sections holding paragraphs, tables and figures.

A :class:`Report` is rendered two ways from the same blocks: HTML (for the
reviewers' site and the report notebook, :mod:`jdeval.report.html`) and Word
(:mod:`jdeval.report.word`).  Numbering (一、（一）1., 表1, 图1) is assigned once,
here, so both formats agree.
"""

from __future__ import annotations

import datetime as _dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = [
    "Figure",
    "Paragraph",
    "Report",
    "Section",
    "Table",
    "chinese_numeral",
    "min_font_size",
]

_DIGITS = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (1 ≤ n ≤ 99)."""
    if not 1 <= n <= 99:
        return str(n)
    tens, ones = divmod(n, 10)
    s = ("" if tens == 1 else _DIGITS[tens]) + "十" if tens else ""
    return s + (_DIGITS[ones] if ones else "")


@dataclass
class Paragraph:
    """A paragraph of plain text (escaped when rendered to HTML).

    ``style``: ``body``, ``note`` (small, e.g. sources), ``lead`` (bold lead-in
    sentence), ``item`` (a numbered problem/recommendation).
    """

    text: str
    style: str = "body"


@dataclass
class Table:
    """A captioned table of display strings."""

    caption: str
    frame: pd.DataFrame
    footnote: str = ""
    key: str = ""
    number: int = 0
    index: bool = False
    data: Any = None  # the underlying numbers / ProtectedTable (for tests, exports)

    @property
    def label(self) -> str:
        return f"表{self.number}" if self.number else "表"


@dataclass
class Figure:
    """A captioned figure, stored as PNG bytes (rendered once).

    ``width_in`` is the drawn width (inches) and ``min_font_pt`` the smallest text
    size in it, so a renderer can check that text stays legible at print size.
    """

    caption: str
    png: bytes
    key: str = ""
    number: int = 0
    note: str = ""
    width_in: float = 0.0
    min_font_pt: float = 0.0

    @classmethod
    def from_matplotlib(
        cls, fig, caption: str, *, key: str = "", note: str = "", dpi: int = 150
    ) -> Figure:
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi)
        return cls(
            caption=caption,
            png=buf.getvalue(),
            key=key,
            note=note,
            width_in=float(fig.get_figwidth()),
            min_font_pt=min_font_size(fig),
        )

    @property
    def label(self) -> str:
        return f"图{self.number}" if self.number else "图"


def min_font_size(fig) -> float:
    """Smallest font size (pt) of any visible, non-empty text in a figure."""
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip()
    ]
    return float(min(sizes)) if sizes else 0.0


Block = Paragraph | Table | Figure


@dataclass
class Section:
    """One heading of the outline with its content.

    Attributes
    ----------
    key
        Stable identifier (``summary``, ``ch1``, ``ch1_1`` …, ``annex3``).
    heading
        Heading text without its number.
    level
        0 for unnumbered top-level parts (cover, 摘要, 前言, 附件), 1 for 一、,
        2 for （一）, 3 for 1.
    number
        The number prefix assigned by :meth:`Report.number` (``一、``, ``（一）``).
    blocks
        Paragraphs, tables and figures in order.
    """

    key: str
    heading: str
    level: int
    blocks: list[Block] = field(default_factory=list)
    number: str = ""
    page_break: bool = False

    @property
    def title(self) -> str:
        return f"{self.number}{self.heading}"

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [b for b in self.blocks if isinstance(b, Paragraph)]

    def add(self, *blocks: Block | str | None) -> Section:
        for b in blocks:
            if b is None:
                continue
            self.blocks.append(Paragraph(b) if isinstance(b, str) else b)
        return self

    @property
    def html(self) -> str:
        from jdeval.report import html

        return html.section_html(self)

    def _repr_html_(self) -> str:
        return self.html


@dataclass
class Report:
    """The annual performance-evaluation report (绩效评价报告).

    Attributes
    ----------
    title
        Document title.
    year, audience
        Evaluation year; ``reviewer`` or ``internal``.
    cover
        Cover fields (评价对象, 委托单位, 评价机构, 报告日期 …).
    sections
        Ordered outline (domain-spec §5).
    facts
        The computed facts behind the text (:mod:`jdeval.report.facts`).
    narrative
        The derived :class:`~jdeval.report.narrative.Narrative`.
    summary_zh, summary_en
        The one-page summary in Chinese and English (plain text paragraphs).
    scorecard
        The score table (DataFrame) shown in 三 and 附件1.
    unavailable
        Analyses that could not be produced, with the reason.
    date
        Report date (cover; Word metadata) — the only build-time value.
    team, signatures
        Evaluation team (``{name, role, unit}`` dicts) and signing roles for the
        signature block (:mod:`jdeval.report.cover`).
    """

    title: str
    year: int
    audience: str
    cover: dict[str, str]
    sections: list[Section]
    facts: dict[str, Any] = field(default_factory=dict)
    narrative: Any = None
    summary_zh: list[str] = field(default_factory=list)
    summary_en: list[str] = field(default_factory=list)
    scorecard: pd.DataFrame | None = None
    unavailable: dict[str, str] = field(default_factory=dict)
    date: _dt.date | None = None
    team: list[dict[str, str]] = field(default_factory=list)
    signatures: list[str] = field(default_factory=list)

    def number(self) -> Report:
        """Assign heading numbers (一、（一）1.) and table/figure numbers in order."""
        c1 = c2 = c3 = 0
        tno = fno = 0
        for s in self.sections:
            if s.level == 1:
                c1 += 1
                c2 = c3 = 0
                s.number = f"{chinese_numeral(c1)}、"
            elif s.level == 2:
                c2 += 1
                c3 = 0
                s.number = f"（{chinese_numeral(c2)}）"
            elif s.level == 3:
                c3 += 1
                s.number = f"{c3}. "
            for b in s.blocks:
                if isinstance(b, Table):
                    tno += 1
                    b.number = tno
                elif isinstance(b, Figure):
                    fno += 1
                    b.number = fno
        return self

    @property
    def tables(self) -> list[Table]:
        return [t for s in self.sections for t in s.tables]

    @property
    def figures(self) -> list[Figure]:
        return [f for s in self.sections for f in s.figures]

    def section(self, key: str) -> Section:
        """The section with ``key``."""
        for s in self.sections:
            if s.key == key:
                return s
        raise KeyError(key)

    def outline(self) -> list[str]:
        """Headings in order (numbered titles)."""
        return [s.title for s in self.sections]

    def to_html(self, *, standalone: bool = True) -> str:
        """The whole report as HTML (self-contained: CSS and images inline)."""
        from jdeval.report import html

        return html.report_html(self, standalone=standalone)

    def to_docx(self, path: str | Path) -> Path:
        """Write the Word document (.docx) and return its path.

        The file is written to a temporary name beside ``path`` and renamed, so an
        interrupted write never leaves a half-written report in its place.
        """
        from jdeval.report import word

        return word.write_docx(self, path)

    def export_tables(self, folder: str | Path) -> list[Path]:
        """Write every table as CSV (UTF-8 with BOM), formula-injection safe."""
        from jdeval.report import export

        return export.write_tables(self, folder)

    def _repr_html_(self) -> str:
        return self.to_html(standalone=False)

    def display(self) -> None:
        """Display the report section by section in a notebook."""
        from IPython.display import HTML, display

        from jdeval.report import html

        display(HTML(html.style_tag()))
        for s in self.sections:
            display(HTML(s.html))
