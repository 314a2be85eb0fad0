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


# ------------------------------------------------- one small build per test session
SMALL_PARAMS = (
    "year = 2024  # 评价年度 evaluation year\n"
    'data_dir = ""  # 数据目录 data folder\n'
    'narrative = ""  # 叙述文件 narrative file\n'
    'out_dir = ""  # 输出目录 output folder'
)

DATA_CELL = """\
from pathlib import Path
rows = Path(data_dir, "firms.csv").read_text(encoding="utf-8").splitlines()
print("企业数 firms:", len(rows) - 1)"""

TEXT_CELL = """\
from pathlib import Path
from jdeval.build import publish
text = Path(narrative).read_text(encoding="utf-8") if narrative else "（无 none）"
print("叙述 narrative:", text)
Path(out_dir or ".", "note_%d.txt" % year).write_text(text, encoding="utf-8")
publish(total=88.5, grade="良", scheme="A", title="测试报告 %d" % year,
        unavailable={"survey": "未提供问卷数据 no survey data"})"""


def make_small_suite(folder: Path) -> Path:
    """Two notebooks: one reads the data only, one also the narrative file."""
    folder.mkdir(parents=True, exist_ok=True)
    make_notebook(
        folder / "01_data.ipynb",
        SMALL_PARAMS.replace('narrative = ""  # 叙述文件 narrative file\n', ""),
        [("md", "# 数据 Data"), ("code", DATA_CELL)],
        title_zh="数据",
        title_en="Data",
    )
    make_notebook(
        folder / "02_text.ipynb",
        SMALL_PARAMS,
        [("md", "# 叙述 Narrative"), ("code", TEXT_CELL)],
        title_zh="叙述",
        title_en="Narrative",
    )
    return folder


def small_inputs(root: Path) -> dict[str, Path]:
    data = root / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "firms.csv").write_text("firm_id,name\nF1,甲\nF2,乙\n", encoding="utf-8")
    narrative = root / "narrative.yaml"
    narrative.write_text("说明: 第一稿 first draft\n", encoding="utf-8")
    return {"data": data, "narrative": narrative, "nbs": make_small_suite(root / "nbs")}


def small_build(inputs: dict[str, Path], out: Path, cache_dir: Path | None, **kw):
    """Build the small suite; returns the log lines."""
    from jdeval.build import build

    lines: list[str] = []
    build(
        2024,
        data=inputs["data"],
        narrative=inputs["narrative"],
        out=out,
        notebooks=inputs["nbs"],
        check_data=False,
        cache=cache_dir is not None,
        cache_dir=cache_dir,
        progress=lines.append,
        **kw,
    )
    return lines
