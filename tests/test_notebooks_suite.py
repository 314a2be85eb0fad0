"""The five report notebooks: committed clean, parameterised, and right when run.

The notebooks are committed without outputs, so nbval has nothing stored to compare
against.  Instead one real build (module-scoped, shared by every test here) runs all
notebooks on the bundled data with their default parameters, and the key printed
results (cells marked ``# NBVAL_CHECK_OUTPUT``) are compared with values computed here
by calling jdeval directly, and with ``truth.json`` of the synthetic data.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest
from test_build_helpers import external_refs, first_difference, links, normalise

from jdeval.build.runner import NOTEBOOKS, notebooks_dir, parameter_names

NB_DIR = notebooks_dir()
PATHS = [NB_DIR / f"{nb.name}.ipynb" for nb in NOTEBOOKS]
CJK = re.compile(r"[\u4e00-\u9fff]")
BUILD_PARAMS = {
    "year",
    "data_dir",
    "targets",
    "assessments",
    "scheme",
    "audience",
    "out_dir",
}


# ---------------------------------------------------------------- committed form
@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_committed_without_outputs(path):
    nb = nbformat.read(str(path), as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} carries outputs"
            assert cell.execution_count is None, f"cell {i} has an execution count"
    assert "papermill" not in nb.metadata
    assert "widgets" not in nb.metadata


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_parameters_cell_ascii_and_bilingual(path):
    nb = nbformat.read(str(path), as_version=4)
    tagged = [
        c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    assert len(tagged) == 1
    names = parameter_names(nb)
    assert "year" in names and "data_dir" in names
    assert set(names) <= BUILD_PARAMS  # the runner can set every parameter
    for line in tagged[0].source.splitlines():
        code, _, comment = line.partition("#")
        value = ast.literal_eval(code.split("=", 1)[1].strip())
        assert str(value).isascii(), line
        assert CJK.search(comment) and re.search(r"[A-Za-z]{3}", comment), line


def test_suite_is_complete():
    assert [p.name for p in sorted(NB_DIR.glob("*.ipynb"))] == [p.name for p in PATHS]


# ---------------------------------------------------------------- executed
@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Build the default report once (all notebooks, bundled data)."""
    from jdeval.build import build
    from jdeval.data import ensure_default_data

    data = ensure_default_data()
    out = tmp_path_factory.mktemp("report") / "2024"
    lines: list[str] = []
    build(2024, data=data, out=out, jobs=2, progress=lines.append)
    return {"out": out, "data": Path(data), "lines": lines}


@pytest.fixture(scope="module")
def dataset(built):
    from jdeval.data import load

    return load(built["data"])


def _checked_output(out: Path, name: str) -> str:
    """Text printed by the ``# NBVAL_CHECK_OUTPUT`` cells of an executed notebook."""
    nb = nbformat.read(str(out / "notebooks" / f"{name}.ipynb"), as_version=4)
    texts = []
    for cell in nb.cells:
        if cell.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in cell.source:
            for o in cell.outputs:
                if o.output_type == "stream" and o.name == "stdout":
                    texts.append(o.text)
    assert texts, f"{name}: no NBVAL_CHECK_OUTPUT output"
    return "".join(texts)


def _number(pattern: str, text: str) -> float:
    m = re.search(pattern, text)
    assert m, f"{pattern!r} not in {text!r}"
    return float(m.group(1))


@pytest.mark.notebook
@pytest.mark.build
def test_build_writes_everything(built):
    out = built["out"]
    for nb in NOTEBOOKS:
        assert (out / f"{nb.name}.html").is_file()
        assert (out / "results" / f"{nb.name}.json").is_file()
    assert (out / "index.html").is_file() and (out / "manifest.json").is_file()
    assert (out / "annual_report_2024.docx").is_file()
    assert sum("完成 done" in x for x in built["lines"]) == len(NOTEBOOKS)


@pytest.mark.notebook
@pytest.mark.build
def test_scores_match_direct_evaluation(built, dataset):
    from jdeval.indicators import evaluate, load_targets

    card = evaluate(dataset, load_targets(), year=2024, scheme="A")
    for name in ("03_indicators", "05_annual_report"):
        text = _checked_output(built["out"], name)
        assert _number(r"total score = ([\d.]+)", text) == pytest.approx(
            round(card.total, 2), abs=1e-9
        )
        assert f"grade = {card.grade}" in text
    head = json.loads((built["out"] / "results" / "05_annual_report.json").read_text())
    assert head["total"] == pytest.approx(card.total, abs=1e-9)
    assert head["grade"] == card.grade


@pytest.mark.notebook
@pytest.mark.build
def test_survey_matches_direct_analysis(built, dataset):
    from jdeval.survey import analyse

    sv = analyse(dataset, year=2024)
    text = _checked_output(built["out"], "04_survey")
    assert _number(r"index = ([\d.]+)", text) == pytest.approx(round(sv.index, 2))
    assert _number(r"top-2 rate = ([\d.]+)", text) == pytest.approx(
        round(sv.top2_rate, 3)
    )
    assert _number(r"valid = (\d+)", text) == sv.n_valid


@pytest.mark.notebook
@pytest.mark.build
def test_data_quality_counts_match_validate(built):
    from jdeval.data import validate

    rep = validate(built["data"])
    text = _checked_output(built["out"], "01_data_quality")
    assert _number(r"errors = (\d+)", text) == len(rep.errors)
    assert _number(r"findings = (\d+)", text) == len(rep.findings)


@pytest.mark.notebook
@pytest.mark.build
def test_effects_recover_planted_truth(built, dataset):
    """Main ATT estimates printed by 02 cover the generator's true sample ATT."""
    truth = dataset.truth["effects"]
    text = _checked_output(built["out"], "02_policy_effects")
    rows = {}
    for line in text.splitlines()[1:]:
        parts = line.split()
        if len(parts) == 4:
            rows[parts[0]] = [float(x) for x in parts[1:]]
    assert set(truth) <= set(rows), text
    for outcome in truth:
        est, lo, hi = rows[outcome]
        att = truth[outcome]["att"]
        assert lo - 0.0006 <= att <= hi + 0.0006, (outcome, est, lo, hi, att)
    head = json.loads((built["out"] / "results" / "02_policy_effects.json").read_text())
    for e in head["effects"]:
        assert round(e["estimate"], 3) == pytest.approx(rows[e["outcome"]][0])


@pytest.mark.notebook
@pytest.mark.build
def test_pages_offline_no_glyph_missing_and_index_resolves(built):
    out = built["out"]
    for page in out.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert external_refs(text) == [], page.name
        assert "Glyph" not in text, page.name
    for p in (out / "notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(p), as_version=4)
        for cell in nb.cells:
            for o in cell.get("outputs", []):
                blob = json.dumps(o, ensure_ascii=False)
                assert "Glyph" not in blob and "missing from font" not in blob, p.name
                assert o.output_type != "error", p.name
    index = (out / "index.html").read_text(encoding="utf-8")
    for link in links(index):
        if not link.startswith("#"):
            assert (out / link).is_file(), link
    for nb in NOTEBOOKS:
        assert f'href="{nb.name}.html"' in index
    assert "data:image/png;base64," in (out / "02_policy_effects.html").read_text(
        encoding="utf-8"
    )


@pytest.mark.notebook
@pytest.mark.build
def test_reviewer_pages_show_no_firm_identity(built, dataset):
    """Reviewer edition: no firm name or firm id appears in any page or the index."""
    firms = dataset.firms
    names = [n for n in firms["name_masked"].dropna().astype(str) if len(n) >= 4]
    ids = set(firms["firm_id"].astype(str))
    usccs = [u for u in firms["uscc"].dropna().astype(str) if len(u) >= 10]
    for page in built["out"].glob("*.html"):
        text = page.read_text(encoding="utf-8")
        leaked_ids = ids & set(re.findall(r"F\d{6}", text))
        assert not leaked_ids, (page.name, sorted(leaked_ids)[:5])
        leaked = [n for n in [*names, *usccs] if n in text]
        assert not leaked, (page.name, leaked[:5])


@pytest.mark.notebook
@pytest.mark.build
def test_word_report_opens(built):
    import docx

    doc = docx.Document(str(built["out"] / "annual_report_2024.docx"))
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "绩效评价" in text and len(text) > 2000


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.build
def test_rebuild_is_identical(built, tmp_path):
    """Same inputs and parameters: identical pages, scores and report text.

    Only the build-time line may differ (normalised away here).
    """
    import docx

    from jdeval.build import build

    again = tmp_path / "2024"
    build(2024, data=built["data"], out=again, jobs=2, progress=lambda s: None)
    for nb in NOTEBOOKS:
        a = (built["out"] / f"{nb.name}.html").read_text(encoding="utf-8")
        b = (again / f"{nb.name}.html").read_text(encoding="utf-8")
        assert normalise(a) == normalise(b), (nb.name, first_difference(a, b))
        ra = (built["out"] / "results" / f"{nb.name}.json").read_text(encoding="utf-8")
        rb = (again / "results" / f"{nb.name}.json").read_text(encoding="utf-8")
        assert ra == rb, nb.name
    a = normalise((built["out"] / "index.html").read_text(encoding="utf-8"))
    b = normalise((again / "index.html").read_text(encoding="utf-8"))
    assert a == b

    def text(p):
        d = docx.Document(str(p))
        cells = [c.text for t in d.tables for r in t.rows for c in r.cells]
        return [p.text for p in d.paragraphs] + cells

    name = "annual_report_2024.docx"
    assert text(built["out"] / name) == text(again / name)


@pytest.mark.notebook
def test_year_must_be_an_award_batch_year(built, tmp_path, capsys):
    from jdeval.cli import main

    out = tmp_path / "2019"
    rc = main(
        ["build", "--year", "2019", "--data", str(built["data"]), "--out", str(out)]
    )
    assert rc == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "2019" in err and "申报批次" in err and "Traceback" not in err
