"""Master patient index: every kind of registration error links, twins and household members
never auto-link, different people are not chained together, verdicts finish the job.

One scan is shared by the module: a generated population (`generate.registrations`: ~1,900
registrations, 700 people twice with one to four errors, twins and household members) plus
hand-built pairs, one per error kind, the issue's missed examples, twins, a household, a
father and son of one name, and a pair a reviewer already rejected. Splink on DuckDB takes
a few seconds to train, so the tests share that scan rather than run their own.
"""

from __future__ import annotations

import fcntl
import os
import pickle

import orjson
import pytest

from chartkeeper.errors import BadRequest, Conflict, NotFound
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
    scan_repo,
)
from chartkeeper.quality.mpi.evaluate import pair_scores
from chartkeeper.quality.mpi.generate import registrations
from chartkeeper.quality.mpi.scan import _State, cluster


def _person(rid: str, given: str, middle: str, family: str, dob: str, sex: str, **more) -> dict:
    n = sum(map(ord, rid))
    return {
        "id": rid,
        "given": given,
        "middle": middle,
        "family": family,
        "maiden": "",
        "dob": dob,
        "sex": sex,
        "address": f"{100 + n % 900} Quarry Lane",
        "city": "Columbus",
        "zip": f"43{n % 1000:03d}",
        "phone": f"(614) 555-{n % 10000:04d}",
        "ssn": f"9{n % 100:02d}-{n % 89 + 10:02d}-{n % 9000 + 1000:04d}",
        "mrn": rid.upper(),
        **more,
    }


# one base person per error kind, and the same person registered again with that error
ERRORS = {
    "typo in the given name": (
        _person("ty-g", "Katherine", "Ann", "Wieman", "1963-09-19", "female"),
        {"given": "Katherien"},
    ),
    "typo in the family name": (
        _person("ty-f", "Brian", "Lee", "Kessler", "1937-04-25", "male"),
        {"family": "Kesler"},
    ),
    "nickname": (
        _person("nick", "Robert", "James", "Lindqvist", "1958-02-11", "male"),
        {"given": "Bob"},
    ),
    "family name missing": (
        _person("miss-f", "Maria", "Jane", "Nguyen", "1956-06-02", "female"),
        {"family": ""},
    ),
    "birth date missing": (
        _person("miss-d", "Gordon", "", "Ashworth", "1971-12-30", "male"),
        {"dob": ""},
    ),
    "SSN missing": (
        _person("miss-s", "Priya", "", "Raman", "1984-05-16", "female"),
        {"ssn": ""},
    ),
    "a move": (
        _person("moved", "Harvey", "Irving", "Pinedo", "1948-10-10", "male"),
        {"address": "5338 Tom Way", "zip": "44912", "city": "Akron", "phone": "(330) 742-3952"},
    ),
    "SSN typo": (
        _person("ssn", "Nelida", "Karen", "Garcia", "2013-11-13", "female", ssn="725-51-8574"),
        {"ssn": "725-51-8547"},
    ),
    "birth year one off": (
        _person("year", "Jamal", "Earl", "Barnes", "1948-03-01", "male"),
        {"dob": "1949-03-01"},
    ),
    "day and month swapped": (
        _person("daymonth", "Laura", "Refugio", "Pagan", "1996-07-03", "female"),
        {"dob": "1996-03-07"},
    ),
    "given and family swapped": (
        _person("swap", "Christopher", "Ronald", "Mosley", "1968-05-17", "male"),
        {"given": "Mosley", "family": "Christopher"},
    ),
    # the missed pairs: same name and ZIP, birth year one off and one SSN digit
    # wrong; same SSN, birth date, family name and ZIP with the given name Jake/Jie
    "year and SSN digit, new address": (
        _person("yr-ssn", "Mark", "", "Billings", "1993-01-24", "male", ssn="802-87-5400"),
        {"dob": "1994-01-24", "ssn": "802-87-5480", "address": "3108 Boyce Ct", "phone": ""},
    ),
    "given name Jake/Jie": (
        _person("jake", "Jake", "", "Moreno", "1979-08-14", "male"),
        {"given": "Jie", "address": "18 Vine St"},
    ),
    "names swapped and SSN missing": (
        _person("swap-s", "Dorothy", "Mae", "Keller", "1951-02-27", "female"),
        {"given": "Keller", "family": "Dorothy", "ssn": ""},
    ),
}

# look-alikes: never linked automatically
TWIN_A = _person("twin-a", "Oliver", "", "Zabinski", "2004-03-17", "male", ssn="")
TWIN_B = {**TWIN_A, "id": "twin-b", "given": "Harold", "mrn": "TWIN-B"}
TWIN_C = {**TWIN_A, "id": "twin-c", "given": "Olivia", "sex": "female", "mrn": "TWIN-C"}
SPOUSE = {
    **TWIN_A,
    "id": "spouse",
    "given": "Sandra",
    "sex": "female",
    "dob": "1975-06-02",
    "mrn": "SP",
}
# same-sex twins whose SSNs were issued one after the other (one keying error apart), one
# pair with quite different names, one with names two keying errors apart
TWIN_D = _person("twin-d", "Ethan", "", "Okonkwo", "1999-10-05", "male", ssn="512-44-7018")
TWIN_E = {**TWIN_D, "id": "twin-e", "given": "Aiden", "ssn": "512-44-7019", "mrn": "TWIN-E"}
TWIN_F = _person("twin-f", "Ryan", "", "Castellano", "2001-06-21", "male", ssn="623-18-4402")
TWIN_G = {**TWIN_F, "id": "twin-g", "given": "Evan", "ssn": "623-18-4403", "mrn": "TWIN-G"}
SENIOR = _person("sr", "Walter", "", "Pryce", "1950-04-09", "male", ssn="")
JUNIOR = {**SENIOR, "id": "jr", "dob": "1978-11-23", "mrn": "JR"}
# chaining: B (no SSN, no birth date) matches A and C well; A and C, mother and daughter of
# one name, carry different SSNs and birth dates
CHAIN_A = _person("chain-a", "Marguerite", "Ann", "Vandersloot", "1961-07-23", "female")
CHAIN_B = {**CHAIN_A, "id": "chain-b", "ssn": "", "dob": "", "mrn": "CHAIN-B"}
CHAIN_C = {**CHAIN_A, "id": "chain-c", "ssn": "955-88-7777", "mrn": "CHAIN-C", "dob": "1988-02-14"}
# an exact duplicate a reviewer has judged two people
REJ_A = _person("rej-a", "Quentin", "", "Marsh", "1966-01-05", "male")
REJ_B = {**REJ_A, "id": "rej-b", "mrn": "REJ-B"}

HAND = [
    TWIN_A,
    TWIN_B,
    TWIN_C,
    TWIN_D,
    TWIN_E,
    TWIN_F,
    TWIN_G,
    SPOUSE,
    SENIOR,
    JUNIOR,
    CHAIN_A,
    CHAIN_B,
    CHAIN_C,
    REJ_A,
    REJ_B,
]


def _copy(base: dict, change: dict) -> dict:
    return {**base, **change, "id": base["id"] + "-2", "mrn": base["mrn"] + "-2"}


def _ids(p: CandidatePair) -> tuple[str, str]:
    return tuple(sorted((p.a.removeprefix("Patient/"), p.b.removeprefix("Patient/"))))


@pytest.fixture(scope="module")
def population(tmp_path_factory):
    # one scan for all test processes of this session (pytest-xdist workers' base temps
    # share a parent; a run without xdist has its own base temp, whose parent outlives it
    # and must not hand a stale scan to the next run): the first to lock scans
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    path = shared / "mpi-population.pickle"
    with open(shared / "mpi-population.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if path.exists():
            return pickle.loads(path.read_bytes())
        records, truth = registrations(1200, 700, seed=5)
        hand = list(HAND)
        for base, change in ERRORS.values():
            hand += [base, _copy(base, change)]
        pairs = scan([*records, *hand], not_matches=[("Patient/rej-a", "Patient/rej-b")])
        path.write_bytes(pickle.dumps((records, truth, pairs)))
        return records, truth, pairs


def _decision(pairs, a: str, b: str) -> str | None:
    want = {f"Patient/{a}", f"Patient/{b}"}
    return next((p.decision for p in pairs if {p.a, p.b} == want), None)


def test_each_error_kind_links(population):
    _records, _truth, pairs = population
    got = {
        kind: _decision(pairs, base["id"], base["id"] + "-2") for kind, (base, _) in ERRORS.items()
    }
    assert got == {kind: "link" for kind in ERRORS}


def test_generated_duplicates_found(population):
    # ~700 true pairs with one to four errors each: one false link costs 0.15% precision
    _records, truth, pairs = population
    generated = [_ids(p) for p in pairs if {*_ids(p)} <= truth.person.keys()]
    links = [_ids(p) for p in pairs if p.decision == "link" and _ids(p) in set(generated)]
    scores = pair_scores(links, truth.pairs())
    assert scores.precision >= 0.995, scores
    assert scores.recall >= 0.95, scores
    everything = pair_scores(generated, truth.pairs())
    assert everything.recall >= 0.97, everything


def test_twins_and_household_never_linked(population):
    _records, truth, pairs = population
    assert len(truth.lookalikes) >= 30
    linked = {_ids(p) for p in pairs if p.decision == "link"}
    assert not linked & truth.lookalikes
    for group in clusters(pairs):  # nor put in one cluster through a third record
        ids = {g.removeprefix("Patient/") for g in group}
        assert not any(a in ids and b in ids for a, b in truth.lookalikes)
    twins = [("twin-a", "twin-b"), ("twin-a", "twin-c"), ("twin-b", "twin-c")]
    twins += [("twin-d", "twin-e"), ("twin-f", "twin-g")]  # consecutive SSNs
    for a, b in twins:
        assert _decision(pairs, a, b) in (None, "review"), (a, b)
    for a, b in (("twin-a", "spouse"), ("sr", "jr")):
        assert _decision(pairs, a, b) in (None, "review"), (a, b)
    twin = next(p for p in pairs if {p.a, p.b} == {"Patient/twin-a", "Patient/twin-b"})
    assert any("twin" in n for n in twin.evidence["notes"])


def test_no_chaining(population):
    _records, _truth, pairs = population
    assert _decision(pairs, "chain-a", "chain-c") in (None, "review")
    ac = next((p for p in pairs if {p.a, p.b} == {"Patient/chain-a", "Patient/chain-c"}), None)
    assert ac is None or "different SSNs too" in " ".join(ac.evidence["notes"])
    for group in clusters(pairs):
        assert not {"Patient/chain-a", "Patient/chain-c"} <= set(group)
    b_links = [p for p in pairs if "Patient/chain-b" in (p.a, p.b) and p.decision == "link"]
    assert len(b_links) <= 1


def test_rejected_pair_does_not_come_back(population):
    _records, _truth, pairs = population
    assert _decision(pairs, "rej-a", "rej-b") is None
    for group in clusters(pairs):
        assert not {"Patient/rej-a", "Patient/rej-b"} <= set(group)


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


def _patient(pid: str, given: str, family: str = "Ng", *, ssn: bool = True, **more) -> dict:
    out = {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"use": "official", "family": family, "given": [given, "Lee"]}],
        "birthDate": "1970-02-03",
        "gender": "female",
        "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "900-00-0001"}],
        "address": [{"line": ["1 Elm St"], "city": "Columbus", "postalCode": "43215"}],
        **more,
    }
    if not ssn:
        del out["identifier"]
    return out


def test_review_queue_verdicts(repo):
    for pid in ("p1", "p2", "p3", "p4"):
        repo.update(_patient(pid, "Ann"))
    recs = {r["id"]: r for r in extract_records(repo)}
    rec = recs["p1"]
    assert rec["given"] == "Ann" and rec["middle"] == "Lee" and rec["ssn"] == "900-00-0001"
    assert rec["zip"] == "43215" and rec["dob"] == "1970-02-03"

    pairs = [_pair("p1", "p2", 0.9), _pair("p3", "p4", 0.7), _pair("p5", "p6", 0.6)]
    pairs.append(CandidatePair("Patient/p7", "Patient/p8", 0.9999, "link", {}))  # stored linked
    assert enqueue(repo, pairs) == 4
    assert enqueue(repo, [_pair("p2", "p1", 0.95)]) == 1  # a rescan refreshes, no new row
    items = list_reviews(repo)
    assert [(i.a, i.b) for i in items] == [
        ("Patient/p1", "Patient/p2"),
        ("Patient/p3", "Patient/p4"),
        ("Patient/p5", "Patient/p6"),
    ]
    assert items[0].probability == 0.95 and items[0].evidence["comparisons"]["given"]

    first, second, third = items
    decided = decide(repo, first.id, "not-a-match", reviewer="him1", note="sisters")
    assert decided.status == "not-a-match" and decided.reviewer == "him1" and decided.decided
    # "same person" merges the two through the one merge function, survivor as named
    with pytest.raises(BadRequest):
        decide(repo, second.id, "linked", reviewer="him2", survivor="p1")
    decide(repo, second.id, "linked", reviewer="him2", survivor="Patient/p4")
    p3 = repo.read("Patient", "p3")
    assert p3["active"] is False
    assert {"other": {"reference": "Patient/p4"}, "type": "replaced-by"} in p3["link"]
    assert any(link["type"] == "replaces" for link in repo.read("Patient", "p4")["link"])
    assert "p3" not in {r["id"] for r in extract_records(repo)}  # merged away: no candidate
    with pytest.raises(Conflict):
        decide(repo, second.id, "not-a-match", reviewer="him1")
    with pytest.raises(BadRequest):
        decide(repo, first.id, "maybe", reviewer="him1")
    # a merge that cannot be made (no such patients) leaves the item open
    with pytest.raises(NotFound):
        decide(repo, third.id, "linked", reviewer="him2")
    assert get_review(repo, third.id).status == "open"

    assert [i.id for i in list_reviews(repo)] == [third.id]
    assert get_review(repo, first.id).note == "sisters"
    assert {i.status for i in list_reviews(repo, status="all")} == {
        "linked",
        "not-a-match",
        "open",
    }
    assert rejected_pairs(repo) == {("Patient/p1", "Patient/p2")}
    enqueue(repo, [_pair("p1", "p2", 0.97)])  # a decided pair is not reopened
    assert get_review(repo, first.id).status == "not-a-match"
    assert get_review(repo, first.id).probability == 0.95


def test_small_store_scan_and_a_different_verdict_sticks(repo):
    """A small store (matched alongside generated registrations, which never show): its
    exact duplicate is linked, distinct people are not, and a pair a reviewer judged two
    people is left out of the scan and not queued again."""
    twin = _patient("t1", "Oliver", "Zabinski", ssn=False)
    repo.update(twin)
    repo.update({**twin, "id": "t2"})  # registered twice, to all appearances
    repo.update(_patient("u1", "Marguerite", "Vandersloot", birthDate="1961-07-23"))
    repo.update(_patient("u2", "Marguerite", "Vandersloot", birthDate="1961-07-23"))
    names = (("Ada", "Okafor"), ("Ben", "Tran"), ("Cleo", "Novak"), ("Dev", "Patel"))
    for n, (g, f) in enumerate(names):
        repo.update(_patient(f"o{n}", g, f, birthDate=f"19{50 + n}-0{n + 1}-1{n}", ssn=False))
    enqueue(repo, [CandidatePair("Patient/t1", "Patient/t2", 0.8, "review", {"notes": []})])
    (item,) = list_reviews(repo)
    decide(repo, item.id, "not-a-match", reviewer="him1", note="twins, same name")
    pairs = scan_repo(repo)
    assert [(p.a, p.b, p.decision) for p in pairs] == [("Patient/u1", "Patient/u2", "link")]
    assert list_reviews(repo) == []
    assert get_review(repo, item.id).status == "not-a-match"


def test_comparisons_counted_per_rule_and_bounded():
    """Every blocking rule's comparisons are counted, and the scan's work grows with the
    store, not its square: four times the registrations cost well under four times the
    comparisons per record, and a one-ZIP town stays within a few a record."""
    from chartkeeper.quality.mpi.model import blocking_rules, comparisons_per_rule, present_columns
    from chartkeeper.quality.mpi.records import prepare_table

    per_record = []
    for people, twice, zips in ((600, 400, None), (2400, 1600, None), (2400, 1600, 1)):
        records, _truth = registrations(people, twice, seed=5, zips=zips)
        table = prepare_table(records)
        counts = comparisons_per_rule(table)
        assert len(counts) == len(blocking_rules(present_columns(table)))
        assert all(c["added"] >= 0 for c in counts)
        assert counts[-1]["total"] == sum(c["added"] for c in counts)
        assert counts[-1]["total"] >= 0.3 * len(records)  # at least the duplicates met
        per_record.append(counts[-1]["total"] / len(records))
    small, large, one_zip = per_record
    assert large <= 1.5 * small <= 1.0, per_record
    assert one_zip <= 3.0, per_record


def test_link_only_pairs_across_two_sources():
    """A link between two registries scores pairs across them only; every record must
    name one of exactly two sources."""
    records, truth = registrations(900, 600, seed=11)
    seen: set[str] = set()
    for r in records:  # a person's first registration in one file, the second in the other
        key = truth.person[r["id"]]
        r["source"] = "b" if key in seen else "a"
        seen.add(key)
    pairs = scan(records, link_only=True)
    source = {r["id"]: r["source"] for r in records}
    assert pairs and all(source[_ids(p)[0]] != source[_ids(p)[1]] for p in pairs)
    links = [_ids(p) for p in pairs if p.decision == "link"]
    scores = pair_scores(links, truth.pairs())
    assert scores.precision >= 0.99 and scores.recall >= 0.9, scores
    with pytest.raises(ValueError, match="two sources"):
        scan([{**r, "source": ""} for r in records], link_only=True)
