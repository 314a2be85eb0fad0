"""The build manifest: which inputs, parameters and software made a report.

``manifest.json`` in every report folder records the SHA-256 of each input file (data
tables, targets, assessments), the parameters, the versions of jdeval and the packages
it relies on, the git commit of the source tree and the build time.  ``jdeval verify``
recomputes the hashes from it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST_NAME",
    "PACKAGES",
    "fingerprint",
    "git_commit",
    "input_files",
    "make_manifest",
    "package_versions",
    "read_manifest",
    "sha256_file",
]

MANIFEST_NAME = "manifest.json"

#: Distributions whose versions are recorded (those that shape the numbers or pages).
PACKAGES = (
    "jdeval",
    "numpy",
    "pandas",
    "scipy",
    "pyfixest",
    "statsmodels",
    "matplotlib",
    "zhplot",
    "python-docx",
    "openpyxl",
    "pyarrow",
    "pyyaml",
    "jinja2",
    "papermill",
    "nbconvert",
    "nbformat",
    "nbclient",
    "ipykernel",
)


def sha256_file(path: Path, *, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def input_files(
    data: Path, targets: Path | None = None, assessments: Path | None = None
) -> list[dict[str, Any]]:
    """List every input file with its role, paths and SHA-256.

    Parameters
    ----------
    data
        Data folder: every non-hidden file below it is an input.  A single file is
        accepted too.
    targets, assessments
        Optional targets YAML and assessments file.

    Returns
    -------
    list of dict
        ``role`` (``data`` | ``targets`` | ``assessments``), ``name`` (path relative
        to the data folder, or the file name), ``path`` (absolute), ``bytes``,
        ``sha256``; sorted by role then name.
    """
    data = Path(data).absolute()
    rows = []
    if data.is_dir():
        for p in sorted(data.rglob("*")):
            rel = p.relative_to(data)
            if p.is_file() and not any(part.startswith(".") for part in rel.parts):
                rows.append(("data", rel.as_posix(), p))
    elif data.is_file():
        rows.append(("data", data.name, data))
    for role, p in (("targets", targets), ("assessments", assessments)):
        if p is not None:
            p = Path(p).absolute()
            rows.append((role, p.name, p))
    return [
        {
            "role": role,
            "name": name,
            "path": str(p),
            "bytes": p.stat().st_size,
            "sha256": sha256_file(p),
        }
        for role, name, p in rows
    ]


def fingerprint(inputs: Iterable[Mapping[str, Any]]) -> str:
    """Short fingerprint of a set of inputs (independent of where they are stored).

    SHA-256 over the sorted ``role:name:sha256`` lines, first 16 hex digits.
    """
    lines = sorted(f"{i['role']}:{i['name']}:{i['sha256']}" for i in inputs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (``None`` when not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def git_commit(where: Path | None = None) -> dict[str, Any] | None:
    """Commit and dirtiness of the git work tree holding jdeval, if any.

    Read-only (``git rev-parse`` / ``git status --porcelain``).
    """
    where = Path(where or Path(__file__).resolve().parents[2])
    try:
        commit = subprocess.run(
            ["git", "-C", str(where), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(where), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}


def make_manifest(
    *,
    parameters: Mapping[str, Any],
    inputs: list[dict[str, Any]],
    notebooks: Mapping[str, Path],
    build_time: str,
    outputs: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assemble the manifest dictionary written to ``manifest.json``."""
    versions = package_versions()
    return {
        "schema": 1,
        "jdeval_version": versions.get("jdeval") or "0.0.0+unknown",
        "build_time": build_time,
        "parameters": dict(parameters),
        "fingerprint": fingerprint(inputs),
        "inputs": inputs,
        "notebooks": {
            name: {"path": str(p), "sha256": sha256_file(p)}
            for name, p in notebooks.items()
        },
        "packages": versions,
        "git": git_commit(),
        "outputs": dict(outputs or {}),
    }


def read_manifest(report_dir: Path) -> dict[str, Any]:
    """Read ``manifest.json`` of a report folder."""
    path = Path(report_dir) / MANIFEST_NAME
    return json.loads(path.read_text(encoding="utf-8"))
