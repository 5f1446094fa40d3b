"""Finding people's names in free text (45 CFR 164.514(b)(2)(i)(A)).

Evidence, strongest first: the names the structured record gives for the patient and
relatives (any case; a surname that is also an everyday word, like "White", only next to
another part of the name) and for the facility's clinicians; a title ("Mrs. Ruiz"); a
relation ("her daughter Ana", "husband, Tom Reyes"; a given name even in lower case); a cue
("Patient:", "signed by", "emergency contact"); a credential after the name ("Omar Haddad,
MD"); a common given name (names.FIRST_NAMES) on its own, or an ambiguous one
("Grace", "Austin") next to a surname. A name extends over the capitalised words right
after it, so "Maria Teresa Lopez" goes whole; "LAST, FIRST" forms are joined across the
comma. Words on names.STOP (headings, function words, eponyms) never count as names.
"""

from __future__ import annotations

import re
import string
from collections.abc import Set
from typing import TYPE_CHECKING

from . import names as words
from .gazetteer import EMPTY, Gazetteer

if TYPE_CHECKING:
    from .context import PatientIdentity

_WORD = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")
_ROLES = frozenset(
    ("chaplain", "doctor", "nurse", "resident", "intern", "fellow", "attending", "pharmacist",
     "pharmacy", "therapist", "worker", "manager", "team", "physician", "surgeon", "dietitian",
     "nutrition", "transport", "lab", "radiology", "security", "police", "priest", "minister",
     "rabbi", "pastor", "friend", "neighbor", "neighbour", "family", "staff", "admitting",
     "interpreter", "translator", "coroner", "hospice", "hospitalist", "consult", "provider",
     "covering", "oncall", "page", "operator", "volunteer", "guard", "officer", "judge",
     "lawyer", "attorney", "sitter", "aide", "tech", "technician", "porter", "cook", "baker")
)  # fmt: skip
_PERSON_VERB = re.compile(
    r"(?:'s)?\s+(?:called|phoned|visited|visiting|updated|aware|came|in\s+to\s+visit|"
    r"at\s+(?:the\s+)?bedside|spoke|states|stated|reports|reported|requests|requested|"
    r"wants|asked|agrees|agreed|notified|informed)\b",
    re.IGNORECASE,
)
_DROP_UPPER = str.maketrans("", "", string.ascii_uppercase)  # counting by translate is C-fast
_DROP_LOWER = str.maketrans("", "", string.ascii_lowercase)
_POSSESSIVES = frozenset(("'s", "’s", "'S", "’S"))
_ALWAYS_CUES = (
    "signed by", "seen by", "evaluated by", "examined by", "dictated by", "transcribed by",
    "reviewed by", "referred by", "accompanied by", "spoke with", "spoke to", "discussed with",
    "emergency contact", "next of kin", "named", "aka", "a.k.a.", "married to", "goes by",
    "is called", "power of attorney", "healthcare proxy", "health care proxy", "lives with",
    "living with", "interpreter", "nurse", "doctor",
)  # fmt: skip
_CUE = re.compile(
    r"\b(?:(?P<always>" + "|".join(re.escape(c) for c in _ALWAYS_CUES) + r")\s*[:,\-]?"
    r"|(?P<colon>" + "|".join(re.escape(c) for c in words.NAME_CUES) + r")\s*:)[ \t]*",
    re.IGNORECASE,
)
_CUE_FIRST = frozenset(
    c.split()[0].lower().rstrip(".") for c in (*_ALWAYS_CUES, *words.NAME_CUES)
) | {"a"}  # "a.k.a."
_CREDENTIAL = re.compile(
    r"(?:,\s*|\s+)(?-i:" + "|".join(re.escape(c.upper()) for c in words.CREDENTIALS) + r"|M\.D\.)"
    r"(?![\w])"
)


def find_names(
    text: str,
    identity: PatientIdentity | None,
    clinicians: Set[str] = frozenset(),
    gazetteer: Gazetteer = EMPTY,
) -> list[tuple[int, int]]:
    """Spans of `text` that are names of people: the patient, relatives, clinicians,
    anyone introduced by a title, a relation, a cue or a credential, and the names the
    gazetteer knows (on their own when they are no common word, else next to another)."""
    tokens: list[tuple[int, int, str]] = []
    for m in _WORD.finditer(text):
        word = m.group()
        if word[-2:] in _POSSESSIVES:
            word = word[:-2]
        tokens.append((m.start(), m.start() + len(word), word))
    if not tokens:
        return []
    personal = (identity.name_tokens | identity.relative_tokens) if identity else set()
    # In a note written in capitals (or all in lower case) case says nothing about names.
    uppers = len(text) - len(text.translate(_DROP_UPPER))
    letters = uppers + len(text) - len(text.translate(_DROP_LOWER))
    caseless = letters > 0 and (uppers > 0.6 * letters or uppers < 0.004 * letters)
    gaz_strong, gaz_weak = gazetteer.strong, gazetteer.weak
    medical = gazetteer.medical
    strong = [False] * len(tokens)
    weak = [False] * len(tokens)
    starts = {t[0]: i for i, t in enumerate(tokens)}

    for i, (_, _, word) in enumerate(tokens):
        lower = word.lower()
        if (
            (lower in words.STOP or lower in words.RELATIONS or lower in words.TITLES)
            and lower not in personal
            and lower not in clinicians
        ):
            continue  # function words, headings, "HUSBAND", "MRS": never a name on their own
        capital = word[0].isupper()
        common = lower in words.COMMON_WORD_NAMES or lower in words.STOP
        parts = (
            [p for p in lower.split("-") if len(p) > 2 and p in personal] if "-" in lower else []
        )
        if parts and all(p in words.COMMON_WORD_NAMES or p in words.STOP for p in parts):
            weak[i] = capital  # "gray-white" in a pathology report, not Mr. Gray
        elif lower in personal or parts:
            if common:
                weak[i] = capital
            else:
                strong[i] = capital or len(word) > 2
        elif capital and lower in clinicians:
            (weak if common else strong)[i] = True
        elif (
            lower in gaz_strong
            and lower not in words.STOP
            and lower not in words.RELATIONS
            and lower not in words.CLINICAL_WORDS  # also when the gazetteer is older
        ):
            # A name that is no common word: capitalised in mixed case, or any case in a
            # caseless note (lower case of 3 letters is too often shorthand: "pat", "ron").
            if (capital and not caseless and not word.isupper()) or len(word) > 3:
                strong[i] = True
            elif capital:
                weak[i] = True
        elif capital and lower not in words.STOP:
            title = word if not word.isupper() else word.capitalize()
            if title in words.FIRST_NAMES:
                (weak if word.isupper() else strong)[i] = True
            elif title in words.AMBIGUOUS_FIRST_NAMES or (
                lower in gaz_weak and (caseless or not word.isupper())
            ):
                weak[i] = True
        elif caseless and lower in gaz_weak and lower not in words.STOP:
            weak[i] = True

    def nameable(j: int, capitals: bool = True, cued: bool = False, near: bool = False) -> bool:
        """A word that may be part of a name: capitalised, not a function word, heading,
        relation or credential; all-capital words only where `capitals` allows them. Right
        after a title or cue (`cued`), surnames that are words too ("Dr. West", "nurse
        Lane") count."""
        word = tokens[j][2]
        lower = word.lower()
        end = tokens[j][1]
        if near and len(word) == 1 and word.isupper() and text[end : end + 1] == ".":
            return True  # an initial next to a name: "Mary A.", "John T. Ruiz"
        if lower in words.RELATIONS or _is_credential(word.upper()):
            return False
        if caseless:
            # No capitals to go by: a word the gazetteer knows as a name, or one that is
            # neither a common word nor medical right after a title or cue ("DR. ZYLSTRA").
            if lower in gaz_strong or lower in gaz_weak or lower in personal:
                return lower not in words.STOP or (cued and lower in words.COMMON_WORD_NAMES)
            # Next to a name or cue ("SON BILL ZYLSTRA", "DR ZYLSTRA"), an unknown word too.
            return (cued or near) and _unknown_word(lower, gazetteer)
        if not word[0].isupper():
            return False
        plain_word = lower in words.STOP or lower in words.STREET_WORDS
        if plain_word and not (cued and lower in words.COMMON_WORD_NAMES):
            return False
        if gazetteer.loaded and not cued and lower in medical and lower not in gaz_strong:
            return False  # "Dilaudid" after a name is no surname
        if word.isupper() and len(word) > 1:
            return (capitals or lower in gaz_strong) and not _is_credential(word)
        return True

    def gap(i: int, j: int) -> str:
        return text[tokens[i][1] : tokens[j][0]]

    def mark_after(j: int, limit: int = 3) -> None:
        """Mark up to `limit` capitalised words from token j on as a name."""
        count = 0
        while j < len(tokens) and count < limit and nameable(j, cued=count == 0, near=True):
            strong[j] = True
            count += 1
            if j + 1 < len(tokens) and not _joins(gap(j, j + 1), tokens[j][2]):
                break
            j += 1

    # Titles and relations: "Mrs. Ruiz", "her daughter Ana Ruiz", "son, Tom".
    for i, (_, _, word) in enumerate(tokens[:-1]):
        lower = word.lower()
        between = gap(i, i + 1)
        if lower in words.TITLES and between in (". ", " ", ".", ".  "):
            mark_after(i + 1)
        elif lower in words.RELATIONS and re.fullmatch(r",?\s*(?:\(|-|:)?\s*", between):
            j = i + 1
            while j < len(tokens) and tokens[j][2].lower() in ("named", "is", "was", "called"):
                j += 1
            if j >= len(tokens) or "\n" in text[tokens[i][1] : tokens[j][0]]:
                continue
            # "Mother: Hypertension" is family history; "mother: Ana" needs a known name.
            word = tokens[j][2]
            if word.islower() and (
                word in personal
                or word.capitalize() in words.FIRST_NAMES
                or word.capitalize() in words.AMBIGUOUS_FIRST_NAMES
            ):
                strong[j] = True  # "pt's husband roy": a given name, even in lower case
            elif (":" not in between or strong[j] or weak[j]) and nameable(
                j, capitals=False, near=":" not in between
            ):
                mark_after(j)
    # Cues: "Patient: MORALES, CHRISTINA", "Electronically signed by Omar Haddad".
    for start, _, word in tokens:
        # The cue regex is tried only where a cue's first word stands (it is slow to scan).
        if word.lower() not in _CUE_FIRST:
            continue
        m = _CUE.match(text, start)
        if m is None:
            continue
        j = starts.get(m.end())
        if j is not None:
            mark_after(j)
            k = j + 1
            while k < len(tokens) and strong[k]:
                k += 1
            # "LAST, FIRST": a capitalised word after the comma belongs to the name.
            if k < len(tokens) and gap(k - 1, k) == ", " and nameable(k) and strong[k - 1]:
                mark_after(k, 2)
    # Credentials: "Thomas Brandt, MD" -> the capitalised words before ", MD".
    ends = {t[1]: i for i, t in enumerate(tokens)}
    credentials = (
        _CREDENTIAL.finditer(text)
        if "M.D." in text
        else (
            m
            for k, (start, _, word) in enumerate(tokens)
            if k and word.isupper() and word.lower() in words.CREDENTIALS
            for m in (_CREDENTIAL.match(text, tokens[k - 1][1]),)
            if m is not None
        )
    )
    for m in credentials:
        j = ends.get(m.start())
        back = 0
        while j is not None and j >= 0 and back < 3 and nameable(j, capitals=False, near=True):
            strong[j] = True
            back += 1
            if j == 0 or not _joins(gap(j - 1, j), tokens[j - 1][2]):
                break
            j -= 1

    def unmark_eponyms() -> None:
        """An eponym is no person: "positive Murphy sign", "Wilson's disease", "Foley
        catheter", "Stevens-Johnson syndrome"."""
        for i in range(len(tokens) - 1):
            if (
                (strong[i] or weak[i])
                and gap(i, i + 1).lower() in (" ", "'s ", "’s ", "-", "' ")
                and tokens[i + 1][2].lower() in words.EPONYM_HEADS
            ):
                strong[i] = weak[i] = False

    unmark_eponyms()  # before weak words lean on them ("a high Chaddock reflex")
    # A weak name doing what people do: "BILL CALLED", "rose visited", "Hope at bedside".
    for i in range(len(tokens) - 1):
        lower = tokens[i][2].lower()
        if weak[i] and not strong[i] and lower not in words.STOP and lower not in medical:
            if lower in _ROLES:
                continue  # "chaplain visited", "pharmacy called": a role, not a name
            strong[i] = bool(_PERSON_VERB.match(text, tokens[i][1]))

    # Weak evidence counts next to a capitalised word: "Grace Kelly", not "Grace period".
    def both_personal(i: int, j: int) -> bool:
        return tokens[i][2].lower() in personal and tokens[j][2].lower() in personal

    for i in range(len(tokens)):
        if weak[i] and not strong[i]:
            # "REED, LORI": two parts of the patient's own name join across a comma too.
            before = i > 0 and _joins(gap(i - 1, i), tokens[i - 1][2], both_personal(i - 1, i))
            after = i + 1 < len(tokens) and _joins(
                gap(i, i + 1), tokens[i][2], both_personal(i, i + 1)
            )
            if (before and (strong[i - 1] or (weak[i - 1] and both_personal(i - 1, i)))) or (
                after
                and (
                    strong[i + 1]
                    or (not caseless and not tokens[i + 1][2].isupper() and nameable(i + 1))
                    or (len(tokens[i + 1][2]) == 1 and nameable(i + 1, near=True))
                )
            ):
                strong[i] = True
    # Extend a name over the capitalised words right after it: "Maria Teresa Lopez".
    for i in range(len(tokens)):
        if strong[i]:
            j, added = i + 1, 0
            while (
                j < len(tokens) and added < 2 and _joins(gap(j - 1, j), tokens[j - 1][2])
            ) and nameable(j, near=True):
                if not strong[j]:
                    strong[j] = True
                    added += 1
                j += 1
    unmark_eponyms()
    # Merge runs of name words into spans.
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(tokens):
        if not strong[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(tokens) and strong[j + 1] and _joins(gap(j, j + 1), tokens[j][2], True):
            j += 1
        spans.append((tokens[i][0], tokens[j][1]))
        i = j + 1
    return spans


def _unknown_word(lower: str, gazetteer: Gazetteer) -> bool:
    """A word no list knows: neither common English nor medicine nor a function word."""
    return (
        len(lower) > 2
        and lower not in gazetteer.common
        and lower not in gazetteer.medical
        and lower not in words.STOP
        and lower not in words.CLINICAL_WORDS
    )


def _joins(between: str, previous: str, comma: bool = False) -> bool:
    """Whether two words with `between` them can be parts of one name."""
    if between == " " or (between == ". " and len(previous) == 1):
        return True
    return comma and between == ", "


def _is_credential(word: str) -> bool:
    return word.isupper() and word.lower() in words.CREDENTIALS
