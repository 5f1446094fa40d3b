"""Search over REST: _include/_revinclude (`*`, `:iterate`), _summary, _total, the
CapabilityStatement's parameter lists, and hidden records that no include, chain or _has
lets through."""

from __future__ import annotations

import pytest

from chartkeeper.fhir import search_params as sp
from chartkeeper.privacy.policy import ACT_CODE

ETH = {"system": ACT_CODE, "code": "ETH"}


def _obs(oid: str, patient: str, labels=(), **extra) -> dict:
    res = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"text": "alcohol use"},
        "subject": {"reference": f"Patient/{patient}"},
        "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
        "note": [{"text": "not a summary element"}],
        **extra,
    }
    if labels:
        res["meta"] = {"security": list(labels)}
    return res


@pytest.fixture(scope="module")
def chart(module_client):
    """One app and chart per backend for the module: the tests only read."""
    client, sign_in = module_client
    repo = client.app.state.repo  # the trusted inside (an interface feed) labels records
    for res in [
        {"resourceType": "Patient", "id": "pt", "name": [{"family": "Open"}]},
        {
            "resourceType": "Patient",
            "id": "sec",
            "name": [{"family": "Secret"}],
            "meta": {"security": [ETH]},
        },
        {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Osler"}]},
        {
            "resourceType": "Encounter",
            "id": "enc",
            "status": "finished",
            "class": {"system": ACT_CODE, "code": "AMB"},
            "subject": {"reference": "Patient/pt"},
        },
        _obs("o2", "pt", hasMember=[{"reference": "Observation/o3"}]),
        _obs("o3", "pt"),
        _obs(
            "o1",
            "pt",
            encounter={"reference": "Encounter/enc"},
            hasMember=[{"reference": "Observation/o2"}],
        ),
        _obs(
            "eth",
            "pt",
            [ETH],
            performer=[{"reference": "Practitioner/dr"}],
            encounter={"reference": "Encounter/enc"},
        ),
        _obs("o-sec", "sec"),
    ]:
        repo.update(res)
    return client, sign_in, repo


def _ids(client, headers, query: str, mode: str | None = None) -> list[str]:
    answer = client.get(f"/fhir/{query}", headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in answer.json().get("entry", [])
        if mode is None or e["search"]["mode"] == mode
    )


def test_include_revinclude_star_and_iterate(chart):
    client, sign_in, _repo = chart
    him = sign_in("him")
    assert _ids(client, him, "Observation?_id=o1&_include=Observation:encounter", "include") == [
        "Encounter/enc"
    ]
    assert _ids(client, him, "Observation?_id=o1&_include=*", "include") == [
        "Encounter/enc",
        "Observation/o2",
        "Patient/pt",
    ]
    # without :iterate one step; with it, o1 -> o2 -> o3
    assert _ids(client, him, "Observation?_id=o1&_include=Observation:has-member", "include") == [
        "Observation/o2"
    ]
    assert _ids(
        client, him, "Observation?_id=o1&_include:iterate=Observation:has-member", "include"
    ) == ["Observation/o2", "Observation/o3"]
    # iterate across types: the encounter's observations, then what they point at
    assert _ids(
        client,
        him,
        "Encounter?_id=enc&_revinclude=Observation:encounter&_include:iterate=Observation:has-member",
        "include",
    ) == ["Observation/o1", "Observation/o2", "Observation/o3"]
    assert _ids(client, him, "Patient?_id=pt&_revinclude=Observation:*", "include") == [
        "Observation/o1",
        "Observation/o2",
        "Observation/o3",
    ]
    bad = client.get("/fhir/Observation?_include:sideways=Observation:subject", headers=him)
    assert bad.status_code == 400


def test_hidden_records_never_come_through_include_chain_or_has(chart):
    client, sign_in, repo = chart
    for role in ("him", "clinician"):
        headers = sign_in(role)
        # the labelled observation is not added by a revinclude, nor the labelled patient
        # by an include from its (unlabelled) observation
        assert "Observation/eth" not in _ids(
            client, headers, "Encounter?_id=enc&_revinclude=Observation:encounter"
        )
        assert _ids(client, headers, "Observation?_id=o-sec&_include=Observation:subject") == [
            "Observation/o-sec"
        ]
        assert _ids(client, headers, "Observation?_id=o-sec&_include=*") == ["Observation/o-sec"]
        # a chain cannot probe the hidden patient's name, nor _has the hidden observation
        assert _ids(client, headers, "Observation?subject:Patient.family=Secret") == []
        assert _ids(client, headers, "Observation?subject:Patient.family=Open") == [
            "Observation/o1",
            "Observation/o2",
            "Observation/o3",
        ]
        assert _ids(client, headers, "Practitioner?_has:Observation:performer:status=final") == []
        assert _ids(client, headers, "Encounter?_has:Observation:encounter:_security=ETH") == []
    # the trusted inside sees them: the probes above had something to find
    assert repo.search("Practitioner", [("_has:Observation:performer:status", "final")]).total == 1
    assert repo.search("Observation", [("subject:Patient.family", "Secret")]).total == 1


def test_summary_modes_and_total(chart):
    client, sign_in, _repo = chart
    him = sign_in("him")

    def first(query):
        return client.get(f"/fhir/{query}", headers=him).json()["entry"][0]["resource"]

    summary = first("Observation?_id=o3&_summary=true")
    assert "note" not in summary and "text" not in summary
    assert {"status", "code", "subject"} <= set(summary)
    text = first("Observation?_id=o3&_summary=text")
    assert set(text) == {"resourceType", "id", "meta", "text", "status", "code"}
    data = first("Observation?_id=o3&_summary=data")
    assert "text" not in data and "note" in data
    for res in (summary, text, data):
        assert any(t["code"] == "SUBSETTED" for t in res["meta"]["tag"])
    whole = first("Observation?_id=o3&_summary=false")
    assert "note" in whole and "text" in whole
    assert (
        client.get("/fhir/Observation?_summary=true&_elements=code", headers=him).status_code == 400
    )
    none = client.get("/fhir/Observation?_total=none&_count=1", headers=him).json()
    assert "total" not in none and any(link["relation"] == "next" for link in none["link"])
    assert client.get("/fhir/Observation?_total=accurate", headers=him).json()["total"] == 4
    assert client.get("/fhir/Observation?_total=estimate", headers=him).json()["total"] == 4
    assert client.get("/fhir/Observation?_total=maybe", headers=him).status_code == 400


def _probe_value(param: sp.SearchParam) -> tuple[str, str]:
    if param.type == sp.COMPOSITE:
        sample = {sp.QUANTITY: "1", sp.NUMBER: "1", sp.DATE: "2020", sp.REFERENCE: "Patient/x"}
        return param.name, "$".join(sample.get(c.type, "x") for c in param.components)
    if param.name == "_lastUpdated":
        return param.name, "gt2000"
    if param.name == "_id":
        return param.name, "pt"
    return f"{param.name}:missing", "true"


def test_capability_statement_lists_exactly_the_parameters_answered(chart):
    client, sign_in, _repo = chart
    him = sign_in("him")
    statement = client.get("/fhir/metadata").json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    for rtype in ("Patient", "Observation", "Immunization", "ExplanationOfBenefit"):
        listed = {p["name"]: p["type"] for p in by_type[rtype]["searchParam"]}
        expected = {**sp.COMMON_PARAMS, **sp.params_for(rtype)}
        assert listed == {name: p.type for name, p in expected.items()}
        for param in expected.values():  # each one listed is answered, none refused
            key, value = _probe_value(param)
            answer = client.get(f"/fhir/{rtype}", params={key: value}, headers=him)
            assert answer.status_code == 200, (rtype, key, answer.text[:200])
    assert {"deceased", "death-date"} <= {p["name"] for p in by_type["Patient"]["searchParam"]}
    assert "patient" in {p["name"] for p in by_type["Immunization"]["searchParam"]}
    assert "*" in by_type["Observation"]["searchInclude"]
