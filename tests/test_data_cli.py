"""``jdeval validate`` and ``jdeval synth`` (in-process)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from jdeval.cli import main

BASE = Path(__file__).parent / "malformed" / "_base"


def test_help_lists_data_commands(capsys):
    try:
        main(["--help"])
    except SystemExit:
        pass
    out = capsys.readouterr().out
    assert "validate" in out and "synth" in out


def test_validate_ok_text_and_json(capsys):
    assert main(["validate", str(BASE)]) == 0
    out = capsys.readouterr().out
    assert "数据可用" in out and "firm_year" in out
    assert main(["validate", str(BASE), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["tables"]["firms"] == 3


def test_validate_bad_data_exit_2_json_on_stderr(tmp_path, capsys):
    d = tmp_path / "bad"
    shutil.copytree(BASE, d)
    text = (d / "firms.csv").read_text(encoding="utf-8").replace(",ML,", ",XX,")
    (d / "firms.csv").write_text(text, encoding="utf-8")
    assert main(["validate", str(d), "--format", "json"]) == 2
    captured = capsys.readouterr()
    err = json.loads(captured.err)
    assert err["problems"][0]["code"] == "fk"
    assert err["problems"][0]["row"] == 3
    assert main(["validate", str(d)]) == 2
    assert "外键" in capsys.readouterr().err


def test_synth_writes_a_valid_dataset(tmp_path, capsys):
    out = tmp_path / "s"
    assert main(["synth", "--seed", "5", "--firms", "120", "--out", str(out)]) == 0
    assert (out / "truth.json").is_file() and (out / "awards.csv").is_file()
    capsys.readouterr()
    assert main(["validate", str(out), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"]["firms"] == 120
