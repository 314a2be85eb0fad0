"""Check that a published report still matches its input files.

``jdeval verify reports/2024`` re-hashes every input listed in the report's
``manifest.json`` and says whether the files still have the recorded SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jdeval.build.manifest import MANIFEST_NAME, read_manifest, sha256_file
from jdeval.errors import ConfigError, Problem

__all__ = ["VerifyResult", "verify"]


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
    """

    report_dir: Path
    fingerprint: str
    matched: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """``True`` when every recorded input is present and unchanged."""
        return not self.changed and not self.missing and not self.added

    def render(self) -> str:
        """Bilingual text for the command line."""
        n = len(self.matched) + len(self.changed) + len(self.missing)
        if self.ok:
            return (
                f"一致 OK: {self.report_dir} 的 {n} 个输入文件与清单一致 "
                f"(all {n} input files match the manifest; fingerprint "
                f"{self.fingerprint})."
            )
        lines = [
            f"不一致 MISMATCH: {self.report_dir} 的输入文件已变化 "
            f"(inputs changed since the report was built; fingerprint "
            f"{self.fingerprint}):"
        ]
        for item in self.changed:
            lines.append(
                f"  已修改 changed: {item['path']} "
                f"(记录 recorded {item['sha256'][:12]}…, 当前 now {item['current'][:12]}…)"
            )
        for item in self.missing:
            lines.append(f"  缺失 missing: {item['path']}")
        for name in self.added:
            lines.append(f"  新增 added: {name}")
        lines.append(
            f"  其余 {len(self.matched)} 个文件一致 ({len(self.matched)} unchanged)."
        )
        return "\n".join(lines)


def verify(report_dir: Path, *, data: Path | None = None) -> VerifyResult:
    """Re-hash the inputs recorded in a report's manifest.

    Parameters
    ----------
    report_dir
        Report folder holding ``manifest.json``.
    data
        Look for the data files in this folder instead of the recorded one (for data
        that moved); targets and assessments are still read from their recorded paths.

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
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
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
        ) from None
    result = VerifyResult(report_dir, manifest.get("fingerprint", ""))
    for item in inputs:
        p = Path(item["path"])
        if data is not None and item["role"] == "data":
            p = Path(data) / item["name"]
        item = {**item, "path": str(p)}
        if not p.is_file():
            result.missing.append(item)
            continue
        current = sha256_file(p)
        if current == item["sha256"]:
            result.matched.append(item)
        else:
            result.changed.append({**item, "current": current})
    folder = Path(data) if data is not None else _data_dir(manifest)
    if folder is not None and folder.is_dir():
        known = {i["name"] for i in inputs if i["role"] == "data"}
        for p in sorted(folder.rglob("*")):
            rel = p.relative_to(folder)
            hidden = any(part.startswith(".") for part in rel.parts)
            if p.is_file() and not hidden and rel.as_posix() not in known:
                result.added.append(str(p))
    return result


def _data_dir(manifest: dict[str, Any]) -> Path | None:
    d = (manifest.get("parameters") or {}).get("data_dir")
    return Path(d) if d else None
