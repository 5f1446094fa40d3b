"""Report classification: primary site, histology/behaviour, laterality and grade from the
text of a pathology report, each with the span that decided it and a confidence.

How a registrar reads a report, and so how this does:
- Sections rank. The final diagnosis (and a synoptic cancer summary or an addendum that
  revises it) decides; the microscopic description and comments support; the gross
  description and specimen list say what was removed, not what it was; the clinical
  history says what was suspected ("history of breast cancer") and counts least.
- Specimen blocks ("A. RIGHT BREAST, LUMPECTOMY:") name the organ their diagnosis is about:
  a block header's organ counts for more when its diagnosis is a malignancy, less when the
  diagnosis is negated ("no tumor identified").
- Metastases and lymph nodes are not the primary (SEER Program Coding and Staging Manual,
  primary site): a node's carcinoma is spread, "metastatic carcinoma to the liver" names
  where it went, and "metastatic adenocarcinoma consistent with colonic primary" names
  where it came from. Lymphomas are the exception: the node is their primary.
- Organ-specific histologies (hepatocellular, renal cell, glioblastoma, Gleason-graded
  acinar adenocarcinoma, melanoma) add a prior for their organ; melanoma and carcinoma
  with no primary found fall to C44.9 and C80.9 as SEER codes them.

The lexicons come from SEER's ICD-O-3 lists (`lexicon`) plus the report words in `sites`.
"""

from __future__ import annotations

import functools
import math
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field

from chartkeeper.registry import lexicon, reference, sites

# --- sections ------------------------------------------------------------------------------

SECTION_WEIGHT = {
    "final": 3.0,
    "synoptic": 3.0,
    "addendum": 2.0,
    "comment": 1.2,
    "microscopic": 1.2,
    "frozen": 1.0,
    "ancillary": 0.8,
    "specimen": 1.0,
    "gross": 0.6,
    "clinical": 0.35,
    "preamble": 1.0,
}
_HEADERS = {
    "final": (
        "final diagnosis",
        "final diagnoses",
        "final pathologic diagnosis",
        "final pathological diagnosis",
        "final surgical pathology diagnosis",
        "pathologic diagnosis",
        "pathological diagnosis",
        "surgical pathology diagnosis",
        "diagnosis",
        "diagnoses",
        "interpretation",
        "final report",
    ),
    "synoptic": (
        "synoptic report",
        "cancer case summary",
        "tumor summary",
        "tumour summary",
        "synoptic",
        "summary of findings",
        "cancer summary",
        "checklist",
    ),
    "addendum": (
        "addendum",
        "addendum diagnosis",
        "amended diagnosis",
        "revised diagnosis",
        "amended report",
        "supplemental report",
    ),
    "comment": ("comment", "comments", "note", "notes"),
    "microscopic": (
        "microscopic description",
        "microscopic examination",
        "microscopic",
        "micro",
        "histology",
    ),
    "gross": (
        "gross description",
        "gross examination",
        "gross",
        "macroscopic description",
        "macroscopic",
        "description",
    ),
    "frozen": (
        "intraoperative consultation",
        "intraoperative consult",
        "frozen section",
        "frozen section diagnosis",
        "intraoperative diagnosis",
        "intra operative consultation",
    ),
    "clinical": (
        "clinical history",
        "clinical information",
        "clinical data",
        "history",
        "clinical diagnosis",
        "clinical indication",
        "preoperative diagnosis",
        "pre operative diagnosis",
        "postoperative diagnosis",
        "post operative diagnosis",
        "indication",
        "indications",
        "reason for exam",
        "operative findings",
        "clinical notes",
        "pertinent history",
        "clinical diagnosis and history",
    ),
    "specimen": (
        "specimen",
        "specimens",
        "specimen submitted",
        "specimens submitted",
        "source of specimen",
        "tissue submitted",
        "specimen received",
        "material submitted",
        "source",
        "specimen s submitted",
    ),
    "ancillary": (
        "immunohistochemistry",
        "immunohistochemical stains",
        "special stains",
        "molecular studies",
        "ancillary studies",
        "flow cytometry",
        "biomarkers",
    ),
}
_HEADER_KIND = {" ".join(lexicon.words(h)): kind for kind, hs in _HEADERS.items() for h in hs}
# A header is a line that is only the header, or starts with it and a colon.
_HEADER_LINE = re.compile(r"^[ \t\-*#>]*([A-Za-z][A-Za-z ()/\-]{1,60}?)[ \t]*(?::|$)")

_OCR_DIGITS = str.maketrans("015", "ols")
_HEADER_WORDS = {w for key in _HEADER_KIND for w in key.split()}


def _header_kind(line: str) -> str | None:
    """The section a line opens, if it is a header: "FINAL DIAGNOSIS:", "Gross Description",
    or a header run into its text ("FINAL DIAGNOSIS LEFT BREAST, ..."), OCR digits mended."""
    header = _HEADER_LINE.match(line)
    if header:
        key = " ".join(lexicon.words(header.group(1).translate(_OCR_DIGITS)))
        kind = _HEADER_KIND.get(key)
        if kind is None and key.endswith(" diagnosis") and "clinical" not in key:
            kind = "final" if "operative" not in key else "clinical"
        if kind:
            return kind
    head = line.lstrip(" \t-*#>")[:80]
    found = [w.translate(_OCR_DIGITS) for w in re.findall(r"[A-Za-z0-9]+", head)[:6]]
    found = [w.lower() for w in found]
    # Only a header of two or more words may run into its text: "DIAGNOSIS" alone starts
    # many ordinary sentences.
    for n in range(min(5, len(found)), 1, -1):
        kind = _HEADER_KIND.get(" ".join(found[:n]))
        if kind and head[:1].isupper() and head.split()[0].isupper():
            return kind
    return None


# Headers inside a line, as OCR that lost the line breaks leaves them: "... SPECIMEN: LEFT
# BREAST. GROSS DESCRIPTION: RECEIVED ... FINAL DIAGNOSIS: ...". Several-word headers, and
# the one-word ones only with their colon.
_MIDLINE_HEADER = re.compile(
    r"(?i)(?<![A-Za-z])(?:"
    + "|".join(
        r"[\s\-]+".join(map(re.escape, key.split()))
        for key in sorted(_HEADER_KIND, key=len, reverse=True)
        if " " in key or key in ("diagnosis", "diagnoses", "addendum", "comment", "comments")
    )
    + r")\s*:"
)


def _segments(text: str):
    """The report's lines, each cut again before a header that starts mid-line."""
    for line in text.splitlines(keepends=True):
        if ":" not in line:  # every mid-line header ends in a colon
            yield line
            continue
        cuts = [m.start() for m in _MIDLINE_HEADER.finditer(line) if line[: m.start()].strip()]
        previous = 0
        for cut in cuts:
            yield line[previous:cut]
            previous = cut
        yield line[previous:]


# Synoptic item names whose value is the answer itself.
_SITE_LABELS = {
    ("tumor", "site"),
    ("tumour", "site"),
    ("primary", "site"),
    ("primary", "tumor", "site"),
    ("tumor", "location"),
    ("site",),
    ("anatomic", "site"),
    ("site", "of", "tumor"),
    ("specimen", "site"),
    ("organ",),
    ("primary", "tumor", "location"),
}
_TYPE_LABELS = {
    ("histologic", "type"),
    ("histological", "type"),
    ("tumor", "type"),
    ("histology",),
    ("histologic", "type", "and", "subtype"),
    ("diagnosis",),
}

_SPECIMEN_LABEL = re.compile(
    r"^[ \t]*(?:part[ \t]+)?(?:\(?[A-Za-z][.)]|\(?\d{1,2}[.)]|[A-Za-z]\d?[ \t]*[:\-])[ \t]+\S",
)
_BOUNDARY = re.compile(r"[.;]\s|\n\s*\n|[.;]$")

_NEG_BEFORE = {
    ("no",),
    ("not",),
    ("without",),
    ("negative", "for"),
    ("free", "of"),
    ("absence", "of"),
    ("no", "evidence", "of"),
    ("rule", "out"),
    ("r", "o"),
    ("negative",),
    ("nor",),
    ("neither",),
    ("uninvolved", "by"),
    ("cannot", "be", "ruled", "out"),
    ("benign",),
}
_NEG_AFTER = {
    ("not", "identified"),
    ("not", "seen"),
    ("not", "present"),
    ("is", "absent"),
    ("absent",),
    ("is", "negative"),
    ("are", "negative"),
    ("not", "found"),
    ("ruled", "out"),
    ("is", "not", "identified"),
    ("are", "not", "identified"),
    ("cannot", "be", "ruled", "out"),
}
_MALIGNANT_WORDS = {
    "carcinoma",
    "malignant",
    "malignancy",
    "cancer",
    "sarcoma",
    "melanoma",
    "lymphoma",
    "invasive",
    "adenocarcinoma",
    "tumor",
    "tumour",
    "neoplasm",
    "carcinomas",
    "metastatic",
    "leukemia",
    "myeloma",
    "glioma",
    "blastoma",
}
_METASTASIS = {
    "implant",
    "implants",
    "metastatic",
    "metastasis",
    "metastases",
    "metastasizing",
    "metastasized",
    "mets",
    "secondary",
}
_LOCATIVE = {"to", "in", "into", "involving", "within", "at", "of"}
_CLEAR = {
    "negative",
    "benign",
    "unremarkable",
    "uninvolved",
    "free",
    "nonneoplastic",
    "normal",
    "without",
}
_EXTENSION = {
    "invading",
    "invades",
    "invade",
    "invasion",
    "involving",
    "involves",
    "extending",
    "extends",
    "extension",
    "infiltrating",
    "infiltrates",
    "into",
    "implant",
    "implants",
    "penetrating",
    "penetrates",
}
_ORIGIN = {"primary", "origin", "originating", "arising", "derived"}
_HISTORY = {"history", "hx", "previous", "prior", "known"}


@dataclass
class Evidence:
    field: str
    text: str
    start: int
    end: int
    section: str
    weight: float

    def as_json(self) -> dict:
        return asdict(self)


@dataclass
class Classification:
    primary_site: str | None
    site_label: str | None
    histology: str | None
    behavior: str | None
    laterality: str | None
    grade: str | None
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    candidates: dict[str, float] = field(default_factory=dict)

    @property
    def morphology(self) -> str | None:
        return f"{self.histology}/{self.behavior}" if self.histology else None

    def as_json(self, report_id: str | None = None) -> dict:
        body = {
            "primary_site": self.primary_site,
            "site_label": self.site_label,
            "histology": self.histology,
            "behavior": self.behavior,
            "morphology": self.morphology,
            "laterality": self.laterality,
            "grade": self.grade,
            "confidence": self.confidence,
            "evidence": [e.as_json() for e in self.evidence],
        }
        return {"id": report_id, **body} if report_id is not None else body


# --- the parsed report ----------------------------------------------------------------------


@dataclass(slots=True)
class _Word:
    word: str
    start: int
    end: int
    section: str
    line: int  # line number
    sentence: int
    block: int  # specimen block number within the report (-1: none)
    synoptic: str  # "site", "type" or ""


# Report word -> the lexicon word it is read as (OCR mending), shared by all reports.
_CORRECTED: dict[str, str] = {}


class Report:
    """A report tokenized once: each word knows its section, line, sentence and block."""

    def __init__(self, text: str):
        self.text = text
        site_lex, hist_lex = lexicon.site_lexicon(), lexicon.histology_lexicon()
        self.words: list[_Word] = []
        append, corrected = self.words.append, _CORRECTED
        offset, section, block, sentence = 0, "preamble", -1, 0
        self.block_header_line: dict[int, int] = {}
        self.lines = list(_segments(text))
        for number, line in enumerate(self.lines):
            kind = _header_kind(line)
            if kind:
                section, block = kind, -1
                sentence += 1
            if _SPECIMEN_LABEL.match(line) and section in (
                "final",
                "addendum",
                "specimen",
                "preamble",
                "synoptic",
                "frozen",
            ):
                block = number
                self.block_header_line[block] = number
            if not line.strip():
                sentence += 1
            label_words = ()
            if ":" in line:
                label_words = lexicon.words(line.split(":", 1)[0])
            synoptic = (
                "site"
                if label_words in _SITE_LABELS
                else "type"
                if label_words in _TYPE_LABELS
                else ""
            )
            for raw, start, end in lexicon.tokenize(line):
                word = corrected.get(raw)
                if word is None:
                    if len(corrected) > 200_000:  # bounded memory over endless batches
                        corrected.clear()
                    word = corrected[raw] = site_lex.correct(hist_lex.correct(raw))
                append(
                    _Word(
                        word,
                        offset + start,
                        offset + end,
                        section,
                        number,
                        sentence,
                        block,
                        synoptic,
                    )
                )
            for _ in _BOUNDARY.finditer(line):
                sentence += 1
            # a sentence ends at the last boundary; count the rest of the line as the next
            offset += len(line)
        self._join_hyphenated(site_lex, hist_lex)
        self._fix_sentences()
        self.tokens = [w.word for w in self.words]
        # Text before the first header, in a report that has a diagnosis section, is the
        # letterhead and demographics ("... Breast Health Center"): it counts for less.
        self.has_diagnosis = any(w.section in ("final", "synoptic") for w in self.words)
        # Each sentence's word range, once: the rules ask for it at every mention.
        self._sentences: dict[int, tuple[int, int]] = {}
        for i, word in enumerate(self.words):
            lo, _ = self._sentences.get(word.sentence, (i, i))
            self._sentences[word.sentence] = (lo, i + 1)

    def _join_hyphenated(self, site_lex, hist_lex) -> None:
        """A word a scanned report broke at a line end ("PROS-\nTATE", "ADENO-\nCARCINOMA")
        read whole, when the whole is a lexicon word and its halves are not."""
        words, text, joined = self.words, self.text, []
        i = 0
        while i < len(words):
            word = words[i]
            if i + 1 < len(words):
                following = words[i + 1]
                gap = text[word.end : following.start]
                if gap.startswith("-") and "\n" in gap and not gap[1:].strip():
                    whole = site_lex.correct(hist_lex.correct(word.word + following.word))

                    def known(w: str) -> bool:
                        return w in site_lex.vocabulary or w in hist_lex.vocabulary

                    # "LYMPH-\nNODE" stays two words: both halves are words already.
                    if known(whole) and not (known(word.word) and known(following.word)):
                        word.word, word.end = whole, following.end
                        joined.append(word)
                        i += 2
                        continue
            joined.append(word)
            i += 1
        self.words[:] = joined

    def _fix_sentences(self) -> None:
        """Give each word the sentence it is in by the boundaries between words."""
        sentence, text, previous = 0, self.text, None
        for word in self.words:
            if previous is not None:
                if previous.section != word.section:
                    sentence += 1
                elif word.start - previous.end == 1 and (
                    text[previous.end] == " "
                    or (
                        text[previous.end] in ".,"
                        and previous.word.isdigit()
                        and word.word.isdigit()
                    )
                ):
                    pass  # one space, or a decimal point ("1.8 CM"), never ends a sentence
                else:
                    gap = text[previous.end : word.start]
                    if (
                        _BOUNDARY.search(gap)
                        or "\n\n" in gap.replace("\r", "")
                        or (":" in gap and previous.line != word.line)
                    ):
                        sentence += 1
            word.sentence = sentence
            previous = word

    def span(self, start: int, end: int) -> tuple[int, int, str]:
        s, e = self.words[start].start, self.words[end - 1].end
        return s, e, self.text[s:e]

    def sentence_range(self, i: int) -> tuple[int, int]:
        return self._sentences[self.words[i].sentence]


def _has(tokens: list[str], i: int, phrases: set[tuple[str, ...]]) -> bool:
    first = _FIRST_WORDS.get(id(phrases))
    if first is None:
        first = _FIRST_WORDS[id(phrases)] = {p[0] for p in phrases}
    if tokens[i] not in first:
        return False
    return any(tuple(tokens[i : i + len(p)]) == p for p in phrases)


_FIRST_WORDS: dict[int, set[str]] = {}


# Words that end a negation's reach (NegEx terminators): "E-cadherin is negative,
# supporting lobular carcinoma" does not negate the carcinoma.
_NEG_STOP = frozenset(
    {
        "but",
        "however",
        "supporting",
        "supports",
        "consistent",
        "suggesting",
        "favoring",
        "favouring",
        "compatible",
        "although",
        "which",
        "indicating",
        "confirming",
    }
)


def negated(report: Report, start: int, end: int) -> bool:
    """NegEx-style: a negation cue in the same sentence within six words before, or four
    after ("carcinoma is not identified")."""
    lo, hi = report.sentence_range(start)
    tokens = report.tokens
    for i in range(max(lo, start - 6), start):
        # A cue reaches over "and"/"or" but not over "but": a new clause starts there.
        scope = tokens[i:start]
        if _has(tokens, i, _NEG_BEFORE) and not _NEG_STOP.intersection(scope):
            return True
    return any(_has(tokens, i, _NEG_AFTER) for i in range(end, min(hi, end + 4)))


# --- histology -------------------------------------------------------------------------------


@dataclass
class _HistMention:
    code: str
    start: int
    end: int
    weight: float
    metastatic: bool
    sites: tuple[str, ...]
    alternatives: tuple[tuple[str, tuple[str, ...]], ...] = ()


_GENERIC = {"8000", "8001", "8010", "8011", "8020"}  # NOS, and "carcinoma, poorly differentiated"
_BEHAVIOR_RANK = {"3": 1.0, "6": 1.0, "9": 0.9, "2": 0.75, "1": 0.25, "0": 0.15}


def _histology_mentions(report: Report) -> list[_HistMention]:
    found = []
    tokens = report.tokens
    for m in lexicon.overlapping(lexicon.histology_lexicon(), tokens):
        if negated(report, m.start, m.end):
            continue
        word = report.words[m.start]
        histology, behavior = m.entry.code.split("/")
        weight = SECTION_WEIGHT[word.section] * (1 + 0.15 * len(m.phrase))
        weight *= _BEHAVIOR_RANK.get(behavior, 0.5)
        if histology in _GENERIC:
            weight *= 0.35
        elif histology.endswith("0"):
            weight *= 0.9  # ICD-O-3's "NOS" codes mostly end in 0: a subtype outranks them
        if word.synoptic == "type":
            weight *= 2.0
        lo, _ = report.sentence_range(m.start)
        metastatic = any(t in _METASTASIS for t in tokens[max(lo, m.start - 4) : m.end])
        found.append(
            _HistMention(
                m.entry.code,
                m.start,
                m.end,
                weight,
                metastatic,
                m.entry.sites,
                m.entry.alternatives,
            )
        )
    return found


def _best_histology(mentions: list[_HistMention]) -> _HistMention | None:
    if not mentions:
        return None
    by_code: dict[str, float] = defaultdict(float)
    for m in mentions:
        by_code[m.code] += m.weight
    # Invasive outranks in situ for the same type (ICD-O-3 rule: code the highest behaviour).
    for code in list(by_code):
        histology, behavior = code.split("/")
        if behavior == "2" and by_code.get(f"{histology}/3"):
            by_code[f"{histology}/3"] += by_code.pop(code)
    best = max(by_code, key=lambda c: by_code[c])
    return max(
        (m for m in mentions if m.code == best), key=lambda m: m.weight, default=None
    ) or next(m for m in mentions if m.code.split("/")[0] == best.split("/")[0])


# --- site --------------------------------------------------------------------------------------


@dataclass
class _SiteMention:
    code: str
    start: int
    end: int
    weight: float
    why: str
    of_tumour: bool = False  # "carcinoma ... of the renal pelvis": the tumour's own organ
    attached: bool = False  # "... resection with left kidney": removed with the specimen


def _malignant_line(
    report: Report, hist: list[_HistMention]
) -> tuple[set[int], set[int], set[int]]:
    """Sentences, lines and specimen blocks holding a malignancy that is not negated."""
    sentences, lines, blocks = set(), set(), set()
    starts = [m.start for m in hist if m.code.split("/")[1] in ("2", "3", "6", "9")]
    starts += [
        i
        for i, word in enumerate(report.words)
        if word.word in _MALIGNANT_WORDS and not negated(report, i, i + 1)
    ]
    for i in starts:
        word = report.words[i]
        sentences.add(word.sentence)
        lines.add(word.line)
        blocks.add(word.block)
    blocks.discard(-1)
    return sentences, lines, blocks


def _heads_malignant_line(lines: list[str], number: int, malignant: set[int]) -> bool:
    """A line ending in a colon ("SIGMOID COLON, RESECTION:") heads the diagnosis below it."""
    if number >= len(lines) or not lines[number].rstrip().endswith(":"):
        return False
    following = next((n for n in range(number + 1, len(lines)) if lines[n].strip()), None)
    return following is not None and following in malignant


def _metastatic_blocks(report: Report, hist: list[_HistMention]) -> set[int]:
    """Blocks whose every malignancy is called metastatic: their organ received it."""
    kinds: dict[int, set[bool]] = defaultdict(set)
    for m in hist:
        if m.code.split("/")[1] in ("3", "6", "9"):
            kinds[report.words[m.start].block].add(m.metastatic)
    return {b for b, k in kinds.items() if k == {True} and b != -1}


def _site_mentions(report: Report, hist: list[_HistMention], lymphoma: bool) -> list[_SiteMention]:
    tokens = report.tokens
    malignant_sentences, malignant_lines, malignant_blocks = _malignant_line(report, hist)
    lines = report.lines
    metastatic_blocks = _metastatic_blocks(report, hist)
    found = []
    for m in lexicon.site_lexicon().find(tokens):
        word = report.words[m.start]
        code = m.entry.code
        weight = m.entry.weight * SECTION_WEIGHT[word.section]
        if word.section == "preamble" and report.has_diagnosis:
            weight *= 0.5
        why = [word.section]
        lo, hi = report.sentence_range(m.start)
        before = tokens[max(lo, m.start - 4) : m.start]
        after = tokens[m.end : min(hi, m.end + 3)]
        header = word.block != -1 and report.block_header_line.get(word.block) == word.line
        if word.synoptic == "site":
            weight *= 2.5
            why.append("synoptic site")
        if word.sentence in malignant_sentences:
            weight *= 2.0
            why.append("malignancy in the sentence")
        elif (header and word.block in malignant_blocks) or _heads_malignant_line(
            lines, word.line, malignant_lines
        ):
            weight *= 1.8
            why.append("specimen header of a malignant block")
        elif negated(report, m.start, m.end) or _CLEAR & set(tokens[m.end : min(hi, m.end + 8)]):
            weight *= 0.4
            why.append("negated")
        sentence_words = set(tokens[lo : m.start])
        following = next(
            (h for h in hist if m.end <= h.start < hi and h.code.split("/")[1] != "0"), None
        )
        named_primary = False
        if set(after[:2]) & _ORIGIN or set(before[-3:]) & {"primary", "from"}:
            weight *= 2.5 if word.sentence in malignant_sentences else 5.0
            why.append("named as the primary")
            named_primary = True
        elif sentence_words & _METASTASIS and set(before[-3:]) & _LOCATIVE:
            weight *= 0.15
            why.append("site of a metastasis")
        elif set(before[-3:]) & _EXTENSION and any(
            lo <= h.start < m.start for h in hist if h.code.split("/")[1] != "0"
        ):
            # "adenocarcinoma ... invading into the urinary bladder": spread, not origin.
            weight *= 0.3
            why.append("organ the tumour extends into")
        elif (header and word.block in metastatic_blocks) or (
            following is not None and following.metastatic
        ):
            # "LIVER, BIOPSY: METASTATIC ADENOCARCINOMA": the organ received the tumour.
            weight *= 0.25
            why.append("specimen with metastatic disease")
        # "metastasis from the patient's known primary cervical carcinoma": the known
        # primary is what the metastasis came from, not a past cancer to discount.
        origin_of_metastasis = named_primary and bool(set(tokens[lo:hi]) & _METASTASIS)
        if not origin_of_metastasis and (
            set(before) & _HISTORY
            or (
                set(after) & {"cancer", "carcinoma"}
                and set(tokens[max(lo, m.start - 6) : m.start]) & _HISTORY
            )
        ):
            weight *= 0.3
            why.append("history")
        if code.startswith("C77") and not lymphoma:
            weight *= 0.1
            why.append("lymph node")
        # "RETROPERITONEUM, EN BLOC RESECTION WITH LEFT KIDNEY AND COLON": organs taken
        # with the specimen, not its subject.
        line_start = next(
            (j for j in range(m.start, -1, -1) if report.words[j].line != word.line), -1
        )
        attached = bool({"with", "including"} & set(tokens[line_start + 1 : m.start]))
        if attached and word.sentence not in malignant_sentences:
            weight *= 0.5
            why.append("removed with the specimen")
        # "urothelial carcinoma, high grade, of the renal pelvis": the organ the sentence
        # says the tumour is of, not one of a list of organs removed.
        of_tumour = before[-1:] in (["of"], ["in"]) and any(
            max(lo, m.start - 8) <= h.end <= m.start
            and h.code.split("/")[1] in ("2", "3")
            and not h.metastatic
            for h in hist
        )
        if of_tumour:
            why.append("organ of the tumour")
        found.append(
            _SiteMention(code, m.start, m.end, weight, ", ".join(why), of_tumour, attached)
        )
    # A line naming several organs ("uterus, cervix, bilateral ovaries and tubes") shares
    # its weight between them: the list says what was removed, not which organ is sick.
    per_line: dict[int, set[str]] = defaultdict(set)
    for m in found:
        if not m.code.startswith("C77") and not m.attached:
            per_line[report.words[m.start].line].add(m.code[:3])
    for m in found:
        organs = per_line[report.words[m.start].line]
        if len(organs) > 1 and not m.of_tumour:
            m.weight /= len(organs)
            # "COLON, RECTOSIGMOID": the NOS organ word yields to the named segment.
            if m.code == "C18.9" and organs & {"C19", "C20"}:
                m.weight *= 0.3
    return found


_ENDOMETRIAL = {
    "8380",
    "8381",
    "8382",
    "8383",
    "8441",
    "8310",
    "8950",
    "8951",
    "8980",
    "8570",
    "8260",
    "8323",
    "8140",
    "8890",
    "8931",
    "8933",
}


def _choose_site(
    mentions: list[_SiteMention], prior: tuple[str, float] | None, histology: str | None
) -> tuple[str | None, dict[str, float]]:
    by_category: dict[str, float] = defaultdict(float)
    by_code: dict[str, float] = defaultdict(float)
    for m in mentions:
        by_category[m.code[:3]] += m.weight
        by_code[m.code] += m.weight
    if prior:
        by_category[prior[0][:3]] += prior[1]
        by_code[prior[0]] += prior[1] * 0.5
    if not by_category:
        return None, {}
    # A sarcoma named in the retroperitoneum or peritoneum is of it (C48), not of soft
    # tissue, NOS, where its histology alone would put it.
    if prior and prior[0][:3] == "C49" and by_category.get("C48"):
        by_category["C48"] += by_category.pop("C49", 0.0)
        for code in [c for c in by_code if c[:3] == "C49"]:
            by_code.pop(code)
    # A mesothelioma is of the pleura (or peritoneum) even when the lung came with it.
    if histology and "9050" <= histology <= "9055" and by_category.get("C34"):
        by_category["C38"] += by_category.pop("C34")
        by_code["C38.4"] += sum(by_code.pop(c) for c in [c for c in by_code if c[:3] == "C34"])
    # A thymoma or thymic carcinoma in an anterior mediastinal mass is of the thymus.
    if histology and "8580" <= histology <= "8589" and by_category.get("C38"):
        by_category["C37"] += by_category.pop("C38")
        by_code["C37.9"] += sum(by_code.pop(c) for c in [c for c in by_code if c[:3] == "C38"])
    # Uterus, NOS with an endometrial-type tumour is the corpus (SEER: C54.1 over C55.9).
    if by_category.get("C55") and (by_category.get("C54") or histology in _ENDOMETRIAL):
        by_category["C54"] += by_category.pop("C55")
        by_code["C54.1"] += by_code.pop("C55.9", 0.0)
    # An intrahepatic cholangiocarcinoma is coded to the intrahepatic ducts (C22.1).
    if histology == "8160" and by_code.get("C22.0"):
        by_code["C22.1"] += by_code.pop("C22.0")
    # An endometrial carcinoma invading the myometrium is still of the endometrium.
    if histology in _ENDOMETRIAL and by_code.get("C54.2") and histology != "8890":
        by_code["C54.1"] += by_code.pop("C54.2")
    # Ties (an organ list in a header) go to the organ named first.
    first: dict[str, int] = {}
    for m in mentions:
        first.setdefault(m.code[:3], m.start)
    # Merged categories keep their first mention: the uterus, NOS counted as the corpus.
    for merged, into in (("C55", "C54"), ("C34", "C38"), ("C38", "C37")):
        if merged in first and merged not in by_category and into in by_category:
            first[into] = min(first.get(into, first[merged]), first[merged])
    # A category only the histology's prior names loses a tie to one the report names.
    ranked = sorted(by_category.items(), key=lambda kv: (-round(kv[1], 6), first.get(kv[0], 10**9)))
    category = ranked[0][0]
    if category == "C77" and len(ranked) > 1 and ranked[1][1] > 0.5 * ranked[0][1]:
        category = ranked[1][0]
    lymphoma = histology is not None and sites.LYMPHOMA[0] <= int(histology) <= sites.LYMPHOMA[1]
    if category == "C77" and histology and not lymphoma:
        # A carcinoma found only in a lymph node: the node is not its primary (SEER);
        # the histology's organ if it has one (melanoma: skin), else unknown primary.
        if prior and prior[0][:3] != "C77":
            return prior[0], dict(ranked)
        return "C80.9", dict(ranked)
    codes = {c: w for c, w in by_code.items() if c.startswith(category)}
    specific = {c: w for c, w in codes.items() if c[-1] not in "89"}
    total = sum(codes.values()) or 1.0
    if specific and max(specific.values()) >= 0.3 * total:
        site = max(specific, key=lambda c: specific[c])
    elif prior and prior[0][:3] == category and prior[0][-1] not in "89":
        # The organ named only as a whole, a histology that belongs to one part of it
        # (pheochromocytoma: the adrenal medulla).
        site = prior[0]
    else:
        nos = f"{category}.9"
        site = nos if nos in codes or not codes else max(codes, key=lambda c: codes[c])
        if not codes:
            site = nos
    return site, dict(ranked)


# --- laterality and grade -------------------------------------------------------------------


def _region(report: Report, site: str, mentions: list[_SiteMention]) -> str | None:
    """Skin, soft tissue or nerve, NOS refined by the body region named on the same line
    ("SKIN, LEFT THIGH, EXCISION" -> C44.7)."""
    for m in sorted((m for m in mentions if m.code[:3] == site[:3]), key=lambda m: -m.weight):
        line = report.words[m.start].line
        for word in report.words:
            if word.line == line and word.word in sites.REGIONS:
                code = sites.region_code(site[:3], word.word)
                if code:
                    return code
    return None


_CLOCK = re.compile(r"\b(1[0-2]|[1-9])(?::[0-5]\d)?\s*o['’ ]?\s*clock\b", re.I)

_SIDES = {"right": "1", "rt": "1", "left": "2", "lt": "2", "bilateral": "4", "both": "4"}


def _laterality(
    report: Report, site: str | None, mentions: list[_SiteMention]
) -> tuple[str | None, tuple[int, int] | None]:
    if site is None:
        return None, None
    if not sites.is_paired(site):
        return "0", None
    tokens = report.tokens
    # A synoptic "Laterality: Left" / "Specimen Laterality: right" says it outright.
    for number, line in enumerate(report.lines):
        label, colon, value = line.partition(":")
        if colon and lexicon.words(label)[-1:] == ("laterality",):
            side = next((_SIDES[w] for w in lexicon.words(value) if w in _SIDES), None)
            if side:
                found = [
                    i for i, w in enumerate(report.words) if w.line == number and w.word in _SIDES
                ]
                return side, (found[0], found[0] + 1) if found else None
    same = sorted((m for m in mentions if m.code[:3] == site[:3]), key=lambda m: -m.weight)
    for m in same:
        lo, hi = report.sentence_range(m.start)
        for i in list(range(m.start - 1, max(lo, m.start - 4) - 1, -1)) + list(
            range(m.end, min(hi, m.end + 3))
        ):
            side = _SIDES.get(tokens[i])
            if side:
                return side, (i, i + 1)
    return "9", None


_GRADE_WORDS = [
    (re.compile(r"\bwell[\s-]+differentiated\b", re.I), "1"),
    (re.compile(r"\bmoderately[\s-]+(?:to[\s-]+poorly[\s-]+)?differentiated\b", re.I), "2"),
    (re.compile(r"\bpoorly[\s-]+differentiated\b", re.I), "3"),
    (re.compile(r"\bundifferentiated\b|\banaplastic\b", re.I), "4"),
    (
        # Anchored on "grade" itself (an optional qualifier before it made the scan slow
        # and changed only the evidence span).
        re.compile(
            r"\bgrade\s*[:\-]?\s*(?:is\s+)?(i{1,3}|iv|[1-4])\b(?!\s*(?:/|of)\s*[1-4])",
            re.I,
        ),
        None,
    ),
    (re.compile(r"\bgrade\s+group\s*[:\-]?\s*([1-5])\b", re.I), "group"),
    (re.compile(r"\b(low)[\s-]+grade\b", re.I), "L"),
    (re.compile(r"\b(high)[\s-]+grade\b", re.I), "H"),
]
_GLEASON = re.compile(
    r"gleason(?:'?s)?\s+(?:score|grade|pattern)?\s*[:\-]?\s*([1-5])\s*\+\s*([1-5])", re.I
)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}


def _grade(report: Report) -> tuple[str | None, tuple[int, int] | None]:
    """The grade the final diagnosis states: G1-G4 from differentiation or a stated grade,
    a prostate Grade Group 1-5, or L/H where only low/high grade is said (the 2018+ grade
    tables accept L and H for several sites)."""
    best = None
    gleason = _GLEASON.search(report.text)
    if gleason:
        primary, secondary = int(gleason.group(1)), int(gleason.group(2))
        total = primary + secondary
        group = (
            1
            if total <= 6
            else 2
            if (primary, secondary) == (3, 4)
            else (3 if total == 7 else 4 if total == 8 else 5)
        )
        return str(group), (gleason.start(), gleason.end())
    for pattern, value in _GRADE_WORDS:
        for m in pattern.finditer(report.text):
            if value is None:
                code = _ROMAN.get(m.group(1).lower(), m.group(1))
            elif value == "group":
                code = m.group(1)
            else:
                code = value
            section = _section_at(report, m.start())
            rank = SECTION_WEIGHT[section]
            if best is None or rank > best[0]:
                best = (rank, code, (m.start(), m.end()))
    return (best[1], best[2]) if best else (None, None)


def _section_at(report: Report, offset: int) -> str:
    section = "preamble"
    for word in report.words:
        if word.start > offset:
            break
        section = word.section
    return section


# --- the classifier ----------------------------------------------------------------------------


def classify(text: str) -> Classification:
    """Primary site, histology/behaviour, laterality and grade of one report.

    >>> classify("FINAL DIAGNOSIS:\\nA. Prostate, needle biopsy: adenocarcinoma").primary_site
    'C61.9'
    """
    report = Report(text or "")
    hist = _histology_mentions(report)
    best_hist = _best_histology(hist)
    histology = behavior = None
    prior = None
    evidence: list[Evidence] = []
    if best_hist:
        histology, behavior = best_hist.code.split("/")
        if behavior in ("6", "9"):
            behavior = "3"  # the primary's behaviour is coded, not the metastasis's
        s, e, snippet = report.span(best_hist.start, best_hist.end)
        evidence.append(
            Evidence(
                "histology",
                snippet,
                s,
                e,
                report.words[best_hist.start].section,
                round(best_hist.weight, 2),
            )
        )
        hinted = sites.histology_site(histology)
        hint_sets = {h for _, h in best_hist.alternatives} or {best_hist.sites}
        if hinted is None and len(best_hist.sites) == 1 and len(hint_sets) == 1:
            hinted = f"{best_hist.sites[0]}.9"
        if hinted:
            prior = (hinted, 2.0 if hinted[:3] != "C77" else 0.0)
        if "gleason" in report.tokens and histology in ("8140", "8550", "8500", "8490"):
            prior = ("C61.9", 4.0)
    lymphoma = histology is not None and sites.LYMPHOMA[0] <= int(histology) <= sites.LYMPHOMA[1]
    mentions = _site_mentions(report, hist, lymphoma)
    if not mentions and not prior and best_hist and behavior == "3":
        prior = ("C80.9", 0.5)
    site, scores = _choose_site(mentions, prior, histology)
    if best_hist and best_hist.alternatives and site:
        # The same words, another code by site (ICD-O-3's notes): the site decides.
        fitting = [c for c, hints in best_hist.alternatives if site[:3] in hints]
        unbound = [c for c, hints in best_hist.alternatives if not hints]
        chosen = (fitting or unbound or [best_hist.code])[0]
        histology, behavior = chosen.split("/")
        if behavior in ("6", "9"):
            behavior = "3"
    label = None
    if site:
        label = _label(site)
        for m in sorted((m for m in mentions if m.code[:3] == site[:3]), key=lambda m: -m.weight)[
            :3
        ]:
            s, e, snippet = report.span(m.start, m.end)
            evidence.append(
                Evidence(
                    "primary_site", snippet, s, e, report.words[m.start].section, round(m.weight, 2)
                )
            )
    if site and site[:3] in sites.REGION_CATEGORIES and site[-1] in "89":
        site = _region(report, site, mentions) or site
        label = _label(site)
    laterality, side_span = _laterality(report, site, mentions)
    if site == "C50.9":
        clock = _CLOCK.search(report.text)
        if clock:
            quadrant = sites.breast_quadrant(int(clock.group(1)), laterality or "")
            if quadrant:
                site, label = quadrant, _label(quadrant)
    if side_span:
        s, e, snippet = report.span(*side_span)
        evidence.append(
            Evidence("laterality", snippet, s, e, report.words[side_span[0]].section, 1.0)
        )
    grade, grade_span = _grade(report)
    if grade_span:
        s, e = grade_span
        evidence.append(Evidence("grade", report.text[s:e], s, e, _section_at(report, s), 1.0))
    confidence = 0.0
    if site and scores:
        top = scores.get(site[:3], 0.0)
        if site[:3] == "C54" and "C55" in scores:
            top += scores["C55"]
        share = top / (sum(scores.values()) or 1.0)
        confidence = round(min(0.99, share * (1 - math.exp(-top / 3))), 2)
    return Classification(
        site,
        label,
        histology,
        behavior,
        laterality,
        grade,
        confidence,
        evidence,
        {k: round(v, 2) for k, v in list(scores.items())[:5]},
    )


def _label(site: str) -> str | None:
    return _labels().get(site)


@functools.cache
def _labels() -> dict[str, str]:
    if reference.available("icdo3", "primarySite.csv"):
        return reference.topography()
    return {}
