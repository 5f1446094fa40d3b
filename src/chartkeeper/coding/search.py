"""The encoder: free-text diagnostic statement -> ranked billable codes with notes and prompts.

Index: one document per tabular title, inclusion term (Guidelines I.A.11) and, when a CMS
Alphabetic Index was imported, per index entry; each document belongs to a billable code
(a leaf, or a stem that takes a 7th character). Words inside parentheses are nonessential
modifiers (Guidelines I.A.7) and count only when the statement has them; the titles of the
category and subcategory above give context the same way.

Query: chart abbreviations and lay/eponym phrases are rewritten from `lexicon`, words are
stemmed (plurals) and folded (renal -> kidney), misspellings are corrected against the
index vocabulary (prefix, then edit distance <= 1-2 over trigram candidates), and word order
does not matter. Score: an IDF-weighted Dice overlap between the statement and a document,
so a title that says exactly what the clinician wrote wins and the unspecified code is the
default for an unqualified statement (I.A.9, I.A.18). Chapters 15/16 and external causes
are damped unless the statement mentions pregnancy, a newborn or a cause.

The index is built once per code set and cached in memory and under the data dir (pickle).
"""

from __future__ import annotations

import hashlib
import heapq
import math
import os
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

from chartkeeper.coding import lexicon
from chartkeeper.coding.codesets import CodeSet, Note, load, store_dir

_SLASHED = {
    "w/o": " without ",
    "w/": " with ",
    "h/o": " history ",
    "s/p": " ",
    "b/l": " bilateral ",
    "n/v": " nausea vomiting ",
    "c/o": " ",
    "r/o": " ",
}
_SLASH_RE = re.compile("|".join(re.escape(k) for k in sorted(_SLASHED, key=len, reverse=True)))
_TOKEN = re.compile(r"[a-z0-9]+")
# side words, dropped to group codes that differ only by laterality ("unspecified knee")
_SIDE = re.compile(r"\b(right|left|bilateral|unspecified)\b(\s+side)?", re.I)
_LR = re.compile(r"\b(right|left)\b", re.I)
_INDEX_VERSION = 7


@dataclass(frozen=True)
class Prompt:
    """What the code still needs from the coder, with the valid choices."""

    axis: str  # "7th character" | "laterality"
    question: str
    choices: list[tuple[str, str]]  # (code or character, what it means)
    chosen: str | None = None  # the choice the hit's code carries (by the wording or default)


@dataclass
class CodeHit:
    code: str
    display: str
    score: float
    path: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)

    def brief(self) -> dict:
        return {"code": self.code, "display": self.display, "score": round(self.score, 4)}

    def to_json(self) -> dict:
        """Everything, for `code find --json` and the API."""
        return {
            **self.brief(),
            "path": self.path,
            "notes": [{"kind": n.kind, "text": n.text, "source": n.source} for n in self.notes],
            "prompts": [
                {
                    "axis": p.axis,
                    "question": p.question,
                    "chosen": p.chosen,
                    "choices": [{"value": v, "display": d} for v, d in p.choices],
                }
                for p in self.prompts
            ],
        }


def stem(word: str) -> str:
    if len(word) <= 3 or word.isdigit():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "ches", "shes", "xes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is", "ys", "as")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    text = _SLASH_RE.sub(
        lambda m: _SLASHED[m.group(0)], text.lower().replace("'s", "").replace("'", "")
    )
    return _TOKEN.findall(text)


@lru_cache(maxsize=50000)
def _fold(word: str) -> tuple[str, ...]:
    """stopword-free, stemmed, canonical form of one word (possibly several)."""
    if word in lexicon.STOPWORDS:
        return ()
    s = stem(word)
    canon = lexicon.CANONICAL.get(word) or lexicon.CANONICAL.get(s)
    if canon:
        return tuple(stem(w) for w in canon.split())
    return (s,)


def analyze(text: str) -> list[str]:
    return [f for w in _words(text) for f in _fold(w)]


def _required_and_optional(text: str) -> tuple[list[str], list[str]]:
    """Words outside parentheses/brackets are required; inside, nonessential (I.A.7)."""
    optional = " ".join(re.findall(r"[(\[]([^)\]]*)[)\]]", text))
    required = re.sub(r"[(\[][^)\]]*[)\]]", " ", text)
    # "without X" is the default when X is not documented: X must not count against a
    # statement that does not mention it ("acute cystitis" -> "...without hematuria")
    negated = " ".join(re.findall(r"\bwithout\b([^,]*?)(?=,|\bwith\b|$)", required))
    required = re.sub(r"\bwithout\b[^,]*?(?=,|\bwith\b|$)", " ", required)
    return analyze(required), analyze(optional) + [f"~{w}" for w in analyze(negated)]


def _phrases() -> list[tuple[tuple[str, ...], str, str]]:
    out = [(tuple(stem(w) for w in _words(k)), v, k) for k, v in lexicon.PHRASES.items()]
    return sorted(out, key=lambda e: -len(e[0]))


_PHRASES = _phrases()
_MAX_PHRASE = max(len(p[0]) for p in _PHRASES)
_PHRASE_MAP = {p[0]: (p[1], p[2]) for p in _PHRASES}


class SearchIndex:
    """Postings over one code set; `find` is the entry point."""

    def __init__(self, cs: CodeSet):
        self.system, self.fy = cs.system, cs.fy
        self.doc_code: list[str] = []
        self.doc_weight: list[float] = []
        postings: dict[str, dict[int, float]] = defaultdict(dict)
        raw: list[tuple[str, list[str], list[str]]] = []
        defaults = _default_children(cs)
        for c in cs.billable_codes():
            above = [a for a in cs.ancestors(c.code)[:2] if a.kind == "category"]
            # titles and inclusion terms of the levels above ("Hip fracture NOS" at S72.00)
            context = [t for a in above for t in (a.title, *a.notes.get("inclusion", ()))]
            extra = " ".join(cs.seventh_characters(c.code).values())
            texts = [c.title, *c.notes.get("inclusion", ()), *c.notes.get("includes", ())]
            for above in defaults.get(c.code, ()):  # "diabetes NOS" under E11 -> E11.9
                texts.extend(above.notes.get("inclusion", ()))
                texts.extend(t for t in above.notes.get("includes", ()) if "NOS" in t)
            for text in texts:
                req, opt = _required_and_optional(text)
                ctx = [w for t in context for w in analyze(t)] + analyze(extra)
                raw.append((c.code, req, opt + ctx))
        for term, code in cs.index_terms:
            entry, _ = cs.resolve(code)
            if entry is not None and cs._leaf(entry):
                req, opt = _required_and_optional(term)
                raw.append((entry.code, req, opt))
        df: dict[str, int] = defaultdict(int)
        for _, req, opt in raw:
            for w in set(req) | set(opt):
                df[w] += 1
        n = len(raw) + 1
        self.idf = {w: math.log(n / d) + 0.5 for w, d in df.items()}
        for doc, (code, req, opt) in enumerate(raw):
            self.doc_code.append(code)
            for w in set(opt) - set(req):
                postings[w][doc] = 0.5
            for w in set(req):
                postings[w][doc] = 1.0
            self.doc_weight.append(sum(self.weight(w) for w in set(req)))
        self.postings = {w: list(d.items()) for w, d in postings.items()}
        self.titles = {c.code: c.title for c in cs.billable_codes()}
        self.vocab_by_gram: dict[str, list[str]] = defaultdict(list)
        for w in self.idf:
            if len(w) > 3 and not w.isdigit():
                for g in _grams(w):
                    self.vocab_by_gram[g].append(w)
        self.sides = self._side_groups(cs)

    def weight(self, word: str) -> float:
        return self.idf.get(word, 1.0) * lexicon.NEUTRAL.get(word.lstrip("~"), 1.0)

    def _side_groups(self, cs: CodeSet) -> dict[str, list[str]]:
        """Codes that differ only by laterality, grouped (for the laterality prompt)."""
        groups: dict[tuple, list[str]] = defaultdict(list)
        for c in cs.billable_codes():
            if _SIDE.search(c.title):
                groups[(c.parent, _SIDE.sub("_", c.title.lower()))].append(c.code)
        sided = (g for g in groups.values() if len(g) > 1)
        return {
            code: g for g in sided if any(_LR.search(cs.codes[c].title) for c in g) for code in g
        }

    # -- query side ------------------------------------------------------------------------
    def correct(self, word: str) -> str | None:
        """The index word a misspelt/truncated word most likely means, or None."""
        if word in self.idf:
            return word
        if len(word) < 4 or word.isdigit():
            return None
        # Remembered per index (the scan below is the encoder's costliest step, and notes
        # repeat their words); an index unpickled from an older cache starts without one.
        known = self.__dict__.setdefault("_corrections", {})
        if word not in known:
            if len(known) > 50_000:
                known.clear()
            known[word] = self._correct(word)
        return known[word]

    def _correct(self, word: str) -> str | None:
        counts: dict[str, int] = defaultdict(int)
        for g in _grams(word):
            for w in self.vocab_by_gram.get(g, ()):
                counts[w] += 1
        best: tuple | None = None
        limit = 1 if len(word) <= 5 else 2
        for w, shared in counts.items():
            if shared < max(1, len(word) - 4) or abs(len(w) - len(word)) > 4:
                continue
            d = 0 if (len(word) >= 6 and w.startswith(word)) else _distance(word, w, limit)
            if d <= limit:
                key = (d, self.idf[w])  # rarer words lose ties: common ones are likelier
                if best is None or key < best[0]:
                    best = (key, w)
        return best[1] if best else None

    def split(self, word: str) -> tuple[str, str] | None:
        """A run-together compound of two index words: 'preeclampsia' -> 'pre eclampsia'."""
        for cut in range(3, len(word) - 2):
            head, tail = word[:cut], word[cut:]
            if head in self.idf and tail in self.idf:
                return head, tail
        return None

    def expand(self, query: str, known=frozenset()) -> tuple[list[str], list[str]]:
        """(index words, path of lexicon entries and corrections that were used).
        Words in `known` (the Alphabetic Index's vocabulary) are kept as written."""
        path: list[str] = []
        words: list[str] = []
        negs: list[bool] = []  # words after "without" (until "with") are negated: "~word"
        neg = False
        for w in _words(query):
            if w in ("without", "no", "w/o"):
                neg = True
                continue
            neg = neg and w != "with"
            if w in lexicon.ABBREVIATIONS:
                path.append(f"abbreviation {w} -> {lexicon.ABBREVIATIONS[w]}")
                more = _words(lexicon.ABBREVIATIONS[w])
                if w in self.idf and len(w) > 2:  # titles spell some out: "(NSTEMI)"
                    more.append(w)
            else:
                more = [w]
            words.extend(more)
            negs.extend([neg] * len(more))
        stems = [stem(w) for w in words]
        out: list[str] = []
        i = 0
        while i < len(stems):
            mark = "~" if negs[i] else ""
            for size in range(min(_MAX_PHRASE, len(stems) - i), 0, -1):
                hit = _PHRASE_MAP.get(tuple(stems[i : i + size]))
                if hit and known and all(f in known for w in words[i : i + size] for f in _fold(w)):
                    hit = None  # the Alphabetic Index has these words: it leads from them
                if hit:
                    if hit[0] != hit[1]:
                        path.append(f"lexicon {hit[1]} -> {hit[0]}")
                    out.extend(mark + f for f in analyze(hit[0]))
                    i += size
                    break
            else:
                for f in _fold(words[i]):
                    fixed = f if f in known else self.correct(f)
                    if fixed and fixed != f:
                        path.append(f"spelling {f} -> {fixed}")
                    if fixed:
                        out.append(mark + fixed)
                    elif parts := self.split(f):
                        path.append(f"compound {f} -> {' '.join(parts)}")
                        out.extend(mark + p for p in parts)
                i += 1
        return list(dict.fromkeys(out)), path

    def find(self, query: str, limit: int = 10) -> list[tuple[str, float, list[str]]]:
        words, path = self.expand(query)
        if not words:
            return []
        total = sum(self.weight(w) for w in words)
        acc: dict[int, float] = defaultdict(float)
        for w in words:
            wt = self.weight(w)
            for doc, factor in self.postings.get(w, ()):
                acc[doc] += wt * factor
        best: dict[str, float] = {}
        weights, codes = self.doc_weight, self.doc_code
        floor = 0.2 * total
        for doc, m in acc.items():
            if m < floor:
                continue
            s = 2 * m / (total + weights[doc] + m - min(m, weights[doc]))
            code = codes[doc]
            if s > best.get(code, 0.0):
                best[code] = s
        damp = _damping(set(words))
        scored = ((s * damp(code), code) for code, s in best.items())
        top = heapq.nlargest(limit, scored)
        return [(code, s, path) for s, code in top]


def _default_children(cs: CodeSet) -> dict[str, list]:
    """Terms written under a category with children describe it unqualified; they go to its
    unspecified child ('.9', 'unspecified', 'without complications'), the default (I.A.18)."""
    out: dict[str, list] = defaultdict(list)
    for c in cs.codes.values():
        if c.kind != "category" or not c.children:
            continue
        if not (c.notes.get("inclusion") or c.notes.get("includes")):
            continue
        kids = [cs.codes[k] for k in c.children if not cs.codes[k].children]
        for test in (
            lambda k: k.code.endswith("9") and "unspecified" in k.title.lower(),
            lambda k: "without complications" in k.title.lower(),
            lambda k: "unspecified" in k.title.lower(),
        ):
            pick = [k for k in kids if test(k)]
            if pick:
                out[pick[0].code].append(c)
                break
    return out


def _damping(words: set[str]):
    """Chapter priors: maternity (O), perinatal (P), external causes (V-Y) need a cue."""
    maternity = bool(words & lexicon.CUES["maternity"])
    newborn = bool(words & lexicon.CUES["newborn"])
    external = bool(words & lexicon.CUES["external"])

    def factor(code: str) -> float:
        first = code[0]
        if first == "O" and not maternity:
            return 0.75
        if first == "P" and not newborn:
            return 0.75
        if first in "VWXY" and not external:
            return 0.6
        return 1.0

    return factor


def _grams(word: str) -> set[str]:
    padded = f"^{word}$"
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def _distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein (adjacent transpositions), cut off above `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2, prev = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and prev2 is not None:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


# -- cache and public entry point ----------------------------------------------------------
_indexes: dict[tuple, SearchIndex] = {}


_by_set: dict[int, tuple] = {}  # id(code set) -> its key, so a query does not rehash


def _fingerprint(cs: CodeSet) -> str:
    lex = repr((lexicon.CANONICAL, lexicon.STOPWORDS, lexicon.NEUTRAL, _INDEX_VERSION))
    src = f"{cs.system}|{cs.fy}|{cs.source}|{len(cs.codes)}|{len(cs.index_terms)}|{lex}"
    return hashlib.sha256(src.encode()).hexdigest()[:16]


def index_for(cs: CodeSet, data_dir: Path | str | None = None) -> SearchIndex:
    known = _by_set.get(id(cs))
    if known is not None and known[0] is cs and known[1] in _indexes:
        return _indexes[known[1]]
    key = (id(cs), _fingerprint(cs))
    _by_set[id(cs)] = (cs, key)
    if key in _indexes:
        return _indexes[key]
    directory = store_dir(data_dir)
    cached = (
        directory / "cache" / f"index-{cs.system}-{cs.fy}-{key[1]}.pickle" if directory else None
    )
    index = None
    if cached is not None and cached.is_file():
        with cached.open("rb") as f:  # our own file under our own data dir
            index = pickle.load(f)
    if index is None:
        index = SearchIndex(cs)
        if cached is not None and directory.parent.is_dir():
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as f:
                pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(cached)
    _indexes[key] = index
    return index


def find(
    query: str,
    *,
    fy: int | date | None = None,
    limit: int = 10,
    system: str = "icd10cm",
    data_dir: Path | str | None = None,
    with_notes: bool = True,
) -> list[CodeHit]:
    """Billable codes for a statement, best first. `fy`: a fiscal year or a date of service.

    ICD-10-CM goes through the imported Alphabetic Index (`lookup`), each hit with its
    index path, then verified in the tabular; the tabular search fills the remaining
    places. Without an imported index the tabular search alone answers, and every hit's
    path says so."""
    from chartkeeper.coding import lookup

    when = fy if isinstance(fy, date) else None
    cs = load(system, None if when else fy, date_of_service=when, data_dir=data_dir)
    index = index_for(cs, data_dir)
    alpha = lookup.for_year(cs.fy, data_dir) if system == "icd10cm" else None
    # code -> (score, path, choices the coder is prompted with, the axis they are for)
    found: dict[str, tuple[float, list[str], list[tuple[str, str]], str]] = {}
    if system == "icd10pcs":
        words = _pcs_hits(cs, index, query, limit, data_dir, found)
    elif alpha is None:
        words = set(index.expand(query)[0])
        note = (
            f"no Alphabetic Index imported: tabular search of {system.upper()} FY{cs.fy}"
            if system == "icd10cm"
            else f"tabular search of {system.upper()} FY{cs.fy}"
        )
        for code, score, path in index.find(query, limit):
            found[code] = (score, [note, *path, f"matched {code} {index.titles[code]!r}"], [], "")
    else:
        tokens, path = index.expand(query, known=alpha.vocab)
        words = set(tokens)
        head = f"ICD-10-CM FY{alpha.fy} Alphabetic Index"
        for cand in alpha.lookup(tokens, limit=2 * limit):
            verified = lookup.to_billable(cs, cand.code, words | lookup.path_words(cand))
            if verified is None:
                continue
            # words the index path left over but the billable code's title carries (a side,
            # an episode) were used by the tabular step: they count for this code
            score = cand.score + 0.9 * lookup.title_credit(
                cand, analyze(index.titles.get(verified.code, ""))
            )
            prior = found.get(verified.code)
            if prior is None or score > prior[0]:
                steps = [*path, head, *cand.path, *verified.steps]
                if cand.manif:  # the bracketed code after the etiology code (I.A.13)
                    steps.append(f"code also the manifestation [{cand.manif}]")
                found[verified.code] = (min(score, 1.0), steps, verified.choices, "specificity")
        # the tabular search fills the list when the index did not explain the statement
        # fully or found fewer codes than asked for (and agreeing titles add a small vote)
        confident = len(found) >= min(limit, 3) and max(v[0] for v in found.values()) >= 0.95
        for code, score, tpath in () if confident else index.find(query, limit):
            prior = found.get(code)
            if prior is not None:  # the title agrees with the index: a small vote
                found[code] = (min(1.0, prior[0] + 0.05 * score), *prior[1:])
            else:
                steps = [*tpath, f"tabular search (no index path) {code} {index.titles[code]!r}"]
                found[code] = (0.9 * score, steps, [], "")
    top = heapq.nlargest(limit, found.items(), key=lambda kv: kv[1][0])
    hits = []
    for code, (score, steps, choices, axis) in top:
        hit = CodeHit(code, cs.title(code) or "", score, steps)
        if choices and axis == "specificity":
            question = f"{cs.codes[code].parent} needs more characters"
            hit.prompts.append(Prompt(axis, question, choices, code))
        elif choices:
            question = "approach not documented: which approach?"
            hit.prompts.append(Prompt(axis, question, choices, code))
        _prompts(cs, index, hit, words)
        if with_notes:
            hit.notes = cs.notes(
                hit.code,
                ("includes", "excludes1", "excludes2", "code_first", "use_additional", "code_also"),
            )
        hits.append(hit)
    return hits


def _pcs_hits(cs: CodeSet, index: SearchIndex, query: str, limit: int, data_dir, found) -> set:
    """ICD-10-PCS: the PCS Index (when imported) to a table, the statement to the rest of
    the code (`pcs.complete`); the tables' titles searched for the remaining places."""
    from chartkeeper.coding import pcs

    expanded = pcs.expand_procedure(query)
    words = set(index.expand(expanded)[0])
    pidx = pcs.index_for(cs.fy, data_dir)
    if pidx is not None:
        tokens, path = index.expand(query, known=pidx.vocab)
        words |= set(tokens)
        head = f"ICD-10-PCS FY{pidx.fy} Index"
        for cand in pidx.lookup(tokens, limit=2 * limit):
            done = pcs.complete(cs, cand.code, words, analyze)
            if done is None:
                continue
            # '-ectomy' of a whole organ is Resection; 'partial' makes it Excision (B3.8)
            whole = "partial" not in words
            op = cs.codes[done.code].title.split()[0].lower()
            score = cand.score + 0.01 * ((op == "resection") == whole)
            prior = found.get(done.code)
            if prior is None or score > prior[0]:
                steps = [*path, head, *cand.path, *done.steps]
                found[done.code] = (min(score, 1.0), steps, done.choices, "approach")
    note = "table search" if pidx is not None else "no PCS Index imported: table search"
    for code, score, tpath in index.find(expanded, limit):
        if code not in found:
            weight = 0.9 if pidx is not None else 1.0
            found[code] = (weight * score, [note, *tpath, f"matched {code}"], [], "")
    return words


def _prompts(cs: CodeSet, index: SearchIndex, hit: CodeHit, words: set[str]) -> None:
    """7th character (Guidelines I.A.5; episode of care I.C.19.a) and laterality (I.B.13)."""
    chars = cs.seventh_characters(hit.code)
    if chars:
        # only words the code's own title does not explain can pick the episode of care
        cues = words - set(analyze(index.titles[hit.code])) - {"encounter", "fracture"}
        scored = [(len(cues & set(analyze(t))), -i, ch) for i, (ch, t) in enumerate(chars.items())]
        best = max(scored)
        chosen = best[2] if best[0] > 0 else next(iter(chars))
        stem_code = hit.code
        hit.code = cs.full_code(stem_code, chosen)
        hit.display = cs.title(hit.code) or hit.display
        hit.prompts.append(
            Prompt(
                "7th character",
                f"{stem_code} needs a 7th character"
                + ("" if best[0] else " (defaulted; confirm the episode of care)"),
                list(chars.items()),
                chosen,
            )
        )
    stem_code = cs.resolve(hit.code)[0].code
    group = index.sides.get(stem_code)
    if group and not words & {"right", "left", "bilateral"}:
        hit.prompts.append(
            Prompt("laterality", "which side?", [(c, index.titles[c]) for c in group], stem_code)
        )


def batch(lines, *, fy=None, limit: int = 5, data_dir=None, system: str = "icd10cm"):
    """`chartkeeper code find --batch FILE`: one statement a line in, one JSON line out."""
    import json

    for line in lines:
        query = line.strip()
        if query:
            hits = find(
                query, fy=fy, limit=limit, data_dir=data_dir, with_notes=False, system=system
            )
            codes = [{**h.brief(), "path": h.path} for h in hits]
            yield json.dumps({"query": query, "codes": codes})
