"""``load`` and ``validate``: from files to a typed :class:`Dataset`, with every problem.

``validate(path)`` never raises for bad data: it returns a :class:`ValidationReport`
listing errors, findings and warnings.  ``load(path)`` returns the ``Dataset`` or
raises one :class:`~jdeval.errors.DataError` listing all errors at once.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from jdeval.data.contract import TABLE_ORDER, Contract, get_contract, normalize_label
from jdeval.data.dataset import Dataset
from jdeval.data.discovery import read_inputs
from jdeval.data.location import default_data_dir
from jdeval.data.parsing import non_finite_mask, parse_column
from jdeval.data.reading import RawTable
from jdeval.data.rules import (
    MAX_PER_RULE,
    Checker,
    check_awards,
    check_columns,
    check_foreign_keys,
    check_other,
    check_primary_key,
)
from jdeval.errors import DataError, Problem, ProblemList

__all__ = [
    "load",
    "usable_dataset",
    "validate",
    "ValidationReport",
    "dataset_from_frames",
    "default_data_dir",
    "ensure_default_data",
]

_PARSE_MSG = {
    "type_number": ("应为数值（万元等）", "must be a number"),
    "type_integer": ("应为整数", "must be an integer"),
    "type_date": (
        "无法识别的日期（可用 2024-03-05、2024/3/5、2024年3月5日）",
        "unrecognised date (use 2024-03-05, 2024/3/5 or 2024年3月5日)",
    ),
    "type_bool": (
        "应为 是/否（true/false、1/0）",
        "must be yes/no (true/false, 1/0, 是/否)",
    ),
    "enum": ("不是允许的取值", "is not an allowed value"),
    "type_text": ("无法识别", "unreadable"),
}


@dataclass
class ValidationReport:
    """Outcome of :func:`validate`.

    Attributes
    ----------
    source
        Path that was checked.
    problems
        Every error, finding and warning, located.
    rows
        Table → number of data rows read.
    dataset
        The typed :class:`Dataset` when there are no errors, else ``None``.
    """

    source: Path | None
    problems: list[Problem] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    dataset: Dataset | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def findings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "finding"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        """True when the data is usable (no errors)."""
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "source": str(self.source) if self.source else None,
            "ok": self.ok,
            "tables": self.rows,
            "n_errors": len(self.errors),
            "n_findings": len(self.findings),
            "n_warnings": len(self.warnings),
            "problems": [p.to_dict() for p in self.problems],
        }

    def render(
        self, fmt: Literal["text", "json"] = "text", *, max_findings: int = 20
    ) -> str:
        """Human summary (Chinese first) or JSON."""
        if fmt == "json":
            return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)
        head = "数据可用 / data usable" if self.ok else "数据不可用 / data NOT usable"
        lines = [f"{head}: {self.source}"]
        lines.append("表 table            行数 rows")
        for t, n in self.rows.items():
            lines.append(f"  {t:<18}{n:>8}")
        lines.append(
            f"错误 errors: {len(self.errors)}  发现 findings: {len(self.findings)}  "
            f"提示 warnings: {len(self.warnings)}"
        )
        for p in self.errors:
            lines.append(f"  - {p}")
        lines += _grouped(self.warnings)
        for p in self.findings[:max_findings]:
            lines.append(f"  - {p}")
        if len(self.findings) > max_findings:
            lines.append(
                f"  … 另有 {len(self.findings) - max_findings} 条发现 / "
                f"{len(self.findings) - max_findings} more findings (--format json lists all)"
            )
        return "\n".join(lines)


def _grouped(problems: list[Problem], shown: int = 6) -> list[str]:
    """One line per distinct message: the same remark on many rows is listed once."""
    groups: dict[tuple, list[Problem]] = {}
    for p in problems:
        groups.setdefault((p.severity, p.code, p.message_zh), []).append(p)
    lines = []
    for ps in groups.values():
        if len(ps) == 1:
            lines.append(f"  - {ps[0]}")
            continue
        where = "；".join(p.location() for p in ps[:shown])
        more = f"；… 共 {len(ps)} 处 / {len(ps)} in all" if len(ps) > shown else ""
        p = ps[0]
        lines.append(
            f"  - 提示 warning ×{len(ps)}: {p.message_zh} / {p.message_en}\n"
            f"      位置 where: {where}{more}"
        )
    return lines


def _typed_tables(
    raw: dict[str, RawTable | None],
    contract: Contract,
    problems: ProblemList,
    files: dict[str, str],
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray], set[str], Checker]:
    ck = Checker(files)
    tables: dict[str, pd.DataFrame] = {}
    rows: dict[str, np.ndarray] = {}
    present: set[str] = set()
    for name in TABLE_ORDER:
        t = contract[name]
        rt = raw.get(name)
        if rt is None:
            if name not in raw:  # absent (not: present but unreadable)
                if t.required:
                    problems.error(
                        "missing_table",
                        f"缺少必需的数据表 {name}（{t.zh}）",
                        f"Required table {name} ({t.en}) is missing",
                        table=name,
                    )
                else:
                    problems.warning(
                        "missing_table",
                        f"未提供数据表 {name}（{t.zh}），按空表处理",
                        f"Table {name} ({t.en}) not provided; treated as empty",
                        table=name,
                    )
            tables[name] = t.empty_frame()
            rows[name] = np.zeros(0, dtype=int)
            continue
        present.add(name)
        if rt.frame.empty:
            problems.warning(
                "empty_table",
                f"数据表 {name}（{t.zh}）没有数据行",
                f"Table {name} ({t.en}) has no data rows",
                file=files[name],
                table=name,
            )
        for u in rt.unknown_columns:
            problems.warning(
                "extra_column",
                f"未知列“{u}”已忽略",
                f"Unknown column '{u}' ignored",
                file=files[name],
                table=name,
                column=u,
            )
        df = rt.frame
        out: dict[str, pd.Series] = {}
        missing_cols = []
        for col in t.columns.values():
            if col.name not in df.columns:
                out[col.name] = _empty_column(col.dtype, df.index)
                if not col.optional:
                    missing_cols.append(col.name)
                    problems.error(
                        "missing_column",
                        f"缺少列 {col.name}（{col.zh}）",
                        f"Missing column {col.name} ({col.en})",
                        file=files[name],
                        table=name,
                        column=col.name,
                    )
                continue
            values, bad, code = parse_column(df[col.name], col)
            if bad.any():
                _flag_bad_cells(ck, name, col, df[col.name], bad, code, rt.rows)
            out[col.name] = (
                values.astype(col.dtype) if str(values.dtype) != col.dtype else values
            )
        typed = pd.DataFrame(out)
        tables[name] = typed
        rows[name] = np.asarray(rt.rows)
        check_columns(ck, contract, name, typed, rows[name], skip=missing_cols)
        if not set(t.primary_key) & set(missing_cols):
            check_primary_key(ck, contract, name, typed, rows[name])
    return tables, rows, present, ck


def _flag_bad_cells(ck: Checker, table: str, col, raw: pd.Series, bad, code, rows):
    """Located errors for cells that did not parse (enum: one message per value)."""
    bad = bad.to_numpy()
    if code in ("type_number", "type_integer"):
        nonfinite = np.zeros(len(bad), bool)
        nonfinite[bad] = non_finite_mask(raw[bad]).to_numpy()
        ck.flag(
            "error",
            "non_finite",
            f"{col.zh}不是有限数值（inf、Infinity、NaN 不能作为金额或数量）",
            f"{col.name} is not a finite number (inf, Infinity and NaN are not amounts)",
            table=table,
            rows=rows,
            mask=nonfinite,
            column=col.name,
            values=raw,
        )
        bad = bad & ~nonfinite
    if code != "enum":
        zh, en = _PARSE_MSG[code]
        ck.flag(
            "error",
            code,
            f"{col.zh}{zh}",
            f"{col.name} {en}",
            table=table,
            rows=rows,
            mask=bad,
            column=col.name,
            values=raw,
        )
        return
    text = raw.astype(str).str.strip()
    for value in pd.unique(text[bad])[:MAX_PER_RULE]:
        zh, en = _label_message(col, value)
        ck.flag(
            "error",
            "enum",
            zh,
            en,
            table=table,
            rows=rows,
            mask=bad & (text == value).to_numpy(),
            column=col.name,
            values=raw,
        )


def _label_message(col, value: str) -> tuple[str, str]:
    """'X is not an allowed label; allowed: …; did you mean …?' in Chinese and English."""
    allowed = [col.label_zh(v) for v in col.values or ()]
    spellings = {
        normalize_label(x): x for x in (*allowed, *col.value_aliases, *col.values)
    }
    close = difflib.get_close_matches(
        normalize_label(value), spellings, n=1, cutoff=0.5
    )
    hint_zh = f"是否为“{spellings[close[0]]}”？" if close else ""
    hint_en = f" Did you mean '{spellings[close[0]]}'?" if close else ""
    return (
        f"{col.zh}“{value}”不是允许的取值。{hint_zh}可填：{'、'.join(allowed)}"
        "（其他写法见 data/README.md“取值别名”）",
        f"{col.name} '{value}' is not an allowed label.{hint_en} Allowed: "
        f"{', '.join(allowed)} (other spellings: data/README.md, label aliases)",
    )


def _empty_column(dtype: str, index) -> pd.Series:
    fill = {"float64": np.nan, "datetime64[ns]": pd.NaT}.get(dtype, pd.NA)
    return pd.Series(fill, index=index, dtype=dtype)


def _finish(
    source: Path | None,
    raw: dict[str, RawTable | None],
    problems: ProblemList,
    files: dict[str, Path],
    truth: dict[str, Any] | None,
    as_of: pd.Timestamp | None = None,
    file_names: dict[str, str] | None = None,
) -> ValidationReport:
    contract = get_contract()
    if file_names is None:
        file_names = {k: v.where if v is not None else k for k, v in raw.items()}
    tables, rows, present, ck = _typed_tables(raw, contract, problems, file_names)
    if all(p.code not in ("missing_column", "missing_table") for p in problems.errors):
        check_foreign_keys(ck, contract, tables, rows, present)
        if "awards" in present:
            check_awards(ck, contract, tables, rows, present, as_of=as_of)
        check_other(ck, contract, tables, rows, present)
    all_problems = problems.items + ck.finish()
    order = {"error": 0, "warning": 1, "finding": 2}
    all_problems.sort(key=lambda p: order[p.severity])
    report = ValidationReport(
        source=source,
        problems=all_problems,
        rows={k: int(len(v)) for k, v in tables.items()},
    )
    if report.ok:
        report.dataset = Dataset(
            tables=tables,
            findings=report.findings,
            warnings=report.warnings,
            source=source,
            files=files,
            truth=truth,
            rows=rows,
            as_of=as_of,
        )
    return report


def validate(path: str | Path) -> ValidationReport:
    """Check a data folder or workbook; never raises for bad data.

    Parameters
    ----------
    path
        Folder with ``<table>.csv|xlsx|parquet`` files, or one ``.xlsx`` workbook
        with a sheet per table.

    Returns
    -------
    ValidationReport
    """
    path = Path(path)
    problems = ProblemList()
    raw, files = read_inputs(path, get_contract(), problems)
    if not path.exists():
        return ValidationReport(source=path, problems=problems.items)
    truth = None
    tj = (path if path.is_dir() else path.parent) / "truth.json"
    if tj.is_file():
        try:
            truth = json.loads(tj.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            problems.warning(
                "truth_unreadable",
                "truth.json 无法读取",
                "truth.json unreadable",
                file="truth.json",
            )
    return _finish(path, raw, problems, files, truth)


def load(path: str | Path) -> Dataset:
    """Load a data folder or workbook into a typed :class:`Dataset`.

    Raises
    ------
    DataError
        Listing every error (with file, table, row, column, value) when the data
        cannot be used.  Findings never block loading.
    """
    return usable_dataset(validate(path))


def usable_dataset(report: ValidationReport) -> Dataset:
    """The dataset of a data check, or :class:`DataError` listing every error.

    Raises
    ------
    DataError
        When the check found errors (findings never block).
    """
    if not report.ok:
        n, path = len(report.errors), report.source
        raise DataError(
            f"数据有 {n} 处错误，无法使用：{path} / The data has {n} error(s) and cannot be "
            f"used: {path}",
            report.errors + report.warnings,
        )
    return report.dataset  # type: ignore[return-value]


def dataset_from_frames(
    frames: dict[str, pd.DataFrame],
    *,
    source: Path | None = None,
    truth: dict[str, Any] | None = None,
) -> Dataset:
    """Validate in-memory tables (raw cells or typed) into a :class:`Dataset`.

    Row numbers in problems are ``index + 2`` as if the frame were a spreadsheet.
    """
    raw: dict[str, RawTable | None] = {}
    for name, df in frames.items():
        df = df.reset_index(drop=True)
        raw[name] = RawTable(name, Path(name), None, df, np.arange(2, len(df) + 2))
    report = _finish(source, raw, ProblemList(), {}, truth)
    if not report.ok:
        raise DataError(
            f"数据有 {len(report.errors)} 处错误 / The data has {len(report.errors)} error(s)",
            report.errors,
        )
    return report.dataset  # type: ignore[return-value]


#: Warnings of the checking rules (recomputed by :func:`recheck`); the others come
#: from reading the files and are kept.
_CHECK_WARNINGS = frozenset({"first_award_year", "flag_inconsistent"})


def recheck(
    ds: Dataset,
    tables: dict[str, pd.DataFrame],
    rows: dict[str, np.ndarray],
    *,
    as_of: pd.Timestamp | None = None,
) -> Dataset:
    """Re-run every rule on changed typed tables of ``ds`` (row numbers kept).

    Used by :func:`jdeval.data.as_of`; raises :class:`DataError` if the tables no
    longer satisfy the contract.
    """
    raw: dict[str, RawTable | None] = {}
    for name, df in tables.items():
        r = rows.get(name)
        if r is None or len(r) != len(df):
            r = np.arange(2, len(df) + 2)
        raw[name] = RawTable(name, Path(name), None, df.reset_index(drop=True), r)
    names = {k: str(v.name) for k, v in ds.files.items()}
    report = _finish(ds.source, raw, ProblemList(), ds.files, ds.truth, as_of, names)
    if not report.ok:
        raise DataError(
            f"数据有 {len(report.errors)} 处错误 / The data has {len(report.errors)} error(s)",
            report.errors,
        )
    out = report.dataset
    kept = [w for w in ds.warnings if w.code not in _CHECK_WARNINGS]
    out.warnings = kept + [w for w in out.warnings if w.code in _CHECK_WARNINGS]  # type: ignore[union-attr]
    return out  # type: ignore[return-value]


def ensure_default_data() -> Path:
    """Generate the default synthetic dataset if it is absent; return its folder."""
    d = default_data_dir()
    if not (d / "truth.json").is_file():
        from jdeval.data.synth import generate_tables, write_dataset

        tables, truth = generate_tables()
        write_dataset(tables, truth, d)
    return d
