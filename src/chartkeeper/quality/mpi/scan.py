"""A scan: score every candidate pair, decide link or review, and cluster without chaining.

Decisions come from two probability thresholds (`Thresholds`): at or above `link` a pair is
linked automatically, between `review` and `link` it goes to a person. Two rules then guard
against the errors a pairwise model makes:

Evidence of another person (`_judge`). A different given name alone proves nothing (a
nickname, two typos, a name left out); the guard looks for what registration errors do not
make and look-alikes do:
- twin pattern: another given name (or a near one and another sex: Oliver and Olivia) with
  the same birth date give or take a slip, different middle names, and no SSN within a
  keying error of the other's (a serial a few numbers on does not count: twins' numbers
  were often issued one after the other): never linked automatically, only reviewed;
- another birth date (beyond a slip: more than about a year apart) with no shared SSN or
  MRN: a parent and child of one name, a spouse, a sibling; reviewed only, and when the
  given name or sex differs too, the surname, address and phone agreements are taken back
  out of the weight (in a household they are one fact, not three). With another SSN as well
  it is a hard negative: never in one cluster.
A different SSN alone is left to the model's weight: a wrong SSN keyed in is a registration
error like any other.

Chaining. Linked pairs are joined into clusters strongest first, and two clusters merge only
if no pair across them is a hard negative (another birth date and another SSN; judged "not a
match" by a reviewer) and most pairs across them (all of them when a record joins a pair)
are plausible: scored at least `Thresholds.cluster` (0.05, household evidence already set
aside) and not capped as twins or household.
Pairs inside a group of three or more are all scored for this, blocked or not. A~B and B~C
linked while A-C scores low keeps C out of A's cluster and demotes B~C to review. Every pair
inside a finished cluster is reported as a link, unless it is capped (a twin or household
pattern stays a review). The floor is low, and a majority is enough in larger groups, on
purpose: a third or fourth registration often carries errors of its own against the others;
what it must not be is clearly someone else.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from itertools import chain, islice

import orjson

from . import model
from .records import prepare_table

log = logging.getLogger(__name__)

# A store smaller than this is matched in the company of generated registrations
# (`generate.registrations`, ids starting with BACKGROUND): a few hundred records hold too few
# duplicates for EM, and too few random pairs for u, to learn anything. Their pairs are
# scored with the rest and then dropped; only the store's own pairs are judged.
MIN_TRAINING = 2_000
BACKGROUND = "mpi-background-"


# where the scan runs: Splink on DuckDB in this process, or on Spark (spark.py)
ENGINES = ("duckdb", "spark")


def database_api(engine: str = "duckdb", *, spark_master: str | None = None):
    """Splink's database API for `scan(db_api=...)`: None for DuckDB in memory (the
    default), Splink's Spark backend for "spark" (a local session unless `spark_master`
    names a cluster). Raises `spark.SparkUnavailable` when pyspark or Java is missing."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "duckdb":
        if spark_master:
            raise ValueError("a Spark master URL is for the Spark engine")
        return None
    from .spark import spark_api

    return spark_api(spark_master)


@lru_cache(maxsize=1)
def _background() -> tuple[dict, ...]:
    from .generate import registrations

    records, _truth = registrations(1_500, 1_000, seed=20_251_203)
    return tuple({**r, "id": BACKGROUND + r["id"]} for r in records)


# Comparisons whose agreement a household shares, so it is no evidence between its members.
HOUSEHOLD_FIELDS = ("family", "address", "phone")


@dataclass(frozen=True)
class Thresholds:
    link: float = 0.9
    review: float = 0.5
    cluster: float = 0.05  # every pair within a cluster scores at least this

    def __post_init__(self):
        if not (0 < self.cluster <= self.link and 0 < self.review <= self.link < 1):
            raise ValueError("thresholds must satisfy 0 < review <= link < 1, cluster <= link")


@dataclass
class CandidatePair:
    a: str  # "Patient/<id>", a < b
    b: str
    probability: float
    decision: str  # link | review
    evidence: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {
            "a": self.a,
            "b": self.b,
            "probability": self.probability,
            "decision": self.decision,
        }

    def as_dict(self) -> dict:
        return asdict(self)


def json_lines(pairs: Iterable[CandidatePair]) -> Iterator[str]:
    """The `--json` output: one object per candidate pair and line."""
    for p in pairs:
        yield orjson.dumps(p.as_json()).decode()


def _probability(weight: float) -> float:
    if weight > 60:
        return 1.0
    return 1.0 / (1.0 + 2.0**-weight)


def _ref(rid: str) -> str:
    return rid if "/" in rid else f"Patient/{rid}"


# SSN levels of another person's number: another altogether, or the next few numbers on (as
# twins' were issued)
_OTHER_SSN = ("different", "close number")
# given-name levels that say "another first name", not an error in this one
# ("half swapped": one record's given name is the other's family name; twins share theirs)
_OTHER_GIVEN = ("different", "loosely similar", "half swapped")


def _judge(row: dict, labels: dict[str, dict[int, str]], entries: dict | None = None):
    """(probability, capped, hard, evidence) of one scored row: `capped` pairs are never
    linked automatically, `hard` ones never put in one cluster. `evidence` is a function
    that builds the evidence (most rows scored are never shown); `entries` caches each
    comparison's entry in it (a level and its weight recur across thousands of pairs)."""
    # a comparison left out (its column empty throughout the records) is null for all
    levels = {name: "null" for name in model.COMPARISONS}
    weights = {name: 0.0 for name in model.COMPARISONS}
    for name in labels:
        gamma = row[f"gamma_{name}"]
        levels[name] = "null" if gamma == -1 else labels[name].get(gamma)
        weights[name] = row[f"mw_{name}"]
    weight = row["match_weight"]
    notes = []
    mrn = levels["mrn"] == "exact"
    strong_id = levels["ssn"] == "exact" or mrn
    capped = hard = False
    # another first name, or a near one on someone of the other sex (Oliver and Olivia)
    # (two keying errors in a four-letter name are another name when the SSNs differ too:
    # John and Jose)
    other_given = not strong_id and (
        levels["given"] in _OTHER_GIVEN
        or (levels["sex"] == "different" and levels["given"] not in ("exact", "nickname"))
        or (levels["ssn"] in _OTHER_SSN and levels["given"] == "two typos")
    )
    dob_differs = levels["dob"] == "different"  # a missing one is no evidence
    ssn_slip = levels["ssn"] in ("one digit", "two digits")  # keyed wrong, not issued apart
    if other_given and not dob_differs and levels["middle"] != "exact" and not ssn_slip:
        # twins: one (give or take a keying error) birth date and address, another first
        # (and middle) name, and no SSN that is the same bar a keying error - twins'
        # numbers were often issued one after the other, so a serial a few numbers on is
        # no sign of one person here. Nor in one cluster through a third record that
        # matches both (its given name missing): see `cluster`.
        capped = True
        notes.append("twin pattern: same birth date, another given name, no shared SSN")
    elif dob_differs and not mrn and levels["ssn"] not in ("exact", "one digit"):
        # Registration errors leave a birth date near the truth (a digit, the year, day and
        # month swapped); one far off with no shared SSN or MRN is a parent and child of one
        # name, a spouse, a sibling: reviewed, never linked automatically.
        capped = True
        notes.append("another birth date and no shared SSN: reviewed, not linked")
        if levels["ssn"] == "different":
            # another birth date and another SSN: two people, never in one cluster
            hard = True
            notes.append("different SSNs too: never grouped")
        if other_given or levels["sex"] == "different" or levels["given"] == "null":
            # a household: what it shares is no evidence of one person
            shared = sum(max(weights[f], 0.0) for f in HOUSEHOLD_FIELDS)
            weight -= shared
            notes.append(
                "household pattern: surname, address and phone agreement set aside "
                f"({shared:.1f} bits)"
            )
    cache = {} if entries is None else entries

    def evidence() -> dict:
        comparisons = {}
        for name, level in levels.items():
            key = (name, level, weights[name])
            entry = cache.get(key)
            if entry is None:
                entry = cache[key] = {
                    "level": level,
                    "match_weight": round(weights[name], 3),
                    "bayes_factor": float(f"{2.0 ** weights[name]:.4g}"),
                }
            comparisons[name] = entry
        return {
            "match_weight": round(weight, 3),
            "comparisons": comparisons,
            "agree": [n for n in levels if levels[n] == "exact"],
            "differ": [n for n in levels if levels[n] == "different"],
            "notes": notes,
        }

    return _probability(weight), capped, hard, evidence


class _State:
    """What a scan knows about its pairs while it decides."""

    def __init__(self, labels, thresholds: Thresholds, rejected: set):
        self.labels, self.thresholds, self.rejected = labels, thresholds, rejected
        self.pairs: dict[tuple[str, str], CandidatePair] = {}  # at or above review
        self.scored: dict[tuple[str, str], float] = {}  # every pair scored, any probability
        self.capped: set[tuple[str, str]] = set()  # never auto-linked
        self.hard: set[tuple[str, str]] = set()  # never in one cluster
        self.entries: dict = {}  # evidence entries shared by pairs with the same level

    def judge(self, rows: Iterable[dict]) -> None:
        review, link = self.thresholds.review, self.thresholds.link
        for row in rows:
            if row["id_l"].startswith(BACKGROUND) or row["id_r"].startswith(BACKGROUND):
                continue  # training company, not the store's records
            key = tuple(sorted((_ref(row["id_l"]), _ref(row["id_r"]))))
            if key in self.scored:
                continue
            p, cap, hard, evidence = _judge(row, self.labels, self.entries)
            rejected = key in self.rejected
            if rejected:
                cap = hard = True
            self.scored[key] = p
            if hard:
                self.hard.add(key)
            if cap:
                self.capped.add(key)
            if p >= review:
                decision = "link" if p >= link and not cap else "review"
                shown = evidence()
                if rejected:
                    shown["notes"].append("judged not a match by a reviewer")
                self.pairs[key] = CandidatePair(key[0], key[1], round(p, 6), decision, shown)


def scan(
    records: Iterable[dict],
    *,
    thresholds: Thresholds = Thresholds(),
    on_progress: Callable[[str], None] | None = None,
    not_matches: Iterable[tuple[str, str]] = (),
    db_api=None,
    link_only: bool = False,
) -> list[CandidatePair]:
    """Candidate duplicate pairs among flat records (see `extract_records`), strongest
    first; a store under `MIN_TRAINING` records is matched alongside generated ones. `not_matches`: pairs a reviewer has rejected; they are never linked nor
    clustered again, and left out of the result.
    `db_api`: a Splink database API (default DuckDB in memory; `database_api("spark")`
    for Spark, which gives the same pairs: the same model, trained on the same samples).
    `link_only`: a link between two registries, each already free of duplicates (a
    hospital's index and a state registry's file): every record carries its `source`, one of
    two, and only pairs across the two are scored; the small-store company is not added."""
    say = on_progress or (lambda _msg: None)
    say("preparing records")
    stream = iter(records)
    head = list(islice(stream, MIN_TRAINING))
    if len(head) < 2:
        return []
    if len(head) < MIN_TRAINING and not link_only:
        say("adding generated registrations to learn from (a small store)")
        records = [*head, *_background()]
    else:
        records = chain(head, stream)  # streamed on: a million records stay out of lists
    table = prepare_table(records)
    lk = model.linker(table, db_api, link_only=link_only)
    model.train(lk, n_records=table.num_rows, on_progress=say)
    say("scoring candidate pairs")
    labels = model.level_labels(lk)
    state = _State(labels, thresholds, {tuple(sorted((_ref(a), _ref(b)))) for a, b in not_matches})
    # down to the cluster floor: the cluster check needs those scores too (a pair under
    # the floor, or never blocked, is scored below if it ends up inside a group)
    state.judge(model.score(lk, labels, thresholds.cluster))
    # The cluster check needs a score for every pair inside a group, and a person
    # registered three times may have two error-laden copies that share no blocking key:
    # score every pair within each group the links form (below the thresholds too).
    groups = [
        g
        for g in clusters(state.pairs.values())
        if len(g) > 2
        and any((x, y) not in state.scored for i, x in enumerate(g) for y in g[i + 1 :])
    ]
    if groups:
        say(f"scoring all pairs within {len(groups)} groups of three or more not yet scored")
        ids = [[r.removeprefix("Patient/") for r in g] for g in groups]
        state.judge(model.score_groups(lk, labels, table, ids, None))
    del table
    say(f"clustering {len(state.pairs)} pairs")
    cluster(state, thresholds.cluster)
    # a pair a reviewer judged two people has been answered: it does not come back
    return sorted(
        (p for key, p in state.pairs.items() if key not in state.rejected),
        key=lambda c: (-c.probability, c.a, c.b),
    )


def cluster(state: _State, floor: float) -> dict[str, int]:
    """Join linked pairs into clusters in which every pair is scored >= floor and none is a
    hard negative; demotes links that would break that, promotes review pairs inside a
    cluster. Returns record -> cluster number (records in a cluster of two or more)."""
    pairs, capped = state.pairs, state.capped
    members: dict[str, list[str]] = {}  # cluster root -> its records
    root: dict[str, str] = {}

    def compatible(ma: list[str], mb: list[str]) -> bool:
        # no pair across is a hard negative, and most pairs across (every one, when a
        # record joins a pair) are at least plausible: registrations with errors of their
        # own may be weak against each other, but not most of them
        keys = [(x, y) if x < y else (y, x) for x in ma for y in mb]
        if any(k in state.hard for k in keys):
            return False
        # a capped pair (twins, a household) is not plausible, though it is no veto
        plausible = sum(state.scored.get(k, 0.0) >= floor and k not in capped for k in keys)
        return plausible * 2 > len(keys)

    links = sorted(
        (c for c in pairs.values() if c.decision == "link"), key=lambda c: -c.probability
    )
    for c in links:
        ra, rb = root.get(c.a, c.a), root.get(c.b, c.b)
        if ra == rb:
            continue
        ma, mb = members.get(ra, [c.a]), members.get(rb, [c.b])
        if compatible(ma, mb):
            if len(ma) < len(mb):
                ra, rb, ma, mb = rb, ra, mb, ma
            members[ra] = ma + mb
            members.pop(rb, None)
            for x in members[ra]:
                root[x] = ra
            continue
        c.decision = "review"
        c.evidence["notes"].append(
            "link would join two groups in which some records do not match each other"
        )
    out: dict[str, int] = {}
    for n, recs in enumerate(sorted(members.values(), key=min)):
        for x in recs:
            out[x] = n
    for key, c in pairs.items():
        same = key[0] in out and out[key[0]] == out.get(key[1])
        if c.decision == "review" and key not in capped and same:
            c.decision = "link"
            c.evidence["notes"].append("linked: both records are in one verified cluster")
    # pairs of a cluster that scored under the review threshold (a third registration
    # whose errors differ from the second's) are links too: every pair passed the check
    for recs in members.values():
        for i, x in enumerate(recs):
            for y in recs[i + 1 :]:
                key = (x, y) if x < y else (y, x)
                if key not in pairs:
                    p = round(state.scored.get(key, 0.0), 6)
                    note = "linked: both records are in one verified cluster"
                    pairs[key] = CandidatePair(*key, p, "link", {"notes": [note]})
    return out


def clusters(pairs: Iterable[CandidatePair]) -> list[list[str]]:
    """The groups of records the linked pairs form (each a clique of links)."""
    groups: dict[str, set[str]] = {}
    for p in pairs:
        if p.decision != "link":
            continue
        merged = groups.get(p.a, {p.a}) | groups.get(p.b, {p.b})
        for x in merged:
            groups[x] = merged
    seen, out = set(), []
    for g in groups.values():
        if id(g) not in seen:
            seen.add(id(g))
            out.append(sorted(g))
    return sorted(out)
