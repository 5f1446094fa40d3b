"""Demographics: registers the slot's person and writes the Patient resource.

Owns identity (names, sex, birth date, MRN, SSN, address, phone, email, marital status,
maiden name) and the date of death. Identity draws come from the slot's `people` stream so
a later module can copy a person and alter a few fields to fake a duplicate registration.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from itertools import accumulate

from .. import wordlists as words
from ..facility import HOSPITAL
from ..fhirutil import coding, concept, day, dt
from ..model import HISTORY_END, HISTORY_START, Address, Chart, Person
from ..module import ChartContext, SlotContext, SynthModule
from ..terminology import MARITAL_STATUS, MRN_SYSTEM, MRN_TYPE, SSN_SYSTEM, SSN_TYPE

# (min age, max age, share) at the end of the history window.
AGE_BANDS = ((2, 17, 0.20), (18, 44, 0.33), (45, 64, 0.27), (65, 94, 0.20))
_PLACE_CUM = list(accumulate(p[4] for p in words.PLACES))


def _birth_date(rng: random.Random) -> date:
    lo, hi, _ = rng.choices(AGE_BANDS, weights=[b[2] for b in AGE_BANDS])[0]
    age = rng.randint(lo, hi)
    end = HISTORY_END.date()
    return date(end.year - age - 1, end.month, end.day) + timedelta(days=rng.randrange(1, 365))


def _marital(rng: random.Random, age: int) -> str:
    if age < 18:
        return "S"
    if age < 30:
        table = (("S", 0.70), ("M", 0.27), ("D", 0.03))
    elif age < 65:
        table = (("M", 0.55), ("S", 0.24), ("D", 0.16), ("W", 0.05))
    else:
        table = (("M", 0.50), ("W", 0.30), ("D", 0.12), ("S", 0.08))
    return rng.choices([t[0] for t in table], weights=[t[1] for t in table])[0]


def random_address(rng: random.Random) -> Address:
    city, state, zip_code, area, _ = rng.choices(words.PLACES, cum_weights=_PLACE_CUM)[0]
    line = [
        f"{rng.randint(10, 9899)} {rng.choice(words.STREETS)} {rng.choice(words.STREET_SUFFIXES)}"
    ]
    if rng.random() < 0.18:
        line.append(f"Apt {rng.randint(1, 24)}{rng.choice('ABCDEF')}")
    return Address(line, city, state, zip_code, area)


def _death(rng: random.Random, birth: date) -> datetime | None:
    age = HISTORY_END.year - birth.year
    risk = (
        0.004
        if age < 50
        else 0.02
        if age < 65
        else 0.05
        if age < 75
        else 0.12
        if age < 85
        else 0.25
    )
    if rng.random() >= risk:
        return None
    span = (HISTORY_END - HISTORY_START).days - 120
    when = HISTORY_START + timedelta(days=120 + rng.randrange(span), minutes=rng.randrange(1440))
    return when.replace(second=0)


def new_person(ctx: SlotContext, registration: int = 0) -> Person:
    """A fresh random person for this slot (also usable by plugins to add e.g. a twin)."""
    rng = ctx.rng
    sex = "female" if rng.random() < 0.51 else "male"
    names = words.FEMALE if sex == "female" else words.MALE
    given = [rng.choice(names)]
    if rng.random() < 0.6:
        given.append(rng.choice(names))
    family = rng.choice(words.SURNAMES)
    birth = _birth_date(rng)
    age = HISTORY_END.year - birth.year
    marital = _marital(rng, age)
    maiden = None
    if sex == "female" and marital in ("M", "D", "W") and rng.random() < 0.7:
        maiden = rng.choice(words.SURNAMES)
    address = random_address(rng)
    phone = f"({address.area_code}) 555-01{rng.randrange(100):02d}" if rng.random() < 0.95 else None
    email = None
    if age >= 16 and rng.random() < 0.6:
        handle = f"{given[0]}.{family}".lower().replace("'", "")
        email = f"{handle}{rng.randrange(100)}@{rng.choice(words.EMAIL_DOMAINS)}"
    return Person(
        key=ctx.new_id(),
        patient_id=ctx.new_id(),
        registration=registration,
        mrn=ctx.mrn(registration),
        ssn=ctx.ssn(registration) if rng.random() < 0.93 else None,
        sex=sex,
        given=given,
        family=family,
        birth_date=birth,
        address=address,
        phone=phone,
        email=email,
        marital=marital,
        maiden_name=maiden,
        deceased=_death(rng, birth),
    )


def _identifiers(p: Person, hospital_ref: str) -> list[dict]:
    out = [
        {
            "use": "usual",
            "type": concept(MRN_TYPE),
            "system": MRN_SYSTEM,
            "value": p.mrn,
            "assigner": {"reference": hospital_ref},
        }
    ]
    if p.ssn:
        out.append({"type": concept(SSN_TYPE), "system": SSN_SYSTEM, "value": p.ssn})
    return out


def _telecom(p: Person) -> list[dict]:
    out = []
    if p.phone:
        out.append({"system": "phone", "value": p.phone, "use": "mobile" if p.email else "home"})
    if p.email:
        out.append({"system": "email", "value": p.email, "use": "home"})
    return out


def patient_resource(person: Person, hospital_ref: str) -> dict:
    p = person
    names = [{"use": "official", "family": p.family, "given": list(p.given)}]
    if p.maiden_name:
        names.append({"use": "maiden", "family": p.maiden_name, "given": list(p.given)})
    res: dict = {
        "resourceType": "Patient",
        "id": p.patient_id,
        "identifier": _identifiers(p, hospital_ref),
        "active": True,
        "name": names,
    }
    telecom = _telecom(p)
    if telecom:
        res["telecom"] = telecom
    res["gender"] = p.sex
    res["birthDate"] = day(p.birth_date)
    if p.deceased:
        res["deceasedDateTime"] = dt(p.deceased)
    a = p.address
    res["address"] = [
        {
            "use": "home",
            "type": "physical",
            "line": list(a.line),
            "city": a.city,
            "state": a.state,
            "postalCode": a.postal_code,
            "country": "US",
        }
    ]
    res["maritalStatus"] = {"coding": [coding(MARITAL_STATUS[p.marital])]}
    res["communication"] = [
        {
            "language": {
                "coding": [
                    {
                        "system": "urn:ietf:bcp:47",
                        "code": "en-US",
                        "display": "English (United States)",
                    }
                ]
            },
            "preferred": True,
        }
    ]
    return res


class Demographics(SynthModule):
    name = "demographics"

    def people(self, ctx: SlotContext, people: list[Person]) -> None:
        if not people:
            people.append(new_person(ctx))

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        chart.patient = patient_resource(person, ctx.facility.organizations[HOSPITAL].ref)
        chart.add(chart.patient)
