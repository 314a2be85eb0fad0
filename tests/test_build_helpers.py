"""Helpers shared by the build tests: tiny notebooks and HTML checks."""

from __future__ import annotations

import hashlib
import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

# src= / href= / @import / url(...) pointing at http(s) or protocol-relative URLs.
EXTERNAL = re.compile(
    r"""(?:\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:@import\s+(?:url\()?\s*["']?\s*(?:https?:)?//)"""
    r"""|(?:url\(\s*["']?\s*(?:https?:)?//)""",
    re.IGNORECASE,
)


def external_refs(text: str) -> list[str]:
    """Every reference to an external resource in an HTML text."""
    return [
        text[max(0, m.start() - 40) : m.end() + 60] for m in EXTERNAL.finditer(text)
    ]


def make_notebook(path: Path, params: str, cells: list[tuple[str, str]], **meta):
    """Write a notebook: a tagged parameters cell then ``(kind, source)`` cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = KERNELSPEC
    if meta:
        nb.metadata["jdeval"] = meta
    p = nbformat.v4.new_code_cell(params)
    p.metadata["tags"] = ["parameters"]
    out = []
    for kind, src in cells:
        if kind == "md":
            out.append(nbformat.v4.new_markdown_cell(src))
        else:
            out.append(nbformat.v4.new_code_cell(src))
    nb.cells = out[:1] + [p] + out[1:]
    for i, c in enumerate(nb.cells):
        c["id"] = f"t{i}"
    nbformat.write(nb, str(path))
    return path


class Links(HTMLParser):
    """Collect href / src attribute values."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("href", "src") and v:
                self.links.append(v)


def links(text: str) -> list[str]:
    p = Links()
    p.feed(text)
    return p.links


def tree_digest(folder: Path) -> dict[str, str]:
    """``relative path -> sha256`` of every file below ``folder``."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(folder).rglob("*"))
        if p.is_file()
    }


BUILD_TIME = re.compile(r'<td class="jd-build-time">[^<]*</td>')


def normalise(html: str) -> str:
    """Remove the build-time line (the only part allowed to differ)."""
    return BUILD_TIME.sub('<td class="jd-build-time"></td>', html)


def first_difference(a: str, b: str) -> str:
    """The first differing line of two normalised texts (for assertion messages)."""
    for i, (x, y) in enumerate(
        zip(normalise(a).splitlines(), normalise(b).splitlines())
    ):
        if x != y:
            return f"line {i + 1}:\n  {x[:300]}\n  {y[:300]}"
    return "lengths differ"
