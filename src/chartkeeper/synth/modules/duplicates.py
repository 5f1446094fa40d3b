"""Duplicate registrations, twins and family members: the test bed of patient matching.

`Duplicates(share=0.1, twins=0.01, family=0.02)` runs after demographics (append it to
`default_modules()`). For a `share` of the slots, the slot's person is registered again,
once or (with probability `extra`) twice: another Patient with its own MRN and id but the
same human (`Person.key`), carrying the errors front desks make:

- typos in the given or family name: transposed, dropped or doubled letters, a
  neighbouring key on a QWERTY keyboard;
- a nickname for the given name (Robert -> Bob, Elizabeth -> Liz), or the middle name left out;
- a married woman registered under her maiden name;
- the birth date with day and month transposed (only where both can be a month), or one
  digit wrong;
- one SSN digit wrong, or no SSN at all;
- a new address (the person moved), a new phone number.

The registrations split the person's care window (`Person.attrs["window"]`, honoured by
`visits.care_window`): the first record has the early visits, the second the later ones,
as when someone comes back years later and is not found at the front desk. Facts drawn
from `ctx.person_rng` (chronic conditions, history) agree across the registrations.

Hard negatives, different people who look alike: for a `twins` share of the slots a twin
(same surname, address, phone and birth date; another given name and their own SSN), and
for a `family` share a spouse, child or sibling sharing the surname and address.

Ground truth, through `ctx.emit` (`out/truth/<stream>.jsonl` with `synth.write`):
- `duplicates`: one record per registration of a duplicated person, the first included
  (no errors): {"cluster": person key, "patient_id", "mrn", "registration", "errors":
  [{"field", "kind", "was", "now"}]};
- `twins`: {"cluster": None, "patient_ids": [first, twin], "people": [key, key],
  "same_person": False, "relation": "twin"};
- `family`: the same shape with "relation" spouse, child or sibling.

Deterministic per seed: every draw comes from this module's slot stream, in a fixed order.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import date, datetime, timedelta

from .. import ids
from .. import wordlists as words
from ..model import HISTORY_END, Address, Person
from ..module import SlotContext, SynthModule
from .demographics import new_person, random_address
from .visits import care_window

# fmt: off
NICKNAMES: dict[str, tuple[str, ...]] = {
    # male
    "Robert": ("Bob", "Rob", "Bobby"), "William": ("Bill", "Will", "Billy"),
    "Richard": ("Rick", "Rich", "Dick"), "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Jack", "Johnny"), "Michael": ("Mike", "Mikey"), "David": ("Dave", "Davey"),
    "Joseph": ("Joe", "Joey"), "Thomas": ("Tom", "Tommy"), "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",), "Daniel": ("Dan", "Danny"), "Matthew": ("Matt",),
    "Anthony": ("Tony",), "Donald": ("Don", "Donnie"), "Steven": ("Steve",),
    "Stephen": ("Steve",), "Andrew": ("Andy", "Drew"), "Joshua": ("Josh",),
    "Kenneth": ("Ken", "Kenny"), "Timothy": ("Tim", "Timmy"), "Ronald": ("Ron", "Ronnie"),
    "Edward": ("Ed", "Eddie", "Ted"), "Jeffrey": ("Jeff",), "Nicholas": ("Nick",),
    "Jonathan": ("Jon",), "Lawrence": ("Larry",), "Benjamin": ("Ben",), "Samuel": ("Sam",),
    "Gregory": ("Greg",), "Alexander": ("Alex",), "Patrick": ("Pat",), "Raymond": ("Ray",),
    "Gerald": ("Jerry",), "Zachary": ("Zach",), "Peter": ("Pete",), "Walter": ("Walt",),
    "Harold": ("Harry", "Hal"), "Douglas": ("Doug",), "Philip": ("Phil",),
    "Eugene": ("Gene",), "Russell": ("Russ",), "Albert": ("Al", "Bert"), "Jacob": ("Jake",),
    "Nathan": ("Nate",), "Gabriel": ("Gabe",), "Vincent": ("Vince",), "Louis": ("Lou",),
    "Arthur": ("Art",), "Henry": ("Hank",), "Frank": ("Frankie",), "Bryan": ("Bry",),
    # female
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie"), "Patricia": ("Pat", "Patty", "Trish"),
    "Jennifer": ("Jen", "Jenny"), "Margaret": ("Peggy", "Maggie", "Meg"),
    "Susan": ("Sue", "Susie"), "Jessica": ("Jess",), "Kimberly": ("Kim",),
    "Deborah": ("Debbie", "Deb"), "Debra": ("Debbie", "Deb"), "Rebecca": ("Becky",),
    "Kathleen": ("Kathy", "Kate"), "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate"), "Kathryn": ("Kathy", "Katie"), "Christine": ("Chris",),
    "Christina": ("Tina", "Chris"), "Pamela": ("Pam",), "Samantha": ("Sam",),
    "Cynthia": ("Cindy",), "Sandra": ("Sandy",), "Barbara": ("Barb", "Barbie"),
    "Dorothy": ("Dot", "Dottie"), "Victoria": ("Vicky", "Tori"), "Abigail": ("Abby",),
    "Jacqueline": ("Jackie",), "Judith": ("Judy",), "Theresa": ("Terri",),
    "Teresa": ("Terri",), "Stephanie": ("Steph",), "Alexis": ("Lexi",), "Amanda": ("Mandy",),
    "Melissa": ("Missy",), "Virginia": ("Ginny",), "Frances": ("Fran",), "Evelyn": ("Evie",),
    "Natalie": ("Nat",), "Danielle": ("Dani",), "Beverly": ("Bev",), "Angela": ("Angie",),
    "Michelle": ("Shelly",), "Isabella": ("Bella",), "Sophia": ("Sophie",),
    "Janet": ("Jan",), "Janice": ("Jan",), "Madison": ("Maddie",), "Olivia": ("Liv",),
    "Andrea": ("Andi",), "Diana": ("Di",), "Charlotte": ("Charlie",),
}
# fmt: on

_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
# Neighbours on the same row of a QWERTY keyboard: the slip a hurried typist makes.
KEY_NEIGHBOURS: dict[str, str] = {
    ch: row[max(0, i - 1) : i] + row[i + 1 : i + 2] for row in _ROWS for i, ch in enumerate(row)
}

# (kind, weight): how often each error shows up among duplicate registrations.
ERRORS = (
    ("typo_given", 3.0),
    ("typo_family", 3.0),
    ("nickname", 2.0),
    ("middle_dropped", 1.0),
    ("maiden_name", 2.5),
    ("birth_day_month", 1.5),
    ("birth_digit", 1.0),
    ("ssn_digit", 1.0),
    ("ssn_missing", 2.0),
    ("moved", 2.0),
    ("phone_changed", 2.0),
)
MIN_SPLIT = timedelta(days=120)  # a care window shorter than this is not split


def typo(rng: random.Random, word: str) -> tuple[str, str]:
    """One keying error in `word`: (new word, how). Always returns a different word."""
    for _ in range(20):
        how = rng.choice(("transposed", "dropped", "doubled", "keyboard"))
        i = rng.randrange(len(word))
        if how == "transposed" and i + 1 < len(word) and word[i].lower() != word[i + 1].lower():
            new = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
            if i == 0:  # the capital stays first: "Smith" -> "Msith" is not how it is typed
                new = new[0].upper() + new[1].lower() + new[2:]
            return new, how
        if how == "dropped" and len(word) > 2 and i > 0:
            return word[:i] + word[i + 1 :], how
        if how == "doubled" and word[i].isalpha():
            return word[: i + 1] + word[i].lower() + word[i + 1 :], how
        if how == "keyboard" and word[i].lower() in KEY_NEIGHBOURS:
            key = rng.choice(KEY_NEIGHBOURS[word[i].lower()])
            key = key.upper() if word[i].isupper() else key
            return word[:i] + key + word[i + 1 :], how
    return word + word[-1], "doubled"


def _digit_typo(rng: random.Random, digits: str, positions: list[int]) -> str:
    i = rng.choice(positions)
    new = rng.choice([d for d in "0123456789" if d != digits[i]])
    return digits[:i] + new + digits[i + 1 :]


def _applicable(person: Person) -> list[tuple[str, float]]:
    p = person
    ok = {
        "typo_given": True,
        "typo_family": True,
        "nickname": p.given[0] in NICKNAMES,
        "middle_dropped": len(p.given) > 1,
        "maiden_name": p.sex == "female" and bool(p.maiden_name),
        "birth_day_month": p.birth_date.day <= 12 and p.birth_date.day != p.birth_date.month,
        "birth_digit": True,
        "ssn_digit": p.ssn is not None,
        "ssn_missing": p.ssn is not None,
        "moved": True,
        "phone_changed": True,
    }
    return [(kind, weight) for kind, weight in ERRORS if ok[kind]]


def _pick_errors(rng: random.Random, person: Person) -> list[str]:
    """One to three distinct error kinds, weighted; a maiden name and a surname typo do
    not combine (the typo would then be in a name the truth does not hold)."""
    wanted = rng.choices((1, 2, 3), weights=(0.5, 0.35, 0.15))[0]
    pool = _applicable(person)
    chosen: list[str] = []
    while pool and len(chosen) < wanted:
        kind = rng.choices([k for k, _ in pool], weights=[w for _, w in pool])[0]
        chosen.append(kind)
        clash = {"maiden_name": "typo_family", "typo_family": "maiden_name"}.get(kind)
        clash2 = {"nickname": "typo_given", "typo_given": "nickname"}.get(kind)
        clash3 = {"ssn_digit": "ssn_missing", "ssn_missing": "ssn_digit"}.get(kind)
        clash4 = {"birth_digit": "birth_day_month", "birth_day_month": "birth_digit"}.get(kind)
        pool = [(k, w) for k, w in pool if k not in (kind, clash, clash2, clash3, clash4)]
    return chosen


def _birth_digit(rng: random.Random, born: date) -> date:
    """One digit of the day or of the year's last two wrong, still a real, past date."""
    text = born.isoformat()  # YYYY-MM-DD
    for _ in range(20):
        candidate = _digit_typo(rng, text, [2, 3, 8, 9])
        try:
            new = date.fromisoformat(candidate)
        except ValueError:
            continue
        if new != born and new < HISTORY_END.date() - timedelta(days=365):
            return new
    return born + timedelta(days=1)


def _error(rng: random.Random, kind: str, p: Person) -> dict:
    """Apply one error to registration `p` (in place); returns its ground-truth record."""
    if kind == "typo_given":
        was = p.given[0]
        p.given[0], how = typo(rng, was)
        return {"field": "given", "kind": f"typo_{how}", "was": was, "now": p.given[0]}
    if kind == "typo_family":
        was = p.family
        p.family, how = typo(rng, was)
        return {"field": "family", "kind": f"typo_{how}", "was": was, "now": p.family}
    if kind == "nickname":
        was = p.given[0]
        p.given[0] = rng.choice(NICKNAMES[was])
        return {"field": "given", "kind": kind, "was": was, "now": p.given[0]}
    if kind == "middle_dropped":
        was = " ".join(p.given)
        p.given = p.given[:1]
        return {"field": "given", "kind": kind, "was": was, "now": p.given[0]}
    if kind == "maiden_name":
        was, p.family, p.maiden_name = p.family, p.maiden_name or p.family, None
        return {"field": "family", "kind": kind, "was": was, "now": p.family}
    if kind in ("birth_day_month", "birth_digit"):
        was = p.birth_date
        if kind == "birth_day_month":
            p.birth_date = date(was.year, was.day, was.month)
        else:
            p.birth_date = _birth_digit(rng, was)
        return {"field": "birthDate", "kind": kind, "was": str(was), "now": str(p.birth_date)}
    if kind == "ssn_digit":
        was = p.ssn or ""
        p.ssn = _digit_typo(rng, was, [7, 8, 9, 10])  # the serial: the area stays 9xx
        return {"field": "ssn", "kind": kind, "was": was, "now": p.ssn}
    if kind == "ssn_missing":
        was, p.ssn = p.ssn, None
        return {"field": "ssn", "kind": kind, "was": was, "now": None}
    if kind == "moved":
        was = _address_text(p.address)
        p.address = random_address(rng)
        return {"field": "address", "kind": kind, "was": was, "now": _address_text(p.address)}
    if kind == "phone_changed":
        was = p.phone
        p.phone = _phone(rng, p.address.area_code, was)
        return {"field": "phone", "kind": kind, "was": was, "now": p.phone}
    raise ValueError(f"unknown error kind {kind!r}")


def _phone(rng: random.Random, area: str, old: str | None) -> str:
    while True:
        new = f"({area}) 555-01{rng.randrange(100):02d}"
        if new != old:
            return new


def _address_text(a: Address) -> str:
    return ", ".join([*a.line, a.city, f"{a.state} {a.postal_code}"])


def _split(
    rng: random.Random, window: tuple[datetime, datetime], parts: int
) -> list[tuple[datetime, datetime]] | None:
    """Cut a care window into consecutive parts at random points (None if too short)."""
    start, end = window
    if end - start < MIN_SPLIT * parts:
        return None
    span = (end - start).total_seconds()
    cuts = sorted(
        start + timedelta(seconds=span * rng.uniform(0.15, 0.85)) for _ in range(parts - 1)
    )
    edges = [start, *cuts, end]
    return [(edges[i], edges[i + 1]) for i in range(parts)]


def _given_other_than(rng: random.Random, sex: str, taken: set[str]) -> list[str]:
    names = [n for n in (words.FEMALE if sex == "female" else words.MALE) if n not in taken]
    given = [rng.choice(names)]
    if rng.random() < 0.6:
        given.append(rng.choice(names))
    return given


class Duplicates(SynthModule):
    """Registers some people more than once, with errors, and adds look-alikes; see the
    module docstring."""

    name = "duplicates"

    def __init__(
        self, share: float = 0.1, twins: float = 0.01, family: float = 0.02, extra: float = 0.15
    ):
        for label, value in (("share", share), ("twins", twins), ("family", family)):
            if not 0 <= value <= 1:
                raise ValueError(f"{label} must be between 0 and 1, not {value}")
        self.share, self.twins, self.family, self.extra = share, twins, family, extra

    def people(self, ctx: SlotContext, people: list[Person]) -> None:
        if not people:
            return
        first = people[0]
        rng = ctx.rng
        # Every decision is drawn up front, so the draws do not depend on each other.
        dup, twin, relative = rng.random(), rng.random(), rng.random()
        if dup < self.share:
            copies = 2 if rng.random() < self.extra else 1
            self._duplicate(ctx, rng, people, first, copies)
        if twin < self.twins:
            self._twin(ctx, rng, people, first)
        if relative < self.family:
            self._relative(ctx, rng, people, first)

    @staticmethod
    def _next_registration(people: list[Person]) -> int | None:
        k = max(p.registration for p in people) + 1
        return k if k < ids.REGISTRATIONS_PER_SLOT else None

    def _duplicate(
        self, ctx: SlotContext, rng: random.Random, people: list[Person], first: Person, copies: int
    ) -> None:
        windows = _split(rng, care_window(first), copies + 1)
        base_attrs = {k: v for k, v in first.attrs.items() if k != "window"}
        if windows:
            first.attrs["window"] = windows[0]
        records = [
            {
                "cluster": first.key,
                "patient_id": first.patient_id,
                "mrn": first.mrn,
                "registration": first.registration,
                "errors": [],
            }
        ]
        for n in range(copies):
            k = self._next_registration(people)
            if k is None:
                break
            again = dataclasses.replace(
                first,
                patient_id=ctx.new_id(),
                registration=k,
                mrn=ctx.mrn(k),
                given=list(first.given),
                address=dataclasses.replace(first.address, line=list(first.address.line)),
                attrs=dict(base_attrs),
            )
            if windows:
                again.attrs["window"] = windows[n + 1]
            kinds = _pick_errors(rng, again)
            if "moved" in kinds and "phone_changed" not in kinds and rng.random() < 0.5:
                kinds.append("phone_changed")  # a landline moves with the house
            errors = [_error(rng, kind, again) for kind in kinds]
            people.append(again)
            records.append(
                {
                    "cluster": first.key,
                    "patient_id": again.patient_id,
                    "mrn": again.mrn,
                    "registration": k,
                    "errors": errors,
                }
            )
        for record in records:
            ctx.emit("duplicates", record)

    def _lookalike(
        self, ctx: SlotContext, rng: random.Random, people: list[Person], first: Person
    ) -> Person | None:
        """A different human at the same address with the same surname."""
        k = self._next_registration(people)
        if k is None:
            return None
        other = new_person(ctx, registration=k)  # its own key: another human being
        other.family = first.family
        other.address = dataclasses.replace(first.address, line=list(first.address.line))
        other.ssn = ctx.ssn(k)
        other.deceased = None  # drawn for another birth date; keep the look-alike alive
        other.email = None
        return other

    def _twin(
        self, ctx: SlotContext, rng: random.Random, people: list[Person], first: Person
    ) -> None:
        twin = self._lookalike(ctx, rng, people, first)
        if twin is None:
            return
        twin.birth_date = first.birth_date
        twin.phone = first.phone
        twin.given = _given_other_than(rng, twin.sex, set(first.given))
        if first.age_at(HISTORY_END) < 18:
            twin.marital, twin.maiden_name = "S", None
        people.append(twin)
        ctx.emit("twins", _pair(first, twin, "twin"))

    def _relative(
        self, ctx: SlotContext, rng: random.Random, people: list[Person], first: Person
    ) -> None:
        other = self._lookalike(ctx, rng, people, first)
        if other is None:
            return
        age = first.age_at(HISTORY_END)
        latest = HISTORY_END.date() - timedelta(days=2 * 365)  # everyone is at least 2
        if first.marital == "M" and age >= 18:
            relation, years = "spouse", rng.randint(-6, 6)
            other.sex = "male" if first.sex == "female" else "female"
            other.marital = "M"
        elif age >= 40:
            relation, years = "child", rng.randint(22, 38)
        else:
            relation, years = "sibling", rng.choice((-1, 1)) * rng.randint(1, 8)
        born = first.birth_date + timedelta(days=round(years * 365.25) + rng.randint(-150, 150))
        if born == first.birth_date:
            born += timedelta(days=1)
        other.birth_date = min(born, latest)
        if other.age_at(HISTORY_END) < 18:
            other.marital = "S"
        if other.sex == "male" or other.marital == "S":
            other.maiden_name = None
        other.given = _given_other_than(rng, other.sex, set(first.given))
        other.phone = first.phone if rng.random() < 0.6 else other.phone
        people.append(other)
        ctx.emit("family", _pair(first, other, relation))


def _pair(first: Person, other: Person, relation: str) -> dict:
    return {
        "cluster": None,  # not one person: no duplicate cluster
        "patient_ids": [first.patient_id, other.patient_id],
        "people": [first.key, other.key],
        "same_person": False,
        "relation": relation,
    }
