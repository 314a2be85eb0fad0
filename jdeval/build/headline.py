"""Headline results that a notebook hands to the build's index page.

A notebook calls :func:`publish` with its few key results (total score, grade, main
effect estimates).  Inside ``jdeval build`` the values are written as JSON next to the
rendered notebook, and the index page reads them — no scraping of HTML.  Run by hand in
JupyterLab, :func:`publish` writes nothing.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["ENV_DIR", "ENV_NOTEBOOK", "load", "publish", "to_jsonable"]

#: Folder where the build collects headline JSON files (set by the runner).
ENV_DIR = "JDEVAL_BUILD_RESULTS"
#: Name of the notebook being run (set by the runner).
ENV_NOTEBOOK = "JDEVAL_NOTEBOOK"


def to_jsonable(value: Any) -> Any:
    """Convert numpy / pandas scalars and containers into plain JSON values.

    Non-finite floats become ``None`` so that the JSON stays standard.
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "to_dict") and hasattr(value, "columns"):  # DataFrame
        return to_jsonable(value.to_dict(orient="records"))
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    try:
        import pandas as pd

        if pd.isna(value):
            return None
    except (TypeError, ValueError, ImportError):
        pass
    return str(value)


def publish(**values: Any) -> None:
    """Record this notebook's headline results for the index page.

    Parameters
    ----------
    **values
        JSON-able results, e.g. ``total=86.4, grade="良"``.  numpy / pandas scalars
        and DataFrames are converted.

    Notes
    -----
    Returns nothing, so the call shows nothing in the notebook or the page.  Outside
    a build (no ``JDEVAL_BUILD_RESULTS`` in the environment) nothing is written.

    Examples
    --------
    >>> publish(total=86.44, grade="良")
    """
    data = to_jsonable(values)
    folder, name = os.environ.get(ENV_DIR), os.environ.get(ENV_NOTEBOOK)
    if folder and name:
        path = Path(folder) / f"{name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True),
            encoding="utf-8",
        )
        os.replace(tmp, path)


def load(folder: Path, name: str) -> dict[str, Any]:
    """Read the headline results a notebook published (empty if none)."""
    path = Path(folder) / f"{name}.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8"))
