"""The ``index.html`` of a report folder: headline results and links to every part.

The headline figures come from the JSON each notebook wrote with
:func:`jdeval.build.headline.publish` — never from scraping the rendered pages.
Conventions for the published keys:

``total``, ``grade``, ``scheme``
    Total score, grade and weight scheme (preferably from ``05_annual_report``,
    then ``03_indicators``, then any notebook).
``effects``
    List of dicts; the index shows those with the report's display strings
    ``outcome_zh``, ``shown``, ``shown_ci``, ``p_value_shown``, ``strength_zh``,
    ``n_treated_shown`` (from ``05_annual_report``).  Raw estimates (as
    ``02_policy_effects`` publishes them for tests) are not shown.
``cards``
    List of ``[label, value]`` shown as extra headline cards.
``highlights``
    List of ``[label, value]`` shown under the notebook's link.
``docx``
    File name of a Word report the notebook wrote into the report folder.
``xlsx``
    File name of the 项目支出绩效自评表 workbook the notebook wrote there.
``title``
    Title of the whole report (e.g. 《…政策2024年度绩效评价报告》).
``unavailable``
    Sections that could not be written because an optional input was genuinely
    absent: a mapping section → reason (``Report.unavailable``), or a list of
    ``[section, reason]``.  Listed on the index page and in the build log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from jdeval.build import headline
from jdeval.build.htmlexport import TEMPLATE_DIR, parameters_zh

__all__ = ["unavailable_sections", "write_index"]

_SCORE_SOURCES = ("05_annual_report", "03_indicators")


def _num(x: Any, digits: int) -> str:
    if x is None or isinstance(x, bool):
        return "—"
    try:
        return f"{float(x):.{digits}f}"
    except (TypeError, ValueError):
        return str(x)


def _effects(items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Rows of the effects table from the report's formatted effect facts.

    Only items carrying the report's display strings (``shown``, ``shown_ci``,
    ``strength_zh`` — published by ``05_annual_report`` from
    :class:`jdeval.report.evidence.EffectFact`) are shown, so the index page
    repeats the report's labels, units and strength of evidence instead of
    re-formatting raw estimates.
    """
    return [
        {
            "label": str(e.get("outcome_zh") or "—"),
            "estimate": str(e["shown"]),
            "ci": str(e.get("shown_ci") or "—"),
            "p_value": str(e.get("p_value_shown") or "—"),
            "strength": str(e.get("strength_zh") or "—"),
            "n_treated": str(e.get("n_treated_shown") or "—"),
        }
        for e in items
        if e.get("shown")
    ]


def _size(p: Path) -> str:
    n = p.stat().st_size
    return f"{n / 1024:.0f} KB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MB"


def unavailable_sections(published: Mapping[str, Mapping[str, Any]]) -> list[tuple]:
    """``(section, reason)`` of every "not available" section the notebooks named."""
    out: list[tuple[str, str]] = []
    for h in published.values():
        items = (h or {}).get("unavailable") or []
        if isinstance(items, Mapping):
            items = list(items.items())
        for item in items:
            name, reason = (item[0], item[1]) if len(item) > 1 else (item[0], "")
            if (str(name), str(reason)) not in out:
                out.append((str(name), str(reason)))
    return out


def write_index(
    root: Path,
    *,
    year: int,
    suite: Sequence[Any],
    parameters: Mapping[str, Any],
    fingerprint: str,
    build_time: str,
    version: str,
    manifest_digest: str = "",
    synthetic: bool = False,
) -> Path:
    """Write ``index.html`` into the (staged) report folder ``root``.

    Parameters
    ----------
    root
        Report folder holding ``<name>.html`` pages and ``results/<name>.json``.
    year
        Evaluation year.
    suite
        The notebooks (objects with ``name``, ``title_zh``, ``title_en``), in order.
    parameters, fingerprint, build_time, version
        Header facts.
    manifest_digest
        Digest of the manifest's core, shown in the footer and a ``<meta>``.
    synthetic
        The data are the synthetic demonstration data: say so at the top.

    Returns
    -------
    pathlib.Path
        The index file.
    """
    root = Path(root)
    published = {nb.name: headline.load(root / "results", nb.name) for nb in suite}
    score = None
    preferred = [n for n in _SCORE_SOURCES if n in published]
    for name in preferred + [n for n in published if n not in preferred]:
        h = published.get(name) or {}
        if h.get("total") is not None:
            score = {
                "total": _num(h["total"], 2),
                "grade": h.get("grade") or "—",
                "scheme": h.get("scheme"),
            }
            break
    title = next((h["title"] for h in published.values() if h.get("title")), None)
    effects: list[dict[str, str]] = []
    cards: list[tuple[str, str]] = []
    downloads = []
    for nb in suite:
        h = published.get(nb.name) or {}
        if not effects and h.get("effects"):
            effects = _effects(h["effects"])
        cards += [(str(lbl), str(val)) for lbl, val in h.get("cards") or []]
        doc = h.get("docx")
        if doc and (root / doc).is_file():
            downloads.append(
                {
                    "href": doc,
                    "label": "年度绩效评价报告（Word文件）",
                    "size": _size(root / doc),
                }
            )
        book = h.get("xlsx")
        if book and (root / book).is_file():
            downloads.append(
                {
                    "href": book,
                    "label": "项目支出绩效自评表（Excel文件）",
                    "size": _size(root / book),
                }
            )
    pages = [
        {
            "href": f"{nb.name}.html",
            "title_zh": nb.title_zh,
            "title_en": nb.title_en,
            "highlights": [
                (str(lbl), str(val))
                for lbl, val in (published.get(nb.name) or {}).get("highlights") or []
            ],
        }
        for nb in suite
    ]
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        keep_trailing_newline=True,
    )
    text = env.get_template("report_index.html.j2").render(
        title_zh=title or f"{year} 年度绩效评价报告",
        title_en=f"Performance-evaluation report {year}",
        css=(TEMPLATE_DIR / "report_index.css").read_text(encoding="utf-8"),
        parameters=parameters_zh(parameters),
        fingerprint=fingerprint,
        build_time=build_time,
        version=version,
        score=score,
        effects=effects,
        extra_cards=cards,
        pages=pages,
        downloads=downloads,
        manifest_digest=manifest_digest,
        synthetic=synthetic,
        unavailable=unavailable_sections(published),
    )
    out = root / "index.html"
    out.write_text(text, encoding="utf-8")
    return out
