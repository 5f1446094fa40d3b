"""The Duplicates generator module: share, recorded errors, twins and family as distinct
people, split visits, determinism."""

from __future__ import annotations

import random
from collections import defaultdict

import orjson
import pytest

from chartkeeper.synth import default_modules, generate
from chartkeeper.synth.modules.demographics import Demographics
from chartkeeper.synth.modules.duplicates import KEY_NEIGHBOURS, Duplicates, typo
from chartkeeper.synth.terminology import MRN_SYSTEM, SSN_SYSTEM

SEED = 424242


def _run(n: int, seed: int = SEED, full: bool = False, **kw) -> tuple[dict, list]:
    side: list[tuple[str, dict]] = []
    modules = [*default_modules(), Duplicates(**kw)] if full else [Demographics(), Duplicates(**kw)]
    bundles = list(generate(n, seed, modules, side=lambda s, r: side.append((s, r))))
    resources = [e["resource"] for b in bundles[1:] for e in b["entry"]]
    patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
    return {"patients": patients, "resources": resources, "bundles": bundles}, side


def _ident(patient: dict, system: str) -> str | None:
    return next((i["value"] for i in patient["identifier"] if i["system"] == system), None)


def _phones(patient: dict) -> list[str]:
    return [t["value"] for t in patient.get("telecom", []) if t["system"] == "phone"]


@pytest.fixture(scope="module")
def five_hundred():
    return _run(500)


def test_share_of_people_registered_twice_is_about_right(five_hundred):
    out, side = five_hundred
    records = [r for s, r in side if s == "duplicates"]
    clusters = defaultdict(list)
    for r in records:
        clusters[r["cluster"]].append(r)
    # 500 people at 10 %: 50 expected, sd about 7.
    assert 30 <= len(clusters) <= 72
    assert all(len(regs) >= 2 for regs in clusters.values())
    assert any(len(regs) == 3 for regs in clusters.values())  # "twice or more"
    assert len(out["patients"]) == 500 + len(records) - len(clusters) + len(
        [1 for s, _ in side if s in ("twins", "family")]
    )
    mrns = [_ident(p, MRN_SYSTEM) for p in out["patients"].values()]
    assert len(set(mrns)) == len(mrns)  # every registration has its own MRN
    for regs in clusters.values():
        first = [r for r in regs if r["registration"] == 0]
        assert len(first) == 1 and first[0]["errors"] == []
        assert all(r["errors"] for r in regs if r["registration"] > 0)
        assert all(r["patient_id"] in out["patients"] for r in regs)


def test_errors_are_recorded_and_are_what_the_patient_shows(five_hundred):
    out, side = five_hundred
    records = [r for s, r in side if s == "duplicates" and r["errors"]]
    kinds = {e["kind"] for r in records for e in r["errors"]}
    assert {"moved", "phone_changed", "ssn_missing", "maiden_name"} <= kinds
    assert len({k for k in kinds if k.startswith("typo_")}) >= 3
    for r in records:
        patient = out["patients"][r["patient_id"]]
        last = {e["field"]: e for e in r["errors"]}  # a later error may touch a field again
        for field, e in last.items():
            assert e["was"] != e["now"], e
            if field == "family":
                assert patient["name"][0]["family"] == e["now"]
            elif field == "given":
                assert patient["name"][0]["given"][0] == e["now"]
            elif field == "birthDate":
                assert patient["birthDate"] == e["now"]
            elif field == "ssn":
                assert _ident(patient, SSN_SYSTEM) == e["now"]
            elif field == "phone":
                assert _phones(patient) == [e["now"]]
            elif field == "address":
                assert patient["address"][0]["city"] in e["now"]
        if any(e["kind"] == "maiden_name" for e in r["errors"]):
            assert [n["use"] for n in patient["name"]] == ["official"]


def test_twins_are_distinct_people_that_look_alike():
    out, side = _run(40, twins=1.0, share=0.0, family=0.0)
    pairs = [r for s, r in side if s == "twins"]
    assert len(pairs) == 40 and not [r for s, r in side if s == "duplicates"]
    for pair in pairs:
        a, b = (out["patients"][i] for i in pair["patient_ids"])
        assert pair["same_person"] is False and pair["relation"] == "twin"
        assert pair["people"][0] != pair["people"][1]
        assert a["name"][0]["family"] == b["name"][0]["family"]
        assert a["birthDate"] == b["birthDate"]
        assert a["address"][0]["line"] == b["address"][0]["line"]
        assert _phones(a) == _phones(b)
        assert a["name"][0]["given"][0] != b["name"][0]["given"][0]
        assert _ident(a, MRN_SYSTEM) != _ident(b, MRN_SYSTEM)
        assert _ident(b, SSN_SYSTEM) and _ident(a, SSN_SYSTEM) != _ident(b, SSN_SYSTEM)


def test_family_members_share_surname_and_address_only():
    out, side = _run(40, family=1.0, share=0.0, twins=0.0)
    pairs = [r for s, r in side if s == "family"]
    assert len(pairs) == 40
    assert {p["relation"] for p in pairs} >= {"spouse", "child"}
    for pair in pairs:
        a, b = (out["patients"][i] for i in pair["patient_ids"])
        assert pair["same_person"] is False
        assert a["name"][0]["family"] == b["name"][0]["family"]
        assert a["address"][0]["line"] == b["address"][0]["line"]
        assert a["birthDate"] != b["birthDate"]
        assert a["name"][0]["given"][0] != b["name"][0]["given"][0]
        if pair["relation"] == "spouse":
            assert a["gender"] != b["gender"]


def test_same_seed_same_output_and_truth_other_seed_differs():
    a = _run(60, share=0.3, twins=0.1, family=0.1)
    b = _run(60, share=0.3, twins=0.1, family=0.1)
    c = _run(60, seed=SEED + 1, share=0.3, twins=0.1, family=0.1)
    assert [orjson.dumps(x) for x in a[0]["bundles"]] == [orjson.dumps(x) for x in b[0]["bundles"]]
    assert a[1] == b[1]
    assert a[1] != c[1]


def test_registrations_split_the_visits():
    out, side = _run(12, full=True, share=1.0, twins=0.0, family=0.0, extra=0.0)
    starts: dict[str, list[str]] = defaultdict(list)
    for r in out["resources"]:
        if r["resourceType"] == "Encounter":
            starts[r["subject"]["reference"].removeprefix("urn:uuid:")].append(r["period"]["start"])
    clusters = defaultdict(dict)
    for s, r in side:
        if s == "duplicates":
            clusters[r["cluster"]][r["registration"]] = r["patient_id"]
    split = 0
    for regs in clusters.values():
        early, late = starts[regs[0]], starts[regs[1]]
        if early and late:
            assert max(early) <= min(late)  # the first record has the earlier visits
            split += 1
    assert split >= len(clusters) // 2


def test_keying_errors_and_parameters():
    rng = random.Random(1)
    for _ in range(200):
        word = rng.choice(["Smith", "Anna", "Robert", "Lee"])
        new, how = typo(rng, word)
        assert new != word and new[0].isupper()
        if how == "keyboard":
            diff = [(x, y) for x, y in zip(word, new, strict=True) if x != y]
            assert len(diff) == 1 and diff[0][1].lower() in KEY_NEIGHBOURS[diff[0][0].lower()]
    with pytest.raises(ValueError, match="share must be between 0 and 1"):
        Duplicates(share=1.5)
