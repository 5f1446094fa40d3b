"""The encoder on the bundled FY2026 set: abbreviations, lay terms, misspellings, plurals,
word order, 7th-character and laterality prompts, notes, the batch format."""

from __future__ import annotations

import json
from datetime import date

import pytest

from chartkeeper.coding import search


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory):
    path = tmp_path_factory.getbasetemp().parent / "coding-shared"
    path.mkdir(exist_ok=True)
    return path


def top(query: str, data_dir, n: int = 1) -> list[str]:
    return [h.code for h in search.find(query, data_dir=data_dir, limit=n)]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("CHF", "I50.9"),
        ("HTN", "I10"),
        ("COPD with acute exacerbation", "J44.1"),
        ("afib", "I48.91"),
        ("UTI", "N39.0"),
        ("GERD", "K21.9"),
        ("OSA", "G47.33"),
        ("BPH", "N40.0"),
        ("heart attack", "I21.9"),
        ("high blood pressure", "I10"),
        ("kidney stones", "N20.0"),  # plural
        ("diabetes", "E11.9"),
        ("diabtes", "E11.9"),  # misspelt
        ("pnuemonia", "J18.9"),  # transposed letters
        ("failure, acute renal", "N17.9"),  # index-style word order
        ("renal failure acute", "N17.9"),
    ],
)
def test_finds_expected_code(query, code, data_dir):
    assert code in top(query, data_dir, 3), (query, top(query, data_dir, 5))


def test_path_explains_the_match(data_dir):
    hit = search.find("CHF", data_dir=data_dir, limit=1)[0]
    assert any("abbreviation chf" in step for step in hit.path)
    assert hit.display == "Heart failure, unspecified"
    hit = search.find("diabtes", data_dir=data_dir, limit=1)[0]
    assert any(step.startswith("spelling") for step in hit.path)


def test_only_billable_codes_and_notes(data_dir):
    from chartkeeper.coding import codesets

    cs = codesets.load(data_dir=data_dir)
    hits = search.find("type 2 diabetes", data_dir=data_dir, limit=10)
    assert all(cs.is_billable(h.code) for h in hits)
    e11 = next(h for h in hits if h.code.startswith("E11"))
    assert {n.kind for n in e11.notes} >= {"excludes1", "use_additional"}


def test_seventh_character_prompt_and_episode(data_dir):
    hit = search.find("fracture of neck of right femur", data_dir=data_dir, limit=1)[0]
    assert hit.code.startswith("S72.") and hit.code.endswith("A")
    prompt = next(p for p in hit.prompts if p.axis == "7th character")
    assert prompt.chosen == "A" and "defaulted" in prompt.question
    assert {"A", "D", "S"} <= {c for c, _ in prompt.choices}
    hit = search.find(
        "right femoral neck fracture subsequent encounter routine healing",
        data_dir=data_dir,
        limit=1,
    )[0]
    assert hit.code.endswith("D"), hit


def test_laterality_prompt_when_side_not_given(data_dir):
    hit = search.find("unilateral primary osteoarthritis of knee", data_dir=data_dir, limit=1)[0]
    assert hit.code == "M17.10"
    prompt = next(p for p in hit.prompts if p.axis == "laterality")
    choices = {c for c, _ in prompt.choices}
    assert {"M17.11", "M17.12"} <= choices
    hit = search.find("unilateral primary OA left knee", data_dir=data_dir, limit=1)[0]
    assert hit.code == "M17.12" and not any(p.axis == "laterality" for p in hit.prompts)


def test_fy_by_date_of_service(data_dir):
    hits = search.find("HTN", fy=date(2026, 3, 1), data_dir=data_dir, limit=1)
    assert hits[0].code == "I10"


def test_batch_lines(data_dir):
    out = [json.loads(x) for x in search.batch(["HTN", "", "CHF"], data_dir=data_dir)]
    assert [o["query"] for o in out] == ["HTN", "CHF"]
    assert out[0]["codes"][0]["code"] == "I10"
    assert set(out[0]["codes"][0]) == {"code", "display", "score", "path"}
    assert out[0]["codes"][0]["path"][0].startswith("no Alphabetic Index imported")
    scores = [c["score"] for c in out[1]["codes"]]
    assert scores == sorted(scores, reverse=True)


def test_nonsense_finds_nothing(data_dir):
    assert search.find("zzzz qqqq", data_dir=data_dir) == []
