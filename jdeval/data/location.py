"""Where the bundled synthetic data live (no pandas: the build reads it first)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_data_dir"]


def default_data_dir() -> Path:
    """``$JDEVAL_DATA`` if set, else ``<repo>/data/synthetic``."""
    env = os.environ.get("JDEVAL_DATA")
    return (
        Path(env) if env else Path(__file__).resolve().parents[2] / "data" / "synthetic"
    )
