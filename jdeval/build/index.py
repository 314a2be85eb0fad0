"""The ``index.html`` of a report folder: headline results and links to every part.

The headline figures come from the JSON each notebook wrote with
:func:`jdeval.build.headline.publish` — never from scraping the rendered pages.
Conventions for the published keys:

``total``, ``grade``, ``scheme``
    Total score, grade and weight scheme (preferably from ``05_annual_report``,
    then ``03_indicators``, then any notebook).
``effects``
    List of dicts with ``outcome_zh`` (or ``outcome``), ``estimate``, ``ci_low``,
    ``ci_high``, ``p_value``, ``n_treated`` (from ``02_policy_effects``).
``cards``
    List of ``[label, value]`` shown as extra headline cards.
``highlights``
    List of ``[label, value]`` shown under the notebook's link.
``docx``
    File name of a Word report the notebook wrote into the report folder.
``title``
    Title of the whole report (e.g. 《…政策2024年度绩效评价报告》).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

from jdeval.build import headline
from jdeval.build.htmlexport import TEMPLATE_DIR

__all__ = ["write_index"]

_SCORE_SOURCES = ("05_annual_report", "03_indicators")


def _num(x: Any, digits: int) -> str:
    if x is None or isinstance(x, bool):
        return "—"
    try:
        return f"{float(x):.{digits}f}"
    except (TypeError, ValueError):
        return str(x)


def _effects(items: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for e in items:
        label = e.get("outcome_zh") or e.get("outcome") or "—"
        if e.get("outcome_zh") and e.get("outcome"):
            label = f"{e['outcome_zh']} ({e['outcome']})"
        lo, hi = e.get("ci_low"), e.get("ci_high")
        rows.append(
            {
                "label": label,
                "estimate": _num(e.get("estimate"), 3),
                "ci": "—"
                if lo is None or hi is None
                else f"[{_num(lo, 3)}, {_num(hi, 3)}]",
                "p_value": _p(e.get("p_value")),
                "n_treated": "—" if e.get("n_treated") is None else str(e["n_treated"]),
            }
        )
    return rows


def _p(x: Any) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—"
    return "<0.001" if 0 <= v < 0.001 else f"{v:.3f}"


def _size(p: Path) -> str:
    n = p.stat().st_size
    return f"{n / 1024:.0f} KB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MB"


def write_index(
    root: Path,
    *,
    year: int,
    suite: Sequence[Any],
    parameters: Mapping[str, Any],
    fingerprint: str,
    build_time: str,
    version: str,
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
                    "label": f"Word 报告 Word report（{doc}）",
                    "size": _size(root / doc),
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
        parameters=[(k, str(v)) for k, v in parameters.items()],
        fingerprint=fingerprint,
        build_time=build_time,
        version=version,
        score=score,
        effects=effects,
        extra_cards=cards,
        pages=pages,
        downloads=downloads,
    )
    out = root / "index.html"
    out.write_text(text, encoding="utf-8")
    return out
