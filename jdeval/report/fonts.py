"""Register the CJK font used by every jdeval chart.

matplotlib's default fonts have no Chinese glyphs: Chinese labels come out as boxes
and matplotlib warns "Glyph ... missing from font(s)".  The ``zhplot`` wheel ships
Noto Sans SC (SIL Open Font License).  We locate that file through the package
metadata *without importing* ``zhplot`` (its import rewrites matplotlib settings as a
side effect) and register it explicitly with matplotlib's font manager, which also
avoids matplotlib's stale font-cache trap.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
from pathlib import Path

from jdeval.errors import ConfigError, Problem

FONT_FILE = "NotoSansSC-Regular.ttf"
FONT_FAMILY = "Noto Sans SC"

__all__ = ["FONT_FAMILY", "FONT_FILE", "font_path", "setup"]

_registered: Path | None = None


def _from_metadata() -> Path | None:
    try:
        dist = importlib.metadata.distribution("zhplot")
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if f.name == FONT_FILE:
            p = Path(dist.locate_file(f))
            if p.is_file():
                return p
    return None


def _from_spec() -> Path | None:
    # find_spec of a top-level package does not execute it.
    spec = importlib.util.find_spec("zhplot")
    if spec is None or spec.origin is None:
        return None
    for p in Path(spec.origin).parent.rglob(FONT_FILE):
        return p
    return None


def font_path() -> Path:
    """Return the path of the bundled Noto Sans SC font file.

    Returns
    -------
    pathlib.Path
        Path of ``NotoSansSC-Regular.ttf`` inside the installed ``zhplot``
        distribution.

    Raises
    ------
    ConfigError
        If ``zhplot`` is not installed or carries no font file.
    """
    p = _from_metadata() or _from_spec()
    if p is None:
        raise ConfigError(
            "找不到中文字体 / CJK font not found",
            [
                Problem(
                    "error",
                    "cjk_font_missing",
                    f"未找到 zhplot 附带的字体 {FONT_FILE}；请安装 zhplot（pip install zhplot）。",
                    f"{FONT_FILE} shipped by zhplot was not found; install zhplot.",
                )
            ],
        )
    return p


def setup() -> str:
    """Register the CJK font with matplotlib and make it the default sans-serif.

    Idempotent; call it before plotting.  Sets ``font.family`` to sans-serif with
    Noto Sans SC first (so both Chinese and Latin text use it) and
    ``axes.unicode_minus = False`` (the Unicode minus sign is absent from many CJK
    fonts).

    Returns
    -------
    str
        The registered font family name.
    """
    global _registered
    import matplotlib as mpl
    from matplotlib import font_manager

    path = font_path()
    if _registered != path:
        font_manager.fontManager.addfont(str(path))
        _registered = path
    family = font_manager.FontProperties(fname=str(path)).get_name()
    sans = [family] + [f for f in mpl.rcParams["font.sans-serif"] if f != family]
    mpl.rcParams["font.family"] = "sans-serif"
    mpl.rcParams["font.sans-serif"] = sans
    mpl.rcParams["axes.unicode_minus"] = False
    return family
