"""Render an executed notebook as one self-contained, offline HTML page.

The page uses nbconvert's JupyterLab look through the ``jdeval_offline`` template
(``templates/jdeval_offline``), which drops every script and style the stock template
fetches from public CDNs.  Images stay embedded as ``data:`` URIs.  Code cells are
hidden unless ``show_code``.  A header states the parameters, the data fingerprint,
the build time and the jdeval version; a table of contents lists the headings.

Text outputs are escaped by nbconvert; ``text/html`` outputs come from pandas / jdeval
objects, which escape the data they render.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

__all__ = [
    "BUILD_FACTS",
    "PageInfo",
    "TEMPLATE_DIR",
    "fill_page",
    "render_html",
    "table_of_contents",
]

#: Header facts that change from build to build while the notebook does not: a
#: page is rendered once with these placeholders (kept in the build cache) and
#: :func:`fill_page` puts in each build's values, so a reused notebook needs no
#: nbconvert run.
BUILD_FACTS = {
    "fingerprint": "JDEVALPAGEFINGERPRINT0000",
    "build_time": "JDEVALPAGEBUILDTIME0000",
    "manifest_digest": "JDEVALPAGEMANIFESTDIGEST0000",
}


def fill_page(template: str, info: PageInfo) -> str:
    """A page rendered with :data:`BUILD_FACTS` placeholders, with ``info``'s values.

    Raises
    ------
    ValueError
        If a placeholder is missing from ``template`` (not rendered by this module).
    """
    for name, token in BUILD_FACTS.items():
        if token not in template and getattr(info, name):
            raise ValueError(f"page template lacks the {name} placeholder")
        template = template.replace(token, html.escape(str(getattr(info, name))))
    return template


#: Folder holding jdeval's nbconvert templates.
TEMPLATE_DIR = Path(__file__).with_name("templates")
_TOC_MARK = "<!-- JDEVAL_TOC -->"
_HEADING = re.compile(r"<h([1-3])(\s[^>]*)?>", re.IGNORECASE)


def add_heading_ids(body: str) -> str:
    """Give every h1–h3 without an ``id`` a stable one (``jd-h-<n>``).

    Headings rendered by outputs (e.g. the sections of the annual report) carry no
    id; with one they can be listed in the table of contents.
    """
    counter = iter(range(1, 1_000_000))

    def repl(m: re.Match) -> str:
        attrs = m.group(2) or ""
        if re.search(r"\bid\s*=", attrs):
            return m.group(0)
        return f'<h{m.group(1)} id="jd-h-{next(counter)}"{attrs}>'

    return _HEADING.sub(repl, body)


#: Build parameters as the pages name them (Chinese only; values stay code).
_PARAMETER_ZH = {
    "year": "评价年度",
    "data_dir": "数据目录",
    "as_of": "评价基准日",
    "targets": "绩效目标文件",
    "assessments": "专家评估文件",
    "narrative": "叙述与封面文件",
    "scheme": "权重方案",
    "audience": "读者版本",
    "show_code": "显示代码",
}
_AUDIENCE_ZH = {"reviewer": "评审版（脱敏）", "internal": "内部版"}


def parameters_zh(parameters: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` of the build parameters in Chinese."""
    out = []
    for k, v in parameters.items():
        value = _AUDIENCE_ZH.get(str(v), str(v)) if k == "audience" else str(v)
        out.append((_PARAMETER_ZH.get(k, k), value))
    return out


@dataclass(frozen=True)
class PageInfo:
    """What the header of a report page states.

    Parameters
    ----------
    title_zh, title_en
        Page title in Chinese and English.
    parameters
        ``(name, value)`` pairs shown in the header (the notebook parameters).
    fingerprint
        Short fingerprint of the input data (SHA-256 over the input files).
    build_time
        When the build ran (the only line that differs between identical builds).
    version
        jdeval version.
    report_title
        Title of the whole report the page belongs to (shown above the page).
    manifest_digest
        SHA-256 of the manifest's core (:func:`jdeval.build.manifest.core_digest`),
        shown in the header and in ``<meta name="jdeval-manifest-digest">``.
    """

    title_zh: str
    title_en: str
    parameters: tuple[tuple[str, str], ...]
    fingerprint: str
    build_time: str
    version: str
    report_title: str = ""
    manifest_digest: str = ""


class _Headings(HTMLParser):
    """Collect ``<h1>``–``<h3>`` elements that carry an ``id``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[int, str, str]] = []
        self._open: tuple[int, str] | None = None
        self._text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("h1", "h2", "h3"):
            ident = dict(attrs).get("id")
            if ident:
                self._open, self._text = (int(tag[1]), ident), []
        elif (
            tag == "a"
            and self._open
            and "anchor-link" in (dict(attrs).get("class") or "")
        ):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag == "a" and self._skip:
            self._skip -= 1
        elif self._open and tag == f"h{self._open[0]}":
            level, ident = self._open
            self.items.append((level, ident, "".join(self._text).strip()))
            self._open = None

    def handle_data(self, data):
        if self._open and not self._skip:
            self._text.append(data)


def table_of_contents(body: str) -> list[tuple[int, str, str]]:
    """Return ``(level, id, text)`` of every h1–h3 heading with an id in ``body``."""
    parser = _Headings()
    parser.feed(body)
    return parser.items


def _toc_html(items: Iterable[tuple[int, str, str]]) -> str:
    items = list(items)
    if not items:
        return ""
    top = min(level for level, _, _ in items)
    lines = ["<ol>"]
    for level, ident, text in items:
        depth = level - top + 1
        if depth > 3 or not text:
            continue
        cls = f"jd-toc-{depth}"
        lines.append(
            f'<li class="{cls}"><a href="#{html.escape(ident, quote=True)}">'
            f"{html.escape(text)}</a></li>"
        )
    lines.append("</ol>")
    return "\n".join(lines)


@functools.cache
def _exporter(show_code: bool):
    """One exporter per setting and process: its templates are compiled once."""
    from nbconvert import HTMLExporter

    return HTMLExporter(
        template_name="jdeval_offline",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=not show_code,
        exclude_input_prompt=not show_code,
        exclude_output_prompt=True,
        embed_images=True,
    )


def warm(show_code: bool = False) -> None:
    """Compile the page templates now (a worker does it while its kernel starts)."""
    import nbformat

    _exporter(show_code).from_notebook_node(
        nbformat.v4.new_notebook(), resources={"jdeval": {}}
    )


def render_html(
    notebook: Path | Any,
    out: Path,
    info: PageInfo,
    *,
    show_code: bool = False,
) -> Path:
    """Render an executed notebook to a self-contained offline HTML file.

    Parameters
    ----------
    notebook
        Executed ``.ipynb`` path or notebook node.
    out
        HTML file to write.
    info
        Header facts (parameters, data fingerprint, build time, version).
    show_code
        Show code cells (hidden by default: reviewers read the narrative).

    Returns
    -------
    pathlib.Path
        ``out``.
    """
    import nbformat  # slow to import: only where a page is rendered

    if not isinstance(notebook, nbformat.NotebookNode):
        notebook = nbformat.read(str(notebook), as_version=4)
    exporter = _exporter(show_code)
    css = (TEMPLATE_DIR / "jdeval_offline" / "jdeval.css").read_text(encoding="utf-8")
    resources = {
        "metadata": {"name": info.title_zh},
        "jdeval": {
            "css": css,
            "title_zh": info.title_zh,
            "title_en": info.title_en,
            "parameters": parameters_zh(dict(info.parameters)),
            "fingerprint": info.fingerprint,
            "build_time": info.build_time,
            "version": info.version,
            "report_title": info.report_title,
            "manifest_digest": info.manifest_digest,
            "body_class": "" if show_code else "jd-hide-stderr",
        },
    }
    body, _ = exporter.from_notebook_node(notebook, resources=resources)
    head, sep, main = body.partition("<main>")
    main = add_heading_ids(main)
    body = head.replace(_TOC_MARK, _toc_html(table_of_contents(main)), 1) + sep + main
    out = Path(out)
    out.write_text(body, encoding="utf-8")
    return out
