"""Index-driven lookup: a diagnostic statement -> Alphabetic Index paths -> verified codes.

What a coder does (ICD-10-CM Official Guidelines I.B.1 and Conventions I.A):
1. find the main term among the statement's words (noun or adjective form: the index's own
   main titles pair them, "Femur, femoral"; plural and spelling folded as in `search`);
2. walk down the subterms whose words the statement has; nonessential modifiers (in
   parentheses, `nemod`) never block a match but count when present (I.A.7); a subterm
   "with"/"in"/"due to" is a connector the walk passes through (I.A.15);
3. follow "see" (must), "see also" (may) and "see condition" (the main term was a site or
   an adjective: the condition's own main term decides) (I.A.16);
4. "see Neoplasm, …" goes to the Table of Neoplasms by site, in the column of the behaviour
   the index or the statement gives; poisoning, adverse effect and underdosing go to the
   Table of Drugs and Chemicals by substance, in the column of the intent (I.C.19.e);
5. verify in the Tabular (`search` adds 7th character, laterality and notes): an index code
   that is a category or subcategory ('S72.0-') is taken down to a billable code by the
   statement's words, else to its unspecified child, and the coder is prompted.

Each candidate carries its path through the index as evidence. Candidates are ranked by
how much of the statement (IDF-weighted) the path accounts for; nonessential matches count
a little less than essential ones, and among equals the shallower path wins (an
unqualified statement takes the default code, I.A.18).
"""

from __future__ import annotations

import hashlib
import math
import os
import pickle
import re
from collections import defaultdict
from dataclasses import dataclass, field

from chartkeeper.coding import alphabetic, lexicon
from chartkeeper.coding.codesets import CodeSet, normalize, store_dir
from chartkeeper.coding.search import _fold, _words, analyze

_VERSION = 12
_BOOK_ID = {b: i for i, b in enumerate(alphabetic.BOOKS)}
INDEX, EINDEX, NEOPLASM, DRUG = range(4)
_DROP = {"nec", "nos", "by", "site"}
_CONNECTORS = {"with", "in", "due", "to", "and", "of", "without", "associated", "following"}
_SUFFIXES = (
    "ically", "ical", "ation", "ative", "ities", "itis", "osis", "ism", "ive", "ion", "ity",
    "ous", "ary", "ory", "al", "ic", "ia", "ae", "y", "e", "s",
)  # fmt: skip

# intent and behaviour words: what the Tables' columns are chosen by
_INTENT = {
    3: {"suicide", "suicidal", "self", "intentional", "intentionally", "deliberate"},
    4: {"assault", "homicide", "homicidal", "assaulted"},
    5: {"undetermined"},
    6: {"adverse", "side", "effect", "allergic", "reaction"},
    7: {"underdosing", "underdose", "underdosed", "noncompliance", "noncompliant"},
}
_BEHAVIOUR = {
    3: {"secondary", "metastatic", "metastasis", "metastase", "metastasized"},
    4: {"situ"},
    5: {"benign"},
    6: {"uncertain"},
    2: {"malignant", "malignancy", "primary", "cancer"},
}
_NEOPLASM_CUES = {
    "neoplasm", "neoplastic", "tumor", "tumour", "cancer", "carcinoma", "malignancy",
    "malignant", "metastasis", "metastatic", "metastase", "benign", "secondary",
}  # fmt: skip
_DRUG_CUES = {
    "poisoning", "poison", "poisoned", "overdose", "od", "toxicity", "toxic", "intoxication",
    "ingestion", "adverse", "underdosing", "underdose", "underdosed", "reaction",
}  # fmt: skip


def root(word: str) -> str:
    """A crude derivational root, so 'anemic' meets 'anemia' and 'asthmatic' 'asthma'."""
    if len(word) < 6 or word.isdigit() or word.startswith("~"):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word.rstrip("aeiouy") if len(word) > 5 else word


def title_tokens(title: str) -> tuple[str, ...]:
    """The essential words of a title; words after 'without' are negated ('~aura');
    'acute or subacute' is one word of two forms ('acute|subacute'), either will do."""
    title = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", title)
    out: list[str] = []
    neg = join = False
    for w in _words(title):
        if w in ("without", "no", "not"):  # 'not intractable', 'not specified as recurrent'
            neg = True
            continue
        if w == "with":
            neg = False
        if w == "or":
            join = bool(out)
            continue
        if w in _DROP:
            continue
        for f in _fold(w):
            token = ("~" if neg else "") + f
            if join:
                out[-1] = f"{out[-1]}|{token}"
                join = False
            else:
                out.append(token)
    return tuple(dict.fromkeys(out))


def _prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _name(text: str) -> str:
    return " ".join(re.sub(r"\([^)]*\)", " ", text).lower().replace("'s", "").split())


@dataclass
class Candidate:
    """One way through the index to a code (before the tabular says what it bills as)."""

    code: str
    score: float
    essential: float
    depth: int
    path: list[str]
    book: int
    manif: str = ""
    used: int = 0  # the statement's slots the path accounts for
    query: _Query | None = None


def _rank(c: Candidate) -> tuple:
    return (-round(c.score, 6), c.depth, -c.essential)


@dataclass
class _Query:
    slots: list[frozenset[str]]
    weights: list[float]
    total: float
    words: set[str] = field(default_factory=set)
    where: dict[str, tuple[int, ...]] = field(default_factory=dict)  # word -> its slots
    loose: set[tuple[int, str]] = field(default_factory=set)


class AlphaIndex:
    """The compiled books of one fiscal year; `lookup` is the entry point."""

    def __init__(self, data: dict):
        self.fy = data["fy"]
        self.tabular_fy = data.get("tabular_fy")
        self.books = sorted(data["books"], key=_BOOK_ID.get)
        self.title: list[str] = []
        self.nemod: list[str] = []
        self.see: list[str] = []
        self.see_also: list[str] = []
        self.code: list[str] = []
        self.cells: list[dict | None] = []
        self.manif: list[str] = []
        self.parent: list[int] = []
        self.book: list[int] = []
        self.children: list[tuple[int, ...]] = []
        self.essential: list[tuple[tuple[str, ...], ...]] = []
        self.need: list[tuple[str, ...]] = []
        self.optional: list[frozenset[str]] = []
        self.doubtful: set[int] = set()  # a repeated title: likely cut off before its tail
        self.mains: dict[str, list[tuple[int, tuple[str, ...]]]] = defaultdict(list)
        self.by_name: dict[tuple[int, str], int] = {}  # (book, "parent:name") -> subterm
        self.main_names: dict[tuple[int, str], list[int]] = defaultdict(list)
        self.roots: dict[int, int] = {}  # book -> its first main (the Neoplasm Table's root)
        for name in self.books:
            b = _BOOK_ID[name]
            seen: set[str] = set()
            for main in data["books"][name]:
                node = self._add(main, -1, b)
                self.roots.setdefault(b, node)
                title = main[0]
                if title.lower() in seen and main[1]:
                    self.doubtful.add(node)
                seen.add(title.lower())
        self._inverted_mains()
        for node in range(len(self.title)):
            if self.parent[node] < 0:
                self._register_main(node, self.title[node], self.book[node])
        df: dict[str, int] = defaultdict(int)
        for forms, opt in zip(self.essential, self.optional, strict=True):
            for w in {a for f in forms for t in f for a in t.split("|")} | opt:
                df[w] += 1
        n = len(self.essential) + 1
        self.idf = {w: math.log(n / d) + 1.0 for w, d in df.items()}
        self.vocab = frozenset(self.idf)
        self.by_root: dict[str, set[str]] = defaultdict(set)
        for w in self.vocab:
            self.by_root[root(w)].add(w)
        self.synonyms = self._synonyms()
        self.sites: dict[str, list[int]] = defaultdict(list)  # Table of Neoplasms, by word
        for node in range(len(self.title)):
            if self.book[node] == NEOPLASM and self.parent[node] >= 0:
                for t in self.need[node]:
                    self.sites[t].append(node)

    def _add(self, node: list, parent: int, book: int) -> int:
        i = len(self.title)
        title, nemod, see, see_also, code, cells, children, manif = node
        self.title.append(title)
        self.nemod.append(nemod)
        self.see.append(see)
        self.see_also.append(see_also)
        self.code.append(code)
        self.cells.append({int(k): v for k, v in cells.items()} if cells else None)
        self.manif.append(manif)
        self.parent.append(parent)
        self.book.append(book)
        forms = self._title_forms(title, parent < 0)
        if forms == (("personal",),):  # 'History > personal (of)': what 'history of' means
            forms = ((),)
        # 'stroke without residual deficits': what is absent is the default, so the words
        # after 'without' count when the statement says them but never block a match
        negated = {t for f in forms for t in f if t.startswith("~")}
        if negated:
            forms = tuple(tuple(t for t in f if not t.startswith("~")) for f in forms)
        self.essential.append(forms)
        # a word one of which the statement must have, else the node cannot match (a quick
        # reject before `_take`); empty when some form is all connectors ('with')
        firsts = [next((t for t in f if t not in _CONNECTORS), None) for f in forms]
        if None in firsts or not forms:
            self.need.append(())
        else:
            self.need.append(tuple({a for t in firsts for a in t.split("|")}))
        self.optional.append(frozenset(analyze(nemod)) | negated)
        self.children.append(())
        kids = tuple(self._add(c, i, book) for c in children)
        self.children[i] = kids
        for form in self._forms(title):
            if parent < 0:
                self.main_names[(book, form)].append(i)
            else:
                self.by_name.setdefault((book, f"{parent}:{form}"), i)
        return i

    @staticmethod
    def _forms(title: str) -> list[str]:
        """'Failure, failed' -> the whole title and each comma part, as names."""
        parts = [_name(p) for p in title.split(",") if p.strip()]
        return list(dict.fromkeys([_name(title.replace(",", " ")), _name(title), *parts]))

    @staticmethod
    def _title_forms(title: str, main: bool) -> tuple[tuple[str, ...], ...]:
        """The ways a title can be met. 'Failure, failed' and 'myocardial, myocardium' are
        one word in several forms (either will do); a main term is met by its first part
        ('Fracture, traumatic'); 'involution, thymus' needs both words."""
        if title.lower().startswith("note:"):
            return ()
        parts = [title_tokens(p) for p in title.split(",") if p.strip()]
        parts = [p for p in parts if p] or [()]
        first = parts[0]
        variants = [
            p for p in parts[1:] if len(p) == 1 and any(_prefix(p[0], w) >= 3 for w in first)
        ]
        if main or len(variants) == len(parts) - 1:
            return tuple(dict.fromkeys([first, *variants]))
        return (tuple(dict.fromkeys(t for p in parts for t in p)),)

    def _inverted_mains(self) -> None:
        """'Fracture, traumatic' and 'Fracture, pathological' both start with 'Fracture': the
        one the index files most under is the default a bare 'fracture' means; the others
        need their own word ('pathological fracture')."""
        size = [1] * len(self.title)
        for node in range(len(self.title) - 1, -1, -1):
            size[node] += sum(size[c] for c in self.children[node])
        groups: dict[tuple[int, tuple[str, ...]], list[int]] = defaultdict(list)
        for node in range(len(self.title)):
            if self.parent[node] < 0 and "," in self.title[node]:
                parts = [title_tokens(p) for p in self.title[node].split(",") if p.strip()]
                if parts and parts[0]:
                    groups[(self.book[node], parts[0])].append(node)
        for (_book, first), nodes in groups.items():
            if len(nodes) < 2:
                continue
            default = max(nodes, key=lambda n: size[n])
            for node in nodes:
                if node == default:
                    continue
                parts = [title_tokens(p) for p in self.title[node].split(",") if p.strip()]
                qualifiers = [
                    t for p in parts[1:] for t in p if not any(_prefix(t, w) >= 3 for w in first)
                ]
                if qualifiers:
                    self.essential[node] = (tuple(dict.fromkeys([*first, *qualifiers])),)
                    self.need[node] = (first[0],)

    def _register_main(self, node: int, title: str, book: int) -> None:
        for form in self.essential[node]:
            if form:
                self.mains[form[0]].append((node, form))

    def _synonyms(self) -> dict[str, tuple[str, ...]]:
        """Noun/adjective pairs the index itself gives: main titles 'Femur, femoral',
        'Abdomen, abdominal', 'Failure, failed' make each word find the other."""
        groups: dict[str, set[str]] = defaultdict(set)
        for b in (INDEX, EINDEX):
            for tokens_list in self.mains.values():
                for node, _form in tokens_list:
                    if self.book[node] != b or self.parent[node] != -1:
                        continue
                    parts = [title_tokens(p) for p in self.title[node].split(",")]
                    singles = [p[0] for p in parts if len(p) == 1]
                    for w in singles[1:]:  # 'Femur, femoral': two forms of one word
                        if _prefix(w, singles[0]) >= 3:
                            groups[w].update((w, singles[0]))
                            groups[singles[0]].update((w, singles[0]))
        return {w: tuple(sorted(g - {w})) for w, g in groups.items()}

    # -- the query ----------------------------------------------------------------------
    def query(self, tokens: list[str]) -> _Query:
        slots, weights = [], []
        loose: set[tuple[int, str]] = set()  # (slot, word) met only by a shared root
        for i, t in enumerate(tokens):
            alts = {t, *self.synonyms.get(t, ())}
            if not t.startswith("~"):
                rooted = self.by_root.get(root(t), set()) - alts
                loose.update((i, a) for a in rooted)
                alts |= rooted
            slots.append(frozenset(alts))
            weights.append(max((self.idf.get(a, 0.0) for a in alts), default=0.0) or 2.0)
        where: dict[str, list[int]] = defaultdict(list)
        for i, slot in enumerate(slots):
            for a in slot:
                where[a].append(i)
        q = _Query(
            slots, weights, sum(weights) or 1.0, set(where), {w: tuple(v) for w, v in where.items()}
        )
        q.loose = loose
        return q

    def _relevant(self, node: int, q: _Query) -> bool:
        """The statement has the words of one of the node's forms (used already or not)."""
        return not self.essential[node] or any(
            all(any(a in q.where for a in t.split("|")) or t in _CONNECTORS for t in form)
            for form in self.essential[node]
        )

    def _take(self, node: int, q: _Query, used: int) -> tuple[int, float, float] | None:
        """(used slots, essential credit, optional credit) if `node` matches, else None."""
        need = self.need[node]
        if need and q.words.isdisjoint(need):
            return None
        best = None
        for form in self.essential[node]:
            got = self._take_form(node, form, q, used)
            if got is not None and (best is None or got[1] > best[1]):
                best = got
        return best

    def _take_form(self, node, form, q: _Query, used: int) -> tuple[int, float, float] | None:
        """Each essential word meets an unused slot (a word met only through a shared root,
        'pneumonitis' for 'pneumonia', counts 0.8); nonessential words take what is left."""
        ess = 0.0
        where, weights, loose = q.where, q.weights, q.loose
        for t in form:
            slot, alt = -1, t
            for alt in t.split("|") if "|" in t else (t,):
                for i in where.get(alt, ()):
                    if not used >> i & 1:
                        slot = i
                        break
                if slot >= 0:
                    break
            if slot >= 0:
                used |= 1 << slot
                ess += weights[slot] * (0.8 if (slot, alt) in loose else 1.0)
            elif t not in _CONNECTORS:
                return None
        opt = 0.0
        for t in self.optional[node]:
            for i in where.get(t, ()):
                if not used >> i & 1:
                    used |= 1 << i
                    opt += weights[i] * (0.8 if (i, t) in loose else 1.0)
                    break
        return used, ess, opt

    def lookup(self, tokens: list[str], limit: int = 10) -> list[Candidate]:
        q = self.query(tokens)
        if not q.slots:
            return []
        out: dict[str, Candidate] = {}
        external = bool(q.words & lexicon.CUES["external"])
        for node, used, ess, opt in self._main_matches(q, (INDEX, EINDEX)):
            if self.book[node] == EINDEX and not external:
                continue
            self._walk(node, q, used, ess, opt, [self._step(node, "main term")], out, 0)
        cues = [i for i, slot in enumerate(q.slots) if slot & _DRUG_CUES]
        if cues and DRUG in self.roots:
            # "adverse reaction to X", "X toxicity": the coder goes to the Table of Drugs and
            # Chemicals directly; the cue word is accounted for by the column it picks
            used = sum(1 << i for i in cues)
            ess = sum(q.weights[i] for i in cues)
            col = 6 if any(q.slots[i] & _INTENT[6] for i in cues) else 2
            col = 7 if any(q.slots[i] & _INTENT[7] for i in cues) else col
            ref = "Table of Drugs and Chemicals, by drug, " + alphabetic.DRUG_COLUMNS[col]
            self._drug(ref, q, used, ess, 0.0, ["Table of Drugs and Chemicals (cue word)"], out, 0)
        neo = [i for i, slot in enumerate(q.slots) if slot & _NEOPLASM_CUES]
        if neo and NEOPLASM in self.roots:
            # "clavicle metastases", "benign tumor of X": the Table of Neoplasms by site, in
            # the column the statement's behaviour word names (unspecified when none does)
            words = set().union(*(q.slots[i] for i in neo))
            col = next((c for c, ws in _BEHAVIOUR.items() if words & ws), 7)
            col = 2 if col == 7 and words & {"carcinoma", "malignancy"} else col
            behaviour = {2: "malignant", 3: "secondary", 4: "in situ", 5: "benign"}.get(
                col, "unspecified behavior"
            )
            used = sum(1 << i for i in neo)
            ess = sum(q.weights[i] for i in neo)
            ref = f"Neoplasm, {behaviour}, by site"
            self._neoplasm(ref, q, used, ess, 0.0, ["Table of Neoplasms (cue word)"], out, 1)
        ranked = sorted(out.values(), key=_rank)
        for c in ranked[:limit]:
            c.query = q
        return ranked[:limit]

    def _main_matches(self, q: _Query, books) -> list[tuple[int, int, float, float]]:
        found: dict[tuple[int, int], tuple[float, float]] = {}
        for slot in q.slots:
            for t in slot:
                for node, _form in self.mains.get(t, ()):
                    if self.book[node] not in books:
                        continue
                    got = self._take(node, q, 0)
                    if got is None:
                        continue
                    used, ess, opt = got
                    found.setdefault((node, used), (ess, opt))
        return [(n, u, e, o) for (n, u), (e, o) in found.items()]

    def _step(self, node: int, kind: str) -> str:
        title = self.title[node] + (f" {self.nemod[node]}" if self.nemod[node] else "")
        return f"{kind} '{title.strip()}'"

    def _emit(self, code, q, used, ess, opt, path, out, book, depth, node=None) -> None:
        score = (ess + 0.85 * opt) / q.total
        if node is not None and node in self.doubtful:
            score *= 0.9
        if book == EINDEX:
            score *= 0.9
        # among paths that explain the statement equally, the one with fewer cross-references
        # and fewer levels is the coder's: 'Cancer, lung' before 'see also Neoplasm, lung'
        hops = sum(1 for step in path if step.startswith("see"))
        cand = Candidate(code, min(score, 1.0), ess, depth + 2 * hops, path, book, used=used)
        if node is not None:
            cand.manif = self.manif[node]
        key = code.rstrip("-").rstrip(".")
        best = out.get(key)
        if best is None or _rank(cand) < _rank(best):
            out[key] = cand

    def _walk(self, node, q, used, ess, opt, path, out, depth, hops=0, emit=True) -> None:
        if self.code[node] and emit:
            self._emit(
                self.code[node], q, used, ess, opt, [*path, f"code {self.code[node]}"],
                out, self.book[node], depth, node,
            )  # fmt: skip
        words, need = q.words, self.need
        for child in self.children[node]:
            if need[child] and words.isdisjoint(need[child]):
                continue  # cheap reject: most subterms share no word with the statement
            got = self._take(child, q, used)
            if got is None:
                continue
            u2, e2, o2 = got
            self._walk(
                child, q, u2, ess + e2, opt + o2, [*path, self._step(child, "subterm")],
                out, depth + 1, hops,
            )  # fmt: skip
        if hops < 3:
            for kind, refs in (("see", self.see[node]), ("see also", self.see_also[node])):
                for ref in refs.split(" | "):  # the PCS Index gives several: 'Excision, …'
                    if ref and ref.lower() != "condition":
                        self._follow(ref, kind, node, q, used, ess, opt, path, out, depth, hops)

    def _follow(self, ref, kind, node, q, used, ess, opt, path, out, depth, hops) -> None:
        step = [*path, f"{kind} '{ref}'"]
        low = ref.lower()
        if low.startswith(("neoplasm", "table of neoplasms")):
            self._neoplasm(ref, q, used, ess, opt, step, out, depth)
            return
        if low.startswith("table of drugs"):
            self._drug(ref, q, used, ess, opt, step, out, depth)
            return
        target, whole = self.resolve(ref, self.book[node])
        if target is None or target == node or not whole:
            return  # a reference found only in part would lead to a code too general
        if kind == "see also" and not self._relevant(target, q):
            return  # 'see also Fracture, pathological' is for a fracture said to be so
        self._walk(target, q, used, ess, opt, step, out, depth + 1, hops + 1)

    def resolve(self, ref: str, book: int = INDEX) -> tuple[int | None, bool]:
        """(the node a cross-reference names, whether all of it was found):
        'Fracture, femur, neck' -> Fracture, traumatic > femur, femoral > neck. Several
        main terms share a first word ('Fracture, traumatic', 'Fracture, pathological');
        the one under which the most of the reference is found wins."""
        parts = [p for p in (x.strip() for x in ref.split(",")) if p]
        best: tuple[int, int | None, bool] = (-1, None, False)
        for b in dict.fromkeys((book, INDEX)):
            for take in range(len(parts), 0, -1):  # main titles may hold commas themselves
                mains = self.main_names.get((b, _name(" ".join(parts[:take]))), ())
                for main in mains:
                    node, done = main, take
                    for part in parts[take:]:
                        nxt = self._child_named(node, part)
                        if nxt is None:  # 'see Diabetes, polyneuropathy': under 'with'
                            nxt = next(
                                (
                                    found
                                    for c in self.children[node]
                                    if not self.need[c]
                                    and (found := self._child_named(c, part)) is not None
                                ),
                                None,
                            )
                        if nxt is None:
                            break
                        node, done = nxt, done + 1
                    if done > best[0]:
                        best = (done, node, done == len(parts))
                if mains:
                    break
            if best[1] is not None:
                break
        return best[1], best[2]

    def _child_named(self, node: int, part: str) -> int | None:
        nxt = self.by_name.get((self.book[node], f"{node}:{_name(part)}"))
        if nxt is None:
            want = set(title_tokens(part))
            nxt = next(
                (c for c in self.children[node] if any(set(f) == want for f in self.essential[c])),
                None,
            )
        return nxt

    # -- the Tables ---------------------------------------------------------------------
    def _cue_column(self, q: _Query, used: int, cues: dict[int, set[str]], default: int):
        for col, words in cues.items():
            for i, slot in enumerate(q.slots):
                if not used >> i & 1 and slot & words:
                    return col, used | 1 << i, q.weights[i]
        return default, used, 0.0

    def _neoplasm(self, ref, q, used, ess, opt, path, out, depth) -> None:
        if NEOPLASM not in self.roots:
            return
        low = ref.lower()
        col = 2
        for words, c in (
            ("secondary", 3),
            ("in situ", 4),
            ("benign", 5),
            ("uncertain", 6),
            ("unspecified", 7),
        ):
            if words in low:
                col = c
                break
        cue_col, used2, w = self._cue_column(q, used, _BEHAVIOUR, col)
        if cue_col != col and (col in (2, 7) or cue_col == 3):  # 'metastatic carcinoma'
            col, used, ess = cue_col, used2, ess + w
        elif cue_col == col:
            used, ess = used2, ess + w
        start = self.roots[NEOPLASM]
        site_parts = [
            p
            for p in (x.strip() for x in ref.split(",")[1:])
            if p
            and not re.search(
                r"by site|malignant|benign|situ|uncertain|unspecified|second", p.lower()
            )
        ]
        for part in site_parts:
            nxt = self._child_named(start, part)
            if nxt is None:
                break
            start = nxt
        step = f"Table of Neoplasms, column {alphabetic.NEOPLASM_COLUMNS[col]}"
        before = set(out)
        self._table_walk(start, col, q, used, ess, opt, [*path, step], out, depth)
        if start != self.roots[NEOPLASM] or any(out[k].score >= 0.999 for k in set(out) - before):
            return
        # a site the statement names without the site above it ('squamocolumnar junction'
        # is under 'cervix'): the Table's sites are found by their own words, one level less
        for i, slot in enumerate(q.slots):
            if used >> i & 1:
                continue
            for t in slot:
                for node in self.sites.get(t, ()):
                    got = self._take(node, q, used)
                    if got is None:
                        continue
                    above = self.title[self.parent[node]]
                    self._table_walk(
                        node, col, q, got[0], ess + got[1], opt + got[2],
                        [*path, step, f"site '{above}'", self._step(node, "site")], out, depth + 2,
                    )  # fmt: skip

    def _drug(self, ref, q, used, ess, opt, path, out, depth) -> None:
        if DRUG not in self.roots:
            return
        low = ref.lower()
        col = 2
        if "adverse" in low or "character 5" in low:  # 'categories T36-T50, 6th character 5'
            col = 6
        elif "underdos" in low or "character 6" in low:
            col = 7
        cue_col, used2, w = self._cue_column(q, used, _INTENT, col)
        if col == 2 or cue_col == col:
            col, used, ess = cue_col, used2, ess + w
        step = f"Table of Drugs and Chemicals, column {alphabetic.DRUG_COLUMNS[col]}"
        for node, u, e, o in self._main_matches_from(q, used, DRUG):
            self._table_walk(
                node,
                col,
                q,
                u,
                ess + e,
                opt + o,
                [*path, step, self._step(node, "substance")],
                out,
                depth + 1,
            )

    def _main_matches_from(self, q: _Query, used: int, book: int):
        found = {}
        for i, slot in enumerate(q.slots):
            if used >> i & 1:
                continue
            for t in slot:
                for node, _form in self.mains.get(t, ()):
                    if self.book[node] != book:
                        continue
                    got = self._take(node, q, used)
                    if got is not None:
                        found.setdefault((node, got[0]), got)
        return [(n, u, e, o) for (n, _), (u, e, o) in found.items()]

    def _table_walk(self, node, col, q, used, ess, opt, path, out, depth) -> None:
        cells = self.cells[node]
        if cells and cells.get(col):
            code = cells[col]
            self._emit(
                code, q, used, ess, opt, [*path, f"cell {code}"], out, self.book[node], depth, node
            )
        for child in self.children[node]:
            got = self._take(child, q, used)
            if got is None:
                continue
            u2, e2, o2 = got
            self._table_walk(
                child,
                col,
                q,
                u2,
                ess + e2,
                opt + o2,
                [*path, self._step(child, "site" if self.book[node] == NEOPLASM else "subterm")],
                out,
                depth + 1,
            )
        see = self.see[node] or self.see_also[node]
        if see and self.book[node] == NEOPLASM and not (cells and cells.get(col)):
            target, _ = self.resolve(f"Neoplasm, neoplastic, {see.split(',', 1)[-1]}", NEOPLASM)
            if target is not None and target != node and depth < 8:
                self._table_walk(
                    target, col, q, used, ess, opt, [*path, f"see '{see}'"], out, depth + 1
                )

    # -- statement words that picked a Table column also count as evidence -------------
    def drug_cues(self, tokens: set[str]) -> bool:
        return bool(tokens & _DRUG_CUES)


# -- stored and compiled ------------------------------------------------------------------
_loaded: dict[tuple, AlphaIndex] = {}
_years: dict[tuple[str, int], list[int]] = {}


def for_year(fy: int, data_dir) -> AlphaIndex | None:
    """The imported index nearest to `fy` (the same year, else the nearest earlier, else
    the newest), compiled; None when none was imported."""
    directory = store_dir(data_dir)
    try:  # the folder's mtime changes when an import replaces a file: no glob per query
        stamp = (str(directory), directory.stat().st_mtime_ns)
    except OSError:
        return None
    years = _years.get(stamp)
    if years is None:
        years = alphabetic.stored_years(data_dir)
        _years.clear()
        _years[stamp] = years
    if not years:
        return None
    earlier = [y for y in years if y <= fy]
    year = earlier[-1] if earlier else years[-1]
    path = alphabetic.stored_path(data_dir, year)
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size, _VERSION)
    if key in _loaded:
        return _loaded[key]
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
    cache = store_dir(data_dir) / "cache" / f"alphaindex-{year}-{digest}.pickle"
    index = None
    if cache.is_file():
        with cache.open("rb") as f:  # our own compiled copy under our own data dir
            index = pickle.load(f)
    if index is None:
        index = AlphaIndex(alphabetic.read_stored(path))
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as f:
            pickle.dump(index, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    _loaded.clear()  # one year at a time: the compiled index is large
    _loaded[key] = index
    return index


def path_words(cand: Candidate) -> set[str]:
    """The words of the index entries a path went through ('Cellulitis > lower limb'): the
    coder reads them when choosing among the tabular's subdivisions."""
    return {w for step in cand.path for t in re.findall(r"'([^']*)'", step) for w in analyze(t)}


def title_credit(cand: Candidate, title_words) -> float:
    """The share of the statement a candidate's path left unused but its code's title says."""
    q = cand.query
    if q is None:
        return 0.0
    words = set(title_words)
    gained = sum(
        q.weights[i]
        for i, slot in enumerate(q.slots)
        if not cand.used >> i & 1 and not slot.isdisjoint(words)
    )
    return gained / q.total


# -- the tabular: from an index code to a billable one ------------------------------------
@dataclass
class Verified:
    code: str  # a leaf (7th character still to add by `search`)
    steps: list[str]
    choices: list[tuple[str, str]]  # when the statement did not pick the child: the options
    status: str  # billable | incomplete | expanded | missing


def to_billable(cs: CodeSet, raw: str, words: set[str]) -> Verified | None:
    """Take an index code down to a billable tabular entry, using the statement's words."""
    code = normalize(raw.rstrip("-").rstrip("."))
    entry = cs.codes.get(code)
    steps: list[str] = []
    status = "billable"
    if entry is None:
        stem_entry, seventh = cs.resolve(code)
        if stem_entry is not None and seventh and cs.is_billable(code):
            return Verified(stem_entry.code, [f"tabular FY{cs.fy}: {code} valid"], [], "billable")
        above = code.replace(".", "")
        while len(above) > 3 and normalize(above) not in cs.codes:
            above = above[:-1]
        entry = cs.codes.get(normalize(above))
        if entry is None or entry.kind != "category":
            return None
        steps.append(f"tabular FY{cs.fy}: {raw} not found; nearest entry {entry.code}")
        status = "missing"
    choices: list[tuple[str, str]] = []
    if entry.children and status == "billable":
        status = "incomplete" if raw.endswith("-") else "expanded"
    while entry.children:
        kids = [cs.codes[k] for k in entry.children if k in cs.codes]
        if not kids:
            break
        own = set(analyze(entry.title))

        def fit(k, own=own) -> tuple:
            # the statement's words pick the child; else the unspecified one (I.A.9)
            extra = set(analyze(k.title)) - own
            hit = len(extra & words)
            unspecified = (
                "unspecified" in extra or "nos" in extra or "not specified" in k.title.lower()
            )
            return (hit, -len(extra - words) if hit else 0, unspecified, k.code[-1] == "9")

        best = max(kids, key=fit)
        if fit(best)[0] == 0:
            choices = [(k.code, k.title) for k in kids]
        steps.append(f"tabular FY{cs.fy}: {entry.code} is not billable -> {best.code}")
        entry = best
    if not steps:
        steps.append(f"tabular FY{cs.fy}: {entry.code} billable")
    return Verified(entry.code, steps, choices, status)
