"""Where things are: the project folder, default inputs, and paths as pages show them.

Published pages, the kept notebooks and the manifest never show a path of the build
machine (issue 14): a file inside the project is shown relative to the project
folder (``data/targets/zgsz_2024.yaml``), anything else by its name only.  The
manifest records inputs outside the project relative to the report folder, so that
``jdeval verify`` still finds them when report and data move together.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "PROJECT",
    "default_assessments",
    "default_narrative",
    "default_report_dir",
    "default_targets",
    "display_path",
    "is_bundled_data",
    "portable_path",
    "resolve_portable",
]

#: The project folder (the repository holding ``jdeval/``, ``data/``, ``notebooks/``).
PROJECT = Path(__file__).resolve().parents[2]


def _inside(p: Path, folder: Path) -> bool:
    try:
        p.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def display_path(p: str | Path | None) -> str:
    """How a page shows a path: relative to the project, else the file name only.

    Parameters
    ----------
    p
        Any path (``None`` or ``""`` gives ``""``).

    Returns
    -------
    str
        ``data/synthetic`` for a path inside the project, ``real_2024`` for
        ``/home/user/real_2024``.
    """
    if not p:
        return ""
    path = Path(p)
    if _inside(path, PROJECT):
        rel = path.resolve().relative_to(PROJECT)
        return rel.as_posix() or "."
    return path.name


def portable_path(p: Path, report_dir: Path) -> tuple[str, str]:
    """A path the manifest can record without naming the build machine.

    Returns
    -------
    (str, str)
        ``(path, base)``: relative to the project (``base="project"``) when the file
        is inside it, otherwise relative to the report folder (``base="report"``).
    """
    p = Path(p).absolute()
    if _inside(p, PROJECT):
        return p.resolve().relative_to(PROJECT).as_posix(), "project"
    rel = os.path.relpath(p, Path(report_dir).absolute())
    return Path(rel).as_posix(), "report"


def resolve_portable(path: str, base: str, report_dir: Path) -> Path:
    """Inverse of :func:`portable_path` (absolute paths of old manifests kept)."""
    p = Path(path)
    if p.is_absolute():
        return p
    if base == "project":
        return PROJECT / p
    return (Path(report_dir).absolute() / p).resolve()


def default_targets() -> Path | None:
    """The bundled targets file ``data/targets/zgsz_2024.yaml`` (if present)."""
    p = PROJECT / "data" / "targets" / "zgsz_2024.yaml"
    return p if p.is_file() else None


def default_narrative(year: int) -> Path | None:
    """The evaluator's narrative file ``data/narrative/overrides_<year>.yaml``."""
    p = PROJECT / "data" / "narrative" / f"overrides_{year}.yaml"
    return p if p.is_file() else None


def is_bundled_data(data: Path) -> bool:
    """Whether ``data`` is the bundled synthetic dataset (``data/synthetic``)."""
    return Path(data).resolve() == (PROJECT / "data" / "synthetic").resolve()


def default_assessments(year: int, data: Path) -> Path | None:
    """The assessments a build uses when none is given.

    ``data/assessments/assessments_<year>.yaml`` (the evaluator's own file) when
    present; for the bundled synthetic data only, the demonstration file
    ``data/assessments/example_<year>.yaml`` — never for real data, whose report must
    not carry fictitious judgments.
    """
    folder = PROJECT / "data" / "assessments"
    own = folder / f"assessments_{year}.yaml"
    if own.is_file():
        return own
    example = folder / f"example_{year}.yaml"
    if is_bundled_data(data) and example.is_file():
        return example
    return None


def default_report_dir(year: int, data: Path) -> Path:
    """``reports/<year>`` for the bundled data, ``reports/<data folder>/<year>`` else.

    A real-data report and the bundled demonstration never overwrite each other.
    """
    if is_bundled_data(data):
        return Path("reports") / str(year)
    return Path("reports") / Path(data).resolve().name / str(year)
