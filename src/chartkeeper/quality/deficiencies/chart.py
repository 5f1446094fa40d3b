"""One patient's chart as the deficiency rules see it: every live resource of the patient's
compartment, grouped by type, with the few lookups the detectors share (an encounter's
documents and attending, who is responsible for an item, FHIR dates as instants).

Charts are read with the store's trusted reads on the caller's connection: a deficiency is
a fact about the whole legal record, whatever labels the user who triggered the write may
see, and re-evaluating inside the writer's transaction sees the write itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time

from chartkeeper.store import Transaction
from chartkeeper.store.search import referencing

ATTENDING = "ATND"  # HL7 v3 ParticipationType: the attender of an encounter
ROLES = ("attending", "author", "performer", "ordering-provider", "him")
_PEOPLE = ("Practitioner/", "PractitionerRole/")


def instant(value: object) -> datetime | None:
    """A FHIR date, dateTime or instant as an aware UTC datetime (a bare date: midnight UTC;
    a year or year-month: its first day). None for anything else."""
    if not isinstance(value, str) or not value:
        return None
    text = value.replace("Z", "+00:00")
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if len(text) == 10:
        parsed = datetime.combine(parsed.date(), time(), UTC)
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stamp(moment: datetime) -> str:
    """The store's sortable UTC form (as `fhir.search_params.utc_now`)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ref_id(element: object, resource_type: str) -> str | None:
    """The id in a Reference to `resource_type` ({"reference": "Encounter/x"}), or None."""
    ref = element.get("reference", "") if isinstance(element, dict) else ""
    prefix = f"{resource_type}/"
    return ref[len(prefix) :] if ref.startswith(prefix) else None


def codes(concept: object) -> set[str]:
    """The codes of a CodeableConcept (any system)."""
    if not isinstance(concept, dict):
        return set()
    return {c.get("code", "") for c in concept.get("coding", []) if c.get("code")}


def category_codes(res: dict) -> set[str]:
    found: set[str] = set()
    for concept in res.get("category", []) or []:
        found |= codes(concept)
    return found


def period_start(res: dict, element: str) -> datetime | None:
    """Start of a choice element written as `<element>DateTime` or `<element>Period`."""
    return instant(res.get(f"{element}DateTime")) or instant(
        (res.get(f"{element}Period") or {}).get("start")
    )


def recorded(res: dict) -> datetime | None:
    return instant((res.get("meta") or {}).get("lastUpdated"))


def _person(element: object) -> str | None:
    ref = element.get("reference", "") if isinstance(element, dict) else ""
    return ref if ref.startswith(_PEOPLE) else None


@dataclass
class Chart:
    patient_id: str
    patient: dict | None  # None: the Patient is deleted or was never stored
    by_type: dict[str, list[dict]] = field(default_factory=dict)

    def of(self, resource_type: str) -> list[dict]:
        return self.by_type.get(resource_type, [])

    def encounter(self, encounter_id: str | None) -> dict | None:
        if encounter_id is None:
            return None
        return next((e for e in self.of("Encounter") if e["id"] == encounter_id), None)

    def encounter_of(self, res: dict) -> str | None:
        if res["resourceType"] == "Encounter":
            return res["id"]
        if res["resourceType"] == "DocumentReference":
            linked = (res.get("context") or {}).get("encounter") or []
            return ref_id(linked[0], "Encounter") if linked else None
        return ref_id(res.get("encounter"), "Encounter")

    def documents(self, encounter_id: str, note_types: list[str]) -> list[dict]:
        """Live documents of these LOINC types linked to the encounter, oldest first."""
        wanted = set(note_types)
        found = [
            d
            for d in self.of("DocumentReference")
            if d.get("status") != "entered-in-error"
            and codes(d.get("type")) & wanted
            and self.encounter_of(d) == encounter_id
        ]
        return sorted(found, key=lambda d: d.get("date", ""))

    def attending(self, encounter_id: str | None) -> str | None:
        enc = self.encounter(encounter_id)
        if enc is None:
            return None
        people = [p for p in enc.get("participant", []) if _person(p.get("individual"))]
        for p in people:
            if any(ATTENDING in codes(t) for t in p.get("type", [])):
                return _person(p["individual"])
        return _person(people[0]["individual"]) if people else None

    def responsible(self, role: str, item: dict, encounter_id: str | None) -> str | None:
        """The Practitioner the record names for this role on this item; the encounter's
        attending when the item names nobody; None (the HIM pool) for `him`."""
        if role == "him":
            return None
        found = None
        if role == "author":
            found = _first(item.get("author")) or _person(item.get("recorder"))
            found = found or _person(item.get("asserter"))
        elif role == "performer":
            found = next(
                (
                    _person(p.get("actor"))
                    for p in item.get("performer", [])
                    if _person(p.get("actor"))
                ),
                None,
            ) or _first(item.get("performer"))
        elif role == "ordering-provider":
            found = _person(item.get("requester")) or _first(item.get("performer"))
        return found or self.attending(encounter_id)


def _first(elements: object) -> str | None:
    if not isinstance(elements, list):
        return None
    return next((p for p in map(_person, elements) if p), None)


def load_chart(tx: Transaction, patient_id: str) -> Chart:
    """Every live resource that refers to the patient, and the Patient itself."""
    trusted = tx.unguarded()  # the whole record, unaudited: see the module docstring
    keys = referencing(tx, "Patient", patient_id) | {("Patient", patient_id)}
    chart = Chart(patient_id, None)
    for res in trusted.read_many(keys):
        if res["resourceType"] == "Patient" and res["id"] == patient_id:
            chart.patient = res
        chart.by_type.setdefault(res["resourceType"], []).append(res)
    return chart
