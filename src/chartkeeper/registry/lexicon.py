"""Phrase lexicons over report text: tokens, longest-match lookup, tolerance of OCR slips.

A report is tokenized once into lower-case words with their character offsets; a lexicon
maps word tuples to codes and is matched longest-first at each token. Scanned reports carry
OCR slips ("ADENOCARCINOMA" read as "ADENOCARCINCMA"): a word of seven or more letters that is
not in the lexicon's vocabulary but is one edit from exactly one word that is, is read as
that word (a symmetric-deletion index, as SymSpell does it; no dependency needed for one
edit over a vocabulary of a few thousand words).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from chartkeeper.registry import reference, sites

_WORD = re.compile(r"[a-z0-9]+")
# "who" is skipped so "neuroendocrine tumor (WHO grade 2)" and "thymoma, WHO type B3" read
# as the ICD-O-3 terms they are.
SKIP = frozenset({"the", "a", "an", "who"})


class Token(NamedTuple):  # a tuple: a report makes thousands, and frozen dataclasses are slow
    word: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    lower = text.lower()
    if len(lower) != len(text):  # a few Unicode letters change length when lowered
        lower = "".join(ch.lower()[:1] or ch for ch in text)
    return [
        Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(lower) if m.group() not in SKIP
    ]


def words(phrase: str) -> tuple[str, ...]:
    return tuple(w for w in _WORD.findall(phrase.lower()) if w not in SKIP)


@dataclass(frozen=True)
class Entry:
    code: str  # topography (C34.1) or morphology (8140/3)
    weight: float = 1.0
    sites: tuple[str, ...] = ()  # morphology: 3-character site hints from the term list
    # morphology: every (code, site hints) the same words name; "adenocarcinoma, acinar" is
    # 8140/3 of prostate, 8551/3 of lung and 8550/3 elsewhere (ICD-O-3 notes).
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()


@dataclass(frozen=True)
class Match:
    start: int  # token index
    end: int  # token index, exclusive
    entry: Entry
    phrase: tuple[str, ...]


class Lexicon:
    def __init__(self, entries: dict[tuple[str, ...], Entry]):
        self.entries = entries
        self.longest = max((len(k) for k in entries), default=1)
        # The longest phrase starting with each word: most report words start none, and
        # the rest are looked up only as far as their own phrases reach (linear in text).
        self.reach: dict[str, int] = {}
        for key in entries:
            self.reach[key[0]] = max(self.reach.get(key[0], 0), len(key))
        self.vocabulary = {w for k in entries for w in k}
        self._corrected: dict[str, str] = {}
        self._deletes: dict[str, set[str]] = defaultdict(set)
        for word in self.vocabulary:
            if len(word) >= 5 and word.isalpha():
                for variant in _deletions(word):
                    self._deletes[variant].add(word)

    def correct(self, word: str) -> str:
        """`_correct`, remembered: a report repeats its words, a batch its vocabulary."""
        known = self._corrected.get(word)
        if known is None:
            if len(self._corrected) > 200_000:  # a bound on memory for endless batches
                self._corrected.clear()
            known = self._corrected[word] = self._correct(word)
        return known

    def _correct(self, word: str) -> str:
        """The vocabulary word one OCR slip away from `word`, or `word` itself.

        Digits inside a word are read as the letters scanners mistake them for
        ("PR0STATE"). Words of seven letters or more take any one edit; shorter ones
        ("LUNC", "0VARY") only a substitution between letters OCR confuses, since one
        free edit from a short word reaches too many others."""
        if word in self.vocabulary:
            return word
        if not word.isalpha():
            # Short codes ("B1" in "type B1", "T1", "N0") are meant as written.
            if word.isdigit() or not any(c.isalpha() for c in word) or len(word) < 4:
                return word
            mended = word.translate(_OCR_DIGITS)
            if not mended.isalpha():
                return word
            if mended in self.vocabulary:
                return mended
            word = mended
        if "rn" in word and word.replace("rn", "m") in self.vocabulary:  # "carcinorna"
            return word.replace("rn", "m")
        if len(word) < 5:
            return word
        found: set[str] = set()
        for variant in _deletions(word):
            found |= self._deletes.get(variant, set())
        if len(word) < 7:
            found = {w for w in found if _ocr_substitution(word, w)}
        else:
            found = {w for w in found if _one_edit(word, w)}
        return found.pop() if len(found) == 1 else word

    def find(self, tokens: list[str]) -> list[Match]:
        found, i, n = [], 0, len(tokens)
        reach = self.reach
        while i < n:
            for length in range(min(reach.get(tokens[i], 0), n - i), 0, -1):
                key = tuple(tokens[i : i + length])
                entry = self.entries.get(key)
                if entry is not None:
                    found.append(Match(i, i + length, entry, key))
                    i += length
                    break
            else:
                i += 1
        return found


def overlapping(lexicon: Lexicon, tokens: list[str]) -> list[Match]:
    """The longest match at every token, keeping overlaps ("malignant mesothelioma" and
    "mesothelioma, epithelioid" both), but none inside another."""
    kept: list[Match] = []
    reach, n, furthest = lexicon.reach, len(tokens), 0
    for i in range(n):
        for length in range(min(reach.get(tokens[i], 0), n - i), 0, -1):
            key = tuple(tokens[i : i + length])
            entry = lexicon.entries.get(key)
            if entry is not None:
                # Matches come in start order, one per start: one inside another ends
                # no later than the furthest end so far.
                if i + length > furthest:
                    kept.append(Match(i, i + length, entry, key))
                    furthest = i + length
                break
    return kept


_OCR_DIGITS = str.maketrans("0158", "olsb")
# Letter pairs scanners confuse (either way).
_CONFUSED = {
    frozenset(p)
    for p in (
        "ce",
        "co",
        "eo",
        "li",
        "lt",
        "it",
        "un",
        "uv",
        "hb",
        "rn",
        "gq",
        "ao",
        "ec",
        "il",
        "ft",
        "mn",
        "bh",
        "ij",
        "yv",
    )
}


def _ocr_substitution(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diffs = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(diffs) == 1 and frozenset(diffs[0]) in _CONFUSED


def _deletions(word: str) -> set[str]:
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diffs) == 1 or (
            len(diffs) == 2 and diffs[1] == diffs[0] + 1 and a[diffs[0]] == b[diffs[1]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


@cache
def site_lexicon() -> Lexicon:
    """Organ phrases from SEER's topography titles and the few report words they lack
    (`sites.site_phrases`). Without the reference list there is nothing to ground them in:
    `ReferenceMissing` says so."""
    return Lexicon(
        {key: Entry(code, weight) for key, (code, weight) in sites.site_phrases().items()}
    )


# Morphology words a report uses that the term list spells otherwise.
_TERM_VARIANTS = (
    ("infiltrating duct ", "infiltrating ductal "),
    ("infiltrating duct ", "invasive ductal "),
    ("duct carcinoma", "ductal carcinoma"),
    ("duct adenocarcinoma", "ductal adenocarcinoma"),
    ("lobular carcinoma", "invasive lobular carcinoma"),
    ("squamous cell carcinoma", "squamous carcinoma"),
    ("transitional cell", "urothelial"),
    ("adenocarcinoma", "adeno carcinoma"),
)


def _term_forms(term: str) -> set[str]:
    term = term.replace(", NOS", "").replace(" NOS", "").strip()
    forms = {term}
    if ", " in term:  # "Carcinoma, urachal" -> "urachal carcinoma"
        head, tail = term.split(", ", 1)
        if "," not in tail:
            forms.add(f"{tail} {head}")
            # "Renal cell carcinoma, chromophobe type" -> "chromophobe renal cell carcinoma"
            if tail.endswith(" type"):
                forms.add(f"{tail[:-5]} {head}")
    for old, new in _TERM_VARIANTS:
        forms |= {f.lower().replace(old, new) for f in forms if old in f.lower()}
    # Reports put the qualifier after the type: "mesothelioma, epithelioid",
    # "renal cell carcinoma, chromophobe type" for "epithelioid mesothelioma".
    for form in list(forms):
        parts = form.lower().split()
        if 2 <= len(parts) <= 4 and "," not in form and parts[0] not in _NOT_QUALIFIERS:
            rest = " ".join(parts[1:])
            forms |= {f"{rest} {parts[0]}", f"{rest} {parts[0]} type"}
    return forms


_NOT_QUALIFIERS = {
    "carcinoma",
    "adenocarcinoma",
    "sarcoma",
    "tumor",
    "neoplasm",
    "in",
    "of",
    "with",
    "and",
    "no",
    "not",
    "non",
}


@cache
def histology_lexicon() -> Lexicon:
    entries: dict[tuple[str, ...], Entry] = {}
    if not reference.available("icdo3", "histologicTypeIcdO3_allTerms.csv"):
        return Lexicon(_FALLBACK_HISTOLOGY)
    ranked = sorted(reference.morphology_terms(), key=lambda t: (t.obsolete, not t.preferred))
    named: dict[tuple[str, ...], list[tuple[str, tuple[str, ...]]]] = defaultdict(list)
    for term in ranked:
        for form in _term_forms(term.term):
            key = words(form)
            # One-word terms that are ordinary words ("tumor", "neoplasm") say nothing of type.
            if not key or key in _NOT_A_TYPE:
                continue
            code = f"{term.histology}/{term.behavior}"
            if term.obsolete and named.get(key):
                continue
            if all(c != code for c, _ in named[key]):
                named[key].append((code, term.sites))
    for key, codes in named.items():
        code, hints = codes[0]
        entries[key] = Entry(code, 1.0, hints, tuple(codes) if len(codes) > 1 else ())
    for key, entry in _FALLBACK_HISTOLOGY.items():
        entries.setdefault(key, entry)
    # Report abbreviations of ICD-O-3 terms: each takes the code its spelled-out term has
    # in the official list (never a typed code); one the list cannot resolve is left out.
    for abbreviation, phrase in HISTOLOGY_ABBREVIATIONS.items():
        entry = entries.get(words(phrase))
        if entry is not None:
            entries.setdefault((abbreviation,), entry)
    return Lexicon(entries)


# Abbreviations pathologists write for a histology, as the term they stand for. "CA" is
# left out: it is also "cancer antigen" (CA 19-9, CA-125).
HISTOLOGY_ABBREVIATIONS = {
    "idc": "infiltrating duct carcinoma",
    "ilc": "lobular carcinoma",
    "dcis": "ductal carcinoma in situ",
    "lcis": "lobular carcinoma in situ",
    "rcc": "renal cell carcinoma",
    "ccrcc": "clear cell renal cell carcinoma",
    "hcc": "hepatocellular carcinoma",
    "gbm": "glioblastoma",
    "scc": "squamous cell carcinoma",
    "tcc": "transitional cell carcinoma",
    "sclc": "small cell carcinoma",
    "nsclc": "non small cell carcinoma",
    "gist": "gastrointestinal stromal tumor",
    "dlbcl": "diffuse large b cell lymphoma",
    "bcc": "basal cell carcinoma",
    "mmmt": "mixed mullerian tumor",
    "adenoca": "adenocarcinoma",
}


_NOT_A_TYPE = {("tumor",), ("tumour",), ("neoplasm",), ("lesion",), ("mass",), ("cancer",)}

# Used only when the ICD-O-3 term list is absent: the commonest types, so classification
# still answers (less well) on a machine without the reference files.
_FALLBACK_HISTOLOGY: dict[tuple[str, ...], Entry] = {
    words(k): Entry(v)
    for k, v in {
        "adenocarcinoma": "8140/3",
        "carcinoma": "8010/3",
        "squamous cell carcinoma": "8070/3",
        "invasive ductal carcinoma": "8500/3",
        "infiltrating ductal carcinoma": "8500/3",
        "ductal carcinoma in situ": "8500/2",
        "lobular carcinoma": "8520/3",
        "invasive lobular carcinoma": "8520/3",
        "urothelial carcinoma": "8120/3",
        "clear cell renal cell carcinoma": "8310/3",
        "renal cell carcinoma": "8312/3",
        "hepatocellular carcinoma": "8170/3",
        "papillary thyroid carcinoma": "8260/3",
        "papillary carcinoma": "8260/3",
        "melanoma": "8720/3",
        "malignant melanoma": "8720/3",
        "glioblastoma": "9440/3",
        "small cell carcinoma": "8041/3",
        "serous carcinoma": "8441/3",
        "endometrioid adenocarcinoma": "8380/3",
        "mucinous adenocarcinoma": "8480/3",
        "sarcoma": "8800/3",
        "leiomyosarcoma": "8890/3",
        "lymphoma": "9590/3",
        "diffuse large b cell lymphoma": "9680/3",
        "seminoma": "9061/3",
        "mesothelioma": "9050/3",
        "thymoma": "8580/1",
        "adenoma": "8140/0",
        "tubular adenoma": "8211/0",
    }.items()
}
