"""The build manifest: which inputs, parameters and software made a report.

``manifest.json`` in every report folder records the SHA-256 of each input file (data
tables, targets, assessments, narrative), the parameters, the versions of jdeval and
the packages it relies on, the jdeval source hash, the git commit and the build time
— the manifest's *core* — and the SHA-256 of every published file (``outputs``).

The report proves itself: the digest of the core (:func:`core_digest`, SHA-256 of its
canonical JSON) is printed in every page built from it (header, index footer and a
``<meta name="jdeval-manifest-digest">``), and ``SHA256SUMS`` lists every file of the
folder including ``manifest.json`` (``sha256sum -c`` format, a detached copy a finance
bureau can keep).  Editing an input's hash in the manifest changes the core digest,
which then disagrees with the pages; editing a page changes its SHA-256.  ``jdeval
verify`` checks all of it.  Paths are recorded relative to the project (or the
report folder), never as paths of the build machine.
"""

from __future__ import annotations

import functools
import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = [
    "CORE_KEYS",
    "MANIFEST_NAME",
    "PACKAGES",
    "SUMS_NAME",
    "core_digest",
    "read_sums",
    "write_sums",
    "fingerprint",
    "git_commit",
    "input_files",
    "make_manifest",
    "package_versions",
    "read_manifest",
    "sha256_file",
]

MANIFEST_NAME = "manifest.json"
#: Detached hash list of every file of the report folder (``sha256sum -c`` format).
SUMS_NAME = "SHA256SUMS"
#: Keys of the manifest covered by :func:`core_digest` (known before any page).
#: Not the build time: identical inputs and software give the identical digest.
CORE_KEYS = (
    "schema",
    "jdeval_version",
    "code_version",
    "parameters",
    "fingerprint",
    "inputs",
    "notebooks",
    "packages",
    "git",
)

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
    data: Path,
    targets: Path | None = None,
    assessments: Path | None = None,
    narrative: Path | None = None,
    *,
    report_dir: Path | None = None,
) -> list[dict[str, Any]]:
    """List every input file with its role, paths and SHA-256.

    Parameters
    ----------
    data
        Data folder: every non-hidden file below it is an input.  A single file is
        accepted too.
    targets, assessments, narrative
        Optional targets YAML, assessments and narrative files.
    report_dir
        The report folder: a file outside the project is recorded relative to it.

    Returns
    -------
    list of dict
        ``role`` (``data`` | ``targets`` | ``assessments`` | ``narrative``),
        ``name`` (path relative to the data folder, or the file name), ``path`` and
        ``base`` (see :func:`jdeval.build.paths.portable_path`), ``bytes``,
        ``sha256``; sorted by role then name.
    """
    from jdeval.build.paths import portable_path

    data = Path(data).absolute()
    report_dir = Path(report_dir or Path.cwd()).absolute()
    rows = []
    if data.is_dir():
        for p in sorted(data.rglob("*")):
            rel = p.relative_to(data)
            if p.is_file() and not any(part.startswith(".") for part in rel.parts):
                rows.append(("data", rel.as_posix(), p))
    elif data.is_file():
        rows.append(("data", data.name, data))
    for role, p in (
        ("targets", targets),
        ("assessments", assessments),
        ("narrative", narrative),
    ):
        if p is not None:
            p = Path(p).absolute()
            rows.append((role, p.name, p))
    out = []
    for role, name, p in rows:
        path, base = portable_path(p, report_dir)
        out.append(
            {
                "role": role,
                "name": name,
                "path": path,
                "base": base,
                "bytes": p.stat().st_size,
                "sha256": sha256_file(p),
            }
        )
    return out


def fingerprint(inputs: Iterable[Mapping[str, Any]]) -> str:
    """Short fingerprint of a set of inputs (independent of where they are stored).

    SHA-256 over the sorted ``role:name:sha256`` lines, first 16 hex digits.
    """
    lines = sorted(f"{i['role']}:{i['name']}:{i['sha256']}" for i in inputs)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str | None]:
    """Installed versions of ``names`` (``None`` when not installed)."""
    return dict(_versions(tuple(names)))


@functools.lru_cache(maxsize=4)
def _versions(names: tuple[str, ...]) -> tuple[tuple[str, str | None], ...]:
    """Read once per process (~0.2 s of package metadata)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return tuple(out.items())


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
    code_version: str = "",
    report_dir: Path | None = None,
) -> dict[str, Any]:
    """Assemble the manifest dictionary written to ``manifest.json``.

    The keys in :data:`CORE_KEYS` are known before any page is rendered; their
    digest (:func:`core_digest`) is printed on the pages.  ``outputs`` (published
    file → SHA-256) is added once the pages exist.
    """
    from jdeval.build.paths import portable_path

    versions = package_versions()
    report_dir = Path(report_dir or Path.cwd())
    nbs = {}
    for name, p in notebooks.items():
        path, base = portable_path(p, report_dir)
        nbs[name] = {"path": path, "base": base, "sha256": sha256_file(p)}
    return {
        "schema": 2,
        "jdeval_version": versions.get("jdeval") or "0.0.0+unknown",
        "code_version": code_version,
        "build_time": build_time,
        "parameters": dict(parameters),
        "fingerprint": fingerprint(inputs),
        "inputs": inputs,
        "notebooks": nbs,
        "packages": versions,
        "git": git_commit(),
        "outputs": dict(outputs or {}),
    }


def _without_location(items: Any) -> Any:
    """Drop where a file was found (``path``, ``base``): content, not location."""
    if isinstance(items, list):
        return [_without_location(i) for i in items]
    if isinstance(items, Mapping):
        return {
            k: _without_location(v)
            for k, v in items.items()
            if k not in ("path", "base")
        }
    return items


def core_digest(manifest: Mapping[str, Any]) -> str:
    """SHA-256 of the manifest's core (:data:`CORE_KEYS`) as canonical JSON.

    Where an input lies (its recorded path) is left out: the digest names what the
    report was built from, wherever the files were.
    """
    core = {k: _without_location(manifest.get(k)) for k in CORE_KEYS}
    blob = json.dumps(core, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def write_sums(root: Path) -> Path:
    """Write ``SHA256SUMS`` listing every file below ``root`` but itself."""
    root = Path(root)
    lines = [
        f"{sha256_file(p)}  {p.relative_to(root).as_posix()}"
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.relative_to(root).as_posix() != SUMS_NAME
    ]
    out = root / SUMS_NAME
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def read_sums(path: Path) -> dict[str, str]:
    """Read a ``SHA256SUMS`` file: relative path → SHA-256."""
    sums = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        digest, sep, name = line.partition("  ")
        if sep and len(digest) == 64:
            sums[name.lstrip("*")] = digest
    return sums


def read_manifest(report_dir: Path) -> dict[str, Any]:
    """Read ``manifest.json`` of a report folder."""
    path = Path(report_dir) / MANIFEST_NAME
    return json.loads(path.read_text(encoding="utf-8"))
