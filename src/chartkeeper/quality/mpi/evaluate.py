"""Labelled test beds and the scoring of a matcher against them.

`synthetic_records(n, seed)` runs only the *people* stage of the chart generator
(`chartkeeper.synth`: demographics plus the `Duplicates` module), so no charts are built and
a million demographic records take minutes, not hours; each registration goes through the
real Patient resource and `record_from_patient`, as a scan of the store would see it.
It returns the records and the truth: the person key of every record (duplicates share
one) and the look-alike pairs (twins, family members) that must never be linked.

`pair_scores(found, truth)` gives precision, recall and F1 of a set of linked pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import combinations

from .records import record_from_patient


@dataclass
class Truth:
    person: dict[str, str] = field(default_factory=dict)  # record id -> person key
    lookalikes: set[tuple[str, str]] = field(default_factory=set)  # twins, family

    def pairs(self) -> set[tuple[str, str]]:
        """Every pair of records of the same person (sorted ids)."""
        groups: dict[str, list[str]] = {}
        for rid, key in self.person.items():
            groups.setdefault(key, []).append(rid)
        return {
            tuple(sorted(p))
            for ids in groups.values()
            if len(ids) > 1
            for p in combinations(ids, 2)
        }


def synthetic_records(
    n: int,
    seed: int = 7,
    *,
    share: float = 0.1,
    twins: float = 0.01,
    family: float = 0.02,
    start: int = 0,
) -> tuple[list[dict], Truth]:
    """Demographic records for generator slots start..start+n-1, with their truth."""
    from chartkeeper.synth.facility import HOSPITAL, facility
    from chartkeeper.synth.module import SlotContext
    from chartkeeper.synth.modules.demographics import Demographics, patient_resource
    from chartkeeper.synth.modules.duplicates import Duplicates

    fac = facility()
    hospital = fac.organizations[HOSPITAL].ref
    modules = [Demographics(), Duplicates(share=share, twins=twins, family=family)]
    records: list[dict] = []
    truth = Truth()
    side: list[tuple[str, dict]] = []
    for slot in range(start, start + n):
        people: list = []
        for m in modules:
            m.people(SlotContext(seed, slot, m.name, fac, lambda s, r: side.append((s, r))), people)
        for p in people:
            records.append(record_from_patient(patient_resource(p, hospital)))
            truth.person[p.patient_id] = p.key
        for stream, rec in side:
            if stream in ("twins", "family"):
                truth.lookalikes.add(tuple(sorted(rec["patient_ids"])))
        side.clear()
    return records, truth


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    tp: int
    fp: int
    fn: int

    def as_json(self) -> dict:
        return {k: getattr(self, k) for k in ("precision", "recall", "f1", "tp", "fp", "fn")}


def pair_scores(found: Iterable[tuple[str, str]], truth: set[tuple[str, str]]) -> Scores:
    got = {tuple(sorted(p)) for p in found}
    tp = len(got & truth)
    fp, fn = len(got) - tp, len(truth) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(round(precision, 6), round(recall, 6), round(f1, 6), tp, fp, fn)
