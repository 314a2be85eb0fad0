"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ds():
    """The bundled synthetic dataset (generated on first use), loaded once per run.

    Tests must not modify its tables; build a new ``Dataset`` from altered copies.
    """
    from jdeval.data import ensure_default_data, load

    return load(ensure_default_data())
