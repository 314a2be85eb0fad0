"""Data layer: the input contract, loading with clear errors, the synthetic dataset.

Public API (see ARCHITECTURE.md)::

    load(path) -> Dataset                 raises DataError listing every error
    validate(path) -> ValidationReport    never raises for bad data
    synthesize(out=None, *, seed=2024, firms=1200) -> Dataset
    default_data_dir(), ensure_default_data()
    get_contract()                        the machine-readable contract
    as_of(ds, date) -> Dataset            the data as they stood on 评价基准日
"""

from __future__ import annotations

from jdeval.data.asof import as_of
from jdeval.data.contract import TABLE_ORDER, get_contract
from jdeval.data.dataset import Dataset
from jdeval.data.loading import (
    ValidationReport,
    dataset_from_frames,
    default_data_dir,
    ensure_default_data,
    load,
    usable_dataset,
    validate,
)

__all__ = [
    "Dataset",
    "as_of",
    "TABLE_ORDER",
    "ValidationReport",
    "dataset_from_frames",
    "default_data_dir",
    "ensure_default_data",
    "get_contract",
    "load",
    "synthesize",
    "usable_dataset",
    "validate",
]


def synthesize(out=None, *, seed: int = 2024, firms: int = 1200) -> Dataset:
    """Generate the synthetic Jiading dataset; see :func:`jdeval.data.synth.synthesize`."""
    from jdeval.data.synth import synthesize as _synthesize

    return _synthesize(out, seed=seed, firms=firms)
