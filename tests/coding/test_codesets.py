"""Code sets: the bundled FY2026 ICD-10-CM, the FY switch by date of service, CMS imports."""

from __future__ import annotations

import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

from chartkeeper import coding
from chartkeeper.coding import codesets
from chartkeeper.coding.cms_files import import_release, import_releases
from chartkeeper.errors import BadRequest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory) -> Path:
    """One data dir for every worker: the parsed bundled set is cached there once."""
    path = tmp_path_factory.getbasetemp().parent / "coding-shared"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def data_dir(tmp_path, shared_dir) -> Path:
    codesets.load(data_dir=shared_dir)  # make sure the cache exists, then reuse it
    shutil.copytree(shared_dir / "codesets" / "cache", tmp_path / "codesets" / "cache")
    return tmp_path


def test_bundled_fy2026_validity_and_billability(shared_dir):
    cs = codesets.load(fy=2026, data_dir=shared_dir)
    assert cs.fy == 2026 and cs.source.startswith("bundled:")
    assert cs.is_billable("E11.9") and cs.is_billable("e119")
    assert cs.is_valid("E11") and not cs.is_billable("E11")
    assert cs.is_valid("S72.001A") and cs.is_billable("S72001A")
    assert cs.is_valid("S72.001") and not cs.is_billable("S72.001")
    assert not cs.is_valid("S72.001Z")  # not one of S72's 7th characters
    assert cs.is_billable("S01.01XA") and not cs.is_valid("S01.01A")  # placeholder X (I.A.4)
    assert cs.title("S72.001A").endswith("initial encounter for closed fracture")
    assert cs.info.billable > 70000


def test_notes_inherit_from_category_and_chapter(shared_dir):
    notes = coding.get_notes("E11.9", data_dir=shared_dir)
    kinds = {(n.kind, n.source) for n in notes}
    assert ("excludes1", "E11") in kinds and ("use_additional", "E11") in kinds
    assert any(n.source == "Chapter 4" for n in notes)
    e10 = next(n for n in notes if "type 1 diabetes" in n.text)
    assert e10.refs == (("E10", "E10"),)
    assert coding.seventh_characters("S72.001", data_dir=shared_dir)["D"].startswith("subsequent")


def test_fiscal_year_boundaries():
    assert codesets.fiscal_year(date(2025, 9, 30)) == 2025
    assert codesets.fiscal_year(date(2025, 10, 1)) == 2026
    assert codesets.effective_range("icd10cm", 2026) == (date(2025, 10, 1), date(2026, 9, 30))


def test_import_tabular_and_fy_switch_by_date(data_dir):
    info = import_release(FIXTURES / "icd10cm_tabular_2027.xml", data_dir)
    assert (info.system, info.fy) == ("icd10cm", 2027)
    assert info.effective_from == date(2026, 10, 1)
    assert Path(info.path).is_file()
    new = coding.load(date_of_service=date(2026, 10, 15), data_dir=data_dir)
    old = coding.load(date_of_service=date(2026, 9, 30), data_dir=data_dir)
    assert (new.fy, old.fy) == (2027, 2026)
    # E11.B exists only in the fixture year; S72.001A exists in both
    assert coding.is_billable("E11.B", date_of_service=date(2026, 10, 15), data_dir=data_dir)
    assert not coding.is_valid("E11.B", date_of_service=date(2026, 9, 30), data_dir=data_dir)
    assert new.is_billable("S72.002D") and not new.is_valid("S72.002B")
    notes = new.notes("S72.001A")
    assert any(n.kind == "seventh_note" for n in notes)
    assert {n.kind for n in new.notes("E11.9")} >= {"includes", "excludes1", "use_additional"}
    assert coding.years(data_dir=data_dir) == [2026, 2027]
    with pytest.raises(coding.CodeSetUnavailable):
        coding.load(fy=2030, data_dir=data_dir, exact=True)
    assert coding.load(fy=2030, data_dir=data_dir).fy == 2027  # nearest earlier


def test_import_index_attaches_to_its_year(data_dir):
    infos = import_releases(
        [FIXTURES / "icd10cm_index_2027.xml", FIXTURES / "icd10cm_tabular_2027.xml"], data_dir
    )
    assert [i.fy for i in infos] == [2027, 2027]  # tabular first, then the index on it
    assert infos[1].book == "index" and infos[1].verification["tabular_fy"] == 2027
    hits = coding.find("fixture wording diabetes", fy=2027, data_dir=data_dir, limit=3)
    assert hits[0].code == "E11.B"
    assert "subterm 'fixture wording'" in hits[0].path


def test_import_index_without_its_tabular_year_uses_the_nearest(tmp_path):
    info = import_release(FIXTURES / "icd10cm_index_2027.xml", tmp_path)
    assert info.fy == 2027 and info.verification["tabular_fy"] == 2026
    assert "E11.B" in info.verification["missing"]  # the fixture's own code is not in FY2026


def test_import_pcs_tables(tmp_path):
    info = import_release(FIXTURES / "icd10pcs_tables_2027.xml", tmp_path)
    assert (info.system, info.fy, info.codes) == ("icd10pcs", 2027, 3)
    cs = coding.load("icd10pcs", date_of_service=date(2027, 1, 5), data_dir=tmp_path)
    assert cs.is_billable("0DTJ0ZZ") and cs.is_valid("0DTJ4ZZ") and not cs.is_valid("0DTK4ZZ")
    assert cs.title("0DTJ4ZZ") == "Resection Appendix, Percutaneous Endoscopic Approach"
    hits = coding.find("appendectomy resection appendix", system="icd10pcs", data_dir=tmp_path)
    assert hits[0].code in {"0DTJ0ZZ", "0DTJ4ZZ"}


def test_import_hcpcs_fixed_width_and_export(tmp_path):
    info = import_release(FIXTURES / "HCPC2026_JAN_ANWEB.txt", tmp_path)
    assert (info.system, info.fy) == ("hcpcs", 2026)
    cs = coding.load("hcpcs", date_of_service=date(2026, 5, 1), data_dir=tmp_path)
    assert cs.title("A0428").endswith("non-emergency transport, (BLS)")  # continuation line
    assert cs.title("E0114").endswith("tips and handgrips")
    assert cs.codes["LT"].kind == "modifier" and not cs.is_billable("LT")
    assert cs.is_billable("G0008")
    info = import_release(FIXTURES / "HCPC2027_export.txt", tmp_path)
    assert info.fy == 2027 and info.codes == 2
    assert coding.load("hcpcs", date_of_service=date(2027, 2, 1), data_dir=tmp_path).is_valid(
        "J1100"
    )
    assert not coding.load("hcpcs", fy=2026, data_dir=tmp_path).is_valid("J1100")


def test_import_zip_and_rejects(tmp_path):
    archive = tmp_path / "release.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(FIXTURES / "icd10pcs_tables_2027.xml", "icd10pcs_tables_2027.xml")
    assert import_release(archive, tmp_path).system == "icd10pcs"
    junk = tmp_path / "junk.xml"
    junk.write_text("<other/>")
    with pytest.raises(BadRequest):
        import_release(junk, tmp_path)
    with pytest.raises(BadRequest):
        import_release(tmp_path / "missing.xml", tmp_path)
