"""Naming people for display: patients by name, MRN and birth date, providers by name.

Every worklist (web, API, CLI, paper labels) shows people this way rather than by id. The
records are read once per list through the store the caller holds, so with a guarded store
each read is audited and a record the user may not see stays unnamed.
"""

from __future__ import annotations

from collections.abc import Iterable

from chartkeeper.store import Repository

MRN_TYPE = "MR"
NOT_SHOWN = "(record not shown)"


def human_name(res: dict | None) -> str:
    """The official (else first) name as "Family, Given"; a plain string name as it is."""
    if not res:
        return ""
    names = res.get("name") or []
    if isinstance(names, str):  # Organization, Location
        return names
    name = next((n for n in names if n.get("use") == "official"), names[0] if names else None)
    if not name:
        return ""
    if name.get("text"):
        return name["text"]
    given = " ".join(name.get("given", []))
    family = name.get("family", "")
    return f"{family}, {given}".strip(", ") if family else given


def mrn_of(patient: dict | None) -> str:
    for ident in (patient or {}).get("identifier", []):
        codes = [c.get("code") for c in (ident.get("type") or {}).get("coding", [])]
        if MRN_TYPE in codes:
            return ident.get("value", "")
    return ""


SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"


def identity_fields(patient: dict | None) -> dict[str, str]:
    """The identifying fields an HIM reviewer compares to decide whether two records are
    one person, as text: names, birth date, sex, MRN, the last four digits of the SSN
    (never the whole number on screen), the first address and the phone numbers."""
    res = patient or {}
    address = (res.get("address") or [{}])[0]
    phones = [t.get("value", "") for t in res.get("telecom", []) if t.get("system") == "phone"]
    ssn = next(
        (i.get("value", "") for i in res.get("identifier", []) if i.get("system") == SSN_SYSTEM),
        "",
    )
    return {
        "Name": human_name(res),
        "Other names": "; ".join(
            f"{n.get('family', '')}, {' '.join(n.get('given', []))}"
            for n in (res.get("name") or [])[1:]
        ),
        "Birth date": res.get("birthDate", ""),
        "Sex": res.get("gender", ""),
        "MRN": mrn_of(res),
        "SSN (last 4)": ssn[-4:] if ssn else "",
        "Address": ", ".join(
            [
                *address.get("line", []),
                address.get("city", ""),
                address.get("state", ""),
                address.get("postalCode", ""),
            ]
        ).strip(", "),
        "Phone": ", ".join(phones),
    }


def compare_identities(a: dict | None, b: dict | None) -> list[dict]:
    """Two records' identifying fields side by side, each marked same or different (the
    duplicate-patient review: workbench, API and CLI show the same comparison)."""
    left, right = identity_fields(a), identity_fields(b)
    return [
        {"field": name, "a": left[name], "b": right[name], "same": left[name] == right[name]}
        for name in left
    ]


def ref_id(reference: str | None) -> str:
    return (reference or "").rsplit("/", 1)[-1]


class People:
    """Patients and practitioners named for display, read once per list through the store
    given (so with a guarded store each read is audited, and a record the user may not
    see stays unnamed)."""

    def __init__(self, repo: Repository, refs: Iterable[str | None]):
        keys = set()
        for ref in refs:
            if ref and "/" in ref:
                rtype, rid = ref.split("/", 1)
                keys.add((rtype, rid.rsplit("/", 1)[-1]))
        self.found: dict[str, dict] = {}
        if keys:
            with repo.reading() as tx:
                for res in tx.read_many(sorted(keys)):
                    self.found[f"{res['resourceType']}/{res['id']}"] = res

    def patient(self, patient_id: str | None) -> dict:
        ref = patient_id if patient_id and "/" in patient_id else f"Patient/{patient_id}"
        res = self.found.get(ref)
        if res is None:
            return {"id": ref_id(ref), "name": NOT_SHOWN, "mrn": "", "birth": ""}
        return {
            "id": res["id"],
            "name": human_name(res) or "(no name)",
            "mrn": mrn_of(res),
            "birth": res.get("birthDate", ""),
            "gender": res.get("gender", ""),
            "merged": any(link.get("type") == "replaced-by" for link in res.get("link", [])),
        }

    def label(self, patient_id: str | None) -> str:
        """One line for a table cell: name, MRN and birth date."""
        shown = self.patient(patient_id)
        return "  ".join(
            [shown["name"]]
            + ([f"MRN {shown['mrn']}"] if shown["mrn"] else [])
            + ([f"born {shown['birth']}"] if shown["birth"] else [])
        )

    def name(self, ref: str | None) -> str:
        if not ref:
            return "HIM pool"
        res = self.found.get(ref)
        return human_name(res) if res else ref if "/" not in ref else "(not shown)"


def _patient_ref(value: str | None) -> str | None:
    return value if not value or "/" in value else f"Patient/{value}"


def named(
    repo: Repository,
    rows: list[dict],
    patients: Iterable[str] = ("patient_id",),
    providers: Iterable[str] = (),
) -> list[dict]:
    """Worklist rows (as JSON) with the people beside their ids: for each patient field
    `x_id` (or `x`) the fields `x_name`, `x_mrn` and `x_birth_date`; for each provider
    field `x` the field `x_name`. The rows' own fields are kept as they were."""
    patients, providers = tuple(patients), tuple(providers)
    people = People(
        repo,
        [_patient_ref(row.get(f)) for row in rows for f in patients]
        + [row.get(f) for row in rows for f in providers],
    )
    for row in rows:
        for f in patients:
            if row.get(f) is None:
                continue
            shown = people.patient(row[f])
            stem = f.removesuffix("_id")
            row[f"{stem}_name"] = shown["name"]
            row[f"{stem}_mrn"] = shown["mrn"]
            row[f"{stem}_birth_date"] = shown["birth"]
        for f in providers:
            row[f"{f}_name"] = people.name(row.get(f)) if row.get(f) else None
    return rows
