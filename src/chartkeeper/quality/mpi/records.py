"""Patient resources as flat demographic records, and the normalised columns the model compares.

`extract_records(repo)` streams one dict per live Patient: id, given, middle, family, maiden,
dob, sex, address (first line(s)), city, zip, phone, ssn, mrn. `prepare(records)` adds the
derived columns the matching model uses (upper-case names, nickname keys, Soundex codes, the
birth date with day and month swapped, a normalised address line) and returns them as
column lists, ready for DuckDB or Spark. The derivation is plain Python on purpose: the same
function runs in a Spark `mapPartitions`, so the model's SQL only ever needs equality and the
string distances every Splink backend has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import date
from functools import lru_cache

import jellyfish
import orjson

from chartkeeper.store import Repository

from .nicknames import name_keys

SSN_SYSTEM = "http://hl7.org/fhir/sid/us-ssn"
FIELDS = (
    "id",
    "given",
    "middle",
    "family",
    "maiden",
    "dob",
    "sex",
    "address",
    "city",
    "zip",
    "phone",
    "ssn",
    "mrn",
)
# Street words written several ways at front desks: one spelling each, so "123 Oak Street"
# and "123 Oak St." compare equal.
_STREET_WORDS = {
    "STREET": "ST",
    "AVENUE": "AVE",
    "AV": "AVE",
    "ROAD": "RD",
    "DRIVE": "DR",
    "LANE": "LN",
    "COURT": "CT",
    "BOULEVARD": "BLVD",
    "PLACE": "PL",
    "CIRCLE": "CIR",
    "APARTMENT": "APT",
    "UNIT": "APT",
    "SUITE": "STE",
    "NORTH": "N",
    "SOUTH": "S",
    "EAST": "E",
    "WEST": "W",
    "HIGHWAY": "HWY",
    "PARKWAY": "PKWY",
    "TERRACE": "TER",
}
COLUMNS = (
    "id",
    "given_n",
    "given_keys",
    "given_sdx",
    "given_p3",
    "middle_n",
    "family_n",
    "family_sdx",
    "maiden_n",
    "dob",
    "dob_swap",
    "dob_unordered",
    "birth_year",
    "dob_md",
    "sex",
    "address_n",
    "address_no",
    "address_sorted",
    "zip",
    "phone",
    "ssn",
    "ssn_head",
    "ssn_tail",
    "mrn",
    # which registry a record comes from, for a link between two (`scan(link_only=True)`)
    "source_dataset",
)
_NOT_LETTERS = re.compile(r"[^A-Z]")
_NOT_ALNUM = re.compile(r"[^A-Z0-9 ]")
_NOT_DIGITS = re.compile(r"\D")


def _identifier(res: dict, *, system: str | None = None, type_code: str | None = None) -> str:
    for ident in res.get("identifier") or []:
        codes = {c.get("code") for c in (ident.get("type") or {}).get("coding") or []}
        if (system and ident.get("system") == system) or (type_code and type_code in codes):
            return ident.get("value") or ""
    return ""


def record_from_patient(res: dict) -> dict:
    """One Patient resource as a flat record (empty strings for what it lacks)."""
    names = res.get("name") or []
    current = next((n for n in names if n.get("use") not in ("maiden", "old")), None)
    current = current or (names[0] if names else {})
    maiden = next((n for n in names if n.get("use") in ("maiden", "old") and n is not current), {})
    given = current.get("given") or []
    address = (res.get("address") or [{}])[0]
    phone = next(
        (t.get("value") for t in res.get("telecom") or [] if t.get("system") == "phone"), ""
    )
    return {
        "id": res["id"],
        "given": given[0] if given else "",
        "middle": " ".join(given[1:]),
        "family": current.get("family") or "",
        "maiden": maiden.get("family") or "",
        "dob": res.get("birthDate") or "",
        "sex": res.get("gender") or "",
        "address": " ".join(address.get("line") or []),
        "city": address.get("city") or "",
        "zip": (address.get("postalCode") or "")[:5],
        "phone": phone or "",
        "ssn": _identifier(res, system=SSN_SYSTEM, type_code="SS"),
        "mrn": _identifier(res, type_code="MR"),
    }


def extract_records(repo: Repository) -> Iterator[dict]:
    """Every live Patient in the store as a flat record, streamed in id order; a record
    merged into another (a `replaced-by` link) is that other one now, not a candidate."""
    with repo.reading() as tx:
        for content in tx.iter_content("Patient"):
            res = orjson.loads(content)
            if any(link.get("type") == "replaced-by" for link in res.get("link") or []):
                continue
            yield record_from_patient(res)


@lru_cache(maxsize=200_000)  # names repeat: a million records have a few thousand
def _name(text: str) -> str | None:
    out = _NOT_LETTERS.sub("", (text or "").upper())
    return out or None


@lru_cache(maxsize=200_000)
def _soundex(name: str | None) -> str | None:
    return jellyfish.soundex(name) if name else None


@lru_cache(maxsize=200_000)
def _keys(name: str | None) -> list[str] | None:
    return name_keys(name) if name else None


def _address(text: str) -> str | None:
    words = _NOT_ALNUM.sub(" ", (text or "").upper()).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words) or None


def _address_parts(address: str | None) -> tuple[str | None, str | None]:
    """The house number, and the rest's letters and digits in sorted order: the same
    however its words are ordered or spaced ("16 Gabriel Pl Greglea Vlg", "16 Greglea
    Vlg Gabriel Pl", "16 GregleaVlg Gabriel Pl"), and a slip away from it after a keying error."""
    if not address:
        return None, None
    words = address.split()
    number = words[0] if words[0].isdigit() else None
    rest = "".join(words[1:] if number else words)
    return number, "".join(sorted(rest)) or None


def _swapped(dob: str) -> str | None:
    """The birth date with day and month exchanged, where that is still a date."""
    try:
        d = date.fromisoformat(dob)
        return date(d.year, d.day, d.month).isoformat() if d.day != d.month else None
    except ValueError:
        return None


def _digits(text: str, length: int) -> str | None:
    out = _NOT_DIGITS.sub("", text or "")
    return out[-length:] if len(out) >= length else None


def prepare_table(records: Iterable[dict], batch: int = 50_000):
    """The model's input as an Arrow table, built a batch at a time so that no more than
    `batch` records are held as Python lists at once (a million records stay small)."""
    import pyarrow as pa

    # one schema for every batch: a batch whose column is all empty must not become "null"
    schema = pa.schema(
        [(name, pa.list_(pa.string()) if name == "given_keys" else pa.string()) for name in COLUMNS]
    )
    batches, chunk = [], []
    for r in records:
        chunk.append(r)
        if len(chunk) >= batch:
            batches.append(pa.RecordBatch.from_pydict(prepare(chunk), schema=schema))
            chunk = []
    if chunk or not batches:
        batches.append(pa.RecordBatch.from_pydict(prepare(chunk), schema=schema))
    return pa.Table.from_batches(batches, schema=schema)


def prepare(records: Iterable[dict]) -> dict[str, list]:
    """The model's input table as columns (a dict of equal-length lists)."""
    cols: dict[str, list] = {k: [] for k in COLUMNS}
    for r in records:
        given, family = _name(r.get("given") or ""), _name(r.get("family") or "")
        middle = _name((r.get("middle") or "").split(" ")[0])
        dob = (r.get("dob") or "")[:10] or None
        cols["id"].append(r["id"])
        cols["given_n"].append(given)
        cols["given_keys"].append(_keys(given))
        cols["given_sdx"].append(_soundex(given))
        cols["given_p3"].append(given[:3] if given else None)
        cols["middle_n"].append(middle)
        cols["family_n"].append(family)
        cols["family_sdx"].append(_soundex(family))
        cols["maiden_n"].append(_name(r.get("maiden") or ""))
        cols["dob"].append(dob)
        cols["dob_swap"].append(_swapped(dob) if dob else None)
        # the year with day and month in sorted order: one key for a date and its swap
        cols["dob_unordered"].append(
            f"{dob[:4]}-{min(dob[5:7], dob[8:10])}-{max(dob[5:7], dob[8:10])}"
            if dob and len(dob) == 10
            else None
        )
        cols["birth_year"].append(dob[:4] if dob else None)
        cols["dob_md"].append(dob[5:] if dob and len(dob) == 10 else None)
        cols["sex"].append((r.get("sex") or "").lower() or None)
        address = _address(r.get("address", ""))
        cols["address_n"].append(address)
        number, letters = _address_parts(address)
        cols["address_no"].append(number)
        cols["address_sorted"].append(letters)
        cols["zip"].append((r.get("zip") or "")[:5] or None)
        cols["phone"].append(_digits(r.get("phone", ""), 10))
        ssn = _digits(r.get("ssn", ""), 9)
        cols["ssn"].append(ssn)
        # halves of the SSN: one keyed wrongly still leaves the other as a blocking key
        cols["ssn_head"].append(ssn[:5] if ssn else None)
        cols["ssn_tail"].append(ssn[5:] if ssn else None)
        cols["mrn"].append((r.get("mrn") or "").strip() or None)
        cols["source_dataset"].append(r.get("source") or None)
    return cols
