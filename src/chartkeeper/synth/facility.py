"""The fixed care setting: one hospital, one clinic and their practitioners.

The facility is the same for every seed, and its ids are uuid5 of fixed names, so datasets
generated with different seeds load into one store without duplicating practitioners.
Patient bundles point at these as relative references (`Practitioner/<id>`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from . import ids
from .terminology import (
    NPI_SYSTEM,
    NPI_TYPE,
    NUCC,
    ORG_TYPE,
    ROLE_CODE,
    V2_0360,
    Code,
)


@dataclass(frozen=True)
class Organization:
    key: str
    id: str
    name: str
    npi: str
    line: str
    city: str
    phone: str
    part_of: str | None = None

    @property
    def ref(self) -> str:
        return f"Organization/{self.id}"


@dataclass(frozen=True)
class Practitioner:
    id: str
    npi: str
    given: str
    family: str
    sex: str
    credential: str  # MD, DO, NP
    specialty: str  # internal key: primary_care, pediatrics, emergency, hospitalist, ...
    taxonomy: Code
    organization: str  # Organization key

    @property
    def ref(self) -> str:
        return f"Practitioner/{self.id}"

    @property
    def display(self) -> str:
        return f"{self.given} {self.family}, {self.credential}"

    @property
    def role_id(self) -> str:
        return ids.facility_uuid(f"practitioner-role/{self.npi}")


HOSPITAL = "hospital"
CLINIC = "clinic"

_TAXONOMY = {
    "primary_care": Code(NUCC, "207Q00000X", "Family Medicine Physician"),
    "internal_medicine": Code(NUCC, "207R00000X", "Internal Medicine Physician"),
    "nurse_practitioner": Code(NUCC, "363LF0000X", "Family Nurse Practitioner"),
    "pediatrics": Code(NUCC, "208000000X", "Pediatrics Physician"),
    "emergency": Code(NUCC, "207P00000X", "Emergency Medicine Physician"),
    "hospitalist": Code(NUCC, "208M00000X", "Hospitalist"),
    "surgery": Code(NUCC, "208600000X", "Surgery Physician"),
    "orthopedics": Code(NUCC, "207X00000X", "Orthopaedic Surgery Physician"),
    "cardiology": Code(NUCC, "207RC0000X", "Cardiovascular Disease Physician"),
    "gastroenterology": Code(NUCC, "207RG0100X", "Gastroenterology Physician"),
    "oncology": Code(NUCC, "207RX0202X", "Medical Oncology Physician"),
    "pathology": Code(NUCC, "207ZP0102X", "Anatomic Pathology Physician"),
    "urology": Code(NUCC, "208800000X", "Urology Physician"),
    "pulmonology": Code(NUCC, "207RP1001X", "Pulmonary Disease Physician"),
}

# (given, family, sex, credential, specialty, organization)
_STAFF = (
    ("Margaret", "Okonkwo", "female", "MD", "primary_care", CLINIC),
    ("Daniel", "Whitfield", "male", "DO", "primary_care", CLINIC),
    ("Priya", "Raman", "female", "MD", "internal_medicine", CLINIC),
    ("Thomas", "Brandt", "male", "MD", "internal_medicine", CLINIC),
    ("Elena", "Vasquez", "female", "MD", "primary_care", CLINIC),
    ("Rachel", "Lindgren", "female", "NP", "nurse_practitioner", CLINIC),
    ("Samuel", "Adeyemi", "male", "MD", "pediatrics", CLINIC),
    ("Kevin", "Marsh", "male", "MD", "emergency", HOSPITAL),
    ("Alicia", "Moreno", "female", "DO", "emergency", HOSPITAL),
    ("Jonathan", "Pruitt", "male", "MD", "emergency", HOSPITAL),
    ("Hannah", "Kessler", "female", "MD", "hospitalist", HOSPITAL),
    ("Victor", "Chandra", "male", "MD", "hospitalist", HOSPITAL),
    ("Laura", "Benson", "female", "MD", "hospitalist", HOSPITAL),
    ("Michael", "Archer", "male", "MD", "surgery", HOSPITAL),
    ("Gregory", "Stanek", "male", "MD", "orthopedics", HOSPITAL),
    ("Nadia", "Farouk", "female", "MD", "cardiology", HOSPITAL),
    ("Christopher", "Liang", "male", "MD", "gastroenterology", HOSPITAL),
    ("Susan", "Delacroix", "female", "MD", "oncology", HOSPITAL),
    ("Robert", "Ellison", "male", "MD", "pathology", HOSPITAL),
    ("Andrew", "Novotny", "male", "MD", "urology", HOSPITAL),
    ("Julia", "Hargrove", "female", "MD", "pulmonology", HOSPITAL),
)

PRIMARY_CARE = ("primary_care", "internal_medicine", "nurse_practitioner")


@dataclass(frozen=True)
class Facility:
    organizations: dict[str, Organization]
    practitioners: tuple[Practitioner, ...]

    def by_specialty(self, specialty: str) -> tuple[Practitioner, ...]:
        return tuple(p for p in self.practitioners if p.specialty == specialty)

    @property
    def primary_care(self) -> tuple[Practitioner, ...]:
        return tuple(p for p in self.practitioners if p.specialty in PRIMARY_CARE)


@cache
def facility() -> Facility:
    hospital = Organization(
        HOSPITAL,
        ids.facility_uuid("organization/hospital"),
        "Maple Ridge Regional Medical Center",
        ids.npi(1),
        "4800 Maple Ridge Pkwy",
        "Columbus",
        "(614) 555-0100",
    )
    clinic = Organization(
        CLINIC,
        ids.facility_uuid("organization/clinic"),
        "Maple Ridge Family Health Clinic",
        ids.npi(2),
        "1250 Olentangy Ave Suite 200",
        "Columbus",
        "(614) 555-0110",
        part_of=HOSPITAL,
    )
    staff = tuple(
        Practitioner(
            ids.facility_uuid(f"practitioner/{i}"),
            ids.npi(100 + i),
            given,
            family,
            sex,
            cred,
            spec,
            _TAXONOMY[spec],
            org,
        )
        for i, (given, family, sex, cred, spec, org) in enumerate(_STAFF)
    )
    return Facility({HOSPITAL: hospital, CLINIC: clinic}, staff)


def _organization_resource(org: Organization, orgs: dict[str, Organization]) -> dict:
    res = {
        "resourceType": "Organization",
        "id": org.id,
        "identifier": [{"system": NPI_SYSTEM, "value": org.npi}],
        "active": True,
        "type": [
            {"coding": [{"system": ORG_TYPE, "code": "prov", "display": "Healthcare Provider"}]}
        ],
        "name": org.name,
        "telecom": [{"system": "phone", "value": org.phone, "use": "work"}],
        "address": [
            {
                "use": "work",
                "line": [org.line],
                "city": org.city,
                "state": "OH",
                "postalCode": "43215",
                "country": "US",
            }
        ],
    }
    if org.part_of:
        res["partOf"] = {"reference": f"urn:uuid:{orgs[org.part_of].id}"}
    return res


def _practitioner_resources(p: Practitioner, orgs: dict[str, Organization]) -> list[dict]:
    practitioner = {
        "resourceType": "Practitioner",
        "id": p.id,
        "identifier": [
            {
                "type": {
                    "coding": [
                        {
                            "system": NPI_TYPE.system,
                            "code": NPI_TYPE.code,
                            "display": NPI_TYPE.display,
                        }
                    ]
                },
                "system": NPI_SYSTEM,
                "value": p.npi,
            }
        ],
        "active": True,
        "name": [
            {"use": "official", "family": p.family, "given": [p.given], "suffix": [p.credential]}
        ],
        "telecom": [{"system": "phone", "value": orgs[p.organization].phone, "use": "work"}],
        "gender": p.sex,
        "qualification": [
            {"code": {"coding": [{"system": V2_0360, "code": p.credential}], "text": p.credential}}
        ],
    }
    role_code = "nurse" if p.credential == "NP" else "doctor"
    role = {
        "resourceType": "PractitionerRole",
        "id": p.role_id,
        "active": True,
        "practitioner": {"reference": f"urn:uuid:{p.id}", "display": p.display},
        "organization": {"reference": f"urn:uuid:{orgs[p.organization].id}"},
        "code": [{"coding": [{"system": ROLE_CODE, "code": role_code}]}],
        "specialty": [
            {
                "coding": [
                    {
                        "system": p.taxonomy.system,
                        "code": p.taxonomy.code,
                        "display": p.taxonomy.display,
                    }
                ]
            }
        ],
    }
    return [practitioner, role]


def facility_bundle() -> dict:
    """The transaction Bundle that creates the organizations and practitioners (PUT)."""
    fac = facility()
    orgs = fac.organizations
    resources = [_organization_resource(o, orgs) for o in orgs.values()]
    for p in fac.practitioners:
        resources.extend(_practitioner_resources(p, orgs))
    return transaction(ids.facility_uuid("bundle/facility"), resources)


def transaction(bundle_id: str, resources: list[dict]) -> dict:
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{r['id']}",
                "resource": r,
                "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"},
            }
            for r in resources
        ],
    }
