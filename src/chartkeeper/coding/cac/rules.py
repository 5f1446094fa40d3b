"""From mentions to codes: the encoder, personal- and family-history codes, and the
ICD-10-CM Official Guidelines that decide whether a mention is coded.

- Uncertain diagnoses ("probable", "suspected", "rule out", "likely"): Section II.H and
  III.C code them as if established for INPATIENT admissions (short-term acute, long-term
  care and psychiatric hospitals); Section IV.H forbids that for OUTPATIENT encounters,
  where the signs and symptoms are coded instead. So for an outpatient the uncertain
  mention is excluded and any symptom in the same sentence stands.
- Signs and symptoms routinely associated with a confirmed diagnosis are not coded
  (Section I.B.5, IV.D): a symptom code is dropped when a definitive diagnosis was found in
  the same sentence.
- History: Section I.C.21.c.4 personal history codes (Z85-Z87) say a condition no longer
  exists; an old myocardial infarction is I25.2 (I.C.9.e.4), not I21. A "history of" a
  chronic condition with no personal-history code is left for the coder (excluded).
- Family history (Z80-Z84, I.C.21.c.4) is the relative's condition, never the patient's.
- Negated mentions are not diagnoses; they are reported as excluded evidence so the coder
  sees why a code the note names was not suggested.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from threading import Lock

from chartkeeper.coding import codesets, search
from chartkeeper.coding.codesets import CodeSetUnavailable

from .text import DIAGNOSIS, PROCEDURE, Mention

MIN_SCORE = 0.8  # below this the encoder's top hit is often the wrong concept
SUPPORT_SCORE = 0.85  # narrative mentions only support a code; demand a closer match
_MAX_WORDS = 12
_SIDES = ("right", "left", "bilateral")

# Acute or episodic conditions whose "history of" has a specific code (Section I.C.21.c.4;
# I25.2 per I.C.9.e.4). Keyed by the 3-character category of the condition's own code.
HISTORY_CODES = {
    "I21": "I25.2",
    "I22": "I25.2",
    "I63": "Z86.73",
    "I64": "Z86.73",
    "G45": "Z86.73",
    "I26": "Z86.711",
    "I82": "Z86.718",
    "N39": "Z87.440",
    "J18": "Z87.01",
    "F17": "Z87.891",
    "K25": "Z87.11",
    "K26": "Z87.11",
    "N20": "Z87.442",
    "O14": "Z87.59",
}


@dataclass
class Finding:
    """One mention's reading: a code and whether the guidelines let it be suggested."""

    code: str
    display: str
    kind: str  # diagnosis | procedure
    score: float
    status: str  # suggested | excluded | support
    reason: str
    mention: Mention
    span: tuple[int, int]


# The encoder's answer for a phrase depends only on the phrase, the code system, the date
# of service and the code sets loaded from the data directory, and notes repeat their
# phrases ("hypertension", "type 2 diabetes mellitus") in chart after chart: answers are kept
# across encounters, so a coding screen rarely waits for the encoder's spelling correction.
# Keyed by the ICD-10-CM set's identity too (a re-imported set is a new object). Bounded.
_ANSWERS: OrderedDict[tuple, tuple[str, str, float] | None] = OrderedDict()
_ANSWERS_MAX = 20_000
_ANSWERS_LOCK = Lock()


class Encoder:
    """`search.find` for one encounter: its fiscal year, answers kept across calls, reranking."""

    def __init__(self, when: date | int | None, data_dir):
        self.when, self.data_dir = when, data_dir
        self.cs = codesets.load(
            "icd10cm",
            None if isinstance(when, date) else when,
            date_of_service=when if isinstance(when, date) else None,
            data_dir=data_dir,
        )
        self._cache: dict[tuple[str, str], tuple[str, str, float] | None] = {}
        self.unavailable: set[str] = set()

    def best(self, phrase: str, system: str = "icd10cm") -> tuple[str, str, float] | None:
        key = (phrase.lower(), system)
        if key not in self._cache:
            self._cache[key] = self._shared(key[0], system)
        return self._cache[key]

    def _shared(self, phrase: str, system: str) -> tuple[str, str, float] | None:
        key = (id(self.cs), str(self.data_dir), self.when, system, phrase)
        with _ANSWERS_LOCK:
            if key in _ANSWERS:
                _ANSWERS.move_to_end(key)
                return _ANSWERS[key]
        answer = self._best(phrase, system)
        if system in self.unavailable:
            return answer  # a code set that may yet be imported: not remembered
        with _ANSWERS_LOCK:
            _ANSWERS[key] = answer
            while len(_ANSWERS) > _ANSWERS_MAX:
                _ANSWERS.popitem(last=False)
        return answer

    def _best(self, phrase: str, system: str) -> tuple[str, str, float] | None:
        if system in self.unavailable:
            return None
        try:
            hits = search.find(
                phrase,
                fy=self.when,
                limit=5,
                system=system,
                data_dir=self.data_dir,
                with_notes=False,
            )
        except CodeSetUnavailable:
            self.unavailable.add(system)  # e.g. no ICD-10-PCS imported: no procedure codes
            return None
        if not hits:
            return None
        words = set(re.findall(r"[a-z]+", phrase.lower()))
        top = hits[0].score

        def rank(hit) -> float:
            # The encoder defaults to "unspecified side"; a side the note names wins a
            # near-tie (Section I.B.13, laterality), and extra title words lose one.
            title = set(re.findall(r"[a-z]+", hit.display.lower()))
            side = sum(0.06 for s in _SIDES if s in words and s in title)
            side -= sum(0.06 for s in _SIDES if s in title and s not in words)
            extra = 0.02 * len({"remission", "unspecified"} & (title - words))
            return hit.score + side - extra

        near = [h for h in hits if h.score >= top - 0.1]
        hit = max(near, key=rank)
        return hit.code, hit.display, hit.score

    def title(self, code: str) -> str | None:
        return self.cs.title(code) if self.cs.is_billable(code) else None


def read(mention: Mention, enc: Encoder, *, inpatient: bool) -> list[Finding]:
    """The findings of one mention: the whole phrase if it maps well, else its list parts."""
    findings = _read_span(mention, mention.start, mention.end, enc, inpatient)
    if not findings and mention.parts:
        for start, end in mention.parts:
            findings += _read_span(mention, start, end, enc, inpatient)
    if not findings and mention.unit.head and mention.kind == DIAGNOSIS:
        findings = _head_fallback(mention, enc, inpatient)
    return findings


def _phrase(mention: Mention, start: int, end: int) -> str:
    return mention.text[start - mention.start : end - mention.start]


def _read_span(m: Mention, start: int, end: int, enc: Encoder, inpatient: bool) -> list[Finding]:
    phrase = _phrase(m, start, end)
    if len(phrase.split()) > _MAX_WORDS:
        return []
    span = (start, end)
    if m.kind == PROCEDURE:
        if m.flags & {"negated", "uncertain", "family"}:
            return []
        hit = enc.best(phrase, "icd10pcs" if inpatient else "hcpcs")
        if hit is None or hit[2] < MIN_SCORE:
            return []
        return [
            Finding(*hit[:2], "procedure", hit[2], "suggested", "procedure documented", m, span)
        ]
    hit = enc.best(phrase)
    if hit is None or hit[2] < MIN_SCORE:
        if "historical" in m.flags:
            return _history(m, span, phrase, None, enc)
        return []
    code, display, score = hit
    is_dx = m.kind == DIAGNOSIS

    def finding(status: str, reason: str, c=code, d=display, s=score) -> Finding:
        return Finding(c, d, "diagnosis", s, status, reason, m, span)

    if "negated" in m.flags:
        return [finding("excluded", "negated in the note: not a diagnosis")]
    if "family" in m.flags:
        found = [finding("excluded", "family history: the relative's condition (I.C.21.c.4)")]
        fam = enc.best(f"family history of {phrase}")
        family_code = fam and fam[0][:3] in {"Z80", "Z81", "Z82", "Z83", "Z84"}
        if is_dx and family_code and fam[2] >= MIN_SCORE:
            found.append(finding("suggested", "family history code (I.C.21.c.4)", *fam))
        return found
    if "historical" in m.flags:
        return _history(m, span, phrase, hit, enc)
    if "uncertain" in m.flags:
        if not inpatient:
            return [
                finding(
                    "excluded",
                    "uncertain diagnosis: not coded for an outpatient; code the signs or "
                    "symptoms instead (Section IV.H)",
                )
            ]
        if is_dx:
            reason = "uncertain diagnosis coded as if established for an inpatient (II.H, III.C)"
            return [finding("suggested", reason)]
        return [finding("support", "uncertain mention outside the assessment")]
    if is_dx:
        return [finding("suggested", "diagnosed in the " + m.unit.section.lower())]
    if score >= SUPPORT_SCORE:
        return [finding("support", "mentioned in the " + m.unit.section.lower())]
    return []


def _history(m: Mention, span, phrase: str, hit, enc: Encoder) -> list[Finding]:
    """ "History of X": a personal-history code where one exists, else excluded."""
    own = enc.best(f"history of {phrase}")
    code = None
    if own and own[2] >= MIN_SCORE and own[0][:3] in {"Z85", "Z86", "Z87", "I25"}:
        code = own[0]
    elif hit and hit[0][:3] in HISTORY_CODES:
        code = HISTORY_CODES[hit[0][:3]]
    title = enc.title(code) if code else None
    found = []
    if hit:
        found.append(
            Finding(
                *hit[:2],
                "diagnosis",
                hit[2],
                "excluded",
                "history of: not a current condition",
                m,
                span,
            )
        )
    if code and title:
        score = own[2] if own and own[0] == code else (hit[2] if hit else MIN_SCORE)
        status = "suggested" if m.kind == DIAGNOSIS else "support"
        reason = "personal history (I.C.21.c.4" + (", I.C.9.e.4)" if code == "I25.2" else ")")
        found.append(Finding(code, title, "diagnosis", score, status, reason, m, span))
    return found


def _head_fallback(m: Mention, enc: Encoder, inpatient: bool) -> list[Finding]:
    """An assessment heading the encoder cannot place ("community-acquired pneumonia"):
    retry without leading modifiers, at a lower confidence."""
    words = list(re.finditer(r"\S+", m.text))
    for i in range(1, len(words)):
        start = m.start + words[i].start()
        found = _read_span(m, start, m.end, enc, inpatient)
        for f in found:
            f.score = round(f.score * 0.9, 4)
            f.reason += " (matched without leading modifiers)"
        if found:
            return found
    return []


def drop_integral_symptoms(findings: list[Finding]) -> None:
    """Section I.B.5 / IV.D: a symptom (R00-R99) found in the same sentence as a suggested
    definitive diagnosis is integral to it and is not coded."""
    definitive = {
        f.mention.unit.sentence
        for f in findings
        if f.status == "suggested" and f.kind == "diagnosis" and f.code[0] not in "RZ"
    }
    for f in findings:
        if (
            f.status == "suggested"
            and f.code.startswith("R")
            and f.mention.unit.sentence in (definitive)
        ):
            f.status = "excluded"
            f.reason = "sign or symptom integral to a diagnosis in the same sentence (I.B.5)"
