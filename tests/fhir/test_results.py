"""fhir.results: a patient's Observations as one series per test, and one test's trend."""

from __future__ import annotations

from datetime import UTC, datetime

from chartkeeper.fhir.results import LOINC, clinical_time, concept, result_series, trend


def obs(code: str | None, when: str, value=None, unit="mg/dL", **extra) -> dict:
    res = {"resourceType": "Observation", "status": "final", "effectiveDateTime": when}
    if code:
        res["code"] = {"coding": [{"system": LOINC, "code": code, "display": f"Test {code}"}]}
    if value is not None:
        res["valueQuantity"] = {"value": value, "unit": unit}
    return {**res, **extra}


def test_series_group_by_test_newest_first_and_numeric_loinc_is_plottable():
    found = result_series(
        [
            obs("2345-7", "2024-01-01T08:00:00Z", 110),
            obs("2345-7", "2024-03-01T08:00:00Z", 95),
            obs("718-7", "2024-02-01T08:00:00Z", 13.1, "g/dL"),
            {**obs(None, "2024-02-02", valueString="negative"), "code": {"text": "Drug screen"}},
            obs(
                "5778-6",
                "2024-02-03",
                valueCodeableConcept={"coding": [{"code": "Y", "display": "Yellow"}]},
            ),
        ]
    )
    by_title = {s["title"]: s for s in found}
    assert [s["title"] for s in found] == sorted(by_title)
    glucose = by_title["Test 2345-7"]
    assert [p["value"] for p in glucose["points"]] == [95, 110]  # newest first
    assert glucose["latest"]["shown"] == "95 mg/dL" and glucose["plottable"]
    assert not by_title["Test 718-7"]["plottable"]  # one value is no trend
    assert by_title["Drug screen"]["latest"]["shown"] == "negative"
    assert by_title["Test 5778-6"]["latest"]["shown"] == "Yellow"
    assert result_series([]) == []


def test_trend_orders_points_reads_the_range_and_skips_what_it_cannot_plot():
    ranged = {"referenceRange": [{"low": {"value": 70}, "high": {"value": 99}}]}
    found = trend(
        [
            obs("2345-7", "2024-03-01T08:00:00Z", 95, **ranged),
            obs("2345-7", "2024-01-01T08:00:00", 110),  # no zone: read as UTC, still ordered
            obs("2345-7", "not a date", 120),
            obs("2345-7", "2024-02-01T08:00:00Z", valueString="hemolysed"),
        ],
        "2345-7",
    )
    assert found["points"] == [
        (datetime(2024, 1, 1, 8, tzinfo=UTC), 110.0),
        (datetime(2024, 3, 1, 8, tzinfo=UTC), 95.0),
    ]
    assert (found["title"], found["unit"], found["low"], found["high"]) == (
        "Test 2345-7",
        "mg/dL",
        70,
        99,
    )
    assert trend([], "x")["points"] == []


def test_concept_and_clinical_time():
    assert concept(None) == ("", "", "")
    assert concept({"text": "Chest pain", "coding": [{"code": "R07.9"}]})[2] == "Chest pain"
    assert clinical_time({"period": {"start": "2024-05-01"}}) == "2024-05-01"
    assert clinical_time({"issued": "2024-05-02", "date": "2020-01-01"}) == "2024-05-02"
    assert clinical_time({}) == ""
