"""``jdeval report`` argument checks (output only where asked, never into inputs)."""

from __future__ import annotations

import argparse

import pytest

from jdeval.errors import ConfigError
from jdeval.report import cli


def _parse(argv):
    p = argparse.ArgumentParser()
    cli.register(p.add_subparsers())
    return p.parse_args(["report", *argv])


def test_bad_outputs_listed_together(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    args = _parse(
        [
            "--year",
            "2024",
            "--data",
            str(data),
            "--out",
            str(data / "r.pdf"),
            "--html",
            str(data / "r.html"),
        ]
    )
    with pytest.raises(ConfigError) as ei:
        args.handler(args)
    codes = sorted(p.code for p in ei.value.problems)
    assert codes == ["out_in_inputs", "out_in_inputs", "out_suffix"]
    assert not any(data.iterdir())  # nothing written


def test_an_output_is_required():
    args = _parse(["--year", "2024"])
    with pytest.raises(ConfigError) as ei:
        args.handler(args)
    assert ei.value.problems[0].code == "no_output"


def test_choices_are_validated():
    with pytest.raises(SystemExit):
        _parse(["--year", "2024", "--audience", "public"])


@pytest.mark.slow
def test_report_command_writes_docx_and_html(tmp_path):
    from jdeval.data import synthesize

    data = tmp_path / "data"
    synthesize(data, firms=300)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    out = tmp_path / "out"
    args = _parse(
        [
            "--year",
            "2024",
            "--data",
            str(data),
            "--out",
            str(out / "r.docx"),
            "--html",
            str(out / "r.html"),
            "--no-effects",
        ]
    )
    assert args.handler(args) == 0
    assert (out / "r.docx").stat().st_size > 50_000
    assert (out / "r.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert {
        p.name: p.read_bytes() for p in data.iterdir()
    } == before  # inputs untouched
