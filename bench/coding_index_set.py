"""Build diagnostic statements from the CMS ICD-10-CM Alphabetic Index itself (fixed seed).

    python bench/coding_index_set.py [--index-dir DIR] [--n 1200] [--seed 2025] > set.jsonl

Each statement is phrased from one index path (main term > subterm > …) the way clinicians
write, not the way the index reads, so the set does not just echo the lookup's own
normalisation:
* nonessential modifiers (parentheses, <nemod>) are dropped, and "NEC"/"NOS" with them;
* short subterms that qualify the main term move in front of it, in clinical order
  ("Failure > kidney > acute" -> "acute kidney failure"), or stay behind it as "of …";
* a main term written in several forms ("Diabetes, diabetic") is said in a random one,
  so the adjective form appears ("diabetic nephropathy");
* "with"/"due to"/"in" clauses follow the main term as connectors;
* now and then the index order is kept with commas, as problem lists often write it.
Neoplasm Table sites become "malignant neoplasm of …", "cancer of the …", "benign tumor
of …", "metastatic cancer to …"; Drug Table substances "… overdose", "poisoning by …",
"adverse effect of …", "intentional overdose of …".

The expected code is the index's (the Table cell of the phrased column), kept only when it is
billable as it stands in the tabular we have (FY2026), or needs only a 7th character (then
the first the tabular lists, "A" initial encounter for injuries, as a coder would default
from a bare statement). Statements that
two paths phrase alike with different codes are dropped. The set is split in halves by
the seed: `dev` (look at its misses) and `test` (report it; do not tune on it).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

CMS_DIR = Path("/work/shared/data/reference/icd10cm-2025")
_CONNECTORS = ("with", "without", "due to", "in", "following", "complicating", "during", "after")


def _clean(title: str) -> str:
    title = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", title)
    title = re.sub(r"\b(NEC|NOS)\b", " ", title)
    return " ".join(title.split()).strip(" ,-")


def _forms(title: str) -> list[str]:
    parts = [_clean(p) for p in title.split(",")]
    return [p for p in parts if p]


def _paths(nodes, book: str):
    """(titles along the path, code or cells) for every coded node."""
    from chartkeeper.coding import alphabetic

    def walk(node, trail):
        title = node[0]
        trail = [*trail, title]
        if node[4] or node[5]:
            yield trail, node[4], node[5]
        for child in node[6]:
            yield from walk(child, trail)

    assert book in alphabetic.BOOKS
    for main in nodes:
        yield from walk(main, [])


def _phrase_index(rng: random.Random, trail: list[str]) -> str | None:
    main_forms = _forms(trail[0])
    if not main_forms:
        return None
    # an inverted main title ("Fracture, traumatic") keeps its second part in front
    main = (
        rng.choice(main_forms)
        if len(main_forms) > 1 and len(main_forms[1].split()) == 1
        else main_forms[0]
    )
    inverted = len(main_forms) > 1 and len(main_forms[1].split()) == 1
    if (
        inverted
        and main == main_forms[0]
        and not main_forms[1].lower().startswith(main_forms[0][:4].lower())
    ):
        main = f"{main_forms[1]} {main_forms[0]}"
    subs = [_clean(t) for t in trail[1:]]
    if any(not s for s in subs):
        return None
    before: list[str] = []
    after: list[str] = []
    for sub in subs:
        low = sub.lower()
        if low.startswith(_CONNECTORS) or after:
            after.append(sub)
        elif len(sub.split()) <= 2 and not low.startswith(("of ", "by ")):
            before.append(sub)
        else:
            after.append(sub)
    style = rng.random()
    if style < 0.2:  # problem-list order: "failure, kidney, acute"
        return ", ".join([main, *subs]).lower()
    if style < 0.4 and before:  # "acute failure of kidney"
        first, *rest = before
        text = f"{' '.join(reversed(rest))} {main} of {first}".strip()
    else:
        text = f"{' '.join(reversed(before))} {main}".strip()
    if after:
        text += " " + " ".join(after)
    return " ".join(text.split()).lower()


_NEOPLASM = {
    2: [
        "malignant neoplasm of {site}",
        "cancer of the {site}",
        "{site} cancer",
        "primary {site} malignancy",
    ],
    3: [
        "metastatic cancer to {site}",
        "secondary malignant neoplasm of {site}",
        "{site} metastases",
    ],
    4: ["carcinoma in situ of {site}"],
    5: ["benign neoplasm of {site}", "benign tumor of {site}"],
}
_DRUG = {
    2: ["{drug} overdose", "accidental poisoning by {drug}", "poisoning by {drug}"],
    3: ["intentional overdose of {drug}", "suicide attempt by {drug} overdose"],
    6: ["adverse effect of {drug}", "adverse reaction to {drug}"],
    7: ["underdosing of {drug}"],
}


def _site(trail: list[str]) -> str | None:
    parts = [_clean(_forms(t)[0]) if _forms(t) else "" for t in trail[1:]]
    if not parts or any(not p for p in parts):
        return None
    return " ".join(reversed(parts)).lower()


def build(index_dir: Path = CMS_DIR, n: int = 1200, seed: int = 2025) -> dict[str, list]:
    """{'dev': [(statement, code, path)], 'test': [...]} from the CMS files in `index_dir`."""
    from chartkeeper.coding import alphabetic, codesets

    cs = codesets.load("icd10cm", 2026)
    rng = random.Random(seed)
    books: dict[str, list] = {}
    for f in sorted(index_dir.glob("*.xml")):
        book, _fy, mains = alphabetic.parse(ET.parse(f).getroot())
        books[book] = mains

    def expected(code: str | None) -> str | None:
        if not code or code.endswith("-"):
            return None
        entry = cs.codes.get(codesets.normalize(code))
        if entry is None or entry.children:
            return None
        if chars := cs.seventh_characters(entry.code):  # the first listed: 'A' or fetus '0'
            return cs.full_code(entry.code, next(iter(chars)))
        return entry.code

    pool: list[tuple[str, str, str]] = []
    for trail, code, _cells in _paths(books.get("index", []), "index"):
        want = expected(code)
        if want and (text := _phrase_index(rng, trail)):
            pool.append((text, want, " > ".join(trail)))
    neo: list[tuple[str, str, str]] = []
    for trail, _code, cells in _paths(books.get("neoplasm", []), "neoplasm"):
        site = _site(trail)
        for col, templates in _NEOPLASM.items():
            want = expected((cells or {}).get(col) or (cells or {}).get(str(col)))
            if site and want:
                neo.append((rng.choice(templates).format(site=site), want, " > ".join(trail)))
    drug: list[tuple[str, str, str]] = []
    for trail, _code, cells in _paths(books.get("drug", []), "drug"):
        name = _clean(_forms(trail[-1])[0]) if _forms(trail[-1]) else ""
        if len(trail) > 1 or not name:
            continue  # substances, not their subterms
        for col, templates in _DRUG.items():
            want = expected((cells or {}).get(col) or (cells or {}).get(str(col)))
            if want:
                drug.append((rng.choice(templates).format(drug=name.lower()), want, trail[0]))
    picked = rng.sample(pool, min(len(pool), int(n * 0.8)))
    picked += rng.sample(neo, min(len(neo), n // 10))
    picked += rng.sample(drug, min(len(drug), n // 10))
    codes_of: dict[str, set[str]] = {}
    for text, code, _ in [*pool, *neo, *drug]:
        codes_of.setdefault(text, set()).add(code)
    unique = [p for p in picked if len(codes_of[p[0]]) == 1]
    rng.shuffle(unique)
    half = len(unique) // 2
    return {"dev": unique[:half], "test": unique[half:]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path, default=CMS_DIR)
    parser.add_argument("--n", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args()
    for split, rows in build(args.index_dir, args.n, args.seed).items():
        for text, code, path in rows:
            sys.stdout.write(
                json.dumps({"split": split, "statement": text, "code": code, "path": path}) + "\n"
            )


if __name__ == "__main__":
    main()
