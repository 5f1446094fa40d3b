"""Gazetteers for the free-text scrubber: who is a name, what is a place, what is just a word.

Built from public-domain lists (see the reference folder's README for each file's source):
US Census 2010 surnames with counts, 1990 Census first names with frequencies, Census
places and counties, states, and CMS hospital names. The hard part is not the names but the
words that are names too ("White", "Bill", "Hope", "Hall", "Foley"), so every name carries a
verdict from frequencies:

- **common**: the word sense dominates. A word counts as common when it is an ordinary
  lower-case dictionary word (Webster's 2nd, via the `english-words` package, MIT) and its
  frequency in running English (`wordfreq`, Apache-2.0 code, CC-BY-SA data) is well above
  what its frequency as a name in the Census would explain. Pure names follow one line,
  zipf(word) ~ a + log10(share of people with that name); `a` is fitted on names that are no
  dictionary word (Kowalski, Nguyen). "smith" sits on the line (a name), "white" is 1.2
  above it (a word), "hall" 0.8, "bill" 1.5.
- **medical**: a word of ICD-10-CM's code titles (the `simple-icd-10-cm` package, CMS public
  domain) or of the Alphabetic Index and Table of Drugs when those files are given, plus
  nursing shorthand (names.CLINICAL_WORDS). Eponyms (Parkinson, Foley, Swan) are medical.

A name that is neither is **strong** (a name on its own, in any case); one that is common or
medical is **weak** (a name only next to another name part, a title or a cue).

The compiled gazetteer is one gzip'd JSON file: `chartkeeper deid import-gazetteers DIR`
writes it to the data dir, and `load_gazetteer` finds it there; without one the scrubber
falls back to the word lists in `names` (degraded: fewer names, no places or hospitals).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import names as words

FORMAT = 1
FILE_NAME = "gazetteer.json.gz"
ENV_FILE = "CHARTKEEPER_DEID_GAZETTEER"  # a compiled file, or a reference folder to build from
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")

# Surnames and first names shared by fewer people than this are too rare to be a name on
# their own in lower or upper case (the 2010 list goes down to 100 people: "Prn", "Abd"...).
MIN_SHARE_STANDALONE = 2e-6
# How far above the pure-name line a dictionary word must be to count as a word first.
COMMON_EXCESS = 0.35
# Facility words that end a hospital name; they are not distinctive on their own.
FACILITY_WORDS = frozenset(
    (
        "hospital", "hospitals", "medical", "center", "centers", "centre", "clinic", "clinics",
        "health", "healthcare", "system", "systems", "regional", "community", "memorial",
        "general", "county", "university", "of", "the", "and", "inc", "llc", "at", "rehab",
        "rehabilitation", "institute", "childrens", "children's", "center's", "campus",
        "behavioral", "psychiatric", "surgical", "care", "services", "specialty", "women's",
        "womens", "infirmary", "sanitarium", "nursing", "home", "va", "medicine", "heart",
        "cancer", "acute", "long", "term", "critical", "access", "east", "west", "north", "south",
        "hosp", "ctr", "med", "hlth", "mc", "st", "saint", "mt", "mount", "new", "city", "valley",
    )
)  # fmt: skip


@dataclass
class Gazetteer:
    """What the scrubber knows about words; empty when no lists were imported."""

    strong: frozenset[str] = frozenset()  # names that are names on their own
    weak: frozenset[str] = frozenset()  # names that are words too: need context
    medical: frozenset[str] = frozenset()
    common: frozenset[str] = frozenset()  # common words (names or not) for places too
    places: frozenset[str] = frozenset()  # city/town names, lower case, space-joined
    word_places: frozenset[str] = frozenset()  # place names that are common words too
    hospital_words: frozenset[str] = frozenset()  # distinctive words of hospital names
    hospitals: frozenset[str] = frozenset()  # hospital name prefixes of 1-3 words
    source: str = "built-in word lists (no gazetteer imported)"
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # First words of multi-word places and hospital names: most tokens start none.
        self.starts: frozenset[str] = frozenset(
            p.split(" ", 1)[0] for p in (*self.places, *self.hospitals) if " " in p
        )

    @property
    def loaded(self) -> bool:
        return bool(self.strong)

    def to_json(self) -> dict:
        return {
            "format": FORMAT,
            "source": self.source,
            "counts": self.counts,
            **{
                k: sorted(getattr(self, k))
                for k in ("strong", "weak", "medical", "common", "places", "word_places")
            },
            "hospital_words": sorted(self.hospital_words),
            "hospitals": sorted(self.hospitals),
        }

    @classmethod
    def from_json(cls, data: dict) -> Gazetteer:
        if data.get("format") != FORMAT:
            raise ValueError(f"gazetteer format {data.get('format')!r}, expected {FORMAT}")
        sets = ("strong", "weak", "medical", "common", "places", "hospital_words", "hospitals")
        return cls(
            **{k: frozenset(data[k]) for k in sets},
            word_places=frozenset(data.get("word_places", ())),
            source=data["source"],
            counts=data.get("counts", {}),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8") as fh:
            json.dump(self.to_json(), fh)
        os.replace(tmp, path)  # a killed import leaves the old file, never half a new one


# --- building from the reference files ---------------------------------------------------------


def _surnames(folder: Path) -> dict[str, float]:
    path = folder / "last-name.csv"
    counts: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = (row.get("last_name") or "").strip().lower()
            if name:  # the source has one empty row (a NA surname read as missing)
                counts[name] = counts.get(name, 0) + int(row["count"])
    total = sum(counts.values()) or 1
    return {k: v / total for k, v in counts.items()}


def _first_names(folder: Path) -> dict[str, float]:
    shares: dict[str, float] = {}
    for name in ("dist.male.first", "dist.female.first"):
        with (folder / name).open(encoding="latin-1") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 2:
                    key = parts[0].lower()
                    shares[key] = max(shares.get(key, 0.0), float(parts[1]) / 100)
    return shares


def _places(folder: Path) -> set[str]:
    out: set[str] = set()
    path = folder / "faraday_places.csv"
    if path.exists():
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if row["type"] in ("city", "town", "village", "cdp", "borough"):
                    place = row["name"].rsplit(",", 1)[0].strip().lower()
                    if place and not place.endswith(" and"):
                        out.add(place)
    path = folder / "co-est2021-alldata.csv"
    if path.exists():
        with path.open(encoding="latin-1") as fh:
            for row in csv.DictReader(fh):
                if row.get("SUMLEV") == "050":
                    out.add(row["CTYNAME"].strip().lower())
    return out


def _hospitals(folder: Path) -> tuple[set[str], set[str], set[str]]:
    """(distinctive words, name prefixes, cities of hospitals) from CMS's list."""
    path = folder / "Hospital_General_Information.csv"
    found_words: set[str] = set()
    prefixes: set[str] = set()
    cities: set[str] = set()
    if not path.exists():
        return found_words, prefixes, cities
    with path.open(encoding="utf-8-sig") as fh:
        for row in csv.DictReader(fh):
            name = row.get("Facility Name", "").lower().replace("&", " and ")
            tokens = _WORD.findall(name)
            found_words.update(t for t in tokens if t not in FACILITY_WORDS and len(t) > 2)
            for n in (1, 2, 3):
                if len(tokens) >= n:
                    prefixes.add(" ".join(tokens[:n]))
            if row.get("City/Town"):
                cities.add(row["City/Town"].strip().lower())
    return found_words, prefixes, cities


def medical_vocabulary(icd_folder: Path | None = None) -> tuple[set[str], set[str]]:
    """(words, eponyms): the words ICD-10-CM code titles write in lower case (and the Index
    and Table of Drugs, when the CMS files are given) plus the built-in nursing shorthand;
    and the words they only ever capitalise (eponyms and places: "Parkinson", "Jones")."""
    import simple_icd_10_cm as icd

    text: list[str] = [icd.get_description(c) for c in icd.get_all_codes(True)]
    if icd_folder is not None:
        for name in (
            "icd10cm_index_2025.xml",
            "icd-10-cm-drug-2025.xml",
            "icd-10-cm-eindex-2025.xml",
        ):
            path = icd_folder / name
            if path.exists():
                text += re.findall(r"<title>(.*?)</title>", path.read_text(encoding="utf-8"))
    vocab: set[str] = set()
    capitalised: set[str] = set()
    for line in text:
        for token in re.findall(r"[A-Za-z]+(?:'s)?", line):
            token = token.removesuffix("'s")
            (vocab if token.islower() else capitalised).add(token.lower())
    eponyms = {w for w in capitalised - vocab if len(w) > 2}
    return {w for w in vocab if len(w) > 2} | set(words.CLINICAL_WORDS), eponyms


def _with_inflections(base: set[str], candidates: set[str]) -> set[str]:
    """Webster's 2nd lists no inflections: "fields", "marks", "waters", "sellers" are words
    too when their stem is ("Fields" the surname is a word first in "lung fields")."""
    out = set(base)
    for w in candidates:
        if w in base or len(w) < 4:
            continue
        stems = []
        if w.endswith("s"):
            stems += [w[:-1], w[:-2] if w.endswith("es") else ""]
            stems += [w[:-3] + "y"] if w.endswith("ies") else []
        if w.endswith("ed"):
            stems += [w[:-2], w[:-1]]
        if w.endswith("ing"):
            stems += [w[:-3], w[:-3] + "e"]
        if w.endswith(("er", "ers")):
            stems += [w.removesuffix("s")[:-2]]
        if any(s and len(s) > 2 and s in base for s in stems):
            out.add(w)
    return out


def build(folder: Path, icd_folder: Path | None = None) -> Gazetteer:
    """Compile the gazetteer from a names-places reference folder (see module doc)."""
    from english_words import get_english_words_set
    from wordfreq import get_frequency_dict

    folder = Path(folder)
    missing = [n for n in ("last-name.csv", "dist.male.first", "dist.female.first")
               if not (folder / n).exists()]  # fmt: skip
    if missing:
        raise FileNotFoundError(f"{folder}: missing {', '.join(missing)}")
    if icd_folder is None and (folder.parent / "icd10cm-2025").is_dir():
        icd_folder = folder.parent / "icd10cm-2025"
    surnames = _surnames(folder)
    firsts = _first_names(folder)
    base = {w for w in get_english_words_set(["web2"], lower=False, alpha=True) if w.islower()}
    medical, eponyms = medical_vocabulary(icd_folder)
    freq = get_frequency_dict("en")  # one dict, not a tokenising call per word

    def zipf_of(w: str) -> float:
        f = freq.get(w, 0.0)
        return math.log10(f) + 9 if f > 0 else 0.0

    zipf = {w: zipf_of(w) for w in set(surnames) | set(firsts)}
    dictionary = _with_inflections(base, set(surnames) | set(firsts) | set(zipf))

    def offset(shares: dict[str, float]) -> float:
        """The pure-name line's constant, from names that are no dictionary word and that
        enough people share for their text frequency to be measured."""
        values = sorted(
            zipf[w] - math.log10(p)
            for w, p in shares.items()
            if w not in dictionary and len(w) > 3 and zipf[w] > 0 and p >= 1e-5
        )
        return values[len(values) // 2] if values else 6.8

    a_last, a_first = offset(surnames), offset(firsts)

    def excess_of(w: str) -> float:
        """How far the word's frequency in English is above what its use as a surname and
        as a given name explains (log10); names of both kinds add up ("Martin")."""
        expected = 10**a_last * surnames.get(w, 0.0) + 10**a_first * firsts.get(w, 0.0)
        return zipf[w] - math.log10(expected) if expected > 0 else math.inf

    strong: set[str] = set()
    weak: set[str] = set()
    common: set[str] = set()
    stop = words.STOP | words.RELATIONS | words.TITLES | words.CREDENTIALS | words.STREET_WORDS
    for w in set(surnames) | set(firsts):
        if len(w) < 2:
            continue
        e = excess_of(w)
        is_common = (w in dictionary and e > COMMON_EXCESS) or e > 1.5 or w in stop
        share = max(surnames.get(w, 0.0), firsts.get(w, 0.0))
        if is_common:
            common.add(w)
        # An eponym shared by many people is a name first ("Jones", "Wilson"); a rarer
        # one is a word of medicine first ("Parkinson", "Hodgkin").
        eponym = w in eponyms and share < 1e-4
        if is_common or eponym or w in medical or len(w) < 3 or share < MIN_SHARE_STANDALONE:
            weak.add(w)
        else:
            strong.add(w)
    states = {name.lower() for name in words.US_STATES.values()}
    strong -= states  # "Georgia", "Virginia": a state may stay; a name needs context
    weak |= states & (set(surnames) | set(firsts))
    for name in words.FIRST_NAMES:  # the built-in list's given names not in the 1990 files
        lower = name.lower()
        if lower not in strong and lower not in weak:
            (weak if lower in dictionary or lower in medical else strong).add(lower)
    hospital_words, hospital_prefixes, hospital_cities = _hospitals(folder)
    places = _places(folder) | hospital_cities
    common |= {w for w in dictionary if zipf_of(w) >= 3.0}
    places = {p for p in places if p not in medical and len(p) > 2}
    word_places = {p for p in places if p in common}  # "Boston", "Mobile": only when cued
    places -= word_places
    # Hospital names are judged against everyday words only ("Sinai" is in Webster's too).
    everyday = {w for w in dictionary if zipf_of(w) >= 4.2} | stop
    hospital_words = {w for w in hospital_words if w not in everyday and w not in medical}
    hospital_prefixes = {
        p for p in hospital_prefixes
        if not all(t in everyday or t in FACILITY_WORDS or t in medical for t in p.split())
    }  # fmt: skip
    sources = [str(folder)] + ([str(icd_folder)] if icd_folder else [])
    return Gazetteer(
        strong=frozenset(strong),
        weak=frozenset(weak),
        medical=frozenset(medical | eponyms),
        common=frozenset(common),
        places=frozenset(places),
        word_places=frozenset(word_places),
        hospital_words=frozenset(hospital_words),
        hospitals=frozenset(hospital_prefixes),
        source="; ".join(sources),
        counts={
            "strong_names": len(strong),
            "weak_names": len(weak),
            "medical_words": len(medical),
            "places": len(places),
            "hospital_prefixes": len(hospital_prefixes),
        },
    )


# --- finding one at run time ---------------------------------------------------------------------

_CACHE: dict[str, Gazetteer] = {}


def gazetteer_path(data_dir: Path) -> Path:
    return Path(data_dir) / "deid" / FILE_NAME


def load_gazetteer(data_dir: Path | None = None, source: str | Path | None = None) -> Gazetteer:
    """The gazetteer to use: `source` (`Settings.deid_gazetteer`: a compiled file, or a
    reference folder to build from; None: `$CHARTKEEPER_DEID_GAZETTEER`), else the one
    imported into `data_dir`, else the empty one (the built-in word lists alone). Loaded
    once per process."""
    candidates: Iterable[Path] = []
    if source is None:
        from chartkeeper.config import Settings

        source = Settings.from_env().deid_gazetteer  # CHARTKEEPER_DEID_GAZETTEER
    if source:
        candidates = [Path(source)]
    elif data_dir is not None:
        candidates = [gazetteer_path(data_dir)]
    for path in candidates:
        key = str(path.resolve())
        if key in _CACHE:
            return _CACHE[key]
        if path.is_dir():
            gaz = build(path)
        elif path.exists():
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                gaz = Gazetteer.from_json(json.load(fh))
        else:
            continue
        _CACHE[key] = gaz
        return gaz
    return EMPTY


EMPTY = Gazetteer()
