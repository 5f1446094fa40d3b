"""The in-memory model a patient's chart is built on, shared by all modules.

A `Person` is one registration of a human being (duplicate registrations of the same human
share `key`). A `Chart` collects the FHIR resources of one registration plus the structured
facts modules hand to each other (visits, problems, profile), so a notes module need not
parse FHIR back. Only `Chart.resources` ends up in the output bundle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .catalog import Dx
from .facility import Organization, Practitioner
from .orders import Med, Proc

# Time frame of the synthetic records: care happens within HISTORY, and AS_OF is "today"
# for anything judged by age (unsigned notes, overdue discharge summaries).
HISTORY_START = datetime(2021, 10, 1)
HISTORY_END = datetime(2025, 12, 31, 23, 59)
AS_OF = datetime(2026, 1, 15, 9, 0)


@dataclass
class Address:
    line: list[str]
    city: str
    state: str
    postal_code: str
    area_code: str


@dataclass
class Person:
    key: str  # the human being; shared by every registration of the same person
    patient_id: str  # id of this registration's Patient resource
    registration: int  # index within the slot; numbers the MRN/SSN draw
    mrn: str
    ssn: str | None
    sex: str  # FHIR administrative gender: male / female
    given: list[str]  # first name, then middle names
    family: str
    birth_date: date
    address: Address
    phone: str | None
    email: str | None
    marital: str  # v3 MaritalStatus code
    maiden_name: str | None = None
    deceased: datetime | None = None
    attrs: dict[str, Any] = field(default_factory=dict)  # free-form data for plugin modules

    def age_at(self, when: date | datetime) -> int:
        d = when.date() if isinstance(when, datetime) else when
        b = self.birth_date
        return d.year - b.year - ((d.month, d.day) < (b.month, b.day))

    @property
    def display_name(self) -> str:
        return " ".join([*self.given, self.family])


@dataclass
class Profile:
    """Person-level physiology and history that stay stable across visits."""

    pcp: Practitioner
    smoking: str  # never / former / current
    height_cm: float
    bmi: float
    systolic: float
    diastolic: float
    heart_rate: float
    allergies: list[str]
    family_history: list[tuple[str, str]]  # (relative, condition phrase)
    alcohol: str


@dataclass(eq=False)
class Problem:
    """A diagnosis in the patient's life: chronic (problem list) or an acute episode."""

    id: str
    dx: Dx
    onset: datetime
    chronic: bool
    abated: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    resource: dict | None = None  # the problem-list / episode Condition once emitted

    @property
    def ref(self) -> str:
        return f"urn:uuid:{self.id}"


@dataclass(eq=False)
class PlannedProc:
    proc: Proc
    start: datetime
    end: datetime
    performer: Practitioner
    reason: Problem | None = None
    resource: dict | None = None


@dataclass(eq=False)
class Prescription:
    med: Med
    start: datetime
    reason: Problem | None
    resource: dict | None = None


@dataclass(eq=False)
class Visit:
    id: str
    klass: str  # AMB / EMER / IMP
    kind: str  # wellness, followup, acute, procedure, oncology, ed, admission, surgical
    start: datetime
    end: datetime
    practitioner: Practitioner
    organization: Organization
    reasons: list[Problem]  # principal / chief reason first
    secondary: list[Problem] = field(default_factory=list)  # comorbidities also coded
    panels: list[str] = field(default_factory=list)  # lab panels to draw
    procedures: list[PlannedProc] = field(default_factory=list)
    disposition: str | None = None  # inpatient discharge disposition key
    admit_source: str | None = None
    febrile: bool = False
    vitals: dict[str, float] = field(default_factory=dict)
    labs: dict[str, tuple[float, str]] = field(default_factory=dict)  # key -> (value, flag)
    documents: list[dict] = field(default_factory=list)  # DocumentReferences written for it
    resource: dict | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"urn:uuid:{self.id}"


@dataclass(eq=False)
class Chart:
    person: Person
    patient: dict | None = None  # the Patient resource, once demographics has run
    resources: list[dict] = field(default_factory=list)
    visits: list[Visit] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    prescriptions: list[Prescription] = field(default_factory=list)
    profile: Profile | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # scratch space for plugin modules

    @property
    def patient_ref(self) -> str:
        return f"urn:uuid:{self.person.patient_id}"

    def add(self, resource: dict) -> str:
        """Append a resource (which must have an id); returns its urn:uuid reference."""
        self.resources.append(resource)
        return f"urn:uuid:{resource['id']}"

    def remove(self, resource: dict) -> None:
        self.resources = [r for r in self.resources if r is not resource]

    def of_type(self, resource_type: str) -> list[dict]:
        return [r for r in self.resources if r["resourceType"] == resource_type]

    def chronic_problems(self, at: datetime | None = None) -> list[Problem]:
        return [p for p in self.problems if p.chronic and (at is None or p.onset <= at)]

    def has(self, *dx_keys: str) -> bool:
        return any(p.dx.key in dx_keys for p in self.problems if p.chronic)

    def sorted_visits(self) -> list[Visit]:
        return sorted(self.visits, key=lambda v: v.start)
