"""Check that a published report is intact and still matches its input files.

``jdeval verify reports/2024`` checks, from the report's ``manifest.json``:

* **the published files**: every file listed in ``outputs`` is present with its
  SHA-256, and the folder holds no file the build did not write (a changed, deleted
  or added page is named);
* **the manifest itself**: the digest of its core (inputs, parameters, software)
  equals the digest recorded in it and the one printed in every page built from it
  — so a manifest edited to match changed inputs is caught by the pages, which still
  show the old digest;
* **SHA256SUMS**: the hash list in the folder, or a detached copy kept elsewhere
  (``--sums FILE``), matches every file including ``manifest.json``;
* **the inputs**: every data, targets, assessments and narrative file still has its
  recorded SHA-256, and the data folder holds no new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jdeval.build.manifest import (
    MANIFEST_NAME,
    SUMS_NAME,
    core_digest,
    read_manifest,
    read_sums,
    sha256_file,
)
from jdeval.build.paths import display_path, resolve_portable
from jdeval.errors import ConfigError, Problem

__all__ = ["VerifyResult", "shown_digests", "verify"]

_META = re.compile(rb"<meta\b[^>]*jdeval-manifest-digest[^>]*>", re.IGNORECASE)
_CONTENT = re.compile(rb'content="([^"]*)"', re.IGNORECASE)


def shown_digests(html: bytes) -> list[str]:
    """Manifest digests a page states in ``<meta name="jdeval-manifest-digest">``."""
    out = []
    for tag in _META.findall(html):
        m = _CONTENT.search(tag)
        out.append(m.group(1).decode("ascii", "replace") if m else "")
    return out


@dataclass
class VerifyResult:
    """Outcome of :func:`verify`.

    Attributes
    ----------
    report_dir
        The report folder checked.
    fingerprint
        Data fingerprint recorded in the manifest.
    matched
        Inputs whose current SHA-256 equals the recorded one.
    changed
        Inputs whose content changed (``recorded``, ``current`` hashes).
    missing
        Inputs that no longer exist.
    added
        Files now in the data folder that the build did not read.
    pages_changed, pages_missing, pages_added
        Published files (relative paths) changed, deleted or added since the build.
    manifest_problems
        Why the manifest cannot be trusted (its core digest disagrees with the one
        recorded in it, or with a page), in zh/en.
    sums_problems
        Files whose SHA-256 disagrees with ``SHA256SUMS`` (or the detached copy).
    """

    report_dir: Path
    fingerprint: str
    matched: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    pages_changed: list[str] = field(default_factory=list)
    pages_missing: list[str] = field(default_factory=list)
    pages_added: list[str] = field(default_factory=list)
    manifest_problems: list[str] = field(default_factory=list)
    sums_problems: list[str] = field(default_factory=list)

    @property
    def inputs_ok(self) -> bool:
        """Every recorded input present and unchanged, no new data file."""
        return not self.changed and not self.missing and not self.added

    @property
    def report_ok(self) -> bool:
        """The published folder is exactly what the build wrote."""
        return not (
            self.pages_changed
            or self.pages_missing
            or self.pages_added
            or self.manifest_problems
            or self.sums_problems
        )

    @property
    def ok(self) -> bool:
        """``True`` when the report is intact and its inputs unchanged."""
        return self.inputs_ok and self.report_ok

    def render(self) -> str:
        """Bilingual text for the command line."""
        n = len(self.matched) + len(self.changed) + len(self.missing)
        if self.ok:
            return (
                f"一致 OK: {self.report_dir} 的发布文件完整，{n} 个输入文件与清单一致 "
                f"(published files intact; all {n} input files match the manifest; "
                f"fingerprint {self.fingerprint})."
            )
        lines = [
            f"不一致 MISMATCH: {self.report_dir} (fingerprint {self.fingerprint}):"
        ]
        for text in self.manifest_problems:
            lines.append(f"  清单 manifest: {text}")
        for name in self.pages_changed:
            lines.append(f"  发布文件已修改 published file changed: {name}")
        for name in self.pages_missing:
            lines.append(f"  发布文件缺失 published file missing: {name}")
        for name in self.pages_added:
            lines.append(f"  多出的文件 file not written by the build: {name}")
        for text in self.sums_problems:
            lines.append(f"  SHA256SUMS: {text}")
        for item in self.changed:
            lines.append(
                f"  输入已修改 input changed: {item['path']} "
                f"(记录 recorded {item['sha256'][:12]}…, 当前 now {item['current'][:12]}…)"
            )
        for item in self.missing:
            lines.append(f"  输入缺失 input missing: {item['path']}")
        for name in self.added:
            lines.append(f"  新增输入 input added: {name}")
        lines.append(
            f"  其余 {len(self.matched)} 个输入文件一致 ({len(self.matched)} inputs "
            "unchanged)."
        )
        return "\n".join(lines)


def _unreadable(path: Path, exc: BaseException) -> ConfigError:
    return ConfigError(
        "无法读取报告清单 / cannot read the report manifest",
        [
            Problem(
                "error",
                "manifest_unreadable",
                f"{path} 不存在或不是 jdeval 生成的清单（{type(exc).__name__}）。"
                "请指定 jdeval build 生成的报告目录。",
                f"{path} is missing or not a jdeval manifest ({type(exc).__name__}). "
                "Give the folder a jdeval build wrote.",
                file=str(path),
            )
        ],
    )


def verify(
    report_dir: Path, *, data: Path | None = None, sums: Path | None = None
) -> VerifyResult:
    """Check a report folder against its manifest, its pages and its inputs.

    Parameters
    ----------
    report_dir
        Report folder holding ``manifest.json``.
    data
        Look for the data files in this folder instead of the recorded one (for data
        that moved); targets, assessments and narrative are still read from their
        recorded paths.
    sums
        A detached ``SHA256SUMS`` kept apart from the report (e.g. by the finance
        bureau); checked in addition to the one in the folder.

    Returns
    -------
    VerifyResult

    Raises
    ------
    ConfigError
        If the folder has no readable manifest.
    """
    report_dir = Path(report_dir)
    path = report_dir / MANIFEST_NAME
    try:
        manifest = read_manifest(report_dir)
        inputs = manifest["inputs"]
        if not isinstance(inputs, list):
            raise TypeError("inputs")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise _unreadable(path, exc) from None
    result = VerifyResult(report_dir, str(manifest.get("fingerprint", "")))
    if manifest.get("schema", 1) >= 2:
        _check_manifest(report_dir, manifest, result)
        _check_outputs(report_dir, manifest, result)
    _check_sums(report_dir, report_dir / SUMS_NAME, result, required=False)
    if sums is not None:
        _check_sums(report_dir, Path(sums), result, required=True)
    _check_inputs(report_dir, manifest, inputs, data, result)
    return result


def _check_manifest(report_dir: Path, manifest: dict, result: VerifyResult) -> None:
    """The core digest equals the recorded one and the one every page shows."""
    digest = core_digest(manifest)
    recorded = manifest.get("digest")
    if recorded != digest:
        result.manifest_problems.append(
            f"清单内容与其记录的摘要不符（记录 {str(recorded)[:16]}…，重算 "
            f"{digest[:16]}…），清单在构建后被修改。The manifest's core does not match "
            "its recorded digest: it was edited after the build."
        )
    for page in sorted(report_dir.rglob("*.html")):
        shown = shown_digests(page.read_bytes())
        rel = page.relative_to(report_dir).as_posix()
        if not shown:
            result.manifest_problems.append(
                f"{rel} 未显示清单摘要 shows no manifest digest."
            )
        elif any(s != digest for s in shown):
            result.manifest_problems.append(
                f"{rel} 显示的清单摘要 {shown[0][:16]}… 与清单 {digest[:16]}… "
                f"不符：页面与清单不是同一次构建。The page shows another manifest "
                "digest: the manifest or the page was changed."
            )


def _published(report_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(report_dir).as_posix()
        for p in report_dir.rglob("*")
        if p.is_file()
        and p.relative_to(report_dir).as_posix() not in (MANIFEST_NAME, SUMS_NAME)
    )


def _check_outputs(report_dir: Path, manifest: dict, result: VerifyResult) -> None:
    outputs = manifest.get("outputs") or {}
    for rel, sha in sorted(outputs.items()):
        p = report_dir / rel
        if not p.is_file():
            result.pages_missing.append(rel)
        elif sha256_file(p) != sha:
            result.pages_changed.append(rel)
    result.pages_added += [rel for rel in _published(report_dir) if rel not in outputs]


def _check_sums(
    report_dir: Path, sums_path: Path, result: VerifyResult, *, required: bool
) -> None:
    if not sums_path.is_file():
        if required:
            result.sums_problems.append(
                f"找不到哈希清单 {sums_path} / hash list not found: {sums_path}"
            )
        return
    sums = read_sums(sums_path)
    label = "" if sums_path.parent == report_dir else f"[{sums_path.name}] "
    for rel, sha in sorted(sums.items()):
        p = report_dir / rel
        if not p.is_file():
            result.sums_problems.append(f"{label}缺失 missing: {rel}")
        elif sha256_file(p) != sha:
            result.sums_problems.append(f"{label}已修改 changed: {rel}")
    listed = set(sums)
    for rel in _published(report_dir) + [MANIFEST_NAME]:
        if rel not in listed and (report_dir / rel).is_file():
            result.sums_problems.append(f"{label}未列出 not listed: {rel}")


def _check_inputs(
    report_dir: Path,
    manifest: dict,
    inputs: list[dict[str, Any]],
    data: Path | None,
    result: VerifyResult,
) -> None:
    for item in inputs:
        p = resolve_portable(item["path"], item.get("base", ""), report_dir)
        if data is not None and item["role"] == "data":
            p = Path(data) / item["name"]
        item = {**item, "path": display_path(p) if data is None else str(p)}
        if not p.is_file():
            result.missing.append(item)
            continue
        current = sha256_file(p)
        if current == item["sha256"]:
            result.matched.append(item)
        else:
            result.changed.append({**item, "current": current})
    folder = Path(data) if data is not None else _data_dir(report_dir, manifest)
    if folder is not None and folder.is_dir():
        known = {i["name"] for i in inputs if i["role"] == "data"}
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder)
            hidden = any(part.startswith(".") for part in rel.parts)
            if p.is_file() and not hidden and rel.as_posix() not in known:
                result.added.append(str(p))


def _data_dir(report_dir: Path, manifest: dict[str, Any]) -> Path | None:
    """The data folder, from the first data input's recorded path and name."""
    for item in manifest.get("inputs") or []:
        if item.get("role") != "data":
            continue
        p = resolve_portable(item["path"], item.get("base", ""), report_dir)
        depth = len(Path(item["name"]).parts)
        folder = p
        for _ in range(depth):
            folder = folder.parent
        return folder
    d = (manifest.get("parameters") or {}).get("data_dir")
    return Path(d) if d and Path(d).is_absolute() else None
