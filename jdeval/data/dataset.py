"""The :class:`Dataset`: every table of an evaluation, typed, plus what loading found."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from jdeval.data.contract import TABLE_ORDER, get_contract
from jdeval.errors import Problem

__all__ = ["Dataset"]


@dataclass
class Dataset:
    """Typed tables of one evaluation (the contract of ``contract.yaml``).

    Attributes
    ----------
    tables
        Table name → DataFrame with the contract's columns and dtypes: ids ``str``,
        dates ``datetime64[ns]``, booleans ``boolean``, integers ``Int64``, money
        ``float64`` in 万元.  Tables absent from the input are empty frames.
    findings
        Compliance findings (valid data showing a problem: award over its cap,
        missing publicity, late payment …).  They never block loading.
    warnings
        Non-blocking remarks (extra columns, missing optional tables …).
    source
        The folder or workbook the data was read from.
    files
        Table name → input file (for hashing in the build manifest).
    truth
        Contents of ``truth.json`` beside synthetic data, else ``None``.
    rows
        Table → the input row number of each table row (as problems show them).
    as_of
        The evaluation reference date the data were cut at (:func:`jdeval.data.as_of`),
        else ``None``.

    Examples
    --------
    >>> ds = load("data/synthetic")          # doctest: +SKIP
    >>> ds.awards.groupby("category").approved_amount.sum()   # doctest: +SKIP
    """

    tables: dict[str, pd.DataFrame]
    findings: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    source: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)
    truth: dict[str, Any] | None = None
    rows: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    as_of: pd.Timestamp | None = None

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name in TABLE_ORDER:
            tables = self.__dict__.get("tables", {})
            if name in tables:
                return tables[name]
        raise AttributeError(f"Dataset has no attribute {name!r}")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self.tables))

    @property
    def years(self) -> list[int]:
        """Years of the firm panel, ascending."""
        fy = self.tables.get("firm_year")
        if fy is None or fy.empty:
            return []
        return sorted(int(y) for y in fy["year"].dropna().unique())

    @property
    def batch_years(self) -> list[int]:
        """Award batch years (申报批次), ascending: the years that can be evaluated."""
        aw = self.tables.get("awards")
        if aw is None or "batch_year" not in aw:
            return []
        batch = pd.to_numeric(aw["batch_year"], errors="coerce").dropna()
        return sorted(int(y) for y in batch.unique())

    def summary(self) -> pd.DataFrame:
        """Rows and columns per table, with the table's Chinese name (数据概况)."""
        tables = get_contract().tables
        return pd.DataFrame(
            [
                {
                    "表 table": name,
                    "名称": tables[name].zh if name in tables else "",
                    "行数 rows": len(df),
                    "列数 columns": df.shape[1],
                }
                for name, df in self.tables.items()
            ]
        ).set_index("表 table")

    def __repr__(self) -> str:
        rows = ", ".join(f"{k}={len(v)}" for k, v in self.tables.items())
        return (
            f"Dataset(source={str(self.source)!r}, {rows}, "
            f"findings={len(self.findings)}, warnings={len(self.warnings)})"
        )
