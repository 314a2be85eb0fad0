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

import importlib
from typing import TYPE_CHECKING, Any

from jdeval.data.location import default_data_dir

if TYPE_CHECKING:
    from jdeval.data.dataset import Dataset

# the rest is imported on first use: the build command needs only the data folder
# before its first notebook starts, and pandas is ~0.7 s of that
_LAZY = {
    "as_of": "asof",
    "TABLE_ORDER": "contract",
    "get_contract": "contract",
    "Dataset": "dataset",
    "ValidationReport": "loading",
    "dataset_from_frames": "loading",
    "ensure_default_data": "loading",
    "load": "loading",
    "usable_dataset": "loading",
    "validate": "loading",
}

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


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'jdeval.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"jdeval.data.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
