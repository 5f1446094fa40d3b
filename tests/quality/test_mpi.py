"""Master patient index: finds the planted duplicates, never links twins or family, does not
chain different people together, explains itself, and keeps reviewers' verdicts.

One scan of a generated population (2,000 patients, ~2,300 records with ~10% duplicated
people, 1% twins, 2% family members) is shared by the module's tests; it takes a few
seconds.
"""

from __future__ import annotations

import orjson
import pytest

from chartkeeper.errors import BadRequest, Conflict
from chartkeeper.quality.mpi import (
    CandidatePair,
    Thresholds,
    clusters,
    decide,
    enqueue,
    extract_records,
    get_review,
    json_lines,
    list_reviews,
    rejected_pairs,
    scan,
)
from chartkeeper.quality.mpi.evaluate import pair_scores, synthetic_records
from chartkeeper.quality.mpi.scan import _State, cluster


def _ids(p: CandidatePair) -> tuple[str, str]:
    return tuple(sorted((p.a.removeprefix("Patient/"), p.b.removeprefix("Patient/"))))


@pytest.fixture(scope="module")
def population():
    records, truth = synthetic_records(2000, seed=11)
    return records, truth, scan(records)


def test_matches_planted_duplicates(population):
    # ~280 true pairs: one false link would cost 0.35% precision, one missed pair 0.35%
    # recall. The benchmark reaches precision 1.0 and recall ~0.98 at 10,000 patients;
    # these bounds leave room for a smaller population's noisier u estimates.
    _records, truth, pairs = population
    links = [_ids(p) for p in pairs if p.decision == "link"]
    scores = pair_scores(links, truth.pairs())
    assert scores.tp > 200
    assert scores.precision >= 0.99, scores
    assert scores.recall >= 0.95, scores
    # with the review pairs, almost nothing is missed
    everything = pair_scores([_ids(p) for p in pairs], truth.pairs())
    assert everything.recall >= 0.97, everything


def test_twins_and_family_never_linked(population):
    _records, truth, pairs = population
    assert len(truth.lookalikes) > 30
    linked = {_ids(p) for p in pairs if p.decision == "link"}
    assert not linked & truth.lookalikes
    for group in clusters(pairs):  # nor put in one cluster through a third record
        ids = {g.removeprefix("Patient/") for g in group}
        assert not any(a in ids and b in ids for a, b in truth.lookalikes)


def test_twin_built_by_hand_is_not_linked(population):
    records, _truth, _pairs = population
    one = {
        "id": "twin-a",
        "given": "Oliver",
        "middle": "",
        "family": "Zabinski",
        "maiden": "",
        "dob": "2004-03-17",
        "sex": "male",
        "address": "12 Quarry Lane",
        "city": "Columbus",
        "zip": "43215",
        "phone": "(614) 555-0111",
        "ssn": "",
        "mrn": "T1",
    }
    twin = {**one, "id": "twin-b", "given": "Harold", "mrn": "T2"}
    pairs = scan([*records[:300], one, twin])
    pair = next((p for p in pairs if {p.a, p.b} == {"Patient/twin-a", "Patient/twin-b"}), None)
    assert pair is None or pair.decision == "review"


def test_no_chaining(population):
    """B matches A and C well; A and C carry different SSNs: two people, one cluster never."""
    records, _truth, _pairs = population
    a = {
        "id": "chain-a",
        "given": "Marguerite",
        "middle": "Ann",
        "family": "Vandersloot",
        "maiden": "",
        "dob": "1961-07-23",
        "sex": "female",
        "address": "400 Quarry Lane",
        "city": "Columbus",
        "zip": "43215",
        "phone": "(614) 555-0122",
        "ssn": "900-11-2222",
        "mrn": "C1",
    }
    b = {**a, "id": "chain-b", "ssn": "", "mrn": "C2"}
    c = {**a, "id": "chain-c", "ssn": "955-88-7777", "mrn": "C3", "middle": ""}
    pairs = scan([*records[:300], a, b, c])
    got = {frozenset((p.a, p.b)): p for p in pairs}
    ac = got.get(frozenset(("Patient/chain-a", "Patient/chain-c")))
    assert ac is None or ac.decision == "review"
    assert "different SSNs" in " ".join(ac.evidence["notes"]) if ac else True
    for group in clusters(pairs):
        assert not {"Patient/chain-a", "Patient/chain-c"} <= set(group)
    # B is linked to one of them at most: the other link was demoted
    b_links = [p for p in pairs if "Patient/chain-b" in (p.a, p.b) and p.decision == "link"]
    assert len(b_links) <= 1


def test_cluster_check_refuses_a_weak_pair():
    """A~B (0.9999) and B~C (0.9995) linked, A-C scored 0.001: C stays out of A's cluster."""
    state = _State({}, Thresholds(), set())
    for x, y, p in (("P/a", "P/b", 0.9999), ("P/b", "P/c", 0.9995), ("P/a", "P/c", 0.001)):
        state.scored[(x, y)] = p
        if p >= 0.5:
            state.pairs[(x, y)] = CandidatePair(x, y, p, "link", {"notes": []})
    groups = cluster(state, floor=0.05)
    assert groups["P/a"] == groups["P/b"] and "P/c" not in groups
    assert state.pairs[("P/b", "P/c")].decision == "review"
    assert state.pairs[("P/b", "P/c")].evidence["notes"]
    # with A-C plausible the three form one cluster
    state = _State({}, Thresholds(), set())
    for x, y, p in (("P/a", "P/b", 0.9999), ("P/b", "P/c", 0.9995), ("P/a", "P/c", 0.2)):
        state.scored[(x, y)] = p
        decision = "link" if p >= 0.999 else "review"
        state.pairs[(x, y)] = CandidatePair(x, y, p, decision, {"notes": []})
    groups = cluster(state, floor=0.05)
    assert len(set(groups.values())) == 1
    assert all(p.decision == "link" for p in state.pairs.values())


def test_evidence_and_json_lines(population):
    _records, _truth, pairs = population
    link = next(p for p in pairs if p.decision == "link" and "comparisons" in p.evidence)
    comps = link.evidence["comparisons"]
    assert set(comps) >= {"given", "family", "dob", "sex", "address", "phone", "ssn", "mrn"}
    for detail in comps.values():
        assert {"level", "bayes_factor", "match_weight"} <= set(detail)
    assert "dob" in link.evidence["agree"] or comps["dob"]["level"] != "exact"
    lines = list(json_lines(pairs[:20]))
    assert len(lines) == min(20, len(pairs))
    for line in lines:
        obj = orjson.loads(line)
        assert list(obj) == ["a", "b", "probability", "decision"]
        assert obj["a"].startswith("Patient/") and obj["b"].startswith("Patient/")
        assert obj["a"] < obj["b"] and 0 <= obj["probability"] <= 1
        assert obj["decision"] in ("link", "review")


def test_thresholds_validated():
    with pytest.raises(ValueError):
        Thresholds(link=0.5, review=0.9)


def _pair(a: str, b: str, p: float) -> CandidatePair:
    ev = {"comparisons": {"given": {"level": "nickname", "bayes_factor": 70.0}}, "notes": []}
    return CandidatePair(f"Patient/{a}", f"Patient/{b}", p, "review", ev)


def test_review_queue_decisions_persist(repo):
    repo.update(
        {
            "resourceType": "Patient",
            "id": "p1",
            "name": [{"use": "official", "family": "Ng", "given": ["Ann", "Lee"]}],
            "birthDate": "1970-02-03",
            "gender": "female",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "900-00-0001"}],
            "address": [{"line": ["1 Elm St"], "city": "Columbus", "postalCode": "43215"}],
        }
    )
    (rec,) = list(extract_records(repo))
    assert rec["given"] == "Ann" and rec["middle"] == "Lee" and rec["ssn"] == "900-00-0001"
    assert rec["zip"] == "43215" and rec["dob"] == "1970-02-03"

    pairs = [_pair("p1", "p2", 0.9), _pair("p3", "p4", 0.7)]
    pairs.append(CandidatePair("Patient/p5", "Patient/p6", 0.9999, "link", {}))  # not queued
    assert enqueue(repo, pairs) == 2
    assert enqueue(repo, [_pair("p2", "p1", 0.95)]) == 1  # a rescan refreshes, no new row
    items = list_reviews(repo)
    assert [(i.a, i.b) for i in items] == [
        ("Patient/p1", "Patient/p2"),
        ("Patient/p3", "Patient/p4"),
    ]
    assert items[0].probability == 0.95 and items[0].evidence["comparisons"]["given"]

    first, second = items
    decided = decide(repo, first.id, "not-a-match", reviewer="him1", note="brothers")
    assert decided.status == "not-a-match" and decided.reviewer == "him1" and decided.decided
    decide(repo, second.id, "linked", reviewer="him2")
    with pytest.raises(Conflict):
        decide(repo, second.id, "not-a-match", reviewer="him1")
    with pytest.raises(BadRequest):
        decide(repo, first.id, "maybe", reviewer="him1")

    assert list_reviews(repo) == []
    assert get_review(repo, first.id).note == "brothers"
    assert {i.status for i in list_reviews(repo, status="all")} == {"linked", "not-a-match"}
    assert rejected_pairs(repo) == {("Patient/p1", "Patient/p2")}
    enqueue(repo, [_pair("p1", "p2", 0.97)])  # a decided pair is not reopened
    assert get_review(repo, first.id).status == "not-a-match"
    assert get_review(repo, first.id).probability == 0.95


def test_rejected_pair_is_not_linked_again(population):
    records, _truth, pairs = population
    link = next(p for p in pairs if p.decision == "link" and "comparisons" in p.evidence)
    sample = records[:300]
    ids = {r["id"] for r in sample}
    extra = [r for r in records if f"Patient/{r['id']}" in (link.a, link.b) and r["id"] not in ids]
    again = scan([*sample, *extra], not_matches=[(link.a, link.b)])
    same = next(p for p in again if (p.a, p.b) == (link.a, link.b))
    assert same.decision == "review"
    assert "judged not a match by a reviewer" in same.evidence["notes"]


def test_a_population_without_duplicates_scans_clean():
    """A fresh store (the demo) has no sure matches to estimate the prior from: no crash."""
    from chartkeeper.quality.mpi import scan

    names = [
        ("Ada", "Okafor"),
        ("Ben", "Tran"),
        ("Cleo", "Novak"),
        ("Dev", "Patel"),
        ("Eun", "Kim"),
        ("Fay", "Ruiz"),
        ("Gus", "Berg"),
        ("Hal", "Moss"),
    ]
    records = [
        {
            "id": f"p{n}",
            "given": g,
            "middle": None,
            "family": f,
            "maiden": None,
            "dob": f"19{50 + n}-0{n + 1}-1{n}",
            "sex": "female" if n % 2 else "male",
            "address": f"{n + 1} Elm St",
            "city": "Springfield",
            "zip": f"0210{n}",
            "phone": f"555-010{n}",
            "ssn": f"90000000{n}",
            "mrn": f"M{n}",
        }
        for n, (g, f) in enumerate(names)
    ]
    assert [p for p in scan(records) if p.decision == "link"] == []
