"""A self-written registration test bed shaped like the errors front desks make.

`registrations(people=..., twice=..., seed=...)` returns flat MPI records (the shape of
`records.record_from_patient`) and their `evaluate.Truth`:

- `twice` people are registered two times; the second registration carries one to four
  distinct errors drawn from `ERROR_KINDS`: a keying error in the given or family name
  (transposed, dropped, doubled or neighbouring key), a nickname for the given name (from the
  `nicknames` package's list), a missing value (given, family, birth date, phone, address or
  SSN), a move (new address, ZIP and city, often a new phone), one SSN digit wrong, the birth
  year one off, day and month swapped, given and family name swapped;
- `people - twice` people are registered once;
- `ssn_missing` (10%) of registrations carry no SSN;
- look-alikes that must never be linked: twins (same family name, birth date, address and
  phone, another given name, their own SSN: half of them the next number after the
  other's, as twins were issued before 2011) and household members (spouse or child: same
  family name, address and phone; own birth date, given name and SSN).

Names come from the US Census lists in the shared reference data (`names-places`: 1990 first
names and 2010 surnames, weighted by frequency) when they are there, else from the chart
generator's word lists, so the tests run anywhere. This set is written by the same hands as
the matcher, so its figures are labelled "generated (self-written)" and never the headline:
`bench/mpi.py` leads with FEBRL.
"""

from __future__ import annotations

import bisect
import itertools
import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

from .evaluate import Truth

ERROR_KINDS = (
    "typo_given",
    "typo_family",
    "nickname",
    "missing",
    "moved",
    "ssn_typo",
    "year_off",
    "day_month",
    "names_swapped",
)
MISSING_FIELDS = ("given", "family", "dob", "phone", "address", "ssn")
_STREET_SUFFIXES = ("St", "Ave", "Rd", "Dr", "Ln", "Ct", "Blvd", "Way", "Pl")


def _reference_dir() -> Path | None:
    here = Path(__file__).resolve()
    for base in (*here.parents, Path("/work")):
        cand = base / "shared" / "data" / "reference" / "names-places"
        if cand.is_dir():
            return cand
    return None


@dataclass(frozen=True)
class _Pool:
    items: tuple[str, ...]
    cum: tuple[float, ...]

    def draw(self, rng: random.Random) -> str:
        return self.items[bisect.bisect_left(self.cum, rng.random() * self.cum[-1])]


def _pool(pairs: list[tuple[str, float]]) -> _Pool:
    items = tuple(p[0] for p in pairs)
    return _Pool(items, tuple(itertools.accumulate(p[1] for p in pairs)))


@lru_cache(maxsize=1)
def _names() -> tuple[_Pool, _Pool, _Pool]:
    """(male, female, surname) pools, weighted by Census frequency where available."""
    ref = _reference_dir()
    if ref is not None:
        try:
            first = {}
            for sex in ("male", "female"):
                rows = (ln.split() for ln in (ref / f"dist.{sex}.first").read_text().splitlines())
                first[sex] = [(r[0].title(), float(r[1])) for r in rows if len(r) >= 2]
            surnames = []
            for line in (ref / "last-name.csv").read_text().splitlines()[1:40_001]:
                name, _, count = line.partition(",")
                if name and count.isdigit():
                    surnames.append((name, float(count)))
            return _pool(first["male"]), _pool(first["female"]), _pool(surnames)
        except (OSError, ValueError, IndexError):
            pass
    from chartkeeper.synth import wordlists as words

    return (
        _pool([(n, 1.0) for n in words.MALE]),
        _pool([(n, 1.0) for n in words.FEMALE]),
        _pool([(n, 1.0) for n in words.SURNAMES]),
    )


@lru_cache(maxsize=1)
def _nicknames() -> dict[str, tuple[str, ...]]:
    from nicknames import NickNamer

    out = {}
    for formal, shorts in NickNamer().nickname_lookup.items():
        if shorts:
            out[formal.upper()] = tuple(sorted(s.title() for s in shorts))
    return out


def _places(rng: random.Random, n: int) -> _Pool:
    """A hospital's catchment: n ZIP codes, a few large and many small (Zipf-like)."""
    zips = rng.sample(range(43001, 45999), n)
    return _pool([(f"{z:05d}", 1.0 / (i + 1) ** 0.7) for i, z in enumerate(zips)])


def _typo(rng: random.Random, word: str) -> str:
    from chartkeeper.synth.modules.duplicates import typo

    return typo(rng, word)[0] if len(word) > 1 else word + "e"


def _digit_typo(rng: random.Random, digits: str) -> str:
    i = rng.randrange(len(digits))
    if rng.random() < 0.3 and i + 1 < len(digits) and digits[i] != digits[i + 1]:
        return digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]  # transposed
    return digits[:i] + rng.choice([d for d in "0123456789" if d != digits[i]]) + digits[i + 1 :]


class _Maker:
    def __init__(self, rng: random.Random, zips: int):
        self.rng = rng
        self.male, self.female, self.surnames = _names()
        self.zips = _places(rng, zips)
        self.ids = itertools.count(1)
        self.ssns: set[str] = set()

    def ssn(self) -> str:
        while True:
            s = f"{self.rng.randint(1, 899):03d}{self.rng.randint(1, 99):02d}{self.rng.randint(1, 9999):04d}"
            if s not in self.ssns:
                self.ssns.add(s)
                return f"{s[:3]}-{s[3:5]}-{s[5:]}"

    def next_ssn(self, ssn: str) -> str:
        """The next free number after `ssn` within its area and group."""
        digits = ssn.replace("-", "")
        serial = int(digits[5:])
        while True:
            serial = serial % 9999 + 1
            s = f"{digits[:5]}{serial:04d}"
            if s not in self.ssns:
                self.ssns.add(s)
                return f"{s[:3]}-{s[3:5]}-{s[5:]}"

    def phone(self) -> str:
        r = self.rng
        return f"({r.randint(201, 989)}) {r.randint(201, 999)}-{r.randint(0, 9999):04d}"

    def address(self) -> dict:
        r = self.rng
        street = self.surnames.draw(r) if r.random() < 0.6 else self.male.draw(r)
        line = f"{r.randint(1, 9999)} {street} {r.choice(_STREET_SUFFIXES)}"
        z = self.zips.draw(r)
        return {"address": line, "zip": z, "city": f"Town {z[-3:]}"}

    def given(self, sex: str) -> str:
        return (self.male if sex == "male" else self.female).draw(self.rng)

    def birth(self, lo: int = 0, hi: int = 95) -> date:
        return date(2025, 6, 30) - timedelta(days=self.rng.randint(lo * 365, hi * 365))

    def person(self, **fixed) -> dict:
        r = self.rng
        sex = fixed.pop("sex", None) or r.choice(("male", "female"))
        rec = {
            "id": f"g{next(self.ids):07d}",
            "given": self.given(sex),
            "middle": self.given(sex) if r.random() < 0.6 else "",
            "family": self.surnames.draw(r),
            "maiden": "",
            "dob": self.birth().isoformat(),
            "sex": sex,
            **self.address(),
            "phone": self.phone() if r.random() < 0.9 else "",
            "ssn": self.ssn(),
            "mrn": "",
        }
        rec.update(fixed)
        rec["mrn"] = f"M{rec['id'][1:]}"
        return rec

    def copy(self, rec: dict) -> dict:
        n = next(self.ids)
        return {**rec, "id": f"g{n:07d}", "mrn": f"M{n:07d}"}

    def errors(self, rec: dict, kinds: list[str]) -> dict:
        r = self.rng
        for kind in kinds:
            if kind == "typo_given" and rec["given"]:
                rec["given"] = _typo(r, rec["given"])
            elif kind == "typo_family" and rec["family"]:
                rec["family"] = _typo(r, rec["family"])
            elif kind == "nickname" and rec["given"]:
                shorts = _nicknames().get(rec["given"].upper())
                rec["given"] = r.choice(shorts) if shorts else _typo(r, rec["given"])
            elif kind == "missing":
                rec[r.choice(MISSING_FIELDS)] = ""
            elif kind == "moved":
                rec.update(self.address())
                if r.random() < 0.5:
                    rec["phone"] = self.phone()
            elif kind == "ssn_typo" and rec["ssn"]:
                digits = _digit_typo(r, rec["ssn"].replace("-", ""))
                rec["ssn"] = f"{digits[:3]}-{digits[3:5]}-{digits[5:]}"
            elif kind == "year_off" and rec["dob"]:
                d = date.fromisoformat(rec["dob"])
                year = d.year + r.choice((-1, 1))
                rec["dob"] = d.replace(year=year, day=min(d.day, 28)).isoformat()
            elif kind == "day_month" and rec["dob"]:
                d = date.fromisoformat(rec["dob"])
                if d.day <= 12 and d.day != d.month:
                    rec["dob"] = date(d.year, d.day, d.month).isoformat()
                else:  # not swappable: a one-digit slip in the day instead
                    day = f"{d.day:02d}"
                    for _ in range(10):
                        slip = _digit_typo(r, day)
                        if 1 <= int(slip) <= 28 and slip != day:
                            rec["dob"] = d.replace(day=int(slip)).isoformat()
                            break
            elif kind == "names_swapped":
                rec["given"], rec["family"] = rec["family"], rec["given"]
        return rec


def registrations(
    people: int = 30_000,
    twice: int = 20_000,
    *,
    seed: int = 1,
    ssn_missing: float = 0.10,
    twins: int | None = None,
    household: int | None = None,
    zips: int | None = None,
) -> tuple[list[dict], Truth]:
    """Records and truth; by default 50,000 registrations of 30,000 people, 20,000 of them
    twice, plus look-alikes (1% twins and 2% household members of `people`)."""
    if not 0 <= twice <= people:
        raise ValueError("twice must be between 0 and people")
    rng = random.Random(seed)
    # a ZIP for every hundred people, up to the 2,500 a large catchment spans (the ZIPs
    # drawn from have 2,998): a million-record store then has ZIPs of many hundreds
    mk = _Maker(rng, zips or min(2_500, max(50, people // 100)))
    twins = people // 100 if twins is None else twins
    household = people // 50 if household is None else household
    records: list[dict] = []
    truth = Truth()
    for i in range(people):
        rec = mk.person()
        records.append(rec)
        truth.person[rec["id"]] = f"p{i}"
        if i < twice:
            kinds = rng.sample(ERROR_KINDS, rng.randint(1, 4))
            dup = mk.errors(mk.copy(rec), kinds)
            records.append(dup)
            truth.person[dup["id"]] = f"p{i}"
    firsts: dict[str, dict] = {}  # each person's first, error-free registration
    for r in records:
        firsts.setdefault(truth.person[r["id"]], r)
    base = list(firsts.values())
    extra = []
    for n, kind in enumerate(["twin"] * twins + ["household"] * household):
        other = rng.choice(base)
        shared = {k: other[k] for k in ("family", "address", "zip", "city", "phone")}
        if kind == "twin":
            sex = rng.choice(("male", "female"))
            given = other["given"]
            while given == other["given"]:
                given = mk.given(sex)
            new = mk.person(sex=sex, given=given, dob=other["dob"], **shared)
            if other["ssn"] and rng.random() < 0.5:
                # numbers issued one after the other (as they were for twins before 2011):
                # one keying error apart, and still two people
                new["ssn"] = mk.next_ssn(other["ssn"])
        else:
            new = mk.person(**shared)
        extra.append(new)
        truth.person[new["id"]] = f"l{n}"
        truth.lookalikes.add(tuple(sorted((other["id"], new["id"]))))
    records += extra
    for rec in records:
        if rng.random() < ssn_missing:
            rec["ssn"] = ""
    rng.shuffle(records)
    return records, truth
