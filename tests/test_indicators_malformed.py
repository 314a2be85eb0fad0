"""The evaluator-input corpus (tests/malformed/targets_cases.yaml): every case gives
the right answer — loads as expected, or a located ConfigError with its problem codes
and exit code 2 from the command line (never 3, never a traceback)."""

from pathlib import Path

import openpyxl
import pytest
import yaml

from jdeval.cli import main
from jdeval.errors import ConfigError
from jdeval.indicators import load_assessments, load_targets, read_declaration
from jdeval.indicators.judgments import SHEET, write_judgments_template
from jdeval.indicators.targets import default_targets_path

ROOT = Path(__file__).resolve().parents[1]
CASES = yaml.safe_load(
    (ROOT / "tests" / "malformed" / "targets_cases.yaml").read_text(encoding="utf-8")
)["cases"]
BASES = {
    "targets": default_targets_path(),
    "assessments": ROOT / "data" / "assessments" / "example_2024.yaml",
    "declaration": ROOT / "data" / "targets" / "declaration_2024.txt",
}
SUFFIX = {"targets": ".yaml", "assessments": ".yaml", "declaration": ".txt"}


def _bomb() -> str:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    prev = "a"
    for c in "bcdefghi":
        lines.append(f"{c}: &{c} [" + ",".join([f"*{prev}"] * 9) + "]")
        prev = c
    return "\n".join(lines) + "\n"


def _text(case) -> str:
    if "text" in case:
        t = case["text"]
        if t == "{bomb}":
            return _bomb()
        if t == "{huge}":
            return "# " + "x" * 6_000_000 + "\n"
        return t
    t = BASES[case["base"]].read_text(encoding="utf-8")
    for old, new in case.get("replace", []):
        assert t.count(old) == 1, (case["name"], old)
        t = t.replace(old, new)
    return t


def _judgments(case, tmp_path, targets) -> Path:
    path = write_judgments_template(targets, tmp_path / "专家评估表.xlsx")
    fill = case.get("fill") or []
    if fill:
        wb = openpyxl.load_workbook(path)
        ws = wb[SHEET]
        head = [c.value for c in ws[1]]
        rows = {ws.cell(r, 1).value: r for r in range(2, ws.max_row + 1)}
        for n, (item, result, evidence, source) in enumerate(fill):
            r = rows.get(item) or ws.max_row + 1 + n
            ws.cell(r, head.index("清单项编号") + 1, item)
            ws.cell(r, head.index("评估结论") + 1, result)
            ws.cell(r, head.index("依据") + 1, evidence or None)
            ws.cell(r, head.index("来源") + 1, source or None)
        wb.save(path)
    return path


def _write(case, tmp_path, targets) -> Path:
    if case["kind"] == "judgments":
        return _judgments(case, tmp_path, targets)
    path = tmp_path / f"{case['name']}{SUFFIX[case['kind']]}"
    enc = case.get("encoding", "utf-8")
    path.write_bytes(_text(case).encode(enc))
    return path


def _load(case, path, targets):
    kind = case["kind"]
    if kind == "targets":
        return load_targets(path)
    if kind in ("assessments", "judgments"):
        return load_assessments(path, targets=targets)
    return read_declaration(path)


def _cli(case, path, tmp_path) -> list[str]:
    kind = case["kind"]
    if kind == "targets":
        return ["score", "--year", "2024", "--targets", str(path)]
    if kind in ("assessments", "judgments"):
        return ["score", "--year", "2024", "--assessments", str(path)]
    return ["targets", "--declaration", str(path), "--out", str(tmp_path / "t.yaml")]


def _check_ok(case, got) -> None:
    want = case.get("check") or {}
    if "items" in want:
        assert len(got.items) == want["items"]
    if "policy" in want:
        assert got.meta["policy"] == want["policy"]
        assert got.meta["year"] == want["year"]
    if "indicator" in want:
        if hasattr(got, "indicator"):  # Targets
            ind = got.indicator(want["indicator"])
            op, val, unit = ind.operator, ind.target_value, ind.unit
            note = ind.note or ""
        else:  # Declaration
            row = got.indicators.set_index("id").loc[want["indicator"]]
            op, val, unit, note = (
                row["operator"],
                row["target_value"],
                row["unit"],
                row["note"],
            )
        assert op == want["operator"]
        assert str(val) == str(want["value"]) or val == pytest.approx(want["value"])
        if "unit" in want:
            assert unit == want["unit"]
        if "note" in want:
            assert want["note"] in note


@pytest.fixture(scope="module")
def targets():
    return load_targets()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case, tmp_path, targets, capsys):
    path = _write(case, tmp_path, targets)
    if case["expect"] == "ok":
        _check_ok(case, _load(case, path, targets))
        return
    with pytest.raises(ConfigError) as e:
        _load(case, path, targets)
    codes = {p.code for p in e.value.errors}
    want = set(case["codes"])
    assert (codes & want) if case.get("any_code") else want <= codes, codes
    assert all(p.file for p in e.value.errors)  # every problem names its file
    rc = main(_cli(case, path, tmp_path))
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err


def test_corpus_size():
    """The note in the report counts these cases; keep the count honest."""
    kinds = {c["kind"] for c in CASES}
    assert kinds == {"targets", "assessments", "judgments", "declaration"}
    assert len({c["name"] for c in CASES}) == len(CASES) >= 40
