"""Planted identifiers: known Safe Harbor identifiers written into charts, for evaluation.

Owns the ground truth for de-identification benchmarks (bench/deid.py). For about half of
the notes and pathology reports of each chart it inserts an "ADDENDUM" paragraph of natural
sentences carrying identifiers of every kind of 45 CFR 164.514(b)(2)(i): names of the
patient and relatives, phone and fax numbers, e-mail, SSN, MRN, street addresses, cities,
ZIP codes (some in restricted 3-digit areas), dates in many formats, ages over 89, URLs, IP
addresses, account, plan, licence, certificate, vehicle, device and biometric numbers. The
same sentences carry look-alikes that are not identifiers (lab values, doses, ICD-10 codes,
years, vital signs, ages under 90), so precision can be measured too. It also adds
structured identifiers: an emergency contact on the Patient, a Coverage with a member id
and a contained payer, an implanted Device with a serial number, and a note on a Condition.

Ground truth goes to ``ctx.emit("planted_identifiers", record)``, one record per element:
``{"patient", "resourceType", "id", "element", "region": [start, end] | None,
"identifiers": [{"kind", "text", "start", "end"}], "lookalikes": [...]}``; offsets index the
element's final (decoded) text. Run it after the default modules so no later module moves
the text: ``generate(n, seed, modules=[*default_modules(), PlantedIdentifiers()])``.
Everything is synthetic: 555-01xx phones, never-issued 9xx SSNs, example.* domains,
documentation IP ranges (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32).
"""

from __future__ import annotations

import base64
import random
import re
from datetime import date, timedelta

from .. import wordlists as words
from ..fhirutil import b64
from ..model import HISTORY_END, Chart, Person
from ..module import ChartContext, SynthModule
from .documents import document_text, set_document_text

# Given names and surnames outside the common-name lists: only context can reveal them.
RARE_GIVEN = (
    "Anneliese", "Thaddeus", "Ignatius", "Zebulon", "Marisol", "Ifeoma", "Bartholomew",
    "Saoirse", "Niamh", "Siobhan", "Tomasz", "Wojciech", "Agnieszka", "Dagny", "Solveig",
    "Leopold", "Cornelius", "Ezekiel", "Thelonious", "Perpetua", "Ysolde", "Oksana", "Kwabena",
)  # fmt: skip
RARE_FAMILY = (
    "Abernathy", "Vukovic", "Nakamura", "Oyelaran", "Fitzwilliam", "Castellanos",
    "Przybylski", "Thorvaldsen", "Achterberg", "Quisenberry", "Okonjo", "Demetriou",
)  # fmt: skip
# Places whose 3-digit ZIP area has 20,000 people or fewer (Safe Harbor turns them to 000).
RESTRICTED_PLACES = (
    ("Valentine", "NE", "69201"), ("Rawlins", "WY", "82301"), ("Jackson", "WY", "83001"),
    ("Socorro", "NM", "87801"), ("Ely", "NV", "89301"), ("Tucumcari", "NM", "88401"),
)  # fmt: skip
PLANS = ("Buckeye Health Plan", "Summit Mutual", "Great Lakes Care", "Heartland Medicaid HMO")
DEVICES = ("pacemaker", "insulin pump", "implantable defibrillator", "CPAP machine")
RELATIONS = {
    "female": ("daughter", "sister", "mother", "wife", "niece", "granddaughter"),
    "male": ("son", "brother", "father", "husband", "nephew", "grandson"),
}
_VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
_MBI_LETTERS = "ACDEFGHJKMNPQRTUVWXY"
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
# A segment is plain text, or (kind, text) for an identifier, or ("~kind", text) for a
# look-alike that must survive.
Segment = str | tuple[str, str]


class Facts:
    """The identifiers planted in one chart, drawn once so every note tells the same story."""

    def __init__(self, rng: random.Random, person: Person):
        self.rng = rng
        self.person = person
        p, a = person, person.address
        self.given, self.family = p.given[0], p.family
        self.title = "Ms." if p.sex == "female" else "Mr."
        self.relatives = [self._relative() for _ in range(3)]
        self.phone = p.phone or f"({a.area_code}) 555-01{rng.randrange(100):02d}"
        self.fax = f"{a.area_code}-555-01{rng.randrange(100):02d}"
        self.email = p.email or f"{self.given}.{self.family}{rng.randrange(99)}@example.org".lower()
        self.ssn = (
            p.ssn or f"9{rng.randrange(10, 99)}-{rng.randrange(10, 49)}-{rng.randrange(1000, 9999)}"
        )
        self.street, self.city, self.state, self.zip = a.line[0], a.city, a.state, a.postal_code
        self.old_city, self.old_state, self.old_zip = rng.choice(RESTRICTED_PLACES)
        suffix = rng.choice(("Street", "Avenue", "Road", "Drive"))
        self.old_street = f"{rng.randint(10, 990)} {rng.choice(words.STREETS)} {suffix}"
        n = rng.randrange(10**6, 10**7)
        self.plan = rng.choice(PLANS)
        self.member_id = f"{rng.choice('XJKWH')}{rng.choice('XJKWH')}H{n}{rng.randrange(10, 99)}"
        self.group = f"GRP-{rng.randrange(1000, 9999)}"
        self.mbi = (
            f"{rng.randint(1, 9)}{rng.choice(_MBI_LETTERS)}{rng.choice(_MBI_LETTERS)}"
            f"{rng.randint(0, 9)}-"
            f"{rng.choice(_MBI_LETTERS)}{rng.choice(_MBI_LETTERS)}{rng.randint(0, 9)}-"
            f"{rng.choice(_MBI_LETTERS)}{rng.choice(_MBI_LETTERS)}{rng.randint(10, 99)}"
        )
        self.account = f"{rng.randrange(10**7, 10**8)}-{rng.randrange(10, 99)}"
        self.claim = f"CLM-{rng.randrange(10**5, 10**6)}"
        self.license = f"{rng.choice('RSTK')}{rng.choice('TXYR')}{rng.randrange(10**5, 10**6)}"
        self.certificate = f"{rng.randint(1930, 2020)}-OH-{rng.randrange(10**5, 10**6)}"
        self.vin = "".join(rng.choice(_VIN_CHARS) for _ in range(14)) + f"{rng.randrange(100, 999)}"
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(3))
        self.plate = f"{letters}-{rng.randrange(1000, 9999)}"
        self.device = rng.choice(DEVICES)
        self.serial = (
            f"{rng.choice(('PJN', 'SN', 'MDT'))}{rng.randrange(10**5, 10**6)}{rng.choice('HKQ')}"
        )
        self.udi = f"00{rng.randrange(10**11, 10**12)}"
        self.biometric = f"BIO-{rng.randrange(1000, 9999)}-{rng.randrange(10, 99)}"
        self.url = rng.choice(
            (
                f"https://portal.example.org/patients/{n}",
                f"www.example.com/{self.family.lower().replace(chr(39), '')}{rng.randrange(99)}",
                f"http://example.net/carepages/{self.given.lower()}-{rng.randrange(999)}",
            )
        )
        self.ipv4 = f"{rng.choice(('192.0.2', '198.51.100', '203.0.113'))}.{rng.randint(2, 254)}"
        self.ipv6 = f"2001:db8::{rng.randrange(16**3, 16**4):x}"
        self.event = HISTORY_END.date() - timedelta(days=rng.randrange(30, 1400))

    def _relative(self) -> dict:
        rng = self.rng
        sex = rng.choice(("female", "male"))
        rare = rng.random() < 0.2
        pool = words.FEMALE if sex == "female" else words.MALE
        given = rng.choice(RARE_GIVEN) if rare else rng.choice(pool)
        family = (
            rng.choice(RARE_FAMILY)
            if rare and rng.random() < 0.5
            else rng.choice((self.person.family, *words.SURNAMES[:120]))
        )
        return {
            "relation": rng.choice(RELATIONS[sex]),
            "given": given,
            "family": family,
            "phone": f"({self.person.address.area_code}) 555-01{rng.randrange(100):02d}",
            "email": f"{given}.{family}@example.net".lower().replace("'", ""),
            "age": rng.randint(90, 103),
        }


def _date_forms(d: date, rng: random.Random) -> tuple[str, str]:
    """(kind of format, the date written in it)."""
    month = _MONTHS[d.month - 1]
    forms = [
        f"{d.month:02d}/{d.day:02d}/{d.year}",
        f"{d.month}/{d.day}/{d.year % 100:02d}",
        f"{month} {d.day}, {d.year}",
        f"{month[:3]} {d.day} {d.year}",
        f"{d.day} {month[:3]} {d.year}",
        f"{d.year}-{d.month:02d}-{d.day:02d}",
        f"{d.day:02d}-{month[:3].upper()}-{d.year}",
        f"{month} {d.day}{_suffix(d.day)}, {d.year}",
    ]
    return "date", rng.choice(forms)


def _suffix(day: int) -> str:
    return "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")


def _sentences(f: Facts, rng: random.Random) -> list[list[Segment]]:
    """The sentence pool for one paragraph; each is a list of segments."""
    r1, r2, r3 = f.relatives
    p = f.person
    dob = _date_forms(p.birth_date, rng)
    when = f.event
    later = when + timedelta(days=rng.randint(2, 9))
    lab = rng.choice(("Hgb 13.5", "Hgb 11.2", "WBC 7.4", "Na 139", "K 4.1", "INR 2.3"))
    dose = rng.choice(("metformin 500 mg", "lisinopril 10 mg", "atorvastatin 40 mg"))
    icd = rng.choice(("E11.9", "I10", "J44.1", "N18.3", "C18.7", "F32.A"))
    bp = f"BP {rng.randint(105, 150)}/{rng.randint(60, 95)}"
    young = str(rng.randint(25, 88))
    pronoun = "her" if p.sex == "female" else "his"
    return [
        [
            f"{f.title} ",
            ("name", f.family),
            f" was accompanied today by {pronoun} ",
            r1["relation"],
            ", ",
            ("name", f"{r1['given']} {r1['family']}"),
            ", who can be reached at ",
            ("phone", r1["phone"]),
            ".",
        ],
        [
            "Discussed the plan with ",
            r2["relation"],
            " ",
            ("name", r2["given"]),
            " by phone at ",
            ("phone", r2["phone"].replace("(", "").replace(") ", "-")),
            "; ",
            ("~lab", lab),
            " g/dL reviewed together.",
        ],
        [
            "Records were faxed to the referring office, fax ",
            ("fax", f.fax),
            ", on ",
            ("date", f"{later.month}/{later.day}/{later.year}"),
            ".",
        ],
        [
            "Portal message received from ",
            ("email", f.email),
            " asking about ",
            ("~dose", dose),
            ".",
        ],
        ["Identity verified with SSN ", ("ssn", f.ssn), " and date of birth ", dob, "."],
        [
            "Insurance: ",
            f.plan,
            ", member ID ",
            ("plan", f.member_id),
            ", group number ",
            ("plan", f.group),
            ".",
        ],
        ["Medicare MBI ", ("plan", f.mbi), " is on file; diagnosis ", ("~icd", icd), " coded."],
        [
            "Billing account number ",
            ("account", f.account),
            "; please reference claim number ",
            ("account", f.claim),
            " when calling.",
        ],
        [
            "Home address confirmed as ",
            ("address", f.street),
            ", ",
            ("location", f.city),
            ", ",
            f.state,
            " ",
            ("zip", f.zip),
            ".",
        ],
        [
            ("name", f.given),
            " previously lived at ",
            ("address", f.old_street),
            ", ",
            ("location", f.old_city),
            ", ",
            f.old_state,
            " ",
            ("zip", f.old_zip),
            " until ",
            ("~year", str(rng.randint(2005, 2019))),
            ".",
        ],
        [
            ("name", f.given),
            " still drives; license plate ",
            ("vehicle", f.plate),
            ", VIN ",
            ("vehicle", f.vin),
            ".",
        ],
        ["Driver's license ", ("license", f.license), " scanned at registration."],
        [
            "Birth certificate number ",
            ("license", f.certificate),
            " provided for the guardianship paperwork.",
        ],
        [
            "The ",
            f.device,
            " (serial number ",
            ("device", f.serial),
            ", device ID ",
            ("device", f.udi),
            ") was interrogated and is functioning normally.",
        ],
        ["Biometric ID ", ("biometric", f.biometric), " enrolled for medication cabinet access."],
        [
            pronoun.capitalize() + " ",
            r3["relation"],
            " ",
            ("name", f"{r3['given']} {r3['family']}"),
            ", age ",
            ("age", str(r3["age"])),
            ", also attended; ",
            ("~vital", bp),
            " today.",
        ],
        [
            "Grandmother is a ",
            ("age", str(rng.randint(90, 101))),
            "-year-old who lives with the family; patient is ",
            ("~age", young),
            " years old.",
        ],
        [
            "Home monitoring readings upload from IP address ",
            ("ip", f.ipv4),
            "; telehealth visits connect from ",
            ("ip", f.ipv6),
            ".",
        ],
        ["Shared care plan posted at ", ("url", f.url), " for the family."],
        [
            "Admitted on ",
            _date_forms(when, rng),
            " and discharged ",
            ("date", f"{later:%m/%d/%Y}"),
            ".",
        ],
        [
            "Symptoms began in ",
            ("date", f"{_MONTHS[when.month - 1]} {when.year}"),
            "; follow-up set for ",
            ("date", f"{_MONTHS[later.month - 1]} {later.day}"),
            ".",
        ],
        [
            "Last imaging dated ",
            ("date", f"{when:%Y-%m-%d}"),
            "; creatinine ",
            ("~lab", f"{rng.randint(6, 14) / 10}"),
            " mg/dL.",
        ],
        ["Chart ", ("mrn", p.mrn), " reviewed; MRN ", ("mrn", p.mrn), " matches the wristband."],
        [
            "Re: ",
            ("name", f"{f.family.upper()}, {f.given.upper()}"),
            " (DOB ",
            ("date", f"{p.birth_date:%m/%d/%Y}"),
            ").",
        ],
        [
            "Contact ",
            ("name", f"{r1['given']} {r1['family']}"),
            " at ",
            ("email", r1["email"]),
            " or ",
            ("phone", r1["phone"].replace("(", "").replace(") ", ".").replace("-", ".")),
            ".",
        ],
        [
            "Spoke with ",
            ("name", f"{f.given} {f.family}"),
            " on ",
            ("date", f"{when.month}/{when.day}"),
            " about ",
            ("~dose", dose),
            " twice daily.",
        ],
        [
            "Dr. ",
            ("name", rng.choice(words.SURNAMES)),
            " from cardiology called back at ",
            ("phone", f"+1 614 555 01{rng.randrange(100):02d}"),
            ".",
        ],
        [
            "Lives in ",
            ("location", f.city),
            " with ",
            r2["relation"],
            " ",
            ("name", f"{r2['given']} {r2['family']}"),
            "; ",
            ("~vital", f"HR {rng.randint(55, 99)}"),
            ", weight ",
            ("~vital", f"{rng.randint(50, 110)}.{rng.randint(0, 9)} kg"),
            ".",
        ],
        [
            "Follow up in ",
            ("~count", str(rng.randint(2, 12))),
            " weeks; repeat A1c in ",
            ("~year", str(when.year)),
            ".",
        ],
        *_harder(f, rng),
    ]


def _harder(f: Facts, rng: random.Random) -> list[list[Segment]]:
    """Sentences written as notes really are, not as a scrubber would like: names with no
    cue or in lower case, bare numbers, spelled-out e-mail, partial SSNs, odd date styles."""
    r1, r2, r3 = f.relatives
    when = f.event + timedelta(days=rng.randint(10, 40))
    digits = f"{f.person.address.area_code}55501{rng.randrange(100):02d}"
    user = f"{f.given[0]}{f.family}".lower().replace("'", "")
    weekday = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")[when.weekday() % 5]
    born = f.person.birth_date
    apartment = f"Apt {rng.randint(1, 30)}{rng.choice('ABCD')}"
    return [
        [("name", r3["given"]), " will pick up the prescription at the pharmacy."],
        ["Left a voicemail for pt's ", r1["relation"], " ", ("name", r1["given"].lower()),
         " regarding ", ("~dose", "10 mg"), " dosing."],
        ["Call back number ", ("phone", digits), "."],
        ["Next appointment ", weekday, ", ",
         ("date", f"{_MONTHS[when.month - 1]} {when.day}{_suffix(when.day)}"), "."],
        ["Mailing address ", ("address", f"PO Box {rng.randrange(100, 9999)}"), ", ",
         ("location", f.city), "."],
        ["Prefers e-mail: ", ("email", f"{user} at example dot com"), "."],
        ["Verified last four of SSN ", ("ssn", f.ssn[-4:]), "."],
        ["Unit is ", ("address", apartment), " on the second floor."],
        ["Per nurse ", ("name", rng.choice(words.SURNAMES)), ", ", ("~lab", "glucose 142"),
         " this morning."],
        ["DOB ", ("date", f"{born.month}.{born.day}.{born.year}"), " confirmed."],
        ["The ", r2["relation"], " (", ("name", f"{r2['given']} {r2['family']}"),
         ") asked about ", ("~icd", "ICD-10 E11.9"), "."],
        [("name", f"{r1['given']} {r1['family']}"), " is the health care proxy."],
    ]  # fmt: skip


def paragraph(facts: Facts, rng: random.Random, count: int) -> tuple[str, list, list]:
    """Text of `count` sentences, with (kind, text, start, end) of identifiers and look-alikes."""
    chosen = rng.sample(_sentences(facts, rng), count)
    text, identifiers, lookalikes = "", [], []
    for sentence in chosen:
        for seg in sentence:
            if isinstance(seg, str):
                text += seg
                continue
            kind, value = seg
            record = {"kind": kind.lstrip("~"), "text": value, "start": len(text)}
            text += value
            record["end"] = len(text)
            (lookalikes if kind.startswith("~") else identifiers).append(record)
        text += " "
    return text.rstrip(), identifiers, lookalikes


class PlantedIdentifiers(SynthModule):
    """Plants identifiers in notes and structured elements; see the module docstring."""

    name = "planted"

    def __init__(self, share: float = 0.5, sentences: tuple[int, int] = (4, 8)):
        self.share = share
        self.sentences = sentences

    def chart(self, ctx: ChartContext, person: Person, chart: Chart) -> None:
        rng = ctx.rng
        facts = Facts(rng, person)
        for res in list(chart.resources):
            if res["resourceType"] == "DocumentReference" and rng.random() < self.share:
                self._plant_note(ctx, res, facts, "content[0].attachment.data")
            elif (
                res["resourceType"] == "DiagnosticReport"
                and res.get("presentedForm")
                and rng.random() < self.share
            ):
                self._plant_note(ctx, res, facts, "presentedForm[0].data")
        if chart.patient is not None:
            self._structured(ctx, chart, facts)

    def _plant_note(self, ctx: ChartContext, res: dict, facts: Facts, element: str) -> None:
        rng = ctx.rng
        if res["resourceType"] == "DocumentReference":
            text = document_text(res)
        else:
            text = base64.b64decode(res["presentedForm"][0]["data"]).decode("utf-8")
        body, identifiers, lookalikes = paragraph(facts, rng, rng.randint(*self.sentences))
        block = f"ADDENDUM:\n{body}\n\n"
        signed = re.search(r"^Electronically signed by", text, re.MULTILINE)
        at = signed.start() if signed else len(text)
        if not signed and not text.endswith("\n"):
            block = "\n\n" + block
        offset = at + block.index(body)
        new = text[:at] + block + text[at:]
        if res["resourceType"] == "DocumentReference":
            set_document_text(res, new)
        else:
            res["presentedForm"][0]["data"] = b64(new)
        for item in (*identifiers, *lookalikes):
            item["start"] += offset
            item["end"] += offset
        ctx.emit(
            "planted_identifiers",
            {
                "patient": ctx.person.patient_id,
                "resourceType": res["resourceType"],
                "id": res["id"],
                "element": element,
                "region": [offset, offset + len(body)],
                "identifiers": identifiers,
                "lookalikes": lookalikes,
            },
        )

    def _structured(self, ctx: ChartContext, chart: Chart, f: Facts) -> None:
        rng = ctx.rng
        r1 = f.relatives[0]
        patient = chart.patient
        patient["contact"] = [
            {
                "relationship": [
                    {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                                "code": "C",
                                "display": "Emergency Contact",
                            }
                        ],
                        "text": r1["relation"],
                    }
                ],
                "name": {"family": r1["family"], "given": [r1["given"]]},
                "telecom": [{"system": "phone", "value": r1["phone"], "use": "mobile"}],
                "address": {
                    "line": [f.old_street],
                    "city": f.old_city,
                    "state": f.old_state,
                    "postalCode": f.old_zip,
                },
            }
        ]
        truth = [
            {"kind": "name", "text": r1["given"]},
            {"kind": "name", "text": r1["family"]},
            {"kind": "phone", "text": r1["phone"]},
            {"kind": "address", "text": f.old_street},
            {"kind": "location", "text": f.old_city},
            {"kind": "zip", "text": f.old_zip},
        ]
        self._emit(ctx, patient, "contact", truth)
        coverage = {
            "resourceType": "Coverage",
            "id": ctx.new_id(),
            "contained": [{"resourceType": "Organization", "id": "payer", "name": f.plan}],
            "identifier": [
                {"system": "urn:oid:2.16.840.1.113883.19.5.99999.7", "value": f.member_id}
            ],
            "status": "active",
            "subscriberId": f.member_id,
            "beneficiary": {"reference": chart.patient_ref},
            "dependent": "01",
            "relationship": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/subscriber-relationship",
                        "code": "self",
                    }
                ]
            },
            "payor": [{"reference": "#payer"}],
            "class": [
                {
                    "type": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/coverage-class",
                                "code": "group",
                            }
                        ]
                    },
                    "value": f.group,
                }
            ],
        }
        chart.add(coverage)
        self._emit(
            ctx,
            coverage,
            "identifier, subscriberId, class.value",
            [{"kind": "plan", "text": f.member_id}, {"kind": "plan", "text": f.group}],
        )
        if rng.random() < 0.5:
            device = {
                "resourceType": "Device",
                "id": ctx.new_id(),
                "udiCarrier": [
                    {"deviceIdentifier": f.udi, "carrierHRF": f"(01){f.udi}(21){f.serial}"}
                ],
                "status": "active",
                "serialNumber": f.serial,
                "type": {"text": f.device},
                "patient": {"reference": chart.patient_ref},
            }
            chart.add(device)
            self._emit(
                ctx,
                device,
                "udiCarrier, serialNumber",
                [{"kind": "device", "text": f.udi}, {"kind": "device", "text": f.serial}],
            )
        conditions = chart.of_type("Condition")
        if conditions:
            cond = conditions[0]
            body, identifiers, _ = paragraph(f, rng, 2)
            cond["note"] = [{"text": body}]
            self._emit(ctx, cond, "note[0].text", identifiers)

    @staticmethod
    def _emit(ctx: ChartContext, res: dict, element: str, identifiers: list[dict]) -> None:
        ctx.emit(
            "planted_identifiers",
            {
                "patient": ctx.person.patient_id,
                "resourceType": res["resourceType"],
                "id": res["id"],
                "element": element,
                "region": None,
                "identifiers": identifiers,
                "lookalikes": [],
            },
        )
