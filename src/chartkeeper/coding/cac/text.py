"""Reading a note for computer-assisted coding: sections, sentences, condition mentions and
their ConText flags.

Sections decide what a mention may become. ICD-10-CM Official Guidelines Section III
(inpatient) and IV (outpatient) code the conditions the provider *diagnoses*, so only
mentions in assessment / impression / diagnosis sections (and procedure sections, for
procedures) may be suggested; the history, review of systems and exam supply supporting
or contradicting evidence. A note without any section headers is read as one assessment.

Context follows ConText (Harkema et al., J Biomed Inform 2009): trigger terms mark a mention
negated, uncertain, historical or family history. A pre-trigger ("denies", "probable",
"history of") reaches forward to the end of the sentence or a terminator ("but", ";",
"however"); a post-trigger ("ruled out", "is unlikely") reaches back to the start of the
sentence or the last terminator. Trigger words are cut out of the mention itself, so
"denies chest pain" yields the mention "chest pain", flagged negated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

DIAGNOSIS, PROCEDURE, NARRATIVE, FAMILY, SKIP = (
    "diagnosis",
    "procedure",
    "narrative",
    "family",
    "skip",
)
FLAGS = ("negated", "uncertain", "historical", "family")

_HEADER = re.compile(r"^([A-Z][A-Z0-9 /&,()'-]{2,60}):[ \t]*(.*)$")
_TITLE = re.compile(r"^[A-Z][A-Z0-9 /&'-]{2,60}$")
_ITEM = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(])")
_SIGNATURE = re.compile(r"^\s*(electronically )?signed\b", re.I)
# A list inside one scope: "denies fever, chills or weight loss" is three mentions.
_LIST_SEP = re.compile(r",\s*|;\s*|\s+(?:or|and|nor|and/or)\s+|/", re.I)
_EDGE_WORDS = re.compile(
    r"^(?:(?:the|a|an|any|some|his|her|their|of|for|to|with|is|are|was|were|has|had|"
    r"have|also|new|today|currently|patient)\b[\s,]*)+|[\s,.:;]+$",
    re.I,
)

_SKIP_WORDS = (
    "VITAL",
    "RESULT",
    "LAB",
    "MEDICATION",
    "ALLERG",
    "FOLLOW",
    "DISPOSITION",
    "ANESTHESIA",
    "BLOOD LOSS",
    "SURGEON",
    "COMPLICATION",
    "PATIENT",
    "DATE",
    "AUTHOR",
    "LOCATION",
    "ATTENDING",
    "SOCIAL",
    "DESCRIPTION OF PROCEDURE",
)


def section_kind(name: str) -> str:
    name = name.upper()
    if name == "FAMILY HISTORY":
        return FAMILY
    if any(word in name for word in _SKIP_WORDS):
        return SKIP
    if any(word in name for word in ("ASSESSMENT", "IMPRESSION", "DIAGNOS", "PROBLEM LIST")):
        return DIAGNOSIS
    # operative-note headers: "PROCEDURE PERFORMED", "NAME OF OPERATION", "PROCEDURE(S)"…
    if re.fullmatch(
        r"(NAME OF |TITLE OF |OPERATIVE |SURGICAL )?(PROCEDURE|OPERATION)(S|\(S\))?"
        r"( PERFORMED| DONE)?",
        name.strip(),
    ):
        return PROCEDURE
    return NARRATIVE


# --- ConText triggers: (regex, flag, direction). Longer phrases are listed before the
# shorter ones they contain, and matches may not overlap, so "family history of" is family
# (not historical) and "cannot rule out" is uncertainty (not negation).
_PRE, _POST = "pre", "post"
_TRIGGERS: list[tuple[str, str, str]] = [
    (r"no (?:family )?history of", "negated", _PRE),
    (r"family history of|family history|fhx? of", "family", _PRE),
    (
        r"(?:mother|father|brother|sister|son|daughter|grandmother|grandfather|aunt|uncle)"
        r" (?:has|had|with|died of)",
        "family",
        _PRE,
    ),
    (
        r"cannot (?:be )?(?:rule|ruled) out|can ?not exclude|rule out|r/o|ruling out",
        "uncertain",
        _PRE,
    ),
    (
        r"(?:is|was|are|were|remains?) (?:likely|possible|probable|suspected|questionable)",
        "uncertain",
        _POST,
    ),
    (
        r"probable|probably|possible|possibly|suspected|suspect|suspicion (?:of|for)|"
        r"suspicious for|likely|questionable|question of|concern for|concerning for|"
        r"presumed|presumptive|consistent with|compatible with|versus|vs\.?|differential "
        r"(?:diagnosis )?includes",
        "uncertain",
        _PRE,
    ),
    (
        r"personal history of|past history of|history of|hx of|h/o|status post|s/p|"
        r"prior|previous|remote|old",
        "historical",
        _PRE,
    ),
    (
        r"(?:has been |was |is |were |are )?ruled out|negative(?! for)|unlikely|"
        r"not (?:seen|present|found|identified)|absent|excluded",
        "negated",
        _POST,
    ),
    (
        r"no evidence of|no signs? of|negative for|free of|absence of|denies|denied|deny|"
        r"without|not|no",
        "negated",
        _PRE,
    ),
    (
        r"in (?:his |her |the patient's |a )?(?:mother|father|brother|sister|son|daughter|"
        r"grandmother|grandfather|aunt|uncle|parents?|siblings?)",
        "family",
        _POST,
    ),
    (r"resolved|in remission", "historical", _POST),
]
_TERMINATORS = re.compile(
    r"\b(?:but|however|although|though|except|aside from|apart from|yet|which|who)\b|[;:]",
    re.I,
)
# Phrases containing a trigger word that is not a trigger there (ConText pseudo-triggers).
_PSEUDO = re.compile(
    r"\b(?:no (?:increase|change|new|acute distress|further)|not only|gram negative|"
    r"without difficulty|not certain whether|history and physical|non-?ST)\b",
    re.I,
)
_TRIGGER_RE = [
    (re.compile(rf"(?<![\w/-])(?:{pattern})(?![\w/-])", re.I), flag, way)
    for pattern, flag, way in _TRIGGERS
]


@dataclass
class Unit:
    """A sentence (or an assessment item's head) with its place in the document."""

    start: int
    end: int
    section: str
    kind: str  # diagnosis | procedure | narrative | family
    sentence: tuple[int, int]  # the whole sentence or line it came from
    head: bool = False  # an assessment item's head ("1. Pneumonia: ...")


@dataclass
class Mention:
    """A candidate condition or procedure phrase: text[start:end], with ConText flags."""

    start: int
    end: int
    text: str
    unit: Unit
    flags: set[str] = field(default_factory=set)
    parts: list[tuple[int, int]] = field(default_factory=list)  # list members, if any

    @property
    def kind(self) -> str:
        return self.unit.kind


def units(text: str) -> list[Unit]:
    """Sentences of a note with their section; a note without headers is one assessment."""
    lines, pos = [], 0
    for line in text.splitlines(keepends=True):
        lines.append((pos, line.rstrip("\r\n")))
        pos += len(line)
    has_headers = any(_HEADER.match(line) for _, line in lines)
    section, kind = ("NOTE", NARRATIVE) if has_headers else ("NOTE", DIAGNOSIS)
    if has_headers:
        kind = SKIP  # the preamble before the first header: title, patient, dates
    found: list[Unit] = []
    for offset, line in lines:
        header = _HEADER.match(line)
        if header:
            section = header.group(1).strip()
            kind = section_kind(section)
            body_start = offset + header.start(2)
            body = header.group(2)
            inline = True
        elif _TITLE.match(line.strip()) and has_headers:
            section, kind = line.strip(), SKIP
            continue
        else:
            body_start, body, inline = offset, line, False
        if kind == SKIP or not body.strip() or _SIGNATURE.match(body):
            continue
        found.extend(_line_units(body, body_start, section, kind, inline))
    return found


def _line_units(body: str, at: int, section: str, kind: str, inline: bool) -> Iterator[Unit]:
    line_span = (at, at + len(body))
    item = _ITEM.match(body)
    start = item.end() if item else len(body) - len(body.lstrip())
    if kind in (DIAGNOSIS, PROCEDURE) and (item or inline):
        # "1. Pneumonia: plan ..." -> the head is the diagnosis; the plan is narrative
        colon = body.find(": ", start)
        head_end = colon if colon > 0 else len(body)
        first = _SENTENCE_END.split(body[start:head_end])[0]
        if colon > 0 or len(first.split()) <= 12:
            head_end = start + len(first.rstrip(". "))
            yield Unit(at + start, at + head_end, section, kind, line_span, head=True)
            rest = colon + 2 if colon > 0 else start + len(first)
            kind, start = NARRATIVE, rest
    for sent_start, sent_end in _sentences(body, start):
        yield Unit(at + sent_start, at + sent_end, section, kind, (at + sent_start, at + sent_end))


def _sentences(body: str, start: int) -> Iterator[tuple[int, int]]:
    pos = start
    for match in _SENTENCE_END.finditer(body, start):
        yield from _trimmed(body, pos, match.start())
        pos = match.end()
    yield from _trimmed(body, pos, len(body))


def _trimmed(body: str, start: int, end: int) -> Iterator[tuple[int, int]]:
    piece = body[start:end]
    left = len(piece) - len(piece.lstrip())
    right = len(piece.rstrip(" .!?\t"))
    if right > left:
        yield start + left, start + right


def mentions(text: str, unit: Unit) -> list[Mention]:
    """The mentions in one unit: the text between triggers and terminators, each with the
    flags of every trigger whose scope covers it."""
    s, e = unit.start, unit.end
    sentence = text[s:e]
    pseudo = [m.span() for m in _PSEUDO.finditer(sentence)]
    triggers: list[tuple[int, int, str, str]] = []
    taken: list[tuple[int, int]] = list(pseudo)
    for regex, flag, way in _TRIGGER_RE:
        for m in regex.finditer(sentence):
            if any(m.start() < b and a < m.end() for a, b in taken):
                continue
            taken.append(m.span())
            triggers.append((m.start(), m.end(), flag, way))
    stops = sorted([m.span() for m in _TERMINATORS.finditer(sentence)])
    cuts = sorted([(a, b) for a, b, _, _ in triggers] + stops)
    found = []
    pos = 0
    for a, b in [*cuts, (len(sentence), len(sentence))]:
        if a > pos:
            found.append((pos, a))
        pos = max(pos, b)
    result = []
    for a, b in found:
        a, b = _strip_edges(sentence, a, b)
        if b - a < 2 or not re.search(r"[A-Za-z]{2}", sentence[a:b]):
            continue
        flags = set()
        for ta, tb, flag, way in triggers:
            before = way == _PRE and tb <= a and not _stopped(stops, tb, a)
            after = way == _POST and ta >= b and not _stopped(stops, b, ta)
            if before or after:
                flags.add(flag)
        if unit.kind == FAMILY:
            flags.add("family")
        parts = _parts(sentence, a, b)
        result.append(
            Mention(
                s + a,
                s + b,
                sentence[a:b],
                unit,
                flags,
                [(s + pa, s + pb) for pa, pb in parts],
            )
        )
    return result


def _stopped(stops: list[tuple[int, int]], a: int, b: int) -> bool:
    return any(a <= sa and sb <= b for sa, sb in stops)


def _strip_edges(sentence: str, a: int, b: int) -> tuple[int, int]:
    while a < b and sentence[a] in " \t,;:(-":
        a += 1
    piece = sentence[a:b]
    lead = _EDGE_WORDS.match(piece)
    if lead and lead.end() < len(piece):
        a += lead.end()
    piece = sentence[a:b]
    trail = re.search(r"[\s,.:;()-]+$", piece)
    if trail:
        b -= len(trail.group(0))
    return a, b


def _parts(sentence: str, a: int, b: int) -> list[tuple[int, int]]:
    """List members of a mention ("fever, chills or weight loss"), when it is a list."""
    pieces, pos = [], a
    for m in _LIST_SEP.finditer(sentence, a, b):
        pieces.append((pos, m.start()))
        pos = m.end()
    pieces.append((pos, b))
    if len(pieces) < 2:
        return []
    out = []
    for pa, pb in pieces:
        pa, pb = _strip_edges(sentence, pa, pb)
        if pb - pa >= 2:
            out.append((pa, pb))
    return out
