"""data/README.md documents every contract column and is generated from the contract."""

from __future__ import annotations

from pathlib import Path

from jdeval.data.contract import TABLE_ORDER, get_contract
from jdeval.data.docs import render_readme

README = Path(__file__).resolve().parents[1] / "data" / "README.md"


def test_readme_in_sync_with_contract():
    assert README.read_text(encoding="utf-8") == render_readme(), (
        "data/README.md is stale: run `.venv/bin/python -m jdeval.data.docs > data/README.md`"
    )


def test_readme_lists_every_column_with_chinese_name_and_unit():
    text = render_readme()
    c = get_contract()
    for name in TABLE_ORDER:
        assert f"### {name}" in text
        for col in c[name].columns.values():
            line = next(
                ln
                for ln in text.splitlines()
                if ln.startswith(f"| `{col.name}` | {col.zh} |")
            )
            if col.unit:
                assert f"| {col.unit} |" in line
