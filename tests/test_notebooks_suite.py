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
    "as_of",
    "targets",
    "assessments",
    "narrative",
    "scheme",
    "audience",
    "out_dir",
}


@pytest.fixture(scope="module", autouse=True)
def _build_cache(tmp_path_factory):
    """Builds of this module use their own cache, never the user's."""
    mp = pytest.MonkeyPatch()
    mp.setenv("JDEVAL_CACHE", str(tmp_path_factory.mktemp("build-cache")))
    yield
    mp.undo()


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


def test_reference_date_reaches_every_notebook_and_narrative_the_report():
    for path in PATHS:
        names = parameter_names(nbformat.read(str(path), as_version=4))
        assert "as_of" in names, path.name
    report = nbformat.read(str(NB_DIR / "05_annual_report.ipynb"), as_version=4)
    assert {"narrative", "assessments", "targets"} <= set(parameter_names(report))


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_inputs_come_only_through_parameters(path):
    """The build cache keys a notebook on the parameters it declares: a notebook that
    read the bundled targets or narrative by itself could be reused stale."""
    nb = nbformat.read(str(path), as_version=4)
    names = set(parameter_names(nb))
    code = "\n".join(
        line.split("#", 1)[0]  # comments aside
        for c in nb.cells
        if c.cell_type == "code"
        for line in c.source.splitlines()
    )
    for call, param in (
        ("load_targets(", "targets"),
        ("load_assessments(", "assessments"),
        ("load_overrides(", "narrative"),
    ):
        if call in code:
            assert param in names, f"{path.name} calls {call}) without {param!r}"
            assert f"{call})" not in code, f"{path.name}: {call}) reads the default"
    assert "data/" not in code, f"{path.name} names a data path itself"


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


def _docx_tables(path: Path) -> list[list[list[str]]]:
    import docx

    doc = docx.Document(str(path))
    return [[[c.text.strip() for c in row.cells] for row in t.rows] for t in doc.tables]


def _docx_text(path: Path) -> str:
    import docx

    doc = docx.Document(str(path))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _index_visible(out: Path, *, drop_code: bool) -> str:
    """Visible text of index.html (spaces kept; ``<code>`` paths/commands dropped)."""
    import html as _html

    t = (out / "index.html").read_text(encoding="utf-8")
    t = re.sub(r"<(script|style)\b.*?</\1>", " ", t, flags=re.S | re.I)
    if drop_code:
        t = re.sub(r"<code\b.*?</code>", " ", t, flags=re.S)
    t = re.sub(r"<[^>]+>", " ", t)
    return re.sub(r"\s+", " ", _html.unescape(t))


@pytest.mark.notebook
@pytest.mark.build
def test_selfeval_form_published_and_linked(built):
    import openpyxl

    out = built["out"]
    name = "自评表_2024.xlsx"
    assert (out / name).is_file()
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert name in man["outputs"]
    assert name in links((out / "index.html").read_text(encoding="utf-8"))
    ws = openpyxl.load_workbook(out / name).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    total_row = next(r for r in rows if r[0] == "总分")
    head = json.loads((out / "results" / "05_annual_report.json").read_text())
    assert round(float(total_row[7]), 2) == round(float(head["total"]), 2)
    # the Word report states the same total
    assert f"{float(head['total']):.2f}" in _docx_text(out / "annual_report_2024.docx")


@pytest.mark.notebook
@pytest.mark.build
def test_index_is_chinese_and_repeats_the_report(built):
    import html as _html

    out = built["out"]
    text = _index_visible(out, drop_code=True)
    assert re.findall(r"[A-Za-z]+_[A-Za-z_]+", text) == []  # no column keys
    assert re.findall(r"[A-Za-z]{2,}(?:[ ,;'’.-]+[A-Za-z]{2,}){2,}", text) == []
    assert "合规性发现" not in text
    # effects table: the report's own rows (label, estimate, interval, p, strength)
    html = (out / "index.html").read_text(encoding="utf-8")
    body = html.split("政策效应主估计结果及证据强度", 1)[1].split("</table>", 1)[0]
    index_rows = [
        [
            _html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", r)
        ]
        for r in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
        if "<td" in r
    ]
    assert index_rows, "no effects on the index page"
    table = next(
        t
        for t in _docx_tables(out / "annual_report_2024.docx")
        if t and "证据强度" in t[0] and "估计值" in t[0]
    )
    col = {h: j for j, h in enumerate(table[0])}
    keys = ["结果变量", "估计值", "95%置信区间", "p值", "证据强度"]
    report_rows = [[r[col[k]] for k in keys] for r in table[1:]]
    assert [r[:5] for r in index_rows] == report_rows
    assert any(
        "个百分点" in r[1] for r in index_rows
    )  # ratio outcomes as in the report
    # counts carry the report's name and value
    n_index = _number(r"需关注事项（条）：\s*(\d+)", text)
    n_report = _number(
        r"需关注事项(\d+)条", _docx_text(out / "annual_report_2024.docx")
    )
    assert n_index == n_report


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
    build(
        2024,
        data=built["data"],
        out=again,
        jobs=2,
        progress=lambda s: None,
        cache=False,  # a real second run, not the cached first one
    )
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


@pytest.mark.notebook
@pytest.mark.build
def test_published_report_verifies_and_names_no_machine_path(built):
    from jdeval.build import verify
    from jdeval.build.paths import PROJECT

    assert verify(built["out"]).ok
    forbidden = {str(PROJECT), str(Path.home()), str(built["out"].parent)}
    for p in built["out"].rglob("*"):
        if p.is_file() and p.suffix in (".html", ".json", ".ipynb", ""):
            text = p.read_text(encoding="utf-8", errors="replace")
            for f in forbidden:
                assert f not in text, (p.name, f)


@pytest.mark.notebook
@pytest.mark.build
def test_edit_loop_reruns_only_the_report_and_shows_the_edit(built, tmp_path):
    """A narrative edit: data check, estimates and the other notebooks are reused."""
    from jdeval.build import build
    from jdeval.build.paths import default_narrative

    marker = "编辑循环标记EDITLOOP"
    src = default_narrative(2024)
    assert src is not None, (
        "the bundled narrative file data/narrative/overrides_2024.yaml"
    )
    text = src.read_text(encoding="utf-8")
    edited, n = re.subn(
        r"(?m)^(\s*- title:\s*)(.+)$", lambda m: m.group(1) + marker, text, count=1
    )
    assert n == 1, "the narrative file has a problem with a title to edit"
    narrative = tmp_path / "overrides_2024.yaml"
    narrative.write_text(edited, encoding="utf-8")
    out = tmp_path / "2024"
    lines: list[str] = []
    build(2024, data=built["data"], out=out, narrative=narrative, progress=lines.append)
    man = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    reused = man["reuse"]["notebooks"]
    assert man["reuse"]["data_check"] is True
    assert reused.pop("05_annual_report") is False
    assert all(reused.values()), reused
    assert any(c["reused"] for c in man["reuse"]["shared"])  # the estimates
    assert marker in (out / "05_annual_report.html").read_text(encoding="utf-8")
    assert any(i["role"] == "narrative" for i in man["inputs"])


def test_indicator_page_withholds_the_means_the_report_withholds(built):
    # a category mean printed beside its count is the category's total: the
    # reviewer report drops a mean whose total is withheld, and the notebook
    # page of the same edition must print no mean the report does not print
    out = built["out"]
    page = _html_text(out / "03_indicators.html")
    report = _docx_text(out / "annual_report_2024.docx")
    means = set(re.findall(r"均值([\d,]+\.\d\d)万元", page))
    assert means, "no category means on the indicator page"
    assert means <= set(re.findall(r"均值([\d,]+\.\d\d)万元", report))


def _html_text(path: Path) -> str:
    import html as _html

    raw = path.read_text(encoding="utf-8")
    raw = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", raw, flags=re.S)
    return _html.unescape(re.sub(r"<[^>]+>", " ", raw))
